import type { Channel } from '../domain/exchange.js';
import { REFUSAL_CODES, isRefusalCode } from '../domain/refusal-codes.js';
import type { AvroCodec } from '../messaging/avro-codec.js';
import type { TopicNames } from '../messaging/topics.js';
import type { OutRecord } from '../messaging/transactional-pipeline.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import { auditMessage, auditRecord, type AuditRecordValue } from '../contract/audit-records.js';
import type { EmployerRecord, ReplyRecord } from '../contract/exchange-records.js';
import { EXCHANGE_RECORD, HEADER, MESSAGE_TYPE } from '../contract/names.js';

/**
 * The answer to a request: the Reply to the requester and the audit record of its outcome. Both are
 * built from the one reply, so that they cannot disagree on ticket, time, outcome, legal basis, periods
 * or blocks. The request pipeline answers its refusals with it, the reply pipeline the source's answers
 * and the deadlines.
 */

export type AnswerEvent = 'REQUEST_REFUSED' | 'REPLY_DELIVERED' | 'SOURCE_TIMEOUT';

export interface AnswerOutput {
  readonly codec: AvroCodec;
  readonly topics: TopicNames;
  readonly metrics: GatewayMetrics;
}

/** Where the reply goes: back the way the request came, under its key. */
export interface AnswerDestination {
  readonly institution: string;
  readonly channel: Channel;
  readonly key: Buffer | string | null;
}

/** What the audit record says of the exchange beyond what the reply carries. */
export interface AnsweredParties {
  readonly requester: string | null;
  readonly intermediary: string | null;
  readonly source: string | null;
  readonly service: string | null;
  readonly purpose: string | null;
  readonly subjectNiss: string | null;
  readonly employer: EmployerRecord | null;
}

export interface AnswerMessages {
  readonly records: readonly [reply: OutRecord, audit: OutRecord];
  /** The audit record's value, for the records derived from it (the entries of a list). */
  readonly audit: AuditRecordValue;
}

export function answerMessages(
  out: AnswerOutput,
  event: AnswerEvent,
  to: AnswerDestination,
  reply: Omit<ReplyRecord, 'bcssCode'>,
  parties: AnsweredParties,
): AnswerMessages {
  out.metrics.answered(reply.service, reply.status, reply.answeredAt - reply.receivedAt);
  const record: ReplyRecord = { ...reply, bcssCode: isRefusalCode(reply.status) ? REFUSAL_CODES[reply.status].bcssCode : null };
  const audit = auditRecord(event, reply.status, {
    ...parties,
    ticket: reply.ticket,
    at: reply.answeredAt,
    deliberation: reply.legalBasis?.deliberation ?? null,
    deliberationVersion: reply.legalBasis?.version ?? null,
    effectivePeriods: reply.effectivePeriods,
    deliveredBlocks: reply.deliveredBlocks,
    removedBlocks: reply.removedBlocks,
    removedFields: reply.removedFields,
    // The id the requester knows the exchange by; empty when the request could not be read.
    requestId: reply.requestId === '' ? null : reply.requestId,
  });
  return {
    audit,
    records: [
      {
        topic: out.topics.answersOn(to.channel, to.institution),
        key: to.key,
        value: out.codec.encode(EXCHANGE_RECORD.reply, record),
        headers: { [HEADER.type]: MESSAGE_TYPE.reply, [HEADER.ticket]: reply.ticket },
      },
      auditMessage(out.codec, out.topics, audit),
    ],
  };
}
