import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  formatEnterpriseNumber,
  isValidEnterpriseNumber,
  parseEnterpriseNumber,
  type EnterpriseNumberErrorReason,
} from '../../src/domain/enterprise-number.js';

// Check digits verified by computation: 97 - (first 8 digits mod 97). The 0-numbers are published
// enterprise numbers whose check digits we recomputed; the 1-numbers are constructed (the 1-series
// is recent), e.g. 10000000 mod 97 = 76 → 21.
const VALID: ReadonlyArray<readonly [string, string]> = [
  ['0203.201.340', '0203201340'],
  ['0202.239.951', '0202239951'],
  ['0462.920.226', '0462920226'],
  ['0403.170.701', '0403170701'],
  ['0417.497.106', '0417497106'],
  ['0453.834.195', '0453834195'],
  ['1000.000.021', '1000000021'],
  ['1002.345.639', '1002345639'],
  ['1999.999.943', '1999999943'],
  ['1000.004.375', '1000004375'],
  ['0203.205.397', '0203205397'], // first 8 digits a multiple of 97: check 97
  ['0203201340', '0203201340'],
  ['BE0203201340', '0203201340'],
  ['BE 0203.201.340', '0203201340'],
  ['be0203-201-340', '0203201340'],
  ['Be 1000 000 021', '1000000021'],
  ['203.201.340', '0203201340'], // old 9-digit form
  ['BE 203201340', '0203201340'],
  ['  0203 201 340  ', '0203201340'],
];

describe('parseEnterpriseNumber: valid', () => {
  it.each(VALID)('%j → %s', (input, normalized) => {
    expect(parseEnterpriseNumber(input)).toEqual({ valid: true, normalized });
    expect(isValidEnterpriseNumber(input)).toBe(true);
  });
});

const INVALID: ReadonlyArray<readonly [string, string, EnterpriseNumberErrorReason]> = [
  ['twin of 0203.201.340, check +1', '0203201341', 'CHECK_DIGITS'],
  ['twin of 0203.201.340, check −1', '0203201339', 'CHECK_DIGITS'],
  ['twin of 1000.000.021', '1000000022', 'CHECK_DIGITS'],
  ['twin of 0202.239.951', '0202239952', 'CHECK_DIGITS'],
  ['two digits swapped', '0230201340', 'CHECK_DIGITS'],
  ['check 00 never matches', '0203205300', 'CHECK_DIGITS'],
  ['old form, wrong check', '203201341', 'CHECK_DIGITS'],
  ['starts with 2 (an establishment-unit number)', '2203201340', 'FIRST_DIGIT'],
  ['starts with 9', '9999999999', 'FIRST_DIGIT'],
  ['8 digits', '02032013', 'LENGTH'],
  ['11 digits', '02032013400', 'LENGTH'],
  ['letters', '0203A01340', 'NOT_DIGITS'],
  ['another country prefix', 'NL0203201340', 'NOT_DIGITS'],
  ['slash separator', '0203/201/340', 'NOT_DIGITS'],
  ['empty', '', 'EMPTY'],
  ['prefix only', 'BE', 'EMPTY'],
];

describe('parseEnterpriseNumber: invalid', () => {
  it.each(INVALID)('%s (%j) → %s', (_name, input, reason) => {
    const r = parseEnterpriseNumber(input);
    expect(r.valid).toBe(false);
    if (r.valid) return;
    expect(r.reason).toBe(reason);
    expect(r.input).toBe(input);
    expect(r.message).not.toBe('');
    expect(isValidEnterpriseNumber(input)).toBe(false);
  });
});

describe('enterprise number properties', () => {
  it('exactly one check value is valid for every body starting 0 or 1', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 19_999_999 }), fc.integer({ min: 0, max: 99 }), (body, check) => {
        const n = `${String(body).padStart(8, '0')}${String(check).padStart(2, '0')}`;
        expect(isValidEnterpriseNumber(n)).toBe(check === 97 - (body % 97));
      }),
      { numRuns: 3000 },
    );
  });
});

describe('formatEnterpriseNumber', () => {
  it.each([
    ['0203201340', '0203.201.340'],
    ['BE 203201340', '0203.201.340'],
    ['1000000021', '1000.000.021'],
  ])('%j → %s', (input, expected) => {
    expect(formatEnterpriseNumber(input)).toBe(expected);
  });

  it('null when there are not 9 or 10 digits', () => {
    expect(formatEnterpriseNumber('12345')).toBeNull();
  });
});
