/**
 * One test per seed deliberation and service: the authorization decision yields exactly the blocks the
 * deliberation lists. The expected lists are written here from the French texts (the paragraph is in the
 * test name), not read from config/authorizations, so a wrong YAML file fails these tests.
 * Lists are in catalogue (payload) order and include the service's technical blocks, which need no
 * authorization.
 */
import { describe, expect, it } from 'vitest';
import { decideAuthorization, type AuthorizationDecision, type AuthorizationGrant } from '../../src/domain/authorization.js';
import { retainUntil } from '../../src/domain/retention.js';
import { deliberation, realIndex } from './support/gateway-config.js';

function granted(decision: AuthorizationDecision): AuthorizationGrant {
  if (!decision.ok) throw new Error(`refused: ${decision.refusal.code} ${decision.refusal.detail}`);
  return decision;
}

function refused(decision: AuthorizationDecision): { code: string; detail: string } {
  if (decision.ok) throw new Error(`granted under ${decision.deliberation} ${decision.versionId}`);
  return decision.refusal;
}

const decide = (request: Parameters<typeof decideAuthorization>[1]) => decideAuthorization(realIndex(), request);

describe('deliberation 10/012 — VAPH through MAGDA, personal assistance budget', () => {
  const vaph = (service: string, requestedBlocks?: string[]) =>
    decide({ requester: 'magda', onBehalfOf: 'vaph', service, date: '2024-05-15', requestedBlocks });

  it('§8: DmfA — exactly the eleven levels of §8: employer declaration, natural person, worker record, occupation, AT/MP allowance, student contribution, "pensioner" (early-retirement) contribution, remuneration, worker-record reduction, contribution due, occupation reduction', () => {
    const grant = granted(vaph('dmfa'));
    expect(grant.allowedBlocks).toEqual([
      'dmfa.employer-declaration',
      'dmfa.declaration-status', // technical
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
    ]);
    expect(grant.deliberation).toBe('10/012');
    expect(grant.beneficiary).toBe('vaph');
  });

  it('§8: DmfA "service"/"prestation" (90018) is not in §8 — asked for, it is removed and the rest delivered', () => {
    const grant = granted(vaph('dmfa', ['dmfa.occupation', 'dmfa.service', 'dmfa.remuneration']));
    expect(grant.allowedBlocks).toEqual(['dmfa.declaration-status', 'dmfa.occupation', 'dmfa.remuneration']);
    expect(grant.removedBlocks).toEqual(['dmfa.service']);
  });

  it('§8: asking only for 90018 services is refused: nothing authorized would remain', () => {
    const r = refused(vaph('dmfa', ['dmfa.service']));
    expect(r.code).toBe('NOT_AUTHORIZED');
    expect(r.detail).toContain('dmfa.service');
  });

  it('§7: DIMONA — worker, employer (with "employeur de l\'étudiant"), user of a specialised organisation, start and end of occupation', () => {
    expect(granted(vaph('dimona')).allowedBlocks).toEqual([
      'dimona.period', // technical
      'dimona.employer',
      'dimona.using-employer',
      'dimona.worker',
      'dimona.occupation',
    ]);
  });

  it('§17: BCSS registers — name, birth, gender, nationality, main residence, death, civil status; no photo', () => {
    expect(granted(vaph('identification')).allowedBlocks).toEqual([
      'identification.register', // technical
      'identification.name',
      'identification.birth',
      'identification.gender',
      'identification.nationality',
      'identification.residence',
      'identification.decease',
      'identification.civil-status',
    ]);
  });

  it('§9: every query combines NISS, employer and period, with the employer category for interim workers; §9: integration first', () => {
    const grant = granted(vaph('dmfa'));
    expect(grant.keys).toEqual({ employer: 'required', period: 'required', employerCategoryForInterim: true });
    expect(grant.integration?.sector).toBe('vaph');
  });

  it('§9, §18, §22: MAGDA relays but may not use the data; VAPH cannot bypass it', () => {
    expect(granted(vaph('dmfa')).relay).toEqual({ institution: 'magda', mayUseData: false, mandatory: true });
    const direct = refused(decide({ requester: 'vaph', service: 'dmfa', date: '2024-05-15' }));
    expect(direct.code).toBe('NOT_AUTHORIZED');
    expect(direct.detail).toContain('magda');
  });

  it('§10: mutations of the DmfA and DIMONA data are pushed', () => {
    expect(granted(vaph('dmfa')).mutations).toEqual({ pushed: true, form: 'blocks' });
    expect(granted(vaph('dimona')).mutations).toEqual({ pushed: true, form: 'blocks' });
  });

  it('§23: logs kept at least ten years, per communication when, purpose, about whom; no retention set for the data', () => {
    const d = deliberation('10/012');
    expect(d.logging.minimumRetention).toBe('P10Y');
    expect(d.logging.switchLogs).toEqual(expect.arrayContaining(['time', 'purpose', 'subject']));
    expect(d.logging.requesterLogs).toEqual(expect.arrayContaining(['agent', 'data']));
    expect(granted(vaph('dmfa')).retention.kind).toBe('unspecified');
  });

  it('decided 2 March 2010: not in force the day before', () => {
    const before = refused(decide({ requester: 'magda', onBehalfOf: 'vaph', service: 'dmfa', date: '2010-03-01' }));
    expect(before.code).toBe('AUTHORIZATION_NOT_IN_FORCE');
    expect(granted(decide({ requester: 'magda', onBehalfOf: 'vaph', service: 'dmfa', date: '2010-03-02' })).versionId).toBe('v1');
  });
});

