import { Cluster, Redis } from 'ioredis';
import type { Logger } from '../logging/logger.js';

/**
 * The only module that imports ioredis. Callers get a client through `createRedisClient` and type it
 * with the narrow interfaces of the stores that use it.
 *
 * One connection setting names either a single Redis or a Redis Cluster:
 *   redis://[:<password>@]host:port[/db]                      one server (also rediss://)
 *   redis-cluster://[:<password>@]host:port[,host:port...]    a cluster, through any of these seed nodes
 * On a cluster every command the switch sends touches one slot: keys about one person or one exchange
 * carry a hash tag (keys.ts), the Lua scripts take one key, batches are auto-pipelined per node.
 */
export type RedisClient = Redis | Cluster;

const CLUSTER_SCHEME = 'redis-cluster:';

interface ClusterSpec {
  readonly nodes: ReadonlyArray<{ readonly host: string; readonly port: number }>;
  readonly username?: string;
  readonly password?: string;
}

/** The connection setting of a cluster reached through `nodes` with one password. */
export function clusterRedisUrl(nodes: ReadonlyArray<{ host: string; port: number }>, password: string): string {
  return `redis-cluster://:${encodeURIComponent(password)}@${nodes.map((n) => `${n.host}:${n.port}`).join(',')}`;
}

/** The cluster named by a `redis-cluster://` setting; null for a single server's URL. */
export function parseClusterUrl(url: string): ClusterSpec | null {
  if (!url.startsWith(`${CLUSTER_SCHEME}//`)) return null;
  const rest = url.slice(CLUSTER_SCHEME.length + 2);
  const at = rest.lastIndexOf('@');
  const auth = at >= 0 ? rest.slice(0, at) : '';
  const hosts = (at >= 0 ? rest.slice(at + 1) : rest).replace(/\/$/, '');
  const nodes = hosts.split(',').map((text) => {
    const match = /^([^:,\s]+):(\d{1,5})$/.exec(text.trim());
    if (!match) throw new Error(`invalid Redis Cluster node ${JSON.stringify(text)}: expected host:port`);
    return { host: match[1] as string, port: Number(match[2]) };
  });
  const colon = auth.indexOf(':');
  const username = colon >= 0 ? decodeURIComponent(auth.slice(0, colon)) : '';
  const password = colon >= 0 ? decodeURIComponent(auth.slice(colon + 1)) : decodeURIComponent(auth);
  return { nodes, ...(username ? { username } : {}), ...(password ? { password } : {}) };
}

export function isCluster(client: RedisClient): client is Cluster {
  return client instanceof Cluster;
}

/**
 * Every key matching `pattern`, in batches: SCAN on each master of a cluster (a SCAN sent to the
 * cluster client would read one random node), on the server otherwise.
 */
export async function* scanKeys(client: Pick<RedisClient, 'scan'>, pattern: string, count = 1000): AsyncGenerator<string[]> {
  const servers: Array<Pick<RedisClient, 'scan'>> = client instanceof Cluster ? client.nodes('master') : [client];
  for (const server of servers) {
    let cursor = '0';
    do {
      const [next, keys] = await server.scan(cursor, 'MATCH', pattern, 'COUNT', count);
      if (keys.length > 0) yield keys;
      cursor = next;
    } while (cursor !== '0');
  }
}

/** `INFO`-style fields of one server's answer to a command such as `CLUSTER INFO`. */
export async function redisNodeInfo(url: string, command: 'CLUSTER INFO' | 'INFO'): Promise<Record<string, string>> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const [name, ...args] = command.split(' ') as [string, ...string[]];
    const text = String(await client.call(name, ...args));
    return Object.fromEntries(
      text
        .split(/\r?\n/)
        .filter((line) => line.includes(':') && !line.startsWith('#'))
        .map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1).trim()]),
    );
  } finally {
    client.disconnect();
  }
}

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
  const retryStrategy = (times: number) => Math.min(times * 200, 2_000);
  const connection = {
    connectionName: options.connectionName ?? 'bcss',
    maxRetriesPerRequest: requestPath ? 1 : null,
    connectTimeout: 5_000,
  };
  const cluster = parseClusterUrl(url);
  const client: RedisClient = cluster
    ? new Cluster([...cluster.nodes], {
        lazyConnect: false,
        enableOfflineQueue: !requestPath,
        enableAutoPipelining: true,
        clusterRetryStrategy: retryStrategy,
        // Reads from masters only: a replica may lag, and the directory and pending exchanges must be exact.
        scaleReads: 'master',
        redisOptions: {
          ...connection,
          ...(cluster.username ? { username: cluster.username } : {}),
          ...(cluster.password ? { password: cluster.password } : {}),
        },
      })
    : new Redis(url, {
        ...connection,
        lazyConnect: false,
        enableOfflineQueue: !requestPath,
        // Commands issued in the same tick go out as one pipeline per node: batched lookups without
        // explicit pipelines, which on Redis Cluster could not span slots.
        enableAutoPipelining: true,
        retryStrategy,
      });
  const log = options.logger?.child({ module: 'redis' });
  client.on('error', (error: Error) => log?.warn({ err: error.message }, 'redis connection error'));
  return client;
}

/** Waits until Redis answers PING (on a cluster: every master, every slot served), for at most `timeoutMs`. */
export async function waitForRedis(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  const cluster = parseClusterUrl(url);
  while (Date.now() < deadline) {
    const client = cluster
      ? new Cluster([...cluster.nodes], {
          lazyConnect: true,
          enableOfflineQueue: false,
          clusterRetryStrategy: () => null,
          redisOptions: { ...(cluster.password ? { password: cluster.password } : {}), maxRetriesPerRequest: 0 },
        })
      : new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
    client.on('error', () => undefined);
    try {
      await client.connect();
      if (client instanceof Cluster) {
        const info = await client.cluster('INFO');
        if (/cluster_state:ok/.test(String(info)) && (await Promise.all(client.nodes('master').map((m) => m.ping()))).every((p) => p === 'PONG')) return;
        lastError = new Error('the cluster is not ok yet');
      } else if ((await client.ping()) === 'PONG') return;
    } catch (error) {
      lastError = error;
    } finally {
      client.disconnect();
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`Redis did not answer PING within ${timeoutMs} ms`, { cause: lastError });
}
