/**
 * Back-pressure: a burst far above what the sources can take. The gateway (its own process, at most
 * MAX_PENDING exchanges waiting for sources) is sent BURST requests while the source is silent:
 *   - intake pauses at the bound — the exchanges waiting in Redis never exceed it by more than one
 *     chunk, the rest of the burst stays in Kafka, and the gateway's memory stays flat;
 *   - once the source answers, every request gets exactly one reply: OK for those forwarded before the
 *     pause, OVERLOADED — promptly, without reaching the source — for those that queued longer than the
 *     answer deadline allows, and for no other;
 *   - a second burst with the source answering is slowed by the same bound, but queues less than the
 *     allowance: all OK, no OVERLOADED.
 */
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RequestRecord } from '../../src/contract/exchange-records.js';
import { EXCHANGE_RECORD } from '../../src/contract/names.js';
import { silentLogger } from '../../src/logging/logger.js';
import type { MessageProducer } from '../../src/messaging/kafka-client.js';
import type { SampleIntegration } from '../../src/sources/sample-directory.js';
import { startSourceSimulators, type RunningSourceSimulators } from '../../src/sources/simulator-service.js';
import { createSyntheticPopulation, generateSyntheticPersons } from '../../src/sources/synthetic-population.js';
import { createExchangeFixture, type ExchangeFixture } from '../support/exchange-fixture.js';
import { gatewayProcessEnv, killAllGatewayProcesses, spawnGatewayProcess, type GatewayProcess } from '../support/gateway-process.js';
import { testStack } from '../support/stack-context.js';

const MAX_PENDING = 300;
/** The request pipeline's chunk: intake is checked before each one. */
const CHUNK = 500;
const BURST = 50_000;
const SECOND_BURST = 3_000;
/** Far beyond the test: no exchange may end as SOURCE_TIMEOUT while the source is silent. */
const SOURCE_TIMEOUT_MS = 300_000;
/** How long a request may queue and still be forwarded. */
const QUEUE_ALLOWANCE_MS = 20_000;
/** The source stays silent longer than the allowance: what queued behind the bound is then too late. */
const SILENCE_MS = QUEUE_ALLOWANCE_MS + 5_000;
const PERSONS = 200;
const PERIOD = { from: '2024-01-01', to: '2024-12-31' } as const;
const RESULTS = join('test', 'faults', 'results');

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
  return Math.round(kb / 1024);
}

const generated = generateSyntheticPersons(PERSONS);
const persons = generated.map((g) => g.person.niss);
const population = createSyntheticPopulation({ extraPersons: PERSONS });

