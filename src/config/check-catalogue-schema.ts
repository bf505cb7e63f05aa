/**
 * Keeps a catalogue service and its Avro payload schema from drifting apart. For every block the
 * schema must have, at the block's path in its parent record:
 *
 * - `many`: an array of an inline record, default `[]` (a filtered-away block is emptied);
 * - `optional`: the union `["null", <inline record>]`, default null (a filtered-away block is null);
 *
 * and the record's fields must be exactly the block's key fields, other fields and child block paths.
 * Every field of a block is `["null", …]` with default null — key fields included — except the key
 * fields of a technical block:
 *
 * - a non-key field is nulled when its block is kept only as the way to an authorized child, or when a
 *   field-level grant does not name it;
 * - a key field of a functional block is nulled when a field-level grant does not name it (19/010 grants
 *   the NISS of the DmfA natural person, 90017, but not its sequence number);
 * - a technical block is always delivered whole (it needs no authorization, so no grant lists its
 *   fields): its key fields may stay non-nullable (dimona.period's `dimonaPeriodId` is a `long`), while
 *   its non-key fields follow the rule of every block.
 *
 * The root record's fields are the root fields (left as the schema declares them: always delivered) and
 * the top-level block paths. Child block paths are checked by their cardinality, not as fields. A block
 * with an official number names it in its `doc`.
 *
 * So a payload filtered by `filterBlocks`, down to single fields, still encodes with the very schema the
 * source wrote it with. Making a key field nullable changes the schema's fingerprint: the version before
 * goes to `schemas/history/` so that messages written with it still decode (the codec resolves it).
 */
import type { BlockDefinition, BlockId, ServiceDefinition } from '../domain/catalogue.js';
import { ConfigError } from './config-error.js';

export const PAYLOAD_NAMESPACE = 'be.bcss.gateway.payload';

interface AvroField {
  readonly name: string;
  readonly type: unknown;
  readonly default?: unknown;
  readonly doc?: string;
}

interface AvroRecord {
  readonly type: 'record';
  readonly name: string;
  readonly namespace?: string;
  readonly doc?: string;
  readonly fields: readonly AvroField[];
}

function isRecordSchema(value: unknown): value is AvroRecord {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as { type?: unknown; name?: unknown; fields?: unknown };
  return v.type === 'record' && typeof v.name === 'string' && Array.isArray(v.fields);
}

function isNullableUnion(type: unknown): boolean {
  return Array.isArray(type) && type.length >= 2 && type[0] === 'null';
}

export function checkServiceSchema(
  schemaFile: string,
  catalogueFile: string,
  service: ServiceDefinition,
  schema: unknown,
): void {
  const fail = (path: string, reason: string): never => {
    throw new ConfigError(schemaFile, path, `${reason} (catalogue ${catalogueFile})`);
  };

  if (!isRecordSchema(schema)) return fail('', 'the payload schema must be one top-level record');
  if (schema.namespace !== PAYLOAD_NAMESPACE) fail('namespace', `the namespace must be ${PAYLOAD_NAMESPACE}`);

  const checkFields = (
    record: AvroRecord,
    at: string,
    what: string,
    keyFields: readonly string[],
    fields: readonly string[],
    children: readonly BlockId[],
    /** null: the root (its fields as declared); otherwise whether the key fields must be nullable too. */
    nullable: { readonly keyFields: boolean } | null,
  ): void => {
    const expected = new Set([...keyFields, ...fields]);
    const childByPath = new Map<string, BlockDefinition>();
    for (const id of children) {
      const def = service.blocks.get(id);
      if (def) childByPath.set(def.path, def);
    }
    const seen = new Set<string>();
    for (const field of record.fields) {
      const path = at === '' ? field.name : `${at}.${field.name}`;
      seen.add(field.name);
      const child = childByPath.get(field.name);
      if (child) {
        checkBlock(child, field, path);
      } else if (!expected.has(field.name)) {
        fail(path, `field "${field.name}" of ${what} is neither a field nor a child block in the catalogue`);
      } else if (nullable !== null && (nullable.keyFields || !keyFields.includes(field.name))) {
        if (!isNullableUnion(field.type) || field.default !== null) {
          fail(
            path,
            keyFields.includes(field.name)
              ? `key field "${field.name}" of ${what} must be ["null", …] with default null: a field-level grant that does not name it delivers it as null (only a technical block's key fields may be non-nullable)`
              : `field "${field.name}" of ${what} must be ["null", …] with default null, so that it can be withheld`,
          );
        }
      }
    }
    for (const name of [...expected, ...childByPath.keys()]) {
      if (!seen.has(name)) fail(at === '' ? name : `${at}.${name}`, `${what} declares "${name}" but the schema has no such field`);
    }
  };

  const checkBlock = (block: BlockDefinition, field: AvroField, path: string): void => {
    let record: unknown;
    if (block.cardinality === 'many') {
      const t = field.type as { type?: unknown; items?: unknown };
      if (typeof t !== 'object' || t === null || t.type !== 'array' || !isRecordSchema(t.items)) {
        return fail(path, `block ${block.id} is "many": expected an array of an inline record`);
      }
      if (!Array.isArray(field.default) || field.default.length !== 0) {
        fail(path, `block ${block.id} is "many": the field needs default []`);
      }
      record = t.items;
    } else {
      const t = field.type;
      if (!Array.isArray(t) || t.length !== 2 || t[0] !== 'null' || !isRecordSchema(t[1]) || field.default !== null) {
        return fail(path, `block ${block.id} is "optional": expected ["null", <inline record>] with default null`);
      }
      record = t[1];
    }
    const rec = record as AvroRecord;
    if (block.number !== null) {
      const docs = `${field.doc ?? ''} ${rec.doc ?? ''}`;
      if (!docs.includes(String(block.number))) fail(path, `block ${block.id} must name its number ${block.number} in its doc`);
    }
    checkFields(rec, block.cardinality === 'many' ? `${path}[]` : path, `block ${block.id}`, block.keyFields, block.fields, block.children, {
      keyFields: !block.technical,
    });
  };

  checkFields(schema, '', `the root of ${service.id}`, service.rootFields, [], service.topBlocks, null);
}
