/**
 * The reply pipeline's transform (replyTransform) on its own: real configuration, real codec, the
 * pending exchanges in memory. Every exchange here is opened by the real request transform, so that
 * the reply transform works on exactly what the gateway would have recorded; the source's answer and
 * the sweeper's deadline event are then handed over as the consumer would.
 *
 * What is checked is what would be committed: the Reply (topic, status, BCSS code, payload filtered to
 * the grant), its audit record, the records a list adds per person, the dead letters; and what happens
 * to the pending exchange (claimed, and forgotten only after the commit).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildAuthorizationIndex, decideAuthorization, type AuthorizationIndex } from '../../../src/domain/authorization.js';
import { composeAnswer } from '../../../src/domain/exchange.js';
import { parseSchema } from '../../../src/messaging/avro-codec.js';
import { fingerprintBytes } from '../../../src/messaging/crc64-avro.js';
import { readPending } from '../../../src/store/pending-store.js';
import { fieldsOf } from '../../../src/domain/catalogue.js';
import { REFUSAL_CODES } from '../../../src/domain/refusal-codes.js';
import type { ReplyRecord, RequestRecord } from '../../../src/contract/exchange-records.js';
import { grantOf, replyTransform } from '../../../src/gateway/reply-pipeline.js';
import { requestTransform } from '../../../src/gateway/request-pipeline.js';
import { silentLogger } from '../../../src/logging/logger.js';
import type { InMessage } from '../../../src/messaging/kafka-client.js';
import { makeNiss } from '../../../src/sources/synthetic-population.js';
import { createMemoryDirectoryStore, createMemoryPendingStore } from '../../../src/store/memory-stores.js';
import { SCHEMAS_DIR, fixture, realDeliberations } from '../support/gateway-config.js';
import {
  EMPLOYER_A,
  EMPLOYER_B,
  NOW,
  TODAY,
  WORKER,
  catalogue,
  clock,
  codec,
  decodeOutputs,
  inMessage,
  leafStrings,
  line,
  only,
  payloadBytes,
  payloadRecords,
  relayFor,
  requestMessage,
  requestRecord,
  rules,
  sourceReplyMessage,
  timeoutMessage,
  topics,
  type Outputs,
} from './pipeline-harness.js';

const MAGDA = relayFor('vaph');
const H1_2024 = { from: '2024-01-01', to: '2024-06-30' };

type Obj = Record<string, unknown>;

/**
 * The gateway's two exchange stages over one pending store in memory, the directory holding VAPH's
 * integration of the assistant (bound to employer A, then also to the interim agency B) and ONVA's.
 */
function exchangeSwitch(replyAuthorizations: AuthorizationIndex = rules.authorizations) {
  const pending = createMemoryPendingStore({ now: clock });
  const directory = createMemoryDirectoryStore([
    {
      niss: WORKER,
      lines: [
        line('vaph', WORKER, 'pab-assistant', '2024-01-01', null, EMPLOYER_A),
        line('vaph', WORKER, 'pab-assistant', '2024-01-01', null, EMPLOYER_B),
        line('onva', WORKER, 'inspection', '2023-01-01', null),
      ],
    },
  ]);
  const requests = requestTransform({ codec, topics, rules, directory, pending, sourceTimeoutMs: 30_000, logger: silentLogger, now: clock });
  const replies = replyTransform({ codec, topics, catalogue, authorizations: replyAuthorizations, payloadRecords, pending, logger: silentLogger, now: clock });
  return {
    pending,
    /** Opens an exchange through the request stage; fails unless it was forwarded. */
    async open(record: RequestRecord, topic?: string): Promise<{ ticket: string; request: RequestRecord }> {
      const message = requestMessage(record, topic);
      const out = decodeOutputs((await requests([message])).records);
      expect(out.replies.map((r) => r.value.message), 'the request was refused').toEqual([]);
      return { ticket: only(out.sourceRequests, 'source request').value.ticket, request: record };
    },
    /** Runs the reply stage on a chunk; `commit()` runs what follows the commit. */
    async answer(...messages: InMessage[]): Promise<Outputs & { commit: () => Promise<void> }> {
      const result = await replies(messages);
      return { ...decodeOutputs(result.records), commit: async () => void (await result.afterCommit?.()) };
    },
  };
}

