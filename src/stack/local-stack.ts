import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadInstitutions, principalNames } from '../config/load-institutions.js';
import { DEFAULT_CONFIG_DIR, PROJECT_ROOT, STACK_FILES_DIR } from '../config/project-paths.js';
import type { Logger } from '../logging/logger.js';
import { silentLogger } from '../logging/logger.js';
import { createKafkaClient, type KafkaConnection } from '../messaging/kafka-client.js';
import { waitForRedis } from '../store/redis-connection.js';
import { auditIndexKeyPath, postgresDown, postgresPid, postgresUp, readPostgresUrl } from './postgres-stack.js';
import {
  ALTERNATIVES,
  commandExists,
  freePort,
  portIsFree,
  readJson,
  requireTools,
  runningPid,
  secret,
  signalAndWait,
  spawnDetached,
  StackError,
  stopProcess,
  writePrivate,
} from './stack-processes.js';

export { freePort, StackError } from './stack-processes.js';

/**
 * The local real stack: a single-node Apache Kafka (KRaft, broker + controller) run from Maven Central
 * jars with the machine's Java, SASL/SCRAM and ACLs on; and a redis-server with append-only persistence.
 * Everything lives under one folder (default `.stack/`, ignored by git). Idempotent: a second `up`
 * reuses the processes that run.
 */

export interface StackPorts {
  readonly kafka: number;
  readonly controller: number;
  readonly redis: number;
}

export interface StackCredentials {
  readonly admin: { readonly username: string; readonly password: string };
  /** SCRAM password per principal (gateway, institutions, sources, auditors). */
  readonly principals: Readonly<Record<string, string>>;
  readonly redisPassword: string;
}

export interface StackConnection {
  readonly kafka: KafkaConnection;
  readonly redisUrl: string;
  readonly credentials: StackCredentials;
  readonly stackDir: string;
  /** The audit index's database (postgres://…), when the stack runs PostgreSQL. */
  readonly auditIndexUrl?: string | null;
}

export interface StackUpResult extends StackConnection {
  readonly started: { readonly kafka: boolean; readonly redis: boolean; readonly postgres: boolean };
}

const DEFAULT_PORTS: StackPorts = { kafka: 19092, controller: 19093, redis: 16379 };
const ADMIN_USER = 'admin';

/** The stack's folder unless the caller names another (BCSS_STACK_DIR, read by src/app/settings.ts). */
export const DEFAULT_STACK_DIR = resolve(PROJECT_ROOT, '.stack');

/** The broker's -Xmx / -Xms unless the caller names another (BCSS_KAFKA_HEAP). */
export const DEFAULT_KAFKA_HEAP = '768m';

export interface Paths {
  readonly root: string;
  readonly libs: string;
  readonly kafkaData: string;
  readonly redisData: string;
  readonly logs: string;
  readonly state: string;
  readonly credentials: string;
  readonly connectionEnv: string;
  readonly serverProperties: string;
  readonly log4j: string;
  readonly kafkaPid: string;
  readonly redisPid: string;
}

export function pathsOf(root: string): Paths {
  return {
    root,
    libs: join(root, 'kafka-libs'),
    kafkaData: join(root, 'kafka-data'),
    redisData: join(root, 'redis-data'),
    logs: join(root, 'logs'),
    state: join(root, 'stack.json'),
    credentials: join(root, 'credentials.json'),
    connectionEnv: join(root, 'connection.env'),
    serverProperties: join(root, 'server.properties'),
    log4j: join(root, 'log4j.properties'),
    kafkaPid: join(root, 'kafka.pid'),
    redisPid: join(root, 'redis.pid'),
  };
}

