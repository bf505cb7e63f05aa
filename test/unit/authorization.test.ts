/**
 * The decision rules on their own: intermediaries, purposes, versions in force, requested blocks, and
 * whether an integration must name the employer (employerLinkDemand).
 * Synthetic deliberations (built here) run against the real catalogue; the seed deliberations have
 * their own file (seed-deliberations.test.ts).
 */
import { describe, expect, it } from 'vitest';
import {
  buildAuthorizationIndex,
  decideAuthorization,
  employerLinkDemand,
  type AuthorizationDecision,
  type AuthorizationGrant,
  type AuthorizationRequest,
} from '../../src/domain/authorization.js';
import { fieldsOf } from '../../src/domain/catalogue.js';
import type { Deliberation, DeliberationVersion, FieldGrant, Intermediary, RowCondition, ServiceGrant } from '../../src/domain/deliberation.js';
import { realCatalogue, realDeliberations } from './support/gateway-config.js';

/**
 * A grant as the loader builds it: each block with every field the catalogue knows of it (a field list),
 * or whole (`'all'`) when the grant covers future fields too (13/126); no row condition, no period floor.
 */
function grant(service: string, blocks: string[], extra: Partial<ServiceGrant> = {}): ServiceGrant {
  const def = realCatalogue().services.get(service);
  const fields: Record<string, FieldGrant> = {};
  for (const id of blocks) {
    const block = def?.blocks.get(id);
    fields[id] = extra.includesFutureFieldsOfBlocks === true ? 'all' : block ? fieldsOf(block) : [];
  }
  return {
    service,
    source: def?.source ?? 'unknown',
    blocks,
    fields,
    rows: [],
    periodFrom: null,
    includesFutureFieldsOfBlocks: false,
    mutations: { pushed: false },
    keys: null,
    integration: null,
    paragraphs: '§1',
    note: null,
    ...extra,
  };
}

function version(id: string, from: string, to: string | null, services: ServiceGrant[]): DeliberationVersion {
  return {
    id,
    decidedOn: from,
    inForce: { from, to },
    purposeText: `purpose of ${id}`,
    legalBasis: `legal basis of ${id}`,
    retention: { kind: 'duration', duration: 'P1Y', paragraphs: '§9', text: 'one year' },
    services,
    note: null,
  };
}

function delib(
  number: string,
  requester: string,
  versions: DeliberationVersion[],
  extra: { purpose?: string; intermediaries?: Intermediary[]; viaBcss?: boolean } = {},
): Deliberation {
  return {
    number,
    file: `${number.replace('/', '-')}-test.yaml`,
    title: `test ${number}`,
    reference: `TEST/${number}`,
    committee: 'test',
    viaBcss: extra.viaBcss ?? true,
    requester,
    onwardRecipients: [],
    intermediaries: extra.intermediaries ?? [],
    purpose: { code: extra.purpose ?? `purpose-${number.replace('/', '-')}`, text: 'test purpose' },
    logging: { minimumRetention: null, switchLogs: [], requesterLogs: [], readableBy: [], paragraphs: '§1', text: 'none' },
    access: null,
    consultationOnly: null,
    versions,
  };
}

const DMFA_CORE = ['dmfa.employer-declaration', 'dmfa.natural-person', 'dmfa.worker-record', 'dmfa.occupation'];

function decide(deliberations: Deliberation[], request: AuthorizationRequest): AuthorizationDecision {
  return decideAuthorization(buildAuthorizationIndex(deliberations, realCatalogue()), request);
}

function granted(decision: AuthorizationDecision): AuthorizationGrant {
  if (!decision.ok) throw new Error(`refused: ${decision.refusal.code} ${decision.refusal.detail}`);
  return decision;
}

function refusal(decision: AuthorizationDecision): { code: string; detail: string } {
  if (decision.ok) throw new Error(`granted under ${decision.deliberation} ${decision.versionId}`);
  return decision.refusal;
}

