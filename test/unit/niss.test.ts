import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatNiss, isValidNiss, parseNiss, type NissErrorReason } from '../../src/domain/niss.js';

// Every check value below was computed by hand (python: 97 - n % 97, with n = YYMMDDSSS for births
// before 2000 and n = 2_000_000_000 + YYMMDDSSS from 2000 on), not copied from a source.

interface ValidCase {
  readonly input: string;
  readonly normalized: string;
  readonly kind: 'NN' | 'BIS';
  readonly bisKind?: 'MONTH_PLUS_20' | 'MONTH_PLUS_40';
  readonly birthDate: string | null;
  readonly birthYear: number | undefined;
  readonly sex: 'M' | 'F' | null;
}

const VALID: Record<string, ValidCase> = {
  'the commonly cited example, 1985, male (97 - 850730033 mod 97 = 28)': {
    input: '85.07.30-033.28', normalized: '85073003328', kind: 'NN', birthDate: '1985-07-30', birthYear: 1985, sex: 'M',
  },
  'post-2000 example, computed on 2170730033 (= 84)': {
    input: '17.07.30-033.84', normalized: '17073003384', kind: 'NN', birthDate: '2017-07-30', birthYear: 2017, sex: 'M',
  },
  'same nine digits, pre-2000 check 55: born 1917, not 2017': {
    input: '17073003355', normalized: '17073003355', kind: 'NN', birthDate: '1917-07-30', birthYear: 1917, sex: 'M',
  },
  'even sequence: female, 1985': {
    input: '85073003427', normalized: '85073003427', kind: 'NN', birthDate: '1985-07-30', birthYear: 1985, sex: 'F',
  },
  'even sequence: female, 2017': {
    input: '17073003483', normalized: '17073003483', kind: 'NN', birthDate: '2017-07-30', birthYear: 2017, sex: 'F',
  },
  'check digits 97 (YYMMDDSSS a multiple of 97)': {
    input: '85073006197', normalized: '85073006197', kind: 'NN', birthDate: '1985-07-30', birthYear: 1985, sex: 'M',
  },
  'check digits 97 after 2000': {
    input: '17073002097', normalized: '17073002097', kind: 'NN', birthDate: '2017-07-30', birthYear: 2017, sex: 'F',
  },
  'BIS month +20: sex unknown even with an odd sequence': {
    input: '85273003371', normalized: '85273003371', kind: 'BIS', bisKind: 'MONTH_PLUS_20', birthDate: '1985-07-30', birthYear: 1985, sex: null,
  },
  'BIS month +40, odd sequence: male': {
    input: '85473003317', normalized: '85473003317', kind: 'BIS', bisKind: 'MONTH_PLUS_40', birthDate: '1985-07-30', birthYear: 1985, sex: 'M',
  },
  'BIS month +40, even sequence: female': {
    input: '85473003416', normalized: '85473003416', kind: 'BIS', bisKind: 'MONTH_PLUS_40', birthDate: '1985-07-30', birthYear: 1985, sex: 'F',
  },
  'BIS +20 born 2005': {
    input: '05273000104', normalized: '05273000104', kind: 'BIS', bisKind: 'MONTH_PLUS_20', birthDate: '2005-07-30', birthYear: 2005, sex: null,
  },
  'BIS +40 born 2005, female': {
    input: '05473000246', normalized: '05473000246', kind: 'BIS', bisKind: 'MONTH_PLUS_40', birthDate: '2005-07-30', birthYear: 2005, sex: 'F',
  },
  'BIS month 32 = December': {
    input: '85320003336', normalized: '85320003336', kind: 'BIS', bisKind: 'MONTH_PLUS_20', birthDate: null, birthYear: 1985, sex: null,
  },
  'BIS month 52 = December, day unknown': {
    input: '85520003379', normalized: '85520003379', kind: 'BIS', bisKind: 'MONTH_PLUS_40', birthDate: null, birthYear: 1985, sex: 'M',
  },
  'BIS month 20 = month unknown, day unknown': {
    input: '85200003349', normalized: '85200003349', kind: 'BIS', bisKind: 'MONTH_PLUS_20', birthDate: null, birthYear: 1985, sex: null,
  },
  'BIS month 40 = month unknown': {
    input: '85400003491', normalized: '85400003491', kind: 'BIS', bisKind: 'MONTH_PLUS_40', birthDate: null, birthYear: 1985, sex: 'F',
  },
  'month and day unknown (850000): year known only': {
    input: '85000003306', normalized: '85000003306', kind: 'NN', birthDate: null, birthYear: 1985, sex: 'M',
  },
  'day unknown (850700)': {
    input: '85070003355', normalized: '85070003355', kind: 'NN', birthDate: null, birthYear: 1985, sex: 'M',
  },
  'day beyond the month: 30 February': {
    input: '85023003390', normalized: '85023003390', kind: 'NN', birthDate: null, birthYear: 1985, sex: 'M',
  },
  'day beyond the month: 31 April': {
    input: '85043103374', normalized: '85043103374', kind: 'NN', birthDate: null, birthYear: 1985, sex: 'M',
  },
  '29 February of a leap year (1984) is a real date': {
    input: '84022903302', normalized: '84022903302', kind: 'NN', birthDate: '1984-02-29', birthYear: 1984, sex: 'M',
  },
  '29 February of 1985 is legal but not a real date': {
    input: '85022903323', normalized: '85022903323', kind: 'NN', birthDate: null, birthYear: 1985, sex: 'M',
  },
  '29 February 2000 (the 2000 rule, and 2000 is a leap year)': {
    input: '00022903313', normalized: '00022903313', kind: 'NN', birthDate: '2000-02-29', birthYear: 2000, sex: 'M',
  },
  '29 February 1900 does not exist (1900 is not a leap year)': {
    input: '00022903381', normalized: '00022903381', kind: 'NN', birthDate: null, birthYear: 1900, sex: 'M',
  },
  '1 January 2000, first day of the 2000 rule': {
    input: '00010100105', normalized: '00010100105', kind: 'NN', birthDate: '2000-01-01', birthYear: 2000, sex: 'M',
  },
  '31 December 1999, last day before it': {
    input: '99123199940', normalized: '99123199940', kind: 'NN', birthDate: '1999-12-31', birthYear: 1999, sex: 'M',
  },
  '99 with the 2000 check is 2099, the check decides, not the digits': {
    input: '99123199870', normalized: '99123199870', kind: 'NN', birthDate: '2099-12-31', birthYear: 2099, sex: 'F',
  },
  'fictitious date 000001 (pre-2000 check): nothing known': {
    input: '00000100166', normalized: '00000100166', kind: 'NN', birthDate: null, birthYear: undefined, sex: 'M',
  },
  'fictitious date 000001 (2000 check)': {
    input: '00000100195', normalized: '00000100195', kind: 'NN', birthDate: null, birthYear: undefined, sex: 'M',
  },
  'fictitious date in a BIS +20 number (002001)': {
    input: '00200100112', normalized: '00200100112', kind: 'BIS', bisKind: 'MONTH_PLUS_20', birthDate: null, birthYear: undefined, sex: null,
  },
  'fictitious date in a BIS +40 number (004001)': {
    input: '00400100283', normalized: '00400100283', kind: 'BIS', bisKind: 'MONTH_PLUS_40', birthDate: null, birthYear: undefined, sex: 'F',
  },
  'separators: spaces': {
    input: '85 07 30 033 28', normalized: '85073003328', kind: 'NN', birthDate: '1985-07-30', birthYear: 1985, sex: 'M',
  },
  'separators: dashes only': {
    input: '850730-033-28', normalized: '85073003328', kind: 'NN', birthDate: '1985-07-30', birthYear: 1985, sex: 'M',
  },
  'surrounding white space (a CRLF line from a file) is trimmed': {
    input: '\t85073003328\r\n', normalized: '85073003328', kind: 'NN', birthDate: '1985-07-30', birthYear: 1985, sex: 'M',
  },
  'separators: surrounding spaces and mixed': {
    input: '  85.07.30 - 033.28 ', normalized: '85073003328', kind: 'NN', birthDate: '1985-07-30', birthYear: 1985, sex: 'M',
  },
};

