/**
 * The audit trail's records (schemas/audit-record.avsc, audit-seal.avsc) and the builder every flow
 * writes its audit records with: one shape and one key rule for all of them.
 */
import { REFUSAL_CODES, isRefusalCode } from '../domain/refusal-codes.js';
import type { AvroCodec } from '../messaging/avro-codec.js';
import type { TopicNames } from '../messaging/topics.js';
import type { OutRecord } from '../messaging/transactional-pipeline.js';
import type { EmployerRecord, PeriodRecord } from './exchange-records.js';
import { EXCHANGE_RECORD, HEADER, MESSAGE_TYPE } from './names.js';

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
  | 'LIST_ENTRY_DELIVERED'
  // The console (src/console/): a user looked up a person, an exchange or a report; redrove a dead letter.
  | 'CONSOLE_LOOKUP'
  | 'DEAD_LETTER_REDRIVEN';

export interface AuditRecordValue {
  readonly eventType: AuditEventType;
  readonly ticket: string | null;
  /** When the switch recorded the event (epoch milliseconds). */
  readonly at: number;
  /** Who asked (or received a change); the beneficiary when an intermediary relayed. */
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
  /**
   * The requester's own id of the request the record is about (v3): on refused, forwarded, delivered,
   * timed-out and list-entry records; null otherwise, and for a late source reply (the exchange is gone).
   */
  readonly requestId: string | null;
}

/** The AuditSeal record as the codec reads and writes it. */
export interface AuditSealValue {
  readonly partition: number;
  readonly sequence: number;
  readonly records: number;
  readonly firstOffset: number;
  readonly lastOffset: number;
  readonly previousLink: Buffer;
  readonly link: Buffer;
  readonly digests: readonly Buffer[];
  readonly sealedAt: number;
  readonly keyId: string;
  readonly signature: Buffer;
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
    requestId: null,
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
    headers: {
      [HEADER.type]: MESSAGE_TYPE.audit,
      [HEADER.event]: audit.eventType,
      ...(audit.ticket ? { [HEADER.ticket]: audit.ticket } : {}),
    },
  };
}
