import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditRecordValue } from '../../src/contract/audit-records.js';
import type { ReplyRecord } from '../../src/contract/exchange-records.js';
import { EXCHANGE_RECORD } from '../../src/contract/names.js';
import { silentLogger } from '../../src/logging/logger.js';
import { readTopicToEnd } from '../../src/messaging/topic-reader.js';
import type { InMessage, MessageProducer, OutMessage } from '../../src/messaging/kafka-client.js';
import { answerSourceRequest } from '../../src/sources/source-simulator.js';
import { startSourceSimulators, type RunningSourceSimulators } from '../../src/sources/simulator-service.js';
import { createExchangeFixture, type ExchangeFixture } from '../support/exchange-fixture.js';
import {
  gatewayProcessEnv,
  killAllGatewayProcesses,
  spawnGatewayProcess,
  type GatewayProcess,
  type ProcessExit,
} from '../support/gateway-process.js';
import { uniqueName, waitFor } from '../support/kafka-helpers.js';
import { testStack } from '../support/stack-context.js';
import { createWorkload, EXCHANGE_EVENTS, NO_PROBLEMS, OUTCOME_EVENTS, PERIOD, sleep, type Kind } from './fault-support.js';

/**
 * Exactly once across a real crash. The gateway runs as its own process and is killed with SIGKILL in
 * the middle of a stream of 10,000 requests — no orderly stop, open Kafka transactions left behind,
 * consumer-group members that the broker only forgets when their session expires, a sweeper lease
 * held by a dead owner — then started again with the same configuration. The source simulator runs in
 * the test process and keeps answering meanwhile. The requests are ONVA's, sent as its software sends
 * them: through its consultation application (19/010 §37), so every answer — the ones of exchanges the
 * crash left pending in Redis included — must come back on its consultations topic.
 *
 * What must hold afterwards: every request got exactly one reply (none lost, none repeated), on ONVA's
 * consultations topic, with the status its kind of request calls for; every reply has exactly one outcome audit record saying the
 * same; every forwarded exchange exactly one REQUEST_FORWARDED and no refused one any; and the audit
 * trail names no exchange that has no reply.
 */

const TOTAL = 10_000;
const BATCH = 500;
/**
 * Pause between batches. Shorter than the gateway needs for a batch, so that a backlog builds up: the
 * crash then hits a gateway in the middle of its work (open transactions, fetched but unanswered
 * requests), not one idling between batches; the batches after it are published while it is down.
 */
const BATCH_PAUSE_MS = 100;
/** The crash comes once this share of the replies has arrived; it must still be before 60 %. */
const KILL_AT = 0.25;
const KILL_BEFORE = 0.6;
/**
 * Far beyond the test's length: a deadline passing while the gateway is down would legitimately turn a
 * source's OK into SOURCE_TIMEOUT (whichever claims the exchange first), and the expected status of
 * each request must not depend on how long the restart took.
 */
const SOURCE_TIMEOUT_MS = 900_000;

/** The mixed stream: 300 integrated persons, 50 strangers, the fixed persons of every source outcome. */
const workload = createWorkload();
const { integratedPersons, population, kindOf } = workload;

/**
 * Every record of a topic, those of aborted transactions included (read_uncommitted), up to the end
 * offsets taken at the start. A partition is done when the consumer's position reaches its end, so
 * trailing transaction markers (several, when transactions interleave) are passed over.
 */
async function readEverything(fx: ExchangeFixture, topic: string, timeoutMs: number): Promise<InMessage[]> {
  const records: InMessage[] = [];
  await readTopicToEnd({
    client: fx.client,
    topic,
    timeoutMs,
    readUncommitted: true,
    async onBatch(batch) {
      for (const message of batch.messages) if (message.value) records.push(message);
    },
  });
  return records;
}

