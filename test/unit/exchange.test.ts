/**
 * The exchange's rules end to end, without Kafka or Redis: checking a request against the real catalogue
 * and the real deliberations (10/012 VAPH through MAGDA, 19/010 ONVA, 19/104 IRISCARE v1/v2/v3, 22/046
 * INAMI→ONSS batch, 17/006 outside the switch), the reference-directory step on hand-made integration
 * lines, and the answer composed from what the simulated authentic sources really send back (the whole
 * record of the person, every employer, neighbouring quarters).
 *
 * Fixed persons and employers used (src/sources/synthetic-population.ts):
 *   assistantOfVaph     budget holder (ONSS 100012334) from 2022-09-01, open; supermarket (ONSS 110222069,
 *                       enterprise 0402223366) 2024-02-01..2025-06-30
 *   careWorkerIriscare  care home (ONSS 120450040) from 2019-04-01; start-up (provisional 5123456773) from 2025-03-01
 *   interimWorker       agency (ONSS 150067826, category 484, joint committee 322, using employer the brewery)
 *                       2023-05-02..2023-12-22 and 2024-03-04..2024-09-27; then the brewery from 2024-10-01
 */
import { describe, expect, it } from 'vitest';
import type { Integration } from '../../src/domain/directory.js';
import {
  checkRequest,
  composeAnswer,
  decideForward,
  presentBlocks,
  retainUntilFor,
  type AnswerRules,
  type Channel,
  type CheckedRequest,
  type ComposedAnswer,
  type ExchangeRequest,
  type ExchangeRules,
  type ForwardDecision,
  type RefusedRequest,
} from '../../src/domain/exchange.js';
import { overlaps, quarterPeriod } from '../../src/domain/period.js';
import type { EmployerKind, IsoDate, Period } from '../../src/domain/types.js';
import { answerSourceRequest, type SimulatorAnswerOptions } from '../../src/sources/source-simulator.js';
import { createSyntheticPopulation, SIMULATED, SIMULATED_EMPLOYERS } from '../../src/sources/synthetic-population.js';
import { realCatalogue, realIndex, service } from './support/gateway-config.js';

type Obj = Record<string, any>;

const RULES: ExchangeRules = { catalogue: realCatalogue(), authorizations: realIndex() };
const TODAY: IsoDate = '2024-09-02';
const population = createSyntheticPopulation();

const E = SIMULATED_EMPLOYERS;
const BUDGET_HOLDER = E.budgetHolder.onssNumber; // 100012334
const SUPERMARKET_ONSS = E.supermarket.onssNumber; // 110222069
const SUPERMARKET_ENTERPRISE = E.supermarket.enterpriseNumber; // 0402223366
const AGENCY = E.interimAgency.onssNumber; // 150067826
const CARE_HOME = E.careHome.onssNumber; // 120450040
const START_UP_PROVISIONAL = E.startUp.provisionalOnssNumber; // 5123456773

/** The 11 blocks 10/012 §8 names for DmfA, plus the technical declaration status, in catalogue order. */
const VAPH_DMFA_BLOCKS = [
  'dmfa.employer-declaration',
  'dmfa.declaration-status',
  'dmfa.natural-person',
  'dmfa.worker-record',
  'dmfa.occupation',
  'dmfa.remuneration',
  'dmfa.occupation-reduction',
  'dmfa.worker-contribution',
  'dmfa.worker-reduction',
  'dmfa.student-contribution',
  'dmfa.early-retirement-contribution',
  'dmfa.work-accident-allowance',
];

function employer(kind: EmployerKind, id: string, category: string | null = null): ExchangeRequest['employer'] {
  return { kind, id, category };
}

/** By default: MAGDA relaying for VAPH, DmfA of the personal assistant at the budget holder, first half of 2024. */
function request(overrides: Partial<ExchangeRequest> = {}): ExchangeRequest {
  return {
    requestId: 'req-0001',
    requester: 'magda',
    onBehalfOf: 'vaph',
    service: 'dmfa',
    purpose: null,
    subjectNiss: SIMULATED.assistantOfVaph,
    employer: employer('ONSS', BUDGET_HOLDER),
    period: { from: '2024-01-01', to: '2024-06-30' },
    requestedBlocks: null,
    ...overrides,
  };
}

/**
 * Published on the requester's own topic unless told otherwise; ONVA's through its consultation
 * application, the only channel 19/010 §37 allows (the refusal on the replies channel is tested below).
 */
function check(
  req: ExchangeRequest,
  today: IsoDate = TODAY,
  topic: string = req.requester,
  channel: Channel = topic === 'onva' ? 'consultation' : 'replies',
): CheckedRequest | RefusedRequest {
  return checkRequest(req, topic, RULES, today, channel);
}

function accepted(result: CheckedRequest | RefusedRequest): CheckedRequest {
  if (!result.ok) throw new Error(`refused: ${result.refusal.code} ${result.refusal.detail}`);
  return result;
}

function refused(result: CheckedRequest | ForwardDecision | RefusedRequest): RefusedRequest {
  if (result.ok) throw new Error('expected a refusal, the request was accepted');
  return result;
}

function forwarded(result: ForwardDecision | RefusedRequest): ForwardDecision {
  if (!result.ok) throw new Error(`refused: ${result.refusal.code} ${result.refusal.detail}`);
  return result;
}

function line(overrides: Partial<Integration> = {}): Integration {
  return {
    niss: SIMULATED.assistantOfVaph,
    institution: 'vaph',
    capacity: 'pab-assistant',
    phase: 1,
    period: { from: '2024-03-01', to: null },
    updatedAt: '2024-03-01T09:00:00.000Z',
    ...overrides,
  };
}

/** What the switch keeps of a forwarded request to filter the answer, as the reply pipeline does. */
function answerRules(decision: ForwardDecision): AnswerRules {
  const { checked } = decision;
  return {
    allowedBlocks: checked.grant.allowedBlocks,
    grantedFields: checked.grant.grantedFields,
    rows: checked.grant.rows,
    interimNeedsCategory: checked.grant.keys?.employerCategoryForInterim === true && checked.employerCategory === null,
    unauthorizedBlocks: checked.grant.removedBlocks,
    employer: checked.employer,
    employerCategory: checked.employerCategory,
    effectivePeriods: decision.effectivePeriods,
    includeFutureFields: checked.grant.includesFutureFieldsOfBlocks,
  };
}

/** Asks the simulated source exactly what the switch would forward: the source period, the employer, the blocks. */
function sourcePayload(decision: ForwardDecision, options: SimulatorAnswerOptions = {}): Obj {
  const { checked } = decision;
  const answer = answerSourceRequest(
    population,
    {
      ticket: `T-${checked.request.requestId}`,
      service: checked.service.id,
      subjectNiss: checked.request.subjectNiss,
      employer: checked.employer === null ? null : { ...checked.employer, category: checked.employerCategory },
      period: decision.sourcePeriod,
      blocks: [...decision.blocks],
      deadline: Date.parse(`${TODAY}T12:00:00.000Z`),
    },
    options,
  );
  if (answer === null || answer.status !== 'OK' || answer.payload === null) {
    throw new Error(`the simulated source did not answer OK: ${answer?.status ?? 'no answer'}`);
  }
  return answer.payload;
}

/** Check, directory, source, answer: the whole exchange for one request. */
function exchange(req: ExchangeRequest, lines: readonly Integration[], today: IsoDate = TODAY) {
  const decision = forwarded(decideForward(accepted(check(req, today)), lines));
  const source = sourcePayload(decision, { today });
  const answer = composeAnswer(decision.checked.service, answerRules(decision), source);
  return { decision, source, answer, payload: answer.payload as Obj };
}

function declarations(payload: Obj): Obj[] {
  return payload.employerDeclarations as Obj[];
}

function workerRecords(payload: Obj): Obj[] {
  return declarations(payload).flatMap((d) => (d.naturalPersons as Obj[]).flatMap((p) => p.workerRecords as Obj[]));
}

function occupations(payload: Obj): Obj[] {
  return workerRecords(payload).flatMap((w) => w.occupations as Obj[]);
}

function inPeriods(quarter: string, periods: readonly Period[]): boolean {
  const q = quarterPeriod(quarter);
  return q !== null && periods.some((p) => overlaps(q, p));
}

// ---------------------------------------------------------------------------------------------------
// checkRequest: the order of the checks

