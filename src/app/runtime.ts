import { join } from 'node:path';
import { loadAuthorizations } from '../config/load-authorizations.js';
import { loadCatalogue } from '../config/load-catalogue.js';
import { SCHEMA_DIR } from '../config/project-paths.js';
import type { Catalogue } from '../domain/catalogue.js';
import type { Deliberation } from '../domain/deliberation.js';
import { loadInstitutions, type Institutions } from '../config/load-institutions.js';
import type { Logger } from '../logging/logger.js';
import { loadAvroCodec, type AvroCodec } from '../messaging/avro-codec.js';
import { createKafkaClient, type KafkaClient, type KafkaConnection } from '../messaging/kafka-client.js';
import { topicNames, type TopicNames } from '../messaging/topics.js';
import { readStackConnection, stackUp } from '../stack/local-stack.js';
import { principalConnection } from '../stack/principal-connection.js';
import { payloadRecordNames } from '../config/payload-records.js';
import { createDirectoryStore, type DirectoryStore } from '../store/directory-store.js';
import { redisKeys } from '../store/keys.js';
import { createRedisClient, type RedisClient } from '../store/redis-connection.js';
import { environmentKafkaConnection, loadSettings, settingsLogger, type Settings } from './settings.js';

/**
 * Where the CLI and the gateway find Kafka and Redis: the settings' KAFKA_BROKERS and REDIS_URL when
 * set; else the local stack — started if `startStack` (npm start), or only read if already
 * initialized (other commands).
 */
export interface Runtime {
  /** The environment as read at creation (src/app/settings.ts). */
  readonly settings: Settings;
  readonly logger: Logger;
  readonly kafka: KafkaConnection;
  readonly client: KafkaClient;
  readonly codec: AvroCodec;
  readonly topics: TopicNames;
  readonly institutions: Institutions;
  /** The service catalogue (checked against the payload schemas) and the deliberations, validated at start. */
  readonly catalogue: Catalogue;
  readonly deliberations: readonly Deliberation[];
  readonly redisUrl: string;
  redis(role: 'request-path' | 'background'): RedisClient;
  directoryStore(redis: RedisClient): DirectoryStore;
  readonly source: 'environment' | 'local stack';
  /** True when this process started the local stack (so it stops it when it ends). */
  readonly startedStack: boolean;
  /** Service → full name of its payload record. */
  readonly payloadRecords: ReadonlyMap<string, string>;
  /** A client connected as another principal (gateway, source-onss, vaph, ...): see principal-connection.ts. */
  clientFor(principal: string): KafkaClient;
  readonly redisPrefix: string;
}

export class RuntimeError extends Error {
  override readonly name = 'RuntimeError';
}

export interface RuntimeOptions {
  /** Start the local stack when the settings name no broker (npm start); otherwise only read it. */
  readonly startStack?: boolean;
  /** Default: as the settings say, level `info`. */
  readonly logger?: Logger;
  /** Default: read from the environment now. */
  readonly settings?: Settings;
}

export async function createRuntime(options: RuntimeOptions = {}): Promise<Runtime> {
  const settings = options.settings ?? loadSettings();
  const logger = options.logger ?? settingsLogger(settings, { level: 'info' });
  let kafka: KafkaConnection;
  let redisUrl: string;
  let source: Runtime['source'];
  let startedStack = false;
  const environment = environmentKafkaConnection(settings.kafka);
  if (environment && settings.redisUrl !== null) {
    kafka = environment;
    redisUrl = settings.redisUrl;
    source = 'environment';
  } else if (environment || settings.redisUrl !== null) {
    throw new RuntimeError('set both KAFKA_BROKERS and REDIS_URL, or neither (to use the local stack)');
  } else {
    const up = options.startStack ? await stackUp({ logger, stackDir: settings.stackDir, kafkaHeap: settings.kafkaHeap }) : null;
    const stack = up ?? readStackConnection(settings.stackDir);
    startedStack = up !== null && (up.started.kafka || up.started.redis);
    if (!stack) {
      throw new RuntimeError('no Kafka configured: set KAFKA_BROKERS and REDIS_URL, or start the local stack with `npm run stack:up`');
    }
    kafka = stack.kafka;
    redisUrl = stack.redisUrl;
    source = 'local stack';
  }
  const configDir = settings.configDir;
  // Configuration is read and validated once, before anything connects: a bad file stops the start
  // with its name, the path inside it and the reason (ConfigError).
  const catalogue = loadCatalogue(join(configDir, 'catalogue'), { schemasDir: SCHEMA_DIR });
  const deliberations = loadAuthorizations(join(configDir, 'authorizations'), catalogue);
  const institutions = loadInstitutions(configDir);
  // A service whose source has no topics would stop the request pipeline at its first forward.
  const sources = new Set(institutions.sources.map((s) => s.id));
  for (const service of catalogue.services.values()) {
    if (!sources.has(service.source)) {
      throw new RuntimeError(`service ${service.id}: its source "${service.source}" is not listed under sources in institutions.yaml`);
    }
  }
  return {
    settings,
    logger,
    kafka,
    client: createKafkaClient(kafka, logger),
    codec: loadAvroCodec(SCHEMA_DIR),
    topics: topicNames(settings.topicPrefix),
    institutions,
    catalogue,
    deliberations,
    redisUrl,
    redis: (role) => createRedisClient(redisUrl, { role, logger }),
    directoryStore: (redis) => createDirectoryStore(redis, redisKeys(settings.redisPrefix)),
    source,
    startedStack,
    payloadRecords: payloadRecordNames(catalogue, SCHEMA_DIR),
    clientFor: (principal) => createKafkaClient(principalConnection(principal, { settings }), logger),
    redisPrefix: settings.redisPrefix,
  };
}
