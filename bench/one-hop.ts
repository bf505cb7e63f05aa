import { performance } from 'node:perf_hooks';
import type { Runtime } from '../src/app/runtime.js';
import type { MessageConsumer, OutMessage } from '../src/messaging/kafka-client.js';
import { stackStatus } from '../src/stack/local-stack.js';
import { cpuReport, round, sampleCpu, type CpuReport, type CpuSample } from './cpu-accounting.js';
import { waitForTopics } from './environment.js';
import { onInterrupt } from './interrupt.js';
import { summarizeLatencies, type LatencySummary } from './stats.js';
import { ensurePeerJar, startStreamsPeer } from './streams-peer.js';
import { startWorker } from './workers.js';

/**
 * One hop, input topic → output topic, exactly once, measured for the switch's transactional pipeline
 * (the bare relay's transform, in a process of its own) and for a Kafka Streams EOS v2 relay (the
 * peer, a JVM of its own), on the same broker, one after the other:
 * - drain: a backlog of `backlog` values of `valueBytes` bytes is produced first, then the relay is
 *   started; the figure is the backlog divided by the time from the relay's start (its consumer has its
 *   partitions) to the last value read, read_committed, from the output;
 * - open loop: values at `rate`/s whatever the relay does; latency = read from the output
 *   (read_committed) − due by the schedule, on this process's one monotonic clock.
 * Each value carries its sequence number in its first four bytes, so duplicates and losses are counted.
 * Every measurement has its own topics (`bench-<run>-h<rep><p|r><d|l>.in/.out`), consumer groups and
 * transactional ids; the topics are deleted at its end.
 */
export type HopTarget = 'peer' | 'relay';

export interface OneHopOptions {
  readonly target: HopTarget;
  readonly runId: string;
  /** Repetition number, part of the topic names. */
  readonly repetition: number;
  readonly partitions: number;
  readonly backlog: number;
  readonly valueBytes: number;
  readonly rate: number;
  readonly warmupS: number;
  readonly durationS: number;
  /** Kafka Streams' commit.interval.ms for the drain and for the open loop (the relay commits per chunk). */
  readonly drainCommitMs: number;
  readonly latencyCommitMs: number;
  readonly drain: boolean;
  readonly latency: boolean;
  readonly progress: (text: string) => void;
}

export interface HopDrain {
  readonly messages: number;
  /** From the relay's start (partitions assigned) to the last value read from the output. */
  readonly seconds: number;
  readonly eps: number;
  /** From the first value read to the last: the rate once the first transaction is through. */
  readonly steady_eps: number;
  readonly duplicates: number;
  readonly cpu: CpuReport;
  /** Transaction steps answered CONCURRENT_TRANSACTIONS (the relay; the peer's client does not tell). */
  readonly concurrent_transaction_retries: number | null;
}

export interface HopLatency {
  readonly rate: number;
  readonly warmup_s: number;
  readonly duration_s: number;
  readonly offered_eps: number;
  readonly latency: LatencySummary;
  readonly unanswered: number;
  readonly duplicates: number;
  readonly cpu: CpuReport;
  readonly concurrent_transaction_retries: number | null;
}

export interface OneHopResult {
  readonly target: HopTarget;
  readonly commit_interval_ms: { readonly drain: number; readonly latency: number } | null;
  readonly drain: HopDrain | null;
  readonly latency: HopLatency | null;
}

interface HopProcess {
  cpuSeconds(): Promise<number | null>;
  retries(): Promise<number | null>;
  stop(): Promise<void>;
}

/** What the output holds so far, by sequence number: when each value was read. */
class OutputReader {
  readonly received: number[] = [];
  count = 0;
  duplicates = 0;
  firstAt: number | null = null;
  firstBatch = 0;
  lastAt = 0;
  private waiters: Array<() => void> = [];