describe('intermediaries', () => {
  const real = realDeliberations();
  const ask = (request: Partial<AuthorizationRequest>) =>
    decide(real, { requester: 'magda', service: 'dmfa', date: '2024-01-10', ...request });

  it('a registered relay sends on behalf of its institution: the authorization is the beneficiary\'s', () => {
    const g = granted(ask({ onBehalfOf: 'vaph' }));
    expect(g.beneficiary).toBe('vaph');
    expect(g.relay).toEqual({ institution: 'magda', mayUseData: false, mandatory: true });
    expect(g.deliberation).toBe('10/012');
  });

  it('a relay asking for itself, with no deliberation of its own, is refused and told to name onBehalfOf', () => {
    const r = refusal(ask({}));
    expect(r.code).toBe('NOT_AUTHORIZED');
    expect(r.detail).toMatch(/only as an intermediary/);
    expect(r.detail).toContain('onBehalfOf');
  });

  it('an empty onBehalfOf is no relay at all', () => {
    expect(refusal(ask({ onBehalfOf: '' })).detail).toMatch(/only as an intermediary/);
  });

  it('a relay for an institution it is not registered for is refused', () => {
    const r = refusal(ask({ onBehalfOf: 'iriscare' }));
    expect(r.code).toBe('NOT_AUTHORIZED');
    expect(r.detail).toBe('magda is not registered as an intermediary for iriscare in deliberation 19/104');
  });

  it('an unregistered relay for a registered beneficiary is refused', () => {
    const r = refusal(decide(real, { requester: 'corve', onBehalfOf: 'vaph', service: 'dmfa', date: '2024-01-10' }));
    expect(r.code).toBe('NOT_AUTHORIZED');
    expect(r.detail).toContain('corve is not registered');
  });

  it('an unregistered relay naming a wrong purpose learns nothing of the beneficiary\'s purposes', () => {
    const r = refusal(decide(real, { requester: 'corve', onBehalfOf: 'vaph', service: 'dmfa', purpose: 'guess', date: '2024-01-10' }));
    expect(r.detail).not.toContain('vaph-personal-assistance-budget');
    expect(r.detail).toContain('corve is not registered');
  });

  it('a relay for an institution that has no deliberation for the service is refused', () => {
    const r = refusal(ask({ onBehalfOf: 'vaph', service: 'gotot' }));
    expect(r.code).toBe('NOT_AUTHORIZED');
    expect(r.detail).toBe('no deliberation authorizes vaph to receive gotot data');
  });

  it('a mandatory intermediary cannot be bypassed, even with onBehalfOf naming the requester itself', () => {
    const r = refusal(decide(real, { requester: 'vaph', onBehalfOf: 'vaph', service: 'dimona', date: '2024-01-10' }));
    expect(r.code).toBe('NOT_AUTHORIZED');
    expect(r.detail).toMatch(/only through magda/);
  });

  it('a relay with a deliberation of its own may ask for itself', () => {
    const own = delib('99/001', 'magda', [version('v1', '2020-01-01', null, [grant('identification', ['identification.name'])])]);
    const g = granted(decide([...real, own], { requester: 'magda', service: 'identification', date: '2024-01-10' }));
    expect(g.deliberation).toBe('99/001');
    expect(g.relay).toBeNull();
    expect(g.beneficiary).toBe('magda');
  });

  it('a non-mandatory intermediary: both the direct request and the relayed one are accepted', () => {
    const d = delib('99/002', 'cpas-gent', [version('v1', '2020-01-01', null, [grant('dimona', ['dimona.occupation'])])], {
      intermediaries: [{ institution: 'smals', mayUseData: false, mandatory: false }],
    });
    expect(granted(decide([d], { requester: 'cpas-gent', service: 'dimona', date: '2024-01-10' })).relay).toBeNull();
    expect(
      granted(decide([d], { requester: 'smals', onBehalfOf: 'cpas-gent', service: 'dimona', date: '2024-01-10' })).relay,
    ).toEqual({ institution: 'smals', mayUseData: false, mandatory: false });
  });
});

