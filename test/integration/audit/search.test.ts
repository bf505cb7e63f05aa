/**
 * `bcss audit search` and `bcss audit tail` on a whole switch of their own (four audit partitions, the
 * switch's ACLs on its prefix): a person's records are exactly theirs, read from their one partition;
 * the filters; only auditor principals may search; the tail shows what is written, filtered and masked.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatTailLine, maskNiss } from '../../../src/audit/audit-format.js';
import { AuditSearchTimeoutError, searchAudit, type AuditEntry } from '../../../src/audit/audit-search.js';
import { tailAudit } from '../../../src/audit/audit-tail.js';
import { runAuditSearchCommand, type AuditCommandIo } from '../../../src/cli/audit-query-command.js';
import { DEFAULT_CONFIG_DIR } from '../../../src/config/project-paths.js';
import { loadInstitutions } from '../../../src/config/load-institutions.js';
import { formatNiss } from '../../../src/domain/niss.js';
import type { AuditRecordValue } from '../../../src/contract/audit-records.js';
import { accessControlList, provisionAccessControl } from '../../../src/gateway/access-control.js';
import { silentLogger } from '../../../src/logging/logger.js';
import { createKafkaClient, MessagingError, type AclGrant, type KafkaClient } from '../../../src/messaging/kafka-client.js';
import { principalPasswordVariable } from '../../../src/stack/principal-connection.js';
import { SIMULATED, SIMULATED_EMPLOYERS } from '../../../src/sources/synthetic-population.js';
import { createExchangeFixture, type ExchangeFixture } from '../../support/exchange-fixture.js';
import { waitFor } from '../../support/kafka-helpers.js';
import { connectionAs, testStack } from '../../support/stack-context.js';

const E = SIMULATED_EMPLOYERS;
const BUDGET_HOLDER = { kind: 'ONSS' as const, id: E.budgetHolder.onssNumber, category: null };
const CARE_HOME = { kind: 'ONSS' as const, id: E.careHome.onssNumber, category: null };
const ASSISTANT = SIMULATED.assistantOfVaph;
const CARE_WORKER = SIMULATED.careWorkerIriscare;

/** What identifies a record in a comparison: one event of one exchange (or directory command). */
const identity = (r: { event?: string; eventType?: string; ticket: string | null }) => `${r.event ?? r.eventType} ${r.ticket}`;

