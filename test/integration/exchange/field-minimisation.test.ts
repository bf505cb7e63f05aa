/**
 * Minimisation to the FIELD, end to end: what each deliberation grants field by field (a field it does
 * not name reaches the requester as null, key fields included, and is named — never its value — in the
 * reply's and the audit record's `removedFields`), the rows it covers (19/010 §36: manual workers and
 * artists; 22/046 §1-2: adults at the primary incapacity, invalidity from 2020), the keys it demands
 * (19/104: the employer; 10/012 §9: the employer category for interim work) and its period floor
 * (22/046 §2).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fieldsOf } from '../../../src/domain/catalogue.js';
import { versionInForce, type FieldGrant, type RowCondition, type ServiceGrant } from '../../../src/domain/deliberation.js';
import { REFUSAL_CODES } from '../../../src/domain/refusal-codes.js';
import type { AuditRecordValue } from '../../../src/contract/audit-records.js';
import type { ReplyRecord, RequestRecord } from '../../../src/contract/exchange-records.js';
import type { MessageProducer } from '../../../src/messaging/kafka-client.js';
import { INVALIDITY_SERVICE } from '../../../src/sources/invalidity-batch.js';
import { answerSourceRequest } from '../../../src/sources/source-simulator.js';
import { createSyntheticPopulation, makeNiss, SIMULATED, SIMULATED_EMPLOYERS } from '../../../src/sources/synthetic-population.js';
import { waitFor } from '../../support/kafka-helpers.js';
import {
  answerAsSource,
  decodePayload,
  expectAudited,
  expectEveryExchangeClosedOnce,
  expectRefusal,
  openTicket,
  period,
  startSwitch,
  utcDay,
  type ExpectedAudit,
  type RunningSwitch,
} from './exchange-scenario.js';

const E = SIMULATED_EMPLOYERS;
const onss = (id: string | null) => ({ kind: 'ONSS' as const, id: id as string });

const VAPH_PURPOSE = 'vaph-personal-assistance-budget';
const ONVA_PURPOSE = 'onva-inspection-annual-holidays';
const INAMI_PURPOSE = 'onss-invalidity-responsibilisation-contribution';
const DMFA_RECORD = 'be.bcss.gateway.payload.DmfaPayload';
const DIMONA_RECORD = 'be.bcss.gateway.payload.DimonaPayload';
const INVALIDITY_RECORD = 'be.bcss.gateway.payload.InamiInvalidityEntriesPayload';

/** `<block id>.<field>`: a name, never a value. */
const FIELD_NAME = /^[a-z][a-z-]*\.[a-z][a-z-]*\.[a-z][A-Za-z0-9]*$/;

type Obj = Record<string, unknown>;

interface DmfaPayload {
  niss: string;
  employerDeclarations: Array<
    Obj & {
      quarter: string | null;
      onssNumber: string | null;
      naturalPersons: Array<
        Obj & {
          workerRecords: Array<
            Obj & {
              workerCode: string | null;
              occupations: Array<Obj & { usingEmployer: Obj | null }>;
              workAccidentAllowances: Obj[];
            }
          >;
        }
      >;
    }
  >;
}

interface DimonaPayload {
  niss: string;
  dimonaPeriods: Array<Obj & { employer: Obj | null; usingEmployer: Obj | null; worker: Obj | null; occupation: Obj | null }>;
}

interface InvalidityPayload {
  quarter: string;
  entries: Array<{
    niss: string | null;
    person: { birthDate: string | null } | null;
    incapacity: { primaryIncapacityStartDate: string | null; invalidityStartDate: string | null } | null;
  }>;
}

// ---------------------------------------------------------------------------------------------------
// What the configuration says, read from the switch's own catalogue and deliberations

function grantOf(sw: RunningSwitch, deliberation: string, service: string): ServiceGrant {
  const d = sw.fx.deliberations.find((x) => x.number === deliberation);
  const version = d === undefined ? null : versionInForce(d, utcDay(Date.now()));
  const grant = version?.services.find((s) => s.service === service);
  if (!grant) throw new Error(`no grant of ${service} in force under ${deliberation}`);
  return grant;
}

function blockFields(sw: RunningSwitch, service: string, block: string): readonly string[] {
  const def = sw.fx.catalogue.services.get(service)?.blocks.get(block);
  if (!def) throw new Error(`no block ${block} in ${service}`);
  return fieldsOf(def);
}

function granted(grant: ServiceGrant, block: string): readonly string[] {
  const fields: FieldGrant | undefined = grant.fields[block];
  if (fields === 'all') throw new Error(`${block} is granted whole; these tests expect field lists`);
  return fields ?? [];
}

