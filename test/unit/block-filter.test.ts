/**
 * Block filtering on the synthetic payload fixtures (test/fixtures/payloads): authorized blocks only,
 * the ancestors needed to reach them reduced to their keys, rows of other employers / categories /
 * periods dropped, unknown content failing closed, the input never touched.
 *
 * Where a test filters as a real deliberation does, it takes the real decision's blocks, field lists and
 * row conditions (`grantOf`), so the fields a grant does not name are null; where it sets a list of blocks
 * of its own (block, row and period mechanics), every field of every block is granted (`everyField`).
 *
 * The DmfA fixture: one worker (NISS 85073003328) declared by
 *   A  ONSS 100012345 / enterprise 0412345614 — 2023Q4, 2024Q1, 2024Q2 (the 2024Q2 one has two occupations)
 *   B  ONSS 200067890 / enterprise 0876543270 — temporary-work agency, 2024Q1, worker records of
 *      categories 084 and 484, interim occupations (joint committee 322) with a using employer (90107)
 *   C  ONSS 300054321 / enterprise 0203123443 — public care structure, 2024Q2, public-sector data
 */
import { describe, expect, it } from 'vitest';
import { decideAuthorization, type AuthorizationGrant } from '../../src/domain/authorization.js';
import { filterBlocks, type BlockFilterInput } from '../../src/domain/block-filter.js';
import type { EmployerRef } from '../../src/domain/types.js';
import { loadCatalogue } from '../../src/config/load-catalogue.js';
import { CATALOGUE_DIR, SCHEMAS_DIR, deepFreeze, everyField, fixture, invalidPaths, payloadType, realIndex, service } from './support/gateway-config.js';

type Obj = Record<string, any>;

const A_ONSS: EmployerRef = { kind: 'ONSS', id: '100012345' };
const A_ENTERPRISE: EmployerRef = { kind: 'ENTERPRISE', id: '0412345614' };
const B_ONSS: EmployerRef = { kind: 'ONSS', id: '200067890' };
const C_ONSS: EmployerRef = { kind: 'ONSS', id: '300054321' };
const H1_2024 = [{ from: '2024-01-01', to: '2024-06-30' }];

function decisionFor(requester: string, serviceId: string, extra: { onBehalfOf?: string; requestedBlocks?: string[] } = {}): AuthorizationGrant {
  const decision = decideAuthorization(realIndex(), { requester, service: serviceId, date: '2024-09-02', ...extra });
  if (!decision.ok) throw new Error(decision.refusal.detail);
  return decision;
}

/** What the real decision lets through: its blocks, the fields it grants of each, its row conditions. */
function grantOf(decision: AuthorizationGrant): Pick<BlockFilterInput, 'allowedBlocks' | 'grantedFields' | 'rows'> {
  return { allowedBlocks: decision.allowedBlocks, grantedFields: decision.grantedFields, rows: decision.rows };
}

function grantFor(requester: string, serviceId: string, extra: { onBehalfOf?: string; requestedBlocks?: string[] } = {}) {
  return grantOf(decisionFor(requester, serviceId, extra));
}

const VAPH = grantFor('magda', 'dmfa', { onBehalfOf: 'vaph' });
const VAPH_DMFA = VAPH.allowedBlocks as readonly string[];
const IRISCARE = grantFor('iriscare', 'dmfa');
/** Every field of every DmfA block: for the tests of block, row and period mechanics with lists of blocks of their own. */
const DMFA_ALL_FIELDS = everyField('dmfa');

/** DmfA as VAPH receives it (10/012): its blocks, the fields §8 names, no row condition. */
function filterDmfa(input: Partial<BlockFilterInput>) {
  return filterBlocks({ payload: fixture('dmfa.json'), service: service('dmfa'), ...VAPH, ...input });
}

function declarations(payload: Obj): Array<[string, string]> {
  return (payload.employerDeclarations as Obj[]).map((d) => [d.onssNumber, d.quarter]);
}

function occupations(payload: Obj): Obj[] {
  return (payload.employerDeclarations as Obj[]).flatMap((d) =>
    (d.naturalPersons as Obj[]).flatMap((p) => (p.workerRecords as Obj[]).flatMap((w) => w.occupations as Obj[])),
  );
}