describe('checkRequest: which refusal wins when several apply', () => {
  it('SENDER_MISMATCH comes first: a requester other than the topic owner, with nothing else right either', () => {
    const result = refused(
      check(request({ requestId: '', service: 'no-such-service', subjectNiss: '123', requester: 'magda' }), TODAY, 'vaph'),
    );
    expect(result.refusal.code).toBe('SENDER_MISMATCH');
    expect(result.grant).toBeNull();
    expect(result.effectivePeriods).toEqual([]);
  });

  it('SENDER_MISMATCH when VAPH publishes on its own topic a request naming MAGDA, the mandatory intermediary', () => {
    // Otherwise any institution could claim to be the relay of a deliberation.
    expect(refused(check(request(), TODAY, 'vaph')).refusal.code).toBe('SENDER_MISMATCH');
  });

  it('SENDER_MISMATCH is case-sensitive: "MAGDA" is not the owner of the topic of magda', () => {
    expect(refused(check(request({ requester: 'MAGDA' }), TODAY, 'magda')).refusal.code).toBe('SENDER_MISMATCH');
  });

  it('an empty or blank requestId is INVALID_MESSAGE, before the service is looked up', () => {
    expect(refused(check(request({ requestId: '' }))).refusal.code).toBe('INVALID_MESSAGE');
    expect(refused(check(request({ requestId: '   ', service: 'no-such-service' }))).refusal.code).toBe('INVALID_MESSAGE');
  });

  it('UNKNOWN_SERVICE comes before the keys: an unknown service with a malformed NISS and employer', () => {
    const result = refused(check(request({ service: 'no-such-service', subjectNiss: '1', employer: employer('ONSS', '1') })));
    expect(result.refusal.code).toBe('UNKNOWN_SERVICE');
    expect(result.refusal.detail).toContain('no-such-service');
  });

  it('INVALID_NISS comes before a bad employer and a bad period', () => {
    const result = refused(
      check(request({ subjectNiss: '88031412465', employer: employer('ONSS', '100012335'), period: { from: '2024-06-30', to: '2024-01-01' } })),
    );
    expect(result.refusal.code).toBe('INVALID_NISS');
  });

  it('INVALID_EMPLOYER_ID comes before a bad period', () => {
    const result = refused(check(request({ employer: employer('ONSS', '100012335'), period: { from: '2024-06-30', to: '2024-01-01' } })));
    expect(result.refusal.code).toBe('INVALID_EMPLOYER_ID');
  });

  it('INVALID_PERIOD comes before the authorization: VAPH asking directly with a reversed period', () => {
    const result = refused(check(request({ requester: 'vaph', onBehalfOf: null, period: { from: '2024-06-30', to: '2024-01-01' } })));
    expect(result.refusal.code).toBe('INVALID_PERIOD');
    expect(result.grant).toBeNull();
  });

  it('the authorization comes before the keys a deliberation demands: VAPH directly, without employer, is NOT_AUTHORIZED', () => {
    const result = refused(check(request({ requester: 'vaph', onBehalfOf: null, employer: null })));
    expect(result.refusal.code).toBe('NOT_AUTHORIZED');
  });
});

describe("a refusal's detail quotes at most 100 characters of the request's own text", () => {
  // The reply carries the field itself: quoted whole as well, a 600 KB service made a reply over the
  // broker's limit (1 MiB), whose transaction could never commit.
  const big = 'x'.repeat(600_000);
  const bounded = (result: RefusedRequest, code: string) => {
    expect(result.refusal.code).toBe(code);
    expect(result.refusal.detail.length).toBeLessThan(400);
    expect(result.refusal.detail).toContain('… (600000 characters)');
  };

  it('UNKNOWN_SERVICE and SENDER_MISMATCH', () => {
    bounded(refused(check(request({ service: big }))), 'UNKNOWN_SERVICE');
    bounded(refused(check(request({ requester: big }), TODAY, 'magda')), 'SENDER_MISMATCH');
  });

  it('NOT_AUTHORIZED: an unknown beneficiary, purpose, version or blocks', () => {
    bounded(refused(check(request({ onBehalfOf: big }))), 'NOT_AUTHORIZED');
    bounded(refused(check(request({ purpose: big }))), 'NOT_AUTHORIZED');
    bounded(refused(check(request({ purpose: `10/012@${big}` }))), 'NOT_AUTHORIZED');
    const blocks = Array.from({ length: 30_000 }, (_, i) => `unknown.block-${i}`);
    const result = refused(check(request({ requestedBlocks: blocks })));
    expect(result.refusal.code).toBe('NOT_AUTHORIZED');
    expect(result.refusal.detail.length).toBeLessThan(400);
  });

  it('short text is quoted as it is', () => {
    expect(refused(check(request({ service: 'no-such-service' }))).refusal.detail).toBe('service "no-such-service" is not in the catalogue');
  });
});

// ---------------------------------------------------------------------------------------------------
// checkRequest: NISS

describe('checkRequest: the NISS', () => {
  const onva = (subjectNiss: string) =>
    request({ requester: 'onva', onBehalfOf: null, service: 'identification', employer: null, subjectNiss });

  it('refuses wrong check digits (…64 is right for 880314124, …65 is not)', () => {
    const result = refused(check(onva('88031412465')));
    expect(result.refusal.code).toBe('INVALID_NISS');
    expect(result.refusal.detail).toContain('check digits');
  });

  it('refuses 10 and 12 digits, letters, and an empty NISS for a service about a person', () => {
    for (const niss of ['8803141246', '880314124640', '8803141246A', '']) {
      expect(refused(check(onva(niss))).refusal.code, niss).toBe('INVALID_NISS');
    }
  });

  it('reads a NISS written with separators or spaces as its 11 digits, for the directory and the source alike', () => {
    for (const written of ['88.03.14-124.64', ' 88031412464 ', '880314 124 64']) {
      const checked = accepted(check(request({ subjectNiss: written })));
      expect(checked.subjectNiss, written).toBe('88031412464');
      expect(checked.directoryNiss, written).toBe('88031412464');
      // The integration is found under the digits: no misleading NOT_INTEGRATED.
      expect(forwarded(decideForward(checked, [line({ period: { from: '2024-01-01', to: null } })])).effectivePeriods).toEqual([
        { from: '2024-01-01', to: '2024-06-30' },
      ]);
    }
  });

  it('accepts a valid BIS number (month + 40) and reads the directory under it', () => {
    const checked = accepted(check(onva(SIMULATED.replacedBis)));
    expect(checked.directoryNiss).toBe('90450821603');
  });

  it('accepts a NISS of someone born in 2001 (check digits computed on 2YYMMDDSSS)', () => {
    expect(accepted(check(onva(SIMULATED.interimWorker))).directoryNiss).toBe('01062131124');
  });

  describe('the batch service of 22/046 (no person)', () => {
    const batch = (subjectNiss: string) =>
      request({
        requester: 'onss',
        onBehalfOf: null,
        service: 'inami-invalidity-entries',
        employer: null,
        subjectNiss,
        period: { from: '2024-04-01', to: '2024-06-30' },
      });

    it('refuses any NISS, valid or not, as INVALID_NISS', () => {
      expect(refused(check(batch(SIMULATED.assistantOfVaph))).refusal.code).toBe('INVALID_NISS');
      expect(refused(check(batch('123'))).refusal.code).toBe('INVALID_NISS');
    });

    it('accepts an empty NISS with no directory to read, under 22/046 for ONSS', () => {
      const checked = accepted(check(batch('')));
      expect(checked.directoryNiss).toBeNull();
      expect(checked.beneficiary).toBe('onss');
      expect(checked.grant.deliberation).toBe('22/046');
      expect(checked.employer).toBeNull();
      expect(checked.period).toEqual({ from: '2024-04-01', to: '2024-06-30' });
    });

    it('refuses an employer: the service takes none', () => {
      const result = refused(check({ ...batch(''), employer: employer('ONSS', BUDGET_HOLDER) }));
      expect(result.refusal.code).toBe('INVALID_EMPLOYER_ID');
    });
  });
});

// ---------------------------------------------------------------------------------------------------
// checkRequest: employer

