import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/logging/logger.js';
import { createKafkaClient, MessagingError, type KafkaAdmin } from '../../src/messaging/kafka-client.js';
import { uniqueName, waitFor } from '../support/kafka-helpers.js';
import { connectionAs, testStack } from '../support/stack-context.js';

describe('ACLs on the real broker (StandardAuthorizer, no ACL means no access)', () => {
  const stack = testStack();
  const topic = uniqueName('it.acl');
  let admin: KafkaAdmin;

  beforeAll(async () => {
    admin = await createKafkaClient(stack.kafka, silentLogger).admin();
    await admin.ensureTopics([{ topic, partitions: 1 }]);
  });

  afterAll(async () => {
    await admin.deleteTopics([topic]);
    await admin.disconnect();
  });

  it('refuses an idempotent producer of a principal that may write nowhere', async () => {
    // The refusal comes as the producer starts (InitProducerId), before it can send anything. The
    // data-protection officer may only read the audit trail, whatever ACLs `npm start` provisioned.
    await expect(createKafkaClient(connectionAs(stack, 'dpo'), silentLogger).producer()).rejects.toMatchObject({
      type: 'CLUSTER_AUTHORIZATION_FAILED',
      accessDenied: true,
    });
  });

  it('refuses a principal without an ACL on the topic, then accepts it once WRITE is granted', async () => {
    // Not idempotent, so that the broker's check is the topic's own, not the producer-id grant.
    const producer = await createKafkaClient(connectionAs(stack, 'vaph'), silentLogger).producer({ idempotent: false });
    try {
      const attempt = producer.send(topic, [{ value: Buffer.from('x') }]);
      await expect(attempt).rejects.toBeInstanceOf(MessagingError);
      await expect(attempt).rejects.toMatchObject({ type: 'TOPIC_AUTHORIZATION_FAILED', accessDenied: true });

      await admin.createAcls([{ principal: 'User:vaph', resource: 'TOPIC', name: topic, pattern: 'LITERAL', operation: 'WRITE' }]);
      await waitFor(
        () => producer.send(topic, [{ value: Buffer.from('granted') }]).then(() => true),
        (sent) => sent,
        { what: 'the WRITE ACL to take effect' },
      );
      const [end] = await admin.topicEndOffsets(topic);
      expect(Number(end?.offset)).toBeGreaterThanOrEqual(1);
    } finally {
      await producer.disconnect();
    }
  });

  it('refuses a wrong password at authentication', async () => {
    const wrong = { ...stack.kafka, sasl: { mechanism: 'scram-sha-512' as const, username: 'vaph', password: 'not-the-password' } };
    await expect(createKafkaClient(wrong, silentLogger).admin()).rejects.toMatchObject({
      type: 'SASL_AUTHENTICATION_FAILED',
    });
  });
});
