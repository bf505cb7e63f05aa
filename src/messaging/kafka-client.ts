import kafkajs from 'kafkajs';
import type {
  Admin,
  Consumer,
  EachBatchPayload,
  Kafka,
  LogEntry,
  Producer,
  SASLOptions,
  ITopicConfig,
  Transaction,
} from 'kafkajs';
import type { Logger } from '../logging/logger.js';

/**
 * The only module that imports kafkajs. The rest of the code speaks to Kafka through the small
 * interfaces below, so that a move to another KafkaJS-compatible client stays contained here.
 */
const { Kafka: KafkaCtor, logLevel, AclResourceTypes, AclOperationTypes, AclPermissionTypes, ResourcePatternTypes } =
  kafkajs;

export type SaslMechanism = 'scram-sha-512' | 'scram-sha-256' | 'plain';

export interface KafkaConnection {
  readonly brokers: readonly string[];
  readonly sasl?: { readonly mechanism: SaslMechanism; readonly username: string; readonly password: string };
  readonly ssl?: boolean;
  readonly clientId?: string;
}

export interface OutMessage {
  readonly key?: string | Buffer | null;
  /** null is a tombstone (compacted topics forget the key). */
  readonly value: Buffer | null;
  readonly headers?: Readonly<Record<string, string>>;
  readonly partition?: number;
}

export interface InMessage {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Readonly<Record<string, string>>;
  readonly timestamp: string;
}

export interface TopicSpec {
  readonly topic: string;
  readonly partitions: number;
  readonly config?: Readonly<Record<string, string>>;
}

export type AclOperation = 'READ' | 'WRITE' | 'DESCRIBE' | 'CREATE' | 'ALL';
export type AclResource = 'TOPIC' | 'GROUP' | 'TRANSACTIONAL_ID' | 'CLUSTER';

export interface AclGrant {
  readonly principal: string;
  readonly resource: AclResource;
  readonly name: string;
  readonly pattern: 'LITERAL' | 'PREFIXED';
  readonly operation: AclOperation;
}

/** Kafka's error types that mean "you may not": they never become retries. */
const ACCESS_DENIED = new Set([
  'TOPIC_AUTHORIZATION_FAILED',
  'GROUP_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
  'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
  'SASL_AUTHENTICATION_FAILED',
]);

export class MessagingError extends Error {
  override readonly name = 'MessagingError';
  constructor(
    /** Kafka's error type (e.g. TOPIC_AUTHORIZATION_FAILED) or the kafkajs error name. */
    readonly type: string,
    readonly retriable: boolean,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  get accessDenied(): boolean {
    return ACCESS_DENIED.has(this.type);
  }
}

/** Finds Kafka's own error type inside kafkajs's wrappers (retries wrap the protocol error). */
export function toMessagingError(error: unknown): MessagingError {
  if (error instanceof MessagingError) return error;
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current && typeof current === 'object'; depth++) {
    const e = current as { type?: unknown; name?: unknown; retriable?: unknown; message?: unknown; cause?: unknown; originalError?: unknown };
    if (typeof e.type === 'string') {
      return new MessagingError(e.type, e.retriable === true, String(e.message), { cause: error });
    }
    if (e.name === 'KafkaJSSASLAuthenticationError') {
      return new MessagingError('SASL_AUTHENTICATION_FAILED', false, String(e.message), { cause: error });
    }
    current = e.originalError ?? e.cause;
  }
  const e = error as { name?: unknown; message?: unknown; retriable?: unknown } | undefined;
  return new MessagingError(
    typeof e?.name === 'string' ? e.name : 'UNKNOWN',
    e?.retriable === true,
    typeof e?.message === 'string' ? e.message : String(error),
    { cause: error },
  );
}

async function translated<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    throw toMessagingError(error);
  }
}

/**
 * Repeats an operation while `shouldRetry` says the failure is passing, with a growing pause. Reads
 * that are safe to repeat use the default: any retriable Kafka error (a leader moving, metadata not yet
 * current).
 */
export async function retrying<T>(
  operation: () => Promise<T>,
  { attempts = 8, shouldRetry = (error: MessagingError) => error.retriable } = {},
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation();
    } catch (error) {
      const failure = toMessagingError(error);
      if (!shouldRetry(failure) || attempt >= attempts) throw failure;
      await new Promise((r) => setTimeout(r, 20 * 2 ** Math.min(attempt, 6)));
    }
  }
}

