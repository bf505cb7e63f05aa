import { randomUUID } from 'node:crypto';
import type { AuditSealValue } from '../contract/audit-records.js';
import { AUDIT_SEAL_RECORD, HEADER, MESSAGE_TYPE } from '../contract/names.js';
import type { Logger } from '../logging/logger.js';
import type { AvroCodec } from '../messaging/avro-codec.js';
import {
  toMessagingError,
  type BatchContext,
  type KafkaClient,
  type MessageConsumer,
  type TransactionalProducer,
} from '../messaging/kafka-client.js';
import type { TopicNames } from '../messaging/topics.js';
import type { SealProgress } from '../observability/metrics.js';
import { buildSeal, positionAfter, recordDigest, startOfChain, type ChainPosition } from './seal-chain.js';
import type { SealKey } from './seal-key.js';
import { readSeals } from './verify.js';

/**
 * The audit sealer: per audit partition, in offset order, it extends the hash chain over every
 * committed record (read_committed: an aborted transaction's records were never part of the trail) and
 * publishes a signed seal on the seals topic every `everyRecords` records, or once the oldest record
 * not yet sealed has waited `everyMs`.
 *
 * The seals topic is its only memory. At start it reads the seals to their end, takes each
 * partition's last seal (link, record count, last offset) and seeks the partition right after that
 * offset: nothing before it is read again, and a record read but not sealed before a stop is simply
 * read again. Consumer-group offsets are never used for that, since they run ahead of the last seal;
 * each start reads in a group of its own, so that no other member's commits can move its position.
 *
 * One sealer writes a switch's seals at a time. Seals are written in Kafka transactions under one
 * transactional id (`<prefix>.<principal>.seals`), claimed at start BEFORE the seals are read: the
 * claim fences any sealer that ran before (its open transaction is aborted, its next one refused), so
 * what this one reads is final, and a sealer that finds itself fenced stops sealing instead of writing
 * a second chain of seals. A send that fails otherwise leaves the sealer unsure whether the seal was
 * written, so it reads the seals again and resumes from what is there.
 */

export const DEFAULT_SEAL_EVERY_RECORDS = 1_000;
export const DEFAULT_SEAL_EVERY_MS = 10_000;
/** A seal carries 32 bytes per record: 10,000 records keep it well under the broker's 1 MB message limit. */
export const MAX_SEAL_RECORDS = 10_000;
export const DEFAULT_SEALER_PRINCIPAL = 'audit-sealer';

export interface AuditSealerOptions {
  /** Connected as the sealer's principal (READ audit, WRITE audit seals). */
  readonly client: KafkaClient;
  readonly codec: AvroCodec;
  readonly topics: TopicNames;
  readonly key: SealKey;
  readonly logger: Logger;
  readonly everyRecords?: number;
  readonly everyMs?: number;
  /** The topic prefix (`bcss`): groups are `<groupPrefix>.<principal>.…`, the only ones its ACLs allow. */
  readonly groupPrefix: string;
  /** The sealer's principal name (institutions.yaml `sealer`); default audit-sealer. */
  readonly principal?: string;
  /** Told where each partition's chain stands, at start and after each seal (the sealer-lag metrics). */
  readonly progress?: SealProgress;
}

export interface SealerPartitionStatus {
  readonly partition: number;
  /** Last seal published (0: none yet), records it covers, last offset sealed. */
  readonly sequence: number;
  readonly records: number;
  readonly lastOffset: number | null;
  /** Records read and not yet sealed. */
  readonly pending: number;
}

/** Kafka's answers to a producer whose transactional id a newer producer claimed. */
const FENCED = new Set(['INVALID_PRODUCER_EPOCH', 'PRODUCER_FENCED']);

export interface RunningAuditSealer {
  /**
   * Stops reading, then (unless `sealPending: false`, which leaves them as a crash would) seals what
   * was read and not sealed yet.
   */
  stop(options?: { sealPending?: boolean }): Promise<void>;
  status(): SealerPartitionStatus[];
  /** False once stopped, or once another sealer took over the seals (this one then seals nothing more). */
  active(): boolean;
}

interface Pending {
  readonly digests: Buffer[];
  readonly firstOffset: bigint;
  lastOffset: bigint;
  readonly since: number;
}

interface PartitionState {
  position: ChainPosition;
  /** The next offset the chain takes; anything before it was sealed (or is being read again). */
  nextOffset: bigint;
  pending: Pending | null;
}

