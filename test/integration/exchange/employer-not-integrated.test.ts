import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

describe('exchange: EMPLOYER_NOT_INTEGRATED — an integration bound to one employer opens that employer–worker link only', () => {
  let sw: RunningSwitch;

  beforeAll(async () => {
    sw = await startSwitch({
      integrations: [
        // 10/012 §9: the assistant's job with the budget holder, not the one at the supermarket.
        { institution: 'vaph', niss: SIMULATED.assistantOfVaph, capacity: 'pab-assistant', phase: 1, from: '2024-01-01', to: null, employer: { kind: 'ONSS', id: E.budgetHolder.onssNumber } },
        { institution: 'iriscare', niss: SIMULATED.careWorkerIriscare, capacity: 'care-worker', phase: 1, from: '2023-01-01', to: null, employer: { kind: 'ONSS', id: E.careHome.onssNumber } },
        // No employer: every employer of the person.
        { institution: 'onva', niss: SIMULATED.interimWorker, capacity: 'inspection', phase: 1, from: '2023-01-01', to: null, employer: null },
        // Bound to one employer, under a deliberation (19/010) that does not itself demand one.
        { institution: 'onva', niss: SIMULATED.careWorkerIriscare, capacity: 'inspection', phase: 1, from: '2023-01-01', to: null, employer: { kind: 'ONSS', id: E.careHome.onssNumber } },
      ],
    });
  }, 120_000);

  afterAll(async () => {
    await sw?.fx.closeAtOnce();
  }, 60_000);

  it('MAGDA for VAPH asking the assistant’s supermarket link, by enterprise number and by ONSS number', async () => {
    for (const employer of [
      { kind: 'ENTERPRISE' as const, id: E.supermarket.enterpriseNumber, category: null },
      { kind: 'ONSS' as const, id: E.supermarket.onssNumber, category: null },
    ]) {
      const reply = await sw.fx.ask('magda', {
        onBehalfOf: 'vaph',
        service: 'dmfa',
        subjectNiss: SIMULATED.assistantOfVaph,
        employer,
        period: period('2024-01-01', '2024-06-30'),
      });
      expectRefusal(reply, 'EMPLOYER_NOT_INTEGRATED', null);
      expect(reply.legalBasis).toEqual({ deliberation: '10/012', version: 'v1', purpose: 'vaph-personal-assistance-budget' });
      await expectAudited(sw, reply, {
        event: 'REQUEST_REFUSED',
        requester: 'vaph',
        intermediary: 'magda',
        service: 'dmfa',
        deliberation: '10/012',
        subjectNiss: SIMULATED.assistantOfVaph,
      });
    }
  });

  it('ONVA naming no employer: its integration is bound to the care home, a request without one would reach every employer', async () => {
    // (IRISCARE could not even ask so: 19/104 §2 demands the employer in the request, INVALID_EMPLOYER_ID.)
    const reply = await sw.fx.ask('onva', {
      service: 'dmfa',
      subjectNiss: SIMULATED.careWorkerIriscare,
      employer: null,
      period: period('2024-01-01', '2024-12-31'),
    });
    expectRefusal(reply, 'EMPLOYER_NOT_INTEGRATED', null);
    expect(reply.message).toMatch(/names none/);
    await expectAudited(sw, reply, { event: 'REQUEST_REFUSED', requester: 'onva', deliberation: '19/010' });
  });

  it('IRISCARE naming the care home by its enterprise number while it integrated it by its ONSS number: the directory matches the number integrated', async () => {
    const reply = await sw.fx.ask('iriscare', {
      service: 'dmfa',
      subjectNiss: SIMULATED.careWorkerIriscare,
      employer: { kind: 'ENTERPRISE', id: E.careHome.enterpriseNumber, category: null },
      period: period('2024-01-01', '2024-12-31'),
    });
    expectRefusal(reply, 'EMPLOYER_NOT_INTEGRATED', null);
    await expectAudited(sw, reply, { event: 'REQUEST_REFUSED', requester: 'iriscare', deliberation: '19/104' });
  });

  it('a line without employer covers every employer: ONVA asks the brewery link of the interim worker', async () => {
    const reply = await sw.fx.ask('onva', {
      service: 'dmfa',
      subjectNiss: SIMULATED.interimWorker,
      employer: { kind: 'ENTERPRISE', id: E.brewery.enterpriseNumber, category: null },
      period: period('2024-10-01', '2024-12-31'),
    });
    expect(reply.status).toBe('OK');
    expect(reply.effectivePeriods).toEqual([period('2024-10-01', '2024-12-31')]);
    expect(reply.deliveredBlocks).toEqual([
      'dmfa.employer-declaration',
      'dmfa.declaration-status',
      'dmfa.natural-person',
      'dmfa.worker-record',
      'dmfa.occupation',
      'dmfa.service',
      'dmfa.remuneration',
    ]);
    expect(reply.removedBlocks).toEqual(['dmfa.worker-contribution', 'dmfa.contribution-unrelated-to-person']);
    const payload = decodePayload<{ employerDeclarations: Array<{ quarter: string; enterpriseNumber: string | null }> }>(
      sw.fx,
      reply,
      'be.bcss.gateway.payload.DmfaPayload',
    );
    // The agency's 2024Q3 declaration, over-delivered, is another employer's.
    expect(payload.employerDeclarations.map((d) => [d.quarter, d.enterpriseNumber])).toEqual([['2024Q4', E.brewery.enterpriseNumber]]);
    await expectAudited(sw, reply, { event: 'REPLY_DELIVERED', requester: 'onva', deliberation: '19/010', payload });
  });

  it('every request of this file got exactly one reply and one outcome audit record', async () => {
    await expectEveryExchangeClosedOnce(sw);
  });
});
