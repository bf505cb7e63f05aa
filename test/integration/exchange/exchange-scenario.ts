/**
 * What every exchange scenario file shares: one isolated switch (gateway and source simulators) started
 * once, the replies and the audit trail kept as they are committed, and the checks every outcome must
 * pass — exactly one reply per request, exactly one outcome audit record per reply (plus the forwarding
 * record when the request reached a source), naming who asked, through whom, under which deliberation,
 * and never a payload value.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { SCHEMA_DIR } from '../../../src/config/project-paths.js';
import type { AuditEventType, AuditRecordValue } from '../../../src/contract/audit-records.js';
import type { DeadLetterRecord } from '../../../src/contract/dead-letters.js';
import type { PeriodRecord, ReplyRecord, SourceReplyRecord } from '../../../src/contract/exchange-records.js';
import { EXCHANGE_RECORD, EXCHANGE_RECORD as RECORD } from '../../../src/contract/names.js';
import type { InMessage, MessageProducer } from '../../../src/messaging/kafka-client.js';
import type { SampleIntegration } from '../../../src/sources/sample-directory.js';
import {
  createExchangeFixture,
  type CollectedMessage,
  type ExchangeFixture,
  type TopicCollector,
} from '../../support/exchange-fixture.js';
import { retryingTopicCreation, waitFor } from '../../support/kafka-helpers.js';
import { testStack } from '../../support/stack-context.js';

export const INSTITUTIONS = ['vaph', 'magda', 'iriscare', 'onva', 'onss', 'inami'] as const;

/** The events that close an exchange: one of them per request, never two. */
export const OUTCOME_EVENTS: readonly AuditEventType[] = ['REQUEST_REFUSED', 'REPLY_DELIVERED', 'SOURCE_TIMEOUT'];


export interface RunningSwitch {
  readonly fx: ExchangeFixture;
  /**
   * Every Reply on the institutions' replies topics and on the consultations topics of those with a
   * consultation application (directory acknowledgements left out); each message names its topic.
   */
  readonly replies: TopicCollector<ReplyRecord | null>;
  readonly audit: TopicCollector<AuditRecordValue>;
  readonly deadLetters: TopicCollector<DeadLetterRecord>;
}

export interface SwitchOptions {
  readonly sourceTimeoutMs?: number;
  readonly replyDelayMs?: number;
  /** Entries of the simulated INAMI's quarterly 22/046 list (default 200). */
  readonly invalidityEntriesPerQuarter?: number;
  readonly integrations?: readonly SampleIntegration[];
  /** Institutions outside config/institutions.yaml whose requests and replies topics must exist too. */
  readonly extraInstitutions?: readonly string[];
}

/**
 * Starts one whole switch for a test file. The collectors start first, so that their consumer groups
 * join while the gateway starts; the gateway runs the directory pipelines itself.
 */
export async function startSwitch(options: SwitchOptions = {}): Promise<RunningSwitch> {
  const fx = await retryingTopicCreation(() => createExchangeFixture(testStack()));
  const extra = options.extraInstitutions ?? [];
  if (extra.length > 0) {
    // The gateway subscribes to the requests topics that exist when it starts.
    await retryingTopicCreation(() =>
      fx.admin.ensureTopics(
        extra.flatMap((i) => [
          { topic: fx.topics.requests(i), partitions: 2 },
          { topic: fx.topics.replies(i), partitions: 2 },
        ]),
      ),
    );
  }
  const decodeReply = (m: InMessage): ReplyRecord | null =>
    m.value !== null && m.headers.type === 'reply' ? fx.codec.decode<ReplyRecord>(EXCHANGE_RECORD.reply, m.value) : null;
  const [replies, audit, deadLetters] = await Promise.all([
    fx.collect([...[...INSTITUTIONS, ...extra].map((i) => fx.topics.replies(i)), ...fx.consulting.map((i) => fx.topics.consultations(i))], decodeReply),
    fx.collect([fx.topics.audit], (m) => fx.codec.decode<AuditRecordValue>(EXCHANGE_RECORD.audit, m.value as Buffer)),
    fx.collect([fx.topics.deadLetter], (m) => fx.codec.decode<DeadLetterRecord>(RECORD.deadLetter, m.value as Buffer)),
  ]);
  await fx.startGateway({
    sweepIntervalMs: 200,
    ...(options.sourceTimeoutMs !== undefined ? { sourceTimeoutMs: options.sourceTimeoutMs } : {}),
  });
  await fx.startSimulators({
    ...(options.replyDelayMs !== undefined ? { replyDelayMs: options.replyDelayMs } : {}),
    ...(options.invalidityEntriesPerQuarter !== undefined ? { invalidityEntriesPerQuarter: options.invalidityEntriesPerQuarter } : {}),
  });
  if (options.integrations && options.integrations.length > 0) await fx.integrate(options.integrations);
  return { fx, replies, audit, deadLetters };
}


