import type { CpuReport } from './cpu-accounting.js';
import type { DirectoryScaleResult } from './directory-scale.js';
import type { EndToEndResult, MeasuredPhase } from './end-to-end.js';
import type { MachineInfo } from './environment.js';
import type { MicroReport } from './micro.js';
import type { OneHopResult } from './one-hop.js';
import type { ProfileSummary } from './profile-summary.js';
import type { Spread } from './repetitions.js';

/** The human-readable side of a run, on stdout (progress goes to stderr, the JSON to a file). */
export interface ReportInput {
  readonly baseline_eps: number | null;
  readonly gateway_eps: number | null;
  readonly ratio: number | null;
  readonly latency_rate: number;
  readonly targets: Readonly<Record<string, { readonly value: number | null; readonly limit: number; readonly met: boolean | null }>>;
  readonly machine: MachineInfo;
  readonly load: { readonly mix: string };
  /** Set when the run departs from the switch as shipped (an experiment's options). */
  readonly experiment: string | null;
  readonly end_to_end: { readonly baseline: EndToEndResult | null; readonly gateway: EndToEndResult | null };
  readonly repeat: number;
  /** Every figure of the summary over the repetitions. */
  readonly spreads: Readonly<Record<string, Spread>>;
  /** Medians over the repetitions, by window, then by process. */
  readonly cpu_ms_per_exchange: Readonly<Record<string, Readonly<Record<string, number | null>>>>;
  readonly one_hop: { readonly backlog: number; readonly value_bytes: number; readonly partitions: number; readonly peer: OneHopResult | null; readonly relay: OneHopResult | null };
  readonly micro: MicroReport | null;
  readonly directory: DirectoryScaleResult | null;
  readonly profile: ProfileSummary | null;
}

const n = (v: number | null | undefined, digits = 0) =>
  v === null || v === undefined ? '—' : v.toLocaleString('en', { maximumFractionDigits: digits, minimumFractionDigits: digits });