describe('DmfA for VAPH (10/012): one employer–worker link, one period', () => {
  const result = filterDmfa({ employer: A_ONSS, periods: H1_2024 });
  const payload = result.payload as Obj;

  it('keeps only the declarations of the employer asked, in the period: A 2024Q1 and A 2024Q2', () => {
    expect(declarations(payload)).toEqual([
      ['100012345', '2024Q1'],
      ['100012345', '2024Q2'],
    ]);
    expect(result.removedRows).toEqual({ byEmployer: 2, byEmployerCategory: 0, byPeriod: 1, byPopulation: 0 });
  });

  it('keeps an occupation that overlaps the period, even if it started before it', () => {
    expect(occupations(payload).map((o) => [o.startDate, o.endDate])).toEqual([
      ['2023-10-02', null],
      ['2023-10-02', '2024-04-15'],
      ['2024-05-02', null],
    ]);
  });

  it('removes the services (90018) and the other blocks 10/012 does not list, and says so', () => {
    for (const o of occupations(payload)) {
      expect(o.services).toEqual([]);
      expect(o.occupationInformation).toBeNull();
      expect(o.remunerations.length).toBeGreaterThan(0);
    }
    expect(result.removedBlocks).toEqual(['dmfa.service', 'dmfa.occupation-information', 'dmfa.contribution-unrelated-to-person']);
    expect(result.reducedToKeys).toEqual([]);
  });

  it('delivers the authorized blocks with the fields 10/012 §8 names (the others null), and the technical declaration status whole', () => {
    const q1 = (payload.employerDeclarations as Obj[])[0] as Obj;
    expect(q1.registrationSource).toBe('ONSS');
    // §8 names quarter, registration number, source code and enterprise number: not the net amount due.
    expect(q1.netAmountDue).toBeNull();
    expect(q1.declarationStatus).toEqual({ declarationReference: 'DMFA-100012345-2024Q1', attestationStatus: 'ACCEPTED', receivedOn: null });
    const person = (q1.naturalPersons as Obj[])[0] as Obj;
    // §8: the natural person's sequence number and NISS only — no name, no address.
    expect(person.niss).toBe('85073003328');
    expect(person.lastName).toBeNull();
    expect(person.address).toBeNull();
    const record = (person.workerRecords as Obj[])[0] as Obj;
    // §8: early-retirement code and amount, not the number of months.
    expect(record.earlyRetirementContributions).toEqual([{ earlyRetirementCode: '01', monthsNumber: null, amount: 9000 }]);
    expect(record.contributions).toHaveLength(1);
    // §8 does not name the calculation basis of the contribution.
    expect(record.contributions[0].calculationBasis).toBeNull();
    expect(record.contributions[0].amount).toBe(160640);
  });

  it('reports by name every field withheld that held a value, in catalogue order', () => {
    expect(result.removedFields).toEqual([
      'dmfa.employer-declaration.curatorship',
      'dmfa.employer-declaration.netAmountDue',
      'dmfa.natural-person.lastName',
      'dmfa.natural-person.firstName',
      'dmfa.natural-person.birthDate',
      'dmfa.natural-person.birthPlace',
      'dmfa.natural-person.gender',
      'dmfa.natural-person.address',
      'dmfa.natural-person.nationality',
      'dmfa.natural-person.oriolusValidation',
      'dmfa.worker-record.frontierWorker',
      'dmfa.occupation.daysPerWeek',
      'dmfa.occupation.meanWorkingHours',
      'dmfa.occupation.referenceMeanWorkingHours',
      'dmfa.occupation.retired',
      'dmfa.occupation.functionNumber',
      'dmfa.occupation.localUnitId',
      'dmfa.worker-contribution.calculationBasis',
      'dmfa.early-retirement-contribution.monthsNumber',
    ]);
  });

  it('does not report blocks that only other employers\' rows held (B\'s using employer, C\'s public-sector data)', () => {
    expect(result.removedBlocks).not.toContain('dmfa.using-employer');
    expect(result.removedBlocks).not.toContain('dmfa.public-sector-occupation');
  });

  it('the same link asked by enterprise number gives the same answer', () => {
    expect(filterDmfa({ employer: A_ENTERPRISE, periods: H1_2024 }).payload).toEqual(payload);
  });

  it('the filtered payload is valid for the DmfA schema and survives an Avro round trip', () => {
    const type = payloadType('dmfa');
    expect(invalidPaths(type, payload)).toEqual([]);
    expect(type.fromBuffer(type.toBuffer(payload))).toEqual(payload);
  });
});

