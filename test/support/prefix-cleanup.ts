import { DEFAULT_CONFIG_DIR } from '../../src/config/project-paths.js';
import { loadInstitutions } from '../../src/config/load-institutions.js';
import { accessControlList } from '../../src/gateway/access-control.js';
import { topicSpecs } from '../../src/gateway/topology.js';
import { silentLogger } from '../../src/logging/logger.js';
import { createKafkaClient } from '../../src/messaging/kafka-client.js';
import { topicNames } from '../../src/messaging/topics.js';
import { createRedisClient, scanKeys, type RedisClient } from '../../src/store/redis-connection.js';
import type { TestStack } from './stack-context.js';

/**
 * Deletes every Redis key of one prefix — what a Redis restarted without its files looks like to that
 * switch. Never FLUSHALL: the same Redis serves other switches (a running `npm start`, other tests).
 */
export async function deleteRedisPrefix(redis: Pick<RedisClient, 'scan' | 'del'>, prefix: string): Promise<void> {
  // One key per DEL: on a cluster, keys of one batch live in different slots.
  for await (const keys of scanKeys(redis, `${prefix}:*`)) await Promise.all(keys.map((key) => redis.del(key)));
}

/** What a switch run on its own prefix leaves on the shared broker and Redis: topics, ACLs, keys. */
export async function removeSwitchLeftovers(stack: TestStack, prefix: string): Promise<void> {
  const institutions = loadInstitutions(DEFAULT_CONFIG_DIR);
  const topics = topicNames(prefix);
  const admin = await createKafkaClient(stack.kafka, silentLogger).admin();
  try {
    await admin.deleteTopics(topicSpecs(topics, institutions).map((s) => s.topic)).catch(() => undefined);
    await admin.deleteAcls(accessControlList(topics, institutions)).catch(() => undefined);
  } finally {
    await admin.disconnect();
  }
  const redis = createRedisClient(stack.redisUrl, { role: 'background' });
  try {
    await deleteRedisPrefix(redis, prefix);
  } finally {
    redis.disconnect();
  }
}
