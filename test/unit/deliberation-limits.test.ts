/**
 * The population, time and key limits the deliberations set, applied by the checks and the filter:
 * 22/046 §1-2 (age, invalidity after 2019), 19/010 §36 (manual workers and artists), 19/104 §2 (the
 * care structure named), 10/012 §9 (interim work asked with its employer category).
 */
import { describe, expect, it } from 'vitest';
import { decideAuthorization, type AuthorizationGrant } from '../../src/domain/authorization.js';
import { filterBlocks } from '../../src/domain/block-filter.js';
import { describeGrantLimits, requesterDuties } from '../../src/domain/deliberation.js';
import { checkRequest, composeAnswer, type ExchangeRequest } from '../../src/domain/exchange.js';
import { deliberation, realCatalogue, realIndex, service } from './support/gateway-config.js';

const RULES = { catalogue: realCatalogue(), authorizations: realIndex() };
const TODAY = '2024-09-02';

function grant(requester: string, serviceId: string, onBehalfOf: string | null = null): AuthorizationGrant {
  const d = decideAuthorization(realIndex(), { requester, onBehalfOf, service: serviceId, date: TODAY });
  if (!d.ok) throw new Error(d.refusal.detail);
  return d;
}

function request(overrides: Partial<ExchangeRequest>): ExchangeRequest {
  return {
    requestId: 'r-1',
    requester: 'onss',
    onBehalfOf: null,
    service: 'inami-invalidity-entries',
    purpose: null,
    subjectNiss: '',
    employer: null,
    period: { from: '2024-01-01', to: '2024-03-31' },
    requestedBlocks: null,
    ...overrides,
  };
}

describe('22/046 §2: invalidity that started after 31 December 2019 only', () => {
  it('refuses a quarter wholly before 2020 with PERIOD_NOT_AUTHORIZED, before anything is forwarded', () => {
    const r = checkRequest(request({ period: { from: '2019-10-01', to: '2019-12-31' } }), 'onss', RULES, TODAY);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.refusal.code).toBe('PERIOD_NOT_AUTHORIZED');
      expect(r.refusal.detail).toContain('2020-01-01');
      expect(r.refusal.detail).toContain('§2');
    }
  });

  it('accepts 2020Q1, the first quarter covered', () => {
    const r = checkRequest(request({ period: { from: '2020-01-01', to: '2020-03-31' } }), 'onss', RULES, TODAY);
    expect(r.ok).toBe(true);
  });
});

describe('22/046 §1-2: rows of the list outside the population are withheld', () => {
  const g = grant('onss', 'inami-invalidity-entries');
  const entry = (niss: string, birthDate: string, primary: string, invalidity: string) => ({
    niss,
    person: { birthDate },
    incapacity: { primaryIncapacityStartDate: primary, invalidityStartDate: invalidity },
  });
  const cases: Array<[string, ReturnType<typeof entry>, boolean]> = [
    ['adult, invalidity in 2024', entry('85073003328', '1985-07-30', '2023-02-01', '2024-02-01'), true],
    ['turned 18 the day the primary incapacity began', entry('05020100112', '2005-02-01', '2023-02-01', '2024-02-01'), true],
    ['turned 18 the day after', entry('05020200111', '2005-02-02', '2023-02-01', '2024-02-01'), false],
    ['born 29 February, incapacity on 28 February of the 18th year', entry('04022900113', '2004-02-29', '2022-02-28', '2023-03-01'), false],
    ['born 29 February, incapacity on 1 March of the 18th year', entry('04022900114', '2004-02-29', '2022-03-01', '2023-03-01'), true],
    ['invalidity on 31 December 2019', entry('70010100115', '1970-01-01', '2018-12-31', '2019-12-31'), false],
    ['invalidity on 1 January 2020', entry('70010100116', '1970-01-01', '2019-01-01', '2020-01-01'), true],
    ['birth date missing: cannot be shown adult', { niss: '70010100117', person: null, incapacity: { primaryIncapacityStartDate: '2023-01-01', invalidityStartDate: '2024-01-01' } } as never, false],
  ];
  it.each(cases)('%s → delivered: %s', (_name, row, kept) => {
    const result = filterBlocks({
      payload: { quarter: '2024Q1', listReference: 'L-1', entries: [row] },
      service: service('inami-invalidity-entries'),
      allowedBlocks: g.allowedBlocks,
      grantedFields: g.grantedFields,
      rows: g.rows,
    });
    expect((result.payload.entries as unknown[]).length).toBe(kept ? 1 : 0);
    expect(result.removedRows.byPopulation).toBe(kept ? 0 : 1);
  });
});

