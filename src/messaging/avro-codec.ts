import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import avro from 'avsc';
import { fingerprintBytes } from './crc64-avro.js';

/**
 * Avro single-object encoding (marker C3 01, 8-byte CRC-64-AVRO fingerprint of the writer schema's
 * Parsing Canonical Form, then the body). The fingerprint tells a reader which schema wrote the
 * bytes, so that it can resolve an older (or newer) writer version into its own.
 */
export const SINGLE_OBJECT_MARKER = Buffer.from([0xc3, 0x01]);
const HEADER_LENGTH = 10;

export type CodecErrorCode =
  | 'TRUNCATED'
  | 'BAD_MARKER'
  | 'UNKNOWN_FINGERPRINT'
  | 'INCOMPATIBLE_SCHEMA'
  | 'MALFORMED_BODY'
  | 'INVALID_VALUE';

export class CodecError extends Error {
  override readonly name = 'CodecError';
  constructor(
    readonly code: CodecErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil): plain integer
 * arithmetic, no Date object — date fields are converted on every encode and decode of the hot path.
 */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

function daysInMonthOf(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** The days a date may take: years 0001 to 9999, the dates written `YYYY-MM-DD` (as period.ts reads them). */
const FIRST_DAY = daysFromCivil(1, 1, 1);
const LAST_DAY = daysFromCivil(9999, 12, 31);

/** Recent conversions: a payload repeats the same few dates (quarter bounds, in and out dates). */
const DATE_CACHE_LIMIT = 20_000;
const daysByText = new Map<string, number>();
const textByDays = new Map<number, string>();

function remember<K, V>(map: Map<K, V>, key: K, value: V): V {
  if (map.size >= DATE_CACHE_LIMIT) map.clear();
  map.set(key, value);
  return value;
}

/** Avro `date` (days since the epoch) seen by the code as an ISO `YYYY-MM-DD` string. */
class IsoDateType extends avro.types.LogicalType {
  protected override _fromValue(days: number): string {
    const known = textByDays.get(days);
    if (known !== undefined) return known;
    // Beyond year 9999 the ISO text would be "+010183-09…", which no date check of the switch reads as
    // a date: such a body is refused here, as undecodable, rather than passed on half-formed.
    if (!Number.isInteger(days) || days < FIRST_DAY || days > LAST_DAY) {
      throw new RangeError(`day ${days} is outside 0001-01-01..9999-12-31`);
    }
    return remember(textByDays, days, new Date(days * 86_400_000).toISOString().slice(0, 10));
  }
  protected override _toValue(value: unknown): number | undefined {
    if (typeof value !== 'string') return undefined;
    const known = daysByText.get(value);
    if (known !== undefined) return known;
    if (value.length !== 10 || value[4] !== '-' || value[7] !== '-') return undefined;
    const year = Number(value.slice(0, 4));
    const month = Number(value.slice(5, 7));
    const day = Number(value.slice(8, 10));
    if (!/^\d{4}-\d{2}-\d{2}$/.test(value) || year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonthOf(year, month)) {
      // A day that does not exist (2024-02-30) is refused, never rolled over.
      return undefined;
    }
    return remember(daysByText, value, daysFromCivil(year, month, day));
  }
  /** avsc reads with the writer's type, then applies this: a date writer already yields the string. */
  protected override _resolve(type: avro.Type): ((v: unknown) => unknown) | undefined {
    if (avro.Type.isType(type, 'logical:date')) return (v) => v;
    if (avro.Type.isType(type, 'int')) return (v) => this._fromValue(v as number);
    return undefined;
  }
}

/*
 * Avro arrays and maps come in blocks that start with an item count, and avsc believes the count: a
 * 25-byte Request whose requestedBlocks claims 2^31 − 1 items makes it allocate an array of that length
 * and fill it, item by item, from past the end of the buffer — seconds of CPU, then the heap runs out and
 * the process dies (and the restarted one fetches the same message). Every item takes at least one byte
 * unless its type encodes to nothing, so a count larger than the bytes left is refused before anything
 * is allocated: reading a body costs at most in proportion to its length. Payloads from the sources
 * (arrays of records) are read the same way.
 */
/** Items that take no byte (null) cannot be bounded by the bytes left: at most this many per array. */
const EMPTY_ITEMS = 65_536;

/** The parts of avsc's Tap and of a type (or resolver) that the block readers below use. */
interface BlockTap {
  readonly buf: Buffer;
  pos: number;
  readLong(): number;
  skipLong(): void;
  readString(): string;
}
interface ItemReader {
  _read(tap: BlockTap): unknown;
}

function encodesToNothing(type: avro.Type, open = new Set<avro.Type>()): boolean {
  const t = type as unknown as {
    readonly typeName: string;
    readonly size?: number;
    readonly underlyingType?: avro.Type;
    readonly fields?: ReadonlyArray<{ readonly type: avro.Type }>;
  };
  if (t.typeName === 'null') return true;
  if (t.typeName === 'fixed') return t.size === 0;
  if (t.underlyingType) return encodesToNothing(t.underlyingType, open);
  if (t.fields) {
    if (open.has(type)) return false;
    open.add(type);
    const empty = t.fields.every((f) => encodesToNothing(f.type, open));
    open.delete(type);
    return empty;
  }
  return false;
}

const emptyItems = new WeakMap<object, boolean>();

/**
 * Through a resolver (an older writer version), the items are the resolver's, not a type: they are
 * taken to need a byte each, which holds for every array of the switch's records.
 */
function itemsMayBeEmpty(items: object): boolean {
  let known = emptyItems.get(items);
  if (known === undefined) {
    known = avro.Type.isType(items) && encodesToNothing(items as avro.Type);
    emptyItems.set(items, known);
  }
  return known;
}

function blockCount(tap: BlockTap, limit: number): number {
  let n = tap.readLong();
  if (n < 0) {
    // A negative count is followed by the block's size in bytes.
    n = -n;
    tap.skipLong();
  }
  if (n > limit) throw new RangeError(`an array or map block claims ${n} items, more than the body can hold`);
  return n;
}

// avsc freezes its types, so the bounded readers are subclasses, put in place by the typeHook below.
// `this` is the type, or a resolver of an older writer's array or map (avsc lends it this reader).
class BoundedArrayType extends avro.types.ArrayType {
  _read(this: { readonly itemsType: object }, tap: BlockTap): unknown[] {
    const items = this.itemsType as ItemReader;
    const empty = itemsMayBeEmpty(items);
    let values: unknown[] | undefined;
    let i = 0;
    let n: number;
    while ((n = blockCount(tap, empty ? EMPTY_ITEMS - i : tap.buf.length - tap.pos)) !== 0) {
      values ??= new Array<unknown>(n);
      while (n-- > 0) values[i++] = items._read(tap);
    }
    return values ?? [];
  }
}

class BoundedMapType extends avro.types.MapType {
  _read(this: { readonly valuesType: object }, tap: BlockTap): Record<string, unknown> {
    const items = this.valuesType as ItemReader;
    const values: Record<string, unknown> = {};
    let n: number;
    // Every entry has a key, a string of at least one byte.
    while ((n = blockCount(tap, tap.buf.length - tap.pos)) !== 0) {
      while (n-- > 0) {
        const key = tap.readString();
        values[key] = items._read(tap);
      }
    }
    return values;
  }
}

function boundedBlocks(schema: avro.Schema, opts: avro.ForSchemaOptions): avro.Type | undefined {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema) || 'logicalType' in schema) return undefined;
  const { type } = schema as { type?: unknown };
  if (type === 'array') return new BoundedArrayType(schema, opts);
  if (type === 'map') return new BoundedMapType(schema, opts);
  return undefined;
}

