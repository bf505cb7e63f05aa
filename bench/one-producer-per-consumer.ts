import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import type { Logger } from '../src/logging/logger.js';
import { connectGroupFencedProducer, groupMemberConsumer, type GroupFencedProducer, type OffsetsOfGroupMember } from '../src/messaging/kafka/group-fenced-transactions.js';
import { toKafkaMessages } from '../src/messaging/kafka/messages.js';
import type { KafkaAdmin, KafkaClient } from '../src/messaging/kafka-client.js';
import { runTransactionalPipeline, sendSlices, type OutRecord, type RunningPipeline } from '../src/messaging/transactional-pipeline.js';
import { stackStatus } from '../src/stack/local-stack.js';
import { createBenchLogger, type BenchLogger } from './bench-logger.js';
import { cpuReport, round, sampleCpu } from './cpu-accounting.js';
import { connectRuntime, probeStack } from './environment.js';

/**
 * An EXPERIMENT, not the switch as shipped: the drain of a backlog through one transactional hop,
 * (a) by `runTransactionalPipeline` as it is — one producer per input partition, a transaction per
 * chunk of 500 of one partition — and (b) by a prototype with one producer per consumer whose
 * transactions take what the partitions consumed concurrently hand in meanwhile (a group commit across
 * partitions), its offsets fenced by the group generation (TxnOffsetCommit v3, KIP-447) instead of a
 * transactional id per partition. A third variant, `per-partition-concurrent`, runs (a) with the
 * partitions consumed concurrently, as (b) must, to tell what the concurrency gives from what the
 * larger shared transactions give. Each forwards every value unchanged to the same partition of an
 * output topic. Runs alternate a, b, a, b ... on fresh topics; the drain ends when the group's
 * committed offsets (committed with the output) reach the end of the input.
 *
 *   npx tsx bench/one-producer-per-consumer.ts [--messages 150000] [--rounds 2] [--partitions 4] [--bytes 300]
 *       [--variants per-partition,per-consumer[,per-partition-concurrent]]
 */

const { values: args } = parseArgs({
  options: {
    messages: { type: 'string', default: '150000' },
    rounds: { type: 'string', default: '2' },
    partitions: { type: 'string', default: '4' },
    bytes: { type: 'string', default: '300' },
    variants: { type: 'string', default: 'per-partition,per-consumer' },
  },
});
const MESSAGES = Number(args.messages);
const ROUNDS = Number(args.rounds);
const PARTITIONS = Number(args.partitions);
const VALUE_BYTES = Number(args.bytes);

interface Hop {
  readonly stop: () => Promise<void>;
  /** Transactions committed, when the variant can count them. */
  readonly transactions: () => number | null;
}

const VARIANTS = ['per-partition', 'per-consumer', 'per-partition-concurrent'] as const;
type Variant = (typeof VARIANTS)[number];

function startPerPartition(client: KafkaClient, logger: Logger, input: string, output: string, groupId: string, partitionsConsumedConcurrently: number): Promise<Hop> {
  return runTransactionalPipeline({
    client,
    groupId,
    topics: [input],
    transactionalIdPrefix: groupId,
    logger,
    partitionsConsumedConcurrently,
    transform: async (messages) => ({ records: messages.map((m) => ({ topic: output, key: m.key, value: m.value, headers: m.headers, partition: m.partition })) }),
  }).then((running: RunningPipeline) => ({ stop: running.stop, transactions: () => null }));
}

interface Pending {
  readonly records: readonly OutRecord[];
  readonly offsets: OffsetsOfGroupMember;
  readonly done: { resolve(): void; reject(error: unknown): void };
}

/**
 * Group commit on one producer: a transaction takes every submission waiting when it starts (those of
 * one generation), and the submissions that arrive while it commits wait for the next.
 */
