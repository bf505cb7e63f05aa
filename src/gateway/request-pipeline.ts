import type { AuthorizationGrant } from '../domain/authorization.js';
import type { Integration } from '../domain/directory.js';
import {
  checkRequest,
  decideForward,
  type Channel,
  type CheckedRequest,
  type ExchangeRules,
  type ForwardDecision,
} from '../domain/exchange.js';
import { parseNiss } from '../domain/niss.js';
import { refusal, type Refusal } from '../domain/refusal-codes.js';
import type { IsoDate } from '../domain/types.js';
import { auditMessage, auditRecord, type AuditRecordValue } from '../contract/audit-records.js';
import { deadLetter } from '../contract/dead-letters.js';
import {
  employerRecord,
  periodRecords,
  ticketFor,
  type EmployerRecord,
  type RequestRecord,
  type SourceRequestRecord,
} from '../contract/exchange-records.js';
import { EXCHANGE_RECORD, HEADER, MESSAGE_TYPE } from '../contract/names.js';
import type { Logger } from '../logging/logger.js';
import { CodecError, type AvroCodec } from '../messaging/avro-codec.js';
import type { InMessage } from '../messaging/kafka-client.js';
import type { TopicNames } from '../messaging/topics.js';
import type { ChunkResult, OutRecord } from '../messaging/transactional-pipeline.js';
import type { DirectoryStore } from '../store/directory-store.js';
import type { PendingExchange, PendingStore } from '../store/pending-store.js';
import { NO_METRICS, type GatewayMetrics } from '../observability/metrics.js';
import { answerMessages } from './answer-messages.js';
import { pipelineSteps, type PipelineSteps } from './pipeline-steps.js';
import { dayOf } from './exchange-messages.js';

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

/** What every step works with. */
type RequestSteps = PipelineSteps<RequestPipelineDeps>;

interface Context {
  readonly message: InMessage;
  /** The institution owning the topic: the sender. */
  readonly sender: string;
  /** Its requests topic, or its consultation application's: the answer goes back the same way. */
  readonly channel: Channel;
  readonly ticket: string;
  readonly receivedAt: number;
}

/** A request that passed every check needing no lookup. */
interface CheckedOne {
  readonly ctx: Context;
  readonly checked: CheckedRequest;
  readonly request: RequestRecord;
}

export function requestTransform(deps: RequestPipelineDeps) {
  const steps = pipelineSteps(deps, 'requests');
  return async (messages: readonly InMessage[]): Promise<ChunkResult> => {
    const receivedAt = steps.now();
    const today = dayOf(receivedAt);
    const records: OutRecord[] = [];
    const checkedOnes: CheckedOne[] = [];
    for (const message of messages) {
      const admitted = admit(steps, message, receivedAt, today);
      if (Array.isArray(admitted)) records.push(...admitted);
      else checkedOnes.push(admitted);
    }
    const lines = await readDirectoryLines(steps, checkedOnes);
    const pending: PendingExchange[] = [];
    for (const one of checkedOnes) {
      const decided = decide(steps, one, lines);
      records.push(...decided.records);
      if (decided.pending !== null) pending.push(decided.pending);
    }
    if (pending.length > 0) await steps.pending.putMany(pending);
    return { records };
  };
}

/** Everything that needs no lookup: route, decode, check. The request checked, or its answer. */
function admit(steps: RequestSteps, message: InMessage, receivedAt: number, today: IsoDate): CheckedOne | OutRecord[] {
  const ctx = routeRequest(steps.topics, message, receivedAt);
  if (ctx === null) {
    return [deadLetter(steps.codec, steps.topics, message, 'UNROUTABLE', 'the topic does not name an institution')];
  }
  try {
    const request = decodeRequest(steps, ctx);
    return Array.isArray(request) ? request : checkDecoded(steps, ctx, request, today);
  } catch (error) {
    // No message may stop its partition: an unexpected failure is answered and kept for operators.
    steps.log.error({ err: error, ticket: ctx.ticket }, 'request could not be processed');
    return [
      deadLetter(steps.codec, steps.topics, message, 'INTERNAL_ERROR', 'the request could not be processed'),
      ...refuse(steps, ctx, null, refusal('INVALID_MESSAGE', 'the request could not be processed'), null),
    ];
  }
}