function vaphDmfa(employer = EMPLOYER_A): RequestRecord {
  return requestRecord({ requester: MAGDA, onBehalfOf: 'vaph', service: 'dmfa', subjectNiss: WORKER, employer: { ...employer, category: null }, period: H1_2024 });
}

/** The one reply and its outcome record, which must agree on ticket, outcome and blocks. */
function answered(out: Outputs, topic: string, event = 'REPLY_DELIVERED') {
  const reply = only(out.replies, 'reply');
  const audit = only(
    out.audits.filter((a) => a.value.eventType !== 'LIST_ENTRY_DELIVERED'),
    'outcome audit record',
  );
  expect(reply.topic).toBe(topic);
  expect(reply.headers).toEqual({ type: 'reply', ticket: reply.value.ticket });
  expect(audit.topic).toBe(topics.audit);
  expect(audit.headers).toEqual({ type: 'audit', event, ticket: reply.value.ticket });
  expect(audit.value).toMatchObject({
    eventType: event,
    ticket: reply.value.ticket,
    outcome: reply.value.status,
    bcssCode: reply.value.bcssCode,
    // The id the requester knows its exchange by, kept with the pending exchange since the request.
    requestId: reply.value.requestId,
    deliveredBlocks: reply.value.deliveredBlocks,
    removedBlocks: reply.value.removedBlocks,
    removedFields: reply.value.removedFields,
    effectivePeriods: reply.value.effectivePeriods,
  });
  return { reply: reply.value, audit: audit.value };
}

function decodedPayload<T = Obj>(reply: ReplyRecord, service: string): T {
  expect(reply.payload).not.toBeNull();
  expect(codec.recordNameOf(reply.payload as Buffer)).toBe(payloadRecords.get(service));
  return codec.decode<T>(payloadRecords.get(service) as string, reply.payload as Buffer);
}

