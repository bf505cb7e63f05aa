/**
 * The audit index on the stack's real PostgreSQL and the real broker: the indexer, consuming a whole
 * switch's audit topic as the auditor, writes one row per record and no NISS in clear; a second pass
 * from offset 0 writes nothing; a search through the index reports exactly the records the scan of the
 * person's partition reports, each covered by a verified seal; and a record whose bytes differ from
 * what its seal signed is flagged.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatSearchReport } from '../../../src/audit/audit-format.js';
import { searchAuditIndex, startAuditIndexer, subjectHmac, type AuditIndexer } from '../../../src/audit/audit-index.js';
import { searchAudit } from '../../../src/audit/audit-search.js';
import { loadSealKey, publicKeyPem, type SealKey } from '../../../src/audit/seal-key.js';
import { startAuditSealer } from '../../../src/audit/sealer.js';
import { loadSettings, sealKeySources } from '../../../src/app/settings.js';
import { runAuditSearchCommand, type AuditCommandIo } from '../../../src/cli/audit-query-command.js';
import { principalPasswordVariable } from '../../../src/stack/principal-connection.js';
import { auditMessage, auditRecord } from '../../../src/contract/audit-records.js';
import { DEFAULT_CONFIG_DIR, SCHEMA_DIR } from '../../../src/config/project-paths.js';
import { loadInstitutions } from '../../../src/config/load-institutions.js';
import { accessControlList, provisionAccessControl, userPrincipal } from '../../../src/gateway/access-control.js';
import { topicSpecs } from '../../../src/gateway/topology.js';
import { silentLogger } from '../../../src/logging/logger.js';
import { loadAvroCodec } from '../../../src/messaging/avro-codec.js';
import { createKafkaClient, retrying, type AclGrant, type InMessage, type KafkaClient, type OutMessage } from '../../../src/messaging/kafka-client.js';
import { readTopicToEnd } from '../../../src/messaging/topic-reader.js';
import { topicNames, type TopicNames } from '../../../src/messaging/topics.js';
import { SIMULATED, SIMULATED_EMPLOYERS } from '../../../src/sources/synthetic-population.js';
import { schemaForTopic } from '../../../src/store/audit-index-store.js';
import { createSqlPool, quoteIdentifier, type SqlPool } from '../../../src/store/postgres-connection.js';
import { createExchangeFixture, type ExchangeFixture } from '../../support/exchange-fixture.js';
import { uniqueName, waitFor } from '../../support/kafka-helpers.js';
import { connectionAs, testStack } from '../../support/stack-context.js';

const stack = testStack();
const institutions = loadInstitutions(DEFAULT_CONFIG_DIR);
const codec = loadAvroCodec(SCHEMA_DIR);
const indexKey = randomBytes(32);
const E = SIMULATED_EMPLOYERS;
const ASSISTANT = SIMULATED.assistantOfVaph;
const CARE_WORKER = SIMULATED.careWorkerIriscare;
const BUDGET_HOLDER = { kind: 'ONSS' as const, id: E.budgetHolder.onssNumber, category: null };
const CARE_HOME = { kind: 'ONSS' as const, id: E.careHome.onssNumber, category: null };

function indexUrl(): string {
  if (!stack.auditIndexUrl) throw new Error('the test stack has no PostgreSQL for the audit index (install postgresql, or set BCSS_AUDIT_INDEX_URL)');
  return stack.auditIndexUrl;
}

const auditorClient = (): KafkaClient => createKafkaClient({ ...connectionAs(stack, 'auditor'), clientId: 'it-audit-index' }, silentLogger);

async function readAll(client: KafkaClient, topic: string): Promise<InMessage[]> {
  const all = new Map<string, InMessage>();
  await readTopicToEnd({ client, topic, timeoutMs: 60_000, onBatch: async ({ messages }) => void messages.forEach((m) => all.set(`${m.partition}:${m.offset}`, m)) });
  return [...all.values()];
}

async function rowCount(pool: SqlPool, topics: TopicNames): Promise<number> {
  const result = await pool.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${quoteIdentifier(schemaForTopic(topics.audit))}.audit_index`);
  return Number(result.rows[0]?.n);
}

/** Runs an indexer (its own consumer group: from offset 0) until the table holds `expected` rows. */
async function indexUntil(pool: SqlPool, topics: TopicNames, groupName: string, expected: number): Promise<{ written: number; records: number }> {
  const seen = { written: 0, records: 0 };
  const indexer: AuditIndexer = await startAuditIndexer({
    client: auditorClient(),
    codec,
    topics,
    pool,
    key: indexKey,
    principal: 'auditor',
    groupName,
    onBatch: (b) => {
      seen.written += b.written;
      seen.records += b.records;
    },
  });
  try {
    await waitFor(async () => seen.records, (n) => n >= expected, { timeoutMs: 60_000, what: `the indexer to read ${expected} records` });
    // The consumer commits after the batch: wait for the commit, which the search's lag check reads.
    await waitFor(
      async () => {
        const admin = await auditorClient().admin();
        try {
          return (await admin.groupLag(indexer.groupId)).get(topics.audit) ?? -1;
        } finally {
          await admin.disconnect();
        }
      },
      (lag) => lag >= 0 && lag <= 8,
      { timeoutMs: 30_000, what: 'the indexer to commit its position' },
    );
  } finally {
    await indexer.stop();
  }
  return seen;
}