describe('purpose', () => {
  const a = delib('98/001', 'cpas-gent', [version('v1', '2020-01-01', null, [grant('dmfa', DMFA_CORE)])], { purpose: 'integration-income' });
  const b = delib('98/002', 'cpas-gent', [version('v1', '2021-01-01', null, [grant('dmfa', ['dmfa.occupation'])])], {
    purpose: 'student-grant',
  });
  const old = delib('98/003', 'cpas-gent', [version('v1', '2010-01-01', '2015-12-31', [grant('dmfa', ['dmfa.remuneration'])])], {
    purpose: 'old-scheme',
  });
  const ask = (deliberations: Deliberation[], purpose?: string, date = '2024-01-10') =>
    decide(deliberations, { requester: 'cpas-gent', service: 'dmfa', purpose, date });

  it('absent, with one deliberation in force: that one', () => {
    expect(granted(ask([a, old])).deliberation).toBe('98/001');
  });

  it('absent, with several in force: refused, the detail lists the purposes to choose from', () => {
    const r = refusal(ask([a, b]));
    expect(r.code).toBe('NOT_AUTHORIZED');
    expect(r.detail).toContain('integration-income (98/001)');
    expect(r.detail).toContain('student-grant (98/002)');
  });

  it('absent, with several matching but only one in force on the date: no ambiguity', () => {
    expect(granted(ask([a, b], undefined, '2020-06-01')).deliberation).toBe('98/001');
  });

  it('given as a purpose code or as the deliberation number, it selects the deliberation', () => {
    expect(granted(ask([a, b], 'student-grant')).deliberation).toBe('98/002');
    expect(granted(ask([a, b], '98/001')).deliberation).toBe('98/001');
    expect(granted(ask([a, b], '98/002')).allowedBlocks).toEqual(['dmfa.declaration-status', 'dmfa.occupation']);
  });

  it('given but matching none: refused, naming the authorized purposes', () => {
    const r = refusal(ask([a, b], 'fishing'));
    expect(r.code).toBe('NOT_AUTHORIZED');
    expect(r.detail).toContain('"fishing"');
    expect(r.detail).toContain('integration-income');
  });

  it('given, matching a deliberation not in force on the date: AUTHORIZATION_NOT_IN_FORCE', () => {
    expect(refusal(ask([a, b, old], 'old-scheme')).code).toBe('AUTHORIZATION_NOT_IN_FORCE');
  });

  it('another institution\'s purpose code does not open that institution\'s authorization', () => {
    const r = refusal(decide(realDeliberations(), { requester: 'onva', service: 'dmfa', purpose: 'iriscare-care-structure-financing', date: '2024-01-10' }));
    expect(r.code).toBe('NOT_AUTHORIZED');
  });
});

describe('versions in force', () => {
  const d = delib('97/001', 'onem', [
    version('v1', '2015-01-01', '2016-12-31', [grant('dmfa', DMFA_CORE)]),
    // a gap: 2017 is not covered
    version('v2', '2018-01-01', '2019-12-31', [grant('dmfa', [...DMFA_CORE, 'dmfa.remuneration'])]),
  ]);
  const ask = (date: string) => decide([d], { requester: 'onem', service: 'dmfa', date });

  it('before the first version: AUTHORIZATION_NOT_IN_FORCE, naming the versions', () => {
    const r = refusal(ask('2014-12-31'));
    expect(r.code).toBe('AUTHORIZATION_NOT_IN_FORCE');
    expect(r.detail).toContain('97/001');
    expect(r.detail).toContain('v1 2015-01-01..2016-12-31');
  });

  it('after the last version expired: AUTHORIZATION_NOT_IN_FORCE', () => {
    expect(refusal(ask('2020-01-01')).code).toBe('AUTHORIZATION_NOT_IN_FORCE');
  });

  it('in a gap between two versions: AUTHORIZATION_NOT_IN_FORCE', () => {
    expect(refusal(ask('2017-06-15')).code).toBe('AUTHORIZATION_NOT_IN_FORCE');
  });

  it('both ends of a version are in force (closed period)', () => {
    expect(granted(ask('2015-01-01')).versionId).toBe('v1');
    expect(granted(ask('2016-12-31')).versionId).toBe('v1');
    expect(granted(ask('2019-12-31')).versionId).toBe('v2');
  });

  it('each version grants its own blocks', () => {
    expect(granted(ask('2016-06-01')).allowedBlocks).not.toContain('dmfa.remuneration');
    expect(granted(ask('2018-06-01')).allowedBlocks).toContain('dmfa.remuneration');
  });

  it('a service added by a later version is not in force under the earlier one', () => {
    const e = delib('97/002', 'onem', [
      version('v1', '2015-01-01', '2017-12-31', [grant('dmfa', DMFA_CORE)]),
      version('v2', '2018-01-01', null, [grant('dmfa', DMFA_CORE), grant('dimona', ['dimona.occupation'])]),
    ]);
    expect(refusal(decide([e], { requester: 'onem', service: 'dimona', date: '2016-01-01' })).code).toBe('AUTHORIZATION_NOT_IN_FORCE');
    expect(granted(decide([e], { requester: 'onem', service: 'dimona', date: '2018-01-01' })).versionId).toBe('v2');
  });

  it('a service dropped by a later version is no longer authorized after it', () => {
    const e = delib('97/003', 'onem', [
      version('v1', '2015-01-01', '2017-12-31', [grant('dmfa', DMFA_CORE), grant('dimona', ['dimona.occupation'])]),
      version('v2', '2018-01-01', null, [grant('dmfa', DMFA_CORE)]),
    ]);
    expect(granted(decide([e], { requester: 'onem', service: 'dimona', date: '2017-12-31' })).ok).toBe(true);
    expect(refusal(decide([e], { requester: 'onem', service: 'dimona', date: '2018-01-01' })).code).toBe('AUTHORIZATION_NOT_IN_FORCE');
  });
});

