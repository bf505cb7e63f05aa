import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
const BUDGET_HOLDER = { kind: 'ONSS' as const, id: E.budgetHolder.onssNumber, category: null };
const VAPH_LEGAL_BASIS = { deliberation: '10/012', version: 'v1', purpose: 'vaph-personal-assistance-budget' };

describe('exchange: NOT_INTEGRATED (-300020) — no fishing in other files: only persons the beneficiary integrated', () => {
  let sw: RunningSwitch;

  beforeAll(async () => {
    sw = await startSwitch({
      integrations: [
        { institution: 'vaph', niss: SIMULATED.assistantOfVaph, capacity: 'pab-assistant', phase: 1, from: '2024-01-01', to: null, employer: { kind: 'ONSS', id: E.budgetHolder.onssNumber } },
        // VAPH files this person as a budget holder, not as an assistant: 10/012 §9 covers assistants only.
        { institution: 'vaph', niss: SIMULATED.neverEmployed, capacity: 'pab-budget-holder', phase: 1, from: '2024-01-01', to: null, employer: null },
        { institution: 'iriscare', niss: SIMULATED.careWorkerIriscare, capacity: 'care-worker', phase: 1, from: '2023-01-01', to: null, employer: { kind: 'ONSS', id: E.careHome.onssNumber } },
      ],
    });
  }, 120_000);

  afterAll(async () => {
    await sw?.fx.closeAtOnce();
  }, 60_000);

  it('MAGDA for VAPH about a person only IRISCARE integrated', async () => {
    const reply = await sw.fx.ask('magda', {
      onBehalfOf: 'vaph',
      service: 'dmfa',
      subjectNiss: SIMULATED.careWorkerIriscare,
      employer: BUDGET_HOLDER,
      period: period('2024-01-01', '2024-06-30'),
    });
    expectRefusal(reply, 'NOT_INTEGRATED', '-300020');
    // The authorization was decided before the directory was read: the refusal names it.
    expect(reply.legalBasis).toEqual(VAPH_LEGAL_BASIS);
    await expectAudited(sw, reply, {
      event: 'REQUEST_REFUSED',
      requester: 'vaph',
      intermediary: 'magda',
      service: 'dmfa',
      source: 'onss',
      deliberation: '10/012',
      deliberationVersion: 'v1',
      subjectNiss: SIMULATED.careWorkerIriscare,
    });
  });

  it('a person VAPH integrated, but in another capacity than the one 10/012 demands (pab-assistant)', async () => {
    const reply = await sw.fx.ask('magda', {
      onBehalfOf: 'vaph',
      service: 'dimona',
      subjectNiss: SIMULATED.neverEmployed,
      employer: BUDGET_HOLDER,
      period: period('2024-01-01', '2024-06-30'),
    });
    expectRefusal(reply, 'NOT_INTEGRATED', '-300020');
    expect(reply.message).toContain('pab-assistant');
    await expectAudited(sw, reply, { event: 'REQUEST_REFUSED', requester: 'vaph', intermediary: 'magda', deliberation: '10/012' });
  });

  it('ONVA’s inspection about IRISCARE’s care worker: 19/010 authorizes ONVA, its directory does not hold the person', async () => {
    const reply = await sw.fx.ask('onva', {
      service: 'identification',
      subjectNiss: SIMULATED.careWorkerIriscare,
      period: period('2024-01-01', '2024-12-31'),
    });
    expectRefusal(reply, 'NOT_INTEGRATED', '-300020');
    expect(reply.legalBasis).toEqual({ deliberation: '19/010', version: 'v1', purpose: 'onva-inspection-annual-holidays' });
    await expectAudited(sw, reply, {
      event: 'REQUEST_REFUSED',
      requester: 'onva',
      service: 'identification',
      source: 'bcss-registers',
      deliberation: '19/010',
      subjectNiss: SIMULATED.careWorkerIriscare,
    });
  });

  it('the integrated assistant, asked the same way, is answered: the refusals above are the directory’s', async () => {
    const reply = await sw.fx.ask('magda', {
      onBehalfOf: 'vaph',
      service: 'dimona',
      subjectNiss: SIMULATED.assistantOfVaph,
      employer: BUDGET_HOLDER,
      period: period('2024-01-01', '2024-06-30'),
    });
    expect(reply.status).toBe('OK');
    await expectAudited(sw, reply, { event: 'REPLY_DELIVERED', requester: 'vaph', intermediary: 'magda', deliberation: '10/012' });
  });

  it('every request of this file got exactly one reply and one outcome audit record', async () => {
    await expectEveryExchangeClosedOnce(sw);
  });
});
