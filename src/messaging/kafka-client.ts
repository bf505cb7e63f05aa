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
const { Kafka: KafkaCtor, logLevel, AclResourceTypes, AclOperationTypes, AclPermissionTypes, ResourcePatternTypes, ConfigResourceTypes } =
  kafkajs;

/** DYNAMIC_TOPIC_CONFIG in DescribeConfigs: a value set on the topic itself, not a broker default. */
const TOPIC_CONFIG_SOURCE = 1;

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

export interface TopicState {
  readonly partitions: number;
  /** Values set on the topic itself (DescribeConfigs source DYNAMIC_TOPIC_CONFIG). */
  readonly config: Readonly<Record<string, string>>;
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

export interface AclGrantFilter {
  readonly principal?: string;
  readonly resource?: AclResource;
  readonly name?: string;
  readonly pattern?: AclGrant['pattern'];
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

/**
 * Warnings kafkajs prints for choices made on purpose: bounded retries keep a transactional producer
 * from hanging forever (the transaction's abort and Kafka's redelivery give exactly-once instead), and
 * the default partitioner is the one every component uses.
 */
const EXPECTED_WARNINGS = [/^Limiting retries for the idempotent producer/, /^KafkaJS v2\.0\.0 switched default partitioner/];

function kafkajsLogCreator(logger: Logger) {
  const child = logger.child({ module: 'kafkajs' });
  return () =>
    ({ level, log }: LogEntry) => {
      const { message, ...extra } = log;
      if (level === logLevel.WARN && EXPECTED_WARNINGS.some((w) => w.test(message))) child.debug(extra, message);
      else if (level === logLevel.ERROR) child.error(extra, message);
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
  /** Partition count and the values set on each topic itself (not broker defaults), for existing topics. */
  describeTopics(topics: readonly string[]): Promise<Map<string, TopicState>>;
  /**
   * Sets a topic's own configuration to exactly `config`: AlterConfigs (kafkajs has no incremental
   * variant) replaces every value set on the topic, so pass the values to keep as well.
   */
  replaceTopicConfig(topic: string, config: Readonly<Record<string, string>>): Promise<void>;
  createAcls(grants: readonly AclGrant[]): Promise<void>;
  /**
   * The ALLOW entries a filter matches (an omitted field matches anything), as far as AclGrant can
   * express them: entries of other operations or resource types are left out.
   */
  describeAcls(filter?: AclGrantFilter): Promise<AclGrant[]>;
  /** Deletes exactly these entries (no wildcard); returns how many existed. */
  deleteAcls(grants: readonly AclGrant[]): Promise<number>;
  /** Latest (high-watermark) offsets per partition. */
  topicEndOffsets(topic: string): Promise<Array<{ partition: number; offset: string }>>;
  /** Low (log start) and high (high watermark) offsets per partition. */
  topicOffsets(topic: string): Promise<Array<{ partition: number; low: string; high: string }>>;
  /**
   * How far a consumer group is behind, per topic: the sum over partitions of (high watermark − the
   * group's committed offset; the log start when it has none). Transaction markers count too, so an
   * idle transactional topic shows a lag of at most one per partition.
   */
  groupLag(groupId: string): Promise<Map<string, number>>;
  disconnect(): Promise<void>;
}

export interface MessageProducer {
  send(topic: string, messages: readonly OutMessage[]): Promise<void>;
  disconnect(): Promise<void>;
}

export interface TransactionalProducer {
  sendAtomically(records: ReadonlyArray<OutMessage & { readonly topic: string }>): Promise<void>;
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
  /**
   * Writes to several topics all at once or not at all (one Kafka transaction per call), for producers
   * that consume nothing; consume–transform–produce uses the transactional pipeline instead.
   */
  transactionalProducer(transactionalId: string): Promise<TransactionalProducer>;
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
    async transactionalProducer(transactionalId) {
      const producer = kafka.producer({
        transactionalId,
        idempotent: true,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
      });
      await translated(() => producer.connect());
      return {
        sendAtomically: (records) =>
          translated(async () => {
            const byTopic = new Map<string, OutMessage[]>();
            for (const { topic, ...message } of records) byTopic.set(topic, [...(byTopic.get(topic) ?? []), message]);
            const transaction = await producer.transaction();
            try {
              await transaction.sendBatch({
                topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages: toKafkaMessages(messages) })),
                acks: -1,
              });
              await transaction.commit();
            } catch (error) {
              await transaction.abort().catch(() => undefined);
              throw error;
            }
          }),
        disconnect: () => producer.disconnect(),
      };
    },
    async consumer(options) {
      const consumer = kafka.consumer({
        groupId: options.groupId,
        readUncommitted: options.readCommitted === false,
        allowAutoTopicCreation: false,
      });
      await translated(() => consumer.connect());
      for (const topic of options.topics) {
        // A topic created a moment ago may not be served yet (UNKNOWN_TOPIC_OR_PARTITION, retriable).
        await retrying(() => consumer.subscribe({ topic, fromBeginning: options.fromBeginning ?? false }));
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
        const configs = (list: readonly TopicSpec[]): ITopicConfig[] =>
          list.map((spec) => ({
            topic: spec.topic,
            numPartitions: spec.partitions,
            replicationFactor: -1,
            configEntries: Object.entries(spec.config ?? {}).map(([name, value]) => ({ name, value })),
          }));
        // Just after creation the broker may not serve the new partitions' metadata yet ("does not host
        // this topic-partition"), and a concurrent creator may win the race: retry what is still not
        // listed, for a bounded time, until every topic exists.
        const deadline = Date.now() + 30_000;
        let remaining: readonly TopicSpec[] = missing;
        for (;;) {
          try {
            await admin.createTopics({ topics: configs(remaining), waitForLeaders: true });
            break;
          } catch (error) {
            const now = new Set(await admin.listTopics());
            remaining = remaining.filter((spec) => !now.has(spec.topic));
            if (remaining.length === 0) break;
            const failure = toMessagingError(error);
            if ((!failure.retriable && failure.type !== 'TOPIC_ALREADY_EXISTS') || Date.now() > deadline) throw error;
            await new Promise((resolve) => setTimeout(resolve, 250));
          }
        }
        // Created is not yet served: a client subscribing at once could still be told the broker "does
        // not host this topic-partition". Done when the metadata names a leader for every partition.
        const names = missing.map((spec) => spec.topic);
        for (;;) {
          try {
            const { topics } = await admin.fetchTopicMetadata({ topics: names });
            const served = topics.every(
              (t) => t.partitions.length === (missing.find((spec) => spec.topic === t.name)?.partitions ?? 0) && t.partitions.every((p) => p.leader >= 0),
            );
            if (served && topics.length === names.length) break;
          } catch (error) {
            if (!toMessagingError(error).retriable || Date.now() > deadline) throw error;
          }
          if (Date.now() > deadline) throw new MessagingError('TOPIC_NOT_SERVED', true, `the new topics are not served within 30 s: ${names.join(', ')}`);
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        return names;
      }),
    deleteTopics: (topics) => translated(() => admin.deleteTopics({ topics: [...topics] })),
    describeTopics: (topics) =>
      translated(async () => {
        const states = new Map<string, TopicState>();
        if (topics.length === 0) return states;
        const existing = new Set(await admin.listTopics());
        const names = topics.filter((t) => existing.has(t));
        if (names.length === 0) return states;
        const [metadata, described] = await Promise.all([
          admin.fetchTopicMetadata({ topics: names }),
          admin.describeConfigs({ includeSynonyms: false, resources: names.map((name) => ({ type: ConfigResourceTypes.TOPIC, name })) }),
        ]);
        const partitions = new Map(metadata.topics.map((t) => [t.name, t.partitions.length]));
        for (const resource of described.resources) {
          const config: Record<string, string> = {};
          for (const entry of resource.configEntries) {
            if (entry.configSource === TOPIC_CONFIG_SOURCE && entry.configValue !== null) config[entry.configName] = entry.configValue;
          }
          states.set(resource.resourceName, { partitions: partitions.get(resource.resourceName) ?? 0, config });
        }
        return states;
      }),
    replaceTopicConfig: (topic, config) =>
      translated(async () => {
        await admin.alterConfigs({
          validateOnly: false,
          resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries: Object.entries(config).map(([name, value]) => ({ name, value })) }],
        });
      }),
    createAcls: (grants) =>
      translated(async () => {
        await admin.createAcls({
          acl: grants.map(toKafkaAcl),
        });
      }),
    describeAcls: (filter = {}) =>
      translated(async () => {
        const response = await admin.describeAcls({
          resourceType: filter.resource ? AclResourceTypes[filter.resource] : AclResourceTypes.ANY,
          resourcePatternType: filter.pattern ? ResourcePatternTypes[filter.pattern] : ResourcePatternTypes.ANY,
          operation: AclOperationTypes.ANY,
          permissionType: AclPermissionTypes.ALLOW,
          ...(filter.name === undefined ? {} : { resourceName: filter.name }),
          ...(filter.principal === undefined ? {} : { principal: filter.principal }),
        });
        const grants: AclGrant[] = [];
        for (const resource of response.resources) {
          const type = nameOf(AclResourceTypes, resource.resourceType, ACL_RESOURCES);
          const pattern = nameOf(ResourcePatternTypes, resource.resourcePatternType, ACL_PATTERNS);
          if (!type || !pattern) continue;
          for (const acl of resource.acls) {
            const operation = nameOf(AclOperationTypes, acl.operation, ACL_OPERATIONS);
            if (operation) grants.push({ principal: acl.principal, resource: type, name: resource.resourceName, pattern, operation });
          }
        }
        return grants;
      }),
    deleteAcls: (grants) =>
      translated(async () => {
        if (grants.length === 0) return 0;
        const response = await admin.deleteAcls({
          filters: grants.map(toKafkaAcl),
        });
        return response.filterResponses.reduce((sum, r) => sum + r.matchingAcls.length, 0);
      }),
    topicEndOffsets: (topic) =>
      retrying(async () =>
        (await admin.fetchTopicOffsets(topic)).map((p) => ({ partition: p.partition, offset: p.high })),
      ),
    topicOffsets: (topic) =>
      retrying(async () =>
        (await admin.fetchTopicOffsets(topic)).map((p) => ({ partition: p.partition, low: p.low, high: p.high })),
      ),
    groupLag: (groupId) =>
      translated(async () => {
        const committed = await admin.fetchOffsets({ groupId });
        const lag = new Map<string, number>();
        for (const { topic, partitions } of committed) {
          const ends = await admin.fetchTopicOffsets(topic);
          let behind = 0;
          for (const end of ends) {
            const at = partitions.find((p) => p.partition === end.partition)?.offset;
            const from = at === undefined || at === '-1' ? Number(end.low) : Number(at);
            behind += Math.max(0, Number(end.high) - from);
          }
          lag.set(topic, behind);
        }
        return lag;
      }),
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