  onValues(values: ReadonlyArray<Buffer | null>): void {
    const now = performance.now();
    let fresh = 0;
    for (const value of values) {
      if (value === null || value.length < 4) continue;
      const seq = value.readUInt32BE(0);
      if (this.received[seq] !== undefined) {
        this.duplicates++;
        continue;
      }
      this.received[seq] = now;
      fresh++;
    }
    if (fresh === 0) return;
    this.count += fresh;
    if (this.firstAt === null) {
      this.firstAt = now;
      this.firstBatch = fresh;
    }
    this.lastAt = now;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** Resolves once `count` values were read, or rejects after `timeoutMs`. */
  async waitFor(count: number, timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (this.count < count) {
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`only ${this.count} of ${count} values reached the output within ${timeoutMs / 1000} s`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 1_000));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function valueOf(seq: number, bytes: number): OutMessage {
  const value = Buffer.alloc(bytes, 120);
  value.writeUInt32BE(seq, 0);
  return { key: `k${seq}`, value };
}

export async function runOneHop(runtime: Runtime, options: OneHopOptions): Promise<OneHopResult> {
  const { target, progress } = options;
  if (target === 'peer') ensurePeerJar(progress);
  const kafkaPid = runtime.source === 'local stack' ? stackStatus().kafkaPid : null;

  /** Topics, reader and relay of one measurement, all removed at its end whatever happens. */
  const measure = async <T>(mode: 'd' | 'l', commitIntervalMs: number, body: (m: Measurement) => Promise<T>): Promise<T> => {
    const prefix = `bench-${options.runId}-h${options.repetition}${target === 'peer' ? 'p' : 'r'}${mode}`;
    const input = `${prefix}.in`;
    const output = `${prefix}.out`;
    const admin = await runtime.client.admin();
    let consumer: MessageConsumer | null = null;
    let hop: HopProcess | null = null;
    let producerDisconnect: (() => Promise<void>) | null = null;
    const cleanUp = onInterrupt(async () => {
      await hop?.stop();
      await consumer?.disconnect().catch(() => undefined);
      await producerDisconnect?.().catch(() => undefined);
      await admin.deleteTopics([input, output]).catch((error: unknown) => progress(`one-hop: topics of ${prefix} not deleted: ${String(error)}`));
      await admin.disconnect();
    });
    try {
      const specs = [input, output].map((topic) => ({ topic, partitions: options.partitions }));
      await admin.ensureTopics(specs);
      await waitForTopics(admin, [input, output]);
      const reader = new OutputReader();
      consumer = await runtime.client.consumer({ groupId: `${prefix}.reader`, topics: [output], fromBeginning: true, readCommitted: true });
      await consumer.run(async (batch) => reader.onValues(batch.messages.map((m) => m.value)));
      const producer = await runtime.client.producer();
      producerDisconnect = () => producer.disconnect();
      const startHop = async (): Promise<HopProcess> => {
        if (target === 'peer') {
          const peer = await startStreamsPeer({ connection: runtime.client.connection, applicationId: `${prefix}.peer`, input, output, commitIntervalMs });
          return { cpuSeconds: async () => peer.cpuSeconds(), retries: async () => null, stop: () => peer.stop() };
        }
        const worker = await startWorker(
          { role: 'one-hop-relay', prefix, redisPrefix: prefix, persons: 0, sourceTimeoutMs: 0, relayRepliesTo: '', relaySources: [], pipelineConcurrency: 1, hop: { input, output } },
          'relay',
        );
        return {
          cpuSeconds: async () => (await worker.stats()).cpuSeconds,
          retries: async () => (await worker.stats()).concurrentTransactionRetries,
          stop: () => worker.stop(),
        };
      };
      const snapshot = async (): Promise<{ cpu: CpuSample; retries: number | null }> => {
        const [seconds, retries] = await Promise.all([hop?.cpuSeconds() ?? null, hop?.retries() ?? null]);
        const own = process.cpuUsage();
        const cpu = sampleCpu([
          ...(seconds === null ? [] : [{ name: target, seconds }]),
          { name: 'load-generator', seconds: (own.user + own.system) / 1e6 },
          ...(kafkaPid === null ? [] : [{ name: 'kafka', pid: kafkaPid }]),
        ]);
        return { cpu, retries };
      };
      return await body({
        reader,
        send: (messages) => producer.send(input, messages),
        start: async () => {
          hop = await startHop();
        },
        snapshot,
      });
    } finally {
      await cleanUp();
    }
  };

  let drain: HopDrain | null = null;
  let latency: HopLatency | null = null;
  if (options.drain) {
    drain = await measure('d', options.drainCommitMs, async ({ reader, send, start, snapshot }) => {
      progress(`one-hop ${target}: producing a backlog of ${options.backlog} values of ${options.valueBytes} B`);
      for (let seq = 0; seq < options.backlog; seq += 1_000) {
        await send(Array.from({ length: Math.min(1_000, options.backlog - seq) }, (_, i) => valueOf(seq + i, options.valueBytes)));
      }
      progress(`one-hop ${target}: draining it${target === 'peer' ? ` (commit interval ${options.drainCommitMs} ms)` : ''}`);
      await start();
      const t0 = performance.now();
      const a = await snapshot();
      await reader.waitFor(options.backlog, 600_000);
      const b = await snapshot();
      const seconds = (reader.lastAt - t0) / 1000;
      const steady = ((reader.lastAt - (reader.firstAt ?? t0)) / 1000);
      const result: HopDrain = {
        messages: options.backlog,
        seconds: round(seconds, 3),
        eps: Math.round(options.backlog / seconds),
        steady_eps: steady > 0 ? Math.round((options.backlog - reader.firstBatch) / steady) : 0,
        duplicates: reader.duplicates,
        cpu: cpuReport(a.cpu, b.cpu, options.backlog),
        concurrent_transaction_retries: a.retries === null || b.retries === null ? null : b.retries - a.retries,
      };
      progress(`one-hop ${target}: drained ${result.messages} in ${result.seconds} s: ${result.eps} values/s`);
      return result;
    });
  }
  if (options.latency) {
    latency = await measure('l', options.latencyCommitMs, async ({ reader, send, start, snapshot }) => {
      await start();
      progress(`one-hop ${target}: open loop at ${options.rate}/s, ${options.warmupS} s warm-up + ${options.durationS} s${target === 'peer' ? ` (commit interval ${options.latencyCommitMs} ms)` : ''}`);
      const total = Math.round(options.rate * (options.warmupS + options.durationS));
      const first = Math.round(options.rate * options.warmupS);
      const due: number[] = [];
      let a: Awaited<ReturnType<typeof snapshot>> | null = null;
      let b: Awaited<ReturnType<typeof snapshot>> | null = null;
      const t0 = performance.now();
      let sent = 0;
      while (sent < total) {
        const now = performance.now();
        const dueCount = Math.min(total, Math.floor(((now - t0) * options.rate) / 1000) + 1);
        if (a === null && dueCount > first) a = await snapshot();
        if (dueCount <= sent) {
          await sleep(1);
          continue;
        }
        const messages: OutMessage[] = [];
        for (let seq = sent; seq < dueCount; seq++) {
          due[seq] = t0 + (seq * 1000) / options.rate;
          messages.push(valueOf(seq, options.valueBytes));
        }
        sent = dueCount;
        await send(messages);
      }
      // The window ends when its last value is due, not when the reader has it.
      const end = t0 + (total * 1000) / options.rate;
      if (performance.now() < end) await sleep(end - performance.now());
      b = await snapshot();
      await reader.waitFor(total, 10_000).catch(() => undefined);
      const latencies: number[] = [];
      let unanswered = 0;
      for (let seq = first; seq < total; seq++) {
        const at = reader.received[seq];
        if (at === undefined) unanswered++;
        else latencies.push(at - (due[seq] as number));
      }
      const window = total - first;
      const result: HopLatency = {
        rate: options.rate,
        warmup_s: options.warmupS,
        duration_s: options.durationS,
        offered_eps: Math.round(window / options.durationS),
        latency: summarizeLatencies(latencies),
        unanswered,
        duplicates: reader.duplicates,
        cpu: cpuReport((a ?? b).cpu, b.cpu, window),
        concurrent_transaction_retries: a?.retries == null || b.retries === null ? null : b.retries - a.retries,
      };
      progress(`one-hop ${target}: p50 ${result.latency.p50_ms} ms, p99 ${result.latency.p99_ms} ms at ${options.rate}/s`);
      return result;
    });
  }
  return {
    target,
    commit_interval_ms: target === 'peer' ? { drain: options.drainCommitMs, latency: options.latencyCommitMs } : null,
    drain,
    latency,
  };
}

interface Measurement {
  readonly reader: OutputReader;
  send(messages: readonly OutMessage[]): Promise<void>;
  /** Starts the relay (or the peer); resolves once its consumer has its partitions. */
  start(): Promise<void>;
  snapshot(): Promise<{ cpu: CpuSample; retries: number | null }>;
}
