import { createErrorFromCode, Decoder, Encoder, noTags, readTopicPartitions, type KafkajsProtocolRequest } from './kafkajs-internals.js';

/**
 * TxnOffsetCommit version 3 (KIP-447), which kafkajs 2.2.4 lacks (it speaks v0–v1): the transactional
 * offset commit names the consumer's group generation and member id, and the group coordinator refuses
 * it (ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID) when the member is no longer the one
 * the group gave the partitions to. Encoded with kafkajs's own encoder and sent on its connection.
 *
 * Schema (Kafka's TxnOffsetCommitRequest.json / Response.json; v3 is the first flexible version:
 * compact strings and arrays, a tagged-field section after each structure):
 *   Request v3 => transactional_id group_id producer_id producer_epoch generation_id member_id
 *                 group_instance_id [topics] TAG_BUFFER
 *     topics => name [partitions] TAG_BUFFER
 *       partitions => partition_index committed_offset committed_leader_epoch committed_metadata TAG_BUFFER
 *   Response v3 => throttle_time_ms [topics] TAG_BUFFER
 *     topics => name [partitions] TAG_BUFFER
 *       partitions => partition_index error_code TAG_BUFFER
 */

export const TXN_OFFSET_COMMIT_API_KEY = 28;
export const TXN_OFFSET_COMMIT_VERSION = 3;

/** Who commits: the group member the offsets belong to, as its last JoinGroup told it. */
export interface GroupMembership {
  readonly memberId: string;
  readonly generationId: number;
  /** Static membership (group.instance.id); the switch's consumers are dynamic members: null. */
  readonly groupInstanceId: string | null;
}

export interface TxnOffsetCommitV3 {
  readonly transactionalId: string;
  readonly groupId: string;
  readonly producerId: string;
  readonly producerEpoch: number;
  readonly membership: GroupMembership;
  /** Offsets as strings (int64): the next offset to read, per partition. */
  readonly topics: ReadonlyArray<{ readonly topic: string; readonly partitions: ReadonlyArray<{ readonly partition: number; readonly offset: string }> }>;
}

/** The per-partition outcome; 0 is success, anything else a Kafka error code. */
export interface TxnOffsetCommitV3Result {
  readonly throttleTimeMs: number;
  readonly topics: Array<{ topic: string; partitions: Array<{ partition: number; errorCode: number }> }>;
}

export function txnOffsetCommitV3(commit: TxnOffsetCommitV3): KafkajsProtocolRequest<TxnOffsetCommitV3Result> {
  return {
    request: {
      apiKey: TXN_OFFSET_COMMIT_API_KEY,
      apiVersion: TXN_OFFSET_COMMIT_VERSION,
      apiName: 'TxnOffsetCommit',
      encode: async () => {
        const topics = commit.topics.map(({ topic, partitions }) =>
          noTags(
            new Encoder().writeUVarIntString(topic).writeUVarIntArray(
              partitions.map(({ partition, offset }) =>
                noTags(new Encoder().writeInt32(partition).writeInt64(offset).writeInt32(-1).writeUVarIntString(null)),
              ),
              'object',
            ),
          ),
        );
        // kafkajs writes request header v1 and appends the body right after the client id: the flexible
        // header v2 differs only by a tagged-field section there, so the body starts with it.
        const encoder = noTags(new Encoder())
          .writeUVarIntString(commit.transactionalId)
          .writeUVarIntString(commit.groupId)
          .writeInt64(commit.producerId)
          .writeInt16(commit.producerEpoch)
          .writeInt32(commit.membership.generationId)
          .writeUVarIntString(commit.membership.memberId)
          .writeUVarIntString(commit.membership.groupInstanceId)
          .writeUVarIntArray(topics, 'object');
        return noTags(encoder);
      },
    },
    response: {
      decode: async (payload) => {
        const decoder = new Decoder(payload);
        // Response header v1 (flexible): its tagged fields follow the correlation id kafkajs has read.
        decoder.readTaggedFields();
        const throttleTimeMs = decoder.readInt32();
        const topics = readTopicPartitions(decoder, (p) => ({ partition: p.readInt32(), errorCode: p.readInt16() }));
        decoder.readTaggedFields();
        return { throttleTimeMs, topics };
      },
      // The first failed partition becomes kafkajs's protocol error (type, retriable), as for v0–v1.
      parse: async (result) => {
        for (const { partitions } of result.topics) {
          const failed = partitions.find((p) => p.errorCode !== 0);
          if (failed) throw createErrorFromCode(failed.errorCode);
        }
        return result;
      },
    },
  };
}
