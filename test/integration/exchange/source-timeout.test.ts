import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditRecordValue } from '../../../src/contract/audit-records.js';
import type { ReplyRecord, SourceReplyRecord } from '../../../src/contract/exchange-records.js';
import type { MessageProducer } from '../../../src/messaging/kafka-client.js';
import { SIMULATED, SIMULATED_EMPLOYERS } from '../../../src/sources/synthetic-population.js';
import { waitFor } from '../../support/kafka-helpers.js';
import {
  answerAsSource,
  collectedReplies,
  expectAudited,
  expectEveryExchangeClosedOnce,
  expectNoPayloadValue,
  openTicket,
  period,
  startSwitch,
  type RunningSwitch,
} from './exchange-scenario.js';

const E = SIMULATED_EMPLOYERS;
const SOURCE_TIMEOUT_MS = 1_500;

const MAGDA_DMFA_UNANSWERED = {
  onBehalfOf: 'vaph',
  service: 'dmfa',
  subjectNiss: SIMULATED.unanswered,
  employer: { kind: 'ONSS' as const, id: E.budgetHolder.onssNumber, category: null },
  period: period('2024-01-01', '2024-06-30'),
};

/** SOURCE_TIMEOUT is the switch's answer at the deadline: forwarded, no data, and not before its time. */
function expectTimedOut(reply: ReplyRecord): void {
  expect({ status: reply.status, bcssCode: reply.bcssCode }).toEqual({ status: 'SOURCE_TIMEOUT', bcssCode: null });
  expect(reply.forwardedAt).not.toBeNull();
  expect(reply.answeredAt - (reply.forwardedAt as number)).toBeGreaterThanOrEqual(SOURCE_TIMEOUT_MS);
  expect(reply.payload).toBeNull();
  expect(reply.retainUntil).toBeNull();
  expect(reply.deliveredBlocks).toEqual([]);
  expect(reply.removedBlocks).toEqual([]);
}

