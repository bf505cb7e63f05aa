import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { Runtime } from '../src/app/runtime.js';
import { createExchangeClient, ExchangeTimeoutError, type ExchangeClient, type ExchangeReply } from '../src/client/exchange-client.js';
import { PROJECT_ROOT } from '../src/config/project-paths.js';
import type { AuditEventType, AuditRecordValue } from '../src/contract/audit-records.js';
import type { SourceReplyRecord } from '../src/contract/exchange-records.js';
import { EXCHANGE_RECORD, HEADER } from '../src/contract/names.js';
import { topicSpecs } from '../src/gateway/topology.js';
import { silentLogger, type Logger } from '../src/logging/logger.js';
import type { InMessage, TopicSpec } from '../src/messaging/kafka-client.js';
import { readTopicToEnd } from '../src/messaging/topic-reader.js';
import { topicNames } from '../src/messaging/topics.js';
import { INVALIDITY_SERVICE } from '../src/sources/invalidity-batch.js';
import { startSourceSimulators, type RunningSourceSimulators } from '../src/sources/simulator-service.js';
import { createSyntheticPopulation } from '../src/sources/synthetic-population.js';
import { round } from './cpu-accounting.js';
import { onInterrupt } from './interrupt.js';
import { deleteKeysByPrefix } from './redis-cleanup.js';
import { isMainModule, standaloneRuntime } from './standalone.js';

/**
 * ONSS's quarterly 22/046 list end to end, at the national size: the request goes through a real
 * gateway — `bcss start` in a process of its own, on scratch topics and Redis keys of this run — to
 * the simulated INAMI (in this process, configured to `entries` entries of the quarter, plus the 5 %
 * it over-delivers), and the filtered list comes back to ONSS through the exchange client.
 *
 * Measured per exchange: seconds from the request's publication to the delivered reply (cut at the
 * source's and the gateway's `answeredAt`); the gateway's peak resident memory during the exchange
 * (`VmHWM` of /proc/<pid>/status, reset before each exchange through `clear_refs`) and its peak V8
 * heap (its own /metrics, sampled); the bytes delivered; the audit records the exchange left.
 *
 * Kafka refuses a record above the topic's `max.message.bytes`; the source's answer and the reply to
 * ONSS each weigh about 27 B per entry, so the switch creates the topics carrying answers with 16 MiB
 * (`ANSWER_MAX_MESSAGE_BYTES`, src/gateway/topology.ts; Kafka's default of 1 MiB stops a list at about
 * 38,000 entries). By default the run leaves the topics as the switch creates them; `messageMaxBytes`
 * sets another limit on the two topics that carry the list (e.g. Kafka's default, 1048588, to see the
 * list refused).
 *
 * Run alone: `npx tsx bench/bulk-exchange.ts [--entries 70000] [--repeats 3] [--max-message-bytes N [--only-source-replies]]`
 * (JSON on stdout, progress on stderr).
 */
export interface BulkExchangeRun {
  readonly status: string;
  /** The refusal's message, when not OK. */
  readonly message: string | null;
  readonly seconds: number;
  /**
   * The same time cut at two stamps: the simulated INAMI's `answeredAt` (its SourceReply: request
   * stage, source request, building and encoding the list) and the Reply's `answeredAt` (the gateway's
   * reply stage has read, filtered and re-encoded the list); the rest is the Reply and the audit
   * records encoded, their transaction committed, and the Reply fetched and decoded by ONSS.
   */
  readonly until_source_answered_seconds: number | null;
  readonly until_gateway_answered_seconds: number | null;
  readonly entries_delivered: number;
  readonly reply_bytes: number;
  /** Records of the exchange's ticket on the audit topic, by event. */
  readonly audit_records: Readonly<Record<string, number>>;
  readonly gateway_peak_rss_bytes: number | null;
  readonly gateway_rss_before_bytes: number | null;
  readonly gateway_peak_heap_used_bytes: number | null;
}