describe('interim work: the agency, the employer category, the using employer (90107)', () => {
  it('10/012 §9: the agency with employer category 084 gets the 084 worker record only', () => {
    const result = filterDmfa({ employer: B_ONSS, employerCategory: '084', periods: H1_2024 });
    const records = (result.payload as Obj).employerDeclarations.flatMap((d: Obj) => d.naturalPersons.flatMap((p: Obj) => p.workerRecords));
    expect(records.map((r: Obj) => r.employerCategory)).toEqual(['084']);
    expect(result.removedRows).toEqual({ byEmployer: 4, byEmployerCategory: 1, byPeriod: 0, byPopulation: 0 });
  });

  it('an employer category written as a number or without leading zeros matches', () => {
    const a = filterDmfa({ employer: B_ONSS, employerCategory: '84', periods: H1_2024 }).payload;
    expect(a).toEqual(filterDmfa({ employer: B_ONSS, employerCategory: '084', periods: H1_2024 }).payload);
  });

  it('VAPH is not authorized for the using employer: it is withheld and reported', () => {
    const result = filterDmfa({ employer: B_ONSS, periods: H1_2024 });
    const occ = occupations(result.payload as Obj);
    expect(occ.map((o) => o.jointCommittee)).toEqual(['322', '322']);
    expect(occ.map((o) => o.usingEmployer)).toEqual([null, null]);
    expect(result.removedBlocks).toContain('dmfa.using-employer');
  });

  it('IRISCARE (19/104 §7) gets the using employer of the interim occupations', () => {
    const result = filterDmfa({ ...IRISCARE, employer: B_ONSS, periods: H1_2024 });
    expect(occupations(result.payload as Obj).map((o) => o.usingEmployer?.name)).toEqual(['Zorgcentrum De Linde', 'Dagcentrum Het Anker']);
    expect(result.removedBlocks).not.toContain('dmfa.using-employer');
    expect(result.removedBlocks).toContain('dmfa.remuneration');
  });
});

describe('DmfA for IRISCARE (19/104): public care structure', () => {
  const result = filterDmfa({ ...IRISCARE, employer: C_ONSS, periods: [{ from: '2024-04-01', to: '2024-06-30' }] });
  const occ = occupations(result.payload as Obj);

  it('keeps the public-sector data and the services, withholds remuneration, contributions and reductions', () => {
    expect(occ).toHaveLength(1);
    expect(occ[0]?.publicSectorOccupations).toHaveLength(1);
    expect(occ[0]?.services).toHaveLength(1);
    expect(occ[0]?.remunerations).toEqual([]);
    expect(result.removedBlocks).toEqual(['dmfa.remuneration', 'dmfa.worker-contribution', 'dmfa.contribution-unrelated-to-person']);
  });

  it('is valid for the schema', () => {
    expect(invalidPaths(payloadType('dmfa'), result.payload)).toEqual([]);
  });
});

