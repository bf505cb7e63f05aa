/**
 * The demo run: the scenarios of scenarios.ts sent through the switch, each by the institution's own
 * principal — or, for a scenario through a consultation application (ONVA's DOLSIS), by that
 * application's principal on the institution's consultation channel — and what came back compared with
 * what should have: the status, the blocks, and the fields withheld against the fields that hold a value
 * in the payload delivered.
 *
 * The switch is the one `npm start` runs when its marker says one runs (with that run's topic prefix);
 * otherwise this run starts one in-process (the local stack first if needed, then topics, ACLs, the
 * gateway, the source simulators and the sample directory) and stops it after, the stack too if it
 * started it.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { ReplyRecord } from '../contract/exchange-records.js';
import { HEADER, MESSAGE_TYPE } from '../contract/names.js';
import {
  createExchangeClient,
  ExchangeTimeoutError,
  REPLY_RECORD,
  toExchangeReply,
  type ExchangeClient,
  type ExchangeReply,
} from '../client/exchange-client.js';
import { runningGateway } from '../app/gateway-marker.js';
import { launchSwitch, type LaunchedSwitch } from '../app/launch.js';
import { createRuntime, type Runtime } from '../app/runtime.js';
import { loadSettings, type Settings } from '../app/settings.js';
import { loadCatalogue } from '../config/load-catalogue.js';
import { consultationOf, loadInstitutions } from '../config/load-institutions.js';
import { SCHEMA_DIR } from '../config/project-paths.js';
import type { Catalogue } from '../domain/catalogue.js';
import { quarterOf } from '../domain/period.js';
import type { IsoDate, Period } from '../domain/types.js';
import { silentLogger, type Logger } from '../logging/logger.js';
import { loadAvroCodec, type AvroCodec } from '../messaging/avro-codec.js';
import { createKafkaClient, type MessageConsumer } from '../messaging/kafka-client.js';
import { topicNames, type TopicNames } from '../messaging/topics.js';
import { stackDown } from '../stack/local-stack.js';
import { principalConnection } from '../stack/principal-connection.js';
import { gatewayLine, type DemoGateway, type DemoReport, type DemoResult } from './demo-table.js';
import { openMutationRun, type MutationRun } from './run-mutations.js';
import {
  compareOutcome,
  demoScenarios,
  NO_REPLY,
  ofAge,
  presentFieldsOf,
  type DemoOutcome,
  type DemoScenario,
  type QuarterlyListExpectation,
} from './scenarios.js';

/** Longer than the gateway's default source deadline (30 s), so that a SOURCE_TIMEOUT still arrives. */
export const DEFAULT_DEMO_TIMEOUT_MS = 45_000;
const CLOSE_WAIT_MS = 1_000;

export interface DemoProgress {
  /** A line for the person running the demo; the first one says which switch answers. */
  announce?(line: string): void;
  /** The quarterly lists are being asked for; `entries` is how many they should deliver in all. */
  listsStarted?(entries: number, quarters: number): void;
  /** One list arrived with this many entries. */
  listReceived?(entries: number): void;
  listsDone?(): void;
}

export interface RunDemoOptions {
  /** Default: read from the environment when the run starts. */
  readonly settings?: Settings;
  /** `auto` (default): the running `npm start` if there is one, else a switch of its own; `own`: always its own. */
  readonly gateway?: 'auto' | 'own';
  /** Where the switch and the clients log (kafkajs included); default silent. */
  readonly logger?: Logger;
  readonly logFile?: string | null;
  /** Default: the current UTC day. */
  readonly today?: IsoDate;
  readonly requestTimeoutMs?: number;
  /** How long the changes expected at a subscriber may take; default that of run-mutations.ts. */
  readonly mutationWaitMs?: number;
  readonly progress?: DemoProgress;
  /** Aborting closes the clients (what waits ends as no reply) and stops what this run started. */
  readonly signal?: AbortSignal;
}

/** Milliseconds since it was started, each time it is called. */
function stopwatch(): () => number {
  const start = performance.now();
  return () => Math.round(performance.now() - start);
}

function errorText(error: unknown): string {
  // The library's own text adds what a program may still do with a late reply; a person needs less.
  if (error instanceof ExchangeTimeoutError) return `no reply within ${error.timeoutMs / 1000} s`;
  return error instanceof Error ? error.message : String(error);
}

