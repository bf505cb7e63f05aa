import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSettings } from '../../src/app/settings.js';
import type { AuditRecordValue } from '../../src/contract/audit-records.js';
import type { ReplyRecord } from '../../src/contract/exchange-records.js';
import { EXCHANGE_RECORD } from '../../src/contract/names.js';
import { readTopicToEnd } from '../../src/messaging/topic-reader.js';
import type { RunningSourceSimulators } from '../../src/sources/simulator-service.js';
import {
  clusterStatus,
  startClusterKafkaNode,
  startClusterRedisNode,
  stopClusterKafkaNode,
  stopClusterRedisNode,
} from '../../src/stack/cluster-stack.js';
import { redisKeys } from '../../src/store/keys.js';
import { parseClusterUrl, redisNodeInfo } from '../../src/store/redis-connection.js';
import { createExchangeFixture, type ExchangeFixture } from '../support/exchange-fixture.js';
import { gatewayProcessEnv, type GatewayProcess } from '../support/gateway-process.js';
import { testStack } from '../support/stack-context.js';
import {
  checkExchanges,
  createWorkload,
  EXCHANGE_EVENTS,
  gatewayPool,
  gatewayWarnings,
  NO_PROBLEMS,
  planRequests,
  prepareSwitch,
  readCommittedReplies,
  requestMessages,
  sleep,
  until,
  waitQuiet,
  writeResult,
  type ExchangeCheck,
  type PlannedRequest,
} from './fault-support.js';
import { describeGroup, partitionsOf } from './group-membership.js';

/**
 * Faults of the clustered stack (`stack up --cluster`: three KRaft nodes, every partition on three
 * brokers with two in sync required; a Redis Cluster of three masters with a replica each), each under
 * a stream of mixed requests, each ending with every request answered exactly once and one outcome
 * audit record per reply:
 *   1. the broker leading most of ONVA's requests partitions is SIGKILLed, and started again 5 s later;
 *   2. the Redis master holding the pending exchanges' deadline index is SIGKILLed: its replica takes
 *      over after cluster-node-timeout (5 s); until then nothing that needs one of its slots is decided;
 *      the killed node is started again and rejoins as a replica;
 *   3. three gateway processes share the partitions, one is SIGKILLed, the two others take over.
 * One switch (topics, Redis prefix, one gateway process) serves all three; each scenario puts the
 * cluster back as it found it, and afterAll makes sure of it: later test files depend on it.
 *
 * Only the local clustered stack can be stopped and started from here; elsewhere the file is skipped.
 */

const stack = testStack();
const stackDir = stack.mode === 'cluster' ? stack.stackDir : null;
/** The heap the stack's brokers were started with (BCSS_KAFKA_HEAP), for a restart. */
const { kafkaHeap } = loadSettings();

const PARTITIONS = 4;
const SOURCE_TIMEOUT_MS = 300_000;
/** A decision stamped this soon after a kill may rest on a read made before it. */
const DECISION_GRACE_MS = 500;

const workload = createWorkload();

// --- the Redis Cluster, as its nodes see it (redis-cli: only src/store speaks to Redis through ioredis) ---

const redisPassword = parseClusterUrl(stack.redisUrl)?.password ?? '';
const nodeUrl = (port: number) => `redis://:${encodeURIComponent(redisPassword)}@127.0.0.1:${port}`;

function redisCli(port: number, ...args: string[]): string {
  const result = spawnSync('redis-cli', ['-p', String(port), ...args], {
    encoding: 'utf8',
    // REDISCLI_AUTH rather than -a: the password stays out of `ps`.
    env: { ...process.env, REDISCLI_AUTH: redisPassword },
    timeout: 5_000,
  });
  if (result.status !== 0) throw new Error(`redis-cli -p ${port} ${args.join(' ')}: exit ${result.status} ${result.stderr}`);
  return result.stdout;
}

interface RedisNode {
  readonly id: string;
  readonly port: number;
  readonly flags: ReadonlySet<string>;
  /** The master's id, for a replica. */
  readonly master: string | null;
  readonly slots: ReadonlyArray<readonly [number, number]>;
}

/** CLUSTER NODES as one live node sees it. */
function clusterNodes(): RedisNode[] {
  const live = (clusterStatus(stackDir as string)?.redis ?? []).filter((r) => r.pid !== null);
  let lastError: unknown;
  for (const { port } of live) {
    try {
      return redisCli(port, 'cluster', 'nodes')
        .trim()
        .split('\n')
        .map((line) => {
          const [id, address, flags, master, , , , , ...slots] = line.trim().split(' ') as string[];
          return {
            id: id as string,
            port: Number(/:(\d+)@/.exec(address as string)?.[1]),
            flags: new Set((flags as string).split(',')),
            master: master === '-' ? null : (master as string),
            // Importing/migrating entries ("[…]") do not occur here: nothing resharding.
            slots: slots.filter((s) => !s.startsWith('[')).map((s) => {
              const [from, to] = s.split('-').map(Number) as [number, number?];
              return [from, to ?? from] as const;
            }),
          };
        });
    } catch (error) {
      lastError = error;
    }
  }
  throw new Error('no live Redis node answered CLUSTER NODES', { cause: lastError });
}