export interface BulkExchangeResult {
  readonly entries: number;
  readonly quarter: string;
  /** max.message.bytes set on `raised_topics` by the run; null: the topics as the switch creates them. */
  readonly message_max_bytes: number | null;
  readonly raised_topics: readonly string[];
  /** The first exchange, left out of the medians. */
  readonly warm_up: BulkExchangeRun;
  readonly runs: readonly BulkExchangeRun[];
  readonly median_seconds: number | null;
  readonly median_gateway_peak_rss_bytes: number | null;
  readonly median_gateway_peak_heap_used_bytes: number | null;
  /** Resident memory of the gateway once started, before the first exchange. */
  readonly gateway_rss_idle_bytes: number | null;
  /** Errors the gateway logged during the runs, the first lines. */
  readonly gateway_errors: readonly string[];
}

function median(values: ReadonlyArray<number | null>): number | null {
  const known = values.filter((v): v is number => v !== null).sort((a, b) => a - b);
  return known.length === 0 ? null : (known[Math.floor((known.length - 1) / 2)] as number);
}

/** `VmRSS` or `VmHWM` of a process, in bytes (null once it has ended). */
function procMemory(pid: number, field: 'VmRSS' | 'VmHWM'): number | null {
  try {
    const kb = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? null : Number(kb) * 1024;
  } catch {
    return null;
  }
}

/** Resets a process's peak resident size to its current one (Linux: "5" to /proc/<pid>/clear_refs). */
function resetPeak(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? done(address.port) : fail(new Error('no port'))));
    });
  });
}

async function heapUsed(port: number): Promise<number | null> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(2_000) })).text();
    const value = /^nodejs_heap_size_used_bytes (\S+)$/m.exec(text)?.[1];
    return value === undefined ? null : Number(value);
  } catch {
    return null;
  }
}

interface GatewayChild {
  readonly pid: number;
  readonly ready: Promise<void>;
  readonly exited: Promise<void>;
  /** Error lines (pino level ≥ 50) logged so far, the first 30. */
  readonly problems: string[];
  stop(): Promise<void>;
}

/** `bcss start` as the switch's operators run it, on this run's topic and key prefix, without simulators. */
function startGateway(runtime: Runtime, prefix: string, httpPort: number, sourceTimeoutMs: number | null): GatewayChild {
  const stackDir = mkdtempSync(join(tmpdir(), 'bcss-bench-bulk-'));
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    KAFKA_BROKERS: runtime.kafka.brokers.join(','),
    REDIS_URL: runtime.redisUrl,
    BCSS_TOPIC_PREFIX: prefix,
    BCSS_REDIS_PREFIX: prefix,
    BCSS_HTTP_PORT: String(httpPort),
    BCSS_CONSOLE_PORT: 'off',
    // Its marker file goes to a folder of its own, never to the local stack's.
    BCSS_STACK_DIR: stackDir,
    LOG_LEVEL: 'info',
  };
  const { sasl } = runtime.kafka;
  if (sasl) Object.assign(env, { KAFKA_SASL_USERNAME: sasl.username, KAFKA_SASL_PASSWORD: sasl.password, KAFKA_SASL_MECHANISM: sasl.mechanism });
  if (runtime.kafka.ssl) env.KAFKA_SSL = 'true';
  if (sourceTimeoutMs !== null) env.BCSS_SOURCE_TIMEOUT_MS = String(sourceTimeoutMs);
  const child = spawn(process.execPath, ['--import', 'tsx', join('src', 'cli', 'main.ts'), 'start', '--no-simulators', '--no-sample-directory', '--no-acl', '--no-sealer'], {
    cwd: PROJECT_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error('the gateway process could not be started');
  const problems: string[] = [];
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((done) => (markReady = done));
  let pending = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    const lines = (pending + chunk.toString('utf8')).split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      if (line.includes('"msg":"gateway running')) markReady();
      const level = Number(/"level":(\d+)/.exec(line)?.[1] ?? 0);
      if (level >= 50 && problems.length < 30) problems.push(line.slice(0, 600));
    }
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    if (problems.length < 30) problems.push(chunk.toString('utf8').slice(0, 600));
  });
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  return {
    pid: child.pid,
    ready: Promise.race([ready, exited.then(() => Promise.reject(new Error(`the gateway ended before it was ready:\n${problems.join('\n')}`)))]),
    exited,
    problems,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(stackDir, { recursive: true, force: true });
    },
  };
}