describe('deliberation 19/010 — ONVA inspection through DOLSIS', () => {
  const onva = (service: string) => granted(decide({ requester: 'onva', service, date: '2023-06-01' }));

  it('§16-22: DmfA — employer declaration, natural person, worker record, occupation, service (prestation), remuneration, AT/MP allowances', () => {
    expect(onva('dmfa').allowedBlocks).toEqual([
      'dmfa.employer-declaration',
      'dmfa.declaration-status', // technical
      'dmfa.natural-person',
      'dmfa.worker-record',
      'dmfa.occupation',
      'dmfa.service',
      'dmfa.remuneration',
      'dmfa.work-accident-allowance',
    ]);
  });

  it('§10-13 and §24-27: DIMONA and personnel file — employer, user of an interim agency, worker, occupation', () => {
    expect(onva('dimona').allowedBlocks).toEqual([
      'dimona.period',
      'dimona.employer',
      'dimona.using-employer',
      'dimona.worker',
      'dimona.occupation',
    ]);
  });

  it('§5-8: National Register and BCSS registers, including the identity photo (§8)', () => {
    expect(onva('identification').allowedBlocks).toEqual([
      'identification.register',
      'identification.name',
      'identification.birth',
      'identification.gender',
      'identification.nationality',
      'identification.residence',
      'identification.decease',
      'identification.civil-status',
      'identification.photo',
    ]);
  });

  it('§28.2: GOTOT — posting, applicant, workplaces abroad, posted worker, employment relationship', () => {
    expect(onva('gotot').allowedBlocks).toEqual([
      'gotot.posting',
      'gotot.applicant',
      'gotot.foreign-workplace',
      'gotot.worker',
      'gotot.employment',
    ]);
  });

  it('§29: RGTI — the self-employed activity (administrative data technical)', () => {
    expect(onva('rgti').allowedBlocks).toEqual(['rgti.message', 'rgti.activity']);
  });

  it('§30: multifunctional attestations of the CPAS (administrative data technical)', () => {
    expect(onva('multifunctional-attestation').allowedBlocks).toEqual([
      'multifunctional-attestation.attestation',
      'multifunctional-attestation.administrative',
    ]);
  });

  it('§31: ONEm allowances — name and allowance periods', () => {
    expect(onva('onem-allowances').allowedBlocks).toEqual(['onem-allowances.identity', 'onem-allowances.allowance']);
  });

  it('§32: INAMI compensated incapacity periods — identity and periods', () => {
    expect(onva('inami-incapacity').allowedBlocks).toEqual(['inami-incapacity.identity', 'inami-incapacity.period']);
  });

  it('§4: nothing beyond the listed databases — e.g. INAMI invalidity entries are not ONVA\'s', () => {
    expect(refused(decide({ requester: 'onva', service: 'inami-invalidity-entries', date: '2023-06-01' })).code).toBe('NOT_AUTHORIZED');
  });

  it('§37: consultation only, nothing stored; §36: at most twelve agents; no mutations', () => {
    const grant = onva('dmfa');
    expect(grant.retention.kind).toBe('no-storage');
    expect(retainUntil(grant.retention, '2023-06-01')).toBe('2023-06-01');
    expect(grant.mutations).toEqual({ pushed: false });
    expect(deliberation('19/010').access?.maxUsers).toBe(12);
  });
});

