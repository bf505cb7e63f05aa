/**
 * The record types of src/contract/ held to the schemas they describe, so that neither can change
 * without the other: the codec casts what it decodes to these types and never checks them, so a field
 * renamed, added or made nullable in a `.avsc` would otherwise reach the code as `undefined` or `null`
 * where the type promises a value.
 *
 * Read with the TypeScript compiler API: for each record type, every property (inherited ones
 * included) against the Avro record's fields, nested records, arrays and maps followed down — the same
 * set of names; `["null", X]` exactly where the type admits `null`; no optional property (the codec
 * always gives every field); the same kind of value (string, number, boolean, bytes, array, map,
 * record) and, for an Avro enum, the same symbols as the type's string literals. Every record name of
 * src/contract/names.ts has its schema and its type, and every schema of schemas/ (the service
 * payloads excepted) its name.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import * as NAMES from '../../src/contract/names.js';
import { PROJECT_ROOT, SCHEMA_DIR } from '../../src/config/project-paths.js';
import { loadAvroCodec, parseSchema, SINGLE_OBJECT_MARKER } from '../../src/messaging/avro-codec.js';
import { fingerprintBytes } from '../../src/messaging/crc64-avro.js';

/** Each record of the protocol, by the contract type that the codec decodes it as. */
const RECORD_TYPES: ReadonlyArray<readonly [type: string, record: string]> = [
  ['RequestRecord', NAMES.EXCHANGE_RECORD.request],
  ['ReplyRecord', NAMES.EXCHANGE_RECORD.reply],
  ['SourceRequestRecord', NAMES.EXCHANGE_RECORD.sourceRequest],
  ['SourceReplyRecord', NAMES.EXCHANGE_RECORD.sourceReply],
  ['ExchangeTimeoutRecord', NAMES.EXCHANGE_RECORD.timeout],
  ['AuditRecordValue', NAMES.EXCHANGE_RECORD.audit],
  ['DeadLetterRecord', NAMES.EXCHANGE_RECORD.deadLetter],
  ['DirectoryCommandRecord', NAMES.DIRECTORY_RECORD.command],
  ['DirectorySnapshotRecord', NAMES.DIRECTORY_RECORD.snapshot],
  ['DirectoryAckRecord', NAMES.DIRECTORY_RECORD.ack],
  ['SourceMutationRecord', NAMES.MUTATION_RECORD.source],
  ['MutationRecord', NAMES.MUTATION_RECORD.delivered],
  ['AuthorizationSnapshot', NAMES.AUTHORIZATION_RECORD],
  ['AuditSealValue', NAMES.AUDIT_SEAL_RECORD],
];

/** An exported type whose name says it is a record (or part of one) must be checked, at the top or nested. */
const RECORD_LIKE = /(Record|Value|Snapshot)$/;

const CONTRACT_DIR = join(PROJECT_ROOT, 'src', 'contract');

// ---------------------------------------------------------------------------------------------------
// The schemas, as plain JSON with the named types resolved.

type AvroType =
  | { readonly kind: 'null' | 'boolean' | 'number' | 'string' | 'bytes' }
  | { readonly kind: 'enum'; readonly name: string; readonly symbols: readonly string[] }
  | { readonly kind: 'array'; readonly items: AvroType }
  | { readonly kind: 'map'; readonly values: AvroType }
  | { readonly kind: 'union'; readonly types: readonly AvroType[] }
  | { readonly kind: 'record'; readonly name: string; readonly fields: ReadonlyArray<{ readonly name: string; readonly type: AvroType }> };

const PRIMITIVES: Readonly<Record<string, AvroType['kind']>> = {
  null: 'null',
  boolean: 'boolean',
  int: 'number',
  long: 'number',
  float: 'number',
  double: 'number',
  bytes: 'bytes',
  string: 'string',
};