function outcomeOf(reply: ExchangeReply, durationMs: number, catalogue: Catalogue): DemoOutcome {
  const service = catalogue.services.get(reply.service);
  return {
    status: reply.status,
    bcssCode: reply.ok ? null : reply.bcssCode,
    ticket: reply.ticket,
    message: reply.ok ? null : reply.message,
    newNiss: reply.ok ? null : reply.newNiss,
    deliveredBlocks: reply.ok ? reply.deliveredBlocks : [],
    removedBlocks: reply.ok ? reply.removedBlocks : [],
    removedFields: reply.ok ? reply.removedFields : [],
    ...(reply.ok && reply.payload !== null && service ? { presentFields: presentFieldsOf(service, reply.payload) } : {}),
    effectivePeriods: reply.effectivePeriods,
    durationMs,
  };
}

function noReply(error: unknown, durationMs: number): DemoOutcome {
  return {
    status: NO_REPLY,
    bcssCode: null,
    ticket: null,
    message: null,
    newNiss: null,
    deliveredBlocks: [],
    removedBlocks: [],
    removedFields: [],
    effectivePeriods: [],
    error: errorText(error),
    durationMs,
  };
}

/**
 * The replies the switch sends to an institution for messages it could not read: they carry no
 * requestId (the switch cannot know it), so the exchange client cannot match them. Read here from the
 * replies topic's end offsets, taken before anything is sent.
 */
interface UnreadableReplies {
  /** Sends, then waits for an INVALID_MESSAGE reply with a ticket not seen before the send. */
  expectAfter(send: () => Promise<void>, timeoutMs: number): Promise<ReplyRecord>;
  close(): Promise<void>;
}

async function watchUnreadableReplies(
  institution: string,
  topics: TopicNames,
  codec: AvroCodec,
  logger: Logger,
  settings: Settings,
): Promise<UnreadableReplies> {
  const kafka = createKafkaClient(principalConnection(institution, { settings }), logger);
  const topic = topics.replies(institution);
  const admin = await kafka.admin();
  const ends = await admin.topicEndOffsets(topic).finally(() => admin.disconnect());
  const seen: ReplyRecord[] = [];
  const waiters = new Set<() => void>();
  const consumer: MessageConsumer = await kafka.consumer({
    // The institution's ACLs grant the groups that start with <prefix>.<institution>.
    groupId: `${topics.prefix}.${institution}.demo.${randomUUID()}`,
    topics: [topic],
    fromBeginning: false,
    readCommitted: true,
  });
  try {
    await consumer.run(async (batch) => {
      for (const message of batch.messages) {
        if (message.headers[HEADER.type] !== MESSAGE_TYPE.reply || message.value === null) continue;
        let record: ReplyRecord;
        try {
          record = codec.decode<ReplyRecord>(REPLY_RECORD, message.value);
        } catch {
          continue;
        }
        if (record.requestId !== '' || record.status !== 'INVALID_MESSAGE') continue;
        seen.push(record);
        for (const wake of waiters) wake();
      }
    });
    for (const { partition, offset } of ends) consumer.seek(topic, partition, offset);
  } catch (error) {
    await consumer.disconnect().catch(() => undefined);
    throw error;
  }
  return {
    async expectAfter(send, timeoutMs) {
      const before = new Set(seen.map((r) => r.ticket));
      const fresh = (): ReplyRecord | undefined => seen.find((r) => !before.has(r.ticket));
      let wake!: () => void;
      let timer: NodeJS.Timeout | undefined;
      const arrived = new Promise<ReplyRecord>((resolve, reject) => {
        wake = () => {
          const record = fresh();
          if (record) resolve(record);
        };
        timer = setTimeout(() => reject(new Error(`no INVALID_MESSAGE reply on ${topic} within ${timeoutMs} ms`)), timeoutMs);
      });
      waiters.add(wake);
      try {
        await send();
        wake();
        return await arrived;
      } finally {
        waiters.delete(wake);
        clearTimeout(timer);
      }
    },
    close: () => consumer.disconnect(),
  };
}

interface Switch {
  readonly gateway: DemoGateway;
  readonly topics: TopicNames;
  stop(): Promise<void>;
}

