import { describe, expect, it } from 'vitest';
import { CodecError, createAvroCodec, parseSchema } from '../../src/messaging/avro-codec.js';
import { crc64Avro, fingerprintBytes } from '../../src/messaging/crc64-avro.js';

const personV1 = {
  type: 'record',
  name: 'Person',
  namespace: 'test.codec',
  fields: [
    { name: 'niss', type: 'string' },
    { name: 'birthDate', type: { type: 'int', logicalType: 'date' } },
  ],
};
const personV2 = {
  ...personV1,
  fields: [...personV1.fields, { name: 'nickname', type: ['null', 'string'], default: null }],
};
const other = { type: 'record', name: 'Other', namespace: 'test.codec', fields: [{ name: 'x', type: 'long' }] };

describe('CRC-64-AVRO', () => {
  it('matches the specification test vector for the schema "int"', () => {
    expect(crc64Avro(Buffer.from('"int"'))).toBe(0x7275d51a3f395c8fn);
    expect(fingerprintBytes('"int"')).toEqual(Buffer.from([0x8f, 0x5c, 0x39, 0x3f, 0x1a, 0xd5, 0x75, 0x72]));
  });

  it('differs for different canonical forms', () => {
    expect(crc64Avro(Buffer.from('"long"'))).not.toBe(crc64Avro(Buffer.from('"int"')));
  });

  it('hashes the parsing canonical form, so doc strings do not change the fingerprint', () => {
    const documented = { ...personV1, doc: 'a person' };
    const a = JSON.stringify(parseSchema(personV1).schema());
    const b = JSON.stringify(parseSchema(documented).schema());
    expect(a).toBe(b);
  });
});

