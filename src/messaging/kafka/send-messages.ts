import { createRequire } from 'node:module';

/**
 * kafkajs 2.2.4's produce path (`src/producer/sendMessages.js`) with one change: what a retry sends is
 * decided per topic-partition, not per broker.
 *
 * kafkajs keeps the brokers that answered across the retries of one send and skips them. When a leader
 * moves (a broker killed, a preferred-leader election), the partitions that failed on the old leader are
 * retried on the new one; if that broker had already answered for its own partitions, kafkajs skips it,
 * and the moved partitions' messages are never sent — yet the send resolves, and a transaction commits
 * without them (kafkajs issue #1303; the fix it lacks, PR #1798). Seen on the clustered stack: exchanges
 * audited as forwarded whose source request, written in the same transaction, was never on the topic.
 *
 * And kafkajs retries as soon as one broker's request fails, while another's may still be in flight:
 * the retry sends that one's partitions again under new sequence numbers, and both copies are written
 * (seen on the clustered stack: the same audit record and source request two and three times over).
 *
 * Here the messages are assigned to partitions once (a partitioner without a key may choose another
 * partition on each call), each retry groups the partitions not yet acknowledged by their leader as it
 * stands, and a partition without a known leader fails the attempt (kafkajs drops it silently). A batch
 * sent again to a partition whose earlier attempt the broker had written keeps its sequence numbers,
 * and the idempotent producer's broker discards the duplicate.
 *
 * Installed by `kafkajs.ts` in Node's module cache before kafkajs loads, so kafkajs's producer takes it.
 */

const require = createRequire(import.meta.url);

interface KafkajsMessage {
  readonly key?: Buffer | string | null;
  readonly value: Buffer | string | null;
}
type PartitionMetadata = Array<{ partitionId: number; leader: number }>;
type Partitioner = (args: { topic: string; partitionMetadata: PartitionMetadata; message: KafkajsMessage }) => number;

interface Broker {
  readonly nodeId: number;
  produce(request: {
    transactionalId?: string;
    producerId: number | string;
    producerEpoch: number;
    acks: number;
    timeout?: number;
    compression?: number;
    topicData: TopicData[];
  }): Promise<{ topics: Array<{ topicName: string; partitions: Array<Record<string, unknown>> }> }>;
}
interface TopicData {
  topic: string;
  partitions: Array<{ partition: number; messages: KafkajsMessage[]; firstSequence?: number }>;
}
interface Cluster {
  refreshMetadataIfNecessary(): Promise<void>;
  refreshMetadata(): Promise<void>;
  findTopicPartitionMetadata(topic: string): PartitionMetadata;
  findBroker(query: { nodeId: number }): Promise<Broker>;
  addMultipleTargetTopics(topics: string[]): Promise<void>;
  removeBroker(query: { host: string; port: number }): void;
  isConnected(): boolean;
  connect(): Promise<void>;
}
interface EosManager {
  isTransactional(): boolean;
  getTransactionalId(): string;
  getProducerId(): number | string;
  getProducerEpoch(): number;
  getSequence(topic: string, partition: number): number;
  updateSequence(topic: string, partition: number, increment: number): void;
  addPartitionsToTransaction(topicData: TopicData[]): Promise<void>;
  acquireBrokerLock(broker: Broker): Promise<void>;
  releaseBrokerLock(broker: Broker): Promise<void>;
}
interface Logger {
  debug(message: string, extra?: object): void;
  error(message: string, extra?: object): void;
}
type Retrier = <T>(fn: (bail: (error: Error) => never, retryCount: number, retryTime: number) => Promise<T>) => Promise<T>;

interface SendError extends Error {
  retriable?: boolean;
  host?: string;
  port?: number;
}

const { KafkaJSMetadataNotLoaded } = require('kafkajs/src/errors') as { KafkaJSMetadataNotLoaded: new (message: string, extra?: object) => Error };
const { staleMetadata } = require('kafkajs/src/protocol/error') as { staleMetadata(error: unknown): boolean };

const partitionKey = (topic: string, partition: number) => `${topic}\u0000${partition}`;

