/**
 * The fuzzer: at least 100,000 messages — malformed, truncated, oversized, of another schema, under an
 * unknown fingerprint, random, with absurd field values, garbage keys and headers — mixed with valid
 * requests, on the institutions' requests topics and the sources' replies and mutations topics, against
 * the gateway running as its own process. What must hold:
 *   - the gateway never exits;
 *   - every request it can read gets exactly one reply on its topic's institution's replies topic —
 *     on its consultations topic for a request that came on its consultation-requests topic (ONVA's
 *     valid requests: 19/010 §37, consultation only) — with the status the request was built for,
 *     and no dead letter;
 *   - every request it cannot read gets exactly one INVALID_MESSAGE reply there and exactly one dead
 *     letter with the codec's reason, holding the exact bytes;
 *   - every unreadable or unroutable source message gets exactly one dead letter; a readable source
 *     reply naming no open exchange, exactly one LATE_SOURCE_REPLY audit record;
 *   - every request has exactly one outcome audit record, saying what its reply says;
 *   - the gateway's resident memory stays under RSS_LIMIT_MB and does not keep growing.
 * Nothing is matched by content: a reply names its request by ticket, derived from the request's place
 * in Kafka (topic, partition, offset, timestamp), which the producer's acknowledgements give; a dead
 * letter names it by that place.
 *
 * The run is drawn from a seed (a new one each run), printed and written with the figures to
 * test/faults/results/fuzz.json, the gateway's output to fuzz-gateway.log beside it. BCSS_FUZZ_SEED
 * replays a run; BCSS_FUZZ_MESSAGES changes its length.
 *
 * Not the gateway's concern: a message larger than the broker takes (message.max.bytes, 1 MiB per
 * record batch) is refused to the producer and never reaches it. The oversized messages here are
 * 500–900 KB, each sent in a produce request of its own so that the broker accepts it, within the mix
 * (see OVERSIZED_MIXED).
 */
