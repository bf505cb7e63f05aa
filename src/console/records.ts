/**
 * What the console reads from Kafka on demand: one exchange's audit records by ticket (the `ticket`
 * header picks them without decoding the rest) or by the requester's requestId, the dead letters, and which dead letters were re-sent
 * already (DEAD_LETTER_REDRIVEN records, picked by the `event` header).
 */
import type { AuditEventType, AuditRecordValue } from '../contract/audit-records.js';
import type { DeadLetterRecord } from '../contract/dead-letters.js';
import { EXCHANGE_RECORD, HEADER } from '../contract/names.js';
import type { AvroCodec } from '../messaging/avro-codec.js';
import type { InMessage, KafkaClient } from '../messaging/kafka-client.js';
import { readTopicToEnd } from '../messaging/topic-reader.js';
import { clientIdPrefix, type TopicNames } from '../messaging/topics.js';
import { involves, toAuditEntry, type AuditEntry } from '../audit/audit-search.js';

export interface Reader {
  readonly client: KafkaClient;
  readonly principal: string;
  readonly codec: AvroCodec;
  readonly topics: TopicNames;
}

const READ_TIMEOUT_MS = 30_000;

/** Every message of a topic up to its end now, as the reader's principal (a group under its prefix). */
async function readWhole(reader: Reader, topic: string, onMessage: (message: InMessage) => void): Promise<void> {
  await readTopicToEnd({
    client: reader.client,
    topic,
    groupPrefix: `${clientIdPrefix(reader.topics, reader.principal)}console`,
    timeoutMs: READ_TIMEOUT_MS,
    async onBatch({ messages }) {
      for (const message of messages) onMessage(message);
    },
  });
}

/** The audit records whose headers `accept` picks (nothing else is decoded), oldest first. */
async function auditRecordsWhere(reader: Reader, accept: (headers: Readonly<Record<string, string>>) => boolean, keep: (entry: AuditEntry) => boolean = () => true): Promise<AuditEntry[]> {
  const found: AuditEntry[] = [];
  await readWhole(reader, reader.topics.audit, (message) => {
    if (message.value === null || !accept(message.headers)) return;
    const record = reader.codec.tryDecode<AuditRecordValue>(EXCHANGE_RECORD.audit, message.value);
    if (record instanceof Error) return;
    const entry = toAuditEntry(record, message);
    if (keep(entry)) found.push(entry);
  });
  return found.sort((a, b) => a.at - b.at || Number(BigInt(a.offset) - BigInt(b.offset)));
}

/** Every audit record of one exchange, oldest first. */
export function exchangeTrail(reader: Reader, ticket: string): Promise<AuditEntry[]> {
  return auditRecordsWhere(reader, (headers) => headers[HEADER.ticket] === ticket);
}

/** The events that carry the requestId of the request they are about (docs/audit-events.md). */
const REQUEST_EVENTS: ReadonlySet<string> = new Set<AuditEventType>(['REQUEST_REFUSED', 'REQUEST_FORWARDED', 'REPLY_DELIVERED', 'SOURCE_TIMEOUT']);

export interface FoundExchange {
  readonly ticket: string;
  /** Every record of the ticket, oldest first: the late source replies (which carry no requestId) too. */
  readonly trail: readonly AuditEntry[];
}

/**
 * The exchanges a requester knows by this requestId. Ids are the requesters' own, so two institutions
 * (or one, reusing an id) may have several: each is returned, oldest first. `institution` narrows them
 * to those it asked or relayed. Two passes: the records carrying the requestId, then all records of
 * their tickets.
 */
export async function exchangesByRequestId(reader: Reader, requestId: string, institution: string | null): Promise<FoundExchange[]> {
  const asked = await auditRecordsWhere(
    reader,
    (headers) => REQUEST_EVENTS.has(headers[HEADER.event] ?? ''),
    (entry) => entry.requestId === requestId && entry.ticket !== null && (institution === null || involves(entry, institution)),
  );
  const tickets = [...new Set(asked.map((e) => e.ticket as string))];
  if (tickets.length === 0) return [];
  const records = await auditRecordsWhere(reader, (headers) => tickets.includes(headers[HEADER.ticket] ?? ''));
  return tickets.map((ticket) => ({ ticket, trail: records.filter((e) => e.ticket === ticket) }));
}

/** Ids of the dead letters re-sent so far (the ticket of their DEAD_LETTER_REDRIVEN records). */
export async function redrivenDeadLetters(reader: Reader): Promise<Set<string>> {
  const records = await auditRecordsWhere(reader, (headers) => headers[HEADER.event] === 'DEAD_LETTER_REDRIVEN');
  return new Set(records.filter((r) => r.outcome === 'REDRIVEN' && r.ticket !== null).map((r) => r.ticket as string));
}

export interface DeadLetterView {
  readonly record: DeadLetterRecord;
  readonly offset: string;
  /** The original's record name and content when it decodes (else null), for a person to read. */
  readonly decoded: { readonly recordName: string; readonly value: unknown } | null;
}

export async function readDeadLetters(reader: Reader): Promise<DeadLetterView[]> {
  const letters: DeadLetterView[] = [];
  const decodeOriginal = (bytes: Buffer | null): DeadLetterView['decoded'] => {
    if (bytes === null) return null;
    const recordName = reader.codec.recordNameOf(bytes);
    if (recordName === null) return null;
    const value = reader.codec.tryDecode(recordName, bytes);
    return value instanceof Error ? null : { recordName, value };
  };
  await readWhole(reader, reader.topics.deadLetter, (message) => {
    const record = reader.codec.tryDecode<DeadLetterRecord>(EXCHANGE_RECORD.deadLetter, message.value);
    if (!(record instanceof Error)) letters.push({ record, offset: message.offset, decoded: decodeOriginal(record.originalValue) });
  });
  return letters.sort((a, b) => b.record.recordedAt - a.record.recordedAt);
}
