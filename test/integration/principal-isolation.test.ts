/**
 * The ACLs of access-control.ts on the real broker, each principal connecting with its own SCRAM
 * user: what an institution, its consultation application (onva-dolsis, 19/010 §37), a source, an
 * auditor, an operator and the gateway may do on one fixture prefix, and the error Kafka answers for
 * what they may not.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG_DIR } from '../../src/config/project-paths.js';
import { loadInstitutions } from '../../src/config/load-institutions.js';
import { accessControlList, provisionAccessControl } from '../../src/gateway/access-control.js';
import { silentLogger } from '../../src/logging/logger.js';
import {
  createKafkaClient,
  toMessagingError,
  type AclGrant,
  type InMessage,
  type KafkaConnection,
  type MessagingError,
} from '../../src/messaging/kafka-client.js';
import { runTransactionalPipeline, type RunningPipeline } from '../../src/messaging/transactional-pipeline.js';
import { createGatewayFixture, type GatewayFixture } from '../support/gateway-fixture.js';
import { waitFor } from '../support/kafka-helpers.js';
import { rawKafka } from '../support/raw-kafka.js';
import { connectionAs, testStack } from '../support/stack-context.js';

/** Denials are answered at once; a check that has not failed within this time has failed to fail. */
const DENIAL_TIMEOUT_MS = 10_000;

function grantKey(grant: AclGrant): string {
  return [grant.principal, grant.resource, grant.pattern, grant.name, grant.operation].join(' ');
}

