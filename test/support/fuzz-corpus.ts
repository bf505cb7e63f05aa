import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Channel } from '../../src/domain/exchange.js';
import avro from 'avsc';
import { SCHEMA_DIR } from '../../src/config/project-paths.js';
import type { Catalogue } from '../../src/domain/catalogue.js';
import { parseEmployerId } from '../../src/domain/employer-id.js';
import { parseNiss } from '../../src/domain/niss.js';
import type { EmployerKind } from '../../src/domain/types.js';
import type { RequestRecord, SourceReplyRecord } from '../../src/contract/exchange-records.js';
import type { SourceMutationRecord } from '../../src/contract/mutation-records.js';
import { DIRECTORY_RECORD, EXCHANGE_RECORD, MUTATION_RECORD } from '../../src/contract/names.js';
import { CodecError, SINGLE_OBJECT_MARKER, parseSchema, type AvroCodec } from '../../src/messaging/avro-codec.js';
import { fingerprintBytes } from '../../src/messaging/crc64-avro.js';

/**
 * The fuzzer's messages: valid requests mixed with malformed, truncated, oversized, wrong-schema,
 * wrong-fingerprint and random ones, for the institutions' requests topics and the sources' replies and
 * mutations topics. Message n depends only on (seed, n), so one message of a failed run can be made
 * again on its own.
 *
 * Each message says what the gateway must do with it:
 *   - `reply`: a request the gateway can read: exactly one reply, with this status (null: whatever the
 *     rules decide, for values drawn at random), and no dead letter;
 *   - `invalid`: a request it cannot read: exactly one dead letter with this reason and exactly one
 *     INVALID_MESSAGE reply to the topic's institution (on the consultations topic for bytes that came
 *     on its consultation-requests topic);
 *   - `dead-letter`: a source's message it cannot read or route: exactly one dead letter;
 *   - `late-source-reply`: a source reply it can read that names no open exchange: exactly one
 *     LATE_SOURCE_REPLY audit record with this ticket.
 * Where the outcome follows from the bytes alone (which codec error; which mutation check fails), it
 * is derived by reading them with the same codec and the pipelines' order of checks.
 */

// ---------------------------------------------------------------------------------------------------
// A seeded random source

export interface Rng {
  /** In [0, 1). */
  next(): number;
  /** An integer in [min, max]. */
  int(min: number, max: number): number;
  chance(p: number): boolean;
  pick<T>(list: readonly T[]): T;
  bytes(length: number): Buffer;
}

/** mulberry32: small, fast, and good enough to draw test inputs. */
export function createRng(seed: number): Rng {
  let state = seed >>> 0;
  const next32 = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  const next = () => next32() / 4_294_967_296;
  return {
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    chance: (p) => next() < p,
    pick<T>(list: readonly T[]): T {
      if (list.length === 0) throw new Error('pick from an empty list');
      return list[Math.floor(next() * list.length)] as T;
    },
    bytes(length) {
      const out = Buffer.allocUnsafe(length);
      let i = 0;
      for (; i + 4 <= length; i += 4) out.writeUInt32LE(next32(), i);
      for (; i < length; i++) out[i] = next32() & 0xff;
      return out;
    },
  };
}