/** The running `npm start`, or a switch of this run's own. */
async function openSwitch(options: RunDemoOptions, settings: Settings, logger: Logger, announce: (line: string) => void): Promise<Switch> {
  const marker = options.gateway === 'own' ? null : runningGateway(settings.stackDir);
  if (marker) {
    const gateway: DemoGateway = { kind: 'running', pid: marker.pid, topicPrefix: marker.topicPrefix, simulators: marker.simulators };
    announce(gatewayLine(gateway));
    return { gateway, topics: topicNames(marker.topicPrefix), stop: async () => undefined };
  }
  // The prefix the switch will use, from the same settings: the first line is out before the stack starts, which can take a while.
  announce(gatewayLine({ kind: 'own', topicPrefix: settings.topicPrefix, startedStack: false }));
  const runtime: Runtime = await createRuntime({ startStack: true, logger, settings });
  let launched: LaunchedSwitch;
  try {
    launched = await launchSwitch(runtime, {
      simulators: true,
      sampleDirectory: true,
      acl: true,
      // Seals need a key: the local stack makes a development one; elsewhere BCSS_AUDIT_SEAL_KEY decides.
      sealer: runtime.source === 'local stack' || Boolean(settings.audit.sealKey ?? settings.audit.sealKeyFile),
      // The demo's own switch lives for one run: no console (and no port it could find taken).
      console: false,
    });
  } catch (error) {
    if (runtime.startedStack) await stackDown({ stackDir: settings.stackDir }).catch(() => undefined);
    throw error;
  }
  announce(
    runtime.startedStack
      ? 'The local stack was not running: started for this run, stopped at its end.'
      : `Switch ready (${runtime.source}; ${launched.sampleIntegrations} sample integrations).`,
  );
  return {
    gateway: { kind: 'own', topicPrefix: runtime.topics.prefix, startedStack: runtime.startedStack },
    topics: runtime.topics,
    async stop() {
      await launched.stop();
      if (runtime.startedStack) await stackDown({ stackDir: settings.stackDir });
    },
  };
}

/** The institutions' clients, each connected as its own principal, or as its consultation application's. */
interface Clients {
  /** The client the scenario sends with: its requester's, on the channel it names. */
  of(scenario: DemoScenario): ExchangeClient;
  readonly unreadable: UnreadableReplies | undefined;
  close(): Promise<void>;
}

async function openClients(
  scenarios: readonly DemoScenario[],
  topics: TopicNames,
  codec: AvroCodec,
  logger: Logger,
  timeoutMs: number,
  settings: Settings,
): Promise<Clients> {
  const clients = new Map<string, ExchangeClient>();
  /** One client per institution and channel. */
  const keyOf = (s: Pick<DemoScenario, 'requester' | 'consultation'>) => (s.consultation === undefined ? s.requester : `${s.requester} consultation`);
  let unreadable: UnreadableReplies | undefined;
  const opened: Clients = {
    of: (scenario) => clients.get(keyOf(scenario)) as ExchangeClient,
    get unreadable() {
      return unreadable;
    },
    async close() {
      const closing = Promise.allSettled([...[...clients.values()].map((c) => c.close()), unreadable?.close()]);
      // The replies are in: leaving the consumer groups can wait for a fetch in progress, the person
      // running the demo should not.
      await Promise.race([closing, new Promise((resolve) => setTimeout(resolve, CLOSE_WAIT_MS).unref())]);
    },
  };
  // The subscribers of the changes are watched by run-mutations.ts, with no exchange client of their own.
  const senders = new Map<string, DemoScenario>();
  for (const s of scenarios) if (s.send.kind !== 'mutation' && !senders.has(keyOf(s))) senders.set(keyOf(s), s);
  const institutions = [...senders.values()].some((s) => s.consultation !== undefined)
    ? loadInstitutions(settings.configDir)
    : null;
  // Each client kept as soon as it is open, so that one that fails leaves none of the others open.
  const opening = await Promise.allSettled(
    [...senders].map(async ([key, { requester: institution, consultation }]) => {
      // Through its consultation application: that application's principal, on the consultation channel.
      const principal = consultation === undefined || institutions === null ? institution : consultationOf(institutions, institution);
      if (principal === null) throw new Error(`${institution} has no consultation application (${consultation}) in config/institutions.yaml`);
      const client = await createExchangeClient({
        connection: principalConnection(principal, { settings }),
        institution,
        channel: consultation === undefined ? 'replies' : 'consultation',
        principal,
        topics,
        codec,
        logger,
        defaultTimeoutMs: timeoutMs,
      });
      clients.set(key, client);
    }),
  );
  try {
    const failed = opening.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (failed) throw failed.reason;
    const bytesSender = scenarios.find((s) => s.send.kind === 'bytes')?.requester;
    if (bytesSender) unreadable = await watchUnreadableReplies(bytesSender, topics, codec, logger, settings);
  } catch (error) {
    await opened.close();
    throw error;
  }
  return opened;
}

