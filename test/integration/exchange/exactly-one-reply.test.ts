import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RequestRecord } from '../../../src/contract/exchange-records.js';
import { SIMULATED, SIMULATED_EMPLOYERS } from '../../../src/sources/synthetic-population.js';
import { collectedReplies, OUTCOME_EVENTS, period, startSwitch, type RunningSwitch } from './exchange-scenario.js';

const E = SIMULATED_EMPLOYERS;
const BUDGET_HOLDER = { kind: 'ONSS' as const, id: E.budgetHolder.onssNumber, category: null };
const CARE_HOME = { kind: 'ONSS' as const, id: E.careHome.onssNumber, category: null };
const Y2024 = period('2024-01-01', '2024-12-31');

/** One kind of request: who sends it, what it says (or raw bytes), and the one status it must get. */
interface Kind {
  readonly name: string;
  readonly sender: string;
  readonly fields?: Partial<RequestRecord>;
  readonly requester?: string;
  readonly bytes?: Buffer;
  readonly expected: string;
}

const KINDS: readonly Kind[] = [
  { name: 'DmfA via MAGDA', sender: 'magda', fields: { onBehalfOf: 'vaph', service: 'dmfa', subjectNiss: SIMULATED.assistantOfVaph, employer: BUDGET_HOLDER, period: Y2024 }, expected: 'OK' },
  { name: 'DIMONA via MAGDA', sender: 'magda', fields: { onBehalfOf: 'vaph', service: 'dimona', subjectNiss: SIMULATED.assistantOfVaph, employer: BUDGET_HOLDER, period: Y2024 }, expected: 'OK' },
  { name: 'IRISCARE DmfA', sender: 'iriscare', fields: { service: 'dmfa', subjectNiss: SIMULATED.careWorkerIriscare, employer: CARE_HOME, period: Y2024 }, expected: 'OK' },
  { name: 'ONVA identification', sender: 'onva', fields: { service: 'identification', subjectNiss: SIMULATED.deceased, period: Y2024 }, expected: 'OK' },
  { name: 'invalidity list', sender: 'onss', fields: { service: 'inami-invalidity-entries', subjectNiss: '', period: period('2025-04-01', '2025-06-30') }, expected: 'OK' },
  { name: 'never employed', sender: 'onva', fields: { service: 'dmfa', subjectNiss: SIMULATED.neverEmployed, period: Y2024 }, expected: 'NO_DATA' },
  { name: 'replaced BIS', sender: 'onva', fields: { service: 'identification', subjectNiss: SIMULATED.replacedBis, period: Y2024 }, expected: 'NISS_REPLACED' },
  { name: 'failing source', sender: 'onva', fields: { service: 'dmfa', subjectNiss: SIMULATED.sourceFailure, period: Y2024 }, expected: 'SOURCE_ERROR' },
  { name: 'silent source', sender: 'magda', fields: { onBehalfOf: 'vaph', service: 'dmfa', subjectNiss: SIMULATED.unanswered, employer: BUDGET_HOLDER, period: Y2024 }, expected: 'SOURCE_TIMEOUT' },
  { name: 'VAPH direct', sender: 'vaph', fields: { service: 'dmfa', subjectNiss: SIMULATED.assistantOfVaph, employer: BUDGET_HOLDER, period: Y2024 }, expected: 'NOT_AUTHORIZED' },
  { name: 'old version', sender: 'iriscare', fields: { service: 'dmfa', purpose: '19/104@v1', subjectNiss: SIMULATED.careWorkerIriscare, employer: CARE_HOME, period: Y2024 }, expected: 'AUTHORIZATION_NOT_IN_FORCE' },
  { name: 'not integrated', sender: 'iriscare', fields: { service: 'dmfa', subjectNiss: SIMULATED.assistantOfVaph, employer: CARE_HOME, period: Y2024 }, expected: 'NOT_INTEGRATED' },
  { name: 'before integration', sender: 'magda', fields: { onBehalfOf: 'vaph', service: 'dmfa', subjectNiss: SIMULATED.assistantOfVaph, employer: BUDGET_HOLDER, period: period('2023-01-01', '2023-12-31') }, expected: 'NOT_INTEGRATED_FOR_PERIOD' },
  { name: 'other employer', sender: 'magda', fields: { onBehalfOf: 'vaph', service: 'dmfa', subjectNiss: SIMULATED.assistantOfVaph, employer: { kind: 'ENTERPRISE', id: E.supermarket.enterpriseNumber, category: null }, period: Y2024 }, expected: 'EMPLOYER_NOT_INTEGRATED' },
  { name: 'bad NISS', sender: 'onva', fields: { service: 'identification', subjectNiss: '41093008339', period: Y2024 }, expected: 'INVALID_NISS' },
  { name: 'bad employer', sender: 'iriscare', fields: { service: 'dmfa', subjectNiss: SIMULATED.careWorkerIriscare, employer: { kind: 'ONSS', id: '120450041', category: null }, period: Y2024 }, expected: 'INVALID_EMPLOYER_ID' },
  { name: 'bad period', sender: 'iriscare', fields: { service: 'dmfa', subjectNiss: SIMULATED.careWorkerIriscare, employer: CARE_HOME, period: period('2024-12-31', '2024-01-01') }, expected: 'INVALID_PERIOD' },
  { name: 'unknown service', sender: 'onva', fields: { service: 'pension-rights', subjectNiss: SIMULATED.deceased, period: Y2024 }, expected: 'UNKNOWN_SERVICE' },
  { name: 'false requester', sender: 'vaph', requester: 'iriscare', fields: { service: 'dmfa', subjectNiss: SIMULATED.careWorkerIriscare, employer: CARE_HOME, period: Y2024 }, expected: 'SENDER_MISMATCH' },
  { name: 'garbage', sender: 'iriscare', bytes: Buffer.from('not an Avro single-object message', 'utf8'), expected: 'INVALID_MESSAGE' },
];

