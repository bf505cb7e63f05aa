import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReplyRecord, SourceReplyRecord, SourceRequestRecord } from '../../src/contract/exchange-records.js';
import { EXCHANGE_RECORD } from '../../src/contract/names.js';
import type { MessageProducer } from '../../src/messaging/kafka-client.js';
import { redisKeys } from '../../src/store/keys.js';
import { scanKeys } from '../../src/store/redis-connection.js';
import { createExchangeFixture, type ExchangeFixture, type TopicCollector } from '../support/exchange-fixture.js';
import { gatewayProcessEnv, killAllGatewayProcesses, spawnGatewayProcess, type GatewayProcess } from '../support/gateway-process.js';
import { testStack } from '../support/stack-context.js';
import {
  checkExchanges,
  createWorkload,
  gatewayWarnings,
  identification,
  NO_PROBLEMS,
  requestMessages,
  sleep,
  until,
  waitQuiet,
  writeResult,
  type Kind,
  type PlannedRequest,
} from './fault-support.js';

/**
 * A source that never answers, at volume: thousands of exchanges forwarded to the registers, whose
 * simulator does not run. Each must get SOURCE_TIMEOUT at its deadline (not before, not much after),
 * once; answers the source sends later are audited (LATE_SOURCE_REPLY) and dropped; answers sent right
 * around the deadline race the timeout, and whichever claims the exchange first is the one answer.
 * Afterwards nothing of these exchanges is left in Redis: no pending exchange, no deadline entry.
 */

const SOURCE_TIMEOUT_MS = 2_500;
/** Never answered in time. */
const SILENT = 2_000;
/** Answered by the test, as the source, right around their deadlines. */
const RACING = 300;
/** Offsets from the deadline at which the racing answers are sent, in turn. */
const RACE_OFFSETS_MS = [-400, -200, 0, 200, 400];
/** Silent exchanges answered by the source long after their timeout. */
const LATE = 300;
const REGISTERS = 'bcss-registers';

const workload = createWorkload(300, 0);
/** The racing requests name these persons, the silent ones the others: the source tells them apart so. */
const racingPersons = new Set(workload.integratedPersons.slice(0, 50));
const silentPersons = workload.integratedPersons.slice(50);
const timedOut: Kind = { ...(workload.forwarded[0] as Kind), name: 'silent source', expected: 'SOURCE_TIMEOUT', event: 'SOURCE_TIMEOUT' };
const racing: Kind = { ...(workload.forwarded[0] as Kind), name: 'answer at the deadline', expected: 'NO_DATA or SOURCE_TIMEOUT' };

