/**
 * The directory's intake stage on its own (directoryIntakeTransform), with the real codec, topic names
 * and deliberations, fed messages as the broker hands them over: which commands go on to the writer
 * (bcss.directory.commands) and which are refused at once, with their acknowledgement and their
 * DIRECTORY_REFUSED audit record.
 *
 * 10/012 §9 ("seules des données … relatives au lien entre l'employeur concerné et le travailleur
 * concerné seront transmises") and 19/104 §2 cover only a named employer–worker link: VAPH (integrating
 * a personal assistant, capacity pab-assistant) and IRISCARE must integrate the person WITH the
 * employer — a line without employer would open every employer of the person. 19/010 demands no
 * employer: ONVA may integrate without one.
 */
import { describe, expect, it } from 'vitest';
import { SCHEMA_DIR } from '../../src/config/project-paths.js';
import { REFUSAL_CODES } from '../../src/domain/refusal-codes.js';
import { directoryIntakeTransform } from '../../src/gateway/directory-pipelines.js';
import type { AuditRecordValue } from '../../src/contract/audit-records.js';
import type { DirectoryAckRecord, DirectoryCommandRecord } from '../../src/contract/directory-records.js';
import { DIRECTORY_RECORD, EXCHANGE_RECORD } from '../../src/contract/names.js';
import { loadAvroCodec } from '../../src/messaging/avro-codec.js';
import type { InMessage } from '../../src/messaging/kafka-client.js';
import type { OutRecord } from '../../src/messaging/transactional-pipeline.js';
import { topicNames } from '../../src/messaging/topics.js';
import { SIMULATED, SIMULATED_EMPLOYERS } from '../../src/sources/synthetic-population.js';
import { realIndex } from './support/gateway-config.js';

const codec = loadAvroCodec(SCHEMA_DIR);
const topics = topicNames('bcss');
const intake = directoryIntakeTransform({ codec, topics, authorizations: realIndex() });
/** As the directory runs on its own (the rebuild tool): no deliberations, no employer check. */
const bareIntake = directoryIntakeTransform({ codec, topics });

const BUDGET_HOLDER = { employerKind: 'ONSS', employerId: SIMULATED_EMPLOYERS.budgetHolder.onssNumber as string } as const;
const CARE_HOME = { employerKind: 'ONSS', employerId: SIMULATED_EMPLOYERS.careHome.onssNumber as string } as const;
const ISSUED_2024 = Date.parse('2024-06-15T09:00:00Z');

let sequence = 0;

function command(fields: Partial<DirectoryCommandRecord> & Pick<DirectoryCommandRecord, 'institution'>): DirectoryCommandRecord {
  return {
    commandId: `intake-test-${++sequence}`,
    action: 'INTEGRATE',
    niss: SIMULATED.assistantOfVaph,
    capacity: 'test-capacity',
    phase: 1,
    periodFrom: '2024-01-01',
    periodTo: null,
    employerKind: null,
    employerId: null,
    issuedAt: ISSUED_2024,
    ...fields,
  };
}

/** The command as the broker delivers it from `topicOf`'s directory topic (by default its own institution's). */
function message(record: DirectoryCommandRecord, topicOf = record.institution, offset = 0): InMessage {
  return {
    topic: topics.directory(topicOf),
    partition: 0,
    offset: String(offset),
    key: Buffer.from(record.niss),
    value: codec.encode(DIRECTORY_RECORD.command, record),
    headers: {},
    timestamp: String(record.issuedAt),
  };
}

async function run(transform: typeof intake, ...messages: InMessage[]): Promise<OutRecord[]> {
  return (await transform(messages)).records;
}

const ackOf = (r: OutRecord) => codec.decode<DirectoryAckRecord>(DIRECTORY_RECORD.ack, r.value as Buffer);
const auditOf = (r: OutRecord) => codec.decode<AuditRecordValue>(EXCHANGE_RECORD.audit, r.value as Buffer);

/** Forwarded to the writer: the command's own bytes, keyed by the NISS, its institution in a header. */
function expectForwarded(records: readonly OutRecord[], sent: InMessage, record: DirectoryCommandRecord): void {
  expect(records).toHaveLength(1);
  const [out] = records as [OutRecord];
  expect(out.topic).toBe(topics.directoryCommands);
  expect(out.key).toBe(record.niss);
  expect((out.value as Buffer).equals(sent.value as Buffer)).toBe(true);
  expect(out.headers).toEqual({ institution: record.institution });
}

/** Refused at intake: one acknowledgement to the institution and one DIRECTORY_REFUSED audit record, nothing forwarded. */
function expectRefused(records: readonly OutRecord[], record: DirectoryCommandRecord, status: string): { ack: DirectoryAckRecord; audit: AuditRecordValue } {
  expect(records.map((r) => r.topic)).toEqual([topics.replies(record.institution), topics.audit]);
  const [ackRecord, auditRecord] = records as [OutRecord, OutRecord];
  expect(ackRecord.headers).toEqual({ type: 'directory-ack' });
  const ack = ackOf(ackRecord);
  expect(ack).toMatchObject({ commandId: record.commandId, status, niss: null, linesAfter: 0 });
  const audit = auditOf(auditRecord);
  expect(audit).toMatchObject({
    eventType: 'DIRECTORY_REFUSED',
    outcome: status,
    ticket: record.commandId,
    requester: record.institution,
    service: 'directory',
    subjectNiss: record.niss,
    effectivePeriods: [{ from: record.periodFrom, to: record.periodTo }],
  });
  return { ack, audit };
}