/** Reads `topic` from the beginning as the connection's principal until a message has `key`. */
async function readUntilKey(connection: KafkaConnection, topic: string, groupId: string, key: string, timeoutMs = 40_000): Promise<InMessage> {
  const consumer = await createKafkaClient(connection, silentLogger).consumer({ groupId, topics: [topic], fromBeginning: true });
  let found!: (message: InMessage) => void;
  const arrived = new Promise<InMessage>((resolve) => (found = resolve));
  let timer: NodeJS.Timeout | undefined;
  try {
    await consumer.run(async (batch) => {
      const match = batch.messages.find((m) => m.key?.toString() === key);
      if (match) found(match);
    });
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no message ${key} on ${topic} within ${timeoutMs} ms`)), timeoutMs);
    });
    return await Promise.race([arrived, timeout]);
  } finally {
    clearTimeout(timer);
    await consumer.disconnect();
  }
}

async function refusal(attempt: Promise<unknown>): Promise<MessagingError> {
  const outcome = await attempt.then(
    () => undefined,
    (error: unknown) => toMessagingError(error),
  );
  if (!outcome) throw new Error('expected Kafka to refuse, but it accepted');
  return outcome;
}

describe('principal isolation by the computed ACLs', () => {
  const stack = testStack();
  const institutions = loadInstitutions(DEFAULT_CONFIG_DIR);
  let fixture: GatewayFixture;
  let grants: AclGrant[];
  const as = (principal: string, clientId = `it-${principal}`): KafkaConnection => ({
    ...connectionAs(stack, principal),
    clientId,
  });

  /**
   * Starts a consumer of `principal` and reports how it ends: it joins its group (when `untilJoined`)
   * or crashes. A denial crashes it at once (no retries), so every check ends within the timeout.
   */
  async function consumerOutcome(
    principal: string,
    groupId: string,
    topic: string,
    { untilJoined = false } = {},
  ): Promise<{ joined: true } | { crash: MessagingError }> {
    const kafka = rawKafka(as(principal));
    const consumer = kafka.consumer({
      groupId,
      readUncommitted: false,
      allowAutoTopicCreation: false,
      retry: { retries: 0, initialRetryTime: 100 },
    });
    const ended = new Promise<{ joined: true } | { crash: MessagingError }>((resolve) => {
      consumer.on(consumer.events.CRASH, (event) => resolve({ crash: toMessagingError(event.payload.error) }));
      if (untilJoined) consumer.on(consumer.events.GROUP_JOIN, () => resolve({ joined: true }));
    });
    let timer: NodeJS.Timeout | undefined;
    try {
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({ eachBatch: async () => undefined });
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${principal}'s consumer in ${groupId} neither joined nor crashed`)), DENIAL_TIMEOUT_MS);
      });
      return await Promise.race([ended, timeout]);
    } finally {
      clearTimeout(timer);
      await consumer.disconnect();
    }
  }

  beforeAll(async () => {
    fixture = await createGatewayFixture(stack);
    grants = accessControlList(fixture.topics, institutions);
    await provisionAccessControl(fixture.admin, grants);
    // The broker applies new ACLs from its metadata log, a moment after the controller accepted them.
    const probe = createKafkaClient(as('vaph'), silentLogger);
    await waitFor(
      async () => {
        const consumer = await probe.consumer({ groupId: `${fixture.topics.prefix}.vaph.probe`, topics: [fixture.topics.replies('vaph')] });
        await consumer.disconnect();
        return true;
      },
      (ready) => ready,
      { what: 'the ACLs to take effect' },
    );
  });

  afterAll(async () => {
    // The broker keeps ACLs after their topics are gone: removed here, each exactly once.
    const deleted = await fixture.admin.deleteAcls(grants);
    await fixture.close();
    expect(deleted).toBe(grants.length);
  });

  it('creates each ACL once: provisioning again changes nothing', async () => {
    const onBroker = async () => {
      const principals = new Set(grants.map((g) => g.principal));
      const all = await fixture.admin.describeAcls();
      return all
        .filter((g) => principals.has(g.principal) && g.name.startsWith(`${fixture.topics.prefix}.`))
        .map(grantKey)
        .sort();
    };
    const expected = grants.map(grantKey).sort();
    expect(await onBroker()).toEqual(expected);
    await provisionAccessControl(fixture.admin, grants);
    expect(await onBroker()).toEqual(expected);
  });

  it('lets vaph write its requests topic, not iriscare\'s, nor its own replies', async () => {
    // Idempotent, as every producer of the switch: its WRITE on its own topics is what lets it start.
    const producer = await createKafkaClient(as('vaph'), silentLogger).producer();
    try {
      await producer.send(fixture.topics.requests('vaph'), [{ key: 'write-check', value: Buffer.from('own') }]);
      const spoofed = await refusal(producer.send(fixture.topics.requests('iriscare'), [{ value: Buffer.from('x') }]));
      expect(spoofed).toMatchObject({ type: 'TOPIC_AUTHORIZATION_FAILED', accessDenied: true });
      const forged = await refusal(producer.send(fixture.topics.replies('vaph'), [{ value: Buffer.from('x') }]));
      expect(forged).toMatchObject({ type: 'TOPIC_AUTHORIZATION_FAILED', accessDenied: true });
    } finally {
      await producer.disconnect();
    }
  }, 20_000);

  it('keeps vaph from reading iriscare\'s replies, the audit trail and the directory changelog', async () => {
    const vaph = createKafkaClient(as('vaph'), silentLogger);
    const groupId = `${fixture.topics.prefix}.vaph.client.${randomUUID()}`;
    for (const topic of [fixture.topics.replies('iriscare'), fixture.topics.audit, fixture.topics.directoryChangelog]) {
      // Not even described: the subscription's metadata request is refused.
      const denied = await refusal(vaph.consumer({ groupId, topics: [topic] }));
      expect(denied, topic).toMatchObject({ type: 'TOPIC_AUTHORIZATION_FAILED', accessDenied: true });
    }
  }, 20_000);

  it('keeps vaph out of a consumer group outside its prefix', async () => {
    const { topics } = fixture;
    const own = await consumerOutcome('vaph', `${topics.prefix}.vaph.client.${randomUUID()}`, topics.replies('vaph'), { untilJoined: true });
    expect(own).toEqual({ joined: true });
    // The broker answers FindCoordinator with GROUP_AUTHORIZATION_FAILED (the group needs DESCRIBE,
    // which only READ implies); kafkajs swallows that answer and reports no coordinator found.
    const foreign = await consumerOutcome('vaph', `${topics.prefix}.gateway.requests`, topics.replies('vaph'), { untilJoined: true });
    expect(foreign).toMatchObject({ crash: { type: 'KafkaJSGroupCoordinatorNotFound', retriable: false } });
  }, 30_000);

  it('keeps onva from reading its consultations topic: only its consultation application reads it', async () => {
    const { topics } = fixture;
    expect(institutions.institutions.find((i) => i.id === 'onva')?.consultation).toEqual({ principal: 'onva-dolsis' });
    const onva = createKafkaClient(as('onva'), silentLogger);
    // Not even described: the subscription's metadata request is refused, in onva's own group.
    const denied = await refusal(onva.consumer({ groupId: `${topics.prefix}.onva.client.${randomUUID()}`, topics: [topics.consultations('onva')] }));
    expect(denied).toMatchObject({ type: 'TOPIC_AUTHORIZATION_FAILED', accessDenied: true });
    // Nor write where the application asks: its requests go on its own requests topic.
    const producer = await onva.producer();
    try {
      const spoofed = await refusal(producer.send(topics.consultationRequests('onva'), [{ value: Buffer.from('x') }]));
      expect(spoofed).toMatchObject({ type: 'TOPIC_AUTHORIZATION_FAILED', accessDenied: true });
    } finally {
      await producer.disconnect();
    }
  }, 20_000);

  it('lets onva-dolsis read the consultations topic and write the consultation requests, not read onva\'s replies nor write its requests', async () => {
    const { topics } = fixture;
    const own = await consumerOutcome('onva-dolsis', `${topics.prefix}.onva-dolsis.client.${randomUUID()}`, topics.consultations('onva'), { untilJoined: true });
    expect(own).toEqual({ joined: true });
    const dolsis = createKafkaClient(as('onva-dolsis'), silentLogger);
    for (const topic of [topics.replies('onva'), topics.mutations('onva'), topics.replies('vaph')]) {
      const denied = await refusal(dolsis.consumer({ groupId: `${topics.prefix}.onva-dolsis.client.${randomUUID()}`, topics: [topic] }));
      expect(denied, topic).toMatchObject({ type: 'TOPIC_AUTHORIZATION_FAILED', accessDenied: true });
    }
    // Outside its prefix (onva's groups), even on its own topic.
    const foreign = await consumerOutcome('onva-dolsis', `${topics.prefix}.onva.client.${randomUUID()}`, topics.consultations('onva'), { untilJoined: true });
    expect(foreign).toMatchObject({ crash: { type: 'KafkaJSGroupCoordinatorNotFound', retriable: false } });
    const producer = await dolsis.producer();
    try {
      await producer.send(topics.consultationRequests('onva'), [{ key: 'write-check', value: Buffer.from('own') }]);
      const ordinary = await refusal(producer.send(topics.requests('onva'), [{ value: Buffer.from('x') }]));
      expect(ordinary).toMatchObject({ type: 'TOPIC_AUTHORIZATION_FAILED', accessDenied: true });
      const forged = await refusal(producer.send(topics.consultations('onva'), [{ value: Buffer.from('x') }]));
      expect(forged).toMatchObject({ type: 'TOPIC_AUTHORIZATION_FAILED', accessDenied: true });
    } finally {
      await producer.disconnect();
    }
  }, 40_000);

  it('lets only the operator read the dead letters: not vaph, not the gateway that writes them, not an auditor', async () => {
    const { topics } = fixture;
    expect(institutions.operators).toEqual(['operator']);
    const key = `dead-${randomUUID()}`;
    const gateway = await createKafkaClient(as('gateway'), silentLogger).producer();
    try {
      await gateway.send(topics.deadLetter, [{ key, value: Buffer.from('an unreadable message, kept whole') }]);
    } finally {
      await gateway.disconnect();
    }
    const read = await readUntilKey(as('operator'), topics.deadLetter, `${topics.prefix}.operator.${randomUUID()}`, key);
    expect(read.value?.toString()).toBe('an unreadable message, kept whole');
    for (const principal of ['vaph', 'auditor']) {
      const denied = await refusal(createKafkaClient(as(principal), silentLogger).consumer({ groupId: `${topics.prefix}.${principal}.${randomUUID()}`, topics: [topics.deadLetter] }));
      expect(denied, principal).toMatchObject({ type: 'TOPIC_AUTHORIZATION_FAILED', accessDenied: true });
    }
    // WRITE implies DESCRIBE, so the gateway's subscription passes; the fetch is what is refused.
    const reader = await consumerOutcome('gateway', `${topics.prefix}.gateway.deadletter-reader`, topics.deadLetter);
    expect(reader).toMatchObject({ crash: { type: 'TOPIC_AUTHORIZATION_FAILED', accessDenied: true } });
    // Nor may the operator write one (it writes nowhere: its idempotent producer may be refused at once).
    const forged = await refusal(
      (async () => {
        const operator = await createKafkaClient(as('operator'), silentLogger).producer();
        try {
          await operator.send(topics.deadLetter, [{ value: Buffer.from('x') }]);
        } finally {
          await operator.disconnect();
        }
      })(),
    );
    expect(forged).toMatchObject({ accessDenied: true });
  }, 60_000);

  it('keeps the gateway from reading back the audit trail it writes', async () => {
    // WRITE implies DESCRIBE, so the subscription passes; the fetch is what is refused.
    const reader = await consumerOutcome('gateway', `${fixture.topics.prefix}.gateway.audit-reader`, fixture.topics.audit);
    expect(reader).toMatchObject({ crash: { type: 'TOPIC_AUTHORIZATION_FAILED', accessDenied: true } });
  }, 20_000);

  it('lets source-onss answer its own source requests in a transaction, not read bcss-registers\'', async () => {
    const { topics } = fixture;
    const ticket = `source-${randomUUID()}`;
    const simulator = await runTransactionalPipeline({
      client: createKafkaClient(as('source-onss'), silentLogger),
      groupId: `${topics.prefix}.source-onss.simulator`,
      topics: [topics.sourceRequests('onss')],
      transactionalIdPrefix: `${topics.prefix}.source-onss.simulator`,
      logger: silentLogger,
      async transform(messages) {
        return { records: messages.map((m) => ({ topic: topics.sourceReplies('onss'), key: m.key, value: Buffer.from('dmfa') })) };
      },
    });
    try {
      const gateway = await createKafkaClient(as('gateway'), silentLogger).producer();
      try {
        await gateway.send(topics.sourceRequests('onss'), [{ key: ticket, value: Buffer.from('dmfa?') }]);
      } finally {
        await gateway.disconnect();
      }
      const answer = await readUntilKey(as('gateway'), topics.sourceReplies('onss'), `${topics.prefix}.gateway.source-replies`, ticket);
      expect(answer.value?.toString()).toBe('dmfa');
    } finally {
      await simulator.stop();
    }

    const source = createKafkaClient(as('source-onss'), silentLogger);
    const denied = await refusal(
      source.consumer({ groupId: `${topics.prefix}.source-onss.simulator`, topics: [topics.sourceRequests('bcss-registers')] }),
    );
    expect(denied).toMatchObject({ type: 'TOPIC_AUTHORIZATION_FAILED', accessDenied: true });
  }, 60_000);

  describe('the gateway relaying a request in one transaction', () => {
    let pipeline: RunningPipeline;
    const ticket = `ticket-${randomUUID()}`;
    const consultation = `consultation-${randomUUID()}`;

    beforeAll(async () => {
      const { topics } = fixture;
      // Consumes every institution's requests by pattern — its consultation application's too, answered
      // on the consultations topic — each with a reply and an audit record committed together with the
      // consumed offsets.
      pipeline = await runTransactionalPipeline({
        client: createKafkaClient(as('gateway'), silentLogger),
        groupId: `${topics.prefix}.gateway.requests`,
        topics: [topics.patterns.requests, topics.patterns.consultationRequests],
        transactionalIdPrefix: `${topics.prefix}.gateway.requests`,
        logger: silentLogger,
        fromBeginning: true,
        async transform(messages) {
          return {
            records: messages.flatMap((m) => {
              const institution = topics.institutionOf(m.topic) as string;
              const answers = topics.patterns.consultationRequests.test(m.topic) ? topics.consultations(institution) : topics.replies(institution);
              return [
                { topic: answers, key: m.key, value: Buffer.from(`reply to ${m.key?.toString()}`) },
                { topic: topics.audit, key: m.key, value: Buffer.from(`${institution} asked ${m.key?.toString()}`) },
              ];
            }),
          };
        },
      });
      const producer = await createKafkaClient(as('vaph'), silentLogger).producer();
      try {
        await producer.send(topics.requests('vaph'), [{ key: ticket, value: Buffer.from('request') }]);
      } finally {
        await producer.disconnect();
      }
      const dolsis = await createKafkaClient(as('onva-dolsis'), silentLogger).producer();
      try {
        await dolsis.send(topics.consultationRequests('onva'), [{ key: consultation, value: Buffer.from('consultation') }]);
      } finally {
        await dolsis.disconnect();
      }
    });

    afterAll(async () => {
      await pipeline?.stop();
    });

    it('vaph reads the reply in a group under its prefix', async () => {
      const { topics } = fixture;
      const reply = await readUntilKey(as('vaph'), topics.replies('vaph'), `${topics.prefix}.vaph.client.${randomUUID()}`, ticket);
      expect(reply.value?.toString()).toBe(`reply to ${ticket}`);
    }, 60_000);

    it('onva-dolsis reads the answer to its consultation on the consultations topic, in a group under its prefix', async () => {
      const { topics } = fixture;
      const reply = await readUntilKey(as('onva-dolsis'), topics.consultations('onva'), `${topics.prefix}.onva-dolsis.client.${randomUUID()}`, consultation);
      expect(reply.value?.toString()).toBe(`reply to ${consultation}`);
    }, 60_000);

    it('the auditor reads the audit record (vaph may not: see above)', async () => {
      const { topics } = fixture;
      const record = await readUntilKey(as('auditor'), topics.audit, `${topics.prefix}.auditor.${randomUUID()}`, ticket);
      expect(record.value?.toString()).toBe(`vaph asked ${ticket}`);
    }, 60_000);
  });
});