describe('ancestors kept to reach an authorized child', () => {
  const result = filterDmfa({ allowedBlocks: ['dmfa.remuneration'], grantedFields: DMFA_ALL_FIELDS, employer: A_ONSS, periods: [{ from: '2024-01-01', to: '2024-03-31' }] });
  const declaration = (result.payload as Obj).employerDeclarations[0] as Obj;
  const person = declaration.naturalPersons[0] as Obj;
  const record = person.workerRecords[0] as Obj;
  const occupation = record.occupations[0] as Obj;

  it('90007, 90017, 90012, 90015 keep their key fields only; their other fields are null', () => {
    expect(declaration.quarter).toBe('2024Q1');
    expect(declaration.onssNumber).toBe('100012345');
    expect(declaration.netAmountDue).toBeNull();
    expect(person.niss).toBe('85073003328');
    expect(person.lastName).toBeNull();
    expect(person.address).toBeNull();
    expect(record.employerCategory).toBe('000');
    expect(record.frontierWorker).toBeNull();
    expect(occupation.sequenceNumber).toBe(1);
    expect(occupation.startDate).toBeNull();
    expect(occupation.jointCommittee).toBeNull();
  });

  it('the authorized child is delivered whole, the unauthorized siblings are emptied', () => {
    expect(occupation.remunerations).toEqual([
      { sequenceNumber: 1, remunerationCode: '1', frequencyInMonths: null, percentageOnYearlyBasis: null, amount: 640000, versionNumber: 1 },
    ]);
    expect(occupation.services).toEqual([]);
    expect(record.contributions).toEqual([]);
    expect(declaration.contributionsUnrelatedToNaturalPerson).toEqual([]);
  });

  it('technical blocks under a kept ancestor are delivered', () => {
    expect(declaration.declarationStatus?.attestationStatus).toBe('ACCEPTED');
  });

  it('reports the ancestors as reduced to keys', () => {
    expect(result.reducedToKeys).toEqual(['dmfa.employer-declaration', 'dmfa.natural-person', 'dmfa.worker-record', 'dmfa.occupation']);
    expect(result.removedBlocks).toEqual(expect.arrayContaining([...result.reducedToKeys, 'dmfa.service', 'dmfa.worker-contribution']));
  });

  it('is valid for the schema', () => {
    expect(invalidPaths(payloadType('dmfa'), result.payload)).toEqual([]);
  });

  it('under a field-level grant, an ancestor kept to reach its child shows only the keys its own grant names', () => {
    const r = filterDmfa({
      allowedBlocks: ['dmfa.remuneration'],
      grantedFields: { ...DMFA_ALL_FIELDS, 'dmfa.employer-declaration': ['quarter'], 'dmfa.natural-person': ['niss'] },
      employer: A_ONSS,
      periods: [{ from: '2024-01-01', to: '2024-03-31' }],
    });
    const d = (r.payload as Obj).employerDeclarations[0] as Obj;
    expect([d.quarter, d.onssNumber, d.enterpriseNumber]).toEqual(['2024Q1', null, null]);
    const p = d.naturalPersons[0] as Obj;
    expect([p.sequenceNumber, p.niss]).toEqual([null, '85073003328']);
    expect(p.workerRecords[0].employerCategory).toBe('000');
    expect(r.reducedToKeys).toEqual(result.reducedToKeys);
    expect(invalidPaths(payloadType('dmfa'), r.payload)).toEqual([]);
  });

  it('with nothing authorized, nothing but the root is left', () => {
    const none = filterDmfa({ allowedBlocks: [], grantedFields: DMFA_ALL_FIELDS });
    expect(none.payload).toEqual({ niss: '85073003328', employerDeclarations: [] });
    expect(none.removedBlocks).toContain('dmfa.employer-declaration');
    expect(none.removedBlocks).toContain('dmfa.remuneration');
  });
});

describe('periods', () => {
  it('absent: no period filter', () => {
    expect(declarations(filterDmfa({}).payload as Obj)).toHaveLength(5);
  });

  it('an empty list: no day is in the period, every dated row goes', () => {
    const r = filterDmfa({ periods: [] });
    expect(declarations(r.payload as Obj)).toEqual([]);
    expect(r.removedRows.byPeriod).toBe(5);
  });

  it('several disjoint periods: a row overlapping any of them stays', () => {
    const r = filterDmfa({
      employer: A_ONSS,
      periods: [
        { from: '2023-12-31', to: '2023-12-31' },
        { from: '2024-05-01', to: null },
      ],
    });
    expect(declarations(r.payload as Obj)).toEqual([
      ['100012345', '2023Q4'],
      ['100012345', '2024Q2'],
    ]);
    // The 2024Q2 occupation that ended on 2024-04-15 began in 2023: it overlaps the first period.
    expect(occupations(r.payload as Obj).map((o) => [o.startDate, o.endDate])).toEqual([
      ['2023-10-02', null],
      ['2023-10-02', '2024-04-15'],
      ['2024-05-02', null],
    ]);
    expect(r.removedRows.byPeriod).toBe(1);
  });

  it('an occupation entirely outside the period is dropped inside a declaration that stays', () => {
    const r = filterDmfa({ employer: A_ONSS, periods: [{ from: '2024-05-01', to: null }] });
    expect(declarations(r.payload as Obj)).toEqual([['100012345', '2024Q2']]);
    expect(occupations(r.payload as Obj).map((o) => o.sequenceNumber)).toEqual([2]);
    expect(r.removedRows.byPeriod).toBe(3);
  });

  it('a period touching a quarter only on its last day keeps that quarter', () => {
    const r = filterDmfa({ employer: A_ONSS, periods: [{ from: '2024-03-31', to: '2024-03-31' }] });
    expect(declarations(r.payload as Obj)).toEqual([['100012345', '2024Q1']]);
  });

  it('quarters written 20241 (DmfA\'s own form) or 2024-Q1 are read; an unreadable period drops the row (fail closed)', () => {
    const payload = fixture('dmfa.json') as Obj;
    payload.employerDeclarations[0].quarter = '20234';
    payload.employerDeclarations[1].quarter = '2024-Q1';
    payload.employerDeclarations[4].quarter = 'Q2 2024';
    const r = filterBlocks({ payload, service: service('dmfa'), ...VAPH, employer: A_ONSS, periods: [{ from: '2023-01-01', to: null }] });
    expect(declarations(r.payload as Obj)).toEqual([
      ['100012345', '20234'],
      ['100012345', '2024-Q1'],
    ]);
    expect(r.removedRows.byPeriod).toBe(1);
  });

  it('an occupation with an unreadable start date is dropped when a period is asked, kept when none is', () => {
    const payload = fixture('dmfa.json') as Obj;
    payload.employerDeclarations[1].naturalPersons[0].workerRecords[0].occupations[0].startDate = '2023-13-45';
    const withPeriod = filterBlocks({ payload, service: service('dmfa'), ...VAPH, employer: A_ONSS, periods: H1_2024 });
    expect(occupations(withPeriod.payload as Obj)).toHaveLength(2);
    const without = filterBlocks({ payload, service: service('dmfa'), ...VAPH, employer: A_ONSS });
    expect(occupations(without.payload as Obj)).toHaveLength(4);
  });
});

