import type { DirectorySnapshotRecord } from '../contract/directory-records.js';
import { DIRECTORY_RECORD } from '../contract/names.js';
import type { AvroCodec } from '../messaging/avro-codec.js';
import type { KafkaClient } from '../messaging/kafka-client.js';
import { readTopicToEnd } from '../messaging/topic-reader.js';
import type { TopicNames } from '../messaging/topics.js';
import type { DirectoryStore } from '../store/directory-store.js';
import { fromSnapshotRecord } from './directory-messages.js';

/**
 * Restores the reference directory in Redis from the compacted changelog: each person's last snapshot
 * (or tombstone) is written, batch by batch, together with the changelog offset reached, so that an
 * interrupted rebuild resumes where it stopped (`resume: true`).
 */
export async function rebuildDirectory(deps: {
  client: KafkaClient;
  codec: AvroCodec;
  topics: TopicNames;
  store: DirectoryStore;
  resume?: boolean;
  onProgress?: (persons: number) => void;
  /** Prefix of the reading group, one the connected principal may use under its ACLs. */
  groupPrefix?: string;
}): Promise<{ persons: number }> {
  const startOffsets = deps.resume
    ? new Map([...(await deps.store.rebuildOffsets())].map(([p, o]) => [p, (BigInt(o) + 1n).toString()]))
    : undefined;
  // Counts snapshots applied (a person changed twice in the read counts twice; tombstones do not count).
  let persons = 0;
  await readTopicToEnd({
    client: deps.client,
    topic: deps.topics.directoryChangelog,
    ...(startOffsets ? { startOffsets } : {}),
    ...(deps.groupPrefix ? { groupPrefix: deps.groupPrefix } : {}),
    // Through every change written, not the stable offset: a change whose commit returned just before
    // (markers not yet written) would be missing from Redis for good — its command is already consumed.
    // An open transaction (a crashed writer's) is waited for until the broker aborts it.
    through: 'written',
    onBatch: async ({ partition, messages }) => {
      const last = messages[messages.length - 1];
      if (!last) return;
      const entries = messages.map((message) => {
        const niss = message.key?.toString('utf8') ?? '';
        if (!message.value) return { niss, lines: [] };
        const snapshot = deps.codec.decode<DirectorySnapshotRecord>(DIRECTORY_RECORD.snapshot, message.value);
        return { niss: snapshot.niss, lines: fromSnapshotRecord(snapshot) };
      });
      await deps.store.applyFromChangelog(entries.filter((e) => e.niss !== ''), partition, last.offset);
      persons += entries.filter((e) => e.lines.length > 0).length;
      deps.onProgress?.(persons);
    },
  });
  await deps.store.markPresent();
  return { persons };
}
