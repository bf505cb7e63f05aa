import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReplyRecord } from '../../src/contract/exchange-records.js';
import { loadSettings } from '../../src/app/settings.js';
import { silentLogger } from '../../src/logging/logger.js';
import type { MessageProducer } from '../../src/messaging/kafka-client.js';
import { startStackKafka, stackStatus, stopStackKafka } from '../../src/stack/local-stack.js';
import { startSourceSimulators, type RunningSourceSimulators } from '../../src/sources/simulator-service.js';
import { createExchangeFixture, type ExchangeFixture } from '../support/exchange-fixture.js';
import { gatewayProcessEnv, killAllGatewayProcesses, spawnGatewayProcess, type GatewayProcess } from '../support/gateway-process.js';
import { testStack } from '../support/stack-context.js';
import {
  checkExchanges,
  createWorkload,
  gatewayWarnings,
  NO_PROBLEMS,
  readCommittedReplies,
  requestMessages,
  sleep,
  until,
  writeResult,
  type PlannedRequest,
} from './fault-support.js';

/**
 * The broker restarted under load, twice — a controlled shutdown (SIGTERM) and a crash (SIGKILL) — while
 * one gateway process works through a backlog of mixed requests. Nobody restarts the gateway: it must
 * reconnect, redo what the broker's restart left uncommitted, and answer every request exactly once
 * with its audit record. Requests are published only while the broker runs (an institution's own
 * retries are not under test); those published after the restart go through the recovered gateway too.
 *
 * Only the local stack can be stopped and started from here; with a stack from the environment or from
 * containers the test is skipped.
 */

const stack = testStack();
const stackDir = stack.mode === 'local' ? stack.stackDir : null;
/** The heap the stack's broker was started with (BCSS_KAFKA_HEAP), for its restart. */
const { kafkaHeap } = loadSettings();

/** Published at once before the stop: a backlog the gateway is in the middle of when the broker goes. */
const BEFORE = 3_000;
/** Published once the broker is back. */
const AFTER = 1_000;
/** The broker goes once the gateway has committed its way past this many of the backlog's requests. */
const STOP_AT = 300;
/** How long the broker stays down after its process has ended. */
const DOWN_MS = 5_000;
const SOURCE_TIMEOUT_MS = 300_000;

const workload = createWorkload();

interface Round {
  readonly signal: 'SIGTERM' | 'SIGKILL';
  readonly summary: Record<string, unknown>;
}

