import { kafkajsOf } from './kafka/client.js';
import { retrying, toMessagingError, translated } from './kafka/errors.js';
import { toInMessages } from './kafka/messages.js';
import type { InMessage, KafkaClient } from './kafka-client.js';

/**
 * Reads given records of a topic by partition and offset (read_committed), and only those: for each
 * partition the consumer seeks to the next wanted offset, takes the record from the fetch, and seeks
 * again past any gap — so a person's twenty records among a hundred million cost twenty small fetches,
 * not a scan. An offset that the fetch skips (removed by retention, a transaction marker, an aborted
 * record) is reported as missing rather than waited for.
 *
 * Like `readKeyPartition`, the read joins `groupId` (one the caller's principal may join), alone, so it
 * is assigned every partition; those with nothing wanted are paused. It commits nothing.
 */
export interface ReadOffsetsResult {
  /** The records found, by `partition:offset`. */
  readonly found: ReadonlyMap<string, InMessage>;
  /** Wanted offsets that the topic no longer (or never) had. */
  readonly missing: ReadonlyArray<{ readonly partition: number; readonly offset: string }>;
}

export const placeKey = (partition: number, offset: string): string => `${partition}:${offset}`;

export async function readOffsets(
  client: KafkaClient,
  options: {
    readonly topic: string;
    readonly places: ReadonlyArray<{ readonly partition: number; readonly offset: string }>;
    readonly groupId: string;
    readonly signal?: AbortSignal;
  },
): Promise<ReadOffsetsResult> {
  const { topic } = options;
  const found = new Map<string, InMessage>();
  const missing: Array<{ partition: number; offset: string }> = [];
  // Per partition, the wanted offsets in ascending order, and how far each has got.
  const queues = new Map<number, bigint[]>();
  for (const place of options.places) {
    const list = queues.get(place.partition) ?? [];
    list.push(BigInt(place.offset));
    queues.set(place.partition, list);
  }
  for (const list of queues.values()) list.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (queues.size === 0) return { found, missing };

  const kafka = kafkajsOf(client);
  const admin = kafka.admin();
  let ends: Array<{ partition: number; low: string; high: string }>;
  try {
    await translated(() => admin.connect());
    ends = await retrying(() => admin.fetchTopicOffsets(topic));
  } finally {
    await admin.disconnect();
  }
  const high = new Map(ends.map((p) => [p.partition, BigInt(p.high)]));
  const low = new Map(ends.map((p) => [p.partition, BigInt(p.low)]));
  // What the topic cannot hold (past its end, before its start, or a partition it lacks) is missing at once.
  for (const [partition, list] of queues) {
    const kept = list.filter((offset) => {
      const inside = offset < (high.get(partition) ?? 0n) && offset >= (low.get(partition) ?? 0n);
      if (!inside) missing.push({ partition, offset: offset.toString() });
      return inside;
    });
    if (kept.length === 0) queues.delete(partition);
    else queues.set(partition, kept);
  }
  if (queues.size === 0) return { found, missing };

  const consumer = kafka.consumer({
    groupId: options.groupId,
    readUncommitted: false,
    allowAutoTopicCreation: false,
    // Small fetches: one record is wanted, the rest of the fetch is thrown away.
    maxBytesPerPartition: 64 * 1024,
    maxWaitTimeInMs: 100,
  });
  let done!: () => void;
  let failed!: (error: unknown) => void;
  const finished = new Promise<void>((resolve, reject) => {
    done = resolve;
    failed = reject;
  });
  finished.catch(() => undefined);
  const settle = (partition: number, batchEnd: bigint): boolean => {
    // Wanted offsets the batch went past without delivering them are not in the topic.
    const list = queues.get(partition);
    if (!list) return false;
    while (list.length > 0 && (list[0] as bigint) <= batchEnd) {
      const offset = list.shift() as bigint;
      if (!found.has(placeKey(partition, offset.toString()))) missing.push({ partition, offset: offset.toString() });
    }
    if (list.length === 0) {
      queues.delete(partition);
      if (queues.size === 0) done();
      return false;
    }
    return true;
  };
  consumer.on(consumer.events.END_BATCH_PROCESS, (event) => {
    const { partition, lastOffset } = event.payload as { partition: number; lastOffset: string };
    const list = queues.get(partition);
    if (!list) return;
    if (settle(partition, BigInt(lastOffset)) && (list[0] as bigint) > BigInt(lastOffset) + 1n) {
      consumer.seek({ topic, partition, offset: (list[0] as bigint).toString() });
    }
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
          const list = queues.get(payload.batch.partition);
          if (!list) return;
          const wanted = new Set(list.map(String));
          for (const message of toInMessages(payload)) {
            if (wanted.has(message.offset)) found.set(placeKey(message.partition, message.offset), message);
          }
        },
      }),
    );
    const idle = ends.map((p) => p.partition).filter((p) => !queues.has(p));
    if (idle.length > 0) consumer.pause([{ topic, partitions: idle }]);
    for (const [partition, list] of queues) consumer.seek({ topic, partition, offset: (list[0] as bigint).toString() });
    await finished;
    return { found, missing: missing.sort((a, b) => a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset))) };
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    await consumer.disconnect();
  }
}