export function ensureJars(paths: Paths, log: Logger): void {
  const present = existsSync(paths.libs) && readdirSync(paths.libs).some((name) => name.startsWith('kafka_2.13-'));
  if (present) return;
  if (!commandExists('mvn')) throw new StackError(`Maven is needed once to fetch the Kafka jars and was not found on PATH. ${ALTERNATIVES}`);
  log.info({ into: paths.libs }, 'fetching the Kafka broker jars from Maven Central (first run only)');
  const result = spawnSync(
    'mvn',
    ['-q', '-B', '-f', join(STACK_FILES_DIR, 'pom.xml'), 'dependency:copy-dependencies', `-Dkafka.libs.dir=${paths.libs}`],
    { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' },
  );
  if (result.status !== 0) {
    throw new StackError(`fetching the Kafka jars failed (mvn exit ${result.status}):\n${result.stdout}${result.stderr}`);
  }
}

/** Default ports when free; otherwise free ones, so that two checkouts on one machine never collide. */
async function choosePorts(): Promise<StackPorts> {
  const chosen: Record<keyof StackPorts, number> = { ...DEFAULT_PORTS };
  for (const key of Object.keys(chosen) as Array<keyof StackPorts>) {
    if (!(await portIsFree(chosen[key]))) chosen[key] = await freePort();
  }
  return chosen;
}

/** One KRaft node's place in its quorum: the single-node stack is node 1 of a quorum of one. */
export interface KafkaNodeLayout {
  readonly nodeId: number;
  readonly clientPort: number;
  readonly controllerPort: number;
  /** `id@host:port` of every controller of the quorum. */
  readonly voters: readonly string[];
  readonly dataDir: string;
  /** Copies of each partition, of the internal topics too; 1 on a single node. */
  readonly replicationFactor: number;
  /** Replicas that must have a write before an acks=all producer hears it succeeded. */
  readonly minInsyncReplicas: number;
}

export function serverProperties(node: KafkaNodeLayout, adminPassword: string): string {
  const scramJaas = `org.apache.kafka.common.security.scram.ScramLoginModule required username="${ADMIN_USER}" password="${adminPassword}";`;
  // The controller listener uses PLAIN with a JAAS-defined user: SCRAM credentials live in the
  // metadata log, which the controller must read before it could check them. Loopback only.
  const plainJaas = `org.apache.kafka.common.security.plain.PlainLoginModule required username="${ADMIN_USER}" password="${adminPassword}" user_${ADMIN_USER}="${adminPassword}";`;
  return [
    '# Generated by the local stack launcher. Development stack: loopback only.',
    'process.roles=broker,controller',
    `node.id=${node.nodeId}`,
    `controller.quorum.voters=${node.voters.join(',')}`,
    `listeners=CLIENT://127.0.0.1:${node.clientPort},CONTROLLER://127.0.0.1:${node.controllerPort}`,
    `advertised.listeners=CLIENT://127.0.0.1:${node.clientPort}`,
    'listener.security.protocol.map=CLIENT:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT',
    'inter.broker.listener.name=CLIENT',
    'controller.listener.names=CONTROLLER',
    'sasl.enabled.mechanisms=SCRAM-SHA-512',
    'sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512',
    'sasl.mechanism.controller.protocol=PLAIN',
    `listener.name.client.scram-sha-512.sasl.jaas.config=${scramJaas}`,
    'listener.name.controller.sasl.enabled.mechanisms=PLAIN',
    `listener.name.controller.plain.sasl.jaas.config=${plainJaas}`,
    'authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer',
    'allow.everyone.if.no.acl.found=false',
    `super.users=User:${ADMIN_USER}`,
    `log.dirs=${node.dataDir}`,
    'auto.create.topics.enable=false',
    'num.partitions=1',
    // Topics the switch creates take the broker's defaults (replication factor -1 in admin.ts).
    `default.replication.factor=${node.replicationFactor}`,
    `min.insync.replicas=${node.minInsyncReplicas}`,
    `offsets.topic.replication.factor=${node.replicationFactor}`,
    'offsets.topic.num.partitions=8',
    `transaction.state.log.replication.factor=${node.replicationFactor}`,
    `transaction.state.log.min.isr=${node.minInsyncReplicas}`,
    'transaction.state.log.num.partitions=8',
    'group.initial.rebalance.delay.ms=0',
    // Once a minute, so that the consultation topics' minutes of retention really apply (topology.ts).
    'log.retention.check.interval.ms=60000',
    '',
  ].join('\n');
}

export function log4jProperties(paths: Paths): string {
  return [
    'log4j.rootLogger=INFO, file',
    'log4j.appender.file=org.apache.log4j.RollingFileAppender',
    `log4j.appender.file.File=${join(paths.logs, 'kafka-server.log')}`,
    'log4j.appender.file.MaxFileSize=20MB',
    'log4j.appender.file.MaxBackupIndex=3',
    'log4j.appender.file.layout=org.apache.log4j.PatternLayout',
    'log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n',
    'log4j.logger.kafka.authorizer.logger=WARN',
    'log4j.logger.org.apache.kafka.metadata.authorizer=WARN',
    '',
  ].join('\n');
}

function javaClasspath(paths: Paths): string {
  return `${paths.libs}/*`;
}

export function runJavaTool(paths: Paths, mainClass: string, args: string[]): string {
  const result = spawnSync(
    'java',
    ['-Xmx256m', `-Dlog4j.configuration=file:${paths.log4j}`, '-cp', javaClasspath(paths), mainClass, ...args],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  );
  if (result.status !== 0) {
    throw new StackError(`${mainClass} ${args[0] ?? ''} failed (exit ${result.status}):\n${result.stdout}${result.stderr}`);
  }
  return result.stdout;
}

/** Random passwords for the admin, every principal of config/institutions.yaml, and Redis. */
export function newCredentials(): StackCredentials {
  const institutions = loadInstitutions(DEFAULT_CONFIG_DIR);
  return {
    admin: { username: ADMIN_USER, password: secret() },
    principals: Object.fromEntries(principalNames(institutions).map((name) => [name, secret()])),
    redisPassword: secret(),
  };
}

/** The storage tool's arguments that create the SCRAM users with the metadata log. */
export function scramUserArgs(credentials: StackCredentials): string[] {
  return [
    ['--add-scram', `SCRAM-SHA-512=[name=${ADMIN_USER},password=${credentials.admin.password}]`],
    ...Object.entries(credentials.principals).map(([name, password]) => ['--add-scram', `SCRAM-SHA-512=[name=${name},password=${password}]`]),
  ].flat();
}

interface StackState {
  readonly ports: StackPorts;
  readonly clusterId: string;
}

/** First `up` only: ports, credentials, broker configuration, storage formatted with the SCRAM users. */
async function ensureInitialized(paths: Paths, log: Logger): Promise<{ state: StackState; credentials: StackCredentials }> {
  if (existsSync(paths.state) && existsSync(paths.credentials) && existsSync(join(paths.kafkaData, 'meta.properties'))) {
    return { state: readJson<StackState>(paths.state), credentials: readJson<StackCredentials>(paths.credentials) };
  }
  for (const dir of [paths.kafkaData, paths.redisData, paths.logs]) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
  }
  const ports = await choosePorts();
  const credentials = newCredentials();
  writeFileSync(
    paths.serverProperties,
    serverProperties(
      {
        nodeId: 1,
        clientPort: ports.kafka,
        controllerPort: ports.controller,
        voters: [`1@127.0.0.1:${ports.controller}`],
        dataDir: paths.kafkaData,
        replicationFactor: 1,
        minInsyncReplicas: 1,
      },
      credentials.admin.password,
    ),
    { mode: 0o600 },
  );
  writeFileSync(paths.log4j, log4jProperties(paths));
  const clusterId = runJavaTool(paths, 'kafka.tools.StorageTool', ['random-uuid']).trim();
  log.info({ clusterId, ports }, 'formatting the local Kafka storage');
  runJavaTool(paths, 'kafka.tools.StorageTool', ['format', '-t', clusterId, '-c', paths.serverProperties, ...scramUserArgs(credentials)]);
  const state: StackState = { ports, clusterId };
  writePrivate(paths.credentials, `${JSON.stringify(credentials, null, 2)}\n`);
  writeFileSync(paths.state, `${JSON.stringify(state, null, 2)}\n`);
  return { state, credentials };
}

