/**
 * The produce path that replaces kafkajs 2.2.4's (`src/messaging/kafka/send-messages.ts`), against a
 * model of the brokers: partitions whose leader moves between attempts, produce requests a broker
 * answers NOT_LEADER_FOR_PARTITION for partitions it no longer leads (having written those it leads),
 * and connections lost after the write. As Kafka does for an idempotent producer, a partition's log
 * takes a batch at the next sequence number and discards one it already has.
 *
 * kafkajs's own version is run on the same model first: it loses the messages of a partition that moved
 * to a broker which had already answered for its own partitions (its issue #1303).
 */
import { readFileSync } from 'node:fs';
import { createRequire, Module } from 'node:module';
import { dirname } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createSendMessages } from '../../src/messaging/kafka/send-messages.js';

const require = createRequire(import.meta.url);
const createRetry = require('kafkajs/src/retry') as (options: object) => <T>(fn: (bail: (e: Error) => never, n: number, t: number) => Promise<T>) => Promise<T>;

/** kafkajs's own sendMessages.js, compiled from its file (Node's module cache may hold the replacement). */
function kafkajsOriginal(): typeof createSendMessages {
  const path = require.resolve('kafkajs/src/producer/sendMessages.js');
  const module = new Module(path) as Module & { _compile(source: string, filename: string): void; paths: string[] };
  module.filename = path;
  module.paths = (Module as unknown as { _nodeModulePaths(dir: string): string[] })._nodeModulePaths(dirname(path));
  module._compile(readFileSync(path, 'utf8'), path);
  return module.exports as typeof createSendMessages;
}

interface Message {
  key: string;
  value: string;
}

class ProtocolError extends Error {
  override readonly name = 'KafkaJSProtocolError';
  readonly retriable = true;
  constructor(readonly type: string) {
    super(type);
  }
}
class ConnectionError extends Error {
  override readonly name = 'KafkaJSConnectionError';
  readonly retriable = true;
}

/**
 * Brokers 1..3 and one topic. `leaders` is where each partition really is; the client sees `seen`,
 * copied from it on a metadata refresh. Each partition's log keeps the next sequence it expects.
 */
function model(partitions: number, leaders: number[]) {
  const truth = [...leaders];
  let seen = [...leaders];
  const log = Array.from({ length: partitions }, () => ({ values: [] as string[], nextSequence: 0 }));
  /** What happens to the next produce request: scripted by the test. */
  const script: Array<{ move?: { partition: number; to: number }; loseResponse?: boolean; answerAfterMs?: number }> = [];
  const brokers = new Map(
    [1, 2, 3].map((nodeId) => [
      nodeId,
      {
        nodeId,
        async produce({ topicData }: { topicData: Array<{ topic: string; partitions: Array<{ partition: number; firstSequence?: number; messages: Message[] }> }> }) {
          const step = script.shift() ?? {};
          if (step.move) truth[step.move.partition] = step.move.to;
          let notLeader = false;
          for (const { partitions: list } of topicData) {
            for (const { partition, firstSequence, messages } of list) {
              if (truth[partition] !== nodeId) {
                notLeader = true;
                continue;
              }
              const entry = log[partition] as (typeof log)[number];
              if (firstSequence === entry.nextSequence) {
                entry.values.push(...messages.map((m) => m.value));
                entry.nextSequence += messages.length;
              } else if ((firstSequence ?? 0) > entry.nextSequence) {
                throw new ProtocolError('OUT_OF_ORDER_SEQUENCE_NUMBER');
              } // else: a duplicate of a batch the log has, discarded
            }
          }
          if (step.answerAfterMs) await new Promise((resolve) => setTimeout(resolve, step.answerAfterMs));
          if (notLeader) throw new ProtocolError('NOT_LEADER_FOR_PARTITION');
          if (step.loseResponse) throw new ConnectionError('the connection closed before the answer');
          return { topics: topicData.map(({ topic, partitions: list }) => ({ topicName: topic, partitions: list.map(({ partition }) => ({ partition, errorCode: 0, baseOffset: '0' })) })) };
        },
      },
    ]),
  );
  const sequences = new Map<number, number>();
  const cluster = {
    refreshMetadataIfNecessary: async () => undefined,
    refreshMetadata: async () => {
      seen = [...truth];
    },
    findTopicPartitionMetadata: () => seen.map((leader, partitionId) => ({ partitionId, leader })),
    // kafkajs's own version asks this (src/cluster/index.js): partitions grouped by the leader it knows.
    findLeaderForPartitions: (_topic: string, partitions: string[]) => {
      const byLeader: Record<number, number[]> = {};
      for (const id of partitions) (byLeader[seen[Number(id)] as number] ??= []).push(Number(id));
      return byLeader;
    },
    findBroker: async ({ nodeId }: { nodeId: number | string }) => brokers.get(Number(nodeId)) as NonNullable<ReturnType<typeof brokers.get>>,
    addMultipleTargetTopics: async () => undefined,
    removeBroker: () => undefined,
    isConnected: () => true,
    connect: async () => undefined,
  };
  const eosManager = {
    isTransactional: () => false,
    getTransactionalId: () => '',
    getProducerId: () => 1,
    getProducerEpoch: () => 0,
    getSequence: (_topic: string, partition: number) => sequences.get(partition) ?? 0,
    updateSequence: (_topic: string, partition: number, increment: number) => sequences.set(partition, (sequences.get(partition) ?? 0) + increment),
    addPartitionsToTransaction: async () => undefined,
    acquireBrokerLock: async () => undefined,
    releaseBrokerLock: async () => undefined,
  };
  const logger = { debug: () => undefined, error: () => undefined };
  const partitioner = ({ message }: { message: { key?: unknown } }) => Number(message.key);
  const retrier = createRetry({ retries: 20, initialRetryTime: 1, maxRetryTime: 2 });
  return { script, log, deps: { logger, cluster, partitioner, eosManager, retrier } };
}

