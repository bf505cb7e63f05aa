import kafkajs from './kafkajs.js';
import { kafkajsOf } from './client.js';
import { MessagingError, retrying, toMessagingError, translated } from './errors.js';
import { toInMessages } from './messages.js';
import type { InMessage, KafkaClient } from './types.js';

/**
 * Reads the one partition of `topic` that holds every message written with `key`, from its beginning
 * (or from the first message stamped at or after `fromTimestamp`) to the end it had when the read
 * began, then stops; `onBatch` gets that partition's messages in order, each once.
 *
 * Which partition: Kafka's default partitioner, murmur2 of the key's bytes modulo the partition count
 * (the Java client's and kafkajs's, the one every producer of the switch uses), applied here with
 * kafkajs's own implementation to the partition count the broker reports — so a search for one key
 * reads a quarter of a four-partition topic instead of all of it.
 *
 * Why here rather than through `consumer()` and `readTopicToEnd`: a partition written in transactions
 * ends with a commit marker that no message shows, so only kafkajs's batch events tell that the end is
 * reached; and the read joins `groupId`, which must be one the caller's principal may join (an auditor
 * only joins groups under `<prefix>.auditor.`). Alone in its group, the consumer is assigned every
 * partition: the others are paused and their messages ignored. It commits nothing. Aborting `signal`
 * stops the read, which then rejects with the signal's reason.
 */
export async function readKeyPartition(
  client: KafkaClient,
  options: {
    readonly topic: string;
    readonly key: string | Buffer;
    readonly groupId: string;
    readonly fromTimestamp?: number;
    readonly signal?: AbortSignal;
    /** Told which partition and offsets the read covers, before it begins. */
    onStart?(range: { partition: number; partitions: number; startOffset: string; endOffset: string }): void;
    onBatch(messages: readonly InMessage[]): void | Promise<void>;
  },
): Promise<{ partition: number; partitions: number; startOffset: string; endOffset: string; messages: number }> {
  const { topic } = options;
  const kafka = kafkajsOf(client);
  const admin = kafka.admin();
  let ends: Array<{ partition: number; low: string; high: string }>;
  let timestampOffsets: Array<{ partition: number; offset: string }> | null = null;
  try {
    await translated(() => admin.connect());
    ends = await retrying(() => admin.fetchTopicOffsets(topic));
    if (options.fromTimestamp !== undefined) {
      const at = options.fromTimestamp;
      timestampOffsets = await retrying(() => admin.fetchTopicOffsetsByTimestamp(topic, at));
    }
  } finally {
    await admin.disconnect();
  }
  const partitionMetadata = ends.map((p) => ({ partitionId: p.partition, leader: 0, partitionErrorCode: 0, replicas: [0], isr: [0] }));
  const partition = kafkajs.Partitioners.DefaultPartitioner()({ topic, partitionMetadata, message: { key: options.key, value: null } });
  const bounds = ends.find((p) => p.partition === partition);
  if (!bounds) throw new MessagingError('UNKNOWN_TOPIC_OR_PARTITION', false, `${topic} has no partition ${partition}`);
  const byTime = timestampOffsets?.find((p) => p.partition === partition)?.offset;
  // A timestamp past every message gives the end; one before the log start, the log start.
  const start = byTime !== undefined && BigInt(byTime) > BigInt(bounds.low) ? BigInt(byTime) : BigInt(bounds.low);
  const end = BigInt(bounds.high);
  const result = { partition, partitions: ends.length, startOffset: start.toString(), endOffset: bounds.high, messages: 0 };
  options.onStart?.({ partition, partitions: ends.length, startOffset: result.startOffset, endOffset: result.endOffset });
  if (start >= end) return result;
  options.signal?.throwIfAborted();

  const consumer = kafka.consumer({
    groupId: options.groupId,
    readUncommitted: false,
    allowAutoTopicCreation: false,
    // Large fetches of the one partition: a search is a sequential scan, the round trips are the cost.
    maxBytesPerPartition: 16 * 1_048_576,
    maxBytes: 32 * 1_048_576,
    // Bounds the idle poll a disconnect waits for.
    maxWaitTimeInMs: 250,
  });
  // The next offset to hand over: a fetch sent before the seek took effect may repeat messages.
  let next = start;
  let done!: () => void;
  let failed!: (error: unknown) => void;
  const finished = new Promise<void>((resolve, reject) => {
    done = resolve;
    failed = reject;
  });
  // Awaited below unless connecting fails first: then a crash or an abort must not go unhandled.
  finished.catch(() => undefined);
  consumer.on(consumer.events.END_BATCH_PROCESS, (event) => {
    const payload = event.payload as { partition: number; lastOffset: string };
    if (payload.partition === partition && BigInt(payload.lastOffset) + 1n >= end) done();
  });
  consumer.on(consumer.events.CRASH, (event) => failed(toMessagingError(event.payload.error)));
  const onAbort = () => failed(options.signal?.reason);
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await translated(() => consumer.connect());
    await translated(() => consumer.subscribe({ topic, fromBeginning: true }));
    await translated(() =>
      consumer.run({
        autoCommit: false,
        eachBatch: async (payload) => {
          if (payload.batch.partition !== partition) return;
          const fresh = toInMessages(payload).filter((m) => BigInt(m.offset) >= next && BigInt(m.offset) < end);
          if (fresh.length === 0) return;
          next = BigInt((fresh[fresh.length - 1] as InMessage).offset) + 1n;
          result.messages += fresh.length;
          await options.onBatch(fresh);
        },
      }),
    );
    const others = ends.map((p) => p.partition).filter((p) => p !== partition);
    if (others.length > 0) consumer.pause([{ topic, partitions: others }]);
    consumer.seek({ topic, partition, offset: start.toString() });
    await finished;
    return result;
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    await consumer.disconnect();
  }
}
