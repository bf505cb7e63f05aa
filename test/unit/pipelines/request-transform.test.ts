/**
 * The request pipeline's transform (requestTransform) on its own: real configuration, real codec, the
 * stores in memory. Each test hands it messages as the consumer would and checks what it would commit:
 * which topic every record goes to, the Reply and audit record as an institution and an auditor would
 * decode them, the dead letters, and the pending exchange recorded for a forwarded request.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { REFUSAL_CODES } from '../../../src/domain/refusal-codes.js';
import { ticketFor, type RequestRecord } from '../../../src/contract/exchange-records.js';
import { EXCHANGE_RECORD } from '../../../src/contract/names.js';
import { requestTransform, type RequestPipelineDeps } from '../../../src/gateway/request-pipeline.js';
import { silentLogger } from '../../../src/logging/logger.js';
import { SINGLE_OBJECT_MARKER } from '../../../src/messaging/avro-codec.js';
import type { InMessage } from '../../../src/messaging/kafka-client.js';
import type { DirectoryStore } from '../../../src/store/directory-store.js';
import { createMemoryDirectoryStore, createMemoryPendingStore, type MemoryPendingStore, type PersonLines } from '../../../src/store/memory-stores.js';
import { readPending } from '../../../src/store/pending-store.js';
import { grantOf } from '../../../src/gateway/reply-pipeline.js';
import {
  EMPLOYER_A,
  EMPLOYER_B,
  NOW,
  SOURCE_TIMEOUT_MS,
  WORKER,
  clock,
  codec,
  decodeOutputs,
  inMessage,
  institutions,
  leafStrings,
  line,
  only,
  relayFor,
  requestMessage,
  requestRecord,
  rules,
  topics,
  type Outputs,
} from './pipeline-harness.js';

const MAGDA = relayFor('vaph');
const VAPH_PURPOSE = 'vaph-personal-assistance-budget';
const ONVA_PURPOSE = 'onva-inspection-annual-holidays';

/** VAPH integrated the assistant from March 2024, bound to the budget holder's employer (10/012 §9). */
const VAPH_LINE = line('vaph', WORKER, 'pab-assistant', '2024-03-01', null, EMPLOYER_A);
/** ONVA integrated the same person for an inspection, with no employer (19/010 demands none). */
const ONVA_LINE = line('onva', WORKER, 'inspection', '2023-01-01', null);

interface Gateway {
  readonly run: (...messages: InMessage[]) => Promise<Outputs>;
  readonly pending: MemoryPendingStore;
}

interface GatewayOptions {
  /** The directory's content; by default the person integrated by VAPH and by ONVA. */
  readonly lines?: readonly PersonLines[];
  /** A directory of another kind (one that fails) instead. */
  readonly directory?: RequestPipelineDeps['directory'];
  readonly answerDeadlineMs?: number;
}

/** A directory whose Redis is down: every read fails. */
function failingDirectory(): Pick<DirectoryStore, 'readMany'> {
  return { readMany: () => Promise.reject(new Error('Redis is unreachable')) };
}

/** The request stage over stores in memory; `run` hands it one chunk and decodes what it would commit. */
function gateway(options: GatewayOptions = {}): Gateway {
  const pending = createMemoryPendingStore({ now: clock });
  const transform = requestTransform({
    codec,
    topics,
    rules,
    directory: options.directory ?? createMemoryDirectoryStore(options.lines ?? [{ niss: WORKER, lines: [VAPH_LINE, ONVA_LINE] }]),
    pending,
    sourceTimeoutMs: SOURCE_TIMEOUT_MS,
    ...(options.answerDeadlineMs !== undefined ? { answerDeadlineMs: options.answerDeadlineMs } : {}),
    logger: silentLogger,
    now: clock,
  });
  return { pending, run: async (...messages) => decodeOutputs((await transform(messages)).records) };
}

/** MAGDA asking DmfA for VAPH under 10/012: NISS, employer and period, as §9 demands. */
function vaphDmfa(fields: Partial<RequestRecord> = {}): RequestRecord {
  return requestRecord({
    requester: MAGDA,
    onBehalfOf: 'vaph',
    service: 'dmfa',
    subjectNiss: WORKER,
    employer: { ...EMPLOYER_A, category: null },
    period: { from: '2024-01-01', to: '2024-06-30' },
    ...fields,
  });
}

