import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditMessage, auditRecord, type AuditSealValue } from '../../../src/contract/audit-records.js';
import { AUDIT_SEAL_RECORD } from '../../../src/contract/names.js';
import { keyIdOf } from '../../../src/audit/seal-chain.js';
import type { SealKey } from '../../../src/audit/seal-key.js';
import { startAuditSealer, type RunningAuditSealer, type SealerPartitionStatus } from '../../../src/audit/sealer.js';
import { verifyAudit } from '../../../src/audit/verify.js';
import { DEFAULT_CONFIG_DIR, SCHEMA_DIR } from '../../../src/config/project-paths.js';
import { loadInstitutions } from '../../../src/config/load-institutions.js';
import { accessControlList, provisionAccessControl, userPrincipal } from '../../../src/gateway/access-control.js';
import { topicSpecs } from '../../../src/gateway/topology.js';
import { silentLogger } from '../../../src/logging/logger.js';
import { loadAvroCodec } from '../../../src/messaging/avro-codec.js';
import { createKafkaClient, retrying, type AclGrant, type InMessage, type KafkaAdmin, type KafkaClient, type MessageProducer } from '../../../src/messaging/kafka-client.js';
import { readTopicToEnd } from '../../../src/messaging/topic-reader.js';
import { topicNames } from '../../../src/messaging/topics.js';
import { runTransactionalPipeline, type RunningPipeline } from '../../../src/messaging/transactional-pipeline.js';
import { uniqueName, waitFor } from '../../support/kafka-helpers.js';
import { connectionAs, testStack } from '../../support/stack-context.js';

/**
 * The sealer stopped in the middle of a stream — records read and not sealed, more records arriving
 * while it is down — and started again: it resumes each partition's chain right after its last seal,
 * so the whole trail verifies and each partition's seals are numbered 1, 2, 3 ... without a gap or a
 * repeat, the first seal after the restart continuing the last one before it. An orderly stop seals
 * what it has read; a second sealer started beside a running one takes the seals over, and the first,
 * fenced, seals nothing more.
 */

const stack = testStack();
const institutions = loadInstitutions(DEFAULT_CONFIG_DIR);
const codec = loadAvroCodec(SCHEMA_DIR);
const topics = topicNames(uniqueName('t-seal'));
const inputTopic = `${topics.prefix}.audit-input`;
const privateKey = generateKeyPairSync('ed25519').privateKey;
const key: SealKey = { privateKey, publicKey: privateKey, keyId: keyIdOf(privateKey), source: 'test' };

let admin: KafkaAdmin;
let client: KafkaClient;
let grants: AclGrant[];
let writer: RunningPipeline | undefined;
let producer: MessageProducer;
let written = 0;
const running: RunningAuditSealer[] = [];

async function write(count: number): Promise<void> {
  const first = written;
  written += count;
  const inputs = Array.from({ length: count }, (_, n) => ({ value: Buffer.from(String(first + n)) }));
  // A topic just created may not be in the broker's metadata yet: nothing is written until it is.
  await retrying(() => producer.send(inputTopic, inputs), { attempts: 10, shouldRetry: (error) => error.type === 'UNKNOWN_TOPIC_OR_PARTITION' });
}

async function startSealer(options: { everyRecords: number; everyMs: number }): Promise<RunningAuditSealer> {
  const sealer = await startAuditSealer({
    client: createKafkaClient(connectionAs(stack, institutions.sealer), silentLogger),
    codec,
    topics,
    key,
    logger: silentLogger,
    groupPrefix: topics.prefix,
    principal: institutions.sealer,
    ...options,
  });
  running.push(sealer);
  return sealer;
}

const total = (status: readonly SealerPartitionStatus[], field: 'records' | 'pending') => status.reduce((sum, p) => sum + p[field], 0);

async function sealsByPartition(): Promise<Map<number, AuditSealValue[]>> {
  const byPartition = new Map<number, AuditSealValue[]>();
  await readTopicToEnd({
    client,
    topic: topics.auditSeals,
    onBatch: async ({ messages }: { messages: readonly InMessage[] }) => {
      for (const m of messages) {
        const seal = codec.decode<AuditSealValue>(AUDIT_SEAL_RECORD, m.value as Buffer);
        byPartition.set(seal.partition, [...(byPartition.get(seal.partition) ?? []), seal]);
      }
    },
  });
  return byPartition;
}

/** Per partition, seals numbered 1, 2, 3 ... each continuing the link of the one before. */
async function expectContiguousSeals(): Promise<Map<number, AuditSealValue[]>> {
  const seals = await sealsByPartition();
  for (const [partition, list] of seals) {
    expect(list.map((s) => s.sequence), `partition ${partition}`).toEqual(list.map((_, index) => index + 1));
    list.slice(1).forEach((seal, index) => expect(seal.previousLink, `partition ${partition} seal #${seal.sequence}`).toEqual(list[index]?.link));
  }
  return seals;
}

async function verify() {
  return verifyAudit({
    client: createKafkaClient(connectionAs(stack, 'auditor'), silentLogger),
    codec,
    topic: topics.audit,
    sealsTopic: topics.auditSeals,
    publicKey: key.publicKey,
    groupPrefix: `${topics.prefix}.auditor.`,
  });
}

