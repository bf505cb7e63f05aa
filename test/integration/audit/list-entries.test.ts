/**
 * A list names many persons (22/046: INAMI's quarterly list of employees entering invalidity, asked by
 * ONSS), and each of them must be findable in the audit trail by their NISS (10/012 §23: about whom).
 * On a whole switch of its own: one quarterly list asked, its reply decoded, and the trail holds exactly
 * one LIST_ENTRY_DELIVERED record per entry delivered — the entry's NISS as subject, the list's ticket,
 * keyed by that NISS — committed with the list; `bcss audit search` for one person of the list finds it,
 * and nobody the filter removed from the list is recorded as named in it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { searchAudit } from '../../../src/audit/audit-search.js';
import type { AuditRecordValue } from '../../../src/contract/audit-records.js';
import type { ReplyRecord } from '../../../src/contract/exchange-records.js';
import { invalidityList } from '../../../src/sources/invalidity-batch.js';
import type { CollectedMessage } from '../../support/exchange-fixture.js';
import {
  decodePayload,
  expectAudited,
  expectEveryExchangeClosedOnce,
  expectNoPayloadValue,
  period,
  startSwitch,
  type RunningSwitch,
} from '../exchange/exchange-scenario.js';

const SERVICE = 'inami-invalidity-entries';
const RECORD_NAME = 'be.bcss.gateway.payload.InamiInvalidityEntriesPayload';
const Q2 = period('2025-04-01', '2025-06-30');

interface Entry {
  readonly niss: string;
  readonly person: { readonly birthDate: string } | null;
  readonly incapacity: { readonly primaryIncapacityStartDate: string; readonly invalidityStartDate: string } | null;
}

interface ListPayload {
  readonly quarter: string;
  readonly listReference: string;
  readonly entries: readonly Entry[];
}

describe('audit: one LIST_ENTRY_DELIVERED record per person named in a delivered list', () => {
  let sw: RunningSwitch;
  let reply: ReplyRecord;
  let payload: ListPayload;
  let outcome: AuditRecordValue;

  const entriesOf = (ticket: string): Array<CollectedMessage<AuditRecordValue>> =>
    sw.audit.messages.filter((m) => m.value.eventType === 'LIST_ENTRY_DELIVERED' && m.value.ticket === ticket);

  beforeAll(async () => {
    sw = await startSwitch();
    reply = await sw.fx.ask('onss', { service: SERVICE, subjectNiss: '', period: Q2 });
    expect(reply.status).toBe('OK');
    expect(reply.legalBasis).toMatchObject({ deliberation: '22/046' });
    payload = decodePayload<ListPayload>(sw.fx, reply, RECORD_NAME);
    outcome = await expectAudited(sw, reply, {
      event: 'REPLY_DELIVERED',
      requester: 'onss',
      service: SERVICE,
      source: 'inami',
      deliberation: '22/046',
      // The list's own outcome record still names nobody: the persons have theirs.
      subjectNiss: null,
      payload,
    });
    await sw.audit.waitFor(() => entriesOf(reply.ticket).length >= payload.entries.length, `the list entries' audit records of ${reply.ticket}`);
  }, 180_000);

  afterAll(async () => {
    await sw?.fx.closeAtOnce();
  }, 60_000);

  it('the list delivered holds the quarter\'s entries, each a distinct person', () => {
    expect(payload.quarter).toBe('2025Q2');
    expect(payload.entries).toHaveLength(200);
    expect(new Set(payload.entries.map((e) => e.niss)).size).toBe(payload.entries.length);
  });

  it('exactly one record per entry of the list, with the entry\'s NISS as subject and the list\'s ticket', async () => {
    // A duplicate would be read by now.
    await sw.fx.settled();
    const records = entriesOf(reply.ticket).map((m) => m.value);
    expect(records).toHaveLength(payload.entries.length);
    expect(records.map((r) => r.subjectNiss).sort()).toEqual(payload.entries.map((e) => e.niss).sort());
    // And no such record under any other ticket: one list was asked.
    expect(sw.audit.messages.filter((m) => m.value.eventType === 'LIST_ENTRY_DELIVERED' && m.value.ticket !== reply.ticket)).toEqual([]);
  });

  it('each names who received the list, under which deliberation, and no value of the entry', () => {
    for (const { value: record } of entriesOf(reply.ticket)) {
      expect(record).toMatchObject({
        eventType: 'LIST_ENTRY_DELIVERED',
        ticket: reply.ticket,
        at: outcome.at,
        requester: 'onss',
        intermediary: null,
        source: 'inami',
        service: SERVICE,
        deliberation: '22/046',
        deliberationVersion: reply.legalBasis?.version,
        purpose: reply.legalBasis?.purpose,
        employer: null,
        effectivePeriods: reply.effectivePeriods,
        deliveredBlocks: reply.deliveredBlocks,
        removedBlocks: [],
        removedFields: [],
        outcome: 'OK',
        bcssCode: null,
      });
      const entry = payload.entries.find((e) => e.niss === record.subjectNiss);
      expect(entry).toBeDefined();
      // The person's birth date and incapacity dates stay in the list, not in the trail.
      expectNoPayloadValue(record, entry);
    }
  });

  it('each is keyed by the person, as every record about a person is (their partition for the search)', () => {
    for (const message of entriesOf(reply.ticket)) {
      expect(message.key).toBe(message.value.subjectNiss);
      expect(message.headers).toMatchObject({ type: 'audit', event: 'LIST_ENTRY_DELIVERED', ticket: reply.ticket });
    }
  });

  it('committed with the list: readable, all of them, as soon as the list is', async () => {
    // The reply is committed; reading the audit topic to its end now finds every entry's record.
    const trail = await sw.fx.readAudit();
    const named = trail.filter((r) => r.eventType === 'LIST_ENTRY_DELIVERED' && r.ticket === reply.ticket);
    expect(named).toHaveLength(payload.entries.length);
  });

  it('bcss audit search for one person of the list finds the list that named them', async () => {
    const person = payload.entries[Math.floor(payload.entries.length / 2)] as Entry;
    const result = await searchAudit({ client: sw.fx.client, codec: sw.fx.codec, topics: sw.fx.topics, niss: person.niss, principal: 'admin' });
    expect(result.niss).toBe(person.niss);
    expect(result.undecodable).toEqual([]);
    // The person was never asked about on their own: the list is all the trail says of them.
    expect(result.records.map((r) => `${r.event} ${r.ticket}`)).toEqual([`LIST_ENTRY_DELIVERED ${reply.ticket}`]);
    expect(result.records[0]).toMatchObject({
      subjectNiss: person.niss,
      requester: 'onss',
      source: 'inami',
      service: SERVICE,
      deliberation: '22/046',
      purpose: reply.legalBasis?.purpose,
      outcome: 'OK',
    });
  });

  it('a person the source sent but the period filter removed from the list is not recorded as named in it', async () => {
    const sent = invalidityList('2025Q2', { entriesPerQuarter: 200 }).entries;
    const delivered = new Set(payload.entries.map((e) => e.niss));
    const removed = sent.filter((e) => !delivered.has(e.niss));
    expect(removed.length).toBeGreaterThan(0);
    const named = new Set(entriesOf(reply.ticket).map((m) => m.value.subjectNiss));
    expect(removed.filter((e) => named.has(e.niss))).toEqual([]);
    const person = removed[0] as (typeof removed)[number];
    const result = await searchAudit({ client: sw.fx.client, codec: sw.fx.codec, topics: sw.fx.topics, niss: person.niss, principal: 'admin' });
    expect(result.records).toEqual([]);
  });

  it('the exchange itself closed once: one reply, one outcome record', async () => {
    await expectEveryExchangeClosedOnce(sw);
  });
});