describe.skipIf(stackDir === null)(`broker restart mid-stream (local stack only; mode here: ${stack.mode})`, () => {
  let fx: ExchangeFixture;
  let simulators: RunningSourceSimulators | undefined;
  let processEnv: ReturnType<typeof gatewayProcessEnv> | undefined;
  let gateway: GatewayProcess | undefined;
  const knownTickets = new Set<string>();
  const rounds: Round[] = [];

  /** The broker must run when this file ends, whatever happened: later test files depend on it. */
  const ensureBroker = async () => {
    if (stackDir !== null && stackStatus(stackDir).kafkaPid === null) await startStackKafka(stackDir, 150_000, kafkaHeap);
  };

  beforeAll(async () => {
    await ensureBroker();
    fx = await createExchangeFixture(stack, 4);
    processEnv = gatewayProcessEnv(stack, { topicPrefix: fx.topics.prefix, redisPrefix: fx.instanceName, sourceTimeoutMs: SOURCE_TIMEOUT_MS });
    gateway = spawnGatewayProcess({ env: processEnv.env, label: 'gateway' });
    const [, started] = await Promise.all([
      gateway.waitReady(120_000),
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
    simulators = started;
    await fx.integrate(workload.integrations);
    const kinds = [...workload.forwarded, ...workload.refused];
    const preflight = await Promise.all(kinds.map((kind) => fx.ask('onva', kind.fields(0), 60_000)));
    expect(preflight.map((r) => r.status)).toEqual(kinds.map((k) => k.expected));
    for (const r of preflight) knownTickets.add(r.ticket);
  }, 180_000);

  afterAll(async () => {
    try {
      await ensureBroker();
    } finally {
      await gateway?.terminate(10_000);
      await killAllGatewayProcesses();
      await simulators?.stop().catch(() => undefined);
      await fx?.close().catch(() => undefined);
      processEnv?.dispose();
      if (rounds.length > 0) writeResult('broker-restart', { rounds: rounds.map((r) => r.summary) });
    }
  }, 180_000);

  const restartRound = async (signal: 'SIGTERM' | 'SIGKILL') => {
    const deadline = Date.now() + 200_000;
    const remaining = (cap: number) => Math.max(1_000, Math.min(cap, deadline - Date.now()));
    // The test's own throw-away readers meet the restarted broker too (a coordinator still loading):
    // a failed read is tried again, within the round's time.
    const reading = async <T,>(read: () => Promise<T>): Promise<T> => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await read();
        } catch (error) {
          if (attempt >= 10 || Date.now() > deadline - 5_000) throw error;
          await sleep(1_000);
        }
      }
    };
    // Whatever the trail holds already (earlier rounds, the preflight) is not this round's.
    for (const a of await reading(() => fx.readAudit())) if (a.ticket !== null) knownTickets.add(a.ticket);
    const g = gateway as GatewayProcess;
    const runId = randomUUID().slice(0, 8);
    const plan = (from: number, count: number): PlannedRequest[] =>
      Array.from({ length: count }, (_, i) => {
        const n = from + i;
        const kind = workload.kindOf(n);
        return { kind, record: fx.requestRecord('onva', { ...kind.fields(n), requestId: `${runId}-${n}` }) };
      });
    const before = plan(0, BEFORE);
    const after = plan(BEFORE, AFTER);
    const requests = [...before, ...after];
    const ours = (requestId: string) => requestId.startsWith(`${runId}-`);
    const answeredLive = () => {
      let count = 0;
      for (const id of fx.replies.keys()) if (ours(id)) count++;
      return count;
    };
    const pidBefore = g.pid;

    const requestsTopic = fx.requestsTopic('onva');
    const lagBefore = (await reading(() => fx.admin.groupLag(`${fx.topics.prefix}.gateway.requests`))).get(requestsTopic) ?? 0;
    let producer: MessageProducer | undefined = await fx.client.producer();
    const startedAt = Date.now();
    await producer.send(fx.requestsTopic('onva'), requestMessages(fx, before));
    // Progress as the broker knows it (the request group's committed position), not as a reader of the
    // replies sees it: the test's own consumers are slowed down by the previous round's restart too.
    const lagNow = async () => (await fx.admin.groupLag(`${fx.topics.prefix}.gateway.requests`)).get(requestsTopic) ?? 0;
    await until(async () => (await lagNow().catch(() => Number.POSITIVE_INFINITY)) <= lagBefore + BEFORE - STOP_AT, {
      timeoutMs: remaining(60_000),
      what: `the gateway past ${STOP_AT} requests before the broker stops`,
      intervalMs: 10,
      abort: () => (g.alive() ? null : `the gateway ended:\n${g.output()}`),
    });
    // The test's own producer is not under test: it leaves before the broker does.
    await producer.disconnect().catch(() => undefined);
    producer = undefined;

    const stopAt = Date.now();
    const repliesAtStop = answeredLive();
    const lagAtStop = (await lagNow().catch(() => Number.NaN)) - lagBefore;
    let stopped: Awaited<ReturnType<typeof stopStackKafka>>;
    let readyAt = 0;
    let readyInMs = 0;
    let restartAt = 0;
    try {
      stopped = await stopStackKafka(stackDir as string, signal);
      await sleep(DOWN_MS);
    } finally {
      restartAt = Date.now();
      const started = await startStackKafka(stackDir as string, 150_000, kafkaHeap);
      readyAt = Date.now();
      readyInMs = started.readyInMs;
    }
    expect(stopped.pid).not.toBeNull();
    if (!g.alive()) throw new Error(`the gateway ended while the broker was down:\n${g.output()}`);

    producer = await reading(() => fx.client.producer());
    try {
      // Not retried: a send that failed after all may have been written, and would be a duplicate request.
      await producer.send(fx.requestsTopic('onva'), requestMessages(fx, after));
    } finally {
      await producer.disconnect().catch(() => undefined);
    }

    // The fixture's reply consumer lives through the restart too: its count is checked against fresh reads.
    let replies = new Map<string, ReplyRecord[]>();
    const answered = () => requests.filter((r) => (replies.get(r.record.requestId)?.length ?? 0) > 0).length;
    let lastCount = -1;
    let lastProgressAt = Date.now();
    for (;;) {
      replies = await reading(() => readCommittedReplies(fx, 'onva', remaining(60_000)));
      const count = answered();
      if (count !== lastCount) {
        lastCount = count;
        lastProgressAt = Date.now();
      }
      if (count >= requests.length) break;
      if (!g.alive()) throw new Error(`the gateway ended after the restart:\n${g.output()}`);
      if (Date.now() > deadline - 40_000) {
        const errors = g.logLines(50).map((l) => `${String(l.msg)} ${JSON.stringify(l.err ?? l.error ?? '')}`.slice(0, 300));
        throw new Error(
          `${count} of ${requests.length} requests answered ${Math.round((Date.now() - readyAt) / 1000)} s after the broker was back ` +
            `(no progress for ${Date.now() - lastProgressAt} ms); the gateway's last errors:\n${errors.slice(-20).join('\n')}`,
        );
      }
      await sleep(2_000);
    }
    const allAnsweredAt = Date.now();
    // A duplicate would arrive after the last first reply: look again a few seconds later.
    await sleep(4_000);
    replies = await reading(() => readCommittedReplies(fx, 'onva', remaining(60_000)));
    // ONVA asks through its consultation application (19/010 §37): nothing of this round on its replies topic.
    const onOrdinaryTopic = [...(await reading(() => readCommittedReplies(fx, 'onva', remaining(60_000), 'replies'))).keys()].filter(ours);
    const audit = await reading(() => fx.readAudit());
    const check = checkExchanges({
      requests,
      replies: new Map([...replies].filter(([id]) => ours(id))),
      audit,
      otherTickets: knownTickets,
    });
    for (const ticket of check.replyOf.keys()) knownTickets.add(ticket);

    const answeredAfterStop = [...check.replyOf.values()].map(({ reply }) => reply.answeredAt).filter((t) => t > stopAt);
    const firstAfterRestart = answeredAfterStop.length > 0 ? Math.min(...answeredAfterStop) : Number.NaN;
    const lastBeforeRestart = [...check.replyOf.values()].map(({ reply }) => reply.answeredAt).filter((t) => t <= stopAt);
    const summary = {
      signal,
      requests: requests.length,
      publishedBeforeStop: BEFORE,
      publishedAfterRestart: AFTER,
      repliesSeenAtStop: repliesAtStop,
      requestsLeftAtStop: lagAtStop,
      stopAfterMs: stopAt - startedAt,
      brokerStopMs: (stopped as { stoppedInMs: number }).stoppedInMs,
      brokerDownMs: readyAt - stopAt,
      brokerStartToReadyMs: readyInMs,
      // "Ready" is when a probe client first got metadata (polled every 500 ms); the gateway may be back sooner.
      brokerRestartToFirstReplyMs: firstAfterRestart - restartAt,
      brokerRestartToAllRepliesMs: allAnsweredAt - restartAt,
      brokerReadyToAllRepliesMs: allAnsweredAt - readyAt,
      stopToAllRepliesMs: allAnsweredAt - stopAt,
      answeredBeforeStop: lastBeforeRestart.length,
      answeredAfterRestart: answeredAfterStop.length,
      statuses: check.statuses,
      auditRecords: audit.length,
      lateSourceReplies: check.lateSourceReplies.length,
      deadLetters: check.deadLetters,
      repliesOnOrdinaryRepliesTopic: onOrdinaryTopic.length,
      gatewayPid: g.pid,
      gatewayRestarted: g.pid !== pidBefore || !g.alive(),
      problems: check.problems,
      gatewayWarnings: gatewayWarnings([g]),
    };
    rounds.push({ signal, summary });
    console.info(JSON.stringify(summary, null, 2));

    expect(check.counts).toEqual(NO_PROBLEMS);
    expect(check.replyOf.size).toBe(requests.length);
    expect(onOrdinaryTopic).toEqual([]);
    expect(check.deadLetters).toBe(0);
    expect(g.alive()).toBe(true);
    // The stop fell in the middle of the backlog: part of it was answered only after the restart.
    expect(lastBeforeRestart.length).toBeLessThan(BEFORE);
    expect(answeredAfterStop.length).toBeGreaterThan(AFTER);
  };

  it('SIGTERM (controlled shutdown): the gateway reconnects by itself; every request answered exactly once', async () => {
    await restartRound('SIGTERM');
  }, 240_000);

  it('SIGKILL (crash, log recovery): the same gateway recovers again; every request answered exactly once', async () => {
    await restartRound('SIGKILL');
  }, 240_000);
});
