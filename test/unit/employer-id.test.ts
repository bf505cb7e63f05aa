import { describe, expect, it } from 'vitest';
import { detectEmployerKind, employerEquals, parseEmployerId, type EmployerIdErrorReason } from '../../src/domain/employer-id.js';
import type { EmployerKind, EmployerRef } from '../../src/domain/types.js';

describe('detectEmployerKind', () => {
  it.each<[string, EmployerKind | null]>([
    ['0203201340', 'ENTERPRISE'],
    ['0203.201.340', 'ENTERPRISE'],
    ['1000000021', 'ENTERPRISE'],
    ['BE203201340', 'ENTERPRISE'], // prefix makes a 9-digit number an enterprise number
    ['be 0203 201 340', 'ENTERPRISE'],
    ['5000000120', 'ONSS_PROVISIONAL'],
    ['123456749', 'ONSS'],
    ['203201340', 'ONSS'], // 9 digits without prefix: read as ONSS (documented)
    ['100006', 'ONSS'],
    ['2203201340', null],
    ['12345678901', null],
    ['abc', null],
    ['', null],
  ])('%j → %s', (value, kind) => {
    expect(detectEmployerKind(value)).toBe(kind);
  });
});

describe('parseEmployerId', () => {
  it.each<[EmployerKind | 'AUTO', string, EmployerRef]>([
    ['AUTO', '0203.201.340', { kind: 'ENTERPRISE', id: '0203201340' }],
    ['AUTO', 'BE 203.201.340', { kind: 'ENTERPRISE', id: '0203201340' }],
    ['AUTO', '1000.000.021', { kind: 'ENTERPRISE', id: '1000000021' }],
    ['AUTO', '5000000120', { kind: 'ONSS_PROVISIONAL', id: '5000000120' }],
    ['AUTO', '1234567-49', { kind: 'ONSS', id: '123456749' }],
    ['AUTO', '100006', { kind: 'ONSS', id: '000100006' }],
    ['ENTERPRISE', '203201340', { kind: 'ENTERPRISE', id: '0203201340' }], // stated kind wins over shape
    ['ONSS', '123456749', { kind: 'ONSS', id: '123456749' }],
    ['ONSS_PROVISIONAL', '5123456773', { kind: 'ONSS_PROVISIONAL', id: '5123456773' }],
    // 123456749 happens to pass both checks: why AUTO needs a fixed convention (9 digits → ONSS)
    ['ENTERPRISE', '123456749', { kind: 'ENTERPRISE', id: '0123456749' }],
    ['AUTO', '123456749', { kind: 'ONSS', id: '123456749' }],
  ])('%s %j → %j', (kind, value, employer) => {
    expect(parseEmployerId(kind, value)).toEqual({ valid: true, employer });
  });

  it.each<[EmployerKind | 'AUTO', string, EmployerIdErrorReason]>([
    ['AUTO', '0203201341', 'CHECK_DIGITS'],
    ['AUTO', '123456748', 'CHECK_DIGITS'],
    ['AUTO', '5123456774', 'CHECK_DIGITS'],
    ['AUTO', '2203201340', 'UNRECOGNISED_SHAPE'],
    ['AUTO', 'x', 'UNRECOGNISED_SHAPE'],
    ['AUTO', '   ', 'EMPTY'],
    ['AUTO', '203201340', 'RANGE'], // an old enterprise number read as ONSS, out of its range
    ['ENTERPRISE', '000100006', 'CHECK_DIGITS'],
    ['ENTERPRISE', '5000000120', 'FIRST_DIGIT'],
    ['ONSS', '5000000120', 'KIND_MISMATCH'],
    ['ONSS_PROVISIONAL', '123456749', 'KIND_MISMATCH'],
    ['ONSS', '0203201340', 'LENGTH'],
  ])('%s %j → %s', (kind, value, reason) => {
    const r = parseEmployerId(kind, value);
    expect(r.valid).toBe(false);
    if (r.valid) return;
    expect(r.reason).toBe(reason);
    expect(r.kind).toBe(kind);
    expect(r.input).toBe(value);
    expect(r.message).not.toBe('');
  });
});

describe('employerEquals', () => {
  it('compares kind and id', () => {
    expect(employerEquals({ kind: 'ONSS', id: '123456749' }, { kind: 'ONSS', id: '123456749' })).toBe(true);
    expect(employerEquals({ kind: 'ONSS', id: '123456749' }, { kind: 'ONSS', id: '000100006' })).toBe(false);
    expect(employerEquals({ kind: 'ENTERPRISE', id: '0203201340' }, { kind: 'ONSS', id: '0203201340' })).toBe(false);
  });
});
