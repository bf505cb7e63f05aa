/**
 * NISS: the Belgian social-security identification number, either a National Register number (NN) or a
 * BIS number (for people not in that register). 11 digits, YYMMDD SSS CC:
 *
 * - YYMMDD: birth date. BIS numbers add 20 to the month (sex unknown when attributed) or 40 (sex known).
 *   Partly unknown dates are legal: month 00 with day 00, day 00, a day beyond the month's length, and
 *   the fictitious date 000001 (nothing known, not even the year).
 * - Counter exhaustion (IT000, counter exhaustion; for BIS numbers the royal decree of 8 February 1991,
 *   art. 5): when the sequences of a birth date run out, month and day become 00 (YY0000), and when
 *   those run out too the date part is incremented: YY0001, YY0002, … The register has already gone
 *   past YY0031 for persons with unknown birth dates, so month 00 takes any day 00–99, and so do the
 *   BIS months 20 and 40. Such a number tells the birth year only. Year 00 with day 01 stays read as
 *   the fictitious date 000001 (year unknown): the number cannot tell it from the first exhaustion
 *   step of 1900 or 2000. A known month (01–12) still takes days 00–31 only.
 * - SSS: sequence; odd = male, even = female (not meaningful for BIS +20).
 * - CC: 97 − (YYMMDDSSS mod 97) for births before 2000; for births from 2000 on the same computed on
 *   2YYMMDDSSS. The two results can never both match: 2000000000 mod 97 = 68, not 0, so they always
 *   differ. Which one matched therefore gives the century (a birth before 1900 reads as 19YY: the
 *   number cannot tell, and nobody alive needs it).
 * - A number whose check digits match only the from-2000 computation is a birth in 20YY, which cannot
 *   lie after the current year: 70040745190 would be a birth in 2070 and is refused (`FUTURE_BIRTH`);
 *   a birth in the current year itself is accepted. The same holds for BIS numbers. "The current
 *   year" is the year of the optional `today` argument of {@link parseNiss} and {@link isValidNiss};
 *   without it, the current UTC year read from the system clock (the only clock read of this module;
 *   `isValidNiss` does it only for a 20YY birth). Since years only grow, a number once accepted stays
 *   accepted on any later day (replaying old commands cannot turn a NISS invalid).
 */
import { daysInMonth } from './period.js';
import type { IsoDate } from './types.js';

export type NissKind = 'NN' | 'BIS';
/** BIS month offset: +20 = sex unknown at attribution, +40 = sex known. */
export type BisKind = 'MONTH_PLUS_20' | 'MONTH_PLUS_40';
export type Sex = 'M' | 'F';

export type NissErrorReason =
  | 'EMPTY'
  | 'NOT_DIGITS'
  | 'LENGTH'
  | 'MONTH'
  | 'DAY'
  | 'CHECK_DIGITS'
  /** Only the from-2000 check digits match, and 20YY lies after the current year. */
  | 'FUTURE_BIRTH';

export interface ValidNiss {
  readonly valid: true;
  /** The 11 digits, without separators. */
  readonly normalized: string;
  readonly kind: NissKind;
  readonly bisKind?: BisKind;
  /** Null unless year, month and day are all known and form a real calendar date. */
  readonly birthDate: IsoDate | null;
  /** Present whenever the year is known (everything but the fictitious date 000001). */
  readonly birthYear?: number;
  readonly sex: Sex | null;
}

export interface InvalidNiss {
  readonly valid: false;
  readonly input: string;
  readonly reason: NissErrorReason;
  readonly message: string;
}

export type NissResult = ValidNiss | InvalidNiss;

function isSeparator(code: number): boolean {
  return code === 0x2e /* . */ || code === 0x2d /* - */ || code === 0x20 /* space */;
}

/** Drops `.`, `-` and spaces; returns null as soon as another non-digit shows up. */
function digitsOf(input: string): string | null {
  let out = '';
  for (let i = 0; i < input.length; i++) {
    const c = input.charCodeAt(i);
    if (c >= 0x30 && c <= 0x39) out += input[i];
    else if (!isSeparator(c)) return null;
  }
  return out;
}

function twoDigits(s: string, at: number): number {
  return (s.charCodeAt(at) - 0x30) * 10 + (s.charCodeAt(at + 1) - 0x30);
}

interface Decoded {
  readonly kind: NissKind;
  readonly bisOffset: 0 | 20 | 40;
  readonly month: number;
  readonly day: number;
  readonly fictitious: boolean;
  /** 1900 or 2000, from the check digits. */
  readonly century: 1900 | 2000;
}

/** The year of `today` (`YYYY-MM-DD`); a malformed date is a programming error, not a bad number. */
function yearOf(today: IsoDate): number {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(today)) throw new RangeError(`today must be a date YYYY-MM-DD, got "${today}"`);
  return Number(today.slice(0, 4));
}

/** The current UTC year, for callers that give no `today`. */
function clockYear(): number {
  return new Date().getUTCFullYear();
}

/**
 * The whole rule on 11 digits, without allocating messages: the hot path and the detailed parser
 * share it so that they can never disagree. `currentYear` undefined: read the clock, and only when a
 * from-2000 birth needs it.
 */
