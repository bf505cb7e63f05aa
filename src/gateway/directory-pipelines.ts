import { employerLinkDemand, type AuthorizationIndex } from '../domain/authorization.js';
import { deintegrate, integrate, listFor, type Integration } from '../domain/directory.js';
import { REFUSAL_CODES, refusal, type Refusal } from '../domain/refusal-codes.js';
import { auditMessage, auditRecord } from '../contract/audit-records.js';
import { deadLetter } from '../contract/dead-letters.js';
import { checkDirectoryCommand, type DirectoryAckRecord, type DirectoryCommandRecord } from '../contract/directory-records.js';
import { DIRECTORY_RECORD, HEADER, MESSAGE_TYPE } from '../contract/names.js';
import type { Logger } from '../logging/logger.js';
import { CodecError, type AvroCodec } from '../messaging/avro-codec.js';
import type { InMessage, KafkaClient } from '../messaging/kafka-client.js';
import type { TopicNames } from '../messaging/topics.js';
import { runTransactionalPipeline, type OutRecord, type RunningPipeline } from '../messaging/transactional-pipeline.js';
import type { DirectoryStore } from '../store/directory-store.js';
import { NO_METRICS, type GatewayMetrics } from '../observability/metrics.js';
import { observedPipeline } from '../observability/pipeline-metrics.js';
import { rebuildDirectory } from './directory-rebuild.js';
import { toSnapshotRecord } from './directory-messages.js';

/**
 * The reference directory's two stages.
 *
 * Intake reads every institution's `bcss.<inst>.directory` topic, authenticates the command by its topic
 * and validates it; good commands go on `bcss.directory.commands` keyed by NISS, bad ones get a coded
 * refusal (and undecodable ones a dead-letter record). Commands about one person may come from several
 * institutions' topics: the second hop puts them in one partition, so one writer at a time changes a
 * person's lines.
 *
 * The writer applies commands in order to the person's lines (pure rules in src/domain/directory.ts),
 * writes Redis, and in one Kafka transaction with the consumed offsets publishes the new snapshot to
 * the compacted changelog, the acknowledgements and a DIRECTORY_CHANGED audit record per command
 * (refusals, at either stage, are audited as DIRECTORY_REFUSED in the same transaction as their ack). Redis is written before the commit so that the
 * next command about the same person reads its predecessor's result; if the commit then fails, the
 * commands are consumed again and, integrate and deintegrate being idempotent, give the same lines.
 */

export interface DirectoryPipelineDeps {
  readonly client: KafkaClient;
  readonly codec: AvroCodec;
  readonly topics: TopicNames;
  readonly store: DirectoryStore;
  readonly logger: Logger;
  /** Rebalances, aborted transactions and dead letters of the two stages. */
  readonly metrics?: GatewayMetrics;
  /** Consumer-group and transactional-id namespace (lets tests run isolated gateways). */
  readonly instanceName?: string;
  /**
   * The deliberations applied: an integration without employer is refused EMPLOYER_LINK_REQUIRED where
   * the institution's grants cover only a named employer–worker link. Absent: not checked (a directory
   * on its own, as the rebuild tool runs it).
   */
  readonly authorizations?: AuthorizationIndex;
}

function ack(
  codec: AvroCodec,
  topics: TopicNames,
  institution: string,
  key: Buffer | string | null,
  fields: Omit<DirectoryAckRecord, 'answeredAt' | 'bcssCode' | 'message' | 'status'> & { refusal?: Refusal },
): OutRecord {
  const { refusal, ...rest } = fields;
  const record: DirectoryAckRecord = {
    ...rest,
    status: refusal ? refusal.code : 'OK',
    bcssCode: refusal ? REFUSAL_CODES[refusal.code].bcssCode : null,
    message: refusal ? refusal.detail : 'applied',
    answeredAt: Date.now(),
  };
  return { topic: topics.replies(institution), key, value: codec.encode(DIRECTORY_RECORD.ack, record), headers: { [HEADER.type]: MESSAGE_TYPE.directoryAck } };
}