// ---------------------------------------------------------------------------------------------------
// Dates

/** The UTC day of an instant, as the switch decides it. */
export function utcDay(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(0, 10);
}

/** `day` plus whole years and months, the day of month clamped to the month's last day. */
export function plusYearsMonths(day: string, years: number, months: number): string {
  const total = Number(day.slice(0, 4)) * 12 + Number(day.slice(5, 7)) - 1 + years * 12 + months;
  const year = Math.floor(total / 12);
  const month = (total % 12) + 1;
  const last = new Date(Date.UTC(year, month, 0)).getUTCDate();
  const dd = Math.min(Number(day.slice(8, 10)), last);
  return `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(dd).padStart(2, '0')}`;
}

export function period(from: string, to: string | null): PeriodRecord {
  return { from, to };
}

// ---------------------------------------------------------------------------------------------------
// Payloads

/** The reply's payload decoded with the record its fingerprint names; checks which record that is. */
export function decodePayload<T = Record<string, unknown>>(fx: ExchangeFixture, reply: ReplyRecord, recordName: string): T {
  expect(reply.payload).not.toBeNull();
  const bytes = reply.payload as Buffer;
  expect(fx.codec.recordNameOf(bytes)).toBe(recordName);
  return fx.codec.decode<T>(recordName, bytes);
}

function leafStrings(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) for (const v of value) leafStrings(v, out);
  else if (value !== null && typeof value === 'object' && !Buffer.isBuffer(value)) {
    for (const v of Object.values(value)) leafStrings(v, out);
  }
  return out;
}

const AUDIT_FIELDS: readonly string[] = (
  JSON.parse(readFileSync(join(SCHEMA_DIR, 'audit-record.avsc'), 'utf8')) as { fields: Array<{ name: string }> }
).fields.map((f) => f.name);

/**
 * The audit record names identifiers, blocks and codes, never data: it has exactly the schema's fields,
 * and no value of the payload appears in it except the identifiers the audit is there to record
 * (subject, employer, period bounds).
 */
export function expectNoPayloadValue(record: AuditRecordValue, payload: unknown): void {
  expect(Object.keys(record).sort()).toEqual([...AUDIT_FIELDS].sort());
  const allowed = new Set<string>(
    [
      record.subjectNiss,
      record.employer?.kind,
      record.employer?.id,
      record.employer?.category,
      ...record.effectivePeriods.flatMap((p) => [p.from, p.to]),
    ].filter((v): v is string => typeof v === 'string'),
  );
  const inAudit = new Set(leafStrings(record));
  const leaked = [...new Set(leafStrings(payload))].filter((s) => s.length >= 4 && inAudit.has(s) && !allowed.has(s));
  expect(leaked).toEqual([]);
}

// ---------------------------------------------------------------------------------------------------
// Outcome checks