describe('requested blocks', () => {
  const d = delib('96/001', 'onafts', [
    version('v1', '2020-01-01', null, [grant('dmfa', [...DMFA_CORE, 'dmfa.remuneration'], { includesFutureFieldsOfBlocks: true })]),
  ]);
  const ask = (requestedBlocks?: string[] | null) =>
    decide([d], { requester: 'onafts', service: 'dmfa', date: '2024-01-10', requestedBlocks });

  const ALL = [
    'dmfa.employer-declaration',
    'dmfa.declaration-status',
    'dmfa.natural-person',
    'dmfa.worker-record',
    'dmfa.occupation',
    'dmfa.remuneration',
  ];

  it('none requested (absent, null or empty): every authorized block plus the technical ones, in catalogue order', () => {
    expect(granted(ask()).allowedBlocks).toEqual(ALL);
    expect(granted(ask(null)).allowedBlocks).toEqual(ALL);
    expect(granted(ask([])).allowedBlocks).toEqual(ALL);
    expect(granted(ask()).removedBlocks).toEqual([]);
  });

  it('requested ∩ authorized, plus technical, in catalogue order whatever the order asked', () => {
    const g = granted(ask(['dmfa.remuneration', 'dmfa.natural-person']));
    expect(g.allowedBlocks).toEqual(['dmfa.declaration-status', 'dmfa.natural-person', 'dmfa.remuneration']);
    expect(g.removedBlocks).toEqual([]);
  });

  it('asked but not authorized, and unknown ids, are reported as removed in the order asked', () => {
    const g = granted(ask(['dmfa.service', 'dmfa.occupation', 'dmfa.no-such-block', 'dimona.worker']));
    expect(g.allowedBlocks).toEqual(['dmfa.declaration-status', 'dmfa.occupation']);
    expect(g.removedBlocks).toEqual(['dmfa.service', 'dmfa.no-such-block', 'dimona.worker']);
  });

  it('duplicates count once', () => {
    const g = granted(ask(['dmfa.service', 'dmfa.service', 'dmfa.occupation', 'dmfa.occupation']));
    expect(g.allowedBlocks).toEqual(['dmfa.declaration-status', 'dmfa.occupation']);
    expect(g.removedBlocks).toEqual(['dmfa.service']);
  });

  it('a technical block asked for is allowed without authorization and never reported removed', () => {
    const g = granted(ask(['dmfa.declaration-status']));
    expect(g.allowedBlocks).toEqual(['dmfa.declaration-status']);
    expect(g.removedBlocks).toEqual([]);
  });

  it('only unauthorized blocks asked: refused, the detail names them', () => {
    const r = refusal(ask(['dmfa.service', 'dmfa.using-employer']));
    expect(r.code).toBe('NOT_AUTHORIZED');
    expect(r.detail).toContain('dmfa.service, dmfa.using-employer');
  });

  it('the grant carries the version\'s retention, legal basis, purpose text and the future-fields flag', () => {
    const g = granted(ask());
    expect(g.retention).toMatchObject({ kind: 'duration', duration: 'P1Y' });
    expect(g.legalBasis).toBe('legal basis of v1');
    expect(g.purpose).toEqual({ code: 'purpose-96-001', text: 'purpose of v1' });
    expect(g.includesFutureFieldsOfBlocks).toBe(true);
  });

  it('a grant covering whole blocks (13/126) grants each of them whole, and the technical ones', () => {
    expect(granted(ask(['dmfa.occupation'])).grantedFields).toEqual({
      'dmfa.declaration-status': 'all',
      'dmfa.employer-declaration': 'all',
      'dmfa.natural-person': 'all',
      'dmfa.worker-record': 'all',
      'dmfa.occupation': 'all',
      'dmfa.remuneration': 'all',
    });
  });
});

