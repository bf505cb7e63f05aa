import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { loadAuthorizations } from '../../src/config/load-authorizations.js';
import { loadCatalogue } from '../../src/config/load-catalogue.js';
import { loadInstitutions } from '../../src/config/load-institutions.js';
import { payloadRecordNames } from '../../src/config/payload-records.js';
import { DEFAULT_CONFIG_DIR, SCHEMA_DIR } from '../../src/config/project-paths.js';
import type { Catalogue } from '../../src/domain/catalogue.js';
import type { Deliberation } from '../../src/domain/deliberation.js';
import { RECORD, type DirectoryAckRecord, type DirectoryCommandRecord } from '../../src/gateway/directory-messages.js';
import {
  EXCHANGE_RECORD,
  type AuditRecordValue,
  type ReplyRecord,
  type RequestRecord,
} from '../../src/gateway/exchange-messages.js';
import { startGateway } from '../../src/gateway/gateway.js';
import { MUTATION_RECORD, type SourceMutationRecord } from '../../src/gateway/mutation-pipeline.js';
import { silentLogger } from '../../src/logging/logger.js';
import type { InMessage, MessageConsumer, MessageProducer } from '../../src/messaging/kafka-client.js';
import { readTopicToEnd } from '../../src/messaging/topic-reader.js';
import type { RunningPipeline } from '../../src/messaging/transactional-pipeline.js';
import type { SampleIntegration } from '../../src/sources/sample-directory.js';
import { startSourceSimulators } from '../../src/sources/simulator-service.js';
import { createSyntheticPopulation } from '../../src/sources/synthetic-population.js';
import { createPendingStore, type PendingStore } from '../../src/store/pending-store.js';
import { redisKeys } from '../../src/store/keys.js';
import { createGatewayFixture, type GatewayFixture } from './gateway-fixture.js';
import { uniqueName, waitFor } from './kafka-helpers.js';
import type { TestStack } from './stack-context.js';

/**
 * The way an institution asks and is answered: its requests and replies topics (`replies`), or its
 * consultation application's consultation-requests and consultations topics (`consultation`; 19/010 §37:
 * ONVA's inspectors through DOLSIS, data shown and never stored).
 */
export type RequestChannel = 'consultation' | 'replies';

export interface ChannelOption {
  /**
   * The channel the request goes out on and its answer is expected on. Default: `consultation` for an
   * institution with a consultation application whose every deliberation (as requester) in the loaded
   * config is consultation-only (ONVA, 19/010), since that is how that institution's software asks;
   * `replies` for every other one.
   * Pass `replies` explicitly to ask such an institution's data on its ordinary channel (refused
   * CONSULTATION_ONLY), or `consultation` for any institution that has a consultation application.
   */
  readonly channel?: RequestChannel;
}

export interface SendOptions extends ChannelOption {
  /** The Kafka key; default the subject NISS (the institution's id for bytes or an empty NISS). */
  readonly key?: string;
}

export interface AskOptions extends ChannelOption {
  readonly timeoutMs?: number;
}

/**
 * A whole switch for one test file on the real broker and Redis: its own topics, the gateway (directory,
 * requests, replies, timeouts) and the source simulators, plus helpers to integrate persons, send
 * requests as an institution and read what came back — replies per request and the audit trail.
 *
 * Channels: `send`, `ask` and `requestRecord` take `{ channel }`; without it an institution whose every
 * deliberation in the loaded config is consultation-only (ONVA: 19/010 §3, §37) asks on its consultation
 * channel — its consultation-requests topic, answered on its consultations topic — and every other
 * institution on its requests topic, answered on its replies topic (see `channelOf`). The fixture itself
 * runs as the admin principal, which may write and read both. The reply reader reads every institution's
 * replies topic and the consultations topic of every institution with a consultation application.
 */
