/**
 * `bcss audit tail`: the audit trail as it is written, from its end on, filtered for an operator.
 *
 * A consumer group of its own (under the principal's prefix, the only groups an auditor may join) that
 * starts at the end every partition had when the tail started, so nothing of the past is shown. The event filter reads the
 * `event` header and skips the record without decoding it; the other filters need the record. Records
 * are shown once their transaction is committed (read_committed): what the tail shows happened.
 */
import { randomUUID } from 'node:crypto';
import type { AuditRecordValue } from '../contract/audit-records.js';
import { EXCHANGE_RECORD, HEADER } from '../contract/names.js';
import { silentLogger, type Logger } from '../logging/logger.js';
import type { AvroCodec } from '../messaging/avro-codec.js';
import type { InMessage, KafkaClient } from '../messaging/kafka-client.js';
import { clientIdPrefix, type TopicNames } from '../messaging/topics.js';
import { involves, toAuditEntry, type AuditEntry } from './audit-search.js';

export interface AuditTailFilter {
  /** The institution that asked or relayed (requester or intermediary). */
  readonly requester?: string;
  readonly service?: string;
  /** OK, a refusal code (NOT_AUTHORIZED, ...), a source status (NO_DATA, ...), FORWARDED. */
  readonly outcome?: string;
  /** An event type: REPLY_DELIVERED, REQUEST_REFUSED, ... */
  readonly event?: string;
}

export interface AuditTailOptions {
  readonly client: KafkaClient;
  readonly codec: AvroCodec;
  readonly topics: TopicNames;
  readonly filter?: AuditTailFilter;
  /** The principal the client connects as (default `auditor`): the group is named under its prefix. */
  readonly principal?: string;
  onRecord(entry: AuditEntry): void;
  /** A message of the audit topic that does not decode as an audit record. */
  onUndecodable?(place: { partition: number; offset: string }): void;
  readonly logger?: Logger;
}

export interface RunningTail {
  stop(): Promise<void>;
}

/** Whether an event header passes the filter (case does not matter). */
export function eventPasses(event: string | undefined, filter: AuditTailFilter): boolean {
  return filter.event === undefined || (event ?? '').toUpperCase() === filter.event.toUpperCase();
}

/** Whether a record passes every filter given (case does not matter for the outcome and the event). */
export function tailPasses(entry: AuditEntry, filter: AuditTailFilter): boolean {
  if (!eventPasses(entry.event, filter)) return false;
  if (filter.requester !== undefined && !involves(entry, filter.requester)) return false;
  if (filter.service !== undefined && entry.service !== filter.service) return false;
  if (filter.outcome !== undefined && entry.outcome.toUpperCase() !== filter.outcome.toUpperCase()) return false;
  return true;
}

export async function tailAudit(options: AuditTailOptions): Promise<RunningTail> {
  const filter = options.filter ?? {};
  const log = (options.logger ?? silentLogger).child({ module: 'audit-tail' });
  const principal = options.principal ?? 'auditor';
  const topic = options.topics.audit;
  // The end as it is now, sought explicitly: a new group's reset to "latest" happens at its first
  // fetch, a moment later, and what was written in between would be lost to the screen.
  const admin = await options.client.admin();
  const ends = await admin.topicEndOffsets(topic).finally(() => admin.disconnect());
  const consumer = await options.client.consumer({
    groupId: `${clientIdPrefix(options.topics, principal)}audit-tail.${randomUUID()}`,
    topics: [topic],
    fromBeginning: false,
  });
  const onMessage = (message: InMessage) => {
    if (message.value === null || !eventPasses(message.headers[HEADER.event], filter)) return;
    let record: AuditRecordValue;
    try {
      record = options.codec.decode<AuditRecordValue>(EXCHANGE_RECORD.audit, message.value);
    } catch {
      options.onUndecodable?.({ partition: message.partition, offset: message.offset });
      return;
    }
    const entry = toAuditEntry(record, message);
    if (tailPasses(entry, filter)) options.onRecord(entry);
  };
  try {
    await consumer.run(async (batch) => {
      for (const message of batch.messages) onMessage(message);
    });
    for (const { partition, offset } of ends) consumer.seek(topic, partition, offset);
  } catch (error) {
    await consumer.disconnect().catch(() => undefined);
    throw error;
  }
  log.debug('audit tail started');
  let stopping: Promise<void> | undefined;
  return {
    stop: () => (stopping ??= consumer.disconnect()),
  };
}
