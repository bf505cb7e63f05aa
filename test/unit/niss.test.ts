import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatNiss, isValidNiss, parseNiss, type NissErrorReason } from '../../src/domain/niss.js';

// Every check value below was computed by hand (python: 97 - n % 97, with n = YYMMDDSSS for births
// before 2000 and n = 2_000_000_000 + YYMMDDSSS from 2000 on), not copied from a source.

/** The day the tables are decided for, unless a case names its own: births in 2026 are not future. */
const TODAY = '2026-06-15';

interface ValidCase {
  readonly input: string;
  readonly normalized: string;
  readonly kind: 'NN' | 'BIS';
  readonly bisKind?: 'MONTH_PLUS_20' | 'MONTH_PLUS_40';
  readonly birthDate: string | null;
  readonly birthYear: number | undefined;
  readonly sex: 'M' | 'F' | null;
  /** The day to decide for, when not {@link TODAY}. */
  readonly today?: string;
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
  '99 with the 2000 check is 2099, the check decides, not the digits (decided in 2099)': {
    input: '99123199870', normalized: '99123199870', kind: 'NN', birthDate: '2099-12-31', birthYear: 2099, sex: 'F',
    today: '2099-01-01',
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
  // IT000, counter exhaustion: month and day 00, then the date part incremented (YY0001, YY0002, …).
  'counter exhaustion, first step (850001): year known only': {
    input: '85000103373', normalized: '85000103373', kind: 'NN', birthDate: null, birthYear: 1985, sex: 'M',
  },
  'counter exhaustion, second step (850002), female': {
    input: '85000203442', normalized: '85000203442', kind: 'NN', birthDate: null, birthYear: 1985, sex: 'F',
  },
  'counter exhaustion, ninth step (850009)': {
    input: '85000903327', normalized: '85000903327', kind: 'NN', birthDate: null, birthYear: 1985, sex: 'M',
  },
  'counter exhaustion past the sixth digit (850032)': {
    input: '85003203316', normalized: '85003203316', kind: 'NN', birthDate: null, birthYear: 1985, sex: 'M',
  },
  'counter exhaustion, last step (850099)': {
    input: '85009903442', normalized: '85009903442', kind: 'NN', birthDate: null, birthYear: 1985, sex: 'F',
  },
  'counter exhaustion in 1900 (000032, pre-2000 check)': {
    input: '00003241778', normalized: '00003241778', kind: 'NN', birthDate: null, birthYear: 1900, sex: 'M',
  },
  'counter exhaustion in 2000 (000032, 2000 check)': {
    input: '00003241710', normalized: '00003241710', kind: 'NN', birthDate: null, birthYear: 2000, sex: 'M',
  },
  'counter exhaustion in 2010 (100001)': {
    input: '10000100114', normalized: '10000100114', kind: 'NN', birthDate: null, birthYear: 2010, sex: 'M',
  },
  'counter exhaustion, BIS +20 (852001)': {
    input: '85200103319', normalized: '85200103319', kind: 'BIS', bisKind: 'MONTH_PLUS_20', birthDate: null, birthYear: 1985, sex: null,
  },
  'counter exhaustion, BIS +20 (852099)': {
    input: '85209903386', normalized: '85209903386', kind: 'BIS', bisKind: 'MONTH_PLUS_20', birthDate: null, birthYear: 1985, sex: null,
  },
  'counter exhaustion, BIS +40 (854001), female': {
    input: '85400103461', normalized: '85400103461', kind: 'BIS', bisKind: 'MONTH_PLUS_40', birthDate: null, birthYear: 1985, sex: 'F',
  },
  'counter exhaustion, BIS +40 (854032)': {
    input: '85403203305', normalized: '85403203305', kind: 'BIS', bisKind: 'MONTH_PLUS_40', birthDate: null, birthYear: 1985, sex: 'M',
  },
  'counter exhaustion, BIS +20 in 2010 (102001)': {
    input: '10200100157', normalized: '10200100157', kind: 'BIS', bisKind: 'MONTH_PLUS_20', birthDate: null, birthYear: 2010, sex: null,
  },
  'counter exhaustion, BIS +40 in 2010 (104001)': {
    input: '10400100103', normalized: '10400100103', kind: 'BIS', bisKind: 'MONTH_PLUS_40', birthDate: null, birthYear: 2010, sex: 'M',
  },
  'counter exhaustion, BIS +20 in 2024 (242032)': {
    input: '24203200103', normalized: '24203200103', kind: 'BIS', bisKind: 'MONTH_PLUS_20', birthDate: null, birthYear: 2024, sex: null,
  },
  // A 2-prefix check is a birth in 20YY: up to the current year included.
  'pre-2000 twin of 70040745190: born 1970': {
    input: '70040745161', normalized: '70040745161', kind: 'NN', birthDate: '1970-04-07', birthYear: 1970, sex: 'M',
  },
  'born 1 January of the current year (2026)': {
    input: '26010100166', normalized: '26010100166', kind: 'NN', birthDate: '2026-01-01', birthYear: 2026, sex: 'M',
  },
  'born 31 December of the current year: the year decides, not the day': {
    input: '26123100218', normalized: '26123100218', kind: 'NN', birthDate: '2026-12-31', birthYear: 2026, sex: 'F',
  },
  'BIS +40 born in the current year': {
    input: '26471500264', normalized: '26471500264', kind: 'BIS', bisKind: 'MONTH_PLUS_40', birthDate: '2026-07-15', birthYear: 2026, sex: 'F',
  },
  'born 2027, decided on 1 January 2027': {
    input: '27010100187', normalized: '27010100187', kind: 'NN', birthDate: '2027-01-01', birthYear: 2027, sex: 'M',
    today: '2027-01-01',
  },
  'BIS +40 with the pre-2000 check: 1927, never future': {
    input: '27470700106', normalized: '27470700106', kind: 'BIS', bisKind: 'MONTH_PLUS_40', birthDate: '1927-07-07', birthYear: 1927, sex: 'M',
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
    const today = c.today ?? TODAY;
    const r = parseNiss(c.input, today);
    expect(r).toEqual({
      valid: true,
      normalized: c.normalized,
      kind: c.kind,
      ...(c.bisKind === undefined ? {} : { bisKind: c.bisKind }),
      birthDate: c.birthDate,
      ...(c.birthYear === undefined ? {} : { birthYear: c.birthYear }),
      sex: c.sex,
    });
    expect(isValidNiss(c.input, today)).toBe(true);
    // The clock's year is later than TODAY's: what was valid then still is.
    if (c.today === undefined) {
      expect(parseNiss(c.input)).toEqual(r);
      expect(isValidNiss(c.input)).toBe(true);
    }
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
  ['twin of a counter-exhaustion number (850001)', '85000103374', 'CHECK_DIGITS'],
  ['month unknown, day given: a legal date part, so the check digits decide', '85000503300', 'CHECK_DIGITS'],
  ['BIS month unknown (20), day given: likewise', '85200503300', 'CHECK_DIGITS'],
  ['twin of a BIS +40 counter-exhaustion number', '85400103462', 'CHECK_DIGITS'],
  ['born 2070 by the 2000 check (70040745190)', '70040745190', 'FUTURE_BIRTH'],
  ['month 13', '85133003300', 'MONTH'],
  ['month 19', '85193003300', 'MONTH'],
  ['month 33 (BIS +20 of 13)', '85333003300', 'MONTH'],
  ['month 39', '85393003300', 'MONTH'],
  ['month 53 (BIS +40 of 13)', '85533003300', 'MONTH'],
  ['month 60', '85603003300', 'MONTH'],
  ['month 99', '85993003300', 'MONTH'],
  ['day 32', '85073203300', 'DAY'],
  ['day 99', '85079903300', 'DAY'],
  ['BIS +20, known month, day 32', '85273203300', 'DAY'],
  ['BIS +40, known month, day 99', '85479903300', 'DAY'],
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

  it.each([
    ['70040745190', '2026-06-15', 'born 2070'],
    ['27010100187', '2026-12-31', 'born 2027, one year after'],
    ['27200100126', '2026-12-31', 'BIS +20 counter exhaustion in 2027'],
    ['27470700135', '2026-12-31', 'BIS +40 born 2027'],
    ['99123199870', '2098-12-31', 'born 2099, decided in 2098'],
  ])('%s on %s → FUTURE_BIRTH (%s)', (input, today, _name) => {
    const r = parseNiss(input, today);
    expect(r.valid).toBe(false);
    if (r.valid) return;
    expect(r.reason).toBe('FUTURE_BIRTH');
    expect(r.message).toContain(`current year ${today.slice(0, 4)}`);
    expect(r.message).toContain(`born 20${input.slice(0, 2)}`);
    expect(isValidNiss(input, today)).toBe(false);
  });

  it('without today, the clock decides: the current UTC year passes, the next one does not', () => {
    const year = new Date().getUTCFullYear();
    const body = `${pad(year % 100, 2)}0101001`;
    const niss = body + pad(97 - ((2_000_000_000 + Number(body)) % 97), 2);
    const next = `${pad((year + 1) % 100, 2)}0101001`;
    const nextNiss = next + pad(97 - ((2_000_000_000 + Number(next)) % 97), 2);
    expect(parseNiss(niss)).toMatchObject({ valid: true, birthYear: year });
    expect(isValidNiss(niss)).toBe(true);
    expect(parseNiss(nextNiss)).toMatchObject({ valid: false, reason: 'FUTURE_BIRTH' });
    expect(isValidNiss(nextNiss)).toBe(false);
  });

  it('refuses a malformed today rather than guessing a year', () => {
    expect(() => parseNiss('17073003384', '2026')).toThrow(RangeError);
    expect(() => isValidNiss('17073003384', '')).toThrow(RangeError);
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
          // Decided in 2099, so that no 20YY birth lies in the future.
          const old = parseNiss(body + pad(97 - (Number(body) % 97), 2), '2099-12-31');
          const recent = parseNiss(body + pad(97 - ((2_000_000_000 + Number(body)) % 97), 2), '2099-12-31');
          expect(old.valid && old.birthYear).toBe(1900 + yy);
          expect(recent.valid && recent.birthYear).toBe(2000 + yy);
          expect(old.valid && old.sex).toBe(seq % 2 === 1 ? 'M' : 'F');
        },
      ),
    );
  });
});