describe('the audit index of a real exchange run', () => {
  let fx: ExchangeFixture;
  let pool: SqlPool;
  let grants: AclGrant[];
  let sealKey: SealKey;
  let trail: InMessage[];

  beforeAll(async () => {
    pool = createSqlPool(indexUrl(), { max: 4 });
    fx = await createExchangeFixture(stack, 4);
    grants = accessControlList(fx.topics, institutions);
    await provisionAccessControl(fx.admin, grants);
    await fx.startGateway();
    await fx.startSimulators();
    await fx.integrate([
      { institution: 'vaph', niss: ASSISTANT, capacity: 'pab-assistant', phase: 1, from: '2024-01-01', to: null, employer: { kind: 'ONSS', id: E.budgetHolder.onssNumber } },
      { institution: 'iriscare', niss: CARE_WORKER, capacity: 'care-worker', phase: 1, from: '2023-01-01', to: null, employer: { kind: 'ONSS', id: E.careHome.onssNumber } },
    ]);
    const asked = await Promise.all([
      fx.ask('magda', { onBehalfOf: 'vaph', service: 'dmfa', subjectNiss: ASSISTANT, employer: BUDGET_HOLDER, period: { from: '2024-01-01', to: '2024-06-30' } }),
      fx.ask('magda', { onBehalfOf: 'vaph', service: 'dimona', subjectNiss: ASSISTANT, employer: BUDGET_HOLDER, period: { from: '2024-01-01', to: '2024-12-31' } }),
      fx.ask('iriscare', { service: 'dmfa', subjectNiss: ASSISTANT, employer: CARE_HOME, period: { from: '2024-01-01', to: '2024-06-30' } }),
      fx.ask('iriscare', { service: 'dmfa', subjectNiss: CARE_WORKER, employer: CARE_HOME, period: { from: '2024-01-01', to: '2024-06-30' } }),
    ]);
    expect(asked.map((r) => r.status)).toEqual(['OK', 'OK', 'NOT_INTEGRATED', 'OK']);
    await fx.readAudit();
    trail = await readAll(fx.client, fx.topics.audit);
    // Every record sealed, as the production sealer does it, with a key of this test.
    const pem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    sealKey = loadSealKey(sealKeySources(loadSettings({ BCSS_AUDIT_SEAL_KEY: pem })));
    const sealer = await startAuditSealer({
      client: createKafkaClient(connectionAs(stack, institutions.sealer), silentLogger),
      codec,
      topics: fx.topics,
      key: sealKey,
      logger: silentLogger,
      everyRecords: 5,
      everyMs: 200,
      groupPrefix: fx.topics.prefix,
      principal: institutions.sealer,
    });
    try {
      await waitFor(async () => sealer.status(), (s) => s.reduce((sum, p) => sum + p.records, 0) === trail.length, { timeoutMs: 60_000, what: 'the sealer to seal the trail' });
    } finally {
      await sealer.stop();
    }
  }, 180_000);

  afterAll(async () => {
    if (fx) await pool.query(`DROP SCHEMA IF EXISTS ${quoteIdentifier(schemaForTopic(fx.topics.audit))} CASCADE`).catch(() => undefined);
    await pool?.end();
    await fx?.admin.deleteAcls(grants).catch(() => undefined);
    await fx?.close();
  });

  it('writes one row per audit record, at its partition and offset; a second pass from offset 0 writes nothing', async () => {
    expect(trail.length).toBeGreaterThanOrEqual(8);
    const first = await indexUntil(pool, fx.topics, 'audit-index', trail.length);
    expect(first.written).toBe(trail.length);
    expect(await rowCount(pool, fx.topics)).toBe(trail.length);
    const rows = await pool.query<{ place: string }>(
      `SELECT audit_partition || ':' || audit_offset AS place FROM ${quoteIdentifier(schemaForTopic(fx.topics.audit))}.audit_index ORDER BY 1`,
    );
    expect(rows.rows.map((r) => r.place)).toEqual(trail.map((m) => `${m.partition}:${m.offset}`).sort());

    const again = await indexUntil(pool, fx.topics, 'audit-index-replay', trail.length);
    expect(again).toEqual({ written: 0, records: trail.length });
    expect(await rowCount(pool, fx.topics)).toBe(trail.length);
  }, 120_000);

  it('holds no NISS in clear: no text column, nor the subject bytes, contains one; the subject is the keyed hash', async () => {
    const schema = quoteIdentifier(schemaForTopic(fx.topics.audit));
    const columns = await pool.query<{ column_name: string }>(
      `SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'audit_index' AND data_type = 'text'`,
      [schemaForTopic(fx.topics.audit)],
    );
    expect(columns.rows.map((c) => c.column_name).sort()).toEqual(['event', 'outcome', 'requester', 'service']);
    const everything = await pool.query<{ line: string }>(
      `SELECT concat_ws('|', ${columns.rows.map((c) => quoteIdentifier(c.column_name)).join(', ')}, encode(subject_hmac, 'escape'), encode(subject_hmac, 'hex')) AS line FROM ${schema}.audit_index`,
    );
    const text = everything.rows.map((r) => r.line).join('\n');
    expect(text.length).toBeGreaterThan(0);
    for (const niss of [ASSISTANT, CARE_WORKER]) expect(text).not.toContain(niss);
    // No number of a NISS's length in any text column. Not asked of the subject's renderings: a hash
    // in hex or escaped bytes holds runs of eleven digits by chance (about one key in four).
    const texts = await pool.query<{ line: string }>(
      `SELECT concat_ws('|', ${columns.rows.map((c) => quoteIdentifier(c.column_name)).join(', ')}) AS line FROM ${schema}.audit_index`,
    );
    expect(texts.rows.map((r) => r.line).join('\n')).not.toMatch(/\d{11}/);
    const subjects = await pool.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${schema}.audit_index WHERE subject_hmac = $1`, [subjectHmac(indexKey, ASSISTANT)]);
    expect(Number(subjects.rows[0]?.n)).toBe(trail.filter((m) => m.key?.toString() === ASSISTANT).length);
  });

  it('finds exactly the records the scan finds, each covered by a verified seal', async () => {
    const client = auditorClient();
    for (const niss of [ASSISTANT, CARE_WORKER]) {
      const scanned = await searchAudit({ client, codec, topics: fx.topics, niss, principal: 'auditor' });
      const indexed = await searchAuditIndex({ client, codec, topics: fx.topics, pool, key: indexKey, publicKey: sealKey.publicKey, niss, principal: 'auditor' });
      expect(scanned.records.length).toBeGreaterThan(0);
      expect(indexed.records.map(({ seal: _seal, ...entry }) => entry)).toEqual(scanned.records);
      expect(indexed.records.map((r) => r.seal)).toEqual(scanned.records.map(() => 'SEALED'));
      expect(indexed.missing).toEqual([]);
      expect(formatSearchReport(indexed)).toContain('Found through the audit index');
    }
    const nobody = await searchAuditIndex({ client, codec, topics: fx.topics, pool, key: indexKey, publicKey: sealKey.publicKey, niss: SIMULATED.deceased, principal: 'auditor' });
    expect(nobody.records).toEqual([]);
  }, 60_000);

  it('bcss audit search uses the configured index and prints the seal column; --scan reads the partition; a bad key fails closed', async () => {
    const env: NodeJS.ProcessEnv = {
      BCSS_TOPIC_PREFIX: fx.topics.prefix,
      KAFKA_BROKERS: stack.kafka.brokers.join(','),
      ...(stack.kafka.ssl ? { KAFKA_SSL: 'true' } : {}),
      [principalPasswordVariable('auditor')]: stack.credentials?.principals.auditor ?? '',
      BCSS_AUDIT_INDEX_URL: indexUrl(),
      BCSS_AUDIT_INDEX_KEY: indexKey.toString('hex'),
      BCSS_AUDIT_VERIFY_KEY: publicKeyPem(sealKey.publicKey),
    };
    const run = async (options: { scan?: boolean }, extra: NodeJS.ProcessEnv = {}) => {
      const out: string[] = [];
      const err: string[] = [];
      const io: AuditCommandIo = { stdout: { write: (t: string) => out.push(t) }, stderr: { write: (t: string) => err.push(t) }, env: { ...env, ...extra } };
      const code = await runAuditSearchCommand({ niss: ASSISTANT, timeout: '30000', as: 'auditor', ...options }, io);
      return { code, out: out.join(''), err: err.join('') };
    };
    const indexed = await run({});
    expect(indexed.code).toBe(0);
    expect(indexed.out).toMatch(/outcome\s+seal\n/);
    expect(indexed.out).toContain('Found through the audit index');
    const scanned = await run({ scan: true });
    expect(scanned.code).toBe(0);
    expect(scanned.out).toContain('Read partition');
    // The same report rows, the seal column apart.
    const rows = (text: string) => text.split('\n').filter((l) => /^\d{4}-\d{2}-\d{2} /.test(l)).map((l) => l.replace(/\s+SEALED$/, ''));
    expect(rows(indexed.out)).toEqual(rows(scanned.out));
    expect(rows(indexed.out).length).toBeGreaterThan(0);
    const badKey = await run({}, { BCSS_AUDIT_INDEX_KEY: 'not-hex' });
    expect(badKey.code).toBe(1);
    expect(badKey.err).toContain('AUDIT_INDEX_KEY_INVALID');
  }, 60_000);
});

describe('a record whose bytes differ from what its seal signed', () => {
  const original = topicNames(uniqueName('t-aidx'));
  const copy = topicNames(uniqueName('t-aidx-copy'));
  const PERSON = '85073000003';
  let client: KafkaClient;
  let pool: SqlPool;
  let grants: AclGrant[];
  let sealKey: SealKey;
  let changedOffset: string;

  async function write(topics: TopicNames, messages: readonly OutMessage[]): Promise<void> {
    const producer = await client.producer();
    try {
      await retrying(() => producer.send(topics.audit, messages), { attempts: 10, shouldRetry: (e) => e.type === 'UNKNOWN_TOPIC_OR_PARTITION' });
    } finally {
      await producer.disconnect();
    }
  }

  beforeAll(async () => {
    pool = createSqlPool(indexUrl(), { max: 4 });
    client = createKafkaClient(stack.kafka, silentLogger);
    const admin = await client.admin();
    try {
      for (const topics of [original, copy]) await admin.ensureTopics(topicSpecs(topics, institutions, { partitions: 1 }).filter((s) => s.topic.startsWith(topics.audit)));
      grants = [original, copy].flatMap((topics) =>
        accessControlList(topics, institutions).filter((g) => g.principal === userPrincipal(institutions.sealer) || g.principal === userPrincipal('auditor')),
      );
      await provisionAccessControl(admin, grants);
    } finally {
      await admin.disconnect();
    }
    // Plain writes (no transaction markers): the copy's records land at the original's offsets.
    const messages = Array.from({ length: 12 }, (_, n) =>
      auditMessage(codec, original, auditRecord('REPLY_DELIVERED', 'OK', { ticket: `t-${n}`, requester: 'vaph', service: 'dmfa', subjectNiss: n % 3 === 0 ? PERSON : `8507300${String(1000 + n)}` })),
    ).map((r): OutMessage => ({ key: r.key, value: r.value, headers: r.headers, partition: 0 }));
    await write(original, messages);
    const pem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    sealKey = loadSealKey(sealKeySources(loadSettings({ BCSS_AUDIT_SEAL_KEY: pem })));
    const sealer = await startAuditSealer({
      client: createKafkaClient(connectionAs(stack, institutions.sealer), silentLogger),
      codec,
      topics: original,
      key: sealKey,
      logger: silentLogger,
      everyRecords: 4,
      everyMs: 200,
      groupPrefix: original.prefix,
      principal: institutions.sealer,
    });
    try {
      await waitFor(async () => sealer.status(), (s) => s.reduce((sum, p) => sum + p.records, 0) === messages.length, { timeoutMs: 60_000, what: 'the seals' });
    } finally {
      await sealer.stop();
    }
    // The copy: the same records, one of the person's with one bit of its value flipped, and the same seals.
    const records = (await readAll(client, original.audit)).sort((a, b) => Number(a.offset) - Number(b.offset));
    const target = records.filter((m) => m.key?.toString() === PERSON)[1] as InMessage;
    changedOffset = target.offset;
    await write(
      copy,
      records.map((m) => {
        const value = Buffer.from(m.value as Buffer);
        // One character of the ticket changed: the record still decodes, its bytes are not the sealed ones.
        if (m.offset === changedOffset) value[value.indexOf('t-') + 1] = 0x5f;
        return { key: m.key, value, headers: m.headers, partition: 0 };
      }),
    );
    const seals = await readAll(client, original.auditSeals);
    const producer = await client.producer();
    try {
      await retrying(() => producer.send(copy.auditSeals, seals.sort((a, b) => Number(a.offset) - Number(b.offset)).map((m) => ({ key: m.key, value: m.value as Buffer, headers: m.headers }))), {
        attempts: 10,
        shouldRetry: (e) => e.type === 'UNKNOWN_TOPIC_OR_PARTITION',
      });
    } finally {
      await producer.disconnect();
    }
  }, 120_000);

  afterAll(async () => {
    await pool?.query(`DROP SCHEMA IF EXISTS ${quoteIdentifier(schemaForTopic(copy.audit))} CASCADE`).catch(() => undefined);
    await pool?.end();
    const admin = await client.admin();
    await admin.deleteTopics([original.audit, original.auditSeals, copy.audit, copy.auditSeals]).catch(() => undefined);
    await admin.deleteAcls(grants).catch(() => undefined);
    await admin.disconnect();
  });

  it('is reported CHANGED, the person\'s other records SEALED', async () => {
    await indexUntil(pool, copy, 'audit-index', 12);
    const result = await searchAuditIndex({
      client: auditorClient(),
      codec,
      topics: copy,
      pool,
      key: indexKey,
      publicKey: sealKey.publicKey,
      niss: PERSON,
      principal: 'auditor',
    });
    expect(result.records.map((r) => [r.offset, r.seal])).toEqual(
      result.records.map((r) => [r.offset, r.offset === changedOffset ? 'CHANGED' : 'SEALED']),
    );
    expect(result.records.filter((r) => r.seal === 'CHANGED')).toHaveLength(1);
    expect(result.records).toHaveLength(4);
    expect(formatSearchReport(result)).toContain('not covered by a verified seal: CHANGED ×1');
  }, 90_000);
});