function table(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join(' | ')} |`;
  return [line(headers), `|${widths.map((w, i) => (i === 0 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`, ...rows.map(line)].join('\n');
}

function cpuRows(phases: ReadonlyArray<readonly [string, CpuReport | undefined]>): string[][] {
  const names = new Set<string>();
  for (const [, report] of phases) for (const name of Object.keys(report?.byProcess ?? {})) names.add(name);
  const rows = [...names].map((name) => [name, ...phases.flatMap(([, r]) => [n(r?.byProcess[name]?.cores, 2), n(r?.byProcess[name]?.msPerExchange, 3)])]);
  rows.push(['other load on the machine', ...phases.flatMap(([, r]) => [n(r?.others?.cores, 2), '—'])]);
  rows.push(['whole machine', ...phases.flatMap(([, r]) => [n(r?.machine?.cores, 2), n(r?.machine?.msPerExchange, 3)])]);
  return rows;
}

export function printReport(result: ReportInput): void {
  const out: string[] = [];
  const { baseline, gateway } = result.end_to_end;
  const phase = (r: EndToEndResult | null, p: 'throughput' | 'latency'): MeasuredPhase | null => r?.[p] ?? null;
  out.push(`\nMachine: ${result.machine.cpus} × ${result.machine.cpuModel}, ${result.machine.memoryGiB} GiB; broker, Redis, gateway, simulators and load generator share these cores.`);
  out.push(`Load: ${result.load.mix}.\n`);
  if (result.experiment !== null) out.push(`EXPERIMENT, not the switch as shipped: ${result.experiment}.\n`);

  const bt = phase(baseline, 'throughput');
  const gt = phase(gateway, 'throughput');
  const bl = phase(baseline, 'latency');
  const gl = phase(gateway, 'latency');
  if (result.repeat > 1 && (bt || gt || bl || gl)) out.push(`First of ${result.repeat} repetitions (the ratio: median of the repetitions'; every figure's median and spread below):\n`);
  if (bt || gt || bl || gl) out.push(
    table(
      ['end to end', 'baseline (bare relay)', 'gateway', 'gateway / baseline'],
      [
        [`exchanges/s (closed loop, ${bt?.window ?? gt?.window ?? '—'} in flight)`, n(bt?.eps), n(gt?.eps), n(result.ratio, 3)],
        [`latency p50 at ${result.latency_rate}/s (ms)`, n(bl?.latency.p50_ms, 1), n(gl?.latency.p50_ms, 1), ''],
        [`latency p95 at ${result.latency_rate}/s (ms)`, n(bl?.latency.p95_ms, 1), n(gl?.latency.p95_ms, 1), ''],
        [`latency p99 at ${result.latency_rate}/s (ms)`, n(bl?.latency.p99_ms, 1), n(gl?.latency.p99_ms, 1), ''],
        [`latency max at ${result.latency_rate}/s (ms)`, n(bl?.latency.max_ms, 1), n(gl?.latency.max_ms, 1), ''],
        ['offered in the latency window (/s)', n(bl?.offered_eps), n(gl?.offered_eps), ''],
        ['unanswered (throughput / latency)', `${n(bt?.unanswered)} / ${n(bl?.unanswered)}`, `${n(gt?.unanswered)} / ${n(gl?.unanswered)}`, ''],
        ['latency p99 under the closed loop (ms)', n(bt?.latency.p99_ms, 1), n(gt?.latency.p99_ms, 1), ''],
      ],
    ),
  );
  if (gt) out.push(`\nGateway replies in the throughput window by kind and status: ${JSON.stringify(gt.statuses)}`);
  const segmentRows = [bl, gl].flatMap((p, i) =>
    Object.entries(p?.segments ?? {}).map(([name, l]) => [`${i === 0 ? 'baseline' : 'gateway'}: ${name}`, n(l.p50_ms, 0), n(l.p95_ms, 0), n(l.p99_ms, 0)]),
  );
  if (segmentRows.length > 0) {
    out.push(`\nWhere the latency at ${result.latency_rate}/s goes (wall-clock stamps the messages carry, ms):\n`);
    out.push(table(['segment', 'p50', 'p95', 'p99'], segmentRows));
  }

  if (bt || gt) {
    out.push('\nCPU during the throughput window (cores used, CPU ms per exchange):\n');
    out.push(table(['process', 'baseline cores', 'ms/exch.', 'gateway cores', 'ms/exch.'], cpuRows([['baseline', bt?.cpu], ['gateway', gt?.cpu]])));
    const elu = (p: MeasuredPhase | null) => Object.entries(p?.event_loop_utilization ?? {}).map(([k, v]) => `${k} ${n(v * 100)}%`).join(', ');
    out.push(`\nEvent loop busy: baseline ${elu(bt) || '—'}; gateway ${elu(gt) || '—'}`);
  }
  const retries = (p: MeasuredPhase | null) => Object.entries(p?.concurrent_transaction_retries ?? {}).map(([k, v]) => `${k} ${v}`).join(', ') || '—';
  if (bt || gt || bl || gl) out.push(`Transaction steps retried after CONCURRENT_TRANSACTIONS, throughput / latency window: baseline ${retries(bt)} / ${retries(bl)}; gateway ${retries(gt)} / ${retries(gl)}`);

  const hop = result.one_hop;
  if (hop.peer || hop.relay) {
    const s = result.spreads;
    const m = (name: string, digits = 0) => {
      const f = s[name];
      return f?.median === null || f === undefined ? '—' : result.repeat > 1 ? `${n(f.median, digits)} (${n(f.min, digits)}–${n(f.max, digits)})` : n(f.median, digits);
    };
    const cpu = (window: string, process: string) => n(result.cpu_ms_per_exchange[window]?.[process], 4);
    out.push(`\nOne hop, ${hop.partitions} partitions, ${hop.value_bytes} B values, exactly once (median${result.repeat > 1 ? ` of ${result.repeat}, min–max` : ''}):\n`);
    out.push(
      table(
        ['one hop', 'Kafka Streams EOS v2 (peer)', 'transactional pipeline (relay)'],
        [
          [`drain of ${n(hop.backlog)} values (/s)`, m('peer_drain_eps'), m('relay_drain_eps')],
          ['  CPU ms per value: relay process / broker / whole machine', `${cpu('peer_drain', 'peer')} / ${cpu('peer_drain', 'kafka')} / ${cpu('peer_drain', 'machine')}`, `${cpu('relay_drain', 'relay')} / ${cpu('relay_drain', 'kafka')} / ${cpu('relay_drain', 'machine')}`],
          [`latency p50 at ${result.latency_rate}/s (ms)`, m('peer_p50_ms', 1), m('relay_hop_p50_ms', 1)],
          [`latency p99 at ${result.latency_rate}/s (ms)`, m('peer_p99_ms', 1), m('relay_hop_p99_ms', 1)],
          ['  CPU ms per value: relay process / broker / whole machine', `${cpu('peer_latency', 'peer')} / ${cpu('peer_latency', 'kafka')} / ${cpu('peer_latency', 'machine')}`, `${cpu('relay_latency', 'relay')} / ${cpu('relay_latency', 'kafka')} / ${cpu('relay_latency', 'machine')}`],
          ['CONCURRENT_TRANSACTIONS in the drain', '—', m('relay_drain_concurrent_transactions')],
          ['duplicates (drain / latency), first repetition', `${n(hop.peer?.drain?.duplicates)} / ${n(hop.peer?.latency?.duplicates)}`, `${n(hop.relay?.drain?.duplicates)} / ${n(hop.relay?.latency?.duplicates)}`],
        ],
      ),
    );
  }
  if (result.repeat > 1) {
    out.push(`\nEvery figure over the ${result.repeat} repetitions (median, min, max, each repetition's):\n`);
    out.push(
      table(
        ['figure', 'median', 'min', 'max', 'values'],
        Object.entries(result.spreads)
          .filter(([, f]) => f.median !== null)
          .map(([name, f]) => [name, n(f.median, 3), n(f.min, 3), n(f.max, 3), f.values.map((v) => n(v, 3)).join(', ')]),
      ),
    );
  }

  if (result.micro) {
    out.push('\nMicro-benchmarks (one core, median of 5 rounds):\n');
    out.push(table(['benchmark', 'ops/s', 'µs/op', 'what'], result.micro.benchmarks.map((m) => [m.name, n(m.ops_per_s), n(m.us_per_op, 2), m.what])));
    out.push(`\nMean sizes (bytes): ${Object.entries(result.micro.sizes).map(([k, v]) => `${k} ${n(v)}`).join(', ')}`);
  }

  const d = result.directory;
  if (d) {
    out.push(`\nDirectory at scale: ${n(d.integrations)} integrations (one line per person, lines of ${d.mean_value_bytes} B on average, in ${n(d.keys_used)} Redis keys)`);
    if (!d.valid) out.push(`NOT VALID, not counted against the target: ${d.invalid_reason}`);
    out.push(
      table(
        ['directory', 'value'],
        [
          ['Redis memory per integration (used_memory growth)', `${n(d.bytes_per_integration, 1)} B`],
          [`  of which key-table growth (${n(d.keys_before)} → ${n(d.keys_after)} keys)`, `${n(d.key_table_bytes_per_integration, 1)} B`],
          ['  with a key table of its own (Redis holding only the directory)', `${n(d.bytes_per_integration_own_table, 1)} B`],
          ['MEMORY USAGE of the keys of 1,000 persons, per person', `${n(d.memory_usage_sample_bytes, 1)} B`],
          [`lookups/s with ${n(d.small_size)} persons`, n(d.lookups_per_s_small)],
          [`lookups/s with ${n(d.integrations)} persons`, n(d.lookups_per_s_full)],
          [`lookups/s over ${n(d.small_size)} of the ${n(d.integrations)} (control)`, n(d.lookups_per_s_full_hot_subset)],
          ['load', `${n(d.load_seconds, 1)} s (${n(d.writes_per_s)} writes/s)`],
          ['clean-up (SCAN + UNLINK)', `${n(d.cleanup_seconds, 1)} s`],
        ],
      ),
    );
  }

  const p = result.profile;
  if (p) {
    out.push(`\nGateway CPU profile (${n(p.sampled_ms)} ms sampled, ${p.idle_percent}% idle; shares of busy time): ${p.file}\n`);
    out.push(table(['group (builtins charged to their caller)', 'ms', '%'], p.groups.slice(0, 16).map((g) => [g.group, n(g.ms), n(g.percent, 1)])));
    out.push('');
    out.push(table(['own function, inclusive', 'where', '%'], p.inclusive.slice(0, 12).map((f) => [f.function, f.where, n(f.percent, 1)])));
    out.push('');
    out.push(table(['function, self', 'where', '%'], p.top_functions.slice(0, 12).map((f) => [f.function, f.where, n(f.percent, 1)])));
  }

  out.push('\nTargets:');
  const label: Record<string, string> = {
    ratio: 'gateway / baseline ≥',
    gateway_eps: 'gateway exchanges/s ≥',
    p99_ms: 'p99 at 1,000/s (ms) <',
    redis_bytes_per_integration: 'Redis bytes per integration ≤',
  };
  for (const [name, t] of Object.entries(result.targets)) {
    out.push(`  ${(label[name] ?? name).padEnd(32)} ${String(t.limit).padEnd(6)} measured ${n(t.value, name === 'ratio' ? 3 : 1).padEnd(10)} ${t.met === null ? 'not measured' : t.met ? 'MET' : 'MISSED'}`);
  }
  process.stdout.write(`${out.join('\n')}\n`);
}
