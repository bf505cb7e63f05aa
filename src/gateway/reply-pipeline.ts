import { decideAuthorization, type AuthorizationIndex } from '../domain/authorization.js';
import type { Catalogue, ServiceDefinition } from '../domain/catalogue.js';
import { composeAnswer, listSubjects, retainUntilFor, type ComposedAnswer } from '../domain/exchange.js';
import { refusal, type Refusal } from '../domain/refusal-codes.js';
import type { Retention } from '../domain/retention.js';
import { auditMessage, auditRecord, type AuditRecordValue } from '../contract/audit-records.js';
import { deadLetter } from '../contract/dead-letters.js';
import {
  employerRecord,
  periodRecords,
  type ExchangeTimeoutRecord,
  type ReplyStatus,
  type SourceReplyRecord,
} from '../contract/exchange-records.js';
import { EXCHANGE_RECORD } from '../contract/names.js';
import { maskNissIn, type Logger } from '../logging/logger.js';
import { CodecError, type AvroCodec } from '../messaging/avro-codec.js';
import type { InMessage } from '../messaging/kafka-client.js';
import type { TopicNames } from '../messaging/topics.js';
import type { ChunkResult, OutRecord } from '../messaging/transactional-pipeline.js';
import type { ClaimResult, PendingExchange, PendingGrant, PendingStore } from '../store/pending-store.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import { answerMessages, type AnswerEvent } from './answer-messages.js';
import { pipelineSteps, type PipelineSteps } from './pipeline-steps.js';
import { dayOf } from './exchange-messages.js';

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
  /** Where the grant of a forwarded exchange is taken from, by its deliberation version. */
  readonly authorizations: AuthorizationIndex;
  /** Service → full name of its payload record. */
  readonly payloadRecords: ReadonlyMap<string, string>;
  readonly pending: Pick<PendingStore, 'claimMany' | 'removeMany'>;
  readonly logger: Logger;
  readonly metrics?: GatewayMetrics;
  readonly now?: () => number;
}

/** What every step works with. */
type ReplySteps = PipelineSteps<ReplyPipelineDeps> & { readonly grantFor: (exchange: PendingExchange) => PendingGrant | null };

/** Grants kept per transform and decision: few distinct ones, so the bound only guards memory. */
const GRANTS_KEPT = 1024;

/**
 * `grantOf` with its decisions kept: the index a transform is given never changes, so the same
 * parties, service, version and day always give the same grant.
 */
function grantsKept(steps: PipelineSteps<ReplyPipelineDeps>): ReplySteps {
  const kept = new Map<string, PendingGrant | null>();
  const grantFor = (exchange: PendingExchange): PendingGrant | null => {
    if (exchange.grant !== undefined) return exchange.grant;
    const key = JSON.stringify([exchange.requester, exchange.intermediary, exchange.beneficiary, exchange.service, exchange.deliberation, exchange.deliberationVersion, dayOf(exchange.receivedAt)]);
    const known = kept.get(key);
    if (known !== undefined) return known;
    if (kept.size >= GRANTS_KEPT) kept.clear();
    const grant = grantOf(steps.authorizations, exchange);
    kept.set(key, grant);
    return grant;
  };
  return Object.assign(steps, { grantFor });
}

type Incoming =
  | { readonly kind: 'source'; readonly message: InMessage; readonly source: string; readonly reply: SourceReplyRecord }
  | { readonly kind: 'timeout'; readonly message: InMessage; readonly timeout: ExchangeTimeoutRecord };

/** What the requester is told. */
interface Answer {
  readonly status: ReplyStatus;
  readonly message: string;
  readonly payload: Buffer | null;
  readonly deliveredBlocks: readonly string[];
  readonly removedBlocks: readonly string[];
  readonly removedFields: readonly string[];
  readonly newNiss: string | null;
  /** How long the requester may keep a delivered payload: the deliberation version's retention. */
  readonly retention: Retention | null;
  /** A list service's answer (22/046): the persons it names, each audited on their own. */
  readonly listSubjects?: readonly string[];
}