const isMaster = (n: RedisNode) => n.flags.has('master') && !n.flags.has('fail') && !n.flags.has('fail?');

/** The key's slot as Redis computes it: CRC16 (XMODEM) of the hash tag, or of the key, modulo 16384. */
function keySlot(key: string): number {
  const open = key.indexOf('{');
  const close = open >= 0 ? key.indexOf('}', open + 1) : -1;
  const hashed = close > open + 1 ? key.slice(open + 1, close) : key;
  let crc = 0;
  for (const byte of Buffer.from(hashed)) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16_384;
}

const holds = (node: RedisNode, slot: number) => node.slots.some(([from, to]) => slot >= from && slot <= to);

/** Healthy: every node running and reporting cluster_state:ok, three masters serving all slots, each with a replica. */
async function redisClusterHealth(): Promise<{ ok: boolean; detail: string }> {
  const status = clusterStatus(stackDir as string);
  const stopped = (status?.redis ?? []).filter((r) => r.pid === null).map((r) => r.port);
  if (stopped.length > 0) return { ok: false, detail: `not running: ${stopped.join(', ')}` };
  const states = await Promise.all(
    (status?.redis ?? []).map(async ({ port }) => (await redisNodeInfo(nodeUrl(port), 'CLUSTER INFO').catch(() => ({}) as Record<string, string>)).cluster_state),
  );
  const nodes = clusterNodes();
  const masters = nodes.filter(isMaster);
  const served = masters.reduce((sum, m) => sum + m.slots.reduce((s, [from, to]) => s + to - from + 1, 0), 0);
  const replicated = masters.filter((m) => nodes.some((n) => n.master === m.id && n.flags.has('slave') && !n.flags.has('fail') && !n.flags.has('fail?')));
  const failing = nodes.filter((n) => n.flags.has('fail') || n.flags.has('fail?')).map((n) => n.port);
  const ok = states.every((s) => s === 'ok') && masters.length === 3 && served === 16_384 && replicated.length === 3 && failing.length === 0;
  return { ok, detail: `states ${states.join(',')}; masters ${masters.map((m) => m.port).join(',')} (${replicated.length} with a replica); ${served} slots; failing ${failing.join(',') || 'none'}` };
}

/** Starts whatever node of the cluster is not running, and waits until the Redis Cluster is healthy again. */
async function ensureClusterHealthy(): Promise<void> {
  const status = clusterStatus(stackDir as string);
  for (const k of status?.kafka ?? []) if (k.pid === null) await startClusterKafkaNode(stackDir as string, k.nodeId, kafkaHeap, 150_000);
  for (const r of status?.redis ?? []) if (r.pid === null) await startClusterRedisNode(stackDir as string, r.port, 30_000);
  let detail = '';
  await until(
    async () => {
      const health = await redisClusterHealth().catch((error: unknown) => ({ ok: false, detail: String(error) }));
      detail = health.detail;
      return health.ok;
    },
    { timeoutMs: 60_000, what: 'a healthy Redis Cluster', intervalMs: 500 },
  ).catch((error: unknown) => {
    throw new Error(`${String(error)}: ${detail}`);
  });
}

// --- timelines, from the gateway's own stamps ---

/** After `at`: the first reply, the longest time without any reply (from `at` on), the last reply. */
function replyTimeline(check: ExchangeCheck, at: number) {
  const times = [...check.replyOf.values()].map(({ reply }) => reply.answeredAt).filter((t) => t > at).sort((a, b) => a - b);
  let longestGapMs = 0;
  let previous = at;
  for (const t of times) {
    longestGapMs = Math.max(longestGapMs, t - previous);
    previous = t;
  }
  return {
    answeredAfter: times.length,
    firstReplyMs: times.length > 0 ? (times[0] as number) - at : Number.NaN,
    longestGapMs,
    lastReplyMs: previous - at,
  };
}

