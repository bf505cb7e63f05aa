import { createHash } from 'node:crypto';
import type { ExchangeRequest } from '../domain/exchange.js';
import { REFUSAL_CODES, isRefusalCode } from '../domain/refusal-codes.js';
import type { EmployerKind, EmployerRef, IsoDate, Period } from '../domain/types.js';
import type { AvroCodec } from '../messaging/avro-codec.js';
import type { InMessage } from '../messaging/kafka-client.js';
import type { TopicNames } from '../messaging/topics.js';
import type { OutRecord } from '../messaging/transactional-pipeline.js';

/** Full names of the exchange's Avro records (schemas/*.avsc). */
export const EXCHANGE_RECORD = {
  request: 'be.bcss.gateway.Request',
  reply: 'be.bcss.gateway.Reply',
  sourceRequest: 'be.bcss.gateway.SourceRequest',
  sourceReply: 'be.bcss.gateway.SourceReply',
  audit: 'be.bcss.gateway.AuditRecord',
  timeout: 'be.bcss.gateway.ExchangeTimeout',
} as const;

/** Kafka header `type` of each message, so that readers can tell them apart without decoding. */
export const MESSAGE_TYPE = {
  reply: 'reply',
  sourceRequest: 'source-request',
  audit: 'audit',
  timeout: 'exchange-timeout',
} as const;

export interface EmployerRecord {
  readonly kind: EmployerKind;
  readonly id: string;
  readonly category: string | null;
}

export interface PeriodRecord {
  readonly from: IsoDate;
  readonly to: IsoDate | null;
}

export interface RequestRecord extends ExchangeRequest {
  readonly sentAt: number;
}

export interface ReplyRecord {
  readonly requestId: string;
  readonly ticket: string;
  readonly status: string;
  readonly bcssCode: string | null;
  readonly message: string;
  readonly service: string;
  readonly effectivePeriods: readonly PeriodRecord[];
  readonly deliveredBlocks: readonly string[];
  readonly removedBlocks: readonly string[];
  readonly removedFields: readonly string[];
  readonly payload: Buffer | null;
  readonly retainUntil: IsoDate | null;
  readonly legalBasis: { readonly deliberation: string; readonly version: string; readonly purpose: string | null } | null;
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

export interface SourceReplyRecord {
  readonly ticket: string;
  readonly status: 'OK' | 'NO_DATA' | 'ERROR' | 'NISS_REPLACED';
  readonly newNiss: string | null;
  readonly errorMessage: string | null;
  readonly payload: Buffer | null;
  readonly answeredAt: number;
}

export type AuditEventType =
  | 'REQUEST_REFUSED'
  | 'REQUEST_FORWARDED'
  | 'REPLY_DELIVERED'
  | 'SOURCE_TIMEOUT'
  | 'LATE_SOURCE_REPLY'
  | 'DIRECTORY_CHANGED'
  | 'DIRECTORY_REFUSED'
  | 'MUTATION_DELIVERED'
  | 'AUTHORIZATION_CHANGED'
  | 'DEAD_LETTER'
  | 'LIST_ENTRY_DELIVERED';

export interface AuditRecordValue {
  readonly eventType: AuditEventType;
  readonly ticket: string | null;
  readonly at: number;
  readonly requester: string | null;
  readonly intermediary: string | null;
  readonly source: string | null;
  readonly service: string | null;
  readonly deliberation: string | null;
  readonly deliberationVersion: string | null;
  readonly purpose: string | null;
  readonly subjectNiss: string | null;
  readonly employer: EmployerRecord | null;
  readonly effectivePeriods: readonly PeriodRecord[];
  readonly deliveredBlocks: readonly string[];
  readonly removedBlocks: readonly string[];
  readonly removedFields: readonly string[];
  readonly outcome: string;
  readonly bcssCode: string | null;
}

export interface ExchangeTimeoutRecord {
  readonly ticket: string;
  readonly deadline: number;
  readonly emittedAt: number;
}

/** An audit record with every optional field empty; callers fill what the event knows. */
export function auditRecord(
  eventType: AuditEventType,
  outcome: string,
  fields: Partial<Omit<AuditRecordValue, 'eventType' | 'outcome' | 'bcssCode'>>,
): AuditRecordValue {
  return {
    eventType,
    ticket: null,
    at: Date.now(),
    requester: null,
    intermediary: null,
    source: null,
    service: null,
    deliberation: null,
    deliberationVersion: null,
    purpose: null,
    subjectNiss: null,
    employer: null,
    effectivePeriods: [],
    deliveredBlocks: [],
    removedBlocks: [],
    removedFields: [],
    ...fields,
    outcome,
    bcssCode: isRefusalCode(outcome) ? REFUSAL_CODES[outcome].bcssCode : null,
  };
}

/**
 * Longest text used as an audit key. A refused request's subject or requester is whatever the message
 * said: as key and again in the value, a 600 KB "NISS" made a record over the broker's limit, whose
 * transaction could then never commit — every request behind it in its partition waited for ever.
 */
const AUDIT_KEY_MAX = 64;

const usableKey = (text: string | null): text is string => text !== null && text.length <= AUDIT_KEY_MAX;

/** The audit topic's message for a record: keyed by the person (else the requester), so a person's trail stays ordered. */
export function auditMessage(codec: AvroCodec, topics: TopicNames, audit: AuditRecordValue): OutRecord {
  const key = usableKey(audit.subjectNiss) ? audit.subjectNiss : usableKey(audit.requester) ? audit.requester : '';
  return {
    topic: topics.audit,
    key,
    value: codec.encode(EXCHANGE_RECORD.audit, audit),
    headers: { type: MESSAGE_TYPE.audit, event: audit.eventType, ...(audit.ticket ? { ticket: audit.ticket } : {}) },
  };
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

/** The UTC day of an instant: the day the switch decides a request for. */
export function dayOf(epochMs: number): IsoDate {
  return new Date(epochMs).toISOString().slice(0, 10);
}

/**
 * Where the answer to a request goes: the institution's replies topic, or, for a request of its
 * consultation application, the consultations topic only that application reads (19/010 §37).
 */
export function replyTopic(topics: TopicNames, institution: string, channel: 'replies' | 'consultation'): string {
  return channel === 'consultation' ? topics.consultations(institution) : topics.replies(institution);
}