describe('deliberation 22/046 — INAMI to ONSS, invalidity responsibilisation contribution', () => {
  const onss = (date: string) => decide({ requester: 'onss', service: 'inami-invalidity-entries', date });

  it('§3, §14: exactly NISS (the entry), birth date, start of primary incapacity and start of invalidity', () => {
    const grant = granted(onss('2023-07-10'));
    expect(grant.allowedBlocks).toEqual([
      'inami-invalidity-entries.entry',
      'inami-invalidity-entries.person',
      'inami-invalidity-entries.incapacity',
    ]);
    expect(grant.deliberation).toBe('22/046');
  });

  it('§6, §18: destroyed at the latest three years after receipt', () => {
    const grant = granted(onss('2023-07-10'));
    expect(grant.retention).toMatchObject({ kind: 'duration', duration: 'P3Y' });
    expect(retainUntil(grant.retention, '2023-07-10')).toBe('2026-07-10');
  });

  it('decided 1 February 2022, amended 7 March 2023: the version follows the date; nothing before 2022-02-01', () => {
    expect(granted(onss('2022-02-01')).versionId).toBe('v1');
    expect(granted(onss('2023-03-06')).versionId).toBe('v1');
    expect(granted(onss('2023-03-07')).versionId).toBe('v2');
    expect(refused(onss('2022-01-31')).code).toBe('AUTHORIZATION_NOT_IN_FORCE');
  });

  it('§5, §19: through the BCSS; the purpose may be named by code or by number', () => {
    expect(deliberation('22/046').viaBcss).toBe(true);
    expect(granted(decide({ requester: 'onss', service: 'inami-invalidity-entries', purpose: '22/046', date: '2024-01-02' })).ok).toBe(true);
    expect(
      granted(
        decide({
          requester: 'onss',
          service: 'inami-invalidity-entries',
          purpose: 'onss-invalidity-responsibilisation-contribution',
          date: '2024-01-02',
        }),
      ).ok,
    ).toBe(true);
  });
});

describe('deliberation 17/006 — ONSS to its concessionaire and the bailiffs (P4Employer)', () => {
  it('§14, §17: a sub-contractor exchange without the BCSS — the switch refuses it as NOT_AUTHORIZED and says why', () => {
    const r = refused(decide({ requester: 'jd-consult', service: 'p4employer', date: '2020-01-01' }));
    expect(r.code).toBe('NOT_AUTHORIZED');
    expect(r.detail).toContain('17/006');
    expect(r.detail).toMatch(/does not go through the switch/);
  });

  it('§14, §17: refused also when the purpose and the exact blocks of the deliberation are named', () => {
    const r = refused(
      decide({
        requester: 'jd-consult',
        service: 'p4employer',
        purpose: 'onss-arrears-recovery',
        requestedBlocks: ['p4employer.social-debt'],
        date: '2020-01-01',
      }),
    );
    expect(r.code).toBe('NOT_AUTHORIZED');
  });

  it('§6: the modelled data are exactly the eight kinds §6 lists "entre autres"', () => {
    const d = deliberation('17/006');
    expect(d.viaBcss).toBe(false);
    expect(d.versions).toHaveLength(1);
    expect(d.versions[0]?.services[0]?.blocks).toEqual([
      'p4employer.party-identity',
      'p4employer.enforceable-title',
      'p4employer.bailiff-act',
      'p4employer.seizable-asset',
      'p4employer.social-debt',
      'p4employer.enforcement-exchange',
      'p4employer.seizure-notice-extract',
      'p4employer.seizure-proceedings',
    ]);
  });

  it('§7, §15: kept until the debt is paid or declared irrecoverable — no date can be computed', () => {
    const version = deliberation('17/006').versions[0];
    expect(version?.retention).toMatchObject({ kind: 'until-event', event: 'debt-paid-or-irrecoverable-and-bailiff-closed' });
    expect(version && retainUntil(version.retention, '2020-01-01')).toBeNull();
  });

  it('§16: detailed logs readable only by the security coordinator and the data protection manager; §8: bailiffs are onward recipients', () => {
    const d = deliberation('17/006');
    expect(d.logging.readableBy).toEqual(['security-coordinator', 'data-protection-manager']);
    expect(d.onwardRecipients).toEqual(['bailiffs']);
  });

  it('ONSS itself has no P4Employer authorization through the switch either (§13: internal use is no communication)', () => {
    expect(refused(decide({ requester: 'onss', service: 'p4employer', date: '2020-01-01' })).code).toBe('NOT_AUTHORIZED');
  });
});

