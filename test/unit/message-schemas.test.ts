/**
 * The message records of the switch (schemas/request.avsc, reply.avsc, source-request.avsc,
 * source-reply.avsc, audit-record.avsc, mutation.avsc): they parse with the project's codec, the real
 * schemas/ folder still loads as one codec (record names unique), realistic values round-trip, and a
 * message recorded with an older version decodes with the current one, the fields added since taking
 * their defaults: a Request of version 1 (schemas/history/request-v1.avsc,
 * test/fixtures/messages/request-v1.bin), and a Reply, AuditRecord and Mutation of version 1
 * (schemas/history/reply-v1.avsc, audit-record-v1.avsc, mutation-v1.avsc: before `removedFields`, and
 * for a Mutation before `onBehalfOf`, the beneficiary of a change relayed by a mandatory intermediary).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { loadAvroCodec, parseSchema, SINGLE_OBJECT_MARKER } from '../../src/messaging/avro-codec.js';
import { fingerprintBytes } from '../../src/messaging/crc64-avro.js';
import { fixture, FIXTURES_DIR, SCHEMAS_DIR } from './support/gateway-config.js';

const MESSAGE_SCHEMAS = [
  ['request.avsc', 'be.bcss.gateway.Request'],
  ['reply.avsc', 'be.bcss.gateway.Reply'],
  ['source-request.avsc', 'be.bcss.gateway.SourceRequest'],
  ['source-reply.avsc', 'be.bcss.gateway.SourceReply'],
  ['audit-record.avsc', 'be.bcss.gateway.AuditRecord'],
  ['mutation.avsc', 'be.bcss.gateway.Mutation'],
  ['history/request-v1.avsc', 'be.bcss.gateway.Request'],
  ['history/reply-v1.avsc', 'be.bcss.gateway.Reply'],
  ['history/audit-record-v1.avsc', 'be.bcss.gateway.AuditRecord'],
  ['history/mutation-v1.avsc', 'be.bcss.gateway.Mutation'],
] as const;

function schemaFile(file: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(SCHEMAS_DIR, file), 'utf8')) as Record<string, unknown>;
}

/** Single-object encoding with a given writer schema, as a switch still on that version wrote it. */
function encodeWith(schema: unknown, value: unknown): Buffer {
  const type = parseSchema(schema);
  return Buffer.concat([SINGLE_OBJECT_MARKER, fingerprintBytes(JSON.stringify(type.schema())), type.toBuffer(value)]);
}

function fieldNames(file: string): string[] {
  return (schemaFile(file).fields as Array<{ name: string }>).map((f) => f.name);
}

/** Every Avro type name reachable from a type, with the kind of type it names (bytes, record, ...). */
function typeNames(type: avro.Type, seen = new Set<avro.Type>()): string[] {
  if (seen.has(type)) return [];
  seen.add(type);
  const t = type as avro.Type & {
    types?: avro.Type[];
    itemsType?: avro.Type;
    valuesType?: avro.Type;
    fields?: Array<{ name: string; type: avro.Type }>;
    underlyingType?: avro.Type;
  };
  const own = [type.typeName];
  const children = [
    ...(t.types ?? []),
    ...(t.itemsType ? [t.itemsType] : []),
    ...(t.valuesType ? [t.valuesType] : []),
    ...(t.underlyingType ? [t.underlyingType] : []),
    ...(t.fields ?? []).map((f) => f.type),
  ];
  return [...own, ...children.flatMap((c) => typeNames(c, seen))];
}

const codec = loadAvroCodec(SCHEMAS_DIR);
const T0 = Date.UTC(2024, 8, 2, 8, 30, 0);

const request = {
  requestId: 'magda-2024-09-02-000123',
  requester: 'magda',
  onBehalfOf: 'vaph',
  service: 'dmfa',
  purpose: '10/012',
  subjectNiss: '88031412464',
  employer: { kind: 'ONSS', id: '100012345', category: null },
  period: { from: '2024-01-01', to: '2024-06-30' },
  requestedBlocks: ['dmfa.occupation', 'dmfa.remuneration'],
  sentAt: T0,
};