export function startKafka(paths: Paths, heap: string): boolean {
  if (runningPid(paths.kafkaPid, paths.root)) return false;
  spawnDetached(
    'java',
    [
      `-Xmx${heap}`,
      `-Xms${heap}`,
      '-XX:+UseG1GC',
      '-XX:MaxGCPauseMillis=20',
      '-Djava.awt.headless=true',
      `-Dkafka.logs.dir=${paths.logs}`,
      `-Dlog4j.configuration=file:${paths.log4j}`,
      '-cp',
      javaClasspath(paths),
      'kafka.Kafka',
      paths.serverProperties,
    ],
    paths.root,
    join(paths.logs, 'kafka.out'),
    paths.kafkaPid,
  );
  return true;
}

function redisUrl(ports: StackPorts, credentials: StackCredentials): string {
  return `redis://:${credentials.redisPassword}@127.0.0.1:${ports.redis}`;
}

function startRedis(paths: Paths, ports: StackPorts, credentials: StackCredentials): boolean {
  if (runningPid(paths.redisPid, paths.redisData)) return false;
  // A config file (mode 0600) rather than arguments, so that the password never shows in `ps`.
  const conf = join(paths.root, 'redis.conf');
  writePrivate(
    conf,
    [
      `port ${ports.redis}`,
      'bind 127.0.0.1',
      'protected-mode yes',
      `dir ${paths.redisData}`,
      'appendonly yes',
      'appendfsync everysec',
      'save ""',
      `requirepass ${credentials.redisPassword}`,
      // The directory's buckets stay compact listpacks up to these sizes (a person with several
      // institutions' lines takes a few hundred bytes).
      'hash-max-ziplist-entries 256',
      'hash-max-ziplist-value 512',
      'daemonize no',
      '',
    ].join('\n'),
  );
  spawnDetached('redis-server', [conf], paths.redisData, join(paths.logs, 'redis.log'), paths.redisPid);
  return true;
}

