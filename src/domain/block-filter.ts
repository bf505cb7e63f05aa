/**
 * Filters a source's answer down to what the requester may receive:
 *
 * 1. rows of other employers (and, for interim work, of another employer category) are dropped;
 * 2. rows entirely outside the effective period(s) are dropped (a row that overlaps is kept whole);
 * 3. rows outside the population or time the deliberation covers are dropped (`rows`: 19/010 §36 manual
 *    workers and artists, 22/046 §1-2 age and invalidity start), and so is an ancestor row none of whose
 *    rows of that block is left (a natural person with only white-collar worker lines) — or that has
 *    none at all: what cannot be shown to be in the population is not delivered;
 * 4. only authorized blocks are delivered, plus technical blocks, and of each block only the fields its
 *    grant names (`grantedFields`; `'all'` where the text grants the block whole, 13/126): every other
 *    field, key fields included, is delivered as null and reported by name in `removedFields` when the
 *    source had a value for it. The ancestors of an authorized block stay as far as needed to reach it,
 *    with only those of their key fields their own grant names; every other block is emptied (`[]`) or
 *    nulled.
 *
 * Unknown content fails closed: a field that is not a known block holding a record (or records) is an
 * unknown block and is removed; an unknown plain field inside a delivered block passes only when the
 * deliberation covers future fields of its blocks (13/126, `includeFutureFields`) and grants that block
 * whole. A row whose employer, period or population cannot be read is dropped.
 *
 * Interim work (10/012 §9): when `interimNeedsCategory` is set (the deliberation demands the employer
 * category for interim work and the request gave none), rows of the asked employer that show interim
 * work (the catalogue's `interim` markers) are counted in `interimRows`; the caller refuses such an answer.
 *
 * The payload is a plain JS value as avsc decodes it (default options: a `["null", record]` union is the
 * record or null). The input is never mutated; the output is made of new objects and arrays, so it
 * encodes with the same Avro schema.
 */
import { ancestorsOf, type BlockDefinition, type BlockId, type EmployerMatcher, type PeriodFilter, type ServiceDefinition } from './catalogue.js';
import type { FieldGrant, RowCondition } from './deliberation.js';
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
  /**
   * The fields the grant names per block (`'all'`: the block whole). A block without an entry shows no
   * field at all: fail closed.
   */
  readonly grantedFields: Readonly<Record<BlockId, FieldGrant>>;
  /** Population and time conditions on the rows; absent: none. */
  readonly rows?: readonly RowCondition[];
  /** Count the asked employer's interim rows (10/012 §9: a category was demanded and not given). */
  readonly interimNeedsCategory?: boolean;
  /** Deliberation 13/126: unknown plain fields of a delivered block pass. Default false (fail closed). */
  readonly includeFutureFields?: boolean;
}

export interface RemovedRows {
  readonly byEmployer: number;
  readonly byEmployerCategory: number;
  readonly byPeriod: number;
  /** Outside the deliberation's population or time (`rows`), ancestors left without such rows included. */
  readonly byPopulation: number;
}

export interface BlockFilterResult {
  readonly payload: Record<string, unknown>;
  /** Blocks that held data in the answer and were withheld, in whole or down to their keys; catalogue order. */
  readonly removedBlocks: readonly BlockId[];
  /** The part of `removedBlocks` still present with their key fields only, to reach an authorized child. */
  readonly reducedToKeys: readonly BlockId[];
  readonly removedRows: RemovedRows;
  /** Fields of delivered rows that held a value and were withheld, as `<block id>.<field>`; catalogue order. */
  readonly removedFields: readonly string[];
  /** Unknown blocks and fields removed, as `<block id or service>/<field>`. */
  readonly removedUnknown: readonly string[];
  /** Rows of the asked employer showing interim work, counted only with `interimNeedsCategory`. */
  readonly interimRows: number;
}

type Mode = 'full' | 'keys';