describe('employers', () => {
  it('formatted numbers in the answer match the normalised digits asked', () => {
    const payload = fixture('dmfa.json') as Obj;
    for (const d of payload.employerDeclarations) d.enterpriseNumber = d.enterpriseNumber.replace(/^(\d{4})(\d{3})(\d{3})$/, '$1.$2.$3');
    const r = filterBlocks({ payload, service: service('dmfa'), ...VAPH, employer: A_ENTERPRISE });
    expect(declarations(r.payload as Obj).map(([onss]) => onss)).toEqual(['100012345', '100012345', '100012345']);
  });

  it('a kind of id the service cannot match (a provisional number for DmfA) matches nothing', () => {
    const r = filterDmfa({ employer: { kind: 'ONSS_PROVISIONAL', id: '100012345' } });
    expect(declarations(r.payload as Obj)).toEqual([]);
    expect(r.removedRows.byEmployer).toBe(5);
  });

  it('no employer asked: every employer\'s rows', () => {
    expect(filterDmfa({ periods: H1_2024 }).removedRows.byEmployer).toBe(0);
  });
});

describe('DIMONA', () => {
  const VAPH_DIMONA = grantFor('magda', 'dimona', { onBehalfOf: 'vaph' });
  const filterDimona = (input: Partial<BlockFilterInput>) =>
    filterBlocks({ payload: fixture('dimona.json'), service: service('dimona'), ...VAPH_DIMONA, ...input });
  const ids = (payload: Obj) => (payload.dimonaPeriods as Obj[]).map((p) => p.dimonaPeriodId);

  it('in and out dates decide the period: Feb–Mar 2024 keeps the open occupation and the one-week interim', () => {
    const r = filterDimona({ periods: [{ from: '2024-02-01', to: '2024-03-31' }] });
    expect(ids(r.payload as Obj)).toEqual([700001, 700004]);
    expect(r.removedRows.byPeriod).toBe(3);
  });

  it('the employer id kind and number are matched together; the enterprise number also matches', () => {
    expect(ids(filterDimona({ employer: A_ONSS }).payload as Obj)).toEqual([700001, 700002]);
    expect(ids(filterDimona({ employer: A_ENTERPRISE }).payload as Obj)).toEqual([700001, 700002]);
    expect(ids(filterDimona({ employer: { kind: 'ONSS_PROVISIONAL', id: '5100098765' } }).payload as Obj)).toEqual([700005]);
    expect(ids(filterDimona({ employer: { kind: 'ONSS', id: '5100098765' } }).payload as Obj)).toEqual([]);
  });

  it('joint committee 322: the interim period carries its using employer', () => {
    const r = filterDimona({ employer: B_ONSS, employerCategory: '084' });
    const period = (r.payload as Obj).dimonaPeriods[0] as Obj;
    expect(period.occupation.jointCommittee).toBe('322');
    // 10/012 §7: the user's identifying numbers make the link; its name and address are not granted.
    expect(period.usingEmployer).toEqual({
      employerIdKind: 'ENTERPRISE',
      employerIdNumber: '0789123407',
      enterpriseNumber: '0789123407',
      name: null,
      address: null,
    });
    expect(r.removedFields).toContain('dimona.using-employer.name');
    expect(r.removedRows).toEqual({ byEmployer: 3, byEmployerCategory: 1, byPeriod: 0, byPopulation: 0 });
  });

  it('only the occupation authorized: employer, user and worker blocks are null, the technical period stays', () => {
    const r = filterDimona({ allowedBlocks: ['dimona.occupation'], grantedFields: everyField('dimona'), employer: A_ONSS });
    const period = (r.payload as Obj).dimonaPeriods[0] as Obj;
    expect(period).toMatchObject({ dimonaPeriodId: 700001, employer: null, usingEmployer: null, worker: null });
    expect(period.occupation.inDate).toBe('2023-10-02');
    expect(r.removedBlocks).toEqual(['dimona.employer', 'dimona.worker']);
    expect(invalidPaths(payloadType('dimona'), r.payload)).toEqual([]);
  });
});