describe('replyTransform: the source answered OK — filtered again, whatever the source sent', () => {
  it('DmfA for VAPH through MAGDA (10/012 §8): the natural person shows only its sequence number and NISS', async () => {
    const sw = exchangeSwitch();
    const { ticket, request } = await sw.open(vaphDmfa());
    // ONSS answers with everything it has: three employers, 2023Q4 to 2024Q2, every field filled.
    const source = fixture('dmfa.json');
    const out = await sw.answer(sourceReplyMessage('onss', { ticket, status: 'OK', payload: payloadBytes('dmfa', source) }));

    expect(out.deadLetters).toEqual([]);
    const { reply, audit } = answered(out, topics.replies(MAGDA));
    expect(only(out.replies, 'reply').key).toBe(WORKER);
    expect(reply).toMatchObject({
      requestId: request.requestId,
      ticket,
      status: 'OK',
      bcssCode: null,
      service: 'dmfa',
      effectivePeriods: [H1_2024],
      legalBasis: { deliberation: '10/012', version: 'v1', purpose: 'vaph-personal-assistance-budget' },
      // 10/012 sets no retention for the data themselves.
      retainUntil: null,
      receivedAt: NOW,
      forwardedAt: NOW,
      answeredAt: NOW,
    });

    const payload = decodedPayload<{ employerDeclarations: Obj[] }>(reply, 'dmfa');
    // Only the employer asked about, only the half-year asked for.
    expect(payload.employerDeclarations.map((d) => [d.enterpriseNumber, d.quarter])).toEqual([
      [EMPLOYER_A.id, '2024Q1'],
      [EMPLOYER_A.id, '2024Q2'],
    ]);
    // deliberations.md, 10/012 field-level grants: dmfa.natural-person (90017) → sequenceNumber, niss.
    const dmfa = catalogue.services.get('dmfa');
    const naturalPerson = dmfa?.blocks.get('dmfa.natural-person');
    const children = new Set(naturalPerson?.children.map((c) => dmfa?.blocks.get(c)?.path));
    const persons = payload.employerDeclarations.flatMap((d) => d.naturalPersons as Obj[]);
    expect(persons.length).toBeGreaterThan(0);
    for (const person of persons) {
      const shown = Object.keys(person).filter((f) => !children.has(f) && person[f] !== null);
      expect(shown.sort()).toEqual(['niss', 'sequenceNumber']);
      expect(person.niss).toBe(WORKER);
    }
    // Every field withheld that the source had filled is named — by name, never by value.
    const sourcePerson = ((source.employerDeclarations as Obj[])[0]?.naturalPersons as Obj[])[0] as Obj;
    const withheld = fieldsOf(naturalPerson!).filter((f) => !['niss', 'sequenceNumber'].includes(f) && sourcePerson[f] !== null && sourcePerson[f] !== undefined);
    expect(withheld).toEqual(expect.arrayContaining(['lastName', 'firstName', 'birthDate', 'address']));
    expect(reply.removedFields).toEqual(expect.arrayContaining(withheld.map((f) => `dmfa.natural-person.${f}`)));
    expect(reply.removedFields.filter((f) => f.startsWith('dmfa.natural-person.'))).not.toContain('dmfa.natural-person.niss');
    // The source also sent the 90018 services, which 10/012 does not grant at all.
    expect(reply.removedBlocks).toContain('dmfa.service');
    expect(reply.message).toBe('delivered; blocks and fields not authorized were withheld');

    // The audit record names the beneficiary and the relay, and no value of the answer.
    expect(audit).toMatchObject({ requester: 'vaph', intermediary: MAGDA, source: 'onss', deliberation: '10/012', subjectNiss: WORKER });
    const sourceValues = new Set(leafStrings(source).filter((s) => s.length >= 4));
    const allowed = new Set([WORKER, EMPLOYER_A.id, H1_2024.from, H1_2024.to]);
    expect(leafStrings(audit).filter((s) => sourceValues.has(s) && !allowed.has(s))).toEqual([]);
  });

  it('the exchange is forgotten only after the commit (the transform itself leaves it claimed)', async () => {
    const sw = exchangeSwitch();
    const { ticket } = await sw.open(vaphDmfa());
    const message = sourceReplyMessage('onss', { ticket, status: 'OK', payload: payloadBytes('dmfa', fixture('dmfa.json')) });
    const out = await sw.answer(message);
    expect(sw.pending.claimantOf(ticket)).toBe(`${message.topic}/${message.partition}/${message.offset}`);
    await out.commit();
    expect(sw.pending.storedJson(ticket)).toBeNull();
    expect(await sw.pending.size()).toBe(0);
  });

  it('interim rows of the asked employer while the request gave no category (10/012 §9): EMPLOYER_CATEGORY_REQUIRED, no data', async () => {
    const sw = exchangeSwitch();
    // Employer B is a temporary-work agency: its worker records are of categories 084 and 484.
    const { ticket } = await sw.open(vaphDmfa(EMPLOYER_B));
    const out = await sw.answer(sourceReplyMessage('onss', { ticket, status: 'OK', payload: payloadBytes('dmfa', fixture('dmfa.json')) }));
    const { reply } = answered(out, topics.replies(MAGDA));
    expect(reply).toMatchObject({ status: 'EMPLOYER_CATEGORY_REQUIRED', payload: null, deliveredBlocks: [] });
    expect(reply.message).toContain('10/012');
  });

  it('an OK answer whose payload is another service’s record: SOURCE_ERROR, nothing of it delivered', async () => {
    const sw = exchangeSwitch();
    const { ticket } = await sw.open(vaphDmfa());
    const out = await sw.answer(sourceReplyMessage('onss', { ticket, status: 'OK', payload: payloadBytes('dimona', fixture('dimona.json')) }));
    const { reply } = answered(out, topics.replies(MAGDA));
    expect(reply).toMatchObject({ status: 'SOURCE_ERROR', bcssCode: REFUSAL_CODES.SOURCE_ERROR.bcssCode, payload: null });
  });
});

