import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/logging/logger.js';
import { createKafkaClient, retrying, type KafkaAdmin, type KafkaClient, type MessageProducer } from '../../../src/messaging/kafka-client.js';
import { connectGroupFencedProducer, type GroupFencedProducer, type GroupFencedTransaction } from '../../../src/messaging/kafka/group-fenced-transactions.js';
import { stableOffsetReader } from '../../../src/messaging/kafka/stable-offsets.js';
import { runTransactionalPipeline, type RunningPipeline } from '../../../src/messaging/transactional-pipeline.js';
import { collectMessages, retryingTopicCreation, uniqueName, waitFor } from '../../support/kafka-helpers.js';
import { testStack } from '../../support/stack-context.js';

/**
 * A partition's committed offset while a transaction carrying offsets for it is being completed: kafkajs's
 * own OffsetFetch (v1–v4) answers with the offset before that transaction, and a pipeline starting there
 * would answer again what the transaction, once committed, has answered. OffsetFetch v7 with
 * require_stable answers UNSTABLE_OFFSET_COMMIT instead, and the pipeline waits for the stable offset.
 *
 * The transaction held open here is another transactional id's (the one thing a test can hold open at
 * will): the pipeline's own id's transaction is completed by its InitProducerId before it asks.
 */

const stack = testStack();
const input = uniqueName('t-stable-in');
const output = uniqueName('t-stable-out');
const groupId = uniqueName('g-stable');

let admin: KafkaAdmin;
let client: KafkaClient;
let plain: MessageProducer;
let foreign: GroupFencedProducer;
let pending: GroupFencedTransaction | null = null;
let pipeline: RunningPipeline | null = null;

/** The group's offsets as kafkajs's OffsetFetch v1–v4 reads them. */
async function committedAsKafkajsReads(): Promise<string | undefined> {
  const [topic] = await admin.committedOffsets(groupId, [input]);
  return topic?.partitions.find((p) => p.partition === 0)?.offset;
}

beforeAll(async () => {
  client = createKafkaClient(stack.kafka, silentLogger);
  admin = await client.admin();
  await retryingTopicCreation(() =>
    admin.ensureTopics([
      { topic: input, partitions: 1 },
      { topic: output, partitions: 1 },
    ]),
  );
  plain = await client.producer();
  const values = Array.from({ length: 10 }, (_, n) => ({ value: Buffer.from(`in-${n}`) }));
  await retrying(() => plain.send(input, values), { attempts: 10, shouldRetry: (error) => error.type === 'UNKNOWN_TOPIC_OR_PARTITION' });
  foreign = await connectGroupFencedProducer(client, { transactionalId: uniqueName('tx-stable-foreign') });
});

afterAll(async () => {
  await pipeline?.stop().catch(() => undefined);
  await pending?.abort().catch(() => undefined);
  await foreign?.disconnect().catch(() => undefined);
  await plain?.disconnect();
  await admin?.deleteTopics([input, output]).catch(() => undefined);
  await admin?.disconnect();
});

describe('the stable committed offset (OffsetFetch v7, require_stable)', () => {
  it('is refused as unstable while a transaction carrying the offset is open, where kafkajs reads the old one', async () => {
    // An empty group takes a commit without a generation (-1): the simple commit of a group with no members.
    pending = await foreign.transaction();
    await pending.sendBatch({ topicMessages: [{ topic: output, messages: [{ value: 'foreign' }] }], acks: -1 });
    await pending.sendOffsets({ groupId, membership: { memberId: '', generationId: -1, groupInstanceId: null }, topics: [{ topic: input, partitions: [{ partition: 0, offset: '5' }] }] });

    expect(await committedAsKafkajsReads()).toBe('-1');
    const impatient = stableOffsetReader(client, groupId, { patienceMs: 500 });
    try {
      await expect(impatient.committed(input, 0)).rejects.toMatchObject({ type: 'UNSTABLE_OFFSET_COMMIT' });
    } finally {
      await impatient.disconnect();
    }
  });

  it('holds a pipeline taking the partition up until the transaction is completed, then starts after its offset: nothing answered twice', async () => {
    pipeline = await runTransactionalPipeline({
      client,
      groupId,
      topics: [input],
      transactionalIdPrefix: uniqueName('tx-stable-pipeline'),
      logger: silentLogger,
      transform: async (messages) => ({ records: messages.map((m) => ({ topic: output, value: Buffer.from(`out-${m.value?.toString()}`) })) }),
    });
    // Long enough for the pipeline to join, fetch and (without the stable offset) answer all ten.
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    await expect(collectMessages(stack.kafka, output, 1, { timeoutMs: 2_000 })).rejects.toThrow(/received 0 of 1 /);

    await (pending as GroupFencedTransaction).commit();
    pending = null;
    const seen = await collectMessages(stack.kafka, output, 6);
    expect(seen.map((m) => m.value?.toString())).toEqual(['foreign', 'out-in-5', 'out-in-6', 'out-in-7', 'out-in-8', 'out-in-9']);
    await waitFor(committedAsKafkajsReads, (offset) => offset === '10', { timeoutMs: 15_000, what: 'the pipeline to commit offset 10' });
    // Nothing more comes: the first five were answered once, by the foreign transaction's offsets.
    await expect(collectMessages(stack.kafka, output, 7, { timeoutMs: 3_000 })).rejects.toThrow(/received 6 of 7 /);
  });
});
