/**
 * The service catalogue: what each authentic source's service needs as keys, the tree of data blocks its
 * payload is made of, which blocks are purely technical, whether it emits mutations, and where the
 * employer and the period of a row are found so that answers can be filtered.
 *
 * Block ids are `<service>.<kebab-name>` (e.g. `dmfa.occupation`, `dimona.using-employer`), uniform for
 * every service. A DmfA block also carries its official number (`dmfa.occupation` is 90015) where one is
 * known; the number is an attribute, not the id, because several blocks the seeds name have no number
 * the project could verify. A block's `path` is the field name holding it in its parent record (the
 * payload root for top-level blocks).
 *
 * Data, not code: built by `src/config/load-catalogue.ts` from `config/catalogue/*.yaml`.
 */
import type { EmployerKind } from './types.js';

export type ServiceId = string;
export type BlockId = string;
export type InstitutionId = string;

/** `many`: an array of rows (filtered away = emptied); `optional`: a record or null. */
export type BlockCardinality = 'many' | 'optional';

export type KeyPresence = 'required' | 'optional' | 'none';

export interface BlockDefinition {
  readonly id: BlockId;
  /** Official DmfA block number (90015 …) where known; null otherwise. */
  readonly number: number | null;
  readonly label: string;
  /** Field name in the parent record. */
  readonly path: string;
  readonly cardinality: BlockCardinality;
  /** Purely administrative: delivered without authorization (deliberation 19/104 §7). */
  readonly technical: boolean;
  /**
   * Identifying fields kept when the block itself is not authorized but one of its descendants is, so
   * that the authorized child can still be reached and understood (e.g. the quarter of 90007).
   */
  readonly keyFields: readonly string[];
  /** The block's other known fields. */
  readonly fields: readonly string[];
  readonly parent: BlockId | null;
  readonly children: readonly BlockId[];
}

/** A field holding an employer id of one kind, or a pair (kind field, id field). */
export type EmployerMatcher =
  | { readonly kind: EmployerKind; readonly path: string }
  | { readonly kindPath: string; readonly idPath: string };

export interface EmployerFilter {
  /** The `many` block whose rows are kept or dropped. */
  readonly block: BlockId;
  /** A row belongs to the asked employer if any matcher matches; paths are dotted, relative to the row. */
  readonly matchers: readonly EmployerMatcher[];
}

export interface EmployerCategoryFilter {
  readonly block: BlockId;
  readonly path: string;
}

/**
 * Where a row's period is: a quarter field (`2024Q3`), or a start date and an optional end date field
 * (end value null = open). Without `toPath` the row is one day, `fromPath`.
 */
export type PeriodFilter =
  | { readonly block: BlockId; readonly quarterPath: string }
  | { readonly block: BlockId; readonly fromPath: string; readonly toPath: string | null };

/**
 * Where a row shows interim work: its optional child block at `childPath` holds a record (DmfA 90107
 * and DIMONA's using employer, present only for a worker placed by a temporary-work agency).
 */
export interface InterimMarker {
  readonly block: BlockId;
  readonly childPath: string;
}

export interface ServiceFilters {
  readonly employer: readonly EmployerFilter[];
  readonly employerCategory: readonly EmployerCategoryFilter[];
  readonly period: readonly PeriodFilter[];
  readonly interim: readonly InterimMarker[];
}

export interface ServiceKeys {
  readonly niss: KeyPresence;
  readonly employer: { readonly presence: KeyPresence; readonly kinds: readonly EmployerKind[] };
  readonly period: KeyPresence;
  /** Interim work: the employer category comes with the employer id (10/012 §9). */
  readonly employerCategory: KeyPresence;
}

export interface DirectoryDemands {
  /** The requester must have integrated the person. */
  readonly person: 'required' | 'none';
  /** The integration must name the employer asked for. */
  readonly employerLink: KeyPresence;
  readonly minPhase: number | null;
}

export interface ServiceDefinition {
  readonly id: ServiceId;
  readonly title: string;
  readonly source: InstitutionId;
  /** `consultation`: request/reply per person; `batch`: a periodic list pushed by the source (22/046). */
  readonly mode: 'consultation' | 'batch';
  /** The `.avsc` file (in `schemas/`) of the payload record. */
  readonly schemaFile: string;
  readonly keys: ServiceKeys;
  readonly directory: DirectoryDemands;
  readonly emitsMutations: boolean;
  /** Technical fields of the payload root, always delivered. */
  readonly rootFields: readonly string[];
  /** Top-level blocks, in payload order. */
  readonly topBlocks: readonly BlockId[];
  /** Every block, in depth-first payload order. */
  readonly blocks: ReadonlyMap<BlockId, BlockDefinition>;
  readonly filters: ServiceFilters;
  /** Free text: what the model simplifies, which deliberation paragraphs it follows. */
  readonly notes: string | null;
}

export interface Catalogue {
  readonly services: ReadonlyMap<ServiceId, ServiceDefinition>;
}

export function getBlock(service: ServiceDefinition, id: BlockId): BlockDefinition | undefined {
  return service.blocks.get(id);
}

/** Block ids in depth-first payload order. */
export function blockIds(service: ServiceDefinition): BlockId[] {
  return [...service.blocks.keys()];
}

export function technicalBlockIds(service: ServiceDefinition): BlockId[] {
  return [...service.blocks.values()].filter((b) => b.technical).map((b) => b.id);
}

/** The block's ancestors, nearest first. */
export function ancestorsOf(service: ServiceDefinition, id: BlockId): BlockId[] {
  const result: BlockId[] = [];
  let current = service.blocks.get(id)?.parent ?? null;
  while (current !== null) {
    result.push(current);
    current = service.blocks.get(current)?.parent ?? null;
  }
  return result;
}

/**
 * Does a dotted path from a row of `blockId` reach a known field, going only through optional child
 * blocks (a path through a list would name many values)? Used to check filters and row conditions at load.
 */
export function resolvesToField(service: ServiceDefinition, blockId: BlockId, path: string): boolean {
  let block = service.blocks.get(blockId);
  const parts = path.split('.');
  for (let i = 0; i < parts.length && block; i++) {
    const part = parts[i] as string;
    if (i === parts.length - 1) return block.keyFields.includes(part) || block.fields.includes(part);
    const next: BlockDefinition | undefined = block.children.map((c) => service.blocks.get(c)).find((c) => c?.path === part);
    if (!next || next.cardinality !== 'optional') return false;
    block = next;
  }
  return false;
}

/** Every field a block can hold (key fields first), as the catalogue names them. */
export function fieldsOf(block: BlockDefinition): readonly string[] {
  return [...block.keyFields, ...block.fields];
}
