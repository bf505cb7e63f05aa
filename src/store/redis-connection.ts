import { Redis } from 'ioredis';
import type { Logger } from '../logging/logger.js';

/**
 * The only module that imports ioredis. Callers get a client through `createRedisClient` and type it
 * with the narrow interfaces of the stores that use it.
 */
export type RedisClient = Redis;

export interface RedisClientOptions {
  /**
   * Request-path connections fail fast (bounded retries per command, no offline queue): a request is
   * refused or retried by Kafka, never left hanging. Background workers may wait for Redis to return.
   */
  readonly role: 'request-path' | 'background';
  readonly logger?: Logger;
  readonly connectionName?: string;
}

export function createRedisClient(url: string, options: RedisClientOptions): RedisClient {
  const requestPath = options.role === 'request-path';
  const client = new Redis(url, {
    connectionName: options.connectionName ?? 'bcss',
    lazyConnect: false,
    enableOfflineQueue: !requestPath,
    maxRetriesPerRequest: requestPath ? 1 : null,
    connectTimeout: 5_000,
    // Commands issued in the same tick go out as one pipeline per node: batched lookups without
    // explicit pipelines, which on Redis Cluster could not span slots.
    enableAutoPipelining: true,
    retryStrategy: (times) => Math.min(times * 200, 2_000),
  });
  const log = options.logger?.child({ module: 'redis' });
  client.on('error', (error: Error) => log?.warn({ err: error.message }, 'redis connection error'));
  return client;
}

/** Waits until Redis answers PING, for at most `timeoutMs`. */
export async function waitForRedis(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
    client.on('error', () => undefined);
    try {
      await client.connect();
      if ((await client.ping()) === 'PONG') return;
    } catch (error) {
      lastError = error;
    } finally {
      client.disconnect();
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`Redis did not answer PING within ${timeoutMs} ms`, { cause: lastError });
}
