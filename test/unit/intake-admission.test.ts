import { describe, expect, it } from 'vitest';
import { pendingAdmission } from '../../src/gateway/request-pipeline.js';
import { NO_METRICS } from '../../src/observability/metrics.js';

/** A pending store whose size the test sets, counting how often it is asked. */
function store(initial: number) {
  let size = initial;
  let reads = 0;
  return {
    set: (n: number) => void (size = n),
    reads: () => reads,
    size: async () => {
      reads++;
      return size;
    },
  };
}

describe('request intake admission (back-pressure on pending exchanges)', () => {
  it('admits below the bound, pauses at and above it for the configured time', async () => {
    const pending = store(0);
    const admit = pendingAdmission(pending, { maxPending: 100, pauseMs: 50 });
    expect(await admit()).toBe(0);
    pending.set(99);
    expect(await admit()).toBe(0);
    pending.set(100);
    expect(await admit()).toBe(50);
    pending.set(1_000_000);
    expect(await admit()).toBe(50);
    pending.set(0);
    expect(await admit()).toBe(0);
  });

  it('reads the count before every chunk: one process exceeds the bound by one chunk at most', async () => {
    const pending = store(0);
    const admit = pendingAdmission(pending, { maxPending: 10, pauseMs: 50 });
    for (let i = 0; i < 5; i++) await admit();
    expect(pending.reads()).toBe(5);
  });

  it('counts each pause for the operators', async () => {
    let pauses = 0;
    const metrics = { ...NO_METRICS, intakePaused: () => void pauses++ };
    const pending = store(5);
    const admit = pendingAdmission(pending, { maxPending: 5, pauseMs: 10 }, metrics);
    await admit();
    await admit();
    pending.set(4);
    await admit();
    expect(pauses).toBe(2);
  });

  it('fails closed: a Redis failure is thrown, never taken for room', async () => {
    const admit = pendingAdmission({ size: async () => Promise.reject(new Error('connection refused')) }, { maxPending: 10, pauseMs: 10 });
    await expect(admit()).rejects.toThrow('connection refused');
  });
});
