/**
 * Mutations under the ACLs of access-control.ts, each principal connecting with its own SCRAM user: a
 * source publishes a change on its own mutations topic, the gateway tells VAPH and IRISCARE, and each
 * reads its mutations on its own topic — never another institution's, and it cannot write on its own
 * either (only the gateway delivers changes there). VAPH's changes come through MAGDA (10/012 §9, §18):
 * on MAGDA's mutations topic, naming VAPH, which MAGDA reads under its own principal.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG_DIR } from '../../../src/config/project-paths.js';
import { loadInstitutions } from '../../../src/config/load-institutions.js';
import type { MutationRecord, SourceMutationRecord } from '../../../src/contract/mutation-records.js';
import { MUTATION_RECORD } from '../../../src/contract/names.js';
import { accessControlList, provisionAccessControl } from '../../../src/gateway/access-control.js';
import { silentLogger } from '../../../src/logging/logger.js';
import {
  createKafkaClient,
  toMessagingError,
  type AclGrant,
  type InMessage,
  type KafkaConnection,
  type MessagingError,
} from '../../../src/messaging/kafka-client.js';
import { createSyntheticPopulation, SIMULATED, SIMULATED_EMPLOYERS } from '../../../src/sources/synthetic-population.js';
import type { ExchangeFixture } from '../../support/exchange-fixture.js';
import { waitFor } from '../../support/kafka-helpers.js';
import { connectionAs, testStack } from '../../support/stack-context.js';
import { createMutationFixture, sourceMutation, sourcePayload } from './mutation-scenario.js';

const NISS = SIMULATED.careWorkerIriscare;
const CARE_HOME = { kind: 'ONSS' as const, id: SIMULATED_EMPLOYERS.careHome.onssNumber as string };

/** Reads `topic` from the beginning as the connection's principal until a message satisfies `accept`. */
async function readUntil(
  connection: KafkaConnection,
  topic: string,
  groupId: string,
  accept: (message: InMessage) => boolean,
  timeoutMs = 40_000,
): Promise<InMessage> {
  const consumer = await createKafkaClient(connection, silentLogger).consumer({ groupId, topics: [topic], fromBeginning: true });
  let found!: (message: InMessage) => void;
  const arrived = new Promise<InMessage>((resolve) => (found = resolve));
  let timer: NodeJS.Timeout | undefined;
  try {
    await consumer.run(async (batch) => {
      const match = batch.messages.find(accept);
      if (match) found(match);
    });
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no matching message on ${topic} within ${timeoutMs} ms`)), timeoutMs);
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

describe('mutations: each institution reads its own mutations topic, and only that one', () => {
  const stack = testStack();
  let fx: ExchangeFixture;
  let grants: AclGrant[];
  let sent: SourceMutationRecord;
  const as = (principal: string): KafkaConnection => ({ ...connectionAs(stack, principal), clientId: `it-mutations-${principal}` });
  const isSent = (m: InMessage) =>
    m.key?.toString() === NISS && m.value !== null && fx.codec.decode<MutationRecord>(MUTATION_RECORD.delivered, m.value).mutationId === sent.mutationId;
  const groupOf = (principal: string) => `${fx.topics.prefix}.${principal}.mutations-reader.${randomUUID()}`;

  beforeAll(async () => {
    fx = await createMutationFixture();
    grants = accessControlList(fx.topics, loadInstitutions(DEFAULT_CONFIG_DIR));
    await provisionAccessControl(fx.admin, grants);
    // The broker applies new ACLs from its metadata log, a moment after the controller accepted them.
    const probe = createKafkaClient(as('vaph'), silentLogger);
    await waitFor(
      async () => {
        const consumer = await probe.consumer({ groupId: `${fx.topics.prefix}.vaph.probe`, topics: [fx.topics.mutations('vaph')] });
        await consumer.disconnect();
        return true;
      },
      (ready) => ready,
      { what: 'the ACLs to take effect' },
    );

    await fx.startGateway();
    await fx.integrate([
      { institution: 'vaph', niss: NISS, capacity: 'pab-assistant', phase: 1, from: '2023-01-01', to: null, employer: CARE_HOME },
      { institution: 'iriscare', niss: NISS, capacity: 'care-worker', phase: 1, from: '2023-01-01', to: null, employer: CARE_HOME },
    ]);

    // ONSS publishes the change itself, under its own principal, on its own mutations topic.
    sent = sourceMutation({
      service: 'dimona',
      subjectNiss: NISS,
      employer: CARE_HOME,
      effectiveDate: '2024-06-01',
      informationType: 'dimona.occupation',
      payload: fx.codec.encode(fx.payloadRecords.get('dimona') as string, sourcePayload(createSyntheticPopulation(), 'dimona', NISS)),
    });
    const onss = await createKafkaClient(as('source-onss'), silentLogger).producer();
    try {
      await onss.send(fx.topics.sourceMutations('onss'), [{ key: NISS, value: fx.codec.encode(MUTATION_RECORD.source, sent) }]);
    } finally {
      await onss.disconnect();
    }
    await fx.waitForMutationsProcessed();
  }, 120_000);

  afterAll(async () => {
    // The broker keeps ACLs after their topics are gone: removed here, each exactly once.
    const deleted = fx ? await fx.admin.deleteAcls(grants) : 0;
    await fx?.closeAtOnce();
    expect(deleted).toBe(grants.length);
  }, 60_000);

  it('magda reads VAPH\'s change on its own mutations topic, naming vaph, in a group under its prefix (10/012 §9, §18)', async () => {
    const message = await readUntil(as('magda'), fx.topics.mutations('magda'), groupOf('magda'), isSent);
    const mutation = fx.codec.decode<MutationRecord>(MUTATION_RECORD.delivered, message.value as Buffer);
    expect(mutation).toMatchObject({ subjectNiss: NISS, onBehalfOf: 'vaph', form: 'BLOCKS', legalBasis: { deliberation: '10/012', version: 'v1' } });
    expect(message.headers).toMatchObject({ type: 'mutation', ticket: mutation.ticket });
    // Nothing was written on VAPH's own mutations topic.
    const offsets = await fx.admin.topicOffsets(fx.topics.mutations('vaph'));
    expect(offsets.every((p) => p.high === '0')).toBe(true);
  }, 60_000);

  it('magda may not read vaph\'s own mutations topic, nor iriscare\'s', async () => {
    const magda = createKafkaClient(as('magda'), silentLogger);
    for (const institution of ['vaph', 'iriscare']) {
      const denied = await refusal(magda.consumer({ groupId: groupOf('magda'), topics: [fx.topics.mutations(institution)] }));
      expect(denied, institution).toMatchObject({ type: 'TOPIC_AUTHORIZATION_FAILED', accessDenied: true });
    }
  }, 20_000);

  it('vaph may not read iriscare\'s mutations topic: not even described', async () => {
    const vaph = createKafkaClient(as('vaph'), silentLogger);
    const denied = await refusal(vaph.consumer({ groupId: groupOf('vaph'), topics: [fx.topics.mutations('iriscare')] }));
    expect(denied).toMatchObject({ type: 'TOPIC_AUTHORIZATION_FAILED', accessDenied: true });
  }, 20_000);

  it('iriscare reads its own copy, under its own deliberation, and may not read vaph\'s', async () => {
    const message = await readUntil(as('iriscare'), fx.topics.mutations('iriscare'), groupOf('iriscare'), isSent);
    const mutation = fx.codec.decode<MutationRecord>(MUTATION_RECORD.delivered, message.value as Buffer);
    expect(mutation.legalBasis).toMatchObject({ deliberation: '19/104', version: 'v3' });
    // No intermediary under 19/104: delivered to IRISCARE itself.
    expect(mutation.onBehalfOf).toBeNull();
    const iriscare = createKafkaClient(as('iriscare'), silentLogger);
    const denied = await refusal(iriscare.consumer({ groupId: groupOf('iriscare'), topics: [fx.topics.mutations('vaph')] }));
    expect(denied).toMatchObject({ type: 'TOPIC_AUTHORIZATION_FAILED', accessDenied: true });
  }, 60_000);

  it('vaph may not write a change on its own mutations topic, nor on a source\'s', async () => {
    const producer = await createKafkaClient(as('vaph'), silentLogger).producer();
    try {
      const forged = await refusal(producer.send(fx.topics.mutations('vaph'), [{ key: NISS, value: Buffer.from('forged') }]));
      expect(forged).toMatchObject({ type: 'TOPIC_AUTHORIZATION_FAILED', accessDenied: true });
      const spoofed = await refusal(producer.send(fx.topics.sourceMutations('onss'), [{ key: NISS, value: Buffer.from('forged') }]));
      expect(spoofed).toMatchObject({ type: 'TOPIC_AUTHORIZATION_FAILED', accessDenied: true });
    } finally {
      await producer.disconnect();
    }
  }, 20_000);

  it('a source may not read the institutions\' mutations, nor publish on another source\'s mutations topic', async () => {
    const source = createKafkaClient(as('source-onss'), silentLogger);
    const denied = await refusal(source.consumer({ groupId: groupOf('source-onss'), topics: [fx.topics.mutations('vaph')] }));
    expect(denied).toMatchObject({ type: 'TOPIC_AUTHORIZATION_FAILED', accessDenied: true });
    const producer = await source.producer();
    try {
      const spoofed = await refusal(producer.send(fx.topics.sourceMutations('bcss-registers'), [{ key: NISS, value: Buffer.from('x') }]));
      expect(spoofed).toMatchObject({ type: 'TOPIC_AUTHORIZATION_FAILED', accessDenied: true });
    } finally {
      await producer.disconnect();
    }
  }, 20_000);
});
