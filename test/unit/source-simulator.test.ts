/**
 * The authentic-source SIMULATOR and its SYNTHETIC population: payloads valid against the real payload
 * schemas, determinism, the promised fixed persons, NO_DATA / NISS_REPLACED / ERROR answers, the fault
 * persons (no answer, ERROR), and the deliberate over-delivery that the switch's block filter must undo
 * (VAPH never gets DmfA 90018).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decideAuthorization } from '../../src/domain/authorization.js';
import { filterBlocks } from '../../src/domain/block-filter.js';
import { isValidEnterpriseNumber } from '../../src/domain/enterprise-number.js';
import { parseNiss } from '../../src/domain/niss.js';
import { parseOnssNumber } from '../../src/domain/onss-number.js';
import { loadAvroCodec, parseSchema } from '../../src/messaging/avro-codec.js';
import type { SourceRequestRecord } from '../../src/contract/exchange-records.js';
import {
  answerSourceRequest,
  SIMULATED_SERVICES,
  type SimulatedSourceReply,
  type SimulatorAnswerOptions,
} from '../../src/sources/source-simulator.js';
import {
  createSyntheticPopulation,
  generateSyntheticPersons,
  SIMULATED,
  SIMULATED_EMPLOYERS,
  type SyntheticPopulation,
} from '../../src/sources/synthetic-population.js';
import { realIndex, SCHEMAS_DIR, service } from './support/gateway-config.js';

type Obj = Record<string, any>;

const population = createSyntheticPopulation({ extraPersons: 200 });
const codec = loadAvroCodec(SCHEMAS_DIR);

function ask(niss: string, serviceId: string, period: SourceRequestRecord['period'], employer: SourceRequestRecord['employer'] = null) {
  return answerOf(population, {
    ticket: `T-${serviceId}-${niss}`,
    service: serviceId,
    subjectNiss: niss,
    employer,
    period,
    blocks: [],
    deadline: 1_725_266_000_000,
  });
}

/** An answer that must exist (every person but SIMULATED.unanswered gets one). */
function answerOf(of: SyntheticPopulation, request: SourceRequestRecord, options?: SimulatorAnswerOptions): SimulatedSourceReply {
  const answer = answerSourceRequest(of, request, options);
  if (answer === null) throw new Error(`no answer to ticket ${request.ticket}`);
  return answer;
}

function payloadOf(niss: string, serviceId: string, period: SourceRequestRecord['period']): Obj {
  const answer = ask(niss, serviceId, period);
  expect(answer.status).toBe('OK');
  return answer.payload as Obj;
}

const ALL = { from: '2023-01-01', to: '2025-12-31' };
const H1_2024 = { from: '2024-01-01', to: '2024-06-30' };

function payloadType(serviceId: string) {
  return parseSchema(JSON.parse(readFileSync(join(SCHEMAS_DIR, service(serviceId).schemaFile), 'utf8')));
}

function invalidPaths(serviceId: string, value: unknown): string[] {
  const paths: string[] = [];
  payloadType(serviceId).isValid(value, { errorHook: (path) => paths.push(path.join('.')) });
  return paths;
}

function occupations(payload: Obj): Obj[] {
  return (payload.employerDeclarations as Obj[]).flatMap((d) =>
    (d.naturalPersons as Obj[]).flatMap((p) => (p.workerRecords as Obj[]).flatMap((w) => w.occupations as Obj[])),
  );
}

