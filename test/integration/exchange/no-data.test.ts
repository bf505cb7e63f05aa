import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REFUSAL_CODES } from '../../../src/domain/refusal-codes.js';
import { SIMULATED, SIMULATED_EMPLOYERS } from '../../../src/sources/synthetic-population.js';
import {
  expectAudited,
  expectEveryExchangeClosedOnce,
  period,
  startSwitch,
  type RunningSwitch,
} from './exchange-scenario.js';

const E = SIMULATED_EMPLOYERS;
const ONVA_LEGAL_BASIS = { deliberation: '19/010', version: 'v1', purpose: 'onva-inspection-annual-holidays' };

describe('exchange: NO_DATA (MSG00100) — from the source, or left by the switch’s own filter', () => {
  let sw: RunningSwitch;

  beforeAll(async () => {
    sw = await startSwitch({
      integrations: [
        { institution: 'onva', niss: SIMULATED.neverEmployed, capacity: 'inspection', phase: 1, from: '2023-01-01', to: null, employer: null },
        { institution: 'onva', niss: SIMULATED.deceased, capacity: 'inspection', phase: 1, from: '2023-01-01', to: null, employer: null },
        { institution: 'onva', niss: SIMULATED.interimWorker, capacity: 'inspection', phase: 1, from: '2023-01-01', to: null, employer: null },
      ],
    });
  }, 120_000);

  afterAll(async () => {
    await sw?.fx.closeAtOnce();
  }, 60_000);

  /** NO_DATA is an answer: forwarded, under a legal basis, for the effective period, with nothing in it. */
  function expectNoData(reply: Awaited<ReturnType<RunningSwitch['fx']['ask']>>, effective: ReturnType<typeof period>) {
    expect({ status: reply.status, bcssCode: reply.bcssCode }).toEqual({ status: 'NO_DATA', bcssCode: 'MSG00100' });
    expect(reply.payload).toBeNull();
    expect(reply.retainUntil).toBeNull();
    expect(reply.newNiss).toBeNull();
    expect(reply.deliveredBlocks).toEqual([]);
    expect(reply.removedBlocks).toEqual([]);
    expect(reply.effectivePeriods).toEqual([effective]);
    expect(reply.legalBasis).toEqual(ONVA_LEGAL_BASIS);
    expect(reply.forwardedAt).not.toBeNull();
  }

  for (const service of ['dmfa', 'dimona'] as const) {
    it(`${service} of a person never employed: the source itself has nothing`, async () => {
      const reply = await sw.fx.ask('onva', { service, subjectNiss: SIMULATED.neverEmployed, period: period('2024-01-01', '2024-12-31') });
      expectNoData(reply, period('2024-01-01', '2024-12-31'));
      expect(reply.message).toBe(REFUSAL_CODES.NO_DATA.message);
      await expectAudited(sw, reply, {
        event: 'REPLY_DELIVERED',
        requester: 'onva',
        service,
        source: 'onss',
        deliberation: '19/010',
        subjectNiss: SIMULATED.neverEmployed,
      });
    });
  }

  for (const service of ['dmfa', 'dimona'] as const) {
    it(`${service} after the death (2024-08-17): the source over-delivers 2024Q3, the period filter leaves nothing`, async () => {
      const reply = await sw.fx.ask('onva', { service, subjectNiss: SIMULATED.deceased, period: period('2024-10-01', '2024-12-31') });
      expectNoData(reply, period('2024-10-01', '2024-12-31'));
      // Not the source's NO_DATA: the switch's, after filtering.
      expect(reply.message).not.toBe(REFUSAL_CODES.NO_DATA.message);
      await expectAudited(sw, reply, { event: 'REPLY_DELIVERED', requester: 'onva', service, deliberation: '19/010', subjectNiss: SIMULATED.deceased });
    });
  }

  it('dmfa of the interim worker for an employer they never worked for: the employer filter leaves nothing', async () => {
    const reply = await sw.fx.ask('onva', {
      service: 'dmfa',
      subjectNiss: SIMULATED.interimWorker,
      employer: { kind: 'ONSS', id: E.careHome.onssNumber, category: null },
      period: period('2024-01-01', '2024-12-31'),
    });
    expectNoData(reply, period('2024-01-01', '2024-12-31'));
    expect(reply.message).not.toBe(REFUSAL_CODES.NO_DATA.message);
    await expectAudited(sw, reply, { event: 'REPLY_DELIVERED', requester: 'onva', deliberation: '19/010', subjectNiss: SIMULATED.interimWorker });
  });

  it('only a technical block asked for: allowed, but technical data alone say nothing — NO_DATA', async () => {
    const reply = await sw.fx.ask('onva', {
      service: 'dmfa',
      subjectNiss: SIMULATED.interimWorker,
      period: period('2024-01-01', '2024-12-31'),
      requestedBlocks: ['dmfa.declaration-status'],
    });
    expect(reply.status).toBe('NO_DATA');
    expect(reply.deliveredBlocks).toEqual([]);
    expect(reply.payload).toBeNull();
    await expectAudited(sw, reply, { event: 'REPLY_DELIVERED', requester: 'onva', deliberation: '19/010' });
  });

  it('every request of this file got exactly one reply and one outcome audit record', async () => {
    await expectEveryExchangeClosedOnce(sw);
  });
});