export function replyTransform(deps: ReplyPipelineDeps) {
  const steps = grantsKept(pipelineSteps(deps, 'replies'));
  return async (messages: readonly InMessage[]): Promise<ChunkResult> => {
    const records: OutRecord[] = [];
    const incoming: Incoming[] = [];
    for (const message of messages) {
      const read = readIncoming(steps, message);
      if ('kind' in read) incoming.push(read);
      else records.push(read);
    }
    const claims = await claimExchanges(steps, incoming);
    const answered: string[] = [];
    incoming.forEach((item, i) => {
      const settled = settle(steps, item, claims[i] as ClaimResult);
      records.push(...settled.records);
      if (settled.answered !== null) answered.push(settled.answered);
    });
    return {
      records,
      afterCommit: answered.length > 0 ? () => steps.pending.removeMany(answered) : undefined,
    };
  };
}

/** A deadline event or a source's answer; what names no exchange goes to the dead letters. */
function readIncoming(steps: ReplySteps, message: InMessage): Incoming | OutRecord {
  const { codec, topics } = steps;
  if (message.topic === topics.exchangeTimeouts) {
    const timeout = codec.tryDecode<ExchangeTimeoutRecord>(EXCHANGE_RECORD.timeout, message.value);
    if (timeout instanceof CodecError) return deadLetter(codec, topics, message, timeout.code, timeout.message);
    return { kind: 'timeout', message, timeout };
  }
  const source = topics.institutionOf(message.topic);
  const reply = codec.tryDecode<SourceReplyRecord>(EXCHANGE_RECORD.sourceReply, message.value);
  if (source !== null && !(reply instanceof CodecError)) return { kind: 'source', message, source, reply };
  // No exchange can be named: the operators get the bytes; the requester gets its timeout.
  const reason = reply instanceof CodecError ? reply : new CodecError('MALFORMED_BODY', 'unroutable');
  return deadLetter(codec, topics, message, source === null ? 'UNROUTABLE' : reason.code, reason.message);
}

function claimantOf(message: InMessage): string {
  return `${message.topic}/${message.partition}/${message.offset}`;
}

/** One round trip: each message claims its exchange, named by its Kafka position. */
function claimExchanges(steps: ReplySteps, incoming: readonly Incoming[]): Promise<ClaimResult[]> {
  return steps.pending.claimMany(
    incoming.map((item) =>
      item.kind === 'source'
        ? { ticket: item.reply.ticket, claimant: claimantOf(item.message), source: item.source }
        : { ticket: item.timeout.ticket, claimant: claimantOf(item.message), source: null },
    ),
  );
}

/** What one claimed (or not) message gives: its records, and the ticket of the exchange it answered. */
interface Settled {
  readonly records: OutRecord[];
  readonly answered: string | null;
}

/** The claimant answers its exchange; a source answering one already answered is audited, nothing more. */
function settle(steps: ReplySteps, item: Incoming, claim: ClaimResult): Settled {
  const records: OutRecord[] = [];
  try {
    if (claim.status === 'claimed') {
      records.push(...answerClaimed(steps, item, claim.exchange));
      return { records, answered: claim.exchange.ticket };
    }
    if (item.kind === 'timeout') return { records, answered: null };
    if (claim.status === 'wrong-source') {
      steps.log.warn({ ticket: item.reply.ticket, source: item.source }, 'a source answered for an exchange forwarded to another source');
      records.push(deadLetter(steps.codec, steps.topics, item.message, 'WRONG_SOURCE', 'the ticket belongs to an exchange with another source'));
    }
    records.push(
      auditMessage(
        steps.codec,
        steps.topics,
        auditRecord('LATE_SOURCE_REPLY', item.reply.status, { ticket: item.reply.ticket, at: steps.now(), source: item.source }),
      ),
    );
    return { records, answered: null };
  } catch (error) {
    // An answer that cannot be composed still closes its exchange, with an error the requester can act on.
    steps.log.error({ err: error, ticket: claim.status === 'claimed' ? claim.exchange.ticket : null }, 'answer could not be composed');
    if (claim.status !== 'claimed') return { records, answered: null };
    const { exchange } = claim;
    records.push(...deliver(steps, exchange, refusalAnswer(refusal('SOURCE_ERROR', 'the answer could not be delivered'), exchange), 'REPLY_DELIVERED'));
    return { records, answered: exchange.ticket };
  }
}

