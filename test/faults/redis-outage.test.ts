import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditRecordValue } from '../../src/contract/audit-records.js';
import { EXCHANGE_RECORD } from '../../src/contract/names.js';
import { silentLogger } from '../../src/logging/logger.js';
import type { MessageProducer } from '../../src/messaging/kafka-client.js';
import { stackStatus, startStackRedis, stopStackRedis } from '../../src/stack/local-stack.js';
import { startSourceSimulators, type RunningSourceSimulators } from '../../src/sources/simulator-service.js';
import { createExchangeFixture, type ExchangeFixture, type TopicCollector } from '../support/exchange-fixture.js';
import { gatewayProcessEnv, killAllGatewayProcesses, spawnGatewayProcess, type GatewayProcess } from '../support/gateway-process.js';
import { testStack } from '../support/stack-context.js';
import {
  checkExchanges,
  createWorkload,
  EXCHANGE_EVENTS,
  gatewayWarnings,
  NO_PROBLEMS,
  requestMessages,
  sleep,
  until,
  waitQuiet,
  writeResult,
  type PlannedRequest,
} from './fault-support.js';

/**
 * Redis — the reference directory and the pending exchanges — goes away while requests keep coming and
 * exchanges are in flight. The gateway must fail closed: no request is decided without its directory
 * check, so nothing is answered and no decision is audited while Redis is down; none is lost either:
 * when Redis returns, every request is answered exactly once, as it would have been. The gateway
 * process stays up throughout (it waits for Redis rather than exiting).
 *
 * Only the local stack's Redis can be stopped from here; elsewhere the test is skipped.
 */

const stack = testStack();
const stackDir = stack.mode === 'local' ? stack.stackDir : null;

/** Answered before the outage: the baseline. */
const BASELINE = 500;
/** Published just before the stop: exchanges in flight (forwarded, the sources answering) when Redis goes. */
const IN_FLIGHT = 1_000;
/** Published while Redis is down. */
const DURING = 2_000;
/** Longer than a consumer session (10 s): a pipeline blocked on Redis loses its group membership meanwhile. */
const OUTAGE_MS = 20_000;
/** Replies committed before Redis went may still be on their way to the test's reader. */
const DELIVERY_GRACE_MS = 1_500;
const SOURCE_TIMEOUT_MS = 300_000;

const workload = createWorkload();

