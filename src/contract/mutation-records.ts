/**
 * Changes (schemas/source-mutation.avsc, mutation.avsc): what an authentic source publishes about a
 * person, and what the switch delivers of it to each institution that follows the person.
 */
import type { IsoDate } from '../domain/types.js';
import type { EmployerRecord, LegalBasisRecord } from './exchange-records.js';

export type ChangeKind = 'ADDED' | 'CHANGED' | 'ENDED' | 'CANCELLED';

export interface SourceMutationRecord {
  readonly mutationId: string;
  readonly service: string;
  readonly subjectNiss: string;
  readonly employer: EmployerRecord | null;
  readonly informationType: string;
  readonly changeKind: ChangeKind;
  readonly effectiveDate: IsoDate;
  readonly newNiss: string | null;
  readonly payload: Buffer | null;
  readonly emittedAt: number;
}

export interface MutationRecord {
  readonly ticket: string;
  readonly mutationId: string;
  readonly source: string;
  readonly service: string;
  readonly subjectNiss: string;
  /** Delivered through a mandatory intermediary: the institution it is for. */
  readonly onBehalfOf: string | null;
  readonly employer: EmployerRecord | null;
  readonly informationType: string;
  readonly changeKind: ChangeKind;
  readonly effectiveDate: IsoDate;
  readonly newNiss: string | null;
  readonly form: 'NOTIFICATION' | 'BLOCKS';
  readonly deliveredBlocks: readonly string[];
  readonly removedBlocks: readonly string[];
  readonly removedFields: readonly string[];
  readonly payload: Buffer | null;
  readonly legalBasis: LegalBasisRecord;
  readonly retainUntil: IsoDate | null;
  readonly emittedAt: number;
  readonly deliveredAt: number;
}