export interface ExpectedAudit {
  readonly event: 'REQUEST_REFUSED' | 'REPLY_DELIVERED' | 'SOURCE_TIMEOUT';
  /** The beneficiary: the institution a relay asked for, else the sender. */
  readonly requester: string;
  readonly intermediary?: string | null;
  readonly service?: string | null;
  readonly source?: string | null;
  readonly deliberation?: string | null;
  readonly deliberationVersion?: string | null;
  readonly purpose?: string | null;
  readonly subjectNiss?: string | null;
  /** The decoded payload, if the reply carried one: none of its values may reach the audit. */
  readonly payload?: unknown;
}

function ofTicket(sw: RunningSwitch, ticket: string, events: readonly AuditEventType[]): AuditRecordValue[] {
  return sw.audit.messages.map((m) => m.value).filter((a) => a.ticket === ticket && events.includes(a.eventType));
}

/**
 * The reply's one outcome audit record (and, for a forwarded request, its one forwarding record):
 * waits for it (it is committed with the reply, the collector may still be reading), then checks it.
 */
export async function expectAudited(sw: RunningSwitch, reply: ReplyRecord, expected: ExpectedAudit): Promise<AuditRecordValue> {
  await sw.audit.waitFor(
    () => ofTicket(sw, reply.ticket, OUTCOME_EVENTS).length > 0,
    `the outcome audit record of ticket ${reply.ticket}`,
  );
  const outcomes = ofTicket(sw, reply.ticket, OUTCOME_EVENTS);
  expect(outcomes).toHaveLength(1);
  const record = outcomes[0] as AuditRecordValue;
  expect(record).toMatchObject({
    eventType: expected.event,
    ticket: reply.ticket,
    outcome: reply.status,
    bcssCode: reply.bcssCode,
    requester: expected.requester,
    intermediary: expected.intermediary ?? null,
    deliberation: expected.deliberation ?? null,
    ...(expected.deliberationVersion !== undefined ? { deliberationVersion: expected.deliberationVersion } : {}),
    ...(expected.purpose !== undefined ? { purpose: expected.purpose } : {}),
    ...(expected.subjectNiss !== undefined ? { subjectNiss: expected.subjectNiss } : {}),
    ...(expected.service !== undefined ? { service: expected.service } : {}),
    ...(expected.source !== undefined ? { source: expected.source } : {}),
  });
  expect(record.deliveredBlocks).toEqual(reply.deliveredBlocks);
  expect(record.removedBlocks).toEqual(reply.removedBlocks);
  expect(record.effectivePeriods).toEqual(reply.effectivePeriods);
  expectNoPayloadValue(record, expected.payload ?? null);

  const forwarded = ofTicket(sw, reply.ticket, ['REQUEST_FORWARDED']);
  if (expected.event === 'REQUEST_REFUSED') {
    expect(reply.forwardedAt).toBeNull();
    expect(forwarded).toEqual([]);
  } else {
    expect(reply.forwardedAt).not.toBeNull();
    expect(forwarded).toHaveLength(1);
    const f = forwarded[0] as AuditRecordValue;
    expect(f).toMatchObject({
      outcome: 'FORWARDED',
      requester: record.requester,
      intermediary: record.intermediary,
      service: record.service,
      source: record.source,
      deliberation: record.deliberation,
      deliberationVersion: record.deliberationVersion,
      purpose: record.purpose,
      subjectNiss: record.subjectNiss,
      effectivePeriods: reply.effectivePeriods,
    });
    expect(f.at).toBeLessThanOrEqual(record.at);
    expectNoPayloadValue(f, expected.payload ?? null);
  }
  return record;
}

/** The Reply records collected so far (directory acknowledgements left out). */
export function collectedReplies(sw: RunningSwitch): Array<CollectedMessage<ReplyRecord>> {
  return sw.replies.messages.filter((m): m is CollectedMessage<ReplyRecord> => m.value !== null);
}

/**
 * The file's closing check, once nothing is in flight any more (settled: any duplicate would have been
 * read): every request got exactly one reply, on the topic of the channel it was sent on (replies, or
 * the consultations topic), every reply has exactly one outcome audit record, and there is no outcome
 * record without a reply.
 */