/** The catalogue's fields of `block` that the grant does not name, as `<block>.<field>`, catalogue order. */
function withheldNames(sw: RunningSwitch, grant: ServiceGrant, block: string, sent?: Obj): string[] {
  const ok = new Set(granted(grant, block));
  return blockFields(sw, grant.service, block)
    .filter((f) => !ok.has(f) && (sent === undefined || (sent[f] !== null && sent[f] !== undefined)))
    .map((f) => `${block}.${f}`);
}

/** A delivered row of `block`: exactly the granted fields hold a value, every other catalogue field is null. */
function expectOnlyGranted(sw: RunningSwitch, grant: ServiceGrant, block: string, row: Obj): void {
  const ok = new Set(granted(grant, block));
  const shown = Object.fromEntries(blockFields(sw, grant.service, block).map((f) => [f, row[f] === null ? null : ok.has(f) ? 'granted' : 'LEAKED']));
  expect(Object.values(shown), `${block}: ${JSON.stringify(shown)}`).not.toContain('LEAKED');
}

function leaves(value: unknown, out: unknown[] = []): unknown[] {
  if (Array.isArray(value)) for (const v of value) leaves(v, out);
  else if (value !== null && typeof value === 'object' && !Buffer.isBuffer(value)) for (const v of Object.values(value)) leaves(v, out);
  else if (value !== null && value !== undefined) out.push(value);
  return out;
}

/**
 * The removed fields are the same in the reply and the audit record, name delivered blocks only, are
 * names, and no withheld value reaches either record (the reply's payload left aside: it is checked
 * field by field).
 */
function expectFieldNamesOnly(reply: ReplyRecord, audit: AuditRecordValue, withheldValues: readonly unknown[]): void {
  expect(audit.removedFields).toEqual(reply.removedFields);
  for (const name of reply.removedFields) {
    expect(name).toMatch(FIELD_NAME);
    expect(reply.deliveredBlocks, `${name} belongs to a delivered block`).toContain(name.slice(0, name.lastIndexOf('.')));
  }
  const values = new Set<unknown>(withheldValues.filter((v) => v !== null && v !== undefined));
  expect(values.size).toBeGreaterThan(0);
  const inRecords = [...leaves(audit), ...leaves({ ...reply, payload: null })];
  expect(inRecords.filter((v) => values.has(v))).toEqual([]);
}

/** What the simulated source sends for a request (the same pure function the simulators answer with). */
function sourceAnswer(service: string, subjectNiss: string, asked: { from: string; to: string | null }): Obj {
  const answer = answerSourceRequest(createSyntheticPopulation(), {
    ticket: 'local',
    service,
    subjectNiss,
    employer: null,
    period: asked,
    blocks: [],
    deadline: Date.now() + 60_000,
  });
  expect(answer?.status).toBe('OK');
  return answer?.payload as Obj;
}

async function sendAndAwait(sw: RunningSwitch, sender: string, record: RequestRecord, answer: () => Promise<void>): Promise<ReplyRecord> {
  await sw.fx.send(sender, record);
  await answer();
  const got = await waitFor(() => sw.fx.replies.get(record.requestId) ?? [], (l) => l.length > 0, {
    timeoutMs: 20_000,
    what: `the reply to ${record.requestId}`,
  });
  return got[0] as ReplyRecord;
}

const VIA_MAGDA: Omit<ExpectedAudit, 'event' | 'subjectNiss' | 'payload' | 'service'> = {
  requester: 'vaph',
  intermediary: 'magda',
  source: 'onss',
  deliberation: '10/012',
  deliberationVersion: 'v1',
  purpose: VAPH_PURPOSE,
};