/** Every committed record of a topic, from its beginning, one by one. */
async function readAll(runtime: Runtime, topic: string, each: (message: InMessage) => void): Promise<void> {
  await readTopicToEnd({
    client: runtime.client,
    topic,
    timeoutMs: 120_000,
    async onBatch({ messages }) {
      for (const m of messages) each(m);
    },
  });
}

export async function runBulkExchange(
  runtime: Runtime,
  options: {
    readonly entries: number;
    readonly repeats: number;
    readonly progress: (text: string) => void;
    /** Default 2025Q2. */
    readonly quarter?: string;
    /** Another limit for the list's two topics; default null: as the switch creates them. */
    readonly messageMaxBytes?: number | null;
    /** The topics that get it: default both the source's answers and the replies to ONSS. */
    readonly raiseOn?: ReadonlyArray<'source-replies' | 'replies'>;
    /** The gateway's BCSS_SOURCE_TIMEOUT_MS; default the gateway's. */
    readonly sourceTimeoutMs?: number | null;
    /** How long to wait for one reply; default 180 s. */
    readonly replyTimeoutMs?: number;
    /** The simulated INAMI's log (its refusals by the broker show there); default none. */
    readonly logger?: Logger;
  },
): Promise<BulkExchangeResult> {
  const { entries, progress } = options;
  const quarter = options.quarter ?? '2025Q2';
  const messageMaxBytes = options.messageMaxBytes ?? null;
  const prefix = `bench-bulk-${randomUUID().slice(0, 8)}`;
  const topics = topicNames(prefix);
  const raiseOn = new Set(options.raiseOn ?? ['source-replies', 'replies']);
  const large = new Set([...(raiseOn.has('source-replies') ? [topics.sourceReplies('inami')] : []), ...(raiseOn.has('replies') ? [topics.replies('onss')] : [])]);
  const specs: TopicSpec[] = topicSpecs(topics, runtime.institutions).map((spec) =>
    messageMaxBytes !== null && large.has(spec.topic) ? { ...spec, config: { ...spec.config, 'max.message.bytes': String(messageMaxBytes) } } : spec,
  );
  const admin = await runtime.client.admin();
  const redis = runtime.redis('background');
  let gateway: GatewayChild | null = null;
  let simulators: RunningSourceSimulators | null = null;
  let client: ExchangeClient | null = null;
  const cleanUp = onInterrupt(async () => {
    await client?.close().catch(() => undefined);
    await gateway?.stop().catch(() => undefined);
    await simulators?.stop().catch(() => undefined);
    await admin.deleteTopics(specs.map((s) => s.topic)).catch((error: unknown) => progress(`bulk: could not delete the scratch topics: ${String(error)}`));
    await admin.disconnect().catch(() => undefined);
    await deleteKeysByPrefix(redis, prefix).catch(() => undefined);
    redis.disconnect();
  });
  try {
    await admin.ensureTopics(specs);
    progress(`bulk: scratch topics ${prefix}.* (max.message.bytes ${messageMaxBytes === null || large.size === 0 ? 'as the switch creates them' : `${messageMaxBytes} on ${[...large].join(', ')}`})`);
    simulators = await startSourceSimulators({
      clientFor: () => runtime.client,
      codec: runtime.codec,
      topics,
      catalogue: runtime.catalogue,
      population: createSyntheticPopulation(),
      logger: options.logger ?? silentLogger,
      groupPrefix: prefix,
      sources: ['inami'],
      invalidityEntriesPerQuarter: entries,
    });
    const httpPort = await freePort();
    gateway = startGateway(runtime, prefix, httpPort, options.sourceTimeoutMs ?? null);
    await Promise.race([gateway.ready, new Promise((_, fail) => setTimeout(() => fail(new Error('the gateway was not ready within 120 s')), 120_000).unref())]);
    const pid = gateway.pid;
    progress(`bulk: gateway running (pid ${pid}), the simulated INAMI answers ${entries.toLocaleString('en')} entries of ${quarter}`);
    client = await createExchangeClient({ connection: runtime.kafka, institution: 'onss', topics, codec: runtime.codec, logger: silentLogger });
    // Settle after the start (topic metadata, group joins) before the idle memory is read.
    await new Promise((done) => setTimeout(done, 3_000));
    const rssIdle = procMemory(pid, 'VmRSS');
    const runs: Array<Omit<BulkExchangeRun, 'audit_records'> & { requestId: string; sentAt: number }> = [];
    // The first exchange also pays for the first fetches, group joins and code paths of the list: a
    // warm-up, reported apart and left out of the medians.
    for (let i = 0; i <= options.repeats; i++) {
      const rssBefore = procMemory(pid, 'VmRSS');
      const peakReset = resetPeak(pid);
      let peakRss = rssBefore ?? 0;
      let peakHeap: number | null = null;
      const sampler = setInterval(() => {
        peakRss = Math.max(peakRss, procMemory(pid, 'VmRSS') ?? 0);
        void heapUsed(httpPort).then((h) => {
          if (h !== null) peakHeap = Math.max(peakHeap ?? 0, h);
        });
      }, 200);
      const requestId = randomUUID();
      const sentAt = Date.now();
      const t0 = performance.now();
      let reply: ExchangeReply<{ entries: unknown[] }> | null = null;
      try {
        reply = await client.request<{ entries: unknown[] }>(
          { requestId, service: INVALIDITY_SERVICE, subjectNiss: '', period: quarter },
          { timeoutMs: options.replyTimeoutMs ?? 180_000 },
        );
      } catch (error) {
        // No reply at all is a finding, not a crash of the benchmark: it is recorded and the runs stop.
        if (!(error instanceof ExchangeTimeoutError)) throw error;
      } finally {
        clearInterval(sampler);
      }
      const seconds = (performance.now() - t0) / 1000;
      const hwm = peakReset ? procMemory(pid, 'VmHWM') : null;
      const ok = reply?.ok === true ? reply : null;
      const run = {
        requestId,
        status: reply?.status ?? 'NO_REPLY',
        message: reply === null ? `no reply within ${options.replyTimeoutMs ?? 180_000} ms` : reply.ok ? null : reply.message,
        seconds: round(seconds, 2),
        sentAt,
        until_source_answered_seconds: null,
        until_gateway_answered_seconds: ok ? round((Date.parse(ok.answeredAt) - sentAt) / 1000, 2) : null,
        entries_delivered: ok?.payload?.entries.length ?? 0,
        reply_bytes: 0,
        gateway_peak_rss_bytes: Math.max(peakRss, hwm ?? 0) || null,
        gateway_rss_before_bytes: rssBefore,
        gateway_peak_heap_used_bytes: peakHeap,
      };
      runs.push(run);
      progress(`bulk: ${i === 0 ? 'warm-up' : `run ${i}`}: ${run.status} in ${run.seconds} s (gateway answered after ${run.until_gateway_answered_seconds} s), ${run.entries_delivered.toLocaleString('en')} entries, gateway peak RSS ${round((run.gateway_peak_rss_bytes ?? 0) / 2 ** 20, 1)} MiB`);
      if (reply === null) break;
    }
    // Read back from the topics: the reply's size as delivered, the source's answeredAt, the audit records of each exchange.
    const replySizes = new Map<string, number>();
    await readAll(runtime, topics.replies('onss'), (m) => replySizes.set(m.headers[HEADER.ticket] ?? '', m.value?.length ?? 0));
    const sourceAnswered = new Map<string, number>();
    await readAll(runtime, topics.sourceReplies('inami'), (m) => {
      if (m.value) sourceAnswered.set(m.headers[HEADER.ticket] ?? '', runtime.codec.decode<SourceReplyRecord>(EXCHANGE_RECORD.sourceReply, m.value).answeredAt);
    });
    const audit = new Map<string, Record<string, number>>();
    // Each exchange's ticket, from its first record (also when no reply came back to say it).
    const ticketOf = new Map<string, string>();
    await readAll(runtime, topics.audit, (m) => {
      const ticket = m.headers[HEADER.ticket] ?? '';
      if (m.headers[HEADER.event] === 'REQUEST_FORWARDED' && m.value) ticketOf.set(runtime.codec.decode<AuditRecordValue>(EXCHANGE_RECORD.audit, m.value).requestId ?? '', ticket);
      const event = m.headers[HEADER.event] ?? 'unknown';
      const counts = audit.get(ticket) ?? {};
      counts[event] = (counts[event] ?? 0) + 1;
      audit.set(ticket, counts);
    });
    const [warmUp, ...finished] = runs.map(({ requestId, sentAt, ...run }) => {
      const ticket = ticketOf.get(requestId) ?? '';
      const sourceAt = sourceAnswered.get(ticket);
      return {
        ...run,
        until_source_answered_seconds: sourceAt === undefined ? null : round((sourceAt - sentAt) / 1000, 2),
        reply_bytes: replySizes.get(ticket) ?? 0,
        audit_records: audit.get(ticket) ?? {},
      };
    });
    const perEntry: AuditEventType = 'LIST_ENTRY_DELIVERED';
    for (const run of [warmUp as BulkExchangeRun, ...finished]) {
      const listed = run.audit_records[perEntry] ?? 0;
      if (run.status === 'OK' && listed !== run.entries_delivered) progress(`bulk: ${listed} ${perEntry} records for ${run.entries_delivered} entries delivered`);
    }
    return {
      entries,
      quarter,
      message_max_bytes: messageMaxBytes,
      raised_topics: messageMaxBytes === null ? [] : [...large],
      warm_up: warmUp as BulkExchangeRun,
      runs: finished,
      median_seconds: median(finished.filter((r) => r.status === 'OK').map((r) => r.seconds)),
      median_gateway_peak_rss_bytes: median(finished.map((r) => r.gateway_peak_rss_bytes)),
      median_gateway_peak_heap_used_bytes: median(finished.map((r) => r.gateway_peak_heap_used_bytes)),
      gateway_rss_idle_bytes: rssIdle,
      gateway_errors: [...gateway.problems],
    };
  } finally {
    await cleanUp();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      entries: { type: 'string', default: '70000' },
      repeats: { type: 'string', default: '3' },
      quarter: { type: 'string', default: '2025Q2' },
      'max-message-bytes': { type: 'string' },
      'only-source-replies': { type: 'boolean', default: false },
      'source-timeout-ms': { type: 'string' },
      'reply-timeout-ms': { type: 'string', default: '180000' },
    },
  });
  const { runtime, logger, progress } = await standaloneRuntime('bench-bulk-exchange');
  const result = await runBulkExchange(runtime, {
    entries: Number(values.entries),
    repeats: Number(values.repeats),
    quarter: values.quarter,
    messageMaxBytes: values['max-message-bytes'] === undefined ? null : Number(values['max-message-bytes']),
    raiseOn: values['only-source-replies'] ? ['source-replies'] : undefined,
    sourceTimeoutMs: values['source-timeout-ms'] === undefined ? null : Number(values['source-timeout-ms']),
    replyTimeoutMs: Number(values['reply-timeout-ms']),
    logger,
    progress,
  });
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

if (isMainModule(import.meta.url)) {
  await main();
  process.exit(0);
}
