import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { toExchangeReply, ReplyDecodeError, type ExchangeOk, type ExchangeRefusal, type ReceivedReplyRecord } from '../../src/client/exchange-client.js';
import { formatPeriod, formatReply, payloadJson } from '../../src/client/reply-format.js';
import { PROJECT_ROOT, SCHEMA_DIR } from '../../src/config/project-paths.js';
import { loadAvroCodec } from '../../src/messaging/avro-codec.js';

const codec = loadAvroCodec(SCHEMA_DIR);
const RECEIVED = Date.UTC(2024, 9, 1, 12, 0, 0);

function fixture(service: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(PROJECT_ROOT, 'test', 'fixtures', 'payloads', `${service}.json`), 'utf8')) as Record<string, unknown>;
}

function replyRecord(overrides: Partial<ReceivedReplyRecord> = {}): ReceivedReplyRecord {
  return {
    requestId: 'req-1',
    ticket: 'T-0001',
    status: 'OK',
    bcssCode: null,
    message: 'OK',
    service: 'dmfa',
    effectivePeriods: [{ from: '2024-01-01', to: '2024-03-31' }, { from: '2024-05-01', to: null }],
    deliveredBlocks: ['dmfa.employer-declaration', 'dmfa.occupation'],
    removedBlocks: ['dmfa.service'],
    removedFields: [],
    payload: null,
    retainUntil: '2034-12-31',
    legalBasis: { deliberation: '10/012', version: 'v1', purpose: 'vaph-personal-assistance-budget' },
    newNiss: null,
    receivedAt: RECEIVED,
    forwardedAt: RECEIVED + 40,
    answeredAt: RECEIVED + 1250,
    ...overrides,
  };
}

function ok(service: string, recordName: string, overrides: Partial<ReceivedReplyRecord> = {}): ExchangeOk {
  const payload = codec.encode(`be.bcss.gateway.payload.${recordName}`, fixture(service));
  const reply = toExchangeReply(replyRecord({ service, payload, ...overrides }), codec);
  if (!reply.ok) throw new Error('expected OK');
  return reply;
}

function refusal(overrides: Partial<ReceivedReplyRecord>): ExchangeRefusal {
  const reply = toExchangeReply(
    replyRecord({ deliveredBlocks: [], removedBlocks: [], retainUntil: null, legalBasis: null, forwardedAt: null, ...overrides }),
    codec,
  );
  if (reply.ok) throw new Error('expected a refusal');
  return reply;
}

describe('toExchangeReply', () => {
  it('turns an OK record into the OK variant with the decoded payload and ISO times', () => {
    const reply = ok('dmfa', 'DmfaPayload');
    expect(reply).toMatchObject({
      ok: true,
      status: 'OK',
      requestId: 'req-1',
      ticket: 'T-0001',
      service: 'dmfa',
      payloadRecord: 'be.bcss.gateway.payload.DmfaPayload',
      retainUntil: '2034-12-31',
      receivedAt: '2024-10-01T12:00:00.000Z',
      forwardedAt: '2024-10-01T12:00:00.040Z',
      answeredAt: '2024-10-01T12:00:01.250Z',
    });
    expect(reply.payload).toEqual(fixture('dmfa'));
  });

  it('turns a refusal into the refusal variant, with whether a retry may help', () => {
    const reply = refusal({ status: 'NISS_REPLACED', bcssCode: 'MSG00006', message: 'replaced', newNiss: '85073003427' });
    expect(reply).toMatchObject({ ok: false, status: 'NISS_REPLACED', bcssCode: 'MSG00006', newNiss: '85073003427', retriable: false, forwardedAt: null });
    expect(refusal({ status: 'SOURCE_TIMEOUT' }).retriable).toBe(true);
    expect(refusal({ status: 'SOMETHING_NEWER' }).retriable).toBeNull();
  });

  it('refuses a payload of no known schema with ReplyDecodeError carrying the ticket', () => {
    const bogus = Buffer.concat([Buffer.from([0xc3, 0x01]), Buffer.alloc(8, 0xab), Buffer.from([1, 2, 3])]);
    expect(() => toExchangeReply(replyRecord({ payload: bogus }), codec)).toThrow(ReplyDecodeError);
    try {
      toExchangeReply(replyRecord({ payload: bogus }), codec);
    } catch (error) {
      expect(error).toMatchObject({ requestId: 'req-1', ticket: 'T-0001' });
    }
  });
});