describe('a silent source: thousands of SOURCE_TIMEOUTs, late answers dropped, no pending state left behind', () => {
  let fx: ExchangeFixture;
  let producer: MessageProducer | undefined;
  let processEnv: ReturnType<typeof gatewayProcessEnv> | undefined;
  let gateway: GatewayProcess | undefined;
  let sourceRequests: TopicCollector<SourceRequestRecord>;
  /** The source's answers still to be sent: none may outlive the test. */
  const raceTimers = new Set<NodeJS.Timeout>();

  beforeAll(async () => {
    const stack = testStack();
    fx = await createExchangeFixture(stack, 4);
    processEnv = gatewayProcessEnv(stack, { topicPrefix: fx.topics.prefix, redisPrefix: fx.instanceName, sourceTimeoutMs: SOURCE_TIMEOUT_MS });
    gateway = spawnGatewayProcess({ env: processEnv.env, label: 'gateway' });
    await gateway.waitReady(120_000);
    producer = await fx.client.producer();
    await fx.integrate(workload.integrations);
    // What the gateway forwards to the registers, as the registers would read it (committed only).
    sourceRequests = await fx.collect([fx.topics.sourceRequests(REGISTERS)], (m) =>
      fx.codec.decode<SourceRequestRecord>(EXCHANGE_RECORD.sourceRequest, m.value as Buffer),
    );
  }, 180_000);

  afterAll(async () => {
    for (const timer of raceTimers) clearTimeout(timer);
    await gateway?.terminate(10_000);
    await killAllGatewayProcesses();
    await producer?.disconnect().catch(() => undefined);
    await fx?.close();
    processEnv?.dispose();
  }, 60_000);

  /** Keys of this switch's pending exchanges (one hash per exchange), counted by SCAN. */
  const pendingKeys = async (): Promise<number> => {
    const keys = redisKeys(fx.instanceName);
    const pattern = keys.pending('*');
    let count = 0;
    for await (const found of scanKeys(fx.redis, pattern)) count += found.length;
    return count;
  };

  const answerAsSource = (request: SourceRequestRecord, status: SourceReplyRecord['status']) => {
    const reply: SourceReplyRecord = { ticket: request.ticket, status, newNiss: null, errorMessage: null, payload: null, answeredAt: Date.now() };
    return (producer as MessageProducer).send(fx.topics.sourceReplies(REGISTERS), [
      { key: request.subjectNiss, value: fx.codec.encode(EXCHANGE_RECORD.sourceReply, reply), headers: { type: 'source-reply', ticket: request.ticket } },
    ]);
  };

  it('every exchange answered once (SOURCE_TIMEOUT, or the racing answer); late answers audited and dropped; Redis left clean', async () => {
    const deadline = Date.now() + 240_000;
    const remaining = (cap: number) => Math.max(1_000, Math.min(cap, deadline - Date.now()));
    const g = gateway as GatewayProcess;
    const runId = randomUUID().slice(0, 8);
    const racingList = [...racingPersons];
    const silentOnes: PlannedRequest[] = Array.from({ length: SILENT }, (_, n) => ({
      kind: timedOut,
      record: fx.requestRecord('onva', { ...identification(silentPersons[n % silentPersons.length] as string), requestId: `${runId}-s${n}` }),
    }));
    const racingOnes: PlannedRequest[] = Array.from({ length: RACING }, (_, n) => ({
      kind: racing,
      record: fx.requestRecord('onva', { ...identification(racingList[n % racingList.length] as string), requestId: `${runId}-r${n}` }),
    }));
    // Interleaved, so that racing and silent exchanges share chunks, partitions and sweeps.
    const requests: PlannedRequest[] = [];
    silentOnes.forEach((r, i) => {
      requests.push(r);
      const next = racingOnes[Math.floor(i / 7)];
      if (i % 7 === 0 && next) requests.push(next);
    });
    requests.push(...racingOnes.slice(Math.ceil(SILENT / 7)));
    const ours = (id: string) => id.startsWith(`${runId}-`);
    const answered = () => requests.filter((r) => (fx.replies.get(r.record.requestId)?.length ?? 0) > 0).length;

    // The source's side of the race: each racing request answered NO_DATA at its deadline plus an offset.
    const raceSends: Array<Promise<void>> = [];
    const raceOffsetOf = new Map<string, number>();
    let seenSourceRequests = 0;
    const scheduleRaces = () => {
      const all = sourceRequests.messages;
      for (; seenSourceRequests < all.length; seenSourceRequests++) {
        const request = (all[seenSourceRequests] as (typeof all)[number]).value;
        if (!racingPersons.has(request.subjectNiss)) continue;
        const offset = RACE_OFFSETS_MS[raceOffsetOf.size % RACE_OFFSETS_MS.length] as number;
        raceOffsetOf.set(request.ticket, offset);
        const timer = setTimeout(() => {
          raceTimers.delete(timer);
          raceSends.push(answerAsSource(request, 'NO_DATA'));
        }, Math.max(0, request.deadline + offset - Date.now()));
        raceTimers.add(timer);
      }
    };
    const racer = setInterval(scheduleRaces, 20);

    const startedAt = Date.now();
    let publishedAt = 0;
    let pendingWhileWaiting = 0;
    try {
      for (let start = 0; start < requests.length; start += 500) {
        await (producer as MessageProducer).send(fx.requestsTopic('onva'), requestMessages(fx, requests.slice(start, start + 500)));
      }
      publishedAt = Date.now();
      // The probe of the leak check finds the pending exchanges while they wait (it would not find a leak otherwise).
      await until(async () => (await pendingKeys()) > 0, { timeoutMs: 10_000, what: 'pending exchanges while the source is silent', intervalMs: 50 });
      pendingWhileWaiting = Math.max(await pendingKeys(), await fx.redis.zcard(redisKeys(fx.instanceName).pendingDeadlines));
      await until(() => answered() === requests.length, {
        timeoutMs: remaining(120_000),
        what: `all ${requests.length} replies`,
        intervalMs: 100,
        abort: () => (g.alive() ? null : `the gateway ended:\n${g.output()}`),
      }).catch((error: unknown) => {
        const errors = g.logLines(40).map((l) => `${String(l.msg)} ${JSON.stringify(l.err ?? l.error ?? '')}`.slice(0, 300));
        throw new Error(`${String(error)} (${answered()} answered); the gateway's warnings:\n${errors.slice(-20).join('\n')}`);
      });
    } finally {
      clearInterval(racer);
    }
    const allAnsweredAt = Date.now();
    scheduleRaces();
    expect(raceOffsetOf.size).toBe(RACING);
    await until(() => raceTimers.size === 0, { timeoutMs: remaining(10_000), what: 'every racing answer sent' });
    await Promise.all(raceSends);

    // Late answers: the source wakes up and answers some exchanges long timed out (OK and NO_DATA alike).
    const silentTickets = sourceRequests.messages.map((m) => m.value).filter((r) => !racingPersons.has(r.subjectNiss));
    expect(silentTickets).toHaveLength(SILENT);
    const late = silentTickets.slice(0, LATE);
    await Promise.all(late.map((request, i) => answerAsSource(request, i % 2 === 0 ? 'NO_DATA' : 'ERROR')));
    const lateTickets = new Set(late.map((r) => r.ticket));
    const countLate = async () => (await fx.readAudit()).filter((a) => a.eventType === 'LATE_SOURCE_REPLY' && lateTickets.has(a.ticket ?? '')).length;
    await until(async () => (await countLate()) >= LATE, { timeoutMs: remaining(60_000), what: `${LATE} late answers audited`, intervalMs: 1_000 });
    const allReplies = () => [...fx.replies.values()].reduce((sum, list) => sum + list.length, 0);
    await waitQuiet(allReplies, 3_000, remaining(15_000));

    const audit = await fx.readAudit();
    const raceWinner = new Map<string, string>();
    const check = checkExchanges({
      requests,
      replies: new Map([...fx.replies].filter(([id]) => ours(id))),
      answerTopic: { of: fx.replyTopics, expected: fx.repliesTopic('onva') },
      audit,
      expected: (request, reply: ReplyRecord) => {
        if (request.kind !== racing) return null;
        // Either is right; the reply and its audit record must agree, which checkExchanges verifies.
        raceWinner.set(reply.ticket, reply.status);
        return reply.status === 'NO_DATA' ? { status: 'NO_DATA', event: 'REPLY_DELIVERED' } : { status: 'SOURCE_TIMEOUT', event: 'SOURCE_TIMEOUT' };
      },
    });

    // Late-answer bookkeeping: an answer that lost (or came after) the timeout is audited once and
    // dropped; one that won is not audited as late.
    const lateByTicket = new Map<string, number>();
    for (const a of check.lateSourceReplies) lateByTicket.set(a.ticket ?? '', (lateByTicket.get(a.ticket ?? '') ?? 0) + 1);
    const lateWrong: string[] = [];
    for (const ticket of lateTickets) if (lateByTicket.get(ticket) !== 1) lateWrong.push(`${ticket}: ${lateByTicket.get(ticket) ?? 0} LATE_SOURCE_REPLY`);
    for (const [ticket, status] of raceWinner) {
      const expectedLate = status === 'SOURCE_TIMEOUT' ? 1 : 0;
      if ((lateByTicket.get(ticket) ?? 0) !== expectedLate) lateWrong.push(`${ticket} (race, ${status}): ${lateByTicket.get(ticket) ?? 0} LATE_SOURCE_REPLY`);
    }
    const strayLate = [...lateByTicket.keys()].filter((t) => !lateTickets.has(t) && !raceWinner.has(t));

    // Timing of the timeouts: never before the deadline, and how long after it.
    const timeoutLatency = [...check.replyOf.values()]
      .filter(({ reply }) => reply.status === 'SOURCE_TIMEOUT')
      .map(({ reply }) => reply.answeredAt - (reply.forwardedAt as number))
      .sort((a, b) => a - b);
    const pct = (p: number) => timeoutLatency[Math.min(timeoutLatency.length - 1, Math.floor((p / 100) * timeoutLatency.length))] ?? Number.NaN;
    const raceOutcomes: Record<string, Record<string, number>> = {};
    for (const [ticket, status] of raceWinner) {
      const offset = String(raceOffsetOf.get(ticket));
      raceOutcomes[offset] ??= {};
      (raceOutcomes[offset] as Record<string, number>)[status] = ((raceOutcomes[offset] as Record<string, number>)[status] ?? 0) + 1;
    }

    // Nothing of these exchanges left in Redis: the pending hashes and the deadline index are empty.
    const keys = redisKeys(fx.instanceName);
    const leftPendingKeys = await pendingKeys();
    const leftDeadlines = await fx.redis.zcard(keys.pendingDeadlines);
    const summary = {
      sourceTimeoutMs: SOURCE_TIMEOUT_MS,
      requests: requests.length,
      silent: SILENT,
      racing: RACING,
      lateAnswers: LATE,
      publishMs: publishedAt - startedAt,
      publishedToAllAnsweredMs: allAnsweredAt - publishedAt,
      sourceTimeouts: timeoutLatency.length,
      timeoutAfterForwardMs: { min: timeoutLatency[0], p50: pct(50), p99: pct(99), max: timeoutLatency[timeoutLatency.length - 1] },
      raceOutcomesByOffsetMs: raceOutcomes,
      lateSourceRepliesAudited: check.lateSourceReplies.length,
      lateBookkeepingWrong: { count: lateWrong.length, sample: lateWrong.slice(0, 5) },
      strayLateSourceReplies: strayLate.length,
      statuses: check.statuses,
      pendingSeenWhileWaiting: pendingWhileWaiting,
      pendingKeysLeft: leftPendingKeys,
      deadlineEntriesLeft: leftDeadlines,
      deadLetters: check.deadLetters,
      gatewayAlive: g.alive(),
      problems: check.problems,
      gatewayWarnings: gatewayWarnings([g]),
    };
    writeResult('silent-source', summary);
    console.info(JSON.stringify(summary, null, 2));

    expect(check.counts).toEqual(NO_PROBLEMS);
    expect(check.replyOf.size).toBe(requests.length);
    expect(timeoutLatency.length).toBeGreaterThanOrEqual(SILENT);
    // SOURCE_TIMEOUT is never answered before the source's time is up.
    expect(timeoutLatency[0]).toBeGreaterThanOrEqual(SOURCE_TIMEOUT_MS);
    expect(lateWrong).toEqual([]);
    expect(strayLate).toEqual([]);
    expect(check.deadLetters).toBe(0);
    expect(leftPendingKeys).toBe(0);
    expect(leftDeadlines).toBe(0);
    expect(g.alive()).toBe(true);
  }, 300_000);
});