/** Resolves a schema's JSON into AvroType, named types (records, enums, fixed) by their full names. */
function readAvro(schema: unknown, namespace: string, named: Map<string, AvroType>): AvroType {
  if (Array.isArray(schema)) return { kind: 'union', types: schema.map((s) => readAvro(s, namespace, named)) };
  if (typeof schema === 'string') {
    const primitive = PRIMITIVES[schema];
    if (primitive) return { kind: primitive } as AvroType;
    const known = named.get(schema.includes('.') ? schema : `${namespace}.${schema}`);
    if (!known) throw new Error(`unknown Avro type ${schema}`);
    return known;
  }
  const s = schema as Record<string, unknown>;
  const fullName = (): string => {
    const name = String(s.name);
    return name.includes('.') ? name : `${String(s.namespace ?? namespace)}.${name}`;
  };
  const inner = (): string => (typeof s.namespace === 'string' ? s.namespace : namespace);
  switch (s.type) {
    case 'record': {
      const name = fullName();
      const fields: Array<{ name: string; type: AvroType }> = [];
      const record: AvroType = { kind: 'record', name, fields };
      named.set(name, record);
      for (const f of s.fields as Array<{ name: string; type: unknown }>) fields.push({ name: f.name, type: readAvro(f.type, name.slice(0, name.lastIndexOf('.')), named) });
      return record;
    }
    case 'enum': {
      const type: AvroType = { kind: 'enum', name: fullName(), symbols: s.symbols as string[] };
      named.set(fullName(), type);
      return type;
    }
    case 'fixed': {
      const type: AvroType = { kind: 'bytes' };
      named.set(fullName(), type);
      return type;
    }
    case 'array':
      return { kind: 'array', items: readAvro(s.items, inner(), named) };
    case 'map':
      return { kind: 'map', values: readAvro(s.values, inner(), named) };
    default:
      // A logical type: dates are ISO strings in the code (IsoDateType), timestamps stay numbers.
      if (s.logicalType === 'date') return { kind: 'string' };
      return readAvro(s.type, namespace, named);
  }
}

/** Full name → top-level record of each `schemas/*.avsc` (the current versions). */
function currentSchemas(): Map<string, { file: string; type: AvroType }> {
  const found = new Map<string, { file: string; type: AvroType }>();
  for (const file of readdirSync(SCHEMA_DIR).filter((f) => f.endsWith('.avsc')).sort()) {
    const json = JSON.parse(readFileSync(join(SCHEMA_DIR, file), 'utf8')) as { namespace?: string };
    const type = readAvro(json, json.namespace ?? '', new Map());
    if (type.kind === 'record') found.set(type.name, { file, type });
  }
  return found;
}

// ---------------------------------------------------------------------------------------------------
// The types, through the compiler.

function contractProgram(): { checker: ts.TypeChecker; exported: Map<string, ts.Symbol> } {
  const config = ts.readConfigFile(join(PROJECT_ROOT, 'tsconfig.json'), ts.sys.readFile);
  const { options } = ts.parseJsonConfigFileContent(config.config, ts.sys, PROJECT_ROOT);
  const files = readdirSync(CONTRACT_DIR)
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join(CONTRACT_DIR, f));
  const program = ts.createProgram(files, { ...options, noEmit: true });
  const checker = program.getTypeChecker();
  const exported = new Map<string, ts.Symbol>();
  for (const file of files) {
    const source = program.getSourceFile(file);
    const module = source && checker.getSymbolAtLocation(source);
    if (!module) throw new Error(`${file} is not a module`);
    for (const symbol of checker.getExportsOfModule(module)) {
      if (symbol.flags & (ts.SymbolFlags.Interface | ts.SymbolFlags.TypeAlias)) exported.set(symbol.name, symbol);
    }
  }
  return { checker, exported };
}