describe('formatReply: OK', () => {
  const text = formatReply(ok('dmfa', 'DmfaPayload'));

  it('states the exchange: status, ticket, service, periods, blocks, retention, legal basis, times', () => {
    const lines = text.split('\n');
    expect(lines[0]).toBe('OK  dmfa: data delivered');
    expect(text).toContain('  ticket       T-0001\n');
    expect(text).toContain('  request      req-1\n');
    expect(text).toContain('  periods      2024-01-01..2024-03-31, 2024-05-01..(open)\n');
    expect(text).toContain('  delivered    dmfa.employer-declaration, dmfa.occupation\n');
    expect(text).toContain('  withheld     dmfa.service\n');
    expect(text).toContain('  retain until 2034-12-31\n');
    expect(text).toContain('  legal basis  deliberation 10/012 (version v1, purpose vaph-personal-assistance-budget)\n');
    expect(text).toContain('  received     2024-10-01T12:00:00.000Z\n');
    expect(text).toContain('  forwarded    2024-10-01T12:00:00.040Z\n');
    expect(text).toContain('  answered     2024-10-01T12:00:01.250Z (1.3 s after receipt)\n');
    expect(text.endsWith('\n')).toBe(true);
  });

  it('summarizes a DmfA payload per quarter and employer, with worker records and occupations', () => {
    expect(text).toContain('payload      be.bcss.gateway.payload.DmfaPayload\n  5 employer declarations\n');
    expect(text).toContain('  2023Q4  ONSS 100012345, enterprise 0412345614, ACCEPTED, net due 1800.00 EUR\n');
    expect(text).toContain('  2024Q1  ONSS 200067890, enterprise 0876543270, ACCEPTED, net due 950.00 EUR\n');
    expect(text).toContain('worker record  category 084, worker code 015, 1 occupation\n');
    expect(text).toContain('2024-01-08..2024-01-19  JC 322, 5 days/week, 19/38 h/week, 1 remuneration, user 0789123407\n');
    expect(text).toContain('2024-05-02..(open)  JC 337');
    // Ordered by quarter, then employer.
    expect(text.indexOf('2023Q4')).toBeLessThan(text.indexOf('2024Q1  ONSS 100012345'));
    expect(text.indexOf('2024Q1  ONSS 100012345')).toBeLessThan(text.indexOf('2024Q1  ONSS 200067890'));
    // A summary, not the record: the person's number and name stay out of it.
    expect(text).not.toContain('85073003328');
    expect(text).not.toContain('Peeters');
  });

  it('summarizes DIMONA periods and an identification', () => {
    const dimona = formatReply(ok('dimona', 'DimonaPayload'));
    expect(dimona).toContain('  5 DIMONA periods\n');
    expect(dimona).toContain('  2024-06-03..(open)  ONSS_PROVISIONAL 5100098765, Zorg aan Huis vzw (in oprichting), worker type OTH, JC 330, id 700005\n');
    const identification = formatReply(ok('identification', 'IdentificationPayload'));
    expect(identification).toContain('  name        Peeters, An Maria\n');
    expect(identification).toContain('  residence   Veldstraat 12, 9000 Gent, since 2019-09-01\n');
  });

  it('shows other payloads as JSON, and any payload as JSON on request', () => {
    const rgti = formatReply(ok('rgti', 'RgtiPayload'));
    expect(rgti).toContain('payload      be.bcss.gateway.payload.RgtiPayload\n  {\n    "niss": "85073003328",');
    const dmfaJson = formatReply(ok('dmfa', 'DmfaPayload'), { payload: 'json' });
    expect(dmfaJson).toContain('    "employerDeclarations": [');
    expect(formatReply(ok('dmfa', 'DmfaPayload'), { payload: 'none' })).not.toContain('payload ');
  });

  it('keeps a summary readable when the switch withheld blocks', () => {
    const reply = { ...ok('dmfa', 'DmfaPayload'), payload: { niss: '85073003328', employerDeclarations: [{ quarter: '2024Q1', onssNumber: '123456749', naturalPersons: [] }] } };
    expect(formatReply(reply)).toContain('  1 employer declaration\n  2024Q1  ONSS 123456749\n');
    const empty = { ...ok('identification', 'IdentificationPayload'), payload: { niss: '85073003328', nationalities: [] } };
    expect(formatReply(empty)).toContain('  (no block delivered)\n');
  });

  it('says so when there is no payload, no retention limit, no legal basis, nothing withheld', () => {
    const reply = toExchangeReply(replyRecord({ removedBlocks: [], retainUntil: null, legalBasis: null, effectivePeriods: [] }), codec);
    const text = formatReply(reply);
    expect(text).toContain('  periods      (none)\n');
    expect(text).toContain('  withheld     (none)\n');
    expect(text).toContain('  retain until (no limit set by the deliberation)\n');
    expect(text).toContain('  legal basis  (none given)\n');
    expect(text).toContain('payload      (none)\n');
  });

  it('shows bytes by their size', () => {
    expect(payloadJson({ photo: { image: Buffer.from([1, 2, 3]) } })).toBe('{\n  "photo": {\n    "image": "<3 bytes>"\n  }\n}');
  });
});

