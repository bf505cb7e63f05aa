import { randomUUID } from 'node:crypto';
import { silentLogger } from '../../src/logging/logger.js';
import {
  createKafkaClient,
  MessagingError,
  retrying,
  type InMessage,
  type KafkaAdmin,
  type KafkaConnection,
} from '../../src/messaging/kafka-client.js';
import { toInMessages } from '../../src/messaging/kafka/messages.js';
import { rawKafka } from './raw-kafka.js';

/**
 * On the shared single broker, just after other files deleted their topics, creating topics now and
 * then fails with a retriable error (UNKNOWN_TOPIC_OR_PARTITION while waiting for the leaders). That is
 * the broker catching up, not what the tests test: such a failure is tried again, a few times.
 */
export async function retryingTopicCreation<T>(create: () => Promise<T>, attempts = 4): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await create();
    } catch (error) {
      if (!(error instanceof MessagingError) || !error.retriable || attempt >= attempts) throw error;
      await new Promise((r) => setTimeout(r, 500 * attempt));
    }
  }
}

/** A name no other test (or earlier run) uses: topics, groups, Redis key prefixes. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

/** Polls a condition until it holds; fails with the last observed value after the timeout. */
export async function waitFor<T>(
  probe: () => Promise<T> | T,
  accept: (value: T) => boolean,
  { timeoutMs = 20_000, intervalMs = 100, what = 'condition' } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      last = await probe();
      if (accept(last)) return last;
    } catch (error) {
      lastError = error;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last value: ${JSON.stringify(last)}`, {
    cause: lastError,
  });
}

/** Reads a topic from the beginning (read_committed) until `count` messages arrived, or fails. */
export async function collectMessages(
  connection: KafkaConnection,
  topic: string,
  count: number,
  { timeoutMs = 30_000, groupId = uniqueName('test-reader') } = {},
): Promise<InMessage[]> {
  const client = createKafkaClient({ ...connection, clientId: 'test-reader' }, silentLogger);
  const consumer = await client.consumer({ groupId, topics: [topic], fromBeginning: true });
  const received: InMessage[] = [];
  let done!: () => void;
  const enough = new Promise<void>((resolve) => (done = resolve));
  try {
    await consumer.run(async (batch) => {
      received.push(...batch.messages);
      if (received.length >= count) done();
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`received ${received.length} of ${count} messages on ${topic} within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    await Promise.race([enough, timeout]).finally(() => clearTimeout(timer));
    return received;
  } finally {
    await consumer.disconnect();
  }
}

/** Per topic, each partition's log start (`low`) and end (`high`: the offset its next record will take). */
export type TopicEnds = ReadonlyMap<string, ReadonlyArray<{ readonly partition: number; readonly low: string; readonly high: string }>>;

/** The topics these names and patterns stand for now (a pattern: the existing topics it matches). */
export async function matchingTopics(admin: KafkaAdmin, topics: ReadonlyArray<string | RegExp>): Promise<string[]> {
  const names = topics.filter((t): t is string => typeof t === 'string');
  const patterns = topics.filter((t): t is RegExp => t instanceof RegExp);
  const matched = patterns.length === 0 ? [] : (await admin.listTopics()).filter((t) => patterns.some((p) => p.test(t)));
  return [...new Set([...names, ...matched])];
}

/** The ends of these topics as they are now (50 topics asked at a time). */
export async function topicEnds(admin: KafkaAdmin, topics: readonly string[]): Promise<TopicEnds> {
  const ends = new Map<string, Array<{ partition: number; low: string; high: string }>>();
  for (let i = 0; i < topics.length; i += 50) {
    const batch = topics.slice(i, i + 50);
    const offsets = await Promise.all(batch.map((topic) => admin.topicOffsets(topic)));
    batch.forEach((topic, j) => ends.set(topic, offsets[j] ?? []));
  }
  return ends;
}

/**
 * A consumer that knows how far it has read: read_committed, from the beginning, under a group of its
 * own. Its position in a partition is the offset after the last record it went past — the records it
 * handed over, and also the transaction markers and aborted records that read_committed never hands
 * over. Those only show in kafkajs's batch events, which the wrapper hides: hence kafkajs itself here.
 * A topic written in transactions ends with a marker, so the last record handed over is not the end;
 * a position that reached a partition's end is.
 */
export interface TopicReader {
  /** Its topics, by name (a pattern given to the reader is resolved when it starts, as kafkajs does). */
  readonly topics: readonly string[];
  /** The next offset it reads in the partition; 0n before it read anything there. */
  position(topic: string, partition: number): bigint;
  /** The offset of the last record it handed over in the partition, or undefined before the first. */
  lastRecord(topic: string, partition: number): bigint | undefined;
  /** The partitions of its topics whose end in `ends` it has not reached, as `topic:partition at/end`. */
  behind(ends: TopicEnds): string[];
  stop(): Promise<void>;
}

export async function startTopicReader(
  connection: KafkaConnection,
  options: { readonly groupId: string; readonly topics: readonly string[] },
  onBatch: (messages: readonly InMessage[]) => void,
): Promise<TopicReader> {
  const consumer = rawKafka(connection).consumer({ groupId: options.groupId, allowAutoTopicCreation: false });
  const positions = new Map<string, bigint>();
  const lastRecords = new Map<string, bigint>();
  const at = (topic: string, partition: number) => `${topic}:${partition}`;
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    const key = at(payload.topic, payload.partition);
    const next = BigInt(payload.lastOffset) + 1n;
    if (next > (positions.get(key) ?? 0n)) positions.set(key, next);
  });
  const position = (topic: string, partition: number) => positions.get(at(topic, partition)) ?? 0n;
  try {
    await consumer.connect();
    if (options.topics.length > 0) {
      // A topic created a moment ago may not be served yet (UNKNOWN_TOPIC_OR_PARTITION, retriable).
      await retrying(() => consumer.subscribe({ topics: [...options.topics], fromBeginning: true }));
      await consumer.run({
        eachBatch: async (payload) => {
          const messages = toInMessages(payload);
          onBatch(messages);
          const last = messages.at(-1);
          if (last) lastRecords.set(at(last.topic, last.partition), BigInt(last.offset));
        },
      });
    }
  } catch (error) {
    await consumer.disconnect().catch(() => undefined);
    throw error;
  }
  let stopping: Promise<void> | undefined;
  return {
    topics: options.topics,
    position,
    lastRecord: (topic, partition) => lastRecords.get(at(topic, partition)),
    behind(ends) {
      const behind: string[] = [];
      for (const topic of options.topics) {
        for (const { partition, low, high } of ends.get(topic) ?? []) {
          const reached = position(topic, partition);
          if (BigInt(high) > BigInt(low) && reached < BigInt(high)) behind.push(`${at(topic, partition)} at ${reached}/${high}`);
        }
      }
      return behind;
    },
    stop: () => (stopping ??= consumer.disconnect()),
  };
}

/**
 * Waits until every reader has read its topics to the ends they have now: then each has handed over
 * every record committed on them so far.
 */
export async function waitUntilRead(
  admin: KafkaAdmin,
  readers: readonly TopicReader[],
  { timeoutMs = 30_000, what = 'the readers' } = {},
): Promise<void> {
  const ends = await topicEnds(admin, [...new Set(readers.flatMap((r) => r.topics))]);
  await waitFor(
    () => readers.flatMap((r) => r.behind(ends)),
    (behind) => behind.length === 0,
    { timeoutMs, intervalMs: 50, what: `${what} to read their topics to the end` },
  );
}
