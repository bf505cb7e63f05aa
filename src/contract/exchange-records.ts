/**
 * The exchange's records as the codec reads and writes them (schemas/request.avsc, reply.avsc,
 * source-request.avsc, source-reply.avsc, exchange-timeout.avsc): dates as ISO `YYYY-MM-DD` strings,
 * timestamps as epoch milliseconds, `["null", X]` as `X | null`. test/unit/contract-schemas.test.ts
 * holds every interface here to its schema.
 */
import { createHash } from 'node:crypto';
import type { ExchangeRequest } from '../domain/exchange.js';
import type { RefusalCode } from '../domain/refusal-codes.js';
import type { EmployerKind, EmployerRef, IsoDate, Period } from '../domain/types.js';
import type { InMessage } from '../messaging/kafka-client.js';

export interface EmployerRecord {
  readonly kind: EmployerKind;
  readonly id: string;
  readonly category: string | null;
}

export interface PeriodRecord {
  readonly from: IsoDate;
  readonly to: IsoDate | null;
}

/** The deliberation an answer or a change was delivered under. */
export interface LegalBasisRecord {
  readonly deliberation: string;
  readonly version: string;
  readonly purpose: string | null;
}

export interface RequestRecord extends ExchangeRequest {
  readonly sentAt: number;
}

/**
 * A Reply's (and a DirectoryAck's) `status`: `OK` or a refusal code of src/domain/refusal-codes.ts.
 * The schema keeps it a string, so that a code added later still decodes in an older reader.
 */
export type ReplyStatus = 'OK' | RefusalCode;

export interface ReplyRecord {
  readonly requestId: string;
  readonly ticket: string;
  readonly status: ReplyStatus;
  readonly bcssCode: string | null;
  readonly message: string;
  readonly service: string;
  readonly effectivePeriods: readonly PeriodRecord[];
  readonly deliveredBlocks: readonly string[];
  readonly removedBlocks: readonly string[];
  readonly removedFields: readonly string[];
  readonly payload: Buffer | null;
  readonly retainUntil: IsoDate | null;
  readonly legalBasis: LegalBasisRecord | null;
  readonly newNiss: string | null;
  readonly receivedAt: number;
  readonly forwardedAt: number | null;
  readonly answeredAt: number;
}

export interface SourceRequestRecord {
  readonly ticket: string;
  readonly service: string;
  readonly subjectNiss: string;
  readonly employer: EmployerRecord | null;
  readonly period: PeriodRecord;
  readonly blocks: readonly string[];
  readonly deadline: number;
}

/** What a source may answer (an Avro enum): the switch turns it into the requester's status. */
export type SourceReplyStatus = 'OK' | 'NO_DATA' | 'ERROR' | 'NISS_REPLACED';

export interface SourceReplyRecord {
  readonly ticket: string;
  readonly status: SourceReplyStatus;
  readonly newNiss: string | null;
  readonly errorMessage: string | null;
  readonly payload: Buffer | null;
  readonly answeredAt: number;
}

export interface ExchangeTimeoutRecord {
  readonly ticket: string;
  readonly deadline: number;
  readonly emittedAt: number;
}

export function employerRecord(employer: EmployerRef | null, category: string | null): EmployerRecord | null {
  return employer === null ? null : { kind: employer.kind, id: employer.id, category };
}

export function periodRecords(periods: readonly Period[]): PeriodRecord[] {
  return periods.map((p) => ({ from: p.from, to: p.to }));
}

/**
 * The ticket of the exchange a request opens: derived from the request's place in Kafka (and its
 * timestamp, in case a topic is ever re-created), so that re-processing after a crash gives the same
 * ticket and overwrites the same pending state instead of opening a second exchange.
 */
export function ticketFor(message: Pick<InMessage, 'topic' | 'partition' | 'offset' | 'timestamp'>): string {
  const digest = createHash('sha256')
    .update(`${message.topic}\u0000${message.partition}\u0000${message.offset}\u0000${message.timestamp}`)
    .digest('base64url');
  return `T${digest.slice(0, 22)}`;
}
