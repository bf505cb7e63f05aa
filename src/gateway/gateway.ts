import { buildAuthorizationIndex } from '../domain/authorization.js';
import type { Catalogue } from '../domain/catalogue.js';
import type { Deliberation } from '../domain/deliberation.js';
import type { Logger } from '../logging/logger.js';
import type { AvroCodec } from '../messaging/avro-codec.js';
import type { KafkaClient } from '../messaging/kafka-client.js';
import type { TopicNames } from '../messaging/topics.js';
import { runTransactionalPipeline, type RunningPipeline } from '../messaging/transactional-pipeline.js';
import type { DirectoryStore } from '../store/directory-store.js';
import type { PendingStore } from '../store/pending-store.js';
import { NO_METRICS, type GatewayMetrics } from '../observability/metrics.js';
import { observedPipeline } from '../observability/pipeline-metrics.js';
import { startDirectoryPipelines } from './directory-pipelines.js';
import { mutationTransform } from './mutation-pipeline.js';
import { replyTransform } from './reply-pipeline.js';
import { pendingAdmission, requestTransform } from './request-pipeline.js';
import { startTimeoutSweeper } from './timeout-sweeper.js';

/**
 * One gateway process: the directory stages, the request, reply and mutation pipelines and the timeout
 * sweeper.
 * Every stage is a consumer group: run more processes with the same `instanceName` to share the
 * partitions; the sweeper runs in one of them at a time.
 */
export interface GatewayDeps {
  readonly client: KafkaClient;
  readonly codec: AvroCodec;
  readonly topics: TopicNames;
  readonly catalogue: Catalogue;
  readonly deliberations: readonly Deliberation[];
  readonly payloadRecords: ReadonlyMap<string, string>;
  readonly directoryStore: DirectoryStore;
  readonly pendingStore: PendingStore;
  readonly logger: Logger;
  readonly metrics?: GatewayMetrics;
  /** Consumer groups and transactional ids start with it; default `<prefix>.gateway`. */
  readonly instanceName?: string;
  readonly sourceTimeoutMs?: number;
  readonly sweepIntervalMs?: number;
  /** Requests per Kafka transaction at most. */
  readonly chunkSize?: number;
  /** Exchanges waiting for their sources at most before request intake pauses (back-pressure). */
  readonly maxPending?: number;
  /**
   * An answer is due this long after a request's publication (see request-pipeline.ts); default the
   * source timeout plus {@link DEFAULT_QUEUE_ALLOWANCE_MS}.
   */
  readonly answerDeadlineMs?: number;
}

export const DEFAULT_SOURCE_TIMEOUT_MS = 30_000;
/** About 20 MB of Redis at ~1 KB an exchange; at 4,000 exchanges/s, five seconds of sources' work. */
export const DEFAULT_MAX_PENDING = 20_000;
/** By default a request may wait this long in its queue and still be forwarded. */
export const DEFAULT_QUEUE_ALLOWANCE_MS = 30_000;
const INTAKE_PAUSE_MS = 50;