/** Compares a TypeScript type with an Avro type; returns the differences, each with its field path. */
function compare(checker: ts.TypeChecker, tsType: ts.Type, avro: AvroType, path: string, visited: Set<string>): string[] {
  const members = tsType.isUnion() ? tsType.types : [tsType];
  const problems: string[] = [];
  if (members.some((m) => m.flags & (ts.TypeFlags.Undefined | ts.TypeFlags.Void))) problems.push(`${path}: the type admits undefined (or is optional); the codec always gives every field`);
  const tsNullable = members.some((m) => m.flags & ts.TypeFlags.Null);
  const avroNullable = avro.kind === 'union' && avro.types.some((t) => t.kind === 'null');
  if (tsNullable !== avroNullable) {
    problems.push(`${path}: ${avroNullable ? 'the schema has ["null", …] but the type does not admit null' : 'the type admits null but the schema has no "null"'}`);
  }
  let inner = avro;
  if (avro.kind === 'union') {
    const rest = avro.types.filter((t) => t.kind !== 'null');
    if (rest.length !== 1) return [...problems, `${path}: a union of ${rest.length} non-null types is not checked here`];
    inner = rest[0] as AvroType;
  }
  const values = members.filter((m) => !(m.flags & (ts.TypeFlags.Null | ts.TypeFlags.Undefined | ts.TypeFlags.Void)));
  // `boolean` is the union `true | false`: both literals, one kind.
  const all = (flag: ts.TypeFlags): boolean => values.length > 0 && values.every((m) => (m.flags & flag) !== 0);
  const shown = checker.typeToString(tsType);
  const single = values.length === 1 ? values[0] : undefined;
  switch (inner.kind) {
    case 'string':
      if (!all(ts.TypeFlags.StringLike)) problems.push(`${path}: the schema has a string, the type ${shown}`);
      break;
    case 'number':
      if (!all(ts.TypeFlags.NumberLike)) problems.push(`${path}: the schema has a number, the type ${shown}`);
      break;
    case 'boolean':
      if (!all(ts.TypeFlags.BooleanLike)) problems.push(`${path}: the schema has a boolean, the type ${shown}`);
      break;
    case 'bytes':
      if (single?.getSymbol()?.name !== 'Buffer') problems.push(`${path}: the schema has bytes, the type ${shown}`);
      break;
    case 'enum': {
      if (!all(ts.TypeFlags.StringLiteral)) {
        problems.push(`${path}: the schema has the enum ${inner.name}, the type ${shown} (not its string literals)`);
        break;
      }
      const literals = values.map((m) => (m as ts.StringLiteralType).value).sort();
      const symbols = [...inner.symbols].sort();
      if (literals.join() !== symbols.join()) problems.push(`${path}: the enum ${inner.name} has ${symbols.join(' | ')}, the type ${literals.join(' | ')}`);
      break;
    }
    case 'array':
      if (!single || !checker.isArrayType(single)) problems.push(`${path}: the schema has an array, the type ${shown}`);
      else problems.push(...compare(checker, checker.getTypeArguments(single as ts.TypeReference)[0] as ts.Type, inner.items, `${path}[]`, visited));
      break;
    case 'map': {
      const index = single && checker.getIndexInfoOfType(single, ts.IndexKind.String);
      if (!index) problems.push(`${path}: the schema has a map, the type ${shown}`);
      else problems.push(...compare(checker, index.type, inner.values, `${path}{}`, visited));
      break;
    }
    case 'record':
      if (!single || !(single.flags & ts.TypeFlags.Object) || checker.isArrayType(single)) problems.push(`${path}: the schema has the record ${inner.name}, the type ${shown}`);
      else problems.push(...compareRecord(checker, single, inner, path, visited));
      break;
    default:
      problems.push(`${path}: the schema's ${inner.kind} is not checked here`);
  }
  return problems;
}