describe('unknown content fails closed (13/126 only for plain fields of delivered blocks)', () => {
  function withUnknowns(): Obj {
    const payload = fixture('dmfa.json') as Obj;
    const occupation = payload.employerDeclarations[1].naturalPersons[0].workerRecords[0].occupations[0];
    occupation.greenMobilityDays = 12; // a plain field added to 90015 after the deliberation
    occupation.secondPillar = { insurer: 'X', amount: 100 }; // a block the catalogue does not know
    occupation.trainingDays = [{ day: '2024-02-01' }]; // a list of records: a block, unknown
    payload.employerDeclarations[1].naturalPersons[0].workerRecords[0].occupations[0].services[0].extraCode = 'Z';
    payload.employerDeclarations[1].cuRebate = 7; // plain field in 90007
    payload.requestTrace = 'abc'; // plain field at the root
    return payload;
  }
  // 13/126 covers blocks granted whole: every field of every block here.
  const run = (includeFutureFields: boolean | undefined, allowedBlocks = VAPH_DMFA) =>
    filterBlocks({
      payload: withUnknowns(),
      service: service('dmfa'),
      allowedBlocks,
      grantedFields: DMFA_ALL_FIELDS,
      employer: A_ONSS,
      periods: H1_2024,
      includeFutureFields,
    });

  it('with 13/126: a new plain field of an authorized block passes; unknown blocks never do', () => {
    const r = run(true);
    const occ = occupations(r.payload as Obj)[0] as Obj;
    expect(occ.greenMobilityDays).toBe(12);
    expect(occ).not.toHaveProperty('secondPillar');
    expect(occ).not.toHaveProperty('trainingDays');
    expect((r.payload as Obj).requestTrace).toBe('abc');
    expect(r.removedUnknown).toEqual(['dmfa.occupation/secondPillar', 'dmfa.occupation/trainingDays']);
  });

  it('without 13/126 (the default): every unknown field is removed and reported', () => {
    const r = run(undefined);
    const occ = occupations(r.payload as Obj)[0] as Obj;
    expect(occ).not.toHaveProperty('greenMobilityDays');
    expect((r.payload as Obj).employerDeclarations[0]).not.toHaveProperty('cuRebate');
    expect(r.removedUnknown).toEqual([
      'dmfa.employer-declaration/cuRebate',
      'dmfa.occupation/greenMobilityDays',
      'dmfa.occupation/secondPillar',
      'dmfa.occupation/trainingDays',
      'dmfa/requestTrace',
    ]);
  });

  it('a new field of a block that is not authorized does not pass, even with 13/126', () => {
    const r = run(true);
    expect(occupations(r.payload as Obj)[0]?.services).toEqual([]);
    expect(r.removedUnknown).not.toContain('dmfa.service/extraCode');
  });

  it('a new field of a block granted field by field does not pass, even with 13/126 (it names no such field)', () => {
    const r = filterBlocks({
      payload: withUnknowns(),
      service: service('dmfa'),
      allowedBlocks: VAPH_DMFA,
      grantedFields: { ...DMFA_ALL_FIELDS, 'dmfa.occupation': ['sequenceNumber', 'startDate', 'endDate'] },
      employer: A_ONSS,
      periods: H1_2024,
      includeFutureFields: true,
    });
    expect(occupations(r.payload as Obj)[0]).not.toHaveProperty('greenMobilityDays');
    expect(r.removedUnknown).toContain('dmfa.occupation/greenMobilityDays');
    expect((r.payload as Obj).employerDeclarations[0].cuRebate).toBe(7);
  });

  it('a new field of an ancestor kept only for its keys does not pass, even with 13/126', () => {
    const r = run(true, ['dmfa.remuneration']);
    expect((r.payload as Obj).employerDeclarations[0]).not.toHaveProperty('cuRebate');
    expect(occupations(r.payload as Obj)[0]).not.toHaveProperty('greenMobilityDays');
    expect(r.removedUnknown).toContain('dmfa.occupation/greenMobilityDays');
  });

  it('a list block that is not a list, or a record block that is not a record, is emptied', () => {
    const payload = fixture('dmfa.json') as Obj;
    payload.employerDeclarations[1].naturalPersons[0].workerRecords[0].occupations = 'not a list';
    payload.employerDeclarations[1].naturalPersons[0].workerRecords[0].studentContribution = [1, 2];
    const r = filterBlocks({ payload, service: service('dmfa'), ...VAPH, employer: A_ONSS, periods: H1_2024 });
    const record = (r.payload as Obj).employerDeclarations[0].naturalPersons[0].workerRecords[0];
    expect(record.occupations).toEqual([]);
    expect(record.studentContribution).toBeNull();
    expect(r.removedUnknown).toEqual(['dmfa.occupation/(not a list)', 'dmfa.student-contribution/(not a record)']);
  });
});

