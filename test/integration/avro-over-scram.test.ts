import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCHEMA_DIR } from '../../src/config/project-paths.js';
import { silentLogger } from '../../src/logging/logger.js';
import { loadAvroCodec } from '../../src/messaging/avro-codec.js';
import { createKafkaClient, type KafkaAdmin } from '../../src/messaging/kafka-client.js';
import { collectMessages, uniqueName } from '../support/kafka-helpers.js';
import { testStack } from '../support/stack-context.js';

describe('Avro single-object encoding through the real broker over SASL/SCRAM', () => {
  const stack = testStack();
  const codec = loadAvroCodec(SCHEMA_DIR);
  const topic = uniqueName('it.avro');
  let admin: KafkaAdmin;

  beforeAll(async () => {
    admin = await createKafkaClient(stack.kafka, silentLogger).admin();
    expect(await admin.ensureTopics([{ topic, partitions: 2 }])).toEqual([topic]);
  });

  afterAll(async () => {
    await admin.deleteTopics([topic]);
    await admin.disconnect();
  });

  it('produces a record and reads back the same value, with the single-object header intact', async () => {
    const record = {
      id: uniqueName('dl'),
      recordedAt: Date.now(),
      originTopic: 'bcss.vaph.requests',
      originPartition: 3,
      originOffset: 42,
      originInstitution: 'vaph',
      reasonCode: 'BAD_MARKER',
      reason: 'message does not start with the Avro single-object marker C3 01',
      originalKey: Buffer.from('85073003328'),
      originalValue: Buffer.from([0, 1, 2, 255]),
      originalHeaders: { ticket: 't-1' },
    };
    const producer = await createKafkaClient(stack.kafka, silentLogger).producer();
    await producer.send(topic, [{ key: record.id, value: codec.encode('be.bcss.gateway.DeadLetter', record) }]);
    await producer.disconnect();

    const [message] = await collectMessages(stack.kafka, topic, 1);
    expect(message?.value?.subarray(0, 2)).toEqual(Buffer.from([0xc3, 0x01]));
    expect(message?.value?.subarray(2, 10)).toEqual(codec.fingerprint('be.bcss.gateway.DeadLetter'));
    // Fields the record left out take their schema defaults.
    expect(codec.decode('be.bcss.gateway.DeadLetter', message?.value as Buffer)).toEqual({ ...record, originalSize: null, originalSha256: null, truncated: false });
  });
});