describe('deliberation 19/104 — ONSS to IRISCARE, financing of Brussels care structures', () => {
  const iriscare = (service: string, date: string, requestedBlocks?: string[]) =>
    decide({ requester: 'iriscare', service, date, requestedBlocks });

  const dmfa19104 = [
    'dmfa.employer-declaration',
    'dmfa.declaration-status', // technical: "en plus des blocs purement techniques" (§7)
    'dmfa.natural-person',
    'dmfa.worker-record',
    'dmfa.occupation',
    'dmfa.service',
    'dmfa.using-employer',
    'dmfa.occupation-information',
    'dmfa.public-sector-occupation',
    'dmfa.student-contribution',
  ];

  it('§7: DmfA — employer declaration, natural person, worker record, occupation, service, public-sector data, student contribution, occupation information, using employer; plus the technical blocks', () => {
    expect(granted(iriscare('dmfa', '2019-09-01')).allowedBlocks).toEqual(dmfa19104);
    expect(granted(iriscare('dmfa', '2024-09-01')).allowedBlocks).toEqual(dmfa19104);
  });

  it('§7: remuneration (90019) is not among the blocks — removed when asked', () => {
    const grant = granted(iriscare('dmfa', '2024-09-01', ['dmfa.occupation', 'dmfa.remuneration']));
    expect(grant.allowedBlocks).toEqual(['dmfa.declaration-status', 'dmfa.occupation']);
    expect(grant.removedBlocks).toEqual(['dmfa.remuneration']);
  });

  it('§8: deliberation 13/126 — fields added later to these blocks are covered', () => {
    expect(granted(iriscare('dmfa', '2024-09-01')).includesFutureFieldsOfBlocks).toBe(true);
  });

  it('§9: DIMONA — employer, user of an interim agency, worker, occupation, with pushed changes — from the 2023 amendment', () => {
    const grant = granted(iriscare('dimona', '2023-12-05'));
    expect(grant.allowedBlocks).toEqual([
      'dimona.period',
      'dimona.employer',
      'dimona.using-employer',
      'dimona.worker',
      'dimona.occupation',
    ]);
    expect(grant.mutations).toEqual({ pushed: true, form: 'blocks' });
    expect(grant.versionId).toBe('v3');
  });

  it('versions: DIMONA is not in force before the 5 December 2023 amendment', () => {
    const r = refused(iriscare('dimona', '2023-12-04'));
    expect(r.code).toBe('AUTHORIZATION_NOT_IN_FORCE');
    expect(r.detail).toContain('2023-12-05');
  });

  it('versions: 2 July 2019, 1 December 2020 (COVID-19 subsidy control added to the purpose), 5 December 2023', () => {
    expect(granted(iriscare('dmfa', '2020-11-30')).versionId).toBe('v1');
    expect(granted(iriscare('dmfa', '2020-12-01')).versionId).toBe('v2');
    expect(granted(iriscare('dmfa', '2020-12-01')).purpose.text).toMatch(/COVID-19/);
    expect(granted(iriscare('dmfa', '2020-11-30')).purpose.text).not.toMatch(/COVID-19/);
    expect(granted(iriscare('dmfa', '2023-12-05')).versionId).toBe('v3');
    expect(refused(iriscare('dmfa', '2019-07-01')).code).toBe('AUTHORIZATION_NOT_IN_FORCE');
  });

  it('§10, §15: kept six months', () => {
    const grant = granted(iriscare('dmfa', '2024-08-31'));
    expect(grant.retention).toMatchObject({ kind: 'duration', duration: 'P6M' });
    expect(retainUntil(grant.retention, '2024-08-31')).toBe('2025-02-28');
  });

  it('DmfA changes are not pushed to IRISCARE: only the DIMONA changes are (§9)', () => {
    expect(granted(iriscare('dmfa', '2024-09-01')).mutations).toEqual({ pushed: false });
  });
});