function decode(d: string, currentYear: number | undefined): Decoded | NissErrorReason {
  const rawMonth = twoDigits(d, 2);
  const day = twoDigits(d, 4);
  let bisOffset: 0 | 20 | 40;
  if (rawMonth <= 12) bisOffset = 0;
  else if (rawMonth >= 20 && rawMonth <= 32) bisOffset = 20;
  else if (rawMonth >= 40 && rawMonth <= 52) bisOffset = 40;
  else return 'MONTH';
  const month = rawMonth - bisOffset;
  const fictitious = twoDigits(d, 0) === 0 && month === 0 && day === 1;
  if (!fictitious) {
    // Month 00 takes any day: 00 (unknown date, or the first counter exhaustion) and 01–99 (the
    // following exhaustions, IT000). A known month: a day beyond its length is a legal "partly known"
    // date, but no month has a 32nd day.
    if (month !== 0 && day > 31) return 'DAY';
  }
  const body = Number(d.slice(0, 9));
  const check = twoDigits(d, 9);
  let century: 1900 | 2000;
  if (97 - (body % 97) === check) century = 1900;
  else if (97 - ((2_000_000_000 + body) % 97) === check) century = 2000;
  else return 'CHECK_DIGITS';
  if (century === 2000 && 2000 + twoDigits(d, 0) > (currentYear ?? clockYear())) return 'FUTURE_BIRTH';
  return { kind: bisOffset === 0 ? 'NN' : 'BIS', bisOffset, month, day, fictitious, century };
}

/** Reason codes are never 11 characters long, so the length tells digits from a reason. */
function isReason(value: string): value is NissErrorReason {
  return value.length !== 11;
}

function normalizeNiss(input: string): string | NissErrorReason {
  if (input.length === 11 && /^\d{11}$/.test(input)) return input;
  const digits = digitsOf(input.trim());
  if (digits === null) return 'NOT_DIGITS';
  if (digits.length === 0) return 'EMPTY';
  if (digits.length !== 11) return 'LENGTH';
  return digits;
}

/**
 * Hot-path check: same verdict as {@link parseNiss} for the same `today`, nothing built but the digits.
 * `today` (`YYYY-MM-DD`) gives the current year that a 20YY birth may not pass; by default the current
 * UTC year of the system clock.
 */
export function isValidNiss(input: string, today?: IsoDate): boolean {
  const digits = normalizeNiss(input);
  if (isReason(digits)) return false;
  return typeof decode(digits, today === undefined ? undefined : yearOf(today)) !== 'string';
}

const MESSAGES: Record<NissErrorReason, string> = {
  EMPTY: 'no digits were given',
  NOT_DIGITS: 'only digits and the separators ".", "-" and space are allowed',
  LENGTH: 'a NISS has 11 digits',
  MONTH: 'impossible birth month: must be 00–12 (national register), 20–32 or 40–52 (BIS)',
  DAY: 'impossible birth day: 00–31 when the month is known (month 00, 20 or 40 takes any day)',
  CHECK_DIGITS: 'the check digits do not match (neither the before-2000 nor the from-2000 computation)',
  FUTURE_BIRTH: 'the check digits give a birth from 2000 on, and that year is after the current year',
};

/**
 * Validates and decodes a NISS. `today` (`YYYY-MM-DD`) gives the current year that a 20YY birth may
 * not pass (a birth in that year itself is accepted); by default the current UTC year of the system
 * clock. Throws a RangeError when `today` is given but malformed.
 */
export function parseNiss(input: string, today?: IsoDate): NissResult {
  const digits = normalizeNiss(input);
  if (isReason(digits)) {
    const message =
      digits === 'LENGTH' ? `${MESSAGES.LENGTH}, got ${digitsOf(input.trim())?.length ?? 0}` : MESSAGES[digits];
    return { valid: false, input, reason: digits, message };
  }
  const currentYear = today === undefined ? clockYear() : yearOf(today);
  const decoded = decode(digits, currentYear);
  if (typeof decoded === 'string') {
    let message = MESSAGES[decoded];
    if (decoded === 'MONTH') message = `${message}; got ${digits.slice(2, 4)}`;
    if (decoded === 'DAY') message = `${message}; got month ${digits.slice(2, 4)}, day ${digits.slice(4, 6)}`;
    if (decoded === 'FUTURE_BIRTH') message = `${message}: born ${2000 + twoDigits(digits, 0)}, current year ${currentYear}`;
    return { valid: false, input, reason: decoded, message };
  }
  const sequence = Number(digits.slice(6, 9));
  const sex: Sex | null = decoded.bisOffset === 20 ? null : sequence % 2 === 1 ? 'M' : 'F';
  const bisKind: BisKind | undefined =
    decoded.bisOffset === 20 ? 'MONTH_PLUS_20' : decoded.bisOffset === 40 ? 'MONTH_PLUS_40' : undefined;
  let birthDate: IsoDate | null = null;
  let birthYear: number | undefined;
  if (!decoded.fictitious) {
    birthYear = decoded.century + twoDigits(digits, 0);
    const { month, day } = decoded;
    if (month >= 1 && day >= 1 && day <= daysInMonth(birthYear, month)) {
      birthDate = `${birthYear}-${pad2(month)}-${digits.slice(4, 6)}`;
    }
  }
  return {
    valid: true,
    normalized: digits,
    kind: decoded.kind,
    ...(bisKind === undefined ? {} : { bisKind }),
    birthDate,
    ...(birthYear === undefined ? {} : { birthYear }),
    sex,
  };
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** `YY.MM.DD-SSS.CC`, the way the number is printed on cards; null unless the input has 11 digits. */
export function formatNiss(input: string): string | null {
  const digits = normalizeNiss(input);
  if (isReason(digits)) return null;
  return `${digits.slice(0, 2)}.${digits.slice(2, 4)}.${digits.slice(4, 6)}-${digits.slice(6, 9)}.${digits.slice(9)}`;
}
