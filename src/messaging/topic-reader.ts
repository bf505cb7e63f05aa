import { randomUUID } from 'node:crypto';
import { highWatermarks } from './kafka/admin.js';
import { kafkajsOf } from './kafka/client.js';
import { toInMessages } from './kafka/messages.js';
import type { InMessage, KafkaClient } from './kafka-client.js';

/**
 * Reads a topic (read_committed) from given offsets — or the beginning — up to the end it had when the
 * read began, then stops. The end is, per partition, its last stable offset (`through: 'stable'`, the
 * default: records of a transaction still open, or committed but not yet marked, are not waited for) or
 * its high watermark (`through: 'written'`: every record written before the read began, once its
 * transaction is decided — a commit that returned just before is seen). Transaction markers and
 * compacted-away records count as read through kafkajs's batch events, so a partition whose last
 * records are control records still completes.
 */
export interface ReadToEndOptions {
  readonly client: KafkaClient;
  readonly topic: string;
  /** Next offset to read per partition; partitions not named start at the beginning. */
  readonly startOffsets?: ReadonlyMap<number, string>;
  onBatch(batch: { partition: number; messages: readonly InMessage[] }): Promise<void>;
  readonly timeoutMs?: number;
  /**
   * The throw-away consumer group's prefix: under ACLs a principal may only use groups of its own
   * prefix (`<topic prefix>.<principal>.`). Default `bcss-reader`.
   */
  readonly groupPrefix?: string;
  /** Also hand over the records of open and aborted transactions (read_uncommitted). Default false. */
  readonly readUncommitted?: boolean;
  /** Where the read ends (see above). Default `stable`. */
  readonly through?: 'stable' | 'written';
}

export async function readTopicToEnd(options: ReadToEndOptions): Promise<{ messages: number }> {
  const kafka = kafkajsOf(options.client);
  const ends =
    options.through === 'written'
      ? await highWatermarks(kafka, options.topic)
      : await options.client.admin().then((admin) => admin.topicOffsets(options.topic).finally(() => admin.disconnect()));
  const remaining = new Map<number, bigint>();
  for (const { partition, high, low } of ends) {
    const start = BigInt(options.startOffsets?.get(partition) ?? low);
    if (BigInt(high) > start && BigInt(high) > BigInt(low)) remaining.set(partition, BigInt(high));
  }
  if (remaining.size === 0) return { messages: 0 };

  const consumer = kafka.consumer({ groupId: `${options.groupPrefix ?? 'bcss-reader'}-${randomUUID()}`, readUncommitted: options.readUncommitted ?? false, allowAutoTopicCreation: false });
  let count = 0;
  let done!: () => void;
  let failed!: (error: unknown) => void;
  const finished = new Promise<void>((resolve, reject) => {
    done = resolve;
    failed = reject;
  });
  consumer.on(consumer.events.END_BATCH_PROCESS, (event) => {
    const { partition, lastOffset } = event.payload as { partition: number; lastOffset: string };
    const end = remaining.get(partition);
    if (end !== undefined && BigInt(lastOffset) + 1n >= end) {
      remaining.delete(partition);
      if (remaining.size === 0) done();
    }
  });
  consumer.on(consumer.events.CRASH, (event) => failed(event.payload.error));
  const timer = setTimeout(
    () => failed(new Error(`reading ${options.topic} did not reach its end within ${options.timeoutMs ?? 300_000} ms`)),
    options.timeoutMs ?? 300_000,
  );
  try {
    await consumer.connect();
    await consumer.subscribe({ topic: options.topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async (payload) => {
        const messages = toInMessages(payload);
        await options.onBatch({ partition: payload.batch.partition, messages });
        count += messages.length;
      },
    });
    for (const [partition, offset] of options.startOffsets ?? []) {
      if (remaining.has(partition)) consumer.seek({ topic: options.topic, partition, offset });
    }
    await finished;
    return { messages: count };
  } finally {
    clearTimeout(timer);
    await consumer.disconnect();
  }
}