describe('exchange: SOURCE_TIMEOUT — the source does not answer in time; a late answer changes nothing', () => {
  let sw: RunningSwitch;
  let producer: MessageProducer;

  beforeAll(async () => {
    sw = await startSwitch({
      sourceTimeoutMs: SOURCE_TIMEOUT_MS,
      integrations: [
        { institution: 'vaph', niss: SIMULATED.unanswered, capacity: 'pab-assistant', phase: 1, from: '2024-01-01', to: null, employer: { kind: 'ONSS', id: E.budgetHolder.onssNumber } },
        { institution: 'onva', niss: SIMULATED.unanswered, capacity: 'inspection', phase: 1, from: '2023-01-01', to: null, employer: null },
        { institution: 'onva', niss: SIMULATED.deceased, capacity: 'inspection', phase: 1, from: '2023-01-01', to: null, employer: null },
      ],
    });
    // Plays the source answering too late.
    producer = await sw.fx.client.producer();
  }, 120_000);

  afterAll(async () => {
    await producer?.disconnect();
    await sw?.fx.closeAtOnce();
  }, 60_000);

  function lateRecords(ticket: string): AuditRecordValue[] {
    return sw.audit.messages.map((m) => m.value).filter((a) => a.eventType === 'LATE_SOURCE_REPLY' && a.ticket === ticket);
  }

  async function answerAsOnss(ticket: string, reply: Omit<SourceReplyRecord, 'ticket' | 'answeredAt'>): Promise<void> {
    await answerAsSource(sw, producer, 'onss', SIMULATED.unanswered, { ticket, ...reply });
  }

  let timedOut: ReplyRecord;

  it('MAGDA for VAPH: ONSS never answers; the pending exchange is held until the deadline, then answered and forgotten', async () => {
    const record = sw.fx.requestRecord('magda', MAGDA_DMFA_UNANSWERED);
    await sw.fx.send('magda', record);
    await waitFor(() => sw.fx.pending.size(), (n) => n === 1, { timeoutMs: SOURCE_TIMEOUT_MS, what: 'the pending exchange' });
    timedOut = (
      await waitFor(() => sw.fx.replies.get(record.requestId) ?? [], (l) => l.length > 0, { timeoutMs: 15_000, what: 'the timeout' })
    )[0] as ReplyRecord;
    expectTimedOut(timedOut);
    expect(timedOut.effectivePeriods).toEqual([period('2024-01-01', '2024-06-30')]);
    expect(timedOut.legalBasis).toEqual({ deliberation: '10/012', version: 'v1', purpose: 'vaph-personal-assistance-budget' });
    await waitFor(() => sw.fx.pending.size(), (n) => n === 0, { timeoutMs: 5_000, what: 'the pending exchange to be forgotten' });
    await expectAudited(sw, timedOut, {
      event: 'SOURCE_TIMEOUT',
      requester: 'vaph',
      intermediary: 'magda',
      service: 'dmfa',
      source: 'onss',
      deliberation: '10/012',
      deliberationVersion: 'v1',
      subjectNiss: SIMULATED.unanswered,
    });
  });

  it('ONSS answering after the deadline: no second reply, a LATE_SOURCE_REPLY audit record without the data', async () => {
    const payload = sw.fx.codec.encode('be.bcss.gateway.payload.DmfaPayload', { niss: SIMULATED.unanswered, employerDeclarations: [] });
    await answerAsOnss(timedOut.ticket, { status: 'OK', newNiss: null, errorMessage: null, payload });
    await sw.audit.waitFor(() => lateRecords(timedOut.ticket).length > 0, 'the late answer’s audit record');
    const [late] = lateRecords(timedOut.ticket);
    expect(late).toMatchObject({ eventType: 'LATE_SOURCE_REPLY', ticket: timedOut.ticket, source: 'onss', outcome: 'OK' });
    expectNoPayloadValue(late as AuditRecordValue, { niss: SIMULATED.unanswered });
    // A wrongly delivered second reply would be read by now.
    await sw.fx.settled();
    expect(sw.fx.replies.get(timedOut.requestId)).toHaveLength(1);
    expect(collectedReplies(sw).filter((m) => m.value.ticket === timedOut.ticket)).toHaveLength(1);
    expect(await sw.fx.pending.size()).toBe(0);
  });

  it('a second late answer, and an answer for a ticket the switch never issued, are audited and dropped alike', async () => {
    await answerAsOnss(timedOut.ticket, { status: 'NO_DATA', newNiss: null, errorMessage: null, payload: null });
    await answerAsOnss('T-never-issued', { status: 'ERROR', newNiss: null, errorMessage: 'no such request', payload: null });
    await sw.audit.waitFor(
      () => lateRecords(timedOut.ticket).length === 2 && lateRecords('T-never-issued').length === 1,
      'both late answers’ audit records',
    );
    expect(lateRecords(timedOut.ticket).map((a) => a.outcome)).toEqual(['OK', 'NO_DATA']);
    expect(lateRecords('T-never-issued')[0]).toMatchObject({ source: 'onss', outcome: 'ERROR', requester: null });
    await sw.fx.settled();
    expect(collectedReplies(sw).filter((m) => m.value.ticket === timedOut.ticket || m.value.ticket === 'T-never-issued')).toHaveLength(1);
  });

  it('two sources silent at once (ONSS, the registers) and one healthy exchange: each answered once, on its own terms', async () => {
    const [dmfa, identification, healthy] = await Promise.all([
      sw.fx.ask('magda', MAGDA_DMFA_UNANSWERED),
      sw.fx.ask('onva', { service: 'identification', subjectNiss: SIMULATED.unanswered, period: period('2024-01-01', '2024-12-31') }),
      sw.fx.ask('onva', { service: 'identification', subjectNiss: SIMULATED.deceased, period: period('2024-01-01', '2024-12-31') }),
    ]);
    expectTimedOut(dmfa);
    expectTimedOut(identification);
    expect(healthy.status).toBe('OK');
    expect(healthy.answeredAt - (healthy.forwardedAt as number)).toBeLessThan(SOURCE_TIMEOUT_MS);
    await expectAudited(sw, dmfa, { event: 'SOURCE_TIMEOUT', requester: 'vaph', intermediary: 'magda', source: 'onss', deliberation: '10/012' });
    await expectAudited(sw, identification, { event: 'SOURCE_TIMEOUT', requester: 'onva', source: 'bcss-registers', deliberation: '19/010' });
    await expectAudited(sw, healthy, { event: 'REPLY_DELIVERED', requester: 'onva', source: 'bcss-registers', deliberation: '19/010' });
  });

  it('another source answering a pending exchange is not taken for its source: dead-lettered, audited, the exchange still times out', async () => {
    const record = sw.fx.requestRecord('onva', { service: 'identification', subjectNiss: SIMULATED.unanswered, period: period('2024-01-01', '2024-12-31') });
    await sw.fx.send('onva', record);
    const ticket = await openTicket(sw, 'identification', SIMULATED.unanswered, SOURCE_TIMEOUT_MS);
    const payload = sw.fx.codec.encode('be.bcss.gateway.payload.DmfaPayload', { niss: SIMULATED.unanswered, employerDeclarations: [] });
    await answerAsOnss(ticket, { status: 'OK', newNiss: null, errorMessage: null, payload });

    const reply = (
      await waitFor(() => sw.fx.replies.get(record.requestId) ?? [], (l) => l.length > 0, { timeoutMs: 15_000, what: 'the timeout' })
    )[0] as ReplyRecord;
    expect(reply.ticket).toBe(ticket);
    expectTimedOut(reply);
    await expectAudited(sw, reply, { event: 'SOURCE_TIMEOUT', requester: 'onva', source: 'bcss-registers', deliberation: '19/010' });
    const dead = await sw.deadLetters.waitFor((ms) => ms.some((m) => m.value.reasonCode === 'WRONG_SOURCE'), 'the impostor’s dead letter');
    expect(dead.filter((m) => m.value.reasonCode === 'WRONG_SOURCE').map((m) => m.value.originTopic)).toEqual([sw.fx.topics.sourceReplies('onss')]);
    expect(lateRecords(ticket)).toMatchObject([{ source: 'onss', outcome: 'OK' }]);
  });

  it('every request of this file got exactly one reply and one outcome audit record', async () => {
    await expectEveryExchangeClosedOnce(sw);
  });
});
