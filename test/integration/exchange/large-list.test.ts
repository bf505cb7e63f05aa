/**
 * A 22/046 quarterly list at its real size goes through as the switch creates its topics. The switch
 * carries a whole answer in one record: INAMI's list of a quarter (about 70,000 persons, 27 B each) is
 * past Kafka's default `max.message.bytes` of 1 MiB from about 38,000 entries, where the broker refuses
 * the source's answer and, raised there only, the reply to ONSS — the list was never delivered. The
 * topics carrying answers take 16 MiB (`ANSWER_MAX_MESSAGE_BYTES`, src/gateway/topology.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReplyRecord } from '../../../src/contract/exchange-records.js';
import { invalidityList } from '../../../src/sources/invalidity-batch.js';
import { decodePayload, expectEveryExchangeClosedOnce, period, startSwitch, type RunningSwitch } from './exchange-scenario.js';

const SERVICE = 'inami-invalidity-entries';
const RECORD_NAME = 'be.bcss.gateway.payload.InamiInvalidityEntriesPayload';
const QUARTER = '2025Q2';
// Well past 1 MiB for the filtered reply too; a whole quarter's 70,000 is measured by bench/bulk-exchange.ts.
const ENTRIES = 45_000;

describe('a quarterly list larger than 1 MiB is delivered whole', () => {
  let sw: RunningSwitch;
  let reply: ReplyRecord;

  beforeAll(async () => {
    sw = await startSwitch({ invalidityEntriesPerQuarter: ENTRIES, sourceTimeoutMs: 60_000 });
    reply = await sw.fx.ask('onss', { service: SERVICE, subjectNiss: '', period: period('2025-04-01', '2025-06-30') });
  }, 240_000);

  afterAll(async () => {
    await sw?.fx.closeAtOnce();
  }, 60_000);

  it('ONSS receives the whole quarter in one reply of more than 1 MiB', () => {
    expect(reply.status, reply.message).toBe('OK');
    expect(reply.payload?.length ?? 0).toBeGreaterThan(1024 * 1024);
    const payload = decodePayload<{ quarter: string; entries: ReadonlyArray<{ niss: string }> }>(sw.fx, reply, RECORD_NAME);
    expect(payload.quarter).toBe(QUARTER);
    // Exactly the quarter's entries the source sent: its neighbouring quarters' are filtered out.
    const sent = invalidityList(QUARTER, { entriesPerQuarter: ENTRIES }).entries;
    expect(sent.length).toBeGreaterThan(ENTRIES);
    expect(payload.entries).toHaveLength(ENTRIES);
    expect(new Set(payload.entries.map((e) => e.niss)).size).toBe(ENTRIES);
  });

  it('every person named has their audit record, and the exchange closed once', async () => {
    await sw.audit.waitFor(
      () => sw.audit.messages.filter((m) => m.value.eventType === 'LIST_ENTRY_DELIVERED' && m.value.ticket === reply.ticket).length >= ENTRIES,
      `the ${ENTRIES} list entries' audit records`,
    );
    await sw.fx.settled();
    expect(sw.audit.messages.filter((m) => m.value.eventType === 'LIST_ENTRY_DELIVERED' && m.value.ticket === reply.ticket)).toHaveLength(ENTRIES);
    await expectEveryExchangeClosedOnce(sw);
  }, 120_000);
});
