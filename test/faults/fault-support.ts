import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/config/project-paths.js';
import type { AuditRecordValue } from '../../src/contract/audit-records.js';
import type { ReplyRecord, RequestRecord } from '../../src/contract/exchange-records.js';
import { EXCHANGE_RECORD } from '../../src/contract/names.js';
import type { OutMessage } from '../../src/messaging/kafka-client.js';
import { readTopicToEnd } from '../../src/messaging/topic-reader.js';
import type { SampleIntegration } from '../../src/sources/sample-directory.js';
import { createSyntheticPopulation, generateSyntheticPersons, SIMULATED, type SyntheticPopulation } from '../../src/sources/synthetic-population.js';
import { silentLogger } from '../../src/logging/logger.js';
import { startSourceSimulators, type RunningSourceSimulators } from '../../src/sources/simulator-service.js';
import type { ExchangeFixture, RequestChannel } from '../support/exchange-fixture.js';
import { killAllGatewayProcesses, spawnGatewayProcess, type GatewayProcess } from '../support/gateway-process.js';

/**
 * What the fault tests share: a mixed stream of requests whose expected outcome is known per request,
 * the exactly-once bookkeeping over replies and audit records, and the JSON summaries each test leaves
 * in test/faults/results/ (ignored by git).
 */

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export const RESULTS_DIR = join(PROJECT_ROOT, 'test', 'faults', 'results');

export function writeResult(name: string, summary: unknown): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, `${name}.json`);
  writeFileSync(file, `${JSON.stringify({ at: new Date().toISOString(), ...(summary as object) }, null, 2)}\n`);
  return file;
}

export const PERIOD = { from: '2024-01-01', to: '2024-12-31' } as const;

/** The outcome events: each exchange ends with exactly one of them. */
export const OUTCOME_EVENTS = new Set(['REQUEST_REFUSED', 'REPLY_DELIVERED', 'SOURCE_TIMEOUT']);
/** Every audit event about an exchange (named by its ticket). */
export const EXCHANGE_EVENTS = new Set([...OUTCOME_EVENTS, 'REQUEST_FORWARDED', 'LATE_SOURCE_REPLY']);

export interface Kind {
  readonly name: string;
  /** Whether the switch forwards it to the source (else it refuses it itself). */
  readonly forwarded: boolean;
  /** Whether deciding it needs the directory in Redis. */
  readonly needsDirectory: boolean;
  /** The reply's status (and the outcome of its audit record). */
  readonly expected: string;
  /** The outcome audit event. */
  readonly event: 'REQUEST_REFUSED' | 'REPLY_DELIVERED' | 'SOURCE_TIMEOUT';
  readonly fields: (n: number) => Partial<RequestRecord>;
}

export interface Workload {
  readonly integratedPersons: readonly string[];
  readonly strangers: readonly string[];
  /** Knows every generated person, so the simulated registers answer OK for them. */
  readonly population: SyntheticPopulation;
  /** ONVA's inspection lines for every person the forwarded kinds name. */
  readonly integrations: readonly SampleIntegration[];
  readonly forwarded: readonly Kind[];
  readonly refused: readonly Kind[];
  /** Request n of a stream: one in ten refused (the four kinds in turn), one in fifty a fixed person. */
  kindOf(n: number): Kind;
}

const at = <T,>(list: readonly T[], n: number): T => list[n % list.length] as T;

/** ONVA's identification under 19/010: no employer, the directory line of the inspection service. */
export const identification = (subjectNiss: string): Partial<RequestRecord> => ({
  requester: 'onva',
  onBehalfOf: null,
  service: 'identification',
  purpose: null,
  subjectNiss,
  employer: null,
  period: { ...PERIOD },
});

export function inspectionLine(niss: string): SampleIntegration {
  return { institution: 'onva', niss, capacity: 'inspection', phase: 1, from: '2023-01-01', to: null, employer: null };
}