import { createHash, randomInt, randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/config/project-paths.js';
import type { AuditRecordValue } from '../../src/contract/audit-records.js';
import { ticketFor, type ReplyRecord } from '../../src/contract/exchange-records.js';
import { EXCHANGE_RECORD } from '../../src/contract/names.js';
import { silentLogger } from '../../src/logging/logger.js';
import type { InMessage } from '../../src/messaging/kafka-client.js';
import { readTopicToEnd } from '../../src/messaging/topic-reader.js';
import { startSourceSimulators, type RunningSourceSimulators } from '../../src/sources/simulator-service.js';
import { createSyntheticPopulation, generateSyntheticPersons } from '../../src/sources/synthetic-population.js';
import { createExchangeFixture, type CollectedMessage, type ExchangeFixture, type TopicCollector } from '../support/exchange-fixture.js';
import { createFuzzCorpus, type FuzzExpectation, type FuzzKind, type FuzzMessage, type FuzzTopic } from '../support/fuzz-corpus.js';
import { gatewayProcessEnv, killAllGatewayProcesses, spawnGatewayProcess, type GatewayProcess, type ProcessExit } from '../support/gateway-process.js';
import { rawKafka } from '../support/raw-kafka.js';
import { testStack } from '../support/stack-context.js';
import { inspectionLine } from './fault-support.js';

const envInt = (name: string, fallback: number): number => {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new Error(`${name} must be an integer, not ${text}`);
  return value;
};

/**
 * 200,000: the gateway's heap reaches its working size (~360 MB) within about the first 100,000, so the
 * halves compare a settled process with itself — at 100,000 a slow machine's first half was still
 * growing (278 MB, then 374 MB in the second half), while 200,000 gave 363 and 346 MB.
 */
const TOTAL = envInt('BCSS_FUZZ_MESSAGES', 200_000);
const SEED = envInt('BCSS_FUZZ_SEED', randomInt(1, 2 ** 31 - 1));
/** Messages drawn and sent at a time. */
const BATCH = 1_000;
/** Messages sent and not yet answered at most: keeps the backlog, and this process's memory, bounded. */
const MAX_IN_FLIGHT = 15_000;
/** Messages at least this big are sent one per produce request: the broker's limit is per record batch. */
const BIG = 64 * 1024;
/**
 * Oversized messages go within the first half of the mix (the second half's go after it), where a chunk fetched with one of them gives outputs near the
 * broker's limit for one partition (its dead letter and those of the small messages fetched with it all
 * go to the one dead-letter partition): the pipeline must cut them into produce calls the broker takes,
 * and dead letters must stay under the limit. BCSS_FUZZ_OVERSIZED_MIXED=0 sends them after the mix, one
 * at a time, to tell the two apart.
 */
const OVERSIZED_MIXED = process.env.BCSS_FUZZ_OVERSIZED_MIXED !== '0';
const PARTITIONS = 2;
const INTEGRATED = 300;
const STRANGERS = 50;
const INSTITUTIONS = ['vaph', 'magda', 'iriscare', 'onva', 'onss', 'inami'];
const SOURCES = ['bcss-registers', 'onss', 'inami'];
/** A forwarded request must be answered by its source, never time out, however long the backlog. */
const SOURCE_TIMEOUT_MS = 300_000;
/** Nor be refused OVERLOADED for having queued: the allowance is the difference, five minutes. */
const ANSWER_DEADLINE_MS = 600_000;
const RSS_LIMIT_MB = 600;
/** The peak of the second half of the mix may exceed the first half's by this much at most. */
const RSS_GROWTH_MB = 64;
/** No new outcome for this long while some are missing: the gateway is stuck. */
const STALL_MS = 60_000;
const RESULTS_DIR = join(PROJECT_ROOT, 'test', 'faults', 'results');
const RESULT_FILE = join(RESULTS_DIR, 'fuzz.json');
/** What the gateway wrote (its last 4 MB), for the post-mortem of a failed run. */
const GATEWAY_LOG = join(RESULTS_DIR, 'fuzz-gateway.log');

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const digest = (bytes: Buffer | null) => (bytes === null ? 'null' : createHash('sha256').update(bytes).digest('base64url').slice(0, 22));

function rssKb(pid: number): number | null {
  try {
    const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? null : Number(kb);
  } catch {
    return null;
  }
}

/** What is kept of a message once sent: where it landed and what must become of it. */
interface Sent {
  readonly n: number;
  readonly kind: FuzzKind;
  readonly variant: string;
  readonly topic: FuzzTopic;
  readonly topicName: string;
  readonly partition: number;
  readonly offset: string;
  readonly size: number;
  readonly valueDigest: string;
  /** The `fz` header it carried, if any (a dead letter must give it back). */
  readonly fz: string | null;
  readonly expect: FuzzExpectation;
}

interface SeenReply {
  readonly ticket: string;
  readonly requestIdDigest: string;
  readonly status: string;
  readonly bcssCode: string | null;
}

interface SeenDeadLetter {
  readonly place: string;
  readonly originInstitution: string | null;
  readonly reasonCode: string;
  readonly valueDigest: string;
  readonly fz: string | null;
}

const generated = generateSyntheticPersons(INTEGRATED + STRANGERS);
const integrated = generated.slice(0, INTEGRATED).map((g) => g.person.niss);
const strangers = generated.slice(INTEGRATED).map((g) => g.person.niss);

describe(`fuzzer: ${TOTAL.toLocaleString('en')} malformed, oversized and random messages mixed with valid ones (seed ${SEED})`, () => {
  let fx: ExchangeFixture;
  let gateway: GatewayProcess;
  let simulators: RunningSourceSimulators | undefined;
  let processEnv: ReturnType<typeof gatewayProcessEnv> | undefined;
  let producer: Producer | undefined;
  let replies: TopicCollector<SeenReply | null>;
  let deadLetters: TopicCollector<SeenDeadLetter>;
  let exit: ProcessExit | null = null;

  beforeAll(async () => {
    console.info(`fuzz seed ${SEED} (BCSS_FUZZ_SEED=${SEED} replays this run), ${TOTAL} messages`);
    const stack = testStack();
    fx = await createExchangeFixture(stack, PARTITIONS);
    processEnv = gatewayProcessEnv(stack, {
      topicPrefix: fx.topics.prefix,
      redisPrefix: fx.instanceName,
      sourceTimeoutMs: SOURCE_TIMEOUT_MS,
      answerDeadlineMs: ANSWER_DEADLINE_MS,
    });
    gateway = spawnGatewayProcess({ env: processEnv.env, label: 'gateway' });
    void gateway.exited.then((e) => {
      exit = e;
    });
    const [, started] = await Promise.all([
      gateway.waitReady(120_000),
      startSourceSimulators({
        clientFor: () => fx.client,
        codec: fx.codec,
        topics: fx.topics,
        catalogue: fx.catalogue,
        population: createSyntheticPopulation({ extraPersons: INTEGRATED + STRANGERS }),
        logger: silentLogger,
        groupPrefix: fx.instanceName,
      }),
    ]);
    simulators = started;
    await fx.integrate(integrated.map(inspectionLine));

    replies = await fx.collect(
      [...INSTITUTIONS.map((i) => fx.topics.replies(i)), ...fx.consulting.map((i) => fx.topics.consultations(i))],
      (m): SeenReply | null => {
        if (m.headers.type !== 'reply' || !m.value) return null;
        const reply = fx.codec.decode<ReplyRecord>(EXCHANGE_RECORD.reply, m.value);
        return { ticket: reply.ticket, requestIdDigest: digest(Buffer.from(reply.requestId)), status: reply.status, bcssCode: reply.bcssCode };
      },
    );
    deadLetters = await fx.collect([fx.topics.deadLetter], (m: InMessage): SeenDeadLetter => {
      const dl = fx.codec.decode<{
        originTopic: string;
        originPartition: number;
        originOffset: number;
        originInstitution: string | null;
        reasonCode: string;
        originalValue: Buffer | null;
        originalHeaders: Record<string, string>;
        originalSize: number | null;
        originalSha256: string | null;
        truncated: boolean;
      }>(EXCHANGE_RECORD.deadLetter, m.value as Buffer);
      // A dead letter keeps the first 512 KiB of a larger message, and the whole message's SHA-256: the
      // bytes sent are then recognised by that hash, and the kept bytes must be its beginning.
      const cutWrongly =
        dl.truncated && dl.originalValue !== null && dl.originalSize !== null && dl.originalValue.length >= dl.originalSize;
      return {
        place: `${dl.originTopic}:${dl.originPartition}:${dl.originOffset}`,
        originInstitution: dl.originInstitution,
        reasonCode: dl.reasonCode,
        valueDigest:
          dl.truncated && dl.originalSha256 !== null && !cutWrongly
            ? Buffer.from(dl.originalSha256, 'hex').toString('base64url').slice(0, 22)
            : digest(dl.originalValue),
        fz: dl.originalHeaders.fz ?? null,
      };
    });
    producer = rawKafka(fx.client.connection).producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    await producer.connect();
  }, 180_000);

  afterAll(async () => {
    if (gateway) {
      mkdirSync(RESULTS_DIR, { recursive: true });
      writeFileSync(GATEWAY_LOG, gateway.output(4_000_000));
    }
    await gateway?.terminate(10_000);
    await killAllGatewayProcesses();
    await simulators?.stop().catch(() => undefined);
    await producer?.disconnect().catch(() => undefined);
    await fx?.closeAtOnce();
    processEnv?.dispose();
  }, 60_000);

  it('never crashes; answers every valid request as expected; refuses or dead-letters every invalid message, exactly once; memory stays bounded', async () => {
    const corpus = createFuzzCorpus({
      seed: SEED,
      codec: fx.codec,
      catalogue: fx.catalogue,
      payloadRecords: fx.payloadRecords,
      runId: randomUUID().slice(0, 8),
      integrated,
      strangers,
      institutions: INSTITUTIONS,
      sources: SOURCES,
    });
    const topicName = (topic: FuzzTopic): string =>
      topic.kind === 'requests'
        ? fx.requestsTopic(topic.institution, topic.channel)
        : topic.kind === 'source-replies'
          ? fx.topics.sourceReplies(topic.source)
          : fx.topics.sourceMutations(topic.source);

    const sent: Sent[] = [];
    let sentCount = 0;
    const byPlace = new Map<string, number>();
    const byTicket = new Map<string, number>();
    /** Outcomes seen so far per message: replies, dead letters. */
    const replyCount = new Uint16Array(TOTAL);
    const deadLetterCount = new Uint16Array(TOTAL);
    let expectedOutcomes = 0;
    let seenOutcomes = 0;

    const startedAt = Date.now();
    // --- The gateway's memory, four times a second.
    const rss: Array<{ at: number; kb: number; sent: number }> = [];
    const sample = () => {
      const kb = rssKb(gateway.pid);
      if (kb !== null) rss.push({ at: Date.now(), kb, sent: sentCount });
    };
    sample();
    const sampler = setInterval(sample, 250);

    // --- Outcomes as they arrive, matched to messages by ticket and by place.
    const replyOf = new Map<number, SeenReply>();
    const replyTopicOf = new Map<number, string>();
    const deadLetterOf = new Map<number, SeenDeadLetter>();
    let repliesRead = 0;
    let deadLettersRead = 0;
    const strayReplies: SeenReply[] = [];
    const strayDeadLetters: SeenDeadLetter[] = [];
    const pendingReplies: Array<CollectedMessage<SeenReply | null>> = [];
    const pendingDeadLetters: Array<CollectedMessage<SeenDeadLetter>> = [];
    const absorb = () => {
      // Outcomes may arrive before the producer's acknowledgement of their request is processed here:
      // those wait for the next round.
      const replyBacklog = [...pendingReplies.splice(0), ...replies.messages.slice(repliesRead)];
      repliesRead = replies.messages.length;
      for (const m of replyBacklog) {
        if (m.value === null) continue;
        const n = byTicket.get(m.value.ticket);
        if (n === undefined) {
          pendingReplies.push(m);
          continue;
        }
        replyCount[n] = (replyCount[n] as number) + 1;
        if (replyCount[n] === 1) seenOutcomes++;
        replyTopicOf.set(n, m.topic);
        replyOf.set(n, m.value);
      }
      const deadLetterBacklog = [...pendingDeadLetters.splice(0), ...deadLetters.messages.slice(deadLettersRead)];
      deadLettersRead = deadLetters.messages.length;
      for (const m of deadLetterBacklog) {
        const n = byPlace.get(m.value.place);
        if (n === undefined) {
          pendingDeadLetters.push(m);
          continue;
        }
        deadLetterCount[n] = (deadLetterCount[n] as number) + 1;
        if (deadLetterCount[n] === 1 && sent[n]?.topic.kind !== 'requests') seenOutcomes++;
        deadLetterOf.set(n, m.value);
      }
    };
    let lastReport = Date.now();
    const report = (phase: string) => {
      if (Date.now() - lastReport < 10_000) return;
      lastReport = Date.now();
      const last = rss[rss.length - 1];
      console.info(
        `fuzz ${phase}: ${Math.round((Date.now() - startedAt) / 1000)} s, ${sentCount} sent, ${seenOutcomes} of ${expectedOutcomes} outcomes, ` +
          `${replies.messages.length} replies and ${deadLetters.messages.length} dead letters read, gateway RSS ${last ? Math.round(last.kb / 1024) : '?'} MB`,
      );
    };
    let lastProgress = { seen: -1, at: Date.now() };
    const checkHealth = (phase: string) => {
      report(phase);
      if (!gateway.alive()) throw new Error(`the gateway exited (${JSON.stringify(exit)}) while ${phase}:\n${gateway.output()}`);
      if (seenOutcomes !== lastProgress.seen) lastProgress = { seen: seenOutcomes, at: Date.now() };
      else if (Date.now() - lastProgress.at > STALL_MS) {
        const missing = sent.filter((s) => s.expect.outcome !== 'late-source-reply' && (s.topic.kind === 'requests' ? replyCount[s.n] === 0 : deadLetterCount[s.n] === 0));
        const byVariant: Record<string, number> = {};
        for (const s of missing) byVariant[`${s.kind}/${s.variant}`] = (byVariant[`${s.kind}/${s.variant}`] ?? 0) + 1;
        const errors = gateway.logLines(40).slice(-20).map((line) => JSON.stringify(line).slice(0, 1_500));
        throw new Error(
          `no new outcome for ${STALL_MS / 1000} s while ${phase}: ${seenOutcomes} of ${expectedOutcomes} expected so far; ` +
            `missing by kind: ${JSON.stringify(byVariant)}; ` +
            `first missing: ${JSON.stringify(missing.slice(0, 10).map((s) => ({ n: s.n, kind: s.kind, variant: s.variant, topic: s.topicName, partition: s.partition, offset: s.offset, size: s.size })))}\n` +
            `the gateway's last warnings and errors:\n${errors.join('\n')}`,
        );
      }
    };

    // --- Sending, in batches, never too far ahead of the outcomes.
    const send = async (messages: readonly FuzzMessage[]) => {
      const timestamp = String(Date.now());
      const byTopic = new Map<string, FuzzMessage[]>();
      for (const m of messages) {
        const name = topicName(m.topic);
        const list = byTopic.get(name);
        if (list) list.push(m);
        else byTopic.set(name, [m]);
      }
      const results = await (producer as NonNullable<typeof producer>).sendBatch({
        acks: -1,
        topicMessages: [...byTopic].map(([topic, list]) => ({
          topic,
          messages: list.map((m) => ({ key: m.key, value: m.value, headers: m.headers, partition: m.n % PARTITIONS, timestamp })),
        })),
      });
      const base = new Map(results.map((r) => [`${r.topicName}:${r.partition}`, BigInt(r.baseOffset ?? '-1')]));
      const next = new Map<string, bigint>();
      for (const [topic, list] of byTopic) {
        for (const m of list) {
          const partition = m.n % PARTITIONS;
          const key = `${topic}:${partition}`;
          const first = base.get(key);
          if (first === undefined || first < 0n) throw new Error(`no acknowledgement for ${key}`);
          const offset = String(next.get(key) ?? first);
          next.set(key, BigInt(offset) + 1n);
          const fz = m.headers.fz;
          sent[m.n] = {
            n: m.n,
            kind: m.kind,
            variant: m.variant,
            topic: m.topic,
            topicName: topic,
            partition,
            offset,
            size: m.value?.length ?? 0,
            valueDigest: digest(m.value),
            fz: typeof fz === 'string' ? fz : null,
            expect: m.expect,
          };
          sentCount++;
          byPlace.set(`${topic}:${partition}:${offset}`, m.n);
          if (m.topic.kind === 'requests') byTicket.set(ticketFor({ topic, partition, offset, timestamp }), m.n);
          if (m.expect.outcome !== 'late-source-reply') expectedOutcomes++;
        }
      }
    };

    const waitForOutcomes = async (phase: string) => {
      while (seenOutcomes < expectedOutcomes) {
        absorb();
        checkHealth(phase);
        await sleep(100);
      }
    };

    // --- Phase 1: the mix, oversized messages within its first half (all aside unless OVERSIZED_MIXED).
    const deferred: FuzzMessage[] = [];
    for (let start = 0; start < TOTAL; start += BATCH) {
      for (;;) {
        absorb();
        checkHealth('sending');
        if (expectedOutcomes - seenOutcomes <= MAX_IN_FLIGHT) break;
        await sleep(50);
      }
      const batch = Array.from({ length: Math.min(BATCH, TOTAL - start) }, (_, i) => corpus.message(start + i));
      const big = batch.filter((m) => (m.value?.length ?? 0) >= BIG);
      await send(batch.filter((m) => (m.value?.length ?? 0) < BIG));
      // Mixed in the first half only: the second half, without them, is the one whose memory must not
      // have grown — buffers of 900 KB would swing its peak by more than a leak shows in 50,000 messages.
      if (OVERSIZED_MIXED && start < TOTAL / 2) for (const m of big) await send([m]);
      else deferred.push(...big);
    }
    const sentAt = Date.now();
    await waitForOutcomes('waiting for the last outcomes of the mix');
    const mixSettledAt = Date.now();

    // --- Phase 2: the oversized messages one at a time, each processed (its consumer group committed
    // past it) before the next is sent, so that the gateway reads it alone.
    for (const m of deferred) {
      await send([m]);
      const s = sent[m.n] as Sent;
      const stage = s.topic.kind === 'requests' ? 'requests' : s.topic.kind === 'source-replies' ? 'replies' : 'mutations';
      const groupId = `${fx.topics.prefix}.gateway.${stage}`;
      for (;;) {
        absorb();
        checkHealth(`waiting for oversized message #${m.n} (${m.variant}, ${s.size} bytes)`);
        const [committed] = await fx.admin.committedOffsets(groupId, [s.topicName]);
        const position = committed?.partitions.find((p) => p.partition === s.partition)?.offset ?? '-1';
        if (BigInt(position) > BigInt(s.offset)) break;
        await sleep(100);
      }
    }
    await waitForOutcomes('waiting for the outcomes of the oversized messages');
    const settledAt = Date.now();
    let quiet = { replies: -1, deadLetters: -1 };
    while (quiet.replies !== replies.messages.length || quiet.deadLetters !== deadLetters.messages.length) {
      quiet = { replies: replies.messages.length, deadLetters: deadLetters.messages.length };
      await sleep(3_000);
    }
    absorb();
    clearInterval(sampler);
    sample();
    checkHealth('settling');

    // --- The audit trail: one outcome per request, the LATE_SOURCE_REPLY of each readable source reply.
    const outcomeEvents = new Map<number, Array<{ event: string; outcome: string }>>();
    const lateByTicket = new Map<string, number>();
    const auditEvents: Record<string, number> = {};
    await readTopicToEnd({
      client: fx.client,
      topic: fx.topics.audit,
      timeoutMs: 120_000,
      async onBatch(batch) {
        for (const message of batch.messages) {
          if (!message.value) continue;
          const record = fx.codec.decode<AuditRecordValue>(EXCHANGE_RECORD.audit, message.value);
          auditEvents[record.eventType] = (auditEvents[record.eventType] ?? 0) + 1;
          if (record.ticket === null) continue;
          if (record.eventType === 'LATE_SOURCE_REPLY') lateByTicket.set(record.ticket, (lateByTicket.get(record.ticket) ?? 0) + 1);
          if (!['REQUEST_REFUSED', 'REPLY_DELIVERED', 'SOURCE_TIMEOUT'].includes(record.eventType)) continue;
          const n = byTicket.get(record.ticket);
          if (n === undefined) continue;
          outcomeEvents.set(n, [...(outcomeEvents.get(n) ?? []), { event: record.eventType, outcome: record.outcome }]);
        }
      },
    });

    // --- What must hold, message by message.
    const problems: Record<string, string[]> = {
      missingReply: [],
      duplicateReply: [],
      wrongStatus: [],
      wrongRequestId: [],
      wrongReplyTopic: [],
      unexpectedReply: [],
      missingDeadLetter: [],
      duplicateDeadLetter: [],
      wrongDeadLetter: [],
      unexpectedDeadLetter: [],
      missingLateAudit: [],
      auditOutcomeNotOne: [],
      auditOutcomeMismatch: [],
    };
    const note = (what: string, s: Sent, detail = '') =>
      (problems[what] as string[]).push(`#${s.n} ${s.kind}/${s.variant} ${s.topicName}:${s.partition}:${s.offset}${detail ? ` — ${detail}` : ''}`);
    const statuses: Record<string, number> = {};
    const deadLetterReasons: Record<string, number> = {};
    const kinds: Record<string, number> = {};
    const variants: Record<string, number> = {};
    const outcomes: Record<string, number> = {};
    let oversizedBytes = 0;
    let largest = 0;
    const lateExpected = new Map<string, number>();
    for (const s of sent) {
      kinds[s.kind] = (kinds[s.kind] ?? 0) + 1;
      variants[`${s.kind}/${s.variant}`] = (variants[`${s.kind}/${s.variant}`] ?? 0) + 1;
      outcomes[s.expect.outcome] = (outcomes[s.expect.outcome] ?? 0) + 1;
      if (s.kind === 'oversized') oversizedBytes += s.size;
      largest = Math.max(largest, s.size);
      const replyCountOf = replyCount[s.n] as number;
      const deadLetterCountOf = deadLetterCount[s.n] as number;
      const reply = replyOf.get(s.n);
      const deadLetter = deadLetterOf.get(s.n);
      if (reply) statuses[reply.status] = (statuses[reply.status] ?? 0) + 1;
      if (deadLetter) deadLetterReasons[deadLetter.reasonCode] = (deadLetterReasons[deadLetter.reasonCode] ?? 0) + 1;
      const expectation = s.expect;

      if (s.topic.kind === 'requests') {
        if (replyCountOf === 0) note('missingReply', s);
        if (replyCountOf > 1) note('duplicateReply', s, `${replyCountOf} replies`);
        if (reply && replyTopicOf.get(s.n) !== fx.repliesTopic(s.topic.institution, s.topic.channel)) note('wrongReplyTopic', s, String(replyTopicOf.get(s.n)));
        const events = outcomeEvents.get(s.n) ?? [];
        if (events.length !== 1) note('auditOutcomeNotOne', s, events.map((e) => e.event).join(',') || 'none');
        else if (reply && events[0]?.outcome !== reply.status) note('auditOutcomeMismatch', s, `${events[0]?.event} ${events[0]?.outcome}, reply ${reply.status}`);
      } else if (replyCountOf > 0) {
        note('unexpectedReply', s);
      }

      if (expectation.outcome === 'reply') {
        if (reply && expectation.status !== null && reply.status !== expectation.status) note('wrongStatus', s, `${reply.status}, expected ${expectation.status}`);
        if (reply && reply.requestIdDigest !== digest(Buffer.from(expectation.requestId))) note('wrongRequestId', s);
        if (deadLetterCountOf > 0) note('unexpectedDeadLetter', s, deadLetter?.reasonCode);
      } else if (expectation.outcome === 'invalid' || expectation.outcome === 'dead-letter') {
        if (
          expectation.outcome === 'invalid' &&
          reply &&
          (reply.status !== 'INVALID_MESSAGE' || reply.bcssCode !== '-000050' || reply.requestIdDigest !== digest(Buffer.alloc(0)))
        ) {
          note('wrongStatus', s, `${reply.status} ${reply.bcssCode}, expected INVALID_MESSAGE -000050 without a requestId`);
        }
        if (deadLetterCountOf === 0) note('missingDeadLetter', s, `expected ${expectation.reasonCode}`);
        if (deadLetterCountOf > 1) note('duplicateDeadLetter', s, `${deadLetterCountOf} dead letters`);
        if (deadLetter) {
          const institution = s.topic.kind === 'requests' ? s.topic.institution : s.topic.source;
          const wrong = [
            deadLetter.reasonCode !== expectation.reasonCode ? `reason ${deadLetter.reasonCode}, expected ${expectation.reasonCode}` : '',
            deadLetter.valueDigest !== s.valueDigest ? 'not the bytes sent' : '',
            deadLetter.originInstitution !== institution ? `origin ${deadLetter.originInstitution}` : '',
            deadLetter.fz !== s.fz ? `fz header ${deadLetter.fz}, sent ${s.fz}` : '',
          ].filter(Boolean);
          if (wrong.length > 0) note('wrongDeadLetter', s, wrong.join('; '));
        }
      } else {
        lateExpected.set(expectation.ticket, (lateExpected.get(expectation.ticket) ?? 0) + 1);
        if (deadLetterCountOf > 0) note('unexpectedDeadLetter', s, deadLetter?.reasonCode);
      }
    }
    for (const s of sent) {
      if (s.expect.outcome !== 'late-source-reply') continue;
      const { ticket } = s.expect;
      if ((lateByTicket.get(ticket) ?? 0) !== lateExpected.get(ticket)) {
        note('missingLateAudit', s, `${lateByTicket.get(ticket) ?? 0} LATE_SOURCE_REPLY for ${lateExpected.get(ticket)} sent`);
      }
    }
    strayReplies.push(...pendingReplies.map((m) => m.value as SeenReply));
    strayDeadLetters.push(...pendingDeadLetters.map((m) => m.value));

    // --- Memory: overall, and the second half of the run against the first.
    const mb = (kb: number) => Math.round(kb / 102.4) / 10;
    const peakOf = (list: typeof rss) => list.reduce((max, r) => Math.max(max, r.kb), 0);
    // The halves of the mix (by messages sent), then the oversized messages on their own.
    const mix = rss.filter((r) => r.at <= mixSettledAt);
    const half = (TOTAL - deferred.length) / 2;
    const memory = {
      startMb: mb(rss[0]?.kb ?? 0),
      peakMb: mb(peakOf(rss)),
      endMb: mb(rss[rss.length - 1]?.kb ?? 0),
      mixFirstHalfPeakMb: mb(peakOf(mix.filter((r) => r.sent < half))),
      mixSecondHalfPeakMb: mb(peakOf(mix.filter((r) => r.sent >= half))),
      oversizedPhasePeakMb: mb(peakOf(rss.filter((r) => r.at > mixSettledAt))),
      samples: rss.length,
    };

    const warnings: Record<string, number> = {};
    for (const line of gateway.logLines(40)) {
      const key = `${line.level === 40 ? 'warn' : line.level === 50 ? 'error' : 'fatal'}: ${String(line.msg).slice(0, 120)}`;
      warnings[key] = (warnings[key] ?? 0) + 1;
    }
    const durationMs = settledAt - startedAt;
    const summary = {
      at: new Date().toISOString(),
      seed: SEED,
      messages: sentCount,
      byKind: kinds,
      byVariant: variants,
      expected: outcomes,
      oversized: { count: kinds.oversized ?? 0, bytes: oversizedBytes, largestBytes: largest },
      replies: { total: replies.messages.filter((m) => m.value !== null).length, byStatus: statuses },
      deadLetters: { total: deadLetters.messages.length, byReason: deadLetterReasons },
      audit: auditEvents,
      durationMs,
      sendingMs: sentAt - startedAt,
      mixSettledAfterLastSendMs: mixSettledAt - sentAt,
      oversizedPhaseMs: settledAt - mixSettledAt,
      oversizedMixed: OVERSIZED_MIXED,
      mixMessagesPerSecond: Math.round(((sentCount - deferred.length) / (mixSettledAt - startedAt)) * 1000),
      gatewayRss: memory,
      gatewayAlive: gateway.alive(),
      gatewayWarnings: warnings,
      strays: { replies: strayReplies.length, deadLetters: strayDeadLetters.length },
      problems: Object.fromEntries(Object.entries(problems).map(([k, v]) => [k, { count: v.length, sample: v.slice(0, 8) }])),
    };
    mkdirSync(RESULTS_DIR, { recursive: true });
    writeFileSync(RESULT_FILE, `${JSON.stringify(summary, null, 2)}\n`);
    console.info(JSON.stringify(summary, null, 2));

    expect(exit, gateway.output()).toBeNull();
    expect(gateway.alive()).toBe(true);
    expect(sentCount).toBe(TOTAL);
    expect(Object.fromEntries(Object.entries(problems).map(([k, v]) => [k, v.length]))).toEqual(
      Object.fromEntries(Object.keys(problems).map((k) => [k, 0])),
    );
    expect(summary.strays).toEqual({ replies: 0, deadLetters: 0 });
    expect(memory.peakMb).toBeLessThan(RSS_LIMIT_MB);
    // A short run is still warming up (the heap grows to its working size): its halves say nothing.
    if (TOTAL >= 150_000) expect(memory.mixSecondHalfPeakMb).toBeLessThan(memory.mixFirstHalfPeakMb + RSS_GROWTH_MB);
  }, 600_000);
});