describe('field lists, row conditions and the period floor', () => {
  const MANUAL: RowCondition = {
    kind: 'one-of',
    block: 'dmfa.worker-record',
    path: 'workerCode',
    values: ['015'],
    paragraphs: '§3',
    label: 'manual workers only',
  };
  const d = delib('96/002', 'onafts', [
    version('v1', '2020-01-01', null, [
      grant('dmfa', [...DMFA_CORE, 'dmfa.remuneration'], {
        fields: {
          'dmfa.employer-declaration': ['quarter', 'onssNumber'],
          'dmfa.natural-person': ['niss'],
          'dmfa.worker-record': ['workerCode'],
          'dmfa.occupation': ['sequenceNumber', 'startDate'],
          'dmfa.remuneration': ['amount'],
        },
        rows: [MANUAL],
        periodFrom: { date: '2020-01-01', paragraphs: '§2' },
      }),
    ]),
  ]);

  it('the decision carries the fields of every block the grant names, asked or not, and the technical blocks whole', () => {
    const g = granted(decide([d], { requester: 'onafts', service: 'dmfa', date: '2024-01-10', requestedBlocks: ['dmfa.remuneration'] }));
    expect(g.allowedBlocks).toEqual(['dmfa.declaration-status', 'dmfa.remuneration']);
    expect(g.grantedFields).toEqual({
      'dmfa.declaration-status': 'all',
      'dmfa.employer-declaration': ['quarter', 'onssNumber'],
      'dmfa.natural-person': ['niss'],
      'dmfa.worker-record': ['workerCode'],
      'dmfa.occupation': ['sequenceNumber', 'startDate'],
      'dmfa.remuneration': ['amount'],
    });
    expect(g.includesFutureFieldsOfBlocks).toBe(false);
  });

  it('and the grant\'s row conditions and period floor', () => {
    const g = granted(decide([d], { requester: 'onafts', service: 'dmfa', date: '2024-01-10' }));
    expect(g.rows).toEqual([MANUAL]);
    expect(g.periodFrom).toEqual({ date: '2020-01-01', paragraphs: '§2' });
  });
});

describe('what no deliberation covers', () => {
  it('an unknown service: UNKNOWN_SERVICE', () => {
    expect(refusal(decide(realDeliberations(), { requester: 'onva', service: 'tax-returns', date: '2024-01-10' })).code).toBe(
      'UNKNOWN_SERVICE',
    );
  });

  it('an institution without any deliberation: NOT_AUTHORIZED', () => {
    const r = refusal(decide(realDeliberations(), { requester: 'nobody', service: 'dmfa', date: '2024-01-10' }));
    expect(r).toEqual({ code: 'NOT_AUTHORIZED', detail: 'no deliberation authorizes nobody to receive dmfa data' });
  });

  it('a service the institution has no deliberation for: NOT_AUTHORIZED (IRISCARE and GOTOT)', () => {
    expect(refusal(decide(realDeliberations(), { requester: 'iriscare', service: 'gotot', date: '2024-01-10' })).code).toBe(
      'NOT_AUTHORIZED',
    );
  });

  it('a deliberation outside the switch next to one through it: the one through the switch is used', () => {
    const outside = delib('95/001', 'fedris', [version('v1', '2010-01-01', null, [grant('dmfa', DMFA_CORE)])], { viaBcss: false });
    const inside = delib('95/002', 'fedris', [version('v1', '2010-01-01', null, [grant('dmfa', ['dmfa.occupation'])])]);
    expect(granted(decide([outside, inside], { requester: 'fedris', service: 'dmfa', date: '2024-01-10' })).deliberation).toBe('95/002');
    const r = refusal(decide([outside], { requester: 'fedris', service: 'dmfa', date: '2024-01-10' }));
    expect(r.code).toBe('NOT_AUTHORIZED');
    expect(r.detail).toContain('95/001');
  });
});

