import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReplyRecord } from '../../src/contract/exchange-records.js';
import { EXCHANGE_RECORD } from '../../src/contract/names.js';
import { silentLogger } from '../../src/logging/logger.js';
import type { MessageProducer } from '../../src/messaging/kafka-client.js';
import { readTopicToEnd } from '../../src/messaging/topic-reader.js';
import { startSourceSimulators, type RunningSourceSimulators } from '../../src/sources/simulator-service.js';
import { createExchangeFixture, type ExchangeFixture } from '../support/exchange-fixture.js';
import {
  gatewayProcessEnv,
  killAllGatewayProcesses,
  spawnGatewayProcess,
  type GatewayProcess,
  type ProcessExit,
} from '../support/gateway-process.js';
import { testStack } from '../support/stack-context.js';
import {
  checkExchanges,
  createWorkload,
  gatewayWarnings,
  NO_PROBLEMS,
  requestMessages,
  sleep,
  until,
  waitQuiet,
  writeResult,
  type PlannedRequest,
} from './fault-support.js';
import { describeGroup, partitionsOf, type GroupState } from './group-membership.js';

/**
 * Two gateway processes of one switch (same instance name: same consumer groups, same transactional
 * ids) share the partitions; one is SIGKILLed in the middle of a stream of mixed requests and never
 * comes back. The survivor must take over the dead one's partitions by itself — after the broker has
 * expired the dead member's session — and redo what the dead one left uncommitted: every request gets
 * exactly one reply with the expected status, and exactly one outcome audit record.
 *
 * The victim is the process that joined second, so the survivor gets back partitions it owned before
 * (and whose transactional ids the victim has fenced since): the case where a producer kept from the
 * first ownership would fail on its first transaction.
 */

const TOTAL = 4_000;
const BATCH = 100;
/** The stream lasts about 8 s: the kill falls in its middle, and the takeover (a session, 10 s) after its end. */
const BATCH_PAUSE_MS = 200;
const PARTITIONS = 4;
/** The kill comes once this share of the replies has arrived. */
const KILL_AT = 0.3;
/** Beyond the test's length (and below the answer deadline the test gateways get): the expected status of a forwarded request must not depend on the takeover's length. */
const SOURCE_TIMEOUT_MS = 300_000;

const workload = createWorkload();