describe('checkRequest: the employer', () => {
  const iriscare = (overrides: Partial<ExchangeRequest>) =>
    request({ requester: 'iriscare', onBehalfOf: null, subjectNiss: SIMULATED.careWorkerIriscare, employer: employer('ONSS', CARE_HOME), ...overrides });

  it('refuses an ONSS number whose value mod 97 is not 96', () => {
    const result = refused(check(request({ employer: employer('ONSS', '100012335') })));
    expect(result.refusal.code).toBe('INVALID_EMPLOYER_ID');
    expect(result.refusal.detail).toContain('ONSS');
  });

  it('refuses an enterprise number with wrong check digits', () => {
    expect(refused(check(request({ employer: employer('ENTERPRISE', '0402223367') }))).refusal.code).toBe('INVALID_EMPLOYER_ID');
  });

  it('refuses an empty employer id', () => {
    expect(refused(check(request({ employer: employer('ONSS', '') }))).refusal.code).toBe('INVALID_EMPLOYER_ID');
  });

  it('refuses a valid ONSS number stated as provisional (the kind must match the number)', () => {
    const result = refused(check(iriscare({ service: 'dimona', employer: employer('ONSS_PROVISIONAL', CARE_HOME) })));
    expect(result.refusal.code).toBe('INVALID_EMPLOYER_ID');
  });

  it('DmfA takes ONSS and enterprise numbers, not a provisional ONSS number, however valid', () => {
    const result = refused(check(iriscare({ employer: employer('ONSS_PROVISIONAL', START_UP_PROVISIONAL) })));
    expect(result.refusal.code).toBe('INVALID_EMPLOYER_ID');
    expect(result.refusal.detail).toContain('ONSS_PROVISIONAL');
    expect(accepted(check(iriscare({ employer: employer('ENTERPRISE', E.careHome.enterpriseNumber) }))).employer).toEqual({
      kind: 'ENTERPRISE',
      id: '0412345614',
    });
  });

  it('DIMONA takes all three kinds, the provisional number included', () => {
    for (const [kind, id] of [
      ['ONSS', CARE_HOME],
      ['ENTERPRISE', E.careHome.enterpriseNumber],
      ['ONSS_PROVISIONAL', START_UP_PROVISIONAL],
    ] as const) {
      expect(accepted(check(iriscare({ service: 'dimona', employer: employer(kind, id) }))).employer).toEqual({ kind, id });
    }
  });

  it('refuses an employer for identification, which takes none', () => {
    const result = refused(check(request({ requester: 'onva', onBehalfOf: null, service: 'identification' })));
    expect(result.refusal.code).toBe('INVALID_EMPLOYER_ID');
    expect(result.refusal.detail).toContain('identification');
  });

  it('normalises the employer id: separators dropped, a short ONSS number padded to 9 digits', () => {
    expect(accepted(check(request({ employer: employer('ONSS', '100.012.334') }))).employer).toEqual({ kind: 'ONSS', id: '100012334' });
    // 100006 is the first ONSS number (mod 97 = 96); written without its leading zeros.
    expect(accepted(check(request({ employer: employer('ONSS', '100006') }))).employer).toEqual({ kind: 'ONSS', id: '000100006' });
  });

  it('takes an employer category of exactly three digits, and nothing else', () => {
    const ok = accepted(check(request({ subjectNiss: SIMULATED.interimWorker, employer: employer('ONSS', AGENCY, '484') })));
    expect(ok.employerCategory).toBe('484');
    for (const category of ['84', '4840', 'abc', '']) {
      const result = refused(check(request({ employer: employer('ONSS', AGENCY, category) })));
      expect(result.refusal.code, category).toBe('INVALID_EMPLOYER_ID');
    }
  });

  it('no category without an employer: the category is read only with one', () => {
    // ONVA (19/010): a deliberation that does not demand the employer (19/104 does since §2 binds it to the link).
    expect(accepted(check(request({ requester: 'onva', onBehalfOf: null, employer: null }))).employerCategory).toBeNull();
  });

  it('19/104 §2: IRISCARE without employer is INVALID_EMPLOYER_ID naming 19/104 (the workers of a care structure)', () => {
    const result = refused(check(iriscare({ employer: null })));
    expect(result.refusal.code).toBe('INVALID_EMPLOYER_ID');
    expect(result.refusal.detail).toContain('19/104');
  });

  describe('10/012 §9: VAPH asks always for a named employer–worker link', () => {
    for (const serviceId of ['dmfa', 'dimona']) {
      it(`${serviceId} through MAGDA without employer is INVALID_EMPLOYER_ID naming 10/012, with the grant kept`, () => {
        const result = refused(check(request({ service: serviceId, employer: null })));
        expect(result.refusal.code).toBe('INVALID_EMPLOYER_ID');
        expect(result.refusal.detail).toContain('10/012');
        expect(result.grant?.deliberation).toBe('10/012');
        expect(result.grant?.beneficiary).toBe('vaph');
        expect(result.effectivePeriods).toEqual([]);
      });
    }

    it('identification through MAGDA needs no employer (10/012 demands none for the registers)', () => {
      const checked = accepted(check(request({ service: 'identification', employer: null, period: { from: TODAY, to: TODAY } })));
      expect(checked.grant.deliberation).toBe('10/012');
      expect(checked.employer).toBeNull();
    });

    it('ONVA may ask DmfA by NISS and period only (19/010 demands no employer)', () => {
      const checked = accepted(check(request({ requester: 'onva', onBehalfOf: null, employer: null })));
      expect(checked.grant.deliberation).toBe('19/010');
      expect(checked.employer).toBeNull();
    });
  });
});

// ---------------------------------------------------------------------------------------------------
// checkRequest: period

describe('checkRequest: the period', () => {
  it('refuses a period that ends before it begins', () => {
    const result = refused(check(request({ period: { from: '2024-06-30', to: '2024-06-29' } })));
    expect(result.refusal.code).toBe('INVALID_PERIOD');
  });

  it('refuses a date that does not exist', () => {
    expect(refused(check(request({ period: { from: '2024-02-30', to: '2024-03-31' } }))).refusal.code).toBe('INVALID_PERIOD');
    expect(refused(check(request({ period: { from: '2024-01-01', to: '2023-02-29' } }))).refusal.code).toBe('INVALID_PERIOD');
  });

  it('accepts a single day (both ends included)', () => {
    expect(accepted(check(request({ period: { from: '2024-02-29', to: '2024-02-29' } }))).period).toEqual({ from: '2024-02-29', to: '2024-02-29' });
  });

  it('closes an open period at today', () => {
    expect(accepted(check(request({ period: { from: '2024-01-01', to: null } }))).period).toEqual({ from: '2024-01-01', to: TODAY });
  });

  it('refuses an open period that starts after today: closed at today, it would end before it begins', () => {
    expect(refused(check(request({ period: { from: '2024-09-03', to: null } }))).refusal.code).toBe('INVALID_PERIOD');
    expect(accepted(check(request({ period: { from: TODAY, to: null } }))).period).toEqual({ from: TODAY, to: TODAY });
  });
});

// ---------------------------------------------------------------------------------------------------
// checkRequest: the authorization

describe('checkRequest: a batch service takes one list per request', () => {
  const list = (from: IsoDate, to: IsoDate | null) =>
    request({ requester: 'onss', onBehalfOf: null, service: 'inami-invalidity-entries', subjectNiss: '', employer: null, period: { from, to } });

  it('accepts one quarter, or part of one', () => {
    expect(accepted(check(list('2024-07-01', '2024-09-30'))).period).toEqual({ from: '2024-07-01', to: '2024-09-30' });
    expect(accepted(check(list('2024-08-15', '2024-08-31'))).ok).toBe(true);
  });

  it('refuses a period across quarters as INVALID_PERIOD, before any source is asked', () => {
    for (const [from, to] of [['2024-01-01', '2024-06-30'], ['2024-09-30', '2024-10-01'], ['2023-12-31', '2024-01-01']] as const) {
      const result = refused(check(list(from, to)));
      expect(result.refusal.code, `${from}..${to}`).toBe('INVALID_PERIOD');
      expect(result.refusal.detail).toContain('one quarterly list per request');
    }
  });

  it('reads an open end as today: open from an earlier quarter spans quarters', () => {
    expect(refused(check(list('2024-04-01', null))).refusal.code).toBe('INVALID_PERIOD');
    expect(accepted(check(list('2024-07-01', null))).period.to).toBe(TODAY);
  });
});

