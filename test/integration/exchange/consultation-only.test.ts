/**
 * 19/010 §3, §37: ONVA's inspectors consult the data "en consultation, via l'application web DOLSIS",
 * which records none. The switch answers a request for 19/010 data only on ONVA's consultation channel —
 * the consultation-requests topic its consultation application (principal onva-dolsis) writes, the
 * consultations topic that application alone reads, kept minutes — and refuses the same request
 * CONSULTATION_ONLY on ONVA's ordinary requests topic, whose replies ONVA's own systems read and keep.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReplyRecord, SourceRequestRecord } from '../../../src/contract/exchange-records.js';
import { EXCHANGE_RECORD } from '../../../src/contract/names.js';
import { createExchangeClient, type ExchangeClient } from '../../../src/client/exchange-client.js';
import { consultationOf, loadInstitutions } from '../../../src/config/load-institutions.js';
import { DEFAULT_CONFIG_DIR } from '../../../src/config/project-paths.js';
import { accessControlList, provisionAccessControl } from '../../../src/gateway/access-control.js';
import { DEFAULT_RETENTION, retentionConfig } from '../../../src/gateway/topology.js';
import { silentLogger } from '../../../src/logging/logger.js';
import { createKafkaClient, type AclGrant } from '../../../src/messaging/kafka-client.js';
import { SIMULATED } from '../../../src/sources/synthetic-population.js';
import type { TopicCollector } from '../../support/exchange-fixture.js';
import { waitFor } from '../../support/kafka-helpers.js';
import { connectionAs, testStack } from '../../support/stack-context.js';
import {
  collectedReplies,
  decodePayload,
  expectAudited,
  expectEveryExchangeClosedOnce,
  expectRefusal,
  period,
  startSwitch,
  utcDay,
  type RunningSwitch,
} from './exchange-scenario.js';

const ONVA_LEGAL_BASIS = { deliberation: '19/010', version: 'v1', purpose: 'onva-inspection-annual-holidays' };
const Y2024 = period('2024-01-01', '2024-12-31');
/** The request of the whole file: ONVA's identification of a person it integrated, under 19/010. */
const IDENTIFICATION = { service: 'identification', subjectNiss: SIMULATED.deceased, period: Y2024 } as const;

