/**
 * What the rest of the code sees of Kafka: plain data and small interfaces, none of them kafkajs's, so
 * that a move to another KafkaJS-compatible client stays contained in src/messaging.
 */

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

/** A consumer group's committed offsets in one topic ('-1' for a partition it has not committed). */
export interface GroupTopicOffsets {
  readonly topic: string;
  readonly partitions: ReadonlyArray<{ readonly partition: number; readonly offset: string }>;
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
  /** The offsets a consumer group committed in `topics`, or in every topic it committed in when omitted. */
  committedOffsets(groupId: string, topics?: readonly string[]): Promise<GroupTopicOffsets[]>;
  /**
   * How far a consumer group is behind, per topic: the sum over partitions of (high watermark − the
   * group's committed offset; the log start when it has none). Transaction markers count too, so an
   * idle transactional topic shows a lag of at most one per partition.
   */
  groupLag(groupId: string): Promise<Map<string, number>>;
  /** Per partition of a topic, the broker leading it (-1 while none does), its replicas and those in sync, as the metadata says now. */
  partitionLeaders(topic: string): Promise<PartitionLeader[]>;
  disconnect(): Promise<void>;
}

export interface PartitionLeader {
  readonly partition: number;
  readonly leader: number;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
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
}