describe('checkRequest: the authorization applied', () => {
  it('MAGDA for VAPH: granted under 10/012 v1 for VAPH, MAGDA recorded as relay that may not use the data', () => {
    const checked = accepted(check(request()));
    expect(checked.beneficiary).toBe('vaph');
    expect(checked.grant.deliberation).toBe('10/012');
    expect(checked.grant.versionId).toBe('v1');
    expect(checked.grant.relay).toEqual({ institution: 'magda', mayUseData: false, mandatory: true });
    expect(checked.grant.allowedBlocks).toEqual(VAPH_DMFA_BLOCKS);
    expect(checked.grant.allowedBlocks).not.toContain('dmfa.service');
    expect(checked.grant.allowedBlocks).not.toContain('dmfa.using-employer');
    expect(checked.directoryNiss).toBe(SIMULATED.assistantOfVaph);
    expect(checked.employer).toEqual({ kind: 'ONSS', id: BUDGET_HOLDER });
  });

  it('VAPH directly: NOT_AUTHORIZED, the intermediary MAGDA is mandatory', () => {
    const result = refused(check(request({ requester: 'vaph', onBehalfOf: null })));
    expect(result.refusal.code).toBe('NOT_AUTHORIZED');
    expect(result.refusal.detail).toContain('magda');
    expect(result.grant).toBeNull();
  });

  it('VAPH naming itself in onBehalfOf is still a direct request: NOT_AUTHORIZED', () => {
    expect(refused(check(request({ requester: 'vaph', onBehalfOf: 'vaph' }))).refusal.code).toBe('NOT_AUTHORIZED');
  });

  it('MAGDA without onBehalfOf (absent or empty): NOT_AUTHORIZED, it has no deliberation of its own', () => {
    for (const onBehalfOf of [null, '']) {
      const result = refused(check(request({ onBehalfOf })));
      expect(result.refusal.code).toBe('NOT_AUTHORIZED');
      expect(result.refusal.detail).toContain('onBehalfOf');
    }
  });

  it('MAGDA for IRISCARE: NOT_AUTHORIZED, MAGDA relays only for VAPH', () => {
    const result = refused(check(request({ onBehalfOf: 'iriscare', subjectNiss: SIMULATED.careWorkerIriscare, employer: employer('ONSS', CARE_HOME) })));
    expect(result.refusal.code).toBe('NOT_AUTHORIZED');
  });

  it('a purpose must be the deliberation’s code or number', () => {
    const onva = (purpose: string | null) => request({ requester: 'onva', onBehalfOf: null, employer: null, purpose });
    expect(accepted(check(onva('19/010'))).grant.purpose.code).toBe('onva-inspection-annual-holidays');
    expect(accepted(check(onva('onva-inspection-annual-holidays'))).grant.deliberation).toBe('19/010');
    expect(refused(check(onva('iriscare-care-structure-financing'))).refusal.code).toBe('NOT_AUTHORIZED');
  });

  it('17/006 does not go through the switch: jd-consult is NOT_AUTHORIZED for p4employer', () => {
    const result = refused(
      check(request({ requester: 'jd-consult', onBehalfOf: null, service: 'p4employer', subjectNiss: '', employer: employer('ONSS', BUDGET_HOLDER) })),
    );
    expect(result.refusal.code).toBe('NOT_AUTHORIZED');
    expect(result.refusal.detail).toContain('17/006');
  });

  describe('19/104 IRISCARE: v1 from 2019-07-02, v2 from 2020-12-01, v3 (adds DIMONA) from 2023-12-05', () => {
    // Every 19/104 grant is asked per employer (§2): the care home.
    const iriscare = (serviceId: string) =>
      request({ requester: 'iriscare', onBehalfOf: null, service: serviceId, subjectNiss: SIMULATED.careWorkerIriscare, employer: employer('ONSS', CARE_HOME) });

    it('DmfA the day before v1: AUTHORIZATION_NOT_IN_FORCE', () => {
      const result = refused(check(iriscare('dmfa'), '2019-07-01'));
      expect(result.refusal.code).toBe('AUTHORIZATION_NOT_IN_FORCE');
      expect(result.refusal.detail).toContain('19/104');
    });

    it('DmfA under the version in force on each boundary day', () => {
      const cases: Array<[IsoDate, string]> = [
        ['2019-07-02', 'v1'],
        ['2020-11-30', 'v1'],
        ['2020-12-01', 'v2'],
        ['2023-12-04', 'v2'],
        ['2023-12-05', 'v3'],
      ];
      for (const [day, version] of cases) expect(accepted(check(iriscare('dmfa'), day)).grant.versionId, day).toBe(version);
    });

    it('DIMONA on 2023-12-04: only v3 authorizes it, not yet in force → AUTHORIZATION_NOT_IN_FORCE', () => {
      expect(refused(check(iriscare('dimona'), '2023-12-04')).refusal.code).toBe('AUTHORIZATION_NOT_IN_FORCE');
      expect(accepted(check(iriscare('dimona'), '2023-12-05')).grant.versionId).toBe('v3');
    });

    it('v2 keeps the DmfA blocks of v1 (the amendment did not change them) and the future fields of 13/126', () => {
      const v1 = accepted(check(iriscare('dmfa'), '2020-01-15')).grant;
      const v2 = accepted(check(iriscare('dmfa'), '2022-01-15')).grant;
      expect(v2.allowedBlocks).toEqual(v1.allowedBlocks);
      expect(v2.allowedBlocks).toContain('dmfa.service');
      expect(v2.allowedBlocks).toContain('dmfa.using-employer');
      expect(v2.allowedBlocks).not.toContain('dmfa.remuneration');
      expect(v2.includesFutureFieldsOfBlocks).toBe(true);
    });
  });

  it('22/046 before 2022-02-01 is AUTHORIZATION_NOT_IN_FORCE; v1 until 2023-03-06, v2 from 2023-03-07', () => {
    const batch = request({
      requester: 'onss',
      onBehalfOf: null,
      service: 'inami-invalidity-entries',
      subjectNiss: '',
      employer: null,
      period: { from: '2021-10-01', to: '2021-12-31' },
    });
    expect(refused(check(batch, '2022-01-31')).refusal.code).toBe('AUTHORIZATION_NOT_IN_FORCE');
    expect(accepted(check(batch, '2023-03-06')).grant.versionId).toBe('v1');
    expect(accepted(check(batch, '2023-03-07')).grant.versionId).toBe('v2');
  });

  describe('requested blocks', () => {
    it('an unauthorized block asked alone is NOT_AUTHORIZED (90018 is not in 10/012 §8)', () => {
      const result = refused(check(request({ requestedBlocks: ['dmfa.service'] })));
      expect(result.refusal.code).toBe('NOT_AUTHORIZED');
      expect(result.refusal.detail).toContain('dmfa.service');
    });

    it('an unknown block asked alone is NOT_AUTHORIZED', () => {
      expect(refused(check(request({ requestedBlocks: ['dmfa.no-such-block'] }))).refusal.code).toBe('NOT_AUTHORIZED');
    });

    it('mixed with authorized ones, the unauthorized blocks are reported in grant.removedBlocks, in the order asked', () => {
      const checked = accepted(check(request({ requestedBlocks: ['dmfa.using-employer', 'dmfa.occupation', 'dmfa.service'] })));
      expect(checked.grant.removedBlocks).toEqual(['dmfa.using-employer', 'dmfa.service']);
      // The technical block comes free (19/104 §7), in catalogue order.
      expect(checked.grant.allowedBlocks).toEqual(['dmfa.declaration-status', 'dmfa.occupation']);
    });

    it('none asked (null or empty) means every authorized block, nothing removed', () => {
      for (const requestedBlocks of [null, []]) {
        const checked = accepted(check(request({ requestedBlocks })));
        expect(checked.grant.allowedBlocks).toEqual(VAPH_DMFA_BLOCKS);
        expect(checked.grant.removedBlocks).toEqual([]);
      }
    });
  });
});

// ---------------------------------------------------------------------------------------------------
// decideForward: the reference directory

