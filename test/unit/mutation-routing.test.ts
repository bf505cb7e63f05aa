/**
 * Mutation routing on its own, with the real catalogue and deliberations: who is told of a change
 * (routeMutation) and what each subscriber receives of it (mutationContent).
 *
 * What the real deliberations push (config/authorizations): 10/012 pushes VAPH the changes of DIMONA,
 * DmfA and identification, as blocks, through MAGDA (its mandatory intermediary, 10/012 §9, §18: the
 * delivery's `via`); 19/104 pushes IRISCARE the DIMONA changes from its v3 (in force since 2023-12-05),
 * never the DmfA ones; 19/010 (ONVA, DOLSIS consultation) pushes nothing; MAGDA has no deliberation of
 * its own and is never a subscriber: it only carries VAPH's changes.
 *
 * 10/012 §9 ("seules des données … relatives au lien entre l'employeur concerné et le travailleur
 * concerné seront transmises") and 19/104 §2 name the employer–worker link: VAPH's and IRISCARE's DIMONA
 * and DmfA changes go only through lines bound to the change's employer (an unbound line is not enough:
 * EMPLOYER_LINE_REQUIRED). 10/012 §15: a file tells its institution only of what happens while it is
 * open, identity changes included. The mechanics of lines bound to no employer are shown with a copy of
 * 10/012 that does not name the link (`OPEN`).
 */
import { describe, expect, it } from 'vitest';
import { buildAuthorizationIndex, type AuthorizationIndex } from '../../src/domain/authorization.js';
import type { Deliberation } from '../../src/domain/deliberation.js';
import type { Integration } from '../../src/domain/directory.js';
import {
  mutationContent,
  routeMutation,
  type MutationDelivery,
  type MutationFacts,
  type MutationRoute,
  type MutationRules,
} from '../../src/domain/mutation-routing.js';
import type { EmployerRef, IsoDate, Period } from '../../src/domain/types.js';
import { answerSourceRequest } from '../../src/sources/source-simulator.js';
import { createSyntheticPopulation, SIMULATED, SIMULATED_EMPLOYERS } from '../../src/sources/synthetic-population.js';
import { deepFreeze, deliberation, realCatalogue, realDeliberations, realIndex, service } from './support/gateway-config.js';

const E = SIMULATED_EMPLOYERS;
const ASSISTANT = SIMULATED.assistantOfVaph;
const CARE_WORKER = SIMULATED.careWorkerIriscare;
const TODAY: IsoDate = '2024-06-15';

const onss = (id: string | null): EmployerRef => ({ kind: 'ONSS', id: id as string });
const BUDGET_HOLDER = onss(E.budgetHolder.onssNumber);
const CARE_HOME = onss(E.careHome.onssNumber);
const CPAS = onss(E.cpas.onssNumber);
/** DIMONA identifies the supermarket by its enterprise number. */
const SUPERMARKET: EmployerRef = { kind: 'ENTERPRISE', id: E.supermarket.enterpriseNumber };

const REAL: MutationRules = { catalogue: realCatalogue(), authorizations: realIndex() };

const DIMONA_BLOCKS = ['dimona.period', 'dimona.employer', 'dimona.using-employer', 'dimona.worker', 'dimona.occupation'];

/** 10/012 §9: VAPH integrates the assistant as such; the other deliberations demand no capacity. */
// The capacity 10/012 demands; `testinst` gets variants of 10/012.
const CAPACITY: Readonly<Record<string, string>> = { vaph: 'pab-assistant', testinst: 'pab-assistant' };

function line(
  institution: string,
  period: Period,
  { employer, niss = ASSISTANT, phase = 1 }: { employer?: EmployerRef; niss?: string; phase?: number } = {},
): Integration {
  return {
    niss,
    institution,
    capacity: CAPACITY[institution] ?? 'test-capacity',
    phase,
    period,
    ...(employer ? { employer } : {}),
    updatedAt: '2024-01-01T00:00:00.000Z',
  };
}

function facts(fields: Partial<MutationFacts>): MutationFacts {
  return { service: 'dimona', subjectNiss: ASSISTANT, employer: BUDGET_HOLDER, effectiveDate: '2024-06-01', ...fields };
}

function route(f: MutationFacts, lines: readonly Integration[], today = TODAY, rules = REAL): MutationRoute {
  return routeMutation(f, deepFreeze([...lines]), rules, today);
}

function onlyDelivery(r: MutationRoute, institution: string): MutationDelivery {
  expect(r.deliveries.map((d) => d.institution)).toEqual([institution]);
  return r.deliveries[0] as MutationDelivery;
}

/** Copies of a real deliberation, for what the seed files do not hold (another requester, other dates, another form). */
function variant(number: string, requester: string, edit: (d: Deliberation) => Partial<Deliberation>): Deliberation {
  const base = deliberation(number);
  return { ...base, number: `${number}-${requester}`, requester, intermediaries: [], ...edit(base) };
}

function rulesWith(extra: readonly Deliberation[]): MutationRules {
  const authorizations: AuthorizationIndex = buildAuthorizationIndex([...realDeliberations(), ...extra], realCatalogue());
  return { catalogue: realCatalogue(), authorizations };
}

/**
 * 10/012 for `testinst`, its grants not naming the employer–worker link (the employer an optional key)
 * and without intermediary: an unbound line lets its changes through, for every employer, directly.
 */
const OPEN_10_012 = variant('10/012', 'testinst', (d) => ({
  versions: d.versions.map((v) => ({
    ...v,
    services: v.services.map((s) => ({ ...s, keys: s.keys === null ? null : { ...s.keys, employer: 'optional' as const } })),
  })),
}));
const OPEN: MutationRules = rulesWith([OPEN_10_012]);

/** What the routing table compares of a delivery: to whom, through whom, and its employer and period filters. */
const shape = (d: MutationDelivery) => ({ institution: d.institution, via: d.via, employer: d.employer, periods: d.periods });

// ---------------------------------------------------------------------------------------------------
// The source's payloads: the simulator's whole record of the person (every employer, every block).

const population = createSyntheticPopulation();

function sourcePayload(serviceId: string, niss: string): Record<string, unknown> {
  const answer = answerSourceRequest(population, {
    ticket: 'mutation-test',
    service: serviceId,
    subjectNiss: niss,
    employer: null,
    period: { from: '2019-01-01', to: '2025-12-31' },
    blocks: [],
    deadline: Date.parse('2026-01-01T00:00:00Z'),
  });
  if (answer?.status !== 'OK' || answer.payload === null) throw new Error(`no ${serviceId} payload for ${niss}`);
  return deepFreeze(answer.payload);
}