export interface ExchangeFixture extends GatewayFixture {
  readonly catalogue: Catalogue;
  readonly deliberations: readonly Deliberation[];
  readonly pending: PendingStore;
  /** `deliberations`: the ones the gateway applies instead of config/authorizations (the catalogue stays the real one). */
  startGateway(options?: { sourceTimeoutMs?: number; sweepIntervalMs?: number; deliberations?: readonly Deliberation[] }): Promise<RunningPipeline>;
  startSimulators(options?: { replyDelayMs?: number }): Promise<{ stop(): Promise<void> }>;
  /** Integrates through the gateway's directory topics and waits until every command is acknowledged OK. */
  integrate(lines: readonly SampleIntegration[]): Promise<void>;
  /**
   * A Request with sensible defaults; `fields` override them. A `channel` given here is remembered with
   * the record: `send` then uses it unless told otherwise.
   */
  requestRecord(institution: string, fields: Partial<RequestRecord>, options?: ChannelOption): RequestRecord;
  /**
   * Publishes on the institution's requests topic of the channel (a record is encoded; bytes are sent as
   * they are). The channel: the one given here, else the record's (requestRecord), else `channelOf`. A
   * string is the key.
   */
  send(institution: string, request: RequestRecord | Buffer, options?: string | SendOptions): Promise<void>;
  /**
   * Sends and waits for the one reply to this requestId; fails if it came on another topic than the
   * channel's answer topic. A number is the timeout.
   */
  ask(institution: string, fields: Partial<RequestRecord>, options?: number | AskOptions): Promise<ReplyRecord>;
  /** The channel an institution asks on by default (see ChannelOption.channel). */
  channelOf(institution: string): RequestChannel;
  /** Where the institution's requests of that channel go (default its own channel). */
  requestsTopic(institution: string, channel?: RequestChannel): string;
  /** Where their answers come (default its own channel): its replies or its consultations topic. */
  repliesTopic(institution: string, channel?: RequestChannel): string;
  /** The institutions with a consultation application in config/institutions.yaml. */
  readonly consulting: readonly string[];
  /**
   * Every reply received so far on the institutions' replies topics and on the consultations topics,
   * by requestId (in arrival order).
   */
  readonly replies: Map<string, ReplyRecord[]>;
  /** The topic each of those replies came on, by requestId, in the same order as `replies`. */
  readonly replyTopics: Map<string, string[]>;
  /**
   * For each Request record sent through `send` or `ask`, by requestId: the topic its answer must come
   * on (the channel's: replies or consultations).
   */
  readonly answerTopics: Map<string, Set<string>>;
  waitForReplies(count: number, timeoutMs?: number): Promise<void>;
  /** Audit records committed so far, read from the beginning of the audit topic. */
  readAudit(): Promise<AuditRecordValue[]>;
  /**
   * Keeps every message committed on these topics, from their beginning, decoded and with its place,
   * key and headers: for what `replies` cannot tell apart (replies without a requestId, dead letters,
   * the audit trail as it grows) without joining a new consumer group at each look. Stopped by close().
   */
  collect<T>(topics: readonly string[], decode: (message: InMessage) => T): Promise<TopicCollector<T>>;
  /** Same end state as close(), every running part being stopped at the same time rather than in turn. */
  closeAtOnce(): Promise<void>;
  /** The Avro record name of each service's payload (`dimona` → `be.bcss.gateway.payload.DimonaPayload`). */
  readonly payloadRecords: ReadonlyMap<string, string>;
  /**
   * Publishes a SourceMutation on `source`'s mutations topic, as that source would: a record is encoded
   * (keyed by its subject NISS unless `key` is given); bytes are sent as they are.
   */
  sendMutation(source: string, mutation: SourceMutationRecord | Buffer, key?: string | null): Promise<void>;
  /**
   * Waits until the gateway's mutation pipeline (started by startGateway) has committed its position
   * past every message on the sources' mutations topics. Its outputs are committed in the same
   * transactions, so by then every Mutation, audit record and dead letter they gave is readable. For
   * mutations published outside a transaction (as sendMutation does): a transaction's commit marker
   * takes an offset the pipeline never consumes.
   */
  waitForMutationsProcessed(timeoutMs?: number): Promise<void>;
}

export interface CollectedMessage<T> {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly key: string | null;
  readonly headers: Readonly<Record<string, string>>;
  readonly value: T;
}

