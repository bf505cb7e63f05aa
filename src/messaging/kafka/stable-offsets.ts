import type { Admin } from 'kafkajs';
import { kafkajsOf } from './client.js';
import { toMessagingError } from './errors.js';
import { COORDINATOR_GROUP, createErrorFromCode, Decoder, Encoder, noTags, readTopicPartitions, withCluster, type InternalCluster, type KafkajsProtocolRequest } from './kafkajs-internals.js';
import type { KafkaClient } from './types.js';

/**
 * A group's committed offsets as they stand once no transaction that carries offsets for them is
 * pending: OffsetFetch version 7 with `require_stable` (KIP-447), which kafkajs 2.2.4 lacks (it speaks
 * v1–v4). Without it the group coordinator answers with the offsets committed before a transaction
 * that is still being completed — a consumer starting there consumes again what that transaction,
 * once committed, has already answered. With it, a partition with such offsets answers
 * UNSTABLE_OFFSET_COMMIT until the transaction is completed, and the question is asked again.
 *
 * Schema (Kafka's OffsetFetchRequest.json / Response.json; v6 is the first flexible version):
 *   Request v7 => group_id [topics] require_stable TAG_BUFFER
 *     topics => name [partition_indexes] TAG_BUFFER
 *   Response v7 => throttle_time_ms [topics] error_code TAG_BUFFER
 *     topics => name [partitions] TAG_BUFFER
 *       partitions => partition_index committed_offset committed_leader_epoch metadata error_code TAG_BUFFER
 */

export const OFFSET_FETCH_API_KEY = 9;
export const OFFSET_FETCH_STABLE_VERSION = 7;
const UNSTABLE_OFFSET_COMMIT = 88;

export interface OffsetFetchV7Result {
  readonly throttleTimeMs: number;
  readonly errorCode: number;
  readonly topics: Array<{ topic: string; partitions: Array<{ partition: number; offset: bigint; errorCode: number }> }>;
}

export function offsetFetchV7(
  groupId: string,
  topics: ReadonlyArray<{ readonly topic: string; readonly partitions: readonly number[] }>,
  requireStable: boolean,
): KafkajsProtocolRequest<OffsetFetchV7Result> {
  return {
    request: {
      apiKey: OFFSET_FETCH_API_KEY,
      apiVersion: OFFSET_FETCH_STABLE_VERSION,
      apiName: 'OffsetFetch',
      encode: async () => {
        const topicEncoders = topics.map(({ topic, partitions }) => {
          const encoder = new Encoder().writeUVarIntString(topic).writeUVarInt(partitions.length + 1);
          for (const partition of partitions) encoder.writeInt32(partition);
          return noTags(encoder);
        });
        // kafkajs writes request header v1; the flexible header v2 adds a tagged-field section after
        // the client id, so the body starts with it (as in txn-offset-commit-v3.ts).
        const encoder = noTags(new Encoder()).writeUVarIntString(groupId).writeUVarIntArray(topicEncoders, 'object').writeBoolean(requireStable);
        return noTags(encoder);
      },
    },
    response: {
      decode: async (payload) => {
        const decoder = new Decoder(payload);
        decoder.readTaggedFields();
        const throttleTimeMs = decoder.readInt32();
        const read = readTopicPartitions(decoder, (p) => {
          const partition = p.readInt32();
          const offset = p.readInt64();
          p.readInt32(); // committed_leader_epoch
          p.readUVarIntString(); // metadata
          return { partition, offset, errorCode: p.readInt16() };
        });
        const errorCode = decoder.readInt16();
        decoder.readTaggedFields();
        return { throttleTimeMs, errorCode, topics: read };
      },
      // A group-level error (not the coordinator, not authorised) becomes kafkajs's protocol error;
      // partition-level ones (UNSTABLE_OFFSET_COMMIT above all) are left to the caller.
      parse: async (result) => {
        if (result.errorCode !== 0) throw createErrorFromCode(result.errorCode);
        for (const { partitions } of result.topics) {
          const failed = partitions.find((p) => p.errorCode !== 0 && p.errorCode !== UNSTABLE_OFFSET_COMMIT);
          if (failed) throw createErrorFromCode(failed.errorCode);
        }
        return result;
      },
    },
  };
}

export interface StableOffsetReader {
  /**
   * The group's committed offset of a partition (the next offset to consume), or null if none was
   * committed, once no transaction carrying offsets for it is pending. Fails (MessagingError) if it
   * stays unstable longer than `patienceMs` or the coordinator keeps failing.
   */
  committed(topic: string, partition: number): Promise<bigint | null>;
  disconnect(): Promise<void>;
}

/** Errors after which the coordinator is found and asked again. */
const RETRIABLE = new Set(['COORDINATOR_LOAD_IN_PROGRESS', 'NOT_COORDINATOR', 'COORDINATOR_NOT_AVAILABLE', 'UNSTABLE_OFFSET_COMMIT']);

export function stableOffsetReader(client: KafkaClient, groupId: string, { patienceMs = 60_000 } = {}): StableOffsetReader {
  const kafka = kafkajsOf(client);
  let connected: Promise<{ admin: Admin; cluster: InternalCluster }> | null = null;
  const connect = () => {
    if (!connected) {
      const { made: admin, cluster } = withCluster(kafka, () => kafka.admin());
      connected = admin.connect().then(() => ({ admin, cluster }));
      connected.catch(() => (connected = null));
    }
    return connected;
  };

  const askOnce = async (topic: string, partition: number): Promise<bigint | null> => {
    const { cluster } = await connect();
    const coordinator = await cluster.findGroupCoordinator({ groupId, coordinatorType: COORDINATOR_GROUP });
    const supported = coordinator.versions?.[OFFSET_FETCH_API_KEY]?.maxVersion ?? -1;
    if (supported < OFFSET_FETCH_STABLE_VERSION) {
      throw new TypeError(`the group coordinator speaks OffsetFetch up to v${supported}; v${OFFSET_FETCH_STABLE_VERSION} (Kafka 2.5+) is needed`);
    }
    const result = await coordinator.connectionPool.send(offsetFetchV7(groupId, [{ topic, partitions: [partition] }], true));
    const found = result.topics.find((t) => t.topic === topic)?.partitions.find((p) => p.partition === partition);
    if (found?.errorCode === UNSTABLE_OFFSET_COMMIT) throw createErrorFromCode(UNSTABLE_OFFSET_COMMIT);
    return found && found.offset >= 0n ? found.offset : null;
  };

  return {
    async committed(topic, partition) {
      const deadline = Date.now() + patienceMs;
      for (let attempt = 0; ; attempt++) {
        try {
          return await askOnce(topic, partition);
        } catch (error) {
          const failure = toMessagingError(error);
          if (!RETRIABLE.has(failure.type) || Date.now() >= deadline) throw failure;
          // A transaction's markers take milliseconds; a coordinator moving takes seconds.
          await new Promise((resolve) => setTimeout(resolve, Math.min(20 * 2 ** attempt, 1_000)));
        }
      }
    },
    async disconnect() {
      const current = connected;
      connected = null;
      if (current) await current.then(({ admin }) => admin.disconnect()).catch(() => undefined);
    },
  };
}
