import { describe, expect, it } from 'vitest';
import { SCHEMA_DIR } from '../../src/config/project-paths.js';
import { answerMessages, type AnsweredParties } from '../../src/gateway/answer-messages.js';
import type { AuditRecordValue } from '../../src/contract/audit-records.js';
import type { ReplyRecord } from '../../src/contract/exchange-records.js';
import { EXCHANGE_RECORD } from '../../src/contract/names.js';
import { loadAvroCodec } from '../../src/messaging/avro-codec.js';
import type { OutRecord } from '../../src/messaging/transactional-pipeline.js';
import { topicNames } from '../../src/messaging/topics.js';
import { NO_METRICS, type GatewayMetrics } from '../../src/observability/metrics.js';

const codec = loadAvroCodec(SCHEMA_DIR);
const topics = topicNames('bcss');
const RECEIVED = Date.UTC(2024, 9, 1, 12, 0, 0);

function recordingMetrics(): GatewayMetrics & { answers: Array<[string, string, number]> } {
  const answers: Array<[string, string, number]> = [];
  return { ...NO_METRICS, answers, answered: (service, outcome, latencyMs) => void answers.push([service, outcome, latencyMs]) };
}

const refusedReply: Omit<ReplyRecord, 'bcssCode'> = {
  requestId: 'req-1',
  ticket: 'T-refused',
  status: 'NOT_AUTHORIZED',
  message: 'no deliberation authorizes vaph to receive dmfa data',
  service: 'dmfa',
  ...{ effectivePeriods: [], deliveredBlocks: [], removedBlocks: [], removedFields: [] },
  ...{ payload: null, retainUntil: null, legalBasis: null, newNiss: null },
  ...{ receivedAt: RECEIVED, forwardedAt: null, answeredAt: RECEIVED + 7 },
};

const deliveredReply: Omit<ReplyRecord, 'bcssCode'> = {
  ...refusedReply,
  ticket: 'T-delivered',
  status: 'OK',
  message: 'delivered; blocks not authorized were withheld',
  effectivePeriods: [{ from: '2024-01-01', to: '2024-03-31' }],
  deliveredBlocks: ['dmfa.employer-declaration'],
  removedBlocks: ['dmfa.service'],
  removedFields: ['dmfa.occupation.wage'],
  retainUntil: '2034-10-01',
  legalBasis: { deliberation: '10/012', version: 'v1', purpose: 'vaph-personal-assistance-budget' },
  forwardedAt: RECEIVED + 3,
  answeredAt: RECEIVED + 1250,
};

const parties: AnsweredParties = {
  requester: 'vaph',
  intermediary: 'magda',
  source: 'onss',
  service: 'dmfa',
  purpose: 'vaph-personal-assistance-budget',
  subjectNiss: '85073003328',
  employer: { kind: 'ENTERPRISE', id: '0123456749', category: null },
};

/** The two records decoded, after checking where each goes. */
function decoded(records: readonly [OutRecord, OutRecord], to: { topic: string; key: Buffer | string | null }, ticket: string, event: string) {
  const [reply, audit] = records;
  expect(reply).toMatchObject({ ...to, headers: { type: 'reply', ticket } });
  expect(audit).toMatchObject({ topic: 'bcss.audit', headers: { type: 'audit', event, ticket } });
  return {
    reply: codec.decode<ReplyRecord>(EXCHANGE_RECORD.reply, reply.value as Buffer),
    audit: codec.decode<AuditRecordValue>(EXCHANGE_RECORD.audit, audit.value as Buffer),
    auditKey: audit.key,
  };
}