describe('decideForward: the reference directory of the beneficiary', () => {
  const checked = accepted(check(request({ period: { from: '2023-01-01', to: '2024-12-31' } }), '2025-01-15'));

  it('NOT_INTEGRATED when VAPH has no line for the person; the refusal keeps the grant', () => {
    const result = refused(decideForward(checked, []));
    expect(result.refusal.code).toBe('NOT_INTEGRATED');
    expect(result.grant).toBe(checked.grant);
    expect(result.effectivePeriods).toEqual([]);
  });

  it('lines of other institutions do not count: the relayed request is checked against VAPH’s lines, not MAGDA’s', () => {
    const others = [line({ institution: 'magda' }), line({ institution: 'iriscare', capacity: '12/10' }), line({ institution: 'onva', capacity: '12/10' })];
    expect(refused(decideForward(checked, others)).refusal.code).toBe('NOT_INTEGRATED');
  });

  it('a VAPH line of another person does not count', () => {
    expect(refused(decideForward(checked, [line({ niss: SIMULATED.careWorkerIriscare })])).refusal.code).toBe('NOT_INTEGRATED');
  });

  it('a VAPH line in another capacity than the one 10/012 demands (pab-assistant) does not count', () => {
    const result = refused(decideForward(checked, [line({ capacity: 'other-capacity' })]));
    expect(result.refusal.code).toBe('NOT_INTEGRATED');
    expect(result.refusal.detail).toContain('pab-assistant');
  });

  it('NOT_INTEGRATED_FOR_PERIOD when the integration ended before the period asked', () => {
    const result = refused(decideForward(checked, [line({ period: { from: '2021-01-01', to: '2022-12-31' } })]));
    expect(result.refusal.code).toBe('NOT_INTEGRATED_FOR_PERIOD');
  });

  it('NOT_INTEGRATED_FOR_PERIOD when the integration starts after the period asked', () => {
    expect(refused(decideForward(checked, [line({ period: { from: '2025-01-01', to: null } })])).refusal.code).toBe('NOT_INTEGRATED_FOR_PERIOD');
  });

  it('EMPLOYER_NOT_INTEGRATED when the only line is bound to another employer', () => {
    const result = refused(decideForward(checked, [line({ employer: { kind: 'ONSS', id: SUPERMARKET_ONSS } })]));
    expect(result.refusal.code).toBe('EMPLOYER_NOT_INTEGRATED');
  });

  it('a line bound to the employer asked, or to no employer, grants access', () => {
    expect(decideForward(checked, [line({ employer: { kind: 'ONSS', id: BUDGET_HOLDER } })]).ok).toBe(true);
    expect(decideForward(checked, [line()]).ok).toBe(true);
  });

  it('clips the period to the integration: asked 2023-01-01..2024-12-31, integrated from 2024-03-01', () => {
    const decision = forwarded(decideForward(checked, [line({ period: { from: '2024-03-01', to: null } })]));
    expect(decision.effectivePeriods).toEqual([{ from: '2024-03-01', to: '2024-12-31' }]);
    expect(decision.sourcePeriod).toEqual({ from: '2024-03-01', to: '2024-12-31' });
  });

  it('two disjoint integrations give two effective periods, and the source is asked for their hull', () => {
    const decision = forwarded(
      decideForward(checked, [
        line({ period: { from: '2024-03-01', to: null } }),
        line({ period: { from: '2022-06-01', to: '2023-05-31' } }),
      ]),
    );
    expect(decision.effectivePeriods).toEqual([
      { from: '2023-01-01', to: '2023-05-31' },
      { from: '2024-03-01', to: '2024-12-31' },
    ]);
    expect(decision.sourcePeriod).toEqual({ from: '2023-01-01', to: '2024-12-31' });
  });

  it('adjacent integrations (different phases, no day between) make one effective period', () => {
    const decision = forwarded(
      decideForward(checked, [
        line({ phase: 1, period: { from: '2023-02-01', to: '2023-06-30' } }),
        line({ phase: 2, period: { from: '2023-07-01', to: '2023-10-31' } }),
      ]),
    );
    expect(decision.effectivePeriods).toEqual([{ from: '2023-02-01', to: '2023-10-31' }]);
  });

  it('an open period asked is clipped at today, then to the integration', () => {
    const open = accepted(check(request({ period: { from: '2024-01-01', to: null } })));
    const decision = forwarded(decideForward(open, [line({ period: { from: '2024-03-01', to: null } })]));
    expect(decision.effectivePeriods).toEqual([{ from: '2024-03-01', to: TODAY }]);
  });

  it('the blocks asked of the source are the grant’s allowed blocks, never more', () => {
    const narrowed = accepted(check(request({ requestedBlocks: ['dmfa.occupation', 'dmfa.service'] })));
    expect(forwarded(decideForward(narrowed, [line()])).blocks).toEqual(['dmfa.declaration-status', 'dmfa.occupation']);
    expect(forwarded(decideForward(checked, [line()])).blocks).toEqual(VAPH_DMFA_BLOCKS);
  });

  it('a deliberation without integration demand takes a line of any capacity of the requester', () => {
    const onva = accepted(check(request({ requester: 'onva', onBehalfOf: null, employer: null })));
    const decision = forwarded(decideForward(onva, [line({ institution: 'onva', capacity: '12/10', period: { from: '2023-01-01', to: null } })]));
    expect(decision.effectivePeriods).toEqual([{ from: '2024-01-01', to: '2024-06-30' }]);
  });

  it('no employer asked and only employer-bound lines: EMPLOYER_NOT_INTEGRATED (no reaching every employer)', () => {
    const onva = accepted(check(request({ requester: 'onva', onBehalfOf: null, employer: null })));
    const bound = line({ institution: 'onva', capacity: '12/10', employer: { kind: 'ONSS', id: BUDGET_HOLDER } });
    expect(refused(decideForward(onva, [bound])).refusal.code).toBe('EMPLOYER_NOT_INTEGRATED');
  });

  it('a minimum phase the grant demands is passed to the directory: PHASE_TOO_LOW below it', () => {
    // No real deliberation sets a minimum phase yet; raise it on the real 10/012 grant.
    const integration = checked.grant.integration;
    if (integration === null) throw new Error('10/012 demands an integration');
    const demanding: CheckedRequest = { ...checked, grant: { ...checked.grant, integration: { ...integration, minPhase: 2 } } };
    expect(refused(decideForward(demanding, [line({ phase: 1 })])).refusal.code).toBe('PHASE_TOO_LOW');
    expect(decideForward(demanding, [line({ phase: 2 })]).ok).toBe(true);
  });

  it('the batch service of 22/046 skips the directory: the period as asked, whatever lines are given', () => {
    const batch = accepted(
      check(request({ requester: 'onss', onBehalfOf: null, service: 'inami-invalidity-entries', subjectNiss: '', employer: null, period: { from: '2024-04-01', to: '2024-06-30' } })),
    );
    for (const lines of [[], [line({ institution: 'onss', period: { from: '2024-05-01', to: null } })]]) {
      const decision = forwarded(decideForward(batch, lines));
      expect(decision.effectivePeriods).toEqual([{ from: '2024-04-01', to: '2024-06-30' }]);
      expect(decision.sourcePeriod).toEqual({ from: '2024-04-01', to: '2024-06-30' });
      expect(decision.blocks).toEqual(['inami-invalidity-entries.entry', 'inami-invalidity-entries.person', 'inami-invalidity-entries.incapacity']);
    }
  });
});

// ---------------------------------------------------------------------------------------------------
// composeAnswer on what the simulated sources send

describe('composeAnswer: DmfA of the personal assistant for VAPH (10/012)', () => {
  // Asked 2024H1, integrated by VAPH from 2024-03-01 (the budget application): effective 2024-03-01..2024-06-30.
  const { decision, source, answer, payload } = exchange(request(), [line()]);
  const effective = decision.effectivePeriods;

  it('the source over-delivered: other employers, quarters outside the period, 90018 and 90002', () => {
    expect(effective).toEqual([{ from: '2024-03-01', to: '2024-06-30' }]);
    const sourceDeclarations = declarations(source);
    expect(sourceDeclarations.some((d) => d.onssNumber === SUPERMARKET_ONSS)).toBe(true);
    expect(sourceDeclarations.some((d) => d.onssNumber === BUDGET_HOLDER && !inPeriods(d.quarter, effective))).toBe(true);
    expect(occupations(source).some((o) => (o.services as Obj[]).length > 0)).toBe(true);
    expect(sourceDeclarations.some((d) => (d.contributionsUnrelatedToNaturalPerson as Obj[]).length > 0)).toBe(true);
  });

  it('keeps only the budget holder’s declarations of the quarters touching the effective period: 2024Q1 and 2024Q2', () => {
    expect(answer.status).toBe('OK');
    expect(declarations(payload).map((d) => [d.onssNumber, d.quarter])).toEqual([
      [BUDGET_HOLDER, '2024Q1'],
      [BUDGET_HOLDER, '2024Q2'],
    ]);
  });

  it('counts the rows removed: every declaration of another employer, the budget holder’s outside the period', () => {
    const sourceDeclarations = declarations(source);
    const otherEmployer = sourceDeclarations.filter((d) => d.onssNumber !== BUDGET_HOLDER).length;
    const outOfPeriod = sourceDeclarations.filter((d) => d.onssNumber === BUDGET_HOLDER && !inPeriods(d.quarter, effective)).length;
    expect(otherEmployer).toBeGreaterThan(0);
    expect(answer.removedRows).toEqual({ byEmployer: otherEmployer, byEmployerCategory: 0, byPeriod: outOfPeriod, byPopulation: 0 });
  });

  it('delivers no 90018 service and no 90002 contribution, and reports both as removed', () => {
    for (const occupation of occupations(payload)) expect(occupation.services).toEqual([]);
    for (const declaration of declarations(payload)) expect(declaration.contributionsUnrelatedToNaturalPerson).toEqual([]);
    expect(answer.removedBlocks).toEqual(['dmfa.service', 'dmfa.contribution-unrelated-to-person']);
  });

  it('does not report 90107 as removed: the budget holder is no agency, the source held no using employer', () => {
    expect(occupations(source).every((o) => o.usingEmployer === null)).toBe(true);
    expect(answer.removedBlocks).not.toContain('dmfa.using-employer');
  });

  it('delivers the authorized figures unchanged: the remuneration and worker contribution of each quarter kept', () => {
    const kept = declarations(source).filter((d) => d.onssNumber === BUDGET_HOLDER && inPeriods(d.quarter, effective));
    const amounts = (ds: Obj[]) =>
      ds.flatMap((d) => (d.naturalPersons as Obj[]).flatMap((p) => (p.workerRecords as Obj[]).flatMap((w) => (w.occupations as Obj[]).map((o) => o.remunerations[0].amount))));
    expect(amounts(declarations(payload))).toEqual(amounts(kept));
    expect(workerRecords(payload).map((w) => w.contributions[0].amount)).toEqual(
      kept.flatMap((d) => (d.naturalPersons as Obj[]).flatMap((p) => (p.workerRecords as Obj[]).map((w) => w.contributions[0].amount))),
    );
  });

  it('deliveredBlocks are the blocks present in the delivered payload, in catalogue order', () => {
    expect(answer.deliveredBlocks).toEqual(presentBlocks(service('dmfa'), payload));
    expect(answer.deliveredBlocks).toEqual([
      'dmfa.employer-declaration',
      'dmfa.declaration-status',
      'dmfa.natural-person',
      'dmfa.worker-record',
      'dmfa.occupation',
      'dmfa.remuneration',
      'dmfa.worker-contribution',
    ]);
  });

  it('never touches the source payload', () => {
    const again = sourcePayload(decision);
    expect(source).toEqual(again);
  });
});

