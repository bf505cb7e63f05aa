import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/logging/logger.js';
import { createKafkaClient, type KafkaAdmin, type KafkaClient } from '../../../src/messaging/kafka-client.js';
import { connectGroupFencedProducer, type GroupFencedProducer } from '../../../src/messaging/kafka/group-fenced-transactions.js';
import { readTopicToEnd } from '../../../src/messaging/topic-reader.js';
import { retryingTopicCreation, uniqueName } from '../../support/kafka-helpers.js';
import { testStack } from '../../support/stack-context.js';

/**
 * Where a read to the end stops while a transaction is open on the topic: `stable` at the last stable
 * offset (kafkajs's ListOffsets is read_committed), `written` at the high watermark, once the open
 * transaction is decided. The second is what a reader needs right after a commit returned: until the
 * broker has written the markers, the stable offset is still before the committed records.
 */

const stack = testStack();
const topic = uniqueName('t-reader');

let admin: KafkaAdmin;
let client: KafkaClient;
let producer: GroupFencedProducer;

const read = async (through: 'stable' | 'written') => {
  const values: string[] = [];
  await readTopicToEnd({
    client,
    topic,
    through,
    timeoutMs: 30_000,
    async onBatch({ messages }) {
      values.push(...messages.map((m) => m.value?.toString() ?? ''));
    },
  });
  return values;
};

beforeAll(async () => {
  client = createKafkaClient(stack.kafka, silentLogger);
  admin = await client.admin();
  await retryingTopicCreation(() => admin.ensureTopics([{ topic, partitions: 1 }]));
  producer = await connectGroupFencedProducer(client, { transactionalId: uniqueName('tx-reader') });
  const first = await producer.transaction();
  await first.sendBatch({ topicMessages: [{ topic, messages: [{ value: 'committed-1' }] }], acks: -1 });
  await first.commit();
});

afterAll(async () => {
  await producer?.disconnect().catch(() => undefined);
  await admin?.deleteTopics([topic]).catch(() => undefined);
  await admin?.disconnect();
});

describe('readTopicToEnd with a transaction open on the topic', () => {
  it('stops at the stable offset by default, at the high watermark once the transaction is decided with `written`', async () => {
    await expect.poll(() => read('stable'), { timeout: 10_000 }).toEqual(['committed-1']);
    const open = await producer.transaction();
    await open.sendBatch({ topicMessages: [{ topic, messages: [{ value: 'open-1' }, { value: 'open-2' }] }], acks: -1 });

    expect(await read('stable')).toEqual(['committed-1']);

    let finishedAt = 0;
    const written = read('written').then((values) => {
      finishedAt = Date.now();
      return values;
    });
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(finishedAt).toBe(0);
    const committedAt = Date.now();
    await open.commit();
    expect(await written).toEqual(['committed-1', 'open-1', 'open-2']);
    expect(finishedAt).toBeGreaterThanOrEqual(committedAt);
  });
});