beforeAll(async () => {
  client = createKafkaClient(stack.kafka, silentLogger);
  admin = await client.admin();
  await admin.ensureTopics([...topicSpecs(topics, institutions, { partitions: 2 }).filter((s) => s.topic.startsWith(topics.audit)), { topic: inputTopic, partitions: 1 }]);
  grants = accessControlList(topics, institutions).filter((g) => g.principal === userPrincipal(institutions.sealer) || g.principal === 'User:auditor');
  await provisionAccessControl(admin, grants);
  writer = await runTransactionalPipeline({
    client,
    groupId: `${topics.prefix}.gateway.audit-writer`,
    topics: [inputTopic],
    transactionalIdPrefix: `${topics.prefix}.gateway.audit-writer`,
    logger: silentLogger,
    chunkSize: 15,
    transform: async (messages) => ({
      records: messages.map((m) =>
        auditMessage(
          codec,
          topics,
          auditRecord('REQUEST_FORWARDED', 'OK', { ticket: `ticket-${m.value?.toString()}`, requester: 'onva', service: 'dimona', subjectNiss: `9${String(m.value).padStart(10, '0')}` }),
        ),
      ),
    }),
  });
  producer = await client.producer();
}, 120_000);

afterAll(async () => {
  await Promise.all(running.map((s) => s.stop({ sealPending: false }).catch(() => undefined)));
  await writer?.stop();
  await producer?.disconnect();
  await admin.deleteTopics([topics.audit, topics.auditSeals, inputTopic]).catch(() => undefined);
  await admin.deleteAcls(grants).catch(() => undefined);
  await admin.disconnect();
});

describe('the audit sealer across a restart', () => {
  it('continues each chain from its last seal, and the whole trail verifies', async () => {
    // Seals by count only, every 30 records: most of the time some records are read and not sealed.
    const first = await startSealer({ everyRecords: 30, everyMs: 600_000 });
    await write(200);
    await waitFor(async () => first.status(), (s) => total(s, 'records') + total(s, 'pending') === 200, { timeoutMs: 30_000, what: 'the first sealer to read 200 records' });

    // Mid-stream: more records on their way, and the sealer stops as a crash would, sealing nothing more.
    const sending = write(200);
    await first.stop({ sealPending: false });
    const before = first.status();
    expect(total(before, 'pending')).toBeGreaterThan(0);
    await sending;
    await write(100);

    const second = await startSealer({ everyRecords: 30, everyMs: 300 });
    // It starts where the seals end: same sequence, record count and last offset per partition.
    expect(second.status().map(({ pending: _pending, ...rest }) => rest)).toEqual(before.map(({ pending: _pending, ...rest }) => rest));
    await waitFor(async () => second.status(), (s) => total(s, 'records') === 500 && total(s, 'pending') === 0, { timeoutMs: 30_000, what: 'the second sealer to seal all 500 records' });
    await second.stop();

    const seals = await expectContiguousSeals();
    for (const [partition, list] of seals) {
      // The second sealer's seals follow on from the first one's.
      expect(list.length, `partition ${partition}`).toBeGreaterThan(before.find((p) => p.partition === partition)?.sequence ?? 0);
    }
    const report = await verify();
    expect(report.firstProblem).toBeNull();
    expect(report).toMatchObject({ ok: true, recordsChecked: 500, unsealedRecords: 0 });
  });

  it('seals what it has read when stopped in order', async () => {
    const sealer = await startSealer({ everyRecords: 1_000, everyMs: 600_000 });
    await write(25);
    await waitFor(async () => sealer.status(), (s) => total(s, 'pending') === 25, { timeoutMs: 30_000, what: 'the sealer to read 25 more records' });
    await sealer.stop();
    expect(total(sealer.status(), 'pending')).toBe(0);
    expect(total(sealer.status(), 'records')).toBe(written);
    const report = await verify();
    expect(report).toMatchObject({ ok: true, recordsChecked: written, unsealedRecords: 0 });
  });

  it('hands the seals over to a sealer started beside it: the older one, fenced, seals nothing more', async () => {
    const older = await startSealer({ everyRecords: 1_000, everyMs: 200 });
    await write(40);
    await waitFor(async () => older.status(), (s) => total(s, 'records') === written && total(s, 'pending') === 0, { timeoutMs: 30_000, what: 'the older sealer to seal' });
    const newer = await startSealer({ everyRecords: 1_000, everyMs: 200 });
    await write(40);
    await waitFor(
      async () => ({ older: older.active(), newer: newer.status() }),
      (v) => !v.older && total(v.newer, 'records') === written && total(v.newer, 'pending') === 0,
      { timeoutMs: 30_000, what: 'the newer sealer to seal everything and the older to be fenced' },
    );
    expect(newer.active()).toBe(true);
    await Promise.all([older.stop(), newer.stop()]);
    await expectContiguousSeals();
    const report = await verify();
    expect(report.firstProblem).toBeNull();
    expect(report).toMatchObject({ ok: true, recordsChecked: written, unsealedRecords: 0 });
  });
});
