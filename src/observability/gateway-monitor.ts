import type { Logger } from '../logging/logger.js';
import type { KafkaClient } from '../messaging/kafka-client.js';
import type { DirectoryStore } from '../store/directory-store.js';
import type { PendingStore } from '../store/pending-store.js';
import type { HealthState, PrometheusMetrics } from './metrics.js';

/**
 * Samples what the pipelines cannot count themselves — pending exchanges, consumer lag, the directory's
 * size — into the gauges, and answers readiness from the same samples: ready when the gateway runs and
 * both Kafka and Redis answered within the last three rounds.
 */
export function startGatewayMonitor(options: {
  client: KafkaClient;
  pending: Pick<PendingStore, 'size'>;
  directory: Pick<DirectoryStore, 'countPersons'>;
  metrics: PrometheusMetrics;
  /** Consumer groups whose lag is reported. */
  groups: readonly string[];
  logger: Logger;
  intervalMs?: number;
  directoryEveryMs?: number;
}): { health: HealthState; stop(): Promise<void> } {
  const log = options.logger.child({ module: 'monitor' });
  const intervalMs = options.intervalMs ?? 10_000;
  const directoryEveryMs = options.directoryEveryMs ?? 60_000;
  let kafkaOkAt = 0;
  let redisOkAt = 0;
  let directoryAt = 0;
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  let round: Promise<void> = Promise.resolve();

  const sample = async () => {
    try {
      options.metrics.pendingExchanges.set(await options.pending.size());
      if (Date.now() - directoryAt >= directoryEveryMs) {
        options.metrics.directoryPersons.set(await options.directory.countPersons());
        directoryAt = Date.now();
      }
      redisOkAt = Date.now();
    } catch (error) {
      log.warn({ err: error }, 'Redis did not answer the monitor');
    }
    try {
      const admin = await options.client.admin();
      try {
        for (const group of options.groups) {
          for (const [topic, lag] of await admin.groupLag(group)) options.metrics.consumerLag.set({ group, topic }, lag);
        }
      } finally {
        await admin.disconnect();
      }
      kafkaOkAt = Date.now();
    } catch (error) {
      log.warn({ err: error }, 'Kafka did not answer the monitor');
    }
  };

  const loop = () => {
    if (stopped) return;
    round = sample().finally(() => {
      if (!stopped) timer = setTimeout(loop, intervalMs);
    });
  };
  loop();

  return {
    health: {
      async ready() {
        const fresh = (at: number) => Date.now() - at <= intervalMs * 3;
        const checks = { kafka: fresh(kafkaOkAt), redis: fresh(redisOkAt), running: !stopped };
        return { ready: checks.kafka && checks.redis && checks.running, checks };
      },
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await round;
    },
  };
}
