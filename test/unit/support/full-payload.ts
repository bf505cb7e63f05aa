/**
 * A source answer that holds EVERY field the catalogue knows, each with a value: one row per block
 * (two where asked), built from the service's Avro payload schema so that it is a valid payload.
 * Used to prove that the filter delivers exactly the fields a deliberation names and nothing else.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ServiceDefinition } from '../../../src/domain/catalogue.js';
import { SCHEMAS_DIR } from './gateway-config.js';

type Schema = string | { readonly type: unknown; readonly [k: string]: unknown } | readonly Schema[];

interface Options {
  /** Values to use for fields of this name (e.g. a worker code the population condition accepts). */
  readonly values?: Readonly<Record<string, unknown>>;
}

export function fullPayload(service: ServiceDefinition, options: Options = {}): Record<string, unknown> {
  const root = JSON.parse(readFileSync(join(SCHEMAS_DIR, service.schemaFile), 'utf8')) as Schema;
  const named = new Map<string, Schema>();
  const values = options.values ?? {};

  const valueOf = (schema: Schema, field: string): unknown => {
    if (Object.hasOwn(values, field)) return values[field];
    if (Array.isArray(schema)) {
      const nonNull = (schema as readonly Schema[]).find((s) => s !== 'null');
      return nonNull === undefined ? null : valueOf(nonNull, field);
    }
    if (typeof schema === 'string') {
      switch (schema) {
        case 'string':
          return `${field}-value`;
        case 'int':
        case 'long':
          return 7;
        case 'float':
        case 'double':
          return 1.5;
        case 'boolean':
          return true;
        case 'bytes':
          return Buffer.from([1, 2, 3]);
        case 'null':
          return null;
        default: {
          const def = named.get(schema) ?? named.get(`be.bcss.gateway.payload.${schema}`);
          if (!def) throw new Error(`unknown named type ${schema}`);
          return valueOf(def, field);
        }
      }
    }
    const s = schema as { type: unknown; [k: string]: unknown };
    if (s.logicalType === 'date') return '2024-02-15';
    if (s.logicalType === 'timestamp-millis') return 1_700_000_000_000;
    switch (s.type) {
      case 'record': {
        const name = String(s.name);
        named.set(name, s);
        if (typeof s.namespace === 'string') named.set(`${s.namespace}.${name}`, s);
        const out: Record<string, unknown> = {};
        for (const f of s.fields as Array<{ name: string; type: Schema }>) out[f.name] = valueOf(f.type, f.name);
        return out;
      }
      case 'array':
        return [valueOf(s.items as Schema, field)];
      case 'map':
        return { k: valueOf(s.values as Schema, field) };
      case 'enum':
        named.set(String(s.name), s);
        return (s.symbols as string[])[0];
      case 'fixed':
        named.set(String(s.name), s);
        return Buffer.alloc(Number(s.size));
      default:
        return valueOf(s.type as Schema, field);
    }
  };
  return valueOf(root, 'root') as Record<string, unknown>;
}

/** Fields holding a value in the rows of each block of a (filtered) payload, child paths excluded. */
export function deliveredFields(service: ServiceDefinition, payload: Record<string, unknown>): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  const visit = (blockIds: readonly string[], records: readonly Record<string, unknown>[]): void => {
    for (const id of blockIds) {
      const block = service.blocks.get(id);
      if (!block) continue;
      const rows: Record<string, unknown>[] = [];
      for (const r of records) {
        const v = r[block.path];
        if (Array.isArray(v)) rows.push(...(v as Record<string, unknown>[]));
        else if (v !== null && typeof v === 'object') rows.push(v as Record<string, unknown>);
      }
      if (rows.length === 0) continue;
      const childPaths = new Set(block.children.map((c) => service.blocks.get(c)?.path));
      const set = out.get(id) ?? new Set<string>();
      for (const row of rows) for (const [k, v] of Object.entries(row)) if (!childPaths.has(k) && v !== null && v !== undefined) set.add(k);
      out.set(id, set);
      visit(block.children, rows);
    }
  };
  visit(service.topBlocks, [payload]);
  return out;
}