describe('the input', () => {
  it('is never mutated (deep-frozen input, equal before and after) and shares no object with the output', () => {
    const input = deepFreeze(fixture('dmfa.json'));
    const before = JSON.stringify(input);
    const r = filterBlocks({ payload: input, service: service('dmfa'), allowedBlocks: ['dmfa.remuneration'], grantedFields: DMFA_ALL_FIELDS, employer: A_ONSS, periods: H1_2024 });
    expect(JSON.stringify(input)).toBe(before);
    const out = r.payload as Obj;
    expect(out).not.toBe(input);
    const inPerson = (input as Obj).employerDeclarations[1].naturalPersons[0];
    const outPerson = out.employerDeclarations[0].naturalPersons[0];
    expect(outPerson).not.toBe(inPerson);
    const full = filterBlocks({ payload: input, service: service('dmfa'), allowedBlocks: VAPH_DMFA, grantedFields: DMFA_ALL_FIELDS });
    const fullPerson = (full.payload as Obj).employerDeclarations[1].naturalPersons[0];
    expect(fullPerson.address).toEqual(inPerson.address);
    expect(fullPerson.address).not.toBe(inPerson.address);
  });

  it('may be the records avsc decodes (class instances, not plain objects)', () => {
    const type = payloadType('dmfa');
    const decoded = type.fromBuffer(type.toBuffer(fixture('dmfa.json')));
    expect(Object.getPrototypeOf(decoded)).not.toBe(Object.prototype);
    const fromDecoded = filterBlocks({ payload: decoded, service: service('dmfa'), ...VAPH, employer: A_ONSS, periods: H1_2024 });
    expect(fromDecoded.payload).toEqual(filterDmfa({ employer: A_ONSS, periods: H1_2024 }).payload);
  });

  it('binary values (the identity photo) are delivered as they are when authorized, withheld otherwise', () => {
    const payload = fixture('identification.json') as Obj;
    payload.photo = { image: Buffer.from([0xff, 0xd8, 0xff, 0xe0]), takenOn: '2021-05-04' };
    const onva = filterBlocks({ payload, service: service('identification'), ...grantFor('onva', 'identification') });
    expect(Buffer.isBuffer((onva.payload as Obj).photo.image)).toBe(true);
    expect(invalidPaths(payloadType('identification'), onva.payload)).toEqual([]);
    const vaph = filterBlocks({
      payload,
      service: service('identification'),
      ...grantFor('magda', 'identification', { onBehalfOf: 'vaph' }),
    });
    expect((vaph.payload as Obj).photo).toBeNull();
    expect(vaph.removedBlocks).toEqual(['identification.photo']);
  });

  it('anything but a record gives an empty payload', () => {
    expect(filterBlocks({ payload: null, service: service('dmfa'), ...VAPH }).payload).toEqual({});
    expect(filterBlocks({ payload: [1], service: service('dmfa'), ...VAPH }).payload).toEqual({});
  });
});