interface DimonaRow {
  dimonaPeriodId: string;
  employer: { employerIdKind: string; employerIdNumber: string } | null;
  usingEmployer: unknown;
  worker: unknown;
  occupation: { inDate: string; outDate: string | null } | null;
}

function dimonaRows(payload: Record<string, unknown> | null): DimonaRow[] {
  return ((payload as { dimonaPeriods?: DimonaRow[] } | null)?.dimonaPeriods ?? []) as DimonaRow[];
}

const employerOf = (row: DimonaRow) => `${row.employer?.employerIdKind}:${row.employer?.employerIdNumber}`;

// ---------------------------------------------------------------------------------------------------

describe('routeMutation: who is told of a change', () => {
  it('integrated on the effective date, bound to the employer of the change, under a deliberation that pushes it: delivered', () => {
    const r = route(facts({}), [line('vaph', { from: '2024-01-01', to: null }, { employer: BUDGET_HOLDER })]);
    expect(r.excluded).toEqual([]);
    const delivery = onlyDelivery(r, 'vaph');
    expect(delivery.subscription).toEqual({
      institution: 'vaph',
      deliberation: '10/012',
      versionId: 'v1',
      purpose: { code: 'vaph-personal-assistance-budget', text: deliberation('10/012').versions[0]?.purposeText },
      form: 'blocks',
      // 10/012 §7: the four DIMONA blocks, plus the technical DIMONA period; catalogue order.
      allowedBlocks: DIMONA_BLOCKS,
      // 10/012 §7, field by field; the technical DIMONA period whole.
      grantedFields: {
        'dimona.period': 'all',
        'dimona.worker': ['niss'],
        'dimona.employer': ['naturalPersonNiss', 'employerIdKind', 'employerIdNumber', 'enterpriseNumber', 'name', 'address', 'studentEmployer'],
        'dimona.using-employer': ['employerIdKind', 'employerIdNumber', 'enterpriseNumber'],
        'dimona.occupation': ['inDate', 'outDate', 'jointCommittee', 'workerType'],
      },
      rows: [],
      // 10/012 §9: the grant names the employer–worker link; MAGDA is the mandatory intermediary (§9, §18).
      employerRequired: true,
      relay: 'magda',
      includesFutureFieldsOfBlocks: false,
      retention: deliberation('10/012').versions[0]?.retention,
      integration: deliberation('10/012').versions[0]?.services.find((g) => g.service === 'dimona')?.integration,
    });
    // Filtered like a reply: the employer of the link and the periods integrated.
    expect(delivery.employer).toEqual(BUDGET_HOLDER);
    expect(delivery.periods).toEqual([{ from: '2024-01-01', to: null }]);
    // Delivered through MAGDA, for VAPH.
    expect(delivery.via).toBe('magda');
  });

  it('IRISCARE is told of DIMONA changes under 19/104 v3, with its own blocks', () => {
    const r = route(
      facts({ subjectNiss: CARE_WORKER, employer: CARE_HOME }),
      [line('iriscare', { from: '2023-01-01', to: null }, { employer: CARE_HOME, niss: CARE_WORKER })],
    );
    const delivery = onlyDelivery(r, 'iriscare');
    expect(delivery.subscription).toMatchObject({
      deliberation: '19/104',
      versionId: 'v3',
      form: 'blocks',
      allowedBlocks: DIMONA_BLOCKS,
      // 19/104 §2: the workers of the care structures, per employer; no intermediary.
      employerRequired: true,
      relay: null,
    });
    expect(delivery.subscription.retention).toMatchObject({ kind: 'duration', duration: 'P6M' });
    expect(delivery.employer).toEqual(CARE_HOME);
    expect(delivery.via).toBeNull();
  });

  it('integrated only for another period: NOT_INTEGRATED_ON_DATE', () => {
    const r = route(facts({}), [
      line('vaph', { from: '2020-01-01', to: '2023-12-31' }, { employer: BUDGET_HOLDER }),
      line('vaph', { from: '2024-07-01', to: null }, { employer: BUDGET_HOLDER }),
    ]);
    expect(r).toEqual({ deliveries: [], excluded: [{ institution: 'vaph', reason: 'NOT_INTEGRATED_ON_DATE' }] });
  });

  it('the period is closed at both ends: its last day is covered, the day after is not', () => {
    const lines = [line('vaph', { from: '2024-01-01', to: '2024-06-01' }, { employer: BUDGET_HOLDER })];
    expect(route(facts({ effectiveDate: '2024-06-01' }), lines).deliveries.map((d) => d.institution)).toEqual(['vaph']);
    expect(route(facts({ effectiveDate: '2024-01-01' }), lines).deliveries.map((d) => d.institution)).toEqual(['vaph']);
    expect(route(facts({ effectiveDate: '2024-06-02' }), lines).excluded).toEqual([{ institution: 'vaph', reason: 'NOT_INTEGRATED_ON_DATE' }]);
    expect(route(facts({ effectiveDate: '2023-12-31' }), lines).excluded).toEqual([{ institution: 'vaph', reason: 'NOT_INTEGRATED_ON_DATE' }]);
  });

  it('nobody integrated the person: nobody is told, and nobody is listed as excluded', () => {
    expect(route(facts({}), [])).toEqual({ deliveries: [], excluded: [] });
    // Other persons' lines, even at the same institution and employer, do not count.
    const others = [line('vaph', { from: '2020-01-01', to: null }, { employer: BUDGET_HOLDER, niss: CARE_WORKER })];
    expect(route(facts({}), others)).toEqual({ deliveries: [], excluded: [] });
    expect(route(facts({ service: 'identification', employer: null }), others)).toEqual({ deliveries: [], excluded: [] });
  });

  it('integrated, but no deliberation pushes anything to the institution: NOT_SUBSCRIBED', () => {
    // 19/010 lets ONVA consult DIMONA, DmfA and the registers through DOLSIS; it pushes nothing.
    const onva = [line('onva', { from: '2020-01-01', to: null })];
    for (const serviceId of ['dimona', 'dmfa', 'identification']) {
      const r = route(facts({ service: serviceId, employer: serviceId === 'identification' ? null : BUDGET_HOLDER }), onva);
      expect(r, serviceId).toEqual({ deliveries: [], excluded: [{ institution: 'onva', reason: 'NOT_SUBSCRIBED' }] });
    }
    // MAGDA relays for VAPH and may not use the data (10/012 §22): it carries VAPH's changes (`via`), and
    // is never a subscriber in its own right, whom it integrates.
    const magda = [line('magda', { from: '2020-01-01', to: null }, { employer: BUDGET_HOLDER })];
    expect(route(facts({}), magda).excluded).toEqual([{ institution: 'magda', reason: 'NOT_SUBSCRIBED' }]);
  });

  it('integrated and authorized for the service, but its changes are not pushed: NOT_SUBSCRIBED', () => {
    // 19/104 authorizes IRISCARE's DmfA requests, without pushed changes; and no deliberation gives it identification.
    const lines = [line('iriscare', { from: '2023-01-01', to: null }, { employer: CARE_HOME, niss: CARE_WORKER })];
    const dmfa = route(facts({ service: 'dmfa', subjectNiss: CARE_WORKER, employer: CARE_HOME }), lines);
    expect(dmfa).toEqual({ deliveries: [], excluded: [{ institution: 'iriscare', reason: 'NOT_SUBSCRIBED' }] });
    const identity = route(facts({ service: 'identification', subjectNiss: CARE_WORKER, employer: null }), lines);
    expect(identity).toEqual({ deliveries: [], excluded: [{ institution: 'iriscare', reason: 'NOT_SUBSCRIBED' }] });
  });

  it('covering lines all bound to another employer: EMPLOYER_NOT_LINKED', () => {
    const lines = [
      line('vaph', { from: '2024-01-01', to: null }, { employer: SUPERMARKET }),
      line('vaph', { from: '2023-01-01', to: null }, { employer: CPAS }),
    ];
    expect(route(facts({}), lines)).toEqual({ deliveries: [], excluded: [{ institution: 'vaph', reason: 'EMPLOYER_NOT_LINKED' }] });
    // The same employer under another kind of number is another employer for the switch, as for requests.
    const byEnterprise = [line('vaph', { from: '2024-01-01', to: null }, { employer: { kind: 'ENTERPRISE', id: E.careHome.enterpriseNumber } })];
    expect(route(facts({ employer: CARE_HOME }), byEnterprise).excluded).toEqual([{ institution: 'vaph', reason: 'EMPLOYER_NOT_LINKED' }]);
  });

  it('a line bound to the employer but for another period does not link it: NOT_INTEGRATED_ON_DATE comes first', () => {
    const lines = [
      line('vaph', { from: '2020-01-01', to: '2022-12-31' }, { employer: BUDGET_HOLDER }),
      line('vaph', { from: '2024-01-01', to: null }, { employer: SUPERMARKET }),
    ];
    // The budget holder's line does not cover the day; the supermarket's does, but is another link.
    expect(route(facts({}), lines).excluded).toEqual([{ institution: 'vaph', reason: 'EMPLOYER_NOT_LINKED' }]);
    expect(route(facts({ effectiveDate: '2023-06-01' }), lines).excluded).toEqual([{ institution: 'vaph', reason: 'NOT_INTEGRATED_ON_DATE' }]);
  });

  it('a change naming no employer never reaches an employer-bound line; under a grant not naming the link, it reaches a line bound to none', () => {
    const bound = [line('testinst', { from: '2024-01-01', to: null }, { employer: BUDGET_HOLDER })];
    expect(route(facts({ employer: null }), bound, TODAY, OPEN)).toEqual({
      deliveries: [],
      excluded: [{ institution: 'testinst', reason: 'EMPLOYER_NOT_LINKED' }],
    });
    const unbound = [line('testinst', { from: '2024-01-01', to: null })];
    const delivery = onlyDelivery(route(facts({ employer: null }), unbound, TODAY, OPEN), 'testinst');
    expect(delivery.employer).toBeNull();
    expect(delivery.periods).toEqual([{ from: '2024-01-01', to: null }]);
    expect(delivery.via).toBeNull();
  });

  it('10/012 §9: a change naming no employer reaches no line of VAPH, bound or not (EMPLOYER_NOT_LINKED, EMPLOYER_LINE_REQUIRED)', () => {
    const bound = [line('vaph', { from: '2024-01-01', to: null }, { employer: BUDGET_HOLDER })];
    expect(route(facts({ employer: null }), bound)).toEqual({ deliveries: [], excluded: [{ institution: 'vaph', reason: 'EMPLOYER_NOT_LINKED' }] });
    const unbound = [line('vaph', { from: '2024-01-01', to: null })];
    expect(route(facts({ employer: null }), unbound)).toEqual({ deliveries: [], excluded: [{ institution: 'vaph', reason: 'EMPLOYER_LINE_REQUIRED' }] });
  });

  it('under a grant not naming the link, a line bound to no employer covers every employer: no employer filter on what is delivered', () => {
    const lines = [
      line('testinst', { from: '2024-01-01', to: null }, { employer: SUPERMARKET }),
      line('testinst', { from: '2024-01-01', to: '2024-12-31' }),
    ];
    const delivery = onlyDelivery(route(facts({}), lines, TODAY, OPEN), 'testinst');
    expect(delivery.subscription.employerRequired).toBe(false);
    expect(delivery.employer).toBeNull();
  });

  it('10/012 §9, 19/104 §2: a line bound to no employer is not enough for VAPH nor IRISCARE: EMPLOYER_LINE_REQUIRED', () => {
    // The same lines as above: the supermarket's line is another link, the unbound one is no link at all.
    const lines = [
      line('vaph', { from: '2024-01-01', to: null }, { employer: SUPERMARKET }),
      line('vaph', { from: '2024-01-01', to: '2024-12-31' }),
      line('iriscare', { from: '2024-01-01', to: '2024-12-31' }),
    ];
    expect(route(facts({}), lines)).toEqual({
      deliveries: [],
      excluded: [
        { institution: 'iriscare', reason: 'EMPLOYER_LINE_REQUIRED' },
        { institution: 'vaph', reason: 'EMPLOYER_LINE_REQUIRED' },
      ],
    });
    // Bound to the change's employer as well: delivered, for that employer only, within the bound line's period.
    const delivery = onlyDelivery(route(facts({}), [...lines.slice(0, 2), line('vaph', { from: '2024-03-01', to: null }, { employer: BUDGET_HOLDER })]), 'vaph');
    expect(delivery.employer).toEqual(BUDGET_HOLDER);
    expect(delivery.periods).toEqual([{ from: '2024-03-01', to: null }]);
  });

  it('10/012 §15: an identity change reaches only a file open on its date — a 2015–2016 line does not receive a 2024 change of address', () => {
    const closed = [line('vaph', { from: '2015-01-01', to: '2016-12-31' }, { employer: BUDGET_HOLDER })];
    const change = facts({ service: 'identification', employer: null, effectiveDate: '2024-06-01' });
    expect(route(change, closed)).toEqual({ deliveries: [], excluded: [{ institution: 'vaph', reason: 'NOT_INTEGRATED_ON_DATE' }] });
    // Nor a change from before the file was opened.
    const open = [line('vaph', { from: '2024-01-01', to: null }, { employer: BUDGET_HOLDER })];
    expect(route(facts({ service: 'identification', employer: null, effectiveDate: '2023-12-31' }), open).excluded).toEqual([
      { institution: 'vaph', reason: 'NOT_INTEGRATED_ON_DATE' },
    ]);
    // The same change, the file open on its date: told.
    expect(onlyDelivery(route(change, open), 'vaph').periods).toBeNull();
  });

  it('an identity change goes to every institution whose file is open on its date, with the registers\' blocks', () => {
    const lines = [line('vaph', { from: '2015-01-01', to: null })];
    const r = route(facts({ service: 'identification', employer: null, effectiveDate: '2024-06-01' }), lines);
    const delivery = onlyDelivery(r, 'vaph');
    expect(r.excluded).toEqual([]);
    // The identification grant names no employer (who the person is has none); it goes through MAGDA too.
    expect(delivery.subscription).toMatchObject({ deliberation: '10/012', versionId: 'v1', form: 'blocks', employerRequired: false, relay: 'magda' });
    expect(delivery.via).toBe('magda');
    // 10/012 §17: the registers' data, without the photo; the register information is technical.
    expect(delivery.subscription.allowedBlocks).toEqual([
      'identification.register',
      'identification.name',
      'identification.birth',
      'identification.gender',
      'identification.nationality',
      'identification.residence',
      'identification.decease',
      'identification.civil-status',
    ]);
    // Who the person is has no period and no employer: nothing to filter on.
    expect(delivery.periods).toBeNull();
    expect(delivery.employer).toBeNull();
  });

  it('an identity change reaches an employer-bound line too (open on its date), and filters on no employer', () => {
    const lines = [line('vaph', { from: '2024-01-01', to: null }, { employer: BUDGET_HOLDER })];
    for (const employer of [null, SUPERMARKET]) {
      const delivery = onlyDelivery(route(facts({ service: 'identification', employer, effectiveDate: '2024-06-01' }), lines), 'vaph');
      expect(delivery.employer).toBeNull();
      expect(delivery.periods).toBeNull();
      // 10/012 §15: before the file was opened, not even an identity change.
      expect(route(facts({ service: 'identification', employer, effectiveDate: '2010-01-01' }), lines).excluded).toEqual([
        { institution: 'vaph', reason: 'NOT_INTEGRATED_ON_DATE' },
      ]);
    }
  });

  it('several institutions at once: each decided on its own lines, in institution order whatever the lines\' order', () => {
    const lines = [
      line('vaph', { from: '2024-01-01', to: null }, { employer: BUDGET_HOLDER }),
      line('onva', { from: '2020-01-01', to: null }),
      line('iriscare', { from: '2023-01-01', to: null }),
      line('magda', { from: '2024-01-01', to: null }),
      line('onss', { from: '2024-01-01', to: null }, { employer: SUPERMARKET }),
      line('inami', { from: '2010-01-01', to: '2011-12-31' }),
      line('vaph', { from: '2019-01-01', to: '2019-12-31' }, { employer: SUPERMARKET }),
      line('testinst', { from: '2024-01-01', to: null }),
    ];
    const expected: MutationRoute = route(facts({}), lines, TODAY, OPEN);
    expect(expected.deliveries.map((d) => [d.institution, d.subscription.deliberation, d.employer, d.via])).toEqual([
      // testinst's grant does not name the link and its line is bound to no employer: every employer's rows within its periods.
      ['testinst', '10/012-testinst', null, null],
      ['vaph', '10/012', BUDGET_HOLDER, 'magda'],
    ]);
    expect(expected.excluded).toEqual([
      { institution: 'inami', reason: 'NOT_INTEGRATED_ON_DATE' },
      // 19/104 §2: IRISCARE's line is bound to no employer, and its grant names the link.
      { institution: 'iriscare', reason: 'EMPLOYER_LINE_REQUIRED' },
      { institution: 'magda', reason: 'NOT_SUBSCRIBED' },
      { institution: 'onss', reason: 'EMPLOYER_NOT_LINKED' },
      { institution: 'onva', reason: 'NOT_SUBSCRIBED' },
    ]);
    // Deterministic: the same route for the lines in any order.
    const orders = [
      [...lines].reverse(),
      [...lines.slice(3), ...lines.slice(0, 3)],
      [lines[6], lines[2], lines[7], lines[0], lines[4], lines[1], lines[5], lines[3]],
    ];
    for (const order of orders) expect(route(facts({}), order as Integration[], TODAY, OPEN)).toEqual(expected);
  });

  it('the deliberation version in force on the day of routing decides: 19/104 pushes DIMONA from its v3 only', () => {
    const lines = [line('iriscare', { from: '2023-01-01', to: null }, { employer: CARE_HOME, niss: CARE_WORKER })];
    const change = facts({ subjectNiss: CARE_WORKER, employer: CARE_HOME, effectiveDate: '2023-06-01' });
    // On 2023-12-04, v2 is in force: DmfA only, no DIMONA at all.
    expect(route(change, lines, '2023-12-04').excluded).toEqual([{ institution: 'iriscare', reason: 'NOT_SUBSCRIBED' }]);
    expect(onlyDelivery(route(change, lines, '2023-12-05'), 'iriscare').subscription.versionId).toBe('v3');
  });

  it('a deliberation whose only version pushing the service has ended pushes nothing any more', () => {
    const ended = variant('10/012', 'testinst', (d) => ({
      versions: d.versions.map((v) => ({ ...v, inForce: { from: '2020-01-01', to: '2023-12-31' } })),
    }));
    const rules = rulesWith([ended]);
    const lines = [line('testinst', { from: '2020-01-01', to: null }, { employer: BUDGET_HOLDER })];
    expect(onlyDelivery(route(facts({}), lines, '2023-12-31', rules), 'testinst').subscription.deliberation).toBe('10/012-testinst');
    expect(route(facts({}), lines, '2024-01-01', rules).excluded).toEqual([{ institution: 'testinst', reason: 'NOT_SUBSCRIBED' }]);
    // Nor before it is in force, whatever the change's effective date.
    expect(route(facts({ effectiveDate: '2021-06-01' }), lines, '2019-12-31', rules).excluded).toEqual([
      { institution: 'testinst', reason: 'NOT_SUBSCRIBED' },
    ]);
  });

  it('lines in another capacity than the deliberation demands do not count, as for a request: NOT_INTEGRATED_IN_CAPACITY', () => {
    const other: Integration = { ...line('vaph', { from: '2024-01-01', to: null }, { employer: BUDGET_HOLDER }), capacity: '12/10' };
    expect(route(facts({}), [other]).excluded).toEqual([{ institution: 'vaph', reason: 'NOT_INTEGRATED_IN_CAPACITY' }]);
    // With a line in the demanded capacity too, only that line's period counts for what is shown.
    const both = [{ ...other, period: { from: '2019-01-01', to: null } }, line('vaph', { from: '2024-01-01', to: null }, { employer: BUDGET_HOLDER })];
    expect(onlyDelivery(route(facts({}), both), 'vaph').periods).toEqual([{ from: '2024-01-01', to: null }]);
  });

  it('a deliberation that does not go through the switch pushes nothing', () => {
    const outside = variant('10/012', 'testinst', () => ({ viaBcss: false }));
    const lines = [line('testinst', { from: '2020-01-01', to: null }, { employer: BUDGET_HOLDER })];
    expect(route(facts({}), lines, TODAY, rulesWith([outside])).excluded).toEqual([{ institution: 'testinst', reason: 'NOT_SUBSCRIBED' }]);
  });

  it('a service the catalogue does not know: nobody', () => {
    const lines = [line('vaph', { from: '2020-01-01', to: null }, { employer: BUDGET_HOLDER })];
    expect(route(facts({ service: 'unknown-service' }), lines)).toEqual({ deliveries: [], excluded: [] });
  });

  it('the periods delivered are the institution\'s integrated periods, merged', () => {
    const lines = [
      line('vaph', { from: '2024-01-01', to: '2024-03-31' }, { employer: BUDGET_HOLDER }),
      line('vaph', { from: '2024-04-01', to: '2024-12-31' }, { employer: BUDGET_HOLDER, phase: 2 }),
      line('vaph', { from: '2026-01-01', to: null }, { employer: BUDGET_HOLDER }),
    ];
    const delivery = onlyDelivery(route(facts({}), lines), 'vaph');
    expect(delivery.periods).toEqual([
      { from: '2024-01-01', to: '2024-12-31' },
      { from: '2026-01-01', to: null },
    ]);
  });

  it('the periods delivered leave out those of lines bound to another employer', () => {
    // VAPH follows the assistant for the budget holder since 2024, and followed them in 2019 for the
    // supermarket only. A change about the budget holder must not open 2019 for the budget holder's
    // rows: a request for them would be clipped to 2024 (the lines bound to the employer asked).
    const lines = [
      line('vaph', { from: '2024-01-01', to: null }, { employer: BUDGET_HOLDER }),
      line('vaph', { from: '2019-01-01', to: '2019-12-31' }, { employer: SUPERMARKET }),
    ];
    const delivery = onlyDelivery(route(facts({}), lines), 'vaph');
    expect(delivery.employer).toEqual(BUDGET_HOLDER);
    expect(delivery.periods).toEqual([{ from: '2024-01-01', to: null }]);
  });
});