/**
 * The audit record of a directory command: who integrated (or deintegrated) whom, in which capacity,
 * for which period and employer — or which refusal it got. The ticket is the command's id.
 */
function directoryAudit(
  codec: AvroCodec,
  topics: TopicNames,
  institution: string,
  record: DirectoryCommandRecord | null,
  outcome: { refusal?: Refusal },
): OutRecord {
  const refused = outcome.refusal;
  const employer =
    record?.employerKind && record.employerId ? { kind: record.employerKind, id: record.employerId, category: null } : null;
  return auditMessage(
    codec,
    topics,
    auditRecord(refused ? 'DIRECTORY_REFUSED' : 'DIRECTORY_CHANGED', refused ? refused.code : 'OK', {
      ticket: record?.commandId || null,
      requester: institution,
      service: 'directory',
      // What the command asked for (INTEGRATE / DEINTEGRATE and the capacity), never more.
      purpose: record ? `${record.action}${record.capacity ? ` ${record.capacity}` : ''}` : null,
      subjectNiss: record?.niss || null,
      employer,
      effectivePeriods: record?.periodFrom ? [{ from: record.periodFrom, to: record.periodTo }] : [],
    }),
  );
}

export function directoryIntakeTransform(deps: Pick<DirectoryPipelineDeps, 'codec' | 'topics' | 'authorizations'>) {
  const { codec, topics } = deps;
  return async (messages: readonly InMessage[]) => {
    const records: OutRecord[] = [];
    for (const message of messages) {
      try {
        records.push(...intakeOne(message));
      } catch {
        // No message may stop its partition: whatever one does to the rules ends in the dead letters.
        records.push(deadLetter(codec, topics, message, 'INTERNAL_ERROR', 'the command could not be processed'));
      }
    }
    return { records };
  };

  function intakeOne(message: InMessage): OutRecord[] {
    const institution = topics.institutionOf(message.topic);
    const decoded = codec.tryDecode<DirectoryCommandRecord>(DIRECTORY_RECORD.command, message.value);
    if (decoded instanceof CodecError || institution === null) {
      const reason = decoded instanceof CodecError ? decoded.message : 'topic does not name an institution';
      const records = [deadLetter(codec, topics, message, decoded instanceof CodecError ? decoded.code : 'UNROUTABLE', reason)];
      if (institution !== null) {
        const refused: Refusal = { code: 'INVALID_MESSAGE', detail: `the directory command could not be decoded: ${reason}` };
        records.push(ack(codec, topics, institution, message.key, { commandId: null, niss: null, linesAfter: 0, refusal: refused }));
        records.push(directoryAudit(codec, topics, institution, null, { refusal: refused }));
      }
      return records;
    }
    let checked = checkDirectoryCommand(decoded, institution);
    if (!('code' in checked) && checked.action === 'INTEGRATE' && checked.command.employer === undefined && deps.authorizations) {
      // 10/012 §9, 19/104 §2: a line without employer would open every employer–worker link of the person.
      const demand = employerLinkDemand(deps.authorizations, institution, checked.command.capacity, checked.command.at.slice(0, 10));
      if (demand !== null) {
        checked = refusal(
          'EMPLOYER_LINK_REQUIRED',
          `deliberation ${demand.deliberation} (${demand.paragraphs}) covers only a named employer–worker link: integrate the person with the employer`,
        );
      }
    }
    if ('code' in checked) {
      return [
        ack(codec, topics, institution, message.key, { commandId: decoded.commandId, niss: null, linesAfter: 0, refusal: checked }),
        directoryAudit(codec, topics, institution, decoded, { refusal: checked }),
      ];
    }
    return [{ topic: topics.directoryCommands, key: decoded.niss, value: message.value as Buffer, headers: { [HEADER.institution]: institution } }];
  }
}