export function createSendMessages({
  logger,
  cluster,
  partitioner,
  eosManager,
  retrier,
}: {
  logger: Logger;
  cluster: Cluster;
  partitioner: Partitioner;
  eosManager: EosManager;
  retrier: Retrier;
}) {
  return async ({ acks, timeout, compression, topicMessages }: { acks: number; timeout?: number; compression?: number; topicMessages: Array<{ topic: string; messages: KafkajsMessage[] }> }) => {
    /** Per topic, its messages by partition: chosen once, on the first attempt with metadata. */
    const assigned = new Map<string, Map<number, KafkajsMessage[]>>();
    /** The broker's answer per topic-partition acknowledged: never sent again. */
    const acknowledged = new Map<string, Array<Record<string, unknown>>>();

    const assign = (topic: string, messages: KafkajsMessage[]): Map<number, KafkajsMessage[]> => {
      let byPartition = assigned.get(topic);
      if (byPartition) return byPartition;
      const partitionMetadata = cluster.findTopicPartitionMetadata(topic);
      if (partitionMetadata.length === 0) {
        logger.debug('Producing to topic without metadata', { topic });
        throw new KafkaJSMetadataNotLoaded('Producing to topic without metadata');
      }
      byPartition = new Map();
      for (const message of messages) {
        const partition = partitioner({ topic, partitionMetadata, message });
        const list = byPartition.get(partition);
        if (list) list.push(message);
        else byPartition.set(partition, [message]);
      }
      assigned.set(topic, byPartition);
      return byPartition;
    };

    const attempt = async (): Promise<void> => {
      await cluster.refreshMetadataIfNecessary();
      const perLeader = new Map<number, TopicData[]>();
      for (const { topic, messages } of topicMessages) {
        const byPartition = assign(topic, messages);
        const metadata = cluster.findTopicPartitionMetadata(topic);
        for (const [partition, list] of byPartition) {
          if (acknowledged.has(partitionKey(topic, partition))) continue;
          const leader = metadata.find((p) => p.partitionId === partition)?.leader;
          if (leader === undefined || leader === null || leader < 0) {
            throw new KafkaJSMetadataNotLoaded(`no leader known for ${topic}/${partition}`, { topic, partition });
          }
          const forLeader = perLeader.get(leader) ?? [];
          perLeader.set(leader, forLeader);
          let entry = forLeader.find((t) => t.topic === topic);
          if (!entry) forLeader.push((entry = { topic, partitions: [] }));
          entry.partitions.push({ partition, messages: list });
        }
      }
      const requests = [...perLeader].map(async ([nodeId, topicData]) => {
        const broker = await cluster.findBroker({ nodeId });
        await eosManager.acquireBrokerLock(broker);
        try {
          if (eosManager.isTransactional()) await eosManager.addPartitionsToTransaction(topicData);
          for (const { topic, partitions } of topicData) {
            for (const entry of partitions) {
              entry.firstSequence = eosManager.getSequence(topic, entry.partition);
              eosManager.updateSequence(topic, entry.partition, entry.messages.length);
            }
          }
          let response;
          try {
            response = await broker.produce({
              ...(eosManager.isTransactional() ? { transactionalId: eosManager.getTransactionalId() } : {}),
              producerId: eosManager.getProducerId(),
              producerEpoch: eosManager.getProducerEpoch(),
              acks,
              ...(timeout === undefined ? {} : { timeout }),
              ...(compression === undefined ? {} : { compression }),
              topicData,
            });
          } catch (error) {
            // Sent again with the same sequence numbers: a batch the broker did write is discarded as a duplicate.
            for (const { topic, partitions } of topicData) {
              for (const entry of partitions) eosManager.updateSequence(topic, entry.partition, -entry.messages.length);
            }
            throw error;
          }
          const answers = acks !== 0 ? response.topics : [];
          for (const { topic, partitions } of topicData) {
            for (const { partition } of partitions) {
              const answer = answers.find((t) => t.topicName === topic)?.partitions.filter((p) => p.partition === partition) ?? [];
              acknowledged.set(partitionKey(topic, partition), answer.map((p) => ({ topicName: topic, ...p })));
            }
          }
        } finally {
          await eosManager.releaseBrokerLock(broker);
        }
      });
      // Every request settles before the attempt fails: a retry begun while one is still in flight would
      // send its partitions again with the sequence numbers after theirs, which the broker takes as new
      // records — a second copy once the first is answered (kafkajs's Promise.all has the same race).
      const settled = await Promise.allSettled(requests);
      const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    };

    return retrier(async (bail) => {
      await cluster.addMultipleTargetTopics(topicMessages.map(({ topic }) => topic));
      try {
        await attempt();
        return [...acknowledged.values()].flat();
      } catch (caught) {
        const error = caught as SendError;
        if (error.name === 'KafkaJSConnectionClosedError' && error.host !== undefined && error.port !== undefined) {
          cluster.removeBroker({ host: error.host, port: error.port });
        }
        if (!cluster.isConnected()) {
          logger.debug(`Cluster has disconnected, reconnecting: ${error.message}`);
          await cluster.connect();
          await cluster.refreshMetadata();
          throw error;
        }
        if (
          staleMetadata(error) ||
          error.name === 'KafkaJSMetadataNotLoaded' ||
          error.name === 'KafkaJSConnectionError' ||
          error.name === 'KafkaJSConnectionClosedError' ||
          (error.name === 'KafkaJSProtocolError' && error.retriable)
        ) {
          logger.error(`Failed to send messages: ${error.message}`);
          await cluster.refreshMetadata();
          throw error;
        }
        logger.error(`${error.message}`);
        if (error.retriable) throw error;
        return bail(error);
      }
    });
  };
}