describe('exchange: consultation only (19/010 §37) — answered on the consultation channel, refused on the replies topic', () => {
  let sw: RunningSwitch;
  /** What the gateway forwarded to the registers, by ticket. */
  let registers: TopicCollector<SourceRequestRecord>;

  beforeAll(async () => {
    sw = await startSwitch({
      integrations: [
        { institution: 'onva', niss: SIMULATED.deceased, capacity: 'inspection', phase: 1, from: '2023-01-01', to: null, employer: null },
      ],
    });
    registers = await sw.fx.collect([sw.fx.topics.sourceRequests('bcss-registers')], (m) =>
      sw.fx.codec.decode<SourceRequestRecord>(EXCHANGE_RECORD.sourceRequest, m.value as Buffer),
    );
  }, 120_000);

  afterAll(async () => {
    await sw?.fx.closeAtOnce();
  }, 60_000);

  /** Where each reply to this request came: the topics of the collected replies carrying its requestId. */
  const topicsOf = (requestId: string) => collectedReplies(sw).filter((m) => m.value.requestId === requestId).map((m) => m.topic);
  /** The same, once the file's own reader has the reply too (a client's reader may be ahead of it). */
  const seenOn = async (requestId: string) => {
    await sw.replies.waitFor(() => topicsOf(requestId).length > 0, `the reply to ${requestId} on the file's reader`);
    return topicsOf(requestId);
  };

  it('ONVA asks through its consultation application by default: every deliberation naming it is consultation-only', () => {
    const own = sw.fx.deliberations.filter((d) => d.requester === 'onva');
    expect(own.map((d) => [d.number, d.consultationOnly?.paragraphs])).toEqual([['19/010', '§3, §37']]);
    expect(sw.fx.channelOf('onva')).toBe('consultation');
    expect(sw.fx.requestsTopic('onva')).toBe(sw.fx.topics.consultationRequests('onva'));
    expect(sw.fx.repliesTopic('onva')).toBe(sw.fx.topics.consultations('onva'));
    // Every other institution asks on its own requests topic.
    for (const other of ['vaph', 'magda', 'iriscare', 'onss', 'inami']) expect(sw.fx.channelOf(other), other).toBe('replies');
  });

  it('on the consultation channel: the data, on the consultations topic only, audited REPLY_DELIVERED with requester onva', async () => {
    const reply = await sw.fx.ask('onva', IDENTIFICATION, { channel: 'consultation' });
    expect(reply.status).toBe('OK');
    expect(reply.legalBasis).toEqual(ONVA_LEGAL_BASIS);
    expect(reply.effectivePeriods).toEqual([Y2024]);
    expect(reply.deliveredBlocks).toContain('identification.decease');
    // Shown, not kept: the day it is received.
    expect(reply.retainUntil).toBe(utcDay(reply.answeredAt));
    const payload = decodePayload<{ niss: string; decease: { date: string; place: string } | null }>(
      sw.fx,
      reply,
      'be.bcss.gateway.payload.IdentificationPayload',
    );
    expect(payload.niss).toBe(SIMULATED.deceased);
    expect(payload.decease).toEqual({ date: '2024-08-17', place: 'Namur' });
    expect(topicsOf(reply.requestId)).toEqual([sw.fx.topics.consultations('onva')]);
    await expectAudited(sw, reply, {
      event: 'REPLY_DELIVERED',
      requester: 'onva',
      service: 'identification',
      source: 'bcss-registers',
      deliberation: '19/010',
      deliberationVersion: 'v1',
      purpose: ONVA_LEGAL_BASIS.purpose,
      subjectNiss: SIMULATED.deceased,
      payload,
    });
    // Forwarded once to the registers.
    await registers.waitFor((ms) => ms.some((m) => m.value.ticket === reply.ticket), `the source request of ${reply.ticket}`);
    expect(registers.messages.filter((m) => m.value.ticket === reply.ticket)).toHaveLength(1);
  });

  it('the same request on ONVA’s replies topic: refused CONSULTATION_ONLY there, not forwarded, audited REQUEST_REFUSED', async () => {
    const reply = await sw.fx.ask('onva', IDENTIFICATION, { channel: 'replies' });
    expectRefusal(reply, 'CONSULTATION_ONLY', null);
    expect(reply.message).toContain('19/010');
    expect(reply.message).toContain('§37');
    // The authorization was found: the refusal names it, and the switch refused on its terms.
    expect(reply.legalBasis).toEqual(ONVA_LEGAL_BASIS);
    expect(topicsOf(reply.requestId)).toEqual([sw.fx.topics.replies('onva')]);
    await expectAudited(sw, reply, {
      event: 'REQUEST_REFUSED',
      requester: 'onva',
      service: 'identification',
      source: 'bcss-registers',
      deliberation: '19/010',
      deliberationVersion: 'v1',
      purpose: ONVA_LEGAL_BASIS.purpose,
      subjectNiss: SIMULATED.deceased,
    });
    // Never reached the source: a wrongly forwarded request would be read by now.
    await sw.fx.settled();
    expect(registers.messages.filter((m) => m.value.ticket === reply.ticket)).toEqual([]);
  });

  it('refused before the directory is looked at: a person ONVA never integrated is CONSULTATION_ONLY too', async () => {
    const reply = await sw.fx.ask('onva', { ...IDENTIFICATION, subjectNiss: SIMULATED.assistantOfVaph }, { channel: 'replies' });
    expectRefusal(reply, 'CONSULTATION_ONLY', null);
    // Through the consultation application, the directory decides.
    const consulted = await sw.fx.ask('onva', { ...IDENTIFICATION, subjectNiss: SIMULATED.assistantOfVaph }, { channel: 'consultation' });
    expectRefusal(consulted, 'NOT_INTEGRATED', '-300020');
    expect(topicsOf(consulted.requestId)).toEqual([sw.fx.topics.consultations('onva')]);
  });

  it('the consultations topic keeps its answers minutes, as configured; the replies topic days', async () => {
    const consultations = sw.fx.topics.consultations('onva');
    const replies = sw.fx.topics.replies('onva');
    const described = await sw.fx.admin.describeTopics([consultations, replies]);
    const expected = retentionConfig(DEFAULT_RETENTION.consultationMs);
    expect(described.get(consultations)?.config).toMatchObject(expected);
    expect(described.get(consultations)?.config['retention.ms']).toBe(String(DEFAULT_RETENTION.consultationMs));
    expect(DEFAULT_RETENTION.consultationMs).toBe(10 * 60 * 1000);
    expect(described.get(replies)?.config['retention.ms']).toBe(String(DEFAULT_RETENTION.deliveryMs));
    expect(DEFAULT_RETENTION.consultationMs).toBeLessThan(DEFAULT_RETENTION.deliveryMs);
  });

  describe('as the switch’s clients connect: the consultation application’s own principal, and ONVA’s', () => {
    const stack = testStack();
    const institutions = loadInstitutions(DEFAULT_CONFIG_DIR);
    let grants: AclGrant[] = [];
    let dolsis: ExchangeClient | undefined;
    let onva: ExchangeClient | undefined;

    beforeAll(async () => {
      const application = consultationOf(institutions, 'onva');
      expect(application).toBe('onva-dolsis');
      grants = accessControlList(sw.fx.topics, institutions);
      await provisionAccessControl(sw.fx.admin, grants);
      // The broker applies new ACLs a moment after the controller accepted them.
      const probe = createKafkaClient(connectionAs(stack, 'onva-dolsis'), silentLogger);
      await waitFor(
        async () => {
          const consumer = await probe.consumer({ groupId: `${sw.fx.topics.prefix}.onva-dolsis.probe`, topics: [sw.fx.topics.consultations('onva')] });
          await consumer.disconnect();
          return true;
        },
        (ready) => ready,
        { what: 'the ACLs to take effect' },
      );
      [dolsis, onva] = await Promise.all([
        createExchangeClient({
          connection: connectionAs(stack, application as string),
          institution: 'onva',
          channel: 'consultation',
          topics: sw.fx.topics,
          codec: sw.fx.codec,
          defaultTimeoutMs: 30_000,
        }),
        createExchangeClient({ connection: connectionAs(stack, 'onva'), institution: 'onva', topics: sw.fx.topics, codec: sw.fx.codec, defaultTimeoutMs: 30_000 }),
      ]);
    }, 60_000);

    afterAll(async () => {
      await Promise.allSettled([dolsis?.close(), onva?.close()]);
      await sw.fx.admin.deleteAcls(grants).catch(() => undefined);
    }, 30_000);

    it('onva-dolsis asks through the client library’s consultation channel and gets the data', async () => {
      const client = dolsis as ExchangeClient;
      expect([client.channel, client.requestsTopic, client.repliesTopic]).toEqual([
        'consultation',
        sw.fx.topics.consultationRequests('onva'),
        sw.fx.topics.consultations('onva'),
      ]);
      const reply = await client.request({ service: 'identification', subjectNiss: SIMULATED.deceased, period: '2024-01-01..2024-12-31' });
      expect(reply).toMatchObject({ ok: true, status: 'OK', legalBasis: ONVA_LEGAL_BASIS });
      expect(reply.ok && reply.deliveredBlocks).toContain('identification.decease');
      expect(await seenOn(reply.requestId)).toEqual([sw.fx.topics.consultations('onva')]);
    });

    it('onva, its own principal on its replies channel, is refused CONSULTATION_ONLY', async () => {
      const client = onva as ExchangeClient;
      expect(client.channel).toBe('replies');
      const reply = await client.request({ service: 'identification', subjectNiss: SIMULATED.deceased, period: '2024-01-01..2024-12-31' });
      expect(reply).toMatchObject({ ok: false, status: 'CONSULTATION_ONLY', retriable: false });
      expect(await seenOn(reply.requestId)).toEqual([sw.fx.topics.replies('onva')]);
    });
  });

  it('every request of this file got exactly one reply, on its channel’s topic, and one outcome audit record', async () => {
    await expectEveryExchangeClosedOnce(sw);
    // Nothing of ONVA's on its replies topic but the refusals.
    const onReplies = collectedReplies(sw).filter((m) => m.topic === sw.fx.topics.replies('onva'));
    expect(onReplies.map((m) => (m.value as ReplyRecord).status)).toEqual(['CONSULTATION_ONLY', 'CONSULTATION_ONLY', 'CONSULTATION_ONLY']);
  });
});
