import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RequestRecord } from '../../../src/contract/exchange-records.js';
import { SIMULATED, SIMULATED_EMPLOYERS } from '../../../src/sources/synthetic-population.js';
import {
  expectAudited,
  expectEveryExchangeClosedOnce,
  expectRefusal,
  period,
  startSwitch,
  type RunningSwitch,
} from './exchange-scenario.js';

const E = SIMULATED_EMPLOYERS;

const IRISCARE_DMFA: Partial<RequestRecord> = {
  service: 'dmfa',
  subjectNiss: SIMULATED.careWorkerIriscare,
  employer: { kind: 'ONSS', id: E.careHome.onssNumber, category: null },
  period: period('2024-01-01', '2024-12-31'),
};

describe('exchange: AUTHORIZATION_NOT_IN_FORCE — a purpose naming a deliberation version no longer in force', () => {
  let sw: RunningSwitch;

  beforeAll(async () => {
    sw = await startSwitch({
      integrations: [
        { institution: 'iriscare', niss: SIMULATED.careWorkerIriscare, capacity: 'care-worker', phase: 1, from: '2023-01-01', to: null, employer: { kind: 'ONSS', id: E.careHome.onssNumber } },
      ],
    });
  }, 120_000);

  afterAll(async () => {
    await sw?.fx.closeAtOnce();
  }, 60_000);

  it('IRISCARE with purpose 19/104@v1 (in force 2019-07-02..2020-11-30) is told v3 is the version in force', async () => {
    const reply = await sw.fx.ask('iriscare', { ...IRISCARE_DMFA, purpose: '19/104@v1' });
    expectRefusal(reply, 'AUTHORIZATION_NOT_IN_FORCE', null);
    expect(reply.legalBasis).toBeNull();
    expect(reply.message).toContain('v1');
    expect(reply.message).toContain('v3');
    await expectAudited(sw, reply, {
      event: 'REQUEST_REFUSED',
      requester: 'iriscare',
      service: 'dmfa',
      deliberation: null,
      // No deliberation was applied: the audit keeps the purpose as asked.
      purpose: '19/104@v1',
      subjectNiss: SIMULATED.careWorkerIriscare,
    });
  });

  it('the amendment v2 (2020-12-01..2023-12-04), named by the purpose code rather than the number, is out of force too', async () => {
    const reply = await sw.fx.ask('iriscare', { ...IRISCARE_DMFA, purpose: 'iriscare-care-structure-financing@v2' });
    expectRefusal(reply, 'AUTHORIZATION_NOT_IN_FORCE', null);
    expect(reply.message).toContain('v3');
    await expectAudited(sw, reply, { event: 'REQUEST_REFUSED', requester: 'iriscare', deliberation: null });
  });

  it('the version in force, named, is applied', async () => {
    const reply = await sw.fx.ask('iriscare', { ...IRISCARE_DMFA, purpose: '19/104@v3' });
    expect(reply.status).toBe('OK');
    expect(reply.legalBasis).toEqual({ deliberation: '19/104', version: 'v3', purpose: 'iriscare-care-structure-financing' });
    await expectAudited(sw, reply, { event: 'REPLY_DELIVERED', requester: 'iriscare', deliberation: '19/104', deliberationVersion: 'v3' });
  });

  it('the out-of-force version is refused before the directory: even about a person IRISCARE never integrated', async () => {
    const reply = await sw.fx.ask('iriscare', { ...IRISCARE_DMFA, subjectNiss: SIMULATED.neverEmployed, employer: null, purpose: '19/104@v1' });
    expectRefusal(reply, 'AUTHORIZATION_NOT_IN_FORCE', null);
    await expectAudited(sw, reply, { event: 'REQUEST_REFUSED', requester: 'iriscare' });
  });

  it('22/046@v1 (amended on 2023-03-07) for the invalidity list', async () => {
    const reply = await sw.fx.ask('onss', {
      service: 'inami-invalidity-entries',
      subjectNiss: '',
      purpose: '22/046@v1',
      period: period('2025-04-01', '2025-06-30'),
    });
    expectRefusal(reply, 'AUTHORIZATION_NOT_IN_FORCE', null);
    expect(reply.message).toContain('v2');
    await expectAudited(sw, reply, { event: 'REQUEST_REFUSED', requester: 'onss', subjectNiss: null, deliberation: null });
  });

  it('a version that never authorized the service is not "out of force" but NOT_AUTHORIZED: 19/104 v1 had no DIMONA; v9 does not exist', async () => {
    for (const [service, purpose] of [['dimona', '19/104@v1'], ['dmfa', '19/104@v9']] as const) {
      const reply = await sw.fx.ask('iriscare', { ...IRISCARE_DMFA, service, purpose });
      expectRefusal(reply, 'NOT_AUTHORIZED', '-300010');
      await expectAudited(sw, reply, { event: 'REQUEST_REFUSED', requester: 'iriscare', service, deliberation: null, purpose });
    }
  });

  it('every request of this file got exactly one reply and one outcome audit record', async () => {
    await expectEveryExchangeClosedOnce(sw);
  });
});
