import type { KeyObject } from 'node:crypto';
import type { AuditSealValue } from '../contract/audit-records.js';
import { AUDIT_SEAL_RECORD } from '../contract/names.js';
import type { AvroCodec } from '../messaging/avro-codec.js';
import type { InMessage, KafkaClient } from '../messaging/kafka-client.js';
import { readTopicToEnd } from '../messaging/topic-reader.js';
import {
  checkPartition,
  keyIdOf,
  recordDigest,
  type PartitionCheck,
  type Problem,
  type SealAt,
  type VerifiedRecord,
} from './seal-chain.js';

/**
 * `bcss audit verify`: reads every record of the audit topic and every seal, recomputes each
 * partition's chain and compares it, record by record, with what the seals signed.
 *
 * It always reads each partition from its first record, whatever --from/--to say: a record's place in
 * the chain is its index in the partition, which only counting from the start gives (a seal's offsets
 * are those of the topic it sealed, and a copy — or a topic where records were removed — has others).
 * The window only narrows what is counted and reported; the seals, being the proof, are always
 * checked whole.
 */

/** The throw-away group of a read to the end: `<prefix>.<principal>.reader-<uuid>`, one the ACLs allow. */
function readerGroup(groupPrefix: string): string {
  return `${groupPrefix}reader`;
}

export interface UnreadableSeal {
  readonly offset: string;
  readonly error: string;
}

/** Every seal in the seals topic's order, with those that do not decode as AuditSeal apart. */
export async function readSeals(options: {
  readonly client: KafkaClient;
  readonly codec: AvroCodec;
  readonly topic: string;
  readonly groupPrefix: string;
  readonly timeoutMs?: number;
  /** Sees each message of the seals topic as stored (an export hands the seals' bytes over). */
  readonly onMessage?: (message: InMessage) => void;
}): Promise<{ seals: SealAt[]; unreadable: UnreadableSeal[] }> {
  const seals: SealAt[] = [];
  const unreadable: UnreadableSeal[] = [];
  await readTopicToEnd({
    client: options.client,
    groupPrefix: readerGroup(options.groupPrefix),
    topic: options.topic,
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    async onBatch({ messages }) {
      for (const message of messages) {
        options.onMessage?.(message);
        try {
          if (!message.value) throw new Error('empty message');
          seals.push({ seal: options.codec.decode<AuditSealValue>(AUDIT_SEAL_RECORD, message.value), offset: message.offset });
        } catch (error) {
          unreadable.push({ offset: message.offset, error: error instanceof Error ? error.message : String(error) });
        }
      }
    },
  });
  // One partition keeps the order; sorting by offset also keeps it should the topic ever have more.
  seals.sort((a, b) => (BigInt(a.offset) < BigInt(b.offset) ? -1 : 1));
  return { seals, unreadable };
}

export interface VerifyAuditOptions {
  readonly client: KafkaClient;
  readonly codec: AvroCodec;
  /** The audit topic (or a copy of it). */
  readonly topic: string;
  readonly sealsTopic: string;
  readonly publicKey: KeyObject;
  /** Groups the reads join: `<prefix>.<principal>.` of the principal the client is. */
  readonly groupPrefix: string;
  /** Only records stamped (broker timestamp, ms) within [from, to] are counted and reported. */
  readonly from?: number;
  readonly to?: number;
  readonly maxProblemsPerPartition?: number;
  readonly timeoutMs?: number;
}

export interface AuditVerifyReport {
  readonly topic: string;
  readonly sealsTopic: string;
  readonly keyId: string;
  readonly partitions: readonly PartitionCheck[];
  /** Seals that are not AuditSeal records: the seals topic itself was tampered with. */
  readonly unreadableSeals: readonly UnreadableSeal[];
  /** Partitions that seals name but the topic does not have (a copy of one partition, or a shrunk topic). */
  readonly partitionsNotInTopic: readonly number[];
  /** No tampering found; records not sealed yet do not count against it. */
  readonly ok: boolean;
  readonly firstProblem: Problem | null;
  readonly recordsChecked: number;
  readonly sealsChecked: number;
  readonly unsealedRecords: number;
  readonly elapsedMs: number;
}

export async function verifyAudit(options: VerifyAuditOptions): Promise<AuditVerifyReport> {
  const started = Date.now();
  const { seals, unreadable } = await readSeals({
    client: options.client,
    codec: options.codec,
    topic: options.sealsTopic,
    groupPrefix: options.groupPrefix,
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
  });

  const admin = await options.client.admin();
  const partitionsOfTopic = await admin
    .topicOffsets(options.topic)
    .then((offsets) => offsets.map((o) => o.partition).sort((a, b) => a - b))
    .finally(() => admin.disconnect());

  const records = new Map<number, VerifiedRecord[]>(partitionsOfTopic.map((p) => [p, []]));
  await readTopicToEnd({
    client: options.client,
    groupPrefix: readerGroup(options.groupPrefix),
    topic: options.topic,
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    async onBatch({ partition, messages }) {
      let list = records.get(partition);
      if (!list) records.set(partition, (list = []));
      for (const message of messages) {
        list.push({ offset: message.offset, digest: recordDigest(message), timestamp: Number(message.timestamp) });
      }
    },
  });

  const sealsByPartition = new Map<number, SealAt[]>();
  for (const at of seals) {
    let list = sealsByPartition.get(at.seal.partition);
    if (!list) sealsByPartition.set(at.seal.partition, (list = []));
    list.push(at);
  }

  const window = {
    ...(options.from === undefined ? {} : { from: options.from }),
    ...(options.to === undefined ? {} : { to: options.to }),
  };
  const partitions = [...records.keys()]
    .sort((a, b) => a - b)
    .map((partition) =>
      checkPartition({
        partition,
        records: (records.get(partition) ?? []).sort((a, b) => (BigInt(a.offset) < BigInt(b.offset) ? -1 : 1)),
        seals: sealsByPartition.get(partition) ?? [],
        publicKey: options.publicKey,
        window,
        ...(options.maxProblemsPerPartition === undefined ? {} : { maxProblems: options.maxProblemsPerPartition }),
      }),
    );

  const firstProblem = partitions.flatMap((p) => p.problems)[0] ?? null;
  return {
    topic: options.topic,
    sealsTopic: options.sealsTopic,
    keyId: keyIdOf(options.publicKey),
    partitions,
    unreadableSeals: unreadable,
    partitionsNotInTopic: [...sealsByPartition.keys()].filter((p) => !records.has(p)).sort((a, b) => a - b),
    ok: firstProblem === null && unreadable.length === 0,
    firstProblem,
    recordsChecked: partitions.reduce((sum, p) => sum + p.recordsChecked, 0),
    sealsChecked: partitions.reduce((sum, p) => sum + p.sealsChecked, 0),
    unsealedRecords: partitions.reduce((sum, p) => sum + (p.unsealedTail?.count ?? 0), 0),
    elapsedMs: Date.now() - started,
  };
}
