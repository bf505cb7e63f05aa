import { describe, expect, it } from 'vitest';
import { spread } from '../../bench/repetitions.js';

describe('the benchmark repetitions spread', () => {
  it('gives the median, min and max of the measured values, in the order measured', () => {
    expect(spread([30, 10, 20])).toEqual({ median: 20, min: 10, max: 30, values: [30, 10, 20] });
  });

  it('takes the lower middle value of an even count: a value that was measured', () => {
    expect(spread([4, 1, 3, 2]).median).toBe(2);
  });

  it('leaves out what was not measured, and is empty when nothing was', () => {
    expect(spread([null, 5, undefined])).toEqual({ median: 5, min: 5, max: 5, values: [null, 5, null] });
    expect(spread([null])).toEqual({ median: null, min: null, max: null, values: [null] });
  });
});