/** The stream of message n: independent of every other message's. */
export function rngFor(seed: number, n: number): Rng {
  let h = Math.imul((seed >>> 0) ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(n + 1, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return createRng(h ^ (h >>> 16));
}

// ---------------------------------------------------------------------------------------------------
// Messages and what must become of them

export type FuzzKind =
  | 'valid'
  | 'refused'
  | 'field-values'
  | 'random-values'
  | 'truncated'
  | 'empty'
  | 'random-bytes'
  | 'bad-marker'
  | 'unknown-fingerprint'
  | 'wrong-schema'
  | 'bit-flip'
  | 'trailing-bytes'
  | 'old-version'
  | 'decode-bomb'
  | 'oversized'
  | 'source-reply'
  | 'source-mutation';

/**
 * Which requests topic of an institution: its ordinary one (`replies`: answered on its replies topic) or
 * its consultation application's (`consultation`: consultation-requests, answered on consultations).
 */
export type FuzzChannel = Channel;

export type FuzzTopic =
  | { readonly kind: 'requests'; readonly institution: string; readonly channel: FuzzChannel }
  | { readonly kind: 'source-replies'; readonly source: string }
  | { readonly kind: 'source-mutations'; readonly source: string };

export type FuzzExpectation =
  | { readonly outcome: 'reply'; readonly status: string | null; readonly requestId: string }
  | { readonly outcome: 'invalid'; readonly reasonCode: string }
  | { readonly outcome: 'dead-letter'; readonly reasonCode: string }
  | { readonly outcome: 'late-source-reply'; readonly ticket: string };

export type FuzzHeaders = Record<string, string | Buffer | Array<string | Buffer>>;

export interface FuzzMessage {
  readonly n: number;
  readonly kind: FuzzKind;
  /** What exactly was done, e.g. `period-reversed` or `source:truncated`. */
  readonly variant: string;
  readonly topic: FuzzTopic;
  readonly key: string | Buffer | null;
  readonly value: Buffer | null;
  readonly headers: FuzzHeaders;
  readonly expect: FuzzExpectation;
}

export interface FuzzCorpusOptions {
  readonly seed: number;
  readonly codec: AvroCodec;
  readonly catalogue: Catalogue;
  /** Service → full name of its payload record. */
  readonly payloadRecords: ReadonlyMap<string, string>;
  /** Starts every requestId and unknown ticket, so that nothing of another run can be taken for this one's. */
  readonly runId: string;
  /** NISSes ONVA has integrated (inspection, from 2023-01-01, open-ended) and the registers know. */
  readonly integrated: readonly string[];
  /** Valid NISSes nobody integrated. */
  readonly strangers: readonly string[];
  /** Every institution with a requests topic. */
  readonly institutions: readonly string[];
  /** Sources whose replies and mutations topics get messages. */
  readonly sources: readonly string[];
  /** Sizes of the oversized messages, in bytes. */
  readonly oversized?: { readonly min: number; readonly max: number };
  /** Every how many messages one is oversized (0: never). */
  readonly oversizedEvery?: number;
}

export interface FuzzCorpus {
  message(n: number): FuzzMessage;
}

const KIND_WEIGHTS: ReadonlyArray<readonly [FuzzKind, number]> = [
  ['valid', 100],
  ['refused', 50],
  ['field-values', 110],
  ['random-values', 30],
  ['truncated', 90],
  ['empty', 10],
  ['random-bytes', 100],
  ['bad-marker', 50],
  ['unknown-fingerprint', 50],
  ['wrong-schema', 60],
  ['bit-flip', 100],
  ['trailing-bytes', 30],
  ['old-version', 20],
  ['decode-bomb', 20],
  ['source-reply', 120],
  ['source-mutation', 60],
];
const WEIGHT_TOTAL = KIND_WEIGHTS.reduce((sum, [, w]) => sum + w, 0);

/**
 * The requests the fuzzer expects answered OK: ONVA's identification, under 19/010, which grants it for
 * consultation only (§3, §37): sent, as ONVA's software sends them, on its consultation-requests topic.
 */
const ASKER = 'onva';
const ASKER_CHANNEL: FuzzChannel = 'consultation';
const SERVICE = 'identification';
/** The functional blocks 19/010 grants ONVA for identification, and the technical one. */
const GRANTED_BLOCKS = [
  'identification.name',
  'identification.birth',
  'identification.gender',
  'identification.nationality',
  'identification.residence',
  'identification.decease',
  'identification.civil-status',
  'identification.photo',
];
const TECHNICAL_BLOCK = 'identification.register';
/** A fixed instant, so that a message does not depend on when it was drawn. */
const SENT_AT = Date.UTC(2025, 0, 15, 9, 30);

const FIRST_DAY = -719_162; // 0001-01-01
const LAST_DAY = 2_932_896; // 9999-12-31

// ---------------------------------------------------------------------------------------------------
// Random text and values

const ALPHABETS = [
  'abcdefghijklmnopqrstuvwxyz',
  'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789',
  '0123456789.- /',
  'éèàçœÆßøÅ€£¥©®™',
  '中文字符日本語한국어',
  '\u0000\u0001\u0007\b\t\n\r\u001b\u007f',
  '"\'\\{}[]<>%$#@!?*&|;:,`~^=+',
];
const EMOJI = ['😀', '🧾', '🏳️‍🌈', '👩🏽‍⚕️', '𝔘𝔫𝔦𝔠𝔬𝔡𝔢'];

function randomText(rng: Rng, maxLength: number, { loneSurrogates = false } = {}): string {
  const length = rng.int(0, maxLength);
  const alphabet = rng.pick(ALPHABETS);
  let out = '';
  while (out.length < length) {
    const r = rng.next();
    if (r < 0.05) out += rng.pick(EMOJI);
    else if (r < 0.06 && loneSurrogates) out += String.fromCharCode(rng.int(0xd800, 0xdfff));
    else if (r < 0.2) out += rng.pick(ALPHABETS).charAt(rng.int(0, 8));
    else out += alphabet.charAt(rng.int(0, alphabet.length - 1));
  }
  return out;
}

/** A string of about `size` UTF-8 bytes. */
function bigText(rng: Rng, size: number): string {
  const unit = randomText(rng, 64).replace(/\u0000/g, '') || 'x';
  return unit.repeat(Math.ceil(size / Math.max(1, Buffer.byteLength(unit)))).slice(0, size);
}

interface TypeView {
  readonly typeName: string;
  readonly fields?: ReadonlyArray<{ readonly name: string; readonly type: avro.Type }>;
  readonly types?: readonly avro.Type[];
  readonly itemsType?: avro.Type;
  readonly valuesType?: avro.Type;
  readonly symbols?: readonly string[];
  readonly size?: number;
  readonly branchName?: string;
}

/** Any value a plain (no logical types) avsc type accepts, drawn from `rng`. */
function randomValue(rng: Rng, type: avro.Type, depth = 0): unknown {
  const t = type as unknown as TypeView;
  switch (t.typeName) {
    case 'null':
      return null;
    case 'boolean':
      return rng.chance(0.5);
    case 'int':
      return rng.pick([0, 1, -1, 2_147_483_647, -2_147_483_648, rng.int(-1_000_000, 1_000_000), rng.int(0, 30_000)]);
    case 'long':
      // avsc reads longs beyond ±2^52 with a loss of precision it refuses.
      return rng.pick([0, -1, SENT_AT, 2 ** 52, -(2 ** 52), rng.int(-(2 ** 40), 2 ** 40)]);
    case 'float':
    case 'double':
      return rng.pick([0, -0, 1.5, Number.MAX_VALUE, Number.MIN_VALUE, Number.NaN, Number.POSITIVE_INFINITY, rng.next() * 1e6]);
    case 'string':
      return randomText(rng, rng.chance(0.1) ? 2_000 : 24, { loneSurrogates: true });
    case 'bytes':
      return rng.bytes(rng.int(0, 48));
    case 'fixed':
      return rng.bytes(t.size ?? 0);
    case 'enum':
      return rng.pick(t.symbols ?? []);
    case 'array': {
      const count = depth > 3 ? 0 : rng.int(0, 3);
      return Array.from({ length: count }, () => randomValue(rng, t.itemsType as avro.Type, depth + 1));
    }
    case 'map': {
      const out: Record<string, unknown> = {};
      const count = depth > 3 ? 0 : rng.int(0, 3);
      for (let i = 0; i < count; i++) out[randomText(rng, 12)] = randomValue(rng, t.valuesType as avro.Type, depth + 1);
      return out;
    }
    case 'record':
    case 'error': {
      const out: Record<string, unknown> = {};
      for (const field of t.fields ?? []) out[field.name] = randomValue(rng, field.type, depth + 1);
      return out;
    }
    case 'union:unwrapped': {
      const branches = t.types ?? [];
      const branch = depth > 3 && (branches[0] as unknown as TypeView | undefined)?.typeName === 'null' ? branches[0] : rng.pick(branches);
      return randomValue(rng, branch as avro.Type, depth + 1);
    }
    case 'union:wrapped': {
      const branch = rng.pick(t.types ?? []) as unknown as TypeView & avro.Type;
      return branch.typeName === 'null' ? null : { [branch.branchName as string]: randomValue(rng, branch, depth + 1) };
    }
    default:
      throw new Error(`no random value for avsc type ${t.typeName}`);
  }
}

// ---------------------------------------------------------------------------------------------------
// The corpus

export function createFuzzCorpus(options: FuzzCorpusOptions): FuzzCorpus {
  const { codec, catalogue, payloadRecords, seed, runId } = options;
  const oversized = options.oversized ?? { min: 500_000, max: 900_000 };
  const oversizedEvery = options.oversizedEvery ?? 1_000;

  // Plain types (dates as day numbers): to write values the codec would refuse to encode.
  const rawTypes = new Map<string, avro.Type>();
  const raw = (recordName: string): avro.Type => {
    let type = rawTypes.get(recordName);
    if (!type) {
      type = avro.Type.forSchema(codec.type(recordName).schema() as avro.Schema, { wrapUnions: 'auto' });
      rawTypes.set(recordName, type);
    }
    return type;
  };
  const header = (recordName: string) => Buffer.concat([SINGLE_OBJECT_MARKER, codec.fingerprint(recordName)]);
  const encodeRaw = (recordName: string, value: unknown) => Buffer.concat([header(recordName), raw(recordName).toBuffer(value)]);

  const v1Schema = JSON.parse(readFileSync(join(SCHEMA_DIR, 'history', 'request-v1.avsc'), 'utf8')) as unknown;
  const v1Type = parseSchema(v1Schema);
  const v1Raw = avro.Type.forSchema(v1Schema as avro.Schema, { wrapUnions: 'auto' });
  const v1Header = Buffer.concat([SINGLE_OBJECT_MARKER, fingerprintBytes(JSON.stringify(v1Type.schema()))]);

  /** Every other record of the switch, to be sent where a Request (or a SourceReply, a SourceMutation) is expected. */
  const otherRecords = (but: string): string[] =>
    [
      ...Object.values(EXCHANGE_RECORD),
      ...Object.values(MUTATION_RECORD),
      DIRECTORY_RECORD.command,
      DIRECTORY_RECORD.ack,
      EXCHANGE_RECORD.deadLetter,
      ...new Set(payloadRecords.values()),
    ].filter((name) => name !== but);

  const catalogueIds = new Set(catalogue.services.keys());
  const servicesOf = (source: string) => [...catalogue.services.values()].filter((s) => s.source === source).map((s) => s.id);

  // --- Oracles: what the pipelines do with these bytes, in their order of checks.

  const codeOf = (error: unknown): string => (error instanceof CodecError ? error.code : 'MALFORMED_BODY');

  const requestOutcome = (value: Buffer | null, status: string | null): FuzzExpectation => {
    if (!value || value.length === 0) return { outcome: 'invalid', reasonCode: 'TRUNCATED' };
    try {
      const request = codec.decode<RequestRecord>(EXCHANGE_RECORD.request, value);
      return { outcome: 'reply', status, requestId: request.requestId };
    } catch (error) {
      return { outcome: 'invalid', reasonCode: codeOf(error) };
    }
  };

  /** For a request built to get this status: it must decode, or the generator is wrong. */
  const designed = (value: Buffer, status: string): FuzzExpectation => {
    const expectation = requestOutcome(value, status);
    if (expectation.outcome !== 'reply') throw new Error(`a request built for ${status} does not decode: ${JSON.stringify(expectation)}`);
    return expectation;
  };

  /** For bytes built to be unreadable with this reason. */
  const undecodable = (value: Buffer | null, reasonCode: string): FuzzExpectation => {
    const expectation = requestOutcome(value, null);
    if (expectation.outcome !== 'invalid' || expectation.reasonCode !== reasonCode) {
      throw new Error(`bytes built for ${reasonCode} read as ${JSON.stringify(expectation)}`);
    }
    return expectation;
  };

  const sourceReplyOutcome = (value: Buffer | null): FuzzExpectation => {
    if (!value || value.length === 0) return { outcome: 'dead-letter', reasonCode: 'TRUNCATED' };
    try {
      return { outcome: 'late-source-reply', ticket: codec.decode<SourceReplyRecord>(EXCHANGE_RECORD.sourceReply, value).ticket };
    } catch (error) {
      return { outcome: 'dead-letter', reasonCode: codeOf(error) };
    }
  };

  /** The dead letter a source mutation gets (src/gateway/mutation-pipeline.ts), or null if it would be routed. */
  const mutationOutcome = (source: string, value: Buffer | null): FuzzExpectation | null => {
    const dead = (reasonCode: string): FuzzExpectation => ({ outcome: 'dead-letter', reasonCode });
    if (!value || value.length === 0) return dead('TRUNCATED');
    let mutation: SourceMutationRecord;
    try {
      mutation = codec.decode<SourceMutationRecord>(MUTATION_RECORD.source, value);
    } catch (error) {
      return dead(codeOf(error));
    }
    const service = catalogue.services.get(mutation.service);
    if (!service || service.source !== source) return dead('WRONG_SOURCE');
    if (!parseNiss(mutation.subjectNiss).valid) return dead('INVALID_NISS');
    if (mutation.newNiss !== null && !parseNiss(mutation.newNiss).valid) return dead('INVALID_NISS');
    if (mutation.employer !== null && !parseEmployerId(mutation.employer.kind as EmployerKind, mutation.employer.id).valid) {
      return dead('INVALID_EMPLOYER_ID');
    }
    if (mutation.payload !== null) {
      const recordName = payloadRecords.get(service.id);
      if (!recordName || codec.recordNameOf(mutation.payload) !== recordName) return dead('INCOMPATIBLE_SCHEMA');
      try {
        codec.decode(recordName, mutation.payload);
      } catch (error) {
        return dead(codeOf(error));
      }
    }
    return null;
  };

  // --- Building blocks

  const requestId = (n: number) => `${runId}-${n}`;

  const dayText = (days: number) => new Date(days * 86_400_000).toISOString().slice(0, 10);
  const DAY_2023 = 19_358; // 2023-01-01
  const DAY_2025_END = 20_453; // 2025-12-31

  const okRequest = (rng: Rng, n: number): RequestRecord => {
    const from = rng.int(DAY_2023, DAY_2025_END - 400);
    return {
      requestId: requestId(n),
      requester: ASKER,
      onBehalfOf: null,
      service: SERVICE,
      purpose: null,
      subjectNiss: rng.pick(options.integrated),
      employer: null,
      period: { from: dayText(from), to: dayText(from + rng.int(0, 400)) },
      requestedBlocks: null,
      sentAt: SENT_AT + n,
    };
  };

  const encodeRequest = (record: RequestRecord) => codec.encode(EXCHANGE_RECORD.request, record);

  /** A request as valid as can be or refused on its merits: the raw material of the byte-level kinds. */
  const someRequest = (rng: Rng, n: number): Buffer => {
    const record = okRequest(rng, n);
    if (rng.chance(0.3)) return encodeRequest({ ...record, subjectNiss: rng.pick(options.strangers) });
    if (rng.chance(0.2)) return encodeRequest({ ...record, requestedBlocks: GRANTED_BLOCKS.slice(0, rng.int(1, 8)), purpose: '19/010' });
    return encodeRequest(record);
  };

  const invalidNiss = (rng: Rng): string => {
    for (;;) {
      const candidate = rng.pick([
        () => randomText(rng, 30),
        () => String(rng.int(0, 99_999_999_999)).padStart(11, '0'),
        () => String(rng.int(0, 9_999_999_999)),
        () => `${String(rng.int(0, 99_999_999_999)).padStart(11, '0')}${rng.int(0, 9)}`,
        () => '',
      ])();
      if (!parseNiss(candidate).valid) return candidate;
    }
  };

  const notAService = (rng: Rng): string => {
    for (;;) {
      const candidate = rng.chance(0.3) ? SERVICE.toUpperCase() + randomText(rng, 3) : randomText(rng, 40);
      if (!catalogueIds.has(candidate)) return candidate;
    }
  };

  const notTheAsker = (rng: Rng): string => {
    for (;;) {
      const candidate = rng.pick([() => randomText(rng, 40), () => rng.pick(options.institutions), () => 'ONVA', () => ' onva', () => ''])();
      if (candidate !== ASKER) return candidate;
    }
  };

  const nonEmptyText = (rng: Rng, max: number): string => {
    const text = randomText(rng, max);
    return text === '' ? 'x' : text;
  };

  /** A key as institutions send them, or as they should not. */
  const drawKey = (rng: Rng, natural: string | null): string | Buffer | null => {
    const r = rng.next();
    if (r < 0.6) return natural;
    if (r < 0.7) return null;
    if (r < 0.75) return '';
    if (r < 0.85) return rng.bytes(rng.int(1, 64));
    if (r < 0.95) return randomText(rng, 80);
    return bigText(rng, rng.int(1_000, 8_000));
  };

  const drawHeaders = (rng: Rng, n: number): FuzzHeaders => {
    const r = rng.next();
    if (r < 0.1) return {};
    const headers: FuzzHeaders = { fz: String(n) };
    if (r < 0.75) return headers;
    for (let i = rng.int(1, 6); i > 0; i--) {
      const name = `g${rng.pick(['', '-', '\u00e9', '😀', ' ', '\u0000'])}${randomText(rng, 20)}`;
      const value = (): string | Buffer => (rng.chance(0.5) ? rng.bytes(rng.int(0, 200)) : randomText(rng, 60));
      headers[name] = rng.chance(0.2) ? [value(), value()] : value();
    }
    return headers;
  };

  const flipBits = (rng: Rng, bytes: Buffer, from: number): Buffer => {
    const out = Buffer.from(bytes);
    if (out.length <= from) return out;
    for (let i = rng.int(1, 8); i > 0; i--) {
      const at = rng.int(from, out.length - 1);
      out[at] = (out[at] as number) ^ (1 << rng.int(0, 7));
    }
    return out;
  };

  const zigzag = (n: number) => parseSchema('long').toBuffer(n);

  // --- Requests

  type Built = { variant: string; value: Buffer | null; expect: FuzzExpectation };

  const valid = (rng: Rng, n: number): Built => {
    const record = okRequest(rng, n);
    const niss = parseNiss(record.subjectNiss);
    const variants: Array<[string, () => RequestRecord]> = [
      ['plain', () => record],
      ['open-end', () => ({ ...record, period: { from: record.period.from, to: null } })],
      ['niss-with-separators', () => ({ ...record, subjectNiss: niss.valid ? `${niss.normalized.slice(0, 2)}.${niss.normalized.slice(2, 4)}.${niss.normalized.slice(4, 6)}-${niss.normalized.slice(6, 9)}.${niss.normalized.slice(9)}` : record.subjectNiss })],
      ['some-blocks', () => ({ ...record, requestedBlocks: GRANTED_BLOCKS.filter(() => rng.chance(0.5)).concat(GRANTED_BLOCKS[0] as string) })],
      ['no-blocks-named', () => ({ ...record, requestedBlocks: [] })],
      // The name: every person has one (asked alone, a block the person lacks, like a decease, is NO_DATA).
      ['blocks-with-unknown-ones', () => ({ ...record, requestedBlocks: [randomText(rng, 30), 'identification.name', 'dmfa.occupation'] })],
      ['purpose-by-number', () => ({ ...record, purpose: '19/010' })],
      ['purpose-by-code', () => ({ ...record, purpose: 'onva-inspection-annual-holidays' })],
      ['purpose-empty', () => ({ ...record, purpose: '' })],
      ['on-behalf-of-itself', () => ({ ...record, onBehalfOf: rng.pick([ASKER, '']) })],
      ['request-id-unicode', () => ({ ...record, requestId: `${record.requestId}-${randomText(rng, 200)}` })],
      ['request-id-long', () => ({ ...record, requestId: `${record.requestId}-${bigText(rng, rng.int(1_000, 16_000))}` })],
      ['sent-at-anything', () => ({ ...record, sentAt: rng.pick([0, -1, 2 ** 52, -(2 ** 52), rng.int(-(2 ** 40), 2 ** 40)]) })],
    ];
    const [variant, build] = rng.chance(0.6) ? (variants[0] as [string, () => RequestRecord]) : rng.pick(variants);
    const value = encodeRequest(build());
    return { variant, value, expect: designed(value, 'OK') };
  };

  const refused = (rng: Rng, n: number): Built & { institution?: string; channel?: FuzzChannel } => {
    const record = okRequest(rng, n);
    const pastDays = rng.int(-200_000, DAY_2023 - 400);
    const variants: Array<[string, string, () => RequestRecord, string?, FuzzChannel?]> = [
      ['not-integrated', 'NOT_INTEGRATED', () => ({ ...record, subjectNiss: rng.pick(options.strangers) })],
      ['invalid-niss', 'INVALID_NISS', () => ({ ...record, subjectNiss: invalidNiss(rng) })],
      ['sender-mismatch', 'SENDER_MISMATCH', () => ({ ...record, requester: rng.pick(options.institutions.filter((i) => i !== ASKER)) })],
      ['unknown-service', 'UNKNOWN_SERVICE', () => ({ ...record, service: notAService(rng) })],
      ['period-reversed', 'INVALID_PERIOD', () => ({ ...record, period: { from: record.period.to as string, to: dayText(rng.int(DAY_2023 - 3_000, 19_000)) } })],
      ['future-start-open-end', 'INVALID_PERIOD', () => ({ ...record, period: { from: dayText(rng.int(25_000, LAST_DAY)), to: null } })],
      ['empty-request-id', 'INVALID_MESSAGE', () => ({ ...record, requestId: rng.pick(['', ' ', '\t\n ']) })],
      ['employer-given', 'INVALID_EMPLOYER_ID', () => ({ ...record, employer: { kind: 'ENTERPRISE', id: '0403170701', category: null } })],
      ['before-integration', 'NOT_INTEGRATED_FOR_PERIOD', () => ({ ...record, period: { from: dayText(pastDays), to: dayText(pastDays + rng.int(0, 300)) } })],
      ['unknown-purpose', 'NOT_AUTHORIZED', () => ({ ...record, purpose: nonEmptyText(rng, 40) })],
      ['unknown-beneficiary', 'NOT_AUTHORIZED', () => ({ ...record, onBehalfOf: `${nonEmptyText(rng, 20)}-not-an-institution` })],
      ['unauthorized-blocks', 'NOT_AUTHORIZED', () => ({ ...record, requestedBlocks: ['dmfa.occupation', nonEmptyText(rng, 30)] })],
      ['technical-block-only', 'NO_DATA', () => ({ ...record, requestedBlocks: [TECHNICAL_BLOCK] })],
      // VAPH asks through MAGDA only (10/012): asked directly, not covered.
      ['intermediary-bypassed', 'NOT_AUTHORIZED', () => ({ ...record, requester: 'vaph' }), 'vaph', 'replies'],
      // 19/010 §37: ONVA's very request, on its ordinary requests topic rather than through DOLSIS.
      ['consultation-only', 'CONSULTATION_ONLY', () => record, ASKER, 'replies'],
    ];
    const [variant, status, build, institution, channel] = rng.pick(variants);
    const value = encodeRequest(build());
    return { variant, value, expect: designed(value, status), ...(institution ? { institution } : {}), ...(channel ? { channel } : {}) };
  };

  const fieldValues = (rng: Rng, n: number): Built => {
    const record = okRequest(rng, n);
    const rawRecord = () => ({ ...record, period: { from: rng.int(DAY_2023, 20_000), to: rng.chance(0.5) ? null : rng.int(20_000, 20_400) } });
    const variants: Array<[string, () => Built]> = [
      ['request-id-any-text', () => reply(encodeRequest({ ...record, requestId: `${record.requestId}:${randomText(rng, 4_000)}` }), 'OK')],
      ['requester-junk', () => reply(encodeRequest({ ...record, requester: notTheAsker(rng) }), 'SENDER_MISMATCH')],
      ['service-junk', () => reply(encodeRequest({ ...record, service: notAService(rng) }), 'UNKNOWN_SERVICE')],
      ['niss-junk', () => reply(encodeRequest({ ...record, subjectNiss: invalidNiss(rng) }), 'INVALID_NISS')],
      ['niss-long', () => reply(encodeRequest({ ...record, subjectNiss: '8'.repeat(rng.int(12, 20_000)) }), 'INVALID_NISS')],
      [
        'employer-junk',
        () =>
          reply(
            encodeRequest({
              ...record,
              employer: { kind: rng.pick(['ENTERPRISE', 'ONSS', 'ONSS_PROVISIONAL'] as const), id: randomText(rng, 20), category: rng.chance(0.5) ? null : randomText(rng, 5) },
            }),
            'INVALID_EMPLOYER_ID',
          ),
      ],
      ['purpose-junk', () => reply(encodeRequest({ ...record, purpose: nonEmptyText(rng, 3_000) }), 'NOT_AUTHORIZED')],
      ['beneficiary-junk', () => reply(encodeRequest({ ...record, onBehalfOf: `${nonEmptyText(rng, 60)}?` }), 'NOT_AUTHORIZED')],
      ['blocks-junk', () => reply(encodeRequest({ ...record, requestedBlocks: Array.from({ length: rng.int(1, 40) }, () => `${nonEmptyText(rng, 40)}#`) }), 'NOT_AUTHORIZED')],
      ['all-strings-empty', () => reply(encodeRequest({ ...record, requestId: '', requester: '', service: '', subjectNiss: '', purpose: '', onBehalfOf: '' }), 'SENDER_MISMATCH')],
      ['period-year-one', () => reply(encodeRequest({ ...record, period: { from: '0001-01-01', to: dayText(FIRST_DAY + rng.int(0, 5_000)) } }), 'NOT_INTEGRATED_FOR_PERIOD')],
      // Not 9999: the simulated sources widen a period by a quarter on each side, and there is no
      // quarter after 9999Q4 (they dead-letter such a request; the switch then times out).
      ['period-far-future', () => reply(encodeRequest({ ...record, period: { from: dayText(rng.int(25_000, 2_500_000)), to: '9000-12-31' } }), 'OK')],
      [
        'period-beyond-9999',
        () => broken(encodeRaw(EXCHANGE_RECORD.request, { ...rawRecord(), period: { from: rng.int(LAST_DAY + 1, 99_999_999), to: null } }), 'MALFORMED_BODY'),
      ],
      [
        'period-before-year-one',
        () => broken(encodeRaw(EXCHANGE_RECORD.request, { ...rawRecord(), period: { from: rng.int(-99_999_999, FIRST_DAY - 1), to: null } }), 'MALFORMED_BODY'),
      ],
      [
        'period-extreme-days',
        () =>
          broken(
            encodeRaw(EXCHANGE_RECORD.request, { ...rawRecord(), period: { from: DAY_2023, to: rng.pick([2_147_483_647, -2_147_483_648]) } }),
            'MALFORMED_BODY',
          ),
      ],
    ];
    const [variant, build] = rng.pick(variants);
    return { ...build(), variant };
  };

  const reply = (value: Buffer, status: string): Built => ({ variant: '', value, expect: designed(value, status) });
  const broken = (value: Buffer | null, reasonCode: string): Built => ({ variant: '', value, expect: undecodable(value, reasonCode) });
  const oracle = (value: Buffer | null): Built => ({ variant: '', value, expect: requestOutcome(value, null) });

  const byteLevel = (kind: FuzzKind, rng: Rng, n: number): Built => {
    switch (kind) {
      case 'random-values': {
        const value = encodeRaw(EXCHANGE_RECORD.request, randomValue(rng, raw(EXCHANGE_RECORD.request)));
        return { ...oracle(value), variant: 'request' };
      }
      case 'truncated': {
        const whole = someRequest(rng, n);
        const at = rng.chance(0.15) ? rng.pick([0, 1, 2, 9, 10, 11]) : rng.int(0, whole.length - 1);
        return { ...oracle(whole.subarray(0, at)), variant: at < 10 ? 'in-header' : 'in-body' };
      }
      case 'empty':
        return rng.chance(0.5) ? { ...broken(null, 'TRUNCATED'), variant: 'null-value' } : { ...broken(Buffer.alloc(0), 'TRUNCATED'), variant: 'no-bytes' };
      case 'random-bytes': {
        const length = rng.pick([() => rng.int(0, 16), () => rng.int(10, 200), () => rng.int(200, 4_096)])();
        const r = rng.next();
        if (r < 0.1) return { ...oracle(Buffer.concat([SINGLE_OBJECT_MARKER, rng.bytes(length)])), variant: 'after-marker' };
        if (r < 0.2) return { ...oracle(Buffer.concat([header(EXCHANGE_RECORD.request), rng.bytes(length)])), variant: 'after-request-header' };
        return { ...oracle(rng.bytes(length)), variant: 'bytes' };
      }
      case 'bad-marker': {
        const value = Buffer.from(someRequest(rng, n));
        do {
          value[0] = rng.int(0, 255);
          value[1] = rng.int(0, 255);
        } while (value[0] === 0xc3 && value[1] === 0x01);
        return { ...broken(value, 'BAD_MARKER'), variant: 'request-body' };
      }
      case 'unknown-fingerprint': {
        const body = someRequest(rng, n).subarray(10);
        return { ...broken(Buffer.concat([SINGLE_OBJECT_MARKER, rng.bytes(8), body]), 'UNKNOWN_FINGERPRINT'), variant: 'request-body' };
      }
      case 'wrong-schema': {
        const other = rng.pick(otherRecords(EXCHANGE_RECORD.request));
        return { ...broken(encodeRaw(other, randomValue(rng, raw(other))), 'INCOMPATIBLE_SCHEMA'), variant: other.replace('be.bcss.gateway.', '') };
      }
      case 'bit-flip': {
        const whole = someRequest(rng, n);
        const inHeader = rng.chance(0.1);
        return { ...oracle(flipBits(rng, whole, inHeader ? 0 : 10)), variant: inHeader ? 'anywhere' : 'in-body' };
      }
      case 'trailing-bytes':
        return { ...broken(Buffer.concat([someRequest(rng, n), rng.bytes(rng.int(1, 64))]), 'MALFORMED_BODY'), variant: 'request' };
      case 'old-version': {
        const record = okRequest(rng, n);
        const r = rng.next();
        if (r < 0.5) {
          const { onBehalfOf: _o, requestedBlocks: _b, ...v1 } = record;
          const value = Buffer.concat([v1Header, v1Type.toBuffer(v1)]);
          return { ...reply(value, 'OK'), variant: 'v1-request' };
        }
        if (r < 0.8) return { ...oracle(Buffer.concat([v1Header, v1Raw.toBuffer(randomValue(rng, v1Raw))])), variant: 'v1-random-values' };
        return { ...oracle(Buffer.concat([v1Header, encodeRequest(record).subarray(10)])), variant: 'current-body-v1-header' };
      }
      case 'decode-bomb': {
        // Everything up to requestedBlocks empty or null, then the array claims far more items than follow.
        const prefix = Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
        const variants: Array<[string, () => Buffer]> = [
          ['array-count-2^31', () => zigzag(2 ** 31 - 1)],
          ['array-count-2^50', () => zigzag(2 ** 50)],
          ['array-negative-count', () => Buffer.concat([zigzag(-(2 ** 40)), zigzag(3)])],
          ['array-count-then-items', () => Buffer.concat([zigzag(rng.int(1_000, 100_000_000)), Buffer.from([2, 0x61, 2, 0x62])])],
          ['string-length-2^40', () => zigzag(2 ** 40)],
        ];
        const [variant, tail] = rng.pick(variants);
        const body = variant.startsWith('string') ? Buffer.concat([tail(), rng.bytes(16)]) : Buffer.concat([prefix, tail()]);
        return { ...broken(Buffer.concat([header(EXCHANGE_RECORD.request), body]), 'MALFORMED_BODY'), variant };
      }
      default:
        throw new Error(`not a byte-level kind: ${kind}`);
    }
  };

  // --- Sources

  const unknownTicket = (n: number) => `F${runId}-${n}`;

  const sourceReply = (rng: Rng, n: number, source: string, size = 0): Built => {
    const record: SourceReplyRecord = {
      ticket: unknownTicket(n),
      status: rng.pick(['OK', 'NO_DATA', 'ERROR', 'NISS_REPLACED'] as const),
      newNiss: rng.chance(0.3) ? rng.pick(options.strangers) : null,
      errorMessage: rng.chance(0.3) ? randomText(rng, 200) : null,
      payload: rng.chance(0.3) ? rng.bytes(rng.int(0, 300)) : null,
      answeredAt: SENT_AT + n,
    };
    const encode = (r: SourceReplyRecord) => codec.encode(EXCHANGE_RECORD.sourceReply, r);
    const outcome = (value: Buffer | null) => ({ value, expect: sourceReplyOutcome(value) });
    if (size > 0) {
      const variant = rng.pick(['huge-error-message', 'huge-payload', 'huge-random-bytes']);
      if (variant === 'huge-error-message') return { variant, ...outcome(encode({ ...record, status: 'ERROR', errorMessage: bigText(rng, size) })) };
      if (variant === 'huge-payload') return { variant, ...outcome(encode({ ...record, status: 'OK', payload: rng.bytes(size) })) };
      return { variant, ...outcome(rng.bytes(size)) };
    }
    const whole = encode(record);
    const variants: Array<[string, () => Buffer | null]> = [
      ['unknown-ticket', () => whole],
      ['random-ticket', () => encode({ ...record, ticket: `T${randomText(rng, 22)}` })],
      ['empty', () => (rng.chance(0.5) ? null : Buffer.alloc(0))],
      ['truncated', () => whole.subarray(0, rng.int(0, whole.length - 1))],
      ['random-bytes', () => rng.bytes(rng.int(0, 600))],
      ['bad-marker', () => Buffer.concat([Buffer.from([0x7b, 0x22]), whole.subarray(2)])],
      ['unknown-fingerprint', () => Buffer.concat([SINGLE_OBJECT_MARKER, rng.bytes(8), whole.subarray(10)])],
      ['wrong-schema', () => { const other = rng.pick(otherRecords(EXCHANGE_RECORD.sourceReply)); return encodeRaw(other, randomValue(rng, raw(other))); }],
      ['bit-flip', () => flipBits(rng, whole, 10)],
      ['trailing-bytes', () => Buffer.concat([whole, rng.bytes(rng.int(1, 32))])],
      ['random-values', () => encodeRaw(EXCHANGE_RECORD.sourceReply, randomValue(rng, raw(EXCHANGE_RECORD.sourceReply)))],
    ];
    const [variant, build] = rng.pick(variants);
    return { variant, ...outcome(build()) };
  };

  const sourceMutation = (rng: Rng, n: number, source: string, size = 0): Built => {
    const owned = servicesOf(source);
    const record: SourceMutationRecord = {
      mutationId: `${runId}-m${n}`,
      service: rng.pick(owned),
      subjectNiss: rng.pick(options.strangers),
      employer: null,
      informationType: randomText(rng, 30),
      changeKind: rng.pick(['ADDED', 'CHANGED', 'ENDED', 'CANCELLED'] as const),
      effectiveDate: dayText(rng.int(DAY_2023, DAY_2025_END)),
      newNiss: null,
      payload: null,
      emittedAt: SENT_AT + n,
    };
    const encode = (r: SourceMutationRecord) => codec.encode(MUTATION_RECORD.source, r);
    const payloadHeader = (service: string) => header(payloadRecords.get(service) as string);
    if (size > 0) {
      const value = rng.chance(0.5) ? rng.bytes(size) : encode({ ...record, payload: rng.bytes(size) });
      return { variant: 'huge', value, expect: mutationOutcome(source, value) as FuzzExpectation };
    }
    const whole = encode({ ...record, subjectNiss: invalidNiss(rng) });
    const variants: Array<[string, () => Buffer | null]> = [
      ['not-its-service', () => encode({ ...record, service: rng.chance(0.5) ? notAService(rng) : rng.pick([...catalogueIds].filter((s) => !owned.includes(s))) })],
      ['invalid-niss', () => whole],
      ['invalid-new-niss', () => encode({ ...record, newNiss: `${invalidNiss(rng)}x` })],
      ['invalid-employer', () => encode({ ...record, employer: { kind: rng.pick(['ENTERPRISE', 'ONSS', 'ONSS_PROVISIONAL'] as const), id: `${randomText(rng, 12)}x`, category: null } })],
      ['unreadable-payload', () => encode({ ...record, payload: rng.chance(0.5) ? rng.bytes(rng.int(0, 400)) : encodeRaw(EXCHANGE_RECORD.request, randomValue(rng, raw(EXCHANGE_RECORD.request))) })],
      ['payload-bomb', () => encode({ ...record, payload: Buffer.concat([payloadHeader(record.service), zigzag(2 ** 31 - 1)]) })],
      ['empty', () => (rng.chance(0.5) ? null : Buffer.alloc(0))],
      ['truncated', () => whole.subarray(0, rng.int(0, whole.length - 1))],
      ['random-bytes', () => rng.bytes(rng.int(0, 600))],
      ['bad-marker', () => Buffer.concat([Buffer.from([0x00, 0x01]), whole.subarray(2)])],
      ['unknown-fingerprint', () => Buffer.concat([SINGLE_OBJECT_MARKER, rng.bytes(8), whole.subarray(10)])],
      ['wrong-schema', () => { const other = rng.pick(otherRecords(MUTATION_RECORD.source)); return encodeRaw(other, randomValue(rng, raw(other))); }],
      ['bit-flip', () => flipBits(rng, whole, 10)],
    ];
    // A change the pipeline would route (a flipped bit can mend the NISS) is drawn again: its outcome
    // depends on the directory, not on the bytes.
    for (;;) {
      const [variant, build] = rng.pick(variants);
      const value = build();
      const expect = mutationOutcome(source, value);
      if (expect) return { variant, value, expect };
    }
  };

  // --- Oversized: big, but under the broker's limit for one record batch (message.max.bytes, 1 MiB).

  const oversizedMessage = (rng: Rng, n: number): Built & { topic: FuzzTopic } => {
    const size = rng.int(oversized.min, oversized.max);
    const target = rng.next();
    if (target < 0.15) {
      const source = rng.pick(options.sources);
      const built = sourceReply(rng, n, source, size);
      return { ...built, variant: `source-reply:${built.variant}`, topic: { kind: 'source-replies', source } };
    }
    if (target < 0.3) {
      const source = rng.pick(options.sources.filter((s) => servicesOf(s).length > 0));
      const built = sourceMutation(rng, n, source, size);
      return { ...built, variant: `source-mutation:${built.variant}`, topic: { kind: 'source-mutations', source } };
    }
    const record = okRequest(rng, n);
    const topic: FuzzTopic = { kind: 'requests', institution: ASKER, channel: ASKER_CHANNEL };
    const variants: Array<[string, () => Built]> = [
      ['random-bytes', () => oracle(rng.bytes(size))],
      ['huge-request-id', () => reply(encodeRequest({ ...record, requestId: `${record.requestId}:${bigText(rng, size)}` }), 'OK')],
      ['huge-granted-blocks', () => reply(encodeRequest({ ...record, requestedBlocks: Array.from({ length: Math.ceil(size / 24) }, (_, i) => GRANTED_BLOCKS[i % GRANTED_BLOCKS.length] as string) }), 'OK')],
      ['huge-unknown-blocks', () => reply(encodeRequest({ ...record, requestedBlocks: Array.from({ length: Math.ceil(size / 24) }, (_, i) => `unknown.block-${i}`) }), 'NOT_AUTHORIZED')],
      ['huge-purpose', () => reply(encodeRequest({ ...record, purpose: bigText(rng, size) }), 'NOT_AUTHORIZED')],
      ['huge-requester', () => reply(encodeRequest({ ...record, requester: bigText(rng, size) }), 'SENDER_MISMATCH')],
      ['huge-service', () => reply(encodeRequest({ ...record, service: bigText(rng, size) }), 'UNKNOWN_SERVICE')],
      ['huge-beneficiary', () => reply(encodeRequest({ ...record, onBehalfOf: bigText(rng, size) }), 'NOT_AUTHORIZED')],
      ['huge-niss', () => reply(encodeRequest({ ...record, subjectNiss: '7'.repeat(size) }), 'INVALID_NISS')],
      ['huge-truncated', () => oracle(encodeRequest({ ...record, requestId: bigText(rng, size) }).subarray(0, size - rng.int(1, 1_000)))],
    ];
    const [variant, build] = rng.pick(variants);
    return { ...build(), variant: `request:${variant}`, topic };
  };

  const kindOf = (rng: Rng): FuzzKind => {
    let r = rng.next() * WEIGHT_TOTAL;
    for (const [kind, weight] of KIND_WEIGHTS) {
      r -= weight;
      if (r < 0) return kind;
    }
    return 'valid';
  };

  return {
    message(n) {
      const rng = rngFor(seed, n);
      const headers = drawHeaders(rng, n);
      if (oversizedEvery > 0 && n % oversizedEvery === Math.floor(oversizedEvery / 2)) {
        const built = oversizedMessage(rng, n);
        return { n, kind: 'oversized', variant: built.variant, topic: built.topic, key: drawKey(rng, `big-${n}`), value: built.value, headers, expect: built.expect };
      }
      const kind = kindOf(rng);
      if (kind === 'source-reply' || kind === 'source-mutation') {
        const source = kind === 'source-reply' ? rng.pick(options.sources) : rng.pick(options.sources.filter((s) => servicesOf(s).length > 0));
        const built = kind === 'source-reply' ? sourceReply(rng, n, source) : sourceMutation(rng, n, source);
        const topic: FuzzTopic = kind === 'source-reply' ? { kind: 'source-replies', source } : { kind: 'source-mutations', source };
        return { n, kind, variant: built.variant, topic, key: drawKey(rng, rng.pick(options.strangers)), value: built.value, headers, expect: built.expect };
      }
      if (kind === 'valid' || kind === 'refused' || kind === 'field-values') {
        const built = kind === 'valid' ? valid(rng, n) : kind === 'refused' ? refused(rng, n) : fieldValues(rng, n);
        const institution = ('institution' in built && typeof built.institution === 'string' ? built.institution : undefined) ?? ASKER;
        const chosen = 'channel' in built ? (built.channel as FuzzChannel | undefined) : undefined;
        const channel: FuzzChannel = chosen ?? (institution === ASKER ? ASKER_CHANNEL : 'replies');
        const natural = built.expect.outcome === 'reply' ? rng.pick(options.integrated) : null;
        return { n, kind, variant: built.variant, topic: { kind: 'requests', institution, channel }, key: drawKey(rng, natural), value: built.value, headers, expect: built.expect };
      }
      const built = byteLevel(kind, rng, n);
      // Bytes on any institution's topic: the refusal goes to that topic's owner, back the way they came.
      // A request built for a status goes to ONVA's consultation-requests topic, whose request it is;
      // the others, half of the time, there too, else to any institution's ordinary requests topic
      // (ONVA's included).
      const designedFor = built.expect.outcome === 'reply' && built.expect.status !== null;
      const toAsker = designedFor || rng.chance(0.5);
      const topic: FuzzTopic = toAsker
        ? { kind: 'requests', institution: ASKER, channel: ASKER_CHANNEL }
        : { kind: 'requests', institution: rng.pick(options.institutions), channel: 'replies' };
      return { n, kind, variant: built.variant, topic, key: drawKey(rng, `k-${n}`), value: built.value, headers, expect: built.expect };
    },
  };
}