describe('formatReply: refusal', () => {
  it('leads with the code, the BCSS code and the explanation', () => {
    const text = formatReply(
      refusal({ status: 'NOT_INTEGRATED', bcssCode: '-300020', message: 'The requester has not integrated this person in the reference directory.' }),
    );
    const lines = text.split('\n');
    expect(lines[0]).toBe('REFUSED  NOT_INTEGRATED (BCSS -300020)');
    expect(lines[1]).toBe('  The requester has not integrated this person in the reference directory.');
    expect(text).toContain('  retry        will not help\n');
    expect(text).toContain('  ticket       T-0001\n');
    expect(text).toContain('  forwarded    no: answered by the switch without asking the source\n');
    expect(text).not.toContain('delivered');
    expect(text).not.toContain('payload');
  });

  it('gives the new NISS of a replaced number, and no BCSS code when there is none', () => {
    const text = formatReply(refusal({ status: 'NISS_REPLACED', bcssCode: 'MSG00006', message: 'replaced', newNiss: '85073003427' }));
    expect(text).toContain('  new NISS     85073003427\n');
    const noCode = formatReply(refusal({ status: 'SOURCE_TIMEOUT', message: 'The authentic source did not answer in time.', forwardedAt: RECEIVED + 5 }));
    expect(noCode.split('\n')[0]).toBe('REFUSED  SOURCE_TIMEOUT');
    expect(noCode).toContain('  retry        may succeed later\n');
    expect(noCode).toContain('  forwarded    2024-10-01T12:00:00.005Z\n');
  });

  it('prints an unknown code as it came, without a retry hint', () => {
    const text = formatReply(refusal({ status: 'QUOTA_EXCEEDED', message: 'Too many requests today.' }));
    expect(text.split('\n')[0]).toBe('REFUSED  QUOTA_EXCEEDED');
    expect(text).not.toContain('retry');
  });
});

describe('formatPeriod', () => {
  it('writes closed and open periods', () => {
    expect(formatPeriod({ from: '2024-01-01', to: '2024-03-31' })).toBe('2024-01-01..2024-03-31');
    expect(formatPeriod({ from: '2024-01-01', to: null })).toBe('2024-01-01..(open)');
  });
});
