/**
 * Calendar dates, quarters and periods. Dates stay ISO strings (`YYYY-MM-DD`): they order correctly as
 * text, so comparisons are plain string compares; only day arithmetic converts to day numbers.
 * Periods are closed at both ends; `to === null` is an open end (+infinity).
 */
import type { IsoDate, Period } from './types.js';

/** A calendar quarter in canonical form, e.g. `2024Q3`. */
export type Quarter = string;

export type PeriodErrorReason =
  | 'SYNTAX'
  | 'FROM_NOT_A_DATE'
  | 'TO_NOT_A_DATE'
  | 'NOT_A_QUARTER'
  | 'MISSING_FROM'
  | 'FROM_AFTER_TO';

export type PeriodParseResult =
  | { readonly ok: true; readonly period: Period }
  | {
      readonly ok: false;
      /** Always INVALID_PERIOD, so that a caller can hand it to `refusal()` as is. */
      readonly code: 'INVALID_PERIOD';
      readonly reason: PeriodErrorReason;
      readonly message: string;
    };

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
/** `2024Q3`, `2024-Q3`, `2024/3`, and the DmfA's own `20243`. */
const QUARTER = /^(\d{4})(?:[Qq]|-[Qq]|\/)?([1-4])$/;
const RANGE_SEPARATOR = '..';

export function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