/** The sender is the topic's institution; null for a topic that names none. */
function routeRequest(topics: TopicNames, message: InMessage, receivedAt: number): Context | null {
  const sender = topics.institutionOf(message.topic);
  if (sender === null) return null;
  const channel: Channel = topics.channelOf(message.topic);
  return { message, sender, channel, ticket: ticketFor(message), receivedAt };
}

/** An undecodable request is kept for operators and answered INVALID_MESSAGE, with no requestId to echo. */
function decodeRequest(steps: RequestSteps, ctx: Context): RequestRecord | OutRecord[] {
  const request = steps.codec.tryDecode<RequestRecord>(EXCHANGE_RECORD.request, ctx.message.value);
  if (!(request instanceof CodecError)) return request;
  return [
    deadLetter(steps.codec, steps.topics, ctx.message, request.code, request.message),
    ...refuse(steps, ctx, null, refusal('INVALID_MESSAGE', `the request could not be decoded: ${request.message}`), null),
  ];
}

function checkDecoded(steps: RequestSteps, ctx: Context, request: RequestRecord, today: IsoDate): CheckedOne | OutRecord[] {
  const checked = checkRequest(request, ctx.sender, steps.rules, today, ctx.channel);
  if (!checked.ok) return refuse(steps, ctx, request, checked.refusal, checked.grant);
  return { ctx, checked, request };
}

/** One pipelined round trip for every person concerned by the chunk; a Redis failure throws. */
async function readDirectoryLines(
  steps: RequestSteps,
  checkedOnes: readonly CheckedOne[],
): Promise<ReadonlyMap<string, readonly Integration[]>> {
  const nisses = checkedOnes.map((c) => c.checked.directoryNiss).filter((n): n is string => n !== null);
  return nisses.length > 0 ? await steps.directory.readMany(nisses) : new Map();
}

/** What one checked request gives: its records, and the pending exchange when it is forwarded. */
interface Decided {
  readonly records: OutRecord[];
  readonly pending: PendingExchange | null;
}

/** The directory decides, then the time the request queued: forwarded, or refused. */
function decide(steps: RequestSteps, one: CheckedOne, lines: ReadonlyMap<string, readonly Integration[]>): Decided {
  const { ctx, checked, request } = one;
  const decision = decideForward(checked, checked.directoryNiss === null ? [] : (lines.get(checked.directoryNiss) ?? []));
  if (!decision.ok) return { records: refuse(steps, ctx, request, decision.refusal, decision.grant), pending: null };
  const overloaded = overloadRefusal(steps, ctx);
  if (overloaded !== null) return { records: refuse(steps, ctx, request, overloaded, decision.checked.grant), pending: null };
  return forward(steps, ctx, decision);
}

/** OVERLOADED when the time queued plus the source's time would take the answer past its deadline. */
function overloadRefusal(steps: RequestSteps, ctx: Context): Refusal | null {
  // Time since publication; a timestamp from a clock ahead of ours counts as none.
  const queuedMs = Math.max(0, ctx.receivedAt - Number(ctx.message.timestamp));
  if (steps.answerDeadlineMs === undefined || queuedMs + steps.sourceTimeoutMs <= steps.answerDeadlineMs) return null;
  return refusal(
    'OVERLOADED',
    `the request waited ${Math.round(queuedMs / 1000)} s in the queue; its source could not answer within the deadline — try again`,
  );
}

function normalNiss(text: string): string {
  const parsed = parseNiss(text);
  return parsed.valid ? parsed.normalized : text;
}

/** The refusal to the sender and its REQUEST_REFUSED audit record. */
function refuse(
  steps: RequestSteps,
  ctx: Context,
  request: RequestRecord | null,
  refused: Refusal,
  grant: AuthorizationGrant | null,
): OutRecord[] {
  const relayed = request !== null && request.onBehalfOf !== null && request.onBehalfOf !== '' && request.onBehalfOf !== ctx.sender;
  const answer = answerMessages(
    steps,
    'REQUEST_REFUSED',
    { institution: ctx.sender, channel: ctx.channel, key: ctx.message.key },
    {
      requestId: request?.requestId ?? '',
      ticket: ctx.ticket,
      status: refused.code,
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
      answeredAt: steps.now(),
    },
    {
      // Who asked, as far as the switch can tell: the topic's owner, or the beneficiary it relayed for.
      requester: grant?.beneficiary ?? (relayed ? (request?.onBehalfOf ?? ctx.sender) : ctx.sender),
      intermediary: relayed ? ctx.sender : null,
      service: request?.service ?? null,
      source: grant ? (steps.rules.catalogue.services.get(request?.service ?? '')?.source ?? null) : null,
      purpose: grant?.purpose.code ?? request?.purpose ?? null,
      // As 11 digits when it is a NISS, so that a citizen's audit search finds it; as given otherwise.
      subjectNiss: request?.subjectNiss ? normalNiss(request.subjectNiss) : null,
      employer: request?.employer ?? null,
    },
  );
  return [...answer.records];
}

