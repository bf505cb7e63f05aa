import { performance } from 'node:perf_hooks';
import type { Runtime } from '../src/app/runtime.js';
import { topicSpecs } from '../src/gateway/topology.js';
import { topicNames } from '../src/messaging/topics.js';
import { stackStatus } from '../src/stack/local-stack.js';
import { createDirectoryStore } from '../src/store/directory-store.js';
import { redisKeys } from '../src/store/keys.js';
import { cpuReport, round, sampleCpu, type CpuReport, type CpuSample } from './cpu-accounting.js';
import { LoadGenerator, type PhaseHooks, type PhaseResult, type Target } from './load-generator.js';
import type { LoadPlan } from './load-plan.js';
import { waitForTopics } from './environment.js';
import { onInterrupt } from './interrupt.js';
import { deleteKeysByPrefix } from './redis-cleanup.js';
import { startWorker, type WorkerHandle } from './workers.js';
import type { WorkerConfig, WorkerStats } from './worker-protocol.js';

/**
 * One topology measured end to end on the shared broker: its own topics (`bench-<run>-<b|g>.*`),
 * consumer groups, transactional ids and Redis keys, all deleted at the end whatever happens. The
 * gateway (or the relay) and the simulators run in their own processes; the load generator here.
 */
export interface EndToEndOptions {
  readonly target: Target;
  readonly runId: string;
  readonly plan: LoadPlan;
  readonly persons: number;
  readonly window: number;
  readonly rate: number;
  readonly warmupS: number;
  readonly durationS: number;
  readonly throughput: boolean;
  readonly latency: boolean;
  /** Gateway only: one more closed-loop window with the CPU profiler on, written to this file. */
  readonly profileFile: string | null;
  readonly sourceTimeoutMs: number;
  /** See WorkerConfig.pipelineConcurrency (1: as shipped). */
  readonly pipelineConcurrency: number;
  /** Gateway (or relay) processes sharing the work, as `npm start` run several times would (default 1). */
  readonly processes: number;
  readonly progress: (text: string) => void;
}

export interface MeasuredPhase extends PhaseResult {
  readonly cpu: CpuReport;
  /** Share of the steady window each worker's JavaScript thread was busy (1 = saturated). */
  readonly event_loop_utilization: Readonly<Record<string, number>>;
  /** Transaction steps answered CONCURRENT_TRANSACTIONS and retried by kafkajs, per worker. */
  readonly concurrent_transaction_retries: Readonly<Record<string, number>>;
}

export interface EndToEndResult {
  readonly target: Target;
  readonly prefix: string;
  readonly throughput: MeasuredPhase | null;
  readonly latency: MeasuredPhase | null;
  readonly profiled: (MeasuredPhase & { readonly file: string }) | null;
  /** Replies that named no request of the run (should be 0). */
  readonly stray_replies: number;
}

interface Snapshot {
  readonly cpu: CpuSample;
  readonly workers: ReadonlyMap<string, WorkerStats>;
}

