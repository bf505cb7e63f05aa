import type { Institutions } from '../config/load-institutions.js';
import type { TopicSpec } from '../messaging/kafka-client.js';
import type { TopicNames } from '../messaging/topics.js';

/** Ten years and a day: the deliberations ask for logs kept at least ten years. */
export const AUDIT_RETENTION_MS = String((10 * 365 + 3) * 24 * 3600 * 1000);

/**
 * Every topic the switch uses, created up front (auto-creation is off: under KRaft it gives consumer
 * errors, and a typo must not create a topic). Partition keys are NISS, so more partitions carry
 * more persons in parallel.
 */
export function topicSpecs(topics: TopicNames, institutions: Institutions, partitions = 4): TopicSpec[] {
  const specs: TopicSpec[] = [];
  for (const { id } of institutions.institutions) {
    specs.push(
      { topic: topics.requests(id), partitions },
      { topic: topics.replies(id), partitions },
      { topic: topics.mutations(id), partitions },
      { topic: topics.directory(id), partitions },
    );
  }
  for (const { id } of institutions.sources) {
    specs.push(
      { topic: topics.sourceRequests(id), partitions },
      { topic: topics.sourceReplies(id), partitions },
      { topic: topics.sourceMutations(id), partitions },
    );
  }
  specs.push(
    { topic: topics.directoryCommands, partitions },
    { topic: topics.directoryChangelog, partitions, config: { 'cleanup.policy': 'compact', 'min.compaction.lag.ms': '60000' } },
    { topic: topics.authorizations, partitions: 1, config: { 'cleanup.policy': 'compact' } },
    { topic: topics.audit, partitions, config: { 'cleanup.policy': 'delete', 'retention.ms': AUDIT_RETENTION_MS, 'retention.bytes': '-1' } },
    { topic: topics.auditSeals, partitions: 1, config: { 'cleanup.policy': 'delete', 'retention.ms': AUDIT_RETENTION_MS } },
    { topic: topics.exchangeTimeouts, partitions, config: { 'retention.ms': String(7 * 24 * 3600 * 1000) } },
    { topic: topics.deadLetter, partitions: 1, config: { 'retention.ms': String(90 * 24 * 3600 * 1000) } },
  );
  return specs;
}