/**
 * Waits until the brokers answer a metadata request naming `brokers` of them (the whole cluster), for at
 * most `timeoutMs`; fails at once when one of the nodes' processes exited.
 */
export async function waitForKafka(connection: KafkaConnection, timeoutMs: number, nodes: readonly Paths[], brokers = 1): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    const exited = nodes.find((paths) => !runningPid(paths.kafkaPid, paths.root));
    if (exited) {
      throw new StackError(`a Kafka node exited during start; see ${join(exited.logs, 'kafka.out')} and kafka-server.log`);
    }
    const client = createKafkaClient({ ...connection, clientId: 'bcss-stack-probe' }, silentLogger);
    try {
      const admin = await client.admin();
      try {
        const cluster = await admin.describeCluster();
        if (cluster.brokers >= brokers) return;
        lastError = new Error(`${cluster.brokers} of ${brokers} brokers registered`);
      } finally {
        await admin.disconnect();
      }
    } catch (error) {
      lastError = error;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new StackError(`the Kafka brokers did not answer a metadata request naming ${brokers} of them within ${timeoutMs} ms`, { cause: lastError });
}

/** Principals added to config/institutions.yaml after the storage was formatted get their SCRAM user now. */
export function addMissingPrincipals(paths: Paths, bootstrap: string, credentials: StackCredentials, log: Logger): StackCredentials {
  const wanted = principalNames(loadInstitutions(DEFAULT_CONFIG_DIR));
  const missing = wanted.filter((name) => !(name in credentials.principals));
  if (missing.length === 0) return credentials;
  const adminConfig = join(paths.root, 'admin-client.properties');
  writePrivate(
    adminConfig,
    [
      'security.protocol=SASL_PLAINTEXT',
      'sasl.mechanism=SCRAM-SHA-512',
      `sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="${ADMIN_USER}" password="${credentials.admin.password}";`,
      '',
    ].join('\n'),
  );
  const principals = { ...credentials.principals };
  for (const name of missing) {
    const password = secret();
    runJavaTool(paths, 'kafka.admin.ConfigCommand', [
      '--bootstrap-server', bootstrap,
      '--command-config', adminConfig,
      '--alter', '--entity-type', 'users', '--entity-name', name,
      '--add-config', `SCRAM-SHA-512=[password=${password}]`,
    ]);
    principals[name] = password;
    log.info({ principal: name }, 'added SCRAM user');
  }
  const updated = { ...credentials, principals };
  writePrivate(paths.credentials, `${JSON.stringify(updated, null, 2)}\n`);
  return updated;
}

