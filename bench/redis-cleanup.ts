import type { RedisClient } from '../src/store/redis-connection.js';

/**
 * Deletes every key of one benchmark prefix: SCAN by pattern and UNLINK (freed in the background),
 * never FLUSHALL — the Redis is shared with other switches and test runs. Prefixes are made of
 * `[a-z0-9-]` only, so the pattern has no glob character but the final `*`.
 */
export async function deleteKeysByPrefix(redis: RedisClient, prefix: string): Promise<number> {
  if (!/^[a-z0-9-]+$/.test(prefix) || prefix === 'bcss') throw new Error(`refusing to delete keys of prefix ${JSON.stringify(prefix)}`);
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 5_000);
    cursor = next;
    if (keys.length > 0) deleted += await redis.unlink(...keys);
  } while (cursor !== '0');
  return deleted;
}

/** True when no key of this prefix exists (a fresh prefix for a run). */
export async function prefixIsFree(redis: RedisClient, prefix: string): Promise<boolean> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 10_000);
    if (keys.length > 0) return false;
    cursor = next;
  } while (cursor !== '0');
  return true;
}
