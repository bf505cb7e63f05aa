/**
 * The simulated sources' CHANGES (src/sources/mutation-simulator.ts) and their encoding for Kafka
 * (src/sources/mutation-publisher.ts): every kind's payload valid against the real payload schema and
 * the SourceMutation against its own, the fields each kind promises, the defaults (the sample persons,
 * today, the last declared quarter), determinism, and the changes the simulated sources refuse to make.
 */
import { describe, expect, it } from 'vitest';
import { payloadRecordNames } from '../../src/config/payload-records.js';
import type { SourceMutationRecord } from '../../src/contract/mutation-records.js';
import { MESSAGE_TYPE, MUTATION_RECORD } from '../../src/contract/names.js';
import { loadAvroCodec } from '../../src/messaging/avro-codec.js';
import { topicNames } from '../../src/messaging/topics.js';
import { encodeSimulatedMutation } from '../../src/sources/mutation-publisher.js';
import {
  defaultSubject,
  findSimulatedEmployer,
  lastDeclaredQuarter,
  MUTATION_KIND_DEFINITIONS,
  MUTATION_KINDS,
  MutationSimulationError,
  simulatedMutation,
  type MutationKind,
  type SimulatedMutation,
  type SimulatedMutationOptions,
} from '../../src/sources/mutation-simulator.js';
import { answerSourceRequest } from '../../src/sources/source-simulator.js';
import { createSyntheticPopulation, SIMULATED, SIMULATED_EMPLOYERS } from '../../src/sources/synthetic-population.js';
import { realCatalogue, SCHEMAS_DIR } from './support/gateway-config.js';

type Obj = Record<string, any>;

const population = createSyntheticPopulation();
const codec = loadAvroCodec(SCHEMAS_DIR);
const payloadRecords = payloadRecordNames(realCatalogue(), SCHEMAS_DIR);
const E = SIMULATED_EMPLOYERS;
const NOW = Date.parse('2026-11-24T09:30:00.000Z');
const TODAY = '2026-11-24';

function simulate(kind: MutationKind, options: Partial<SimulatedMutationOptions> = {}): SimulatedMutation {
  return simulatedMutation(kind, population, { now: NOW, ...options });
}

function payloadOf(m: SimulatedMutation): Obj {
  expect(m.record.payload).not.toBeNull();
  return m.record.payload as Obj;
}

/** The payload through the real schema and back, as plain data (the schema's defaults filled in). */
function roundTrip(m: SimulatedMutation): Obj {
  const name = payloadRecords.get(m.record.service) as string;
  const bytes = codec.encode(name, m.record.payload);
  expect(codec.recordNameOf(bytes)).toBe(name);
  const decoded = codec.decode<Obj>(name, bytes);
  expect(codec.encode(name, decoded)).toEqual(bytes);
  return JSON.parse(JSON.stringify(decoded)) as Obj;
}

function refusal(run: () => unknown): MutationSimulationError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(MutationSimulationError);
    return error as MutationSimulationError;
  }
  throw new Error('expected a MutationSimulationError');
}

/** The record the request simulator holds, to compare a change with. */
function held(niss: string, service: string, period: { from: string; to: string }): Obj {
  const answer = answerSourceRequest(population, { ticket: 't', service, subjectNiss: niss, employer: null, period, blocks: [], deadline: NOW });
  expect(answer?.status).toBe('OK');
  return answer?.payload as Obj;
}