describe('counter exhaustion (IT000)', () => {
  it('month 00, 20 or 40 with any day 00–99: valid with the right check digits, year known only', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 99 }),
        fc.constantFrom(0, 20, 40),
        fc.integer({ min: 0, max: 99 }),
        fc.integer({ min: 0, max: 999 }),
        fc.boolean(),
        (yy, month, day, seq, from2000) => {
          const body = `${pad(yy, 2)}${pad(month, 2)}${pad(day, 2)}${pad(seq, 3)}`;
          const check = 97 - (((from2000 ? 2_000_000_000 : 0) + Number(body)) % 97);
          const niss = body + pad(check, 2);
          const r = parseNiss(niss, '2099-12-31');
          const fictitious = yy === 0 && day === 1;
          expect(r).toEqual({
            valid: true,
            normalized: niss,
            kind: month === 0 ? 'NN' : 'BIS',
            ...(month === 0 ? {} : { bisKind: month === 20 ? 'MONTH_PLUS_20' : 'MONTH_PLUS_40' }),
            birthDate: null,
            ...(fictitious ? {} : { birthYear: (from2000 ? 2000 : 1900) + yy }),
            sex: month === 20 ? null : seq % 2 === 1 ? 'M' : 'F',
          });
          expect(isValidNiss(niss, '2099-12-31')).toBe(true);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('month 00, 20 or 40 is never refused for its day', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 99 }), fc.constantFrom('00', '20', '40'), fc.integer({ min: 0, max: 99_999 }), (yy, mm, rest) => {
        const r = parseNiss(`${pad(yy, 2)}${mm}${pad(rest, 5)}00`, TODAY);
        expect(!r.valid && r.reason).not.toBe('DAY');
      }),
    );
  });
});