interface KnownSchema {
  readonly name: string;
  readonly type: avro.Type;
  readonly fingerprint: Buffer;
}

export interface AvroCodec {
  /** Encodes with the current schema of this record name. Throws CodecError('INVALID_VALUE') naming the bad path. */
  encode(recordName: string, value: unknown): Buffer;
  /** Decodes bytes written with any known version of this record; resolves older writers. */
  decode<T = unknown>(recordName: string, bytes: Buffer): T;
  /**
   * `decode` for a message off a topic: the value, or the CodecError saying why it cannot be read (an
   * absent or empty message is TRUNCATED), so that a pipeline answers it instead of stopping its partition.
   */
  tryDecode<T = unknown>(recordName: string, bytes: Buffer | null | undefined): T | CodecError;
  /** Names the record whose (any version's) fingerprint heads these bytes, or null. */
  recordNameOf(bytes: Buffer): string | null;
  /** True when these bytes are headed by the fingerprint of this record's current schema, the one `encode` writes. */
  isCurrentWriter(recordName: string, bytes: Buffer): boolean;
  type(recordName: string): avro.Type;
  fingerprint(recordName: string): Buffer;
}

export function parseSchema(schema: unknown): avro.Type {
  // A fresh options object each time: avsc stores its registry of named types on it.
  return avro.Type.forSchema(schema as avro.Schema, {
    logicalTypes: { date: IsoDateType },
    wrapUnions: 'auto',
    typeHook: boundedBlocks,
  });
}

/**
 * Builds a codec from schema files. `current` files give each record's current version (one record
 * per file); `history` files are older versions kept so that recorded messages still decode.
 */
