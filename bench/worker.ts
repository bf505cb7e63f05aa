import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { findSourceMap } from 'node:module';
import { performance } from 'node:perf_hooks';
import { createRuntime } from '../src/app/runtime.js';
import { startGateway } from '../src/gateway/gateway.js';
import { onKafkaRetriedError } from '../src/messaging/kafka-client.js';
import { topicNames } from '../src/messaging/topics.js';
import { startSourceSimulators } from '../src/sources/simulator-service.js';
import { createSyntheticPopulation } from '../src/sources/synthetic-population.js';
import { createDirectoryStore } from '../src/store/directory-store.js';
import { redisKeys } from '../src/store/keys.js';
import { createPendingStore } from '../src/store/pending-store.js';
import { startBareRelay, startOneHopRelay } from './bare-relay.js';
import { createBenchLogger } from './bench-logger.js';
import { startConcurrentExchangeStages, startConcurrentSimulators } from './concurrent-pipelines.js';
import { WORKER_CONFIG_VARIABLE, type ParentMessage, type WorkerConfig, type WorkerMessage, type WorkerStats } from './worker-protocol.js';

/**
 * One part of the measured switch in its own process: the gateway exactly as `npm start` assembles
 * it (src/app/launch.ts), the bare relay of the baseline, or the source simulators. Started and
 * stopped by the parent over IPC; the CPU profile, when asked, covers only the window the parent
 * names (the inspector's sampling profiler, not --cpu-prof, which would include start-up).
 */
const config = JSON.parse(process.env[WORKER_CONFIG_VARIABLE] ?? 'null') as WorkerConfig | null;
const send = (message: WorkerMessage): void => void process.send?.(message);

if (config === null || !process.send) {
  process.stderr.write('bench/worker.ts is started by bench/run.ts (npm run bench), not by hand\n');
  process.exit(2);
}

const { logger } = createBenchLogger(`bench-${config.role}`);
// Counted from the Kafka wrapper's own report of the errors kafkajs retries: it logs this answer at
// debug level, below what the benchmark's logger writes.
let concurrentTransactionRetries = 0;
onKafkaRetriedError((type) => {
  if (type === 'CONCURRENT_TRANSACTIONS') concurrentTransactionRetries++;
});
let profiler: Session | null = null;
let stopping: Promise<void> | null = null;

async function start(cfg: WorkerConfig): Promise<{ stop(): Promise<void> }> {
  const runtime = await createRuntime({ logger });
  const topics = topicNames(cfg.prefix);
  switch (cfg.role) {
    case 'gateway': {
      const redis = runtime.redis('background');
      const keys = redisKeys(cfg.redisPrefix);
      const gateway =
        cfg.pipelineConcurrency > 1
          ? await startConcurrentExchangeStages({
              runtime,
              topics,
              name: cfg.prefix,
              directoryStore: createDirectoryStore(redis, keys),
              pendingStore: createPendingStore(redis, keys),
              logger,
              concurrency: cfg.pipelineConcurrency,
              sourceTimeoutMs: cfg.sourceTimeoutMs,
            })
          : await startGateway({
        client: runtime.client,
        codec: runtime.codec,
        topics,
        catalogue: runtime.catalogue,
        deliberations: runtime.deliberations,
        payloadRecords: runtime.payloadRecords,
        directoryStore: createDirectoryStore(redis, keys),
        pendingStore: createPendingStore(redis, keys),
        logger,
        instanceName: cfg.prefix,
        sourceTimeoutMs: cfg.sourceTimeoutMs,
      });
      return {
        async stop() {
          await gateway.stop();
          redis.disconnect();
        },
      };
    }
    case 'relay':
      return startBareRelay({
        client: runtime.client,
        topics,
        logger,
        instanceName: `${cfg.prefix}.relay`,
        repliesTo: cfg.relayRepliesTo,
        sources: cfg.relaySources,
        partitionsConsumedConcurrently: cfg.pipelineConcurrency,
      });
    case 'one-hop-relay':
      if (cfg.hop === undefined) throw new Error('a one-hop relay needs its input and output topics');
      return startOneHopRelay({ client: runtime.client, logger, instanceName: `${cfg.prefix}.relay`, input: cfg.hop.input, output: cfg.hop.output });
    case 'simulators':
      if (cfg.pipelineConcurrency > 1) {
        return startConcurrentSimulators({
          runtime,
          topics,
          groupPrefix: cfg.prefix,
          population: createSyntheticPopulation({ extraPersons: cfg.persons }),
          logger,
          concurrency: cfg.pipelineConcurrency,
        });
      }
      return startSourceSimulators({
        clientFor: () => runtime.client,
        codec: runtime.codec,
        topics,
        catalogue: runtime.catalogue,
        population: createSyntheticPopulation({ extraPersons: cfg.persons }),
        logger,
        groupPrefix: cfg.prefix,
      });
  }
}