describe('message schemas', () => {
  it.each(MESSAGE_SCHEMAS)('%s parses with the project codec as %s', (file, name) => {
    const schema = schemaFile(file);
    expect(schema.namespace).toBe('be.bcss.gateway');
    expect(typeof schema.doc).toBe('string');
    expect(parseSchema(schema).name).toBe(name);
  });

  it('the real schemas/ folder loads as one codec that knows every message record', () => {
    for (const [file, name] of MESSAGE_SCHEMAS) {
      if (file.startsWith('history/')) continue;
      expect(codec.type(name).name).toBe(name);
    }
  });

  it('version 1 of Request has another fingerprint than the current one', () => {
    const bytes = readFileSync(join(FIXTURES_DIR, 'messages', 'request-v1.bin'));
    expect(bytes.subarray(2, 10)).not.toEqual(codec.fingerprint('be.bcss.gateway.Request'));
    expect(codec.recordNameOf(bytes)).toBe('be.bcss.gateway.Request');
  });

  it('the audit record can hold no payload: no bytes anywhere in it, and the doc says so', () => {
    expect(typeNames(codec.type('be.bcss.gateway.AuditRecord'))).not.toContain('bytes');
    expect(schemaFile('audit-record.avsc').doc).toMatch(/NO payload value/);
  });

  it('the source request does not name the requester (data minimisation)', () => {
    const fields = (schemaFile('source-request.avsc').fields as Array<{ name: string }>).map((f) => f.name);
    expect(fields).toEqual(['ticket', 'service', 'subjectNiss', 'employer', 'period', 'blocks', 'deadline']);
    expect(schemaFile('source-request.avsc').doc).toMatch(/minimisation/);
  });
});