describe('19/010 §36: DmfA rows of manual workers and artists only', () => {
  const g = grant('onva', 'dmfa');
  const population = g.rows.find((r) => r.kind === 'one-of');

  it('the grant carries the condition on the worker code, with its paragraph', () => {
    expect(population).toMatchObject({ block: 'dmfa.worker-record', path: 'workerCode', paragraphs: '§36' });
    if (population?.kind !== 'one-of') throw new Error('no worker-code condition');
    expect(population.values).toContain('015');
    expect(population.values).not.toContain('495');
  });

  const declaration = (onss: string, records: Array<{ code: string }>) => ({
    quarter: '2024Q1',
    onssNumber: onss,
    enterpriseNumber: null,
    naturalPersons: [
      {
        sequenceNumber: 1,
        niss: '85073003328',
        lastName: 'Peeters',
        workerRecords: records.map((r) => ({ employerCategory: '010', workerCode: r.code, occupations: [], contributions: [], reductions: [], earlyRetirementContributions: [], workAccidentAllowances: [] })),
      },
    ],
    contributionsUnrelatedToNaturalPerson: [],
  });
  const run = (payload: unknown) =>
    filterBlocks({ payload, service: service('dmfa'), allowedBlocks: g.allowedBlocks, grantedFields: g.grantedFields, rows: g.rows });

  it('keeps the manual worker line, drops the white-collar line of the same person', () => {
    const r = run({ niss: '85073003328', employerDeclarations: [declaration('100012345', [{ code: '015' }, { code: '495' }])] });
    const records = (r.payload.employerDeclarations as any[])[0].naturalPersons[0].workerRecords as any[];
    expect(records.map((w) => w.workerCode)).toEqual(['015']);
    expect(r.removedRows.byPopulation).toBe(1);
  });

  it('drops a declaration whose only worker line is white-collar, and its natural person with it', () => {
    const r = run({
      niss: '85073003328',
      employerDeclarations: [declaration('100012345', [{ code: '495' }]), declaration('200067890', [{ code: '015' }])],
    });
    expect((r.payload.employerDeclarations as any[]).map((d) => d.onssNumber)).toEqual(['200067890']);
  });

  it('drops a natural person with no worker line at all: it cannot be shown to be in the population', () => {
    const r = run({ niss: '85073003328', employerDeclarations: [declaration('100012345', [])] });
    expect(r.payload.employerDeclarations).toEqual([]);
  });

  it('a white-collar-only answer is NO_DATA', () => {
    const answer = composeAnswer(
      service('dmfa'),
      { allowedBlocks: g.allowedBlocks, grantedFields: g.grantedFields, rows: g.rows, interimNeedsCategory: false, unauthorizedBlocks: [], employer: null, employerCategory: null, effectivePeriods: null, includeFutureFields: false },
      { niss: '85073003328', employerDeclarations: [declaration('100012345', [{ code: '495' }])] },
    );
    expect(answer.status).toBe('NO_DATA');
  });
});

describe('19/104 §2: a request names the care structure', () => {
  it.each(['dmfa', 'dimona'])('%s without an employer is refused INVALID_EMPLOYER_ID', (serviceId) => {
    const r = checkRequest(
      { requestId: 'r', requester: 'iriscare', onBehalfOf: null, service: serviceId, purpose: null, subjectNiss: '85073003328', employer: null, period: { from: '2024-01-01', to: '2024-03-31' }, requestedBlocks: null },
      'iriscare',
      RULES,
      TODAY,
    );
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.refusal.code).toBe('INVALID_EMPLOYER_ID');
      expect(r.refusal.detail).toContain('19/104');
    }
  });
});

