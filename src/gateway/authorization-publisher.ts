import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import { describeGrantedFields, describeGrantLimits, requesterDuties, type Deliberation } from '../domain/deliberation.js';
import { auditMessage, auditRecord } from '../contract/audit-records.js';
import type { AuthorizationSnapshot } from '../contract/authorization-records.js';
import { AUTHORIZATION_RECORD } from '../contract/names.js';
import type { Logger } from '../logging/logger.js';
import type { AvroCodec } from '../messaging/avro-codec.js';
import type { KafkaClient, OutMessage } from '../messaging/kafka-client.js';
import { readTopicToEnd } from '../messaging/topic-reader.js';
import type { TopicNames } from '../messaging/topics.js';

/**
 * Publishes the deliberations a gateway applies to the compacted `bcss.authorizations` topic and audits
 * every change of them: a deliberation added, changed (any rule: a version, a block, a retention) or
 * withdrawn since what the topic holds is an AUTHORIZATION_CHANGED record, written in the same Kafka
 * transaction as the new snapshot. Run at start, before the gateway applies the files: an operator who
 * edits a deliberation leaves a trace, whoever restarts which gateway.
 */

/** Stable JSON (keys sorted) so that the hash depends on content, never on key order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

export function deliberationHash(deliberation: Deliberation): string {
  // The file's path is where it was read, not what it says.
  const { file: _file, ...content } = deliberation;
  return createHash('sha256').update(canonical(content)).digest('hex');
}

function snapshotOf(deliberation: Deliberation, publishedAt: number): AuthorizationSnapshot {
  return {
    deliberation: deliberation.number,
    title: deliberation.title,
    requester: deliberation.requester,
    purpose: deliberation.purpose.code,
    viaBcss: deliberation.viaBcss,
    versions: deliberation.versions.map((v) => ({
      id: v.id,
      inForceFrom: v.inForce.from,
      inForceTo: v.inForce.to,
      services: v.services.map((s) => `${s.service}: ${s.blocks.join(', ')}`),
      fields: v.services.flatMap(describeGrantedFields),
      limits: v.services.flatMap((s) => describeGrantLimits(s).map((l) => `${s.service}: ${l}`)),
    })),
    requesterDuties: requesterDuties(deliberation),
    contentHash: deliberationHash(deliberation),
    sourceFile: basename(deliberation.file),
    publishedAt,
  };
}

export interface AuthorizationChanges {
  readonly added: readonly string[];
  readonly changed: readonly string[];
  readonly withdrawn: readonly string[];
}

export async function publishAuthorizations(deps: {
  client: KafkaClient;
  codec: AvroCodec;
  topics: TopicNames;
  deliberations: readonly Deliberation[];
  logger: Logger;
  /** Prefix of the reading group and the transactional id (the gateway's own, under ACLs). */
  instanceName: string;
}): Promise<AuthorizationChanges> {
  const published = new Map<string, string | null>();
  await readTopicToEnd({
    client: deps.client,
    topic: deps.topics.authorizations,
    groupPrefix: `${deps.instanceName}.authorizations-reader`,
    // Up to the high watermark, not the stable offset: a restart right after a publish whose commit
    // returned before the broker marked it would read nothing, and audit every deliberation ADDED again
    // (seen on the clustered stack).
    through: 'written',
    onBatch: async ({ messages }) => {
      for (const message of messages) {
        const key = message.key?.toString('utf8');
        if (!key) continue;
        published.set(key, message.value ? deps.codec.decode<AuthorizationSnapshot>(AUTHORIZATION_RECORD, message.value).contentHash : null);
      }
    },
  });

  const now = Date.now();
  const records: Array<OutMessage & { topic: string }> = [];
  const changes = { added: [] as string[], changed: [] as string[], withdrawn: [] as string[] };
  const current = new Set<string>();
  const ordered = [...deps.deliberations].sort((a, b) => (a.number < b.number ? -1 : a.number > b.number ? 1 : 0));
  for (const deliberation of ordered) {
    current.add(deliberation.number);
    const hash = deliberationHash(deliberation);
    const before = published.get(deliberation.number) ?? null;
    if (before === hash) continue;
    const kind = before === null ? 'ADDED' : 'CHANGED';
    (kind === 'ADDED' ? changes.added : changes.changed).push(deliberation.number);
    records.push({
      topic: deps.topics.authorizations,
      key: deliberation.number,
      value: deps.codec.encode(AUTHORIZATION_RECORD, snapshotOf(deliberation, now)),
    });
    const latest = deliberation.versions[deliberation.versions.length - 1];
    records.push(
      auditMessage(
        deps.codec,
        deps.topics,
        auditRecord('AUTHORIZATION_CHANGED', kind, {
          ticket: `${deliberation.number}@${hash.slice(0, 12)}`,
          at: now,
          requester: deliberation.requester,
          deliberation: deliberation.number,
          deliberationVersion: latest?.id ?? null,
          purpose: deliberation.purpose.code,
          service: [...new Set(deliberation.versions.flatMap((v) => v.services.map((s) => s.service)))].join(',') || null,
        }),
      ),
    );
  }
  for (const [number, hash] of published) {
    if (hash === null || current.has(number)) continue;
    changes.withdrawn.push(number);
    records.push({ topic: deps.topics.authorizations, key: number, value: null });
    records.push(
      auditMessage(deps.codec, deps.topics, auditRecord('AUTHORIZATION_CHANGED', 'WITHDRAWN', { ticket: number, at: now, deliberation: number })),
    );
  }
  if (records.length > 0) {
    const producer = await deps.client.transactionalProducer(`${deps.instanceName}.authorizations`);
    try {
      await producer.sendAtomically(records);
    } finally {
      await producer.disconnect();
    }
    deps.logger.child({ module: 'authorizations' }).info(changes, 'deliberations applied by this gateway changed: published and audited');
  }
  return changes;
}

