import type { KafkaClient } from '../../src/messaging/kafka-client.js';
import { rawKafka } from '../support/raw-kafka.js';

/**
 * Who holds which partitions of a consumer group, as the broker sees it: for the fault tests that must
 * know which gateway process owned what when it was killed.
 */
export interface GroupMember {
  readonly memberId: string;
  readonly clientId: string;
  /** topic → partitions */
  readonly assignment: Record<string, number[]>;
}

export interface GroupState {
  readonly state: string;
  readonly members: readonly GroupMember[];
}

/**
 * The consumer protocol's assignment (version int16, [topic string, [partition int32]], user data):
 * decoded here rather than through the client library's internals.
 */
export function decodeAssignment(buffer: Buffer): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  if (buffer.length < 6) return out;
  let at = 2;
  const topics = buffer.readInt32BE(at);
  at += 4;
  for (let t = 0; t < topics; t++) {
    const length = buffer.readInt16BE(at);
    at += 2;
    const topic = buffer.toString('utf8', at, at + length);
    at += length;
    const count = buffer.readInt32BE(at);
    at += 4;
    const partitions: number[] = [];
    for (let p = 0; p < count; p++) {
      partitions.push(buffer.readInt32BE(at));
      at += 4;
    }
    out[topic] = partitions;
  }
  return out;
}

export async function describeGroup(client: KafkaClient, groupId: string): Promise<GroupState> {
  const admin = rawKafka(client.connection).admin();
  await admin.connect();
  try {
    const { groups } = await admin.describeGroups([groupId]);
    const group = groups[0];
    if (!group) return { state: 'Unknown', members: [] };
    return {
      state: group.state,
      members: group.members.map((m) => ({ memberId: m.memberId, clientId: m.clientId, assignment: decodeAssignment(m.memberAssignment) })),
    };
  } finally {
    await admin.disconnect();
  }
}

export function partitionsOf(member: GroupMember | undefined, topic: string): number[] {
  return [...(member?.assignment[topic] ?? [])].sort((a, b) => a - b);
}