describe('10/012 §9: interim work is asked with the employer category', () => {
  const g = grant('magda', 'dimona', 'vaph');
  const period = (usingEmployer: unknown, category = '484') => ({
    dimonaPeriodId: 1,
    lastDeclarationDate: '2024-03-01',
    declarationChannel: 'web',
    employer: { employerIdKind: 'ONSS', employerIdNumber: '150067826', enterpriseNumber: null, employerCategory: category, name: 'Agency' },
    usingEmployer,
    worker: { niss: '85073003328', lastName: 'Peeters' },
    occupation: { inDate: '2024-03-04', outDate: '2024-09-27', jointCommittee: '322', workerType: 'OTH' },
  });
  const rules = (category: string | null) => ({
    allowedBlocks: g.allowedBlocks,
    grantedFields: g.grantedFields,
    rows: g.rows,
    interimNeedsCategory: g.keys?.employerCategoryForInterim === true && category === null,
    unauthorizedBlocks: [],
    employer: { kind: 'ONSS' as const, id: '150067826' },
    employerCategory: category,
    effectivePeriods: [{ from: '2024-01-01', to: '2024-12-31' }],
    includeFutureFields: false,
  });

  it('the deliberation demands it', () => {
    expect(g.keys?.employerCategoryForInterim).toBe(true);
  });

  it('an interim link asked without the category is refused, nothing delivered', () => {
    const answer = composeAnswer(service('dimona'), rules(null), { niss: '85073003328', dimonaPeriods: [period({ employerIdKind: 'ENTERPRISE', employerIdNumber: '0412345614', name: 'Brewery' })] });
    expect(answer.status).toBe('EMPLOYER_CATEGORY_REQUIRED');
    expect(answer.payload).toEqual({});
    expect(answer.deliveredBlocks).toEqual([]);
  });

  it('with the category, delivered; the worker block holds only the NISS (10/012 §7)', () => {
    const answer = composeAnswer(service('dimona'), rules('484'), { niss: '85073003328', dimonaPeriods: [period({ employerIdKind: 'ENTERPRISE', employerIdNumber: '0412345614', name: 'Brewery' })] });
    expect(answer.status).toBe('OK');
    const worker = (answer.payload.dimonaPeriods as any[])[0].worker;
    expect(Object.entries(worker).filter(([, v]) => v !== null)).toEqual([['niss', '85073003328']]);
    expect(answer.removedFields).toContain('dimona.worker.lastName');
  });

  it('a link without interim work needs no category', () => {
    const answer = composeAnswer(service('dimona'), rules(null), { niss: '85073003328', dimonaPeriods: [period(null)] });
    expect(answer.status).toBe('OK');
  });
});

describe('the snapshot publishes limits and the requester duties the switch cannot check', () => {
  it('19/010: at most 12 agents, consultation only, manual workers and artists', () => {
    const duties = requesterDuties(deliberation('19/010')).join('\n');
    expect(duties).toContain('12');
    expect(duties).toMatch(/§36/);
    expect(duties).toMatch(/§37/);
  });

  it.each(['10/012', '19/104', '22/046'])('%s names roles and at least one duty with its paragraph', (number) => {
    const duties = requesterDuties(deliberation(number));
    expect(duties.length).toBeGreaterThanOrEqual(2);
    for (const d of duties) expect(d).toMatch(/\(§[^)]+\)$/);
  });

  it('19/104 DIMONA: employer required; 22/046: data from 2020 and the age condition', () => {
    const iriscare = deliberation('19/104').versions.at(-1)!.services.find((s) => s.service === 'dimona')!;
    expect(describeGrantLimits(iriscare)).toContain('employer required (the employer–worker link is named in every request)');
    const list = deliberation('22/046').versions[0]!.services[0]!;
    const limits = describeGrantLimits(list).join('\n');
    expect(limits).toContain('data from 2020-01-01 only (§2)');
    expect(limits).toMatch(/aged at least 18/);
  });
});
