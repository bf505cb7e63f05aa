import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../logging/logger.js';
import { silentLogger } from '../logging/logger.js';
import type { KafkaConnection } from '../messaging/kafka-client.js';
import { clusterRedisUrl, redisNodeInfo, waitForRedis } from '../store/redis-connection.js';
import { auditIndexKeyPath, postgresUp, readPostgresUrl } from './postgres-stack.js';
import {
  addMissingPrincipals,
  DEFAULT_KAFKA_HEAP,
  DEFAULT_STACK_DIR,
  ensureJars,
  log4jProperties,
  newCredentials,
  pathsOf,
  runJavaTool,
  scramUserArgs,
  serverProperties,
  startKafka,
  waitForKafka,
  type Paths,
  type StackConnection,
  type StackCredentials,
} from './local-stack.js';
import {
  freePort,
  portIsFree,
  readJson,
  requireTools,
  runningPid,
  signalAndWait,
  spawnDetached,
  StackError,
  writePrivate,
  type StoppedProcessSignal,
} from './stack-processes.js';

/**
 * The clustered local stack, for running the switch as it runs in production: three KRaft nodes
 * (each broker and controller, a quorum of three: one may die), SASL/SCRAM and ACLs as on the single
 * node, every partition on three brokers with two in sync required; and a Redis Cluster of three
 * masters with one replica each, append-only files on. It lives in `<stack folder>/cluster/`, beside
 * the single-node stack, which stays the default; the Kafka jars are shared.
 */

export const KAFKA_NODES = 3;
export const REDIS_MASTERS = 3;
const REDIS_REPLICAS_PER_MASTER = 1;
/** Three copies, two in sync: a write survives one broker's loss, and one broker may be down. */
const REPLICATION_FACTOR = 3;
const MIN_INSYNC_REPLICAS = 2;

const DEFAULT_KAFKA_PORTS = [19192, 19193, 19194];
const DEFAULT_CONTROLLER_PORTS = [19195, 19196, 19197];
const DEFAULT_REDIS_PORTS = [17001, 17002, 17003, 17004, 17005, 17006];

interface ClusterState {
  readonly clusterId: string;
  readonly kafka: ReadonlyArray<{ readonly nodeId: number; readonly client: number; readonly controller: number }>;
  readonly redis: readonly number[];
}

export interface ClusterPaths {
  readonly root: string;
  readonly state: string;
  readonly credentials: string;
  readonly connectionEnv: string;
  /** The single-node stack's jar folder: one download serves both. */
  readonly libs: string;
}

export function clusterPathsOf(stackDir: string): ClusterPaths {
  const root = join(stackDir, 'cluster');
  return {
    root,
    state: join(root, 'cluster.json'),
    credentials: join(root, 'credentials.json'),
    connectionEnv: join(root, 'connection.env'),
    libs: pathsOf(stackDir).libs,
  };
}

/** One Kafka node's folder: its own configuration, data, logs and pid file; the shared jars. */
function kafkaNodePaths(cluster: ClusterPaths, nodeId: number): Paths {
  return { ...pathsOf(join(cluster.root, `kafka-${nodeId}`)), libs: cluster.libs };
}

function redisNodeDir(cluster: ClusterPaths, port: number): string {
  return join(cluster.root, `redis-${port}`);
}

async function choose(defaults: readonly number[]): Promise<number[]> {
  const chosen: number[] = [];
  for (const port of defaults) chosen.push((await portIsFree(port)) && !chosen.includes(port) ? port : await freePort());
  return chosen;
}

