/**
 * Payload schema versions. Version 2 of five payload records made their blocks' key fields nullable, so
 * that a field-level grant can withhold them (19/010 grants the NISS of the DmfA natural person but not
 * its sequence number). Version 1 of each is kept in schemas/history/<stem>-v1.avsc with the same record
 * full name: a payload written with v1 (recorded replies, a source not yet upgraded) still decodes with
 * the project's codec as the current record, and a v2 payload with null key fields encodes and decodes.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CodecError, loadAvroCodec, parseSchema, SINGLE_OBJECT_MARKER } from '../../src/messaging/avro-codec.js';
import { fingerprintBytes } from '../../src/messaging/crc64-avro.js';
import { fixture, SCHEMAS_DIR, service } from './support/gateway-config.js';

type Obj = Record<string, any>;

const codec = loadAvroCodec(SCHEMAS_DIR);

/** [service id, payload schema stem, record full name] of every payload with a v1 in history. */
const VERSIONED = [
  ['dmfa', 'dmfa-payload', 'be.bcss.gateway.payload.DmfaPayload'],
  ['gotot', 'gotot-payload', 'be.bcss.gateway.payload.GototPayload'],
  ['inami-incapacity', 'inami-incapacity-payload', 'be.bcss.gateway.payload.InamiIncapacityPayload'],
  ['inami-invalidity-entries', 'inami-invalidity-entries-payload', 'be.bcss.gateway.payload.InamiInvalidityEntriesPayload'],
  ['p4employer', 'p4employer-payload', 'be.bcss.gateway.payload.P4EmployerPayload'],
] as const;

function schemaFile(file: string): unknown {
  return JSON.parse(readFileSync(join(SCHEMAS_DIR, file), 'utf8')) as unknown;
}

/** Single-object encoding with a given writer schema, as a source still on that version writes it. */
function encodeWith(schema: unknown, value: unknown): Buffer {
  const type = parseSchema(schema);
  return Buffer.concat([SINGLE_OBJECT_MARKER, fingerprintBytes(JSON.stringify(type.schema())), type.toBuffer(value)]);
}

describe.each(VERSIONED)('%s: v1 in schemas/history', (serviceId, stem, recordName) => {
  const v1 = schemaFile(`history/${stem}-v1.avsc`);

  it('has the record full name of the current version and a different fingerprint', () => {
    const type = parseSchema(v1);
    expect(type.name).toBe(recordName);
    expect(fingerprintBytes(JSON.stringify(type.schema()))).not.toEqual(codec.fingerprint(recordName));
  });

  it('a fixture payload written with v1 decodes with the codec as the current record, unchanged', () => {
    const payload = fixture(`${serviceId}.json`);
    const bytes = encodeWith(v1, payload);
    expect(codec.recordNameOf(bytes)).toBe(recordName);
    expect(codec.decode(recordName, bytes)).toEqual(payload);
  });
});

describe('DmfA v2: key fields withheld by a field-level grant', () => {
  const recordName = 'be.bcss.gateway.payload.DmfaPayload';
  const v1 = parseSchema(schemaFile('history/dmfa-payload-v1.avsc'));

  /** The fixture with, in every natural person, the sequence number withheld (the NISS is granted). */
  function withoutSequenceNumbers(): Obj {
    const payload = structuredClone(fixture('dmfa.json')) as Obj;
    let nulled = 0;
    for (const d of payload.employerDeclarations as Obj[]) {
      for (const p of d.naturalPersons as Obj[]) {
        p.sequenceNumber = null;
        nulled++;
      }
    }
    expect(nulled).toBeGreaterThan(0);
    return payload;
  }

  it('a payload with a null key field encodes with the current schema and decodes unchanged', () => {
    const payload = withoutSequenceNumbers();
    const bytes = codec.encode(recordName, payload);
    expect(bytes.subarray(2, 10)).toEqual(codec.fingerprint(recordName));
    expect(codec.decode(recordName, bytes)).toEqual(payload);
  });

  it('every key field of every functional block null (the root NISS and the block structure left) still round-trips', () => {
    const def = service('dmfa');
    const keys = new Set([...def.blocks.values()].filter((b) => !b.technical).flatMap((b) => b.keyFields));
    const nullKeys = (value: unknown): void => {
      if (Array.isArray(value)) for (const v of value) nullKeys(v);
      else if (typeof value === 'object' && value !== null) {
        for (const [k, v] of Object.entries(value as Obj)) {
          if (keys.has(k) && (typeof v !== 'object' || v === null)) (value as Obj)[k] = null;
          else nullKeys(v);
        }
      }
    };
    const payload = structuredClone(fixture('dmfa.json')) as Obj;
    for (const d of payload.employerDeclarations as Obj[]) nullKeys(d);
    const first = (payload.employerDeclarations as Obj[])[0] as Obj;
    expect(first.quarter).toBeNull();
    expect(first.onssNumber).toBeNull();
    expect(first.naturalPersons[0].niss).toBeNull();
    expect(first.naturalPersons[0].workerRecords[0].occupations[0].sequenceNumber).toBeNull();
    expect(payload.niss).not.toBeNull();
    expect(codec.decode(recordName, codec.encode(recordName, payload))).toEqual(payload);
  });

  it('v1 could not carry it: the codec of v1 refuses a null sequence number', () => {
    expect(v1.isValid(withoutSequenceNumbers())).toBe(false);
    expect(v1.isValid(fixture('dmfa.json'))).toBe(true);
  });

  it('the current encoder refuses a payload whose non-nullable root field is null, naming the path', () => {
    const payload = { ...withoutSequenceNumbers(), niss: null };
    expect(() => codec.encode(recordName, payload)).toThrow(CodecError);
    expect(() => codec.encode(recordName, payload)).toThrow(/at niss/);
  });
});
