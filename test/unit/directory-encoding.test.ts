import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sortLines, type Integration } from '../../src/domain/directory.js';
import { dayNumber, fromDayNumber } from '../../src/domain/period.js';
import type { EmployerRef } from '../../src/domain/types.js';
import { decodeLines, DirectoryDecodeError, encodeLines } from '../../src/store/directory-encoding.js';
import { E1, E2, E3, L, NISS, OTHER_NISS, T0, T1 } from './support/directory-lines.js';

describe('encodeLines / decodeLines', () => {
  it('writes the documented compact form', () => {
    const lines = [
      L('vaph', '12/10', 1, '2024-01-01', null, { employer: E1, at: '2024-01-01T08:00:00.000Z' }),
      L('inami', '17/2', 12, '2023-07-01', '2023-09-30', { at: '2024-06-01T12:30:00.000Z' }),
      L('onem', '12/10', 2, '2024-01-01', '2024-01-01', { employer: E3, at: T0 }),
      L('onem', '12/10', 2, '2024-01-01', '2024-01-01', { employer: E2, at: T0 }),
    ];
    const text = encodeLines(lines);
    const t0 = Date.parse(T0).toString(36);
    expect(text).toBe(
      [
        `inami|17/2|12|20230701|20230930||${Date.parse(T1).toString(36)}`,
        `onem|12/10|2|20240101|20240101|O123456749|${t0}`,
        `onem|12/10|2|20240101|20240101|P5000000120|${t0}`,
        `vaph|12/10|1|20240101||E0203201340|${t0}`,
      ].join('\n'),
    );
    expect(decodeLines(text, NISS)).toEqual(sortLines(lines));
  });

  it('an empty list is an empty string and back', () => {
    expect(encodeLines([])).toBe('');
    expect(decodeLines('', NISS)).toEqual([]);
  });

  it('a typical line costs well under 60 bytes (the per-line budget in Redis is 150)', () => {
    const text = encodeLines([L('cpas-21004', '17/2', 1, '2024-01-01', '2024-12-31', { employer: E1 })]);
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(60);
  });

  it('refuses lines of several people in one value', () => {
    expect(() => encodeLines([L('vaph', '12/10', 1, '2024-01-01', null), L('vaph', '12/10', 1, '2024-01-01', null, { niss: OTHER_NISS })])).toThrow(RangeError);
  });

  it('refuses fields that would break the format', () => {
    expect(() => encodeLines([L('va|ph', '12/10', 1, '2024-01-01', null)])).toThrow(RangeError);
    expect(() => encodeLines([{ ...L('vaph', '12/10', 1, '2024-01-01', null), updatedAt: 'never' }])).toThrow(RangeError);
  });

  it.each([
    ['too few fields', 'vaph|12/10|1|20240101||'],
    ['too many fields', 'vaph|12/10|1|20240101|||lx|x'],
    ['bad start', 'vaph|12/10|1|2024011||E0203201340|lx'],
    ['impossible date', 'vaph|12/10|1|20230229|||lx'],
    ['bad end', 'vaph|12/10|1|20240101|2024|E0203201340|lx'],
    ['phase 0', 'vaph|12/10|0|20240101|||lx'],
    ['bad employer letter', 'vaph|12/10|1|20240101||X0203201340|lx'],
    ['employer without digits', 'vaph|12/10|1|20240101||E|lx'],
    ['bad timestamp', 'vaph|12/10|1|20240101|||L!'],
    ['empty timestamp', 'vaph|12/10|1|20240101|||'],
  ])('decode refuses %s', (_name, text) => {
    expect(() => decodeLines(text, NISS)).toThrow(DirectoryDecodeError);
  });

  const arbCode = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,15}$/);
  const arbEmployer = fc.oneof(
    fc.constant(undefined),
    fc.constantFrom<EmployerRef>(E1, E2, E3, { kind: 'ENTERPRISE', id: '1000000021' }),
  );
  const arbLine: fc.Arbitrary<Integration> = fc
    .record({
      institution: arbCode,
      capacity: arbCode,
      phase: fc.integer({ min: 1, max: 99 }),
      from: fc.integer({ min: dayNumber('1900-01-01'), max: dayNumber('2199-12-31') }),
      len: fc.option(fc.integer({ min: 0, max: 20_000 }), { freq: 3 }),
      employer: arbEmployer,
      ms: fc.integer({ min: 0, max: Date.UTC(2200, 0, 1) }),
    })
    .map(({ from, len, employer, ms, ...rest }) => ({
      niss: NISS,
      ...rest,
      period: { from: fromDayNumber(from), to: len === null ? null : fromDayNumber(from + len) },
      ...(employer === undefined ? {} : { employer }),
      updatedAt: new Date(ms).toISOString(),
    }));

  it('round-trips any list of lines (in canonical order)', () => {
    fc.assert(
      fc.property(fc.array(arbLine, { maxLength: 10 }), (lines) => {
        expect(decodeLines(encodeLines(lines), NISS)).toEqual(sortLines(lines));
      }),
      { numRuns: 1000 },
    );
  });
});