/** ONVA's inspection asking the registers who the person is, under 19/010. */
function onvaIdentification() {
  return requestRecord({ requester: 'onva', service: 'identification', subjectNiss: WORKER });
}

/** A refusal: one Reply to the sender on `topic` and its REQUEST_REFUSED record; nothing forwarded. */
function expectRefused(out: Outputs, topic: string, status: keyof typeof REFUSAL_CODES) {
  expect(out.sourceRequests).toEqual([]);
  expect(out.deadLetters).toEqual([]);
  const reply = only(out.replies, 'reply');
  const audit = only(out.audits, 'audit record');
  expect(reply.topic).toBe(topic);
  expect(reply.headers).toEqual({ type: 'reply', ticket: reply.value.ticket });
  expect(reply.value).toMatchObject({ status, bcssCode: REFUSAL_CODES[status].bcssCode, forwardedAt: null, payload: null, answeredAt: NOW });
  expect(audit.topic).toBe(topics.audit);
  expect(audit.headers).toEqual({ type: 'audit', event: 'REQUEST_REFUSED', ticket: reply.value.ticket });
  // The auditor's record and the requester's reply tell the same outcome, under the same requestId (none when unreadable).
  expect(audit.value).toMatchObject({ eventType: 'REQUEST_REFUSED', ticket: reply.value.ticket, outcome: status, bcssCode: reply.value.bcssCode, at: NOW, requestId: reply.value.requestId || null });
  return { reply: reply.value, audit: audit.value };
}