describe.skipIf(stackDir === null)(`Redis outage (local stack only; mode here: ${stack.mode})`, () => {
  let fx: ExchangeFixture;
  let simulators: RunningSourceSimulators | undefined;
  let producer: MessageProducer | undefined;
  let processEnv: ReturnType<typeof gatewayProcessEnv> | undefined;
  let gateway: GatewayProcess | undefined;
  let audit: TopicCollector<AuditRecordValue>;
  const knownTickets = new Set<string>();

  /** Redis must run when this file ends, whatever happened: later test files depend on it. */
  const ensureRedis = async () => {
    if (stackDir !== null && stackStatus(stackDir).redisPid === null) await startStackRedis(stackDir, 30_000);
  };

  beforeAll(async () => {
    await ensureRedis();
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
    producer = await fx.client.producer();
    await fx.integrate(workload.integrations);
    // The trail as it is committed, watched live: a decision audited during the outage would show here.
    audit = await fx.collect([fx.topics.audit], (m) => fx.codec.decode<AuditRecordValue>(EXCHANGE_RECORD.audit, m.value as Buffer));
    const kinds = [...workload.forwarded, ...workload.refused];
    const preflight = await Promise.all(kinds.map((kind) => fx.ask('onva', kind.fields(0), 60_000)));
    expect(preflight.map((r) => r.status)).toEqual(kinds.map((k) => k.expected));
    for (const r of preflight) knownTickets.add(r.ticket);
  }, 180_000);

  afterAll(async () => {
    try {
      await ensureRedis();
    } finally {
      await gateway?.terminate(10_000);
      await killAllGatewayProcesses();
      await simulators?.stop().catch(() => undefined);
      await producer?.disconnect().catch(() => undefined);
      await fx?.close().catch(() => undefined);
      processEnv?.dispose();
    }
  }, 120_000);

  it('nothing is answered or audited while Redis is down, nothing is lost: every request answered exactly once after', async () => {
    const deadline = Date.now() + 240_000;
    const remaining = (cap: number) => Math.max(1_000, Math.min(cap, deadline - Date.now()));
    const g = gateway as GatewayProcess;
    const runId = randomUUID().slice(0, 8);
    const plan = (from: number, count: number): PlannedRequest[] =>
      Array.from({ length: count }, (_, i) => {
        const n = from + i;
        const kind = workload.kindOf(n);
        return { kind, record: fx.requestRecord('onva', { ...kind.fields(n), requestId: `${runId}-${n}` }) };
      });
    const baseline = plan(0, BASELINE);
    const inFlight = plan(BASELINE, IN_FLIGHT);
    const during = plan(BASELINE + IN_FLIGHT, DURING);
    const requests = [...baseline, ...inFlight, ...during];
    const answeredOf = (list: readonly PlannedRequest[]) => list.filter((r) => (fx.replies.get(r.record.requestId)?.length ?? 0) > 0).length;
    const send = (list: readonly PlannedRequest[]) => (producer as MessageProducer).send(fx.requestsTopic('onva'), requestMessages(fx, list));

    await send(baseline);
    await until(() => answeredOf(baseline) === BASELINE, { timeoutMs: remaining(60_000), what: 'the baseline replies' });

    // Exchanges in flight: the stop comes as soon as the first of these are answered.
    await send(inFlight);
    await until(() => answeredOf(inFlight) >= 50, { timeoutMs: remaining(60_000), what: 'the first in-flight replies', intervalMs: 5 });
    const stopped = await stopStackRedis(stackDir as string, 'SIGTERM');
    const downAt = Date.now();
    expect(stopped.pid).not.toBeNull();
    const answeredAtStop = answeredOf(inFlight);

    // While Redis is down: publish, then watch — every 200 ms — for replies and audited decisions.
    let upAt = 0;
    let restartAt = 0;
    let upReadyInMs = 0;
    const lateInFlightDeliveries: number[] = [];
    let repliesDuringOutage = 0;
    let decisionsDuringOutage = 0;
    let gatewayDiedDuringOutage = false;
    try {
      await send(during);
      const auditAtDown = audit.messages.length;
      const watchFrom = downAt + DELIVERY_GRACE_MS;
      let answeredInFlightAtGrace = 0;
      while (Date.now() < downAt + OUTAGE_MS) {
        await sleep(200);
        if (!g.alive()) {
          gatewayDiedDuringOutage = true;
          break;
        }
        if (Date.now() < watchFrom) {
          answeredInFlightAtGrace = answeredOf(inFlight);
          continue;
        }
        repliesDuringOutage = answeredOf(during) + (answeredOf(inFlight) - answeredInFlightAtGrace);
        decisionsDuringOutage = audit.messages
          .slice(auditAtDown)
          .filter((m) => EXCHANGE_EVENTS.has(m.value.eventType) && m.value.at >= downAt).length;
      }
      lateInFlightDeliveries.push(answeredInFlightAtGrace - answeredAtStop);
    } finally {
      restartAt = Date.now();
      const started = await startStackRedis(stackDir as string, 30_000);
      upAt = Date.now();
      upReadyInMs = started.readyInMs;
    }
    if (gatewayDiedDuringOutage) throw new Error(`the gateway ended while Redis was down:\n${g.output()}`);

    await until(() => answeredOf(requests) === requests.length, {
      timeoutMs: remaining(120_000),
      what: `all ${requests.length} replies after Redis returned`,
      intervalMs: 100,
      abort: () => (g.alive() ? null : `the gateway ended:\n${g.output()}`),
    }).catch((error: unknown) => {
      const errors = g.logLines(50).map((l) => `${String(l.msg)} ${JSON.stringify(l.err ?? l.error ?? '')}`.slice(0, 300));
      throw new Error(`${String(error)} (${answeredOf(requests)} answered); the gateway's last errors:\n${errors.slice(-20).join('\n')}`);
    });
    const allAnsweredAt = Date.now();
    const allReplies = () => [...fx.replies.values()].reduce((sum, list) => sum + list.length, 0);
    await waitQuiet(allReplies, 3_000, remaining(20_000));

    const trail = await fx.readAudit();
    const check = checkExchanges({
      requests,
      replies: new Map([...fx.replies].filter(([id]) => id.startsWith(`${runId}-`))),
      answerTopic: { of: fx.replyTopics, expected: fx.repliesTopic('onva') },
      audit: trail,
      otherTickets: knownTickets,
    });
    // Decisions that needed Redis (the directory, the pending exchanges) are stamped after it returned:
    // not one was taken on the strength of a check that could not be made.
    const needsRedis = new Set(
      [...check.replyOf].filter(([, { kind, record }]) => kind.needsDirectory && !baseline.some((b) => b.record === record)).map(([t]) => t),
    );
    const stampedDuringOutage = trail.filter(
      // Until the restart begins: the gateway's client reconnects as soon as Redis accepts connections,
      // which can be before the starter's own readiness poll returns (upAt).
      (a) => a.ticket !== null && needsRedis.has(a.ticket) && EXCHANGE_EVENTS.has(a.eventType) && a.at > downAt && a.at < restartAt,
    );
    const answeredAfterUp = [...check.replyOf.values()].map(({ reply }) => reply.answeredAt).filter((t) => t >= upAt);
    const pendingLeft = await fx.pending.size();
    const summary = {
      requests: requests.length,
      baseline: BASELINE,
      inFlightAtStop: IN_FLIGHT - answeredAtStop,
      publishedDuringOutage: DURING,
      redisStopMs: stopped.stoppedInMs,
      outageMs: upAt - downAt,
      restartToReadyMs: upAt - restartAt,
      redisStartToReadyMs: upReadyInMs,
      repliesDeliveredDuringOutage: repliesDuringOutage,
      inFlightRepliesDeliveredInGrace: lateInFlightDeliveries[0] ?? 0,
      decisionsAuditedDuringOutage: decisionsDuringOutage,
      decisionsStampedDuringOutage: stampedDuringOutage.length,
      redisUpToFirstReplyMs: answeredAfterUp.length > 0 ? Math.min(...answeredAfterUp) - upAt : Number.NaN,
      redisUpToAllRepliesMs: allAnsweredAt - upAt,
      answeredAfterRedisReturned: answeredAfterUp.length,
      statuses: check.statuses,
      pendingLeft,
      lateSourceReplies: check.lateSourceReplies.length,
      deadLetters: check.deadLetters,
      gatewayAlive: g.alive(),
      problems: check.problems,
      gatewayWarnings: gatewayWarnings([g]),
    };
    writeResult('redis-outage', summary);
    console.info(JSON.stringify(summary, null, 2));

    expect(g.alive()).toBe(true);
    expect(repliesDuringOutage).toBe(0);
    expect(decisionsDuringOutage).toBe(0);
    expect(stampedDuringOutage).toHaveLength(0);
    expect(check.counts).toEqual(NO_PROBLEMS);
    expect(check.replyOf.size).toBe(requests.length);
    expect(check.lateSourceReplies).toHaveLength(0);
    expect(check.deadLetters).toBe(0);
    expect(pendingLeft).toBe(0);
    // The outage really fell on work: requests published during it were all answered after it.
    expect(answeredAfterUp.length).toBeGreaterThanOrEqual(DURING);
  }, 300_000);
});