describe('replyTransform: the source’s other answers', () => {
  it('NO_DATA is passed on as NO_DATA; NISS_REPLACED carries the new NISS', async () => {
    const sw = exchangeSwitch();
    const first = await sw.open(vaphDmfa());
    const second = await sw.open(vaphDmfa());
    const replacing = makeNiss('1985-07-30', 41);
    const out = await sw.answer(
      sourceReplyMessage('onss', { ticket: first.ticket, status: 'NO_DATA' }),
      sourceReplyMessage('onss', { ticket: second.ticket, status: 'NISS_REPLACED', newNiss: replacing }),
    );
    expect(out.replies.map((r) => [r.value.ticket, r.value.status, r.value.bcssCode, r.value.newNiss])).toEqual([
      [first.ticket, 'NO_DATA', REFUSAL_CODES.NO_DATA.bcssCode, null],
      [second.ticket, 'NISS_REPLACED', REFUSAL_CODES.NISS_REPLACED.bcssCode, replacing],
    ]);
    expect(out.audits.map((a) => [a.value.ticket, a.value.eventType, a.value.outcome])).toEqual([
      [first.ticket, 'REPLY_DELIVERED', 'NO_DATA'],
      [second.ticket, 'REPLY_DELIVERED', 'NISS_REPLACED'],
    ]);
  });

  it('ERROR: the requester gets SOURCE_ERROR in the switch’s words, never the source’s own text', async () => {
    const sw = exchangeSwitch();
    const { ticket } = await sw.open(vaphDmfa());
    const out = await sw.answer(sourceReplyMessage('onss', { ticket, status: 'ERROR', errorMessage: `DB2 SQLCODE -911 while reading ${WORKER}` }));
    const { reply } = answered(out, topics.replies(MAGDA));
    expect(reply.status).toBe('SOURCE_ERROR');
    expect(reply.message).not.toContain('SQLCODE');
    expect(reply.message).not.toContain(WORKER);
  });
});