describe('round trips', () => {
  it('Request, with an intermediary, an employer and requested blocks', () => {
    const bytes = codec.encode('be.bcss.gateway.Request', request);
    expect(codec.decode('be.bcss.gateway.Request', bytes)).toEqual(request);
  });

  it('Request for interim work (employer category) with an open period and every block', () => {
    const value = {
      ...request,
      onBehalfOf: null,
      requester: 'iriscare',
      purpose: null,
      employer: { kind: 'ENTERPRISE', id: '0876543270', category: '484' },
      period: { from: '2025-01-01', to: null },
      requestedBlocks: null,
    };
    expect(codec.decode('be.bcss.gateway.Request', codec.encode('be.bcss.gateway.Request', value))).toEqual(value);
  });

  it('Reply with data: the payload is a single-object-encoded DmfaPayload inside the reply', () => {
    const dmfa = fixture('dmfa.json');
    const reply = {
      requestId: request.requestId,
      ticket: 'T-20240902-0001',
      status: 'OK',
      bcssCode: null,
      message: 'OK',
      service: 'dmfa',
      effectivePeriods: [
        { from: '2024-01-01', to: '2024-03-31' },
        { from: '2024-05-01', to: '2024-06-30' },
      ],
      deliveredBlocks: ['dmfa.employer-declaration', 'dmfa.occupation'],
      removedBlocks: ['dmfa.service', 'dmfa.using-employer'],
      removedFields: ['dmfa.employer-declaration.netAmountDue', 'dmfa.occupation.daysPerWeek'],
      payload: codec.encode('be.bcss.gateway.payload.DmfaPayload', dmfa),
      retainUntil: '2025-03-02',
      legalBasis: { deliberation: '10/012', version: 'v1', purpose: 'vaph-personal-assistance-budget' },
      newNiss: null,
      receivedAt: T0,
      forwardedAt: T0 + 4,
      answeredAt: T0 + 37,
    };
    const decoded = codec.decode<typeof reply>('be.bcss.gateway.Reply', codec.encode('be.bcss.gateway.Reply', reply));
    expect(decoded).toEqual(reply);
    expect(codec.recordNameOf(decoded.payload)).toBe('be.bcss.gateway.payload.DmfaPayload');
    expect(codec.decode('be.bcss.gateway.payload.DmfaPayload', decoded.payload)).toEqual(
      codec.decode('be.bcss.gateway.payload.DmfaPayload', codec.encode('be.bcss.gateway.payload.DmfaPayload', dmfa)),
    );
  });

  it('Reply refusing NISS_REPLACED: no payload, no forwarding time, the new NISS', () => {
    const reply = {
      requestId: 'r-2',
      ticket: 'T-20240902-0002',
      status: 'NISS_REPLACED',
      bcssCode: 'MSG00006',
      message: 'This NISS has been replaced by another one; ask again with the new number.',
      service: 'identification',
      effectivePeriods: [],
      deliveredBlocks: [],
      removedBlocks: [],
      removedFields: [],
      payload: null,
      retainUntil: null,
      legalBasis: null,
      newNiss: '90050821515',
      receivedAt: T0,
      forwardedAt: null,
      answeredAt: T0 + 2,
    };
    expect(codec.decode('be.bcss.gateway.Reply', codec.encode('be.bcss.gateway.Reply', reply))).toEqual(reply);
  });

  it('SourceRequest and SourceReply', () => {
    const sourceRequest = {
      ticket: 'T-20240902-0001',
      service: 'dimona',
      subjectNiss: '01062131124',
      employer: { kind: 'ONSS_PROVISIONAL', id: '5123456789', category: null },
      period: { from: '2024-01-01', to: '2024-12-31' },
      blocks: ['dimona.occupation', 'dimona.using-employer'],
      deadline: T0 + 30_000,
    };
    expect(
      codec.decode('be.bcss.gateway.SourceRequest', codec.encode('be.bcss.gateway.SourceRequest', sourceRequest)),
    ).toEqual(sourceRequest);
    const payload = codec.encode('be.bcss.gateway.payload.DimonaPayload', fixture('dimona.json'));
    for (const sourceReply of [
      { ticket: 't', status: 'OK', newNiss: null, errorMessage: null, payload, answeredAt: T0 },
      { ticket: 't', status: 'NISS_REPLACED', newNiss: '90050821515', errorMessage: null, payload: null, answeredAt: T0 },
      { ticket: 't', status: 'ERROR', newNiss: null, errorMessage: 'mainframe unavailable', payload: null, answeredAt: T0 },
    ]) {
      expect(
        codec.decode('be.bcss.gateway.SourceReply', codec.encode('be.bcss.gateway.SourceReply', sourceReply)),
      ).toEqual(sourceReply);
    }
  });

  it('SourceReply rejects a status outside its enum', () => {
    expect(() =>
      codec.encode('be.bcss.gateway.SourceReply', { ticket: 't', status: 'MAYBE', answeredAt: T0 }),
    ).toThrow(/status/);
  });

  it('AuditRecord of a delivered reply and of a dead letter (almost everything null)', () => {
    const delivered = {
      eventType: 'REPLY_DELIVERED',
      ticket: 'T-20240902-0001',
      at: T0 + 37,
      requester: 'vaph',
      intermediary: 'magda',
      source: 'onss',
      service: 'dmfa',
      deliberation: '10/012',
      deliberationVersion: 'v1',
      purpose: 'vaph-personal-assistance-budget',
      subjectNiss: '88031412464',
      employer: { kind: 'ONSS', id: '100012345', category: null },
      effectivePeriods: [{ from: '2024-01-01', to: '2024-06-30' }],
      deliveredBlocks: ['dmfa.employer-declaration', 'dmfa.occupation'],
      removedBlocks: ['dmfa.service'],
      removedFields: ['dmfa.natural-person.lastName', 'dmfa.natural-person.address'],
      outcome: 'OK',
      bcssCode: null,
      requestId: 'magda-2024-09-02-000123',
    };
    expect(codec.decode('be.bcss.gateway.AuditRecord', codec.encode('be.bcss.gateway.AuditRecord', delivered))).toEqual(
      delivered,
    );
    const deadLetter = { eventType: 'DEAD_LETTER', ticket: 'dl-1', at: T0, outcome: 'BAD_MARKER' };
    expect(codec.decode('be.bcss.gateway.AuditRecord', codec.encode('be.bcss.gateway.AuditRecord', deadLetter))).toEqual({
      ...deadLetter,
      requester: null,
      intermediary: null,
      source: null,
      service: null,
      deliberation: null,
      deliberationVersion: null,
      purpose: null,
      subjectNiss: null,
      employer: null,
      effectivePeriods: [],
      deliveredBlocks: [],
      removedBlocks: [],
      removedFields: [],
      bcssCode: null,
      requestId: null,
    });
  });

  it('Mutation with filtered blocks, and a notification (no data)', () => {
    const blocks = {
      ticket: 'M-20240902-0001',
      mutationId: 'onss-dimona-000417',
      source: 'onss',
      service: 'dimona',
      subjectNiss: '88031412464',
      onBehalfOf: null,
      employer: { kind: 'ONSS', id: '100012345', category: null },
      informationType: 'dimona.period',
      changeKind: 'CHANGED',
      effectiveDate: '2024-09-01',
      newNiss: null,
      form: 'BLOCKS',
      deliveredBlocks: ['dimona.period', 'dimona.occupation'],
      removedBlocks: ['dimona.worker'],
      removedFields: ['dimona.occupation.workplace'],
      payload: codec.encode('be.bcss.gateway.payload.DimonaPayload', fixture('dimona.json')),
      legalBasis: { deliberation: '10/012', version: 'v1', purpose: 'vaph-personal-assistance-budget' },
      retainUntil: null,
      emittedAt: T0,
      deliveredAt: T0 + 12,
    };
    expect(codec.decode('be.bcss.gateway.Mutation', codec.encode('be.bcss.gateway.Mutation', blocks))).toEqual(blocks);
    const notification = { ...blocks, form: 'NOTIFICATION', deliveredBlocks: [], removedBlocks: [], removedFields: [], payload: null };
    expect(codec.decode('be.bcss.gateway.Mutation', codec.encode('be.bcss.gateway.Mutation', notification))).toEqual(notification);
  });

  it('Mutation relayed by the mandatory intermediary (10/012 §9, §18: on MAGDA\'s topic), naming the institution it is for', () => {
    const relayed = {
      ticket: 'M-20240902-0002',
      mutationId: 'onss-dimona-000418',
      source: 'onss',
      service: 'dimona',
      subjectNiss: '88031412464',
      onBehalfOf: 'vaph',
      employer: { kind: 'ONSS', id: '100012345', category: null },
      informationType: 'dimona.period',
      changeKind: 'ADDED',
      effectiveDate: '2024-09-01',
      newNiss: null,
      form: 'BLOCKS',
      deliveredBlocks: ['dimona.period', 'dimona.occupation'],
      removedBlocks: [],
      removedFields: [],
      payload: codec.encode('be.bcss.gateway.payload.DimonaPayload', fixture('dimona.json')),
      legalBasis: { deliberation: '10/012', version: 'v1', purpose: 'vaph-personal-assistance-budget' },
      retainUntil: null,
      emittedAt: T0,
      deliveredAt: T0 + 9,
    };
    expect(codec.decode('be.bcss.gateway.Mutation', codec.encode('be.bcss.gateway.Mutation', relayed))).toEqual(relayed);
    // Optional, null by default: a change delivered to the institution itself names nobody.
    const field = (schemaFile('mutation.avsc').fields as Array<{ name: string; type: unknown; default?: unknown }>).find((f) => f.name === 'onBehalfOf');
    expect(field).toMatchObject({ type: ['null', 'string'], default: null });
  });
});

