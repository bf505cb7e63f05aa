/**
 * The health page's facts, polled in the background so that a page never waits on Kafka: the
 * monitor's checks (Kafka, Redis, pipelines running), each pipeline's consumer lag per partition, and
 * the sealer (its last seal per partition, and the audit offsets not sealed yet), each with the time it
 * was last OK. Offsets count Kafka's transaction markers too: a few unsealed offsets are normal.
 */
import type { AvroCodec } from '../messaging/avro-codec.js';
import type { KafkaClient } from '../messaging/kafka-client.js';
import { clientIdPrefix, type TopicNames } from '../messaging/topics.js';
import type { HealthState } from '../observability/metrics.js';
import type { Logger } from '../logging/logger.js';
import { readSeals } from '../audit/verify.js';

export interface CheckState {
  readonly name: string;
  readonly ok: boolean;
  /** Epoch ms; null: never OK since the console started. */
  readonly lastOkAt: number | null;
  readonly detail: string;
}

export interface PartitionLag {
  readonly group: string;
  readonly topic: string;
  readonly partition: number;
  readonly lag: number;
}

export interface SealerState extends CheckState {
  readonly partitions: ReadonlyArray<{ partition: number; lastSeal: number | null; sealedAt: number | null; sealedUpTo: number | null; endOffset: number; unsealed: number }>;
}

export interface ConsoleStatus {
  readonly checks: readonly CheckState[];
  readonly pipelines: readonly CheckState[];
  readonly lag: readonly PartitionLag[];
  readonly sealer: SealerState | null;
  readonly polledAt: number | null;
}

/** Seals are made every 10 s (src/audit/sealer.ts); a partition with offsets left unsealed longer than this is late. */
const SEAL_LATE_MS = 60_000;
/** Transaction markers and the records of the seal interval: fewer unsealed offsets than this are normal. */
const UNSEALED_SLACK = 50;

export function startStatusPoller(options: {
  health: HealthState;
  /** The gateway's principal: describes its own consumer groups. */
  gatewayClient: KafkaClient;
  /** An auditor: reads the seals and the audit topic's offsets. */
  auditClient: KafkaClient;
  auditPrincipal: string;
  codec: AvroCodec;
  topics: TopicNames;
  groups: readonly string[];
  sealer: boolean;
  logger: Logger;
  intervalMs?: number;
  sealsEveryMs?: number;
}): { current(): ConsoleStatus; poll(): Promise<void>; stop(): void } {
  const lastOk = new Map<string, number>();
  const mark = (name: string, ok: boolean, detail: string): CheckState => {
    if (ok) lastOk.set(name, Date.now());
    return { name, ok, lastOkAt: lastOk.get(name) ?? null, detail };
  };
  let status: ConsoleStatus = { checks: [], pipelines: [], lag: [], sealer: null, polledAt: null };
  let sealsAt = 0;
  let polling: Promise<void> | null = null;

  const pollSealer = async (): Promise<SealerState> => {
    const { seals } = await readSeals({
      client: options.auditClient,
      codec: options.codec,
      topic: options.topics.auditSeals,
      groupPrefix: clientIdPrefix(options.topics, options.auditPrincipal),
      timeoutMs: 15_000,
    });
    const admin = await options.auditClient.admin();
    const ends = await admin.topicEndOffsets(options.topics.audit).finally(() => admin.disconnect());
    const partitions = ends
      .map(({ partition, offset }) => {
        const last = seals.filter((s) => s.seal.partition === partition).at(-1)?.seal ?? null;
        const endOffset = Number(offset);
        const sealedUpTo = last ? last.lastOffset : null;
        return { partition, lastSeal: last?.sequence ?? null, sealedAt: last?.sealedAt ?? null, sealedUpTo, endOffset, unsealed: endOffset - (sealedUpTo === null ? 0 : sealedUpTo + 1) };
      })
      .sort((a, b) => a.partition - b.partition);
    const late = partitions.filter((p) => p.unsealed > UNSEALED_SLACK && (p.sealedAt === null || Date.now() - p.sealedAt > SEAL_LATE_MS));
    const unsealed = partitions.reduce((sum, p) => sum + p.unsealed, 0);
    return {
      ...mark('sealer', late.length === 0, late.length === 0 ? `${unsealed} offsets not sealed yet` : `partitions ${late.map((p) => p.partition).join(', ')} not sealed for over a minute`),
      partitions,
    };
  };

  const poll = async () => {
    const ready = await options.health.ready().catch(() => ({ ready: false, checks: {} as Record<string, boolean | string> }));
    const checks = Object.entries(ready.checks).map(([name, value]) => mark(name, value === true, value === true ? 'OK' : String(value)));
    const lag: PartitionLag[] = [];
    const pipelines: CheckState[] = [];
    try {
      const admin = await options.gatewayClient.admin();
      try {
        const ends = new Map<string, Map<number, string>>();
        for (const group of options.groups) {
          const name = group.split('.').at(-1) ?? group;
          try {
            for (const { topic, partitions } of await admin.committedOffsets(group)) {
              if (!ends.has(topic)) ends.set(topic, new Map((await admin.topicOffsets(topic)).map((o) => [o.partition, o.high])));
              for (const { partition, offset } of partitions) {
                const high = Number(ends.get(topic)?.get(partition) ?? 0);
                lag.push({ group, topic, partition, lag: Number(offset) < 0 ? high : Math.max(0, high - Number(offset)) });
              }
            }
            const behind = lag.filter((l) => l.group === group).reduce((sum, l) => sum + l.lag, 0);
            pipelines.push(mark(`pipeline ${name}`, true, `${behind} messages behind`));
          } catch (error) {
            pipelines.push(mark(`pipeline ${name}`, false, error instanceof Error ? error.message : String(error)));
          }
        }
      } finally {
        await admin.disconnect();
      }
    } catch (error) {
      options.logger.warn({ err: error }, 'the console could not read the consumer groups');
    }
    let sealer = status.sealer;
    if (options.sealer && Date.now() - sealsAt >= (options.sealsEveryMs ?? 30_000)) {
      sealsAt = Date.now();
      sealer = await pollSealer().catch((error: unknown): SealerState => ({ ...mark('sealer', false, error instanceof Error ? error.message : String(error)), partitions: [] }));
    }
    status = { checks, pipelines, lag, sealer, polledAt: Date.now() };
  };

  const run = () => (polling ??= poll().finally(() => (polling = null)));
  void run();
  const timer = setInterval(() => void run(), options.intervalMs ?? 5_000);
  timer.unref();
  return {
    current: () => status,
    poll: async () => {
      sealsAt = 0;
      await run();
      await run();
    },
    stop: () => clearInterval(timer),
  };
}
