import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditMessage, auditRecord, type AuditSealValue } from '../../../src/contract/audit-records.js';
import { AUDIT_SEAL_RECORD } from '../../../src/contract/names.js';
import { loadSealKey, publicKeyPem, type SealKey } from '../../../src/audit/seal-key.js';
import { loadSettings, sealKeySources } from '../../../src/app/settings.js';
import { startAuditSealer } from '../../../src/audit/sealer.js';
import { verifyAudit, type AuditVerifyReport } from '../../../src/audit/verify.js';
import { runAuditVerifyCommand } from '../../../src/cli/audit-verify-command.js';
import { DEFAULT_CONFIG_DIR, SCHEMA_DIR } from '../../../src/config/project-paths.js';
import { loadInstitutions } from '../../../src/config/load-institutions.js';
import { accessControlList, provisionAccessControl, userPrincipal } from '../../../src/gateway/access-control.js';
import { topicSpecs } from '../../../src/gateway/topology.js';
import { silentLogger } from '../../../src/logging/logger.js';
import { loadAvroCodec } from '../../../src/messaging/avro-codec.js';
import { createKafkaClient, retrying, type AclGrant, type InMessage, type KafkaAdmin, type KafkaClient, type OutMessage } from '../../../src/messaging/kafka-client.js';
import { readTopicToEnd } from '../../../src/messaging/topic-reader.js';
import { topicNames } from '../../../src/messaging/topics.js';
import { runTransactionalPipeline, type RunningPipeline } from '../../../src/messaging/transactional-pipeline.js';
import { principalPasswordVariable } from '../../../src/stack/principal-connection.js';
import { uniqueName, waitFor } from '../../support/kafka-helpers.js';
import { connectionAs, testStack } from '../../support/stack-context.js';

/**
 * Tampering with the audit trail on the real broker. Real AuditRecords are written in Kafka
 * transactions (so the partitions hold transaction markers), the sealer seals them as its own
 * principal, and verification runs as an auditor. Partition 0 is then copied to scratch topics — as
 * it is, with one record's value changed by one bit, with one record dropped, with two records
 * swapped — and the seals once with one signature spoilt: verification of each copy names the first
 * bad offset (the copies have contiguous offsets, so the Nth record of the partition is at offset N),
 * and the original still passes.
 */

const RECORDS = 400;
const SEAL_EVERY = 40;
const CHANGED_AT = 37;
const DROPPED_AT = 50;
const SWAPPED_AT = 60;

const stack = testStack();
const institutions = loadInstitutions(DEFAULT_CONFIG_DIR);
const codec = loadAvroCodec(SCHEMA_DIR);
const topics = topicNames(uniqueName('t-audit'));
const inputTopic = `${topics.prefix}.audit-input`;
const copies = {
  verbatim: `${topics.prefix}.audit-copy-verbatim`,
  changed: `${topics.prefix}.audit-copy-changed`,
  dropped: `${topics.prefix}.audit-copy-dropped`,
  swapped: `${topics.prefix}.audit-copy-swapped`,
  badSeals: `${topics.prefix}.audit-copy-seals`,
};
const auditor = institutions.auditors[0] as string;

let admin: KafkaAdmin;
let client: KafkaClient;
let grants: AclGrant[];
let key: SealKey;
let writer: RunningPipeline | undefined;
let partition0: InMessage[] = [];

function verifyAs(principal: string, topic = topics.audit, sealsTopic = topics.auditSeals): Promise<AuditVerifyReport> {
  return verifyAudit({
    client: createKafkaClient(connectionAs(stack, principal), silentLogger),
    codec,
    topic,
    sealsTopic,
    publicKey: key.publicKey,
    groupPrefix: `${topics.prefix}.${principal}.`,
  });
}

async function copyPartition0(topic: string, messages: readonly InMessage[]): Promise<void> {
  await admin.ensureTopics([{ topic, partitions: 1 }]);
  const producer = await client.producer();
  try {
    const out: OutMessage[] = messages.map((m) => ({ key: m.key, value: m.value, headers: m.headers, partition: 0 }));
    // A topic just created may not be in the broker's metadata yet: nothing is written until it is.
    await retrying(() => producer.send(topic, out), { attempts: 10, shouldRetry: (error) => error.type === 'UNKNOWN_TOPIC_OR_PARTITION' });
  } finally {
    await producer.disconnect();
  }
}

async function readAll(topic: string): Promise<InMessage[]> {
  const all: InMessage[] = [];
  await readTopicToEnd({ client, topic, onBatch: async ({ messages }) => void all.push(...messages) });
  return all;
}

