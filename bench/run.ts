import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Command, InvalidArgumentError, Option } from 'commander';
import { PROJECT_ROOT } from '../src/config/project-paths.js';
import { createBenchLogger } from './bench-logger.js';
import { round } from './cpu-accounting.js';
import { runDirectoryScale, type DirectoryScaleResult } from './directory-scale.js';
import { runEndToEnd, type EndToEndOptions } from './end-to-end.js';
import { BenchSetupError, connectRuntime, machineInfo, probeStack } from './environment.js';
import { installInterruptHandler } from './interrupt.js';
import { createLoadPlan } from './load-plan.js';
import { runMicro, type MicroReport } from './micro.js';
import { runOneHop, type HopTarget, type OneHopOptions } from './one-hop.js';
import { summarizeProfile, type ProfileSummary } from './profile-summary.js';
import { summarize, type Repetition } from './repetitions.js';
import { printReport } from './report.js';

/**
 * `npm run bench`: the switch's throughput and latency against a bare relay on the same broker, one
 * hop of the switch's transactional pipeline against a Kafka Streams relay, the hot rules'
 * micro-benchmarks and the directory at a million integrations, in one run, from a running stack.
 * The topologies are measured `--repeat` times, alternately. Everything it creates (topics, Redis
 * keys, processes) is its own and is deleted at the end.
 */
const PHASES = ['micro', 'baseline', 'gateway', 'throughput', 'latency', 'one-hop', 'directory'] as const;
type Phase = (typeof PHASES)[number];

export const TARGETS = {
  ratio: 0.7,
  gatewayEps: 5_000,
  p99Ms: 50,
  latencyRate: 1_000,
  bytesPerIntegration: 150,
} as const;

const RESULTS_DIR = join(PROJECT_ROOT, 'bench', 'results');

function positiveInt(text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0) throw new InvalidArgumentError('a positive whole number');
  return value;
}

function share(text: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0 || value > 1) throw new InvalidArgumentError('a fraction between 0 and 1');
  return value;
}

function phases(text: string): Phase[] {
  const list = text.split(',').map((p) => p.trim()).filter(Boolean);
  for (const p of list) {
    if (!(PHASES as readonly string[]).includes(p)) throw new InvalidArgumentError(`phases are ${PHASES.join(', ')}`);
  }
  return list as Phase[];
}

interface Options {
  readonly duration: number;
  readonly warmup: number;
  readonly rate: number;
  readonly window: number;
  readonly persons: number;
  readonly dmfaShare: number;
  readonly directorySize: number;
  readonly repeat: number;
  readonly backlog: number;
  readonly skip: Phase[];
  readonly pipelineConcurrency: number;
  readonly processes: number;
  readonly profile: boolean;
  readonly json: boolean;
}

const program = new Command('bench')
  .description('Measure the gateway against a bare transactional relay on the running stack (npm run stack:up first)')
  .addOption(new Option('--duration <s>', 'seconds measured per phase, after the warm-up').argParser(positiveInt).default(30))
  .addOption(new Option('--warmup <s>', 'seconds of load before each measured window').argParser(positiveInt).default(10))
  .addOption(new Option('--rate <n>', 'offered exchanges per second of the latency phase (open loop)').argParser(positiveInt).default(TARGETS.latencyRate))
  .addOption(new Option('--window <n>', 'exchanges in flight at most in the throughput phase (closed loop)').argParser(positiveInt).default(2_000))
  .addOption(new Option('--persons <n>', 'generated persons integrated and asked about').argParser(positiveInt).default(10_000))
  .addOption(new Option('--dmfa-share <fraction>', 'share of DmfA requests (MAGDA for VAPH); the rest are identifications by ONVA').argParser(share).default(0.2))
  .addOption(new Option('--directory-size <n>', 'integrations loaded for the directory scale test').argParser(positiveInt).default(1_000_000))
  .addOption(new Option('--repeat <n>', 'times every topology is measured, alternately; figures are medians').argParser(positiveInt).default(3))
  .addOption(new Option('--backlog <n>', 'values of 300 B drained by the one-hop relays').argParser(positiveInt).default(200_000))
  .addOption(
    new Option('--pipeline-concurrency <n>', 'experiment: partitions each pipeline of the exchange path works on at once (1: as shipped)')
      .argParser(positiveInt)
      .default(1),
  )
  .addOption(new Option('--processes <n>', 'gateway (and relay) processes sharing the partitions, as several npm start would').argParser(positiveInt).default(1))
  .addOption(new Option('--skip <phases>', `comma-separated phases to leave out: ${PHASES.join(', ')}`).argParser(phases).default([]))
  .option('--profile', 'add a gateway throughput window under the CPU profiler and summarise where the time goes', false)
  .option('--json', 'write the results to bench/results/latest.json (and a dated copy)', false)
  .showHelpAfterError();