const PER_KIND = 15;

/** A fixed shuffle (no Math.random): kinds interleaved, the same order on every run. */
function interleaved(): Kind[] {
  const all = Array.from({ length: PER_KIND }, () => KINDS).flat();
  let state = 0x2545f491;
  for (let i = all.length - 1; i > 0; i--) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    const j = state % (i + 1);
    [all[i], all[j]] = [all[j] as Kind, all[i] as Kind];
  }
  return all;
}

describe('exchange: a mixed stream of every kind of request gets exactly one reply each, and as many outcome audit records', () => {
  let sw: RunningSwitch;

  beforeAll(async () => {
    sw = await startSwitch({
      // Long enough for 300 healthy exchanges to be answered by their sources, short enough for the file.
      sourceTimeoutMs: 5_000,
      integrations: [
        { institution: 'vaph', niss: SIMULATED.assistantOfVaph, capacity: 'pab-assistant', phase: 1, from: '2024-01-01', to: null, employer: { kind: 'ONSS', id: E.budgetHolder.onssNumber } },
        { institution: 'vaph', niss: SIMULATED.unanswered, capacity: 'pab-assistant', phase: 1, from: '2024-01-01', to: null, employer: { kind: 'ONSS', id: E.budgetHolder.onssNumber } },
        { institution: 'iriscare', niss: SIMULATED.careWorkerIriscare, capacity: 'care-worker', phase: 1, from: '2023-01-01', to: null, employer: { kind: 'ONSS', id: E.careHome.onssNumber } },
        { institution: 'onva', niss: SIMULATED.deceased, capacity: 'inspection', phase: 1, from: '2023-01-01', to: null, employer: null },
        { institution: 'onva', niss: SIMULATED.neverEmployed, capacity: 'inspection', phase: 1, from: '2023-01-01', to: null, employer: null },
        { institution: 'onva', niss: SIMULATED.replacedBis, capacity: 'inspection', phase: 1, from: '2023-01-01', to: null, employer: null },
        { institution: 'onva', niss: SIMULATED.sourceFailure, capacity: 'inspection', phase: 1, from: '2023-01-01', to: null, employer: null },
      ],
    });
  }, 120_000);

  afterAll(async () => {
    await sw?.fx.closeAtOnce();
  }, 60_000);

  it(`${KINDS.length * PER_KIND} requests of ${KINDS.length} kinds, sent at once`, async () => {
    const stream = interleaved();
    // What each request must get, by requestId (records) or by Kafka key (raw bytes have no requestId).
    const expectedById = new Map<string, Kind>();
    const expectedByKey = new Map<string, Kind>();
    const sends: Array<Promise<void>> = [];
    for (const kind of stream) {
      if (kind.bytes) {
        const key = `raw-${randomUUID()}`;
        expectedByKey.set(key, kind);
        sends.push(sw.fx.send(kind.sender, kind.bytes, key));
      } else {
        const record = sw.fx.requestRecord(kind.requester ?? kind.sender, kind.fields ?? {});
        expectedById.set(record.requestId, kind);
        sends.push(sw.fx.send(kind.sender, record));
      }
    }
    await Promise.all(sends);
    const total = stream.length;
    await sw.replies.waitFor((ms) => ms.filter((m) => m.value !== null).length >= total, `${total} replies`, 45_000);
    // Any duplicate would be read by now.
    await sw.fx.settled();

    const replies = collectedReplies(sw);
    expect(replies).toHaveLength(total);

    // Exactly one reply per request, with the status its kind must get, on the sender's answer topic: its
    // replies topic, or ONVA's consultations topic (19/010 §37: it asks through DOLSIS).
    const seen = new Map<string, number>();
    const wrong: string[] = [];
    for (const { key, topic, value } of replies) {
      const id = value.requestId !== '' ? value.requestId : `key:${key}`;
      seen.set(id, (seen.get(id) ?? 0) + 1);
      const kind = value.requestId !== '' ? expectedById.get(value.requestId) : expectedByKey.get(key ?? '');
      if (kind === undefined) wrong.push(`unexpected reply ${id}`);
      else if (value.status !== kind.expected || topic !== sw.fx.repliesTopic(kind.sender)) {
        wrong.push(`${kind.name}: ${value.status} on ${topic}`);
      }
    }
    expect(wrong).toEqual([]);
    expect(seen.size).toBe(total);
    expect([...seen.values()].every((n) => n === 1)).toBe(true);

    // As many outcome audit records as replies, ticket for ticket and outcome for outcome.
    const audit = sw.audit.messages.map((m) => m.value);
    const outcomes = audit.filter((a) => OUTCOME_EVENTS.includes(a.eventType));
    expect(outcomes).toHaveLength(total);
    const outcomeByTicket = new Map(outcomes.map((a) => [a.ticket, a]));
    expect(outcomeByTicket.size).toBe(total);
    for (const { value } of replies) {
      const record = outcomeByTicket.get(value.ticket);
      expect(record?.outcome).toBe(value.status);
      const event = value.forwardedAt === null ? 'REQUEST_REFUSED' : value.status === 'SOURCE_TIMEOUT' ? 'SOURCE_TIMEOUT' : 'REPLY_DELIVERED';
      expect(record?.eventType).toBe(event);
    }
    const countBy = (values: readonly string[]) =>
      Object.fromEntries([...new Set(values)].sort().map((v) => [v, values.filter((x) => x === v).length]));
    const expectedCounts = countBy(stream.map((k) => k.expected));
    expect(countBy(replies.map((r) => r.value.status))).toEqual(expectedCounts);
    expect(countBy(outcomes.map((a) => a.outcome))).toEqual(expectedCounts);

    // One forwarding record per forwarded request, none for the others.
    const forwardedTickets = audit.filter((a) => a.eventType === 'REQUEST_FORWARDED').map((a) => a.ticket);
    expect(new Set(forwardedTickets).size).toBe(forwardedTickets.length);
    expect(forwardedTickets.sort()).toEqual(replies.filter((r) => r.value.forwardedAt !== null).map((r) => r.value.ticket).sort());
    expect(audit.filter((a) => a.eventType === 'LATE_SOURCE_REPLY')).toEqual([]);

    // Every undecodable request left a dead letter, and nothing else did.
    const dead = sw.deadLetters.messages.map((m) => m.value.originalKey?.toString('utf8') ?? '');
    expect(dead.sort()).toEqual([...expectedByKey.keys()].sort());
    expect(await sw.fx.pending.size()).toBe(0);
  }, 90_000);
});
