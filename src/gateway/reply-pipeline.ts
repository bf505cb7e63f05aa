import type { Catalogue } from '../domain/catalogue.js';
import { composeAnswer, listSubjects, retainUntilFor } from '../domain/exchange.js';
import { REFUSAL_CODES, refusal, type Refusal } from '../domain/refusal-codes.js';
import { maskNissIn, type Logger } from '../logging/logger.js';
import { CodecError, type AvroCodec } from '../messaging/avro-codec.js';
import type { InMessage } from '../messaging/kafka-client.js';
import type { TopicNames } from '../messaging/topics.js';
import type { ChunkResult, OutRecord } from '../messaging/transactional-pipeline.js';
import type { ClaimResult, PendingExchange, PendingStore } from '../store/pending-store.js';
import { NO_METRICS, type GatewayMetrics } from '../observability/metrics.js';
import { deadLetter } from './dead-letters.js';
import {
  EXCHANGE_RECORD,
  MESSAGE_TYPE,
  auditMessage,
  auditRecord,
  dayOf,
  employerRecord,
  periodRecords,
  replyTopic,
  type AuditRecordValue,
  type ExchangeTimeoutRecord,
  type ReplyRecord,
  type SourceReplyRecord,
} from './exchange-messages.js';

/**
 * The reply pipeline: the sources' answers and the deadline events in; for each exchange, exactly one
 * reply to the requester with its audit record, in one Kafka transaction with the consumed offsets.
 *
 * An answer first CLAIMS its exchange in Redis (see pending-store.ts), naming itself by its Kafka
 * position: the source's answer and the deadline race, and only the first one answers. A source answer
 * that comes after the deadline (or twice) is audited as LATE_SOURCE_REPLY and dropped; a deadline event
 * for an exchange already answered is dropped silently (it is the switch's own timer, not a communication).
 * The pending exchanges are forgotten once the transaction is committed.
 *
 * The source's payload is filtered here whatever the source claims to have done: blocks, employer,
 * employer category and effective periods (src/domain/exchange.ts composeAnswer).
 */

export interface ReplyPipelineDeps {
  readonly codec: AvroCodec;
  readonly topics: TopicNames;
  readonly catalogue: Catalogue;
  /** Service → full name of its payload record. */
  readonly payloadRecords: ReadonlyMap<string, string>;
  readonly pending: Pick<PendingStore, 'claimMany' | 'removeMany'>;
  readonly logger: Logger;
  readonly metrics?: GatewayMetrics;
  readonly now?: () => number;
}

type Incoming =
  | { readonly kind: 'source'; readonly message: InMessage; readonly source: string; readonly reply: SourceReplyRecord }
  | { readonly kind: 'timeout'; readonly message: InMessage; readonly timeout: ExchangeTimeoutRecord };

function decode<T>(codec: AvroCodec, record: string, message: InMessage): T | CodecError {
  if (!message.value || message.value.length === 0) return new CodecError('TRUNCATED', 'empty message');
  try {
    return codec.decode<T>(record, message.value);
  } catch (error) {
    if (error instanceof CodecError) return error;
    return new CodecError('MALFORMED_BODY', 'the message could not be decoded');
  }
}

function claimantOf(message: InMessage): string {
  return `${message.topic}/${message.partition}/${message.offset}`;
}

