/**
 * Filters a source's answer down to what the requester may receive:
 *
 * 1. rows of other employers (and, for interim work, of another employer category) are dropped;
 * 2. rows entirely outside the effective period(s) are dropped (a row that overlaps is kept whole);
 * 3. only authorized blocks are delivered, plus technical blocks. The ancestors of an authorized block
 *    stay as far as needed to reach it, reduced to their key fields (their other known fields become
 *    null, which every payload schema allows); every other block is emptied (`[]`) or nulled.
 *
 * Unknown content fails closed: a field that is not a known block holding a record (or records) is an
 * unknown block and is removed; an unknown plain field inside a delivered block passes only when the
 * deliberation covers future fields of its blocks (13/126, `includeFutureFields`). A row whose employer
 * or period cannot be read is dropped.
 *
 * The payload is a plain JS value as avsc decodes it (default options: a `["null", record]` union is the
 * record or null). The input is never mutated; the output is made of new objects and arrays, so it
 * encodes with the same Avro schema.
 */
import { ancestorsOf, type BlockDefinition, type BlockId, type EmployerMatcher, type PeriodFilter, type ServiceDefinition } from './catalogue.js';
import { isIsoDate, overlaps, quarterPeriod } from './period.js';
import type { EmployerRef, Period } from './types.js';

export interface BlockFilterInput {
  readonly payload: unknown;
  readonly service: ServiceDefinition;
  /** From the authorization decision; technical blocks are delivered whether listed or not. */
  readonly allowedBlocks: Iterable<BlockId>;
  /** The employer–worker link asked for; absent = rows of every employer. */
  readonly employer?: EmployerRef | null;
  /** Employer category asked with the employer (interim); absent = every category. */
  readonly employerCategory?: string | null;
  /** Effective periods (integrated ∩ asked); absent = no period filter; empty = nothing in period. */
  readonly periods?: readonly Period[] | null;
  /** Deliberation 13/126: unknown plain fields of a delivered block pass. Default false (fail closed). */
  readonly includeFutureFields?: boolean;
}

export interface RemovedRows {
  readonly byEmployer: number;
  readonly byEmployerCategory: number;
  readonly byPeriod: number;
}

export interface BlockFilterResult {
  readonly payload: Record<string, unknown>;
  /** Blocks that held data in the answer and were withheld, in whole or down to their keys; catalogue order. */
  readonly removedBlocks: readonly BlockId[];
  /** The part of `removedBlocks` still present with their key fields only, to reach an authorized child. */
  readonly reducedToKeys: readonly BlockId[];
  readonly removedRows: RemovedRows;
  /** Unknown blocks and fields removed, as `<block id or service>/<field>`. */
  readonly removedUnknown: readonly string[];
}

type Mode = 'full' | 'keys';

interface Level {
  readonly id: BlockId;
  readonly keyFields: ReadonlySet<string>;
  readonly fields: ReadonlySet<string>;
  readonly childrenByPath: ReadonlyMap<string, BlockDefinition>;
}

type Obj = Readonly<Record<string, unknown>>;

function isRecord(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !ArrayBuffer.isView(value) && !(value instanceof Date);
}

function isBlockLike(value: unknown): boolean {
  return isRecord(value) || (Array.isArray(value) && value.some(isRecord));
}

