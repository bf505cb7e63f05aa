import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  isValidOnssNumber,
  ONSS_PROVISIONAL_RANGE,
  ONSS_RANGE,
  parseOnssNumber,
  type OnssKind,
  type OnssNumberErrorReason,
} from '../../src/domain/onss-number.js';

// Values computed: a body followed by two check digits so that the whole number mod 97 = 96
// (e.g. 123456700 mod 97 = 47 → check 49 → 123456749).
const VALID: ReadonlyArray<readonly [string, string, OnssKind]> = [
  ['100006', '000100006', 'ONSS'], // lowest ONSS number
  ['000100006', '000100006', 'ONSS'],
  ['199999934', '199999934', 'ONSS'], // highest
  ['123456749', '123456749', 'ONSS'],
  ['1234567-49', '123456749', 'ONSS'],
  ['123.4567.49', '123456749', 'ONSS'],
  ['5123442', '005123442', 'ONSS'], // short: padded to 9 digits
  ['100000112', '100000112', 'ONSS'],
  ['1234567/49', '123456749', 'ONSS'],
];

// Provisional numbers: the check rule is DERIVED, not published (see onss-number.ts).
const VALID_PROVISIONAL: ReadonlyArray<readonly [string, string]> = [
  ['5000000120', '5000000120'], // lowest of the published range
  ['5999999989', '5999999989'], // highest
  ['5123456773', '5123456773'],
  ['51234567-73', '5123456773'],
];

describe('parseOnssNumber: valid ONSS numbers', () => {
  it.each(VALID)('%j → %s', (input, normalized, kind) => {
    expect(parseOnssNumber(input)).toEqual({ valid: true, normalized, kind });
    expect(isValidOnssNumber(input)).toBe(true);
  });
});

describe('parseOnssNumber: provisional numbers, range plus the mod-97 rule derived from the range bounds', () => {
  it.each(VALID_PROVISIONAL)('%j → %s', (input, normalized) => {
    expect(parseOnssNumber(input)).toEqual({ valid: true, normalized, kind: 'ONSS_PROVISIONAL' });
  });

  it('both published bounds satisfy the derived rule (whole number mod 97 = 96)', () => {
    expect(ONSS_PROVISIONAL_RANGE.min % 97).toBe(96);
    expect(ONSS_PROVISIONAL_RANGE.max % 97).toBe(96);
    expect(ONSS_RANGE.min % 97).toBe(96);
    expect(ONSS_RANGE.max % 97).toBe(96);
  });
});

const INVALID: ReadonlyArray<readonly [string, string, OnssNumberErrorReason]> = [
  ['twin of 123456749', '123456748', 'CHECK_DIGITS'],
  ['twin of 123456749', '123456750', 'CHECK_DIGITS'],
  ['twin of the lowest', '100007', 'CHECK_DIGITS'],
  ['below the range, though mod 97 = 96', '99909', 'RANGE'],
  ['above the range, though mod 97 = 96', '200000031', 'RANGE'],
  ['9 digits starting with 2', '299999999', 'RANGE'],
  ['zero', '0', 'RANGE'],
  ['provisional twin (derived rule), check +1', '5123456774', 'CHECK_DIGITS'],
  ['provisional body 50000000: mod 97 = 96 but below the range', '5000000023', 'RANGE'],
  ['provisional above the range', '5999999999', 'RANGE'],
  ['10 digits not starting with 5', '1234567890', 'LENGTH'],
  ['11 digits', '51234567730', 'LENGTH'],
  ['letters', '12345674A', 'NOT_DIGITS'],
  ['empty', '', 'EMPTY'],
  ['separators only', ' - ', 'EMPTY'],
];

describe('parseOnssNumber: invalid', () => {
  it.each(INVALID)('%s (%j) → %s', (_name, input, reason) => {
    const r = parseOnssNumber(input);
    expect(r.valid).toBe(false);
    if (r.valid) return;
    expect(r.reason).toBe(reason);
    expect(r.input).toBe(input);
    expect(isValidOnssNumber(input)).toBe(false);
  });
});

describe('ONSS number properties', () => {
  it('in range, valid exactly when the number mod 97 is 96', () => {
    fc.assert(
      fc.property(fc.integer({ min: ONSS_RANGE.min, max: ONSS_RANGE.max }), (n) => {
        const r = parseOnssNumber(String(n));
        expect(r.valid).toBe(n % 97 === 96);
        if (r.valid) expect(r.normalized).toBe(String(n).padStart(9, '0'));
      }),
      { numRuns: 3000 },
    );
  });

  it('provisional in range, valid exactly when the number mod 97 is 96 (derived rule)', () => {
    fc.assert(
      fc.property(fc.integer({ min: ONSS_PROVISIONAL_RANGE.min, max: ONSS_PROVISIONAL_RANGE.max }), (n) => {
        expect(parseOnssNumber(String(n)).valid).toBe(n % 97 === 96);
      }),
      { numRuns: 3000 },
    );
  });
});
