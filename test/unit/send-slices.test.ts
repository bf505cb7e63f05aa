import { describe, expect, it } from 'vitest';
import { sendSlices, type OutRecord } from '../../src/messaging/transactional-pipeline.js';

const record = (bytes: number, topic = 't'): OutRecord => ({ topic, key: 'k', value: Buffer.alloc(bytes) });

describe('a transaction\'s output in produce calls the broker accepts', () => {
  it('sends a small output in one call, in order', () => {
    const records = Array.from({ length: 1_000 }, (_, i) => record(100 + i));
    const slices = sendSlices(records);
    expect(slices).toHaveLength(1);
    expect(slices[0]).toEqual(records);
  });

  it('cuts a large output into consecutive slices of at most 900 KiB, order kept', () => {
    const records = Array.from({ length: 300 }, () => record(10_000));
    const slices = sendSlices(records);
    expect(slices.length).toBeGreaterThan(1);
    expect(slices.flat()).toEqual(records);
    for (const slice of slices) expect(slice.reduce((sum, r) => sum + (r.value?.length ?? 0), 0)).toBeLessThanOrEqual(900 * 1024);
  });

  it('puts a record larger than the budget alone, between the others', () => {
    const big = record(950 * 1024);
    const slices = sendSlices([record(500), record(500), big, record(500)]);
    expect(slices.map((s) => s.length)).toEqual([2, 1, 1]);
    expect(slices[1]).toEqual([big]);
  });

  it('sends nothing for no output', () => {
    expect(sendSlices([])).toEqual([]);
  });
});
