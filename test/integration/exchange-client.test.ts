/**
 * The institutions' exchange client on the real broker, as the institution's own principal (vaph) with
 * the ACLs the switch grants it. The test plays the switch: it reads vaph's requests topic and answers
 * on vaph's replies topic with Reply records, some of them meant to be ignored.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReplyRecord, RequestRecord } from '../../src/contract/exchange-records.js';
import {
  createExchangeClient,
  ExchangeClosedError,
  ExchangeRefusalError,
  ExchangeTimeoutError,
  REPLY_RECORD,
  REQUEST_RECORD,
  type ExchangeClient,
  type ExchangeReply,
} from '../../src/client/exchange-client.js';
import { RequestInputError, type RequestInput } from '../../src/client/request-input.js';
import { PROJECT_ROOT } from '../../src/config/project-paths.js';
import { silentLogger } from '../../src/logging/logger.js';
import { createKafkaClient, type MessageProducer } from '../../src/messaging/kafka-client.js';
import { createGatewayFixture, type GatewayFixture } from '../support/gateway-fixture.js';
import { startTopicReader, uniqueName, waitFor, waitUntilRead } from '../support/kafka-helpers.js';
import { connectionAs, testStack } from '../support/stack-context.js';

const INSTITUTION = 'vaph';
const NISS = '85073003328';
const DMFA_RECORD = 'be.bcss.gateway.payload.DmfaPayload';
const dmfaPayload = JSON.parse(readFileSync(join(PROJECT_ROOT, 'test', 'fixtures', 'payloads', 'dmfa.json'), 'utf8')) as Record<string, unknown>;

interface SeenRequest {
  readonly record: RequestRecord;
  readonly key: string | null;
  readonly at: number;
}

/** The test's stand-in for the switch, answering by service. */
async function startTestGateway(fx: GatewayFixture) {
  const seen: SeenRequest[] = [];
  let outstanding = 0;
  let maxOutstanding = 0;
  const producer: MessageProducer = await fx.client.producer();
  const repliesTopic = fx.topics.replies(INSTITUTION);

  const reply = (request: RequestRecord, fields: Partial<ReplyRecord>): ReplyRecord => {
    const now = Date.now();
    return {
      requestId: request.requestId,
      ticket: `T-${request.requestId}`,
      status: 'OK',
      bcssCode: null,
      message: 'OK',
      service: request.service,
      effectivePeriods: [{ from: request.period.from, to: request.period.to }],
      deliveredBlocks: [],
      removedBlocks: [],
      removedFields: [],
      payload: null,
      retainUntil: null,
      legalBasis: null,
      newNiss: null,
      receivedAt: now,
      forwardedAt: null,
      answeredAt: now,
      ...fields,
    };
  };
  const out = (request: RequestRecord, record: ReplyRecord, type = 'reply') => ({
    key: request.subjectNiss || request.requester,
    value: fx.codec.encode(REPLY_RECORD, record),
    headers: { type, ticket: record.ticket },
  });
  const answer = async (request: RequestRecord, messages: ReturnType<typeof out>[]) => {
    await producer.send(repliesTopic, messages);
    outstanding--;
  };

  const handle = async (request: RequestRecord): Promise<void> => {
    if (request.requester !== INSTITUTION) {
      await answer(request, [
        out(request, reply(request, { status: 'SENDER_MISMATCH', message: 'The requester named in the message is not the institution that owns the topic.' })),
      ]);
      return;
    }
    switch (request.service) {
      case 'dmfa': {
        const ok = reply(request, {
          deliveredBlocks: ['dmfa.employer-declaration'],
          removedBlocks: ['dmfa.service'],
          payload: fx.codec.encode(DMFA_RECORD, dmfaPayload),
          retainUntil: '2034-12-31',
          legalBasis: { deliberation: '10/012', version: 'v1', purpose: 'vaph-personal-assistance-budget' },
          forwardedAt: Date.now(),
        });
        await answer(request, [
          // Same topic, same requestId, other type: must not be taken for the reply.
          out(request, reply(request, { status: 'NOT_AUTHORIZED', message: 'an acknowledgement, not a reply' }), 'directory-ack'),
          // A reply for another client of the same institution.
          out(request, reply(request, { requestId: `other-${request.requestId}`, status: 'NO_DATA', message: 'not yours' })),
          out(request, ok),
        ]);
        return;
      }
      case 'identification':
        await answer(request, [
          out(request, reply(request, { status: 'NOT_INTEGRATED', bcssCode: '-300020', message: 'The requester has not integrated this person in the reference directory.' })),
        ]);
        return;
      case 'dimona': {
        // Every fourth request is answered late, so that replies come back out of input order.
        const delay = request.requestId.endsWith('-0') || request.requestId.endsWith('-4') ? 700 : 20;
        setTimeout(() => void answer(request, [out(request, reply(request, {}))]), delay);
        return;
      }
      case 'late':
        setTimeout(() => void answer(request, [out(request, reply(request, { status: 'SOURCE_TIMEOUT', message: 'late' }))]), 2_000);
        return;
      case 'silent':
      default:
        return;
    }
  };

  const reader = await startTopicReader(fx.client.connection, { groupId: uniqueName(`${fx.topics.prefix}.test-gateway`), topics: [fx.topics.requests(INSTITUTION)] }, (messages) => {
    for (const message of messages) {
      if (!message.value) continue;
      const record = fx.codec.decode<RequestRecord>(REQUEST_RECORD, message.value);
      seen.push({ record, key: message.key?.toString() ?? null, at: Date.now() });
      outstanding++;
      maxOutstanding = Math.max(maxOutstanding, outstanding);
      void handle(record);
    }
  });

  return {
    seen,
    get maxOutstanding() {
      return maxOutstanding;
    },
    resetOutstanding() {
      maxOutstanding = 0;
      outstanding = 0;
    },
    /** Waits until it has read every request on the topic so far: then `seen` holds them all. */
    readAll: () => waitUntilRead(fx.admin, [reader], { what: 'the test gateway' }),
    async stop() {
      await Promise.allSettled([reader.stop(), producer.disconnect()]);
    },
  };
}