const messagesFor = (partitions: number, perPartition: number): Message[] =>
  Array.from({ length: partitions * perPartition }, (_, n) => ({ key: String(n % partitions), value: `m${n}` }));

const written = (log: ReturnType<typeof model>['log']) => log.flatMap((entry) => entry.values).sort();

describe('send-messages: the produce path that replaces kafkajs 2.2.4’s', () => {
  // Partition 0 on broker 1, partition 1 on broker 2. Broker 1 answers for partition 0; meanwhile
  // partition 1 moves to broker 1, and broker 2 answers NOT_LEADER.
  const leaderMovesToABrokerThatAnswered = () => {
    const m = model(2, [1, 2]);
    m.script.push({}, { move: { partition: 1, to: 1 } });
    return m;
  };

  it('kafkajs 2.2.4’s own loses the messages of the partition that moved, and resolves', async () => {
    const m = leaderMovesToABrokerThatAnswered();
    const send = kafkajsOriginal()(m.deps as never);
    const messages = messagesFor(2, 3);
    await send({ acks: -1, topicMessages: [{ topic: 't', messages }] });
    expect(m.log[0]?.values).toHaveLength(3);
    expect(m.log[1]?.values).toEqual([]);
  });

  it('sends them to the partition’s new leader', async () => {
    const m = leaderMovesToABrokerThatAnswered();
    const send = createSendMessages(m.deps as never);
    const messages = messagesFor(2, 3);
    await send({ acks: -1, topicMessages: [{ topic: 't', messages }] });
    expect(written(m.log)).toEqual(messages.map((x) => x.value).sort());
  });

  it('retries only once every request of the attempt is answered: a slow answer is not sent again under new sequence numbers', async () => {
    // Broker 1 (partition 0) answers after 30 ms; broker 2 (partition 1) fails at once. Retrying then
    // (kafkajs, and Promise.all) would send partition 0 again with its sequence already advanced.
    const m = model(2, [1, 2]);
    m.script.push({ answerAfterMs: 30 }, { move: { partition: 1, to: 3 } });
    const messages = messagesFor(2, 3);
    await createSendMessages(m.deps as never)({ acks: -1, topicMessages: [{ topic: 't', messages }] });
    expect(written(m.log)).toEqual(messages.map((x) => x.value).sort());

    const k = model(2, [1, 2]);
    k.script.push({ answerAfterMs: 30 }, { move: { partition: 1, to: 3 } });
    await kafkajsOriginal()(k.deps as never)({ acks: -1, topicMessages: [{ topic: 't', messages }] });
    expect(k.log[0]?.values).toHaveLength(6); // kafkajs 2.2.4: partition 0's three messages twice
  });

  it('fails the attempt, and retries, when a partition has no known leader (kafkajs drops it)', async () => {
    const m = model(2, [1, -1]);
    m.deps.cluster.refreshMetadata = async () => undefined;
    const send = createSendMessages({ ...m.deps, retrier: createRetry({ retries: 2, initialRetryTime: 1, maxRetryTime: 2 }) } as never);
    await expect(send({ acks: -1, topicMessages: [{ topic: 't', messages: messagesFor(2, 1) }] })).rejects.toThrow(/no leader known for t\/1/);
  });

  it('keeps each keyless message in the partition chosen first, across retries', async () => {
    const m = model(3, [1, 2, 3]);
    let turn = 0;
    m.deps.partitioner = () => turn++ % 3; // another partition on every call, as a round robin
    m.script.push({ move: { partition: 2, to: 1 } }, {}, {});
    const send = createSendMessages(m.deps as never);
    const messages = Array.from({ length: 9 }, (_, n) => ({ key: '', value: `k${n}` }));
    await send({ acks: -1, topicMessages: [{ topic: 't', messages }] });
    expect(written(m.log)).toEqual(messages.map((x) => x.value).sort());
  });

  it('writes every message exactly once whatever leaders move and answers are lost (property)', async () => {
    const step = fc.record({
      move: fc.option(fc.record({ partition: fc.integer({ min: 0, max: 5 }), to: fc.integer({ min: 1, max: 3 }) }), { nil: undefined }),
      loseResponse: fc.boolean(),
      answerAfterMs: fc.constantFrom(0, 0, 5),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 6, maxLength: 6 }),
        fc.array(step, { maxLength: 12 }),
        fc.integer({ min: 1, max: 4 }),
        async (leaders, steps, perPartition) => {
          const m = model(6, leaders);
          m.script.push(...steps.map((s) => ({ ...(s.move ? { move: s.move } : {}), loseResponse: s.loseResponse, answerAfterMs: s.answerAfterMs })));
          const send = createSendMessages(m.deps as never);
          const messages = messagesFor(6, perPartition);
          await send({ acks: -1, topicMessages: [{ topic: 't', messages }] });
          expect(written(m.log)).toEqual(messages.map((x) => x.value).sort());
        },
      ),
      { numRuns: 200 },
    );
  });
});