export interface TopicCollector<T> {
  /** In arrival order (per partition, the topic's order). */
  readonly messages: readonly CollectedMessage<T>[];
  /** Waits until the messages collected so far satisfy `accept`; returns them. */
  waitFor(
    accept: (messages: readonly CollectedMessage<T>[]) => boolean,
    what: string,
    timeoutMs?: number,
  ): Promise<readonly CollectedMessage<T>[]>;
}

const INSTITUTIONS = ['vaph', 'magda', 'iriscare', 'onva', 'onss', 'inami'];

export async function createExchangeFixture(stack: TestStack, partitions = 2): Promise<ExchangeFixture> {
  const base = await createGatewayFixture(stack, partitions);
  const catalogue = loadCatalogue(join(DEFAULT_CONFIG_DIR, 'catalogue'), { schemasDir: SCHEMA_DIR });
  const deliberations = loadAuthorizations(join(DEFAULT_CONFIG_DIR, 'authorizations'), catalogue);
  const payloadRecords = payloadRecordNames(catalogue, SCHEMA_DIR);
  const pending = createPendingStore(base.redis, redisKeys(base.instanceName));
  const running: Array<{ stop(): Promise<void> }> = [];
  const replies = new Map<string, ReplyRecord[]>();
  const replyTopics = new Map<string, string[]>();
  const answerTopics = new Map<string, Set<string>>();
  let replyCount = 0;
  const acks = new Map<string, DirectoryAckRecord>();

  // Institutions with a consultation application, and those that ask only through it: every deliberation
  // naming them as requester is consultation-only (19/010 §37: ONVA through DOLSIS).
  const consulting = loadInstitutions(DEFAULT_CONFIG_DIR)
    .institutions.filter((i) => i.consultation !== undefined)
    .map((i) => i.id);
  const consultationOnly = new Set(
    consulting.filter((id) => {
      const own = deliberations.filter((d) => d.requester === id);
      return own.length > 0 && own.every((d) => d.consultationOnly !== null);
    }),
  );
  const channelOf = (institution: string): RequestChannel => (consultationOnly.has(institution) ? 'consultation' : 'replies');
  const requestsTopic = (institution: string, channel: RequestChannel = channelOf(institution)) =>
    channel === 'consultation' ? base.topics.consultationRequests(institution) : base.topics.requests(institution);
  const repliesTopic = (institution: string, channel: RequestChannel = channelOf(institution)) =>
    channel === 'consultation' ? base.topics.consultations(institution) : base.topics.replies(institution);
  /** The channel a record was made for (requestRecord's option), for send. */
  const recordChannels = new WeakMap<RequestRecord, RequestChannel>();

  const producer: MessageProducer = await base.client.producer();
  const replyConsumer: MessageConsumer = await base.client.consumer({
    groupId: uniqueName(`${base.instanceName}.replies-reader`),
    topics: [...INSTITUTIONS.map((i) => base.topics.replies(i)), ...consulting.map((i) => base.topics.consultations(i))],
    fromBeginning: true,
  });
  await replyConsumer.run(async (batch) => {
    for (const message of batch.messages) onReply(message);
  });

  function onReply(message: InMessage) {
    if (!message.value) return;
    if (message.headers.type === 'directory-ack') {
      const ack = base.codec.decode<DirectoryAckRecord>(RECORD.ack, message.value);
      if (ack.commandId) acks.set(ack.commandId, ack);
      return;
    }
    const reply = base.codec.decode<ReplyRecord>(EXCHANGE_RECORD.reply, message.value);
    const list = replies.get(reply.requestId) ?? [];
    list.push(reply);
    replies.set(reply.requestId, list);
    const topicList = replyTopics.get(reply.requestId) ?? [];
    topicList.push(message.topic);
    replyTopics.set(reply.requestId, topicList);
    replyCount++;
  }

  const newRecord = (institution: string, fields: Partial<RequestRecord>): RequestRecord => ({
    requestId: randomUUID(),
    requester: institution,
    onBehalfOf: null,
    service: 'dmfa',
    purpose: null,
    subjectNiss: '',
    employer: null,
    period: { from: '2024-01-01', to: '2024-12-31' },
    requestedBlocks: null,
    sentAt: Date.now(),
    ...fields,
  });

  const requestRecord = (institution: string, fields: Partial<RequestRecord>, options: ChannelOption = {}): RequestRecord => {
    const record = newRecord(institution, fields);
    if (options.channel !== undefined) recordChannels.set(record, options.channel);
    return record;
  };

  const send = async (institution: string, request: RequestRecord | Buffer, options: string | SendOptions = {}) => {
    const { key, channel } = typeof options === 'string' ? { key: options, channel: undefined } : options;
    const value = Buffer.isBuffer(request) ? request : base.codec.encode(EXCHANGE_RECORD.request, request);
    const k = key ?? (Buffer.isBuffer(request) ? null : request.subjectNiss || institution);
    const via = channel ?? (Buffer.isBuffer(request) ? undefined : recordChannels.get(request)) ?? channelOf(institution);
    if (!Buffer.isBuffer(request)) {
      const expected = answerTopics.get(request.requestId) ?? new Set<string>();
      expected.add(repliesTopic(institution, via));
      answerTopics.set(request.requestId, expected);
    }
    await producer.send(requestsTopic(institution, via), [{ key: k, value }]);
  };

  const fixture: ExchangeFixture = {
    ...base,
    catalogue,
    deliberations,
    pending,
    replies,
    replyTopics,
    answerTopics,
    consulting,
    channelOf,
    requestsTopic,
    repliesTopic,
    async startGateway(options = {}) {
      const gateway = await startGateway({
        client: base.client,
        codec: base.codec,
        topics: base.topics,
        catalogue,
        deliberations: options.deliberations ?? deliberations,
        payloadRecords,
        directoryStore: base.store,
        pendingStore: pending,
        logger: silentLogger,
        instanceName: base.instanceName,
        sourceTimeoutMs: options.sourceTimeoutMs ?? 15_000,
        sweepIntervalMs: options.sweepIntervalMs ?? 200,
      });
      running.push(gateway);
      return gateway;
    },
    async startSimulators(options = {}) {
      const simulators = await startSourceSimulators({
        clientFor: () => base.client,
        codec: base.codec,
        topics: base.topics,
        catalogue,
        population: createSyntheticPopulation(),
        logger: silentLogger,
        groupPrefix: base.instanceName,
        invalidityEntriesPerQuarter: 200,
        ...(options.replyDelayMs !== undefined ? { replyDelayMs: options.replyDelayMs } : {}),
      });
      running.push(simulators);
      return simulators;
    },
    async integrate(lines) {
      const runId = uniqueName('integrate');
      const commands: DirectoryCommandRecord[] = lines.map((line, i) => ({
        commandId: `${runId}:${i}`,
        institution: line.institution,
        action: 'INTEGRATE',
        niss: line.niss,
        capacity: line.capacity,
        phase: line.phase,
        periodFrom: line.from,
        periodTo: line.to,
        employerKind: line.employer?.kind ?? null,
        employerId: line.employer?.id ?? null,
        issuedAt: Date.now(),
      }));
      for (const command of commands) {
        await producer.send(base.topics.directory(command.institution), [
          { key: command.niss, value: base.codec.encode(RECORD.command, command) },
        ]);
      }
      await waitFor(
        () => commands.map((c) => acks.get(c.commandId)?.status ?? 'waiting'),
        (statuses) => statuses.every((s) => s !== 'waiting'),
        { timeoutMs: 30_000, what: 'directory acknowledgements' },
      );
      const refused = commands.map((c) => acks.get(c.commandId)).filter((a) => a?.status !== 'OK');
      if (refused.length > 0) throw new Error(`directory commands refused: ${JSON.stringify(refused)}`);
    },
    requestRecord,
    send,
    async ask(institution, fields, options = {}) {
      const { timeoutMs = 30_000, channel = channelOf(institution) } = typeof options === 'number' ? { timeoutMs: options } : options;
      const record = newRecord(institution, fields);
      await send(institution, record, { channel });
      const got = await waitFor(
        () => replies.get(record.requestId) ?? [],
        (list) => list.length > 0,
        { timeoutMs, what: `the reply to ${record.requestId}` },
      );
      const topic = replyTopics.get(record.requestId)?.[0];
      const expected = repliesTopic(institution, channel);
      if (topic !== expected) throw new Error(`the reply to ${record.requestId} (${channel} channel) came on ${topic}, not on ${expected}`);
      return got[0] as ReplyRecord;
    },
    async waitForReplies(count, timeoutMs = 60_000) {
      await waitFor(() => replyCount, (n) => n >= count, { timeoutMs, what: `${count} replies` });
    },
    async readAudit() {
      const records: AuditRecordValue[] = [];
      // Reads to the end the topic had when asked: a partition ending in transaction markers or in an
      // aborted transaction's records still completes (its position, not its last record, is counted).
      await readTopicToEnd({
        client: base.client,
        topic: base.topics.audit,
        timeoutMs: 60_000,
        async onBatch(batch) {
          for (const message of batch.messages) {
            if (message.value) records.push(base.codec.decode<AuditRecordValue>(EXCHANGE_RECORD.audit, message.value));
          }
        },
      });
      return records;
    },
    async collect<T>(topics: readonly string[], decode: (message: InMessage) => T): Promise<TopicCollector<T>> {
      const messages: CollectedMessage<T>[] = [];
      const consumer = await base.client.consumer({ groupId: uniqueName(`${base.instanceName}.collector`), topics, fromBeginning: true });
      running.push({ stop: () => consumer.disconnect() });
      await consumer.run(async (batch) => {
        for (const message of batch.messages) {
          messages.push({
            topic: message.topic,
            partition: message.partition,
            offset: message.offset,
            key: message.key === null ? null : message.key.toString('utf8'),
            headers: message.headers,
            value: decode(message),
          });
        }
      });
      return {
        messages,
        waitFor: (accept: (collected: readonly CollectedMessage<T>[]) => boolean, what: string, timeoutMs = 30_000) =>
          waitFor((): readonly CollectedMessage<T>[] => messages, accept, { timeoutMs, what }),
      };
    },
    payloadRecords,
    async sendMutation(source, mutation, key) {
      const value = Buffer.isBuffer(mutation) ? mutation : base.codec.encode(MUTATION_RECORD.source, mutation);
      const k = key !== undefined ? key : Buffer.isBuffer(mutation) ? null : mutation.subjectNiss;
      await producer.send(base.topics.sourceMutations(source), [{ key: k, value }]);
    },
    async waitForMutationsProcessed(timeoutMs = 30_000) {
      const groupId = `${base.instanceName}.mutations`;
      const sourceTopics = (await base.admin.listTopics()).filter((t) => base.topics.patterns.sourceMutations.test(t));
      const admin = base.client.raw.admin();
      await admin.connect();
      try {
        await waitFor(
          async () => {
            const behind: string[] = [];
            const committed = await admin.fetchOffsets({ groupId, topics: sourceTopics });
            for (const topic of sourceTopics) {
              const positions = new Map(
                (committed.find((c) => c.topic === topic)?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]),
              );
              // The sources' producers are not transactional: the end offset is the next message's.
              for (const { partition, offset } of await base.admin.topicEndOffsets(topic)) {
                if ((positions.get(partition) ?? -1n) < BigInt(offset) && offset !== '0') behind.push(`${topic}:${partition}`);
              }
            }
            return behind;
          },
          (behind) => behind.length === 0,
          { timeoutMs, intervalMs: 200, what: `the mutation pipeline (${groupId}) to commit past every source mutation` },
        );
      } finally {
        await admin.disconnect();
      }
    },
    async closeAtOnce() {
      await Promise.allSettled([
        ...running.map((r) => r.stop()),
        replyConsumer.disconnect(),
        producer.disconnect(),
      ]);
      await base.close();
    },
    async close() {
      for (const r of running.reverse()) await r.stop().catch(() => undefined);
      await replyConsumer.disconnect().catch(() => undefined);
      await producer.disconnect().catch(() => undefined);
      await base.close();
    },
  };
  return fixture;
}