describe('requestTransform: a request the switch can answer is forwarded to its source', () => {
  it('MAGDA for VAPH (10/012), person integrated by VAPH: one SourceRequest to ONSS and its REQUEST_FORWARDED record', async () => {
    const gw = gateway();
    const request = vaphDmfa();
    const message = requestMessage(request);
    const out = await gw.run(message);
    const ticket = ticketFor(message);

    expect(out.replies).toEqual([]);
    expect(out.deadLetters).toEqual([]);
    const forwarded = only(out.sourceRequests, 'source request');
    expect(forwarded.topic).toBe(topics.sourceRequests('onss'));
    expect(forwarded.key).toBe(WORKER);
    expect(forwarded.headers).toEqual({ type: 'source-request', ticket });
    // The period asked (first half of 2024) clipped to VAPH's integration (from March).
    expect(forwarded.value).toMatchObject({
      ticket,
      service: 'dmfa',
      subjectNiss: WORKER,
      employer: { ...EMPLOYER_A, category: null },
      period: { from: '2024-03-01', to: '2024-06-30' },
      deadline: NOW + SOURCE_TIMEOUT_MS,
    });
    // 10/012 §8: eleven DmfA levels; not the 90018 services, not the 90107 using employer. Any other
    // block asked of the source must be a technical one.
    const granted = [
      'dmfa.employer-declaration',
      'dmfa.natural-person',
      'dmfa.worker-record',
      'dmfa.occupation',
      'dmfa.work-accident-allowance',
      'dmfa.student-contribution',
      'dmfa.early-retirement-contribution',
      'dmfa.remuneration',
      'dmfa.worker-reduction',
      'dmfa.worker-contribution',
      'dmfa.occupation-reduction',
    ];
    expect(forwarded.value.blocks).toEqual(expect.arrayContaining(granted));
    const dmfa = rules.catalogue.services.get('dmfa');
    for (const extra of forwarded.value.blocks.filter((b) => !granted.includes(b))) expect(dmfa?.blocks.get(extra)?.technical, extra).toBe(true);
    expect(forwarded.value.blocks).not.toContain('dmfa.service');
    expect(forwarded.value.blocks).not.toContain('dmfa.using-employer');
    // The source learns what to answer, never who asks or why.
    const texts = leafStrings(forwarded.value);
    for (const secret of ['vaph', MAGDA, VAPH_PURPOSE, '10/012']) expect(texts).not.toContain(secret);

    const audit = only(out.audits, 'audit record');
    expect(audit.topic).toBe(topics.audit);
    expect(audit.key).toBe(WORKER);
    expect(audit.headers).toEqual({ type: 'audit', event: 'REQUEST_FORWARDED', ticket });
    expect(audit.value).toMatchObject({
      eventType: 'REQUEST_FORWARDED',
      outcome: 'FORWARDED',
      bcssCode: null,
      ticket,
      at: NOW,
      // MAGDA's own id of the request: the console finds the exchange by it.
      requestId: request.requestId,
      // The beneficiary is the requester; the relay is named as such (10/012 §23: the switch logs both).
      requester: 'vaph',
      intermediary: MAGDA,
      source: 'onss',
      service: 'dmfa',
      deliberation: '10/012',
      deliberationVersion: 'v1',
      purpose: VAPH_PURPOSE,
      subjectNiss: WORKER,
      employer: { ...EMPLOYER_A, category: null },
      effectivePeriods: [{ from: '2024-03-01', to: '2024-06-30' }],
    });
  });

  it('records the pending exchange before the commit, with what the answer must later be filtered to', async () => {
    const gw = gateway();
    const message = requestMessage(vaphDmfa());
    await gw.run(message);
    const ticket = ticketFor(message);

    expect(gw.pending.tickets()).toEqual([ticket]);
    expect(await gw.pending.size()).toBe(1);
    const stored = gw.pending.storedJson(ticket) as string;
    const exchange = readPending(stored);
    expect(exchange).toMatchObject({
      ticket,
      requester: MAGDA,
      beneficiary: 'vaph',
      intermediary: MAGDA,
      service: 'dmfa',
      source: 'onss',
      deliberation: '10/012',
      deliberationVersion: 'v1',
      purpose: VAPH_PURPOSE,
      subjectNiss: WORKER,
      employer: EMPLOYER_A,
      employerCategory: null,
      effectivePeriods: [{ from: '2024-03-01', to: '2024-06-30' }],
      channel: 'replies',
      // 10/012 §9: an interim link needs its employer category, and this request gave none.
      interimNeedsCategory: true,
      receivedAt: NOW,
      forwardedAt: NOW,
      deadline: NOW + SOURCE_TIMEOUT_MS,
      replyKey: WORKER,
    });
    // Only what the reply stage cannot derive: the grant's texts and lists are the version's, taken from the index.
    for (const derived of ['legalBasis', 'retention', 'grantedFields', 'rows', 'includeFutureFields']) expect(JSON.parse(stored)).not.toHaveProperty(derived);
    expect(exchange.grant).toBeUndefined();
    expect(grantOf(rules.authorizations, exchange)?.grantedFields['dmfa.natural-person']).toEqual(expect.arrayContaining(['sequenceNumber', 'niss']));
    // The deadline is in the sweeper's index.
    expect(await gw.pending.due(NOW + SOURCE_TIMEOUT_MS, 10)).toEqual([ticket]);
    expect(await gw.pending.due(NOW + SOURCE_TIMEOUT_MS - 1, 10)).toEqual([]);
  });

  it('a NISS written with separators is forwarded and audited as its 11 digits', async () => {
    const gw = gateway();
    const out = await gw.run(requestMessage(vaphDmfa({ subjectNiss: '85.07.30-033.28' })));
    expect(only(out.sourceRequests, 'source request').value.subjectNiss).toBe(WORKER);
    expect(only(out.audits, 'audit record').value.subjectNiss).toBe(WORKER);
  });

  it('a request queued so long that its source could not answer in time is answered OVERLOADED, not forwarded', async () => {
    // An answer is due 60 s after publication and the source has 30 s: 45 s in the queue is too long,
    // 20 s is not.
    const gw = gateway({ answerDeadlineMs: 60_000 });
    const late = requestMessage(vaphDmfa(), undefined, { timestamp: NOW - 45_000 });
    const inTime = requestMessage(vaphDmfa(), undefined, { timestamp: NOW - 20_000 });
    const out = await gw.run(late, inTime);

    const refused = only(out.replies, 'reply');
    expect(refused.value).toMatchObject({ ticket: ticketFor(late), status: 'OVERLOADED' });
    expect(refused.topic).toBe(topics.replies(MAGDA));
    expect(only(out.sourceRequests, 'source request').value.ticket).toBe(ticketFor(inTime));
    expect(gw.pending.tickets()).toEqual([ticketFor(inTime)]);
  });
});