export async function expectEveryExchangeClosedOnce(sw: RunningSwitch): Promise<void> {
  const forgottenBy = Date.now() + 1_500;
  await sw.fx.settled();
  // An answered exchange is forgotten just after its transaction, which settled() does not see: by
  // 1.5 s after this call at the latest.
  const pending = await waitFor(() => sw.fx.pending.size(), (n) => n === 0, {
    timeoutMs: Math.max(0, forgottenBy - Date.now()),
    what: 'the pending exchanges to be forgotten',
  }).catch(() => sw.fx.pending.size());
  expect(pending).toBe(0);
  const replies = collectedReplies(sw);
  const byRequestId = new Map<string, number>();
  for (const r of replies) {
    if (r.value.requestId !== '') byRequestId.set(r.value.requestId, (byRequestId.get(r.value.requestId) ?? 0) + 1);
  }
  expect([...byRequestId].filter(([, n]) => n !== 1)).toEqual([]);
  const misrouted = replies
    .filter((r) => {
      const expected = sw.fx.answerTopics.get(r.value.requestId);
      return expected !== undefined && !expected.has(r.topic);
    })
    .map((r) => `${r.value.requestId} (${r.value.status}) on ${r.topic}, expected ${[...(sw.fx.answerTopics.get(r.value.requestId) ?? [])].join(' or ')}`);
  expect(misrouted).toEqual([]);
  const tickets = replies.map((r) => r.value.ticket);
  expect(new Set(tickets).size).toBe(tickets.length);
  const outcomes = sw.audit.messages.map((m) => m.value).filter((a) => OUTCOME_EVENTS.includes(a.eventType));
  expect(outcomes.map((a) => a.ticket).sort()).toEqual([...tickets].sort());
}

/** A refusal carries its code and nothing else: no data, no blocks, no retention, not forwarded. */
export function expectRefusal(reply: ReplyRecord, status: string, bcssCode: string | null): void {
  expect({ status: reply.status, bcssCode: reply.bcssCode }).toEqual({ status, bcssCode });
  expect(reply).toMatchObject({
    payload: null,
    deliveredBlocks: [],
    removedBlocks: [],
    retainUntil: null,
    newNiss: null,
    forwardedAt: null,
    effectivePeriods: [],
  });
  expect(reply.message.length).toBeGreaterThan(0);
  expect(reply.receivedAt).toBeLessThanOrEqual(reply.answeredAt);
}

/**
 * The ticket of an exchange forwarded and not answered yet, about this person and service, as soon as
 * its REQUEST_FORWARDED record is committed: lets a test answer in the source's place.
 */
export async function openTicket(sw: RunningSwitch, service: string, subjectNiss: string, timeoutMs = 5_000): Promise<string> {
  const isOpen = (a: AuditRecordValue) =>
    a.eventType === 'REQUEST_FORWARDED' &&
    a.service === service &&
    a.subjectNiss === subjectNiss &&
    !collectedReplies(sw).some((r) => r.value.ticket === a.ticket);
  await sw.audit.waitFor((ms) => ms.some((m) => isOpen(m.value)), `an open ${service} exchange about ${subjectNiss}`, timeoutMs);
  return sw.audit.messages.map((m) => m.value).find(isOpen)?.ticket as string;
}

/** Publishes a SourceReply on `source`'s replies topic, as that source would. */
export async function answerAsSource(
  sw: RunningSwitch,
  producer: MessageProducer,
  source: string,
  key: string,
  reply: Omit<SourceReplyRecord, 'answeredAt'>,
): Promise<void> {
  const record: SourceReplyRecord = { ...reply, answeredAt: Date.now() };
  await producer.send(sw.fx.topics.sourceReplies(source), [
    { key, value: sw.fx.codec.encode(EXCHANGE_RECORD.sourceReply, record), headers: { type: 'source-reply', ticket: reply.ticket } },
  ]);
}
