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
const BUDGET_HOLDER = { kind: 'ONSS' as const, id: E.budgetHolder.onssNumber, category: null };

describe('exchange: NOT_INTEGRATED_FOR_PERIOD — integrated, but for none of the days asked', () => {
  let sw: RunningSwitch;

  beforeAll(async () => {
    sw = await startSwitch({
      integrations: [
        // From the budget application (10/012 §9): 2024-01-01.
        { institution: 'vaph', niss: SIMULATED.assistantOfVaph, capacity: 'pab-assistant', phase: 1, from: '2024-01-01', to: null, employer: { kind: 'ONSS', id: E.budgetHolder.onssNumber } },
        // A closed inspection file.
        { institution: 'onva', niss: SIMULATED.deceased, capacity: 'inspection', phase: 1, from: '2023-01-01', to: '2023-12-31', employer: null },
        // Two inspection files on the interim worker, with a gap between them.
        { institution: 'onva', niss: SIMULATED.interimWorker, capacity: 'inspection', phase: 1, from: '2023-01-01', to: '2023-06-30', employer: null },
        { institution: 'onva', niss: SIMULATED.interimWorker, capacity: 'inspection', phase: 1, from: '2024-01-01', to: '2024-06-30', employer: null },
      ],
    });
  }, 120_000);

  afterAll(async () => {
    await sw?.fx.closeAtOnce();
  }, 60_000);

  it('MAGDA for VAPH: the assistant’s 2023, before the budget application', async () => {
    const reply = await sw.fx.ask('magda', {
      onBehalfOf: 'vaph',
      service: 'dmfa',
      subjectNiss: SIMULATED.assistantOfVaph,
      employer: BUDGET_HOLDER,
      period: period('2023-01-01', '2023-12-31'),
    });
    expectRefusal(reply, 'NOT_INTEGRATED_FOR_PERIOD', null);
    expect(reply.legalBasis).toEqual({ deliberation: '10/012', version: 'v1', purpose: 'vaph-personal-assistance-budget' });
    await expectAudited(sw, reply, {
      event: 'REQUEST_REFUSED',
      requester: 'vaph',
      intermediary: 'magda',
      service: 'dmfa',
      deliberation: '10/012',
      subjectNiss: SIMULATED.assistantOfVaph,
    });
  });

  it('ONVA: a file closed at the end of 2023, asked about 2024', async () => {
    const reply = await sw.fx.ask('onva', { service: 'identification', subjectNiss: SIMULATED.deceased, period: period('2024-01-01', null) });
    expectRefusal(reply, 'NOT_INTEGRATED_FOR_PERIOD', null);
    await expectAudited(sw, reply, { event: 'REQUEST_REFUSED', requester: 'onva', deliberation: '19/010', subjectNiss: SIMULATED.deceased });
  });

  it('ONVA: a period that falls in the gap between two files, though the person worked then', async () => {
    const reply = await sw.fx.ask('onva', { service: 'dimona', subjectNiss: SIMULATED.interimWorker, period: period('2023-07-01', '2023-12-31') });
    expectRefusal(reply, 'NOT_INTEGRATED_FOR_PERIOD', null);
    await expectAudited(sw, reply, { event: 'REQUEST_REFUSED', requester: 'onva', deliberation: '19/010' });
  });

  it('across the gap: answered for the two integrated pieces only, the job in between dropped', async () => {
    const reply = await sw.fx.ask('onva', { service: 'dimona', subjectNiss: SIMULATED.interimWorker, period: period('2023-01-01', '2024-12-31') });
    expect(reply.status).toBe('OK');
    expect(reply.effectivePeriods).toEqual([period('2023-01-01', '2023-06-30'), period('2024-01-01', '2024-06-30')]);
    expect(reply.deliveredBlocks).toEqual(['dimona.period', 'dimona.employer', 'dimona.using-employer', 'dimona.worker', 'dimona.occupation']);
    expect(reply.removedBlocks).toEqual([]);
    const payload = decodePayload<{ dimonaPeriods: Array<{ occupation: { inDate: string; outDate: string | null } }> }>(
      sw.fx,
      reply,
      'be.bcss.gateway.payload.DimonaPayload',
    );
    // Both agency assignments overlap a piece; the brewery job (from 2024-10-01) overlaps neither.
    expect(payload.dimonaPeriods.map((p) => [p.occupation.inDate, p.occupation.outDate])).toEqual([
      ['2023-05-02', '2023-12-22'],
      ['2024-03-04', '2024-09-27'],
    ]);
    await expectAudited(sw, reply, {
      event: 'REPLY_DELIVERED',
      requester: 'onva',
      service: 'dimona',
      deliberation: '19/010',
      subjectNiss: SIMULATED.interimWorker,
      payload,
    });
  });

  it('every request of this file got exactly one reply and one outcome audit record', async () => {
    await expectEveryExchangeClosedOnce(sw);
  });
});