describe('exchange: fields, rows, keys and period floor of each grant', () => {
  let sw: RunningSwitch;
  let producer: MessageProducer;

  beforeAll(async () => {
    sw = await startSwitch({
      integrations: [
        // 10/012 §9: assistants, for their budget holder's employment.
        { institution: 'vaph', niss: SIMULATED.assistantOfVaph, capacity: 'pab-assistant', phase: 1, from: '2024-01-01', to: null, employer: onss(E.budgetHolder.onssNumber) },
        // The sources never answer about this one: this file answers in ONSS's place, with a work-accident allowance.
        { institution: 'vaph', niss: SIMULATED.unanswered, capacity: 'pab-assistant', phase: 1, from: '2024-01-01', to: null, employer: onss(E.budgetHolder.onssNumber) },
        // An assistant placed by a temporary-work agency (10/012 §9: interim work, asked with the employer category).
        { institution: 'vaph', niss: SIMULATED.interimWorker, capacity: 'pab-assistant', phase: 1, from: '2024-01-01', to: null, employer: onss(E.interimAgency.onssNumber) },
        { institution: 'iriscare', niss: SIMULATED.careWorkerIriscare, capacity: 'care-worker', phase: 1, from: '2023-01-01', to: null, employer: onss(E.careHome.onssNumber) },
        // 19/010: the ONVA inspection asks by NISS and period, without an employer.
        { institution: 'onva', niss: SIMULATED.interimWorker, capacity: 'inspection', phase: 1, from: '2023-01-01', to: null, employer: null },
      ],
    });
    producer = await sw.fx.client.producer();
  }, 120_000);

  afterAll(async () => {
    await producer?.disconnect();
    await sw?.fx.closeAtOnce();
  }, 60_000);

  describe('10/012 §8 (VAPH through MAGDA): DmfA field by field', () => {
    it('natural persons hold their sequence number and NISS only; the other fields are withheld by name', async () => {
      const asked = period('2024-01-01', '2024-06-30');
      const reply = await sw.fx.ask('magda', {
        onBehalfOf: 'vaph',
        service: 'dmfa',
        subjectNiss: SIMULATED.assistantOfVaph,
        employer: { ...onss(E.budgetHolder.onssNumber), category: null },
        period: asked,
      });
      expect(reply.status).toBe('OK');
      expect(reply.message).toBe('delivered; blocks and fields not authorized were withheld');
      const grant = grantOf(sw, '10/012', 'dmfa');
      expect(granted(grant, 'dmfa.natural-person')).toEqual(['sequenceNumber', 'niss']);

      const payload = decodePayload<DmfaPayload>(sw.fx, reply, DMFA_RECORD);
      expect(payload.employerDeclarations.map((d) => d.quarter)).toEqual(['2024Q1', '2024Q2']);
      const persons = payload.employerDeclarations.flatMap((d) => d.naturalPersons);
      expect(persons).toHaveLength(2);
      for (const person of persons) {
        expect(person.sequenceNumber).toBe(1);
        expect(person.niss).toBe(SIMULATED.assistantOfVaph);
        for (const f of ['lastName', 'firstName', 'birthDate', 'birthPlace', 'gender', 'address', 'nationality', 'oriolusValidation']) {
          expect(person[f], `naturalPerson.${f}`).toBeNull();
        }
        expectOnlyGranted(sw, grant, 'dmfa.natural-person', person);
      }
      for (const declaration of payload.employerDeclarations) {
        expectOnlyGranted(sw, grant, 'dmfa.employer-declaration', declaration);
        expect(declaration.onssNumber).toBe(E.budgetHolder.onssNumber);
        for (const record of declaration.naturalPersons.flatMap((p) => p.workerRecords)) {
          expectOnlyGranted(sw, grant, 'dmfa.worker-record', record);
          for (const occupation of record.occupations) expectOnlyGranted(sw, grant, 'dmfa.occupation', occupation);
        }
      }

      // Exactly the catalogue's fields of the block minus the two granted (the source sent every one).
      const naturalPersonFields = withheldNames(sw, grant, 'dmfa.natural-person');
      expect(naturalPersonFields).toEqual([
        'dmfa.natural-person.lastName',
        'dmfa.natural-person.firstName',
        'dmfa.natural-person.birthDate',
        'dmfa.natural-person.birthPlace',
        'dmfa.natural-person.gender',
        'dmfa.natural-person.address',
        'dmfa.natural-person.nationality',
        'dmfa.natural-person.oriolusValidation',
      ]);
      expect(reply.removedFields.filter((f) => f.startsWith('dmfa.natural-person.'))).toEqual(naturalPersonFields);
      // Of the other levels too: the declaration's curatorship and net amount, the worker record's frontier-worker flag.
      expect(reply.removedFields).toEqual(
        expect.arrayContaining(['dmfa.employer-declaration.curatorship', 'dmfa.employer-declaration.netAmountDue', 'dmfa.worker-record.frontierWorker']),
      );

      const audit = await expectAudited(sw, reply, { ...VIA_MAGDA, event: 'REPLY_DELIVERED', service: 'dmfa', subjectNiss: SIMULATED.assistantOfVaph, payload });
      const sent = sourceAnswer('dmfa', SIMULATED.assistantOfVaph, asked) as unknown as DmfaPayload;
      const sentPerson = sent.employerDeclarations[0]?.naturalPersons[0] as Obj;
      expectFieldNamesOnly(reply, audit, [sentPerson.lastName, sentPerson.firstName, sentPerson.birthDate, sentPerson.birthPlace, (sentPerson.address as Obj).street]);
    });

    it('work-accident allowances: nature, degree and version delivered, the amount withheld', async () => {
      const population = createSyntheticPopulation();
      const person = population.persons.get(SIMULATED.unanswered);
      if (!person) throw new Error('no simulated person');
      const amount = 8_765_43;
      // What ONSS sends about this assistant for 2024Q1: the budget holder's declaration, with an allowance.
      const sourcePayload = {
        niss: person.niss,
        employerDeclarations: [
          {
            quarter: '2024Q1',
            onssNumber: E.budgetHolder.onssNumber,
            enterpriseNumber: null,
            registrationSource: 'ONSS',
            curatorship: false,
            netAmountDue: 314_159,
            declarationStatus: { declarationReference: `DMFA-SIM-${E.budgetHolder.onssNumber}-2024Q1`, attestationStatus: 'ACCEPTED', receivedOn: '2024-04-30' },
            naturalPersons: [
              {
                sequenceNumber: 1,
                niss: person.niss,
                lastName: person.lastName,
                firstName: person.firstNames[0],
                birthDate: person.birthDate,
                birthPlace: person.birthPlace,
                gender: person.gender,
                address: { ...person.address },
                nationality: person.nationality,
                oriolusValidation: '1',
                workerRecords: [
                  {
                    employerCategory: '000',
                    workerCode: '015',
                    frontierWorker: false,
                    occupations: [
                      {
                        sequenceNumber: 1,
                        startDate: '2023-03-01',
                        endDate: null,
                        jointCommittee: E.budgetHolder.jointCommittee,
                        contractType: '1',
                        versionNumber: 1,
                        remunerations: [{ sequenceNumber: 1, remunerationCode: '1', amount: 412_300, versionNumber: 1 }],
                      },
                    ],
                    workAccidentAllowances: [{ allowanceNature: '1', incapacityRate: 1_500, amount, versionNumber: 1 }],
                  },
                ],
              },
            ],
          },
        ],
      };
      const encoded = sw.fx.codec.encode(DMFA_RECORD, sourcePayload);
      const record = sw.fx.requestRecord('magda', {
        onBehalfOf: 'vaph',
        service: 'dmfa',
        subjectNiss: SIMULATED.unanswered,
        employer: { ...onss(E.budgetHolder.onssNumber), category: null },
        period: period('2024-01-01', '2024-03-31'),
      });
      const reply = await sendAndAwait(sw, 'magda', record, async () => {
        const ticket = await openTicket(sw, 'dmfa', SIMULATED.unanswered);
        await answerAsSource(sw, producer, 'onss', SIMULATED.unanswered, { ticket, status: 'OK', newNiss: null, errorMessage: null, payload: encoded });
      });
      expect(reply.status).toBe('OK');
      expect(reply.deliveredBlocks).toContain('dmfa.work-accident-allowance');
      const grant = grantOf(sw, '10/012', 'dmfa');
      expect(granted(grant, 'dmfa.work-accident-allowance')).not.toContain('amount');

      const payload = decodePayload<DmfaPayload>(sw.fx, reply, DMFA_RECORD);
      const allowances = payload.employerDeclarations.flatMap((d) => d.naturalPersons.flatMap((p) => p.workerRecords.flatMap((w) => w.workAccidentAllowances)));
      expect(allowances).toEqual([{ allowanceNature: '1', incapacityRate: 1_500, amount: null, versionNumber: 1 }]);
      expect(reply.removedFields.filter((f) => f.startsWith('dmfa.work-accident-allowance.'))).toEqual(['dmfa.work-accident-allowance.amount']);
      expect(reply.removedFields.filter((f) => f.startsWith('dmfa.natural-person.'))).toEqual(withheldNames(sw, grant, 'dmfa.natural-person'));
      for (const p of payload.employerDeclarations.flatMap((d) => d.naturalPersons)) expectOnlyGranted(sw, grant, 'dmfa.natural-person', p);

      const audit = await expectAudited(sw, reply, { ...VIA_MAGDA, event: 'REPLY_DELIVERED', service: 'dmfa', subjectNiss: SIMULATED.unanswered, payload });
      expectFieldNamesOnly(reply, audit, [amount, person.lastName, person.firstNames[0], person.birthPlace, person.birthDate, 314_159]);
    });
  });

  it('10/012 §7 (VAPH through MAGDA): the DIMONA worker holds the NISS only', async () => {
    const asked = period('2024-01-01', '2024-12-31');
    const reply = await sw.fx.ask('magda', {
      onBehalfOf: 'vaph',
      service: 'dimona',
      subjectNiss: SIMULATED.assistantOfVaph,
      employer: { ...onss(E.budgetHolder.onssNumber), category: null },
      period: asked,
    });
    expect(reply.status).toBe('OK');
    expect(reply.deliveredBlocks).toContain('dimona.worker');
    const grant = grantOf(sw, '10/012', 'dimona');
    expect(granted(grant, 'dimona.worker')).toEqual(['niss']);

    const payload = decodePayload<DimonaPayload>(sw.fx, reply, DIMONA_RECORD);
    expect(payload.dimonaPeriods).toHaveLength(1);
    for (const p of payload.dimonaPeriods) {
      expect(p.worker?.niss).toBe(SIMULATED.assistantOfVaph);
      expectOnlyGranted(sw, grant, 'dimona.worker', p.worker as Obj);
      expectOnlyGranted(sw, grant, 'dimona.employer', p.employer as Obj);
      expectOnlyGranted(sw, grant, 'dimona.occupation', p.occupation as Obj);
    }
    // Whichever worker fields the source sent for the budget holder's period, every one but the NISS.
    const sent = sourceAnswer('dimona', SIMULATED.assistantOfVaph, asked) as unknown as DimonaPayload;
    const sentPeriod = sent.dimonaPeriods.find((p) => (p.employer as Obj).employerIdNumber === E.budgetHolder.onssNumber) as DimonaPayload['dimonaPeriods'][number];
    const sentWorker = sentPeriod.worker as Obj;
    const workerFields = withheldNames(sw, grant, 'dimona.worker', sentWorker);
    expect(workerFields).toContain('dimona.worker.lastName');
    expect(reply.removedFields.filter((f) => f.startsWith('dimona.worker.'))).toEqual(workerFields);
    // 10/012 §7 does not name the employer's language or category.
    expect(reply.removedFields).toEqual(expect.arrayContaining(['dimona.employer.languageCode', 'dimona.employer.employerCategory']));

    const audit = await expectAudited(sw, reply, { ...VIA_MAGDA, event: 'REPLY_DELIVERED', service: 'dimona', subjectNiss: SIMULATED.assistantOfVaph, payload });
    expectFieldNamesOnly(reply, audit, [sentWorker.lastName, sentWorker.firstName, sentWorker.birthDate]);
  });

  for (const service of ['dmfa', 'dimona']) {
    it(`19/104 (IRISCARE): ${service} without the employer is refused INVALID_EMPLOYER_ID, nothing forwarded`, async () => {
      const reply = await sw.fx.ask('iriscare', { service, subjectNiss: SIMULATED.careWorkerIriscare, employer: null, period: period('2024-01-01', '2024-12-31') });
      expectRefusal(reply, 'INVALID_EMPLOYER_ID', REFUSAL_CODES.INVALID_EMPLOYER_ID.bcssCode);
      expect(reply.forwardedAt).toBeNull();
      expect(reply.removedFields).toEqual([]);
      expect(reply.legalBasis?.deliberation).toBe('19/104');
      expect(reply.message).toContain('name the employer');
      const audit = await expectAudited(sw, reply, {
        event: 'REQUEST_REFUSED',
        requester: 'iriscare',
        service,
        source: 'onss',
        deliberation: '19/104',
        subjectNiss: SIMULATED.careWorkerIriscare,
      });
      expect(audit.removedFields).toEqual([]);
    });
  }

  it('19/010 §36 (ONVA): DmfA of a manual worker who was a white-collar interim worker: the white-collar records and what held only them are withheld', async () => {
    const asked = period('2024-01-01', '2024-12-31');
    const grant = grantOf(sw, '19/010', 'dmfa');
    const workerCodes = grant.rows.find((r): r is Extract<RowCondition, { kind: 'one-of' }> => r.kind === 'one-of' && r.block === 'dmfa.worker-record');
    if (!workerCodes) throw new Error('19/010 has no worker-code condition');
    expect(workerCodes.values).toContain('015');
    expect(workerCodes.values).not.toContain('495');

    // Not vacuous: the source sends both kinds in the period — the agency's white-collar (495) records of
    // 2024Q1-Q3 and the brewery's manual-worker (015) record of 2024Q4.
    const sent = sourceAnswer('dmfa', SIMULATED.interimWorker, asked) as unknown as DmfaPayload;
    const sentCodes = (d: DmfaPayload['employerDeclarations'][number]) => d.naturalPersons.flatMap((p) => p.workerRecords.map((w) => w.workerCode));
    const sentIn2024 = sent.employerDeclarations.filter((d) => (d.quarter as string).startsWith('2024'));
    expect(sentIn2024.map((d) => [d.quarter, d.onssNumber, sentCodes(d)])).toEqual([
      ['2024Q1', E.interimAgency.onssNumber, ['495']],
      ['2024Q2', E.interimAgency.onssNumber, ['495']],
      ['2024Q3', E.interimAgency.onssNumber, ['495']],
      ['2024Q4', E.brewery.onssNumber, ['015']],
    ]);

    const reply = await sw.fx.ask('onva', { service: 'dmfa', subjectNiss: SIMULATED.interimWorker, period: asked });
    expect(reply.status).toBe('OK');
    expect(reply.legalBasis).toEqual({ deliberation: '19/010', version: 'v1', purpose: ONVA_PURPOSE });
    const payload = decodePayload<DmfaPayload>(sw.fx, reply, DMFA_RECORD);
    // The agency's declarations held only white-collar records: gone with them, natural persons included.
    expect(payload.employerDeclarations.map((d) => [d.quarter, d.onssNumber])).toEqual([['2024Q4', E.brewery.onssNumber]]);
    const records = payload.employerDeclarations.flatMap((d) => d.naturalPersons.flatMap((p) => p.workerRecords));
    expect(records.map((w) => w.workerCode)).toEqual(['015']);
    for (const record of records) expect(workerCodes.values).toContain(record.workerCode);
    for (const declaration of payload.employerDeclarations) {
      expect(declaration.naturalPersons.length).toBeGreaterThan(0);
      for (const person of declaration.naturalPersons) {
        expect(person.workerRecords.length).toBeGreaterThan(0);
        // §17 names no sequence number: the key field is delivered as null.
        expect(person.sequenceNumber).toBeNull();
        expect(person.niss).toBe(SIMULATED.interimWorker);
        expectOnlyGranted(sw, grant, 'dmfa.natural-person', person);
      }
      expectOnlyGranted(sw, grant, 'dmfa.employer-declaration', declaration);
    }
    // The using employer (90107) is not granted; the withheld records' data do not appear anywhere.
    expect(JSON.stringify(payload)).not.toContain(E.interimAgency.onssNumber);
    // What §15-22 do not name, of what the source sent in the delivered rows (its nulls are not counted).
    expect(reply.removedFields).toEqual([
      'dmfa.employer-declaration.registrationSource',
      'dmfa.natural-person.sequenceNumber',
      'dmfa.occupation.versionNumber',
      'dmfa.remuneration.versionNumber',
    ]);
    expect(reply.removedBlocks).toEqual(['dmfa.worker-contribution', 'dmfa.contribution-unrelated-to-person']);

    const audit = await expectAudited(sw, reply, {
      event: 'REPLY_DELIVERED',
      requester: 'onva',
      service: 'dmfa',
      source: 'onss',
      deliberation: '19/010',
      deliberationVersion: 'v1',
      purpose: ONVA_PURPOSE,
      subjectNiss: SIMULATED.interimWorker,
      payload,
    });
    expectFieldNamesOnly(reply, audit, [E.interimAgency.onssNumber, E.brewery.name]);
  });

  describe('10/012 §9 (VAPH through MAGDA): an interim link is asked with the employer category', () => {
    const interim = (service: string, category: string | null) => ({
      onBehalfOf: 'vaph',
      service,
      subjectNiss: SIMULATED.interimWorker,
      employer: { ...onss(E.interimAgency.onssNumber), category },
      period: period('2024-01-01', '2024-12-31'),
    });

    for (const service of ['dimona', 'dmfa']) {
      it(`${service} of the agency's interim worker without the category: EMPLOYER_CATEGORY_REQUIRED, nothing delivered`, async () => {
        const reply = await sw.fx.ask('magda', interim(service, null));
        expect({ status: reply.status, bcssCode: reply.bcssCode }).toEqual({ status: 'EMPLOYER_CATEGORY_REQUIRED', bcssCode: null });
        expect(reply).toMatchObject({ payload: null, deliveredBlocks: [], removedFields: [], retainUntil: null, newNiss: null });
        expect(reply.message).toContain('employer category');
        // Decided on the source's answer: the request was forwarded.
        expect(reply.forwardedAt).not.toBeNull();
        const audit = await expectAudited(sw, reply, { ...VIA_MAGDA, event: 'REPLY_DELIVERED', service, subjectNiss: SIMULATED.interimWorker });
        expect(audit.outcome).toBe('EMPLOYER_CATEGORY_REQUIRED');
        expect(audit.deliveredBlocks).toEqual([]);
        expect(audit.removedFields).toEqual([]);
      });
    }

    it('DIMONA with the agency category (484): the interim periods, the using employer by its numbers only', async () => {
      const reply = await sw.fx.ask('magda', interim('dimona', '484'));
      expect(reply.status).toBe('OK');
      expect(reply.effectivePeriods).toEqual([period('2024-01-01', '2024-12-31')]);
      expect(reply.deliveredBlocks).toEqual(['dimona.period', 'dimona.employer', 'dimona.using-employer', 'dimona.worker', 'dimona.occupation']);
      const grant = grantOf(sw, '10/012', 'dimona');
      const payload = decodePayload<DimonaPayload>(sw.fx, reply, DIMONA_RECORD);
      expect(payload.dimonaPeriods.map((p) => [p.employer?.employerIdNumber, (p.occupation as Obj).inDate])).toEqual([[E.interimAgency.onssNumber, '2024-03-04']]);
      const user = payload.dimonaPeriods[0]?.usingEmployer as Obj;
      expect(user).toMatchObject({ employerIdKind: 'ENTERPRISE', employerIdNumber: E.brewery.enterpriseNumber, enterpriseNumber: E.brewery.enterpriseNumber, name: null, address: null });
      expectOnlyGranted(sw, grant, 'dimona.using-employer', user);
      expectOnlyGranted(sw, grant, 'dimona.worker', payload.dimonaPeriods[0]?.worker as Obj);
      expect(reply.removedFields).toEqual(expect.arrayContaining(['dimona.using-employer.name', 'dimona.using-employer.address', 'dimona.worker.lastName']));
      const audit = await expectAudited(sw, reply, { ...VIA_MAGDA, event: 'REPLY_DELIVERED', service: 'dimona', subjectNiss: SIMULATED.interimWorker, payload });
      expect(audit.employer).toMatchObject({ kind: 'ONSS', id: E.interimAgency.onssNumber, category: '484' });
      expectFieldNamesOnly(reply, audit, [E.brewery.name, E.brewery.address.street]);
    });

    it('DmfA with the agency category (484): the interim declarations, without the using employer (90107 not granted)', async () => {
      const reply = await sw.fx.ask('magda', interim('dmfa', '484'));
      expect(reply.status).toBe('OK');
      expect(reply.removedBlocks).toContain('dmfa.using-employer');
      const payload = decodePayload<DmfaPayload>(sw.fx, reply, DMFA_RECORD);
      expect(payload.employerDeclarations.map((d) => [d.quarter, d.onssNumber])).toEqual([
        ['2024Q1', E.interimAgency.onssNumber],
        ['2024Q2', E.interimAgency.onssNumber],
        ['2024Q3', E.interimAgency.onssNumber],
      ]);
      const records = payload.employerDeclarations.flatMap((d) => d.naturalPersons.flatMap((p) => p.workerRecords));
      expect(records.map((w) => w.employerCategory)).toEqual(['484', '484', '484']);
      expect(records.flatMap((w) => w.occupations.map((o) => o.usingEmployer))).toEqual([null, null, null]);
      await expectAudited(sw, reply, { ...VIA_MAGDA, event: 'REPLY_DELIVERED', service: 'dmfa', subjectNiss: SIMULATED.interimWorker, payload });
    });
  });

  describe('22/046 (ONSS, INAMI list): data from 2020 only, of adults', () => {
    it('a quarter of 2019 is refused PERIOD_NOT_AUTHORIZED, not forwarded', async () => {
      const reply = await sw.fx.ask('onss', { service: INVALIDITY_SERVICE, subjectNiss: '', period: period('2019-07-01', '2019-09-30') });
      expectRefusal(reply, 'PERIOD_NOT_AUTHORIZED', REFUSAL_CODES.PERIOD_NOT_AUTHORIZED.bcssCode);
      expect(reply.legalBasis?.deliberation).toBe('22/046');
      expect(reply.message).toContain('2020-01-01');
      await expectAudited(sw, reply, {
        event: 'REQUEST_REFUSED',
        requester: 'onss',
        service: INVALIDITY_SERVICE,
        source: 'inami',
        deliberation: '22/046',
        purpose: INAMI_PURPOSE,
        subjectNiss: null,
      });
    });

    it('the 2024Q2 list of the simulated INAMI: every entry an adult at the primary incapacity, invalid from 2020 on', async () => {
      const reply = await sw.fx.ask('onss', { service: INVALIDITY_SERVICE, subjectNiss: '', period: period('2024-04-01', '2024-06-30') });
      expect(reply.status).toBe('OK');
      // Every field of the catalogue's three blocks is granted: nothing withheld field by field.
      expect(reply.removedFields).toEqual([]);
      const payload = decodePayload<InvalidityPayload>(sw.fx, reply, INVALIDITY_RECORD);
      expect(payload.entries).toHaveLength(200);
      for (const entry of payload.entries) expectAdultFrom2020(entry);
      const audit = await expectAudited(sw, reply, {
        event: 'REPLY_DELIVERED',
        requester: 'onss',
        service: INVALIDITY_SERVICE,
        source: 'inami',
        deliberation: '22/046',
        subjectNiss: null,
        payload,
      });
      expect(audit.removedFields).toEqual([]);
    });
  });

  it('every request of this file got exactly one reply and one outcome audit record', async () => {
    await expectEveryExchangeClosedOnce(sw);
  });
});