describe('requestTransform: refusals go back to the sender, each with its audit record', () => {
  it('not integrated by the beneficiary: NOT_INTEGRATED (-300020) on MAGDA’s replies topic, nothing pending', async () => {
    // ONVA integrated the person, VAPH did not: another institution's line opens nothing for VAPH.
    const gw = gateway({ lines: [{ niss: WORKER, lines: [ONVA_LINE] }] });
    const record = vaphDmfa();
    const { reply, audit } = expectRefused(await gw.run(requestMessage(record)), topics.replies(MAGDA), 'NOT_INTEGRATED');
    expect(reply.bcssCode).toBe('-300020');
    expect(reply).toMatchObject({ requestId: record.requestId, service: 'dmfa', legalBasis: { deliberation: '10/012', version: 'v1', purpose: VAPH_PURPOSE } });
    expect(audit).toMatchObject({ requester: 'vaph', intermediary: MAGDA, source: 'onss', subjectNiss: WORKER, deliberation: '10/012' });
    expect(gw.pending.tickets()).toEqual([]);
    expect(await gw.pending.size()).toBe(0);
  });

  it('integrated for another employer than the one asked: refused, the budget holder’s line opens no other employer', async () => {
    const gw = gateway();
    const out = await gw.run(requestMessage(vaphDmfa({ employer: { ...EMPLOYER_B, category: null } })));
    expectRefused(out, topics.replies(MAGDA), 'EMPLOYER_NOT_INTEGRATED');
  });

  it('a period wholly before the integration: NOT_INTEGRATED_FOR_PERIOD', async () => {
    const gw = gateway();
    const out = await gw.run(requestMessage(vaphDmfa({ period: { from: '2023-10-01', to: '2023-12-31' } })));
    expectRefused(out, topics.replies(MAGDA), 'NOT_INTEGRATED_FOR_PERIOD');
  });

  it('10/012 §9 demands the employer: a DmfA request without one is refused INVALID_EMPLOYER_ID before the directory is read', async () => {
    const gw = gateway({ directory: failingDirectory() });
    const out = await gw.run(requestMessage(vaphDmfa({ employer: null })));
    const { reply } = expectRefused(out, topics.replies(MAGDA), 'INVALID_EMPLOYER_ID');
    expect(reply.message).toContain('10/012');
  });

  it('a requester that is not the topic’s institution: SENDER_MISMATCH to the topic’s owner, whatever the message claims', async () => {
    const gw = gateway();
    const record = vaphDmfa();
    const out = await gw.run(requestMessage(record, topics.requests('iriscare')));
    const { audit } = expectRefused(out, topics.replies('iriscare'), 'SENDER_MISMATCH');
    // Audited as the topic's owner asking on behalf of the one the message names, with no grant found.
    expect(audit).toMatchObject({ requester: 'vaph', intermediary: 'iriscare', deliberation: null, source: null });
  });

  it('a service the catalogue does not know: UNKNOWN_SERVICE', async () => {
    const gw = gateway();
    expectRefused(await gw.run(requestMessage(vaphDmfa({ service: 'pension-rights' }))), topics.replies(MAGDA), 'UNKNOWN_SERVICE');
  });

  it('a NISS with a wrong check digit: INVALID_NISS (MSG00011), audited with the NISS as given', async () => {
    const gw = gateway();
    const { reply, audit } = expectRefused(await gw.run(requestMessage(vaphDmfa({ subjectNiss: '85073003329' }))), topics.replies(MAGDA), 'INVALID_NISS');
    expect(reply.bcssCode).toBe('MSG00011');
    expect(audit.subjectNiss).toBe('85073003329');
  });
});