describe('synthetic population', () => {
  it('every NISS is valid, with the birth date and sex the person is given', () => {
    expect(population.persons.size).toBe(9 + 200);
    for (const person of population.persons.values()) {
      const parsed = parseNiss(person.niss);
      expect(parsed.valid, person.niss).toBe(true);
      if (!parsed.valid) continue;
      expect(parsed.birthDate).toBe(person.birthDate);
      expect(parsed.sex === 'M' ? '1' : '2').toBe(person.gender);
      expect(parsed.kind).toBe(person.register === 'BIS' ? 'BIS' : 'NN');
    }
  });

  it('every employer number passes its check rule, and DIMONA knows the three kinds of employer id', () => {
    for (const employer of Object.values(SIMULATED_EMPLOYERS)) {
      if (employer.onssNumber !== null) expect(parseOnssNumber(employer.onssNumber)).toMatchObject({ valid: true, kind: 'ONSS' });
      if (employer.provisionalOnssNumber !== null) {
        expect(parseOnssNumber(employer.provisionalOnssNumber)).toMatchObject({ valid: true, kind: 'ONSS_PROVISIONAL' });
      }
      if (employer.enterpriseNumber !== null) expect(isValidEnterpriseNumber(employer.enterpriseNumber)).toBe(true);
    }
    const kinds = new Set([...population.employments.values()].flat().map((e) => e.employer.dimonaIdKind));
    expect([...kinds].sort()).toEqual(['ENTERPRISE', 'ONSS', 'ONSS_PROVISIONAL']);
  });

  it('is deterministic: same population, same generated persons, same answers', () => {
    const again = createSyntheticPopulation({ extraPersons: 200 });
    expect([...again.persons.keys()]).toEqual([...population.persons.keys()]);
    expect([...again.declarations.entries()]).toEqual([...population.declarations.entries()]);
    expect(generateSyntheticPersons(50)).toEqual(generateSyntheticPersons(50));
    expect(generateSyntheticPersons(50, 1)).not.toEqual(generateSyntheticPersons(50, 2));
    for (const niss of population.persons.keys()) {
      expect(answerSourceRequest(again, { ticket: 't', service: 'dmfa', subjectNiss: niss, employer: null, period: ALL, blocks: [], deadline: 0 })).toEqual(
        answerSourceRequest(population, { ticket: 't', service: 'dmfa', subjectNiss: niss, employer: null, period: ALL, blocks: [], deadline: 0 }),
      );
    }
  });

  it('DmfA declarations cover several quarters of 2023Q1..2025Q4 and no other', () => {
    const quarters = new Set([...population.declarations.values()].flat().map((d) => d.quarter));
    expect([...quarters].sort()[0]).toBe('2023Q1');
    expect([...quarters].sort().at(-1)).toBe('2025Q4');
    expect(quarters.size).toBe(12);
  });

  it('the VAPH assistant has two employers at once', () => {
    const jobs = population.employments.get(SIMULATED.assistantOfVaph) ?? [];
    expect(new Set(jobs.map((j) => j.employer.name)).size).toBe(2);
    const q = population.declarations.get(SIMULATED.assistantOfVaph)?.filter((d) => d.quarter === '2024Q2') ?? [];
    expect(q).toHaveLength(2);
  });

  it('the interim worker works under joint committee 322 with a using employer, category 484', () => {
    const interim = (population.employments.get(SIMULATED.interimWorker) ?? []).filter((j) => j.jointCommittee === '322');
    expect(interim.length).toBeGreaterThanOrEqual(2);
    for (const job of interim) {
      expect(job.usingEmployer?.name).toBe(SIMULATED_EMPLOYERS.brewery.name);
      expect(job.employerCategory).toBe('484');
    }
    expect(parseNiss(SIMULATED.interimWorker)).toMatchObject({ valid: true, birthYear: 2001 });
  });

  it('the BIS number is replaced by a National Register number; the deceased person has a death date', () => {
    expect(parseNiss(SIMULATED.replacedBis)).toMatchObject({ valid: true, kind: 'BIS', bisKind: 'MONTH_PLUS_40' });
    expect(parseNiss(SIMULATED.replacingNiss)).toMatchObject({ valid: true, kind: 'NN' });
    expect(population.persons.get(SIMULATED.replacedBis)?.replacedBy).toBe(SIMULATED.replacingNiss);
    expect(population.persons.get(SIMULATED.deceased)?.death?.date).toBe('2024-08-17');
    const last = population.declarations.get(SIMULATED.deceased)?.at(-1);
    expect(last?.quarter).toBe('2024Q3');
  });

  it('the IRISCARE care worker is employed at the care home and at a start-up known by a provisional number', () => {
    const jobs = population.employments.get(SIMULATED.careWorkerIriscare) ?? [];
    expect(jobs.map((j) => j.employer.dimonaIdKind)).toEqual(['ONSS', 'ONSS_PROVISIONAL']);
    expect(jobs[0]?.jointCommittee).toBe('330');
  });
});