// ---------------------------------------------------------------------------------------------------

interface RoutingRow {
  readonly name: string;
  readonly facts: Partial<MutationFacts>;
  readonly lines: readonly Integration[];
  readonly today?: IsoDate;
  readonly rules?: MutationRules;
  /** Every delivery, in institution order. */
  readonly deliveries: ReadonlyArray<ReturnType<typeof shape>>;
  readonly excluded: MutationRoute['excluded'];
}

const FROM_2024: Period = { from: '2024-01-01', to: null };
const IDENTITY: Partial<MutationFacts> = { service: 'identification', employer: null };

/**
 * The routing rules at a glance, with the real deliberations: a DIMONA change of the budget holder
 * about the assistant on 2024-06-01 unless the row says otherwise, routed on 2024-06-15.
 */
const ROUTING_TABLE: readonly RoutingRow[] = [
  {
    name: '10/012 §9: VAPH\'s line bound to no employer, its grant naming the link → EMPLOYER_LINE_REQUIRED',
    facts: {},
    lines: [line('vaph', FROM_2024)],
    deliveries: [],
    excluded: [{ institution: 'vaph', reason: 'EMPLOYER_LINE_REQUIRED' }],
  },
  {
    name: '19/104 §2: IRISCARE\'s line bound to no employer → EMPLOYER_LINE_REQUIRED',
    facts: { subjectNiss: CARE_WORKER, employer: CARE_HOME },
    lines: [line('iriscare', { from: '2023-01-01', to: null }, { niss: CARE_WORKER })],
    deliveries: [],
    excluded: [{ institution: 'iriscare', reason: 'EMPLOYER_LINE_REQUIRED' }],
  },
  {
    name: '10/012 §9: a DmfA change through VAPH\'s unbound line → EMPLOYER_LINE_REQUIRED',
    facts: { service: 'dmfa', effectiveDate: '2024-05-15' },
    lines: [line('vaph', FROM_2024)],
    deliveries: [],
    excluded: [{ institution: 'vaph', reason: 'EMPLOYER_LINE_REQUIRED' }],
  },
  {
    name: '10/012 §9: a change naming no employer, VAPH\'s unbound line → EMPLOYER_LINE_REQUIRED',
    facts: { employer: null },
    lines: [line('vaph', FROM_2024)],
    deliveries: [],
    excluded: [{ institution: 'vaph', reason: 'EMPLOYER_LINE_REQUIRED' }],
  },
  {
    name: 'VAPH\'s line bound to the change\'s employer → delivered through MAGDA, filtered on that employer',
    facts: {},
    lines: [line('vaph', FROM_2024, { employer: BUDGET_HOLDER })],
    deliveries: [{ institution: 'vaph', via: 'magda', employer: BUDGET_HOLDER, periods: [FROM_2024] }],
    excluded: [],
  },
  {
    name: '10/012 §9: an unbound line next to the bound one widens nothing → the employer filter stays, the bound line\'s period only',
    facts: {},
    lines: [line('vaph', { from: '2024-03-01', to: null }, { employer: BUDGET_HOLDER }), line('vaph', { from: '2020-01-01', to: null })],
    deliveries: [{ institution: 'vaph', via: 'magda', employer: BUDGET_HOLDER, periods: [{ from: '2024-03-01', to: null }] }],
    excluded: [],
  },
  {
    name: 'VAPH\'s line bound to another employer (the supermarket) → EMPLOYER_NOT_LINKED',
    facts: {},
    lines: [line('vaph', FROM_2024, { employer: SUPERMARKET })],
    deliveries: [],
    excluded: [{ institution: 'vaph', reason: 'EMPLOYER_NOT_LINKED' }],
  },
  {
    name: '10/012 §15: an identity change of 2024, VAPH\'s file closed in 2016 → NOT_INTEGRATED_ON_DATE',
    facts: { ...IDENTITY, effectiveDate: '2024-06-01' },
    lines: [line('vaph', { from: '2015-01-01', to: '2016-12-31' }, { employer: BUDGET_HOLDER })],
    deliveries: [],
    excluded: [{ institution: 'vaph', reason: 'NOT_INTEGRATED_ON_DATE' }],
  },
  {
    name: '10/012 §15: an identity change from before VAPH\'s file was opened → NOT_INTEGRATED_ON_DATE',
    facts: { ...IDENTITY, effectiveDate: '2023-06-01' },
    lines: [line('vaph', FROM_2024, { employer: BUDGET_HOLDER })],
    deliveries: [],
    excluded: [{ institution: 'vaph', reason: 'NOT_INTEGRATED_ON_DATE' }],
  },
  {
    name: 'an identity change, VAPH\'s file open on its date → delivered through MAGDA, no period and no employer filter',
    facts: { ...IDENTITY, effectiveDate: '2024-06-01' },
    lines: [line('vaph', FROM_2024, { employer: BUDGET_HOLDER })],
    deliveries: [{ institution: 'vaph', via: 'magda', employer: null, periods: null }],
    excluded: [],
  },
  {
    name: 'no effective date: routed on the routing day (2024-06-15), a file closed the day before → NOT_INTEGRATED_ON_DATE',
    facts: { effectiveDate: null },
    lines: [line('vaph', { from: '2024-01-01', to: '2024-06-14' }, { employer: BUDGET_HOLDER })],
    deliveries: [],
    excluded: [{ institution: 'vaph', reason: 'NOT_INTEGRATED_ON_DATE' }],
  },
  {
    name: 'no effective date: routed on the routing day (2024-06-15), a file opened that day → delivered',
    facts: { effectiveDate: null },
    lines: [line('vaph', { from: '2024-06-15', to: null }, { employer: BUDGET_HOLDER })],
    deliveries: [{ institution: 'vaph', via: 'magda', employer: BUDGET_HOLDER, periods: [{ from: '2024-06-15', to: null }] }],
    excluded: [],
  },
  {
    name: 'an identity change without effective date, routed in 2024, VAPH\'s file closed in 2016 → NOT_INTEGRATED_ON_DATE',
    facts: { ...IDENTITY, effectiveDate: null },
    lines: [line('vaph', { from: '2015-01-01', to: '2016-12-31' }, { employer: BUDGET_HOLDER })],
    deliveries: [],
    excluded: [{ institution: 'vaph', reason: 'NOT_INTEGRATED_ON_DATE' }],
  },
  {
    name: 'the same, routed on 2016-06-01 while the file was open → delivered',
    facts: { ...IDENTITY, effectiveDate: null },
    lines: [line('vaph', { from: '2015-01-01', to: '2016-12-31' }, { employer: BUDGET_HOLDER })],
    today: '2016-06-01',
    deliveries: [{ institution: 'vaph', via: 'magda', employer: null, periods: null }],
    excluded: [],
  },
  {
    name: 'the relay (10/012 §9, §18): VAPH is told via MAGDA, IRISCARE directly (via null)',
    facts: {},
    lines: [line('vaph', FROM_2024, { employer: BUDGET_HOLDER }), line('iriscare', FROM_2024, { employer: BUDGET_HOLDER })],
    deliveries: [
      { institution: 'iriscare', via: null, employer: BUDGET_HOLDER, periods: [FROM_2024] },
      { institution: 'vaph', via: 'magda', employer: BUDGET_HOLDER, periods: [FROM_2024] },
    ],
    excluded: [],
  },
  {
    name: 'a grant not naming the link (10/012 copied without employer key, no intermediary): an unbound line → delivered directly, every employer',
    facts: {},
    lines: [line('testinst', FROM_2024)],
    rules: OPEN,
    deliveries: [{ institution: 'testinst', via: null, employer: null, periods: [FROM_2024] }],
    excluded: [],
  },
];