function kafkajsLogCreator(logger: Logger) {
  const child = logger.child({ module: 'kafkajs' });
  return () =>
    ({ level, log }: LogEntry) => {
      const { message, ...extra } = log;
      if (level === logLevel.ERROR) child.error(extra, message);
      else if (level === logLevel.WARN) child.warn(extra, message);
      else if (level === logLevel.INFO) child.debug(extra, message);
      else child.trace(extra, message);
    };
}

function toKafkaHeaders(headers?: Readonly<Record<string, string>>): Record<string, string> | undefined {
  return headers ? { ...headers } : undefined;
}

function fromKafkaHeaders(headers: Record<string, unknown> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!headers) return out;
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || value === null) continue;
    out[name] = Buffer.isBuffer(value) ? value.toString('utf8') : Array.isArray(value) ? String(value[0]) : String(value);
  }
  return out;
}

export interface KafkaAdmin {
  describeCluster(): Promise<{ clusterId: string; brokers: number; controller: number | null }>;
  listTopics(): Promise<string[]>;
  /** Creates the topics that do not exist yet; never relies on auto-creation. Returns the names created. */
  ensureTopics(specs: readonly TopicSpec[]): Promise<string[]>;
  deleteTopics(topics: readonly string[]): Promise<void>;
  createAcls(grants: readonly AclGrant[]): Promise<void>;
  /** Latest (high-watermark) offsets per partition. */
  topicEndOffsets(topic: string): Promise<Array<{ partition: number; offset: string }>>;
  /** Low (log start) and high (high watermark) offsets per partition. */
  topicOffsets(topic: string): Promise<Array<{ partition: number; low: string; high: string }>>;
  disconnect(): Promise<void>;
}

export interface MessageProducer {
  send(topic: string, messages: readonly OutMessage[]): Promise<void>;
  disconnect(): Promise<void>;
}

export interface BatchContext {
  readonly topic: string;
  readonly partition: number;
  readonly messages: readonly InMessage[];
  heartbeat(): Promise<void>;
  isRunning(): boolean;
}

export interface ConsumerOptions {
  readonly groupId: string;
  readonly topics: ReadonlyArray<string | RegExp>;
  readonly fromBeginning?: boolean;
  /** Defaults to true: nobody in the switch reads uncommitted transactional data. */
  readonly readCommitted?: boolean;
  readonly partitionsConsumedConcurrently?: number;
}

export interface MessageConsumer {
  /**
   * Runs `onBatch` for each fetched batch; offsets are committed after it resolves (at-least-once).
   * Transactional consume–transform–produce uses `runTransactional` instead.
   */
  run(onBatch: (batch: BatchContext) => Promise<void>): Promise<void>;
  /** Moves a partition's position (after `run`), e.g. to offsets captured before a request was sent. */
  seek(topic: string, partition: number, offset: string): void;
  disconnect(): Promise<void>;
}

export interface KafkaClient {
  readonly connection: KafkaConnection;
  admin(): Promise<KafkaAdmin>;
  /**
   * Idempotent by default. Kafka checks an idempotent producer's right to write (any WRITE ACL, or
   * IDEMPOTENT_WRITE on the cluster) when it starts, before any topic is named.
   */
  producer(options?: { idempotent?: boolean }): Promise<MessageProducer>;
  consumer(options: ConsumerOptions): Promise<MessageConsumer>;
  /** Escape hatch for the transactional pipeline in this folder; not for use outside src/messaging. */
  readonly raw: Kafka;
}

export function createKafkaClient(connection: KafkaConnection, logger: Logger): KafkaClient {
  const kafka = new KafkaCtor({
    clientId: connection.clientId ?? 'bcss-gateway',
    brokers: [...connection.brokers],
    ssl: connection.ssl ?? false,
    ...(connection.sasl ? { sasl: { ...connection.sasl } as SASLOptions } : {}),
    connectionTimeout: 5_000,
    authenticationTimeout: 5_000,
    retry: { retries: 5, initialRetryTime: 200, maxRetryTime: 5_000 },
    logLevel: logLevel.INFO,
    logCreator: kafkajsLogCreator(logger),
  });

  return {
    connection,
    raw: kafka,
    async admin() {
      const admin = kafka.admin();
      await translated(() => admin.connect());
      return wrapAdmin(admin);
    },
    async producer(options) {
      const idempotent = options?.idempotent ?? true;
      const producer = kafka.producer({
        idempotent,
        ...(idempotent ? { maxInFlightRequests: 1 } : {}),
        allowAutoTopicCreation: false,
      });
      await translated(() => producer.connect());
      return wrapProducer(producer);
    },
    async consumer(options) {
      const consumer = kafka.consumer({
        groupId: options.groupId,
        readUncommitted: options.readCommitted === false,
        allowAutoTopicCreation: false,
      });
      await translated(() => consumer.connect());
      for (const topic of options.topics) {
        await translated(() => consumer.subscribe({ topic, fromBeginning: options.fromBeginning ?? false }));
      }
      return wrapConsumer(consumer, options);
    },
  };
}