function answerClaimed(steps: ReplySteps, item: Incoming, exchange: PendingExchange): OutRecord[] {
  if (item.kind === 'timeout') return deliver(steps, exchange, refusalAnswer(refusal('SOURCE_TIMEOUT'), exchange), 'SOURCE_TIMEOUT');
  return deliver(steps, exchange, answerFor(steps, exchange, item.reply), 'REPLY_DELIVERED');
}

function refusalAnswer(r: Refusal, exchange: PendingExchange, newNiss: string | null = null): Answer {
  return {
    status: r.code,
    message: r.detail,
    payload: null,
    deliveredBlocks: [],
    removedBlocks: [...exchange.unauthorizedBlocks],
    removedFields: [],
    newNiss,
    retention: null,
  };
}

/** What the requester gets for the source's answer. */
function answerFor(steps: ReplySteps, exchange: PendingExchange, reply: SourceReplyRecord): Answer {
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
      steps.log.warn({ ticket: exchange.ticket, source: exchange.source, error: maskNissIn(reply.errorMessage ?? '') }, 'the source answered an error');
      return refusalAnswer(refusal('SOURCE_ERROR'), exchange);
    case 'OK': {
      const grant = steps.grantFor(exchange);
      if (grant === null) {
        // Never delivered unfiltered: without its grant the answer cannot be minimised.
        steps.log.error({ ticket: exchange.ticket, deliberation: exchange.deliberation, version: exchange.deliberationVersion }, 'the deliberation version of a forwarded exchange is no longer known');
        return refusalAnswer(
          refusal('AUTHORIZATION_NOT_IN_FORCE', `deliberation ${exchange.deliberation} version ${exchange.deliberationVersion}, under which the request was forwarded, is no longer known to the switch: nothing is delivered`),
          exchange,
        );
      }
      const read = readSourcePayload(steps, exchange, reply);
      return 'code' in read ? refusalAnswer(read, exchange) : filteredAnswer(steps, exchange, grant, read);
    }
  }
}

/**
 * The grant of a forwarded exchange: as recorded by a gateway of the earlier form, else the same
 * decision taken again for its deliberation version on the day of the request — a version never changes,
 * so it is the grant the request was forwarded under. Null when the index no longer holds that version
 * for this beneficiary and service (or decides another): the caller refuses, nothing is delivered.
 */
export function grantOf(authorizations: AuthorizationIndex, exchange: PendingExchange): PendingGrant | null {
  if (exchange.grant !== undefined) return exchange.grant;
  const decision = decideAuthorization(authorizations, {
    requester: exchange.requester,
    onBehalfOf: exchange.intermediary !== null ? exchange.beneficiary : null,
    service: exchange.service,
    purpose: `${exchange.deliberation}@${exchange.deliberationVersion}`,
    date: dayOf(exchange.receivedAt),
  });
  if (!decision.ok || decision.deliberation !== exchange.deliberation || decision.versionId !== exchange.deliberationVersion || decision.beneficiary !== exchange.beneficiary) {
    return null;
  }
  return {
    grantedFields: decision.grantedFields,
    rows: decision.rows,
    includeFutureFields: decision.includesFutureFieldsOfBlocks,
    retention: decision.retention,
  };
}

interface SourcePayload {
  readonly service: ServiceDefinition;
  readonly recordName: string;
  readonly payload: unknown;
  /** The source's bytes, decoded into `payload` by the current schema of `recordName`. */
  readonly bytes: Buffer;
}

/** The service's payload record, decoded; anything else is the source's error. */
function readSourcePayload(steps: ReplySteps, exchange: PendingExchange, reply: SourceReplyRecord): SourcePayload | Refusal {
  const { codec, log } = steps;
  const service = steps.catalogue.services.get(exchange.service);
  const recordName = steps.payloadRecords.get(exchange.service);
  if (!service || !recordName || reply.payload === null) {
    log.warn({ ticket: exchange.ticket, source: exchange.source }, 'the source answered OK without a usable payload');
    return refusal('SOURCE_ERROR', 'the authentic source answered without data the switch could read');
  }
  const payload =
    codec.recordNameOf(reply.payload) === recordName
      ? codec.tryDecode(recordName, reply.payload)
      : new CodecError('UNKNOWN_FINGERPRINT', `not a ${recordName}`);
  if (payload instanceof CodecError) {
    log.warn({ ticket: exchange.ticket, source: exchange.source, err: payload }, 'the source payload could not be decoded');
    return refusal('SOURCE_ERROR', 'the authentic source answered with a payload the switch could not read');
  }
  return { service, recordName, payload, bytes: reply.payload };
}