describe('replyTransform: exactly one answer per exchange', () => {
  it('the deadline first: SOURCE_TIMEOUT to the requester; the source’s late answer is then only audited LATE_SOURCE_REPLY', async () => {
    const sw = exchangeSwitch();
    const { ticket } = await sw.open(vaphDmfa());
    const timedOut = await sw.answer(timeoutMessage(ticket));
    const { reply } = answered(timedOut, topics.replies(MAGDA), 'SOURCE_TIMEOUT');
    expect(reply).toMatchObject({ status: 'SOURCE_TIMEOUT', bcssCode: REFUSAL_CODES.SOURCE_TIMEOUT.bcssCode, payload: null });

    const late = await sw.answer(sourceReplyMessage('onss', { ticket, status: 'OK', payload: payloadBytes('dmfa', fixture('dmfa.json')) }));
    expect(late.replies).toEqual([]);
    expect(late.deadLetters).toEqual([]);
    expect(only(late.audits, 'audit record').value).toMatchObject({ eventType: 'LATE_SOURCE_REPLY', ticket, outcome: 'OK', source: 'onss', requester: null, requestId: null });
  });

  it('the answer first: the deadline event that follows is dropped without a trace (it is the switch’s own timer)', async () => {
    const sw = exchangeSwitch();
    const { ticket } = await sw.open(vaphDmfa());
    const out = await sw.answer(sourceReplyMessage('onss', { ticket, status: 'NO_DATA' }), timeoutMessage(ticket));
    expect(only(out.replies, 'reply').value.status).toBe('NO_DATA');
    expect(out.audits.map((a) => a.value.eventType)).toEqual(['REPLY_DELIVERED']);
  });

  it('the same answer processed again (a transaction that aborted) claims its exchange again and gives the same reply', async () => {
    const sw = exchangeSwitch();
    const { ticket } = await sw.open(vaphDmfa());
    const message = sourceReplyMessage('onss', { ticket, status: 'NO_DATA' });
    const first = await sw.answer(message);
    const again = await sw.answer(message);
    expect(again.replies.map((r) => r.value)).toEqual(first.replies.map((r) => r.value));
    expect(again.audits.map((a) => a.value.eventType)).toEqual(['REPLY_DELIVERED']);
  });

  it('another source answering for ONSS’s exchange: a dead letter WRONG_SOURCE; the exchange still waits for ONSS', async () => {
    const sw = exchangeSwitch();
    const { ticket } = await sw.open(vaphDmfa());
    const impostor = await sw.answer(sourceReplyMessage('bcss-registers', { ticket, status: 'NO_DATA' }));
    expect(impostor.replies).toEqual([]);
    expect(only(impostor.deadLetters, 'dead letter').value).toMatchObject({ reasonCode: 'WRONG_SOURCE', originInstitution: 'bcss-registers' });
    expect(only(impostor.audits, 'audit record').value).toMatchObject({ eventType: 'LATE_SOURCE_REPLY', source: 'bcss-registers' });
    expect(sw.pending.claimantOf(ticket)).toBeNull();

    const real = await sw.answer(sourceReplyMessage('onss', { ticket, status: 'NO_DATA' }));
    expect(only(real.replies, 'reply').value.ticket).toBe(ticket);
  });

  it('an answer for an exchange the switch does not hold (answered and forgotten, or never forwarded): LATE_SOURCE_REPLY only', async () => {
    const sw = exchangeSwitch();
    const out = await sw.answer(sourceReplyMessage('onss', { ticket: 'T-never-forwarded', status: 'NO_DATA' }));
    expect([out.replies, out.deadLetters]).toEqual([[], []]);
    expect(only(out.audits, 'audit record').value).toMatchObject({ eventType: 'LATE_SOURCE_REPLY', ticket: 'T-never-forwarded' });
  });

  it('an undecodable source answer: a dead letter with its reason; the exchange stays pending for its timeout', async () => {
    const sw = exchangeSwitch();
    const { ticket } = await sw.open(vaphDmfa());
    const garbage = Buffer.from(`ticket=${ticket};status=OK`);
    const out = await sw.answer(inMessage(topics.sourceReplies('onss'), garbage, { partition: 1, offset: 5 }));
    const dead = only(out.deadLetters, 'dead letter');
    expect(dead.value).toMatchObject({ reasonCode: 'BAD_MARKER', originTopic: topics.sourceReplies('onss'), originPartition: 1, originOffset: 5 });
    expect(dead.value.originalValue?.equals(garbage)).toBe(true);
    expect([out.replies, out.audits]).toEqual([[], []]);
    expect(sw.pending.storedJson(ticket)).not.toBeNull();
    expect(await sw.pending.due(NOW + 30_000, 10)).toEqual([ticket]);
  });
});