program.parse(process.argv);
const options = program.opts<Options>();
const skip = new Set(options.skip);
const began = performance.now();
const progress = (text: string) => process.stderr.write(`[${((performance.now() - began) / 1000).toFixed(0).padStart(4)} s] ${text}\n`);
installInterruptHandler(progress);

const { logger } = createBenchLogger('bench');

async function main(): Promise<number> {
  const runtime = await connectRuntime(logger);
  const { redisVersion } = await probeStack(runtime);
  const machine = machineInfo(runtime, redisVersion);
  const runId = randomBytes(3).toString('hex');
  progress(`run ${runId} on ${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGiB} GiB, Node ${machine.node}, Redis ${machine.redis} (${machine.stack})`);
  mkdirSync(RESULTS_DIR, { recursive: true });

  const plan = () => createLoadPlan({ persons: options.persons, dmfaShare: options.dmfaShare, catalogue: runtime.catalogue, deliberations: runtime.deliberations });
  const loadPlan = plan();
  let micro: MicroReport | null = null;
  let directory: DirectoryScaleResult | null = null;
  let profile: ProfileSummary | null = null;

  const endToEnd = (target: EndToEndOptions['target'], repetition: number) => {
    const profileFile = target === 'gateway' && options.profile && repetition === 1 ? join(RESULTS_DIR, `gateway-${runId}.cpuprofile`) : null;
    if (skip.has(target) || (skip.has('throughput') && skip.has('latency') && profileFile === null)) return null;
    return async () => {
      const result = await runEndToEnd(runtime, {
        target,
        runId: `${runId}r${repetition}`,
        // A fresh plan per target: both send the same sequence of requests.
        plan: plan(),
        persons: options.persons,
        window: options.window,
        rate: options.rate,
        warmupS: options.warmup,
        durationS: options.duration,
        throughput: !skip.has('throughput'),
        latency: !skip.has('latency'),
        profileFile,
        sourceTimeoutMs: 30_000,
        pipelineConcurrency: options.pipelineConcurrency,
        processes: options.processes,
        progress,
      });
      if (profileFile !== null) profile = summarizeProfile(profileFile);
      return result;
    };
  };
  const oneHop = (target: HopTarget, repetition: number) => {
    if (skip.has('one-hop')) return null;
    const hop: OneHopOptions = {
      target,
      runId,
      repetition,
      partitions: 4,
      backlog: options.backlog,
      valueBytes: 300,
      rate: options.rate,
      warmupS: options.warmup,
      durationS: options.duration,
      drainCommitMs: 100,
      latencyCommitMs: 20,
      drain: true,
      latency: true,
      progress,
    };
    return () => runOneHop(runtime, hop);
  };

  // The micro-benchmarks first, while none of the benchmark's other processes run.
  if (!skip.has('micro')) micro = await runMicro(runtime, { runId, persons: options.persons, progress });
  const repetitions: Repetition[] = [];
  for (let repetition = 1; repetition <= options.repeat; repetition++) {
    // Each pair compared runs back to back, its order swapped every other repetition (A B, B A, ...),
    // so that a drift of the machine's load does not always fall on the same side.
    const swap = <T>(pair: [T, T]): [T, T] => (repetition % 2 === 0 ? [pair[1], pair[0]] : pair);
    const steps = [
      ...swap([
        ['baseline', endToEnd('baseline', repetition)],
        ['gateway', endToEnd('gateway', repetition)],
      ] as const),
      ...swap([
        ['peer', oneHop('peer', repetition)],
        ['relay', oneHop('relay', repetition)],
      ] as const),
    ];
    const results: Record<string, unknown> = {};
    const order: string[] = [];
    for (const [name, run] of steps) {
      if (run === null) continue;
      if (options.repeat > 1) progress(`repetition ${repetition} of ${options.repeat}: ${name}`);
      order.push(name);
      results[name] = await run();
    }
    const r = results as Partial<Omit<Repetition, 'repetition' | 'order'>>;
    repetitions.push({ repetition, order, baseline: r.baseline ?? null, gateway: r.gateway ?? null, peer: r.peer ?? null, relay: r.relay ?? null });
  }
  if (!skip.has('directory')) directory = await runDirectoryScale(runtime, { size: options.directorySize, lookupSeconds: 5, progress });

  const summary = summarize(repetitions);
  const medians = summary.medians;
  const first = repetitions[0];
  const baselineEps = medians.baseline_eps;
  const gatewayEps = medians.gateway_eps;
  const ratio = medians.ratio;
  const target = (value: number | null, met: (v: number) => boolean, limit: number) => ({ value, limit, met: value === null ? null : met(value) });
  const result = {
    baseline_eps: baselineEps,
    gateway_eps: gatewayEps,
    ratio,
    p50_ms: medians.p50_ms,
    p95_ms: medians.p95_ms,
    p99_ms: medians.p99_ms,
    latency_rate: options.rate,
    baseline_p99_ms: medians.baseline_p99_ms,
    p99_ratio: medians.p99_ratio,
    peer_drain_eps: medians.peer_drain_eps,
    relay_drain_eps: medians.relay_drain_eps,
    peer_p99_ms: medians.peer_p99_ms,
    relay_hop_p99_ms: medians.relay_hop_p99_ms,
    cpu_ms_per_exchange: summary.cpu_ms_per_exchange,
    repeat: options.repeat,
    spreads: summary.figures,
    cpu_spreads: summary.cpu_spreads,
    // The first repetition's, as in runs without --repeat; every repetition's under `repetitions`.
    baseline_latency: first?.baseline?.latency?.latency ?? null,
    redis_bytes_per_integration: directory?.valid ? directory.bytes_per_integration : null,
    targets: {
      ratio: target(ratio, (v) => v >= TARGETS.ratio, TARGETS.ratio),
      gateway_eps: target(gatewayEps, (v) => v >= TARGETS.gatewayEps, TARGETS.gatewayEps),
      p99_ms: target(options.rate === TARGETS.latencyRate ? medians.p99_ms : null, (v) => v < TARGETS.p99Ms, TARGETS.p99Ms),
      redis_bytes_per_integration: target(
        directory?.valid ? directory.bytes_per_integration : null,
        (v) => v <= TARGETS.bytesPerIntegration,
        TARGETS.bytesPerIntegration,
      ),
    },
    experiment:
      [
        options.pipelineConcurrency > 1 ? `every pipeline of the exchange path works on ${options.pipelineConcurrency} partitions at once` : null,
        options.processes > 1 ? `${options.processes} gateway (relay) processes` : null,
      ]
        .filter((e): e is string => e !== null)
        .join('; ') || null,
    run_id: runId,
    generated_at: new Date().toISOString(),
    elapsed_s: Math.round((performance.now() - began) / 1000),
    machine,
    options: {
      duration_s: options.duration,
      warmup_s: options.warmup,
      rate: options.rate,
      window: options.window,
      persons: options.persons,
      dmfa_share: options.dmfaShare,
      directory_size: options.directorySize,
      repeat: options.repeat,
      backlog: options.backlog,
      skip: [...skip],
      pipeline_concurrency: options.pipelineConcurrency,
      processes: options.processes,
      profile: options.profile,
    },
    load: {
      persons: loadPlan.persons,
      identification_subjects: loadPlan.identificationSubjects,
      dmfa_subjects: loadPlan.dmfaSubjects,
      mix: `${Math.round((1 - options.dmfaShare) * 100)}% identification (ONVA, 19/010), ${Math.round(options.dmfaShare * 100)}% DmfA (MAGDA for VAPH, 10/012)`,
      partitions_per_topic: 4,
    },
    end_to_end: { baseline: first?.baseline ?? null, gateway: first?.gateway ?? null },
    one_hop: {
      partitions: 4,
      value_bytes: 300,
      backlog: options.backlog,
      rate: options.rate,
      peer_commit_interval_ms: { drain: 100, latency: 20 },
      peer: first?.peer ?? null,
      relay: first?.relay ?? null,
    },
    repetitions,
    micro,
    directory,
    profile,
  };
  printReport(result);
  if (options.json) {
    const text = `${JSON.stringify(result, null, 2)}\n`;
    writeFileSync(join(RESULTS_DIR, 'latest.json'), text);
    writeFileSync(join(RESULTS_DIR, `run-${result.generated_at.replace(/[:.]/g, '-')}-${runId}.json`), text);
    progress('results written to bench/results/latest.json');
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof BenchSetupError) {
      process.stderr.write(`bench: ${error.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
