import { cpus, release, totalmem, type } from 'node:os';
import { createRuntime, RuntimeError, type Runtime } from '../src/app/runtime.js';
import type { Logger } from '../src/logging/logger.js';
import type { KafkaAdmin } from '../src/messaging/kafka-client.js';
import { stackStatus } from '../src/stack/local-stack.js';

/**
 * The benchmark starts from a running stack and never starts one: a measurement must not include a
 * broker warming up, and starting the stack is `npm run stack:up`'s job. The connection is the one
 * `npm start` would use (KAFKA_BROKERS + REDIS_URL, else the local stack's admin credentials).
 */
export class BenchSetupError extends Error {
  override readonly name = 'BenchSetupError';
}

const NO_STACK = 'no running stack: start it with npm run stack:up (or set KAFKA_BROKERS and REDIS_URL)';

export async function connectRuntime(logger: Logger): Promise<Runtime> {
  let runtime: Runtime;
  try {
    runtime = await createRuntime({ logger });
  } catch (error) {
    if (error instanceof RuntimeError) throw new BenchSetupError(`${NO_STACK} (${error.message})`);
    throw error;
  }
  if (runtime.source === 'local stack') {
    const { kafkaPid, redisPid } = stackStatus();
    if (kafkaPid === null || redisPid === null) {
      const down = [kafkaPid === null ? 'Kafka' : null, redisPid === null ? 'Redis' : null].filter(Boolean).join(' and ');
      throw new BenchSetupError(`the local stack is initialized but ${down} is not running: start it with npm run stack:up`);
    }
  }
  return runtime;
}

/** Fails fast (instead of kafkajs's retries) when the broker or Redis does not answer. */
export async function probeStack(runtime: Runtime, timeoutMs = 20_000): Promise<{ redisVersion: string }> {
  const within = <T>(what: string, promise: Promise<T>): Promise<T> => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new BenchSetupError(`${what} did not answer within ${timeoutMs / 1000} s: ${NO_STACK}`)), timeoutMs);
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  };
  const redis = runtime.redis('background');
  try {
    const admin = await within('Kafka', runtime.client.admin());
    try {
      await within('Kafka', admin.describeCluster());
    } finally {
      await admin.disconnect();
    }
    const info = await within('Redis', redis.info('server'));
    return { redisVersion: /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown' };
  } finally {
    redis.disconnect();
  }
}

export interface MachineInfo {
  readonly cpus: number;
  readonly cpuModel: string;
  readonly memoryGiB: number;
  readonly os: string;
  readonly node: string;
  readonly redis: string;
  readonly stack: Runtime['source'];
  /** Everything below runs on these same cores: broker, Redis, gateway, simulators and load generator. */
  readonly sharedCores: true;
}

export function machineInfo(runtime: Runtime, redisVersion: string): MachineInfo {
  const list = cpus();
  return {
    cpus: list.length,
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    os: `${type()} ${release()}`,
    node: process.version,
    redis: redisVersion,
    stack: runtime.source,
    sharedCores: true,
  };
}

/**
 * Just created, partitions have no leader the broker will name for a moment — longer on a machine
 * busy with other work: waits until every topic answers an offsets request, or the first metadata
 * request of a worker fails.
 */
export async function waitForTopics(admin: KafkaAdmin, topics: readonly string[], timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const topic of topics) {
    for (;;) {
      try {
        await admin.topicOffsets(topic);
        break;
      } catch (error) {
        if (Date.now() > deadline) throw error;
      }
    }
  }
}