export async function startGateway(deps: GatewayDeps): Promise<RunningPipeline> {
  const name = deps.instanceName ?? `${deps.topics.prefix}.gateway`;
  const sourceTimeoutMs = deps.sourceTimeoutMs ?? DEFAULT_SOURCE_TIMEOUT_MS;
  if (deps.answerDeadlineMs !== undefined && deps.answerDeadlineMs <= sourceTimeoutMs) {
    throw new Error(`the answer deadline (${deps.answerDeadlineMs} ms) must exceed the source timeout (${sourceTimeoutMs} ms): every forwarded request would be OVERLOADED`);
  }
  const rules = { catalogue: deps.catalogue, authorizations: buildAuthorizationIndex(deps.deliberations, deps.catalogue) };
  const started: Array<{ stop(): Promise<void> }> = [];
  /** A pipeline's group, and its rebalances, aborts and dead letters reported to the metrics. */
  const observed = (groupId: string, transform: Parameters<typeof observedPipeline>[1]['transform']) => ({
    groupId,
    ...observedPipeline(deps.metrics ?? NO_METRICS, { group: groupId, deadLetterTopic: deps.topics.deadLetter, transform }),
  });
  const stopAll = async () => {
    // The sweeper and its producer first (no new deadline events), then every pipeline at once.
    const [sweeper, producer, ...pipelines] = started.splice(0).reverse();
    await sweeper?.stop().catch(() => undefined);
    await producer?.stop().catch(() => undefined);
    await Promise.allSettled(pipelines.map((s) => s.stop()));
  };
  try {
    started.push(
      await startDirectoryPipelines({
        client: deps.client,
        codec: deps.codec,
        topics: deps.topics,
        store: deps.directoryStore,
        logger: deps.logger,
        instanceName: name,
        authorizations: rules.authorizations,
        ...(deps.metrics ? { metrics: deps.metrics } : {}),
      }),
    );
    // Replies first: answers to exchanges forwarded before a restart are taken up at once.
    started.push(
      await runTransactionalPipeline({
        client: deps.client,
        ...observed(`${name}.replies`, replyTransform({
          codec: deps.codec,
          topics: deps.topics,
          catalogue: deps.catalogue,
          authorizations: rules.authorizations,
          payloadRecords: deps.payloadRecords,
          pending: deps.pendingStore,
          logger: deps.logger,
          ...(deps.metrics ? { metrics: deps.metrics } : {}),
        })),
        topics: [deps.topics.patterns.sourceReplies, deps.topics.exchangeTimeouts],
        transactionalIdPrefix: `${name}.replies`,
        logger: deps.logger,
        chunkSize: deps.chunkSize,
      }),
    );
    started.push(
      await runTransactionalPipeline({
        client: deps.client,
        topics: [deps.topics.patterns.requests, deps.topics.patterns.consultationRequests],
        transactionalIdPrefix: `${name}.requests`,
        logger: deps.logger,
        chunkSize: deps.chunkSize,
        admission: pendingAdmission(
          deps.pendingStore,
          { maxPending: deps.maxPending ?? DEFAULT_MAX_PENDING, pauseMs: INTAKE_PAUSE_MS },
          deps.metrics,
        ),
        ...observed(`${name}.requests`, requestTransform({
          codec: deps.codec,
          topics: deps.topics,
          rules,
          directory: deps.directoryStore,
          pending: deps.pendingStore,
          sourceTimeoutMs,
          answerDeadlineMs: deps.answerDeadlineMs ?? sourceTimeoutMs + DEFAULT_QUEUE_ALLOWANCE_MS,
          logger: deps.logger,
          ...(deps.metrics ? { metrics: deps.metrics } : {}),
        })),
      }),
    );
    started.push(
      await runTransactionalPipeline({
        client: deps.client,
        topics: [deps.topics.patterns.sourceMutations],
        transactionalIdPrefix: `${name}.mutations`,
        logger: deps.logger,
        chunkSize: deps.chunkSize,
        ...observed(`${name}.mutations`, mutationTransform({
          codec: deps.codec,
          topics: deps.topics,
          rules,
          payloadRecords: deps.payloadRecords,
          directory: deps.directoryStore,
          logger: deps.logger,
          ...(deps.metrics ? { metrics: deps.metrics } : {}),
        })),
      }),
    );
    const producer = await deps.client.producer();
    started.push({ stop: () => producer.disconnect() });
    started.push(
      startTimeoutSweeper({
        producer,
        codec: deps.codec,
        topics: deps.topics,
        pending: deps.pendingStore,
        logger: deps.logger,
        intervalMs: deps.sweepIntervalMs,
      }),
    );
  } catch (error) {
    await stopAll();
    throw error;
  }
  return { stop: stopAll };
}
