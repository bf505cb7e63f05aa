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
import type { GatewayMetrics } from '../observability/metrics.js';
import { startDirectoryPipelines } from './directory-pipelines.js';
import { mutationTransform } from './mutation-pipeline.js';
import { replyTransform } from './reply-pipeline.js';
import { requestTransform } from './request-pipeline.js';
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
}

export const DEFAULT_SOURCE_TIMEOUT_MS = 30_000;

export async function startGateway(deps: GatewayDeps): Promise<RunningPipeline> {
  const name = deps.instanceName ?? `${deps.topics.prefix}.gateway`;
  const rules = { catalogue: deps.catalogue, authorizations: buildAuthorizationIndex(deps.deliberations, deps.catalogue) };
  const started: Array<{ stop(): Promise<void> }> = [];
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
      }),
    );
    // Replies first: answers to exchanges forwarded before a restart are taken up at once.
    started.push(
      await runTransactionalPipeline({
        client: deps.client,
        groupId: `${name}.replies`,
        topics: [deps.topics.patterns.sourceReplies, deps.topics.exchangeTimeouts],
        transactionalIdPrefix: `${name}.replies`,
        logger: deps.logger,
        chunkSize: deps.chunkSize,
        transform: replyTransform({
          codec: deps.codec,
          topics: deps.topics,
          catalogue: deps.catalogue,
          payloadRecords: deps.payloadRecords,
          pending: deps.pendingStore,
          logger: deps.logger,
          ...(deps.metrics ? { metrics: deps.metrics } : {}),
        }),
      }),
    );
    started.push(
      await runTransactionalPipeline({
        client: deps.client,
        groupId: `${name}.requests`,
        topics: [deps.topics.patterns.requests],
        transactionalIdPrefix: `${name}.requests`,
        logger: deps.logger,
        chunkSize: deps.chunkSize,
        transform: requestTransform({
          codec: deps.codec,
          topics: deps.topics,
          rules,
          directory: deps.directoryStore,
          pending: deps.pendingStore,
          sourceTimeoutMs: deps.sourceTimeoutMs ?? DEFAULT_SOURCE_TIMEOUT_MS,
          logger: deps.logger,
          ...(deps.metrics ? { metrics: deps.metrics } : {}),
        }),
      }),
    );
    started.push(
      await runTransactionalPipeline({
        client: deps.client,
        groupId: `${name}.mutations`,
        topics: [deps.topics.patterns.sourceMutations],
        transactionalIdPrefix: `${name}.mutations`,
        logger: deps.logger,
        chunkSize: deps.chunkSize,
        transform: mutationTransform({
          codec: deps.codec,
          topics: deps.topics,
          rules,
          payloadRecords: deps.payloadRecords,
          directory: deps.directoryStore,
          logger: deps.logger,
          ...(deps.metrics ? { metrics: deps.metrics } : {}),
        }),
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
