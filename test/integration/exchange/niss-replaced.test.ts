import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIMULATED } from '../../../src/sources/synthetic-population.js';
import {
  decodePayload,
  expectAudited,
  expectEveryExchangeClosedOnce,
  expectRefusal,
  period,
  startSwitch,
  type RunningSwitch,
} from './exchange-scenario.js';

const ONVA_LEGAL_BASIS = { deliberation: '19/010', version: 'v1', purpose: 'onva-inspection-annual-holidays' };

describe('exchange: NISS_REPLACED (MSG00006) — a BIS number replaced by a National Register number', () => {
  let sw: RunningSwitch;

  beforeAll(async () => {
    sw = await startSwitch({
      integrations: [
        { institution: 'onva', niss: SIMULATED.replacedBis, capacity: 'inspection', phase: 1, from: '2023-01-01', to: null, employer: null },
      ],
    });
  }, 120_000);

  afterAll(async () => {
    await sw?.fx.closeAtOnce();
  }, 60_000);

  for (const service of ['identification', 'dmfa'] as const) {
    it(`${service} of the old number: forwarded, and the source's new number passed on, with no data`, async () => {
      const reply = await sw.fx.ask('onva', { service, subjectNiss: SIMULATED.replacedBis, period: period('2024-01-01', '2024-12-31') });
      expect({ status: reply.status, bcssCode: reply.bcssCode }).toEqual({ status: 'NISS_REPLACED', bcssCode: 'MSG00006' });
      expect(reply.newNiss).toBe(SIMULATED.replacingNiss);
      expect(reply.payload).toBeNull();
      expect(reply.retainUntil).toBeNull();
      expect(reply.deliveredBlocks).toEqual([]);
      expect(reply.removedBlocks).toEqual([]);
      expect(reply.effectivePeriods).toEqual([period('2024-01-01', '2024-12-31')]);
      expect(reply.legalBasis).toEqual(ONVA_LEGAL_BASIS);
      await expectAudited(sw, reply, {
        event: 'REPLY_DELIVERED',
        requester: 'onva',
        service,
        source: service === 'dmfa' ? 'onss' : 'bcss-registers',
        deliberation: '19/010',
        deliberationVersion: 'v1',
        subjectNiss: SIMULATED.replacedBis,
      });
    });
  }

  it('the new number is another person for the directory: NOT_INTEGRATED until ONVA integrates it, then answered', async () => {
    const before = await sw.fx.ask('onva', { service: 'identification', subjectNiss: SIMULATED.replacingNiss, period: period('2024-01-01', '2024-12-31') });
    expectRefusal(before, 'NOT_INTEGRATED', '-300020');
    await expectAudited(sw, before, { event: 'REQUEST_REFUSED', requester: 'onva', deliberation: '19/010', subjectNiss: SIMULATED.replacingNiss });

    await sw.fx.integrate([
      { institution: 'onva', niss: SIMULATED.replacingNiss, capacity: 'inspection', phase: 1, from: '2023-01-01', to: null, employer: null },
    ]);
    const after = await sw.fx.ask('onva', { service: 'identification', subjectNiss: SIMULATED.replacingNiss, period: period('2024-01-01', '2024-12-31') });
    expect(after.status).toBe('OK');
    expect(after.newNiss).toBeNull();
    const payload = decodePayload<{ niss: string; register: { register: string } | null }>(sw.fx, after, 'be.bcss.gateway.payload.IdentificationPayload');
    expect(payload.niss).toBe(SIMULATED.replacingNiss);
    expect(payload.register?.register).toBe('RN');
    await expectAudited(sw, after, { event: 'REPLY_DELIVERED', requester: 'onva', deliberation: '19/010', subjectNiss: SIMULATED.replacingNiss, payload });
  });

  it('every request of this file got exactly one reply and one outcome audit record', async () => {
    await expectEveryExchangeClosedOnce(sw);
  });
});