function wrapAdmin(admin: Admin): KafkaAdmin {
  return {
    describeCluster: () =>
      translated(async () => {
        const cluster = await admin.describeCluster();
        return { clusterId: cluster.clusterId, brokers: cluster.brokers.length, controller: cluster.controller };
      }),
    listTopics: () => translated(() => admin.listTopics()),
    ensureTopics: (specs) =>
      translated(async () => {
        const existing = new Set(await admin.listTopics());
        const missing = specs.filter((spec) => !existing.has(spec.topic));
        if (missing.length === 0) return [];
        const topics: ITopicConfig[] = missing.map((spec) => ({
          topic: spec.topic,
          numPartitions: spec.partitions,
          replicationFactor: -1,
          configEntries: Object.entries(spec.config ?? {}).map(([name, value]) => ({ name, value })),
        }));
        try {
          await admin.createTopics({ topics, waitForLeaders: true });
        } catch (error) {
          // A concurrent creator won the race: fine, as long as the topics now exist.
          const now = new Set(await admin.listTopics());
          if (!missing.every((spec) => now.has(spec.topic))) throw error;
        }
        return missing.map((spec) => spec.topic);
      }),
    deleteTopics: (topics) => translated(() => admin.deleteTopics({ topics: [...topics] })),
    createAcls: (grants) =>
      translated(async () => {
        await admin.createAcls({
          acl: grants.map((grant) => ({
            resourceType: AclResourceTypes[grant.resource],
            resourceName: grant.name,
            resourcePatternType: ResourcePatternTypes[grant.pattern],
            principal: grant.principal,
            host: '*',
            operation: AclOperationTypes[grant.operation],
            permissionType: AclPermissionTypes.ALLOW,
          })),
        });
      }),
    topicEndOffsets: (topic) =>
      retrying(async () =>
        (await admin.fetchTopicOffsets(topic)).map((p) => ({ partition: p.partition, offset: p.high })),
      ),
    topicOffsets: (topic) =>
      retrying(async () =>
        (await admin.fetchTopicOffsets(topic)).map((p) => ({ partition: p.partition, low: p.low, high: p.high })),
      ),
    disconnect: () => admin.disconnect(),
  };
}

export function toKafkaMessages(messages: readonly OutMessage[]) {
  return messages.map((m) => ({
    key: m.key ?? null,
    value: m.value,
    headers: toKafkaHeaders(m.headers),
    ...(m.partition === undefined ? {} : { partition: m.partition }),
  }));
}

function wrapProducer(producer: Producer): MessageProducer {
  return {
    send: (topic, messages) =>
      translated(async () => {
        await producer.send({ topic, messages: toKafkaMessages(messages), acks: -1 });
      }),
    disconnect: () => producer.disconnect(),
  };
}

export function toInMessages(payload: Pick<EachBatchPayload, 'batch'>): InMessage[] {
  const { topic, partition, messages } = payload.batch;
  return messages.map((m) => ({
    topic,
    partition,
    offset: m.offset,
    key: m.key,
    value: m.value,
    headers: fromKafkaHeaders(m.headers as Record<string, unknown> | undefined),
    timestamp: m.timestamp,
  }));
}

function wrapConsumer(consumer: Consumer, options: ConsumerOptions): MessageConsumer {
  return {
    run: (onBatch) =>
      translated(() =>
        consumer.run({
          partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 1,
          eachBatchAutoResolve: true,
          eachBatch: async (payload) => {
            await onBatch({
              topic: payload.batch.topic,
              partition: payload.batch.partition,
              messages: toInMessages(payload),
              heartbeat: payload.heartbeat,
              isRunning: () => payload.isRunning() && !payload.isStale(),
            });
          },
        }),
      ),
    seek: (topic, partition, offset) => consumer.seek({ topic, partition, offset }),
    disconnect: () => consumer.disconnect(),
  };
}

export type { Transaction };
