/**
 * `bcss audit export` on a whole switch of its own: real exchanges through the gateway for a person and
 * for others, the real sealer as its own principal, the export as an auditor. The bundle verifies with
 * the verifier written from docs/audit-format.md alone, holds exactly the person's records and no other
 * person's NISS; one byte changed — in a record's value, in a digest, in a seal's signature — is reported,
 * by that verifier and by the project's own check alike. A record written after the last seal is in the
 * bundle, marked NOT_YET_SEALED.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportAuditBundle, verifyAuditBundle, type AuditBundle } from '../../../src/audit/audit-export.js';
import { keyIdOf } from '../../../src/audit/seal-chain.js';
import { publicKeyPem, type SealKey } from '../../../src/audit/seal-key.js';
import { startAuditSealer, type RunningAuditSealer } from '../../../src/audit/sealer.js';
import { verifyAudit } from '../../../src/audit/verify.js';
import { runAuditExportCommand } from '../../../src/cli/audit-export-command.js';
import type { AuditCommandIo } from '../../../src/cli/audit-query-command.js';
import { DEFAULT_CONFIG_DIR } from '../../../src/config/project-paths.js';
import { loadInstitutions } from '../../../src/config/load-institutions.js';
import type { AuditRecordValue } from '../../../src/contract/audit-records.js';
import { formatNiss } from '../../../src/domain/niss.js';
import { accessControlList, provisionAccessControl } from '../../../src/gateway/access-control.js';
import { silentLogger } from '../../../src/logging/logger.js';
import { createKafkaClient, type AclGrant, type KafkaClient } from '../../../src/messaging/kafka-client.js';
import { principalPasswordVariable } from '../../../src/stack/principal-connection.js';
import { SIMULATED, SIMULATED_EMPLOYERS } from '../../../src/sources/synthetic-population.js';
import { createExchangeFixture, type ExchangeFixture } from '../../support/exchange-fixture.js';
import { verifyBundleIndependently } from '../../support/independent-audit-verifier.js';
import { waitFor } from '../../support/kafka-helpers.js';
import { connectionAs, testStack } from '../../support/stack-context.js';

const E = SIMULATED_EMPLOYERS;
const BUDGET_HOLDER = { kind: 'ONSS' as const, id: E.budgetHolder.onssNumber, category: null };
const CARE_HOME = { kind: 'ONSS' as const, id: E.careHome.onssNumber, category: null };
const PERSON = SIMULATED.assistantOfVaph;
const OTHERS = [SIMULATED.careWorkerIriscare, SIMULATED.deceased];

const identity = (r: { eventType: string; ticket: string | null }) => `${r.eventType} ${r.ticket}`;
const codes = (problems: ReadonlyArray<{ code: string }>) => [...new Set(problems.map((p) => p.code))].sort();

describe('audit export: a person\'s records with their proof, verifiable without the project', () => {
  const stack = testStack();
  const institutions = loadInstitutions(DEFAULT_CONFIG_DIR);
  const privateKey = generateKeyPairSync('ed25519').privateKey;
  const key: SealKey = { privateKey, publicKey: privateKey, keyId: keyIdOf(privateKey), source: 'test' };
  let fx: ExchangeFixture;
  let grants: AclGrant[];
  let auditor: KafkaClient;
  let sealer: RunningAuditSealer | undefined;
  let trail: AuditRecordValue[];
  let bundle: AuditBundle;

  const exportFor = (niss: string) =>
    exportAuditBundle({ client: auditor, codec: fx.codec, topics: fx.topics, niss, publicKey: key.publicKey, principal: 'auditor', timeoutMs: 30_000 });
  /** Both verifiers on one bundle: the codes each reports, which must be the same. */
  const bothVerifiers = (b: AuditBundle) => {
    const independent = verifyBundleIndependently(JSON.parse(JSON.stringify(b)), key.keyId);
    const own = verifyAuditBundle(b, { codec: fx.codec, expectedKeyId: key.keyId });
    expect(codes(own)).toEqual(codes(independent));
    return codes(independent);
  };
  /** The bundle as an auditor receives it (JSON text), changed by `change`. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- edited as the JSON text it is
  const tampered = (change: (copy: any) => void): AuditBundle => {
    const copy = JSON.parse(JSON.stringify(bundle));
    change(copy);
    return copy;
  };
  const flipHex = (text: string, at = 0) => `${text.slice(0, at)}${((parseInt(text[at] as string, 16) ^ 1) & 0xf).toString(16)}${text.slice(at + 1)}`;

  beforeAll(async () => {
    fx = await createExchangeFixture(stack, 2);
    grants = accessControlList(fx.topics, institutions);
    await provisionAccessControl(fx.admin, grants);
    auditor = createKafkaClient({ ...connectionAs(stack, 'auditor'), clientId: 'it-auditor' }, silentLogger);
    await fx.startGateway();
    await fx.startSimulators();
    await fx.integrate([
      { institution: 'vaph', niss: PERSON, capacity: 'pab-assistant', phase: 1, from: '2024-01-01', to: null, employer: { kind: 'ONSS', id: E.budgetHolder.onssNumber } },
      { institution: 'iriscare', niss: OTHERS[0] as string, capacity: 'care-worker', phase: 1, from: '2023-01-01', to: null, employer: { kind: 'ONSS', id: E.careHome.onssNumber } },
    ]);
    const asked = await Promise.all([
      fx.ask('magda', { onBehalfOf: 'vaph', service: 'dmfa', subjectNiss: PERSON, employer: BUDGET_HOLDER, period: { from: '2024-01-01', to: '2024-06-30' } }),
      fx.ask('iriscare', { service: 'dmfa', subjectNiss: OTHERS[0], employer: CARE_HOME, period: { from: '2024-01-01', to: '2024-06-30' } }),
      fx.ask('magda', { onBehalfOf: 'vaph', service: 'dimona', subjectNiss: PERSON, employer: BUDGET_HOLDER, period: { from: '2024-01-01', to: '2024-12-31' } }),
      fx.ask('iriscare', { service: 'dmfa', subjectNiss: PERSON, employer: CARE_HOME, period: { from: '2024-01-01', to: '2024-06-30' } }),
      fx.ask('onva', { service: 'identification', subjectNiss: OTHERS[1], period: { from: '2024-01-01', to: '2024-12-31' } }),
    ]);
    expect(asked.map((r) => r.status)).toEqual(['OK', 'OK', 'OK', 'NOT_INTEGRATED', 'NOT_INTEGRATED']);
    trail = await fx.readAudit();
    // Started once the traffic is written: it reads each partition in one go, so that a seal covers
    // several records and a record has digests of others after it.
    sealer = await startAuditSealer({
      client: createKafkaClient(connectionAs(stack, institutions.sealer), silentLogger),
      codec: fx.codec,
      topics: fx.topics,
      key,
      logger: silentLogger,
      groupPrefix: fx.topics.prefix,
      principal: institutions.sealer,
      everyMs: 1_000,
    });
    bundle = await waitFor(
      () => exportFor(PERSON),
      (b) => b.records.length > 0 && b.records.every((r) => r.status === 'SEALED'),
      { what: 'a seal to cover the person\'s records', timeoutMs: 60_000 },
    );
  }, 240_000);

  afterAll(async () => {
    await sealer?.stop().catch(() => undefined);
    await fx?.admin.deleteAcls(grants ?? []).catch(() => undefined);
    await fx?.close();
  }, 60_000);

  it('verifies with the independent verifier and with the project\'s own check; the trail itself is intact', async () => {
    expect(bundle.format).toBe('bcss-audit-bundle-v1');
    expect(verifyBundleIndependently(JSON.parse(JSON.stringify(bundle)), key.keyId)).toEqual([]);
    expect(verifyAuditBundle(bundle, { codec: fx.codec, expectedKeyId: key.keyId })).toEqual([]);
    expect(bundle.publicKey.keyId).toBe(key.keyId);
    expect(bundle.seals.length).toBeGreaterThan(0);
    const report = await verifyAudit({
      client: auditor,
      codec: fx.codec,
      topic: fx.topics.audit,
      sealsTopic: fx.topics.auditSeals,
      publicKey: key.publicKey,
      groupPrefix: `${fx.topics.prefix}.auditor.`,
    });
    expect(report.ok).toBe(true);
  });

  it('holds exactly the person\'s records, and no other person\'s NISS anywhere in its text', () => {
    const expected = trail.filter((r) => r.subjectNiss === PERSON);
    // Two relayed exchanges (forwarded, delivered), one refusal, one integration.
    expect(expected.length).toBe(6);
    const decoded = bundle.records.map((r) => r.informative.decoded as AuditRecordValue);
    expect(decoded.map(identity).sort()).toEqual(expected.map(identity).sort());
    expect(decoded.every((r) => r.subjectNiss === PERSON)).toBe(true);
    const text = JSON.stringify(bundle);
    for (const other of OTHERS) {
      expect(trail.some((r) => r.subjectNiss === other)).toBe(true);
      expect(text).not.toContain(other);
      expect(text).not.toContain(Buffer.from(other).toString('base64'));
    }
    // The others' records are there as digests only: a seal covers more records than the person has.
    const covered = bundle.seals.filter((s) => bundle.records.some((r) => r.chain?.seal === s.fields.sequence));
    expect(covered.reduce((n, s) => n + s.fields.digests.length, 0)).toBeGreaterThanOrEqual(bundle.records.length);
  });

  it('one byte changed in a record\'s value: CHANGED', () => {
    const bad = tampered((b) => {
      const value = Buffer.from(b.records[0].value, 'base64');
      value.writeUInt8(value.readUInt8(value.length - 1) ^ 0x01, value.length - 1);
      b.records[0].value = value.toString('base64');
    });
    expect(bothVerifiers(bad)).toContain('CHANGED');
  });

  it('one byte changed in a digest of the chain material: BAD_CHAIN', () => {
    const at = bundle.records.findIndex((r) => (r.chain?.following.length ?? 0) > 0);
    expect(at).toBeGreaterThanOrEqual(0);
    const bad = tampered((b) => {
      b.records[at].chain.following[0] = flipHex(b.records[at].chain.following[0]);
    });
    expect(bothVerifiers(bad)).toEqual(['BAD_CHAIN']);
  });

  it('one byte changed in a digest a seal signed: BAD_SIGNATURE, and the seal no longer agrees with its bytes', () => {
    const bad = tampered((b) => {
      b.seals[0].fields.digests[0] = flipHex(b.seals[0].fields.digests[0]);
    });
    const found = bothVerifiers(bad);
    expect(found).toContain('BAD_SIGNATURE');
    expect(found).toContain('SEAL_MISMATCH');
  });

  it('one byte changed in a seal\'s signature: BAD_SIGNATURE', () => {
    const bad = tampered((b) => {
      b.seals[0].fields.signature = flipHex(b.seals[0].fields.signature, 10);
    });
    expect(bothVerifiers(bad)).toEqual(['BAD_SIGNATURE', 'SEAL_MISMATCH']);
    // The raw seal bytes changed alike (fields left as they were): the same signature failure.
    const raw = tampered((b) => {
      const value = Buffer.from(b.seals[0].value, 'base64');
      value.writeUInt8(value.readUInt8(value.length - 1) ^ 0x01, value.length - 1);
      b.seals[0].value = value.toString('base64');
    });
    expect(bothVerifiers(raw)).toEqual(['SEAL_MISMATCH']);
  });

  it('bcss audit export writes the bundle (0600) and exits 0; a record after the last seal is in it, NOT_YET_SEALED', async () => {
    await sealer?.stop();
    sealer = undefined;
    const reply = await fx.ask('iriscare', { service: 'dmfa', subjectNiss: PERSON, employer: CARE_HOME, period: { from: '2024-01-01', to: '2024-03-31' } });
    expect(reply.status).toBe('NOT_INTEGRATED');
    const dir = mkdtempSync(join(tmpdir(), 'bcss-export-'));
    try {
      const out = join(dir, 'bundle.json');
      const env: NodeJS.ProcessEnv = {
        BCSS_TOPIC_PREFIX: fx.topics.prefix,
        KAFKA_BROKERS: stack.kafka.brokers.join(','),
        ...(stack.kafka.ssl ? { KAFKA_SSL: 'true' } : {}),
        [principalPasswordVariable('auditor')]: stack.credentials?.principals.auditor ?? '',
        [principalPasswordVariable('vaph')]: stack.credentials?.principals.vaph ?? '',
        BCSS_AUDIT_VERIFY_KEY: publicKeyPem(key.publicKey),
      };
      const run = async (as: string) => {
        let stderr = '';
        let stdout = '';
        const io: AuditCommandIo = { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) }, env };
        const code = await runAuditExportCommand({ niss: formatNiss(PERSON) as string, out, as, timeout: '30000' }, io);
        return { code, stderr, stdout };
      };
      const done = await run('auditor');
      expect(done.stderr).toContain('verified');
      expect(done.code).toBe(0);
      expect(statSync(out).mode & 0o777).toBe(0o600);
      const written = JSON.parse(readFileSync(out, 'utf8')) as AuditBundle;
      expect(written.records.length).toBe(bundle.records.length + 1);
      const last = written.records[written.records.length - 1];
      expect(last?.status).toBe('NOT_YET_SEALED');
      expect(last?.chain).toBeNull();
      expect(done.stderr).toContain(`${last?.partition}:${last?.offset} NOT_YET_SEALED`);
      expect(verifyBundleIndependently(written, key.keyId)).toEqual([]);
      // Only auditors read the trail: an institution gets no bundle.
      rmSync(out);
      const denied = await run('vaph');
      expect(denied.code).toBe(2);
      expect(denied.stderr).toMatch(/AUTHORIZATION_FAILED|refused vaph/);
      expect(() => statSync(out)).toThrow();
      const badNiss = await runAuditExportCommand({ niss: '12345678901', as: 'auditor', timeout: '30000' }, { stdout: { write: () => true }, stderr: { write: () => true }, env });
      expect(badNiss).toBe(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