/** Days in `month` (1–12) of `year`. */
export function daysInMonth(year: number, month: number): number {
  if (month === 2) return isLeapYear(year) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** True for a real calendar date written `YYYY-MM-DD` (year 0001–9999; no 2023-02-29, no 2024-04-31). */
export function isIsoDate(value: string): boolean {
  const m = ISO_DATE.exec(value);
  if (m === null) return false;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  return year >= 1 && month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month);
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

function pad4(n: number): string {
  return String(n).padStart(4, '0');
}

export function toIsoDate(year: number, month: number, day: number): IsoDate {
  return `${pad4(year)}-${pad2(month)}-${pad2(day)}`;
}

/**
 * Days since 1970-01-01 (proleptic Gregorian), for arithmetic only. Integer-only civil-calendar
 * algorithm, so no `Date` and no time zone can shift a day.
 */
export function dayNumber(date: IsoDate): number {
  let y = Number(date.slice(0, 4));
  const m = Number(date.slice(5, 7));
  const d = Number(date.slice(8, 10));
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** Inverse of {@link dayNumber}. */
export function fromDayNumber(days: number): IsoDate {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  return toIsoDate(y, m, d);
}

export function addDays(date: IsoDate, days: number): IsoDate {
  if (days === 1) return nextDay(date);
  if (days === -1) return previousDay(date);
  return fromDayNumber(dayNumber(date) + days);
}

/** The last day a date can be (`YYYY-MM-DD`, years 0001–9999). */
export const LAST_DAY: IsoDate = '9999-12-31';

/**
 * The following day; the common case stays within the month and costs one string splice. There is none
 * after 9999-12-31: "10000-01-01" would sort before every date and be taken for the earliest one.
 */
export function nextDay(date: IsoDate): IsoDate {
  const year = Number(date.slice(0, 4));
  const month = Number(date.slice(5, 7));
  const day = Number(date.slice(8, 10));
  if (day < daysInMonth(year, month)) return date.slice(0, 8) + pad2(day + 1);
  if (month < 12) return toIsoDate(year, month + 1, 1);
  if (year >= 9999) throw new RangeError(`no day follows ${date}`);
  return toIsoDate(year + 1, 1, 1);
}

export function previousDay(date: IsoDate): IsoDate {
  const year = Number(date.slice(0, 4));
  const month = Number(date.slice(5, 7));
  const day = Number(date.slice(8, 10));
  if (day > 1) return date.slice(0, 8) + pad2(day - 1);
  if (month > 1) return toIsoDate(year, month - 1, daysInMonth(year, month - 1));
  if (year <= 1) throw new RangeError(`no day precedes ${date}`);
  return toIsoDate(year - 1, 12, 31);
}

export function minDate(a: IsoDate, b: IsoDate): IsoDate {
  return a <= b ? a : b;
}

export function maxDate(a: IsoDate, b: IsoDate): IsoDate {
  return a >= b ? a : b;
}

/** The earlier of two period ends, where null (open) is later than every date. */
function minEnd(a: IsoDate | null, b: IsoDate | null): IsoDate | null {
  if (a === null) return b;
  if (b === null) return a;
  return a <= b ? a : b;
}

function maxEnd(a: IsoDate | null, b: IsoDate | null): IsoDate | null {
  if (a === null || b === null) return null;
  return a >= b ? a : b;
}

// ---------------------------------------------------------------------------------------------------
// Quarters

/** Canonical quarter (`2024Q3`) from `2024Q3`, `2024q3`, `2024-Q3`, `2024/3` or the DmfA's `20243`; null otherwise. */
export function parseQuarter(value: string): Quarter | null {
  const m = QUARTER.exec(value.trim());
  if (m === null || m[1] === '0000') return null;
  return `${m[1]}Q${m[2]}`;
}

export function quarterOf(date: IsoDate): Quarter {
  const month = Number(date.slice(5, 7));
  return `${date.slice(0, 4)}Q${Math.floor((month - 1) / 3) + 1}`;
}

/** The days of a quarter; accepts every form {@link parseQuarter} does, null for anything else. */
export function quarterPeriod(quarter: string): Period | null {
  const q = parseQuarter(quarter);
  if (q === null) return null;
  const year = Number(q.slice(0, 4));
  const n = Number(q.slice(5));
  const lastMonth = n * 3;
  return {
    from: toIsoDate(year, lastMonth - 2, 1),
    to: toIsoDate(year, lastMonth, daysInMonth(year, lastMonth)),
  };
}

function nextQuarter(q: Quarter): Quarter {
  const year = Number(q.slice(0, 4));
  const n = Number(q.slice(5));
  return n === 4 ? `${pad4(year + 1)}Q1` : `${q.slice(0, 4)}Q${n + 1}`;
}

/**
 * Every quarter the period touches, in order. An open period needs `openEndUntil` (typically today):
 * the list would otherwise be infinite.
 */
export function expandQuarters(period: Period, openEndUntil?: IsoDate): Quarter[] {
  const end = period.to ?? openEndUntil;
  if (end === undefined) throw new RangeError('expandQuarters: an open period needs openEndUntil');
  if (end < period.from) return [];
  const last = quarterOf(end);
  const quarters: Quarter[] = [];
  for (let q = quarterOf(period.from); ; q = nextQuarter(q)) {
    quarters.push(q);
    if (q === last) return quarters;
  }
}

// ---------------------------------------------------------------------------------------------------
// Parsing periods

function invalid(reason: PeriodErrorReason, message: string): PeriodParseResult {
  return { ok: false, code: 'INVALID_PERIOD', reason, message };
}

/** A bound is a date or a quarter: a quarter as start means its first day, as end its last day. */
function parseBound(raw: string, side: 'from' | 'to'): IsoDate | null {
  const value = raw.trim();
  if (isIsoDate(value)) return value;
  const q = quarterPeriod(value);
  if (q === null) return null;
  return side === 'from' ? q.from : q.to;
}

/**
 * Reads a period from `{from, to}` strings (`to` empty, null or absent = open end) or from one string:
 * a quarter (`2024Q3`), a single date (that one day), a range of dates and/or quarters
 * (`2024Q1..2024Q3`, `2024-01-15..2024Q2`) or an open range (`2024-01-01..`).
 */
export function parsePeriod(
  input: string | { readonly from?: string | null; readonly to?: string | null },
): PeriodParseResult {
  let fromRaw: string | null | undefined;
  let toRaw: string | null | undefined;
  if (typeof input === 'string') {
    const text = input.trim();
    const sep = text.indexOf(RANGE_SEPARATOR);
    if (sep < 0) {
      const q = quarterPeriod(text);
      if (q !== null) return { ok: true, period: q };
      if (isIsoDate(text)) return { ok: true, period: { from: text, to: text } };
      return invalid('SYNTAX', `"${input}" is neither a date, a quarter nor a range "from..to"`);
    }
    fromRaw = text.slice(0, sep);
    toRaw = text.slice(sep + RANGE_SEPARATOR.length);
    if (toRaw.includes(RANGE_SEPARATOR)) return invalid('SYNTAX', `"${input}" has more than one ".."`);
  } else {
    fromRaw = input.from;
    toRaw = input.to;
  }
  if (fromRaw === undefined || fromRaw === null || fromRaw.trim() === '') {
    return invalid('MISSING_FROM', 'a period needs a start date');
  }
  const from = parseBound(fromRaw, 'from');
  if (from === null) return invalid('FROM_NOT_A_DATE', `start "${fromRaw}" is not a calendar date or a quarter`);
  let to: IsoDate | null = null;
  if (toRaw !== undefined && toRaw !== null && toRaw.trim() !== '') {
    to = parseBound(toRaw, 'to');
    if (to === null) return invalid('TO_NOT_A_DATE', `end "${toRaw}" is not a calendar date or a quarter`);
    if (from > to) return invalid('FROM_AFTER_TO', `start ${from} is after end ${to}`);
  }
  return { ok: true, period: { from, to } };
}

/** True for a well-formed period value: real dates, from ≤ to. */
export function isValidPeriod(period: Period): boolean {
  return isIsoDate(period.from) && (period.to === null || (isIsoDate(period.to) && period.from <= period.to));
}

// ---------------------------------------------------------------------------------------------------
// Period algebra

export function contains(period: Period, date: IsoDate): boolean {
  return period.from <= date && (period.to === null || date <= period.to);
}

export function overlaps(a: Period, b: Period): boolean {
  return (b.to === null || a.from <= b.to) && (a.to === null || b.from <= a.to);
}

/** Overlapping, or `a` ends the day before `b` starts (or the reverse): the two form one interval. */
export function touches(a: Period, b: Period): boolean {
  if (overlaps(a, b)) return true;
  if (a.to !== null && a.to < b.from) return nextDay(a.to) === b.from;
  if (b.to !== null && b.to < a.from) return nextDay(b.to) === a.from;
  return false;
}

export function intersect(a: Period, b: Period): Period | null {
  const from = maxDate(a.from, b.from);
  const to = minEnd(a.to, b.to);
  if (to !== null && from > to) return null;
  return { from, to };
}

/** `period` restricted to `within`; null when they share no day. */
export function clip(period: Period, within: Period): Period | null {
  return intersect(period, within);
}

export function periodEquals(a: Period, b: Period): boolean {
  return a.from === b.from && a.to === b.to;
}

/** Orders by start, then by end (open last). */
export function comparePeriods(a: Period, b: Period): number {
  if (a.from !== b.from) return a.from < b.from ? -1 : 1;
  if (a.to === b.to) return 0;
  if (a.to === null) return 1;
  if (b.to === null) return -1;
  return a.to < b.to ? -1 : 1;
}

/** The smallest single period covering all of them; null for an empty list. */
export function hull(periods: readonly Period[]): Period | null {
  let result: Period | null = null;
  for (const p of periods) {
    result = result === null ? p : { from: minDate(result.from, p.from), to: maxEnd(result.to, p.to) };
  }
  return result;
}

/**
 * The union as a sorted list of disjoint, non-adjacent periods: overlapping periods merge, and so do
 * adjacent ones (…-03-31 and 04-01-…), because a closed day period has no gap between them.
 */
export function union(periods: readonly Period[]): Period[] {
  if (periods.length <= 1) return periods.map((p) => ({ from: p.from, to: p.to }));
  const sorted = [...periods].sort(comparePeriods);
  const result: Period[] = [];
  let current = sorted[0] as Period;
  for (let i = 1; i < sorted.length; i++) {
    const p = sorted[i] as Period;
    if (current.to === null) break; // open-ended: swallows everything that starts later
    if (p.from <= current.to || nextDay(current.to) === p.from) {
      current = { from: current.from, to: maxEnd(current.to, p.to) };
    } else {
      result.push(current);
      current = p;
    }
  }
  result.push({ from: current.from, to: current.to });
  return result;
}

/** The days of `a` that are not in `b`: zero, one or two periods, in order. */
export function subtract(a: Period, b: Period): Period[] {
  if (!overlaps(a, b)) return [{ from: a.from, to: a.to }];
  const result: Period[] = [];
  if (a.from < b.from) result.push({ from: a.from, to: previousDay(b.from) });
  // An open period less one ending 9999-12-31 has nothing left after it.
  if (b.to !== null && b.to !== LAST_DAY && (a.to === null || b.to < a.to)) result.push({ from: nextDay(b.to), to: a.to });
  return result;
}

/** The request `period` restricted to the union of `periods`: sorted, disjoint, non-adjacent. */
export function clipToUnion(period: Period, periods: readonly Period[]): Period[] {
  const result: Period[] = [];
  for (const p of union(periods)) {
    const piece = intersect(period, p);
    if (piece !== null) result.push(piece);
  }
  return result;
}