export function createAvroCodec(options: { current: readonly unknown[]; history?: readonly unknown[] }): AvroCodec {
  const current = new Map<string, KnownSchema>();
  const byFingerprint = new Map<string, KnownSchema>();
  const resolvers = new Map<string, avro.Resolver>();

  const register = (schema: unknown, isCurrent: boolean): void => {
    const type = parseSchema(schema);
    const name = type.name;
    if (!name) throw new Error('every top-level schema must be a named record');
    const known: KnownSchema = {
      name,
      type,
      fingerprint: fingerprintBytes(JSON.stringify(type.schema())),
    };
    const key = known.fingerprint.toString('hex');
    const clash = byFingerprint.get(key);
    if (clash && clash.name !== name) throw new Error(`fingerprint collision between ${clash.name} and ${name}`);
    byFingerprint.set(key, known);
    if (isCurrent) {
      if (current.has(name)) throw new Error(`record ${name} is defined twice`);
      current.set(name, known);
    }
  };
  for (const schema of options.current) register(schema, true);
  for (const schema of options.history ?? []) register(schema, false);

  const currentOf = (recordName: string): KnownSchema => {
    const known = current.get(recordName);
    if (!known) throw new Error(`no schema named ${recordName}`);
    return known;
  };

  const writerOf = (bytes: Buffer): KnownSchema => {
    if (bytes.length < HEADER_LENGTH) {
      throw new CodecError('TRUNCATED', `message of ${bytes.length} bytes is shorter than the single-object header`);
    }
    if (bytes[0] !== 0xc3 || bytes[1] !== 0x01) {
      throw new CodecError('BAD_MARKER', 'message does not start with the Avro single-object marker C3 01');
    }
    const key = bytes.subarray(2, HEADER_LENGTH).toString('hex');
    const writer = byFingerprint.get(key);
    if (!writer) throw new CodecError('UNKNOWN_FINGERPRINT', `no known schema has fingerprint ${key}`);
    return writer;
  };

  const decode = <T>(recordName: string, bytes: Buffer): T => {
    const reader = currentOf(recordName);
    const writer = writerOf(bytes);
    if (writer.name !== reader.name) {
      throw new CodecError('INCOMPATIBLE_SCHEMA', `expected a ${reader.name} but the message is a ${writer.name}`);
    }
    const body = bytes.subarray(HEADER_LENGTH);
    try {
      if (writer === reader) return reader.type.fromBuffer(body) as T;
      const key = writer.fingerprint.toString('hex');
      let resolver = resolvers.get(key);
      if (!resolver) {
        try {
          resolver = reader.type.createResolver(writer.type);
        } catch (cause) {
          throw new CodecError('INCOMPATIBLE_SCHEMA', `cannot resolve writer version ${key} of ${reader.name}`, { cause });
        }
        resolvers.set(key, resolver);
      }
      return reader.type.fromBuffer(body, resolver) as T;
    } catch (cause) {
      if (cause instanceof CodecError) throw cause;
      throw new CodecError('MALFORMED_BODY', `the ${reader.name} body could not be decoded`, { cause });
    }
  };

  return {
    encode(recordName, value) {
      const { type, fingerprint } = currentOf(recordName);
      let body: Buffer;
      try {
        // avsc's writers refuse an invalid value themselves: a valid one is walked once, and only a
        // refused one walked again, by isValid, to name every bad path.
        body = type.toBuffer(value);
      } catch (cause) {
        const paths: string[] = [];
        type.isValid(value, { errorHook: (path) => paths.push(path.join('.') || '(root)') });
        throw new CodecError('INVALID_VALUE', `value is not a valid ${recordName} at ${paths.length > 0 ? paths.join(', ') : '(root)'}`, { cause });
      }
      return Buffer.concat([SINGLE_OBJECT_MARKER, fingerprint, body]);
    },

    decode,

    tryDecode<T>(recordName: string, bytes: Buffer | null | undefined): T | CodecError {
      if (!bytes || bytes.length === 0) return new CodecError('TRUNCATED', 'empty message');
      try {
        return decode<T>(recordName, bytes);
      } catch (cause) {
        if (cause instanceof CodecError) return cause;
        return new CodecError('MALFORMED_BODY', `the ${recordName} could not be decoded`, { cause });
      }
    },

    recordNameOf(bytes) {
      try {
        return writerOf(bytes).name;
      } catch {
        return null;
      }
    },

    isCurrentWriter(recordName, bytes) {
      return bytes.length >= HEADER_LENGTH && bytes[0] === 0xc3 && bytes[1] === 0x01 && currentOf(recordName).fingerprint.equals(bytes.subarray(2, HEADER_LENGTH));
    },

    type: (recordName) => currentOf(recordName).type,
    fingerprint: (recordName) => currentOf(recordName).fingerprint,
  };
}

function readSchemaFolder(folder: string): unknown[] {
  let names: string[];
  try {
    names = readdirSync(folder);
  } catch {
    return [];
  }
  return names
    .filter((name) => name.endsWith('.avsc'))
    .sort()
    .map((name) => {
      const path = join(folder, name);
      try {
        return JSON.parse(readFileSync(path, 'utf8')) as unknown;
      } catch (cause) {
        throw new Error(`schema file ${path} is not valid JSON`, { cause });
      }
    });
}

/** The project's codec: `schemas/*.avsc` are current, `schemas/history/*.avsc` older versions. */
export function loadAvroCodec(schemaDir: string): AvroCodec {
  return createAvroCodec({
    current: readSchemaFolder(schemaDir),
    history: readSchemaFolder(join(schemaDir, 'history')),
  });
}
