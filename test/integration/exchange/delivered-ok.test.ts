import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReplyRecord } from '../../../src/contract/exchange-records.js';
import { invalidityList } from '../../../src/sources/invalidity-batch.js';
import { SIMULATED, SIMULATED_EMPLOYERS } from '../../../src/sources/synthetic-population.js';
import {
  decodePayload,
  expectAudited,
  expectEveryExchangeClosedOnce,
  period,
  plusYearsMonths,
  startSwitch,
  utcDay,
  type RunningSwitch,
} from './exchange-scenario.js';

const E = SIMULATED_EMPLOYERS;
const onss = (id: string | null) => ({ kind: 'ONSS' as const, id: id as string, category: null });

const VAPH_PURPOSE = 'vaph-personal-assistance-budget';
const IRISCARE_PURPOSE = 'iriscare-care-structure-financing';

interface DmfaPayload {
  niss: string;
  employerDeclarations: Array<{
    quarter: string;
    onssNumber: string;
    naturalPersons: Array<{
      lastName: string | null;
      workerRecords: Array<{
        employerCategory: string;
        occupations: Array<{
          services: unknown[];
          remunerations: unknown[];
          usingEmployer: { enterpriseNumber: string | null } | null;
        }>;
        contributions: unknown[];
      }>;
    }>;
    contributionsUnrelatedToNaturalPerson: unknown[];
  }>;
}

/** A delivered answer's times follow the exchange: read, then forwarded, then answered. */
function expectTimesInOrder(reply: ReplyRecord): void {
  expect(reply.forwardedAt).not.toBeNull();
  expect(reply.receivedAt).toBeLessThanOrEqual(reply.forwardedAt as number);
  expect(reply.forwardedAt as number).toBeLessThanOrEqual(reply.answeredAt);
}

