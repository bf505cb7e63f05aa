import type { Consumer, EachBatchPayload, Producer } from 'kafkajs';
import type { Logger } from '../logging/logger.js';
import { kafkajsOf } from './kafka/client.js';
import { toInMessages, toKafkaMessages } from './kafka/messages.js';
import { stableOffsetReader } from './kafka/stable-offsets.js';
import { retrying, toMessagingError, type InMessage, type KafkaClient, type OutMessage } from './kafka-client.js';

/**
 * Consume–transform–produce in Kafka transactions: for every chunk of a fetched batch, the outputs and
 * the consumed offsets are committed together, so a crash never yields a reply without its audit
 * record, nor a duplicate. kafkajs has no KIP-447 fencing, so (as its documentation advises) each input
 * topic-partition gets its own transactional id: a restarted or rebalanced instance fences the zombie.
 *
 * A partition taken up (at start, after a rebalance, after a failed transaction) is consumed from its
 * stable committed offset: the producer's InitProducerId first makes the broker complete whatever
 * transaction the id left behind (committing one whose commit had begun, aborting any other), then
 * the offset is read with `require_stable` — kafkajs's own offset fetch, made before that, may answer
 * with the offset before a transaction whose commit was under way, and the chunk would be answered twice.
 */

export interface OutRecord extends OutMessage {
  readonly topic: string;
}

export interface ChunkResult {
  readonly records: readonly OutRecord[];
  /**
   * Runs once the chunk's transaction is committed (e.g. forgetting state the outputs made obsolete).
   * It must be safe to run twice. A failure is logged and retried in the background (1 s, doubling, for
   * about a minute) while the pipeline goes on: what it cleans up must also expire by itself.
   */
  readonly afterCommit?: () => Promise<void>;
}

/** What a pipeline reports as it runs (to metrics, which messaging knows nothing of). */
export interface PipelineEvents {
  /** The pipeline's consumer joined its group: a rebalance. */
  rebalanced(): void;
  /** A chunk's transaction was aborted; the chunk is consumed again. */
  aborted(): void;
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
  readonly events?: PipelineEvents;
}

export interface RunningPipeline {
  stop(): Promise<void>;
}

/**
 * Bytes of output per produce call at most. The broker refuses a batch for one partition above its
 * `max.message.bytes` (1 MiB by default), and a chunk's output — dead letters above all, which all go to
 * one partition and carry the original bytes — could reach that: the transaction would never commit and
 * the partition would stall. Sent in order, one call after the other, within the same transaction.
 */
const SEND_BUDGET_BYTES = 900 * 1024;

function sizeOf(record: OutRecord): number {
  let size = 64 + (record.value?.length ?? 0);
  if (record.key) size += typeof record.key === 'string' ? Buffer.byteLength(record.key) : record.key.length;
  for (const [name, value] of Object.entries(record.headers ?? {})) size += name.length + Buffer.byteLength(value);
  return size;
}