describe('directory intake: an integration without employer where the deliberation names the employer–worker link', () => {
  it('10/012 §9: VAPH integrating a personal assistant without employer is refused EMPLOYER_LINK_REQUIRED, acknowledged and audited', async () => {
    const record = command({ institution: 'vaph', capacity: 'pab-assistant' });
    const { ack, audit } = expectRefused(await run(intake, message(record)), record, 'EMPLOYER_LINK_REQUIRED');
    expect(ack.bcssCode).toBe(REFUSAL_CODES.EMPLOYER_LINK_REQUIRED.bcssCode);
    // The refusal names the deliberation and the grant's paragraphs, and what to do.
    expect(ack.message).toBe(
      'deliberation 10/012 (§7, §9) covers only a named employer–worker link: integrate the person with the employer',
    );
    expect(audit).toMatchObject({ purpose: 'INTEGRATE pab-assistant', employer: null, intermediary: null });
  });

  it('10/012 §9: VAPH integrating the assistant WITH the budget holder goes on to the writer', async () => {
    const record = command({ institution: 'vaph', capacity: 'pab-assistant', ...BUDGET_HOLDER });
    const sent = message(record);
    expectForwarded(await run(intake, sent), sent, record);
  });

  it('19/104 §2: IRISCARE without employer is refused, in any capacity; with the care home it goes on', async () => {
    for (const capacity of ['care-worker', 'test-capacity']) {
      const record = command({ institution: 'iriscare', niss: SIMULATED.careWorkerIriscare, capacity });
      const { ack, audit } = expectRefused(await run(intake, message(record)), record, 'EMPLOYER_LINK_REQUIRED');
      expect(ack.message, capacity).toMatch(/^deliberation 19\/104 \(§9\) covers only a named employer–worker link/);
      expect(audit.purpose).toBe(`INTEGRATE ${capacity}`);
    }
    const bound = command({ institution: 'iriscare', niss: SIMULATED.careWorkerIriscare, capacity: 'care-worker', ...CARE_HOME });
    const sent = message(bound);
    expectForwarded(await run(intake, sent), sent, bound);
  });

  it('the grants in force on the day the command is issued decide: 19/104 v1 (DmfA, §7, §8) in 2020; nothing before 2019-07-02', async () => {
    const in2020 = command({ institution: 'iriscare', niss: SIMULATED.careWorkerIriscare, issuedAt: Date.parse('2020-06-01T09:00:00Z') });
    const { ack } = expectRefused(await run(intake, message(in2020)), in2020, 'EMPLOYER_LINK_REQUIRED');
    expect(ack.message).toMatch(/^deliberation 19\/104 \(§7, §8\)/);
    const before = command({ institution: 'iriscare', niss: SIMULATED.careWorkerIriscare, issuedAt: Date.parse('2019-07-01T09:00:00Z') });
    const sent = message(before);
    expectForwarded(await run(intake, sent), sent, before);
  });

  it('19/010: ONVA need not name an employer', async () => {
    const record = command({ institution: 'onva', niss: SIMULATED.deceased, capacity: 'inspection' });
    const sent = message(record);
    expectForwarded(await run(intake, sent), sent, record);
  });

  it('VAPH in a capacity 10/012 does not demand is not refused (such a line never counts for 10/012: NOT_INTEGRATED_IN_CAPACITY)', async () => {
    const record = command({ institution: 'vaph', capacity: '12/10' });
    const sent = message(record);
    expectForwarded(await run(intake, sent), sent, record);
  });

  it('a deintegration without employer is not refused: it closes lines, it opens none', async () => {
    const record = command({ institution: 'vaph', action: 'DEINTEGRATE', capacity: null, phase: null, periodFrom: '2024-07-01' });
    const sent = message(record);
    expectForwarded(await run(intake, sent), sent, record);
  });

  it('the other checks come first: a command on another institution\'s topic is SENDER_MISMATCH, audited under the topic\'s owner', async () => {
    const record = command({ institution: 'vaph', capacity: 'pab-assistant' });
    const records = await run(intake, message(record, 'onva'));
    expect(records.map((r) => r.topic)).toEqual([topics.replies('onva'), topics.audit]);
    expect(ackOf(records[0] as OutRecord)).toMatchObject({ commandId: record.commandId, status: 'SENDER_MISMATCH' });
    expect(auditOf(records[1] as OutRecord)).toMatchObject({ eventType: 'DIRECTORY_REFUSED', outcome: 'SENDER_MISMATCH', requester: 'onva' });
  });

  it('a batch: each command decided on its own, in order', async () => {
    const refused = command({ institution: 'vaph', capacity: 'pab-assistant' });
    const accepted = command({ institution: 'vaph', capacity: 'pab-assistant', ...BUDGET_HOLDER });
    const onva = command({ institution: 'onva', niss: SIMULATED.deceased, capacity: 'inspection' });
    const records = await run(intake, message(refused, 'vaph', 0), message(accepted, 'vaph', 1), message(onva, 'onva', 0));
    expect(records.map((r) => r.topic)).toEqual([topics.replies('vaph'), topics.audit, topics.directoryCommands, topics.directoryCommands]);
    expect(ackOf(records[0] as OutRecord).status).toBe('EMPLOYER_LINK_REQUIRED');
    expect(records.slice(2).map((r) => r.headers?.institution)).toEqual(['vaph', 'onva']);
  });

  it('without the deliberations (the directory on its own), no employer is demanded', async () => {
    const record = command({ institution: 'vaph', capacity: 'pab-assistant' });
    const sent = message(record);
    expectForwarded(await run(bareIntake, sent), sent, record);
  });
});
