/**
 * `bcss audit search --niss N`: who consulted a person's data, when, for which purpose and under which
 * deliberation — the report a citizen may ask the data-protection officer for.
 *
 * How it stays fast on a trail of millions of records without an index of its own: the gateway keys
 * every audit record by the person it is about (see `auditMessage`), and Kafka's default partitioner
 * always puts one key in the same partition. A search therefore reads ONE partition of the audit topic
 * (a quarter of it with four partitions), from its beginning — or from the offset Kafka's time index
 * gives for `from` — to the end it had when the search began, and compares each message's key bytes
 * with the person's before decoding anything: only that person's records are ever decoded. The scan
 * is bounded in time: when the bound is hit the search fails with AuditSearchTimeoutError rather than
 * return a report that would look complete and is not.
 */
import { randomUUID } from 'node:crypto';
import { parseNiss } from '../domain/niss.js';
import type { AuditEventType, AuditRecordValue } from '../contract/audit-records.js';
import { EXCHANGE_RECORD } from '../contract/names.js';
import { silentLogger, type Logger } from '../logging/logger.js';
import type { AvroCodec } from '../messaging/avro-codec.js';
import { readKeyPartition, type KafkaClient } from '../messaging/kafka-client.js';
import { clientIdPrefix, type TopicNames } from '../messaging/topics.js';

/** One audit record as the search reports it (its `eventType` as `event`), with its place in the audit topic. */
export type AuditEntry = Omit<AuditRecordValue, 'eventType'> & {
  readonly event: AuditEventType;
  readonly partition: number;
  readonly offset: string;
};

export interface AuditSearchOptions {
  readonly client: KafkaClient;
  readonly codec: AvroCodec;
  readonly topics: TopicNames;
  /** The person: 11 digits, separators allowed. */
  readonly niss: string;
  /** Only records at or after this instant (epoch ms). */
  readonly from?: number;
  /** Only records at or before this instant (epoch ms). */
  readonly to?: number;
  /** Only records where this institution asked or relayed (requester or intermediary). */
  readonly requester?: string;
  /** The bound of the scan; default 60 s. */
  readonly timeoutMs?: number;
  /**
   * The principal the client connects as (default `auditor`): the search's consumer group is named
   * under its prefix, the only groups its ACLs let it join.
   */
  readonly principal?: string;
  readonly logger?: Logger;
}

export interface AuditSearchResult {
  /** The NISS searched, as 11 digits when it is one. */
  readonly niss: string;
  readonly from: number | null;
  readonly to: number | null;
  readonly requester: string | null;
  /** The person's records that pass the filters, oldest first. */
  readonly records: readonly AuditEntry[];
  /** The partition read, of how many. */
  readonly partition: number;
  readonly partitions: number;
  /** Messages of that partition compared (all keys), and the offsets read. */
  readonly scanned: number;
  readonly startOffset: string;
  readonly endOffset: string;
  /** The person's messages that did not decode as audit records (never silently left out of a report). */
  readonly undecodable: ReadonlyArray<{ readonly partition: number; readonly offset: string }>;
  readonly durationMs: number;
}

export class AuditSearchTimeoutError extends Error {
  override readonly name = 'AuditSearchTimeoutError';
  constructor(
    readonly timeoutMs: number,
    readonly partition: number | null,
    /** The next offset the scan would have read, and the end it had to reach. */
    readonly reachedOffset: string | null,
    readonly endOffset: string | null,
  ) {
    super(
      `the audit search did not reach the end of the person's partition within ${timeoutMs} ms` +
        (partition === null ? '' : ` (partition ${partition}: read up to offset ${reachedOffset ?? '?'} of ${endOffset ?? '?'})`) +
        ': no report, since it would be incomplete; allow more time, or narrow it with a start date',
    );
  }
}

/** Kafka's time index is written by the producers' clocks; this margin covers their drift from `at`. */
const TIMESTAMP_MARGIN_MS = 10 * 60_000;
const DEFAULT_TIMEOUT_MS = 60_000;

/** The key the gateway gives a person's audit records: the 11 digits when the text is a NISS. */
export function auditKeyOf(niss: string): string {
  const parsed = parseNiss(niss);
  return parsed.valid ? parsed.normalized : niss.trim();
}

