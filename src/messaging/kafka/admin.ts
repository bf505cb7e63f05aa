import kafkajs from './kafkajs.js';
import type { Admin, ITopicConfig, Kafka } from 'kafkajs';
import { fromKafkaAcls, toKafkaAcl, toKafkaAclFilter } from './acl.js';
import { MessagingError, retrying, toMessagingError, translated } from './errors.js';
import { withCluster } from './kafkajs-internals.js';
import type { KafkaAdmin, TopicSpec, TopicState } from './types.js';

const { ConfigResourceTypes } = kafkajs;
/** ListOffsets' isolation level 0: offsets as written, transactions decided or not. */
const READ_UNCOMMITTED = 0;

/** DYNAMIC_TOPIC_CONFIG in DescribeConfigs: a value set on the topic itself, not a broker default. */
const TOPIC_CONFIG_SOURCE = 1;

/**
 * Offsets of a topic just created, read through a broker whose metadata does not have it yet (on a
 * cluster the brokers learn of a new topic one after the other): kafkajs then fails with a TypeError
 * from its metadata lookup ("Cannot destructure property 'partitions'") or UNKNOWN_TOPIC_OR_PARTITION.
 * Both pass within seconds; a dozen attempts wait up to about 10 s.
 */
const OFFSETS_RETRY = {
  attempts: 12,
  shouldRetry: (error: MessagingError) => error.retriable || (error.type === 'TypeError' && error.message.includes("property 'partitions'")),
};

/**
 * Each partition's first offset and high watermark — everything written, decided or not — where
 * `topicOffsets` gives the last stable offset: kafkajs asks ListOffsets as read_committed, so right
 * after a transaction's commit returned, before the broker wrote its markers, the end it gives is the
 * transaction's first offset. A kafkajs admin of its own, its cluster set to read_uncommitted.
 */
export async function highWatermarks(kafka: Kafka, topic: string): Promise<Array<{ partition: number; low: string; high: string }>> {
  const { made: admin, cluster } = withCluster(kafka, () => kafka.admin());
  (cluster as unknown as { isolationLevel: number }).isolationLevel = READ_UNCOMMITTED;
  await translated(() => admin.connect());
  try {
    return await retrying(async () => (await admin.fetchTopicOffsets(topic)).map((p) => ({ partition: p.partition, low: p.low, high: p.high })), OFFSETS_RETRY);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

export async function connectAdmin(kafka: Kafka): Promise<KafkaAdmin> {
  const admin = kafka.admin();
  await translated(() => admin.connect());
  return wrapAdmin(admin);
}

function wrapAdmin(admin: Admin): KafkaAdmin {
  const committedOffsets: KafkaAdmin['committedOffsets'] = (groupId, topics) =>
    translated(async () =>
      (await admin.fetchOffsets({ groupId, ...(topics === undefined ? {} : { topics: [...topics] }) })).map(({ topic, partitions }) => ({
        topic,
        partitions: partitions.map(({ partition, offset }) => ({ partition, offset })),
      })),
    );
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
    describeAcls: (filter = {}) => translated(async () => fromKafkaAcls((await admin.describeAcls(toKafkaAclFilter(filter))).resources)),
    deleteAcls: (grants) =>
      translated(async () => {
        if (grants.length === 0) return 0;
        const response = await admin.deleteAcls({
          filters: grants.map(toKafkaAcl),
        });
        return response.filterResponses.reduce((sum, r) => sum + r.matchingAcls.length, 0);
      }),
    topicEndOffsets: (topic) =>
      retrying(async () => (await admin.fetchTopicOffsets(topic)).map((p) => ({ partition: p.partition, offset: p.high })), OFFSETS_RETRY),
    topicOffsets: (topic) =>
      retrying(async () => (await admin.fetchTopicOffsets(topic)).map((p) => ({ partition: p.partition, low: p.low, high: p.high })), OFFSETS_RETRY),
    committedOffsets,
    groupLag: (groupId) =>
      translated(async () => {
        const committed = await committedOffsets(groupId);
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
    partitionLeaders: (topic) =>
      retrying(async () => {
        const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
        return (topics[0]?.partitions ?? [])
          .map((p) => ({ partition: p.partitionId, leader: p.leader, replicas: [...p.replicas], isr: [...p.isr] }))
          .sort((a, b) => a.partition - b.partition);
      }),
    disconnect: () => admin.disconnect(),
  };
}
