/**
 * checkServiceSchema, the nullability rule: every field of a block is ["null", …] with default null,
 * key fields included (a field-level grant may withhold a key field: 19/010 grants the NISS of the DmfA
 * natural person but not its sequence number), except the key fields of a technical block, which is
 * always delivered whole. Root fields stay as declared. Checked on a minimal in-memory service and on
 * the real catalogue and schemas.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkServiceSchema } from '../../src/config/check-catalogue-schema.js';
import { ConfigError } from '../../src/config/config-error.js';
import { buildService } from '../../src/config/load-catalogue.js';
import type { ServiceDefinition } from '../../src/domain/catalogue.js';
import { realCatalogue, SCHEMAS_DIR, service } from './support/gateway-config.js';

type Obj = Record<string, any>;

/** A service with a technical top block (key `periodId`) holding a functional block (key `rowId`). */
function miniService(): ServiceDefinition {
  return buildService('mini.yaml', 'mini', {
    service: 'mini',
    title: 'Minimal test service',
    source: 'onss',
    schema: 'mini-payload.avsc',
    keys: { niss: 'required', employer: { presence: 'none', kinds: [] }, period: 'none' },
    directory: { person: 'required' },
    mutations: { emitted: false },
    root: { fields: ['niss'] },
    blocks: [
      {
        id: 'mini.period',
        label: 'A technical period',
        path: 'periods',
        cardinality: 'many',
        technical: true,
        keyFields: ['periodId'],
        fields: ['declaredOn'],
        blocks: [{ id: 'mini.row', label: 'A row', path: 'rows', cardinality: 'many', keyFields: ['rowId'], fields: ['note'] }],
      },
    ],
  });
}

const nullable = (name: string, type: unknown = 'string'): Obj => ({ name, type: ['null', type], default: null });

/** A valid schema for miniService; `change` edits a copy before it is checked. */
function miniSchema(change: (parts: { root: Obj; period: Obj; row: Obj }) => void = () => {}): Obj {
  const row = { type: 'record', name: 'Row', fields: [nullable('rowId', 'long'), nullable('note')] };
  const period = {
    type: 'record',
    name: 'Period',
    fields: [{ name: 'periodId', type: 'long' }, nullable('declaredOn'), { name: 'rows', type: { type: 'array', items: row }, default: [] }],
  };
  const root = {
    type: 'record',
    name: 'MiniPayload',
    namespace: 'be.bcss.gateway.payload',
    fields: [{ name: 'niss', type: 'string' }, { name: 'periods', type: { type: 'array', items: period }, default: [] }],
  };
  change({ root, period, row });
  return root;
}

function field(record: Obj, name: string): Obj {
  const f = (record.fields as Obj[]).find((x) => x.name === name);
  if (!f) throw new Error(`no field ${name}`);
  return f;
}

function configError(check: () => void): ConfigError {
  try {
    check();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError, but the schema passed');
}

const check = (schema: unknown, def: ServiceDefinition = miniService()): void =>
  checkServiceSchema('mini-payload.avsc', 'mini.yaml', def, schema);

describe('checkServiceSchema: which fields must be nullable', () => {
  it('accepts nullable fields and key fields, a non-nullable technical key field and a non-nullable root field', () => {
    expect(() => check(miniSchema())).not.toThrow();
  });

  it('accepts a technical block whose key field is nullable too', () => {
    expect(() => check(miniSchema(({ period }) => Object.assign(field(period, 'periodId'), nullable('periodId', 'long'))))).not.toThrow();
  });

  it('refuses a non-nullable key field of a functional block, naming the path and why', () => {
    const e = configError(() => check(miniSchema(({ row }) => Object.assign(field(row, 'rowId'), { type: 'long', default: undefined }))));
    expect(e.file).toBe('mini-payload.avsc');
    expect(e.path).toBe('periods[].rows[].rowId');
    expect(e.reason).toMatch(/^key field "rowId" of block mini\.row must be \["null", …\] with default null: a field-level grant that does not name it delivers it as null/);
    expect(e.reason).toContain("only a technical block's key fields may be non-nullable");
    expect(e.reason).toContain('(catalogue mini.yaml)');
  });

  it('refuses a nullable key field without default null', () => {
    const e = configError(() => check(miniSchema(({ row }) => Object.assign(field(row, 'rowId'), { default: undefined }))));
    expect(e.path).toBe('periods[].rows[].rowId');
    expect(e.reason).toMatch(/key field "rowId"/);
  });

  it('refuses a key field whose union does not start with null', () => {
    const e = configError(() => check(miniSchema(({ row }) => Object.assign(field(row, 'rowId'), { type: ['long', 'null'], default: 0 }))));
    expect(e.path).toBe('periods[].rows[].rowId');
  });

  it('still refuses a non-nullable non-key field, also in a technical block', () => {
    const inRow = configError(() => check(miniSchema(({ row }) => Object.assign(field(row, 'note'), { type: 'string', default: undefined }))));
    expect(inRow.path).toBe('periods[].rows[].note');
    expect(inRow.reason).toMatch(/^field "note" of block mini\.row must be \["null", …\] with default null, so that it can be withheld/);
    const inPeriod = configError(() => check(miniSchema(({ period }) => Object.assign(field(period, 'declaredOn'), { type: 'string', default: undefined }))));
    expect(inPeriod.path).toBe('periods[].declaredOn');
  });
});

describe('the real payload schemas', () => {
  it('load with the real catalogue: every block field nullable except the key fields of technical blocks', () => {
    const catalogue = realCatalogue();
    const nonNullable: string[] = [];
    for (const def of catalogue.services.values()) {
      const schema = JSON.parse(readFileSync(join(SCHEMAS_DIR, def.schemaFile), 'utf8')) as Obj;
      const visit = (record: Obj, childIds: readonly string[]): void => {
        for (const id of childIds) {
          const block = def.blocks.get(id)!;
          const holder = field(record, block.path);
          const rec = (block.cardinality === 'many' ? holder.type.items : holder.type[1]) as Obj;
          for (const f of rec.fields as Obj[]) {
            if (!block.keyFields.includes(f.name) && !block.fields.includes(f.name)) continue;
            const ok = Array.isArray(f.type) && f.type[0] === 'null' && f.default === null;
            if (!ok) nonNullable.push(`${block.id}${block.technical ? ' (technical)' : ''}: ${f.name}`);
          }
          visit(rec, block.children);
        }
      };
      visit(schema, def.topBlocks);
    }
    expect(nonNullable).toEqual(['dimona.period (technical): dimonaPeriodId']);
  });

  it('the DmfA schema of before (history v1, non-nullable key fields) is refused against the DmfA catalogue', () => {
    const v1 = JSON.parse(readFileSync(join(SCHEMAS_DIR, 'history', 'dmfa-payload-v1.avsc'), 'utf8')) as unknown;
    const e = configError(() => checkServiceSchema('dmfa-payload-v1.avsc', 'dmfa.yaml', service('dmfa'), v1));
    expect(e.path).toBe('employerDeclarations[].quarter');
    expect(e.reason).toMatch(/^key field "quarter" of block dmfa\.employer-declaration must be \["null", …\]/);
  });
});
