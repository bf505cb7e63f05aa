import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  addDays,
  clip,
  clipToUnion,
  comparePeriods,
  contains,
  dayNumber,
  daysInMonth,
  expandQuarters,
  fromDayNumber,
  hull,
  intersect,
  isIsoDate,
  isLeapYear,
  isValidPeriod,
  nextDay,
  overlaps,
  parsePeriod,
  parseQuarter,
  previousDay,
  quarterOf,
  quarterPeriod,
  subtract,
  touches,
  union,
} from '../../src/domain/period.js';
import type { Period } from '../../src/domain/types.js';

const p = (from: string, to: string | null): Period => ({ from, to });

describe('calendar dates', () => {
  it.each([
    ['2024-02-29', true],
    ['2023-02-29', false],
    ['2000-02-29', true],
    ['1900-02-29', false],
    ['2100-02-29', false],
    ['2024-04-30', true],
    ['2024-04-31', false],
    ['2024-12-31', true],
    ['2024-13-01', false],
    ['2024-00-10', false],
    ['2024-01-00', false],
    ['2024-01-32', false],
    ['0000-01-01', false],
    ['0001-01-01', true],
    ['9999-12-31', true],
    ['2024-1-01', false],
    ['24-01-01', false],
    ['2024/01/01', false],
    ['20240101', false],
    [' 2024-01-01', false],
    ['2024-01-01T00:00:00Z', false],
    ['', false],
  ])('isIsoDate(%j) = %s', (value, expected) => {
    expect(isIsoDate(value)).toBe(expected);
  });

  it.each([
    [2024, true],
    [2023, false],
    [2000, true],
    [1900, false],
    [2400, true],
  ])('isLeapYear(%i) = %s', (year, expected) => {
    expect(isLeapYear(year)).toBe(expected);
  });

  it.each([
    [2024, 2, 29],
    [2023, 2, 28],
    [2024, 1, 31],
    [2024, 4, 30],
    [2024, 12, 31],
  ])('daysInMonth(%i, %i) = %i', (y, m, d) => {
    expect(daysInMonth(y, m)).toBe(d);
  });

  it.each([
    ['1970-01-01', 0],
    ['1970-01-02', 1],
    ['1969-12-31', -1],
    ['2000-03-01', 11017],
    ['2024-02-29', 19782],
  ])('dayNumber(%s) = %i', (date, n) => {
    expect(dayNumber(date)).toBe(n);
    expect(fromDayNumber(n)).toBe(date);
  });

  it.each([
    ['2024-02-28', 1, '2024-02-29'],
    ['2023-02-28', 1, '2023-03-01'],
    ['2024-12-31', 1, '2025-01-01'],
    ['2025-01-01', -1, '2024-12-31'],
    ['2024-03-01', -1, '2024-02-29'],
    ['2024-01-31', 30, '2024-03-01'],
    ['2024-01-01', 366, '2025-01-01'],
    ['2024-01-01', 0, '2024-01-01'],
    ['2024-03-01', -366, '2023-03-01'],
  ])('addDays(%s, %i) = %s', (date, n, expected) => {
    expect(addDays(date, n)).toBe(expected);
  });

  it('day numbers agree with the JavaScript UTC calendar', () => {
    fc.assert(
      fc.property(fc.integer({ min: -200_000, max: 200_000 }), (n) => {
        const viaDate = new Date(n * 86_400_000).toISOString().slice(0, 10);
        expect(fromDayNumber(n)).toBe(viaDate);
        expect(dayNumber(viaDate)).toBe(n);
        expect(isIsoDate(viaDate)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('there is no day after 9999-12-31 nor before 0001-01-01: "10000-01-01" would sort before every date', () => {
    expect(nextDay('9999-12-30')).toBe('9999-12-31');
    expect(previousDay('0001-01-02')).toBe('0001-01-01');
    expect(() => nextDay('9999-12-31')).toThrowError(RangeError);
    expect(() => previousDay('0001-01-01')).toThrowError(RangeError);
  });

  it('nextDay and previousDay are inverse and agree with addDays', () => {
    fc.assert(
      fc.property(arbDate, (d) => {
        expect(previousDay(nextDay(d))).toBe(d);
        expect(nextDay(d)).toBe(fromDayNumber(dayNumber(d) + 1));
        expect(previousDay(d)).toBe(fromDayNumber(dayNumber(d) - 1));
      }),
      { numRuns: 1000 },
    );
  });
});

describe('quarters', () => {
  it.each([
    ['2024Q3', '2024Q3'],
    ['2024q3', '2024Q3'],
    ['2024-Q3', '2024Q3'],
    ['2024-q1', '2024Q1'],
    ['2024/3', '2024Q3'],
    ['20243', '2024Q3'],
    [' 2024Q4 ', '2024Q4'],
    ['20245', null],
    ['20240', null],
    ['2024Q5', null],
    ['2024Q0', null],
    ['2024/5', null],
    ['24Q3', null],
    ['2024 Q3', null],
    ['0000Q1', null],
    ['Q3 2024', null],
  ])('parseQuarter(%j) = %j', (input, expected) => {
    expect(parseQuarter(input)).toBe(expected);
  });

  it.each([
    ['2024Q1', '2024-01-01', '2024-03-31'],
    ['2023Q1', '2023-01-01', '2023-03-31'],
    ['2024Q2', '2024-04-01', '2024-06-30'],
    ['2024-Q3', '2024-07-01', '2024-09-30'],
    ['2024/4', '2024-10-01', '2024-12-31'],
  ])('quarterPeriod(%s) = %s..%s', (q, from, to) => {
    expect(quarterPeriod(q)).toEqual(p(from, to));
  });

  it('quarterPeriod of a non-quarter is null', () => {
    expect(quarterPeriod('2024Q7')).toBeNull();
  });

  it.each([
    ['2024-01-01', '2024Q1'],
    ['2024-03-31', '2024Q1'],
    ['2024-04-01', '2024Q2'],
    ['2024-09-30', '2024Q3'],
    ['2024-12-31', '2024Q4'],
  ])('quarterOf(%s) = %s', (date, q) => {
    expect(quarterOf(date)).toBe(q);
  });

  it('every date lies in the period of its quarter', () => {
    fc.assert(
      fc.property(arbDate, (d) => {
        const qp = quarterPeriod(quarterOf(d));
        expect(qp).not.toBeNull();
        expect(contains(qp as Period, d)).toBe(true);
      }),
    );
  });

  it.each([
    [p('2024-02-10', '2024-02-10'), ['2024Q1']],
    [p('2024-03-31', '2024-04-01'), ['2024Q1', '2024Q2']],
    [p('2023-11-15', '2024-07-01'), ['2023Q4', '2024Q1', '2024Q2', '2024Q3']],
    [p('2024-01-01', '2024-12-31'), ['2024Q1', '2024Q2', '2024Q3', '2024Q4']],
  ])('expandQuarters(%j)', (period, expected) => {
    expect(expandQuarters(period)).toEqual(expected);
  });

  it('expandQuarters of an open period stops at openEndUntil, and refuses without it', () => {
    expect(expandQuarters(p('2024-05-01', null), '2024-10-02')).toEqual(['2024Q2', '2024Q3', '2024Q4']);
    expect(expandQuarters(p('2024-05-01', null), '2024-01-01')).toEqual([]);
    expect(() => expandQuarters(p('2024-05-01', null))).toThrow(RangeError);
  });
});

describe('parsePeriod', () => {
  it.each<[string, Parameters<typeof parsePeriod>[0], Period]>([
    ['from/to dates', { from: '2024-01-01', to: '2024-03-31' }, p('2024-01-01', '2024-03-31')],
    ['open end: to null', { from: '2024-01-01', to: null }, p('2024-01-01', null)],
    ['open end: to absent', { from: '2024-01-01' }, p('2024-01-01', null)],
    ['open end: to empty', { from: '2024-01-01', to: '' }, p('2024-01-01', null)],
    ['single day', { from: '2024-02-29', to: '2024-02-29' }, p('2024-02-29', '2024-02-29')],
    ['quarters as bounds in the object form', { from: '2024Q1', to: '2024Q2' }, p('2024-01-01', '2024-06-30')],
    ['a quarter', '2024Q3', p('2024-07-01', '2024-09-30')],
    ['a quarter, dash form', '2024-Q3', p('2024-07-01', '2024-09-30')],
    ['a quarter, slash form', '2024/3', p('2024-07-01', '2024-09-30')],
    ['a quarter range', '2024Q1..2024Q3', p('2024-01-01', '2024-09-30')],
    ['a one-quarter range', '2024Q2..2024Q2', p('2024-04-01', '2024-06-30')],
    ['a quarter range across years', '2023-Q4..2024/1', p('2023-10-01', '2024-03-31')],
    ['a date range', '2024-01-15..2024-02-15', p('2024-01-15', '2024-02-15')],
    ['mixed date and quarter', '2024-01-15..2024Q2', p('2024-01-15', '2024-06-30')],
    ['an open range', '2024-01-01..', p('2024-01-01', null)],
    ['an open quarter range', '2024Q2..', p('2024-04-01', null)],
    ['a single date', '2024-05-05', p('2024-05-05', '2024-05-05')],
    ['spaces around the parts', ' 2024Q1 .. 2024Q2 ', p('2024-01-01', '2024-06-30')],
  ])('%s', (_name, input, expected) => {
    expect(parsePeriod(input)).toEqual({ ok: true, period: expected });
  });

  it.each<[string, Parameters<typeof parsePeriod>[0], string]>([
    ['from after to', { from: '2024-03-01', to: '2024-02-29' }, 'FROM_AFTER_TO'],
    ['quarter range backwards', '2024Q3..2024Q1', 'FROM_AFTER_TO'],
    ['no from', { to: '2024-01-01' }, 'MISSING_FROM'],
    ['null from', { from: null, to: null }, 'MISSING_FROM'],
    ['open start in a range', '..2024-01-01', 'MISSING_FROM'],
    ['impossible from', { from: '2023-02-29', to: null }, 'FROM_NOT_A_DATE'],
    ['impossible to', { from: '2024-01-01', to: '2024-04-31' }, 'TO_NOT_A_DATE'],
    ['a bad quarter as to', '2024Q1..2024Q5', 'TO_NOT_A_DATE'],
    ['garbage', 'last year', 'SYNTAX'],
    ['two ranges', '2024Q1..2024Q2..2024Q3', 'SYNTAX'],
    ['empty string', '', 'SYNTAX'],
    ['a timestamp', '2024-01-01T00:00:00Z', 'SYNTAX'],
  ])('%s → %s', (_name, input, reason) => {
    const r = parsePeriod(input);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.reason).toBe(reason);
    expect(r.code).toBe('INVALID_PERIOD');
    expect(r.message).not.toBe('');
  });

  it('isValidPeriod', () => {
    expect(isValidPeriod(p('2024-01-01', null))).toBe(true);
    expect(isValidPeriod(p('2024-01-01', '2024-01-01'))).toBe(true);
    expect(isValidPeriod(p('2024-01-02', '2024-01-01'))).toBe(false);
    expect(isValidPeriod(p('2024-02-30', null))).toBe(false);
  });
});

describe('period algebra: examples', () => {
  const q1 = p('2024-01-01', '2024-03-31');
  const q2 = p('2024-04-01', '2024-06-30');
  const open = p('2024-03-01', null);

  it('contains: closed ends, open end', () => {
    expect(contains(q1, '2024-01-01')).toBe(true);
    expect(contains(q1, '2024-03-31')).toBe(true);
    expect(contains(q1, '2024-04-01')).toBe(false);
    expect(contains(q1, '2023-12-31')).toBe(false);
    expect(contains(open, '9999-12-31')).toBe(true);
    expect(contains(open, '2024-02-29')).toBe(false);
  });

  it('overlaps and touches', () => {
    expect(overlaps(q1, q2)).toBe(false);
    expect(touches(q1, q2)).toBe(true);
    expect(touches(q2, q1)).toBe(true);
    expect(touches(q1, p('2024-04-02', '2024-05-01'))).toBe(false);
    expect(overlaps(q1, open)).toBe(true);
    expect(overlaps(p('2024-03-31', '2024-03-31'), q1)).toBe(true);
    expect(overlaps(p('2025-01-01', null), p('2024-01-01', null))).toBe(true);
  });

  it('intersect and clip', () => {
    expect(intersect(q1, open)).toEqual(p('2024-03-01', '2024-03-31'));
    expect(intersect(q1, q2)).toBeNull();
    expect(intersect(open, p('2020-01-01', null))).toEqual(p('2024-03-01', null));
    expect(clip(p('2023-06-01', '2024-02-15'), q1)).toEqual(p('2024-01-01', '2024-02-15'));
    expect(clip(p('2024-03-31', '2024-03-31'), q1)).toEqual(p('2024-03-31', '2024-03-31'));
  });

  it.each<[string, Period[], Period[]]>([
    ['empty', [], []],
    ['one', [q1], [q1]],
    ['adjacent quarters merge', [q2, q1], [p('2024-01-01', '2024-06-30')]],
    ['adjacent across a year end', [p('2023-10-01', '2023-12-31'), p('2024-01-01', '2024-01-31')], [p('2023-10-01', '2024-01-31')]],
    ['adjacent across a leap day', [p('2024-01-01', '2024-02-28'), p('2024-02-29', '2024-02-29')], [p('2024-01-01', '2024-02-29')]],
    ['a one-day gap stays', [p('2024-01-01', '2024-03-30'), q2], [p('2024-01-01', '2024-03-30'), q2]],
    ['overlap merges', [p('2024-01-01', '2024-05-01'), q2], [p('2024-01-01', '2024-06-30')]],
    ['containment', [p('2024-01-01', '2024-12-31'), q2], [p('2024-01-01', '2024-12-31')]],
    ['open end swallows later ones', [open, q2, p('2030-01-01', '2030-01-01')], [open]],
    ['open end merges with an adjacent earlier one', [p('2024-01-01', '2024-02-29'), open], [p('2024-01-01', null)]],
    ['duplicates', [q1, q1], [q1]],
    ['unsorted, three groups', [p('2024-09-01', '2024-09-30'), q1, p('2024-07-01', '2024-08-31'), q2, p('2025-01-01', '2025-01-01')], [p('2024-01-01', '2024-09-30'), p('2025-01-01', '2025-01-01')]],
  ])('union: %s', (_name, input, expected) => {
    expect(union(input)).toEqual(expected);
  });

  it.each<[string, Period, Period, Period[]]>([
    ['disjoint: unchanged', q1, q2, [q1]],
    ['a middle slice leaves two', p('2024-01-01', '2024-12-31'), q2, [p('2024-01-01', '2024-03-31'), p('2024-07-01', '2024-12-31')]],
    ['the start', q1, p('2023-01-01', '2024-01-31'), [p('2024-02-01', '2024-03-31')]],
    ['the end', q1, p('2024-03-01', null), [p('2024-01-01', '2024-02-29')]],
    ['everything', q1, p('2024-01-01', '2024-03-31'), []],
    ['a closed slice of an open period', open, p('2024-04-01', '2024-04-30'), [p('2024-03-01', '2024-03-31'), p('2024-05-01', null)]],
    ['an open tail from an open period', open, p('2024-05-01', null), [p('2024-03-01', '2024-04-30')]],
    ['a single day in the middle', q1, p('2024-02-29', '2024-02-29'), [p('2024-01-01', '2024-02-28'), p('2024-03-01', '2024-03-31')]],
    ['the first day of a single-day period', p('2024-01-01', '2024-01-01'), p('2024-01-01', '2024-01-01'), []],
    ['up to the last day from an open period: nothing after it', open, p('2024-05-01', '9999-12-31'), [p('2024-03-01', '2024-04-30')]],
    ['up to the last day from a period ending then', p('2024-01-01', '9999-12-31'), p('2030-01-01', '9999-12-31'), [p('2024-01-01', '2029-12-31')]],
  ])('subtract: %s', (_name, a, b, expected) => {
    expect(subtract(a, b)).toEqual(expected);
  });

  it('clipToUnion: a request clipped to a union with holes', () => {
    const lines = [p('2024-01-01', '2024-02-15'), p('2024-02-16', '2024-03-10'), p('2024-05-01', null)];
    expect(clipToUnion(p('2024-02-01', '2024-06-30'), lines)).toEqual([
      p('2024-02-01', '2024-03-10'),
      p('2024-05-01', '2024-06-30'),
    ]);
    expect(clipToUnion(p('2024-03-11', '2024-04-30'), lines)).toEqual([]);
    expect(clipToUnion(p('2023-01-01', null), lines)).toEqual([p('2024-01-01', '2024-03-10'), p('2024-05-01', null)]);
    expect(clipToUnion(q1, [])).toEqual([]);
  });

  it('hull', () => {
    expect(hull([])).toBeNull();
    expect(hull([q2, q1])).toEqual(p('2024-01-01', '2024-06-30'));
    expect(hull([q1, open])).toEqual(p('2024-01-01', null));
  });
});

// ---------------------------------------------------------------------------------------------------
// Properties: periods over a small window of days, so that overlaps and adjacency happen often.

const BASE = dayNumber('2023-12-01');
const arbDay = fc.integer({ min: 0, max: 150 });
// Years 0001–9999, leaving a day at each end for nextDay/previousDay.
const arbDate = fc
  .integer({ min: dayNumber('0001-01-02'), max: dayNumber('9999-12-30') })
  .map(fromDayNumber);
const arbPeriod: fc.Arbitrary<Period> = fc
  .tuple(arbDay, fc.option(fc.integer({ min: 0, max: 60 }), { freq: 5 }))
  .map(([start, len]) => ({
    from: fromDayNumber(BASE + start),
    to: len === null ? null : fromDayNumber(BASE + start + len),
  }));
const arbProbe = fc.integer({ min: -5, max: 250 }).map((n) => fromDayNumber(BASE + n));

const inAny = (ps: readonly Period[], d: string) => ps.some((x) => contains(x, d));

describe('period algebra: properties', () => {
  it('intersect contains exactly the days in both', () => {
    fc.assert(
      fc.property(arbPeriod, arbPeriod, arbProbe, (a, b, d) => {
        const i = intersect(a, b);
        expect(i === null ? false : contains(i, d)).toBe(contains(a, d) && contains(b, d));
        expect(i !== null).toBe(overlaps(a, b));
        expect(intersect(a, b)).toEqual(intersect(b, a));
      }),
      { numRuns: 3000 },
    );
  });

  it('union contains exactly the days of its inputs, sorted, disjoint and non-adjacent', () => {
    fc.assert(
      fc.property(fc.array(arbPeriod, { maxLength: 8 }), fc.array(arbProbe, { maxLength: 20 }), (ps, probes) => {
        const u = union(ps);
        for (const d of probes) expect(inAny(u, d)).toBe(inAny(ps, d));
        for (let i = 1; i < u.length; i++) {
          const prev = u[i - 1] as Period;
          const cur = u[i] as Period;
          expect(prev.to).not.toBeNull();
          expect(touches(prev, cur)).toBe(false);
          expect(comparePeriods(prev, cur)).toBeLessThan(0);
        }
        expect(union(u)).toEqual(u); // idempotent
        expect(union([...ps].reverse())).toEqual(u); // order-independent
        for (const x of u) expect(isValidPeriod(x)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('subtract contains exactly the days of a not in b, in at most two valid pieces', () => {
    fc.assert(
      fc.property(arbPeriod, arbPeriod, fc.array(arbProbe, { maxLength: 20 }), (a, b, probes) => {
        const s = subtract(a, b);
        expect(s.length).toBeLessThanOrEqual(2);
        for (const d of probes) expect(inAny(s, d)).toBe(contains(a, d) && !contains(b, d));
        for (const x of s) expect(isValidPeriod(x)).toBe(true);
        // pieces and b rebuild a when b lies inside a
        const bInA = intersect(a, b);
        if (bInA !== null) expect(union([...s, bInA])).toEqual([a]);
      }),
      { numRuns: 3000 },
    );
  });

  it('clipToUnion contains exactly the days in the request and in some period', () => {
    fc.assert(
      fc.property(arbPeriod, fc.array(arbPeriod, { maxLength: 6 }), fc.array(arbProbe, { maxLength: 20 }), (r, ps, probes) => {
        const c = clipToUnion(r, ps);
        for (const d of probes) expect(inAny(c, d)).toBe(contains(r, d) && inAny(ps, d));
        expect(union(c)).toEqual(c); // already canonical
      }),
      { numRuns: 2000 },
    );
  });

  it('touches is overlap or adjacency by one day', () => {
    fc.assert(
      fc.property(arbPeriod, arbPeriod, (a, b) => {
        const adjacent =
          (a.to !== null && addDays(a.to, 1) === b.from) || (b.to !== null && addDays(b.to, 1) === a.from);
        expect(touches(a, b)).toBe(overlaps(a, b) || adjacent);
        expect(union([a, b]).length).toBe(touches(a, b) ? 1 : 2);
      }),
      { numRuns: 3000 },
    );
  });

  it('expandQuarters lists each touched quarter once, in order', () => {
    fc.assert(
      fc.property(arbPeriod, (a) => {
        const qs = expandQuarters(a, '2024-12-31');
        const end = a.to ?? '2024-12-31';
        if (end < a.from) return;
        expect(qs[0]).toBe(quarterOf(a.from));
        expect(qs[qs.length - 1]).toBe(quarterOf(end));
        expect(new Set(qs).size).toBe(qs.length);
        for (const q of qs) expect(overlaps(quarterPeriod(q) as Period, { from: a.from, to: end })).toBe(true);
      }),
    );
  });
});
