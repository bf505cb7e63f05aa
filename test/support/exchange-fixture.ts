import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { Channel } from '../../src/domain/exchange.js';
import { loadAuthorizations } from '../../src/config/load-authorizations.js';
import { loadCatalogue } from '../../src/config/load-catalogue.js';
import { loadInstitutions } from '../../src/config/load-institutions.js';
import { payloadRecordNames } from '../../src/config/payload-records.js';
import { DEFAULT_CONFIG_DIR, SCHEMA_DIR } from '../../src/config/project-paths.js';
import type { Catalogue } from '../../src/domain/catalogue.js';
import type { Deliberation } from '../../src/domain/deliberation.js';
import type { AuditRecordValue } from '../../src/contract/audit-records.js';
import type { DirectoryAckRecord, DirectoryCommandRecord } from '../../src/contract/directory-records.js';
import type { ReplyRecord, RequestRecord } from '../../src/contract/exchange-records.js';
import type { SourceMutationRecord } from '../../src/contract/mutation-records.js';
import { DIRECTORY_RECORD as RECORD, EXCHANGE_RECORD, MUTATION_RECORD } from '../../src/contract/names.js';
import { startGateway } from '../../src/gateway/gateway.js';
import { silentLogger } from '../../src/logging/logger.js';
import type { InMessage, MessageProducer } from '../../src/messaging/kafka-client.js';
import { readTopicToEnd } from '../../src/messaging/topic-reader.js';
import type { RunningPipeline } from '../../src/messaging/transactional-pipeline.js';
import type { SampleIntegration } from '../../src/sources/sample-directory.js';
import { SIMULATED_SOURCES, startSourceSimulators } from '../../src/sources/simulator-service.js';
import { createSyntheticPopulation } from '../../src/sources/synthetic-population.js';
import { createPendingStore, type PendingStore } from '../../src/store/pending-store.js';
import { redisKeys } from '../../src/store/keys.js';
import { createGatewayFixture, type GatewayFixture } from './gateway-fixture.js';
import { matchingTopics, startTopicReader, topicEnds, uniqueName, waitFor, waitUntilRead, type TopicEnds, type TopicReader } from './kafka-helpers.js';
import type { TestStack } from './stack-context.js';

/**
 * The way an institution asks and is answered: its requests and replies topics (`replies`), or its
 * consultation application's consultation-requests and consultations topics (`consultation`; 19/010 §37:
 * ONVA's inspectors through DOLSIS, data shown and never stored).
 */