describe('back-pressure: a burst far above capacity pauses intake; OVERLOADED only past the deadline', () => {
  let fx: ExchangeFixture;
  let gateway: GatewayProcess;
  let producer: MessageProducer;
  let simulators: RunningSourceSimulators | undefined;
  let processEnv: ReturnType<typeof gatewayProcessEnv> | undefined;

  const startSimulators = () =>
    startSourceSimulators({
      clientFor: () => fx.client,
      codec: fx.codec,
      topics: fx.topics,
      catalogue: fx.catalogue,
      population,
      logger: silentLogger,
      groupPrefix: fx.instanceName,
      sources: ['bcss-registers'],
    });

  const publish = async (records: readonly RequestRecord[]) => {
    for (let start = 0; start < records.length; start += 2_000) {
      await producer.send(
        fx.requestsTopic('onva'),
        records.slice(start, start + 2_000).map((record) => ({ key: record.subjectNiss, value: fx.codec.encode(EXCHANGE_RECORD.request, record) })),
      );
    }
  };

  const identification = (requestId: string, n: number): RequestRecord =>
    fx.requestRecord('onva', { requestId, service: 'identification', purpose: null, employer: null, subjectNiss: persons[n % PERSONS] as string, period: { ...PERIOD } });

  beforeAll(async () => {
    const stack = testStack();
    fx = await createExchangeFixture(stack);
    processEnv = gatewayProcessEnv(stack, {
      topicPrefix: fx.topics.prefix,
      redisPrefix: fx.instanceName,
      sourceTimeoutMs: SOURCE_TIMEOUT_MS,
      answerDeadlineMs: SOURCE_TIMEOUT_MS + QUEUE_ALLOWANCE_MS,
      maxPending: MAX_PENDING,
    });
    gateway = spawnGatewayProcess({ env: processEnv.env, label: 'gateway' });
    await gateway.waitReady(120_000);
    producer = await fx.client.producer();
    await fx.integrate(
      persons.map((niss): SampleIntegration => ({ institution: 'onva', niss, capacity: 'inspection', phase: 1, from: '2023-01-01', to: null, employer: null })),
    );
  }, 180_000);

  afterAll(async () => {
    await gateway?.terminate(10_000);
    await killAllGatewayProcesses();
    await simulators?.stop().catch(() => undefined);
    await producer?.disconnect().catch(() => undefined);
    await fx?.close();
    processEnv?.dispose();
  }, 60_000);

  it('pauses at the bound while the source is silent, then answers each request once: OK or, past the deadline, OVERLOADED', async () => {
    const runId = randomUUID().slice(0, 8);
    const records = Array.from({ length: BURST }, (_, n) => identification(`${runId}-${n}`, n));
    const rssAtStart = rssMb(gateway.pid);
    const publishedAt = Date.now();
    await publish(records);
    const publishMs = Date.now() - publishedAt;

    // The source is silent: sample what waits in Redis and the gateway's memory meanwhile.
    let pendingPeak = 0;
    let rssPeak = rssAtStart;
    const silenceEnds = publishedAt + SILENCE_MS;
    while (Date.now() < silenceEnds) {
      pendingPeak = Math.max(pendingPeak, await fx.pending.size());
      rssPeak = Math.max(rssPeak, rssMb(gateway.pid));
      expect(gateway.alive()).toBe(true);
      await sleep(100);
    }
    const answeredWhileSilent = records.filter((r) => fx.replies.has(r.requestId)).length;

    simulators = await startSimulators();
    const answeringFrom = Date.now();
    const deadline = Date.now() + 180_000;
    while (records.some((r) => !fx.replies.has(r.requestId))) {
      if (Date.now() > deadline) {
        const missing = records.filter((r) => !fx.replies.has(r.requestId)).length;
        throw new Error(`${missing} of ${BURST} requests unanswered:\n${gateway.output(20_000)}`);
      }
      pendingPeak = Math.max(pendingPeak, await fx.pending.size());
      rssPeak = Math.max(rssPeak, rssMb(gateway.pid));
      await sleep(200);
    }
    const drainMs = Date.now() - answeringFrom;
    await sleep(2_000);

    const duplicated = records.filter((r) => (fx.replies.get(r.requestId)?.length ?? 0) > 1).length;
    const byStatus: Record<string, number> = {};
    const misjudged: string[] = [];
    for (const record of records) {
      const reply = fx.replies.get(record.requestId)?.[0];
      if (!reply) continue;
      byStatus[reply.status] = (byStatus[reply.status] ?? 0) + 1;
      if (reply.status === 'OK' && (reply.forwardedAt ?? Number.POSITIVE_INFINITY) - record.sentAt > QUEUE_ALLOWANCE_MS + 1_000) {
        misjudged.push(`${record.requestId} forwarded after ${(reply.forwardedAt ?? 0) - record.sentAt} ms of queueing`);
      }
      if (reply.status === 'OVERLOADED' && (reply.forwardedAt !== null || reply.answeredAt - record.sentAt < QUEUE_ALLOWANCE_MS - 1_000)) {
        misjudged.push(`${record.requestId} OVERLOADED after ${reply.answeredAt - record.sentAt} ms (forwarded ${reply.forwardedAt})`);
      }
    }
    const rssAtEnd = rssMb(gateway.pid);

    // The second burst, the source answering: slowed by the same bound, within the allowance.
    const second = Array.from({ length: SECOND_BURST }, (_, n) => identification(`${runId}-b-${n}`, n));
    const secondAt = Date.now();
    await publish(second);
    let secondPendingPeak = 0;
    const secondDeadline = Date.now() + 120_000;
    while (second.some((r) => !fx.replies.has(r.requestId))) {
      if (Date.now() > secondDeadline) throw new Error(`second burst unanswered:\n${gateway.output(20_000)}`);
      secondPendingPeak = Math.max(secondPendingPeak, await fx.pending.size());
      await sleep(50);
    }
    const secondMs = Date.now() - secondAt;
    const secondStatuses: Record<string, number> = {};
    for (const record of second) {
      const status = fx.replies.get(record.requestId)?.[0]?.status ?? 'none';
      secondStatuses[status] = (secondStatuses[status] ?? 0) + 1;
    }

    // ONVA asks through its consultation application (19/010 §37): every answer, OVERLOADED included,
    // comes back on its consultations topic.
    const answerTopic = fx.repliesTopic('onva');
    expect(answerTopic).toBe(fx.topics.consultations('onva'));
    const wrongTopic = [...records, ...second].filter((r) => (fx.replyTopics.get(r.requestId) ?? []).some((t) => t !== answerTopic)).length;

    // The audit trail agrees with the replies, outcome by outcome.
    const audit = await fx.readAudit();
    const refusedOverloaded = audit.filter((r) => r.eventType === 'REQUEST_REFUSED' && r.outcome === 'OVERLOADED').length;
    const forwardedAudit = audit.filter((r) => r.eventType === 'REQUEST_FORWARDED').length;

    const summary = {
      maxPending: MAX_PENDING,
      burst: BURST,
      publishMs,
      silenceMs: SILENCE_MS,
      queueAllowanceMs: QUEUE_ALLOWANCE_MS,
      answeredWhileSilent,
      pendingPeak,
      byStatus,
      drainMs,
      duplicated,
      wrongTopic,
      misjudged: misjudged.length,
      rssMb: { atStart: rssAtStart, peak: rssPeak, atEnd: rssAtEnd },
      secondBurst: { requests: SECOND_BURST, ms: secondMs, pendingPeak: secondPendingPeak, byStatus: secondStatuses },
      audit: { overloaded: refusedOverloaded, forwarded: forwardedAudit },
    };
    mkdirSync(RESULTS, { recursive: true });
    writeFileSync(join(RESULTS, 'back-pressure.json'), `${JSON.stringify(summary, null, 2)}\n`);
    console.info(JSON.stringify(summary));

    expect(gateway.alive()).toBe(true);
    // Nothing could be answered while the source was silent: every request needs it.
    expect(answeredWhileSilent).toBe(0);
    // Intake paused at the bound (checked before each chunk): at most one chunk more.
    expect(pendingPeak).toBeGreaterThanOrEqual(MAX_PENDING);
    expect(pendingPeak).toBeLessThanOrEqual(MAX_PENDING + CHUNK);
    expect(duplicated).toBe(0);
    expect(wrongTopic).toBe(0);
    expect(misjudged.slice(0, 5)).toEqual([]);
    expect(Object.keys(byStatus).sort()).toEqual(['OK', 'OVERLOADED']);
    // Those forwarded before the pause were answered OK; the rest queued past the allowance.
    expect(byStatus.OK).toBeLessThanOrEqual(MAX_PENDING + CHUNK);
    expect(byStatus.OVERLOADED).toBe(BURST - (byStatus.OK ?? 0));
    // The burst stayed in Kafka: the gateway's memory stayed within the bound it has without a burst.
    expect(rssPeak).toBeLessThan(400);
    expect(secondStatuses).toEqual({ OK: SECOND_BURST });
    expect(secondPendingPeak).toBeLessThanOrEqual(MAX_PENDING + CHUNK);
    expect(refusedOverloaded).toBe(byStatus.OVERLOADED);
    expect(forwardedAudit).toBe((byStatus.OK ?? 0) + SECOND_BURST);
  }, 420_000);
});