describe('audit search: one person\'s records, from their partition only', () => {
  const stack = testStack();
  const institutions = loadInstitutions(DEFAULT_CONFIG_DIR);
  let fx: ExchangeFixture;
  let grants: AclGrant[];
  let auditor: KafkaClient;
  let trail: AuditRecordValue[];

  const as = (principal: string) => createKafkaClient({ ...connectionAs(stack, principal), clientId: `it-${principal}` }, silentLogger);
  const search = (niss: string, fields: { from?: number; to?: number; requester?: string; client?: KafkaClient; principal?: string; timeoutMs?: number } = {}) =>
    searchAudit({ client: fields.client ?? auditor, codec: fx.codec, topics: fx.topics, niss, principal: fields.principal ?? 'auditor', ...fields });

  beforeAll(async () => {
    fx = await createExchangeFixture(stack, 4);
    grants = accessControlList(fx.topics, institutions);
    await provisionAccessControl(fx.admin, grants);
    auditor = as('auditor');
    // The broker applies new ACLs a moment after accepting them.
    await waitFor(
      async () => {
        const admin = await auditor.admin();
        try {
          return (await admin.topicOffsets(fx.topics.audit)).length;
        } finally {
          await admin.disconnect();
        }
      },
      (partitions) => partitions === 4,
      { what: 'the auditor to see the audit topic' },
    );
    await fx.startGateway();
    await fx.startSimulators();
    await fx.integrate([
      { institution: 'vaph', niss: ASSISTANT, capacity: 'pab-assistant', phase: 1, from: '2024-01-01', to: null, employer: { kind: 'ONSS', id: E.budgetHolder.onssNumber } },
      { institution: 'iriscare', niss: CARE_WORKER, capacity: 'care-worker', phase: 1, from: '2023-01-01', to: null, employer: { kind: 'ONSS', id: E.careHome.onssNumber } },
    ]);
    const asked = await Promise.all([
      fx.ask('magda', { onBehalfOf: 'vaph', service: 'dmfa', subjectNiss: ASSISTANT, employer: BUDGET_HOLDER, period: { from: '2024-01-01', to: '2024-06-30' } }),
      fx.ask('magda', { onBehalfOf: 'vaph', service: 'dimona', subjectNiss: ASSISTANT, employer: BUDGET_HOLDER, period: { from: '2024-01-01', to: '2024-12-31' } }),
      // IRISCARE never integrated the assistant: refused, and recorded about him all the same.
      fx.ask('iriscare', { service: 'dmfa', subjectNiss: ASSISTANT, employer: CARE_HOME, period: { from: '2024-01-01', to: '2024-06-30' } }),
      fx.ask('iriscare', { service: 'dmfa', subjectNiss: CARE_WORKER, employer: CARE_HOME, period: { from: '2024-01-01', to: '2024-06-30' } }),
      fx.ask('magda', { onBehalfOf: 'vaph', service: 'dmfa', subjectNiss: CARE_WORKER, employer: BUDGET_HOLDER, period: { from: '2024-01-01', to: '2024-06-30' } }),
      fx.ask('onva', { service: 'identification', subjectNiss: SIMULATED.deceased, period: { from: '2024-01-01', to: '2024-12-31' } }),
    ]);
    expect(asked.map((r) => r.status)).toEqual(['OK', 'OK', 'NOT_INTEGRATED', 'OK', 'NOT_INTEGRATED', 'NOT_INTEGRATED']);
    // Each reply is committed with its audit record: the whole trail of these exchanges is readable.
    trail = await fx.readAudit();
  }, 180_000);

  afterAll(async () => {
    await fx?.admin.deleteAcls(grants ?? []).catch(() => undefined);
    await fx?.close();
  }, 60_000);

  it('finds exactly the person\'s records — each exchange\'s, and the directory\'s — and nobody else\'s', async () => {
    const result = await search(ASSISTANT);
    const expected = trail.filter((r) => r.subjectNiss === ASSISTANT);
    // Two relayed exchanges (forwarded, delivered), one refusal, one integration.
    expect(expected.length).toBe(6);
    expect(result.records.map(identity).sort()).toEqual(expected.map(identity).sort());
    expect(result.records.every((r) => r.subjectNiss === ASSISTANT)).toBe(true);
    expect(result.niss).toBe(ASSISTANT);
    expect(result.undecodable).toEqual([]);
    // Oldest first.
    expect(result.records.map((r) => r.at)).toEqual([...result.records.map((r) => r.at)].sort((a, b) => a - b));
  });

  it('reads only the partition the key is in, and says which', async () => {
    const result = await search(ASSISTANT);
    expect(result.partitions).toBe(4);
    expect(result.records.every((r) => r.partition === result.partition)).toBe(true);
    const total = trail.length;
    expect(result.scanned).toBeLessThanOrEqual(total);
    const other = await search(CARE_WORKER);
    expect(other.records.length).toBe(trail.filter((r) => r.subjectNiss === CARE_WORKER).length);
    expect(other.records.every((r) => r.partition === other.partition)).toBe(true);
  });

  it('names who asked, through whom, for which purpose, under which deliberation', async () => {
    const result = await search(ASSISTANT);
    const delivered = result.records.filter((r) => r.event === 'REPLY_DELIVERED');
    expect(delivered.map((r) => r.service).sort()).toEqual(['dimona', 'dmfa']);
    for (const record of delivered) {
      expect(record).toMatchObject({
        requester: 'vaph',
        intermediary: 'magda',
        source: 'onss',
        deliberation: '10/012',
        purpose: 'vaph-personal-assistance-budget',
        outcome: 'OK',
      });
      expect(record.deliberationVersion).not.toBeNull();
      expect(record.deliveredBlocks.length).toBeGreaterThan(0);
      expect(record.effectivePeriods.length).toBeGreaterThan(0);
    }
    const refused = result.records.find((r) => r.event === 'REQUEST_REFUSED') as AuditEntry;
    expect(refused).toMatchObject({ requester: 'iriscare', intermediary: null, outcome: 'NOT_INTEGRATED', bcssCode: '-300020' });
  });

  it('--requester keeps what that institution asked, or relayed', async () => {
    const iriscare = await search(ASSISTANT, { requester: 'iriscare' });
    expect(iriscare.records.map((r) => `${r.event} ${r.outcome}`)).toEqual(['REQUEST_REFUSED NOT_INTEGRATED']);
    const magda = await search(ASSISTANT, { requester: 'magda' });
    expect(magda.records.map((r) => r.event).sort()).toEqual(['REPLY_DELIVERED', 'REPLY_DELIVERED', 'REQUEST_FORWARDED', 'REQUEST_FORWARDED']);
    // VAPH asked through MAGDA, and integrated the person itself.
    const vaph = await search(ASSISTANT, { requester: 'vaph' });
    expect(vaph.records.map((r) => r.event).sort()).toEqual([
      'DIRECTORY_CHANGED',
      'REPLY_DELIVERED',
      'REPLY_DELIVERED',
      'REQUEST_FORWARDED',
      'REQUEST_FORWARDED',
    ]);
    expect((await search(ASSISTANT, { requester: 'onva' })).records).toEqual([]);
  });

  it('--from and --to bound the time, both included', async () => {
    const all = (await search(ASSISTANT)).records;
    const first = all[0] as AuditEntry;
    const last = all[all.length - 1] as AuditEntry;
    expect((await search(ASSISTANT, { to: first.at - 1 })).records).toEqual([]);
    expect((await search(ASSISTANT, { from: last.at + 1 })).records).toEqual([]);
    const fromLast = await search(ASSISTANT, { from: last.at });
    expect(fromLast.records.map(identity)).toEqual(all.filter((r) => r.at >= last.at).map(identity));
    expect((await search(ASSISTANT, { from: first.at, to: last.at })).records.map(identity)).toEqual(all.map(identity));
  });

  it('finds a NISS however it is written', async () => {
    const written = formatNiss(ASSISTANT) as string;
    expect((await search(written)).records.map(identity)).toEqual((await search(ASSISTANT)).records.map(identity));
  });

  it('the DPO may search too; VAPH may not (TOPIC_AUTHORIZATION_FAILED)', async () => {
    const dpo = await search(ASSISTANT, { client: as('dpo'), principal: 'dpo' });
    expect(dpo.records.length).toBe(6);
    const denied = await search(ASSISTANT, { client: as('vaph'), principal: 'vaph' }).then(
      () => null,
      (error: unknown) => error,
    );
    expect(denied).toBeInstanceOf(MessagingError);
    expect(denied).toMatchObject({ type: 'TOPIC_AUTHORIZATION_FAILED', accessDenied: true });
  });

  it('fails with a clear error, and no partial report, when its time bound is hit', async () => {
    const failure = await search(ASSISTANT, { timeoutMs: 1 }).then(
      () => null,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(AuditSearchTimeoutError);
    expect((failure as Error).message).toMatch(/did not reach the end .* within 1 ms.*incomplete/);
  });

  it('bcss audit search prints the report for the person, exit 0; as vaph, the refusal, exit 1', async () => {
    const env: NodeJS.ProcessEnv = {
      BCSS_TOPIC_PREFIX: fx.topics.prefix,
      KAFKA_BROKERS: stack.kafka.brokers.join(','),
      ...(stack.kafka.ssl ? { KAFKA_SSL: 'true' } : {}),
    };
    for (const principal of ['auditor', 'vaph']) {
      env[principalPasswordVariable(principal)] = stack.credentials?.principals[principal] ?? '';
    }
    const run = async (options: { as: string; requester?: string; json?: boolean }) => {
      const out: string[] = [];
      const err: string[] = [];
      const io: AuditCommandIo = { stdout: { write: (s: string) => out.push(s) }, stderr: { write: (s: string) => err.push(s) }, env };
      const code = await runAuditSearchCommand({ niss: formatNiss(ASSISTANT) as string, timeout: '30000', ...options }, io);
      return { code, out: out.join(''), err: err.join('') };
    };
    const table = await run({ as: 'auditor' });
    expect(table.code).toBe(0);
    expect(table.out).toContain(`Audit trail of NISS ${formatNiss(ASSISTANT)}`);
    expect(table.out.split('\n').filter((l) => / data delivered .* vaph via magda .* 10\/012 /.test(l))).toHaveLength(2);
    expect(table.out).toContain('6 records:');
    const json = await run({ as: 'auditor', requester: 'iriscare', json: true });
    expect(json.code).toBe(0);
    expect(JSON.parse(json.out)).toMatchObject({ niss: ASSISTANT, matched: 1, records: [{ event: 'REQUEST_REFUSED', requester: 'iriscare' }] });
    const denied = await run({ as: 'vaph' });
    expect(denied.code).toBe(1);
    expect(denied.out).toBe('');
    expect(denied.err).toContain('TOPIC_AUTHORIZATION_FAILED');
  });

  it('the tail shows the records written after it started, filtered, the NISS never in full', async () => {
    const seen: AuditEntry[] = [];
    const tail = await tailAudit({
      client: auditor,
      codec: fx.codec,
      topics: fx.topics,
      principal: 'auditor',
      filter: { requester: 'iriscare', event: 'REPLY_DELIVERED' },
      onRecord: (entry) => seen.push(entry),
    });
    try {
      const [own, relayed] = await Promise.all([
        fx.ask('iriscare', { service: 'dimona', subjectNiss: CARE_WORKER, employer: CARE_HOME, period: { from: '2024-01-01', to: '2024-06-30' } }),
        fx.ask('magda', { onBehalfOf: 'vaph', service: 'dimona', subjectNiss: ASSISTANT, employer: BUDGET_HOLDER, period: { from: '2024-01-01', to: '2024-06-30' } }),
      ]);
      expect([own.status, relayed.status]).toEqual(['OK', 'OK']);
      await waitFor(() => seen.length, (n) => n >= 1, { what: 'the tail to show IRISCARE\'s delivery' });
      // The relayed exchange's records were committed with its reply, before or with IRISCARE's: any
      // that passed the filter would be here by now. A fixed wait: the tail's consumer (a group of a
      // random name inside tailAudit) shows nobody how far it has read, so settled() cannot wait for it.
      await new Promise((r) => setTimeout(r, 500));
      expect(seen.map((e) => `${e.event} ${e.requester} ${e.ticket}`)).toEqual([`REPLY_DELIVERED iriscare ${own.ticket}`]);
      const line = formatTailLine(seen[0] as AuditEntry);
      expect(line).toContain(`NISS ${maskNiss(CARE_WORKER)}`);
      expect(line).not.toContain(CARE_WORKER);
    } finally {
      await tail.stop();
    }
  });
});