export type RequestChannel = Channel;

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
  startSimulators(options?: { replyDelayMs?: number; invalidityEntriesPerQuarter?: number }): Promise<{ stop(): Promise<void> }>;
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
   * the audit trail as it grows) without joining a new consumer group at each look. A pattern stands
   * for the topics it matches now. settled() waits for it too. Stopped by close().
   */
  collect<T>(topics: ReadonlyArray<string | RegExp>, decode: (message: InMessage) => T): Promise<TopicCollector<T>>;
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
   * transactions, so by then every Mutation, audit record and dead letter they gave is readable (the
   * collectors may still be reading them: settled() waits for those too).
   */
  waitForMutationsProcessed(timeoutMs?: number): Promise<void>;
  /**
   * Waits until nothing more can come of what was sent so far. First every pipeline started through
   * this fixture (startGateway, startSimulators, startDirectory) must have committed its consumer
   * group's position past the last record of each of its input topics, with no input growing while
   * that is checked; then the reply reader behind `replies` and every `collect` collector must have
   * read its topics to the ends they had at that point. That is enough because every pipeline
   * consumes read_committed and commits its input offsets in the transaction that writes its outputs:
   * a group's position past a record means that record's outputs are committed, so with nothing left
   * to consume anywhere and the readers at the ends, every output there will be is read. (The end of
   * an input written in transactions is a commit marker that a group never commits past: a reader of
   * the inputs tells where their last records are.) Not seen: timers inside the gateway (a deadline
   * the sweeper has not reached), steps after a commit (forgetting answered pending exchanges), and
   * consumers this fixture did not start. Fails after `timeoutMs` (default 30 s).
   */
  settled(timeoutMs?: number): Promise<void>;
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
  const requestsTopic = (institution: string, channel: RequestChannel = channelOf(institution)) => base.topics.requestsOn(channel, institution);
  const repliesTopic = (institution: string, channel: RequestChannel = channelOf(institution)) => base.topics.answersOn(channel, institution);
  /** The channel a record was made for (requestRecord's option), for send. */
  const recordChannels = new WeakMap<RequestRecord, RequestChannel>();

  const producer: MessageProducer = await base.client.producer();
  const replyReader: TopicReader = await startTopicReader(
    base.client.connection,
    {
      groupId: uniqueName(`${base.instanceName}.replies-reader`),
      topics: [...INSTITUTIONS.map((i) => base.topics.replies(i)), ...consulting.map((i) => base.topics.consultations(i))],
    },
    (messages) => {
      for (const message of messages) onReply(message);
    },
  );
  /** What settled() waits to have read its topics to the end: the reply reader and every collector. */
  const readers: TopicReader[] = [replyReader];

  // What settled() waits to have consumed its inputs: the consumer group of each pipeline started here,
  // named and subscribed as gateway.ts, directory-pipelines.ts and simulator-service.ts do.
  interface PipelineGroup {
    readonly groupId: string;
    readonly topics: ReadonlyArray<string | RegExp>;
  }
  const name = base.instanceName;
  const { patterns } = base.topics;
  const directoryGroups: readonly PipelineGroup[] = [
    { groupId: `${name}.directory-intake`, topics: [patterns.directory] },
    { groupId: `${name}.directory-writer`, topics: [base.topics.directoryCommands] },
  ];
  const mutationGroup = `${name}.mutations`;
  const gatewayGroups: readonly PipelineGroup[] = [
    ...directoryGroups,
    { groupId: `${name}.replies`, topics: [patterns.sourceReplies, base.topics.exchangeTimeouts] },
    { groupId: `${name}.requests`, topics: [patterns.requests, patterns.consultationRequests] },
    { groupId: mutationGroup, topics: [patterns.sourceMutations] },
  ];
  const simulatorGroups: readonly PipelineGroup[] = SIMULATED_SOURCES.map((source) => ({
    groupId: `${name}.source-${source}.simulator`,
    topics: [base.topics.sourceRequests(source)],
  }));
  /** The running pipelines' groups and their input topics. */
  const pipelines = new Map<string, readonly string[]>();
  /** For each input topic, the reader that tells where its last record is. */
  const inputReaders = new Map<string, Promise<TopicReader>>();

  /**
   * Has settled() watch pipelines just started: their patterns are resolved now, as their consumers
   * resolved them on subscribing. Their inputs get a reader (started in the background: settled()
   * awaits it). Returns the pipeline, which settled() forgets once it is stopped.
   */
  async function watched(pipeline: RunningPipeline, groups: readonly PipelineGroup[]): Promise<RunningPipeline> {
    const resolved = await Promise.all(groups.map(async (g) => [g.groupId, await matchingTopics(base.admin, g.topics)] as const));
    for (const [groupId, inputs] of resolved) pipelines.set(groupId, inputs);
    const unread = [...new Set(resolved.flatMap(([, inputs]) => inputs))].filter((t) => !inputReaders.has(t));
    if (unread.length > 0) {
      const reader = startTopicReader(base.client.connection, { groupId: uniqueName(`${name}.inputs-reader`), topics: unread }, () => undefined);
      reader.catch(() => undefined);
      for (const topic of unread) inputReaders.set(topic, reader);
      running.push({ stop: async () => (await reader.catch(() => undefined))?.stop() });
    }
    return {
      async stop() {
        for (const [groupId] of resolved) pipelines.delete(groupId);
        await pipeline.stop();
      },
    };
  }

  /**
   * Where a pipeline has not consumed every record of its inputs yet (`[]`: nowhere). The inputs' ends
   * are read, their readers must reach them; each group's committed position must be past the last
   * record there; and the ends must not have moved meanwhile, else a record may have come after its
   * reader or its group was looked at.
   */
  async function unconsumedInputs(groups: ReadonlyMap<string, readonly string[]>): Promise<string[]> {
    const inputs = [...new Set([...groups.values()].flat())];
    const ends = await topicEnds(base.admin, inputs);
    const readerOf = new Map(await Promise.all(inputs.map(async (t) => [t, await (inputReaders.get(t) as Promise<TopicReader>)] as const)));
    const unread = [...new Set(readerOf.values())].flatMap((reader) => reader.behind(ends));
    if (unread.length > 0) return unread.map((at) => `inputs reader at ${at}`);
    const unconsumed: string[] = [];
    await Promise.all(
      [...groups].map(async ([groupId, groupInputs]) => {
        const committed = await base.admin.committedOffsets(groupId, groupInputs);
        for (const topic of groupInputs) {
          const positions = new Map((committed.find((c) => c.topic === topic)?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
          for (const { partition } of ends.get(topic) ?? []) {
            const last = readerOf.get(topic)?.lastRecord(topic, partition);
            const at = positions.get(partition) ?? -1n;
            if (last !== undefined && at <= last) unconsumed.push(`${groupId} at ${topic}:${partition} ${at}, last record ${last}`);
          }
        }
      }),
    );
    if (unconsumed.length > 0) return unconsumed;
    const highs = (e: TopicEnds, topic: string) => (e.get(topic) ?? []).map((p) => `${p.partition}:${p.high}`).sort().join();
    const again = await topicEnds(base.admin, inputs);
    return inputs.filter((t) => highs(again, t) !== highs(ends, t)).map((t) => `${t} written meanwhile`);
  }

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
      const watchedGateway = await watched(gateway, gatewayGroups);
      running.push(watchedGateway);
      return watchedGateway;
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
        invalidityEntriesPerQuarter: options.invalidityEntriesPerQuarter ?? 200,
        ...(options.replyDelayMs !== undefined ? { replyDelayMs: options.replyDelayMs } : {}),
      });
      const watchedSimulators = await watched(simulators, simulatorGroups);
      running.push(watchedSimulators);
      return watchedSimulators;
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
      // The reader's throw-away group commits nothing: if it rejoins mid-read (a broker lost or back), it
      // starts over, and a record already read at the same place is not counted twice.
      const seen = new Set<string>();
      // Reads to the end the topic had when asked: a partition ending in transaction markers or in an
      // aborted transaction's records still completes (its position, not its last record, is counted).
      await readTopicToEnd({
        client: base.client,
        topic: base.topics.audit,
        timeoutMs: 60_000,
        async onBatch(batch) {
          for (const message of batch.messages) {
            const place = `${message.partition}:${message.offset}`;
            if (seen.has(place)) continue;
            seen.add(place);
            if (message.value) records.push(base.codec.decode<AuditRecordValue>(EXCHANGE_RECORD.audit, message.value));
          }
        },
      });
      return records;
    },
    async startDirectory() {
      // Stopped by base.close().
      return watched(await base.startDirectory(), directoryGroups);
    },
    async collect<T>(topics: ReadonlyArray<string | RegExp>, decode: (message: InMessage) => T): Promise<TopicCollector<T>> {
      const messages: CollectedMessage<T>[] = [];
      const groupId = uniqueName(`${base.instanceName}.collector`);
      const reader = await startTopicReader(base.client.connection, { groupId, topics: await matchingTopics(base.admin, topics) }, (batch) => {
        for (const message of batch) {
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
      running.push(reader);
      readers.push(reader);
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
      const inputs = pipelines.get(mutationGroup);
      if (inputs === undefined) throw new Error('waitForMutationsProcessed: the gateway was not started by startGateway');
      await waitFor(() => unconsumedInputs(new Map([[mutationGroup, inputs]])), (left) => left.length === 0, {
        timeoutMs,
        intervalMs: 50,
        what: `the mutation pipeline (${mutationGroup}) to commit past every source mutation`,
      });
    },
    async settled(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      await waitFor(() => unconsumedInputs(new Map(pipelines)), (left) => left.length === 0, {
        timeoutMs,
        intervalMs: 50,
        what: 'every pipeline to consume its inputs',
      });
      await waitUntilRead(base.admin, readers, {
        timeoutMs: Math.max(1_000, deadline - Date.now()),
        what: 'the reply reader and the collectors',
      });
    },
    async closeAtOnce() {
      await Promise.allSettled([
        ...running.map((r) => r.stop()),
        replyReader.stop(),
        producer.disconnect(),
      ]);
      await base.close();
    },
    async close() {
      for (const r of running.reverse()) await r.stop().catch(() => undefined);
      await replyReader.stop().catch(() => undefined);
      await producer.disconnect().catch(() => undefined);
      await base.close();
    },
  };
  return fixture;
}
