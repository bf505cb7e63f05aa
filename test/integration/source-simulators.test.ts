/**
 * The authentic-source simulators on the real broker: SourceRequests in, SourceReplies out (status,
 * ticket, key, headers, payload decodable with the service's payload schema), the fault persons (no
 * answer, ERROR), a request for a service the source does not serve, a late request, INAMI's quarterly
 * list, and an undecodable request that ends in the dead letters.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalogue } from '../../src/config/load-catalogue.js';
import { payloadRecordNames } from '../../src/config/payload-records.js';
import { DEFAULT_CONFIG_DIR, SCHEMA_DIR } from '../../src/config/project-paths.js';
import { quarterOf } from '../../src/domain/period.js';
import { silentLogger } from '../../src/logging/logger.js';
import type { InMessage, OutMessage } from '../../src/messaging/kafka-client.js';
import { DEFAULT_INVALIDITY_ENTRIES_PER_QUARTER } from '../../src/sources/invalidity-batch.js';
import { startSourceSimulators, type RunningSourceSimulators } from '../../src/sources/simulator-service.js';
import type { SourceRequestRecord } from '../../src/contract/exchange-records.js';
import { createSyntheticPopulation, SIMULATED, SIMULATED_EMPLOYERS } from '../../src/sources/synthetic-population.js';
import { createGatewayFixture, type GatewayFixture } from '../support/gateway-fixture.js';
import { collectMessages, uniqueName } from '../support/kafka-helpers.js';
import { testStack } from '../support/stack-context.js';

type Obj = Record<string, any>;

interface DecodedReply {
  readonly ticket: string;
  readonly status: string;
  readonly newNiss: string | null;
  readonly errorMessage: string | null;
  readonly payload: Buffer | null;
  readonly answeredAt: number;
}

const catalogue = loadCatalogue(join(DEFAULT_CONFIG_DIR, 'catalogue'), { schemasDir: SCHEMA_DIR });
const payloadRecords = payloadRecordNames(catalogue, SCHEMA_DIR);

describe('source simulators on Kafka', () => {
  const stack = testStack();
  let fx: GatewayFixture;
  let simulators: RunningSourceSimulators | undefined;
  const principals: string[] = [];
  const ticket = (label: string) => `${label}-${uniqueName('tk')}`;

  const request = (fields: Partial<SourceRequestRecord> & Pick<SourceRequestRecord, 'service' | 'subjectNiss'>): SourceRequestRecord => ({
    ticket: ticket(fields.service),
    employer: null,
    period: { from: '2024-04-01', to: '2024-06-30' },
    blocks: [],
    deadline: Date.now() + 30_000,
    ...fields,
  });

  const tickets = {
    dmfa: ticket('dmfa'),
    unansweredDmfa: ticket('unanswered-dmfa'),
    unansweredMisrouted: ticket('unanswered-misrouted'),
    failure: ticket('failure'),
    identification: ticket('identification'),
    replaced: ticket('replaced'),
    invalidity: ticket('invalidity'),
    invalidityAcross: ticket('invalidity-across'),
  };

  const sent: Record<'onss' | 'bcss-registers' | 'inami', Array<{ key: string; request: SourceRequestRecord }>> = {
    onss: [
      {
        key: SIMULATED.assistantOfVaph,
        request: request({
          ticket: tickets.dmfa,
          service: 'dmfa',
          subjectNiss: SIMULATED.assistantOfVaph,
          employer: { kind: 'ONSS', id: SIMULATED_EMPLOYERS.budgetHolder.onssNumber, category: null },
          blocks: ['dmfa.occupation'],
        }),
      },
      // The unanswered person's DmfA request, then (same key, so same partition, after it) a request
      // onss cannot serve: its ERROR reply proves the first one was consumed and left unanswered.
      { key: SIMULATED.unanswered, request: request({ ticket: tickets.unansweredDmfa, service: 'dmfa', subjectNiss: SIMULATED.unanswered }) },
      { key: SIMULATED.unanswered, request: request({ ticket: tickets.unansweredMisrouted, service: 'identification', subjectNiss: SIMULATED.unanswered }) },
      { key: SIMULATED.sourceFailure, request: request({ ticket: tickets.failure, service: 'dimona', subjectNiss: SIMULATED.sourceFailure }) },
    ],
    'bcss-registers': [
      // Past its deadline: a source answers anyway, the switch decides what a late answer is worth.
      {
        key: SIMULATED.deceased,
        request: request({ ticket: tickets.identification, service: 'identification', subjectNiss: SIMULATED.deceased, deadline: Date.now() - 60_000 }),
      },
      { key: SIMULATED.replacedBis, request: request({ ticket: tickets.replaced, service: 'identification', subjectNiss: SIMULATED.replacedBis }) },
    ],
    inami: [
      {
        key: 'onss',
        request: request({ ticket: tickets.invalidity, service: 'inami-invalidity-entries', subjectNiss: '', period: { from: '2024-07-01', to: '2024-09-30' } }),
      },
      {
        key: 'onss',
        request: request({ ticket: tickets.invalidityAcross, service: 'inami-invalidity-entries', subjectNiss: '', period: { from: '2024-07-01', to: '2024-12-31' } }),
      },
    ],
  };
  const garbage = Buffer.from('not an avro single-object message');

  const replies = new Map<string, { message: InMessage; reply: DecodedReply }>();

  async function collectReplies(source: keyof typeof sent, count: number): Promise<void> {
    for (const message of await collectMessages(stack.kafka, fx.topics.sourceReplies(source), count)) {
      const reply = fx.codec.decode<DecodedReply>('be.bcss.gateway.SourceReply', message.value as Buffer);
      replies.set(reply.ticket, { message, reply });
    }
  }

  function replyTo(ticketId: string) {
    const found = replies.get(ticketId);
    if (!found) throw new Error(`no reply to ${ticketId}`);
    return found;
  }

  function payloadOf(ticketId: string, service: string): Obj {
    const { reply } = replyTo(ticketId);
    expect(reply.status).toBe('OK');
    return fx.codec.decode<Obj>(payloadRecords.get(service) as string, reply.payload as Buffer);
  }

  beforeAll(async () => {
    fx = await createGatewayFixture(stack);
    simulators = await startSourceSimulators({
      clientFor: (principal) => {
        principals.push(principal);
        return fx.client;
      },
      codec: fx.codec,
      topics: fx.topics,
      catalogue,
      population: createSyntheticPopulation(),
      logger: silentLogger,
      groupPrefix: fx.instanceName,
    });
    const producer = await fx.client.producer();
    try {
      for (const [source, list] of Object.entries(sent)) {
        const messages: OutMessage[] = list.map(({ key, request: r }) => ({
          key,
          value: fx.codec.encode('be.bcss.gateway.SourceRequest', r),
          headers: { type: 'source-request', ticket: r.ticket },
        }));
        if (source === 'onss') messages.push({ key: 'garbage', value: garbage });
        await producer.send(fx.topics.sourceRequests(source), messages);
      }
    } finally {
      await producer.disconnect();
    }
    await Promise.all([collectReplies('onss', 3), collectReplies('bcss-registers', 2), collectReplies('inami', 2)]);
  });

  afterAll(async () => {
    await simulators?.stop();
    await fx?.close();
  });

  it('runs one pipeline per simulated source, each with the client of its own principal', () => {
    expect([...principals].sort()).toEqual(['source-bcss-registers', 'source-inami', 'source-onss']);
  });

  it('every reply echoes the ticket, in a source-reply message keyed as its request', () => {
    for (const list of Object.values(sent)) {
      for (const { key, request: r } of list) {
        if (r.ticket === tickets.unansweredDmfa) continue;
        const { message, reply } = replyTo(r.ticket);
        expect(message.key?.toString()).toBe(key);
        expect(message.headers).toEqual({ type: 'source-reply', ticket: r.ticket });
        expect(reply.answeredAt).toBeGreaterThan(Date.now() - 120_000);
      }
    }
  });

  it('DmfA for the VAPH assistant: OK, the whole record (both employers), decodable as a DmfaPayload', () => {
    const payload = payloadOf(tickets.dmfa, 'dmfa');
    expect(payload.niss).toBe(SIMULATED.assistantOfVaph);
    const declarations = payload.employerDeclarations as Obj[];
    expect(new Set(declarations.map((d) => d.onssNumber))).toEqual(
      new Set([SIMULATED_EMPLOYERS.budgetHolder.onssNumber, SIMULATED_EMPLOYERS.supermarket.onssNumber]),
    );
    expect(new Set(declarations.map((d) => d.quarter))).toEqual(new Set(['2024Q1', '2024Q2', '2024Q3']));
  });

  it('identification, even past the deadline: OK with the death date; the replaced BIS number: NISS_REPLACED', () => {
    const identification = payloadOf(tickets.identification, 'identification');
    expect(identification).toMatchObject({ niss: SIMULATED.deceased, decease: { date: '2024-08-17', place: 'Namur' } });
    expect(replyTo(tickets.replaced).reply).toMatchObject({ status: 'NISS_REPLACED', newNiss: SIMULATED.replacingNiss, payload: null });
  });

  it('fault persons: no reply about SIMULATED.unanswered, ERROR about SIMULATED.sourceFailure', () => {
    expect(replies.has(tickets.unansweredDmfa)).toBe(false);
    expect(replyTo(tickets.failure).reply).toMatchObject({ status: 'ERROR', payload: null, errorMessage: expect.stringContaining('simulated source failure') });
  });

  it('a service the source does not own: ERROR naming the owner', () => {
    const { message, reply } = replyTo(tickets.unansweredMisrouted);
    expect(reply).toMatchObject({ status: 'ERROR', errorMessage: 'identification belongs to bcss-registers, not to onss' });
    // Same partition as the unanswered DmfA request, after it: that one was consumed without a reply.
    const unanswered = sent.onss.find((s) => s.request.ticket === tickets.unansweredDmfa);
    expect(unanswered?.key).toBe(message.key?.toString());
  });

  it('INAMI: the whole 2024Q3 invalidity list, over-delivered; a period across quarters is an ERROR', () => {
    const list = payloadOf(tickets.invalidity, 'inami-invalidity-entries');
    expect(list.quarter).toBe('2024Q3');
    const entries = list.entries as Obj[];
    const own = entries.filter((e) => quarterOf(e.incapacity.invalidityStartDate as string) === '2024Q3');
    expect(own).toHaveLength(DEFAULT_INVALIDITY_ENTRIES_PER_QUARTER);
    expect(entries.length - own.length).toBe(DEFAULT_INVALIDITY_ENTRIES_PER_QUARTER / 20);
    expect(replyTo(tickets.invalidityAcross).reply).toMatchObject({ status: 'ERROR', errorMessage: expect.stringContaining('one quarter per request') });
  });

  it('an undecodable source request becomes a dead letter with its exact bytes', async () => {
    const [message] = await collectMessages(stack.kafka, fx.topics.deadLetter, 1);
    const dead = fx.codec.decode<Obj>('be.bcss.gateway.DeadLetter', message?.value as Buffer);
    expect(dead).toMatchObject({
      originTopic: fx.topics.sourceRequests('onss'),
      reasonCode: 'BAD_MARKER',
      originalKey: Buffer.from('garbage'),
      originalValue: garbage,
    });
  });
});