/** Consecutive slices of the output, each within the budget (a record larger than it goes alone). */
export function sendSlices(records: readonly OutRecord[]): OutRecord[][] {
  const slices: OutRecord[][] = [];
  let current: OutRecord[] = [];
  let bytes = 0;
  for (const record of records) {
    const size = sizeOf(record);
    if (current.length > 0 && bytes + size > SEND_BUDGET_BYTES) {
      slices.push(current);
      current = [];
      bytes = 0;
    }
    current.push(record);
    bytes += size;
  }
  if (current.length > 0) slices.push(current);
  return slices;
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

/**
 * What eachBatch throws when a chunk's transaction failed. Not retriable on purpose: retrying the chunk
 * in place could re-initialize the partition's transactional id and fence the instance the group gave
 * the partition to meanwhile (kafkajs has no KIP-447 generation check on offset commits), then commit
 * the same input twice. The consumer instead leaves, rejoins the group and resumes from the committed
 * offsets — by kafkajs's own restart, or by the replacement below when kafkajs gives up.
 */
class ChunkFailed extends Error {
  override readonly name = 'ChunkFailed';
  readonly retriable = false;
}

/**
 * The transactional producers' own retry. A transaction begun while the broker still writes the
 * previous one's markers gets CONCURRENT_TRANSACTIONS on AddPartitionsToTxn, which kafkajs retries with
 * the producer's backoff: the client's 200 ms would stall the whole stage (its partitions are taken in
 * turn) for 200 ms each time; the Java client waits 20 ms. Unbounded retries as kafkajs gives an
 * idempotent producer by default, the same 5 s ceiling as the client.
 */
const TRANSACTIONAL_RETRY = { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 15, maxRetryTime: 5_000 } as const;

/** Waits before each new try of a failed after-commit step: about a minute in all. */
const AFTER_COMMIT_RETRY_MS = [1_000, 2_000, 4_000, 8_000, 16_000, 30_000];

/** Waits between replacements of a consumer that kafkajs stopped restarting: 1 s, doubling, at most 5 s (so a broker back is used soon). */
const REPLACE_BACKOFF_MS = [1_000, 2_000, 4_000, 5_000];

export async function runTransactionalPipeline(options: TransactionalPipelineOptions): Promise<RunningPipeline> {
  const log = options.logger.child({ module: 'pipeline', group: options.groupId });
  const kafka = kafkajsOf(options.client);
  const chunkSize = options.chunkSize ?? 500;
  const producers = new Map<string, Promise<Producer>>();
  /** Partitions whose producer is new: their position is checked against the stable committed offset. */
  const unchecked = new Set<string>();
  const stableOffsets = stableOffsetReader(options.client, options.groupId);

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
          retry: { ...TRANSACTIONAL_RETRY },
        });
        await p.connect();
        // The transactional InitProducerId (kafkajs sends it with the first transaction): it fences the
        // id's previous holder and returns only once the transaction that holder left is completed.
        await (await p.transaction()).abort();
        return p;
      })();
      producers.set(key, producer);
      unchecked.add(key);
      const created = producer;
      producer.catch(() => {
        if (producers.get(key) === created) producers.delete(key);
      });
    }
    return producer;
  };

  /**
   * A producer whose transaction failed is never used again: it may have been fenced by another
   * instance that took the partition over (and gave it back since), or be stuck between states after
   * the broker went away mid-commit — kafkajs then refuses every new transaction. Its successor's
   * InitProducerId aborts whatever it left open.
   */
  const discardProducer = (topic: string, partition: number, producer: Producer): void => {
    const key = `${topic}:${partition}`;
    const cached = producers.get(key);
    if (cached) {
      producers.delete(key);
      void cached.then((p) => (p === producer ? undefined : p.disconnect())).catch(() => undefined);
    }
    void producer.disconnect().catch(() => undefined);
  };

  let replacements = 0;
  let stopping = false;
  let consumer: Consumer | null = null;
  let replaceTimer: NodeJS.Timeout | null = null;
  let replacing: Promise<void> | null = null;

  /**
   * The messages of a batch from the partition's stable committed offset on: those before it were
   * answered by a transaction completed after kafkajs read the offsets (see above). Resolves the ones
   * skipped, so that kafkajs fetches on from there.
   */
  const fromStableOffset = async (payload: EachBatchPayload, all: InMessage[]): Promise<InMessage[]> => {
    const { topic, partition } = payload.batch;
    const committed = await stableOffsets.committed(topic, partition);
    unchecked.delete(`${topic}:${partition}`);
    if (committed === null) return all;
    const rest = all.filter((m) => BigInt(m.offset) >= committed);
    const skipped = all.length - rest.length;
    if (skipped > 0) {
      log.warn({ topic, partition, from: all[0]?.offset, committed: committed.toString(), skipped }, 'messages already answered by a transaction completed after the offsets were read: skipped');
      payload.resolveOffset((all[skipped - 1] as InMessage).offset);
    }
    return rest;
  };

  /**
   * The chunk's after-commit step; failed (a Redis slot without a master for a few seconds), it is tried
   * again later without holding the partition up.
   */
  const afterCommitted = async (step: () => Promise<void>): Promise<void> => {
    try {
      await step();
    } catch (error) {
      log.warn({ err: error }, 'after-commit step failed; trying again in the background');
      void (async () => {
        for (const waitMs of AFTER_COMMIT_RETRY_MS) {
          await new Promise((resolve) => setTimeout(resolve, waitMs).unref());
          if (stopping) return;
          try {
            await step();
            log.info('after-commit step done on a later try');
            return;
          } catch {
            // tried again below, or given up: what it cleans up expires by itself
          }
        }
        log.warn('after-commit step given up; what it would clean up expires by itself');
      })();
    }
  };

  const eachBatch = async (payload: EachBatchPayload): Promise<void> => {
    const { batch } = payload;
    let all = toInMessages(payload);
    const key = `${batch.topic}:${batch.partition}`;
    if (!producers.has(key) || unchecked.has(key)) {
      const producer = await producerFor(batch.topic, batch.partition);
      try {
        all = await fromStableOffset(payload, all);
      } catch (error) {
        discardProducer(batch.topic, batch.partition, producer);
        const failure = toMessagingError(error);
        log.warn({ topic: batch.topic, partition: batch.partition, type: failure.type, err: failure.message }, 'stable committed offset not read; rejoining the group');
        throw new ChunkFailed(`the committed offset of ${batch.topic}/${batch.partition} could not be read: ${failure.type}: ${failure.message}`, { cause: failure });
      }
    }
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
      // A transform that waited long (Redis away) may have outlived this member's session: the partition
      // may be someone else's now. The heartbeat (sent only when one is due) then throws, and the chunk
      // is left to the new owner rather than committed twice — commits carry no group generation.
      await payload.heartbeat();
      const producer = await producerFor(batch.topic, batch.partition);
      try {
        const transaction = await producer.transaction();
        try {
          for (const slice of sendSlices(result.records)) {
            await transaction.sendBatch({ topicMessages: groupByTopic(slice), acks: -1 });
          }
          // kafkajs does not retry CONCURRENT_TRANSACTIONS on AddOffsetsToTxn (its issue #430): we do.
          await retrying(
            () =>
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
          await transaction.abort().catch((abortError: unknown) => log.warn({ err: toMessagingError(abortError) }, 'abort failed'));
          options.events?.aborted();
          throw error;
        }
      } catch (error) {
        discardProducer(batch.topic, batch.partition, producer);
        const failure = toMessagingError(error);
        log.warn({ topic: batch.topic, partition: batch.partition, type: failure.type, err: failure.message }, 'chunk not committed; rejoining the group to consume it again');
        throw new ChunkFailed(`the transaction for ${batch.topic}/${batch.partition} failed: ${failure.type}: ${failure.message}`, { cause: failure });
      }
      replacements = 0;
      payload.resolveOffset(last.offset);
      if (result.afterCommit) await afterCommitted(result.afterCommit);
      await payload.heartbeat();
    }
  };

  const startConsumer = async (): Promise<Consumer> => {
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
    consumer.on(consumer.events.GROUP_JOIN, (event) => {
      options.events?.rebalanced();
      // A partition given away may be processed elsewhere now: its producer is fenced there, or soon will be.
      const assigned = new Set(
        Object.entries(event.payload.memberAssignment).flatMap(([topic, partitions]) => partitions.map((p) => `${topic}:${p}`)),
      );
      for (const [key, producer] of producers) {
        if (assigned.has(key)) continue;
        producers.delete(key);
        void producer.then((p) => p.disconnect()).catch(() => undefined);
      }
    });
    consumer.on(consumer.events.CRASH, (event) => {
      // kafkajs restarts a consumer after retriable failures only; after any other (a coordinator not
      // found while the broker restarts, a programming error) it would stay stopped, and the stage with it.
      if (event.payload.restart || stopping) return;
      log.error({ err: toMessagingError(event.payload.error) }, 'consumer stopped by its client; replacing it');
      replaceLater();
    });
    try {
      await consumer.connect();
      for (const topic of options.topics) {
        await consumer.subscribe({ topic, fromBeginning: options.fromBeginning ?? true });
      }
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 1,
        eachBatch,
      });
    } catch (error) {
      await consumer.disconnect().catch(() => undefined);
      throw error;
    }
    return consumer;
  };

  const replaceLater = (): void => {
    if (stopping || replaceTimer) return;
    const delay = REPLACE_BACKOFF_MS[Math.min(replacements, REPLACE_BACKOFF_MS.length - 1)] as number;
    replacements++;
    replaceTimer = setTimeout(() => {
      replaceTimer = null;
      replacing = (async () => {
        await consumer?.disconnect().catch(() => undefined);
        if (stopping) return;
        try {
          consumer = await startConsumer();
          log.info({ attempt: replacements }, 'consumer replaced');
          if (stopping) await consumer.disconnect();
        } catch (error) {
          log.error({ err: toMessagingError(error) }, 'consumer could not be replaced; trying again');
          replaceLater();
        }
      })().finally(() => {
        replacing = null;
      });
    }, delay);
  };

  consumer = await startConsumer();

  return {
    async stop() {
      stopping = true;
      if (replaceTimer) clearTimeout(replaceTimer);
      await replacing;
      await consumer?.disconnect();
      const all = await Promise.allSettled(producers.values());
      await Promise.all(all.map((p) => (p.status === 'fulfilled' ? p.value.disconnect().catch(() => undefined) : undefined)));
      producers.clear();
      await stableOffsets.disconnect();
    },
  };
}