describe('every kind', () => {
  it.each(MUTATION_KINDS)('%s: the payload and the SourceMutation encode with the real schemas', (kind) => {
    const m = simulate(kind);
    expect(roundTrip(m)).toMatchObject(m.record.payload as Obj);
    const encoded = encodeSimulatedMutation(codec, topicNames('bcss'), payloadRecords, m);
    const decoded = codec.decode<SourceMutationRecord>(MUTATION_RECORD.source, encoded.message.value as Buffer);
    expect({ ...decoded, payload: null }).toEqual({ ...m.record, payload: null });
    expect(codec.recordNameOf(decoded.payload as Buffer)).toBe(payloadRecords.get(m.record.service));
  });

  it.each(MUTATION_KINDS)('%s: published by the catalogue’s owner of its service, with the kind’s facts', (kind) => {
    const m = simulate(kind);
    const definition = MUTATION_KIND_DEFINITIONS[kind];
    expect(m.kind).toBe(kind);
    expect(m.source).toBe(realCatalogue().services.get(definition.service)?.source);
    expect(m.record).toMatchObject({
      service: definition.service,
      informationType: definition.informationType,
      changeKind: definition.changeKind,
      subjectNiss: defaultSubject(kind),
      emittedAt: NOW,
    });
    expect(payloadOf(m).niss).toBe(m.record.newNiss ?? m.record.subjectNiss);
  });

  it.each(MUTATION_KINDS)('%s: deterministic; the default id names the change, not the person', (kind) => {
    const a = simulate(kind);
    expect(simulate(kind)).toEqual(a);
    expect(a.record.mutationId).toMatch(new RegExp(`^sim-${kind}-[0-9a-f]{16}$`));
    expect(a.record.mutationId).not.toContain(a.record.subjectNiss);
    expect(simulate(kind, { mutationId: 'ONSS-42' }).record.mutationId).toBe('ONSS-42');
  });

  it('another day or another kind is another id; the clock only stamps emittedAt', () => {
    const ids = new Set([
      simulate('dimona-out').record.mutationId,
      simulate('dimona-out', { effectiveDate: '2026-11-30' }).record.mutationId,
      simulate('address').record.mutationId,
      simulate('address', { niss: SIMULATED.careWorkerIriscare }).record.mutationId,
    ]);
    expect(ids.size).toBe(4);
    const later = simulate('death', { now: NOW + 60_000 });
    expect(later.record.mutationId).toBe(simulate('death').record.mutationId);
    expect(later.record.emittedAt).toBe(NOW + 60_000);
  });
});

describe('dimona-out', () => {
  it('by default the assistant’s employment at the budget holder ends today: that one DIMONA period', () => {
    const m = simulate('dimona-out');
    expect(m.source).toBe('onss');
    expect(m.record).toMatchObject({
      subjectNiss: SIMULATED.assistantOfVaph,
      employer: { kind: 'ONSS', id: E.budgetHolder.onssNumber, category: '000' },
      changeKind: 'ENDED',
      effectiveDate: TODAY,
      newNiss: null,
    });
    const periods = payloadOf(m).dimonaPeriods as Obj[];
    expect(periods).toHaveLength(1);
    expect(periods[0]?.employer.employerIdNumber).toBe(E.budgetHolder.onssNumber);
    expect(periods[0]?.occupation).toMatchObject({ inDate: '2022-09-01', outDate: TODAY });
    expect(periods[0]?.lastDeclarationDate).toBe(TODAY);
    expect(periods[0]?.worker.niss).toBe(SIMULATED.assistantOfVaph);
  });

  it('any person, employer (by number or name) and date the population employs there', () => {
    const m = simulate('dimona-out', { niss: '75.11.02-057.80', employer: 'care-home', effectiveDate: '2025-12-31' });
    expect(m.record.subjectNiss).toBe(SIMULATED.careWorkerIriscare);
    expect(m.record.employer).toEqual({ kind: 'ONSS', id: E.careHome.onssNumber, category: '000' });
    expect((payloadOf(m).dimonaPeriods as Obj[])[0]?.occupation.outDate).toBe('2025-12-31');
    // The supermarket has an ONSS number: that is how the directory links it, whatever DIMONA uses.
    const earlier = simulate('dimona-out', { employer: E.supermarket.enterpriseNumber as string, effectiveDate: '2025-03-31' });
    expect(earlier.record.employer).toEqual({ kind: 'ONSS', id: E.supermarket.onssNumber, category: '000' });
    expect((payloadOf(earlier).dimonaPeriods as Obj[])[0]?.employer.enterpriseNumber).toBe(E.supermarket.enterpriseNumber);
  });

  it('refuses an employment that does not run on the date, and an employer that is not simulated', () => {
    const ended = refusal(() => simulate('dimona-out', { employer: 'supermarket' }));
    expect(ended.option).toBe('effectiveDate');
    expect(ended.message).toContain('2024-02-01..2025-06-30');
    expect(refusal(() => simulate('dimona-out', { effectiveDate: '2022-08-31' })).option).toBe('effectiveDate');
    expect(refusal(() => simulate('dimona-out', { employer: '0999999999' })).option).toBe('employer');
    expect(refusal(() => simulate('dimona-out', { effectiveDate: '2026-02-30' })).option).toBe('effectiveDate');
  });
});