/**
 * The payload delivered: the source's own bytes when the filter took nothing away and they were
 * written with the schema the switch writes (the one the requester reads) — they decode to exactly
 * the filtered value, so encoding it again would only cost time; otherwise the filtered value encoded.
 */
function deliveredBytes(steps: ReplySteps, source: SourcePayload, composed: ComposedAnswer): Buffer {
  if (composed.unchanged && steps.codec.isCurrentWriter(source.recordName, source.bytes)) return source.bytes;
  return steps.codec.encode(source.recordName, composed.payload);
}

/** The source's payload filtered again: a source is never trusted to minimise. */
function filteredAnswer(steps: ReplySteps, exchange: PendingExchange, grant: PendingGrant, source: SourcePayload): Answer {
  const { service } = source;
  const composed = composeAnswer(
    service,
    {
      allowedBlocks: exchange.allowedBlocks,
      grantedFields: grant.grantedFields,
      rows: grant.rows,
      interimNeedsCategory: exchange.interimNeedsCategory,
      unauthorizedBlocks: exchange.unauthorizedBlocks,
      employer: exchange.employer,
      employerCategory: exchange.employerCategory,
      effectivePeriods: exchange.effectivePeriods,
      includeFutureFields: grant.includeFutureFields,
    },
    source.payload,
  );
  if (composed.removedUnknown.length > 0) {
    steps.log.info({ ticket: exchange.ticket, fields: composed.removedUnknown }, 'unknown fields removed from the source answer');
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
    payload: deliveredBytes(steps, source, composed),
    deliveredBlocks: composed.deliveredBlocks,
    removedBlocks: composed.removedBlocks,
    removedFields: composed.removedFields,
    newNiss: null,
    retention: grant.retention,
    ...(service.mode === 'batch' ? { listSubjects: listSubjects(service, composed.payload) } : {}),
  };
}

/** The reply to the requester, its audit record, and one record per person a list names. */
function deliver(steps: ReplySteps, exchange: PendingExchange, answer: Answer, event: Exclude<AnswerEvent, 'REQUEST_REFUSED'>): OutRecord[] {
  const answeredAt = steps.now();
  const { records, audit } = answerMessages(
    steps,
    event,
    { institution: exchange.requester, channel: exchange.channel ?? 'replies', key: exchange.replyKey },
    {
      requestId: exchange.requestId,
      ticket: exchange.ticket,
      status: answer.status,
      message: answer.message,
      service: exchange.service,
      effectivePeriods: periodRecords(exchange.effectivePeriods),
      deliveredBlocks: [...answer.deliveredBlocks],
      removedBlocks: [...answer.removedBlocks],
      removedFields: [...answer.removedFields],
      payload: answer.payload,
      retainUntil: answer.payload !== null && answer.retention !== null ? retainUntilFor({ retention: answer.retention }, dayOf(answeredAt)) : null,
      legalBasis: { deliberation: exchange.deliberation, version: exchange.deliberationVersion, purpose: exchange.purpose },
      newNiss: answer.newNiss,
      receivedAt: exchange.receivedAt,
      forwardedAt: exchange.forwardedAt,
      answeredAt,
    },
    {
      requester: exchange.beneficiary,
      intermediary: exchange.intermediary,
      source: exchange.source,
      service: exchange.service,
      purpose: exchange.purpose,
      subjectNiss: exchange.subjectNiss || null,
      employer: employerRecord(exchange.employer, exchange.employerCategory),
    },
  );
  return [...records, ...listEntries(steps, audit, answer)];
}

/**
 * A list names many persons: each gets a record of their own, findable by NISS (10/012 §23: "concernant
 * quelle personne"), in the same transaction as the list.
 */
function listEntries(steps: ReplySteps, audit: AuditRecordValue, answer: Answer): OutRecord[] {
  return (answer.listSubjects ?? []).map((niss) =>
    auditMessage(steps.codec, steps.topics, {
      ...audit,
      eventType: 'LIST_ENTRY_DELIVERED',
      subjectNiss: niss,
      deliveredBlocks: [...answer.deliveredBlocks],
      removedBlocks: [],
      removedFields: [],
    }),
  );
}
