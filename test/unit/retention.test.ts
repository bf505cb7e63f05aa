import { describe, expect, it } from 'vitest';
import { addDuration, parseDateDuration, retainUntil, type Retention } from '../../src/domain/retention.js';

describe('parseDateDuration', () => {
  it.each([
    ['P3Y', { years: 3, months: 0, days: 0 }],
    ['P6M', { years: 0, months: 6, days: 0 }],
    ['P10Y', { years: 10, months: 0, days: 0 }],
    ['P1Y2M10D', { years: 1, months: 2, days: 10 }],
    ['P2W', { years: 0, months: 0, days: 14 }],
  ])('%s', (text, expected) => {
    expect(parseDateDuration(text)).toEqual(expected);
  });

  it.each(['P', '', '3Y', 'P3y', 'PT6H', 'P1.5Y', 'P-1Y', 'three years'])('rejects %j', (text) => {
    expect(parseDateDuration(text)).toBeNull();
  });
});

describe('addDuration', () => {
  it.each([
    ['2023-07-10', 'P3Y', '2026-07-10'],
    ['2024-02-29', 'P1Y', '2025-02-28'], // no 29 February in 2025
    ['2024-08-31', 'P6M', '2025-02-28'],
    ['2023-08-31', 'P6M', '2024-02-29'], // leap year
    ['2024-10-31', 'P6M', '2025-04-30'],
    ['2024-07-01', 'P6M', '2025-01-01'],
    ['2024-12-15', 'P1M', '2025-01-15'],
    ['2024-12-31', 'P1D', '2025-01-01'],
    ['2024-01-31', 'P1M1D', '2024-03-01'],
    ['2010-03-02', 'P10Y', '2020-03-02'],
  ])('%s + %s = %s', (date, duration, expected) => {
    const d = parseDateDuration(duration);
    expect(d).not.toBeNull();
    expect(d && addDuration(date, d)).toBe(expected);
  });
});

describe('retainUntil', () => {
  const text = { paragraphs: '§1', text: 'x' };

  it('a duration counts from the day of receipt', () => {
    expect(retainUntil({ kind: 'duration', duration: 'P6M', ...text }, '2024-01-15')).toBe('2024-07-15');
  });

  it('consultation only: nothing may be kept beyond the day itself', () => {
    expect(retainUntil({ kind: 'no-storage', ...text }, '2024-01-15')).toBe('2024-01-15');
  });

  it('until an event, or unspecified: no date can be given', () => {
    const rules: Retention[] = [
      { kind: 'until-event', event: 'debt-paid', ...text },
      { kind: 'unspecified', ...text },
    ];
    for (const rule of rules) expect(retainUntil(rule, '2024-01-15')).toBeNull();
  });

  it('a malformed duration gives no date rather than a wrong one', () => {
    expect(retainUntil({ kind: 'duration', duration: 'six months', ...text }, '2024-01-15')).toBeNull();
  });
});
