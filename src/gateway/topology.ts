import type { Institutions } from '../config/load-institutions.js';
import type { TopicSpec } from '../messaging/kafka-client.js';
import type { TopicNames } from '../messaging/topics.js';

/** Ten years and a day: the deliberations ask for logs kept at least ten years. */
export const AUDIT_RETENTION_MS = String((10 * 365 + 3) * 24 * 3600 * 1000);

const HOUR = 3600 * 1000;
const DAY = 24 * HOUR;

/**
 * How long personal data rest on each kind of topic. Kafka deletes whole segments, a segment once its
 * newest record is older than `retention.ms`; on a topic written continuously the segment being written
 * keeps getting newer records and is only rolled by size or `segment.ms`. So every topic with a short
 * retention also gets a `segment.ms` of a sixth of it (at least a minute), and data live at most about
 * retention + segment time (+ the broker's retention check interval).
 */
export interface TopicRetention {
  /**
   * The sources' requests, answers and changes (`bcss.source.<src>.*`): the answers are UNFILTERED. The
   * gateway consumes them within seconds, and an answer later than the source timeout is only audited.
   * BCSS_SOURCE_RETENTION_MS, default one hour.
   */
  readonly sourceMs: number;
  /**
   * What institutions receive and send: replies, mutations, requests and directory commands
   * (`bcss.<inst>.*`). Long enough for a consumer down over a weekend. BCSS_DELIVERY_RETENTION_MS,
   * default three days.
   */
  readonly deliveryMs: number;
  /** Consultation-only answers (`bcss.<inst>.consultations`): minutes. BCSS_CONSULTATION_RETENTION_MS, default 10 minutes. */
  readonly consultationMs: number;
}

export const DEFAULT_RETENTION: TopicRetention = { sourceMs: HOUR, deliveryMs: 3 * DAY, consultationMs: 10 * 60 * 1000 };

/** `retention.ms` and a `segment.ms` small enough that the retention really applies. */
export function retentionConfig(ms: number): Record<string, string> {
  const segment = Math.max(60_000, Math.min(DAY, Math.floor(ms / 6)));
  return { 'cleanup.policy': 'delete', 'retention.ms': String(ms), 'segment.ms': String(segment) };
}

/**
 * `max.message.bytes` of the topics that carry a whole answer in one record: a source's replies, an
 * institution's replies, the dead letters (which hold the message they refuse). A 22/046 quarterly list
 * (about 70,000 persons, docs/deliberations.md) is one answer of about 1.9 MB from INAMI and 1.84 MB
 * filtered for ONSS, past Kafka's default of 1 MiB from about 38,000 entries: with the default the
 * list is never delivered. 16 MiB leaves room for several times that list.
 */
export const ANSWER_MAX_MESSAGE_BYTES = String(16 * 1024 * 1024);

/**
 * Every topic the switch uses, created up front (auto-creation is off: under KRaft it gives consumer
 * errors, and a typo must not create a topic), with the configuration the switch expects of it
 * (`bcss topics sync` corrects an existing topic that drifted). Partition keys are NISS, so more
 * partitions carry more persons in parallel.
 */
export function topicSpecs(
  topics: TopicNames,
  institutions: Institutions,
  options: { partitions?: number; retention?: TopicRetention } = {},
): TopicSpec[] {
  const partitions = options.partitions ?? 4;
  const retention = options.retention ?? DEFAULT_RETENTION;
  const delivery = retentionConfig(retention.deliveryMs);
  const source = retentionConfig(retention.sourceMs);
  const answers = { 'max.message.bytes': ANSWER_MAX_MESSAGE_BYTES };
  const specs: TopicSpec[] = [];
  for (const { id } of institutions.institutions) {
    specs.push(
      { topic: topics.requests(id), partitions, config: delivery },
      { topic: topics.replies(id), partitions, config: { ...delivery, ...answers } },
      { topic: topics.mutations(id), partitions, config: delivery },
      { topic: topics.directory(id), partitions, config: delivery },
    );
  }
  for (const institution of institutions.institutions) {
    if (!institution.consultation) continue;
    specs.push(
      { topic: topics.consultationRequests(institution.id), partitions, config: delivery },
      { topic: topics.consultations(institution.id), partitions, config: retentionConfig(retention.consultationMs) },
    );
  }
  for (const { id } of institutions.sources) {
    specs.push(
      { topic: topics.sourceRequests(id), partitions, config: source },
      { topic: topics.sourceReplies(id), partitions, config: { ...source, ...answers } },
      { topic: topics.sourceMutations(id), partitions, config: source },
    );
  }
  specs.push(
    { topic: topics.directoryCommands, partitions, config: delivery },
    { topic: topics.directoryChangelog, partitions, config: { 'cleanup.policy': 'compact', 'min.compaction.lag.ms': '60000' } },
    { topic: topics.authorizations, partitions: 1, config: { 'cleanup.policy': 'compact' } },
    { topic: topics.audit, partitions, config: { 'cleanup.policy': 'delete', 'retention.ms': AUDIT_RETENTION_MS, 'retention.bytes': '-1' } },
    { topic: topics.auditSeals, partitions: 1, config: { 'cleanup.policy': 'delete', 'retention.ms': AUDIT_RETENTION_MS } },
    { topic: topics.exchangeTimeouts, partitions, config: { 'retention.ms': String(7 * DAY) } },
    { topic: topics.deadLetter, partitions: 1, config: { 'retention.ms': String(90 * DAY), ...answers } },
  );
  return specs;
}