describe('parseNiss: valid numbers', () => {
  it.each(Object.entries(VALID))('%s', (_name, c) => {
    const r = parseNiss(c.input);
    expect(r).toEqual({
      valid: true,
      normalized: c.normalized,
      kind: c.kind,
      ...(c.bisKind === undefined ? {} : { bisKind: c.bisKind }),
      birthDate: c.birthDate,
      ...(c.birthYear === undefined ? {} : { birthYear: c.birthYear }),
      sex: c.sex,
    });
    expect(isValidNiss(c.input)).toBe(true);
  });
});

const INVALID: ReadonlyArray<readonly [string, string, NissErrorReason]> = [
  ['twin of 85.07.30-033.28, check +1', '85073003329', 'CHECK_DIGITS'],
  ['twin of 85.07.30-033.28, check −1', '85073003327', 'CHECK_DIGITS'],
  ['twin of 17.07.30-033.84, check +1', '17073003385', 'CHECK_DIGITS'],
  ['twin of 17.07.30-033.84, check −1', '17073003383', 'CHECK_DIGITS'],
  ['a sequence digit changed', '85073003428', 'CHECK_DIGITS'],
  ['check digits 00 never match', '85073003300', 'CHECK_DIGITS'],
  ['twin of a BIS +20 number', '85273003372', 'CHECK_DIGITS'],
  ['twin of the fictitious date', '00000100167', 'CHECK_DIGITS'],
  ['month 13', '85133003300', 'MONTH'],
  ['month 19', '85193003300', 'MONTH'],
  ['month 33 (BIS +20 of 13)', '85333003300', 'MONTH'],
  ['month 39', '85393003300', 'MONTH'],
  ['month 53 (BIS +40 of 13)', '85533003300', 'MONTH'],
  ['month 60', '85603003300', 'MONTH'],
  ['month 99', '85993003300', 'MONTH'],
  ['day 32', '85073203300', 'DAY'],
  ['day 99', '85079903300', 'DAY'],
  ['month unknown but day given', '85000503300', 'DAY'],
  ['000001 is fictitious only with year 00', '85000103300', 'DAY'],
  ['BIS month unknown (20) but day given', '85200503300', 'DAY'],
  ['10 digits', '8507300332', 'LENGTH'],
  ['12 digits', '850730033280', 'LENGTH'],
  ['9 digits with separators', '85.07.30-033', 'LENGTH'],
  ['a letter', '8507300332A', 'NOT_DIGITS'],
  ['letters only', 'abcdefghijk', 'NOT_DIGITS'],
  ['slash is not a separator', '85/07/30-033.28', 'NOT_DIGITS'],
  ['an inner tab', '85073\t003328', 'NOT_DIGITS'],
  ['full-width digits are not digits', '８5073003328', 'NOT_DIGITS'],
  ['empty', '', 'EMPTY'],
  ['separators only', ' .-. ', 'EMPTY'],
];

