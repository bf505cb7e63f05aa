import { randomUUID } from 'node:crypto';
import { silentLogger } from '../../src/logging/logger.js';
import { createKafkaClient, type InMessage, type KafkaConnection } from '../../src/messaging/kafka-client.js';

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
