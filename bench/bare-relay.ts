import type { Logger } from '../src/logging/logger.js';
import type { InMessage, KafkaClient } from '../src/messaging/kafka-client.js';
import type { TopicNames } from '../src/messaging/topics.js';
import { runTransactionalPipeline, type ChunkResult, type RunningPipeline } from '../src/messaging/transactional-pipeline.js';

/**
 * The baseline: the gateway's two hops with nothing in them. Each message is forwarded unchanged —
 * same key, value and headers — through the same transactional consume–produce machinery the
 * gateway uses (same chunk size, one transactional producer per input partition, offsets committed
 * in the transaction), so the difference between the two is exactly the gateway's checks, lookups,
 * filtering and audit.
 *
 * Having no rules, the relay cannot derive the source from the service nor the requester from a
 * pending exchange: the load generator names the source in a `source` header, and every source
 * reply goes to one replies topic.
 */
export const SOURCE_HEADER = 'source';

export interface BareRelayOptions {
  readonly client: KafkaClient;
  readonly topics: TopicNames;
  readonly logger: Logger;
  readonly instanceName: string;
  /** The institution whose replies topic receives every source reply. */
  readonly repliesTo: string;
  readonly sources: readonly string[];
  readonly chunkSize?: number;
  /** Default 1, as the gateway's pipelines run. */
  readonly partitionsConsumedConcurrently?: number;
}

/** The relay's transform: every message to the topic `target` names, key, value and headers unchanged. */
const forward =
  (target: (message: InMessage) => string) =>
  async (messages: readonly InMessage[]): Promise<ChunkResult> => ({
    records: messages.map((message) => ({ topic: target(message), key: message.key, value: message.value, headers: message.headers })),
  });

export async function startBareRelay(options: BareRelayOptions): Promise<RunningPipeline> {
  const { topics } = options;
  const sourceTopics = new Map(options.sources.map((source) => [source, topics.sourceRequests(source)]));
  const repliesTopic = topics.replies(options.repliesTo);
  const toSource = (message: InMessage): string => {
    const topic = sourceTopics.get(message.headers[SOURCE_HEADER] ?? '');
    if (topic === undefined) throw new Error(`relay: no source topic for header ${SOURCE_HEADER}=${message.headers[SOURCE_HEADER]}`);
    return topic;
  };

  const started: RunningPipeline[] = [];
  try {
    started.push(
      await runTransactionalPipeline({
        client: options.client,
        groupId: `${options.instanceName}.replies`,
        topics: [topics.patterns.sourceReplies],
        transactionalIdPrefix: `${options.instanceName}.replies`,
        logger: options.logger,
        chunkSize: options.chunkSize,
        partitionsConsumedConcurrently: options.partitionsConsumedConcurrently,
        transform: forward(() => repliesTopic),
      }),
    );
    started.push(
      await runTransactionalPipeline({
        client: options.client,
        groupId: `${options.instanceName}.requests`,
        // As the gateway's request stage subscribes: both kinds of requests topics (ONVA's requests go to its consultation-requests topic).
        topics: [topics.patterns.requests, topics.patterns.consultationRequests],
        transactionalIdPrefix: `${options.instanceName}.requests`,
        logger: options.logger,
        chunkSize: options.chunkSize,
        partitionsConsumedConcurrently: options.partitionsConsumedConcurrently,
        transform: forward(toSource),
      }),
    );
  } catch (error) {
    await Promise.allSettled(started.map((p) => p.stop()));
    throw error;
  }
  return { stop: async () => void (await Promise.allSettled(started.map((p) => p.stop()))) };
}

export interface OneHopRelayOptions {
  readonly client: KafkaClient;
  readonly logger: Logger;
  /** Consumer group and prefix of the transactional ids. */
  readonly instanceName: string;
  readonly input: string;
  readonly output: string;
}

/** One hop of the bare relay, input topic to output topic: the switch's side of the one-hop comparison. */
export function startOneHopRelay(options: OneHopRelayOptions): Promise<RunningPipeline> {
  return runTransactionalPipeline({
    client: options.client,
    groupId: options.instanceName,
    topics: [options.input],
    transactionalIdPrefix: options.instanceName,
    logger: options.logger,
    transform: forward(() => options.output),
  });
}
