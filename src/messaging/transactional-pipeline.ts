import type { Producer } from 'kafkajs';
import type { Logger } from '../logging/logger.js';
import {
  toInMessages,
  toMessagingError,
  type InMessage,
  type KafkaClient,
  type OutMessage,
} from './kafka-client.js';

/**
 * Consume–transform–produce in Kafka transactions: for every chunk of a fetched batch, the outputs and
 * the consumed offsets are committed together, so a crash never yields a reply without its audit
 * record, nor a duplicate. kafkajs has no KIP-447 fencing, so (as its documentation advises) each input
 * topic-partition gets its own transactional id: a restarted or rebalanced instance fences the zombie.
 */

export interface OutRecord extends OutMessage {
  readonly topic: string;
}

export interface ChunkResult<T = unknown> {
  readonly records: readonly OutRecord[];
  /** Handed to `afterCommit` once the transaction is committed (e.g. Redis writes derived from it). */
  readonly afterCommit?: T;
}

export interface CommittedChunk<T> {
  readonly topic: string;
  readonly partition: number;
  readonly result: T;
  /** Base offsets of what was written, per output topic-partition. */
  readonly written: ReadonlyArray<{ topic: string; partition: number; baseOffset: string }>;
}

export interface TransactionalPipelineOptions<T> {
  readonly client: KafkaClient;
  readonly groupId: string;
  readonly topics: ReadonlyArray<string | RegExp>;
  /** Prefix of the transactional ids; the full id adds the input topic and partition. */
  readonly transactionalIdPrefix: string;
  readonly logger: Logger;
  readonly fromBeginning?: boolean;
  /** Messages per transaction at most; keeps transactions short and heartbeats regular. */
  readonly chunkSize?: number;
  readonly partitionsConsumedConcurrently?: number;
  /** Called when partitions are assigned, before any of their messages is handled. */
  readonly onAssigned?: (assignment: ReadonlyArray<{ topic: string; partitions: number[] }>) => Promise<void>;
  transform(messages: readonly InMessage[]): Promise<ChunkResult<T>>;
  afterCommit?(committed: CommittedChunk<T>): Promise<void>;
}

export interface RunningPipeline {
  stop(): Promise<void>;
}

const CONCURRENT_TRANSACTIONS_RETRIES = 10;

/** kafkajs does not retry CONCURRENT_TRANSACTIONS on AddOffsetsToTxn (its issue #430): we do. */
async function withConcurrentTransactionsRetry<T>(operation: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await operation();
    } catch (error) {
      const type = toMessagingError(error).type;
      if (type !== 'CONCURRENT_TRANSACTIONS' || attempt >= CONCURRENT_TRANSACTIONS_RETRIES) throw error;
      await new Promise((r) => setTimeout(r, 20 * 2 ** Math.min(attempt, 6)));
    }
  }
}

function groupByTopic(records: readonly OutRecord[]) {
  const byTopic = new Map<string, OutMessage[]>();
  for (const { topic, ...message } of records) {
    let list = byTopic.get(topic);
    if (!list) byTopic.set(topic, (list = []));
    list.push(message);
  }
  return [...byTopic].map(([topic, messages]) => ({
    topic,
    messages: messages.map((m) => ({
      key: m.key ?? null,
      value: m.value,
      headers: m.headers ? { ...m.headers } : undefined,
      ...(m.partition === undefined ? {} : { partition: m.partition }),
    })),
  }));
}

export async function runTransactionalPipeline<T>(options: TransactionalPipelineOptions<T>): Promise<RunningPipeline> {
  const log = options.logger.child({ module: 'pipeline', group: options.groupId });
  const kafka = options.client.raw;
  const chunkSize = options.chunkSize ?? 500;
  const producers = new Map<string, Promise<Producer>>();

  const producerFor = (topic: string, partition: number): Promise<Producer> => {
    const key = `${topic}:${partition}`;
    let producer = producers.get(key);
    if (!producer) {
      producer = (async () => {
        const p = kafka.producer({
          transactionalId: `${options.transactionalIdPrefix}-${topic}-${partition}`,
          idempotent: true,
          maxInFlightRequests: 1,
          allowAutoTopicCreation: false,
          transactionTimeout: 30_000,
        });
        await p.connect();
        return p;
      })();
      producers.set(key, producer);
      producer.catch(() => producers.delete(key));
    }
    return producer;
  };

  const consumer = kafka.consumer({
    groupId: options.groupId,
    readUncommitted: false,
    allowAutoTopicCreation: false,
    maxBytesPerPartition: 1_048_576,
  });
  if (options.onAssigned) {
    consumer.on(consumer.events.GROUP_JOIN, (event) => {
      const assignment = Object.entries(event.payload.memberAssignment).map(([topic, partitions]) => ({
        topic,
        partitions: partitions as number[],
      }));
      options.onAssigned?.(assignment).catch((error: unknown) => log.error({ err: error }, 'onAssigned failed'));
    });
  }
  await consumer.connect();
  for (const topic of options.topics) {
    await consumer.subscribe({ topic, fromBeginning: options.fromBeginning ?? true });
  }

  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 1,
    eachBatch: async (payload) => {
      const { batch } = payload;
      const all = toInMessages(payload);
      for (let start = 0; start < all.length; start += chunkSize) {
        if (!payload.isRunning() || payload.isStale()) return;
        const chunk = all.slice(start, start + chunkSize);
        const last = chunk[chunk.length - 1] as InMessage;
        const result = await options.transform(chunk);
        const producer = await producerFor(batch.topic, batch.partition);
        const transaction = await producer.transaction();
        let written: Array<{ topic: string; partition: number; baseOffset: string }> = [];
        try {
          if (result.records.length > 0) {
            const metadata = await transaction.sendBatch({ topicMessages: groupByTopic(result.records), acks: -1 });
            written = metadata.map((m) => ({ topic: m.topicName, partition: m.partition, baseOffset: m.baseOffset ?? '-1' }));
          }
          await withConcurrentTransactionsRetry(() =>
            transaction.sendOffsets({
              consumerGroupId: options.groupId,
              topics: [
                { topic: batch.topic, partitions: [{ partition: batch.partition, offset: (BigInt(last.offset) + 1n).toString() }] },
              ],
            }),
          );
          await transaction.commit();
        } catch (error) {
          await transaction.abort().catch((abortError: unknown) => log.warn({ err: abortError }, 'abort failed'));
          throw toMessagingError(error);
        }
        payload.resolveOffset(last.offset);
        if (options.afterCommit && result.afterCommit !== undefined) {
          await options.afterCommit({ topic: batch.topic, partition: batch.partition, result: result.afterCommit, written });
        }
        await payload.heartbeat();
      }
    },
  });

  return {
    async stop() {
      await consumer.disconnect();
      const all = await Promise.allSettled(producers.values());
      await Promise.all(all.map((p) => (p.status === 'fulfilled' ? p.value.disconnect() : undefined)));
      producers.clear();
    },
  };
}
