import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIMULATED, SIMULATED_EMPLOYERS } from '../../../src/sources/synthetic-population.js';
import type { ReplyRecord } from '../../../src/contract/exchange-records.js';
import type { MessageProducer } from '../../../src/messaging/kafka-client.js';
import {
  answerAsSource,
  expectAudited,
  expectEveryExchangeClosedOnce,
  openTicket,
  period,
  startSwitch,
  type RunningSwitch,
} from './exchange-scenario.js';

const E = SIMULATED_EMPLOYERS;

/** SOURCE_ERROR is an answer after forwarding, with the switch's words only and no data. */
function expectSourceError(reply: ReplyRecord): void {
  expect({ status: reply.status, bcssCode: reply.bcssCode }).toEqual({ status: 'SOURCE_ERROR', bcssCode: null });
  expect(reply.forwardedAt).not.toBeNull();
  expect(reply.payload).toBeNull();
  expect(reply.retainUntil).toBeNull();
  expect(reply.deliveredBlocks).toEqual([]);
  expect(reply.removedBlocks).toEqual([]);
  // The source's own explanation is for operators, never passed on.
  expect(reply.message).not.toMatch(/simulated|quarter|does not serve|cannot be read/i);
}

describe('exchange: SOURCE_ERROR — the authentic source answered an error', () => {
  let sw: RunningSwitch;
  let producer: MessageProducer;

  beforeAll(async () => {
    sw = await startSwitch({
      integrations: [
        { institution: 'vaph', niss: SIMULATED.sourceFailure, capacity: 'pab-assistant', phase: 1, from: '2024-01-01', to: null, employer: { kind: 'ONSS', id: E.budgetHolder.onssNumber } },
        { institution: 'onva', niss: SIMULATED.sourceFailure, capacity: 'inspection', phase: 1, from: '2023-01-01', to: null, employer: null },
        { institution: 'onva', niss: SIMULATED.deceased, capacity: 'inspection', phase: 1, from: '2023-01-01', to: null, employer: null },
        // The simulated sources never answer about this person: the tests below answer in ONSS's place.
        { institution: 'onva', niss: SIMULATED.unanswered, capacity: 'inspection', phase: 1, from: '2023-01-01', to: null, employer: null },
      ],
    });
    producer = await sw.fx.client.producer();
  }, 120_000);

  afterAll(async () => {
    await producer?.disconnect();
    await sw?.fx.closeAtOnce();
  }, 60_000);

  it('MAGDA for VAPH: ONSS fails on the person’s DmfA', async () => {
    const reply = await sw.fx.ask('magda', {
      onBehalfOf: 'vaph',
      service: 'dmfa',
      subjectNiss: SIMULATED.sourceFailure,
      employer: { kind: 'ONSS', id: E.budgetHolder.onssNumber, category: null },
      period: period('2024-01-01', '2024-06-30'),
    });
    expectSourceError(reply);
    expect(reply.effectivePeriods).toEqual([period('2024-01-01', '2024-06-30')]);
    expect(reply.legalBasis).toEqual({ deliberation: '10/012', version: 'v1', purpose: 'vaph-personal-assistance-budget' });
    await expectAudited(sw, reply, {
      event: 'REPLY_DELIVERED',
      requester: 'vaph',
      intermediary: 'magda',
      service: 'dmfa',
      source: 'onss',
      deliberation: '10/012',
      subjectNiss: SIMULATED.sourceFailure,
    });
  });

  it('ONVA: the registers fail on the person’s identification', async () => {
    const reply = await sw.fx.ask('onva', { service: 'identification', subjectNiss: SIMULATED.sourceFailure, period: period('2024-01-01', '2024-12-31') });
    expectSourceError(reply);
    await expectAudited(sw, reply, { event: 'REPLY_DELIVERED', requester: 'onva', source: 'bcss-registers', deliberation: '19/010' });
  });

  it('ONVA: incapacity periods (19/010 §32), which the simulated INAMI does not serve', async () => {
    const reply = await sw.fx.ask('onva', { service: 'inami-incapacity', subjectNiss: SIMULATED.deceased, period: period('2024-01-01', '2024-06-30') });
    expectSourceError(reply);
    expect(reply.legalBasis?.deliberation).toBe('19/010');
    await expectAudited(sw, reply, { event: 'REPLY_DELIVERED', requester: 'onva', service: 'inami-incapacity', source: 'inami', deliberation: '19/010' });
  });

  describe('an OK from the source that the switch cannot read is a SOURCE_ERROR, never passed on unfiltered', () => {
    const dmfaOfUnanswered = (employerDeclarations: unknown[] = []) =>
      sw.fx.codec.encode('be.bcss.gateway.payload.DmfaPayload', { niss: SIMULATED.unanswered, employerDeclarations });
    const cases: Array<[string, () => Buffer | null]> = [
      ['no payload at all', () => null],
      ['a payload under a fingerprint no known schema has (a newer payload version)', () =>
        Buffer.concat([dmfaOfUnanswered().subarray(0, 2), Buffer.from('0123456789abcdef', 'hex'), dmfaOfUnanswered().subarray(10)])],
      ['another service’s payload (identification for a DmfA request)', () =>
        sw.fx.codec.encode('be.bcss.gateway.payload.IdentificationPayload', { niss: SIMULATED.unanswered, register: null, name: null, birth: null, gender: null, nationalities: [], mainResidence: null, decease: null, civilStatus: null, photo: null })],
      ['a DmfA payload cut short', () => {
        const whole = dmfaOfUnanswered();
        return whole.subarray(0, whole.length - 1);
      }],
    ];
    for (const [name, payload] of cases) {
      it(name, async () => {
        const record = sw.fx.requestRecord('onva', { service: 'dmfa', subjectNiss: SIMULATED.unanswered, period: period('2024-01-01', '2024-06-30') });
        await sw.fx.send('onva', record);
        const ticket = await openTicket(sw, 'dmfa', SIMULATED.unanswered);
        await answerAsSource(sw, producer, 'onss', SIMULATED.unanswered, { ticket, status: 'OK', newNiss: null, errorMessage: null, payload: payload() });
        const [reply] = await sw.replies
          .waitFor((ms) => ms.some((m) => m.value?.requestId === record.requestId), `the reply to ${record.requestId}`)
          .then((ms) => ms.filter((m) => m.value?.requestId === record.requestId).map((m) => m.value as ReplyRecord));
        expect(reply?.ticket).toBe(ticket);
        expectSourceError(reply as ReplyRecord);
        await expectAudited(sw, reply as ReplyRecord, {
          event: 'REPLY_DELIVERED',
          requester: 'onva',
          service: 'dmfa',
          source: 'onss',
          deliberation: '19/010',
          subjectNiss: SIMULATED.unanswered,
        });
      });
    }
  });

  it('every request of this file got exactly one reply and one outcome audit record', async () => {
    await expectEveryExchangeClosedOnce(sw);
  });
});