describe('requestTransform: consultation only (19/010 §3, §37)', () => {
  it('ONVA on its ordinary requests topic: CONSULTATION_ONLY on bcss.onva.replies, though the person is integrated', async () => {
    const gw = gateway();
    const { reply, audit } = expectRefused(await gw.run(requestMessage(onvaIdentification())), topics.replies('onva'), 'CONSULTATION_ONLY');
    // Refused on the deliberation's own terms: it was found, and is named.
    expect(reply.legalBasis).toEqual({ deliberation: '19/010', version: 'v1', purpose: ONVA_PURPOSE });
    expect(reply.message).toContain('§37');
    expect(audit).toMatchObject({ requester: 'onva', intermediary: null, source: 'bcss-registers', service: 'identification', deliberation: '19/010' });
    expect(gw.pending.tickets()).toEqual([]);
  });

  it('the same request from ONVA’s consultation application is forwarded, its answer bound for the consultations topic', async () => {
    // institutions.yaml gives ONVA a consultation application of its own (DOLSIS).
    expect(institutions.institutions.find((i) => i.id === 'onva')?.consultation?.principal).toBe('onva-dolsis');
    const gw = gateway();
    const message = requestMessage(onvaIdentification(), topics.consultationRequests('onva'));
    const out = await gw.run(message);
    expect(out.replies).toEqual([]);
    expect(only(out.sourceRequests, 'source request').topic).toBe(topics.sourceRequests('bcss-registers'));
    expect(only(out.audits, 'audit record').value).toMatchObject({ eventType: 'REQUEST_FORWARDED', requester: 'onva', deliberation: '19/010' });
    const exchange = readPending(gw.pending.storedJson(ticketFor(message)) as string);
    expect(exchange).toMatchObject({ requester: 'onva', channel: 'consultation' });
    expect(grantOf(rules.authorizations, exchange)?.retention).toMatchObject({ kind: 'no-storage' });
  });

  it('a refusal on the consultation channel goes back on it: NOT_INTEGRATED on bcss.onva.consultations', async () => {
    const gw = gateway({ lines: [] });
    const out = await gw.run(requestMessage(onvaIdentification(), topics.consultationRequests('onva')));
    expectRefused(out, topics.consultations('onva'), 'NOT_INTEGRATED');
  });
});

describe('requestTransform: what cannot be read', () => {
  it('undecodable bytes: a dead letter with the reason and the original bytes, and INVALID_MESSAGE to the topic’s institution', async () => {
    const gw = gateway();
    const garbage = Buffer.from('{"requester":"vaph","service":"dmfa"}');
    const message = inMessage(topics.requests('vaph'), garbage, { key: WORKER, partition: 3, offset: 77 });
    const out = await gw.run(message);

    const dead = only(out.deadLetters, 'dead letter');
    expect(dead.topic).toBe(topics.deadLetter);
    expect(dead.key).toBe(`${message.topic}:3:77`);
    expect(dead.headers).toEqual({ type: 'dead-letter', reason: dead.value.reasonCode });
    expect(dead.value).toMatchObject({ originTopic: message.topic, originPartition: 3, originOffset: 77, originInstitution: 'vaph' });
    // JSON, not a single-object Avro message: the codec says why.
    expect(dead.value.reasonCode).toBe('BAD_MARKER');
    expect(dead.value.originalValue?.equals(garbage)).toBe(true);
    expect(dead.value.originalKey?.toString()).toBe(WORKER);

    // The sender is still answered: with no requestId, since none could be read.
    const reply = only(out.replies, 'reply');
    expect(reply.topic).toBe(topics.replies('vaph'));
    expect(reply.value).toMatchObject({ requestId: '', status: 'INVALID_MESSAGE', bcssCode: '-000050', ticket: ticketFor(message) });
    expect(only(out.audits, 'audit record').value).toMatchObject({ eventType: 'REQUEST_REFUSED', outcome: 'INVALID_MESSAGE', requester: 'vaph', subjectNiss: null, requestId: null });
    expect(out.sourceRequests).toEqual([]);
  });

  it('another record than a Request (a SourceReply) is INCOMPATIBLE_SCHEMA; an empty message is TRUNCATED', async () => {
    const gw = gateway();
    const sourceReply = codec.encode(EXCHANGE_RECORD.sourceReply, { ticket: 'T1', status: 'NO_DATA', newNiss: null, errorMessage: null, payload: null, answeredAt: NOW });
    const out = await gw.run(inMessage(topics.requests('vaph'), sourceReply), inMessage(topics.requests('onss'), null));
    expect(out.deadLetters.map((d) => [d.value.originInstitution, d.value.reasonCode])).toEqual([
      ['vaph', 'INCOMPATIBLE_SCHEMA'],
      ['onss', 'TRUNCATED'],
    ]);
    expect(out.replies.map((r) => [r.topic, r.value.status])).toEqual([
      [topics.replies('vaph'), 'INVALID_MESSAGE'],
      [topics.replies('onss'), 'INVALID_MESSAGE'],
    ]);
  });

  it('a topic that names no institution: a dead letter UNROUTABLE and nothing else (there is nobody to answer)', async () => {
    const gw = gateway();
    const out = await gw.run(inMessage('bcss.source.onss.requests', codec.encode(EXCHANGE_RECORD.request, vaphDmfa())));
    expect(only(out.deadLetters, 'dead letter').value).toMatchObject({ reasonCode: 'UNROUTABLE', originInstitution: null });
    expect([out.replies, out.audits, out.sourceRequests]).toEqual([[], [], []]);
  });
});