describe('single-object encoding', () => {
  const codec = createAvroCodec({ current: [personV2, other], history: [personV1] });

  it('writes marker, fingerprint and body, and reads them back', () => {
    const value = { niss: '85073003328', birthDate: '1985-07-30', nickname: null };
    const bytes = codec.encode('test.codec.Person', value);
    expect(bytes.subarray(0, 2)).toEqual(Buffer.from([0xc3, 0x01]));
    expect(bytes.subarray(2, 10)).toEqual(codec.fingerprint('test.codec.Person'));
    expect(codec.decode('test.codec.Person', bytes)).toEqual(value);
    expect(codec.recordNameOf(bytes)).toBe('test.codec.Person');
  });

  it('resolves a message written with an older version of the schema', () => {
    const old = createAvroCodec({ current: [personV1] });
    const bytes = old.encode('test.codec.Person', { niss: '85073003328', birthDate: '2001-02-28' });
    expect(codec.decode('test.codec.Person', bytes)).toEqual({
      niss: '85073003328',
      birthDate: '2001-02-28',
      nickname: null,
    });
  });

  const failures: Array<[string, Buffer, string]> = [
    ['empty', Buffer.alloc(0), 'TRUNCATED'],
    ['header only, short', Buffer.from([0xc3, 0x01, 1, 2]), 'TRUNCATED'],
    ['wrong marker', Buffer.from([0xc3, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0]), 'BAD_MARKER'],
    ['unknown fingerprint', Buffer.from([0xc3, 0x01, 1, 2, 3, 4, 5, 6, 7, 8, 0]), 'UNKNOWN_FINGERPRINT'],
  ];
  it.each(failures)('refuses %s with %s', (_label, bytes, code) => {
    expect(() => codec.decode('test.codec.Person', bytes)).toThrowError(
      expect.objectContaining({ code }) as unknown as Error,
    );
  });

  it('refuses a truncated body and trailing bytes as MALFORMED_BODY', () => {
    const bytes = codec.encode('test.codec.Person', { niss: '85073003328', birthDate: '1985-07-30', nickname: 'x' });
    for (const broken of [bytes.subarray(0, bytes.length - 2), Buffer.concat([bytes, Buffer.from([1, 2])])]) {
      let caught: unknown;
      try {
        codec.decode('test.codec.Person', broken);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(CodecError);
      expect((caught as CodecError).code).toBe('MALFORMED_BODY');
    }
  });

  it('refuses a message of another record type', () => {
    const bytes = codec.encode('test.codec.Other', { x: 5 });
    expect(() => codec.decode('test.codec.Person', bytes)).toThrowError(/expected a test.codec.Person/);
  });

  describe('tryDecode', () => {
    it('returns the value, resolving an older writer like decode', () => {
      const value = { niss: '85073003328', birthDate: '1985-07-30', nickname: null };
      expect(codec.tryDecode('test.codec.Person', codec.encode('test.codec.Person', value))).toEqual(value);
      const old = createAvroCodec({ current: [personV1] });
      expect(codec.tryDecode('test.codec.Person', old.encode('test.codec.Person', { niss: '1', birthDate: '2001-02-28' }))).toEqual({
        niss: '1',
        birthDate: '2001-02-28',
        nickname: null,
      });
    });

    it.each([
      ['absent', null],
      ['undefined', undefined],
      ['empty', Buffer.alloc(0)],
    ])('returns TRUNCATED "empty message" for an %s message', (_label, bytes) => {
      const result = codec.tryDecode('test.codec.Person', bytes);
      expect(result).toBeInstanceOf(CodecError);
      expect(result).toMatchObject({ code: 'TRUNCATED', message: 'empty message' });
    });

    it.each(failures.slice(1))('returns the CodecError decode throws for %s (%s)', (_label, bytes, code) => {
      const result = codec.tryDecode('test.codec.Person', bytes);
      expect(result).toBeInstanceOf(CodecError);
      expect((result as CodecError).code).toBe(code);
    });

    it('returns MALFORMED_BODY for a broken body and INCOMPATIBLE_SCHEMA for another record', () => {
      const bytes = codec.encode('test.codec.Person', { niss: '85073003328', birthDate: '1985-07-30', nickname: 'x' });
      expect(codec.tryDecode('test.codec.Person', bytes.subarray(0, bytes.length - 2))).toMatchObject({ code: 'MALFORMED_BODY' });
      const other = codec.tryDecode('test.codec.Person', codec.encode('test.codec.Other', { x: 5 }));
      expect(other).toBeInstanceOf(CodecError);
      expect(other).toMatchObject({ code: 'INCOMPATIBLE_SCHEMA', message: expect.stringMatching(/expected a test.codec.Person/) as unknown });
    });

    it('returns any other failure as MALFORMED_BODY, naming the record, instead of throwing', () => {
      const bytes = codec.encode('test.codec.Person', { niss: '85073003328', birthDate: '1985-07-30', nickname: null });
      const result = codec.tryDecode('test.codec.Nobody', bytes);
      expect(result).toBeInstanceOf(CodecError);
      expect(result).toMatchObject({ code: 'MALFORMED_BODY', message: 'the test.codec.Nobody could not be decoded' });
      expect((result as CodecError).cause).toBeInstanceOf(Error);
    });
  });

  it('refuses to encode an invalid value and names the path', () => {
    expect(() => codec.encode('test.codec.Person', { niss: 12, birthDate: '1985-07-30', nickname: null })).toThrowError(
      /niss/,
    );
    expect(() => codec.encode('test.codec.Person', { niss: '1', birthDate: '30/07/1985', nickname: null })).toThrowError(
      /birthDate/,
    );
  });

  it('refuses every kind of invalid value with INVALID_VALUE naming each bad path, and encodes a valid one as before', () => {
    const nested = {
      type: 'record',
      name: 'Holder',
      namespace: 'test.codec',
      fields: [
        { name: 'count', type: 'int' },
        { name: 'rows', type: { type: 'array', items: { type: 'record', name: 'Row', fields: [{ name: 'code', type: ['null', 'string'] }] } } },
      ],
    };
    const holders = createAvroCodec({ current: [nested] });
    const refusedAt = (value: unknown): string => {
      try {
        holders.encode('test.codec.Holder', value);
      } catch (error) {
        expect(error).toBeInstanceOf(CodecError);
        expect((error as CodecError).code).toBe('INVALID_VALUE');
        return (error as CodecError).message;
      }
      throw new Error('encoded an invalid value');
    };
    expect(refusedAt({ count: 2 ** 31, rows: [] })).toBe('value is not a valid test.codec.Holder at count');
    expect(refusedAt({ count: 1, rows: [{ code: 'a' }, { code: 7 }] })).toBe('value is not a valid test.codec.Holder at rows.1.code');
    expect(refusedAt({ count: 1.5, rows: [{}] })).toBe('value is not a valid test.codec.Holder at count, rows.0.code');
    expect(refusedAt({ count: 1 })).toBe('value is not a valid test.codec.Holder at rows');
    expect(refusedAt(null)).toMatch(/^value is not a valid test.codec.Holder at /);
    const value = { count: 3, rows: [{ code: null }, { code: 'x' }] };
    expect(holders.decode('test.codec.Holder', holders.encode('test.codec.Holder', value))).toEqual(value);
  });
});

describe('the date logical type', () => {
  const codec = createAvroCodec({ current: [personV2] });
  it.each(['2024-02-30', '2023-02-29', '2024-13-01', '24-01-01', '2024-1-1'])('refuses %s rather than rolling it over', (date) => {
    expect(() => codec.encode('test.codec.Person', { niss: '1', birthDate: date, nickname: null })).toThrowError(/birthDate/);
  });
  it.each(['2024-02-29', '1900-01-01', '2099-12-31'])('accepts the real date %s', (date) => {
    const bytes = codec.encode('test.codec.Person', { niss: '1', birthDate: date, nickname: null });
    expect(codec.decode<{ birthDate: string }>('test.codec.Person', bytes).birthDate).toBe(date);
  });
});

describe('the date logical type', () => {
  const dateType = parseSchema({ type: 'int', logicalType: 'date' });
  const plainInt = parseSchema('int');

  it('maps every day from 1900 to 2100 to its days since the epoch and back, as the calendar does', () => {
    for (let days = -25_567; days <= 47_482; days++) {
      const iso = new Date(days * 86_400_000).toISOString().slice(0, 10);
      const bytes = dateType.toBuffer(iso);
      expect(plainInt.fromBuffer(bytes)).toBe(days);
      expect(dateType.fromBuffer(bytes)).toBe(iso);
    }
  });

  it('refuses days that do not exist and anything not written YYYY-MM-DD, also after the same text was cached', () => {
    for (const bad of ['2024-02-30', '2023-02-29', '2024-04-31', '2024-13-01', '2024-00-10', '2024-1-01', '2024-01-01T00:00', 20240101]) {
      expect(dateType.isValid(bad), String(bad)).toBe(false);
      expect(dateType.isValid(bad), `${String(bad)} again`).toBe(false);
    }
    expect(dateType.isValid('2024-02-29')).toBe(true);
    expect(dateType.isValid('2000-02-29')).toBe(true);
    expect(dateType.isValid('1900-02-29')).toBe(false);
  });
});

describe('dates outside the years 0001–9999', () => {
  const codec = createAvroCodec({ current: [personV2] });
  const header = Buffer.concat([Buffer.from([0xc3, 0x01]), codec.fingerprint('test.codec.Person')]);
  /** A Person body written by hand: niss "1", the day number as given, no nickname. */
  const withDay = (days: number) => Buffer.concat([header, Buffer.from([2, 0x31]), parseSchema('int').toBuffer(days), Buffer.from([0])]);

  it.each([
    ['the day after 9999-12-31', 2_932_897],
    ['year 10183, which would read "+010183-09"', 3_000_000],
    ['the day before 0001-01-01', -719_163],
    ['the largest int, beyond any Date', 2_147_483_647],
    ['the smallest int', -2_147_483_648],
  ])('refuses %s as MALFORMED_BODY', (_label, days) => {
    expect(() => codec.decode('test.codec.Person', withDay(days))).toThrowError(
      expect.objectContaining({ code: 'MALFORMED_BODY' }) as unknown as Error,
    );
  });

  it('reads the first and the last day, and refuses to write year 0000', () => {
    expect(codec.decode<{ birthDate: string }>('test.codec.Person', withDay(-719_162)).birthDate).toBe('0001-01-01');
    expect(codec.decode<{ birthDate: string }>('test.codec.Person', withDay(2_932_896)).birthDate).toBe('9999-12-31');
    expect(() => codec.encode('test.codec.Person', { niss: '1', birthDate: '0000-06-01', nickname: null })).toThrowError(/birthDate/);
  });
});

describe('array and map block counts', () => {
  const listV1 = {
    type: 'record',
    name: 'Listing',
    namespace: 'test.codec',
    fields: [
      { name: 'items', type: { type: 'array', items: 'string' } },
      { name: 'flags', type: { type: 'array', items: 'null' } },
      { name: 'labels', type: { type: 'map', values: 'long' } },
    ],
  };
  const listV2 = { ...listV1, fields: [...listV1.fields, { name: 'note', type: ['null', 'string'], default: null }] };
  const codec = createAvroCodec({ current: [listV2], history: [listV1] });
  const v1 = createAvroCodec({ current: [listV1] });
  const zigzag = (n: number) => parseSchema('long').toBuffer(n);
  const body = (...parts: Buffer[]) => Buffer.concat([Buffer.from([0xc3, 0x01]), codec.fingerprint('test.codec.Listing'), ...parts]);
  const expectMalformed = (bytes: Buffer, decoder = codec) => {
    const started = performance.now();
    expect(() => decoder.decode('test.codec.Listing', bytes)).toThrowError(
      expect.objectContaining({ code: 'MALFORMED_BODY' }) as unknown as Error,
    );
    // Refused before anything is allocated or looped over: no time to speak of.
    expect(performance.now() - started).toBeLessThan(200);
  };

  it('refuses a count of 2^31 − 1 items in a 25-byte message at once (avsc alone would fill the heap and crash)', () => {
    const bomb = body(zigzag(2 ** 31 - 1));
    expect(bomb.length).toBeLessThanOrEqual(25);
    expectMalformed(bomb);
  });

  it('refuses a count larger than the bytes left, also in a block of negative count (followed by its size)', () => {
    expectMalformed(body(zigzag(1_000), Buffer.from('abc')));
    expectMalformed(body(zigzag(-1_000_000), zigzag(3), Buffer.from([2, 0x61, 0])));
  });

  it('refuses a map claiming more entries than the bytes left', () => {
    expectMalformed(body(Buffer.from([0, 0]), zigzag(2 ** 40)));
  });

  it('refuses the same through a resolver of an older writer', () => {
    const bomb = Buffer.concat([Buffer.from([0xc3, 0x01]), v1.fingerprint('test.codec.Listing'), zigzag(2 ** 31 - 1)]);
    expectMalformed(bomb);
  });

  it('still reads arrays in several blocks, negative counts with their size, items of no bytes and maps', () => {
    const value = { items: ['a', 'bc'], flags: [null, null, null], labels: { x: 1, y: -2 }, note: null };
    expect(codec.decode('test.codec.Listing', codec.encode('test.codec.Listing', value))).toEqual(value);
    const written = body(
      // items: a block of -1 item (size 2) "a", then a block of 1 item "bc", then the end.
      zigzag(-1), zigzag(2), Buffer.from([2, 0x61]), zigzag(1), Buffer.from([4, 0x62, 0x63]), zigzag(0),
      // flags: 1,000 nulls take no byte.
      zigzag(1_000), zigzag(0),
      zigzag(0),
      Buffer.from([0]),
    );
    expect(codec.decode('test.codec.Listing', written)).toEqual({ items: ['a', 'bc'], flags: Array(1_000).fill(null), labels: {}, note: null });
    expect(codec.decode('test.codec.Listing', v1.encode('test.codec.Listing', { items: ['z'], flags: [], labels: { k: 7 } }))).toEqual({
      items: ['z'],
      flags: [],
      labels: { k: 7 },
      note: null,
    });
  });

  it('bounds items of no bytes by a count, since the bytes left cannot', () => {
    expectMalformed(body(zigzag(0), zigzag(70_000), zigzag(0), zigzag(0), Buffer.from([0])));
    expectMalformed(body(zigzag(0), zigzag(40_000), zigzag(40_000), zigzag(0), zigzag(0), Buffer.from([0])));
  });
});