function compareRecord(
  checker: ts.TypeChecker,
  tsType: ts.Type,
  record: Extract<AvroType, { kind: 'record' }>,
  path: string,
  visited: Set<string>,
): string[] {
  const name = tsType.aliasSymbol?.name ?? tsType.getSymbol()?.name;
  if (name) visited.add(name);
  const problems: string[] = [];
  const properties = new Map(checker.getPropertiesOfType(tsType).map((p) => [p.name, p]));
  const fields = new Map(record.fields.map((f) => [f.name, f.type]));
  for (const field of fields.keys()) if (!properties.has(field)) problems.push(`${path}.${field}: in ${record.name}, missing from the type`);
  for (const [property, symbol] of properties) {
    const field = fields.get(property);
    if (field === undefined) {
      problems.push(`${path}.${property}: in the type, not a field of ${record.name}`);
      continue;
    }
    problems.push(...compare(checker, checker.getTypeOfSymbol(symbol), field, `${path}.${property}`, visited));
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------------

describe('the contract against schemas/ (src/contract/)', () => {
  const schemas = currentSchemas();
  const { checker, exported } = contractProgram();

  it('names every record of schemas/ once, and every name has its schema and its type', () => {
    const names = Object.values(NAMES).flatMap((value) => (typeof value === 'string' ? [value] : []));
    const tables = Object.entries(NAMES).flatMap(([constant, value]) =>
      constant.endsWith('_RECORD') && typeof value === 'object' ? Object.values(value as Record<string, string>) : [],
    );
    const recordNames = [...names.filter((n) => n.startsWith('be.bcss.gateway.')), ...tables].sort();
    expect(new Set(recordNames).size, 'a record named twice').toBe(recordNames.length);
    const protocol = [...schemas.keys()].filter((name) => !name.startsWith('be.bcss.gateway.payload.')).sort();
    expect(recordNames).toEqual(protocol);
    expect(RECORD_TYPES.map(([, record]) => record).sort()).toEqual(protocol);
    for (const [type] of RECORD_TYPES) expect(exported.has(type), `${type} is exported by src/contract`).toBe(true);
  });

  it('gives each record type exactly the fields of its schema, nullable where the schema is', () => {
    const visited = new Set<string>();
    const drift = RECORD_TYPES.flatMap(([typeName, record]) => {
      const symbol = exported.get(typeName);
      const schema = schemas.get(record);
      if (!symbol || !schema || schema.type.kind !== 'record') return [`${typeName}: no type or no schema`];
      return compareRecord(checker, checker.getDeclaredTypeOfSymbol(symbol), schema.type, `${typeName} (${schema.file})`, visited);
    });
    expect(drift, `the record types differ from their schemas:\n  ${drift.join('\n  ')}`).toEqual([]);
    // A record type the comparison never reached would be free to drift.
    const unchecked = [...exported.keys()].filter((name) => RECORD_LIKE.test(name) && !visited.has(name)).sort();
    expect(unchecked, 'record types of src/contract checked against no schema').toEqual([]);
  });
});

describe('the audit record of version 3 (console events, requestId) against version 2 (schemas/history/audit-record-v2.avsc)', () => {
  const read = (file: string) => JSON.parse(readFileSync(join(SCHEMA_DIR, file), 'utf8')) as { fields: Array<{ name: string; type: unknown; default?: unknown }> };
  const symbolsOf = (schema: ReturnType<typeof read>) => (schema.fields[0]?.type as { symbols: string[] }).symbols;

  it('adds CONSOLE_LOOKUP and DEAD_LETTER_REDRIVEN at the end of the events, a nullable requestId at the end of the fields, and changes nothing else', () => {
    const v2 = read('history/audit-record-v2.avsc');
    const v3 = read('audit-record.avsc');
    expect(symbolsOf(v3)).toEqual([...symbolsOf(v2), 'CONSOLE_LOOKUP', 'DEAD_LETTER_REDRIVEN']);
    expect(v3.fields.slice(1, -1)).toEqual(v2.fields.slice(1));
    expect(v3.fields.at(-1)).toMatchObject({ name: 'requestId', type: ['null', 'string'], default: null });
  });

  it('decodes a record a switch of version 2 wrote (requestId null), and round-trips a console record and an exchange record with its requestId', () => {
    const codec = loadAvroCodec(SCHEMA_DIR);
    const v2 = parseSchema(read('history/audit-record-v2.avsc'));
    const { requestId: _none, ...old } = { ...CONSOLE_RECORD, eventType: 'LIST_ENTRY_DELIVERED' };
    const bytes = Buffer.concat([SINGLE_OBJECT_MARKER, fingerprintBytes(JSON.stringify(v2.schema())), v2.toBuffer(old)]);
    expect(codec.decode(NAMES.EXCHANGE_RECORD.audit, bytes)).toEqual({ ...old, requestId: null });
    const roundTrip = (record: object) => codec.decode(NAMES.EXCHANGE_RECORD.audit, codec.encode(NAMES.EXCHANGE_RECORD.audit, record));
    expect(roundTrip(CONSOLE_RECORD)).toEqual(CONSOLE_RECORD);
    const delivered = { ...CONSOLE_RECORD, eventType: 'REPLY_DELIVERED', requester: 'vaph', service: 'dmfa', requestId: 'vaph-2025-000042' };
    expect(roundTrip(delivered)).toEqual(delivered);
  });
});

const CONSOLE_RECORD = {
  eventType: 'CONSOLE_LOOKUP',
  ticket: null,
  at: 1_750_000_000_000,
  requester: 'console:dpo',
  intermediary: null,
  source: null,
  service: 'console',
  deliberation: null,
  deliberationVersion: null,
  purpose: 'dpo: person report',
  subjectNiss: '85073003328',
  employer: null,
  effectivePeriods: [],
  deliveredBlocks: [],
  removedBlocks: [],
  removedFields: [],
  outcome: 'OK',
  bcssCode: null,
  requestId: null,
};