describe('exactly once: the gateway process killed (SIGKILL) in the middle of 10,000 requests, then restarted', () => {
  let fx: ExchangeFixture;
  let simulators: RunningSourceSimulators | undefined;
  let producer: MessageProducer | undefined;
  let processEnv: ReturnType<typeof gatewayProcessEnv> | undefined;
  const gateways: GatewayProcess[] = [];
  /** Set by afterAll: a test body still running after its timeout must not start another gateway. */
  let closing = false;

  const startGatewayProcess = async (label: string): Promise<GatewayProcess> => {
    if (closing) throw new Error(`${label} not started: the test is being torn down`);
    const gateway = spawnGatewayProcess({ env: (processEnv as NonNullable<typeof processEnv>).env, label });
    gateways.push(gateway);
    await gateway.waitReady(120_000);
    return gateway;
  };

  beforeAll(async () => {
    const stack = testStack();
    fx = await createExchangeFixture(stack);
    // The child joins this fixture's switch: same topics (and so consumer groups <prefix>.gateway.*),
    // same Redis keys as the fixture's directory and pending stores.
    processEnv = gatewayProcessEnv(stack, {
      topicPrefix: fx.topics.prefix,
      redisPrefix: fx.instanceName,
      sourceTimeoutMs: SOURCE_TIMEOUT_MS,
    });
    const [, started] = await Promise.all([
      startGatewayProcess('gateway#1'),
      // Only the registers answer identification; the other simulated sources would have nothing to do.
      startSourceSimulators({
        clientFor: () => fx.client,
        codec: fx.codec,
        topics: fx.topics,
        catalogue: fx.catalogue,
        population,
        logger: silentLogger,
        groupPrefix: fx.instanceName,
        sources: ['bcss-registers'],
      }),
    ]);
    simulators = started;
    producer = await fx.client.producer();
    // Through the child's directory pipelines: acknowledged only once written to Redis.
    await fx.integrate([
      ...workload.integrations,
    ]);
  }, 180_000);

  afterAll(async () => {
    closing = true;
    // The child first: it must not outlive the test, nor run against topics being deleted.
    await Promise.all(gateways.map((g) => g.terminate(10_000)));
    await killAllGatewayProcesses();
    await simulators?.stop().catch(() => undefined);
    await producer?.disconnect().catch(() => undefined);
    await fx?.close();
    processEnv?.dispose();
  }, 60_000);

  it('every request has exactly one reply and one outcome audit record; forwarded ones one REQUEST_FORWARDED', async () => {
    const deadline = Date.now() + 330_000;
    const remaining = (cap: number) => Math.max(1_000, Math.min(cap, deadline - Date.now()));
    const gateway = gateways[0] as GatewayProcess;

    // The simulated registers answer identification for every generated person integrated: OK, never
    // NO_DATA (which they would answer for a person outside their population).
    const unknownToSource = integratedPersons.filter(
      (niss) =>
        answerSourceRequest(population, {
          ticket: 'T-check',
          service: 'identification',
          subjectNiss: niss,
          employer: null,
          period: { ...PERIOD },
          blocks: [],
          deadline: Date.now() + 60_000,
        })?.status !== 'OK',
    );
    expect(unknownToSource).toEqual([]);

    // ONVA asks through its consultation application (19/010 §37: DOLSIS), and is answered there only.
    expect(fx.channelOf('onva')).toBe('consultation');
    const onvaRequests = fx.requestsTopic('onva');
    const onvaAnswers = fx.repliesTopic('onva');

    // One request of each kind end to end before the stream: the expected statuses are the gateway's.
    const preflight = await Promise.all([...workload.forwarded, ...workload.refused].map((kind) => fx.ask('onva', kind.fields(0), remaining(60_000))));
    expect(preflight.map((r) => r.status)).toEqual([...workload.forwarded, ...workload.refused].map((k) => k.expected));
    const preflightTickets = new Set(preflight.map((r) => r.ticket));

    const runId = randomUUID().slice(0, 8);
    const requests = Array.from({ length: TOTAL }, (_, n) => {
      const kind = kindOf(n);
      return { kind, record: fx.requestRecord('onva', { ...kind.fields(n), requestId: `${runId}-${n}` }) };
    });
    const ours = (requestId: string) => requestId.startsWith(`${runId}-`);
    const answered = (): number => {
      let count = 0;
      for (const id of fx.replies.keys()) if (ours(id)) count++;
      return count;
    };

    // The stream, in batches, while the gateway runs — and while it is down and restarting.
    const startedAt = Date.now();
    let published = 0;
    const publishing = (async () => {
      for (let start = 0; start < TOTAL; start += BATCH) {
        const messages: OutMessage[] = requests.slice(start, start + BATCH).map(({ record }) => ({
          // Keyed as an institution would: by the person, so one person's requests stay in order.
          key: record.subjectNiss || 'onva',
          value: fx.codec.encode(EXCHANGE_RECORD.request, record),
        }));
        await (producer as MessageProducer).send(onvaRequests, messages);
        published += messages.length;
        await sleep(BATCH_PAUSE_MS);
      }
    })();
    publishing.catch(() => undefined);

    // The crash, once a quarter of the replies are in, at the moment the gateway is most likely to hold
    // an open transaction: right after new output of it reached the log. A read_uncommitted watcher of
    // the audit topic sees that output before its transaction commits; if nothing comes within 2 s
    // of the threshold, the crash comes anyway.
    const killThreshold = Math.ceil(TOTAL * KILL_AT);
    let armed = false;
    let killAt = 0;
    let killTrigger = 'fallback';
    let repliesAtKill = 0;
    let publishedAtKill = 0;
    let exit: Promise<ProcessExit> | undefined;
    const killNow = (trigger: string) => {
      if (killAt !== 0) return;
      killAt = Date.now();
      exit = gateway.kill();
      killTrigger = trigger;
      repliesAtKill = answered();
      publishedAtKill = published;
    };
    const watcher = await fx.client.consumer({
      groupId: uniqueName(`${fx.instanceName}.crash-trigger`),
      topics: [fx.topics.audit],
      readCommitted: false,
    });
    try {
      await watcher.run(async () => {
        if (armed) killNow('fresh uncommitted output');
      });
      while (answered() < killThreshold) {
        if (Date.now() > deadline - 240_000) {
          throw new Error(`only ${answered()} replies of ${TOTAL} (${published} published) before the crash was due:\n${gateway.output()}`);
        }
        if (!gateway.alive()) throw new Error(`gateway#1 ended by itself:\n${gateway.output()}`);
        await sleep(20);
      }
      armed = true;
      const fallbackAt = Date.now() + 2_000;
      while (killAt === 0 && Date.now() < fallbackAt) await sleep(5);
      killNow('fallback');
    } finally {
      await watcher.disconnect();
    }
    expect((await exit)?.signal).toBe('SIGKILL');
    expect(repliesAtKill).toBeLessThan(TOTAL * KILL_BEFORE);
    // Work was in flight at the crash: requests published and not yet answered.
    expect(publishedAtKill).toBeGreaterThan(repliesAtKill);

    // Same environment, same consumer groups, same transactional ids: the new process fences the dead
    // one's transactions and takes over its partitions once the broker has expired its members.
    const restarted = await startGatewayProcess('gateway#2');
    const readyAt = Date.now();
    await publishing;

    // Every reply, bounded; progress is tracked so that a stall shows where it stopped.
    let lastCount = answered();
    let lastProgressAt = Date.now();
    let longestStallMs = 0;
    for (;;) {
      const count = answered();
      const now = Date.now();
      if (count !== lastCount) {
        longestStallMs = Math.max(longestStallMs, now - lastProgressAt);
        lastCount = count;
        lastProgressAt = now;
      }
      if (count >= TOTAL) break;
      if (now > deadline - 45_000) {
        throw new Error(
          `${count} of ${TOTAL} replies ${Math.round((now - killAt) / 1000)} s after the crash ` +
            `(${repliesAtKill} at the crash, no progress for ${now - lastProgressAt} ms):\n${restarted.output()}`,
        );
      }
      if (!restarted.alive()) throw new Error(`gateway#2 ended by itself:\n${restarted.output()}`);
      await sleep(50);
    }
    const allRepliedAt = Date.now();

    // A duplicate could arrive after the last first reply: wait until nothing has come for 3 s.
    const allReplies = () => [...fx.replies.values()].reduce((sum, list) => sum + list.length, 0);
    let seen = -1;
    const quietUntil = Date.now() + remaining(20_000);
    while (allReplies() !== seen && Date.now() < quietUntil) {
      seen = allReplies();
      await sleep(3_000);
    }
    const audit = await fx.readAudit();
    // What the crash left in the logs beyond the committed records: the outputs of aborted
    // transactions, redone by the restarted gateway. Only read_uncommitted readers ever see them.
    const rawReplies = (await readEverything(fx, onvaAnswers, remaining(30_000))).filter(
      (m) => m.headers.type === 'reply' && ours(fx.codec.decode<ReplyRecord>(EXCHANGE_RECORD.reply, m.value as Buffer).requestId),
    ).length;
    const rawAudit = (await readEverything(fx, fx.topics.audit, remaining(30_000))).length;

    // --- Replies: exactly one per request, with the status of its kind.
    const missing: string[] = [];
    const duplicated: string[] = [];
    const wrongStatus: string[] = [];
    const wrongTopic: string[] = [];
    const replyOf = new Map<string, { reply: ReplyRecord; kind: Kind }>();
    for (const { kind, record } of requests) {
      const got = fx.replies.get(record.requestId) ?? [];
      if (got.length === 0) missing.push(record.requestId);
      const elsewhere = (fx.replyTopics.get(record.requestId) ?? []).filter((t) => t !== onvaAnswers);
      if (elsewhere.length > 0) wrongTopic.push(`${record.requestId} (${kind.name}) on ${elsewhere.join(',')}`);
      if (got.length > 1) duplicated.push(`${record.requestId} ×${got.length} (${got.map((r) => r.status).join(',')})`);
      const reply = got[0];
      if (!reply) continue;
      if (reply.status !== kind.expected) wrongStatus.push(`${record.requestId} (${kind.name}): ${reply.status}, expected ${kind.expected}`);
      replyOf.set(reply.ticket, { reply, kind });
    }
    const strayReplies = [...fx.replies.keys()].filter((id) => !ours(id) && !preflight.some((r) => r.requestId === id));

    // --- Audit: per ticket, the exchange events.
    const byTicket = new Map<string, AuditRecordValue[]>();
    for (const record of audit) {
      if (!EXCHANGE_EVENTS.has(record.eventType) || record.ticket === null) continue;
      const list = byTicket.get(record.ticket) ?? [];
      list.push(record);
      byTicket.set(record.ticket, list);
    }
    const outcomeNotOne: string[] = [];
    const outcomeMismatch: string[] = [];
    const forwardedWrong: string[] = [];
    for (const [ticket, { reply, kind }] of replyOf) {
      const events = byTicket.get(ticket) ?? [];
      const outcomes = events.filter((e) => OUTCOME_EVENTS.has(e.eventType));
      const forwards = events.filter((e) => e.eventType === 'REQUEST_FORWARDED');
      if (outcomes.length !== 1) outcomeNotOne.push(`${ticket} (${kind.name}): ${outcomes.map((e) => e.eventType).join(',') || 'none'}`);
      const outcome = outcomes[0];
      if (outcome && (outcome.outcome !== reply.status || outcome.eventType !== (kind.forwarded ? 'REPLY_DELIVERED' : 'REQUEST_REFUSED'))) {
        outcomeMismatch.push(`${ticket} (${kind.name}): ${outcome.eventType} ${outcome.outcome}, reply ${reply.status}`);
      }
      if (forwards.length !== (kind.forwarded ? 1 : 0)) forwardedWrong.push(`${ticket} (${kind.name}): ${forwards.length} REQUEST_FORWARDED`);
    }
    const orphanTickets = [...byTicket.keys()].filter((t) => !replyOf.has(t) && !preflightTickets.has(t));
    const lateReplies = audit.filter((r) => r.eventType === 'LATE_SOURCE_REPLY').length;
    const deadLetters = audit.filter((r) => r.eventType === 'DEAD_LETTER').length;

    const forwardedCount = requests.filter((r) => r.kind.forwarded).length;
    const answeredAfterKill = [...replyOf.values()].map((r) => r.reply.answeredAt).filter((t) => t > killAt);
    const firstNewAnswer = answeredAfterKill.length > 0 ? Math.min(...answeredAfterKill) : Number.NaN;
    const problems = { missing, duplicated, wrongStatus, wrongTopic, strayReplies, outcomeNotOne, outcomeMismatch, forwardedWrong, orphanTickets };
    // What the gateways logged at warn and error level, by message: expected noise or a sign of trouble.
    const warnings: Record<string, number> = {};
    for (const g of gateways) {
      for (const line of g.logLines(40)) {
        const key = `${g.label} ${line.level === 40 ? 'warn' : 'error'}: ${String(line.msg).slice(0, 120)}`;
        warnings[key] = (warnings[key] ?? 0) + 1;
      }
    }
    const committedReplies = requests.reduce((sum, { record }) => sum + (fx.replies.get(record.requestId)?.length ?? 0), 0);
    console.info(
      JSON.stringify(
        {
          requests: TOTAL,
          forwarded: forwardedCount,
          refused: TOTAL - forwardedCount,
          publishedAtKill,
          repliesAtKill,
          killTrigger,
          killAfterMs: killAt - startedAt,
          killToReadyMs: readyAt - killAt,
          killToFirstAnswerOfRestartedGatewayMs: firstNewAnswer - killAt,
          killToAllRepliesMs: allRepliedAt - killAt,
          longestStallAfterRestartMs: longestStallMs,
          totalMs: allRepliedAt - startedAt,
          auditRecords: audit.length,
          abortedReplies: rawReplies - committedReplies,
          abortedAuditRecords: rawAudit - audit.length,
          lateSourceReplies: lateReplies,
          deadLetters,
          problems: Object.fromEntries(Object.entries(problems).map(([k, v]) => [k, { count: v.length, sample: v.slice(0, 5) }])),
          gatewayWarnings: warnings,
        },
        null,
        2,
      ),
    );

    expect(Object.fromEntries(Object.entries(problems).map(([k, v]) => [k, v.length]))).toEqual(NO_PROBLEMS);
    expect(replyOf.size).toBe(TOTAL);
    // The sources answered each forwarded request once, long before its deadline: no answer came late.
    expect(lateReplies).toBe(0);
    expect(deadLetters).toBe(0);
    // The crash really fell in the middle: some replies came from each process.
    expect(answeredAfterKill.length).toBeGreaterThan(0);
    expect(repliesAtKill).toBeGreaterThanOrEqual(killThreshold);
  }, 360_000);
});