describe('replyTransform: a list names many persons (22/046; 10/012 §23)', () => {
  it('ONSS’s quarterly invalidity list: one LIST_ENTRY_DELIVERED per person of the delivered list, none for the entries filtered out', async () => {
    const sw = exchangeSwitch();
    const { ticket } = await sw.open(
      requestRecord({ requester: 'onss', service: 'inami-invalidity-entries', period: { from: '2023-04-01', to: '2023-06-30' } }),
    );
    const list = fixture('inami-invalidity-entries.json') as { entries: Obj[] };
    const kept = list.entries.map((e) => e.niss as string);
    expect(kept).toHaveLength(3);
    // Two more the switch must not pass on: a child at the start of the primary incapacity (§1, §14: adults only),
    // and a person entering invalidity in the next quarter (not this list's).
    const minor = makeNiss('2008-03-01', 17);
    const nextQuarter = makeNiss('1970-01-01', 23);
    list.entries.push(
      { niss: minor, person: { birthDate: '2008-03-01' }, incapacity: { primaryIncapacityStartDate: '2022-05-02', invalidityStartDate: '2023-05-02' } },
      { niss: nextQuarter, person: { birthDate: '1970-01-01' }, incapacity: { primaryIncapacityStartDate: '2022-07-15', invalidityStartDate: '2023-07-15' } },
    );
    const out = await sw.answer(sourceReplyMessage('inami', { ticket, status: 'OK', payload: payloadBytes('inami-invalidity-entries', list) }));

    const { reply, audit } = answered(out, topics.replies('onss'));
    expect(reply.status).toBe('OK');
    expect(audit).toMatchObject({ requester: 'onss', source: 'inami', deliberation: '22/046', subjectNiss: null });
    const delivered = decodedPayload<{ entries: Array<{ niss: string }> }>(reply, 'inami-invalidity-entries');
    expect(delivered.entries.map((e) => e.niss)).toEqual(kept);

    const entries = out.audits.filter((a) => a.value.eventType === 'LIST_ENTRY_DELIVERED');
    expect(entries.map((a) => a.value.subjectNiss)).toEqual(kept);
    for (const entry of entries) {
      // Each findable by the person's NISS: keyed by it, on the audit topic, in the list's exchange.
      expect(entry.topic).toBe(topics.audit);
      expect(entry.key).toBe(entry.value.subjectNiss);
      expect(entry.headers).toEqual({ type: 'audit', event: 'LIST_ENTRY_DELIVERED', ticket });
      expect(entry.value).toMatchObject({ ticket, requestId: reply.requestId, outcome: 'OK', requester: 'onss', deliberation: '22/046', deliveredBlocks: reply.deliveredBlocks });
    }
  });
});

describe('replyTransform: consultation only (19/010 §37)', () => {
  it('ONVA’s consultation: answered on bcss.onva.consultations only, to be kept no longer than the day', async () => {
    const sw = exchangeSwitch();
    const { ticket } = await sw.open(requestRecord({ requester: 'onva', service: 'identification', subjectNiss: WORKER }), topics.consultationRequests('onva'));
    const out = await sw.answer(
      sourceReplyMessage('bcss-registers', { ticket, status: 'OK', payload: payloadBytes('identification', fixture('identification.json')) }),
    );
    const { reply, audit } = answered(out, topics.consultations('onva'));
    expect(out.replies.filter((r) => r.topic === topics.replies('onva'))).toEqual([]);
    expect(reply).toMatchObject({ status: 'OK', retainUntil: TODAY, legalBasis: { deliberation: '19/010', version: 'v1', purpose: 'onva-inspection-annual-holidays' } });
    expect(audit).toMatchObject({ requester: 'onva', intermediary: null, source: 'bcss-registers' });
    expect(decodedPayload<{ niss: string }>(reply, 'identification').niss).toBe(WORKER);
  });
});

describe('replyTransform: any bytes on a source’s replies topic', () => {
  it('never throws, never answers a requester, and gives each unreadable message exactly one dead letter', async () => {
    const sw = exchangeSwitch();
    const { ticket } = await sw.open(vaphDmfa());
    await fc.assert(
      fc.asyncProperty(fc.array(fc.uint8Array({ maxLength: 200 }), { minLength: 1, maxLength: 5 }), async (values) => {
        const messages = values.map((v) => inMessage(topics.sourceReplies('onss'), Buffer.from(v)));
        const out = await sw.answer(...messages);
        expect(out.replies).toEqual([]);
        expect(out.deadLetters.map((d) => d.key)).toEqual(messages.map((m) => `${m.topic}:${m.partition}:${m.offset}`));
        expect(out.audits).toEqual([]);
      }),
      { numRuns: 100 },
    );
    // None of it touched the open exchange.
    expect(sw.pending.claimantOf(ticket)).toBeNull();
  });
});