async function ensureClusterInitialized(cluster: ClusterPaths, log: Logger): Promise<{ state: ClusterState; credentials: StackCredentials }> {
  const formatted = (state: ClusterState) => state.kafka.every((k) => existsSync(join(kafkaNodePaths(cluster, k.nodeId).kafkaData, 'meta.properties')));
  if (existsSync(cluster.state) && existsSync(cluster.credentials)) {
    const state = readJson<ClusterState>(cluster.state);
    if (formatted(state)) return { state, credentials: readJson<StackCredentials>(cluster.credentials) };
  }
  rmSync(cluster.root, { recursive: true, force: true });
  mkdirSync(cluster.root, { recursive: true });
  const clientPorts = await choose(DEFAULT_KAFKA_PORTS);
  const controllerPorts = await choose(DEFAULT_CONTROLLER_PORTS);
  const redisPorts = await choose(DEFAULT_REDIS_PORTS);
  const kafka = clientPorts.map((client, i) => ({ nodeId: i + 1, client, controller: controllerPorts[i] as number }));
  const voters = kafka.map((k) => `${k.nodeId}@127.0.0.1:${k.controller}`);
  const credentials = newCredentials();
  const first = kafkaNodePaths(cluster, 1);
  for (const node of kafka) {
    const paths = kafkaNodePaths(cluster, node.nodeId);
    for (const dir of [paths.kafkaData, paths.logs]) mkdirSync(dir, { recursive: true });
    writePrivate(
      paths.serverProperties,
      serverProperties(
        {
          nodeId: node.nodeId,
          clientPort: node.client,
          controllerPort: node.controller,
          voters,
          dataDir: paths.kafkaData,
          replicationFactor: REPLICATION_FACTOR,
          minInsyncReplicas: MIN_INSYNC_REPLICAS,
        },
        credentials.admin.password,
      ),
    );
    writeFileSync(paths.log4j, log4jProperties(paths));
  }
  const clusterId = runJavaTool(first, 'kafka.tools.StorageTool', ['random-uuid']).trim();
  log.info({ clusterId, kafka, redis: redisPorts }, 'formatting the local Kafka cluster storage');
  for (const node of kafka) {
    const paths = kafkaNodePaths(cluster, node.nodeId);
    runJavaTool(paths, 'kafka.tools.StorageTool', ['format', '-t', clusterId, '-c', paths.serverProperties, ...scramUserArgs(credentials)]);
  }
  const state: ClusterState = { clusterId, kafka, redis: redisPorts };
  writePrivate(cluster.credentials, `${JSON.stringify(credentials, null, 2)}\n`);
  writeFileSync(cluster.state, `${JSON.stringify(state, null, 2)}\n`);
  return { state, credentials };
}

function startRedisNode(cluster: ClusterPaths, port: number, password: string): boolean {
  const dir = redisNodeDir(cluster, port);
  mkdirSync(dir, { recursive: true });
  if (runningPid(join(dir, 'redis.pid'), dir)) return false;
  const conf = join(dir, 'redis.conf');
  // A config file (mode 0600) rather than arguments, so that the password never shows in `ps`.
  writePrivate(
    conf,
    [
      `port ${port}`,
      'bind 127.0.0.1',
      'protected-mode yes',
      `dir ${dir}`,
      'cluster-enabled yes',
      'cluster-config-file nodes.conf',
      // A master silent this long is failed over to its replica.
      'cluster-node-timeout 5000',
      'appendonly yes',
      'appendfsync everysec',
      'save ""',
      `requirepass ${password}`,
      `masterauth ${password}`,
      'hash-max-ziplist-entries 256',
      'hash-max-ziplist-value 512',
      'daemonize no',
      '',
    ].join('\n'),
  );
  spawnDetached('redis-server', [conf], dir, join(dir, 'redis.log'), join(dir, 'redis.pid'));
  return true;
}

function nodeUrl(port: number, password: string): string {
  return `redis://:${password}@127.0.0.1:${port}`;
}