/**
 * tsx compiles each TypeScript file to one line of JavaScript: the profile's positions are rewritten
 * to the TypeScript source through the source maps tsx registered, so that the profile (here and in
 * any viewer) names the line of each function.
 */
function toSourcePositions<P extends { nodes: Array<{ callFrame: { url: string; lineNumber: number; columnNumber: number } }> }>(profile: P): P {
  for (const { callFrame } of profile.nodes) {
    if (!callFrame.url.startsWith('file://') || callFrame.url.includes('/node_modules/') || callFrame.lineNumber < 0) continue;
    const entry = findSourceMap(callFrame.url)?.findEntry(callFrame.lineNumber, callFrame.columnNumber);
    if (entry && 'originalLine' in entry) {
      callFrame.lineNumber = entry.originalLine;
      callFrame.columnNumber = entry.originalColumn;
    }
  }
  return profile;
}

function stats(): WorkerStats {
  const cpu = process.cpuUsage();
  const elu = performance.eventLoopUtilization();
  return { cpuSeconds: (cpu.user + cpu.system) / 1e6, eventLoop: { idle: elu.idle, active: elu.active }, concurrentTransactionRetries };
}

async function handle(message: ParentMessage, running: { stop(): Promise<void> }): Promise<void> {
  try {
    switch (message.type) {
      case 'stats':
        send({ type: 'done', id: message.id, stats: stats() });
        return;
      case 'profile-start':
        profiler = new Session();
        profiler.connect();
        await profiler.post('Profiler.enable');
        // 500 µs: enough samples in a 30 s window for functions of a few percent to stand out.
        await profiler.post('Profiler.setSamplingInterval', { interval: 500 });
        await profiler.post('Profiler.start');
        send({ type: 'done', id: message.id });
        return;
      case 'profile-stop': {
        if (profiler === null) throw new Error('no profile was started');
        const { profile } = await profiler.post('Profiler.stop');
        profiler.disconnect();
        profiler = null;
        writeFileSync(message.file, JSON.stringify(toSourcePositions(profile)));
        send({ type: 'done', id: message.id });
        return;
      }
      case 'stop':
        await (stopping ??= running.stop());
        send({ type: 'done', id: message.id, stats: stats() });
        process.disconnect?.();
        // Pipelines leave kafkajs timers behind for a moment; the process has nothing left to do.
        setTimeout(() => process.exit(0), 200).unref();
        return;
    }
  } catch (error) {
    send({ type: 'done', id: message.id, error: error instanceof Error ? error.message : String(error) });
  }
}

try {
  const running = await start(config);
  process.on('message', (message: ParentMessage) => void handle(message, running));
  // The parent gone (crashed or killed): nothing here may outlive it.
  process.on('disconnect', () => {
    void (stopping ??= running.stop()).finally(() => process.exit(0));
  });
  send({ type: 'ready' });
} catch (error) {
  logger.error({ err: error }, 'worker could not start');
  send({ type: 'failed', message: error instanceof Error ? error.message : String(error) });
  process.exitCode = 1;
  setTimeout(() => process.exit(1), 200).unref();
}