export function toAuditEntry(record: AuditRecordValue, place: { partition: number; offset: string }): AuditEntry {
  return {
    at: record.at,
    event: record.eventType,
    ticket: record.ticket,
    requester: record.requester,
    intermediary: record.intermediary,
    service: record.service,
    source: record.source,
    deliberation: record.deliberation,
    deliberationVersion: record.deliberationVersion,
    purpose: record.purpose,
    outcome: record.outcome,
    bcssCode: record.bcssCode,
    subjectNiss: record.subjectNiss,
    employer: record.employer,
    effectivePeriods: record.effectivePeriods,
    deliveredBlocks: record.deliveredBlocks,
    removedBlocks: record.removedBlocks,
    removedFields: record.removedFields,
    // A v2 record (before v3) has none.
    requestId: record.requestId ?? null,
    partition: place.partition,
    offset: place.offset,
  };
}

/** True when the institution asked, or relayed the request. */
export function involves(entry: Pick<AuditEntry, 'requester' | 'intermediary'>, institution: string): boolean {
  return entry.requester === institution || entry.intermediary === institution;
}

export async function searchAudit(options: AuditSearchOptions): Promise<AuditSearchResult> {
  const started = Date.now();
  const log = (options.logger ?? silentLogger).child({ module: 'audit-search' });
  const niss = auditKeyOf(options.niss);
  if (niss === '') throw new Error('no NISS to search for');
  const key = Buffer.from(niss, 'utf8');
  const from = options.from ?? null;
  const to = options.to ?? null;
  const requester = options.requester ?? null;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const principal = options.principal ?? 'auditor';

  const records: AuditEntry[] = [];
  const undecodable: Array<{ partition: number; offset: string }> = [];
  let scanned = 0;
  // Where the scan stands, for the error when the time bound stops it.
  const progress: { partition: number | null; endOffset: string | null; reached: string | null } = {
    partition: null,
    endOffset: null,
    reached: null,
  };
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(new AuditSearchTimeoutError(timeoutMs, null, null, null)), timeoutMs);
  let read: Awaited<ReturnType<typeof readKeyPartition>>;
  try {
    read = await readKeyPartition(options.client, {
      topic: options.topics.audit,
      key,
      groupId: `${clientIdPrefix(options.topics, principal)}audit-search.${randomUUID()}`,
      ...(from === null ? {} : { fromTimestamp: Math.max(0, from - TIMESTAMP_MARGIN_MS) }),
      signal: deadline.signal,
      onStart(range) {
        progress.partition = range.partition;
        progress.endOffset = range.endOffset;
      },
      onBatch(messages) {
        scanned += messages.length;
        for (const message of messages) {
          progress.reached = message.offset;
          // The key first: a byte comparison, no decoding, for the records of everyone else.
          if (message.key === null || !key.equals(message.key) || message.value === null) continue;
          let record: AuditRecordValue;
          try {
            record = options.codec.decode<AuditRecordValue>(EXCHANGE_RECORD.audit, message.value);
          } catch {
            undecodable.push({ partition: message.partition, offset: message.offset });
            continue;
          }
          if (from !== null && record.at < from) continue;
          if (to !== null && record.at > to) continue;
          const entry = toAuditEntry(record, message);
          if (requester !== null && !involves(entry, requester)) continue;
          records.push(entry);
        }
      },
    });
  } catch (error) {
    if (error instanceof AuditSearchTimeoutError) {
      const next = progress.reached === null ? null : String(BigInt(progress.reached) + 1n);
      throw new AuditSearchTimeoutError(timeoutMs, progress.partition, next, progress.endOffset);
    }
    throw error;
  } finally {
    clearTimeout(timer);
  }
  records.sort((a, b) => a.at - b.at || compareOffsets(a.offset, b.offset));
  const durationMs = Date.now() - started;
  // Counts only: who the search was about stays out of the operational log.
  log.info({ partition: read.partition, scanned, matched: records.length, durationMs }, 'audit search done');
  return {
    niss,
    from,
    to,
    requester,
    records,
    partition: read.partition,
    partitions: read.partitions,
    scanned,
    startOffset: read.startOffset,
    endOffset: read.endOffset,
    undecodable,
    durationMs,
  };
}

function compareOffsets(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