/** The mixed stream of the exactly-once test: every outcome the registers and the checks can give. */
export function createWorkload(integrated = 300, notIntegrated = 50): Workload {
  const generated = generateSyntheticPersons(integrated + notIntegrated);
  const integratedPersons = generated.slice(0, integrated).map((g) => g.person.niss);
  const strangers = generated.slice(integrated).map((g) => g.person.niss);
  const forwarded: Kind[] = [
    { name: 'generated person', forwarded: true, needsDirectory: true, expected: 'OK', event: 'REPLY_DELIVERED', fields: (n) => identification(at(integratedPersons, n)) },
    { name: 'interim worker', forwarded: true, needsDirectory: true, expected: 'OK', event: 'REPLY_DELIVERED', fields: () => identification(SIMULATED.interimWorker) },
    { name: 'deceased', forwarded: true, needsDirectory: true, expected: 'OK', event: 'REPLY_DELIVERED', fields: () => identification(SIMULATED.deceased) },
    { name: 'replaced BIS number', forwarded: true, needsDirectory: true, expected: 'NISS_REPLACED', event: 'REPLY_DELIVERED', fields: () => identification(SIMULATED.replacedBis) },
    { name: 'failing source', forwarded: true, needsDirectory: true, expected: 'SOURCE_ERROR', event: 'REPLY_DELIVERED', fields: () => identification(SIMULATED.sourceFailure) },
  ];
  const refused: Kind[] = [
    { name: 'not integrated', forwarded: false, needsDirectory: true, expected: 'NOT_INTEGRATED', event: 'REQUEST_REFUSED', fields: (n) => identification(at(strangers, n)) },
    // 11 digits whose check digits are wrong.
    { name: 'invalid NISS', forwarded: false, needsDirectory: false, expected: 'INVALID_NISS', event: 'REQUEST_REFUSED', fields: () => identification('12345678901') },
    // VAPH named as requester on ONVA's topic: the topic's owner is the sender, whatever the message says.
    { name: 'sender mismatch', forwarded: false, needsDirectory: false, expected: 'SENDER_MISMATCH', event: 'REQUEST_REFUSED', fields: (n) => ({ ...identification(at(integratedPersons, n)), requester: 'vaph' }) },
    { name: 'unknown service', forwarded: false, needsDirectory: false, expected: 'UNKNOWN_SERVICE', event: 'REQUEST_REFUSED', fields: (n) => ({ ...identification(at(integratedPersons, n)), service: 'no-such-service' }) },
  ];
  return {
    integratedPersons,
    strangers,
    population: createSyntheticPopulation({ extraPersons: integrated + notIntegrated }),
    integrations: [
      ...integratedPersons.map(inspectionLine),
      ...[SIMULATED.interimWorker, SIMULATED.deceased, SIMULATED.replacedBis, SIMULATED.sourceFailure].map(inspectionLine),
    ],
    forwarded,
    refused,
    kindOf(n) {
      if (n % 10 === 9) return at(refused, Math.floor(n / 10));
      if (n % 50 === 1) return at(forwarded.slice(1), Math.floor(n / 50));
      return forwarded[0] as Kind;
    },
  };
}

export interface PlannedRequest {
  readonly kind: Kind;
  readonly record: RequestRecord;
  /** The requests partition it is published to, when the test places it itself. */
  readonly partition?: number;
}

/**
 * Requests `from` … `from + count − 1` of the workload's stream for ONVA, their ids `<runId>-<n>` (so a
 * run's replies are told from earlier runs' by prefix); with `partitions`, placed on them in turn, so
 * that each request is known to be on a given requests partition.
 */
export function planRequests(
  fx: ExchangeFixture,
  workload: Workload,
  runId: string,
  from: number,
  count: number,
  partitions?: number,
): PlannedRequest[] {
  return Array.from({ length: count }, (_, i) => {
    const n = from + i;
    const kind = workload.kindOf(n);
    const record = fx.requestRecord('onva', { ...kind.fields(n), requestId: `${runId}-${n}` });
    return partitions === undefined ? { kind, record } : { kind, record, partition: n % partitions };
  });
}

/**
 * Keyed as an institution would: by the person, so one person's requests stay in order. Published by
 * the caller on ONVA's consultation-requests topic (`fx.requestsTopic('onva')`): its every deliberation
 * is consultation-only (19/010 §37), so that is how its software asks, and where the answers come
 * back is its consultations topic (`fx.repliesTopic('onva')`).
 */