describe('replyTransform: the source’s own bytes when the filter takes nothing away', () => {
  const identification = catalogue.services.get('identification')!;
  const dmfaRecord = payloadRecords.get('dmfa') as string;

  /** The value the requester must get: the source's answer, decoded, filtered by the rules the switch kept. */
  function filteredFor(sw: ReturnType<typeof exchangeSwitch>, ticket: string, service: string, sourceBytes: Buffer): Obj {
    const x = readPending(sw.pending.storedJson(ticket) as string);
    const grant = grantOf(rules.authorizations, x)!;
    return composeAnswer(catalogue.services.get(service)!, { ...x, ...grant }, codec.decode(payloadRecords.get(service) as string, sourceBytes)).payload;
  }

  it('property: for any answer and any blocks asked, the delivered bytes decode to exactly the filtered value; the source’s bytes only when nothing was withheld', async () => {
    const template = fixture('identification.json');
    const blockIds = [...identification.blocks.values()].filter((b) => !b.technical).map((b) => b.id);
    const topFields = Object.keys(template).filter((k) => k !== 'niss');
    let shortcut = 0;
    let encoded = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.option(fc.subarray(blockIds, { minLength: 1 }), { nil: null }),
        fc.subarray(topFields),
        async (requestedBlocks, emptied) => {
          const answer: Obj = { ...template };
          // A block the source leaves out is null, or an empty list.
          for (const k of emptied) answer[k] = Array.isArray(template[k]) ? [] : null;
          const sw = exchangeSwitch();
          const { ticket } = await sw.open(requestRecord({ requester: 'onva', service: 'identification', subjectNiss: WORKER, requestedBlocks }), topics.consultationRequests('onva'));
          const bytes = payloadBytes('identification', answer);
          const expected = filteredFor(sw, ticket, 'identification', bytes);
          const out = await sw.answer(sourceReplyMessage('bcss-registers', { ticket, status: 'OK', payload: bytes }));
          const { reply } = answered(out, topics.consultations('onva'));
          if (reply.status !== 'OK') return;
          expect(decodedPayload(reply, 'identification')).toEqual(expected);
          if ((reply.payload as Buffer).equals(bytes)) {
            shortcut++;
            expect(reply.removedBlocks).toEqual([]);
            expect(reply.removedFields).toEqual([]);
          } else {
            encoded++;
          }
        },
      ),
      { numRuns: 150 },
    );
    // Both ways were taken: an answer of only what was asked, and one the filter had to cut.
    expect(shortcut).toBeGreaterThan(0);
    expect(encoded).toBeGreaterThan(0);
  }, 120_000);

  it('a field the grant does not name never passes: an answer holding nothing but it and the granted ones is re-encoded, the field null', async () => {
    const sw = exchangeSwitch();
    const { ticket } = await sw.open(vaphDmfa());
    // What 10/012 delivers of the fixture, sent back as the whole answer: nothing to take away.
    const first = await sw.answer(sourceReplyMessage('onss', { ticket, status: 'OK', payload: payloadBytes('dmfa', fixture('dmfa.json')) }));
    const delivered = decodedPayload<{ employerDeclarations: Obj[] }>(answered(first, topics.replies(MAGDA)).reply, 'dmfa');
    const exact = await sw.open(vaphDmfa());
    const exactBytes = payloadBytes('dmfa', delivered);
    const again = answered(await sw.answer(sourceReplyMessage('onss', { ticket: exact.ticket, status: 'OK', payload: exactBytes })), topics.replies(MAGDA)).reply;
    expect(again.payload?.equals(exactBytes)).toBe(true);
    expect(again.removedFields).toEqual([]);
    // The same answer with one value the grant withholds (the natural person's name): never the source's bytes.
    const person = (delivered.employerDeclarations[0]!.naturalPersons as Obj[])[0]!;
    const leaking = structuredClone(delivered);
    ((leaking.employerDeclarations[0]!.naturalPersons as Obj[])[0] as Obj).lastName = 'Peeters';
    const leak = await sw.open(vaphDmfa());
    const leakBytes = payloadBytes('dmfa', leaking);
    const cut = answered(await sw.answer(sourceReplyMessage('onss', { ticket: leak.ticket, status: 'OK', payload: leakBytes })), topics.replies(MAGDA)).reply;
    expect(cut.payload?.equals(leakBytes)).toBe(false);
    expect(cut.removedFields).toEqual(['dmfa.natural-person.lastName']);
    expect(person.lastName).toBeNull();
    expect(decodedPayload(cut, 'dmfa')).toEqual(delivered);
  });

  it('bytes an older schema wrote are re-encoded with the one the requester reads, even when nothing is withheld', async () => {
    const sw = exchangeSwitch();
    const { ticket } = await sw.open(vaphDmfa());
    const first = await sw.answer(sourceReplyMessage('onss', { ticket, status: 'OK', payload: payloadBytes('dmfa', fixture('dmfa.json')) }));
    const delivered = decodedPayload<Obj>(answered(first, topics.replies(MAGDA)).reply, 'dmfa');
    const v1 = parseSchema(JSON.parse(readFileSync(join(SCHEMAS_DIR, 'history', 'dmfa-payload-v1.avsc'), 'utf8')));
    expect(v1.isValid(delivered)).toBe(true);
    const v1Bytes = Buffer.concat([Buffer.from([0xc3, 0x01]), fingerprintBytes(JSON.stringify(v1.schema())), v1.toBuffer(delivered)]);
    expect(codec.isCurrentWriter(dmfaRecord, v1Bytes)).toBe(false);
    const older = await sw.open(vaphDmfa());
    const reply = answered(await sw.answer(sourceReplyMessage('onss', { ticket: older.ticket, status: 'OK', payload: v1Bytes })), topics.replies(MAGDA)).reply;
    expect(reply.status).toBe('OK');
    expect(reply.payload?.equals(v1Bytes)).toBe(false);
    expect(codec.isCurrentWriter(dmfaRecord, reply.payload as Buffer)).toBe(true);
    expect(decodedPayload(reply, 'dmfa')).toEqual(delivered);
  });
});