export function replyTransform(deps: ReplyPipelineDeps) {
  const { codec, topics } = deps;
  const now = deps.now ?? Date.now;
  const log = deps.logger.child({ module: 'replies' });
  const metrics = deps.metrics ?? NO_METRICS;

  const auditOut = (audit: AuditRecordValue): OutRecord => auditMessage(codec, topics, audit);

  interface Answer {
    readonly status: string;
    readonly message: string;
    readonly payload: Buffer | null;
    readonly deliveredBlocks: readonly string[];
    readonly removedBlocks: readonly string[];
    readonly removedFields: readonly string[];
    readonly newNiss: string | null;
    /** A list service's answer (22/046): the persons it names, each audited on their own. */
    readonly listSubjects?: readonly string[];
  }

  const refusalAnswer = (r: Refusal, exchange: PendingExchange, newNiss: string | null = null): Answer => ({
    status: r.code,
    message: r.detail,
    payload: null,
    deliveredBlocks: [],
    removedBlocks: [...exchange.unauthorizedBlocks],
    removedFields: [],
    newNiss,
  });

  /** What the requester gets for the source's answer. */
  const answerFor = (exchange: PendingExchange, reply: SourceReplyRecord): Answer => {
    switch (reply.status) {
      case 'NO_DATA':
        return refusalAnswer(refusal('NO_DATA'), exchange);
      case 'NISS_REPLACED':
        return refusalAnswer(
          refusal('NISS_REPLACED', 'the NISS asked for has been replaced; ask again with the new NISS'),
          exchange,
          reply.newNiss,
        );
      case 'ERROR':
        // The source's own text is for operators; the requester gets the switch's message.
        log.warn({ ticket: exchange.ticket, source: exchange.source, error: maskNissIn(reply.errorMessage ?? '') }, 'the source answered an error');
        return refusalAnswer(refusal('SOURCE_ERROR'), exchange);
      case 'OK':
        return okAnswer(exchange, reply);
    }
  };

  const okAnswer = (exchange: PendingExchange, reply: SourceReplyRecord): Answer => {
    const service = deps.catalogue.services.get(exchange.service);
    const recordName = deps.payloadRecords.get(exchange.service);
    if (!service || !recordName || reply.payload === null) {
      log.warn({ ticket: exchange.ticket, source: exchange.source }, 'the source answered OK without a usable payload');
      return refusalAnswer(refusal('SOURCE_ERROR', 'the authentic source answered without data the switch could read'), exchange);
    }
    let sourcePayload: unknown;
    try {
      if (codec.recordNameOf(reply.payload) !== recordName) throw new CodecError('UNKNOWN_FINGERPRINT', `not a ${recordName}`);
      sourcePayload = codec.decode(recordName, reply.payload);
    } catch (error) {
      log.warn({ ticket: exchange.ticket, source: exchange.source, err: error }, 'the source payload could not be decoded');
      return refusalAnswer(refusal('SOURCE_ERROR', 'the authentic source answered with a payload the switch could not read'), exchange);
    }
    const composed = composeAnswer(
      service,
      {
        allowedBlocks: exchange.allowedBlocks,
        grantedFields: exchange.grantedFields,
        rows: exchange.rows,
        interimNeedsCategory: exchange.interimNeedsCategory,
        unauthorizedBlocks: exchange.unauthorizedBlocks,
        employer: exchange.employer,
        employerCategory: exchange.employerCategory,
        effectivePeriods: exchange.effectivePeriods,
        includeFutureFields: exchange.includeFutureFields,
      },
      sourcePayload,
    );
    if (composed.removedUnknown.length > 0) {
      log.info({ ticket: exchange.ticket, fields: composed.removedUnknown }, 'unknown fields removed from the source answer');
    }
    if (composed.status === 'EMPLOYER_CATEGORY_REQUIRED') {
      return refusalAnswer(
        refusal(
          'EMPLOYER_CATEGORY_REQUIRED',
          `the link asked for is interim work: deliberation ${exchange.deliberation} demands the employer category with the employer; ask again with it`,
        ),
        exchange,
      );
    }
    if (composed.status === 'NO_DATA') {
      return { ...refusalAnswer(refusal('NO_DATA', 'the authentic source has no data within the employer, period and blocks the requester may see'), exchange), removedBlocks: composed.removedBlocks };
    }
    const withheld = [composed.removedBlocks.length > 0 ? 'blocks' : null, composed.removedFields.length > 0 ? 'fields' : null].filter((w) => w !== null);
    return {
      status: 'OK',
      message: withheld.length > 0 ? `delivered; ${withheld.join(' and ')} not authorized were withheld` : 'delivered',
      payload: codec.encode(recordName, composed.payload),
      deliveredBlocks: composed.deliveredBlocks,
      removedBlocks: composed.removedBlocks,
      removedFields: composed.removedFields,
      newNiss: null,
      ...(service.mode === 'batch' ? { listSubjects: listSubjects(service, composed.payload) } : {}),
    };
  };

  const deliver = (exchange: PendingExchange, answer: Answer, event: 'REPLY_DELIVERED' | 'SOURCE_TIMEOUT'): OutRecord[] => {
    const answeredAt = now();
    metrics.answered(exchange.service, answer.status, answeredAt - exchange.receivedAt);
    const withData = answer.payload !== null;
    const reply: ReplyRecord = {
      requestId: exchange.requestId,
      ticket: exchange.ticket,
      status: answer.status,
      bcssCode: answer.status === 'OK' ? null : (REFUSAL_CODES[answer.status as keyof typeof REFUSAL_CODES]?.bcssCode ?? null),
      message: answer.message,
      service: exchange.service,
      effectivePeriods: periodRecords(exchange.effectivePeriods),
      deliveredBlocks: [...answer.deliveredBlocks],
      removedBlocks: [...answer.removedBlocks],
      removedFields: [...answer.removedFields],
      payload: answer.payload,
      retainUntil: withData ? retainUntilFor(exchange, dayOf(answeredAt)) : null,
      legalBasis: { deliberation: exchange.deliberation, version: exchange.deliberationVersion, purpose: exchange.purpose },
      newNiss: answer.newNiss,
      receivedAt: exchange.receivedAt,
      forwardedAt: exchange.forwardedAt,
      answeredAt,
    };
    const audit = auditRecord(event, answer.status, {
      ticket: exchange.ticket,
      at: answeredAt,
      requester: exchange.beneficiary,
      intermediary: exchange.intermediary,
      source: exchange.source,
      service: exchange.service,
      deliberation: exchange.deliberation,
      deliberationVersion: exchange.deliberationVersion,
      purpose: exchange.purpose,
      subjectNiss: exchange.subjectNiss || null,
      employer: employerRecord(exchange.employer, exchange.employerCategory),
      effectivePeriods: periodRecords(exchange.effectivePeriods),
      deliveredBlocks: [...answer.deliveredBlocks],
      removedBlocks: [...answer.removedBlocks],
      removedFields: [...answer.removedFields],
    });
    // A list names many persons: each gets a record of their own, findable by NISS (10/012 §23: "concernant
    // quelle personne"), in the same transaction as the list.
    const entries = (answer.listSubjects ?? []).map((niss) =>
      auditOut({ ...audit, eventType: 'LIST_ENTRY_DELIVERED', subjectNiss: niss, deliveredBlocks: [...answer.deliveredBlocks], removedBlocks: [], removedFields: [] }),
    );
    return [
      {
        topic: replyTopic(topics, exchange.requester, exchange.channel ?? 'replies'),
        key: exchange.replyKey,
        value: codec.encode(EXCHANGE_RECORD.reply, reply),
        headers: { type: MESSAGE_TYPE.reply, ticket: exchange.ticket },
      },
      auditOut(audit),
      ...entries,
    ];
  };

  return async (messages: readonly InMessage[]): Promise<ChunkResult> => {
    const records: OutRecord[] = [];
    const incoming: Incoming[] = [];
    for (const message of messages) {
      if (message.topic === topics.exchangeTimeouts) {
        const timeout = decode<ExchangeTimeoutRecord>(codec, EXCHANGE_RECORD.timeout, message);
        if (timeout instanceof CodecError) records.push(deadLetter(codec, topics, message, timeout.code, timeout.message));
        else incoming.push({ kind: 'timeout', message, timeout });
        continue;
      }
      const source = topics.institutionOf(message.topic);
      const reply = decode<SourceReplyRecord>(codec, EXCHANGE_RECORD.sourceReply, message);
      if (source === null || reply instanceof CodecError) {
        // No exchange can be named: the operators get the bytes; the requester gets its timeout.
        const reason = reply instanceof CodecError ? reply : new CodecError('MALFORMED_BODY', 'unroutable');
        records.push(deadLetter(codec, topics, message, source === null ? 'UNROUTABLE' : reason.code, reason.message));
        continue;
      }
      incoming.push({ kind: 'source', message, source, reply });
    }

    const claims: ClaimResult[] = await deps.pending.claimMany(
      incoming.map((item) =>
        item.kind === 'source'
          ? { ticket: item.reply.ticket, claimant: claimantOf(item.message), source: item.source }
          : { ticket: item.timeout.ticket, claimant: claimantOf(item.message), source: null },
      ),
    );

    const answered: string[] = [];
    incoming.forEach((item, i) => {
      const claim = claims[i] as ClaimResult;
      try {
        if (claim.status === 'claimed') {
          const exchange = claim.exchange;
          if (item.kind === 'timeout') {
            records.push(...deliver(exchange, refusalAnswer(refusal('SOURCE_TIMEOUT'), exchange), 'SOURCE_TIMEOUT'));
          } else {
            records.push(...deliver(exchange, answerFor(exchange, item.reply), 'REPLY_DELIVERED'));
          }
          answered.push(exchange.ticket);
          return;
        }
        if (item.kind === 'timeout') return;
        if (claim.status === 'wrong-source') {
          log.warn({ ticket: item.reply.ticket, source: item.source }, 'a source answered for an exchange forwarded to another source');
          records.push(deadLetter(codec, topics, item.message, 'WRONG_SOURCE', 'the ticket belongs to an exchange with another source'));
        }
        records.push(
          auditOut(
            auditRecord('LATE_SOURCE_REPLY', item.reply.status, {
              ticket: item.reply.ticket,
              at: now(),
              source: item.source,
            }),
          ),
        );
      } catch (error) {
        // An answer that cannot be composed still closes its exchange, with an error the requester can act on.
        log.error({ err: error, ticket: claim.status === 'claimed' ? claim.exchange.ticket : null }, 'answer could not be composed');
        if (claim.status === 'claimed') {
          const exchange = claim.exchange;
          records.push(...deliver(exchange, refusalAnswer(refusal('SOURCE_ERROR', 'the answer could not be delivered'), exchange), 'REPLY_DELIVERED'));
          answered.push(exchange.ticket);
        }
      }
    });

    return {
      records,
      afterCommit: answered.length > 0 ? () => deps.pending.removeMany(answered) : undefined,
    };
  };
}