describe('births from 2000 on cannot lie after the current year', () => {
  const datePart = fc.oneof(
    fc.tuple(fc.constantFrom(0, 20, 40), fc.integer({ min: 0, max: 99 })),
    fc.tuple(fc.integer({ min: 1, max: 12 }).chain((m) => fc.constantFrom(m, m + 20, m + 40)), fc.integer({ min: 0, max: 31 })),
  );

  it('a 20YY birth after the year of today is refused, the pre-2000 twin is not', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2000, max: 2098 }),
        fc.integer({ min: 1, max: 99 }),
        datePart,
        fc.integer({ min: 0, max: 999 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 28 }),
        (currentYear, offset, [month, day], seq, tm, td) => {
          const yy = (currentYear % 100) + offset;
          fc.pre(yy <= 99);
          const today = `${currentYear}-${pad(tm, 2)}-${pad(td, 2)}`;
          const body = `${pad(yy, 2)}${pad(month, 2)}${pad(day, 2)}${pad(seq, 3)}`;
          const recent = body + pad(97 - ((2_000_000_000 + Number(body)) % 97), 2);
          const r = parseNiss(recent, today);
          expect(!r.valid && r.reason).toBe('FUTURE_BIRTH');
          expect(isValidNiss(recent, today)).toBe(false);
          const old = body + pad(97 - (Number(body) % 97), 2);
          expect(parseNiss(old, today)).toMatchObject({ valid: true, birthYear: 1900 + yy });
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('a 20YY birth up to the year of today (included) is accepted', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2000, max: 2099 }),
        fc.integer({ min: 0, max: 99 }),
        datePart,
        fc.integer({ min: 0, max: 999 }),
        (currentYear, back, [month, day], seq) => {
          const yy = (currentYear % 100) - back;
          fc.pre(yy >= 0);
          const today = `${currentYear}-01-01`;
          const body = `${pad(yy, 2)}${pad(month, 2)}${pad(day, 2)}${pad(seq, 3)}`;
          const recent = body + pad(97 - ((2_000_000_000 + Number(body)) % 97), 2);
          const r = parseNiss(recent, today);
          expect(r.valid).toBe(true);
          if (r.valid && r.birthYear !== undefined) expect(r.birthYear).toBe(2000 + yy);
          expect(isValidNiss(recent, today)).toBe(true);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('isValidNiss agrees with parseNiss', () => {
  it('on 11-digit strings, for any today', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 99_999_999_999 }), fc.integer({ min: 2000, max: 2099 }), (n, year) => {
        const s = pad(n, 11);
        const today = `${year}-07-01`;
        expect(isValidNiss(s, today)).toBe(parseNiss(s, today).valid);
      }),
      { numRuns: 5000 },
    );
  });

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