describe('composeAnswer: rows outside the effective periods', () => {
  it('two effective periods keep the quarters of each and drop those between', () => {
    const req = request({ period: { from: '2023-01-01', to: '2024-12-31' } });
    const lines = [line({ period: { from: '2023-01-01', to: '2023-03-31' } }), line({ period: { from: '2024-10-01', to: null } })];
    const { decision, source, answer, payload } = exchange(req, lines, '2025-01-15');
    expect(decision.effectivePeriods).toEqual([
      { from: '2023-01-01', to: '2023-03-31' },
      { from: '2024-10-01', to: '2024-12-31' },
    ]);
    expect(declarations(payload).map((d) => d.quarter)).toEqual(['2023Q1', '2024Q4']);
    const between = declarations(source).filter((d) => d.onssNumber === BUDGET_HOLDER && !inPeriods(d.quarter, decision.effectivePeriods));
    expect(between.map((d) => d.quarter)).toEqual(expect.arrayContaining(['2023Q2', '2023Q3', '2023Q4', '2024Q1', '2024Q2', '2024Q3']));
    expect(answer.removedRows.byPeriod).toBe(between.length);
  });
});

describe('composeAnswer: NO_DATA', () => {
  // The supermarket employs the assistant from 2024-02-01: nothing of it in 2023, although the source
  // (asked for 2023, widened by a quarter) sends its 2024Q1 declaration and the budget holder's.
  const req = request({ employer: employer('ENTERPRISE', SUPERMARKET_ENTERPRISE), period: { from: '2023-01-01', to: '2023-12-31' } });
  const lines = [line({ period: { from: '2022-09-01', to: null } })];

  it('when the employer and period filters leave nothing: no declaration, no delivered block', () => {
    const { source, answer, payload } = exchange(req, lines);
    expect(declarations(source).some((d) => d.enterpriseNumber === SUPERMARKET_ENTERPRISE && d.quarter === '2024Q1')).toBe(true);
    expect(answer.status).toBe('NO_DATA');
    expect(declarations(payload)).toEqual([]);
    expect(answer.deliveredBlocks).toEqual([]);
    // Dropped rows are not withheld blocks: nothing the requester may see was held back.
    expect(answer.removedBlocks).toEqual([]);
    expect(answer.removedRows.byEmployer).toBe(declarations(source).filter((d) => d.enterpriseNumber !== SUPERMARKET_ENTERPRISE).length);
    expect(answer.removedRows.byPeriod).toBe(declarations(source).filter((d) => d.enterpriseNumber === SUPERMARKET_ENTERPRISE).length);
  });

  it('still reports the blocks asked for and not authorized', () => {
    const { answer } = exchange({ ...req, requestedBlocks: ['dmfa.occupation', 'dmfa.service', 'dmfa.using-employer'] }, lines);
    expect(answer.status).toBe('NO_DATA');
    expect(answer.removedBlocks).toEqual(['dmfa.service', 'dmfa.using-employer']);
  });

  it('for a payload that is no record at all', () => {
    const decision = forwarded(decideForward(accepted(check(req)), lines));
    for (const nothing of [null, undefined, 'text', []]) {
      const answer = composeAnswer(service('dmfa'), answerRules(decision), nothing);
      expect(answer.status).toBe('NO_DATA');
      expect(answer.payload).toEqual({});
      expect(answer.deliveredBlocks).toEqual([]);
    }
  });

  it('when only a technical block is left: identification holding nothing but its register data', () => {
    const onva = accepted(check(request({ requester: 'onva', onBehalfOf: null, service: 'identification', employer: null })));
    const decision = forwarded(decideForward(onva, [line({ institution: 'onva', capacity: '12/10' })]));
    const answer = composeAnswer(service('identification'), answerRules(decision), {
      niss: SIMULATED.assistantOfVaph,
      register: { register: 'RN', lastChange: '2019-09-01' },
      name: null,
      nationalities: [],
    });
    expect(answer.status).toBe('NO_DATA');
    expect(answer.deliveredBlocks).toEqual([]);
  });
});

describe('composeAnswer: blocks asked for, not authorized, or reduced to keys', () => {
  it('unauthorized blocks are reported as removed even when the source held none of them', () => {
    // The budget holder is no agency: the source sends no using employer, yet 90107 was asked and refused.
    const { answer } = exchange(request({ requestedBlocks: ['dmfa.occupation', 'dmfa.using-employer'] }), [line()]);
    expect(answer.status).toBe('OK');
    expect(answer.removedBlocks).toContain('dmfa.using-employer');
  });

  it('a single authorized block: its ancestors stay as far as needed, reduced to their keys, and are not delivered', () => {
    const iriscare = request({
      requester: 'iriscare',
      onBehalfOf: null,
      subjectNiss: SIMULATED.careWorkerIriscare,
      employer: employer('ONSS', CARE_HOME),
      requestedBlocks: ['dmfa.occupation'],
    });
    const { answer, payload } = exchange(iriscare, [line({ niss: SIMULATED.careWorkerIriscare, institution: 'iriscare', capacity: '12/10', period: { from: '2019-04-01', to: null } })]);
    expect(answer.status).toBe('OK');
    const declaration = declarations(payload)[0] as Obj;
    expect(declaration.quarter).toMatch(/^2024Q[12]$/);
    expect(declaration.onssNumber).toBe(CARE_HOME);
    expect(declaration.netAmountDue).toBeNull();
    const person = declaration.naturalPersons[0] as Obj;
    expect(person.niss).toBe(SIMULATED.careWorkerIriscare);
    expect(person.lastName).toBeNull();
    expect(occupations(payload).every((o) => o.startDate === '2019-04-01' && o.services.length === 0)).toBe(true);

    const reduced = ['dmfa.employer-declaration', 'dmfa.natural-person', 'dmfa.worker-record'];
    const present = presentBlocks(service('dmfa'), payload);
    expect(present).toEqual(expect.arrayContaining(reduced));
    expect(answer.deliveredBlocks).toEqual(present.filter((id) => !reduced.includes(id)));
    expect(answer.deliveredBlocks).toEqual(['dmfa.declaration-status', 'dmfa.occupation']);
    expect(answer.removedBlocks).toEqual(expect.arrayContaining([...reduced, 'dmfa.service', 'dmfa.remuneration', 'dmfa.worker-contribution']));
    expect(answer.removedBlocks).not.toContain('dmfa.occupation');
  });

  it('fields added later to a delivered block pass for 19/104 (13/126), are removed for 10/012', () => {
    const withNewField = (payload: Obj): Obj => {
      const copy = structuredClone(payload);
      for (const o of occupations(copy)) o.greenMobilityAllowance = 1234;
      return copy;
    };
    const vaph = forwarded(decideForward(accepted(check(request())), [line()]));
    const vaphAnswer = composeAnswer(vaph.checked.service, answerRules(vaph), withNewField(sourcePayload(vaph)));
    expect(occupations(vaphAnswer.payload).every((o) => !('greenMobilityAllowance' in o))).toBe(true);
    expect(vaphAnswer.removedUnknown).toContain('dmfa.occupation/greenMobilityAllowance');

    const iriscareChecked = accepted(
      check(request({ requester: 'iriscare', onBehalfOf: null, subjectNiss: SIMULATED.careWorkerIriscare, employer: employer('ONSS', CARE_HOME) })),
    );
    const iriscare = forwarded(decideForward(iriscareChecked, [line({ niss: SIMULATED.careWorkerIriscare, institution: 'iriscare', capacity: '12/10', period: { from: '2019-04-01', to: null } })]));
    const iriscareAnswer = composeAnswer(iriscare.checked.service, answerRules(iriscare), withNewField(sourcePayload(iriscare)));
    expect(occupations(iriscareAnswer.payload).length).toBeGreaterThan(0);
    expect(occupations(iriscareAnswer.payload).every((o) => o.greenMobilityAllowance === 1234)).toBe(true);
    expect(iriscareAnswer.removedUnknown).toEqual([]);
  });
});