export async function runEndToEnd(runtime: Runtime, options: EndToEndOptions): Promise<EndToEndResult> {
  const { target, plan, progress } = options;
  const prefix = `bench-${options.runId}-${target === 'gateway' ? 'g' : 'b'}`;
  const topics = topicNames(prefix);
  const specs = topicSpecs(topics, runtime.institutions);
  const admin = await runtime.client.admin();
  const redis = runtime.redis('background');
  const workers: WorkerHandle[] = [];
  let load: LoadGenerator | null = null;
  const cleanUp = onInterrupt(async () => {
    const t0 = performance.now();
    await load?.stop();
    await Promise.allSettled(workers.map((w) => w.stop()));
    await admin.deleteTopics(specs.map((s) => s.topic)).catch((error: unknown) => progress(`${target}: topics not deleted: ${String(error)}`));
    await admin.disconnect();
    const keys = await deleteKeysByPrefix(redis, prefix).catch((error: unknown) => {
      progress(`${target}: Redis keys of ${prefix} not deleted: ${String(error)}`);
      return 0;
    });
    redis.disconnect();
    progress(`${target}: cleaned up (topics and ${keys} Redis keys) in ${Math.round(performance.now() - t0)} ms`);
  });
  try {
    progress(`${target}: creating ${specs.length} topics under ${prefix}.*`);
    await admin.ensureTopics(specs);
    await waitForTopics(admin, specs.map((s) => s.topic));
    if (target === 'gateway') {
      // Written as a rebuild from the changelog writes it (src/gateway/directory-rebuild.ts): the
      // directory pipeline would take minutes for what is set-up, not measurement.
      const store = createDirectoryStore(redis, redisKeys(prefix));
      for (let i = 0; i < plan.directory.length; i += 5_000) await store.writeMany(plan.directory.slice(i, i + 5_000));
      await store.markPresent();
      progress(`${target}: ${plan.directory.length} persons integrated (${plan.directory.reduce((n, d) => n + d.lines.length, 0)} directory lines)`);
    }
    const base = {
      prefix,
      redisPrefix: prefix,
      persons: options.persons,
      sourceTimeoutMs: options.sourceTimeoutMs,
      relayRepliesTo: 'onva',
      relaySources: ['bcss-registers', 'onss'],
      pipelineConcurrency: options.pipelineConcurrency,
    };
    const what = target === 'gateway' ? 'gateway' : 'bare relay';
    progress(`${target}: starting ${options.processes === 1 ? `the ${what}` : `${options.processes} ${what} processes`} and the source simulators`);
    // A broker may still not serve a new topic's metadata to a new client: such a start is retried.
    const start = async (config: WorkerConfig, name: string): Promise<WorkerHandle> => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await startWorker(config, name);
        } catch (error) {
          if (attempt >= 3 || !String(error).includes('does not host this topic-partition')) throw error;
          await new Promise((resolve) => setTimeout(resolve, 1_000));
        }
      }
    };
    const role = target === 'gateway' ? 'gateway' : 'relay';
    const started = await Promise.allSettled([
      ...Array.from({ length: options.processes }, (_, i) => start({ ...base, role }, i === 0 ? role : `${role}-${i + 1}`)),
      start({ ...base, role: 'simulators' }, 'simulators'),
    ]);
    for (const s of started) if (s.status === 'fulfilled') workers.push(s.value);
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
    const [switchWorker] = workers as [WorkerHandle, WorkerHandle];

    load = new LoadGenerator({ client: runtime.client, codec: runtime.codec, topics, plan, target });
    await load.start();
    progress(`${target}: waiting for the first exchanges (consumer groups joining)`);
    await load.probe(50, 120_000);

    const { kafkaPid, redisPid } = runtime.source === 'local stack' ? stackStatus() : { kafkaPid: null, redisPid: null };
    const snapshot = async (): Promise<Snapshot> => {
      const stats = await Promise.all(workers.map(async (w) => [w.name, await w.stats()] as const));
      const own = process.cpuUsage();
      const cpu = sampleCpu([
        ...stats.map(([role, s]) => ({ name: role, seconds: s.cpuSeconds })),
        { name: 'load-generator', seconds: (own.user + own.system) / 1e6 },
        ...(kafkaPid === null ? [] : [{ name: 'kafka', pid: kafkaPid }]),
        ...(redisPid === null ? [] : [{ name: 'redis', pid: redisPid }]),
      ]);
      return { cpu, workers: new Map(stats) };
    };
    const measured = async (run: (hooks: PhaseHooks) => Promise<PhaseResult>, extra: Partial<PhaseHooks> = {}): Promise<MeasuredPhase> => {
      let first: Snapshot | null = null;
      let last: Snapshot | null = null;
      const phase = await run({
        windowStart: async () => {
          first = await snapshot();
          await extra.windowStart?.();
        },
        windowEnd: async () => {
          await extra.windowEnd?.();
          last = await snapshot();
        },
      });
      const a = first as Snapshot | null;
      const b = last as Snapshot | null;
      if (a === null || b === null) throw new Error('the phase ended before its steady window');
      const utilization: Record<string, number> = {};
      const retries: Record<string, number> = {};
      for (const [role, before] of a.workers) {
        const after = b.workers.get(role);
        if (!after) continue;
        retries[role] = after.concurrentTransactionRetries - before.concurrentTransactionRetries;
        const active = after.eventLoop.active - before.eventLoop.active;
        const idle = after.eventLoop.idle - before.eventLoop.idle;
        utilization[role] = active + idle > 0 ? round(active / (active + idle), 3) : 0;
      }
      return {
        ...phase,
        cpu: cpuReport(a.cpu, b.cpu, phase.replies_in_window),
        event_loop_utilization: utilization,
        concurrent_transaction_retries: retries,
      };
    };

    const generator = load;
    let throughput: MeasuredPhase | null = null;
    let latency: MeasuredPhase | null = null;
    let profiled: (MeasuredPhase & { file: string }) | null = null;
    if (options.throughput) {
      progress(`${target}: throughput, closed loop of ${options.window} in flight, ${options.warmupS} s warm-up + ${options.durationS} s`);
      throughput = await measured((hooks) =>
        generator.closedLoop({ window: options.window, warmupS: options.warmupS, durationS: options.durationS, hooks }),
      );
      progress(`${target}: ${throughput.eps} exchanges/s`);
    }
    if (options.latency) {
      progress(`${target}: latency, open loop at ${options.rate}/s, ${options.warmupS} s warm-up + ${options.durationS} s`);
      latency = await measured((hooks) =>
        generator.openLoop({ rate: options.rate, warmupS: options.warmupS, durationS: options.durationS, hooks }),
      );
      progress(`${target}: p50 ${latency.latency.p50_ms} ms, p99 ${latency.latency.p99_ms} ms at ${latency.offered_eps}/s`);
    }
    if (options.profileFile !== null) {
      const file = options.profileFile;
      progress(`${target}: profiled throughput window (the profiler slows the ${switchWorker.name}; these figures are not the result)`);
      const phase = await measured(
        (hooks) => generator.closedLoop({ window: options.window, warmupS: options.warmupS, durationS: options.durationS, hooks }),
        { windowStart: () => switchWorker.profileStart(), windowEnd: () => switchWorker.profileStop(file) },
      );
      profiled = { ...phase, file };
    }
    return { target, prefix, throughput, latency, profiled, stray_replies: load.strays };
  } finally {
    await cleanUp();
  }
}