interface Level {
  readonly id: BlockId;
  readonly keyFields: ReadonlySet<string>;
  readonly fields: ReadonlySet<string>;
  /** What the grant names of this block: `'all'`, or a set (empty when the block is not granted). */
  readonly granted: 'all' | ReadonlySet<string>;
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

type RowVerdict = 'keep' | 'employer' | 'category' | 'period' | 'population';

/** The day a person born on `birth` turns `years` old, as an ISO string (29 February: the string sorts right). */
function anniversary(birth: string, years: number): string {
  const year = Number(birth.slice(0, 4)) + years;
  return `${String(year).padStart(4, '0')}${birth.slice(4)}`;
}

function meets(condition: RowCondition, row: Obj): boolean {
  switch (condition.kind) {
    case 'one-of': {
      const value = valueAt(row, condition.path);
      const text = typeof value === 'number' && Number.isInteger(value) ? String(value).padStart(3, '0') : value;
      return typeof text === 'string' && condition.values.includes(text.trim());
    }
    case 'date-on-or-after': {
      const value = valueAt(row, condition.path);
      return typeof value === 'string' && isIsoDate(value) && value >= condition.date;
    }
    case 'age-at-least': {
      const birth = valueAt(row, condition.birthDatePath);
      const on = valueAt(row, condition.onDatePath);
      if (typeof birth !== 'string' || !isIsoDate(birth) || typeof on !== 'string' || !isIsoDate(on)) return false;
      return anniversary(birth, condition.years) <= on;
    }
  }
}

/**
 * What filtering needs to know of the service and the grant, apart from the answer: which blocks are
 * delivered whole or as a path, each level's fields and grant, the row filters and conditions.
 */
interface FilterPlan {
  readonly full: ReadonlySet<BlockId>;
  readonly structural: ReadonlySet<BlockId>;
  readonly levels: ReadonlyMap<BlockId, Level>;
  readonly rootLevel: Level;
  readonly employerFilters: ReadonlyMap<BlockId, readonly EmployerMatcher[]>;
  readonly categoryFilters: ReadonlyMap<BlockId, string>;
  readonly periodFilters: ReadonlyMap<BlockId, readonly PeriodFilter[]>;
  readonly conditions: ReadonlyMap<BlockId, readonly RowCondition[]>;
  /** Blocks whose rows stand or fall with the population rows beneath them. */
  readonly guardedBy: ReadonlyMap<BlockId, readonly BlockId[]>;
}

function buildPlan(
  service: ServiceDefinition,
  allowedBlocks: Iterable<BlockId>,
  grantedFields: Readonly<Record<BlockId, FieldGrant>>,
  rowConditions: readonly RowCondition[],
): FilterPlan {
  // Which blocks are delivered whole, which only as a path to an authorized descendant.
  const allowed = new Set(allowedBlocks);
  const full = new Set<BlockId>();
  for (const block of service.blocks.values()) if (block.technical || allowed.has(block.id)) full.add(block.id);
  const structural = new Set<BlockId>();
  for (const id of full) {
    if (service.blocks.get(id)?.technical) continue;
    for (const ancestor of ancestorsOf(service, id)) if (!full.has(ancestor)) structural.add(ancestor);
  }

  const levels = new Map<BlockId, Level>();
  const levelOf = (
    id: BlockId,
    keyFields: readonly string[],
    fields: readonly string[],
    children: readonly BlockId[],
    granted: 'all' | ReadonlySet<string>,
  ): Level => {
    const childrenByPath = new Map<string, BlockDefinition>();
    for (const c of children) {
      const def = service.blocks.get(c);
      if (def) childrenByPath.set(def.path, def);
    }
    const level = { id, keyFields: new Set(keyFields), fields: new Set(fields), granted, childrenByPath };
    levels.set(id, level);
    return level;
  };
  const rootLevel = levelOf(service.id, service.rootFields, [], service.topBlocks, 'all');
  for (const b of service.blocks.values()) {
    const grant = b.technical ? 'all' : grantedFields[b.id];
    levelOf(b.id, b.keyFields, b.fields, b.children, grant === 'all' ? 'all' : new Set(grant ?? []));
  }

  const periodFilters = new Map<BlockId, PeriodFilter[]>();
  for (const f of service.filters.period) {
    const list = periodFilters.get(f.block) ?? [];
    list.push(f);
    periodFilters.set(f.block, list);
  }
  const conditions = new Map<BlockId, RowCondition[]>();
  for (const c of rowConditions) {
    const list = conditions.get(c.block) ?? [];
    list.push(c);
    conditions.set(c.block, list);
  }
  const guardedBy = new Map<BlockId, BlockId[]>();
  for (const target of conditions.keys()) {
    for (const ancestor of ancestorsOf(service, target)) {
      const list = guardedBy.get(ancestor) ?? [];
      list.push(target);
      guardedBy.set(ancestor, list);
    }
  }
  return {
    full,
    structural,
    levels,
    rootLevel,
    employerFilters: new Map(service.filters.employer.map((f) => [f.block, f.matchers])),
    categoryFilters: new Map(service.filters.employerCategory.map((f) => [f.block, f.path])),
    periodFilters,
    conditions,
    guardedBy,
  };
}

/** Plans kept per service and grant, by the blocks asked; a grant serves a handful of block lists. */
const PLANS_PER_GRANT = 64;
const NO_ROWS: readonly RowCondition[] = [];
// Keyed by the objects themselves — the service (a catalogue is loaded once and never changed) and the
// grant's field lists and row conditions (a grant is never changed once decided: the reply stage keeps
// the ones it decided) — so that a lookup costs no serialisation. Weak maps: a catalogue or grant no
// longer used takes its plans with it. A grant read afresh (the earlier pending form) only misses.
const plans = new WeakMap<ServiceDefinition, WeakMap<object, WeakMap<object, Map<string, FilterPlan>>>>();

function planFor(input: BlockFilterInput): FilterPlan {
  const { service, grantedFields } = input;
  const rowConditions = input.rows ?? NO_ROWS;
  const allowed = [...new Set(input.allowedBlocks)].sort();
  const key = JSON.stringify(allowed);
  let byFields = plans.get(service);
  if (byFields === undefined) plans.set(service, (byFields = new WeakMap()));
  let byRows = byFields.get(grantedFields);
  if (byRows === undefined) byFields.set(grantedFields, (byRows = new WeakMap()));
  let byBlocks = byRows.get(rowConditions);
  if (byBlocks === undefined) byRows.set(rowConditions, (byBlocks = new Map()));
  const known = byBlocks.get(key);
  if (known !== undefined) return known;
  if (byBlocks.size >= PLANS_PER_GRANT) byBlocks.clear();
  const plan = buildPlan(service, allowed, grantedFields, rowConditions);
  byBlocks.set(key, plan);
  return plan;
}

export function filterBlocks(input: BlockFilterInput): BlockFilterResult {
  const { service } = input;
  const employer = input.employer ?? null;
  const category = input.employerCategory != null ? normalCategory(input.employerCategory) : null;
  const periods = input.periods ?? null;
  const futureFields = input.includeFutureFields === true;
  const { full, structural, levels, rootLevel, employerFilters, categoryFilters, periodFilters, conditions, guardedBy } = planFor(input);

  const removed = new Set<BlockId>();
  const reduced = new Set<BlockId>();
  const removedFields = new Set<string>();
  const unknown = new Set<string>();
  const rows = { byEmployer: 0, byEmployerCategory: 0, byPeriod: 0, byPopulation: 0 };

  const rowsOf = (block: BlockDefinition, value: unknown): Obj[] =>
    block.cardinality === 'many' ? (Array.isArray(value) ? value.filter(isRecord) : []) : isRecord(value) ? [value] : [];

  /** Does some row of `target` beneath this row of `block` pass every filter? */
  const holdsPopulation = (block: BlockDefinition, row: Obj, target: BlockId): boolean => {
    const path = [target, ...ancestorsOf(service, target)].reverse();
    const next = path[path.indexOf(block.id) + 1];
    const child = next === undefined ? undefined : service.blocks.get(next);
    if (!child) return false;
    return rowsOf(child, row[child.path]).some(
      (r) => verdict(child.id, r) === 'keep' && (child.id === target || holdsPopulation(child, r, target)),
    );
  };

  function verdict(block: BlockId, row: Obj): RowVerdict {
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
    const own = conditions.get(block);
    if (own && !own.every((c) => meets(c, row))) return 'population';
    const targets = guardedBy.get(block);
    if (targets) {
      const def = service.blocks.get(block) as BlockDefinition;
      if (!targets.every((t) => holdsPopulation(def, row, t))) return 'population';
    }
    return 'keep';
  }

  // Interim rows of the asked link, counted on the source whatever is delivered (fail closed).
  let interimRows = 0;
  if (input.interimNeedsCategory === true && service.filters.interim.length > 0) {
    const markers = new Map(service.filters.interim.map((m) => [m.block, m.childPath]));
    const visit = (blockIds: readonly BlockId[], records: readonly Obj[]): void => {
      for (const id of blockIds) {
        const block = service.blocks.get(id);
        if (!block) continue;
        const kept: Obj[] = [];
        for (const record of records) for (const r of rowsOf(block, record[block.path])) if (block.cardinality === 'optional' || verdict(id, r) === 'keep') kept.push(r);
        const marker = markers.get(id);
        if (marker !== undefined) interimRows += kept.filter((r) => isRecord(r[marker])).length;
        visit(block.children, kept);
      }
    };
    if (isRecord(input.payload)) visit(service.topBlocks, [input.payload]);
  }

  /** Records which withheld blocks held data (rows of other employers or periods do not count). */
  const noteWithheld = (block: BlockDefinition, value: unknown): void => {
    const visible = rowsOf(block, value).filter((r) => verdict(block.id, r) === 'keep');
    if (visible.length === 0) return;
    removed.add(block.id);
    for (const childId of block.children) {
      const child = service.blocks.get(childId);
      if (child) for (const r of visible) noteWithheld(child, r[child.path]);
    }
  };

  const grants = (level: Level, field: string): boolean => level.granted === 'all' || level.granted.has(field);

  const processRecord = (record: Obj, level: Level, mode: Mode): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(record)) {
      const child = level.childrenByPath.get(k);
      if (child) {
        out[k] = processBlock(child, v);
      } else if (level.keyFields.has(k) || level.fields.has(k)) {
        // A block kept only as the way to an authorized child shows those of its keys its grant names.
        const shown = mode === 'full' ? grants(level, k) : level.keyFields.has(k) && grants(level, k);
        if (shown) {
          out[k] = cloneValue(v);
        } else {
          out[k] = null;
          if (mode === 'full' && v !== null && v !== undefined) removedFields.add(`${level.id}.${k}`);
        }
      } else if (mode === 'full' && futureFields && level.granted === 'all' && !isBlockLike(v)) {
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
      else if (v === 'population') rows.byPopulation++;
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
  const fieldOrder = (name: string): number => {
    const dot = name.lastIndexOf('.');
    const block = service.blocks.get(name.slice(0, dot));
    return order.indexOf(name.slice(0, dot)) * 1000 + (block ? [...block.keyFields, ...block.fields].indexOf(name.slice(dot + 1)) : 0);
  };
  return {
    payload,
    removedBlocks: order.filter((id) => removed.has(id)),
    reducedToKeys: order.filter((id) => reduced.has(id)),
    removedRows: rows,
    removedFields: [...removedFields].sort((a, b) => fieldOrder(a) - fieldOrder(b)),
    removedUnknown: [...unknown].sort(),
    interimRows,
  };
}
