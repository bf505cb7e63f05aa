import type { Producer } from 'kafkajs';
import type { Logger } from '../logging/logger.js';
import {
  retrying,
  toInMessages,
  toKafkaMessages,
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

export interface ChunkResult {
  readonly records: readonly OutRecord[];
  /**
   * Runs once the chunk's transaction is committed (e.g. forgetting state the outputs made obsolete).
   * Its failure is logged, never retried: what it cleans up must also expire by itself.
   */
  readonly afterCommit?: () => Promise<void>;
}

export interface TransactionalPipelineOptions {
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
  /**
   * Asked before each chunk: 0 admits it; a positive number pauses the partition for that many
   * milliseconds. The chunk and what follows stay in Kafka (fetched again from the last committed
   * position on resume), so a stage that cannot keep up slows its intake instead of piling up work.
   */
  admission?(): Promise<number>;
  transform(messages: readonly InMessage[]): Promise<ChunkResult>;
}

export interface RunningPipeline {
  stop(): Promise<void>;
}

function groupByTopic(records: readonly OutRecord[]) {
  const byTopic = new Map<string, OutMessage[]>();
  for (const { topic, ...message } of records) {
    let list = byTopic.get(topic);
    if (!list) byTopic.set(topic, (list = []));
    list.push(message);
  }
  return [...byTopic].map(([topic, messages]) => ({ topic, messages: toKafkaMessages(messages) }));
}

export async function runTransactionalPipeline(options: TransactionalPipelineOptions): Promise<RunningPipeline> {
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
    // A crashed member holds its partitions until its session expires: 10 s instead of kafkajs's 30 s
    // lets a restarted or surviving gateway take over sooner. Heartbeats go out between chunks.
    sessionTimeout: 10_000,
    heartbeatInterval: 3_000,
    // A fetch returns as soon as data arrives; the wait only bounds an idle poll, and a stop waits for it.
    maxWaitTimeInMs: 1_000,
    allowAutoTopicCreation: false,
    maxBytesPerPartition: 1_048_576,
  });
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
        const waitMs = options.admission ? await options.admission() : 0;
        if (waitMs > 0) {
          const resume = payload.pause();
          setTimeout(resume, waitMs).unref();
          log.debug({ topic: batch.topic, partition: batch.partition, waitMs }, 'intake paused');
          return;
        }
        const chunk = all.slice(start, start + chunkSize);
        const last = chunk[chunk.length - 1] as InMessage;
        const result = await options.transform(chunk);
        const producer = await producerFor(batch.topic, batch.partition);
        const transaction = await producer.transaction();
        try {
          if (result.records.length > 0) {
            await transaction.sendBatch({ topicMessages: groupByTopic(result.records), acks: -1 });
          }
          // kafkajs does not retry CONCURRENT_TRANSACTIONS on AddOffsetsToTxn (its issue #430): we do.
          await retrying(() =>
            transaction.sendOffsets({
              consumerGroupId: options.groupId,
              topics: [
                { topic: batch.topic, partitions: [{ partition: batch.partition, offset: (BigInt(last.offset) + 1n).toString() }] },
              ],
            }),
            { attempts: 10, shouldRetry: (error) => error.type === 'CONCURRENT_TRANSACTIONS' },
          );
          await transaction.commit();
        } catch (error) {
          await transaction.abort().catch((abortError: unknown) => log.warn({ err: abortError }, 'abort failed'));
          throw toMessagingError(error);
        }
        payload.resolveOffset(last.offset);
        if (result.afterCommit) {
          await result.afterCommit().catch((error: unknown) => log.warn({ err: error }, 'after-commit step failed'));
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