describe('exchange: OK — data delivered, filtered to the authorization, the employer link and the period', () => {
  let sw: RunningSwitch;

  beforeAll(async () => {
    sw = await startSwitch({
      integrations: [
        // 10/012 §9: the assistant, for the budget holder's employment only.
        { institution: 'vaph', niss: SIMULATED.assistantOfVaph, capacity: 'pab-assistant', phase: 1, from: '2024-01-01', to: null, employer: onss(E.budgetHolder.onssNumber) },
        { institution: 'iriscare', niss: SIMULATED.careWorkerIriscare, capacity: 'care-worker', phase: 1, from: '2023-01-01', to: null, employer: onss(E.careHome.onssNumber) },
        // An interim worker followed through the agency that employs them (joint committee 322).
        { institution: 'iriscare', niss: SIMULATED.interimWorker, capacity: 'care-worker', phase: 1, from: '2023-01-01', to: null, employer: onss(E.interimAgency.onssNumber) },
        { institution: 'onva', niss: SIMULATED.deceased, capacity: 'inspection', phase: 1, from: '2023-01-01', to: null, employer: null },
      ],
    });
  }, 120_000);

  afterAll(async () => {
    await sw?.fx.closeAtOnce();
  }, 60_000);

  it('MAGDA for VAPH: DmfA of the assistant, the budget holder only, 2024', async () => {
    const reply = await sw.fx.ask('magda', {
      onBehalfOf: 'vaph',
      service: 'dmfa',
      subjectNiss: SIMULATED.assistantOfVaph,
      employer: { kind: 'ONSS', id: E.budgetHolder.onssNumber, category: null },
      period: { from: '2023-07-01', to: '2024-06-30' },
    });
    expect(reply.status).toBe('OK');
    expect(reply.bcssCode).toBeNull();
    expect(reply.service).toBe('dmfa');
    expect(reply.effectivePeriods).toEqual([{ from: '2024-01-01', to: '2024-06-30' }]);
    expect(reply.legalBasis).toEqual({ deliberation: '10/012', version: 'v1', purpose: VAPH_PURPOSE });
    // 10/012 §8 grants 11 DmfA blocks; these are the ones the assistant's declarations hold.
    expect(reply.deliveredBlocks).toEqual([
      'dmfa.employer-declaration',
      'dmfa.declaration-status',
      'dmfa.natural-person',
      'dmfa.worker-record',
      'dmfa.occupation',
      'dmfa.remuneration',
      'dmfa.worker-contribution',
    ]);
    // The source sent the services (90018) and the contributions not tied to a person; 10/012 grants neither.
    expect(reply.removedBlocks).toEqual(['dmfa.service', 'dmfa.contribution-unrelated-to-person']);
    // 10/012 sets no retention for the data themselves.
    expect(reply.retainUntil).toBeNull();
    expectTimesInOrder(reply);

    const payload = decodePayload<DmfaPayload>(sw.fx, reply, 'be.bcss.gateway.payload.DmfaPayload');
    // The supermarket's declarations and the neighbouring quarters the source over-delivered are gone.
    expect(payload.employerDeclarations.map((d) => [d.quarter, d.onssNumber])).toEqual([
      ['2024Q1', E.budgetHolder.onssNumber],
      ['2024Q2', E.budgetHolder.onssNumber],
    ]);
    await expectAudited(sw, reply, {
      event: 'REPLY_DELIVERED',
      requester: 'vaph',
      intermediary: 'magda',
      service: 'dmfa',
      source: 'onss',
      deliberation: '10/012',
      deliberationVersion: 'v1',
      purpose: VAPH_PURPOSE,
      subjectNiss: SIMULATED.assistantOfVaph,
      payload,
    });
  });

  it('MAGDA for VAPH: DIMONA of the assistant, the budget holder only, clipped to the integration', async () => {
    const reply = await sw.fx.ask('magda', {
      onBehalfOf: 'vaph',
      service: 'dimona',
      subjectNiss: SIMULATED.assistantOfVaph,
      employer: onss(E.budgetHolder.onssNumber),
      period: { from: '2023-06-01', to: '2024-12-31' },
    });
    expect(reply.status).toBe('OK');
    expect(reply.effectivePeriods).toEqual([period('2024-01-01', '2024-12-31')]);
    expect(reply.legalBasis).toEqual({ deliberation: '10/012', version: 'v1', purpose: VAPH_PURPOSE });
    // The budget holder's DIMONA has no using employer: only the blocks holding data are listed.
    expect(reply.deliveredBlocks).toEqual(['dimona.period', 'dimona.employer', 'dimona.worker', 'dimona.occupation']);
    expect(reply.removedBlocks).toEqual([]);
    expect(reply.retainUntil).toBeNull();
    expectTimesInOrder(reply);

    const payload = decodePayload<{ dimonaPeriods: Array<{ employer: { employerIdKind: string; employerIdNumber: string } }> }>(
      sw.fx,
      reply,
      'be.bcss.gateway.payload.DimonaPayload',
    );
    // The supermarket job (DIMONA by enterprise number, 2024-02 to 2025-06) overlaps the period but is another link.
    expect(payload.dimonaPeriods.map((p) => [p.employer.employerIdKind, p.employer.employerIdNumber])).toEqual([
      ['ONSS', E.budgetHolder.onssNumber],
    ]);
    await expectAudited(sw, reply, {
      event: 'REPLY_DELIVERED',
      requester: 'vaph',
      intermediary: 'magda',
      service: 'dimona',
      source: 'onss',
      deliberation: '10/012',
      deliberationVersion: 'v1',
      purpose: VAPH_PURPOSE,
      subjectNiss: SIMULATED.assistantOfVaph,
      payload,
    });
  });

  it('IRISCARE (19/104 v3): DmfA of the care worker with the services (90018), without remuneration; kept six months', async () => {
    const reply = await sw.fx.ask('iriscare', {
      service: 'dmfa',
      subjectNiss: SIMULATED.careWorkerIriscare,
      employer: onss(E.careHome.onssNumber),
      period: period('2024-01-01', '2024-12-31'),
    });
    expect(reply.status).toBe('OK');
    expect(reply.effectivePeriods).toEqual([period('2024-01-01', '2024-12-31')]);
    expect(reply.legalBasis).toEqual({ deliberation: '19/104', version: 'v3', purpose: IRISCARE_PURPOSE });
    expect(reply.deliveredBlocks).toEqual([
      'dmfa.employer-declaration',
      'dmfa.declaration-status',
      'dmfa.natural-person',
      'dmfa.worker-record',
      'dmfa.occupation',
      'dmfa.service',
    ]);
    // §7: not the remuneration, nor the contributions.
    expect(reply.removedBlocks).toEqual(['dmfa.remuneration', 'dmfa.worker-contribution', 'dmfa.contribution-unrelated-to-person']);
    // §10, §15: six months from receipt.
    expect(reply.retainUntil).toBe(plusYearsMonths(utcDay(reply.answeredAt), 0, 6));
    expectTimesInOrder(reply);

    const payload = decodePayload<DmfaPayload>(sw.fx, reply, 'be.bcss.gateway.payload.DmfaPayload');
    expect(payload.employerDeclarations.map((d) => d.quarter)).toEqual(['2024Q1', '2024Q2', '2024Q3', '2024Q4']);
    for (const declaration of payload.employerDeclarations) {
      expect(declaration.onssNumber).toBe(E.careHome.onssNumber);
      expect(declaration.contributionsUnrelatedToNaturalPerson).toEqual([]);
      for (const record of declaration.naturalPersons.flatMap((p) => p.workerRecords)) {
        expect(record.contributions).toEqual([]);
        for (const occupation of record.occupations) {
          expect(occupation.services.length).toBeGreaterThan(0);
          expect(occupation.remunerations).toEqual([]);
        }
      }
    }
    await expectAudited(sw, reply, {
      event: 'REPLY_DELIVERED',
      requester: 'iriscare',
      service: 'dmfa',
      source: 'onss',
      deliberation: '19/104',
      deliberationVersion: 'v3',
      purpose: IRISCARE_PURPOSE,
      subjectNiss: SIMULATED.careWorkerIriscare,
      payload,
    });
  });

  it('IRISCARE: DmfA of an interim worker through the agency and category 484 delivers the using employer (90107)', async () => {
    const reply = await sw.fx.ask('iriscare', {
      service: 'dmfa',
      subjectNiss: SIMULATED.interimWorker,
      employer: { kind: 'ONSS', id: E.interimAgency.onssNumber as string, category: '484' },
      period: period('2024-01-01', '2024-06-30'),
    });
    expect(reply.status).toBe('OK');
    expect(reply.effectivePeriods).toEqual([period('2024-01-01', '2024-06-30')]);
    expect(reply.deliveredBlocks).toEqual([
      'dmfa.employer-declaration',
      'dmfa.declaration-status',
      'dmfa.natural-person',
      'dmfa.worker-record',
      'dmfa.occupation',
      'dmfa.service',
      'dmfa.using-employer',
    ]);
    expect(reply.removedBlocks).toEqual(['dmfa.remuneration', 'dmfa.worker-contribution', 'dmfa.contribution-unrelated-to-person']);
    expectTimesInOrder(reply);

    const payload = decodePayload<DmfaPayload>(sw.fx, reply, 'be.bcss.gateway.payload.DmfaPayload');
    // 2023Q4 and 2024Q3 were over-delivered by the source; the brewery's own hiring starts only in 2024Q4.
    expect(payload.employerDeclarations.map((d) => [d.quarter, d.onssNumber])).toEqual([
      ['2024Q1', E.interimAgency.onssNumber],
      ['2024Q2', E.interimAgency.onssNumber],
    ]);
    const users = payload.employerDeclarations.flatMap((d) =>
      d.naturalPersons.flatMap((p) => p.workerRecords.flatMap((w) => w.occupations.map((o) => o.usingEmployer?.enterpriseNumber))),
    );
    expect(users).toEqual([E.brewery.enterpriseNumber, E.brewery.enterpriseNumber]);
    await expectAudited(sw, reply, {
      event: 'REPLY_DELIVERED',
      requester: 'iriscare',
      service: 'dmfa',
      deliberation: '19/104',
      deliberationVersion: 'v3',
      subjectNiss: SIMULATED.interimWorker,
      payload,
    });
  });

  it('ONVA inspection (19/010): identification of the deceased person, decease included; consultation only', async () => {
    const reply = await sw.fx.ask('onva', {
      service: 'identification',
      subjectNiss: SIMULATED.deceased,
      period: period('2024-01-01', '2024-12-31'),
    });
    expect(reply.status).toBe('OK');
    expect(reply.effectivePeriods).toEqual([period('2024-01-01', '2024-12-31')]);
    expect(reply.legalBasis).toEqual({ deliberation: '19/010', version: 'v1', purpose: 'onva-inspection-annual-holidays' });
    // Every register block holding data; the photo is granted (§8) but the register has none.
    expect(reply.deliveredBlocks).toEqual([
      'identification.register',
      'identification.name',
      'identification.birth',
      'identification.gender',
      'identification.nationality',
      'identification.residence',
      'identification.decease',
      'identification.civil-status',
    ]);
    expect(reply.removedBlocks).toEqual([]);
    // §37: DOLSIS displays, it does not store: the data may be kept the day they are received only.
    expect(reply.retainUntil).toBe(utcDay(reply.answeredAt));
    expectTimesInOrder(reply);

    const payload = decodePayload<{ niss: string; decease: { date: string; place: string } | null }>(
      sw.fx,
      reply,
      'be.bcss.gateway.payload.IdentificationPayload',
    );
    expect(payload.niss).toBe(SIMULATED.deceased);
    expect(payload.decease).toEqual({ date: '2024-08-17', place: 'Namur' });
    await expectAudited(sw, reply, {
      event: 'REPLY_DELIVERED',
      requester: 'onva',
      service: 'identification',
      source: 'bcss-registers',
      deliberation: '19/010',
      deliberationVersion: 'v1',
      purpose: 'onva-inspection-annual-holidays',
      subjectNiss: SIMULATED.deceased,
      payload,
    });
  });

  it('INAMI → ONSS (22/046): the quarterly invalidity list of 2025Q2, neighbouring quarters removed; kept three years', async () => {
    const reply = await sw.fx.ask('onss', {
      service: 'inami-invalidity-entries',
      subjectNiss: '',
      period: period('2025-04-01', '2025-06-30'),
    });
    expect(reply.status).toBe('OK');
    expect(reply.effectivePeriods).toEqual([period('2025-04-01', '2025-06-30')]);
    expect(reply.legalBasis).toEqual({
      deliberation: '22/046',
      version: 'v2',
      purpose: 'onss-invalidity-responsibilisation-contribution',
    });
    expect(reply.deliveredBlocks).toEqual([
      'inami-invalidity-entries.entry',
      'inami-invalidity-entries.person',
      'inami-invalidity-entries.incapacity',
    ]);
    expect(reply.removedBlocks).toEqual([]);
    // §6, §18: destroyed at the latest three years after receipt.
    expect(reply.retainUntil).toBe(plusYearsMonths(utcDay(reply.answeredAt), 3, 0));
    expectTimesInOrder(reply);

    type Entry = { niss: string; incapacity: { invalidityStartDate: string } | null };
    const payload = decodePayload<{ quarter: string; entries: Entry[] }>(
      sw.fx,
      reply,
      'be.bcss.gateway.payload.InamiInvalidityEntriesPayload',
    );
    expect(payload.quarter).toBe('2025Q2');
    // What the source sent: the quarter's 200 own entries and 10 of the neighbouring quarters (5 %).
    const sent = invalidityList('2025Q2', { entriesPerQuarter: 200 }).entries;
    const inQuarter = sent.filter((e) => e.incapacity.invalidityStartDate >= '2025-04-01' && e.incapacity.invalidityStartDate <= '2025-06-30');
    expect(sent).toHaveLength(210);
    expect(inQuarter).toHaveLength(200);
    expect(payload.entries).toHaveLength(200);
    expect(payload.entries.map((e) => e.niss).sort()).toEqual(inQuarter.map((e) => e.niss).sort());
    await expectAudited(sw, reply, {
      event: 'REPLY_DELIVERED',
      requester: 'onss',
      service: 'inami-invalidity-entries',
      source: 'inami',
      deliberation: '22/046',
      deliberationVersion: 'v2',
      purpose: 'onss-invalidity-responsibilisation-contribution',
      // A batch names nobody.
      subjectNiss: null,
      payload,
    });
  });

  it('every request of this file got exactly one reply and one outcome audit record', async () => {
    await expectEveryExchangeClosedOnce(sw);
  });
});
