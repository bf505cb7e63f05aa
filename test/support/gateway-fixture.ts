import { DEFAULT_CONFIG_DIR, SCHEMA_DIR } from '../../src/config/project-paths.js';
import { loadInstitutions } from '../../src/config/load-institutions.js';
import { startDirectoryPipelines } from '../../src/gateway/directory-pipelines.js';
import { topicSpecs } from '../../src/gateway/topology.js';
import { silentLogger } from '../../src/logging/logger.js';
import { loadAvroCodec } from '../../src/messaging/avro-codec.js';
import { createKafkaClient, type KafkaAdmin, type KafkaClient } from '../../src/messaging/kafka-client.js';
import { topicNames, type TopicNames } from '../../src/messaging/topics.js';
import type { RunningPipeline } from '../../src/messaging/transactional-pipeline.js';
import { createDirectoryStore, type DirectoryStore } from '../../src/store/directory-store.js';
import { redisKeys } from '../../src/store/keys.js';
import { createRedisClient, type RedisClient } from '../../src/store/redis-connection.js';
import { uniqueName } from './kafka-helpers.js';
import type { TestStack } from './stack-context.js';

/**
 * An isolated switch for one test file: its own topic prefix, Redis key prefix, consumer groups and
 * transactional ids, on the shared real broker and Redis.
 */
export interface GatewayFixture {
  readonly client: KafkaClient;
  readonly admin: KafkaAdmin;
  readonly codec: ReturnType<typeof loadAvroCodec>;
  readonly topics: TopicNames;
  readonly redis: RedisClient;
  readonly store: DirectoryStore;
  readonly instanceName: string;
  startDirectory(): Promise<RunningPipeline>;
  close(): Promise<void>;
}

export async function createGatewayFixture(stack: TestStack, partitions = 2): Promise<GatewayFixture> {
  const name = uniqueName('t');
  const client = createKafkaClient(stack.kafka, silentLogger);
  const admin = await client.admin();
  const codec = loadAvroCodec(SCHEMA_DIR);
  const topics = topicNames(name);
  const specs = topicSpecs(topics, loadInstitutions(DEFAULT_CONFIG_DIR), { partitions });
  await admin.ensureTopics(specs);
  const redis = createRedisClient(stack.redisUrl, { role: 'background' });
  const store = createDirectoryStore(redis, redisKeys(name));
  const running: RunningPipeline[] = [];
  return {
    client,
    admin,
    codec,
    topics,
    redis,
    store,
    instanceName: name,
    async startDirectory() {
      const pipeline = await startDirectoryPipelines({ client, codec, topics, store, logger: silentLogger, instanceName: name });
      running.push(pipeline);
      return pipeline;
    },
    async close() {
      await Promise.all(running.map((p) => p.stop()));
      await admin.deleteTopics(specs.map((s) => s.topic)).catch(() => undefined);
      await admin.disconnect();
      redis.disconnect();
    },
  };
}