export function requestMessages(fx: ExchangeFixture, requests: readonly PlannedRequest[]): OutMessage[] {
  return requests.map(({ record, partition }) => ({
    key: record.subjectNiss || 'onva',
    value: fx.codec.encode(EXCHANGE_RECORD.request, record),
    ...(partition === undefined ? {} : { partition }),
  }));
}

/**
 * Every committed reply on an institution's answer topic of the channel — by default its own channel's
 * (ONVA: its consultations topic) — by requestId, read afresh from the beginning.
 */
export async function readCommittedReplies(
  fx: ExchangeFixture,
  institution: string,
  timeoutMs: number,
  channel: RequestChannel = fx.channelOf(institution),
): Promise<Map<string, ReplyRecord[]>> {
  const replies = new Map<string, ReplyRecord[]>();
  // The reader commits nothing: if it rejoins mid-read (a broker lost or back), it starts over, and a
  // reply already read at the same place is not counted twice. A reply written twice has two places.
  const seen = new Set<string>();
  await readTopicToEnd({
    client: fx.client,
    topic: fx.repliesTopic(institution, channel),
    timeoutMs,
    async onBatch(batch) {
      for (const message of batch.messages) {
        const place = `${message.partition}:${message.offset}`;
        if (seen.has(place)) continue;
        seen.add(place);
        if (!message.value || message.headers.type !== 'reply') continue;
        const reply = fx.codec.decode<ReplyRecord>(EXCHANGE_RECORD.reply, message.value);
        const list = replies.get(reply.requestId) ?? [];
        list.push(reply);
        replies.set(reply.requestId, list);
      }
    },
  });
  return replies;
}

export interface ExchangeCheck {
  /** Per kind of problem, the first few cases. */
  readonly problems: Record<string, { count: number; sample: string[] }>;
  readonly counts: Record<string, number>;
  /** ticket → the one reply of each request answered. */
  readonly replyOf: Map<string, { reply: ReplyRecord; kind: Kind; record: RequestRecord }>;
  readonly lateSourceReplies: AuditRecordValue[];
  readonly deadLetters: number;
  /** Replies by status. */
  readonly statuses: Record<string, number>;
}

/**
 * Exactly once, request by request: one reply with the status its kind calls for; per reply one
 * outcome audit record saying the same; per forwarded exchange one REQUEST_FORWARDED (none for a
 * refusal); and no audit record about an exchange of this run that has no reply. `expected` overrides
 * a kind's status where the test decides it per request (e.g. a race with the deadline).
 */
