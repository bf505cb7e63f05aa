/**
 * The audit index: a table in PostgreSQL with one row per record of the audit topic, so that a
 * person's records are found among hundreds of millions without reading a partition.
 *
 * The indexer consumes the audit topic as an auditor principal (read_committed) and writes, per record,
 * where it is (partition, offset), when, who asked, the service, the event and the outcome — and the
 * person only as an HMAC-SHA-256 of the NISS under a key from configuration: the table holds no NISS in
 * clear, and without the key a row cannot be tied to a person by hashing the ten million possible
 * numbers. Rows are written with ON CONFLICT DO NOTHING on (partition, offset) and the consumer's offsets
 * are committed to Kafka only after the rows' SQL transaction committed: a crash between the two makes
 * the next run read a few records again and write nothing twice.
 *
 * The search (`searchAuditIndex`) takes the person's rows, reads exactly those records from Kafka by
 * partition and offset, decodes them as the scan does, and checks each against the seals: the index
 * only says where to look; what the report shows is the record itself, with whether a verified seal
 * covers its bytes.
 */
import { createHmac, randomUUID, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { AuditRecordValue } from '../contract/audit-records.js';
import { EXCHANGE_RECORD } from '../contract/names.js';
import { silentLogger, type Logger } from '../logging/logger.js';
import type { AvroCodec } from '../messaging/avro-codec.js';
import type { InMessage, KafkaClient, MessageConsumer } from '../messaging/kafka-client.js';
import { placeKey, readOffsets } from '../messaging/offset-reader.js';
import { clientIdPrefix, type TopicNames } from '../messaging/topics.js';
import {
  createAuditIndexSchema,
  findSubjectRecords,
  insertAuditIndexRows,
  schemaForTopic,
  type AuditIndexRow,
} from '../store/audit-index-store.js';
import type { SqlPool } from '../store/postgres-connection.js';
import {
  AuditSearchTimeoutError,
  auditKeyOf,
  involves,
  toAuditEntry,
  type AuditEntry,
  type AuditSearchOptions,
  type AuditSearchResult,
} from './audit-search.js';
import { foldLinks, recordDigest, sealSignatureValid, type SealAt } from './seal-chain.js';
import { readSeals } from './verify.js';

export class AuditIndexError extends Error {
  override readonly name = 'AuditIndexError';
  constructor(
    readonly code: 'AUDIT_INDEX_KEY_MISSING' | 'AUDIT_INDEX_KEY_INVALID' | 'AUDIT_INDEX_UNAVAILABLE' | 'AUDIT_INDEX_NOT_BUILT',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${code}: ${message}`, options);
  }
}

/** At least 32 bytes of key (HMAC-SHA-256's block is 64; shorter keys weaken it). */
const MIN_KEY_BYTES = 32;

/**
 * The HMAC key: BCSS_AUDIT_INDEX_KEY (hex, at least 64 digits), else the file BCSS_AUDIT_INDEX_KEY_FILE
 * holds (the same hex, e.g. the local stack's `.stack/audit-index.key`). The caller passes both
 * (src/app/settings.ts reads them). The indexer and every search must use the same key: a search with
 * another key finds nobody, which is why a missing or malformed key fails instead.
 */
export function loadAuditIndexKey(sources: { readonly key: string | null; readonly keyFile: string | null }): Buffer {
  let text: string;
  let source: string;
  if (sources.key) {
    text = sources.key;
    source = 'BCSS_AUDIT_INDEX_KEY';
  } else if (sources.keyFile) {
    source = `BCSS_AUDIT_INDEX_KEY_FILE (${sources.keyFile})`;
    try {
      text = readFileSync(sources.keyFile, 'utf8');
    } catch (cause) {
      throw new AuditIndexError('AUDIT_INDEX_KEY_MISSING', `${source} cannot be read`, { cause });
    }
  } else {
    throw new AuditIndexError('AUDIT_INDEX_KEY_MISSING', 'the audit index needs its HMAC key: set BCSS_AUDIT_INDEX_KEY or BCSS_AUDIT_INDEX_KEY_FILE');
  }
  const hex = text.trim();
  if (!/^(?:[0-9a-fA-F]{2})+$/.test(hex) || hex.length < MIN_KEY_BYTES * 2) {
    throw new AuditIndexError('AUDIT_INDEX_KEY_INVALID', `${source}: hexadecimal of at least ${MIN_KEY_BYTES} bytes expected`);
  }
  return Buffer.from(hex, 'hex');
}

/** The person as the index holds them: HMAC-SHA-256 of the audit key (the NISS's 11 digits). */
export function subjectHmac(key: Buffer, subject: string): Buffer {
  return createHmac('sha256', key).update(subject, 'utf8').digest();
}

/** Event of a row for a message that is not an audit record: still indexed, never silently left out. */
export const UNDECODABLE_EVENT = 'UNDECODABLE';

/**
 * The row of one audit message. The subject is the message's key when the record names a person (the
 * gateway keys a person's records by their NISS, as the scan compares): a record about no person (an
 * authorization change, a dead letter without subject) gets a null subject and is found by no search,
 * as with the scan. A message that does not decode keeps its key's HMAC and the broker's timestamp.
 */
export function indexRowOf(message: InMessage, codec: AvroCodec, key: Buffer): AuditIndexRow {
  const keyText = message.key === null ? null : message.key.toString('utf8');
  const place = { partition: message.partition, offset: message.offset };
  let record: AuditRecordValue | null = null;
  if (message.value !== null) {
    try {
      record = codec.decode<AuditRecordValue>(EXCHANGE_RECORD.audit, message.value);
    } catch {
      record = null;
    }
  }
  if (record === null) {
    return {
      ...place,
      subjectHmac: keyText === null ? null : subjectHmac(key, keyText),
      at: Number(message.timestamp),
      requester: null,
      service: null,
      event: UNDECODABLE_EVENT,
      outcome: null,
    };
  }
  const aboutPerson = record.subjectNiss !== null && keyText === record.subjectNiss;
  return {
    ...place,
    subjectHmac: aboutPerson ? subjectHmac(key, keyText) : null,
    at: record.at,
    requester: record.requester,
    service: record.service,
    event: record.eventType,
    outcome: record.outcome,
  };
}

// ---------------------------------------------------------------------------------------------------
// The indexer

export interface AuditIndexerOptions {
  readonly client: KafkaClient;
  readonly codec: AvroCodec;
  readonly topics: TopicNames;
  readonly pool: SqlPool;
  readonly key: Buffer;
  /** The auditor principal the client is (default `auditor`): the group is named under its prefix. */
  readonly principal?: string;
  /** The consumer group's last part (default `audit-index`); the benchmark and tests use their own. */
  readonly groupName?: string;
  readonly logger?: Logger;
  /** Told after each committed batch: rows written (new) of records read. */
  readonly onBatch?: (batch: { partition: number; records: number; written: number; lastOffset: string }) => void;
}

export interface AuditIndexer {
  /** The schema the rows go to (one per audit topic). */
  readonly schema: string;
  readonly groupId: string;
  stop(): Promise<void>;
}

export async function startAuditIndexer(options: AuditIndexerOptions): Promise<AuditIndexer> {
  const log = (options.logger ?? silentLogger).child({ module: 'audit-indexer' });
  const schema = schemaForTopic(options.topics.audit);
  try {
    await createAuditIndexSchema(options.pool, schema);
  } catch (cause) {
    throw new AuditIndexError('AUDIT_INDEX_UNAVAILABLE', `cannot prepare the index tables: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
  const groupId = `${clientIdPrefix(options.topics, options.principal ?? 'auditor')}${options.groupName ?? 'audit-index'}`;
  const consumer: MessageConsumer = await options.client.consumer({
    groupId,
    topics: [options.topics.audit],
    fromBeginning: true,
    readCommitted: true,
    // One SQL transaction per partition batch; four partitions keep four connections busy at most.
    partitionsConsumedConcurrently: 4,
  });
  // A batch whose rows cannot be written (PostgreSQL down) throws: its offsets stay uncommitted and the
  // consumer retries it, so the index never skips a record.
  await consumer.run(async (batch) => {
    if (batch.messages.length === 0) return;
    const rows = batch.messages.map((message) => indexRowOf(message, options.codec, options.key));
    // The offsets are committed by the consumer after this resolves, so only once the rows are in.
    const written = await options.pool.transaction((session) => insertAuditIndexRows(session, schema, rows));
    const lastOffset = (batch.messages[batch.messages.length - 1] as InMessage).offset;
    log.debug({ partition: batch.partition, records: rows.length, written, lastOffset }, 'indexed');
    options.onBatch?.({ partition: batch.partition, records: rows.length, written, lastOffset });
  });
  log.info({ topic: options.topics.audit, schema, groupId }, 'audit indexer started');
  return {
    schema,
    groupId,
    stop: () => consumer.disconnect(),
  };
}

// ---------------------------------------------------------------------------------------------------
// The search through the index

/**
 * Whether a record read from Kafka is covered by a verified seal:
 *   SEALED          a seal of its partition whose offsets include it, signed by the verify key, whose
 *                   digests fold to its link and continue the previous seal's link, lists its digest;
 *   CHANGED         such a seal covers its offset but lists no digest equal to the record's bytes';
 *   BAD_SEAL        the seal covering its offset does not verify (signature, links);
 *   NOT_YET_SEALED  after the partition's last seal;
 *   NOT_COVERED     no seal's interval includes it, though later seals exist (a gap in the chain).
 * A row whose record Kafka no longer has (retention, a replaced topic) is reported apart, as missing.
 */
export type SealStatus = 'SEALED' | 'CHANGED' | 'BAD_SEAL' | 'NOT_YET_SEALED' | 'NOT_COVERED';

export type IndexedAuditEntry = AuditEntry & { readonly seal: SealStatus };

export interface IndexedSearchResult extends Omit<AuditSearchResult, 'records'> {
  readonly records: readonly IndexedAuditEntry[];
  /** Index rows that Kafka no longer has, and rows of messages that are not audit records. */
  readonly missing: ReadonlyArray<{ readonly partition: number; readonly offset: string }>;
  readonly via: 'index';
  readonly indexRows: number;
  /**
   * Per partition, the records (transaction markers included) between the indexer's committed position
   * and the topic's end when the search ran: what the index may not hold yet.
   */
  readonly indexLag: ReadonlyArray<{ readonly partition: number; readonly lag: number }>;
}

/** Per partition, the seals checked once: verified or not, in offset order. */
interface CheckedSeal {
  readonly at: SealAt;
  readonly valid: boolean;
  readonly digests: ReadonlySet<string>;
}

function checkSeals(seals: readonly SealAt[], publicKey: KeyObject): Map<number, CheckedSeal[]> {
  const byPartition = new Map<number, SealAt[]>();
  for (const at of seals) {
    const list = byPartition.get(at.seal.partition) ?? [];
    list.push(at);
    byPartition.set(at.seal.partition, list);
  }
  const checked = new Map<number, CheckedSeal[]>();
  for (const [partition, list] of byPartition) {
    list.sort((a, b) => a.seal.sequence - b.seal.sequence);
    let previous: Buffer | null = null;
    checked.set(
      partition,
      list.map((at) => {
        const { seal } = at;
        const continues = previous === null ? seal.sequence === 1 : seal.previousLink.equals(previous);
        const valid = continues && sealSignatureValid(seal, publicKey) && foldLinks(seal.previousLink, seal.digests).equals(seal.link);
        previous = seal.link;
        return { at, valid, digests: new Set(seal.digests.map((d) => d.toString('hex'))) };
      }),
    );
  }
  return checked;
}

export function sealStatusOf(message: InMessage, seals: readonly CheckedSeal[]): SealStatus {
  const offset = Number(message.offset);
  const covering = seals.find((s) => s.at.seal.firstOffset <= offset && offset <= s.at.seal.lastOffset);
  if (!covering) {
    const last = seals[seals.length - 1];
    return last === undefined || offset > last.at.seal.lastOffset ? 'NOT_YET_SEALED' : 'NOT_COVERED';
  }
  if (!covering.valid) return 'BAD_SEAL';
  return covering.digests.has(recordDigest(message).toString('hex')) ? 'SEALED' : 'CHANGED';
}

/** The scan's options (person, window, requester, bound, principal), plus the index and the seals' key. */
export interface IndexedSearchOptions extends AuditSearchOptions {
  readonly pool: SqlPool;
  readonly key: Buffer;
  readonly publicKey: KeyObject;
  /** The indexer's consumer group, for its position; default `<prefix>.auditor.audit-index`. */
  readonly indexerGroupId?: string;
}

/** Null when the indexer's group cannot be read (another principal's group) or never committed (no indexer ran). */
async function indexLagOf(client: KafkaClient, topic: string, groupId: string): Promise<IndexedSearchResult['indexLag'] | null> {
  const admin = await client.admin();
  try {
    const [ends, committed] = await Promise.all([admin.topicOffsets(topic), admin.committedOffsets(groupId, [topic])]);
    const positions = new Map((committed.find((c) => c.topic === topic)?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
    if (![...positions.values()].some((offset) => offset >= 0n)) return null;
    return ends.map(({ partition, low, high }) => {
      const at = positions.get(partition) ?? -1n;
      return { partition, lag: Number(BigInt(high) - (at >= 0n ? at : BigInt(low))) };
    });
  } catch {
    return null;
  } finally {
    await admin.disconnect();
  }
}

/** The index row's time is the record's own `at`: the window filters rows as the scan filters records. */
export async function searchAuditIndex(options: IndexedSearchOptions): Promise<IndexedSearchResult> {
  const started = Date.now();
  const log = (options.logger ?? silentLogger).child({ module: 'audit-index-search' });
  const niss = auditKeyOf(options.niss);
  if (niss === '') throw new Error('no NISS to search for');
  const from = options.from ?? null;
  const to = options.to ?? null;
  const requester = options.requester ?? null;
  const timeoutMs = options.timeoutMs ?? 60_000;
  const groupPrefix = clientIdPrefix(options.topics, options.principal ?? 'auditor');
  const schema = schemaForTopic(options.topics.audit);

  let places;
  try {
    places = await findSubjectRecords(options.pool, schema, subjectHmac(options.key, niss), { from, to });
  } catch (cause) {
    throw new AuditIndexError('AUDIT_INDEX_UNAVAILABLE', `the index did not answer: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(new AuditSearchTimeoutError(timeoutMs, null, null, null)), timeoutMs);
  const indexerGroupId = options.indexerGroupId ?? `${clientIdPrefix(options.topics, 'auditor')}audit-index`;
  const indexLag = await indexLagOf(options.client, options.topics.audit, indexerGroupId);
  // No indexer ever committed a position for this topic: an empty answer would read as "nobody consulted".
  if (indexLag === null) throw new AuditIndexError('AUDIT_INDEX_NOT_BUILT', `no indexer position for ${options.topics.audit} (group ${indexerGroupId})`);
  let read;
  let seals;
  try {
    [read, seals] = await Promise.all([
      readOffsets(options.client, { topic: options.topics.audit, places, groupId: `${groupPrefix}audit-search.${randomUUID()}`, signal: deadline.signal }),
      readSeals({ client: options.client, codec: options.codec, topic: options.topics.auditSeals, groupPrefix, timeoutMs }),
    ]);
  } finally {
    clearTimeout(timer);
  }
  const checked = checkSeals(seals.seals, options.publicKey);
  const records: IndexedAuditEntry[] = [];
  const undecodable: Array<{ partition: number; offset: string }> = [];
  const key = Buffer.from(niss, 'utf8');
  for (const place of places) {
    const message = read.found.get(placeKey(place.partition, place.offset));
    if (!message) continue;
    // The index said this person; the record itself must say so too, or it is not reported as theirs.
    if (message.key === null || !key.equals(message.key) || message.value === null) {
      undecodable.push(place);
      continue;
    }
    let record: AuditRecordValue;
    try {
      record = options.codec.decode<AuditRecordValue>(EXCHANGE_RECORD.audit, message.value);
    } catch {
      undecodable.push(place);
      continue;
    }
    if ((from !== null && record.at < from) || (to !== null && record.at > to)) continue;
    const entry = toAuditEntry(record, message);
    if (requester !== null && !involves(entry, requester)) continue;
    records.push({ ...entry, seal: sealStatusOf(message, checked.get(message.partition) ?? []) });
  }
  records.sort((a, b) => a.at - b.at || a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset)));
  const partitions = new Set(places.map((p) => p.partition));
  const durationMs = Date.now() - started;
  log.info({ rows: places.length, matched: records.length, missing: read.missing.length, durationMs }, 'indexed audit search done');
  return {
    niss,
    from,
    to,
    requester,
    records,
    partition: partitions.size === 1 ? ([...partitions][0] as number) : -1,
    partitions: partitions.size,
    scanned: read.found.size,
    startOffset: places.length === 0 ? '0' : places.map((p) => BigInt(p.offset)).reduce((a, b) => (a < b ? a : b)).toString(),
    endOffset: places.length === 0 ? '0' : places.map((p) => BigInt(p.offset)).reduce((a, b) => (a > b ? a : b)).toString(),
    undecodable,
    missing: read.missing,
    durationMs,
    via: 'index',
    indexRows: places.length,
    indexLag,
  };
}
