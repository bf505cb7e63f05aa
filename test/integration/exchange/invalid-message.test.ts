import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCHEMA_DIR } from '../../../src/config/project-paths.js';
import type { DirectoryCommandRecord } from '../../../src/contract/directory-records.js';
import type { ReplyRecord } from '../../../src/contract/exchange-records.js';
import type { DeadLetterRecord } from '../../../src/contract/dead-letters.js';
import { DIRECTORY_RECORD, EXCHANGE_RECORD } from '../../../src/contract/names.js';
import { parseSchema, SINGLE_OBJECT_MARKER } from '../../../src/messaging/avro-codec.js';
import { fingerprintBytes } from '../../../src/messaging/crc64-avro.js';
import { SIMULATED } from '../../../src/sources/synthetic-population.js';
import type { CollectedMessage, RequestChannel, TopicCollector } from '../../support/exchange-fixture.js';
import {
  collectedReplies,
  decodePayload,
  expectAudited,
  expectEveryExchangeClosedOnce,
  period,
  startSwitch,
  utcDay,
  type RunningSwitch,
} from './exchange-scenario.js';

const V1_FIXTURE = join(import.meta.dirname, '..', '..', 'fixtures', 'messages', 'request-v1.bin');

/** Version 1 of Request (schemas/history/request-v1.avsc), encoded as an older requester still sends it. */
function encodeRequestV1(value: Record<string, unknown>): Buffer {
  const type = parseSchema(JSON.parse(readFileSync(join(SCHEMA_DIR, 'history', 'request-v1.avsc'), 'utf8')));
  return Buffer.concat([SINGLE_OBJECT_MARKER, fingerprintBytes(JSON.stringify(type.schema())), type.toBuffer(value)]);
}