function groupCommitter(producer: GroupFencedProducer): { submit(records: readonly OutRecord[], offsets: OffsetsOfGroupMember): Promise<void>; count(): number } {
  const queue: Pending[] = [];
  let committing = false;
  let transactions = 0;
  const drain = async (): Promise<void> => {
    if (committing || queue.length === 0) return;
    committing = true;
    const generation = queue[0]?.offsets.membership.generationId;
    const taken: Pending[] = [];
    while (queue.length > 0 && queue[0]?.offsets.membership.generationId === generation) taken.push(queue.shift() as Pending);
    try {
      const transaction = await producer.transaction();
      try {
        for (const slice of sendSlices(taken.flatMap((p) => p.records))) {
          const topics = [...new Set(slice.map((r) => r.topic))];
          await transaction.sendBatch({ topicMessages: topics.map((topic) => ({ topic, messages: toKafkaMessages(slice.filter((r) => r.topic === topic)) })), acks: -1 });
        }
        const first = taken[0] as Pending;
        await transaction.sendOffsets({ ...first.offsets, topics: taken.flatMap((p) => p.offsets.topics) });
        await transaction.commit();
      } catch (error) {
        await transaction.abort().catch(() => undefined);
        throw error;
      }
      transactions++;
      for (const p of taken) p.done.resolve();
    } catch (error) {
      for (const p of taken) p.done.reject(error);
    } finally {
      committing = false;
      void drain();
    }
  };
  return {
    submit: (records, offsets) =>
      new Promise<void>((resolve, reject) => {
        queue.push({ records, offsets, done: { resolve, reject } });
        void drain();
      }),
    count: () => transactions,
  };
}

async function startPerConsumer(client: KafkaClient, input: string, output: string, groupId: string): Promise<Hop> {
  const producer = await connectGroupFencedProducer(client, { transactionalId: `${groupId}-${randomUUID().slice(0, 8)}` });
  const committer = groupCommitter(producer);
  // The same consumer settings as the shipped pipeline's.
  const member = groupMemberConsumer(client, { groupId, sessionTimeout: 10_000, heartbeatInterval: 3_000, maxWaitTimeInMs: 1_000, allowAutoTopicCreation: false, maxBytesPerPartition: 1_048_576 });
  await member.consumer.connect();
  await member.consumer.subscribe({ topic: input, fromBeginning: true });
  await member.consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: PARTITIONS,
    eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
      const membership = member.membership();
      const last = batch.messages[batch.messages.length - 1];
      if (!membership || !last) return;
      const records: OutRecord[] = batch.messages.map((m) => ({ topic: output, key: m.key, value: m.value, partition: batch.partition }));
      await committer.submit(records, {
        groupId,
        membership,
        topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: (BigInt(last.offset) + 1n).toString() }] }],
      });
      resolveOffset(last.offset);
      await heartbeat();
    },
  });
  return {
    stop: async () => {
      await member.consumer.disconnect();
      await producer.disconnect();
    },
    transactions: committer.count,
  };
}

async function fillBacklog(client: KafkaClient, topic: string): Promise<void> {
  const producer = await client.producer();
  try {
    const value = Buffer.alloc(VALUE_BYTES, 'x');
    for (let sent = 0; sent < MESSAGES; sent += 5_000) {
      const count = Math.min(5_000, MESSAGES - sent);
      await producer.send(topic, Array.from({ length: count }, (_, n) => ({ value, partition: (sent + n) % PARTITIONS })));
    }
  } finally {
    await producer.disconnect();
  }
}

async function committedTotal(admin: KafkaAdmin, groupId: string, topic: string): Promise<number> {
  const [offsets] = await admin.committedOffsets(groupId, [topic]);
  return (offsets?.partitions ?? []).reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
}