describe('simulated answers validate against the real payload schemas', () => {
  const cases: Array<[string, string]> = [];
  for (const niss of population.persons.keys()) {
    if (niss === SIMULATED.replacedBis || niss === SIMULATED.unanswered) continue;
    for (const serviceId of ['dmfa', 'dimona', 'identification']) cases.push([niss, serviceId]);
  }

  it.each(['dmfa', 'dimona', 'identification'])('%s: every OK answer of the population is valid and single-object encodes', (serviceId) => {
    let ok = 0;
    for (const [niss, s] of cases) {
      if (s !== serviceId) continue;
      const answer = ask(niss, s, ALL);
      if (answer.status !== 'OK') continue;
      ok++;
      expect(invalidPaths(serviceId, answer.payload), `${serviceId} ${niss}`).toEqual([]);
      const name = payloadType(serviceId).name as string;
      expect(codec.recordNameOf(codec.encode(name, answer.payload))).toBe(name);
    }
    expect(ok).toBeGreaterThan(100);
  });

  it('the SourceRequest the simulator reads is the one the schema defines', () => {
    const request: SourceRequestRecord = {
      ticket: 't',
      service: 'dmfa',
      subjectNiss: SIMULATED.interimWorker,
      employer: { kind: 'ONSS', id: SIMULATED_EMPLOYERS.interimAgency.onssNumber, category: '484' },
      period: { from: '2024-01-01', to: null },
      blocks: ['dmfa.occupation'],
      deadline: 1,
    };
    expect(codec.decode('be.bcss.gateway.SourceRequest', codec.encode('be.bcss.gateway.SourceRequest', request))).toEqual(request);
  });
});

describe('answers', () => {
  it('returns the whole record: every employer and quarters around the period, whatever was asked', () => {
    const answer = answerOf(population, {
      ticket: 't',
      service: 'dmfa',
      subjectNiss: SIMULATED.assistantOfVaph,
      employer: { kind: 'ONSS', id: SIMULATED_EMPLOYERS.budgetHolder.onssNumber, category: null },
      period: { from: '2024-04-01', to: '2024-06-30' },
      blocks: ['dmfa.occupation'],
      deadline: 0,
    });
    const declarations = (answer.payload as Obj).employerDeclarations as Obj[];
    expect(new Set(declarations.map((d) => d.onssNumber)).size).toBe(2);
    expect(new Set(declarations.map((d) => d.quarter))).toEqual(new Set(['2024Q1', '2024Q2', '2024Q3']));
    expect(occupations(answer.payload as Obj).every((o) => (o.services as Obj[]).length > 0)).toBe(true);
  });

  it('interim DmfA occupations carry joint committee 322 and the using employer (90107)', () => {
    const interim = occupations(payloadOf(SIMULATED.interimWorker, 'dmfa', H1_2024)).filter((o) => o.jointCommittee === '322');
    expect(interim.length).toBeGreaterThan(0);
    for (const o of interim) expect(o.usingEmployer).toMatchObject({ enterpriseNumber: SIMULATED_EMPLOYERS.brewery.enterpriseNumber });
  });

  it('DIMONA gives in/out dates, joint committee, worker type and the using employer for 322', () => {
    const periods = payloadOf(SIMULATED.interimWorker, 'dimona', ALL).dimonaPeriods as Obj[];
    expect(periods.map((p) => [p.occupation.inDate, p.occupation.outDate, p.occupation.jointCommittee])).toEqual([
      ['2023-05-02', '2023-12-22', '322'],
      ['2024-03-04', '2024-09-27', '322'],
      ['2024-10-01', null, '118'],
    ]);
    for (const p of periods) expect(p.usingEmployer === null).toBe(p.occupation.jointCommittee !== '322');
  });

  it('identification of the deceased person gives the death date', () => {
    expect(payloadOf(SIMULATED.deceased, 'identification', ALL).decease).toEqual({ date: '2024-08-17', place: 'Namur' });
  });

  it('NISS_REPLACED with the new NISS for the replaced BIS number, for every service', () => {
    for (const serviceId of ['dmfa', 'dimona', 'identification']) {
      expect(ask(SIMULATED.replacedBis, serviceId, ALL)).toEqual({
        ticket: `T-${serviceId}-${SIMULATED.replacedBis}`,
        status: 'NISS_REPLACED',
        newNiss: SIMULATED.replacingNiss,
        errorMessage: null,
        payload: null,
      });
    }
  });

  it('NO_DATA: unknown person, never employed, after death, before employment', () => {
    expect(ask('85073003328', 'identification', ALL).status).toBe('NO_DATA');
    expect(ask(SIMULATED.neverEmployed, 'dmfa', ALL).status).toBe('NO_DATA');
    expect(ask(SIMULATED.neverEmployed, 'dimona', ALL).status).toBe('NO_DATA');
    expect(ask(SIMULATED.neverEmployed, 'identification', ALL).status).toBe('OK');
    expect(ask(SIMULATED.deceased, 'dmfa', { from: '2025-10-01', to: '2025-12-31' }).status).toBe('NO_DATA');
    expect(ask(SIMULATED.replacingNiss, 'dmfa', { from: '2023-01-01', to: '2023-06-30' })).toMatchObject({ status: 'NO_DATA', payload: null });
  });

  it('ERROR for a service the simulators do not serve', () => {
    expect(ask(SIMULATED.assistantOfVaph, 'gotot', ALL)).toMatchObject({ status: 'ERROR', errorMessage: expect.stringContaining('gotot') });
  });
});

