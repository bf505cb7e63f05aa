import type { Logger } from '../logging/logger.js';
import type { KafkaClient } from '../messaging/kafka-client.js';
import type { DirectoryStore } from '../store/directory-store.js';
import type { PendingStore } from '../store/pending-store.js';
import { LagClock } from './lag-clock.js';
import type { ConsumerLagSample, HealthState, PrometheusMetrics } from './metrics.js';

const lagKey = (s: Pick<ConsumerLagSample, 'group' | 'topic' | 'partition'>) => `${s.group}\u0000${s.topic}\u0000${s.partition}`;

/**
 * Samples what the pipelines cannot count themselves — pending exchanges, consumer lag per partition
 * (messages, and seconds: see lag-clock.ts), the directory's size, the audit records not sealed yet —
 * into the gauges, and answers readiness from the same samples: ready when the gateway runs and both
 * Kafka and Redis answered within the last three rounds.
 */
export function startGatewayMonitor(options: {
  client: KafkaClient;
  pending: Pick<PendingStore, 'size'>;
  directory: Pick<DirectoryStore, 'countPersons'>;
  metrics: PrometheusMetrics;
  /** Consumer groups whose lag is reported. */
  groups: readonly string[];
  /** The audit topic, when the sealer runs in this process: its log ends give the unsealed records. */
  auditTopic?: string;
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
  const clock = new LagClock();

  /** Every partition each group committed in: messages behind the log end (the log start when never committed), and for how long. */
  const lagSamples = async (admin: Awaited<ReturnType<KafkaClient['admin']>>): Promise<ConsumerLagSample[]> => {
    const now = Date.now();
    const samples: ConsumerLagSample[] = [];
    const ends = new Map<string, Awaited<ReturnType<typeof admin.topicOffsets>>>();
    for (const group of options.groups) {
      for (const { topic, partitions } of await admin.committedOffsets(group)) {
        let topicEnds = ends.get(topic);
        if (!topicEnds) ends.set(topic, (topicEnds = await admin.topicOffsets(topic)));
        for (const end of topicEnds) {
          const at = partitions.find((p) => p.partition === end.partition)?.offset;
          const committed = BigInt(at === undefined || at === '-1' ? end.low : at);
          const high = BigInt(end.high);
          const messages = high > committed ? Number(high - committed) : 0;
          const seconds = clock.observe(lagKey({ group, topic, partition: end.partition }), committed, high, now);
          samples.push({ group, topic, partition: end.partition, messages, seconds });
        }
      }
    }
    clock.retain(new Set(samples.map(lagKey)));
    return samples;
  };

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
        options.metrics.setConsumerLag(await lagSamples(admin));
        if (options.auditTopic) options.metrics.setAuditLogEnds(await admin.topicOffsets(options.auditTopic));
      } finally {
        await admin.disconnect();
      }
      kafkaOkAt = Date.now();
    } catch (error) {
      log.warn({ err: error }, 'Kafka did not answer the monitor');
    }
  };

  const readiness = () => {
    const fresh = (at: number) => Date.now() - at <= intervalMs * 3;
    const checks = { kafka: fresh(kafkaOkAt), redis: fresh(redisOkAt), running: !stopped };
    return { ready: checks.kafka && checks.redis && checks.running, checks };
  };

  const loop = () => {
    if (stopped) return;
    round = sample().finally(() => {
      options.metrics.gatewayReady.set(readiness().ready ? 1 : 0);
      if (!stopped) timer = setTimeout(loop, intervalMs);
    });
  };
  loop();

  return {
    health: {
      ready: async () => readiness(),
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await round;
    },
  };
}
