import type { Runtime } from '../src/app/runtime.js';
import { buildAuthorizationIndex } from '../src/domain/authorization.js';
import { DEFAULT_SOURCE_TIMEOUT_MS } from '../src/gateway/gateway.js';
import { replyTransform } from '../src/gateway/reply-pipeline.js';
import { requestTransform } from '../src/gateway/request-pipeline.js';
import type { Logger } from '../src/logging/logger.js';
import type { TopicNames } from '../src/messaging/topics.js';
import { runTransactionalPipeline, type RunningPipeline } from '../src/messaging/transactional-pipeline.js';
import { SIMULATED_SOURCES, sourceSimulatorTransform } from '../src/sources/simulator-service.js';
import type { SyntheticPopulation } from '../src/sources/synthetic-population.js';
import type { DirectoryStore } from '../src/store/directory-store.js';
import type { PendingStore } from '../src/store/pending-store.js';

/**
 * An EXPERIMENT, not the switch as shipped (`--pipeline-concurrency` above 1): the exchange path —
 * the gateway's request and reply stages, and the simulated sources — built from the same transforms
 * and the same transactional pipeline, but working on several partitions at once
 * (`partitionsConsumedConcurrently`), which `startGateway` and `startSourceSimulators` do not offer.
 * Each partition keeps its own transactional producer, as in the shipped pipelines. Left out, because
 * an exchange does not go through them: the directory and mutation pipelines and the timeout sweeper.
 * It measures what that setting would change before anyone changes src/.
 */
async function startAll(starts: ReadonlyArray<() => Promise<RunningPipeline>>): Promise<RunningPipeline> {
  const started: RunningPipeline[] = [];
  try {
    for (const start of starts) started.push(await start());
  } catch (error) {
    await Promise.allSettled(started.map((p) => p.stop()));
    throw error;
  }
  return { stop: async () => void (await Promise.allSettled(started.map((p) => p.stop()))) };
}

export function startConcurrentExchangeStages(options: {
  readonly runtime: Runtime;
  readonly topics: TopicNames;
  readonly name: string;
  readonly directoryStore: DirectoryStore;
  readonly pendingStore: PendingStore;
  readonly logger: Logger;
  readonly concurrency: number;
  readonly sourceTimeoutMs?: number;
}): Promise<RunningPipeline> {
  const { runtime, topics, name, logger } = options;
  const rules = { catalogue: runtime.catalogue, authorizations: buildAuthorizationIndex(runtime.deliberations, runtime.catalogue) };
  return startAll([
    () =>
      runTransactionalPipeline({
        client: runtime.client,
        groupId: `${name}.replies`,
        topics: [topics.patterns.sourceReplies, topics.exchangeTimeouts],
        transactionalIdPrefix: `${name}.replies`,
        logger,
        partitionsConsumedConcurrently: options.concurrency,
        transform: replyTransform({
          codec: runtime.codec,
          topics,
          catalogue: runtime.catalogue,
          authorizations: rules.authorizations,
          payloadRecords: runtime.payloadRecords,
          pending: options.pendingStore,
          logger,
        }),
      }),
    () =>
      runTransactionalPipeline({
        client: runtime.client,
        groupId: `${name}.requests`,
        topics: [topics.patterns.requests],
        transactionalIdPrefix: `${name}.requests`,
        logger,
        partitionsConsumedConcurrently: options.concurrency,
        transform: requestTransform({
          codec: runtime.codec,
          topics,
          rules,
          directory: options.directoryStore,
          pending: options.pendingStore,
          sourceTimeoutMs: options.sourceTimeoutMs ?? DEFAULT_SOURCE_TIMEOUT_MS,
          logger,
        }),
      }),
  ]);
}

export function startConcurrentSimulators(options: {
  readonly runtime: Runtime;
  readonly topics: TopicNames;
  readonly groupPrefix: string;
  readonly population: SyntheticPopulation;
  readonly logger: Logger;
  readonly concurrency: number;
}): Promise<RunningPipeline> {
  const { runtime, topics, logger } = options;
  return startAll(
    SIMULATED_SOURCES.map((source) => () => {
      const name = `${options.groupPrefix}.source-${source}.simulator`;
      return runTransactionalPipeline({
        client: runtime.client,
        groupId: name,
        topics: [topics.sourceRequests(source)],
        transactionalIdPrefix: name,
        logger,
        partitionsConsumedConcurrently: options.concurrency,
        transform: sourceSimulatorTransform({
          codec: runtime.codec,
          topics,
          catalogue: runtime.catalogue,
          population: options.population,
          logger,
          source,
          payloadRecords: runtime.payloadRecords,
        }),
      });
    }),
  );
}