describe('composeAnswer: the interim worker (joint committee 322, agency category 484)', () => {
  const vaphLine = line({ niss: SIMULATED.interimWorker, period: { from: '2023-01-01', to: null } });
  const vaphRequest = (category: string | null) =>
    request({ subjectNiss: SIMULATED.interimWorker, employer: employer('ONSS', AGENCY, category), period: { from: '2024-01-01', to: '2024-12-31' } });

  it('VAPH gets the agency’s 2024 declarations with the 322 occupations, but no using employer (90107 not in 10/012)', () => {
    const { source, answer, payload } = exchange(vaphRequest('484'), [vaphLine], '2025-02-01');
    // The agency employed the worker 2024-03-04..2024-09-27: 2024Q1, Q2, Q3; the brewery from 2024-10-01.
    expect(declarations(payload).map((d) => [d.onssNumber, d.quarter])).toEqual([
      [AGENCY, '2024Q1'],
      [AGENCY, '2024Q2'],
      [AGENCY, '2024Q3'],
    ]);
    expect(occupations(payload).map((o) => o.jointCommittee)).toEqual(['322', '322', '322']);
    expect(workerRecords(payload).every((w) => w.employerCategory === '484')).toBe(true);

    const heldUsers = occupations(source).filter((o) => o.usingEmployer !== null);
    expect(heldUsers.length).toBeGreaterThan(0);
    expect(occupations(payload).every((o) => o.usingEmployer === null)).toBe(true);
    expect(answer.removedBlocks).toEqual(expect.arrayContaining(['dmfa.service', 'dmfa.using-employer']));
    expect(answer.deliveredBlocks).not.toContain('dmfa.using-employer');
    expect(answer.removedRows.byEmployerCategory).toBe(0);
    expect(answer.removedRows.byEmployer).toBe(declarations(source).filter((d) => d.onssNumber !== AGENCY).length);
  });

  it('another employer category drops every worker record of the agency', () => {
    const { answer, payload } = exchange(vaphRequest('084'), [vaphLine], '2025-02-01');
    // Three agency declarations in the period, one worker record each, all of category 484.
    expect(declarations(payload)).toHaveLength(3);
    expect(workerRecords(payload)).toEqual([]);
    expect(answer.removedRows.byEmployerCategory).toBe(3);
    expect(answer.deliveredBlocks).not.toContain('dmfa.worker-record');
    expect(answer.deliveredBlocks).not.toContain('dmfa.occupation');
  });

  it('10/012 §9: VAPH asking the agency without its category (interim work) gets EMPLOYER_CATEGORY_REQUIRED, nothing delivered', () => {
    for (const serviceId of ['dmfa', 'dimona']) {
      const { answer } = exchange({ ...vaphRequest(null), service: serviceId }, [vaphLine], '2025-02-01');
      expect(answer.status, serviceId).toBe('EMPLOYER_CATEGORY_REQUIRED');
      expect(answer.payload, serviceId).toEqual({});
      expect(answer.deliveredBlocks, serviceId).toEqual([]);
      expect(answer.removedFields, serviceId).toEqual([]);
    }
  });

  it('IRISCARE (19/104 authorizes 90107 and 90018) gets the using employer: the brewery', () => {
    const iriscareLine = line({ niss: SIMULATED.interimWorker, institution: 'iriscare', capacity: '12/10', period: { from: '2023-01-01', to: null } });
    const req = request({
      requester: 'iriscare',
      onBehalfOf: null,
      subjectNiss: SIMULATED.interimWorker,
      employer: employer('ONSS', AGENCY, '484'),
      period: { from: '2024-01-01', to: '2024-12-31' },
    });
    const { answer, payload } = exchange(req, [iriscareLine], '2025-02-01');
    expect(occupations(payload)).toHaveLength(3);
    for (const o of occupations(payload)) {
      expect(o.usingEmployer?.enterpriseNumber).toBe(E.brewery.enterpriseNumber);
      expect(o.services.length).toBeGreaterThan(0);
    }
    expect(answer.deliveredBlocks).toEqual(expect.arrayContaining(['dmfa.service', 'dmfa.using-employer']));
    expect(answer.deliveredBlocks).not.toContain('dmfa.remuneration');
    expect(answer.removedBlocks).toContain('dmfa.remuneration');
  });

  it('DIMONA for VAPH: the agency’s periods only, asked by its enterprise number, with the using employer (10/012 §7)', () => {
    const req = request({
      service: 'dimona',
      subjectNiss: SIMULATED.interimWorker,
      // 10/012 §9: interim work is asked with the employer category (without it, see below).
      employer: employer('ENTERPRISE', E.interimAgency.enterpriseNumber, '484'),
      period: { from: '2024-01-01', to: '2024-12-31' },
    });
    const { source, answer, payload } = exchange(req, [vaphLine], '2025-02-01');
    const periods = payload.dimonaPeriods as Obj[];
    expect(periods.map((p) => [p.occupation.inDate, p.occupation.outDate])).toEqual([['2024-03-04', '2024-09-27']]);
    expect(periods[0]?.usingEmployer?.enterpriseNumber).toBe(E.brewery.enterpriseNumber);
    const brewery = (source.dimonaPeriods as Obj[]).filter((p) => p.employer.enterpriseNumber === E.brewery.enterpriseNumber);
    expect(brewery.length).toBeGreaterThan(0);
    expect(answer.removedRows.byEmployer).toBe(brewery.length);
    expect(answer.deliveredBlocks).toEqual(['dimona.period', 'dimona.employer', 'dimona.using-employer', 'dimona.worker', 'dimona.occupation']);
  });
});

describe('composeAnswer: identification', () => {
  const photo = { image: 'c2ltdWxhdGVk', takenOn: '2020-01-01' };

  it('the photo is delivered to ONVA (19/010 §8) and withheld from VAPH (10/012 §17 does not name it)', () => {
    const vaph = forwarded(decideForward(accepted(check(request({ service: 'identification', employer: null }))), [line()]));
    const onva = forwarded(
      decideForward(accepted(check(request({ requester: 'onva', onBehalfOf: null, service: 'identification', employer: null }))), [
        line({ institution: 'onva', capacity: '12/10' }),
      ]),
    );
    const source = { ...sourcePayload(vaph), photo };

    const toVaph = composeAnswer(service('identification'), answerRules(vaph), source);
    expect((toVaph.payload as Obj).photo).toBeNull();
    expect(toVaph.removedBlocks).toEqual(['identification.photo']);
    expect((toVaph.payload as Obj).name).toEqual({ lastName: 'Maes', firstNames: ['Sofie', 'Anna'] });

    const toOnva = composeAnswer(service('identification'), answerRules(onva), source);
    expect((toOnva.payload as Obj).photo).toEqual(photo);
    expect(toOnva.removedBlocks).toEqual([]);
    expect(toOnva.deliveredBlocks).toContain('identification.photo');
  });

  it('a death is delivered; a block the source left null is not listed as delivered', () => {
    const onva = request({ requester: 'onva', onBehalfOf: null, service: 'identification', employer: null, subjectNiss: SIMULATED.deceased });
    const { answer, payload } = exchange(onva, [line({ niss: SIMULATED.deceased, institution: 'onva', capacity: '12/10' })]);
    expect(payload.decease).toEqual({ date: '2024-08-17', place: 'Namur' });
    expect(answer.deliveredBlocks).toContain('identification.decease');
    expect(answer.deliveredBlocks).not.toContain('identification.photo');
    expect(answer.deliveredBlocks).toEqual(presentBlocks(service('identification'), payload));
  });
});

