import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RequestRecord } from '../../../src/contract/exchange-records.js';
import { SIMULATED, SIMULATED_EMPLOYERS } from '../../../src/sources/synthetic-population.js';
import {
  decodePayload,
  expectAudited,
  expectEveryExchangeClosedOnce,
  expectRefusal,
  period,
  startSwitch,
  type RunningSwitch,
} from './exchange-scenario.js';

const E = SIMULATED_EMPLOYERS;
const CARE_HOME = { kind: 'ONSS' as const, id: E.careHome.onssNumber, category: null };

/** IRISCARE's ordinary DmfA request about its care worker; each case spoils one key of it. */
const GOOD: Partial<RequestRecord> = {
  service: 'dmfa',
  subjectNiss: SIMULATED.careWorkerIriscare,
  employer: CARE_HOME,
  period: period('2024-01-01', '2024-12-31'),
};

describe('exchange: malformed keys are refused before any authorization or directory lookup', () => {
  let sw: RunningSwitch;

  beforeAll(async () => {
    sw = await startSwitch({
      integrations: [
        { institution: 'iriscare', niss: SIMULATED.careWorkerIriscare, capacity: 'care-worker', phase: 1, from: '2023-01-01', to: null, employer: { kind: 'ONSS', id: E.careHome.onssNumber } },
        { institution: 'vaph', niss: SIMULATED.assistantOfVaph, capacity: 'pab-assistant', phase: 1, from: '2024-01-01', to: null, employer: { kind: 'ONSS', id: E.budgetHolder.onssNumber } },
      ],
    });
  }, 120_000);

  afterAll(async () => {
    await sw?.fx.closeAtOnce();
  }, 60_000);

  /** Asks as IRISCARE (or another institution) and checks the refusal and its audit record. */
  async function refused(
    fields: Partial<RequestRecord>,
    status: string,
    bcssCode: string | null,
    institution = 'iriscare',
  ) {
    const reply = await sw.fx.ask(institution, { ...GOOD, ...fields });
    expectRefusal(reply, status, bcssCode);
    return reply;
  }

  it('the unspoilt request is answered: the cases below differ from it by one key only', async () => {
    const reply = await sw.fx.ask('iriscare', GOOD);
    expect(reply.status).toBe('OK');
  });

  describe('INVALID_NISS (MSG00011)', () => {
    it('check digits that do not match', async () => {
      const reply = await refused({ subjectNiss: '75110205781' }, 'INVALID_NISS', 'MSG00011');
      expect(reply.legalBasis).toBeNull();
      await expectAudited(sw, reply, {
        event: 'REQUEST_REFUSED',
        requester: 'iriscare',
        service: 'dmfa',
        deliberation: null,
        subjectNiss: '75110205781',
      });
    });

    it('ten digits, letters, and no NISS at all for a service about a person', async () => {
      for (const niss of ['7511020578', '7511020578X', '']) {
        const reply = await refused({ subjectNiss: niss }, 'INVALID_NISS', 'MSG00011');
        await expectAudited(sw, reply, { event: 'REQUEST_REFUSED', requester: 'iriscare', service: 'dmfa', subjectNiss: niss || null });
      }
    });

    it('a NISS on the quarterly invalidity list, which is about nobody in particular (22/046)', async () => {
      const reply = await refused(
        { service: 'inami-invalidity-entries', subjectNiss: SIMULATED.careWorkerIriscare, employer: null, period: period('2025-04-01', '2025-06-30') },
        'INVALID_NISS',
        'MSG00011',
        'onss',
      );
      await expectAudited(sw, reply, { event: 'REQUEST_REFUSED', requester: 'onss', service: 'inami-invalidity-entries', deliberation: null });
    });

    // Requests drop the separators people print a NISS with (docs/error-codes.md): the number written
    // is the number meant. The directory, the source and the audit all see the 11 digits.
    it('a NISS written with separators is not malformed: it is read as its 11 digits', async () => {
      const reply = await sw.fx.ask('iriscare', { ...GOOD, subjectNiss: '75.11.02-057.80' });
      expect(reply.status).toBe('OK');
      const payload = decodePayload<{ niss: string }>(sw.fx, reply, 'be.bcss.gateway.payload.DmfaPayload');
      expect(payload.niss).toBe(SIMULATED.careWorkerIriscare);
      await expectAudited(sw, reply, {
        event: 'REPLY_DELIVERED',
        requester: 'iriscare',
        service: 'dmfa',
        deliberation: '19/104',
        subjectNiss: SIMULATED.careWorkerIriscare,
        payload,
      });
    });
  });

  describe('INVALID_EMPLOYER_ID', () => {
    it('an ONSS number whose check digits do not match', async () => {
      const reply = await refused({ employer: { kind: 'ONSS', id: '120450041', category: null } }, 'INVALID_EMPLOYER_ID', null);
      expect(reply.message).toMatch(/ONSS/);
      await expectAudited(sw, reply, {
        event: 'REQUEST_REFUSED',
        requester: 'iriscare',
        service: 'dmfa',
        subjectNiss: SIMULATED.careWorkerIriscare,
      });
    });

    it('a kind of number the service does not identify employers by: DmfA knows no provisional ONSS numbers', async () => {
      const reply = await refused(
        { employer: { kind: 'ONSS_PROVISIONAL', id: E.startUp.provisionalOnssNumber, category: null } },
        'INVALID_EMPLOYER_ID',
        null,
      );
      await expectAudited(sw, reply, { event: 'REQUEST_REFUSED', requester: 'iriscare', service: 'dmfa' });
    });

    it('an enterprise number given as kind ONSS', async () => {
      const reply = await refused({ employer: { kind: 'ONSS', id: E.careHome.enterpriseNumber, category: null } }, 'INVALID_EMPLOYER_ID', null);
      await expectAudited(sw, reply, { event: 'REQUEST_REFUSED', requester: 'iriscare', service: 'dmfa' });
    });

    it('an employer category that is not three digits', async () => {
      const reply = await refused({ employer: { ...CARE_HOME, category: '48' } }, 'INVALID_EMPLOYER_ID', null);
      await expectAudited(sw, reply, { event: 'REQUEST_REFUSED', requester: 'iriscare', service: 'dmfa' });
    });

    it('an employer on identification, which takes none', async () => {
      const reply = await refused(
        { service: 'identification', subjectNiss: SIMULATED.assistantOfVaph, employer: { kind: 'ONSS', id: E.budgetHolder.onssNumber, category: null } },
        'INVALID_EMPLOYER_ID',
        null,
        'onva',
      );
      await expectAudited(sw, reply, { event: 'REQUEST_REFUSED', requester: 'onva', service: 'identification' });
    });

    it('10/012 §9 without an employer: the deliberation demands the employer–worker link (refused after the authorization)', async () => {
      const reply = await refused(
        { onBehalfOf: 'vaph', subjectNiss: SIMULATED.assistantOfVaph, employer: null, period: period('2024-01-01', '2024-06-30') },
        'INVALID_EMPLOYER_ID',
        null,
        'magda',
      );
      expect(reply.message).toMatch(/10\/012/);
      // The authorization was found: the refusal names it.
      expect(reply.legalBasis).toEqual({ deliberation: '10/012', version: 'v1', purpose: 'vaph-personal-assistance-budget' });
      await expectAudited(sw, reply, {
        event: 'REQUEST_REFUSED',
        requester: 'vaph',
        intermediary: 'magda',
        service: 'dmfa',
        source: 'onss',
        deliberation: '10/012',
        deliberationVersion: 'v1',
        purpose: 'vaph-personal-assistance-budget',
        subjectNiss: SIMULATED.assistantOfVaph,
      });
    });
  });

  describe('INVALID_PERIOD', () => {
    it('a period that ends before it begins', async () => {
      const reply = await refused({ period: period('2024-12-31', '2024-01-01') }, 'INVALID_PERIOD', null);
      await expectAudited(sw, reply, { event: 'REQUEST_REFUSED', requester: 'iriscare', service: 'dmfa', deliberation: null });
    });

    // 22/046 §5: one quarterly list per request; a list across quarters no source could give.
    it('the invalidity list asked for two quarters at once, refused before INAMI is asked', async () => {
      const reply = await refused(
        { service: 'inami-invalidity-entries', subjectNiss: '', employer: null, period: period('2025-01-01', '2025-06-30') },
        'INVALID_PERIOD',
        null,
        'onss',
      );
      expect(reply.message).toContain('one quarterly list per request');
      expect(reply.forwardedAt).toBeNull();
      await expectAudited(sw, reply, { event: 'REQUEST_REFUSED', requester: 'onss', service: 'inami-invalidity-entries', subjectNiss: null });
    });

    it('an open period that begins after today (its end is today)', async () => {
      const next = `${new Date().getUTCFullYear() + 2}-01-01`;
      const reply = await refused({ period: period(next, null) }, 'INVALID_PERIOD', null);
      await expectAudited(sw, reply, { event: 'REQUEST_REFUSED', requester: 'iriscare', service: 'dmfa' });
    });
  });

  describe('UNKNOWN_SERVICE', () => {
    it('a service the catalogue does not have', async () => {
      const reply = await refused({ service: 'pension-rights' }, 'UNKNOWN_SERVICE', null);
      expect(reply.service).toBe('pension-rights');
      await expectAudited(sw, reply, {
        event: 'REQUEST_REFUSED',
        requester: 'iriscare',
        service: 'pension-rights',
        source: null,
        deliberation: null,
      });
    });
  });

  describe('order of the checks (src/domain/exchange.ts): the first failing one names the refusal', () => {
    it('service before keys: an unknown service with a bad NISS is UNKNOWN_SERVICE', async () => {
      const reply = await refused({ service: 'pension-rights', subjectNiss: '123' }, 'UNKNOWN_SERVICE', null);
      await expectAudited(sw, reply, { event: 'REQUEST_REFUSED', requester: 'iriscare' });
    });

    it('NISS, then employer, then period', async () => {
      const badEmployer = { kind: 'ONSS' as const, id: '120450041', category: null };
      const badPeriod = period('2024-12-31', '2024-01-01');
      const a = await refused({ subjectNiss: '75110205781', employer: badEmployer, period: badPeriod }, 'INVALID_NISS', 'MSG00011');
      const b = await refused({ employer: badEmployer, period: badPeriod }, 'INVALID_EMPLOYER_ID', null);
      for (const reply of [a, b]) await expectAudited(sw, reply, { event: 'REQUEST_REFUSED', requester: 'iriscare' });
    });

    it('keys before the authorization: a malformed request IRISCARE may not make anyway is INVALID_NISS, not NOT_AUTHORIZED', async () => {
      const reply = await refused({ service: 'identification', subjectNiss: '75110205781', employer: null }, 'INVALID_NISS', 'MSG00011');
      await expectAudited(sw, reply, { event: 'REQUEST_REFUSED', requester: 'iriscare', deliberation: null });
    });
  });

  it('every request of this file got exactly one reply and one outcome audit record', async () => {
    await expectEveryExchangeClosedOnce(sw);
  });
});