describe('parseNiss: invalid numbers', () => {
  it.each(INVALID)('%s (%s) → %s', (_name, input, reason) => {
    const r = parseNiss(input);
    expect(r.valid).toBe(false);
    if (r.valid) return;
    expect(r.reason).toBe(reason);
    expect(r.input).toBe(input);
    expect(r.message.length).toBeGreaterThan(10);
    expect(isValidNiss(input)).toBe(false);
  });

  it('names the offending month in the message', () => {
    const r = parseNiss('85133003300');
    expect(!r.valid && r.message).toContain('13');
  });

  it('tells the digit count when the length is wrong', () => {
    const r = parseNiss('85.07.30-033');
    expect(!r.valid && r.message).toContain('got 9');
  });
});

describe('the two check computations', () => {
  it('can never both match: they differ by 2000000000 mod 97 = 68 for every body', () => {
    expect(2_000_000_000 % 97).toBe(68);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 999_999_999 }), (body) => {
        expect(97 - (body % 97)).not.toBe(97 - ((2_000_000_000 + body) % 97));
      }),
    );
  });

  it('the computation that matches decides the century, the sequence the sex', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 99 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 28 }),
        fc.integer({ min: 1, max: 998 }),
        (yy, mm, dd, seq) => {
          const body = `${pad(yy, 2)}${pad(mm, 2)}${pad(dd, 2)}${pad(seq, 3)}`;
          const old = parseNiss(body + pad(97 - (Number(body) % 97), 2));
          const recent = parseNiss(body + pad(97 - ((2_000_000_000 + Number(body)) % 97), 2));
          expect(old.valid && old.birthYear).toBe(1900 + yy);
          expect(recent.valid && recent.birthYear).toBe(2000 + yy);
          expect(old.valid && old.sex).toBe(seq % 2 === 1 ? 'M' : 'F');
        },
      ),
    );
  });
});

describe('isValidNiss agrees with parseNiss', () => {
  it('on arbitrary strings of digits and separators', () => {
    const chars = fc.constantFrom(...'0123456789.- x'.split(''));
    fc.assert(
      fc.property(fc.array(chars, { maxLength: 16 }), (cs) => {
        const s = cs.join('');
        expect(isValidNiss(s)).toBe(parseNiss(s).valid);
      }),
      { numRuns: 2000 },
    );
  });

  it('on 11-digit strings', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 99_999_999_999 }), (n) => {
        const s = pad(n, 11);
        expect(isValidNiss(s)).toBe(parseNiss(s).valid);
      }),
      { numRuns: 5000 },
    );
  });
});

describe('formatNiss', () => {
  it.each([
    ['85073003328', '85.07.30-033.28'],
    ['85 07 30 033 28', '85.07.30-033.28'],
    ['17.07.30-033.84', '17.07.30-033.84'],
    ['85073003329', '85.07.30-033.29'], // formatting does not validate
  ])('%s → %s', (input, expected) => {
    expect(formatNiss(input)).toBe(expected);
  });

  it.each(['8507300332', '8507300332A', ''])('null for %j', (input) => {
    expect(formatNiss(input)).toBeNull();
  });

  it('formats what parses back to the same number', () => {
    const formatted = formatNiss('85073003328');
    expect(formatted).not.toBeNull();
    const r = parseNiss(formatted ?? '');
    expect(r.valid && r.normalized).toBe('85073003328');
  });
});

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}