describe('dmfa-correction', () => {
  it('the last quarter over that the simulated DmfA holds', () => {
    expect(lastDeclaredQuarter('2026-11-24')).toBe('2025Q4');
    expect(lastDeclaredQuarter('2025-05-10')).toBe('2025Q1');
    expect(lastDeclaredQuarter('2025-04-01')).toBe('2025Q1');
  });

  it('by default the care worker’s declaration at the care home, remuneration corrected, version 2', () => {
    const m = simulate('dmfa-correction');
    expect(m.record).toMatchObject({
      subjectNiss: SIMULATED.careWorkerIriscare,
      employer: { kind: 'ONSS', id: E.careHome.onssNumber, category: '000' },
      informationType: 'dmfa.correction',
      changeKind: 'CHANGED',
      effectiveDate: '2025-10-01',
    });
    const [declaration, ...others] = payloadOf(m).employerDeclarations as Obj[];
    expect(others).toEqual([]);
    expect(declaration).toMatchObject({ quarter: '2025Q4', onssNumber: E.careHome.onssNumber });
    expect(declaration?.declarationStatus.receivedOn).toBe(TODAY);

    const original = (held(SIMULATED.careWorkerIriscare, 'dmfa', { from: '2025-10-01', to: '2025-12-31' }).employerDeclarations as Obj[]).find(
      (d) => d.quarter === '2025Q4' && d.onssNumber === E.careHome.onssNumber,
    ) as Obj;
    const before = original.naturalPersons[0].workerRecords[0];
    const after = declaration?.naturalPersons[0].workerRecords[0];
    const wage = before.occupations[0].remunerations[0].amount as number;
    expect(after.occupations[0].remunerations[0]).toMatchObject({ amount: Math.round(wage * 1.03), versionNumber: 2 });
    expect(after.occupations[0].versionNumber).toBe(2);
    expect(after.contributions[0]).toMatchObject({ calculationBasis: Math.round(wage * 1.03), amount: Math.round(Math.round(wage * 1.03) * 0.1307), versionNumber: 2 });
    // Only the remuneration and what follows from it change.
    expect(after.occupations[0].services).toEqual(before.occupations[0].services);
  });

  it('any day of a quarter names it; a quarter the simulated DmfA does not hold is refused', () => {
    expect(simulate('dmfa-correction', { effectiveDate: '2024-05-17' }).record.effectiveDate).toBe('2024-04-01');
    const assistant = simulate('dmfa-correction', { niss: SIMULATED.assistantOfVaph, employer: 'budgetHolder', effectiveDate: '2025-02-01' });
    expect((payloadOf(assistant).employerDeclarations as Obj[]).map((d) => [d.quarter, d.onssNumber])).toEqual([['2025Q1', E.budgetHolder.onssNumber]]);
    expect(refusal(() => simulate('dmfa-correction', { effectiveDate: '2026-08-01' })).message).toContain('2023Q1..2025Q4');
    expect(refusal(() => simulate('dmfa-correction', { employer: 'startUp', effectiveDate: '2024-06-01' })).option).toBe('effectiveDate');
  });
});