describe.skipIf(stackDir === null)(`cluster faults (local clustered stack only; mode here: ${stack.mode})`, () => {
  let fx: ExchangeFixture;
  let simulators: RunningSourceSimulators | undefined;
  let processEnv: ReturnType<typeof gatewayProcessEnv> | undefined;
  const pool = gatewayPool(() => (processEnv as NonNullable<typeof processEnv>).env);
  const { gateways } = pool;
  /** Tickets of exchanges outside the scenario being checked (the preflight, earlier scenarios). */
  const knownTickets = new Set<string>();
  const lastErrors = (g: GatewayProcess) =>
    g
      .logLines(50)
      .map((l) => `${g.label}: ${String(l.msg)} ${JSON.stringify(l.err ?? l.error ?? '')}`.slice(0, 300))
      .slice(-15)
      .join('\n');

  beforeAll(async () => {
    await ensureClusterHealthy();
    fx = await createExchangeFixture(stack, PARTITIONS);
    processEnv = gatewayProcessEnv(stack, { topicPrefix: fx.topics.prefix, redisPrefix: fx.instanceName, sourceTimeoutMs: SOURCE_TIMEOUT_MS });
    const prepared = await prepareSwitch(fx, workload, pool.start('gateway#1'));
    simulators = prepared.simulators;
    for (const ticket of prepared.preflightTickets) knownTickets.add(ticket);
  }, 180_000);

  afterAll(async () => {
    try {
      await ensureClusterHealthy();
    } finally {
      await pool.close();
      await simulators?.stop().catch(() => undefined);
      await fx?.close().catch(() => undefined);
      processEnv?.dispose();
    }
  }, 180_000);

  /**
   * A scenario's run: its own request ids, and how many of them the fixture's live reply reader has
   * seen (enough to follow progress; the verdict reads the topic afresh).
   */
  const newRun = async () => {
    for (const a of await fx.readAudit()) if (a.ticket !== null) knownTickets.add(a.ticket);
    const runId = randomUUID().slice(0, 8);
    const answeredOf = (list: readonly PlannedRequest[]) => list.filter((r) => (fx.replies.get(r.record.requestId)?.length ?? 0) > 0).length;
    // After a broker loss the live reader may lag or rejoin: at most every 3 s, the topic itself is read.
    let freshAt = Date.now();
    const atLeast = async (list: readonly PlannedRequest[], count: number) => {
      if (answeredOf(list) >= count) return true;
      if (Date.now() - freshAt < 3_000) return false;
      freshAt = Date.now();
      const replies = await readCommittedReplies(fx, 'onva', 30_000).catch(() => new Map<string, ReplyRecord[]>());
      return list.filter((r) => replies.has(r.record.requestId)).length >= count;
    };
    return { runId, answeredOf, atLeast, since: Date.now() };
  };

  /**
   * Waits until every request is answered, then a little longer (a duplicate would come after the last
   * first reply), and checks the run exactly-once against the replies read afresh from the beginning of
   * ONVA's consultations topic — the fixture's live reader may have re-read part of it after a broker
   * loss — and the whole audit trail. A test reader meeting the fault (a coordinator moving) is retried.
   */
  const settleRun = async (
    requests: readonly PlannedRequest[],
    { timeoutMs, alive }: { timeoutMs: number; alive: readonly GatewayProcess[] },
  ): Promise<{ check: ExchangeCheck; allAnsweredAt: number; audit: AuditRecordValue[] }> => {
    const deadline = Date.now() + timeoutMs;
    const reading = async <T,>(read: () => Promise<T>): Promise<T> => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await read();
        } catch (error) {
          if (attempt >= 10 || Date.now() > deadline) throw error;
          await sleep(1_000);
        }
      }
    };
    const ids = new Set(requests.map((r) => r.record.requestId));
    const live = () => requests.filter((r) => (fx.replies.get(r.record.requestId)?.length ?? 0) > 0).length;
    const fresh = async () => [...(await reading(() => readCommittedReplies(fx, 'onva', 60_000))).keys()].filter((id) => ids.has(id)).length;
    let lastCount = -1;
    let lastProgressAt = Date.now();
    let freshAt = Date.now();
    for (;;) {
      let count = live();
      // The live reader stalled (it rejoins after a broker loss, say): the topic itself tells, every 5 s.
      if (count < requests.length && Date.now() - Math.max(lastProgressAt, freshAt) > 5_000) {
        count = Math.max(count, await fresh());
        freshAt = Date.now();
      }
      if (count >= requests.length) break;
      if (count !== lastCount) {
        lastCount = count;
        lastProgressAt = Date.now();
      }
      const dead = alive.filter((g) => !g.alive());
      if (dead.length > 0) throw new Error(`${dead.map((g) => g.label).join(', ')} ended by itself:\n${dead.map((g) => g.output(4_000)).join('\n')}`);
      if (Date.now() > deadline) {
        const unanswered = requests.filter((r) => (fx.replies.get(r.record.requestId)?.length ?? 0) === 0);
        throw new Error(
          `${count} of ${requests.length} requests answered, no progress for ${Date.now() - lastProgressAt} ms; ` +
            `the unanswered: ${JSON.stringify(await whereStuck(unanswered).catch((error: unknown) => String(error)))}; last errors:\n${alive.map(lastErrors).join('\n')}`,
        );
      }
      await sleep(100);
    }
    const allAnsweredAt = Date.now();
    await waitQuiet(() => [...ids].reduce((sum, id) => sum + (fx.replies.get(id)?.length ?? 0), 0), 3_000, 15_000);
    const replies = await reading(() => readCommittedReplies(fx, 'onva', 60_000));
    const audit = await reading(() => fx.readAudit());
    const check = checkExchanges({
      requests,
      replies: new Map<string, ReplyRecord[]>([...replies].filter(([id]) => ids.has(id))),
      audit,
      otherTickets: knownTickets,
    });
    for (const ticket of check.replyOf.keys()) knownTickets.add(ticket);
    return { check, allAnsweredAt, audit };
  };

  /** Where unanswered requests stand: decided (audited), their source request written, the source's answer written. */
  const whereStuck = async (unanswered: readonly PlannedRequest[]) => {
    const ids = new Set(unanswered.map((r) => r.record.requestId));
    const audit = await fx.readAudit();
    const forwarded = new Set(audit.filter((a) => a.eventType === 'REQUEST_FORWARDED' && a.requestId !== null && ids.has(a.requestId)).map((a) => a.ticket));
    const ticketsOn = async (topic: string, record: string) => {
      const tickets = new Set<string>();
      await readTopicToEnd({
        client: fx.client,
        topic,
        timeoutMs: 30_000,
        async onBatch(batch) {
          for (const m of batch.messages) if (m.value) tickets.add(fx.codec.decode<{ ticket: string }>(record, m.value).ticket);
        },
      });
      return tickets;
    };
    const sent = await ticketsOn(fx.topics.sourceRequests('bcss-registers'), EXCHANGE_RECORD.sourceRequest);
    const answered = await ticketsOn(fx.topics.sourceReplies('bcss-registers'), EXCHANGE_RECORD.sourceReply);
    return {
      unanswered: unanswered.length,
      kinds: [...new Set(unanswered.map((r) => r.kind.name))],
      sample: unanswered.slice(0, 5).map((r) => r.record.requestId),
      forwarded: forwarded.size,
      sourceRequestWritten: [...forwarded].filter((t) => t !== null && sent.has(t)).length,
      sourceAnswered: [...forwarded].filter((t) => t !== null && answered.has(t)).length,
      pending: await fx.pending.size(),
    };
  };

  /** From `after` on, the first decision (forwarded or refused) about a request on one of `partitions`. */
  const firstDecisionOn = (check: ExchangeCheck, audit: readonly AuditRecordValue[], partitions: readonly number[], after: number) => {
    const onThem = new Set(
      [...check.replyOf].filter(([, { record }]) => partitions.includes(Number(record.requestId.split('-').pop()) % PARTITIONS)).map(([ticket]) => ticket),
    );
    const times = audit
      .filter((a) => a.ticket !== null && onThem.has(a.ticket) && (a.eventType === 'REQUEST_FORWARDED' || a.eventType === 'REQUEST_REFUSED') && a.at > after)
      .map((a) => a.at);
    return { count: times.length, firstMs: times.length > 0 ? Math.min(...times) - after : Number.NaN };
  };

  /**
   * Of the trail (which holds the earlier scenarios' too), what concerns this run: its exchanges' late
   * source answers, the dead letters since it began, and the exchanges forwarded more than once (the
   * times of their forwards after `at`: which attempt was redone when).
   */
  const runExtras = (check: ExchangeCheck, audit: readonly AuditRecordValue[], since: number, at: number) => {
    const forwards = new Map<string, number[]>();
    for (const a of audit) {
      if (a.eventType !== 'REQUEST_FORWARDED' || a.ticket === null || !check.replyOf.has(a.ticket)) continue;
      forwards.set(a.ticket, [...(forwards.get(a.ticket) ?? []), a.at - at]);
    }
    const twice = [...forwards.values()].filter((times) => times.length > 1);
    return {
      lateSourceReplies: check.lateSourceReplies.filter((a) => a.ticket !== null && check.replyOf.has(a.ticket)).length,
      deadLetters: audit.filter((a) => a.eventType === 'DEAD_LETTER' && a.at >= since).length,
      forwardedTwice: { count: twice.length, forwardsAfterFaultMs: twice.slice(0, 5) },
    };
  };

  const verdict = (name: string, check: ExchangeCheck, requests: number, extras: ReturnType<typeof runExtras>, summary: Record<string, unknown>) => {
    writeResult(name, summary);
    console.info(JSON.stringify(summary, null, 2));
    expect(check.counts).toEqual(NO_PROBLEMS);
    expect(check.replyOf.size).toBe(requests);
    expect(extras.lateSourceReplies).toBe(0);
    expect(extras.deadLetters).toBe(0);
  };

  it('SIGKILL of the broker leading most of the requests partitions, restarted 5 s later: every request answered exactly once', async () => {
    /**
     * Published before the kill: a backlog the gateway is in the middle of when the broker goes, and
     * works through while it is down. Nothing is published during the outage: the test's own producer,
     * sending while leaders moved, once wrote a batch three times over (three records, three tickets), a
     * duplicate of the input that no switch could tell from three requests.
     */
    const BEFORE = 3_000;
    const KILL_AT = 300;
    const DOWN_MS = 5_000;
    const g = gateways[0] as GatewayProcess;
    const { runId, answeredOf, since } = await newRun();
    const requests = planRequests(fx, workload, runId, 0, BEFORE, PARTITIONS);
    const before = requests;
    const requestsTopic = fx.requestsTopic('onva');

    const leaders = await fx.admin.partitionLeaders(requestsTopic);
    const ledBy = (broker: number) => leaders.filter((l) => l.leader === broker).map((l) => l.partition);
    const victim = [...new Set(leaders.map((l) => l.leader))].sort((a, b) => ledBy(b).length - ledBy(a).length)[0] as number;
    const victimPartitions = ledBy(victim);
    expect(leaders.every((l) => l.isr.length === 3)).toBe(true);

    const producer = await fx.client.producer();
    const startedAt = Date.now();
    await producer.send(requestsTopic, requestMessages(fx, before));
    await until(() => answeredOf(before) >= KILL_AT, {
      timeoutMs: 60_000,
      what: `${KILL_AT} replies before the kill`,
      intervalMs: 10,
      abort: () => (g.alive() ? null : `the gateway ended:\n${g.output()}`),
    });
    // The test's own producer is not under test: it leaves before the broker goes.
    await producer.disconnect().catch(() => undefined);

    const killAt = Date.now();
    const answeredAtKill = answeredOf(before);
    let stopped: Awaited<ReturnType<typeof stopClusterKafkaNode>> | undefined;
    let leadersMovedMs: number;
    let restartAt = 0;
    let readyAt = 0;
    stopped = await stopClusterKafkaNode(stackDir as string, victim, 'SIGKILL');
    // The controller gives the partitions new leaders once the dead broker's session has expired.
    leadersMovedMs = await until(
      async () => (await fx.admin.partitionLeaders(requestsTopic).catch(() => [])).filter((l) => l.leader >= 0 && l.leader !== victim).length === PARTITIONS,
      { timeoutMs: 60_000, what: 'new leaders for the requests partitions', intervalMs: 200 },
    ).then(
      () => Date.now() - killAt,
      () => Number.NaN,
    );
    await sleep(Math.max(0, killAt + DOWN_MS - Date.now()));
    // The restart (log recovery after the crash, then catching up) runs while the replies are awaited:
    // the gateway needs only the two others.
    restartAt = Date.now();
    const restarted = startClusterKafkaNode(stackDir as string, victim, kafkaHeap, 150_000).then(() => {
      readyAt = Date.now();
    });
    restarted.catch(() => undefined);
    if (!g.alive()) throw new Error(`the gateway ended while a broker was down:\n${g.output()}`);
    const { check, allAnsweredAt, audit } = await settleRun(requests, { timeoutMs: 90_000, alive: [g] });
    await restarted;
    const timeline = replyTimeline(check, killAt);
    const onVictim = firstDecisionOn(check, audit, victimPartitions, killAt);
    const victimRequests = firstDecisionOn(check, audit, victimPartitions, 0).count;
    const victimDecidedBeforeKill = victimRequests - onVictim.count;
    const extras = runExtras(check, audit, since, killAt);
    const leadersAfter = await fx.admin.partitionLeaders(requestsTopic);
    const summary = {
      requests: requests.length,
      publishedBeforeKill: BEFORE,
      killedBroker: victim,
      itsRequestsPartitions: victimPartitions,
      answeredAtKill,
      killAfterMs: killAt - startedAt,
      brokerStopMs: stopped?.stoppedInMs,
      killToNewLeadersMs: leadersMovedMs,
      brokerDownMs: readyAt - killAt,
      killToRestartMs: restartAt - killAt,
      restartToReadyMs: readyAt - restartAt,
      killToFirstReplyMs: timeline.firstReplyMs,
      killToFirstDecisionOnItsPartitionsMs: onVictim.firstMs,
      itsPartitionsDecidedBeforeKill: `${victimDecidedBeforeKill} of ${victimRequests}`,
      longestGapAfterKillMs: timeline.longestGapMs,
      killToLastReplyMs: timeline.lastReplyMs,
      killToAllRepliesSeenMs: allAnsweredAt - killAt,
      answeredAfterKill: timeline.answeredAfter,
      statuses: check.statuses,
      auditRecords: audit.length,
      ...extras,
      inSyncReplicasAfter: leadersAfter.map((l) => l.isr.length),
      problems: check.problems,
      gatewayWarnings: gatewayWarnings([g]),
    };
    verdict('cluster-broker-kill', check, requests.length, extras, summary);
    expect(stopped?.pid).not.toBeNull();
    expect(victimPartitions.length).toBeGreaterThan(0);
    expect(g.alive()).toBe(true);
    // The kill fell mid-backlog of replies. Whether requests of the dead broker's partitions were still
    // undecided then is timing, not an outcome: the request stage decides far ahead of the replies, and
    // on a quick machine it had decided all of them before the kill (seen in CI) — the replies, source
    // requests and audit records then went through the broker's loss. Reported, not asserted.
    expect(answeredAtKill).toBeLessThan(BEFORE);
    expect(timeline.answeredAfter).toBeGreaterThan(BEFORE / 2);
    expect(clusterStatus(stackDir as string)?.kafka.every((k) => k.pid !== null)).toBe(true);
  }, 300_000);

  it('SIGKILL of a Redis master: nothing needing its slots decided until its replica takes over, every request answered exactly once; it rejoins as a replica', async () => {
    const BASELINE = 500;
    /** Published just before the kill: exchanges in flight (forwarded, the sources answering). */
    const IN_FLIGHT = 1_000;
    /** Published while the master is gone. */
    const DURING = 1_500;
    const g = gateways[0] as GatewayProcess;
    await ensureClusterHealthy();
    const keys = redisKeys(fx.instanceName);
    // The master of the pending exchanges' deadline index: every forwarding and every source answer needs it.
    const deadlinesSlot = keySlot(keys.pendingDeadlines);
    const nodes = clusterNodes();
    const victim = nodes.find((n) => isMaster(n) && holds(n, deadlinesSlot)) as RedisNode;
    const replica = nodes.find((n) => n.master === victim.id) as RedisNode;
    expect(Number(redisCli(victim.port, 'cluster', 'keyslot', keys.pendingDeadlines).trim())).toBe(deadlinesSlot);
    expect(replica).toBeDefined();

    const { runId, answeredOf, atLeast, since } = await newRun();
    const requests = planRequests(fx, workload, runId, 0, BASELINE + IN_FLIGHT + DURING);
    const baseline = requests.slice(0, BASELINE);
    const inFlight = requests.slice(BASELINE, BASELINE + IN_FLIGHT);
    const during = requests.slice(BASELINE + IN_FLIGHT);
    const producer = await fx.client.producer();
    let killAt = 0;
    let downAt = 0;
    let lastNotPromotedAt = 0;
    let promotedAt = 0;
    let rejoinedAt = 0;
    let restartAt = 0;
    let answeredAtKill = 0;
    try {
      const send = (list: readonly PlannedRequest[]) => producer.send(fx.requestsTopic('onva'), requestMessages(fx, list));
      await send(baseline);
      await until(() => atLeast(baseline, BASELINE), { timeoutMs: 60_000, what: 'the baseline replies' });
      await send(inFlight);
      await until(() => atLeast(inFlight, 50), { timeoutMs: 60_000, what: 'the first in-flight replies', intervalMs: 5 });
      killAt = Date.now();
      const stopped = await stopClusterRedisNode(stackDir as string, victim.port, 'SIGKILL');
      downAt = Date.now();
      answeredAtKill = answeredOf(inFlight);
      expect(stopped.pid).not.toBeNull();
      await send(during);
      // The replica's promotion, polled: the last poll that still found it a replica bounds the outage from below.
      lastNotPromotedAt = downAt;
      await until(
        async () => {
          const askedAt = Date.now();
          const role = (await redisNodeInfo(nodeUrl(replica.port), 'INFO').catch(() => ({}) as Record<string, string>)).role;
          if (role !== 'master') lastNotPromotedAt = askedAt;
          return role === 'master';
        },
        { timeoutMs: 60_000, what: `the replica on ${replica.port} promoted`, intervalMs: 100 },
      );
      promotedAt = Date.now();
    } finally {
      await producer.disconnect().catch(() => undefined);
    }
    const { check, allAnsweredAt, audit } = await settleRun(requests, { timeoutMs: 120_000, alive: [g] });
    // The killed node comes back: it finds its slots taken over and becomes its successor's replica.
    restartAt = Date.now();
    await startClusterRedisNode(stackDir as string, victim.port, 30_000);
    await ensureClusterHealthy();
    rejoinedAt = Date.now();
    const rejoined = await redisNodeInfo(nodeUrl(victim.port), 'INFO');

    // Which slots each decision needed: the person's directory bucket; for a forwarded exchange also its
    // pending hash and the deadline index.
    const slotsOf = (ticket: string, { kind, record }: { kind: PlannedRequest['kind']; record: PlannedRequest['record'] }) => [
      ...(kind.needsDirectory ? [keySlot(keys.directory(record.subjectNiss))] : []),
      ...(kind.forwarded ? [keySlot(keys.pending(ticket)), deadlinesSlot] : []),
    ];
    const neededVictim = new Set([...check.replyOf].filter(([ticket, r]) => slotsOf(ticket, r).some((s) => holds(victim, s))).map(([t]) => t));
    const windowFrom = downAt + DECISION_GRACE_MS;
    const decidedWhileDown = audit.filter(
      (a) => a.ticket !== null && neededVictim.has(a.ticket) && EXCHANGE_EVENTS.has(a.eventType) && a.at > windowFrom && a.at < lastNotPromotedAt,
    );
    const repliesInWindow = [...check.replyOf.values()].filter(({ reply }) => reply.answeredAt > windowFrom && reply.answeredAt < lastNotPromotedAt).length;
    const afterPromotion = [...check.replyOf].filter(([t, { reply }]) => neededVictim.has(t) && reply.answeredAt >= lastNotPromotedAt).length;
    const timeline = replyTimeline(check, killAt);
    const extras = runExtras(check, audit, since, killAt);
    let pendingLeft = await fx.pending.size();
    await until(async () => (pendingLeft = await fx.pending.size()) === 0, { timeoutMs: 10_000, what: 'no pending exchange left' }).catch(() => undefined);
    // Forgetting an answered exchange is a step after the commit; one that failed while the slot had no
    // master leaves the exchange, claimed, until its deadline. None of them may be open: a deadline claim
    // must find each taken by its answer (a claim that succeeded would show one not answered).
    // (Exchanges an earlier scenario left are that scenario's finding, not probed here.)
    const leftover = (await fx.pending.due(Number.MAX_SAFE_INTEGER, 100_000)).filter((ticket) => check.replyOf.has(ticket));
    const leftoverClaims = await fx.pending.claimMany(leftover.map((ticket) => ({ ticket, claimant: `probe-${runId}`, source: null })));
    const leftoverOpen = leftoverClaims.filter((c) => c.status === 'claimed').length;
    const summary = {
      requests: requests.length,
      baseline: BASELINE,
      inFlightAtKill: IN_FLIGHT - answeredAtKill,
      publishedWhileDown: DURING,
      killedMaster: victim.port,
      itsReplica: replica.port,
      itsSlots: victim.slots,
      killToPromotionMs: promotedAt - killAt,
      slotsWithoutMasterAtLeastMs: lastNotPromotedAt - downAt,
      repliesNeedingItsSlots: neededVictim.size,
      decisionsNeedingItsSlotsStampedWhileDown: decidedWhileDown.length,
      repliesWhileDown: repliesInWindow,
      answeredNeedingItsSlotsAfterPromotion: afterPromotion,
      killToFirstReplyMs: timeline.firstReplyMs,
      longestGapAfterKillMs: timeline.longestGapMs,
      promotionToLastReplyMs: timeline.lastReplyMs - (promotedAt - killAt),
      killToLastReplyMs: timeline.lastReplyMs,
      killToAllRepliesSeenMs: allAnsweredAt - killAt,
      restartToRejoinedMs: rejoinedAt - restartAt,
      restartedNodeRole: rejoined.role,
      restartedNodeMasterPort: rejoined.master_port,
      statuses: check.statuses,
      auditRecords: audit.length,
      pendingLeft,
      pendingLeftOpen: leftoverOpen,
      pendingLeftOfThisRun: leftover.length,
      ...extras,
      problems: check.problems,
      gatewayWarnings: gatewayWarnings([g]),
    };
    verdict('cluster-redis-master-kill', check, requests.length, extras, summary);
    expect(g.alive()).toBe(true);
    expect(decidedWhileDown).toHaveLength(0);
    expect(leftoverOpen).toBe(0);
    // The kill fell on work that needed the dead master, and that work was done after the promotion.
    expect(afterPromotion).toBeGreaterThan(0);
    // Healthy again (ensureClusterHealthy above), the killed node now its successor's replica.
    expect(rejoined.role).toBe('slave');
    expect(Number(rejoined.master_port)).toBe(replica.port);
  }, 300_000);

  it('three gateway processes, one SIGKILLed mid-stream: the two others take over its partitions; every request answered exactly once', async () => {
    const TOTAL = 3_000;
    const BATCH = 100;
    const BATCH_PAUSE_MS = 200;
    const KILL_AT = 0.3;
    const requestGroup = `${fx.topics.prefix}.gateway.requests`;
    const onvaRequests = fx.requestsTopic('onva');
    const [victim] = gateways as [GatewayProcess];
    // gateway#1 alone in the group: its member id names it once the two others have joined.
    const alone = await until(async () => (await describeGroup(fx.client, requestGroup)).members.length === 1, {
      timeoutMs: 30_000,
      what: 'gateway#1 alone in the request group',
      intervalMs: 250,
    }).then(() => describeGroup(fx.client, requestGroup));
    const victimMember = (alone.members[0] as { memberId: string }).memberId;
    const survivors = await Promise.all([pool.start('gateway#2'), pool.start('gateway#3')]);
    let victimPartitions: number[] = [];
    await until(
      async () => {
        const group = await describeGroup(fx.client, requestGroup);
        victimPartitions = partitionsOf(group.members.find((m) => m.memberId === victimMember), onvaRequests);
        return group.state === 'Stable' && group.members.length === 3 && group.members.every((m) => partitionsOf(m, onvaRequests).length > 0);
      },
      { timeoutMs: 60_000, what: 'three gateways sharing the request partitions', intervalMs: 250 },
    );

    const { runId, answeredOf, since } = await newRun();
    const requests = planRequests(fx, workload, runId, 0, TOTAL, PARTITIONS);
    const producer = await fx.client.producer();
    const startedAt = Date.now();
    let published = 0;
    const publishing = (async () => {
      for (let start = 0; start < TOTAL; start += BATCH) {
        await producer.send(onvaRequests, requestMessages(fx, requests.slice(start, start + BATCH)));
        published += Math.min(BATCH, TOTAL - start);
        await sleep(BATCH_PAUSE_MS);
      }
    })();
    publishing.catch(() => undefined);
    let killAt = 0;
    let answeredAtKill = 0;
    let publishedAtKill = 0;
    let takeoverMs = Number.NaN;
    try {
      await until(() => answeredOf(requests) >= TOTAL * KILL_AT, {
        timeoutMs: 120_000,
        what: `${TOTAL * KILL_AT} replies before the kill`,
        intervalMs: 20,
        abort: () => (gateways.every((g) => g.alive()) ? null : `a gateway ended by itself:\n${gateways.map((g) => g.output(4_000)).join('\n')}`),
      });
      killAt = Date.now();
      const exited = await victim.kill();
      answeredAtKill = answeredOf(requests);
      publishedAtKill = published;
      expect(exited.signal).toBe('SIGKILL');
      // The broker forgets the dead member when its session (10 s) expires; the two others then share all.
      takeoverMs = await until(
        async () => {
          const group = await describeGroup(fx.client, requestGroup);
          const held = group.members.flatMap((m) => partitionsOf(m, onvaRequests));
          return group.state === 'Stable' && group.members.length === 2 && !group.members.some((m) => m.memberId === victimMember) && held.length === PARTITIONS;
        },
        { timeoutMs: 60_000, what: 'the two survivors holding every request partition', intervalMs: 250 },
      );
      await publishing;
    } finally {
      await publishing.catch(() => undefined);
      await producer.disconnect().catch(() => undefined);
    }
    const { check, allAnsweredAt, audit } = await settleRun(requests, { timeoutMs: 120_000, alive: survivors });
    const timeline = replyTimeline(check, killAt);
    const onVictim = firstDecisionOn(check, audit, victimPartitions, killAt);
    const victimRequests = firstDecisionOn(check, audit, victimPartitions, 0).count;
    const victimDecidedBeforeKill = victimRequests - onVictim.count;
    const extras = runExtras(check, audit, since, killAt);
    const summary = {
      requests: TOTAL,
      gateways: 3,
      partitions: PARTITIONS,
      victimRequestPartitions: victimPartitions,
      publishedAtKill,
      answeredAtKill,
      killAfterMs: killAt - startedAt,
      killToSurvivorsHoldAllMs: takeoverMs,
      killToFirstDecisionOnVictimPartitionsMs: onVictim.firstMs,
      victimPartitionDecisionsAfterKill: onVictim.count,
      killToFirstReplyMs: timeline.firstReplyMs,
      longestGapAfterKillMs: timeline.longestGapMs,
      killToLastReplyMs: timeline.lastReplyMs,
      killToAllRepliesSeenMs: allAnsweredAt - killAt,
      statuses: check.statuses,
      auditRecords: audit.length,
      ...extras,
      problems: check.problems,
      gatewayWarnings: gatewayWarnings(gateways),
    };
    verdict('cluster-gateway-takeover', check, TOTAL, extras, summary);
    expect(survivors.every((g) => g.alive())).toBe(true);
    expect(victimPartitions.length).toBeGreaterThan(0);
    // The kill fell on a backlog, and the survivors decided requests on the victim's partitions after it.
    expect(answeredAtKill).toBeLessThan(TOTAL);
    expect(onVictim.count).toBeGreaterThan(0);
  }, 300_000);
});