function connectionOf(paths: Paths, ports: StackPorts, credentials: StackCredentials, auditIndexUrl = readPostgresUrl(paths.root)): StackConnection {
  return {
    kafka: {
      brokers: [`127.0.0.1:${ports.kafka}`],
      sasl: { mechanism: 'scram-sha-512', username: credentials.admin.username, password: credentials.admin.password },
    },
    redisUrl: redisUrl(ports, credentials),
    credentials,
    stackDir: paths.root,
    auditIndexUrl,
  };
}

function connectionEnv(connection: StackConnection): string {
  const sasl = connection.kafka.sasl;
  return [
    '# Local development stack (generated; credentials are random per checkout). Source it or pass it to --env-file.',
    `KAFKA_BROKERS=${connection.kafka.brokers.join(',')}`,
    `KAFKA_SASL_MECHANISM=${sasl?.mechanism ?? ''}`,
    `KAFKA_SASL_USERNAME=${sasl?.username ?? ''}`,
    `KAFKA_SASL_PASSWORD=${sasl?.password ?? ''}`,
    `REDIS_URL=${connection.redisUrl}`,
    `BCSS_CREDENTIALS_FILE=${join(connection.stackDir, 'credentials.json')}`,
    ...(connection.auditIndexUrl != null
      ? [`BCSS_AUDIT_INDEX_URL=${connection.auditIndexUrl}`, `BCSS_AUDIT_INDEX_KEY_FILE=${auditIndexKeyPath(connection.stackDir)}`]
      : []),
    '',
  ].join('\n');
}

export interface StackUpOptions {
  /** Default {@link DEFAULT_STACK_DIR}. */
  readonly stackDir?: string;
  /** The broker's heap; default {@link DEFAULT_KAFKA_HEAP}. */
  readonly kafkaHeap?: string;
  readonly logger?: Logger;
}

export async function stackUp(options: StackUpOptions = {}): Promise<StackUpResult> {
  const log = (options.logger ?? silentLogger).child({ module: 'stack' });
  const paths = pathsOf(options.stackDir ?? DEFAULT_STACK_DIR);
  mkdirSync(paths.root, { recursive: true });
  requireTools();
  ensureJars(paths, log);
  const { state, credentials: initial } = await ensureInitialized(paths, log);
  const startedKafka = startKafka(paths, options.kafkaHeap ?? DEFAULT_KAFKA_HEAP);
  const startedRedis = startRedis(paths, state.ports, initial);
  let connection = connectionOf(paths, state.ports, initial);
  await Promise.all([waitForKafka(connection.kafka, 60_000, [paths]), waitForRedis(connection.redisUrl, 20_000)]);
  const credentials = addMissingPrincipals(paths, `127.0.0.1:${state.ports.kafka}`, initial, log);
  const postgres = await postgresUp(paths.root, log);
  connection = connectionOf(paths, state.ports, credentials, postgres?.url ?? null);
  writePrivate(paths.connectionEnv, connectionEnv(connection));
  const startedPostgres = postgres?.started ?? false;
  log.info({ kafka: connection.kafka.brokers, startedKafka, startedRedis, startedPostgres }, 'local stack ready');
  return { ...connection, started: { kafka: startedKafka, redis: startedRedis, postgres: startedPostgres } };
}

/** The connection of a stack that was initialized before, without starting anything; null if none. */
export function readStackConnection(stackDir = DEFAULT_STACK_DIR): StackConnection | null {
  const paths = pathsOf(stackDir);
  if (!existsSync(paths.state) || !existsSync(paths.credentials)) return null;
  return connectionOf(paths, readJson<StackState>(paths.state).ports, readJson<StackCredentials>(paths.credentials));
}

export function stackStatus(stackDir = DEFAULT_STACK_DIR): { kafkaPid: number | null; redisPid: number | null; postgresPid: number | null } {
  const paths = pathsOf(stackDir);
  return {
    kafkaPid: runningPid(paths.kafkaPid, paths.root),
    redisPid: runningPid(paths.redisPid, paths.redisData),
    postgresPid: postgresPid(paths.root),
  };
}