describe('identification changes', () => {
  const EMPTY = { name: null, birth: null, gender: null, nationalities: [], civilStatus: null, photo: null };

  it('address: the new main residence from the date, with the register block; nothing else', () => {
    const m = simulate('address');
    expect(m.source).toBe('bcss-registers');
    expect(m.record).toMatchObject({ employer: null, changeKind: 'CHANGED', effectiveDate: TODAY, informationType: 'identification.address' });
    const payload = payloadOf(m);
    expect(payload).toMatchObject({ ...EMPTY, decease: null, register: { register: 'RN', lastChange: TODAY } });
    expect(payload.mainResidence.since).toBe(TODAY);
    const before = population.persons.get(SIMULATED.assistantOfVaph)?.address;
    expect(payload.mainResidence.address.street).not.toBe(before?.street);
  });

  it('death: the recorded death of the deceased by default; another person dies today where they live', () => {
    const m = simulate('death');
    expect(m.record).toMatchObject({ subjectNiss: SIMULATED.deceased, changeKind: 'ADDED', effectiveDate: '2024-08-17' });
    expect(payloadOf(m)).toMatchObject({ ...EMPTY, mainResidence: null, decease: { date: '2024-08-17', place: 'Namur' } });
    const other = simulate('death', { niss: SIMULATED.neverEmployed });
    expect(other.record.effectiveDate).toBe(TODAY);
    expect(payloadOf(other).decease).toEqual({ date: TODAY, place: 'Charleroi' });
  });

  it('bis-replaced: the new number, and the record as the National Register now holds it', () => {
    const m = simulate('bis-replaced');
    expect(m.record).toMatchObject({
      subjectNiss: SIMULATED.replacedBis,
      newNiss: SIMULATED.replacingNiss,
      changeKind: 'CHANGED',
      effectiveDate: '2023-09-18',
      employer: null,
    });
    const payload = payloadOf(m);
    expect(payload.niss).toBe(SIMULATED.replacingNiss);
    expect(payload.register).toEqual({ register: 'RN', lastChange: '2023-09-18' });
    expect(payload.name).toEqual({ lastName: 'Kovalenko', firstNames: ['Olena'] });
  });

  it('refuses what the registers would not publish', () => {
    expect(refusal(() => simulate('bis-replaced', { niss: SIMULATED.assistantOfVaph })).option).toBe('niss');
    expect(refusal(() => simulate('address', { niss: SIMULATED.deceased })).message).toContain('died on 2024-08-17');
    expect(refusal(() => simulate('address', { niss: SIMULATED.replacedBis })).message).toContain(SIMULATED.replacingNiss);
    expect(refusal(() => simulate('address', { employer: 'careHome' })).option).toBe('employer');
  });
});

describe('refused input', () => {
  it('a NISS that is invalid, or nobody of the population, or a fault scenario person', () => {
    expect(refusal(() => simulate('address', { niss: '88031412465' })).option).toBe('niss');
    expect(refusal(() => simulate('address', { niss: '69122414690' })).message).toMatch(/nobody|check/);
    expect(refusal(() => simulate('address', { niss: SIMULATED.unanswered })).message).toContain('fault scenario');
    expect(refusal(() => simulate('dimona-out', { niss: SIMULATED.sourceFailure, employer: 'supermarket', effectiveDate: '2024-01-01' })).option).toBe('niss');
  });

  it('an unknown kind, a clock that is not one', () => {
    expect(refusal(() => simulatedMutation('promotion' as MutationKind, population, { now: NOW })).option).toBe('kind');
    expect(refusal(() => simulatedMutation('address', population, { now: Number.NaN })).option).toBe('now');
  });

  it('employers by any of their numbers or by name', () => {
    expect(findSimulatedEmployer(E.careHome.onssNumber)).toBe(E.careHome);
    expect(findSimulatedEmployer(`BE ${E.careHome.enterpriseNumber}`)).toBe(E.careHome);
    expect(findSimulatedEmployer(E.startUp.provisionalOnssNumber)).toBe(E.startUp);
    expect(findSimulatedEmployer('Budget-Holder')).toBe(E.budgetHolder);
    expect(findSimulatedEmployer('12345')).toBeNull();
  });
});

describe('encodeSimulatedMutation', () => {
  it('on the source’s mutations topic, as source-<src>, keyed by the subject NISS', () => {
    const topics = topicNames('demo-x');
    const dimona = encodeSimulatedMutation(codec, topics, payloadRecords, simulate('dimona-out'));
    expect(dimona).toMatchObject({ source: 'onss', principal: 'source-onss', topic: 'demo-x.source.onss.mutations' });
    expect(dimona.message.key).toBe(SIMULATED.assistantOfVaph);
    expect(dimona.message.headers).toEqual({ type: MESSAGE_TYPE.sourceMutation, mutationId: simulate('dimona-out').record.mutationId });
    const replaced = encodeSimulatedMutation(codec, topics, payloadRecords, simulate('bis-replaced'));
    expect(replaced).toMatchObject({ principal: 'source-bcss-registers', topic: 'demo-x.source.bcss-registers.mutations' });
    // Keyed by the number the change is about, so that it stays in order with that number's earlier changes.
    expect(replaced.message.key).toBe(SIMULATED.replacedBis);
  });

  it('a payload that does not fit its schema is not encoded', () => {
    const m = simulate('address');
    const broken: SimulatedMutation = { ...m, record: { ...m.record, payload: { ...payloadOf(m), mainResidence: { since: 'yesterday' } } } };
    expect(() => encodeSimulatedMutation(codec, topicNames('bcss'), payloadRecords, broken)).toThrow(/mainResidence/);
  });
});
