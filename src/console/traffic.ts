/**
 * Traffic as the operator's screen shows it: the metrics registry sampled every few seconds into a
 * bounded ring in memory (no database; a restart starts an empty graph, Prometheus keeps history).
 * Only the registry's public reading is used: the metric names are those src/observability defines.
 */
import type { Registry } from 'prom-client';

export const METRIC = {
  answered: 'bcss_requests_answered_total',
  duration: 'bcss_exchange_duration_seconds',
  pending: 'bcss_pending_exchanges',
  pauses: 'bcss_intake_pauses_total',
  lag: 'bcss_consumer_lag_messages',
} as const;

export interface TrafficSample {
  readonly at: number;
  /** Answers so far by `service outcome`. */
  readonly answers: ReadonlyMap<string, number>;
  /** Cumulative histogram bucket counts by upper bound (all services together), `+Inf` last. */
  readonly buckets: ReadonlyArray<readonly [le: number, count: number]>;
  readonly pending: number;
  readonly pauses: number;
  readonly lag: ReadonlyArray<{ readonly group: string; readonly topic: string; readonly partition: string; readonly messages: number }>;
}

interface MetricJson {
  name: string;
  values: Array<{ value: number; labels: Record<string, string | number>; metricName?: string }>;
}

export async function sampleRegistry(registry: Registry, at = Date.now()): Promise<TrafficSample> {
  const metrics = (await registry.getMetricsAsJSON()) as unknown as MetricJson[];
  const values = (name: string) => metrics.find((m) => m.name === name)?.values ?? [];
  const answers = new Map<string, number>();
  for (const v of values(METRIC.answered)) answers.set(`${String(v.labels.service)} ${String(v.labels.outcome)}`, v.value);
  const buckets = new Map<number, number>();
  for (const v of values(METRIC.duration)) {
    if (v.metricName !== `${METRIC.duration}_bucket`) continue;
    const le = v.labels.le === '+Inf' ? Infinity : Number(v.labels.le);
    buckets.set(le, (buckets.get(le) ?? 0) + v.value);
  }
  return {
    at,
    answers,
    buckets: [...buckets.entries()].sort((a, b) => a[0] - b[0]),
    pending: values(METRIC.pending)[0]?.value ?? 0,
    pauses: values(METRIC.pauses)[0]?.value ?? 0,
    lag: values(METRIC.lag).map((v) => ({ group: String(v.labels.group), topic: String(v.labels.topic), partition: String(v.labels.partition ?? ""), messages: v.value })),
  };
}

/** The latency below which a share `q` of the answers fell, interpolated within its bucket (as Prometheus' histogram_quantile). */
export function quantile(q: number, buckets: ReadonlyArray<readonly [number, number]>): number | null {
  const total = buckets.at(-1)?.[1] ?? 0;
  if (total === 0) return null;
  const rank = q * total;
  let previousLe = 0;
  let previousCount = 0;
  for (const [le, count] of buckets) {
    if (count >= rank) {
      if (le === Infinity) return previousLe;
      return previousLe + ((le - previousLe) * (rank - previousCount)) / Math.max(count - previousCount, 1);
    }
    previousLe = le;
    previousCount = count;
  }
  return previousLe;
}

export interface TrafficRing {
  readonly samples: () => readonly TrafficSample[];
  /** Takes a sample now (the timer does it every interval). */
  sample(): Promise<void>;
  stop(): void;
}

export function startTrafficRing(options: { registry: Registry; intervalMs?: number; capacity?: number; onError?: (error: unknown) => void }): TrafficRing {
  const capacity = options.capacity ?? 360;
  const ring: TrafficSample[] = [];
  const sample = async () => {
    try {
      ring.push(await sampleRegistry(options.registry));
      if (ring.length > capacity) ring.splice(0, ring.length - capacity);
    } catch (error) {
      options.onError?.(error);
    }
  };
  void sample();
  const timer = setInterval(() => void sample(), options.intervalMs ?? 5_000);
  timer.unref();
  return { samples: () => ring, sample, stop: () => clearInterval(timer) };
}

export interface TrafficView {
  readonly from: number | null;
  readonly to: number | null;
  /** Per `service outcome`: the answers in each interval of the ring, and their sum. */
  readonly series: ReadonlyArray<{ readonly key: string; readonly counts: readonly number[]; readonly total: number }>;
  /** Over the ring's window (else since start): p50, p95, p99 in seconds. */
  readonly latency: { readonly p50: number | null; readonly p95: number | null; readonly p99: number | null; readonly answers: number };
  readonly pending: number;
  readonly pauses: number;
  readonly pausesInWindow: number;
  readonly lag: TrafficSample['lag'];
}

export function trafficView(samples: readonly TrafficSample[]): TrafficView {
  const first = samples[0];
  const last = samples.at(-1);
  if (!first || !last) {
    return { from: null, to: null, series: [], latency: { p50: null, p95: null, p99: null, answers: 0 }, pending: 0, pauses: 0, pausesInWindow: 0, lag: [] };
  }
  const keys = [...new Set(samples.flatMap((s) => [...s.answers.keys()]))].sort();
  const series = keys.map((key) => {
    const counts = samples.slice(1).map((s, i) => (s.answers.get(key) ?? 0) - ((samples[i] as TrafficSample).answers.get(key) ?? 0));
    return { key, counts, total: counts.reduce((a, b) => a + b, 0) };
  });
  // The window's own answers when the ring holds more than one sample and answers came in it.
  const before = new Map(first.buckets);
  const windowBuckets = last.buckets.map(([le, count]) => [le, count - (samples.length > 1 ? (before.get(le) ?? 0) : 0)] as const);
  const buckets = (windowBuckets.at(-1)?.[1] ?? 0) > 0 ? windowBuckets : last.buckets;
  return {
    from: first.at,
    to: last.at,
    series,
    latency: { p50: quantile(0.5, buckets), p95: quantile(0.95, buckets), p99: quantile(0.99, buckets), answers: buckets.at(-1)?.[1] ?? 0 },
    pending: last.pending,
    pauses: last.pauses,
    pausesInWindow: last.pauses - first.pauses,
    lag: last.lag,
  };
}
