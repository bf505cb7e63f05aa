import { readFileSync } from 'node:fs';
import type { TestProject } from 'vitest/node';
import { loadSettings } from '../../src/app/settings.js';
import type { SaslMechanism } from '../../src/messaging/kafka-client.js';
import type { StackCredentials } from '../../src/stack/local-stack.js';
import { readClusterConnection } from '../../src/stack/cluster-stack.js';
import { stackDown, stackUp } from '../../src/stack/local-stack.js';
import type { TestStack } from './stack-context.js';

/**
 * One real broker and one real Redis for the whole integration run: the ones named by the
 * environment (KAFKA_BROKERS and REDIS_URL); else containers where a Docker engine answers; else the
 * project's local stack, started here and stopped after if this run started it.
 */
async function fromEnvironment(): Promise<TestStack | null> {
  const brokers = process.env.KAFKA_BROKERS;
  const redisUrl = process.env.REDIS_URL;
  if (!brokers || !redisUrl) return null;
  const username = process.env.KAFKA_SASL_USERNAME;
  const password = process.env.KAFKA_SASL_PASSWORD;
  const credentialsFile = process.env.BCSS_CREDENTIALS_FILE;
  // The local clustered stack's connection.env names its folder: the cluster fault tests may stop its nodes.
  const cluster = readClusterConnection(loadSettings().stackDir);
  const isLocalCluster = cluster !== null && cluster.redisUrl === redisUrl && cluster.kafka.brokers.join(',') === brokers;
  return {
    mode: isLocalCluster ? 'cluster' : 'env',
    kafka: {
      brokers: brokers.split(',').map((b) => b.trim()),
      ...(username && password
        ? { sasl: { mechanism: (process.env.KAFKA_SASL_MECHANISM ?? 'scram-sha-512') as SaslMechanism, username, password } }
        : {}),
    },
    redisUrl,
    credentials: credentialsFile ? (JSON.parse(readFileSync(credentialsFile, 'utf8')) as StackCredentials) : null,
    stackDir: isLocalCluster ? cluster.stackDir : null,
    auditIndexUrl: process.env.BCSS_AUDIT_INDEX_URL ?? null,
  };
}

async function dockerAnswers(): Promise<boolean> {
  if (process.env.BCSS_TEST_NO_DOCKER === '1') return false;
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient();
    return true;
  } catch {
    return false;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const env = await fromEnvironment();
  if (env) {
    project.provide('stack', env);
    return async () => undefined;
  }
  if (await dockerAnswers()) {
    const { startContainerStack } = await import('./container-stack.js');
    const containers = await startContainerStack();
    project.provide('stack', containers.stack);
    return containers.stop;
  }
  const { stackDir, kafkaHeap } = loadSettings();
  const local = await stackUp({ stackDir, kafkaHeap });
  project.provide('stack', {
    mode: 'local',
    kafka: local.kafka,
    redisUrl: local.redisUrl,
    credentials: local.credentials,
    stackDir: local.stackDir,
    auditIndexUrl: local.auditIndexUrl ?? null,
  });
  const startedHere = local.started.kafka || local.started.redis;
  return async () => {
    if (startedHere && process.env.BCSS_TEST_KEEP_STACK !== '1') await stackDown({ stackDir });
  };
}
