/**
 * Latency figures from every sample of a window, not from a histogram's buckets: at the rates
 * measured (≤ some hundred thousand samples per window) a sorted Float64Array is exact and cheap.
 */
export interface LatencySummary {
  readonly samples: number;
  readonly p50_ms: number | null;
  readonly p95_ms: number | null;
  readonly p99_ms: number | null;
  readonly max_ms: number | null;
  readonly mean_ms: number | null;
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: Float64Array, p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] ?? null;
}

export function summarizeLatencies(values: readonly number[]): LatencySummary {
  const sorted = Float64Array.from(values).sort();
  const r = (v: number | null) => (v === null ? null : Math.round(v * 100) / 100);
  const sum = values.reduce((a, b) => a + b, 0);
  return {
    samples: sorted.length,
    p50_ms: r(percentile(sorted, 50)),
    p95_ms: r(percentile(sorted, 95)),
    p99_ms: r(percentile(sorted, 99)),
    max_ms: r(sorted.length > 0 ? (sorted[sorted.length - 1] ?? null) : null),
    mean_ms: r(sorted.length > 0 ? sum / sorted.length : null),
  };
}