/** 22/046 §1-2: eighteen or more on the start of the primary incapacity; invalidity on or after 2020-01-01. */
function expectAdultFrom2020(entry: InvalidityPayload['entries'][number]): void {
  const birth = entry.person?.birthDate as string;
  const primary = entry.incapacity?.primaryIncapacityStartDate as string;
  expect(typeof birth).toBe('string');
  expect(typeof primary).toBe('string');
  expect(`${String(Number(birth.slice(0, 4)) + 18).padStart(4, '0')}${birth.slice(4)}` <= primary, `${entry.niss}: born ${birth}, primary incapacity ${primary}`).toBe(true);
  expect((entry.incapacity?.invalidityStartDate as string) >= '2020-01-01', `${entry.niss}: invalid since ${entry.incapacity?.invalidityStartDate}`).toBe(true);
}

/**
 * The simulated INAMI lists only adults and invalidities of the quarter: to see the 22/046 row
 * conditions act, this switch's INAMI is slow and the test answers first, as INAMI would with a list
 * holding minors, an invalidity of 2019 and a birth date missing.
 */
describe('exchange: 22/046 rows on a list holding persons outside the population', () => {
  let sw: RunningSwitch;
  let producer: MessageProducer;
  // The simulators answer this much later than the test does (their answer then arrives late, audited and
  // dropped). The file's last test waits for that late answer too.
  const SIMULATOR_DELAY_MS = 5_000;

  beforeAll(async () => {
    sw = await startSwitch({ replyDelayMs: SIMULATOR_DELAY_MS });
    producer = await sw.fx.client.producer();
  }, 120_000);

  afterAll(async () => {
    await producer?.disconnect();
    await sw?.fx.closeAtOnce();
  }, 60_000);

  it('2024Q2: a minor at the primary incapacity, a person one day short of 18, an invalidity of 2019 and an unknown birth date are withheld', async () => {
    const entry = (niss: string, birthDate: string | null, primaryIncapacityStartDate: string, invalidityStartDate: string) => ({
      niss,
      person: birthDate === null ? null : { birthDate },
      incapacity: { primaryIncapacityStartDate, invalidityStartDate },
    });
    const adult = entry(makeNiss('1980-02-11', 301), '1980-02-11', '2023-05-02', '2024-05-02');
    const eighteenThatDay = entry(makeNiss('2005-04-10', 302), '2005-04-10', '2023-04-10', '2024-04-10');
    const oneDayShort = entry(makeNiss('2005-04-11', 303), '2005-04-11', '2023-04-10', '2024-04-10');
    const minor = entry(makeNiss('2007-06-15', 304), '2007-06-15', '2023-06-01', '2024-06-01');
    const invalidSince2019 = entry(makeNiss('1970-09-09', 305), '1970-09-09', '2018-11-01', '2019-11-01');
    const noBirthDate = entry(makeNiss('1975-01-20', 306), null, '2023-05-20', '2024-05-20');
    const list = {
      quarter: '2024Q2',
      listReference: 'INAMI-INV-2024Q2-TEST',
      entries: [adult, eighteenThatDay, oneDayShort, minor, invalidSince2019, noBirthDate],
    };
    const record = sw.fx.requestRecord('onss', { service: INVALIDITY_SERVICE, subjectNiss: '', period: period('2024-04-01', '2024-06-30') });
    const reply = await sendAndAwait(sw, 'onss', record, async () => {
      const forwarded = await sw.audit.waitFor(
        (ms) => ms.some((m) => m.value.eventType === 'REQUEST_FORWARDED' && m.value.service === INVALIDITY_SERVICE),
        'the list request forwarded to INAMI',
      );
      const ticket = forwarded.map((m) => m.value).find((a) => a.eventType === 'REQUEST_FORWARDED' && a.service === INVALIDITY_SERVICE)?.ticket as string;
      await answerAsSource(sw, producer, 'inami', list.listReference, {
        ticket,
        status: 'OK',
        newNiss: null,
        errorMessage: null,
        payload: sw.fx.codec.encode(INVALIDITY_RECORD, list),
      });
    });
    expect(reply.status).toBe('OK');
    // Answered by this test, well before the simulated INAMI.
    expect(reply.answeredAt - (reply.forwardedAt as number)).toBeLessThan(SIMULATOR_DELAY_MS);
    const payload = decodePayload<InvalidityPayload>(sw.fx, reply, INVALIDITY_RECORD);
    expect(payload.entries.map((e) => e.niss)).toEqual([adult.niss, eighteenThatDay.niss]);
    expect(payload.entries).toEqual([adult, eighteenThatDay]);
    for (const e of payload.entries) expectAdultFrom2020(e);
    expect(reply.removedFields).toEqual([]);
    const audit = await expectAudited(sw, reply, {
      event: 'REPLY_DELIVERED',
      requester: 'onss',
      service: INVALIDITY_SERVICE,
      source: 'inami',
      deliberation: '22/046',
      purpose: INAMI_PURPOSE,
      subjectNiss: null,
      payload,
    });
    // The withheld persons are named nowhere in the audit trail.
    const trail = JSON.stringify(sw.audit.messages.map((m) => m.value));
    for (const e of [oneDayShort, minor, invalidSince2019, noBirthDate]) expect(trail).not.toContain(e.niss);
    expect(audit.removedFields).toEqual([]);
  });

  it('every request of this file got exactly one reply and one outcome audit record', async () => {
    await expectEveryExchangeClosedOnce(sw);
  });
});