/** The SourceRequest and its REQUEST_FORWARDED audit record, and the pending exchange to record. */
function forward(steps: RequestSteps, ctx: Context, decision: ForwardDecision): Decided {
  const { checked } = decision;
  const forwardedAt = steps.now();
  const deadline = forwardedAt + steps.sourceTimeoutMs;
  steps.metrics.forwarded(checked.service.id);
  const sourceRequest = sourceRequestOf(ctx, decision, deadline);
  return {
    pending: pendingExchangeOf(ctx, decision, forwardedAt, deadline),
    records: [
      {
        topic: steps.topics.sourceRequests(checked.service.source),
        // Keyed like the request: everything about one person stays in order.
        key: checked.subjectNiss || ctx.sender,
        value: steps.codec.encode(EXCHANGE_RECORD.sourceRequest, sourceRequest),
        headers: { [HEADER.type]: MESSAGE_TYPE.sourceRequest, [HEADER.ticket]: ctx.ticket },
      },
      auditMessage(steps.codec, steps.topics, forwardedAudit(ctx, decision, forwardedAt, sourceRequest.employer)),
    ],
  };
}

/** Only what the source needs to answer: never the requester, purpose or deliberation. */
function sourceRequestOf(ctx: Context, decision: ForwardDecision, deadline: number): SourceRequestRecord {
  const { checked } = decision;
  return {
    ticket: ctx.ticket,
    service: checked.service.id,
    subjectNiss: checked.subjectNiss,
    employer: employerRecord(checked.employer, checked.employerCategory),
    period: { from: decision.sourcePeriod.from, to: decision.sourcePeriod.to },
    blocks: [...decision.blocks],
    deadline,
  };
}

function pendingExchangeOf(ctx: Context, decision: ForwardDecision, forwardedAt: number, deadline: number): PendingExchange {
  const { checked } = decision;
  const { request, grant, service } = checked;
  return {
    ticket: ctx.ticket,
    requestId: request.requestId,
    requester: ctx.sender,
    beneficiary: grant.beneficiary,
    intermediary: grant.relay ? ctx.sender : null,
    service: service.id,
    source: service.source,
    deliberation: grant.deliberation,
    deliberationVersion: grant.versionId,
    purpose: grant.purpose.code,
    subjectNiss: checked.subjectNiss,
    employer: checked.employer,
    employerCategory: checked.employerCategory,
    effectivePeriods: decision.effectivePeriods,
    allowedBlocks: grant.allowedBlocks,
    interimNeedsCategory: grant.keys?.employerCategoryForInterim === true && checked.employerCategory === null,
    channel: ctx.channel,
    unauthorizedBlocks: grant.removedBlocks,
    receivedAt: ctx.receivedAt,
    forwardedAt,
    deadline,
    replyKey: ctx.message.key === null ? null : ctx.message.key.toString('utf8'),
  };
}

function forwardedAudit(ctx: Context, decision: ForwardDecision, forwardedAt: number, employer: EmployerRecord | null): AuditRecordValue {
  const { checked } = decision;
  const { grant, service } = checked;
  return auditRecord('REQUEST_FORWARDED', 'FORWARDED', {
    ticket: ctx.ticket,
    at: forwardedAt,
    requester: grant.beneficiary,
    intermediary: grant.relay ? ctx.sender : null,
    source: service.source,
    service: service.id,
    deliberation: grant.deliberation,
    deliberationVersion: grant.versionId,
    purpose: grant.purpose.code,
    subjectNiss: checked.subjectNiss || null,
    employer,
    effectivePeriods: periodRecords(decision.effectivePeriods),
    removedBlocks: [...grant.removedBlocks],
    requestId: checked.request.requestId,
  });
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