/** Creates the cluster once (slots over the masters, a replica each); later starts find it formed. */
async function ensureRedisCluster(state: ClusterState, credentials: StackCredentials, log: Logger, timeoutMs: number): Promise<void> {
  const urls = state.redis.map((port) => nodeUrl(port, credentials.redisPassword));
  await Promise.all(urls.map((url) => waitForRedis(url, timeoutMs)));
  const known = Number((await redisNodeInfo(urls[0] as string, 'CLUSTER INFO')).cluster_known_nodes ?? '1');
  if (known < state.redis.length) {
    log.info({ nodes: state.redis }, 'creating the Redis Cluster');
    const result = spawnSync(
      'redis-cli',
      ['--cluster', 'create', ...state.redis.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', String(REDIS_REPLICAS_PER_MASTER), '--cluster-yes'],
      // REDISCLI_AUTH rather than -a: the password stays out of `ps`.
      { encoding: 'utf8', env: { ...process.env, REDISCLI_AUTH: credentials.redisPassword }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    if (result.status !== 0) throw new StackError(`redis-cli --cluster create failed (exit ${result.status}):\n${result.stdout}${result.stderr}`);
  }
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const infos = await Promise.all(urls.map((url) => redisNodeInfo(url, 'CLUSTER INFO').catch(() => ({}) as Record<string, string>)));
    if (infos.every((info) => info.cluster_state === 'ok' && info.cluster_slots_ok === '16384')) return;
    if (Date.now() > deadline) throw new StackError(`the Redis Cluster was not ok on all ${urls.length} nodes within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

function clusterConnectionOf(
  cluster: ClusterPaths,
  state: ClusterState,
  credentials: StackCredentials,
  stackDir: string,
  auditIndexUrl = readPostgresUrl(stackDir),
): StackConnection {
  const kafka: KafkaConnection = {
    brokers: state.kafka.map((k) => `127.0.0.1:${k.client}`),
    sasl: { mechanism: 'scram-sha-512', username: credentials.admin.username, password: credentials.admin.password },
  };
  return {
    kafka,
    redisUrl: clusterRedisUrl(
      state.redis.map((port) => ({ host: '127.0.0.1', port })),
      credentials.redisPassword,
    ),
    credentials,
    stackDir,
    auditIndexUrl,
  };
}

function clusterConnectionEnv(cluster: ClusterPaths, connection: StackConnection): string {
  const sasl = connection.kafka.sasl;
  return [
    '# Local clustered stack (generated; credentials are random per checkout). Source it to run the switch or the tests on it:',
    '#   set -a; . .stack/cluster/connection.env; set +a; npm start   (or npm run test:integration)',
    `KAFKA_BROKERS=${connection.kafka.brokers.join(',')}`,
    `KAFKA_SASL_MECHANISM=${sasl?.mechanism ?? ''}`,
    `KAFKA_SASL_USERNAME=${sasl?.username ?? ''}`,
    `KAFKA_SASL_PASSWORD=${sasl?.password ?? ''}`,
    `REDIS_URL=${connection.redisUrl}`,
    `BCSS_CREDENTIALS_FILE=${cluster.credentials}`,
    `BCSS_STACK_DIR=${connection.stackDir}`,
    ...(connection.auditIndexUrl != null
      ? [`BCSS_AUDIT_INDEX_URL=${connection.auditIndexUrl}`, `BCSS_AUDIT_INDEX_KEY_FILE=${auditIndexKeyPath(connection.stackDir)}`]
      : []),
    '',
  ].join('\n');
}

export interface ClusterUpResult extends StackConnection {
  readonly started: { readonly kafka: number; readonly redis: number; readonly postgres: boolean };
  readonly connectionEnv: string;
}

export async function clusterStackUp(options: { stackDir?: string; kafkaHeap?: string; logger?: Logger } = {}): Promise<ClusterUpResult> {
  const log = (options.logger ?? silentLogger).child({ module: 'stack' });
  const stackDir = options.stackDir ?? DEFAULT_STACK_DIR;
  const cluster = clusterPathsOf(stackDir);
  mkdirSync(cluster.root, { recursive: true });
  requireTools([{ command: 'redis-cli', hint: 'Debian: apt-get install redis-tools' }]);
  ensureJars(pathsOf(stackDir), log);
  const { state, credentials: initial } = await ensureClusterInitialized(cluster, log);
  const nodes = state.kafka.map((k) => kafkaNodePaths(cluster, k.nodeId));
  const startedKafka = nodes.filter((paths) => startKafka(paths, options.kafkaHeap ?? DEFAULT_KAFKA_HEAP)).length;
  const startedRedis = state.redis.filter((port) => startRedisNode(cluster, port, initial.redisPassword)).length;
  let connection = clusterConnectionOf(cluster, state, initial, stackDir);
  // The audit index's PostgreSQL is the single-node stack's (one server in .stack/postgres, whichever
  // stack started it): a production deployment runs one primary with a standby (docs/deployment.md).
  const [, , postgres] = await Promise.all([
    waitForKafka(connection.kafka, 120_000, nodes, state.kafka.length),
    ensureRedisCluster(state, initial, log, 60_000),
    postgresUp(stackDir, log),
  ]);
  const credentials = addMissingPrincipals(
    { ...(nodes[0] as Paths), credentials: cluster.credentials },
    connection.kafka.brokers.join(','),
    initial,
    log,
  );
  connection = clusterConnectionOf(cluster, state, credentials, stackDir, postgres?.url ?? null);
  writePrivate(cluster.connectionEnv, clusterConnectionEnv(cluster, connection));
  log.info({ kafka: connection.kafka.brokers, startedKafka, startedRedis }, 'local cluster ready');
  return { ...connection, started: { kafka: startedKafka, redis: startedRedis, postgres: postgres?.started ?? false }, connectionEnv: cluster.connectionEnv };
}

/** The clustered stack's connection without starting anything; null if it was never initialized. */
export function readClusterConnection(stackDir = DEFAULT_STACK_DIR): StackConnection | null {
  const cluster = clusterPathsOf(stackDir);
  if (!existsSync(cluster.state) || !existsSync(cluster.credentials)) return null;
  return clusterConnectionOf(cluster, readJson<ClusterState>(cluster.state), readJson<StackCredentials>(cluster.credentials), stackDir);
}

export interface ClusterStatus {
  readonly kafka: ReadonlyArray<{ readonly nodeId: number; readonly port: number; readonly pid: number | null }>;
  readonly redis: ReadonlyArray<{ readonly port: number; readonly pid: number | null }>;
}

export function clusterStatus(stackDir = DEFAULT_STACK_DIR): ClusterStatus | null {
  const cluster = clusterPathsOf(stackDir);
  if (!existsSync(cluster.state)) return null;
  const state = readJson<ClusterState>(cluster.state);
  return {
    kafka: state.kafka.map((k) => {
      const paths = kafkaNodePaths(cluster, k.nodeId);
      return { nodeId: k.nodeId, port: k.client, pid: runningPid(paths.kafkaPid, paths.root) };
    }),
    redis: state.redis.map((port) => {
      const dir = redisNodeDir(cluster, port);
      return { port, pid: runningPid(join(dir, 'redis.pid'), dir) };
    }),
  };
}

/** Stops exactly the cluster's processes that run from its folder; leaves anything else alone. */
export async function clusterStackDown(stackDir = DEFAULT_STACK_DIR): Promise<{ stopped: string[] }> {
  const status = clusterStatus(stackDir);
  if (!status) return { stopped: [] };
  const stopped: string[] = [];
  await Promise.all([
    ...status.kafka.map(async (k) => {
      if (k.pid === null) return;
      await signalAndWait(k.pid, 'SIGTERM', 30_000);
      stopped.push(`kafka-${k.nodeId}`);
    }),
    ...status.redis.map(async (r) => {
      if (r.pid === null) return;
      await signalAndWait(r.pid, 'SIGTERM', 10_000);
      stopped.push(`redis-${r.port}`);
    }),
  ]);
  return { stopped: stopped.sort() };
}

export interface StoppedClusterNode {
  readonly pid: number | null;
  readonly signal: StoppedProcessSignal;
  readonly stoppedInMs: number;
}

/** Stops one Kafka node of the cluster, for fault tests (SIGKILL: a crash; SIGTERM: a controlled shutdown). */
export async function stopClusterKafkaNode(stackDir: string, nodeId: number, signal: StoppedProcessSignal): Promise<StoppedClusterNode> {
  const node = clusterStatus(stackDir)?.kafka.find((k) => k.nodeId === nodeId);
  if (!node) throw new StackError(`no Kafka node ${nodeId} in the cluster of ${stackDir}`);
  const startedAt = Date.now();
  if (node.pid !== null) await signalAndWait(node.pid, signal, 60_000);
  return { pid: node.pid, signal, stoppedInMs: Date.now() - startedAt };
}

/** Starts a stopped Kafka node again and waits until the cluster names all its brokers. */
export async function startClusterKafkaNode(stackDir: string, nodeId: number, kafkaHeap = DEFAULT_KAFKA_HEAP, timeoutMs = 120_000): Promise<{ readyInMs: number }> {
  const cluster = clusterPathsOf(stackDir);
  const connection = readClusterConnection(stackDir);
  if (!connection) throw new StackError(`no cluster is initialized in ${stackDir}`);
  const startedAt = Date.now();
  const state = readJson<ClusterState>(cluster.state);
  const nodes = state.kafka.map((k) => kafkaNodePaths(cluster, k.nodeId));
  startKafka(kafkaNodePaths(cluster, nodeId), kafkaHeap);
  await waitForKafka(connection.kafka, timeoutMs, nodes, state.kafka.length);
  return { readyInMs: Date.now() - startedAt };
}

/** Stops one Redis node of the cluster by port, for fault tests. */
export async function stopClusterRedisNode(stackDir: string, port: number, signal: StoppedProcessSignal): Promise<StoppedClusterNode> {
  const node = clusterStatus(stackDir)?.redis.find((r) => r.port === port);
  if (!node) throw new StackError(`no Redis node on port ${port} in the cluster of ${stackDir}`);
  const startedAt = Date.now();
  if (node.pid !== null) await signalAndWait(node.pid, signal, 10_000);
  return { pid: node.pid, signal, stoppedInMs: Date.now() - startedAt };
}

/** Starts a stopped Redis node again (it rejoins the cluster, as a replica if it was failed over). */
export async function startClusterRedisNode(stackDir: string, port: number, timeoutMs = 20_000): Promise<{ readyInMs: number }> {
  const cluster = clusterPathsOf(stackDir);
  const credentials = readJson<StackCredentials>(cluster.credentials);
  const startedAt = Date.now();
  startRedisNode(cluster, port, credentials.redisPassword);
  await waitForRedis(nodeUrl(port, credentials.redisPassword), timeoutMs);
  return { readyInMs: Date.now() - startedAt };
}