function positiveInteger(name: string, value: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isInteger(value) || value <= 0 || value > max) throw new Error(`${name} must be a whole number from 1 to ${max}, not ${value}`);
  return value;
}

export async function startAuditSealer(options: AuditSealerOptions): Promise<RunningAuditSealer> {
  const everyRecords = positiveInteger('everyRecords', options.everyRecords ?? DEFAULT_SEAL_EVERY_RECORDS, MAX_SEAL_RECORDS);
  const everyMs = positiveInteger('everyMs', options.everyMs ?? DEFAULT_SEAL_EVERY_MS);
  const { client, codec, topics, key } = options;
  const log = options.logger.child({ module: 'audit-sealer' });
  const groupPrefix = `${options.groupPrefix}.${options.principal ?? DEFAULT_SEALER_PRINCIPAL}.`;
  const states = new Map<number, PartitionState>();
  const lastSealedAt = new Map<number, number>();

  // Everything that touches the states runs one at a time: batches, the timer's seals, a resync, stop.
  let queue: Promise<unknown> = Promise.resolve();
  const serially = <T>(task: () => Promise<T>): Promise<T> => {
    const run = queue.then(task, task);
    queue = run.catch(() => undefined);
    return run;
  };

  /** Each partition's position after its last seal, as the seals topic says. */
  const lastSeals = async (): Promise<Map<number, ChainPosition>> => {
    const { seals, unreadable } = await readSeals({ client, codec, topic: topics.auditSeals, groupPrefix });
    for (const bad of unreadable) log.warn({ offset: bad.offset, error: bad.error }, 'a message of the seals topic is not a seal');
    const positions = new Map<number, ChainPosition>();
    for (const { seal } of seals) {
      positions.set(seal.partition, positionAfter(seal));
      lastSealedAt.set(seal.partition, seal.sealedAt);
    }
    return positions;
  };

  const logStart = async (): Promise<Map<number, bigint>> => {
    const admin = await client.admin();
    try {
      return new Map((await admin.topicOffsets(topics.audit)).map((o) => [o.partition, BigInt(o.low)]));
    } finally {
      await admin.disconnect();
    }
  };

  let consumer: MessageConsumer | undefined;
  /** A seal failed and may or may not have been written: the seals are read again before going on. */
  let needsResync = false;
  /** Another sealer claimed the transactional id: this one seals nothing more. */
  let fenced = false;

  const reposition = async (): Promise<void> => {
    const [positions, starts] = await Promise.all([lastSeals(), logStart()]);
    states.clear();
    for (const [partition, low] of starts) {
      const position = positions.get(partition) ?? startOfChain(partition);
      const nextOffset = position.lastOffset === null ? low : BigInt(position.lastOffset) + 1n;
      states.set(partition, { position, nextOffset, pending: null });
      options.progress?.sealedUpTo(partition, nextOffset, lastSealedAt.get(partition) ?? null);
      consumer?.seek(topics.audit, partition, nextOffset.toString());
    }
    log.info(
      { partitions: [...states.values()].map((s) => ({ partition: s.position.partition, seals: s.position.sequence, from: s.nextOffset.toString() })) },
      'audit chains resumed after their last seals',
    );
  };

  const seal = async (producer: TransactionalProducer, state: PartitionState): Promise<void> => {
    const pending = state.pending;
    if (!pending) return;
    const value: AuditSealValue = buildSeal(
      state.position,
      { digests: pending.digests, firstOffset: Number(pending.firstOffset), lastOffset: Number(pending.lastOffset) },
      { privateKey: key.privateKey, keyId: key.keyId, sealedAt: Date.now() },
    );
    try {
      await producer.sendAtomically([
        {
          topic: topics.auditSeals,
          key: String(value.partition),
          value: codec.encode(AUDIT_SEAL_RECORD, value),
          headers: {
            [HEADER.type]: MESSAGE_TYPE.auditSeal,
            [HEADER.partition]: String(value.partition),
            [HEADER.sequence]: String(value.sequence),
          },
        },
      ]);
    } catch (error) {
      if (FENCED.has(toMessagingError(error).type)) {
        fenced = true;
        log.error('another audit sealer took over the seals of this switch: this one stops sealing');
        // Not awaited: the consumer's disconnect waits for the batch that is calling this.
        setImmediate(() => void consumer?.disconnect().catch(() => undefined));
        return;
      }
      needsResync = true;
      throw error;
    }
    state.position = positionAfter(value);
    state.pending = null;
    options.progress?.sealedUpTo(value.partition, BigInt(value.lastOffset) + 1n, value.sealedAt);
    log.debug({ partition: value.partition, sequence: value.sequence, records: value.records }, 'audit seal published');
  };

  /** After a failed seal: start again from what the seals topic holds. */
  const resyncIfNeeded = async (): Promise<void> => {
    if (!needsResync) return;
    await reposition();
    needsResync = false;
  };

  const producer = await client.transactionalProducer(`${groupPrefix}seals`);
  try {
    // The claim: an empty transaction fences the sealer that held the id before, so the seals read
    // next can no longer change under this one.
    await producer.sendAtomically([]);
    await reposition();
  } catch (error) {
    await producer.disconnect().catch(() => undefined);
    throw error;
  }

  const onBatch = async (batch: BatchContext): Promise<void> => {
    // A batch fetched before a seek is stale: the records it holds are read again from the new position.
    if (!batch.isRunning()) return;
    let state = states.get(batch.partition);
    if (!state) {
      // A partition added to the topic since the start: its chain begins at its first record.
      const low = (await logStart()).get(batch.partition) ?? 0n;
      state = { position: startOfChain(batch.partition), nextOffset: low, pending: null };
      states.set(batch.partition, state);
      options.progress?.sealedUpTo(batch.partition, low, null);
      consumer?.seek(topics.audit, batch.partition, low.toString());
      return;
    }
    for (const message of batch.messages) {
      const offset = BigInt(message.offset);
      if (offset < state.nextOffset) continue;
      const digest = recordDigest(message);
      if (state.pending) {
        state.pending.digests.push(digest);
        state.pending.lastOffset = offset;
      } else {
        state.pending = { digests: [digest], firstOffset: offset, lastOffset: offset, since: Date.now() };
      }
      state.nextOffset = offset + 1n;
      if (state.pending.digests.length >= everyRecords) await seal(producer, state);
      if (fenced) return;
    }
  };

  let stopping = false;
  try {
    consumer = await client.consumer({
      groupId: `${groupPrefix}sealer-${randomUUID()}`,
      topics: [topics.audit],
      fromBeginning: true,
      readCommitted: true,
    });
  } catch (error) {
    await producer.disconnect().catch(() => undefined);
    throw error;
  }
  let ready!: () => void;
  const started = new Promise<void>((resolve) => (ready = resolve));
  await consumer.run(async (batch) => {
    await started;
    await serially(async () => {
      if (stopping || fenced) return;
      await resyncIfNeeded();
      await onBatch(batch);
    }).catch((error: unknown) => {
      // Not thrown to the consumer: the records are read again from the last seal once the seals are re-read.
      needsResync = true;
      log.error({ err: error, partition: batch.partition }, 'sealing failed; resuming from the last seal');
    });
  });
  // The positions were read before the consumer existed: seek now (the first fetch waits for `started`).
  for (const state of states.values()) consumer.seek(topics.audit, state.position.partition, state.nextOffset.toString());
  ready();

  const sealDue = async (): Promise<void> => {
    if (stopping || fenced) return;
    await resyncIfNeeded();
    const now = Date.now();
    for (const state of states.values()) {
      if (fenced) return;
      if (state.pending && now - state.pending.since >= everyMs) await seal(producer, state);
    }
  };
  const tick = Math.min(1_000, Math.max(50, Math.floor(everyMs / 4)));
  const timer = setInterval(() => {
    void serially(sealDue).catch((error: unknown) => log.error({ err: error }, 'sealing failed; resuming from the last seal'));
  }, tick);

  log.info({ everyRecords, everyMs, keyId: key.keyId }, 'audit sealer started');
  return {
    async stop(stopOptions = {}) {
      clearInterval(timer);
      // The consumer first, so that no batch adds records while the last seals are made.
      await consumer.disconnect();
      await serially(async () => {
        stopping = true;
        if (stopOptions.sealPending === false || needsResync || fenced) return;
        for (const state of states.values()) await seal(producer, state);
      }).catch((error: unknown) => log.error({ err: error }, 'sealing at stop failed; the next start reads those records again'));
      await producer.disconnect();
    },
    active: () => !stopping && !fenced,
    status: () =>
      [...states.values()]
        .map((s) => ({
          partition: s.position.partition,
          sequence: s.position.sequence,
          records: s.position.records,
          lastOffset: s.position.lastOffset,
          pending: s.pending?.digests.length ?? 0,
        }))
        .sort((a, b) => a.partition - b.partition),
  };
}
