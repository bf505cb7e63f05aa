import type { AuthorizationGrant } from '../domain/authorization.js';
import {
  checkRequest,
  decideForward,
  type Channel,
  type CheckedRequest,
  type ExchangeRules,
  type ForwardDecision,
  type RefusedRequest,
} from '../domain/exchange.js';
import { parseNiss } from '../domain/niss.js';
import { REFUSAL_CODES, refusal, type Refusal } from '../domain/refusal-codes.js';
import type { Logger } from '../logging/logger.js';
import { CodecError, type AvroCodec } from '../messaging/avro-codec.js';
import type { InMessage } from '../messaging/kafka-client.js';
import type { TopicNames } from '../messaging/topics.js';
import type { ChunkResult, OutRecord } from '../messaging/transactional-pipeline.js';
import type { DirectoryStore } from '../store/directory-store.js';
import type { PendingExchange, PendingStore } from '../store/pending-store.js';
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
  ticketFor,
  type AuditRecordValue,
  type ReplyRecord,
  type RequestRecord,
  type SourceRequestRecord,
} from './exchange-messages.js';

/**
 * The request pipeline: every institution's requests topic in, and for each request, in one Kafka
 * transaction with the consumed offsets, either
 *   - a refusal on the sender's replies topic and its REQUEST_REFUSED audit record, or
 *   - a minimal SourceRequest on the source's topic and its REQUEST_FORWARDED audit record, the pending
 *     exchange being recorded in Redis before the commit (so the source's answer always finds it).
 * Per chunk: decode and check everything that needs no lookup, read the directory lines of every person
 * concerned in one pipelined round trip, decide, write the pending exchanges in one more round trip.
 * A Redis failure throws: the chunk is not committed and Kafka delivers it again (fail closed).
 */

export interface RequestPipelineDeps {
  readonly codec: AvroCodec;
  readonly topics: TopicNames;
  readonly rules: ExchangeRules;
  readonly directory: Pick<DirectoryStore, 'readMany'>;
  readonly pending: Pick<PendingStore, 'putMany'>;
  /** How long a source has to answer. */
  readonly sourceTimeoutMs: number;
  /**
   * An answer is due this long after the request was published (its Kafka timestamp). A request that
   * queued so long that its source's time would take the answer past that point is answered OVERLOADED
   * instead of forwarded: the requester has a prompt answer to retry on, and the source no work nobody
   * waits for. Refusals need no source and are answered as they are. Undefined: no such limit.
   */
  readonly answerDeadlineMs?: number;
  readonly logger: Logger;
  readonly metrics?: GatewayMetrics;
  readonly now?: () => number;
}

interface Context {
  readonly message: InMessage;
  /** The institution owning the topic: the sender. */
  readonly sender: string;
  /** Its requests topic, or its consultation application's: the answer goes back the same way. */
  readonly channel: Channel;
  readonly ticket: string;
  readonly receivedAt: number;
}

function normalNiss(text: string): string {
  const parsed = parseNiss(text);
  return parsed.valid ? parsed.normalized : text;
}

function decodeRequest(codec: AvroCodec, message: InMessage): RequestRecord | CodecError {
  if (!message.value || message.value.length === 0) return new CodecError('TRUNCATED', 'empty message');
  try {
    return codec.decode<RequestRecord>(EXCHANGE_RECORD.request, message.value);
  } catch (error) {
    if (error instanceof CodecError) return error;
    return new CodecError('MALFORMED_BODY', 'the request could not be decoded');
  }
}