async function measure(client: KafkaClient, admin: KafkaAdmin, bench: BenchLogger, variant: Variant, run: number) {
  const { logger } = bench;
  const name = `bench-kip447-${variant}-${run}-${randomUUID().slice(0, 6)}`;
  const input = `${name}.in`;
  const output = `${name}.out`;
  await admin.ensureTopics([
    { topic: input, partitions: PARTITIONS },
    { topic: output, partitions: PARTITIONS },
  ]);
  try {
    await new Promise((r) => setTimeout(r, 1_000));
    await fillBacklog(client, input);
    const kafkaPid = stackStatus().kafkaPid ?? undefined;
    const sample = () => sampleCpu([{ name: 'broker', pid: kafkaPid }, { name: 'hop', seconds: (process.cpuUsage().user + process.cpuUsage().system) / 1e6 }]);
    const cpuStart = sample();
    const retriesBefore = bench.concurrentTransactionRetries();
    const started = performance.now();
    const hop =
      variant === 'per-consumer'
        ? await startPerConsumer(client, input, output, name)
        : await startPerPartition(client, logger, input, output, name, variant === 'per-partition' ? 1 : PARTITIONS);
    let firstCommitMs: number | null = null;
    try {
      for (;;) {
        const done = await committedTotal(admin, name, input);
        if (done > 0 && firstCommitMs === null) firstCommitMs = performance.now() - started;
        if (done >= MESSAGES) break;
        if (performance.now() - started > 600_000) throw new Error(`${variant}: ${done} of ${MESSAGES} after 10 minutes`);
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      await hop.stop();
    }
    const seconds = (performance.now() - started) / 1000;
    const cpu = cpuReport(cpuStart, sample(), MESSAGES);
    // Records plus one commit marker per partition and transaction: at least MESSAGES when none was lost.
    const outputEnd = (await admin.topicOffsets(output)).reduce((sum, p) => sum + Number(p.high), 0);
    return {
      variant,
      run,
      drain_s: round2(seconds),
      first_commit_s: firstCommitMs === null ? null : round2(firstCommitMs / 1000),
      per_s: Math.round(MESSAGES / seconds),
      per_s_after_first_commit: firstCommitMs === null ? null : Math.round(MESSAGES / (seconds - firstCommitMs / 1000)),
      transactions: hop.transactions(),
      concurrent_transactions_retries: bench.concurrentTransactionRetries() - retriesBefore,
      output_end_offsets: outputEnd,
      // CPU per message is the figure that survives other load on the cores; the rates do not.
      broker_cpu_ms_per_1000: perThousand(cpu.byProcess.broker?.msPerExchange),
      hop_cpu_ms_per_1000: perThousand(cpu.byProcess.hop?.msPerExchange),
      machine_cores: cpu.machine?.cores ?? null,
      other_load_cores: cpu.others?.cores ?? null,
    };
  } finally {
    await admin.deleteTopics([input, output]).catch(() => undefined);
  }
}

const round2 = (value: number): number => round(value, 2);
const perThousand = (msPerMessage: number | null | undefined): number | null => (msPerMessage == null ? null : round(msPerMessage * 1000, 1));

async function main(): Promise<void> {
  const variants = (args.variants ?? '').split(',').map((v) => {
    if (!(VARIANTS as readonly string[]).includes(v)) throw new Error(`unknown variant ${v}; known: ${VARIANTS.join(', ')}`);
    return v as Variant;
  });
  const bench = createBenchLogger('one-producer-per-consumer');
  const { logger } = bench;
  const runtime = await connectRuntime(logger);
  await probeStack(runtime);
  const admin = await runtime.client.admin();
  try {
    const results = [];
    for (let run = 1; run <= ROUNDS; run++) {
      for (const variant of variants) {
        const result = await measure(runtime.client, admin, bench, variant, run);
        console.log(JSON.stringify(result));
        results.push(result);
      }
    }
    console.log(JSON.stringify({ messages: MESSAGES, value_bytes: VALUE_BYTES, partitions: PARTITIONS, rounds: ROUNDS, results }));
  } finally {
    await admin.disconnect();
  }
}

await main();
process.exit(0);