describe('schema evolution', () => {
  it('a Request recorded with version 1 decodes with the current version; the new fields take their defaults', () => {
    const bytes = readFileSync(join(FIXTURES_DIR, 'messages', 'request-v1.bin'));
    expect(codec.decode('be.bcss.gateway.Request', bytes)).toEqual({
      requestId: 'onva-2019-000417',
      requester: 'onva',
      onBehalfOf: null,
      service: 'dmfa',
      purpose: '19/010',
      subjectNiss: '75110205780',
      employer: { kind: 'ONSS', id: '100012345', category: null },
      period: { from: '2024-01-01', to: '2024-06-30' },
      requestedBlocks: null,
      sentAt: 1719820800000,
    });
  });

  /** The fields each record gained since its version 1, with the defaults a version-1 message takes. */
  const ADDED_SINCE_V1 = {
    Reply: { removedFields: [] },
    // requestId: the requester's own id of the request (v3).
    AuditRecord: { removedFields: [], requestId: null },
    // onBehalfOf: the beneficiary of a change relayed by a mandatory intermediary (10/012 §9, §18).
    Mutation: { removedFields: [], onBehalfOf: null },
  } as const;

  describe.each([
    ['Reply', 'reply', 'removedFields'],
    ['AuditRecord', 'audit-record', 'removedFields and requestId'],
    ['Mutation', 'mutation', 'removedFields and onBehalfOf'],
  ] as const)('%s version 1 (schemas/history/%s-v1.avsc, before %s)', (record, stem, _before) => {
    const name = `be.bcss.gateway.${record}`;
    const v1 = schemaFile(`history/${stem}-v1.avsc`);
    const added = Object.keys(ADDED_SINCE_V1[record]);

    it('is the current version without the fields added since, under the same full name, with another fingerprint', () => {
      expect(fieldNames(`history/${stem}-v1.avsc`)).toEqual(fieldNames(`${stem}.avsc`).filter((f) => !added.includes(f)));
      for (const f of added) expect(fieldNames(`${stem}.avsc`)).toContain(f);
      expect(parseSchema(v1).name).toBe(name);
      expect(encodeWith(v1, v1Value(record)).subarray(2, 10)).not.toEqual(codec.fingerprint(name));
    });

    it('a message written with it decodes with the current version, the fields added since taking their defaults', () => {
      const bytes = encodeWith(v1, v1Value(record));
      expect(codec.recordNameOf(bytes)).toBe(name);
      expect(codec.decode(name, bytes)).toEqual({ ...v1Value(record), ...ADDED_SINCE_V1[record] });
    });
  });
});