async function single(scenario: DemoScenario, clients: Clients, codec: AvroCodec, catalogue: Catalogue, timeoutMs: number): Promise<DemoOutcome> {
  const elapsed = stopwatch();
  const client = clients.of(scenario);
  try {
    switch (scenario.send.kind) {
      case 'request':
        return outcomeOf(await client.request(scenario.send.input), elapsed(), catalogue);
      case 'raw':
        return outcomeOf(await client.rawRequest({ ...scenario.send.record, requestId: randomUUID() }), elapsed(), catalogue);
      case 'bytes': {
        const unreadable = clients.unreadable;
        if (!unreadable) throw new Error('the replies to unreadable messages are not watched');
        const bytes = randomBytes(scenario.send.length);
        const record = await unreadable.expectAfter(() => client.rawSend(bytes), timeoutMs);
        return outcomeOf(toExchangeReply(record, codec), elapsed(), catalogue);
      }
      case 'quarterly-lists':
        throw new Error('the quarterly lists are not a single request');
      case 'mutation':
        throw new Error('a change is published, not requested');
    }
  } catch (error) {
    return noReply(error, elapsed());
  }
}

/** Runs every scenario; never rejects for an outcome, only when the switch cannot be reached or started. */
export async function runDemo(options: RunDemoOptions = {}): Promise<DemoReport> {
  const total = stopwatch();
  const settings = options.settings ?? loadSettings();
  const logger = options.logger ?? silentLogger;
  const progress = options.progress ?? {};
  const timeoutMs = options.requestTimeoutMs ?? DEFAULT_DEMO_TIMEOUT_MS;
  const today = options.today ?? new Date().toISOString().slice(0, 10);
  const scenarios = demoScenarios({ today });
  const codec = loadAvroCodec(SCHEMA_DIR);
  const catalogue = loadCatalogue(join(settings.configDir, 'catalogue'), { schemasDir: SCHEMA_DIR });
  const aborted = (): boolean => options.signal?.aborted === true;
  const timings = { setupMs: 0, requestsMs: 0, mutationsMs: 0, listsMs: 0, teardownMs: 0 };
  const outcomes = new Map<number, DemoOutcome>();

  const setup = stopwatch();
  const running = await openSwitch(options, settings, logger, (line) => progress.announce?.(line));
  let clients: Clients | undefined;
  let mutations: MutationRun | undefined;
  // Closing the clients ends what waits for a reply as no reply: the run then goes to its teardown.
  // (The changes' wait ends by itself on the same signal.)
  const onAbort = () => void clients?.close();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    if (!aborted()) {
      // The subscribers' listeners join their groups while the exchange clients connect.
      const withChanges = scenarios.some((s) => s.send.kind === 'mutation');
      const [openedClients, openedMutations] = await Promise.allSettled([
        openClients(scenarios, running.topics, codec, logger, timeoutMs, settings),
        withChanges
          ? openMutationRun(scenarios, {
              settings,
              topics: running.topics,
              codec,
              logger,
              today,
              ...(options.mutationWaitMs === undefined ? {} : { waitMs: options.mutationWaitMs }),
            })
          : Promise.resolve(undefined),
      ]);
      if (openedClients.status === 'fulfilled') clients = openedClients.value;
      if (openedMutations.status === 'fulfilled') mutations = openedMutations.value;
      for (const opened of [openedClients, openedMutations]) if (opened.status === 'rejected') throw opened.reason;
    }
    timings.setupMs = setup();
    const open = clients;
    // The single requests are independent: sent together, a switch that does not answer costs one
    // timeout, not one per scenario. The changes go at the same time: they wait on other topics.
    if (open && !aborted()) {
      const requests = async (): Promise<void> => {
        const elapsed = stopwatch();
        const singles = scenarios.filter((s) => s.send.kind !== 'quarterly-lists' && s.send.kind !== 'mutation');
        const done = await Promise.all(singles.map(async (s) => [s.number, await single(s, open, codec, catalogue, timeoutMs)] as const));
        for (const [number, outcome] of done) outcomes.set(number, outcome);
        timings.requestsMs = elapsed();
      };
      const changes = async (): Promise<void> => {
        if (!mutations) return;
        const elapsed = stopwatch();
        for (const [number, outcome] of await mutations.run(options.signal)) outcomes.set(number, outcome);
        timings.mutationsMs = elapsed();
      };
      await Promise.all([requests(), changes()]);
    }
    for (const scenario of scenarios) {
      if (!open || scenario.send.kind !== 'quarterly-lists' || aborted()) continue;
      const lists = stopwatch();
      const client = open.of(scenario);
      outcomes.set(scenario.number, await quarterlyLists(client, catalogue, scenario.send.quarters, scenario.expected.entries ?? 0, progress));
      timings.listsMs += lists();
    }
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    const teardown = stopwatch();
    try {
      await Promise.all([clients?.close(), mutations?.close()]);
      await running.stop();
    } finally {
      timings.teardownMs = teardown();
    }
  }

  const results: DemoResult[] = scenarios.map((scenario) => {
    const outcome = outcomes.get(scenario.number) ?? noReply(new Error('not run: the demo was interrupted'), 0);
    return { scenario, outcome, verdict: compareOutcome(scenario, outcome) };
  });
  return { gateway: running.gateway, results, timings: { ...timings, totalMs: total() }, logFile: options.logFile ?? null };
}