export function checkExchanges(input: {
  readonly requests: readonly PlannedRequest[];
  readonly replies: ReadonlyMap<string, readonly ReplyRecord[]>;
  readonly audit: readonly AuditRecordValue[];
  /** Tickets of exchanges outside the stream (preflight), whose audit records are not orphans. */
  readonly otherTickets?: ReadonlySet<string>;
  /** Request ids outside the stream that may have replies. */
  readonly otherRequestIds?: ReadonlySet<string>;
  /**
   * Where each reply came (`fx.replyTopics`) and the one topic every reply of the stream must come on
   * (`fx.repliesTopic('onva')`: ONVA's consultations topic); a reply elsewhere is `wrongTopic`. Needed
   * when `replies` merges several topics (`fx.replies`).
   */
  readonly answerTopic?: { readonly of: ReadonlyMap<string, readonly string[]>; readonly expected: string };
  readonly expected?: (request: PlannedRequest, reply: ReplyRecord) => { status: string; event: string } | null;
}): ExchangeCheck {
  const missing: string[] = [];
  const duplicated: string[] = [];
  const wrongStatus: string[] = [];
  const wrongTopic: string[] = [];
  const statuses: Record<string, number> = {};
  const replyOf = new Map<string, { reply: ReplyRecord; kind: Kind; record: RequestRecord }>();
  const ids = new Set(input.requests.map((r) => r.record.requestId));
  const expectedOf = (request: PlannedRequest, reply: ReplyRecord) =>
    input.expected?.(request, reply) ?? { status: request.kind.expected, event: request.kind.event };
  for (const request of input.requests) {
    const { kind, record } = request;
    const got = input.replies.get(record.requestId) ?? [];
    if (got.length === 0) missing.push(`${record.requestId} (${kind.name})`);
    if (got.length > 1) duplicated.push(`${record.requestId} ×${got.length} (${got.map((r) => r.status).join(',')})`);
    if (input.answerTopic) {
      const { of, expected } = input.answerTopic;
      const elsewhere = (of.get(record.requestId) ?? []).filter((t) => t !== expected);
      if (elsewhere.length > 0) wrongTopic.push(`${record.requestId} (${kind.name}) on ${elsewhere.join(',')}, not ${expected}`);
    }
    const reply = got[0];
    if (!reply) continue;
    statuses[reply.status] = (statuses[reply.status] ?? 0) + 1;
    const want = expectedOf(request, reply);
    if (reply.status !== want.status) wrongStatus.push(`${record.requestId} (${kind.name}): ${reply.status}, expected ${want.status}`);
    replyOf.set(reply.ticket, { reply, kind, record });
  }
  const strayReplies = [...input.replies.keys()].filter((id) => !ids.has(id) && !(input.otherRequestIds?.has(id) ?? false));

  const byTicket = new Map<string, AuditRecordValue[]>();
  for (const record of input.audit) {
    if (!EXCHANGE_EVENTS.has(record.eventType) || record.ticket === null) continue;
    const list = byTicket.get(record.ticket) ?? [];
    list.push(record);
    byTicket.set(record.ticket, list);
  }
  const outcomeNotOne: string[] = [];
  const outcomeMismatch: string[] = [];
  const forwardedWrong: string[] = [];
  for (const [ticket, { reply, kind, record }] of replyOf) {
    const events = byTicket.get(ticket) ?? [];
    const outcomes = events.filter((e) => OUTCOME_EVENTS.has(e.eventType));
    const forwards = events.filter((e) => e.eventType === 'REQUEST_FORWARDED');
    if (outcomes.length !== 1) outcomeNotOne.push(`${ticket} (${kind.name}): ${outcomes.map((e) => e.eventType).join(',') || 'none'}`);
    const outcome = outcomes[0];
    const want = expectedOf({ kind, record }, reply);
    if (outcome && (outcome.outcome !== reply.status || outcome.eventType !== want.event)) {
      outcomeMismatch.push(`${ticket} (${kind.name}): ${outcome.eventType} ${outcome.outcome}, reply ${reply.status}`);
    }
    if (forwards.length !== (kind.forwarded ? 1 : 0)) forwardedWrong.push(`${ticket} (${kind.name}): ${forwards.length} REQUEST_FORWARDED`);
  }
  const orphanTickets = [...byTicket.keys()].filter((t) => !replyOf.has(t) && !(input.otherTickets?.has(t) ?? false));
  const lateSourceReplies = input.audit.filter((r) => r.eventType === 'LATE_SOURCE_REPLY');
  const deadLetters = input.audit.filter((r) => r.eventType === 'DEAD_LETTER').length;
  const lists = { missing, duplicated, wrongStatus, wrongTopic, strayReplies, outcomeNotOne, outcomeMismatch, forwardedWrong, orphanTickets };
  return {
    problems: Object.fromEntries(Object.entries(lists).map(([k, v]) => [k, { count: v.length, sample: v.slice(0, 5) }])),
    counts: Object.fromEntries(Object.entries(lists).map(([k, v]) => [k, v.length])),
    replyOf,
    lateSourceReplies,
    deadLetters,
    statuses,
  };
}

export const NO_PROBLEMS = {
  missing: 0,
  duplicated: 0,
  wrongStatus: 0,
  wrongTopic: 0,
  strayReplies: 0,
  outcomeNotOne: 0,
  outcomeMismatch: 0,
  forwardedWrong: 0,
  orphanTickets: 0,
} as const;