describe('routeMutation: the routing table', () => {
  it.each(ROUTING_TABLE.map((row) => [row.name, row] as const))('%s', (_name, row) => {
    const r = route(facts(row.facts), row.lines, row.today ?? TODAY, row.rules ?? REAL);
    expect(r.deliveries.map(shape)).toEqual(row.deliveries);
    expect(r.excluded).toEqual(row.excluded);
    // Whoever is told is told once, and never MAGDA in its own right.
    expect(r.deliveries.map((d) => d.institution)).not.toContain('magda');
  });
});

// ---------------------------------------------------------------------------------------------------

describe('mutationContent: what a subscriber receives of the change', () => {
  const dimona = service('dimona');
  const identification = service('identification');
  const dmfa = service('dmfa');

  it('blocks: the subscriber\'s employer only, within its periods, with the blocks it is authorized', () => {
    const payload = sourcePayload('dimona', ASSISTANT);
    // The source sends the whole record: the budget holder's job and the supermarket's.
    expect(dimonaRows(payload).map(employerOf)).toEqual([`ONSS:${E.budgetHolder.onssNumber}`, `ENTERPRISE:${E.supermarket.enterpriseNumber}`]);
    const delivery = onlyDelivery(route(facts({}), [line('vaph', { from: '2024-01-01', to: null }, { employer: BUDGET_HOLDER })]), 'vaph');
    const content = mutationContent(dimona, delivery, payload);
    expect(content.form).toBe('BLOCKS');
    expect(dimonaRows(content.payload).map(employerOf)).toEqual([`ONSS:${E.budgetHolder.onssNumber}`]);
    // The budget holder's job has no using employer: only the blocks holding data are listed.
    expect(content.deliveredBlocks).toEqual(['dimona.period', 'dimona.employer', 'dimona.worker', 'dimona.occupation']);
    expect(content.removedBlocks).toEqual([]);
  });

  it('blocks the deliberation does not grant are removed and reported', () => {
    // 10/012 §17 grants the registers without the photo (19/010 §8 grants it to ONVA, which is pushed nothing).
    // (Frozen on the top level only: a Buffer cannot be frozen.)
    const payload = Object.freeze({
      ...sourcePayload('identification', ASSISTANT),
      photo: { image: Buffer.from([0xff, 0xd8, 0xff]), takenOn: '2021-03-01' },
    });
    const delivery = onlyDelivery(
      route(facts({ service: 'identification', employer: null }), [line('vaph', { from: '2015-01-01', to: null }, { employer: BUDGET_HOLDER })]),
      'vaph',
    );
    const content = mutationContent(identification, delivery, payload);
    expect(content.form).toBe('BLOCKS');
    expect(content.payload?.photo).toBeNull();
    expect(content.payload?.name).toEqual({ lastName: 'Maes', firstNames: ['Sofie', 'Anna'] });
    expect(content.removedBlocks).toEqual(['identification.photo']);
    expect(content.deliveredBlocks).toContain('identification.residence');
    expect(content.deliveredBlocks).not.toContain('identification.photo');
  });

  it('DmfA: the blocks of 10/012 §8 only, for the employer of the link', () => {
    const payload = sourcePayload('dmfa', ASSISTANT);
    const delivery = onlyDelivery(
      route(facts({ service: 'dmfa', effectiveDate: '2024-05-15' }), [line('vaph', { from: '2024-01-01', to: null }, { employer: BUDGET_HOLDER })]),
      'vaph',
    );
    const content = mutationContent(dmfa, delivery, payload);
    expect(content.form).toBe('BLOCKS');
    const declarations = (content.payload?.employerDeclarations ?? []) as Array<{ onssNumber: string; quarter: string }>;
    expect(new Set(declarations.map((d) => d.onssNumber))).toEqual(new Set([E.budgetHolder.onssNumber]));
    // Quarters before the integration are gone.
    expect(declarations.every((d) => d.quarter >= '2024Q1')).toBe(true);
    expect(declarations.length).toBeGreaterThan(0);
    // The services (90018) and the contributions not tied to a person are not granted by 10/012.
    expect(content.removedBlocks).toEqual(['dmfa.service', 'dmfa.contribution-unrelated-to-person']);
  });

  it('rows entirely outside the integrated periods are removed; a row that overlaps them is kept whole', () => {
    const payload = sourcePayload('dimona', ASSISTANT);
    // The supermarket job runs 2024-02-01..2025-06-30; a line bound to no employer, 2025-08 on, does not
    // overlap it (under a grant not naming the link: VAPH's would not take an unbound line, 10/012 §9).
    const delivery = onlyDelivery(
      route(facts({ employer: null, effectiveDate: '2025-09-01' }), [line('testinst', { from: '2025-08-01', to: null })], TODAY, OPEN),
      'testinst',
    );
    const content = mutationContent(dimona, delivery, payload);
    expect(dimonaRows(content.payload).map(employerOf)).toEqual([`ONSS:${E.budgetHolder.onssNumber}`]);
    // The budget holder's job began in 2022 and is open: it overlaps, and keeps its start.
    expect(dimonaRows(content.payload)[0]?.occupation?.inDate).toBe('2022-09-01');
  });

  it('an identity change is not filtered by period', () => {
    const payload = sourcePayload('identification', SIMULATED.deceased);
    // The file is open on the day of the change (10/012 §15), for that month only: the registers' data are
    // not clipped to it (residence since 1998, civil status since 2016).
    const delivery = onlyDelivery(
      route(facts({ service: 'identification', subjectNiss: SIMULATED.deceased, employer: null, effectiveDate: '2024-08-17' }), [
        line('vaph', { from: '2024-08-01', to: '2024-08-31' }, { niss: SIMULATED.deceased, employer: CPAS }),
      ]),
      'vaph',
    );
    expect(delivery.periods).toBeNull();
    const content = mutationContent(identification, delivery, payload);
    // 10/012 §17 names the date of death, not its place: the place is withheld.
    expect(content.payload?.decease).toEqual({ date: '2024-08-17', place: null });
    expect(content.deliveredBlocks).toContain('identification.decease');
    expect(content.removedFields).toContain('identification.decease.place');
  });

  it('a deliberation that pushes notifications only gives no data at all', () => {
    const notifying = variant('10/012', 'testinst', (d) => ({
      versions: d.versions.map((v) => ({
        ...v,
        services: v.services.map((s) => ({ ...s, mutations: { pushed: true as const, form: 'notification' as const } })),
      })),
    }));
    const rules = rulesWith([notifying]);
    const delivery = onlyDelivery(
      route(facts({}), [line('testinst', { from: '2024-01-01', to: null }, { employer: BUDGET_HOLDER })], TODAY, rules),
      'testinst',
    );
    expect(delivery.subscription.form).toBe('notification');
    expect(mutationContent(dimona, delivery, sourcePayload('dimona', ASSISTANT))).toEqual({
      form: 'NOTIFICATION',
      payload: null,
      deliveredBlocks: [],
      removedBlocks: [],
      removedFields: [],
    });
  });

  it('a change the source sent without data is a notification', () => {
    const delivery = onlyDelivery(route(facts({}), [line('vaph', { from: '2024-01-01', to: null }, { employer: BUDGET_HOLDER })]), 'vaph');
    expect(mutationContent(dimona, delivery, null)).toEqual({ form: 'NOTIFICATION', payload: null, deliveredBlocks: [], removedBlocks: [], removedFields: [] });
  });

  it('nothing the subscriber may see is left: a notification, without data', () => {
    const payload = sourcePayload('dimona', ASSISTANT);
    // Bound to the CPAS, where the assistant never worked: every row is another employer's.
    const cpas = onlyDelivery(route(facts({ employer: CPAS }), [line('vaph', { from: '2024-01-01', to: null }, { employer: CPAS })]), 'vaph');
    expect(mutationContent(dimona, cpas, payload)).toEqual({ form: 'NOTIFICATION', payload: null, deliveredBlocks: [], removedBlocks: [], removedFields: [] });

    // Only blocks the subscriber may not see hold data: they are reported as removed.
    const photoOnly = Object.freeze({ niss: ASSISTANT, photo: { image: Buffer.from([1, 2, 3]), takenOn: '2021-03-01' } });
    const identity = onlyDelivery(
      route(facts({ service: 'identification', employer: null }), [line('vaph', { from: '2024-01-01', to: null })]),
      'vaph',
    );
    const content = mutationContent(identification, identity, photoOnly);
    expect(content).toEqual({ form: 'NOTIFICATION', payload: null, deliveredBlocks: [], removedBlocks: ['identification.photo'], removedFields: [] });
  });

  it('the same change, filtered for each subscriber on its own', () => {
    // The interim worker: the agency's jobs (using employer: the brewery), then hired by the brewery.
    const niss = SIMULATED.interimWorker;
    const agency = onss(E.interimAgency.onssNumber);
    const payload = sourcePayload('dimona', niss);
    const lines = [
      line('vaph', { from: '2023-01-01', to: null }, { employer: agency, niss }),
      line('testinst', { from: '2024-10-01', to: null }, { niss }),
      line('iriscare', { from: '2024-10-01', to: null }, { niss }),
    ];
    const r = route(facts({ subjectNiss: niss, employer: agency, effectiveDate: '2024-10-15' }), lines, TODAY, OPEN);
    expect(r.deliveries.map((d) => d.institution)).toEqual(['testinst', 'vaph']);
    // 19/104 §2: IRISCARE's line bound to no employer tells it nothing.
    expect(r.excluded).toEqual([{ institution: 'iriscare', reason: 'EMPLOYER_LINE_REQUIRED' }]);
    const [testinst, vaph] = r.deliveries.map((d) => mutationContent(dimona, d, payload));
    // VAPH: the agency's two jobs, with the brewery as using employer.
    expect(dimonaRows(vaph?.payload ?? null).map(employerOf)).toEqual([`ONSS:${E.interimAgency.onssNumber}`, `ONSS:${E.interimAgency.onssNumber}`]);
    expect(vaph?.deliveredBlocks).toContain('dimona.using-employer');
    // testinst, bound to no employer since 2024-10 under a grant not naming the link: the rows overlapping
    // its period, whatever the employer.
    expect(dimonaRows(testinst?.payload ?? null).map(employerOf)).toEqual([`ENTERPRISE:${E.brewery.enterpriseNumber}`]);
  });

  it('a change about one employer never shows a subscriber that employer\'s rows outside the lines that cover it', () => {
    // The budget holder also employed the assistant in 2019 (an earlier DIMONA period); VAPH followed
    // the assistant in 2019 for the supermarket only. A request of VAPH for the budget holder's rows
    // would be clipped to the lines bound to the budget holder (or to none): never to 2019.
    const payload = sourcePayload('dimona', ASSISTANT);
    const [budgetHolderRow] = dimonaRows(payload);
    const earlier = {
      ...budgetHolderRow,
      dimonaPeriodId: `${budgetHolderRow?.dimonaPeriodId}-2019`,
      occupation: { ...budgetHolderRow?.occupation, inDate: '2019-01-01', outDate: '2019-12-31' },
    };
    const withEarlier = deepFreeze({ ...payload, dimonaPeriods: [earlier, ...dimonaRows(payload)] });
    const supermarket2019 = (institution: string) => line(institution, { from: '2019-01-01', to: '2019-12-31' }, { employer: SUPERMARKET });
    const rowsFor = (institution: string, lines: Integration[], rules = REAL) =>
      dimonaRows(mutationContent(dimona, onlyDelivery(route(facts({}), lines, TODAY, rules), institution), withEarlier).payload).map((row) => [
        employerOf(row),
        row.occupation?.inDate,
      ]);

    // Followed for the budget holder since 2024: the budget holder's current job only.
    expect(rowsFor('vaph', [line('vaph', { from: '2024-01-01', to: null }, { employer: BUDGET_HOLDER }), supermarket2019('vaph')])).toEqual([
      [`ONSS:${E.budgetHolder.onssNumber}`, '2022-09-01'],
    ]);
    // Followed for every employer since 2024 (a grant not naming the link): every job overlapping 2024,
    // still not the budget holder's 2019 one.
    expect(rowsFor('testinst', [line('testinst', { from: '2024-01-01', to: null }), supermarket2019('testinst')], OPEN)).toEqual([
      [`ONSS:${E.budgetHolder.onssNumber}`, '2022-09-01'],
      [`ENTERPRISE:${E.supermarket.enterpriseNumber}`, '2024-02-01'],
    ]);
    // 10/012 §9: VAPH followed for every employer is not told at all.
    expect(route(facts({}), [line('vaph', { from: '2024-01-01', to: null }), supermarket2019('vaph')]).excluded).toEqual([
      { institution: 'vaph', reason: 'EMPLOYER_LINE_REQUIRED' },
    ]);
  });

  it('10/012 §9: VAPH\'s DIMONA change of the budget holder carries no row of the supermarket, whatever other lines VAPH holds', () => {
    const payload = sourcePayload('dimona', ASSISTANT);
    const supermarketRow = `ENTERPRISE:${E.supermarket.enterpriseNumber}`;
    // The source's record holds both jobs, both overlapping 2024.
    expect(dimonaRows(payload).map(employerOf)).toContain(supermarketRow);
    const bound = line('vaph', { from: '2024-01-01', to: null }, { employer: BUDGET_HOLDER });
    for (const lines of [
      [bound],
      // A line bound to no employer (integrated before the directory demanded the employer) opens nothing more.
      [bound, line('vaph', { from: '2020-01-01', to: null })],
      // Nor does a line bound to the supermarket: it is another link.
      [bound, line('vaph', { from: '2024-01-01', to: null }, { employer: SUPERMARKET })],
    ]) {
      const delivery = onlyDelivery(route(facts({}), lines), 'vaph');
      expect(delivery.employer).toEqual(BUDGET_HOLDER);
      const content = mutationContent(dimona, delivery, payload);
      expect(content.form).toBe('BLOCKS');
      expect(dimonaRows(content.payload).map(employerOf)).toEqual([`ONSS:${E.budgetHolder.onssNumber}`]);
    }
    // Where the grant does not name the link, the same unbound line would have shown the supermarket's job.
    const open = onlyDelivery(route(facts({}), [line('testinst', { from: '2020-01-01', to: null })], TODAY, OPEN), 'testinst');
    expect(dimonaRows(mutationContent(dimona, open, payload).payload).map(employerOf)).toContain(supermarketRow);
  });
});
