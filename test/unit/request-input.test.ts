import { describe, expect, it } from 'vitest';
import type { RequestRecord } from '../../src/contract/exchange-records.js';
import {
  buildRequest,
  completeRawRequest,
  parseBlockList,
  requestKey,
  RequestInputError,
  type RequestInput,
  type RequestInputField,
} from '../../src/client/request-input.js';
import { loadAvroCodec } from '../../src/messaging/avro-codec.js';
import { SCHEMA_DIR } from '../../src/config/project-paths.js';

const NOW = Date.UTC(2024, 9, 1, 12, 0, 0);
const context = { requester: 'vaph', now: NOW, newRequestId: () => 'generated-id' };
const base: RequestInput = { service: 'dmfa', subjectNiss: '85073003328', period: '2024Q3' };

function build(overrides: Partial<RequestInput>): RequestRecord {
  return buildRequest({ ...base, ...overrides }, context);
}

function failure(overrides: Partial<RequestInput>, ctx: Parameters<typeof buildRequest>[1] = context): RequestInputError {
  try {
    buildRequest({ ...base, ...overrides }, ctx);
  } catch (error) {
    expect(error).toBeInstanceOf(RequestInputError);
    return error as RequestInputError;
  }
  throw new Error('expected a RequestInputError');
}

describe('buildRequest: the whole record', () => {
  it('fills every field of the Request schema, with the requester, a generated id and the clock', () => {
    expect(buildRequest(base, context)).toEqual({
      requestId: 'generated-id',
      requester: 'vaph',
      onBehalfOf: null,
      service: 'dmfa',
      purpose: null,
      subjectNiss: '85073003328',
      employer: null,
      period: { from: '2024-07-01', to: '2024-09-30' },
      requestedBlocks: null,
      sentAt: NOW,
    });
  });

  it('keeps the caller’s request id, purpose, beneficiary and blocks', () => {
    const record = build({
      requestId: 'vaph-42',
      purpose: '10/012',
      onBehalfOf: 'vaph',
      requestedBlocks: ['dmfa.occupation', 'dmfa.remuneration'],
    });
    expect(record).toMatchObject({
      requestId: 'vaph-42',
      purpose: '10/012',
      onBehalfOf: 'vaph',
      requestedBlocks: ['dmfa.occupation', 'dmfa.remuneration'],
    });
  });

  it('generates a UUID when no id generator is given', () => {
    const record = buildRequest(base, { requester: 'vaph' });
    expect(record.requestId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(buildRequest(base, { requester: 'vaph' }).requestId).not.toBe(record.requestId);
    expect(Math.abs(record.sentAt - Date.now())).toBeLessThan(5_000);
  });

  it('builds records the Avro codec encodes and decodes unchanged', () => {
    const codec = loadAvroCodec(SCHEMA_DIR);
    const records = [
      buildRequest(base, context),
      build({ employer: '0412345614', employerCategory: '322', period: '2024-01-01..', requestedBlocks: ['dmfa.occupation'] }),
      build({ subjectNiss: '', service: 'inami-invalidity-entries', period: '2024Q1..2024Q4' }),
    ];
    for (const record of records) {
      const bytes = codec.encode('be.bcss.gateway.Request', record);
      expect(codec.decode('be.bcss.gateway.Request', bytes)).toEqual(record);
    }
  });
});

describe('buildRequest: subject NISS', () => {
  it.each([
    ['85073003328', '85073003328'],
    ['85.07.30-033.28', '85073003328'],
    ['85-07-30-033-28', '85073003328'],
    [' 85 07 30 033 28 ', '85073003328'],
    ['85273003371', '85273003371'], // BIS +20
    ['17073003384', '17073003384'], // born from 2000
  ])('%j → %s', (input, normalized) => {
    expect(build({ subjectNiss: input }).subjectNiss).toBe(normalized);
  });

  it.each(['', '   '])('%j is a request without a subject (batch services)', (input) => {
    expect(build({ subjectNiss: input }).subjectNiss).toBe('');
  });

  it.each([
    ['85073003329', 'CHECK_DIGITS'],
    ['8507300332', 'LENGTH'],
    ['850730033281', 'LENGTH'],
    ['85/07/30', 'NOT_DIGITS'],
    ['85133003328', 'MONTH'],
    ['85073203328', 'DAY'],
  ])('%j is refused before sending (%s), naming the field', (input, reason) => {
    const error = failure({ subjectNiss: input });
    expect(error.field).toBe('subjectNiss');
    expect(error.reason).toBe(reason);
    expect(error.message).toMatch(/^subjectNiss: /);
  });

  it('refuses a NISS that is not text', () => {
    expect(failure({ subjectNiss: 85073003328 as unknown as string }).reason).toBe('NOT_TEXT');
  });
});

describe('buildRequest: employer', () => {
  it.each<[RequestInput['employer'], RequestRecord['employer']]>([
    ['0412345614', { kind: 'ENTERPRISE', id: '0412345614', category: null }],
    ['0412.345.614', { kind: 'ENTERPRISE', id: '0412345614', category: null }],
    ['BE 0412.345.614', { kind: 'ENTERPRISE', id: '0412345614', category: null }],
    ['123456749', { kind: 'ONSS', id: '123456749', category: null }],
    ['1234567-49', { kind: 'ONSS', id: '123456749', category: null }],
    ['100006', { kind: 'ONSS', id: '000100006', category: null }],
    ['5000000120', { kind: 'ONSS_PROVISIONAL', id: '5000000120', category: null }],
    [{ kind: 'ENTERPRISE', id: '203201340' }, { kind: 'ENTERPRISE', id: '0203201340', category: null }],
    [{ kind: 'ONSS', id: '123456749', category: '322' }, { kind: 'ONSS', id: '123456749', category: '322' }],
    [{ kind: 'AUTO', id: '5123456773' }, { kind: 'ONSS_PROVISIONAL', id: '5123456773', category: null }],
  ])('%j → %j', (employer, expected) => {
    expect(build({ employer }).employer).toEqual(expected);
  });

  it.each([undefined, null, '', '  '])('%j means no employer', (employer) => {
    expect(build({ employer }).employer).toBeNull();
  });

  it('takes the category from employerCategory, or from the employer object when both agree', () => {
    expect(build({ employer: '123456749', employerCategory: '322' }).employer).toEqual({ kind: 'ONSS', id: '123456749', category: '322' });
    expect(build({ employer: { kind: 'ONSS', id: '123456749', category: '322' }, employerCategory: '322' }).employer?.category).toBe('322');
    expect(build({ employer: '123456749', employerCategory: ' ' }).employer?.category).toBeNull();
  });

  it.each<[Partial<RequestInput>, RequestInputField, string]>([
    [{ employer: '0412345615' }, 'employer', 'CHECK_DIGITS'],
    [{ employer: '2203201340' }, 'employer', 'UNRECOGNISED_SHAPE'],
    [{ employer: 'acme' }, 'employer', 'UNRECOGNISED_SHAPE'],
    [{ employer: '203201340' }, 'employer', 'RANGE'],
    [{ employer: { kind: 'ONSS', id: '5000000120' } }, 'employer', 'KIND_MISMATCH'],
    [{ employer: { kind: 'ENTERPRISE', id: '5000000120' } }, 'employer', 'FIRST_DIGIT'],
    [{ employer: { kind: 'KBO' as 'ONSS', id: '0412345614' } }, 'employer', 'KIND'],
    [{ employer: { kind: 'ONSS', id: '123456749', category: '32' } }, 'employer', 'CATEGORY'],
    [{ employer: '123456749', employerCategory: 'abc' }, 'employerCategory', 'CATEGORY'],
    [{ employer: '123456749', employerCategory: '3222' }, 'employerCategory', 'CATEGORY'],
    [{ employerCategory: '322' }, 'employerCategory', 'WITHOUT_EMPLOYER'],
    [{ employer: { kind: 'ONSS', id: '123456749', category: '322' }, employerCategory: '000' }, 'employerCategory', 'CATEGORY_CONFLICT'],
  ])('%j is refused: %s %s', (overrides, field, reason) => {
    const error = failure(overrides);
    expect(error.field).toBe(field);
    expect(error.reason).toBe(reason);
  });
});

describe('buildRequest: period', () => {
  it.each<[RequestInput['period'], RequestRecord['period']]>([
    ['2024Q3', { from: '2024-07-01', to: '2024-09-30' }],
    ['2024q1', { from: '2024-01-01', to: '2024-03-31' }],
    ['20244', { from: '2024-10-01', to: '2024-12-31' }],
    ['2024Q1..2024Q4', { from: '2024-01-01', to: '2024-12-31' }],
    ['2023Q4..2024Q1', { from: '2023-10-01', to: '2024-03-31' }],
    ['2024-01-01..2024-03-31', { from: '2024-01-01', to: '2024-03-31' }],
    ['2024-01-15..2024Q2', { from: '2024-01-15', to: '2024-06-30' }],
    ['2024-01-01..', { from: '2024-01-01', to: null }],
    ['2024Q2..', { from: '2024-04-01', to: null }],
    [' 2024-02-29 ', { from: '2024-02-29', to: '2024-02-29' }],
    ['2024-03-31..2024-03-31', { from: '2024-03-31', to: '2024-03-31' }],
    [{ from: '2024-01-01' }, { from: '2024-01-01', to: null }],
    [{ from: '2024-01-01', to: null }, { from: '2024-01-01', to: null }],
    [{ from: '2024Q1', to: '2024Q2' }, { from: '2024-01-01', to: '2024-06-30' }],
    [{ from: '2024-01-01', to: '' }, { from: '2024-01-01', to: null }],
  ])('%j → %j', (period, expected) => {
    expect(build({ period }).period).toEqual(expected);
  });

  it.each<[RequestInput['period'], string]>([
    ['2024Q5', 'SYNTAX'],
    ['2024', 'SYNTAX'],
    ['Q3 2024', 'SYNTAX'],
    ['2023-02-29', 'SYNTAX'],
    ['2024-01-01..2024-02-30', 'TO_NOT_A_DATE'],
    ['2024-13-01..', 'FROM_NOT_A_DATE'],
    ['..2024-03-31', 'MISSING_FROM'],
    ['2024Q3..2024Q1', 'FROM_AFTER_TO'],
    ['2024-03-31..2024-03-30', 'FROM_AFTER_TO'],
    ['2024Q1..2024Q2..2024Q3', 'SYNTAX'],
    ['', 'SYNTAX'],
    [{ from: '' }, 'MISSING_FROM'],
    [{ from: '2024-04-31' }, 'FROM_NOT_A_DATE'],
    [undefined as unknown as string, 'MISSING_FROM'],
    [20243 as unknown as string, 'SYNTAX'],
  ])('%j is refused before sending (%s)', (period, reason) => {
    const error = failure({ period });
    expect(error.field).toBe('period');
    expect(error.reason).toBe(reason);
  });
});

describe('buildRequest: other fields', () => {
  it('trims service, purpose and the request id; blank optional text is null', () => {
    const record = build({ service: ' dmfa ', purpose: '  ', onBehalfOf: '', requestId: ' r-1 ' });
    expect(record).toMatchObject({ service: 'dmfa', purpose: null, onBehalfOf: null, requestId: 'r-1' });
  });

  it('keeps the order of the blocks asked for, without repeats or blanks around ids', () => {
    expect(build({ requestedBlocks: [' dmfa.occupation', 'dmfa.remuneration', 'dmfa.occupation'] }).requestedBlocks).toEqual([
      'dmfa.occupation',
      'dmfa.remuneration',
    ]);
  });

  it.each<[Partial<RequestInput>, RequestInputField, string]>([
    [{ service: '' }, 'service', 'EMPTY'],
    [{ service: '   ' }, 'service', 'EMPTY'],
    [{ service: undefined as unknown as string }, 'service', 'NOT_TEXT'],
    [{ requestId: '' }, 'requestId', 'EMPTY'],
    [{ onBehalfOf: 'VAPH' }, 'onBehalfOf', 'INSTITUTION_ID'],
    [{ onBehalfOf: 'vaph.requests' }, 'onBehalfOf', 'INSTITUTION_ID'],
    [{ requestedBlocks: [] }, 'requestedBlocks', 'EMPTY_LIST'],
    [{ requestedBlocks: ['dmfa.occupation', ' '] }, 'requestedBlocks', 'EMPTY_BLOCK'],
    [{ requestedBlocks: 'dmfa.occupation' as unknown as string[] }, 'requestedBlocks', 'NOT_A_LIST'],
    [{ purpose: 10 as unknown as string }, 'purpose', 'NOT_TEXT'],
  ])('%j is refused: %s %s', (overrides, field, reason) => {
    const error = failure(overrides);
    expect(error.field).toBe(field);
    expect(error.reason).toBe(reason);
  });

  it('refuses a requester that is not an institution id', () => {
    expect(failure({}, { requester: 'Vaph' }).field).toBe('requester');
    expect(failure({}, { requester: '' }).reason).toBe('EMPTY');
  });

  it('reports the first field at fault, in record order', () => {
    expect(failure({ service: '', subjectNiss: 'x', period: 'never' }).field).toBe('service');
  });

  it('places an error in a bulk call with at()', () => {
    const error = failure({ subjectNiss: '1' }).at(7);
    expect(error.index).toBe(7);
    expect(error.message).toMatch(/^input 7: subjectNiss: a NISS has 11 digits/);
  });
});

describe('helpers', () => {
  it('parseBlockList splits on commas and drops blanks', () => {
    expect(parseBlockList('dmfa.occupation, dmfa.remuneration,,')).toEqual(['dmfa.occupation', 'dmfa.remuneration']);
    expect(parseBlockList('')).toEqual([]);
  });

  it('requestKey is the subject, or the requester for a request without one', () => {
    expect(requestKey({ subjectNiss: '85073003328', requester: 'vaph' })).toBe('85073003328');
    expect(requestKey({ subjectNiss: '', requester: 'inami' })).toBe('inami');
  });

  it('completeRawRequest keeps what it is given, unchecked, and nulls what is missing', () => {
    const record = completeRawRequest(
      { requestId: 'r', requester: 'magda', service: 'dmfa', subjectNiss: '123', period: { from: '2024-01-01' }, employer: { kind: 'ONSS', id: 'x' } },
      NOW,
    );
    expect(record).toEqual({
      requestId: 'r',
      requester: 'magda',
      onBehalfOf: null,
      service: 'dmfa',
      purpose: null,
      subjectNiss: '123',
      employer: { kind: 'ONSS', id: 'x', category: null },
      period: { from: '2024-01-01', to: null },
      requestedBlocks: null,
      sentAt: NOW,
    });
  });
});