describe('the other services', () => {
  it('22/046: the invalidity list is cut to the entries whose invalidity started in the period', () => {
    const r = filterBlocks({
      payload: fixture('inami-invalidity-entries.json'),
      service: service('inami-invalidity-entries'),
      ...grantFor('onss', 'inami-invalidity-entries'),
      periods: [{ from: '2023-05-01', to: '2023-05-31' }],
    });
    expect((r.payload as Obj).entries.map((e: Obj) => e.niss)).toEqual(['90021512370']);
    expect((r.payload as Obj).quarter).toBe('2023Q2');
    expect(r.removedBlocks).toEqual([]);
  });

  it('19/010: ONEm allowances, RGTI activities and INAMI incapacity periods are cut to the period', () => {
    const p = [{ from: '2024-01-01', to: '2024-12-31' }];
    const onem = filterBlocks({ payload: fixture('onem-allowances.json'), service: service('onem-allowances'), ...grantFor('onva', 'onem-allowances'), periods: p });
    expect((onem.payload as Obj).allowances.map((a: Obj) => a.startDate)).toEqual(['2024-03-01']);
    const rgti = filterBlocks({ payload: fixture('rgti.json'), service: service('rgti'), ...grantFor('onva', 'rgti'), periods: p });
    expect((rgti.payload as Obj).activities.map((a: Obj) => a.startDate)).toEqual(['2024-01-01']);
    expect((rgti.payload as Obj).message.messageNumber).toBe('RGTI-55501');
    const inami = filterBlocks({ payload: fixture('inami-incapacity.json'), service: service('inami-incapacity'), ...grantFor('onva', 'inami-incapacity'), periods: p });
    expect((inami.payload as Obj).incapacityPeriods.map((a: Obj) => a.quarter)).toEqual(['2024Q2']);
  });
});

describe('the filter plan kept per service and grant', () => {
  // A catalogue loaded on its own: new service objects, so its plans are built afresh on every call here.
  const freshService = (id: string) => {
    const s = loadCatalogue(CATALOGUE_DIR, { schemasDir: SCHEMAS_DIR }).services.get(id);
    if (!s) throw new Error(`no service ${id}`);
    return s;
  };
  const once = function* (blocks: readonly string[]) {
    yield* blocks;
  };

  it('gives every grant its own answer, asked in any order and again, as a plan built for that call alone would', () => {
    const onlyServices = { allowedBlocks: ['dmfa.service'], grantedFields: DMFA_ALL_FIELDS };
    const servicesNoFields = { allowedBlocks: ['dmfa.service'], grantedFields: { ...DMFA_ALL_FIELDS, 'dmfa.service': [] } };
    const grants: Array<Pick<BlockFilterInput, 'allowedBlocks' | 'grantedFields' | 'rows'>> = [VAPH, IRISCARE, onlyServices, servicesNoFields, { ...VAPH, rows: IRISCARE.rows }];
    const inputs = [...grants, ...[...grants].reverse()].map((g) => ({ payload: fixture('dmfa.json'), employer: A_ONSS, periods: H1_2024, ...g }));
    for (const input of inputs) {
      const cached = filterBlocks({ ...input, service: service('dmfa'), allowedBlocks: once([...input.allowedBlocks]) });
      expect(cached).toEqual(filterBlocks({ ...input, service: freshService('dmfa') }));
    }
    // The two grants that differ only by a field list do not share a plan.
    const withFields = filterBlocks({ payload: fixture('dmfa.json'), service: service('dmfa'), ...onlyServices });
    const withoutFields = filterBlocks({ payload: fixture('dmfa.json'), service: service('dmfa'), ...servicesNoFields });
    expect(withFields.removedFields).toEqual([]);
    expect(withoutFields.removedFields.length).toBeGreaterThan(0);
  }, 60_000);
});