export function directoryWriterTransform(
  deps: Pick<DirectoryPipelineDeps, 'codec' | 'topics' | 'store'> & { recover: () => Promise<void> },
) {
  const { codec, topics, store } = deps;
  return async (messages: readonly InMessage[]) => {
    const records: OutRecord[] = [];
    const decoded: Array<{ message: InMessage; record: DirectoryCommandRecord }> = [];
    for (const message of messages) {
      const record = codec.tryDecode<DirectoryCommandRecord>(DIRECTORY_RECORD.command, message.value);
      if (record instanceof CodecError) records.push(deadLetter(codec, topics, message, record.code, record.message));
      else decoded.push({ message, record });
    }
    const nisses = decoded.map((d) => d.record.niss);
    // The presence check rides in the same auto-pipelined round trip as the reads. If Redis lost the
    // directory, writing now would publish snapshots without the lines it forgot: restore it from the
    // changelog, then read again.
    const [present, read] = await Promise.all([store.isPresent(), store.readMany(nisses)]);
    const current = present ? read : await deps.recover().then(() => store.readMany(nisses));
    const changed = new Map<string, { lines: Integration[]; commandId: string; institution: string }>();
    for (const { message, record } of decoded) {
      // Checked again: the commands topic is internal, but the writer trusts nothing it did not check.
      const checked = checkDirectoryCommand(record, record.institution);
      if ('code' in checked) {
        records.push(ack(codec, topics, record.institution, message.key, {
          commandId: record.commandId, niss: null, linesAfter: 0, refusal: checked,
        }));
        records.push(directoryAudit(codec, topics, record.institution, record, { refusal: checked }));
        continue;
      }
      const before = current.get(record.niss) ?? [];
      const after = checked.action === 'INTEGRATE' ? integrate(before, checked.command) : deintegrate(before, checked.command);
      current.set(record.niss, after);
      changed.set(record.niss, { lines: after, commandId: record.commandId, institution: record.institution });
      records.push(ack(codec, topics, record.institution, record.niss, {
        commandId: record.commandId, niss: record.niss, linesAfter: listFor(after, record.institution).length,
      }));
      records.push(directoryAudit(codec, topics, record.institution, record, {}));
    }
    await store.writeMany([...changed].map(([niss, { lines }]) => ({ niss, lines })));
    const changedAt = Date.now();
    for (const [niss, { lines, commandId, institution }] of changed) {
      records.push({
        topic: topics.directoryChangelog,
        key: niss,
        // A person with no line left is a tombstone: compaction forgets them.
        value: lines.length === 0
          ? (null as unknown as Buffer)
          : codec.encode(DIRECTORY_RECORD.snapshot, toSnapshotRecord(niss, lines, { changedAt, lastCommandId: commandId, lastInstitution: institution })),
      });
    }
    return { records };
  };
}

export async function startDirectoryPipelines(deps: DirectoryPipelineDeps): Promise<RunningPipeline> {
  const name = deps.instanceName ?? 'bcss-gateway';
  const logger = deps.logger.child({ module: 'directory' });
  const intake = await runTransactionalPipeline({
    client: deps.client,
    groupId: `${name}.directory-intake`,
    topics: [deps.topics.patterns.directory],
    transactionalIdPrefix: `${name}.directory-intake`,
    logger,
    ...observedPipeline(deps.metrics ?? NO_METRICS, {
      group: `${name}.directory-intake`,
      deadLetterTopic: deps.topics.deadLetter,
      transform: directoryIntakeTransform(deps),
    }),
  });
  const writer = await runTransactionalPipeline({
    client: deps.client,
    groupId: `${name}.directory-writer`,
    topics: [deps.topics.directoryCommands],
    transactionalIdPrefix: `${name}.directory-writer`,
    logger,
    ...observedPipeline(deps.metrics ?? NO_METRICS, {
      group: `${name}.directory-writer`,
      deadLetterTopic: deps.topics.deadLetter,
      transform: directoryWriterTransform({
        ...deps,
        recover: async () => {
          logger.warn('the directory is missing from Redis: rebuilding it from the changelog before applying commands');
          const { persons } = await rebuildDirectory({
            client: deps.client,
            codec: deps.codec,
            topics: deps.topics,
            store: deps.store,
            groupPrefix: `${name}.directory-rebuild`,
          });
          logger.info({ persons }, 'directory rebuilt from the changelog');
        },
      }),
    }),
  });
  return {
    async stop() {
      await Promise.all([intake.stop(), writer.stop()]);
    },
  };
}