/** Stops exactly the processes this stack folder started; leaves anything else alone. */
export async function stackDown(options: { stackDir?: string } = {}): Promise<{ stopped: string[] }> {
  const paths = pathsOf(options.stackDir ?? DEFAULT_STACK_DIR);
  const stopped: string[] = [];
  const kafkaPid = runningPid(paths.kafkaPid, paths.root);
  const redisPid = runningPid(paths.redisPid, paths.redisData);
  await Promise.all([
    kafkaPid ? stopProcess(kafkaPid, 30_000).then(() => stopped.push('kafka')) : undefined,
    redisPid ? stopProcess(redisPid, 10_000).then(() => stopped.push('redis')) : undefined,
    postgresDown(paths.root).then((was) => (was ? stopped.push('postgres') : undefined)),
  ]);
  rmSync(paths.kafkaPid, { force: true });
  rmSync(paths.redisPid, { force: true });
  return { stopped };
}

/** Stops and starts the stack's Redis (a clean SHUTDOWN through SIGTERM), for persistence checks. */
export async function restartStackRedis(stackDir = DEFAULT_STACK_DIR): Promise<void> {
  const paths = pathsOf(stackDir);
  const connection = readStackConnection(stackDir);
  if (!connection) throw new StackError('no local stack is initialized');
  const pid = runningPid(paths.redisPid, paths.redisData);
  if (pid) await stopProcess(pid, 10_000);
  const { ports } = readJson<StackState>(paths.state);
  startRedis(paths, ports, connection.credentials);
  await waitForRedis(connection.redisUrl, 20_000);
}

export interface StoppedProcess {
  /** The pid that was stopped; null when nothing of this stack was running. */
  readonly pid: number | null;
  readonly signal: 'SIGTERM' | 'SIGKILL';
  readonly stoppedInMs: number;
}

function initializedStack(stackDir: string): { paths: Paths; state: StackState; connection: StackConnection } {
  const paths = pathsOf(stackDir);
  const connection = readStackConnection(stackDir);
  if (!connection) throw new StackError(`no local stack is initialized in ${stackDir}`);
  return { paths, state: readJson<StackState>(paths.state), connection };
}

/**
 * Stops the stack's broker, for fault tests: SIGTERM is a controlled shutdown (a clean log), SIGKILL a
 * crash (the broker recovers its logs on the next start). Resolves once the process is gone.
 */
export async function stopStackKafka(stackDir = DEFAULT_STACK_DIR, signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<StoppedProcess> {
  const { paths } = initializedStack(stackDir);
  const startedAt = Date.now();
  const pid = runningPid(paths.kafkaPid, paths.root);
  if (pid) await signalAndWait(pid, signal, 60_000);
  return { pid, signal, stoppedInMs: Date.now() - startedAt };
}

/** Starts the stack's broker again (same ports, same data) and waits until it answers metadata requests. */
export async function startStackKafka(
  stackDir = DEFAULT_STACK_DIR,
  timeoutMs = 120_000,
  kafkaHeap = DEFAULT_KAFKA_HEAP,
): Promise<{ started: boolean; readyInMs: number }> {
  const { paths, connection } = initializedStack(stackDir);
  const startedAt = Date.now();
  const started = startKafka(paths, kafkaHeap);
  await waitForKafka(connection.kafka, timeoutMs, [paths]);
  return { started, readyInMs: Date.now() - startedAt };
}

/** Stops the stack's Redis: SIGTERM saves the append-only file first; SIGKILL may lose its last second. */
export async function stopStackRedis(stackDir = DEFAULT_STACK_DIR, signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<StoppedProcess> {
  const { paths } = initializedStack(stackDir);
  const startedAt = Date.now();
  const pid = runningPid(paths.redisPid, paths.redisData);
  if (pid) await signalAndWait(pid, signal, 10_000);
  return { pid, signal, stoppedInMs: Date.now() - startedAt };
}

/** Starts the stack's Redis again (same port, same data) and waits until it answers PING. */
export async function startStackRedis(stackDir = DEFAULT_STACK_DIR, timeoutMs = 20_000): Promise<{ started: boolean; readyInMs: number }> {
  const { paths, state, connection } = initializedStack(stackDir);
  const startedAt = Date.now();
  const started = startRedis(paths, state.ports, connection.credentials);
  await waitForRedis(connection.redisUrl, timeoutMs);
  return { started, readyInMs: Date.now() - startedAt };
}
