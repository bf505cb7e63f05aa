import type { CpuReport } from './cpu-accounting.js';
import { round } from './cpu-accounting.js';
import type { EndToEndResult } from './end-to-end.js';
import type { OneHopResult } from './one-hop.js';

/**
 * `--repeat N`: every topology measured N times, alternately, on a machine whose load drifts; each
 * figure is reported as its median over the repetitions with its spread (min, max, every value).
 */
export interface Repetition {
  readonly repetition: number;
  /** The topologies in the order they ran (alternated from one repetition to the next). */
  readonly order: readonly string[];
  readonly baseline: EndToEndResult | null;
  readonly gateway: EndToEndResult | null;
  readonly peer: OneHopResult | null;
  readonly relay: OneHopResult | null;
}

export interface Spread {
  readonly median: number | null;
  readonly min: number | null;
  readonly max: number | null;
  readonly values: ReadonlyArray<number | null>;
}

/** Median of the values measured (the lower middle one of an even count, a value that was measured). */
export function spread(values: ReadonlyArray<number | null | undefined>): Spread {
  const all = values.map((v) => (v === undefined ? null : v));
  const measured = all.filter((v): v is number => v !== null).sort((a, b) => a - b);
  if (measured.length === 0) return { median: null, min: null, max: null, values: all };
  return {
    median: measured[Math.floor((measured.length - 1) / 2)] as number,
    min: measured[0] as number,
    max: measured[measured.length - 1] as number,
    values: all,
  };
}

const ratioOf = (a: number | null | undefined, b: number | null | undefined, digits = 3): number | null =>
  a === null || a === undefined || !b ? null : round(a / b, digits);

/** CPU ms per exchange of each process (and the whole machine) of a window. */
function cpuPerExchange(report: CpuReport | undefined): Record<string, number | null> {
  if (!report) return {};
  const out: Record<string, number | null> = {};
  for (const [name, share] of Object.entries(report.byProcess)) out[name] = share.msPerExchange;
  out.machine = report.machine?.msPerExchange ?? null;
  out.other_load = report.others?.msPerExchange ?? null;
  return out;
}

/** Per process: the spread of its CPU ms per exchange over the repetitions. */
function cpuSpreads(reports: ReadonlyArray<CpuReport | undefined>): Record<string, Spread> {
  const each = reports.map(cpuPerExchange);
  const names = new Set(each.flatMap((e) => Object.keys(e)));
  return Object.fromEntries([...names].map((name) => [name, spread(each.map((e) => e[name] ?? null))]));
}

/** Every figure of the run's summary, each as its spread over the repetitions. */
export function summarize(repetitions: readonly Repetition[]) {
  const figures = {
    baseline_eps: spread(repetitions.map((r) => r.baseline?.throughput?.eps)),
    gateway_eps: spread(repetitions.map((r) => r.gateway?.throughput?.eps)),
    // Each repetition's own ratio: its two topologies ran back to back, under the same load.
    ratio: spread(repetitions.map((r) => ratioOf(r.gateway?.throughput?.eps, r.baseline?.throughput?.eps))),
    p50_ms: spread(repetitions.map((r) => r.gateway?.latency?.latency.p50_ms)),
    p95_ms: spread(repetitions.map((r) => r.gateway?.latency?.latency.p95_ms)),
    p99_ms: spread(repetitions.map((r) => r.gateway?.latency?.latency.p99_ms)),
    baseline_p99_ms: spread(repetitions.map((r) => r.baseline?.latency?.latency.p99_ms)),
    p99_ratio: spread(repetitions.map((r) => ratioOf(r.gateway?.latency?.latency.p99_ms, r.baseline?.latency?.latency.p99_ms))),
    peer_drain_eps: spread(repetitions.map((r) => r.peer?.drain?.eps)),
    relay_drain_eps: spread(repetitions.map((r) => r.relay?.drain?.eps)),
    peer_p50_ms: spread(repetitions.map((r) => r.peer?.latency?.latency.p50_ms)),
    peer_p99_ms: spread(repetitions.map((r) => r.peer?.latency?.latency.p99_ms)),
    relay_hop_p50_ms: spread(repetitions.map((r) => r.relay?.latency?.latency.p50_ms)),
    relay_hop_p99_ms: spread(repetitions.map((r) => r.relay?.latency?.latency.p99_ms)),
    relay_drain_concurrent_transactions: spread(repetitions.map((r) => r.relay?.drain?.concurrent_transaction_retries)),
  };
  const cpu = {
    baseline_throughput: cpuSpreads(repetitions.map((r) => r.baseline?.throughput?.cpu)),
    gateway_throughput: cpuSpreads(repetitions.map((r) => r.gateway?.throughput?.cpu)),
    baseline_latency: cpuSpreads(repetitions.map((r) => r.baseline?.latency?.cpu)),
    gateway_latency: cpuSpreads(repetitions.map((r) => r.gateway?.latency?.cpu)),
    peer_drain: cpuSpreads(repetitions.map((r) => r.peer?.drain?.cpu)),
    relay_drain: cpuSpreads(repetitions.map((r) => r.relay?.drain?.cpu)),
    peer_latency: cpuSpreads(repetitions.map((r) => r.peer?.latency?.cpu)),
    relay_latency: cpuSpreads(repetitions.map((r) => r.relay?.latency?.cpu)),
  };
  const medians = <T extends Record<string, Spread>>(spreads: T) =>
    Object.fromEntries(Object.entries(spreads).map(([name, s]) => [name, s.median])) as { [K in keyof T]: number | null };
  return {
    figures,
    medians: medians(figures),
    cpu_ms_per_exchange: Object.fromEntries(Object.entries(cpu).map(([window, byProcess]) => [window, medians(byProcess)])) as {
      [K in keyof typeof cpu]: Record<string, number | null>;
    },
    cpu_spreads: cpu,
  };
}