describe('exchange: INVALID_MESSAGE — undecodable requests are answered to the topic owner and dead-lettered', () => {
  let sw: RunningSwitch;
  let sent: TopicCollector<Buffer | null>;

  beforeAll(async () => {
    sw = await startSwitch({
      integrations: [
        { institution: 'onva', niss: SIMULATED.deceased, capacity: 'inspection', phase: 1, from: '2023-01-01', to: null, employer: null },
      ],
    });
    // The requests as the broker holds them: where each landed (partition, offset).
    sent = await sw.fx.collect(
      [sw.fx.topics.requests('iriscare'), sw.fx.topics.requests('vaph'), sw.fx.topics.requests('onva'), sw.fx.topics.consultationRequests('onva')],
      (m) => m.value,
    );
  }, 120_000);

  afterAll(async () => {
    await sw?.fx.closeAtOnce();
  }, 60_000);

  /**
   * Sends the bytes under a fresh key and checks what every undecodable request gets: one INVALID_MESSAGE
   * reply on the sender's replies topic — or, sent on its consultation-requests topic, on its
   * consultations topic — (keyed like the request, no requestId since none could be read), one dead
   * letter holding the exact bytes and their place, one REQUEST_REFUSED audit record.
   */
  async function expectInvalid(
    institution: 'iriscare' | 'vaph' | 'onva',
    bytes: Buffer,
    reasonCode: string,
    channel: RequestChannel = 'replies',
  ): Promise<void> {
    const key = `undecodable-${randomUUID()}`;
    await sw.fx.send(institution, bytes, { key, channel });
    const [reply] = (await sw.replies.waitFor(
      (ms) => ms.some((m) => m.key === key && m.value !== null),
      `the reply keyed ${key}`,
    )).filter((m) => m.key === key) as Array<CollectedMessage<ReplyRecord>>;
    const [deadLetter] = (await sw.deadLetters.waitFor(
      (ms) => ms.some((m) => m.value.originalKey?.toString('utf8') === key),
      `the dead letter of ${key}`,
    )).filter((m) => m.value.originalKey?.toString('utf8') === key) as Array<CollectedMessage<DeadLetterRecord>>;
    const [original] = (await sent.waitFor((ms) => ms.some((m) => m.key === key), `the request ${key}`)).filter((m) => m.key === key);

    expect(reply?.topic).toBe(sw.fx.repliesTopic(institution, channel));
    expect(reply?.value).toMatchObject({
      requestId: '',
      status: 'INVALID_MESSAGE',
      bcssCode: '-000050',
      service: '',
      payload: null,
      legalBasis: null,
      forwardedAt: null,
      effectivePeriods: [],
      deliveredBlocks: [],
      removedBlocks: [],
      retainUntil: null,
      newNiss: null,
    });
    const dl = deadLetter?.value as DeadLetterRecord;
    expect(dl).toMatchObject({
      originTopic: sw.fx.requestsTopic(institution, channel),
      originInstitution: institution,
      reasonCode,
      originPartition: original?.partition,
      originOffset: Number(original?.offset),
    });
    expect(dl.reason.length).toBeGreaterThan(0);
    // The requester is told why, in the switch's words; the operators get the same reason with the bytes.
    expect(reply?.value.message).toContain(dl.reason);
    expect(dl.originalValue).toEqual(bytes);
    expect(deadLetter?.headers).toMatchObject({ type: 'dead-letter', reason: reasonCode });

    await expectAudited(sw, reply?.value as ReplyRecord, {
      event: 'REQUEST_REFUSED',
      requester: institution,
      service: null,
      source: null,
      deliberation: null,
      subjectNiss: null,
    });
    // Nobody else heard of it.
    expect(collectedReplies(sw).filter((m) => m.key === key)).toHaveLength(1);
  }

  it('bytes that are not Avro at all (BAD_MARKER)', async () => {
    await expectInvalid('iriscare', Buffer.from('{"requestId":"r-1","service":"dmfa"} is JSON, not Avro', 'utf8'), 'BAD_MARKER');
  });

  it('an empty message (TRUNCATED)', async () => {
    await expectInvalid('vaph', Buffer.alloc(0), 'TRUNCATED');
  });

  it('a message shorter than the single-object header (TRUNCATED)', async () => {
    await expectInvalid('vaph', Buffer.from([0xc3, 0x01, 0x12, 0x34]), 'TRUNCATED');
  });

  it('a Request cut in the middle of its body (MALFORMED_BODY)', async () => {
    const whole = sw.fx.codec.encode(
      EXCHANGE_RECORD.request,
      sw.fx.requestRecord('iriscare', { service: 'dmfa', subjectNiss: SIMULATED.careWorkerIriscare }),
    );
    await expectInvalid('iriscare', whole.subarray(0, whole.length - 12), 'MALFORMED_BODY');
  });

  it('a Request body under a fingerprint no known schema has (UNKNOWN_FINGERPRINT)', async () => {
    const whole = sw.fx.codec.encode(
      EXCHANGE_RECORD.request,
      sw.fx.requestRecord('iriscare', { service: 'dmfa', subjectNiss: SIMULATED.careWorkerIriscare }),
    );
    const forged = Buffer.concat([SINGLE_OBJECT_MARKER, Buffer.from('0badc0ffee15bad0', 'hex'), whole.subarray(10)]);
    await expectInvalid('iriscare', forged, 'UNKNOWN_FINGERPRINT');
  });

  it('another record of the switch on a requests topic: a directory command (INCOMPATIBLE_SCHEMA)', async () => {
    const command: DirectoryCommandRecord = {
      commandId: 'misrouted-1',
      institution: 'vaph',
      action: 'INTEGRATE',
      niss: SIMULATED.assistantOfVaph,
      capacity: 'pab-assistant',
      phase: 1,
      periodFrom: '2024-01-01',
      periodTo: null,
      employerKind: null,
      employerId: null,
      issuedAt: Date.now(),
    };
    await expectInvalid('vaph', sw.fx.codec.encode(DIRECTORY_RECORD.command, command), 'INCOMPATIBLE_SCHEMA');
  });

  it("bytes on ONVA's consultation-requests topic (BAD_MARKER): answered on its consultations topic, the way they came", async () => {
    await expectInvalid('onva', Buffer.from('not Avro, from DOLSIS', 'utf8'), 'BAD_MARKER', 'consultation');
  });

  it("bytes on ONVA's ordinary requests topic (TRUNCATED): answered on its replies topic, nothing having been read", async () => {
    await expectInvalid('onva', Buffer.from([0xc3, 0x01, 0x12]), 'TRUNCATED', 'replies');
  });

  it('a recorded version-1 Request is still understood, and refused on its merits: its ONSS number fails the check digits', async () => {
    const bytes = readFileSync(V1_FIXTURE);
    const before = sw.deadLetters.messages.length;
    // As ONVA's software asks (19/010 §37): through its consultation application, answered there.
    expect(sw.fx.channelOf('onva')).toBe('consultation');
    await sw.fx.send('onva', bytes, 'v1-recorded');
    const [reply] = await waitForRequestId(sw, 'onva-2019-000417', sw.fx.topics.consultations('onva'));
    // Decoded with the current version: onBehalfOf and requestedBlocks took their defaults; the rules did the rest.
    expect(reply).toMatchObject({
      requestId: 'onva-2019-000417',
      status: 'INVALID_EMPLOYER_ID',
      bcssCode: null,
      service: 'dmfa',
      legalBasis: null,
      forwardedAt: null,
      payload: null,
    });
    await expectAudited(sw, reply as ReplyRecord, {
      event: 'REQUEST_REFUSED',
      requester: 'onva',
      service: 'dmfa',
      deliberation: null,
      purpose: '19/010',
      subjectNiss: SIMULATED.careWorkerIriscare,
    });
    // Understood means not dead-lettered.
    expect(sw.deadLetters.messages.slice(before).filter((m) => m.value.originTopic === sw.fx.topics.consultationRequests('onva'))).toEqual([]);
  });

  it('a version-1 Request with valid keys is forwarded and answered like a current one', async () => {
    const recorded = readFileSync(V1_FIXTURE);
    const bytes = encodeRequestV1({
      requestId: 'onva-v1-deceased',
      requester: 'onva',
      service: 'dmfa',
      purpose: '19/010',
      subjectNiss: SIMULATED.deceased,
      employer: null,
      period: { from: '2024-01-01', to: '2024-06-30' },
      sentAt: Date.now(),
    });
    // The same writer schema as the recorded message, and not the current one.
    expect(bytes.subarray(0, 10)).toEqual(recorded.subarray(0, 10));
    expect(bytes.subarray(2, 10)).not.toEqual(sw.fx.codec.fingerprint(EXCHANGE_RECORD.request));
    await sw.fx.send('onva', bytes, SIMULATED.deceased);
    const [reply] = await waitForRequestId(sw, 'onva-v1-deceased', sw.fx.topics.consultations('onva'));
    expect(reply?.status).toBe('OK');
    expect(reply?.legalBasis).toEqual({ deliberation: '19/010', version: 'v1', purpose: 'onva-inspection-annual-holidays' });
    expect(reply?.effectivePeriods).toEqual([period('2024-01-01', '2024-06-30')]);
    // 19/010 §15-22: remuneration and services, not the contributions; the CPAS's public-sector data are not granted.
    expect(reply?.deliveredBlocks).toEqual([
      'dmfa.employer-declaration',
      'dmfa.declaration-status',
      'dmfa.natural-person',
      'dmfa.worker-record',
      'dmfa.occupation',
      'dmfa.service',
      'dmfa.remuneration',
    ]);
    expect(reply?.removedBlocks).toEqual([
      'dmfa.public-sector-occupation',
      'dmfa.worker-contribution',
      'dmfa.contribution-unrelated-to-person',
    ]);
    expect(reply?.retainUntil).toBe(utcDay((reply as ReplyRecord).answeredAt));
    const payload = decodePayload<{ employerDeclarations: Array<{ quarter: string }> }>(
      sw.fx,
      reply as ReplyRecord,
      'be.bcss.gateway.payload.DmfaPayload',
    );
    expect(payload.employerDeclarations.map((d) => d.quarter)).toEqual(['2024Q1', '2024Q2']);
    await expectAudited(sw, reply as ReplyRecord, {
      event: 'REPLY_DELIVERED',
      requester: 'onva',
      service: 'dmfa',
      deliberation: '19/010',
      deliberationVersion: 'v1',
      subjectNiss: SIMULATED.deceased,
      payload,
    });
  });

  it('every request of this file got exactly one reply and one outcome audit record', async () => {
    await expectEveryExchangeClosedOnce(sw);
  });
});

/** The replies to `requestId`, once there is one; every one of them on `topic`. */
async function waitForRequestId(sw: RunningSwitch, requestId: string, topic: string): Promise<ReplyRecord[]> {
  const found = await sw.replies.waitFor((ms) => ms.some((m) => m.value?.requestId === requestId), `the reply to ${requestId}`);
  const ours = found.filter((m) => m.value?.requestId === requestId);
  expect(ours.map((m) => m.topic)).toEqual(ours.map(() => topic));
  return ours.map((m) => m.value as ReplyRecord);
}