beforeAll(async () => {
  client = createKafkaClient(stack.kafka, silentLogger);
  admin = await client.admin();
  await admin.ensureTopics([...topicSpecs(topics, institutions, { partitions: 2 }).filter((s) => s.topic.startsWith(topics.audit)), { topic: inputTopic, partitions: 1 }]);
  // The sealer's and the auditor's ACLs as npm start provisions them, and READ on the copies for the auditor.
  grants = [
    ...accessControlList(topics, institutions).filter((g) => g.principal === userPrincipal(institutions.sealer) || g.principal === userPrincipal(auditor)),
    ...Object.values(copies).map((name): AclGrant => ({ principal: userPrincipal(auditor), resource: 'TOPIC', name, pattern: 'LITERAL', operation: 'READ' })),
  ];
  await provisionAccessControl(admin, grants);
  // A key given as configuration would be: PEM in BCSS_AUDIT_SEAL_KEY.
  const pem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  key = loadSealKey(sealKeySources(loadSettings({ BCSS_AUDIT_SEAL_KEY: pem })));

  // Real audit records, written as the gateway writes them: in transactions of 20, with the offsets.
  writer = await runTransactionalPipeline({
    client,
    groupId: `${topics.prefix}.gateway.audit-writer`,
    topics: [inputTopic],
    transactionalIdPrefix: `${topics.prefix}.gateway.audit-writer`,
    logger: silentLogger,
    chunkSize: 20,
    transform: async (messages) => ({
      records: messages.map((m) => {
        const n = Number(m.value?.toString());
        return auditMessage(
          codec,
          topics,
          auditRecord('REPLY_DELIVERED', 'OK', {
            ticket: `ticket-${n}`,
            requester: 'vaph',
            source: 'onss',
            service: 'dmfa',
            deliberation: '10/012',
            subjectNiss: String(85_07_30_000_00 + n * 3).padStart(11, '0'),
            deliveredBlocks: ['employment', 'wages'],
          }),
        );
      }),
    }),
  });
  const producer = await client.producer();
  const inputs = Array.from({ length: RECORDS }, (_, n) => ({ value: Buffer.from(String(n)) }));
  await retrying(() => producer.send(inputTopic, inputs), { attempts: 10, shouldRetry: (error) => error.type === 'UNKNOWN_TOPIC_OR_PARTITION' });
  await producer.disconnect();

  const sealer = await startAuditSealer({
    client: createKafkaClient(connectionAs(stack, institutions.sealer), silentLogger),
    codec,
    topics,
    key,
    logger: silentLogger,
    everyRecords: SEAL_EVERY,
    everyMs: 300,
    groupPrefix: topics.prefix,
    principal: institutions.sealer,
  });
  try {
    await waitFor(
      async () => sealer.status(),
      (status) => status.reduce((sum, p) => sum + p.records, 0) === RECORDS,
      { timeoutMs: 60_000, what: `the sealer to seal ${RECORDS} records` },
    );
  } finally {
    await sealer.stop();
  }
  partition0 = (await readAll(topics.audit)).filter((m) => m.partition === 0);
  expect(partition0.length).toBeGreaterThan(SWAPPED_AT + 1);
}, 120_000);

afterAll(async () => {
  await writer?.stop();
  await admin.deleteTopics([topics.audit, topics.auditSeals, inputTopic, ...Object.values(copies)]).catch(() => undefined);
  await admin.deleteAcls(grants).catch(() => undefined);
  await admin.disconnect();
});