/** What the gateway processes logged at warn and error level, by message: expected noise or trouble. */
export function gatewayWarnings(gateways: readonly GatewayProcess[]): Record<string, number> {
  const warnings: Record<string, number> = {};
  for (const g of gateways) {
    for (const line of g.logLines(40)) {
      const key = `${g.label} ${line.level === 40 ? 'warn' : 'error'}: ${String(line.msg).slice(0, 120)}`;
      warnings[key] = (warnings[key] ?? 0) + 1;
    }
  }
  return warnings;
}

/** Waits until `count` has not changed for `quietMs` (a late duplicate would show up by then), at most `capMs`. */
export async function waitQuiet(count: () => number, quietMs: number, capMs: number): Promise<void> {
  const until = Date.now() + capMs;
  let seen = -1;
  while (count() !== seen && Date.now() < until) {
    seen = count();
    await sleep(quietMs);
  }
}

/** Resolves when `probe` holds; rejects after `timeoutMs`, or as soon as `abort` returns a reason. */
export async function until(
  probe: () => boolean | Promise<boolean>,
  { timeoutMs, what, intervalMs = 100, abort }: { timeoutMs: number; what: string; intervalMs?: number; abort?: () => string | null },
): Promise<number> {
  const started = Date.now();
  while (!(await probe())) {
    const reason = abort?.();
    if (reason) throw new Error(`${what}: ${reason}`);
    if (Date.now() - started > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(intervalMs);
  }
  return Date.now() - started;
}

/**
 * The gateway processes of one switch (`env`, from gatewayProcessEnv) a test starts. Once `close` has
 * begun, nothing more is started: a test body still running after its timeout must not leave a process.
 */
export interface GatewayPool {
  /** Every process started, in order. */
  readonly gateways: readonly GatewayProcess[];
  /** Starts one and resolves when it is ready. */
  start(label: string): Promise<GatewayProcess>;
  /** SIGTERM to every one (SIGKILL after 10 s), then SIGKILL to any gateway child left. */
  close(): Promise<void>;
}

export function gatewayPool(env: () => Readonly<Record<string, string>>): GatewayPool {
  const gateways: GatewayProcess[] = [];
  let closing = false;
  return {
    gateways,
    async start(label) {
      if (closing) throw new Error(`${label} not started: the test is being torn down`);
      const gateway = spawnGatewayProcess({ env: env(), label });
      gateways.push(gateway);
      await gateway.waitReady(120_000);
      return gateway;
    },
    async close() {
      closing = true;
      await Promise.all(gateways.map((g) => g.terminate(10_000)));
      await killAllGatewayProcesses();
    },
  };
}

/**
 * What a switch needs before a fault test's stream, once its gateway is on its way (`gatewayReady`):
 * the simulated registers answering for the workload's persons, the workload's directory lines, and a
 * preflight — one request of each kind, answered as its kind says — so that the switch is known to work
 * end to end before the fault. Returns the running simulators and the preflight's tickets.
 */
export async function prepareSwitch(
  fx: ExchangeFixture,
  workload: Workload,
  gatewayReady: Promise<unknown>,
): Promise<{ simulators: RunningSourceSimulators; preflightTickets: string[] }> {
  const [, simulators] = await Promise.all([
    gatewayReady,
    startSourceSimulators({
      clientFor: () => fx.client,
      codec: fx.codec,
      topics: fx.topics,
      catalogue: fx.catalogue,
      population: workload.population,
      logger: silentLogger,
      groupPrefix: fx.instanceName,
      sources: ['bcss-registers'],
    }),
  ]);
  await fx.integrate(workload.integrations);
  const kinds = [...workload.forwarded, ...workload.refused];
  const preflight = await Promise.all(kinds.map((kind) => fx.ask('onva', kind.fields(0), 60_000)));
  const wrong = preflight.map((r, i) => [kinds[i] as Kind, r.status] as const).filter(([kind, status]) => status !== kind.expected);
  if (wrong.length > 0) {
    await simulators.stop().catch(() => undefined);
    throw new Error(`preflight: ${wrong.map(([kind, status]) => `${kind.name} ${status}, expected ${kind.expected}`).join('; ')}`);
  }
  return { simulators, preflightTickets: preflight.map((r) => r.ticket) };
}