describe('answerMessages: the reply to the requester and its audit record', () => {
  it('sends a refusal back the way the request came, with the refusal code on both records', () => {
    const metrics = recordingMetrics();
    const key = Buffer.from('request-key');
    const { records, audit } = answerMessages(
      { codec, topics, metrics },
      'REQUEST_REFUSED',
      { institution: 'magda', channel: 'replies', key },
      refusedReply,
      { ...parties, source: null },
    );
    const sent = decoded(records, { topic: 'bcss.magda.replies', key }, 'T-refused', 'REQUEST_REFUSED');
    expect(sent.reply).toEqual({ ...refusedReply, bcssCode: '-300010' });
    expect(sent.audit).toEqual(audit);
    expect(sent.auditKey).toBe('85073003328');
    expect(audit).toEqual({
      eventType: 'REQUEST_REFUSED',
      ticket: 'T-refused',
      at: RECEIVED + 7,
      requester: 'vaph',
      intermediary: 'magda',
      source: null,
      service: 'dmfa',
      deliberation: null,
      deliberationVersion: null,
      purpose: 'vaph-personal-assistance-budget',
      subjectNiss: '85073003328',
      employer: { kind: 'ENTERPRISE', id: '0123456749', category: null },
      effectivePeriods: [],
      deliveredBlocks: [],
      removedBlocks: [],
      removedFields: [],
      outcome: 'NOT_AUTHORIZED',
      bcssCode: '-300010',
      // The requester's own id, as the reply echoes it.
      requestId: 'req-1',
    });
    expect(metrics.answers).toEqual([['dmfa', 'NOT_AUTHORIZED', 7]]);
  });

  it('delivers on the consultations topic, the audit record repeating the legal basis, periods and blocks', () => {
    const metrics = recordingMetrics();
    const { records, audit } = answerMessages(
      { codec, topics, metrics },
      'REPLY_DELIVERED',
      { institution: 'onva', channel: 'consultation', key: 'k' },
      deliveredReply,
      parties,
    );
    const sent = decoded(records, { topic: 'bcss.onva.consultations', key: 'k' }, 'T-delivered', 'REPLY_DELIVERED');
    expect(sent.reply).toEqual({ ...deliveredReply, bcssCode: null });
    expect(sent.audit).toEqual(audit);
    expect(audit).toMatchObject({
      eventType: 'REPLY_DELIVERED',
      ticket: 'T-delivered',
      at: RECEIVED + 1250,
      deliberation: '10/012',
      deliberationVersion: 'v1',
      effectivePeriods: [{ from: '2024-01-01', to: '2024-03-31' }],
      deliveredBlocks: ['dmfa.employer-declaration'],
      removedBlocks: ['dmfa.service'],
      removedFields: ['dmfa.occupation.wage'],
      outcome: 'OK',
      bcssCode: null,
    });
    expect(metrics.answers).toEqual([['dmfa', 'OK', 1250]]);
  });

  it('audits a deadline as SOURCE_TIMEOUT, and passes an answer without a service to the metrics as it came', () => {
    const metrics = recordingMetrics();
    const timedOut = { ...refusedReply, status: 'SOURCE_TIMEOUT' as const, message: 'the source did not answer in time' };
    const { audit } = answerMessages({ codec, topics, metrics }, 'SOURCE_TIMEOUT', { institution: 'vaph', channel: 'replies', key: null }, timedOut, parties);
    expect(audit).toMatchObject({ eventType: 'SOURCE_TIMEOUT', outcome: 'SOURCE_TIMEOUT', ticket: 'T-refused', at: RECEIVED + 7 });

    answerMessages(
      { codec, topics, metrics },
      'REQUEST_REFUSED',
      { institution: 'vaph', channel: 'replies', key: null },
      { ...refusedReply, service: '', status: 'INVALID_MESSAGE' },
      { ...parties, service: null },
    );
    expect(metrics.answers.map(([service, outcome]) => [service, outcome])).toEqual([
      ['dmfa', 'SOURCE_TIMEOUT'],
      // Passed on as it came: the metrics label whatever the catalogue does not know as unknown (metrics.test.ts).
      ['', 'INVALID_MESSAGE'],
    ]);
  });
});