describe('replyTransform: the grant taken from the authorization index by its deliberation version', () => {
  it('a version the index no longer holds: AUTHORIZATION_NOT_IN_FORCE, nothing of the answer delivered', async () => {
    // The reply stage runs with deliberations without 10/012, as after a reload that dropped it.
    const sw = exchangeSwitch(without10012());
    const { ticket } = await sw.open(vaphDmfa());
    const out = await sw.answer(sourceReplyMessage('onss', { ticket, status: 'OK', payload: payloadBytes('dmfa', fixture('dmfa.json')) }));
    const { reply, audit } = answered(out, topics.replies(MAGDA));
    expect(reply).toMatchObject({ status: 'AUTHORIZATION_NOT_IN_FORCE', payload: null, deliveredBlocks: [], retainUntil: null });
    expect(reply.message).toContain('10/012');
    expect(audit).toMatchObject({ outcome: 'AUTHORIZATION_NOT_IN_FORCE', deliberation: '10/012' });
  });

  it('the grant is the one decided at the request: same field lists, rows and retention', async () => {
    const sw = exchangeSwitch();
    const { ticket } = await sw.open(vaphDmfa());
    const x = readPending(sw.pending.storedJson(ticket) as string);
    const decided = decideAuthorization(rules.authorizations, { requester: MAGDA, onBehalfOf: 'vaph', service: 'dmfa', date: TODAY });
    expect(decided.ok).toBe(true);
    if (!decided.ok) return;
    expect(grantOf(rules.authorizations, x)).toEqual({ grantedFields: decided.grantedFields, rows: decided.rows, includeFutureFields: decided.includesFutureFieldsOfBlocks, retention: decided.retention });
    // An exchange of the earlier form brings its own grant, used as recorded.
    const recorded = { grantedFields: {}, rows: [], includeFutureFields: false, retention: decided.retention };
    expect(grantOf(without10012(), { ...x, grant: recorded })).toBe(recorded);
  });
});

function without10012(): AuthorizationIndex {
  return buildAuthorizationIndex(realDeliberations().filter((d) => d.number !== '10/012'), catalogue);
}