describe('audit verify against the real broker', () => {
  it('passes the original trail, read as an auditor: every record sealed, every seal checked', async () => {
    const report = await verifyAs(auditor);
    expect(report.firstProblem).toBeNull();
    expect(report).toMatchObject({ ok: true, recordsChecked: RECORDS, unsealedRecords: 0, unreadableSeals: [], partitionsNotInTopic: [] });
    expect(report.partitions.map((p) => p.partition)).toEqual([0, 1]);
    // Transactions leave markers: the partition's offsets are not contiguous, which the chain ignores.
    expect(Number(partition0.at(-1)?.offset)).toBeGreaterThan(partition0.length);
    expect(report.sealsChecked).toBeGreaterThanOrEqual(Math.ceil(RECORDS / SEAL_EVERY));
  });

  it('passes a verbatim copy of partition 0, at other offsets, against the same seals', async () => {
    await copyPartition0(copies.verbatim, partition0);
    const report = await verifyAs(auditor, copies.verbatim);
    expect(report).toMatchObject({ ok: true, firstProblem: null, partitionsNotInTopic: [1] });
    expect(report.partitions).toEqual([expect.objectContaining({ partition: 0, recordsChecked: partition0.length, sealedRecords: partition0.length, unsealedTail: null })]);
  });

  it('names the record whose value was changed by one bit', async () => {
    const changed = partition0.map((m, index) => {
      if (index !== CHANGED_AT) return m;
      const value = Buffer.from(m.value as Buffer);
      value[value.length - 1] = (value[value.length - 1] as number) ^ 0x01;
      return { ...m, value };
    });
    await copyPartition0(copies.changed, changed);
    const report = await verifyAs(auditor, copies.changed);
    expect(report.ok).toBe(false);
    expect(report.firstProblem).toMatchObject({ partition: 0, offset: String(CHANGED_AT), kind: 'CHANGED' });
    expect(report.partitions[0]?.problems).toHaveLength(1);
  });

  it('names the place of a dropped record', async () => {
    await copyPartition0(copies.dropped, partition0.filter((_, index) => index !== DROPPED_AT));
    const report = await verifyAs(auditor, copies.dropped);
    expect(report.firstProblem).toMatchObject({ partition: 0, offset: String(DROPPED_AT), kind: 'MISSING', count: 1 });
    expect(report.partitions[0]?.problems).toHaveLength(1);
  });

  it('names the first of two swapped records', async () => {
    const swapped = [...partition0];
    swapped[SWAPPED_AT] = partition0[SWAPPED_AT + 1] as InMessage;
    swapped[SWAPPED_AT + 1] = partition0[SWAPPED_AT] as InMessage;
    await copyPartition0(copies.swapped, swapped);
    const report = await verifyAs(auditor, copies.swapped);
    expect(report.firstProblem).toMatchObject({ partition: 0, offset: String(SWAPPED_AT), kind: 'REORDERED' });
    expect(report.partitions[0]?.problems).toHaveLength(1);
  });

  it('refuses a seal whose signature was spoilt, naming the first record it covers', async () => {
    const seals = await readAll(topics.auditSeals);
    const decoded = seals.map((m) => codec.decode<AuditSealValue>(AUDIT_SEAL_RECORD, m.value as Buffer));
    const target = decoded.find((s) => s.partition === 0 && s.sequence === 2) as AuditSealValue;
    const spoilt = seals.map((m, index) => {
      const seal = decoded[index] as AuditSealValue;
      if (seal !== target) return m;
      const signature = Buffer.from(seal.signature);
      signature[0] = (signature[0] as number) ^ 0xff;
      return { ...m, value: codec.encode(AUDIT_SEAL_RECORD, { ...seal, signature }) };
    });
    await copyPartition0(copies.badSeals, spoilt);
    const report = await verifyAs(auditor, topics.audit, copies.badSeals);
    expect(report.firstProblem).toMatchObject({ partition: 0, offset: String(target.firstOffset), kind: 'BAD_SIGNATURE', seal: 2 });
    expect(report.partitions[1]?.ok).toBe(true);
  });

  it('bcss audit verify: exit 0 on the original, 1 naming partition and offset on a tampered copy, 2 without a key', async () => {
    const env: NodeJS.ProcessEnv = {
      KAFKA_BROKERS: stack.kafka.brokers.join(','),
      [principalPasswordVariable(auditor)]: stack.credentials?.principals[auditor],
      BCSS_TOPIC_PREFIX: topics.prefix,
      BCSS_AUDIT_VERIFY_KEY: publicKeyPem(key.publicKey),
    };
    const run = async (options: { topic?: string }, runEnv = env) => {
      let stdout = '';
      let stderr = '';
      const code = await runAuditVerifyCommand(
        { as: auditor, ...options },
        { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) }, env: runEnv },
      );
      return { code, stdout, stderr };
    };
    const intact = await run({});
    expect(intact.stdout).toMatch(/^intact: 400 records in 2 partition\(s\)/m);
    expect(intact.code).toBe(0);
    const tampered = await run({ topic: copies.changed });
    expect(tampered.stdout).toMatch(new RegExp(`^TAMPERED: CHANGED at partition 0 offset ${CHANGED_AT} `, 'm'));
    expect(tampered.code).toBe(1);
    const { BCSS_AUDIT_VERIFY_KEY: _key, ...noKey } = env;
    const keyless = await run({}, { ...noKey, BCSS_STACK_DIR: '/nonexistent-stack-dir' });
    expect(keyless.stderr).toMatch(/no audit seal key/);
    expect(keyless.code).toBe(2);
  });
});