/** ONSS's requests for the quarterly lists, together; each list's entries counted as it arrives. */
async function quarterlyLists(
  client: ExchangeClient,
  catalogue: Catalogue,
  quarters: readonly QuarterlyListExpectation[],
  expectedEntries: number,
  progress: DemoProgress,
): Promise<DemoOutcome> {
  const elapsed = stopwatch();
  const statuses: string[] = quarters.map(() => NO_REPLY);
  const periods: Period[] = [];
  const delivered = new Set<string>();
  const removedBlocks = new Set<string>();
  const removedFields = new Set<string>();
  const present = new Set<string>();
  let entries = 0;
  let removed = 0;
  let outsideQuarter = 0;
  let underage = 0;
  let error: string | undefined;
  progress.listsStarted?.(expectedEntries, quarters.length);
  try {
    await client.requestMany(
      quarters.map((q) => q.input),
      {
        concurrency: quarters.length,
        onReply: (reply, index) => {
          const expected = quarters[index] as QuarterlyListExpectation;
          statuses[index] = reply.status;
          periods.push(...reply.effectivePeriods);
          if (!reply.ok) return;
          reply.deliveredBlocks.forEach((b) => delivered.add(b));
          reply.removedBlocks.forEach((b) => removedBlocks.add(b));
          // Every list withholds the same fields (those 22/046 does not name): shown once, in the order first seen.
          reply.removedFields.forEach((f) => removedFields.add(f));
          const service = catalogue.services.get(reply.service);
          if (service && reply.payload !== null) presentFieldsOf(service, reply.payload).forEach((f) => present.add(f));
          const list = (reply.payload ?? { entries: [] }) as {
            entries?: ReadonlyArray<{
              person?: { birthDate?: string | null } | null;
              incapacity?: { invalidityStartDate?: string | null; primaryIncapacityStartDate?: string | null } | null;
            }>;
          };
          const got = list.entries ?? [];
          entries += got.length;
          // The reply names the blocks withheld, not the rows: the simulated list being deterministic,
          // what the source listed is known, and the difference is what the period and age filters dropped.
          removed += Math.max(0, expected.listed - got.length);
          outsideQuarter += got.filter((e) => {
            const start = e.incapacity?.invalidityStartDate;
            return typeof start === 'string' && quarterOf(start) !== expected.quarter;
          }).length;
          underage += got.filter((e) => {
            const birthDate = e.person?.birthDate;
            const primaryIncapacityStartDate = e.incapacity?.primaryIncapacityStartDate;
            // An entry whose age cannot be read is not shown to be of age: counted (the switch fails closed).
            if (typeof birthDate !== 'string' || typeof primaryIncapacityStartDate !== 'string') return true;
            return !ofAge({ person: { birthDate }, incapacity: { primaryIncapacityStartDate } });
          }).length;
          progress.listReceived?.(got.length);
        },
      },
    );
  } catch (failure) {
    error = errorText(failure);
  } finally {
    progress.listsDone?.();
  }
  periods.sort((a, b) => (a.from < b.from ? -1 : a.from > b.from ? 1 : 0));
  const firstRefusal = statuses.find((s) => s !== 'OK');
  return {
    status: firstRefusal ?? 'OK',
    bcssCode: null,
    ticket: null,
    message: null,
    newNiss: null,
    deliveredBlocks: [...delivered],
    removedBlocks: [...removedBlocks],
    removedFields: [...removedFields],
    presentFields: [...present],
    effectivePeriods: periods,
    lists: { statuses, delivered: entries, removed, outsideQuarter, underage },
    ...(error === undefined ? {} : { error }),
    durationMs: elapsed(),
  };
}