describe('requestTransform: fail closed', () => {
  it('a directory that cannot be read fails the whole chunk: nothing is answered unchecked, nothing is pending', async () => {
    const gw = gateway({ directory: failingDirectory() });
    await expect(gw.run(requestMessage(vaphDmfa()), requestMessage(onvaIdentification()))).rejects.toThrow('Redis is unreachable');
    expect(gw.pending.tickets()).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------------
// Any input at all

const REQUEST_TOPICS = institutions.institutions.flatMap((i) => [topics.requests(i.id), topics.consultationRequests(i.id)]);

const DAY_MS = 86_400_000;
const anyDay = fc.integer({ min: Date.UTC(2018, 0, 1) / DAY_MS, max: Date.UTC(2025, 11, 31) / DAY_MS }).map((d) => new Date(d * DAY_MS).toISOString().slice(0, 10));

/** A Request of any content the schema allows, the fields drawn mostly from what the switch knows. */
const anyRequest: fc.Arbitrary<RequestRecord> = fc
  .record({
    requester: fc.constantFrom('vaph', 'magda', 'onva', 'onss', 'iriscare', 'inami'),
    onBehalfOf: fc.constantFrom(null, '', 'vaph', 'onva'),
    service: fc.constantFrom(...rules.catalogue.services.keys(), 'pension-rights'),
    purpose: fc.constantFrom(null, VAPH_PURPOSE, ONVA_PURPOSE, 'x'),
    subjectNiss: fc.oneof(fc.constantFrom(WORKER, '85.07.30-033.28', '', '85073003329'), fc.string({ maxLength: 14 })),
    employer: fc.constantFrom(null, { ...EMPLOYER_A, category: null }, { ...EMPLOYER_B, category: '084' }, { kind: 'ONSS' as const, id: '123', category: null }),
    period: fc.record({ from: anyDay, to: fc.option(anyDay) }),
    requestedBlocks: fc.option(fc.subarray(['dmfa.natural-person', 'dmfa.service', 'identification.name', 'identification.photo', 'nope'])),
  })
  .map((fields) => requestRecord(fields));

/** The two requests the directory lets through, with what may vary and still be answered either way. */
const dayIn2024 = (day: number): string => new Date(Date.UTC(2024, 0, 1) + day * DAY_MS).toISOString().slice(0, 10);
const period2024 = fc
  .tuple(fc.integer({ min: 0, max: 240 }), fc.option(fc.integer({ min: -10, max: 200 })))
  .map(([from, length]) => ({ from: dayIn2024(from), to: length === null ? null : dayIn2024(from + length) }));
const nearlyGoodRequest: fc.Arbitrary<RequestRecord> = fc.oneof(
  fc.record({ period: period2024, employer: fc.constantFrom({ ...EMPLOYER_A, category: null }, { ...EMPLOYER_A, category: '000' }, { ...EMPLOYER_B, category: null }) }).map((f) => vaphDmfa(f)),
  fc.record({ subjectNiss: fc.constantFrom(WORKER, '85.07.30-033.28', '17073003384') }).map((f) => requestRecord({ requester: 'onva', service: 'identification', ...f })),
);

/** A message a requests topic might carry: any bytes on any topic, or a Request — mostly on its sender's own topics. */
const anyRequestMessage: fc.Arbitrary<{ topic: string; value: Buffer | null }> = (() => {
  const requestHeader = Buffer.concat([SINGLE_OBJECT_MARKER, codec.fingerprint(EXCHANGE_RECORD.request)]);
  const onItsTopic = (request: RequestRecord) =>
    fc.constantFrom(topics.requests(request.requester), topics.consultationRequests(request.requester), ...REQUEST_TOPICS.slice(0, 2));
  const encoded = fc.oneof({ arbitrary: anyRequest, weight: 1 }, { arbitrary: nearlyGoodRequest, weight: 2 }).chain((request) =>
    onItsTopic(request).map((topic) => ({ topic, bytes: codec.encode(EXCHANGE_RECORD.request, request) })),
  );
  return fc.oneof(
    fc.record({ topic: fc.constantFrom(...REQUEST_TOPICS), value: fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)) }),
    // A Request's header with any body: the decoder itself must fail cleanly.
    fc.record({ topic: fc.constantFrom(...REQUEST_TOPICS), value: fc.uint8Array({ maxLength: 120 }).map((b) => Buffer.concat([requestHeader, b])) }),
    fc.record({ topic: fc.constantFrom(...REQUEST_TOPICS), value: fc.constant(null) }),
    encoded.map(({ topic, bytes }) => ({ topic, value: bytes })),
    encoded.map(({ topic, bytes }) => ({ topic, value: bytes })),
    // A good request with one byte changed, or cut short.
    fc.tuple(encoded, fc.nat(), fc.integer({ min: 0, max: 255 })).map(([{ topic, bytes }, at, byte]) => {
      const copy = Buffer.from(bytes);
      copy[at % copy.length] = byte;
      return { topic, value: at % 2 === 0 ? copy : copy.subarray(0, at % copy.length) };
    }),
  );
})();

describe('requestTransform: any chunk of any bytes', () => {
  it('never throws, and closes each message exactly once: one audit record, and either one reply or one forward; a dead letter only with INVALID_MESSAGE', async () => {
    // How often each outcome came up, so that the property is known to have exercised all three.
    const seen = { forwarded: 0, refused: 0, deadLettered: 0 };
    await fc.assert(
      fc.asyncProperty(fc.array(anyRequestMessage, { minLength: 1, maxLength: 6 }), async (inputs) => {
        const gw = gateway();
        const messages = inputs.map(({ topic, value }) => inMessage(topic, value, { key: WORKER }));
        const out = await gw.run(...messages);
        let expectedRecords = 0;
        for (const message of messages) {
          const ticket = ticketFor(message);
          const sender = topics.institutionOf(message.topic) as string;
          const answerTopic = message.topic === topics.consultationRequests(sender) ? topics.consultations(sender) : topics.replies(sender);
          const audit = only(out.audits.filter((a) => a.headers.ticket === ticket), `audit record of ${message.topic}/${message.offset}`);
          const replies = out.replies.filter((r) => r.value.ticket === ticket);
          const forwards = out.sourceRequests.filter((r) => r.value.ticket === ticket);
          const deadLetters = out.deadLetters.filter((d) => d.key === `${message.topic}:${message.partition}:${message.offset}`);
          if (audit.value.eventType === 'REQUEST_FORWARDED') {
            seen.forwarded++;
            expect(replies).toEqual([]);
            expect(forwards).toHaveLength(1);
            expect(gw.pending.storedJson(ticket)).not.toBeNull();
          } else {
            seen.refused++;
            expect(audit.value.eventType).toBe('REQUEST_REFUSED');
            expect(forwards).toEqual([]);
            const reply = only(replies, 'reply');
            expect(reply.topic).toBe(answerTopic);
            expect(reply.value.status).toBe(audit.value.outcome);
          }
          // The operators get the bytes exactly when the sender could not be told which request failed.
          const unreadable = replies.length === 1 && replies[0]?.value.status === 'INVALID_MESSAGE' && replies[0].value.requestId === '';
          expect(deadLetters).toHaveLength(unreadable ? 1 : 0);
          seen.deadLettered += deadLetters.length;
          expectedRecords += 2 + deadLetters.length;
        }
        const total = out.replies.length + out.audits.length + out.sourceRequests.length + out.deadLetters.length + out.mutations.length;
        expect(total).toBe(expectedRecords);
      }),
      { numRuns: 200 },
    );
    expect(seen.forwarded).toBeGreaterThan(0);
    expect(seen.refused).toBeGreaterThan(0);
    expect(seen.deadLettered).toBeGreaterThan(0);
  });
});