/** New arrays and objects all the way down; binary values and dates are shared (never written to). */
function cloneValue(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(cloneValue);
  if (isRecord(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = cloneValue(v);
    return out;
  }
  return value;
}

function valueAt(row: Obj, path: string): unknown {
  let current: unknown = row;
  for (const part of path.split('.')) {
    if (!isRecord(current)) return undefined;
    current = current[part];
  }
  return current;
}

function digits(value: unknown): string | null {
  if (typeof value === 'string') return value.replace(/\D/g, '');
  if (typeof value === 'number' && Number.isInteger(value)) return String(value);
  return null;
}

function employerMatches(row: Obj, matcher: EmployerMatcher, employer: EmployerRef): boolean {
  if ('kind' in matcher) {
    return matcher.kind === employer.kind && digits(valueAt(row, matcher.path)) === employer.id;
  }
  return valueAt(row, matcher.kindPath) === employer.kind && digits(valueAt(row, matcher.idPath)) === employer.id;
}

function normalCategory(value: unknown): string | null {
  if (typeof value === 'number' && Number.isInteger(value)) return String(value).padStart(3, '0');
  if (typeof value === 'string' && /^\d{1,3}$/.test(value.trim())) return value.trim().padStart(3, '0');
  return null;
}

function rowPeriod(row: Obj, filter: PeriodFilter): Period | null {
  if ('quarterPath' in filter) {
    const quarter = valueAt(row, filter.quarterPath);
    return typeof quarter === 'string' ? quarterPeriod(quarter) : null;
  }
  const from = valueAt(row, filter.fromPath);
  if (typeof from !== 'string' || !isIsoDate(from)) return null;
  if (filter.toPath === null) return { from, to: from };
  const to = valueAt(row, filter.toPath);
  if (to === null || to === undefined) return { from, to: null };
  if (typeof to !== 'string' || !isIsoDate(to)) return null;
  return { from, to };
}

type RowVerdict = 'keep' | 'employer' | 'category' | 'period';

export function filterBlocks(input: BlockFilterInput): BlockFilterResult {
  const { service } = input;
  const employer = input.employer ?? null;
  const category = input.employerCategory != null ? normalCategory(input.employerCategory) : null;
  const periods = input.periods ?? null;
  const futureFields = input.includeFutureFields === true;

  // Which blocks are delivered whole, which only as a path to an authorized descendant.
  const allowed = new Set(input.allowedBlocks);
  const full = new Set<BlockId>();
  for (const block of service.blocks.values()) if (block.technical || allowed.has(block.id)) full.add(block.id);
  const structural = new Set<BlockId>();
  for (const id of full) {
    if (service.blocks.get(id)?.technical) continue;
    for (const ancestor of ancestorsOf(service, id)) if (!full.has(ancestor)) structural.add(ancestor);
  }

  const levels = new Map<BlockId, Level>();
  const levelOf = (id: BlockId, keyFields: readonly string[], fields: readonly string[], children: readonly BlockId[]): Level => {
    const childrenByPath = new Map<string, BlockDefinition>();
    for (const c of children) {
      const def = service.blocks.get(c);
      if (def) childrenByPath.set(def.path, def);
    }
    const level = { id, keyFields: new Set(keyFields), fields: new Set(fields), childrenByPath };
    levels.set(id, level);
    return level;
  };
  const rootLevel = levelOf(service.id, service.rootFields, [], service.topBlocks);
  for (const b of service.blocks.values()) levelOf(b.id, b.keyFields, b.fields, b.children);

  const employerFilters = new Map(service.filters.employer.map((f) => [f.block, f.matchers]));
  const categoryFilters = new Map(service.filters.employerCategory.map((f) => [f.block, f.path]));
  const periodFilters = new Map<BlockId, PeriodFilter[]>();
  for (const f of service.filters.period) {
    const list = periodFilters.get(f.block) ?? [];
    list.push(f);
    periodFilters.set(f.block, list);
  }

  const removed = new Set<BlockId>();
  const reduced = new Set<BlockId>();
  const unknown = new Set<string>();
  const rows = { byEmployer: 0, byEmployerCategory: 0, byPeriod: 0 };

  const verdict = (block: BlockId, row: Obj): RowVerdict => {
    const matchers = employerFilters.get(block);
    if (employer !== null && matchers && !matchers.some((m) => employerMatches(row, m, employer))) return 'employer';
    const categoryPath = categoryFilters.get(block);
    if (category !== null && categoryPath !== undefined && normalCategory(valueAt(row, categoryPath)) !== category) {
      return 'category';
    }
    const periodList = periodFilters.get(block);
    if (periods !== null && periodList) {
      for (const filter of periodList) {
        const p = rowPeriod(row, filter);
        if (p === null || !periods.some((e) => overlaps(p, e))) return 'period';
      }
    }
    return 'keep';
  };

  /** Records which withheld blocks held data (rows of other employers or periods do not count). */
  const noteWithheld = (block: BlockDefinition, value: unknown): void => {
    const records = block.cardinality === 'many' ? (Array.isArray(value) ? value.filter(isRecord) : []) : isRecord(value) ? [value] : [];
    const visible = records.filter((r) => verdict(block.id, r) === 'keep');
    if (visible.length === 0) return;
    removed.add(block.id);
    for (const childId of block.children) {
      const child = service.blocks.get(childId);
      if (child) for (const r of visible) noteWithheld(child, r[child.path]);
    }
  };

  const processRecord = (record: Obj, level: Level, mode: Mode): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(record)) {
      const child = level.childrenByPath.get(k);
      if (child) {
        out[k] = processBlock(child, v);
      } else if (level.keyFields.has(k)) {
        out[k] = cloneValue(v);
      } else if (level.fields.has(k)) {
        out[k] = mode === 'full' ? cloneValue(v) : null;
      } else if (mode === 'full' && futureFields && !isBlockLike(v)) {
        out[k] = cloneValue(v);
      } else {
        unknown.add(`${level.id}/${k}`);
      }
    }
    return out;
  };

  const processBlock = (block: BlockDefinition, value: unknown): unknown => {
    const mode: Mode | null = full.has(block.id) ? 'full' : structural.has(block.id) ? 'keys' : null;
    if (mode === null) {
      noteWithheld(block, value);
      return block.cardinality === 'many' ? [] : null;
    }
    const level = levels.get(block.id) as Level;
    if (block.cardinality === 'optional') {
      if (value === null || value === undefined) return null;
      if (!isRecord(value)) {
        unknown.add(`${block.id}/(not a record)`);
        return null;
      }
      if (mode === 'keys') {
        removed.add(block.id);
        reduced.add(block.id);
      }
      return processRecord(value, level, mode);
    }
    if (value === null || value === undefined) return [];
    if (!Array.isArray(value)) {
      unknown.add(`${block.id}/(not a list)`);
      return [];
    }
    const out: Record<string, unknown>[] = [];
    for (const row of value) {
      if (!isRecord(row)) {
        unknown.add(`${block.id}/(not a record)`);
        continue;
      }
      const v = verdict(block.id, row);
      if (v === 'employer') rows.byEmployer++;
      else if (v === 'category') rows.byEmployerCategory++;
      else if (v === 'period') rows.byPeriod++;
      else out.push(processRecord(row, level, mode));
    }
    if (mode === 'keys' && out.length > 0) {
      removed.add(block.id);
      reduced.add(block.id);
    }
    return out;
  };

  const payload = isRecord(input.payload) ? processRecord(input.payload, rootLevel, 'full') : {};
  const order = [...service.blocks.keys()];
  return {
    payload,
    removedBlocks: order.filter((id) => removed.has(id)),
    reducedToKeys: order.filter((id) => reduced.has(id)),
    removedRows: rows,
    removedUnknown: [...unknown].sort(),
  };
}