describe('the index', () => {
  it('answers from the matching deliberations only, among thousands of others', () => {
    const others = Array.from({ length: 5000 }, (_, i) =>
      delib(`${String(10 + (i % 80)).padStart(2, '0')}/${String(i % 1000).padStart(3, '0')}`, `inst-${i}`, [
        version('v1', '2000-01-01', null, [grant('dmfa', DMFA_CORE)]),
      ]),
    );
    const index = buildAuthorizationIndex([...realDeliberations(), ...others], realCatalogue());
    const g = granted(decideAuthorization(index, { requester: 'inst-4321', service: 'dmfa', date: '2024-01-10' }));
    expect(g.beneficiary).toBe('inst-4321');
    expect(granted(decideAuthorization(index, { requester: 'magda', onBehalfOf: 'vaph', service: 'dmfa', date: '2024-01-10' })).deliberation).toBe(
      '10/012',
    );
  });
});

describe('employerLinkDemand: must the person be integrated with the employer?', () => {
  const real = buildAuthorizationIndex(realDeliberations(), realCatalogue());
  const REQUIRED = { employer: 'required', period: 'required', employerCategoryForInterim: false } as const;
  const OPTIONAL = { employer: 'optional', period: 'required', employerCategoryForInterim: false } as const;
  const capacity = (code: string) => ({ integration: { sector: 'test', capacity: code, minPhase: null, note: null } });
  const demand = (deliberations: Deliberation[], institution: string, cap: string, date: string) =>
    employerLinkDemand(buildAuthorizationIndex(deliberations, realCatalogue()), institution, cap, date);

  it('10/012 §9: VAPH integrating a personal assistant (pab-assistant) names the employer', () => {
    // The first grant that demands it, in catalogue order: DIMONA (§7, §9); DmfA (§8, §9) demands it too.
    expect(employerLinkDemand(real, 'vaph', 'pab-assistant', '2024-06-01')).toEqual({ deliberation: '10/012', paragraphs: '§7, §9' });
    // Before 10/012 was in force (2010-03-02), nothing demands it.
    expect(employerLinkDemand(real, 'vaph', 'pab-assistant', '2010-03-01')).toBeNull();
  });

  it('a capacity VAPH\'s grants do not name: null — 10/012\'s DIMONA and DmfA grants count only for pab-assistant, its identification has no employer', () => {
    for (const other of ['12/10', 'test-capacity']) expect(employerLinkDemand(real, 'vaph', other, '2024-06-01'), other).toBeNull();
  });

  it('19/104 §2: IRISCARE names the employer in any capacity (its grants demand none), under every version', () => {
    for (const cap of ['care-worker', 'test-capacity', '17/2']) {
      // v3 (from 2023-12-05): DIMONA (§9) and DmfA, the first in catalogue order.
      expect(employerLinkDemand(real, 'iriscare', cap, '2024-06-01'), cap).toEqual({ deliberation: '19/104', paragraphs: '§9' });
      // v2 (2020-12-01 … 2023-12-04) and v1 (2019-07-02 … 2020-11-30): DmfA only (§7, §8).
      expect(employerLinkDemand(real, 'iriscare', cap, '2023-12-04'), cap).toEqual({ deliberation: '19/104', paragraphs: '§7, §8' });
      expect(employerLinkDemand(real, 'iriscare', cap, '2020-06-01'), cap).toEqual({ deliberation: '19/104', paragraphs: '§7, §8' });
    }
    // Before 19/104 (2019-07-02): nothing in force.
    expect(employerLinkDemand(real, 'iriscare', 'care-worker', '2019-07-01')).toBeNull();
  });

  it('19/010: ONVA need not (its grants name no employer key); nor MAGDA nor an unknown institution, which have no grant', () => {
    expect(employerLinkDemand(real, 'onva', 'inspection', '2024-06-01')).toBeNull();
    expect(employerLinkDemand(real, 'magda', 'pab-assistant', '2024-06-01')).toBeNull();
    expect(employerLinkDemand(real, 'nobody', 'test-capacity', '2024-06-01')).toBeNull();
  });

  it('one grant in force that takes an unbound line for the capacity is enough to accept it', () => {
    const strict = delib('96/001', 'fedris', [version('v1', '2010-01-01', null, [grant('dmfa', DMFA_CORE, { keys: REQUIRED })])]);
    const lax = delib('96/002', 'fedris', [version('v1', '2010-01-01', null, [grant('dimona', ['dimona.occupation'], { keys: OPTIONAL })])]);
    const silent = delib('96/003', 'fedris', [version('v1', '2010-01-01', null, [grant('dimona', ['dimona.occupation'])])]);
    expect(demand([strict], 'fedris', 'any', '2024-01-10')).toEqual({ deliberation: '96/001', paragraphs: '§1' });
    expect(demand([strict, lax], 'fedris', 'any', '2024-01-10')).toBeNull();
    // A grant without keys names no employer either.
    expect(demand([strict, silent], 'fedris', 'any', '2024-01-10')).toBeNull();
  });

  it('a grant scoped to another capacity does not count, one without integration demand counts for every capacity', () => {
    const scoped = delib('96/004', 'fedris', [version('v1', '2010-01-01', null, [grant('dmfa', DMFA_CORE, { keys: REQUIRED, ...capacity('victim') })])]);
    const laxOther = delib('96/005', 'fedris', [
      version('v1', '2010-01-01', null, [grant('dimona', ['dimona.occupation'], { keys: OPTIONAL, ...capacity('employer-contact') })]),
    ]);
    expect(demand([scoped], 'fedris', 'victim', '2024-01-10')).toEqual({ deliberation: '96/004', paragraphs: '§1' });
    expect(demand([scoped], 'fedris', 'employer-contact', '2024-01-10')).toBeNull();
    // The lax grant is for another capacity: it does not lift the demand for 'victim'.
    expect(demand([scoped, laxOther], 'fedris', 'victim', '2024-01-10')).toEqual({ deliberation: '96/004', paragraphs: '§1' });
    expect(demand([scoped, laxOther], 'fedris', 'employer-contact', '2024-01-10')).toBeNull();
  });

  it('only the versions in force on the day count, and only deliberations through the switch', () => {
    const changing = delib('96/006', 'fedris', [
      version('v1', '2010-01-01', '2021-12-31', [grant('dmfa', DMFA_CORE, { keys: REQUIRED })]),
      version('v2', '2022-01-01', null, [grant('dmfa', DMFA_CORE, { keys: OPTIONAL })]),
    ]);
    expect(demand([changing], 'fedris', 'any', '2021-12-31')).toEqual({ deliberation: '96/006', paragraphs: '§1' });
    expect(demand([changing], 'fedris', 'any', '2022-01-01')).toBeNull();
    const outside = delib('96/007', 'fedris', [version('v1', '2010-01-01', null, [grant('dmfa', DMFA_CORE, { keys: REQUIRED })])], { viaBcss: false });
    expect(demand([outside], 'fedris', 'any', '2024-01-10')).toBeNull();
  });

  it('a service without employer key does not count: who the person is names no employer', () => {
    const identity = delib('96/008', 'fedris', [version('v1', '2010-01-01', null, [grant('identification', ['identification.name'], { keys: REQUIRED })])]);
    expect(demand([identity], 'fedris', 'any', '2024-01-10')).toBeNull();
  });
});
