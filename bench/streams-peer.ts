import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { PROJECT_ROOT } from '../src/config/project-paths.js';
import type { KafkaConnection } from '../src/messaging/kafka-client.js';
import { procCpuSeconds } from './cpu-accounting.js';

/**
 * The one-hop comparison's peer: a Kafka Streams relay with exactly-once v2 (bench/peer/, a Maven
 * project of one class), run as a JVM of its own. Not part of the switch: it says what the same hop
 * costs with the Java client, which has KIP-447 and batches a commit interval's records into one
 * transaction across partitions.
 */
const PEER_DIR = join(PROJECT_ROOT, 'bench', 'peer');
export const PEER_JAR = join(PEER_DIR, 'target', 'streams-relay.jar');

/** Builds the peer's jar with Maven when it is missing (the first run only; about 30 s). */
export function ensurePeerJar(progress: (text: string) => void): void {
  if (existsSync(PEER_JAR)) return;
  progress('one-hop: building the Kafka Streams peer (mvn -q -f bench/peer/pom.xml package, first run only)');
  const result = spawnSync('mvn', ['-q', '-B', '-f', join(PEER_DIR, 'pom.xml'), 'package'], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  if (result.error || result.status !== 0 || !existsSync(PEER_JAR)) {
    throw new Error(`building the Kafka Streams peer failed (mvn ${result.error ? result.error.message : `exit ${result.status}`}):\n${result.stdout ?? ''}${result.stderr ?? ''}`);
  }
}

export interface StreamsPeerOptions {
  readonly connection: KafkaConnection;
  readonly applicationId: string;
  readonly input: string;
  readonly output: string;
  readonly commitIntervalMs: number;
  readonly readyTimeoutMs?: number;
}

export interface StreamsPeer {
  readonly pid: number;
  /** CPU seconds of the JVM since it started, or null off Linux. */
  cpuSeconds(): number | null;
  stop(): Promise<void>;
}

function saslEnvironment(connection: KafkaConnection): Record<string, string> {
  if (!connection.sasl) return {};
  const mechanism = { 'scram-sha-256': 'SCRAM-SHA-256', 'scram-sha-512': 'SCRAM-SHA-512' }[connection.sasl.mechanism as string];
  if (mechanism === undefined) throw new Error(`the Kafka Streams peer speaks SCRAM only, not ${connection.sasl.mechanism}`);
  return {
    PEER_SASL_MECHANISM: mechanism,
    PEER_SASL_USERNAME: connection.sasl.username,
    PEER_SASL_PASSWORD: connection.sasl.password,
    PEER_SSL: connection.ssl ? 'true' : 'false',
  };
}

/** Starts the peer and resolves once its stream thread has its partitions (Kafka Streams state RUNNING). */
export async function startStreamsPeer(options: StreamsPeerOptions): Promise<StreamsPeer> {
  const stateDir = mkdtempSync(join(tmpdir(), 'bench-peer-'));
  // The password goes through the environment, never the command line (visible to every user in ps).
  const child = spawn('java', ['-Xmx512m', '-jar', PEER_JAR], {
    env: {
      ...process.env,
      ...saslEnvironment(options.connection),
      PEER_BOOTSTRAP: options.connection.brokers.join(','),
      PEER_APPLICATION_ID: options.applicationId,
      PEER_INPUT: options.input,
      PEER_OUTPUT: options.output,
      PEER_COMMIT_INTERVAL_MS: String(options.commitIntervalMs),
      PEER_STATE_DIR: stateDir,
    },
    // Its standard input is its lifeline: the JVM ends when this process does.
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error('the Kafka Streams peer could not be started (java on PATH?)');
  const exit = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.stdin?.end();
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exit;
    clearTimeout(timer);
    rmSync(stateDir, { recursive: true, force: true });
  };
  try {
    await new Promise<void>((resolve, reject) => {
      const timeoutMs = options.readyTimeoutMs ?? 120_000;
      const timer = setTimeout(() => reject(new Error(`the Kafka Streams peer was not running within ${timeoutMs / 1000} s`)), timeoutMs);
      createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
        if (line.trim() === 'RUNNING') {
          clearTimeout(timer);
          resolve();
        }
      });
      void exit.then(() => {
        clearTimeout(timer);
        reject(new Error(`the Kafka Streams peer ended before it was running (exit ${child.exitCode ?? child.signalCode})`));
      });
    });
  } catch (error) {
    await stop();
    throw error;
  }
  return { pid, cpuSeconds: () => procCpuSeconds(pid), stop };
}
