import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReplyRecord, RequestRecord } from '../../../src/contract/exchange-records.js';
import { SIMULATED, SIMULATED_EMPLOYERS } from '../../../src/sources/synthetic-population.js';
import {
  collectedReplies,
  decodePayload,
  expectAudited,
  expectEveryExchangeClosedOnce,
  expectRefusal,
  period,
  startSwitch,
  type RunningSwitch,
} from './exchange-scenario.js';

const E = SIMULATED_EMPLOYERS;

const VAPH_DMFA: Partial<RequestRecord> = {
  service: 'dmfa',
  subjectNiss: SIMULATED.assistantOfVaph,
  employer: { kind: 'ONSS', id: E.budgetHolder.onssNumber, category: null },
  period: period('2024-01-01', '2024-06-30'),
};

const IRISCARE_DMFA: Partial<RequestRecord> = {
  service: 'dmfa',
  subjectNiss: SIMULATED.careWorkerIriscare,
  employer: { kind: 'ONSS', id: E.careHome.onssNumber, category: null },
  period: period('2024-01-01', '2024-12-31'),
};

describe('exchange: NOT_AUTHORIZED (-300010) — no deliberation covers who asks, through whom, for what', () => {
  let sw: RunningSwitch;

  beforeAll(async () => {
    sw = await startSwitch({
      // J.D.-Consult (17/006) takes no part in the switch; its topics exist here only to show what the
      // switch would answer if a request ever came from it.
      extraInstitutions: ['jd-consult'],
      integrations: [
        { institution: 'vaph', niss: SIMULATED.assistantOfVaph, capacity: 'pab-assistant', phase: 1, from: '2024-01-01', to: null, employer: { kind: 'ONSS', id: E.budgetHolder.onssNumber } },
        { institution: 'iriscare', niss: SIMULATED.careWorkerIriscare, capacity: 'care-worker', phase: 1, from: '2023-01-01', to: null, employer: { kind: 'ONSS', id: E.careHome.onssNumber } },
      ],
    });
  }, 120_000);

  afterAll(async () => {
    await sw?.fx.closeAtOnce();
  }, 60_000);

  it('VAPH directly, not through MAGDA: 10/012 makes the relay mandatory', async () => {
    const reply = await sw.fx.ask('vaph', VAPH_DMFA);
    expectRefusal(reply, 'NOT_AUTHORIZED', '-300010');
    expect(reply.legalBasis).toBeNull();
    expect(reply.message).toContain('magda');
    await expectAudited(sw, reply, {
      event: 'REQUEST_REFUSED',
      requester: 'vaph',
      intermediary: null,
      service: 'dmfa',
      deliberation: null,
      subjectNiss: SIMULATED.assistantOfVaph,
    });
  });

  it('MAGDA without onBehalfOf: a relay has no deliberation of its own (10/012 §22: it may not use the data)', async () => {
    const reply = await sw.fx.ask('magda', VAPH_DMFA);
    expectRefusal(reply, 'NOT_AUTHORIZED', '-300010');
    expect(reply.message).toContain('onBehalfOf');
    await expectAudited(sw, reply, { event: 'REQUEST_REFUSED', requester: 'magda', intermediary: null, deliberation: null });
  });

  it('MAGDA relaying for an institution it is not registered for (IRISCARE)', async () => {
    const reply = await sw.fx.ask('magda', { ...IRISCARE_DMFA, onBehalfOf: 'iriscare' });
    expectRefusal(reply, 'NOT_AUTHORIZED', '-300010');
    await expectAudited(sw, reply, { event: 'REQUEST_REFUSED', requester: 'iriscare', intermediary: 'magda', deliberation: null });
  });

  it('IRISCARE asking identification, which 19/104 does not grant', async () => {
    const reply = await sw.fx.ask('iriscare', { service: 'identification', subjectNiss: SIMULATED.careWorkerIriscare, employer: null });
    expectRefusal(reply, 'NOT_AUTHORIZED', '-300010');
    await expectAudited(sw, reply, { event: 'REQUEST_REFUSED', requester: 'iriscare', service: 'identification', deliberation: null });
  });

  it('IRISCARE naming another institution’s purpose (10/012)', async () => {
    const reply = await sw.fx.ask('iriscare', { ...IRISCARE_DMFA, purpose: '10/012' });
    expectRefusal(reply, 'NOT_AUTHORIZED', '-300010');
    await expectAudited(sw, reply, { event: 'REQUEST_REFUSED', requester: 'iriscare', deliberation: null, purpose: '10/012' });
  });

  it('only blocks the deliberation does not grant: remuneration (90019), or a block that does not exist', async () => {
    for (const blocks of [['dmfa.remuneration'], ['dmfa.salary']]) {
      const reply = await sw.fx.ask('iriscare', { ...IRISCARE_DMFA, requestedBlocks: blocks });
      expectRefusal(reply, 'NOT_AUTHORIZED', '-300010');
      expect(reply.message).toContain(blocks[0]);
      await expectAudited(sw, reply, { event: 'REQUEST_REFUSED', requester: 'iriscare', deliberation: null });
    }
  });

  it('authorized and unauthorized blocks mixed: OK with the granted one, the others reported removed, never silently dropped', async () => {
    const reply = await sw.fx.ask('iriscare', {
      ...IRISCARE_DMFA,
      requestedBlocks: ['dmfa.occupation', 'dmfa.remuneration', 'dmfa.salary'],
    });
    expect(reply.status).toBe('OK');
    expect(reply.bcssCode).toBeNull();
    expect(reply.legalBasis).toEqual({ deliberation: '19/104', version: 'v3', purpose: 'iriscare-care-structure-financing' });
    expect(reply.effectivePeriods).toEqual([period('2024-01-01', '2024-12-31')]);
    // The occupation, and the technical status that comes free; its ancestors travel as keys only.
    expect(reply.deliveredBlocks).toEqual(['dmfa.declaration-status', 'dmfa.occupation']);
    expect(reply.removedBlocks).toEqual([
      'dmfa.employer-declaration',
      'dmfa.natural-person',
      'dmfa.worker-record',
      'dmfa.service',
      'dmfa.remuneration',
      'dmfa.worker-contribution',
      'dmfa.contribution-unrelated-to-person',
      'dmfa.salary',
    ]);
    expect(reply.message).toMatch(/withheld/);
    const payload = decodePayload<{
      employerDeclarations: Array<{
        quarter: string;
        registrationSource: string | null;
        naturalPersons: Array<{ niss: string; lastName: string | null; workerRecords: Array<{ occupations: Array<{ startDate: string | null; services: unknown[] }> }> }>;
      }>;
    }>(sw.fx, reply, 'be.bcss.gateway.payload.DmfaPayload');
    const declaration = payload.employerDeclarations[0];
    expect(declaration?.registrationSource).toBeNull();
    expect(declaration?.naturalPersons[0]?.niss).toBe(SIMULATED.careWorkerIriscare);
    expect(declaration?.naturalPersons[0]?.lastName).toBeNull();
    expect(declaration?.naturalPersons[0]?.workerRecords[0]?.occupations[0]?.startDate).toBe('2019-04-01');
    expect(declaration?.naturalPersons[0]?.workerRecords[0]?.occupations[0]?.services).toEqual([]);
    await expectAudited(sw, reply, {
      event: 'REPLY_DELIVERED',
      requester: 'iriscare',
      deliberation: '19/104',
      deliberationVersion: 'v3',
      payload,
    });
    // The forwarding record already names what was asked and not granted.
    const forwarded = sw.audit.messages.map((m) => m.value).find((a) => a.ticket === reply.ticket && a.eventType === 'REQUEST_FORWARDED');
    expect(forwarded?.removedBlocks).toEqual(['dmfa.remuneration', 'dmfa.salary']);
  });

  it('ONSS asking P4Employer: 17/006 authorizes a sub-contractor of ONSS, and nobody through the switch', async () => {
    const reply = await sw.fx.ask('onss', {
      service: 'p4employer',
      subjectNiss: '',
      employer: { kind: 'ONSS', id: E.supermarket.onssNumber, category: null },
    });
    expectRefusal(reply, 'NOT_AUTHORIZED', '-300010');
    await expectAudited(sw, reply, { event: 'REQUEST_REFUSED', requester: 'onss', service: 'p4employer', subjectNiss: null, deliberation: null });
  });

  it('J.D.-Consult asking P4Employer (17/006): refused, the deliberation does not go through the switch', async () => {
    const record = sw.fx.requestRecord('jd-consult', {
      service: 'p4employer',
      subjectNiss: '',
      employer: { kind: 'ONSS', id: E.supermarket.onssNumber, category: null },
    });
    await sw.fx.send('jd-consult', record);
    const [reply] = (
      await sw.replies.waitFor((ms) => ms.some((m) => m.value?.requestId === record.requestId), 'the reply to J.D.-Consult')
    ).filter((m) => m.value?.requestId === record.requestId);
    expect(reply?.topic).toBe(sw.fx.topics.replies('jd-consult'));
    const value = reply?.value as ReplyRecord;
    expectRefusal(value, 'NOT_AUTHORIZED', '-300010');
    expect(value.message).toContain('17/006');
    expect(value.message).toMatch(/does not go through the switch/);
    await expectAudited(sw, value, { event: 'REQUEST_REFUSED', requester: 'jd-consult', service: 'p4employer', deliberation: null });
    expect(collectedReplies(sw).filter((m) => m.value.requestId === record.requestId)).toHaveLength(1);
  });

  it('every request of this file got exactly one reply and one outcome audit record', async () => {
    await expectEveryExchangeClosedOnce(sw);
  });
});