describe('exchange client (the test plays the switch)', () => {
  const stack = testStack();
  let fx: GatewayFixture;
  let gateway: Awaited<ReturnType<typeof startTestGateway>>;
  let client: ExchangeClient;
  const clients: ExchangeClient[] = [];

  const newClient = async (defaultTimeoutMs = 20_000) => {
    const c = await createExchangeClient({
      connection: connectionAs(stack, INSTITUTION),
      institution: INSTITUTION,
      topics: fx.topics,
      codec: fx.codec,
      logger: silentLogger,
      defaultTimeoutMs,
    });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    fx = await createGatewayFixture(stack);
    // What the switch grants an institution: write its requests, read its replies, groups under its prefix.
    const principal = `User:${INSTITUTION}`;
    await fx.admin.createAcls([
      { principal, resource: 'TOPIC', name: fx.topics.requests(INSTITUTION), pattern: 'LITERAL', operation: 'WRITE' },
      { principal, resource: 'TOPIC', name: fx.topics.replies(INSTITUTION), pattern: 'LITERAL', operation: 'READ' },
      { principal, resource: 'GROUP', name: `${fx.topics.prefix}.${INSTITUTION}.`, pattern: 'PREFIXED', operation: 'READ' },
    ]);
    const probe = await createKafkaClient(connectionAs(stack, INSTITUTION), silentLogger).admin();
    await waitFor(() => probe.topicEndOffsets(fx.topics.replies(INSTITUTION)).then(() => true), Boolean, { what: 'the ACLs to take effect' });
    await probe.disconnect();
    gateway = await startTestGateway(fx);
    client = await newClient();
  });

  afterAll(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    await gateway?.stop();
    await fx?.close();
  });

  it('sends the request keyed by the NISS and resolves with its reply, payload decoded; acks and foreign replies ignored', async () => {
    const foreign: ExchangeReply[] = [];
    const stop = client.onReply((r) => foreign.push(r));
    const reply = await client.request({
      service: 'dmfa',
      subjectNiss: '85.07.30-033.28',
      employer: '0412.345.614',
      period: '2024Q1..2024Q2',
      purpose: '10/012',
    });
    stop();

    expect(reply.ok).toBe(true);
    if (!reply.ok) return;
    expect(reply).toMatchObject({
      status: 'OK',
      service: 'dmfa',
      ticket: `T-${reply.requestId}`,
      effectivePeriods: [{ from: '2024-01-01', to: '2024-06-30' }],
      deliveredBlocks: ['dmfa.employer-declaration'],
      removedBlocks: ['dmfa.service'],
      payloadRecord: DMFA_RECORD,
      retainUntil: '2034-12-31',
      legalBasis: { deliberation: '10/012', version: 'v1', purpose: 'vaph-personal-assistance-budget' },
    });
    expect(reply.payload).toEqual(dmfaPayload);
    expect(reply.receivedAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect(reply.forwardedAt).not.toBeNull();

    const sent = gateway.seen.find((s) => s.record.requestId === reply.requestId);
    expect(sent?.key).toBe(NISS);
    expect(sent?.record).toMatchObject({
      requester: INSTITUTION,
      subjectNiss: NISS,
      employer: { kind: 'ENTERPRISE', id: '0412345614', category: null },
      period: { from: '2024-01-01', to: '2024-06-30' },
      purpose: '10/012',
    });
    // The listener saw this client's reply only: not the ack, not the reply for another client.
    expect(foreign.map((r) => [r.requestId, r.status])).toEqual([[reply.requestId, 'OK']]);
  });

  it('resolves a refusal as the refusal variant, and requestOrThrow rejects with ExchangeRefusalError', async () => {
    const reply = await client.request({ service: 'identification', subjectNiss: NISS, period: '2024-01-01..' });
    expect(reply).toMatchObject({
      ok: false,
      status: 'NOT_INTEGRATED',
      bcssCode: '-300020',
      retriable: false,
      newNiss: null,
      forwardedAt: null,
      message: 'The requester has not integrated this person in the reference directory.',
    });
    const error = await client.requestOrThrow({ service: 'identification', subjectNiss: NISS, period: '2024Q1' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExchangeRefusalError);
    expect(error).toMatchObject({ code: 'NOT_INTEGRATED', bcssCode: '-300020', newNiss: null, message: expect.stringContaining('not integrated') });
    expect((error as ExchangeRefusalError).ticket).toMatch(/^T-/);
  });

  it('rejects with ExchangeTimeoutError when no reply comes, and hands a late reply to onReply listeners', async () => {
    const silent = await client.request({ service: 'silent', subjectNiss: NISS, period: '2024Q1' }, { timeoutMs: 1_500 }).catch((e: unknown) => e);
    expect(silent).toBeInstanceOf(ExchangeTimeoutError);
    expect(silent).toMatchObject({ timeoutMs: 1_500, message: expect.stringContaining('may still answer') });
    expect(gateway.seen.some((s) => s.record.requestId === (silent as ExchangeTimeoutError).requestId)).toBe(true);

    const late: ExchangeReply[] = [];
    const stop = client.onReply((r) => late.push(r));
    const timedOut = await client.request({ service: 'late', subjectNiss: NISS, period: '2024Q1' }, { timeoutMs: 500 }).catch((e: unknown) => e);
    expect(timedOut).toBeInstanceOf(ExchangeTimeoutError);
    const requestId = (timedOut as ExchangeTimeoutError).requestId;
    await waitFor(() => late, (l) => l.some((r) => r.requestId === requestId), { timeoutMs: 10_000, what: 'the late reply' });
    stop();
    expect(late.find((r) => r.requestId === requestId)?.status).toBe('SOURCE_TIMEOUT');
  });

  it('requestMany keeps input order, bounds the requests in flight and reports each reply as it comes', async () => {
    const inputs: RequestInput[] = Array.from({ length: 12 }, (_, i) => ({
      requestId: `many-${uniqueName('b')}-${i}`,
      service: 'dimona',
      subjectNiss: NISS,
      period: `2024Q${(i % 4) + 1}`,
    }));
    gateway.resetOutstanding();
    const arrival: number[] = [];
    const replies = await client.requestMany(inputs, { concurrency: 4, onReply: (_, index) => arrival.push(index) });

    expect(replies.map((r) => r.requestId)).toEqual(inputs.map((i) => i.requestId));
    expect(replies.every((r) => r.ok)).toBe(true);
    expect(replies.map((r) => r.effectivePeriods[0]?.from)).toEqual(inputs.map((_, i) => `2024-${String(i % 4 * 3 + 1).padStart(2, '0')}-01`));
    expect([...arrival].sort((a, b) => a - b)).toEqual(inputs.map((_, i) => i));
    expect(arrival).not.toEqual(inputs.map((_, i) => i));
    expect(gateway.maxOutstanding).toBeLessThanOrEqual(4);
    expect(gateway.maxOutstanding).toBeGreaterThanOrEqual(2);
  });

  it('refuses invalid input before sending, naming the field (and its index in a bulk call)', async () => {
    const before = gateway.seen.length;
    const bad = await client.request({ service: 'dmfa', subjectNiss: '85073003329', period: '2024Q1' }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(RequestInputError);
    expect(bad).toMatchObject({ field: 'subjectNiss', reason: 'CHECK_DIGITS' });
    const many = await client
      .requestMany([
        { service: 'dimona', subjectNiss: NISS, period: '2024Q1' },
        { service: 'dimona', subjectNiss: NISS, period: '2024Q1', employer: '0412345615' },
      ])
      .catch((e: unknown) => e);
    expect(many).toMatchObject({ name: 'RequestInputError', field: 'employer', index: 1 });
    await gateway.readAll();
    expect(gateway.seen.length).toBe(before);
  });

  it('rawRequest sends a record as is: a spoofed requester reaches the switch and is refused there', async () => {
    const requestId = uniqueName('spoof');
    const reply = await client.rawRequest({
      requestId,
      requester: 'magda',
      service: 'dmfa',
      subjectNiss: '12345',
      period: { from: '2024-01-01', to: '2024-03-31' },
    });
    expect(reply).toMatchObject({ ok: false, status: 'SENDER_MISMATCH', requestId });
    const sent = gateway.seen.find((s) => s.record.requestId === requestId);
    expect(sent?.record).toMatchObject({ requester: 'magda', subjectNiss: '12345', employer: null });
    expect(sent?.key).toBe('12345');
  });

  it('send publishes without waiting; the reply reaches onReply; a request without subject is keyed by the requester', async () => {
    const got: ExchangeReply[] = [];
    const stop = client.onReply((r) => got.push(r));
    const requestId = await client.send({ service: 'dimona', subjectNiss: '', period: '2024Q1' });
    await waitFor(() => got, (g) => g.some((r) => r.requestId === requestId), { timeoutMs: 10_000, what: 'the reply to send()' });
    stop();
    expect(gateway.seen.find((s) => s.record.requestId === requestId)?.key).toBe(INSTITUTION);
  });

  it('two clients of one institution each get only their own replies', async () => {
    const other = await newClient();
    const [mine, theirs] = await Promise.all([
      client.request({ service: 'dmfa', subjectNiss: NISS, period: '2024Q1' }),
      other.request({ service: 'dmfa', subjectNiss: NISS, period: '2024Q2' }),
    ]);
    expect(mine.ok && theirs.ok).toBe(true);
    expect(mine.effectivePeriods).toEqual([{ from: '2024-01-01', to: '2024-03-31' }]);
    expect(theirs.effectivePeriods).toEqual([{ from: '2024-04-01', to: '2024-06-30' }]);
  });

  it('reads from the end offsets found at creation: a reply published before the client existed is not taken', async () => {
    const requestId = uniqueName('earlier');
    const producer = await fx.client.producer();
    const now = Date.now();
    const stale: ReplyRecord = {
      requestId, ticket: 'T-stale', status: 'OK', bcssCode: null, message: 'OK', service: 'silent', effectivePeriods: [],
      deliveredBlocks: [], removedBlocks: [], removedFields: [], payload: null, retainUntil: null, legalBasis: null, newNiss: null,
      receivedAt: now, forwardedAt: null, answeredAt: now,
    };
    await producer.send(fx.topics.replies(INSTITUTION), [{ key: NISS, value: fx.codec.encode(REPLY_RECORD, stale), headers: { type: 'reply', ticket: 'T-stale' } }]);
    await producer.disconnect();
    const fresh = await newClient();
    const outcome = await fresh.request({ requestId, service: 'silent', subjectNiss: NISS, period: '2024Q1' }, { timeoutMs: 1_500 }).catch((e: unknown) => e);
    expect(outcome).toBeInstanceOf(ExchangeTimeoutError);
  });

  it('close rejects what still waits with ExchangeClosedError, and refuses new requests', async () => {
    const closing = await newClient();
    const before = gateway.seen.length;
    const waiting = closing.request({ service: 'silent', subjectNiss: NISS, period: '2024Q1' }).catch((e: unknown) => e);
    await waitFor(() => gateway.seen.length, (n) => n > before, { what: 'the request to reach the switch' });
    await closing.close();
    expect(await waiting).toBeInstanceOf(ExchangeClosedError);
    await expect(closing.request({ service: 'dmfa', subjectNiss: NISS, period: '2024Q1' })).rejects.toBeInstanceOf(ExchangeClosedError);
  });
});