/** One ALLOW entry as kafkajs names it, for creating and for deleting exactly that entry. */
function toKafkaAcl(grant: AclGrant) {
  return {
    resourceType: AclResourceTypes[grant.resource],
    resourceName: grant.name,
    resourcePatternType: ResourcePatternTypes[grant.pattern],
    principal: grant.principal,
    host: '*',
    operation: AclOperationTypes[grant.operation],
    permissionType: AclPermissionTypes.ALLOW,
  };
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

// Records, so that a member added to a union has to be added here too.
const ACL_OPERATIONS: Readonly<Record<AclOperation, true>> = { READ: true, WRITE: true, DESCRIBE: true, CREATE: true, ALL: true };
const ACL_RESOURCES: Readonly<Record<AclResource, true>> = { TOPIC: true, GROUP: true, TRANSACTIONAL_ID: true, CLUSTER: true };
const ACL_PATTERNS: Readonly<Record<AclGrant['pattern'], true>> = { LITERAL: true, PREFIXED: true };

/** The name of a kafkajs enum value, when it is one of `names`. */
function nameOf<N extends string>(enumeration: object, value: number, names: Readonly<Record<N, true>>): N | undefined {
  return (Object.keys(names) as N[]).find((name) => (enumeration as Record<string, unknown>)[name] === value);
}

/**
 * Reads the one partition of `topic` that holds every message written with `key`, from its beginning
 * (or from the first message stamped at or after `fromTimestamp`) to the end it had when the read
 * began, then stops; `onBatch` gets that partition's messages in order, each once.
 *
 * Which partition: Kafka's default partitioner, murmur2 of the key's bytes modulo the partition count
 * (the Java client's and kafkajs's, the one every producer of the switch uses), applied here with
 * kafkajs's own implementation to the partition count the broker reports — so a search for one key
 * reads a quarter of a four-partition topic instead of all of it.
 *
 * Why here rather than through `consumer()` and `readTopicToEnd`: a partition written in transactions
 * ends with a commit marker that no message shows, so only kafkajs's batch events tell that the end is
 * reached; and the read joins `groupId`, which must be one the caller's principal may join (an auditor
 * only joins groups under `<prefix>.auditor.`). Alone in its group, the consumer is assigned every
 * partition: the others are paused and their messages ignored. It commits nothing. Aborting `signal`
 * stops the read, which then rejects with the signal's reason.
 */
export async function readKeyPartition(
  client: KafkaClient,
  options: {
    readonly topic: string;
    readonly key: string | Buffer;
    readonly groupId: string;
    readonly fromTimestamp?: number;
    readonly signal?: AbortSignal;
    /** Told which partition and offsets the read covers, before it begins. */
    onStart?(range: { partition: number; partitions: number; startOffset: string; endOffset: string }): void;
    onBatch(messages: readonly InMessage[]): void | Promise<void>;
  },
): Promise<{ partition: number; partitions: number; startOffset: string; endOffset: string; messages: number }> {
  const { topic } = options;
  const kafka = client.raw;
  const admin = kafka.admin();
  let ends: Array<{ partition: number; low: string; high: string }>;
  let timestampOffsets: Array<{ partition: number; offset: string }> | null = null;
  try {
    await translated(() => admin.connect());
    ends = await retrying(() => admin.fetchTopicOffsets(topic));
    if (options.fromTimestamp !== undefined) {
      const at = options.fromTimestamp;
      timestampOffsets = await retrying(() => admin.fetchTopicOffsetsByTimestamp(topic, at));
    }
  } finally {
    await admin.disconnect();
  }
  const partitionMetadata = ends.map((p) => ({ partitionId: p.partition, leader: 0, partitionErrorCode: 0, replicas: [0], isr: [0] }));
  const partition = kafkajs.Partitioners.DefaultPartitioner()({ topic, partitionMetadata, message: { key: options.key, value: null } });
  const bounds = ends.find((p) => p.partition === partition);
  if (!bounds) throw new MessagingError('UNKNOWN_TOPIC_OR_PARTITION', false, `${topic} has no partition ${partition}`);
  const byTime = timestampOffsets?.find((p) => p.partition === partition)?.offset;
  // A timestamp past every message gives the end; one before the log start, the log start.
  const start = byTime !== undefined && BigInt(byTime) > BigInt(bounds.low) ? BigInt(byTime) : BigInt(bounds.low);
  const end = BigInt(bounds.high);
  const result = { partition, partitions: ends.length, startOffset: start.toString(), endOffset: bounds.high, messages: 0 };
  options.onStart?.({ partition, partitions: ends.length, startOffset: result.startOffset, endOffset: result.endOffset });
  if (start >= end) return result;
  options.signal?.throwIfAborted();

  const consumer = kafka.consumer({
    groupId: options.groupId,
    readUncommitted: false,
    allowAutoTopicCreation: false,
    // Large fetches of the one partition: a search is a sequential scan, the round trips are the cost.
    maxBytesPerPartition: 16 * 1_048_576,
    maxBytes: 32 * 1_048_576,
    // Bounds the idle poll a disconnect waits for.
    maxWaitTimeInMs: 250,
  });
  // The next offset to hand over: a fetch sent before the seek took effect may repeat messages.
  let next = start;
  let done!: () => void;
  let failed!: (error: unknown) => void;
  const finished = new Promise<void>((resolve, reject) => {
    done = resolve;
    failed = reject;
  });
  // Awaited below unless connecting fails first: then a crash or an abort must not go unhandled.
  finished.catch(() => undefined);
  consumer.on(consumer.events.END_BATCH_PROCESS, (event) => {
    const payload = event.payload as { partition: number; lastOffset: string };
    if (payload.partition === partition && BigInt(payload.lastOffset) + 1n >= end) done();
  });
  consumer.on(consumer.events.CRASH, (event) => failed(toMessagingError(event.payload.error)));
  const onAbort = () => failed(options.signal?.reason);
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await translated(() => consumer.connect());
    await translated(() => consumer.subscribe({ topic, fromBeginning: true }));
    await translated(() =>
      consumer.run({
        autoCommit: false,
        eachBatch: async (payload) => {
          if (payload.batch.partition !== partition) return;
          const fresh = toInMessages(payload).filter((m) => BigInt(m.offset) >= next && BigInt(m.offset) < end);
          if (fresh.length === 0) return;
          next = BigInt((fresh[fresh.length - 1] as InMessage).offset) + 1n;
          result.messages += fresh.length;
          await options.onBatch(fresh);
        },
      }),
    );
    const others = ends.map((p) => p.partition).filter((p) => p !== partition);
    if (others.length > 0) consumer.pause([{ topic, partitions: others }]);
    consumer.seek({ topic, partition, offset: start.toString() });
    await finished;
    return result;
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    await consumer.disconnect();
  }
}