export function requestTransform(deps: RequestPipelineDeps) {
  const { codec, topics } = deps;
  const now = deps.now ?? Date.now;
  const log = deps.logger.child({ module: 'requests' });
  const metrics = deps.metrics ?? NO_METRICS;

  const refusalRecords = (
    ctx: Context,
    request: RequestRecord | null,
    refused: Refusal,
    grant: AuthorizationGrant | null,
  ): OutRecord[] => {
    const answeredAt = now();
    metrics.answered(request?.service || 'unknown', refused.code, answeredAt - ctx.receivedAt);
    const reply: ReplyRecord = {
      requestId: request?.requestId ?? '',
      ticket: ctx.ticket,
      status: refused.code,
      bcssCode: REFUSAL_CODES[refused.code].bcssCode,
      message: refused.detail,
      service: request?.service ?? '',
      effectivePeriods: [],
      deliveredBlocks: [],
      removedBlocks: [],
      removedFields: [],
      payload: null,
      retainUntil: null,
      legalBasis: grant ? { deliberation: grant.deliberation, version: grant.versionId, purpose: grant.purpose.code } : null,
      newNiss: null,
      receivedAt: ctx.receivedAt,
      forwardedAt: null,
      answeredAt,
    };
    const relayed = request !== null && request.onBehalfOf !== null && request.onBehalfOf !== '' && request.onBehalfOf !== ctx.sender;
    const audit = auditRecord('REQUEST_REFUSED', refused.code, {
      ticket: ctx.ticket,
      at: answeredAt,
      // Who asked, as far as the switch can tell: the topic's owner, or the beneficiary it relayed for.
      requester: grant?.beneficiary ?? (relayed ? (request?.onBehalfOf ?? ctx.sender) : ctx.sender),
      intermediary: relayed ? ctx.sender : null,
      service: request?.service ?? null,
      source: grant ? (deps.rules.catalogue.services.get(request?.service ?? '')?.source ?? null) : null,
      deliberation: grant?.deliberation ?? null,
      deliberationVersion: grant?.versionId ?? null,
      purpose: grant?.purpose.code ?? request?.purpose ?? null,
      // As 11 digits when it is a NISS, so that a citizen's audit search finds it; as given otherwise.
      subjectNiss: request?.subjectNiss ? normalNiss(request.subjectNiss) : null,
      employer: request?.employer ?? null,
    });
    return [
      {
        topic: replyTopic(topics, ctx.sender, ctx.channel),
        key: ctx.message.key,
        value: codec.encode(EXCHANGE_RECORD.reply, reply),
        headers: { type: MESSAGE_TYPE.reply, ticket: ctx.ticket },
      },
      auditOut(audit),
    ];
  };

  const auditOut = (audit: AuditRecordValue): OutRecord => auditMessage(codec, topics, audit);

  const forwardRecords = (ctx: Context, decision: ForwardDecision): { records: OutRecord[]; pending: PendingExchange } => {
    const { checked } = decision;
    const { request, grant, service } = checked;
    const forwardedAt = now();
    const deadline = forwardedAt + deps.sourceTimeoutMs;
    metrics.forwarded(service.id);
    const sourceRequest: SourceRequestRecord = {
      ticket: ctx.ticket,
      service: service.id,
      subjectNiss: checked.subjectNiss,
      employer: employerRecord(checked.employer, checked.employerCategory),
      period: { from: decision.sourcePeriod.from, to: decision.sourcePeriod.to },
      blocks: [...decision.blocks],
      deadline,
    };
    const intermediary = grant.relay ? ctx.sender : null;
    const pending: PendingExchange = {
      ticket: ctx.ticket,
      requestId: request.requestId,
      requester: ctx.sender,
      beneficiary: grant.beneficiary,
      intermediary,
      service: service.id,
      source: service.source,
      deliberation: grant.deliberation,
      deliberationVersion: grant.versionId,
      purpose: grant.purpose.code,
      legalBasis: grant.legalBasis,
      retention: grant.retention,
      subjectNiss: checked.subjectNiss,
      employer: checked.employer,
      employerCategory: checked.employerCategory,
      effectivePeriods: decision.effectivePeriods,
      allowedBlocks: grant.allowedBlocks,
      grantedFields: grant.grantedFields,
      rows: grant.rows,
      interimNeedsCategory: grant.keys?.employerCategoryForInterim === true && checked.employerCategory === null,
      channel: ctx.channel,
      unauthorizedBlocks: grant.removedBlocks,
      includeFutureFields: grant.includesFutureFieldsOfBlocks,
      receivedAt: ctx.receivedAt,
      forwardedAt,
      deadline,
      replyKey: ctx.message.key === null ? null : ctx.message.key.toString('utf8'),
    };
    const audit = auditRecord('REQUEST_FORWARDED', 'FORWARDED', {
      ticket: ctx.ticket,
      at: forwardedAt,
      requester: grant.beneficiary,
      intermediary,
      source: service.source,
      service: service.id,
      deliberation: grant.deliberation,
      deliberationVersion: grant.versionId,
      purpose: grant.purpose.code,
      subjectNiss: checked.subjectNiss || null,
      employer: sourceRequest.employer,
      effectivePeriods: periodRecords(decision.effectivePeriods),
      removedBlocks: [...grant.removedBlocks],
    });
    return {
      pending,
      records: [
        {
          topic: topics.sourceRequests(service.source),
          // Keyed like the request: everything about one person stays in order.
          key: checked.subjectNiss || ctx.sender,
          value: codec.encode(EXCHANGE_RECORD.sourceRequest, sourceRequest),
          headers: { type: MESSAGE_TYPE.sourceRequest, ticket: ctx.ticket },
        },
        auditOut(audit),
      ],
    };
  };

  /** Time since publication; a timestamp from a clock ahead of ours counts as none. */
  const queuedFor = (ctx: Context): number => Math.max(0, ctx.receivedAt - Number(ctx.message.timestamp));

  return async (messages: readonly InMessage[]): Promise<ChunkResult> => {
    const records: OutRecord[] = [];
    const receivedAt = now();
    const today = dayOf(receivedAt);
    const checkedOnes: Array<{ ctx: Context; checked: CheckedRequest; request: RequestRecord }> = [];

    for (const message of messages) {
      const sender = topics.institutionOf(message.topic);
      if (sender === null) {
        records.push(deadLetter(codec, topics, message, 'UNROUTABLE', 'the topic does not name an institution'));
        continue;
      }
      const channel: Channel = topics.patterns.consultationRequests.test(message.topic) ? 'consultation' : 'replies';
      const ctx: Context = { message, sender, channel, ticket: ticketFor(message), receivedAt };
      try {
        const request = decodeRequest(codec, message);
        if (request instanceof CodecError) {
          records.push(deadLetter(codec, topics, message, request.code, request.message));
          records.push(...refusalRecords(ctx, null, refusal('INVALID_MESSAGE', `the request could not be decoded: ${request.message}`), null));
          continue;
        }
        const checked = checkRequest(request, sender, deps.rules, today, channel);
        if (!checked.ok) {
          records.push(...refusalRecords(ctx, request, checked.refusal, checked.grant));
          continue;
        }
        checkedOnes.push({ ctx, checked, request });
      } catch (error) {
        // No message may stop its partition: an unexpected failure is answered and kept for operators.
        log.error({ err: error, ticket: ctx.ticket }, 'request could not be processed');
        records.push(deadLetter(codec, topics, message, 'INTERNAL_ERROR', 'the request could not be processed'));
        records.push(...refusalRecords(ctx, null, refusal('INVALID_MESSAGE', 'the request could not be processed'), null));
      }
    }

    // One pipelined round trip for every person concerned by the chunk; a Redis failure throws.
    const nisses = checkedOnes.map((c) => c.checked.directoryNiss).filter((n): n is string => n !== null);
    const lines = nisses.length > 0 ? await deps.directory.readMany(nisses) : new Map();

    const pending: PendingExchange[] = [];
    for (const { ctx, checked, request } of checkedOnes) {
      const decision: ForwardDecision | RefusedRequest = decideForward(
        checked,
        checked.directoryNiss === null ? [] : (lines.get(checked.directoryNiss) ?? []),
      );
      if (!decision.ok) {
        records.push(...refusalRecords(ctx, request, decision.refusal, decision.grant));
        continue;
      }
      const queuedMs = queuedFor(ctx);
      if (deps.answerDeadlineMs !== undefined && queuedMs + deps.sourceTimeoutMs > deps.answerDeadlineMs) {
        const detail = `the request waited ${Math.round(queuedMs / 1000)} s in the queue; its source could not answer within the deadline — try again`;
        records.push(...refusalRecords(ctx, request, refusal('OVERLOADED', detail), decision.checked.grant));
        continue;
      }
      const forward = forwardRecords(ctx, decision);
      pending.push(forward.pending);
      records.push(...forward.records);
    }
    if (pending.length > 0) await deps.pending.putMany(pending);
    return { records };
  };
}

export interface IntakeLimits {
  /** Exchanges waiting for their sources at most: at this many, request intake pauses. */
  readonly maxPending: number;
  /** How long a paused partition waits before it asks again. */
  readonly pauseMs: number;
}

/**
 * Back-pressure for the request pipeline: while as many exchanges as `maxPending` wait for their
 * sources, no more are taken in — the requests stay in Kafka, where they cost neither Redis nor the
 * gateway any memory, instead of piling up as pending state. The count is read before every chunk (one
 * O(1) round trip per up to 500 requests), so one process exceeds the bound by one chunk at most. A
 * Redis failure throws, as everywhere on the request path: nothing is taken in unchecked.
 */
export function pendingAdmission(
  pending: Pick<PendingStore, 'size'>,
  limits: IntakeLimits,
  metrics: GatewayMetrics = NO_METRICS,
): () => Promise<number> {
  return async () => {
    if ((await pending.size()) < limits.maxPending) return 0;
    metrics.intakePaused();
    return limits.pauseMs;
  };
}