describe('composeAnswer: the quarterly invalidity list for ONSS (22/046)', () => {
  const req = request({
    requester: 'onss',
    onBehalfOf: null,
    service: 'inami-invalidity-entries',
    subjectNiss: '',
    employer: null,
    period: { from: '2024-04-01', to: '2024-06-30' },
  });
  const decision = forwarded(decideForward(accepted(check(req)), []));
  const source = sourcePayload(decision, { today: TODAY, invalidityEntriesPerQuarter: 40 });
  const answer = composeAnswer(decision.checked.service, answerRules(decision), source);
  const inQuarter = (e: Obj) => e.incapacity.invalidityStartDate >= '2024-04-01' && e.incapacity.invalidityStartDate <= '2024-06-30';

  it('keeps only the entries whose invalidity starts in the quarter; the neighbours’ are counted as removed', () => {
    const entries = source.entries as Obj[];
    const outside = entries.filter((e) => !inQuarter(e));
    expect(outside.length).toBeGreaterThan(0);
    expect(answer.status).toBe('OK');
    expect((answer.payload as Obj).entries).toEqual(entries.filter(inQuarter));
    expect(answer.removedRows).toEqual({ byEmployer: 0, byEmployerCategory: 0, byPeriod: outside.length, byPopulation: 0 });
  });

  it('delivers the four data of §3 and the list’s own fields, nothing removed', () => {
    expect((answer.payload as Obj).quarter).toBe('2024Q2');
    expect((answer.payload as Obj).listReference).toBe(source.listReference);
    expect(answer.deliveredBlocks).toEqual(['inami-invalidity-entries.entry', 'inami-invalidity-entries.person', 'inami-invalidity-entries.incapacity']);
    expect(answer.removedBlocks).toEqual([]);
    expect(answer.removedFields).toEqual([]);
    expect(answer.removedUnknown).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------------
// presentBlocks

describe('presentBlocks', () => {
  const dmfa = service('dmfa');

  it('lists blocks in catalogue order whatever the order of the payload’s fields', () => {
    const payload = {
      niss: SIMULATED.assistantOfVaph,
      employerDeclarations: [
        {
          contributionsUnrelatedToNaturalPerson: [{ amount: 1 }],
          naturalPersons: [{ workerRecords: [{ contributions: [{ amount: 2 }], occupations: [{ remunerations: [{ amount: 3 }] }] }] }],
          declarationStatus: { attestationStatus: 'ACCEPTED' },
        },
      ],
    };
    expect(presentBlocks(dmfa, payload)).toEqual([
      'dmfa.employer-declaration',
      'dmfa.declaration-status',
      'dmfa.natural-person',
      'dmfa.worker-record',
      'dmfa.occupation',
      'dmfa.remuneration',
      'dmfa.worker-contribution',
      'dmfa.contribution-unrelated-to-person',
    ]);
  });

  it('tells apart two blocks with the same field name at different levels (reductions of 90012 and of 90015)', () => {
    const onWorker = { employerDeclarations: [{ naturalPersons: [{ workerRecords: [{ reductions: [{ amount: 1 }], occupations: [] }] }] }] };
    const onOccupation = { employerDeclarations: [{ naturalPersons: [{ workerRecords: [{ reductions: [], occupations: [{ reductions: [{ amount: 1 }] }] }] }] }] };
    expect(presentBlocks(dmfa, onWorker)).toContain('dmfa.worker-reduction');
    expect(presentBlocks(dmfa, onWorker)).not.toContain('dmfa.occupation-reduction');
    expect(presentBlocks(dmfa, onOccupation)).toContain('dmfa.occupation-reduction');
    expect(presentBlocks(dmfa, onOccupation)).not.toContain('dmfa.worker-reduction');
  });

  it('counts a block only with a record: empty lists, null, scalars and lists of scalars do not count', () => {
    const payload = {
      employerDeclarations: [
        {
          declarationStatus: null,
          contributionsUnrelatedToNaturalPerson: [],
          naturalPersons: [{ workerRecords: [{ occupations: [{ services: [1, 'x', null], usingEmployer: 'brewery' }] }] }],
        },
      ],
    };
    expect(presentBlocks(dmfa, payload)).toEqual(['dmfa.employer-declaration', 'dmfa.natural-person', 'dmfa.worker-record', 'dmfa.occupation']);
  });

  it('finds a block only at its place in the tree: occupations at the root are no block', () => {
    expect(presentBlocks(dmfa, { occupations: [{ startDate: '2024-01-01' }], services: [{ days: 1 }] })).toEqual([]);
    expect(presentBlocks(dmfa, {})).toEqual([]);
  });

  it('a child counts when any row of its parent holds it', () => {
    const payload = { employerDeclarations: [{ naturalPersons: [] }, { naturalPersons: [{ workerRecords: [] }, { workerRecords: [{}] }] }] };
    expect(presentBlocks(dmfa, payload)).toEqual(['dmfa.employer-declaration', 'dmfa.natural-person', 'dmfa.worker-record']);
  });
});

// ---------------------------------------------------------------------------------------------------
// retainUntilFor

describe('retainUntilFor: from the deliberation version applied', () => {
  const grantOf = (req: ExchangeRequest, today: IsoDate = TODAY) => accepted(check(req, today)).grant;
  const batch = request({
    requester: 'onss',
    onBehalfOf: null,
    service: 'inami-invalidity-entries',
    subjectNiss: '',
    employer: null,
    period: { from: '2024-04-01', to: '2024-06-30' },
  });
  const iriscare = request({ requester: 'iriscare', onBehalfOf: null, subjectNiss: SIMULATED.careWorkerIriscare, employer: employer('ONSS', CARE_HOME) });

  it('22/046 (§6, §18): destroyed at the latest three years after receipt', () => {
    expect(retainUntilFor(grantOf(batch), '2024-09-02')).toBe('2027-09-02');
    // Received on a 29 February: three years later there is none, the last day is the 28th.
    expect(retainUntilFor(grantOf(batch), '2024-02-29')).toBe('2027-02-28');
  });

  it('19/104 (§10, §15): six months, the same under each version', () => {
    for (const day of ['2020-01-15', '2022-01-15', TODAY]) {
      expect(retainUntilFor(grantOf(iriscare, day), '2024-01-15'), day).toBe('2024-07-15');
    }
    // Received on 31 August: 31 February does not exist, the last day is the 28th.
    expect(retainUntilFor(grantOf(iriscare), '2024-08-31')).toBe('2025-02-28');
  });

  it('10/012 sets no retention for the data: no date', () => {
    expect(retainUntilFor(grantOf(request()), TODAY)).toBeNull();
  });

  it('19/010 (DOLSIS, §37) stores nothing: the day of receipt itself', () => {
    expect(retainUntilFor(grantOf(request({ requester: 'onva', onBehalfOf: null, employer: null })), TODAY)).toBe(TODAY);
  });
});

describe('consultation only (19/010 §3, §37: DOLSIS shows the data, records none)', () => {
  const onva = (): ExchangeRequest => request({ requester: 'onva', onBehalfOf: null, service: 'identification', subjectNiss: SIMULATED.deceased, employer: null, purpose: null });

  it('ONVA on its replies channel is refused CONSULTATION_ONLY, naming the paragraphs, before any directory lookup', () => {
    const r = refused(check(onva(), TODAY, 'onva', 'replies'));
    expect(r.refusal.code).toBe('CONSULTATION_ONLY');
    expect(r.refusal.detail).toContain('19/010');
    expect(r.refusal.detail).toContain('§37');
  });

  it('the same request from its consultation application passes', () => {
    expect(check(onva(), TODAY, 'onva', 'consultation').ok).toBe(true);
  });

  it('an institution whose deliberation allows storage may use either channel', () => {
    const vaph = request({ requester: 'magda', onBehalfOf: 'vaph', service: 'identification', subjectNiss: SIMULATED.assistantOfVaph, employer: null, purpose: null });
    expect(check(vaph, TODAY, 'magda', 'replies').ok).toBe(true);
    expect(check(vaph, TODAY, 'magda', 'consultation').ok).toBe(true);
  });
});