describe('gateway takeover: two processes share the partitions, one SIGKILLed mid-stream, the other takes over', () => {
  let fx: ExchangeFixture;
  let simulators: RunningSourceSimulators | undefined;
  let producer: MessageProducer | undefined;
  let processEnv: ReturnType<typeof gatewayProcessEnv> | undefined;
  const gateways: GatewayProcess[] = [];
  let closing = false;
  let requestGroup = '';
  let replyGroup = '';
  let survivorMember = '';
  const warmUpTickets: string[] = [];

  const startGatewayProcess = async (label: string): Promise<GatewayProcess> => {
    if (closing) throw new Error(`${label} not started: the test is being torn down`);
    const gateway = spawnGatewayProcess({ env: (processEnv as NonNullable<typeof processEnv>).env, label });
    gateways.push(gateway);
    await gateway.waitReady(120_000);
    return gateway;
  };

  beforeAll(async () => {
    const stack = testStack();
    fx = await createExchangeFixture(stack, PARTITIONS);
    processEnv = gatewayProcessEnv(stack, { topicPrefix: fx.topics.prefix, redisPrefix: fx.instanceName, sourceTimeoutMs: SOURCE_TIMEOUT_MS });
    requestGroup = `${fx.topics.prefix}.gateway.requests`;
    replyGroup = `${fx.topics.prefix}.gateway.replies`;
    const [, started] = await Promise.all([
      startGatewayProcess('gateway#1'),
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
    // Work on every partition while gateway#1 is alone: it then holds a transactional producer for each,
    // which gateway#2 fences when it takes half of them over.
    const warmUp: PlannedRequest[] = Array.from({ length: 8 * PARTITIONS }, (_, n) => {
      const kind = workload.forwarded[0] as PlannedRequest['kind'];
      return { kind, partition: n % PARTITIONS, record: fx.requestRecord('onva', { ...kind.fields(n), requestId: `warm-up-${n}` }) };
    });
    await (producer as MessageProducer).send(fx.requestsTopic('onva'), requestMessages(fx, warmUp));
    await until(() => warmUp.every((r) => (fx.replies.get(r.record.requestId)?.length ?? 0) > 0), {
      timeoutMs: 60_000,
      what: 'the warm-up replies',
      intervalMs: 100,
    });
    for (const r of warmUp) warmUpTickets.push(...(fx.replies.get(r.record.requestId) ?? []).map((reply) => reply.ticket));
    // Alone in the group: every partition is gateway#1's, and its member id names it from now on.
    const alone = await until(async () => (await describeGroup(fx.client, requestGroup)).members.length === 1, {
      timeoutMs: 30_000,
      what: 'gateway#1 alone in the request group',
      intervalMs: 250,
    }).then(() => describeGroup(fx.client, requestGroup));
    survivorMember = (alone.members[0] as { memberId: string }).memberId;
    await startGatewayProcess('gateway#2');
    // gateway#2 holds some of the partitions of ONVA's consultation-requests topic, where its requests go (round-robin over every requests topic's).
    await until(
      async () => {
        const group = await describeGroup(fx.client, requestGroup);
        const other = group.members.find((m) => m.memberId !== survivorMember);
        return group.state === 'Stable' && group.members.length === 2 && partitionsOf(other, fx.requestsTopic('onva')).length > 0;
      },
      { timeoutMs: 60_000, what: 'both gateways sharing the request partitions', intervalMs: 250 },
    );
  }, 180_000);

  afterAll(async () => {
    closing = true;
    await Promise.all(gateways.map((g) => g.terminate(10_000)));
    await killAllGatewayProcesses();
    await simulators?.stop().catch(() => undefined);
    await producer?.disconnect().catch(() => undefined);
    await fx?.close();
    processEnv?.dispose();
  }, 60_000);

  it('every request has exactly one reply and one outcome audit record; the survivor took over every partition', async () => {
    const deadline = Date.now() + 270_000;
    const remaining = (cap: number) => Math.max(1_000, Math.min(cap, deadline - Date.now()));
    const [survivor, victim] = gateways as [GatewayProcess, GatewayProcess];
    const onvaRequests = fx.requestsTopic('onva');

    const kinds = [...workload.forwarded, ...workload.refused];
    const preflight = await Promise.all(kinds.map((kind) => fx.ask('onva', kind.fields(0), remaining(60_000))));
    expect(preflight.map((r) => r.status)).toEqual(kinds.map((k) => k.expected));

    const runId = randomUUID().slice(0, 8);
    // Placed on the partitions in turn, so that every request is known to be the victim's or the survivor's.
    const requests: PlannedRequest[] = Array.from({ length: TOTAL }, (_, n) => {
      const kind = workload.kindOf(n);
      return { kind, partition: n % PARTITIONS, record: fx.requestRecord('onva', { ...kind.fields(n), requestId: `${runId}-${n}` }) };
    });
    const ours = (requestId: string) => requestId.startsWith(`${runId}-`);
    const answered = (): number => {
      let count = 0;
      for (const id of fx.replies.keys()) if (ours(id)) count++;
      return count;
    };

    const startedAt = Date.now();
    let published = 0;
    const publishing = (async () => {
      for (let start = 0; start < TOTAL; start += BATCH) {
        await (producer as MessageProducer).send(onvaRequests, requestMessages(fx, requests.slice(start, start + BATCH)));
        published += Math.min(BATCH, TOTAL - start);
        await sleep(BATCH_PAUSE_MS);
      }
    })();
    publishing.catch(() => undefined);

    // The kill, once the threshold is passed, right after new output reached the log (a read_uncommitted
    // watcher of the audit topic sees it before its transaction commits): most likely while the victim
    // holds an open transaction. If nothing comes within 2 s, the kill comes anyway.
    const killThreshold = Math.ceil(TOTAL * KILL_AT);
    let armed = false;
    let triggered: () => void = () => undefined;
    const fresh = new Promise<string>((resolve) => (triggered = () => resolve('fresh uncommitted output')));
    const watcher = await fx.client.consumer({ groupId: `${fx.instanceName}.kill-trigger-${runId}`, topics: [fx.topics.audit], readCommitted: false });
    let killTrigger = 'fallback';
    let killAt = 0;
    let repliesAtKill = 0;
    let publishedAtKill = 0;
    let exit: Promise<ProcessExit> = Promise.resolve({ code: null, signal: null });
    let before: GroupState = { state: 'Unknown', members: [] };
    let victimMember: GroupState['members'][number] | undefined;
    let victimPartitions: number[] = [];
    let replyGroupBefore: GroupState = { state: 'Unknown', members: [] };
    try {
      await watcher.run(async () => {
        if (armed) triggered();
      });
      await until(() => answered() >= killThreshold, {
        timeoutMs: remaining(120_000),
        what: `${killThreshold} replies before the kill`,
        intervalMs: 20,
        abort: () => (survivor.alive() && victim.alive() ? null : `a gateway ended by itself:\n${survivor.output()}\n${victim.output()}`),
      });
      // Who holds what, taken before arming so that the kill is not delayed by it.
      before = await describeGroup(fx.client, requestGroup);
      victimMember = before.members.find((m) => m.memberId !== survivorMember);
      victimPartitions = partitionsOf(victimMember, onvaRequests);
      replyGroupBefore = await describeGroup(fx.client, replyGroup);
      armed = true;
      killTrigger = await Promise.race([fresh, sleep(2_000).then(() => 'fallback')]);
      killAt = Date.now();
      exit = victim.kill();
      repliesAtKill = answered();
      publishedAtKill = published;
    } finally {
      await watcher.disconnect();
    }
    const exited: ProcessExit = await exit;
    expect(exited.signal).toBe('SIGKILL');
    expect(before.members).toHaveLength(2);
    expect(victimPartitions.length).toBeGreaterThan(0);

    // The broker forgets the dead member when its session (10 s) expires; the survivor is then given all.
    const rebalanceMs = await until(
      async () => {
        const group = await describeGroup(fx.client, requestGroup);
        return group.state === 'Stable' && group.members.length === 1 && partitionsOf(group.members[0], onvaRequests).length === PARTITIONS;
      },
      { timeoutMs: remaining(60_000), what: 'the survivor alone with every request partition', intervalMs: 250 },
    ).catch(async (error: unknown) => {
      const group = await describeGroup(fx.client, requestGroup).catch(() => null);
      const errors = survivor.logLines(50).map((l) => `${String(l.msg)} ${JSON.stringify(l.err ?? l.error ?? '')}`.slice(0, 400));
      throw new Error(`${String(error)}; the group: ${JSON.stringify(group)}; the survivor's errors:\n${errors.slice(-15).join('\n')}`);
    });
    await publishing;

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
      if (now > deadline - 60_000) {
        throw new Error(`${count} of ${TOTAL} replies ${Math.round((now - killAt) / 1000)} s after the kill (${repliesAtKill} at the kill, no progress for ${now - lastProgressAt} ms):\n${survivor.output()}`);
      }
      if (!survivor.alive()) throw new Error(`the survivor ended by itself:\n${survivor.output()}`);
      await sleep(50);
    }
    const allRepliedAt = Date.now();
    const allReplies = () => [...fx.replies.values()].reduce((sum, list) => sum + list.length, 0);
    await waitQuiet(allReplies, 3_000, remaining(20_000));

    const audit = await fx.readAudit();
    let rawReplies = 0;
    await readTopicToEnd({
      client: fx.client,
      topic: fx.repliesTopic('onva'),
      timeoutMs: remaining(30_000),
      readUncommitted: true,
      async onBatch(batch) {
        for (const m of batch.messages) {
          if (m.value && m.headers.type === 'reply' && ours(fx.codec.decode<ReplyRecord>(EXCHANGE_RECORD.reply, m.value).requestId)) rawReplies++;
        }
      },
    });
    const check = checkExchanges({
      requests,
      replies: new Map([...fx.replies].filter(([id]) => ours(id))),
      answerTopic: { of: fx.replyTopics, expected: fx.repliesTopic('onva') },
      audit,
      otherTickets: new Set([...preflight.map((r) => r.ticket), ...warmUpTickets]),
    });

    // The takeover, as the victim's requesters saw it: from the kill to the first decision (forwarded or
    // refused) about a request on one of its partitions.
    const victimSet = new Set(victimPartitions);
    const onVictim = new Set(
      [...check.replyOf].filter(([, { record }]) => victimSet.has(Number(record.requestId.slice(runId.length + 1)) % PARTITIONS)).map(([ticket]) => ticket),
    );
    const victimDecisionsAfterKill = audit
      .filter((a) => a.ticket !== null && onVictim.has(a.ticket) && (a.eventType === 'REQUEST_FORWARDED' || a.eventType === 'REQUEST_REFUSED'))
      .map((a) => a.at)
      .filter((t) => t > killAt);
    const firstVictimDecision = victimDecisionsAfterKill.length > 0 ? Math.min(...victimDecisionsAfterKill) : Number.NaN;
    const committedReplies = requests.reduce((sum, { record }) => sum + (fx.replies.get(record.requestId)?.length ?? 0), 0);
    const after = await describeGroup(fx.client, replyGroup);
    const summary = {
      requests: TOTAL,
      forwarded: requests.filter((r) => r.kind.forwarded).length,
      refused: requests.filter((r) => !r.kind.forwarded).length,
      partitions: PARTITIONS,
      victimRequestPartitions: victimPartitions,
      replyGroupMembersBeforeKill: replyGroupBefore.members.length,
      replyGroupMembersAfter: after.members.length,
      publishedAtKill,
      repliesAtKill,
      killTrigger,
      killAfterMs: killAt - startedAt,
      killToSurvivorAloneInGroupMs: rebalanceMs,
      killToFirstDecisionOnVictimPartitionsMs: firstVictimDecision - killAt,
      victimPartitionDecisionsAfterKill: victimDecisionsAfterKill.length,
      killToAllRepliesMs: allRepliedAt - killAt,
      longestStallAfterKillMs: longestStallMs,
      totalMs: allRepliedAt - startedAt,
      statuses: check.statuses,
      auditRecords: audit.length,
      abortedReplies: rawReplies - committedReplies,
      lateSourceReplies: check.lateSourceReplies.length,
      deadLetters: check.deadLetters,
      survivorAlive: survivor.alive(),
      problems: check.problems,
      gatewayWarnings: gatewayWarnings(gateways),
    };
    writeResult('gateway-takeover', summary);
    console.info(JSON.stringify(summary, null, 2));

    expect(check.counts).toEqual(NO_PROBLEMS);
    expect(check.replyOf.size).toBe(TOTAL);
    expect(check.lateSourceReplies).toHaveLength(0);
    expect(check.deadLetters).toBe(0);
    // The survivor was never restarted: it took over by itself.
    expect(survivor.alive()).toBe(true);
    // The kill fell mid-stream, and the survivor decided requests on the victim's partitions after it.
    expect(publishedAtKill).toBeLessThan(TOTAL);
    expect(victimDecisionsAfterKill.length).toBeGreaterThan(0);
  }, 300_000);
});