/** A value of version 1 of a record (no removedFields), every field set. */
function v1Value(record: 'Reply' | 'AuditRecord' | 'Mutation'): Record<string, unknown> {
  switch (record) {
    case 'Reply':
      return {
        requestId: 'magda-2024-06-03-000017',
        ticket: 'T-20240603-0017',
        status: 'OK',
        bcssCode: null,
        message: 'delivered; blocks not authorized were withheld',
        service: 'dmfa',
        effectivePeriods: [{ from: '2024-01-01', to: '2024-03-31' }],
        deliveredBlocks: ['dmfa.employer-declaration', 'dmfa.occupation'],
        removedBlocks: ['dmfa.service'],
        payload: codec.encode('be.bcss.gateway.payload.DmfaPayload', fixture('dmfa.json')),
        retainUntil: null,
        legalBasis: { deliberation: '10/012', version: 'v1', purpose: 'vaph-personal-assistance-budget' },
        newNiss: null,
        receivedAt: T0,
        forwardedAt: T0 + 4,
        answeredAt: T0 + 37,
      };
    case 'AuditRecord':
      return {
        eventType: 'REPLY_DELIVERED',
        ticket: 'T-20240603-0017',
        at: T0 + 37,
        requester: 'vaph',
        intermediary: 'magda',
        source: 'onss',
        service: 'dmfa',
        deliberation: '10/012',
        deliberationVersion: 'v1',
        purpose: 'vaph-personal-assistance-budget',
        subjectNiss: '88031412464',
        employer: { kind: 'ONSS', id: '100012345', category: null },
        effectivePeriods: [{ from: '2024-01-01', to: '2024-03-31' }],
        deliveredBlocks: ['dmfa.employer-declaration', 'dmfa.occupation'],
        removedBlocks: ['dmfa.service'],
        outcome: 'OK',
        bcssCode: null,
      };
    case 'Mutation':
      return {
        ticket: 'M-20240603-0001',
        mutationId: 'onss-dimona-000311',
        source: 'onss',
        service: 'dimona',
        subjectNiss: '88031412464',
        employer: { kind: 'ONSS', id: '100012345', category: null },
        informationType: 'dimona.period',
        changeKind: 'ADDED',
        effectiveDate: '2024-06-01',
        newNiss: null,
        form: 'BLOCKS',
        deliveredBlocks: ['dimona.period', 'dimona.occupation'],
        removedBlocks: ['dimona.worker'],
        payload: codec.encode('be.bcss.gateway.payload.DimonaPayload', fixture('dimona.json')),
        legalBasis: { deliberation: '10/012', version: 'v1', purpose: 'vaph-personal-assistance-budget' },
        retainUntil: null,
        emittedAt: T0,
        deliveredAt: T0 + 12,
      };
  }
}