describe('fault scenarios', () => {
  it('the two fault persons have valid NISS, ordinary identification data and an employment', () => {
    for (const niss of [SIMULATED.unanswered, SIMULATED.sourceFailure]) {
      expect(parseNiss(niss)).toMatchObject({ valid: true, kind: 'NN' });
      const person = population.persons.get(niss);
      expect(person).toMatchObject({ register: 'RN', death: null, replacedBy: null });
      expect(population.employments.get(niss)?.length).toBe(1);
      expect(population.declarations.get(niss)?.length).toBeGreaterThan(0);
    }
    expect(new Set(Object.values(SIMULATED)).size).toBe(Object.keys(SIMULATED).length);
  });

  it('the sources never answer about SIMULATED.unanswered, whatever the service', () => {
    for (const serviceId of ['dmfa', 'dimona', 'identification', 'gotot']) {
      expect(
        answerSourceRequest(population, { ticket: 't', service: serviceId, subjectNiss: SIMULATED.unanswered, employer: null, period: ALL, blocks: [], deadline: 0 }),
      ).toBeNull();
    }
  });

  it('the sources answer ERROR about SIMULATED.sourceFailure, whatever the service', () => {
    for (const serviceId of ['dmfa', 'dimona', 'identification']) {
      expect(ask(SIMULATED.sourceFailure, serviceId, ALL)).toEqual({
        ticket: `T-${serviceId}-${SIMULATED.sourceFailure}`,
        status: 'ERROR',
        newNiss: null,
        errorMessage: expect.stringContaining('simulated source failure'),
        payload: null,
      });
    }
  });

  it('every simulated service is owned, in the catalogue, by the source the simulator answers it as', () => {
    for (const [serviceId, source] of Object.entries(SIMULATED_SERVICES)) expect(service(serviceId).source, serviceId).toBe(source);
    expect(SIMULATED_SERVICES['inami-invalidity-entries']).toBe('inami');
  });
});

describe('the switch filters what the simulator over-delivers', () => {
  const decision = decideAuthorization(realIndex(), { requester: 'magda', onBehalfOf: 'vaph', service: 'dmfa', date: '2024-09-02' });
  if (!decision.ok) throw new Error(decision.refusal.detail);

  it.each([
    ['assistant of the VAPH budget holder', SIMULATED.assistantOfVaph, { kind: 'ONSS' as const, id: SIMULATED_EMPLOYERS.budgetHolder.onssNumber }],
    ['interim worker', SIMULATED.interimWorker, { kind: 'ONSS' as const, id: SIMULATED_EMPLOYERS.interimAgency.onssNumber }],
  ])('DmfA for VAPH (10/012), %s: the service blocks (90018) are removed', (_label, niss, employer) => {
    const raw = payloadOf(niss, 'dmfa', H1_2024);
    expect(occupations(raw).some((o) => (o.services as Obj[]).length > 0)).toBe(true);
    const result = filterBlocks({
      payload: raw,
      service: service('dmfa'),
      allowedBlocks: decision.allowedBlocks,
      grantedFields: decision.grantedFields,
      rows: decision.rows,
      employer,
      periods: [H1_2024],
    });
    const filtered = result.payload as Obj;
    expect(result.removedBlocks).toContain('dmfa.service');
    expect(occupations(filtered).length).toBeGreaterThan(0);
    for (const o of occupations(filtered)) {
      expect(o.services).toEqual([]);
      expect(o.usingEmployer ?? null).toBeNull();
    }
    expect(new Set((filtered.employerDeclarations as Obj[]).map((d) => d.onssNumber))).toEqual(new Set([employer.id]));
    expect(result.removedRows.byEmployer + result.removedRows.byPeriod).toBeGreaterThan(0);
    expect(invalidPaths('dmfa', filtered)).toEqual([]);
  });
});
