import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import type { Runtime } from '../src/app/runtime.js';
import { buildAuthorizationIndex, decideAuthorization } from '../src/domain/authorization.js';
import type { Integration } from '../src/domain/directory.js';
import { checkRequest, composeAnswer, decideForward, type Channel, type CheckedRequest, type ExchangeRules } from '../src/domain/exchange.js';
import { isValidNiss, parseNiss } from '../src/domain/niss.js';
import { auditRecord } from '../src/contract/audit-records.js';
import { ticketFor, type ReplyRecord, type RequestRecord, type SourceReplyRecord } from '../src/contract/exchange-records.js';
import { EXCHANGE_RECORD } from '../src/contract/names.js';
import { grantOf, replyTransform } from '../src/gateway/reply-pipeline.js';
import { requestTransform } from '../src/gateway/request-pipeline.js';
import { silentLogger } from '../src/logging/logger.js';
import type { InMessage } from '../src/messaging/kafka-client.js';
import { inMessage } from './in-message.js';
import { topicNames } from '../src/messaging/topics.js';
import type { OutRecord } from '../src/messaging/transactional-pipeline.js';
import { sourceSimulatorTransform } from '../src/sources/simulator-service.js';
import { createSyntheticPopulation } from '../src/sources/synthetic-population.js';
import { decodeLines, encodeLines } from '../src/store/directory-encoding.js';
import { createDirectoryStore, type DirectoryStore } from '../src/store/directory-store.js';
import { redisKeys } from '../src/store/keys.js';
import { createMemoryDirectoryStore, createMemoryPendingStore } from '../src/store/memory-stores.js';
import { createPendingStore, readPending, storedPending, type PendingExchange, type PendingGrant } from '../src/store/pending-store.js';
import { round } from './cpu-accounting.js';
import { createLoadPlan, gatewayMessage, type LoadPlan } from './load-plan.js';
import { deleteKeysByPrefix } from './redis-cleanup.js';

/**
 * Micro-benchmarks of the rules on the request path, in this process, while nothing else of the
 * benchmark runs. Inputs are what the end-to-end load sends and gets back (same persons, same
 * services, payloads as the simulated sources over-deliver them), cycled so that no single value
 * is measured. Each figure is the median of five rounds after a warm-up (JIT compiled).
 *
 * Besides the single rules, the gateway's two stages are run whole on 500-message chunks without
 * Kafka or Redis (the stores replaced by the in-memory ones of src/store/memory-stores.ts, which keep
 * the directory in its stored form and the pending exchange as JSON, as Redis does): the JavaScript
 * cost of an exchange in the gateway's own code, which bounds what one gateway process can do
 * whatever the broker.
 */
export interface MicroResult {
  readonly name: string;
  readonly what: string;
  readonly ops_per_s: number;
  readonly us_per_op: number;
  /** CPU time of this process per operation (user + system; with I/O, the client's side only). */
  readonly cpu_us_per_op?: number;
}

/** Mean sizes of what one exchange carries, in bytes: what the Kafka and Redis costs scale with. */
export interface MessageSizes {
  readonly request: number;
  readonly source_request: number;
  readonly source_payload_identification: number;
  readonly source_payload_dmfa: number;
  /** A pending exchange as Redis stores it (JSON), written by the request stage and read back by the claim. */
  readonly pending_exchange_json: number;
  readonly reply_identification: number;
  readonly reply_dmfa: number;
  readonly audit_record: number;
}

export interface MicroReport {
  readonly benchmarks: readonly MicroResult[];
  readonly sizes: MessageSizes;
}

let sink: unknown;

async function measure(name: string, what: string, fn: () => unknown, opsPerCall = 1, roundMs = 300): Promise<MicroResult> {
  // Wall-clock rate, and the process's own CPU time per operation: on a machine shared with other
  // work the second is the steadier of the two (it does not count the time others held the core).
  const run = async (ms: number): Promise<{ rate: number; cpuUs: number }> => {
    let ops = 0;
    const cpu = process.cpuUsage();
    const start = performance.now();
    let elapsed = 0;
    while (elapsed < ms) {
      const r = fn();
      sink = r instanceof Promise ? await r : r;
      ops += opsPerCall;
      elapsed = performance.now() - start;
    }
    const used = process.cpuUsage(cpu);
    return { rate: (ops * 1000) / elapsed, cpuUs: (used.user + used.system) / ops };
  };
  await run(roundMs);
  const rounds: Array<{ rate: number; cpuUs: number }> = [];
  for (let i = 0; i < 5; i++) rounds.push(await run(roundMs));
  const median = (values: number[]) => values.sort((a, b) => a - b)[2] as number;
  const rate = median(rounds.map((r) => r.rate));
  return { name, what, ops_per_s: Math.round(rate), us_per_op: round(1e6 / rate, 3), cpu_us_per_op: round(median(rounds.map((r) => r.cpuUs)), 3) };
}


const cycle = <T>(items: readonly T[]) => {
  let i = 0;
  return (): T => items[i++ % items.length] as T;
};

export async function runMicro(
  runtime: Runtime,
  options: { readonly runId: string; readonly persons: number; readonly progress: (text: string) => void; readonly only?: ReadonlySet<string> },
): Promise<MicroReport> {
  const { codec, catalogue, deliberations, payloadRecords } = runtime;
  const plan: LoadPlan = createLoadPlan({ persons: options.persons, dmfaShare: 0.5, catalogue, deliberations });
  const topics = topicNames('bcss');
  const rules: ExchangeRules = { catalogue, authorizations: buildAuthorizationIndex(deliberations, catalogue) };
  const today = new Date().toISOString().slice(0, 10);
  const linesByNiss = new Map(plan.directory.map((d) => [d.niss, d.lines]));
  const results: MicroResult[] = [];
  const add = async (name: string, what: string, fn: () => unknown, opsPerCall = 1) => {
    if (options.only && !options.only.has(name)) return;
    const r = await measure(name, what, fn, opsPerCall);
    options.progress(`micro: ${name} ${r.ops_per_s.toLocaleString('en')} ops/s`);
    results.push(r);
  };

  // The load's requests, as the gateway receives them.
  const requests = Array.from({ length: 500 }, (_, i) => {
    const out = gatewayMessage(codec, topics, plan.next(), `m.${i}`, Date.now());
    return inMessage(out.topic, i, out.message.key ?? null, out.message.value);
  });
  const decoded = requests.map((m) => codec.decode<RequestRecord>(EXCHANGE_RECORD.request, m.value as Buffer));
  // ONVA's come through its consultation application (19/010 §37), as the request stage tells by the topic.
  const channelOf = (topic: string): Channel => (topics.patterns.consultationRequests.test(topic) ? 'consultation' : 'replies');
  const checked = decoded
    .map((r, i) => checkRequest(r, r.requester, rules, today, channelOf((requests[i] as InMessage).topic)))
    .filter((c): c is CheckedRequest => c.ok);
  if (checked.length !== decoded.length) throw new Error('micro: some requests of the load are refused by the checks');

  // The stores in memory, in the form Redis holds them: the directory's lines encoded, the pending exchanges as JSON.
  const pending = createMemoryPendingStore();
  // What the request stage hands the store, kept for the pending store's own case against Redis.
  const written: PendingExchange[] = [];
  const requestStage = requestTransform({
    codec,
    topics,
    rules,
    directory: createMemoryDirectoryStore(plan.directory),
    pending: {
      putMany: (exchanges) => {
        if (written.length === 0) written.push(...exchanges);
        return pending.putMany(exchanges);
      },
    },
    sourceTimeoutMs: 30_000,
    logger: silentLogger,
  });
  const forwarded = (await requestStage(requests)).records;
  const sourceRequests = forwarded.filter((r: OutRecord) => r.headers?.type === 'source-request');
  if (sourceRequests.length !== requests.length) throw new Error(`micro: ${requests.length - sourceRequests.length} requests of the load were not forwarded`);

  const population = createSyntheticPopulation({ extraPersons: options.persons });
  const simulators = new Map(
    ['onss', 'bcss-registers'].map((source) => [
      source,
      sourceSimulatorTransform({ codec, topics, catalogue, population, logger: silentLogger, source, payloadRecords }),
    ]),
  );
  const sourceMessages = sourceRequests.map((r, i) => inMessage(r.topic, i, r.key ?? null, r.value, r.headers as Record<string, string>));
  const bySource = new Map<string, InMessage[]>();
  const sourceOfTopic = new Map([...simulators.keys()].map((source) => [topics.sourceRequests(source), source]));
  for (const m of sourceMessages) {
    const source = sourceOfTopic.get(m.topic) as string;
    bySource.set(source, [...(bySource.get(source) ?? []), m]);
  }
  const sourceReplies: InMessage[] = [];
  for (const [source, list] of bySource) {
    const { records } = await (simulators.get(source) as ReturnType<typeof sourceSimulatorTransform>)(list);
    records.forEach((r, i) => sourceReplies.push(inMessage(r.topic, i, r.key ?? null, r.value, r.headers as Record<string, string>)));
  }
  const replyStage = replyTransform({
    codec,
    topics,
    catalogue,
    authorizations: rules.authorizations,
    payloadRecords,
    // Never committed here, so nothing is removed: each round claims the same exchanges again, with
    // the same claimants (the same source replies), as a re-run chunk does.
    pending,
    logger: silentLogger,
  });
  const replyOutput = (await replyStage(sourceReplies)).records;
  const delivered = replyOutput.filter((r) => r.headers?.type === 'reply');
  const okReplies = delivered.map((r) => codec.decode<ReplyRecord>(EXCHANGE_RECORD.reply, r.value as Buffer)).filter((r) => r.status === 'OK');
  if (okReplies.length === 0) throw new Error('micro: no OK reply came out of the in-memory exchange');

  // Payloads as the gateway decodes them, with the rules their exchange was forwarded under.
  // Taken once per answer, as the reply stage keeps the grants it decided: the filter cases time the filter alone.
  const rulesOf = (x: PendingExchange) => ({
    ...(grantOf(rules.authorizations, x) as PendingGrant),
    allowedBlocks: x.allowedBlocks,
    interimNeedsCategory: x.interimNeedsCategory,
    unauthorizedBlocks: x.unauthorizedBlocks,
    employer: x.employer,
    employerCategory: x.employerCategory,
    effectivePeriods: x.effectivePeriods,
  });
  const answers = sourceReplies.flatMap((m) => {
    const reply = codec.decode<SourceReplyRecord>(EXCHANGE_RECORD.sourceReply, m.value as Buffer);
    const exchange = readPending(pending.storedJson(reply.ticket) as string);
    if (reply.payload === null) return [];
    const record = payloadRecords.get(exchange.service) as string;
    return [{ exchange, rules: rulesOf(exchange), record, bytes: reply.payload, payload: codec.decode(record, reply.payload), sourceReply: m.value as Buffer }];
  });
  const ofService = (service: string) => answers.filter((a) => a.exchange.service === service).slice(0, 64);
  const identificationAnswers = ofService('identification');
  const dmfaAnswers = ofService('dmfa');
  const filtered = (list: typeof answers) =>
    list.map((a) => composeAnswer(catalogue.services.get(a.exchange.service)!, a.rules, a.payload).payload);
  const dmfaFiltered = filtered(dmfaAnswers);
  const identificationFiltered = filtered(identificationAnswers);
  const pendingJsons = pending.tickets().map((ticket) => pending.storedJson(ticket) as string);
  const mean = (sizes: readonly number[]) => Math.round(sizes.reduce((a, b) => a + b, 0) / Math.max(1, sizes.length));
  const replySizes = (service: string) =>
    mean(delivered.filter((r) => codec.decode<ReplyRecord>(EXCHANGE_RECORD.reply, r.value as Buffer).service === service).map((r) => (r.value as Buffer).length));
  const sizes: MessageSizes = {
    request: mean(requests.map((m) => (m.value as Buffer).length)),
    source_request: mean(sourceRequests.map((r) => (r.value as Buffer).length)),
    source_payload_identification: mean(identificationAnswers.map((a) => a.bytes.length)),
    source_payload_dmfa: mean(dmfaAnswers.map((a) => a.bytes.length)),
    pending_exchange_json: mean(pendingJsons.map((j) => Buffer.byteLength(j))),
    reply_identification: replySizes('identification'),
    reply_dmfa: replySizes('dmfa'),
    audit_record: mean([...forwarded, ...replyOutput].filter((r) => r.headers?.type === 'audit').map((r) => (r.value as Buffer).length)),
  };
  options.progress(`micro: sizes ${JSON.stringify(sizes)}`);

  // --- NISS
  const nisses = plan.directory.slice(0, 1024).map((d, i) => (i % 10 === 9 ? `${d.niss.slice(0, 9)}00` : d.niss));
  const nextNiss = cycle(nisses);
  await add('niss_validation', 'isValidNiss, 1 in 10 with wrong check digits', () => isValidNiss(nextNiss()));
  await add('niss_parse', 'parseNiss (normalised form, kind, birth date)', () => parseNiss(nextNiss()));

  // --- authorization
  const authRequests = cycle([
    { requester: 'onva', onBehalfOf: null, service: 'identification', purpose: null, requestedBlocks: null, date: today },
    { requester: 'magda', onBehalfOf: 'vaph', service: 'dmfa', purpose: null, requestedBlocks: null, date: today },
  ]);
  await add('authorization_decision', 'decideAuthorization: onva identification and magda-for-vaph DmfA, alternately', () =>
    decideAuthorization(rules.authorizations, authRequests()),
  );
  const nextDecoded = cycle(decoded);
  const nextToCheck = cycle(decoded.map((r, i) => ({ r, channel: channelOf((requests[i] as InMessage).topic) })));
  await add('request_checks', 'checkRequest: sender, service, NISS, employer, period, authorization', () => {
    const { r, channel } = nextToCheck();
    return checkRequest(r, r.requester, rules, today, channel);
  });
  const nextChecked = cycle(checked);
  await add('directory_decision', "decideForward: the beneficiary's lines, capacity, employer, period clipped", () => {
    const c = nextChecked();
    return decideForward(c, linesByNiss.get(c.subjectNiss) ?? []);
  });
  const encodedLines = cycle(plan.directory.slice(0, 1024).map((d) => ({ niss: d.niss, text: encodeLines(d.lines) })));
  await add('directory_decode', 'decodeLines: the stored form of one person read back', () => {
    const e = encodedLines();
    return decodeLines(e.text, e.niss);
  });

  // --- block filtering
  const filterOf = (list: typeof answers) => {
    const next = cycle(list);
    return () => {
      const a = next();
      return composeAnswer(catalogue.services.get(a.exchange.service)!, a.rules, a.payload);
    };
  };
  await add('block_filter_identification', 'composeAnswer on the registers’ answer for ONVA (19/010)', filterOf(identificationAnswers));
  await add('block_filter_dmfa', 'composeAnswer on the whole DmfA record for VAPH (10/012, one employer, 2024)', filterOf(dmfaAnswers));

  // --- Avro
  const nextRequest = cycle(requests.map((m) => m.value as Buffer));
  await add('avro_decode_request', 'Request', () => codec.decode(EXCHANGE_RECORD.request, nextRequest()));
  await add('avro_encode_request', 'Request', () => codec.encode(EXCHANGE_RECORD.request, nextDecoded()));
  const nextSourceReply = cycle(answers.map((a) => a.sourceReply));
  await add('avro_decode_source_reply', 'SourceReply (payload left as bytes)', () => codec.decode(EXCHANGE_RECORD.sourceReply, nextSourceReply()));
  const decodeOf = (list: typeof answers) => {
    const next = cycle(list);
    return () => {
      const a = next();
      return codec.decode(a.record, a.bytes);
    };
  };
  const encodeOf = (list: typeof answers, payloads: readonly unknown[]) => {
    let i = 0;
    return () => {
      const k = i++ % list.length;
      return codec.encode((list[k] as (typeof answers)[number]).record, payloads[k]);
    };
  };
  await add('avro_decode_identification', 'identification payload as the source sends it', decodeOf(identificationAnswers));
  await add('avro_encode_identification', 'identification payload after filtering', encodeOf(identificationAnswers, identificationFiltered));
  await add('avro_decode_dmfa', 'DmfA payload as the source sends it (whole record)', decodeOf(dmfaAnswers));
  await add('avro_encode_dmfa', 'DmfA payload after filtering', encodeOf(dmfaAnswers, dmfaFiltered));
  const nextReply = cycle(okReplies);
  await add('avro_encode_reply', 'Reply with its payload bytes', () => codec.encode(EXCHANGE_RECORD.reply, nextReply()));
  const audit = auditRecord('REPLY_DELIVERED', 'OK', {
    ticket: 'T0123456789abcdefghijkl',
    requester: 'vaph',
    intermediary: 'magda',
    source: 'onss',
    service: 'dmfa',
    deliberation: '10/012',
    deliberationVersion: 'v1',
    purpose: 'vaph-personal-assistance-budget',
    subjectNiss: plan.directory[0]?.niss ?? null,
    effectivePeriods: [{ from: '2024-01-01', to: '2024-12-31' }],
    deliveredBlocks: ['dmfa.employer-declaration', 'dmfa.natural-person', 'dmfa.worker-record', 'dmfa.occupation', 'dmfa.remuneration'],
    removedBlocks: ['dmfa.service'],
  });
  await add('avro_encode_audit', 'AuditRecord of a delivered DmfA reply', () => codec.encode(EXCHANGE_RECORD.audit, audit));

  // --- the rest of an exchange's own work
  const nextRequestMessage = cycle(requests);
  await add('ticket_sha256', 'ticketFor: SHA-256 of the request’s Kafka position', () => ticketFor(nextRequestMessage()));
  const pendingTexts = cycle(pendingJsons);
  await add('pending_json', 'a pending exchange to JSON and back (what Redis stores)', () => storedPending(readPending(pendingTexts())));

  // --- whole stages, per exchange (500-message chunks)
  await add('gateway_request_stage', 'requestTransform per request: decode, checks, directory, SourceRequest + audit encoded', () => requestStage(requests), requests.length);
  await add('gateway_reply_stage', 'replyTransform per reply: decode, claim (JSON), filter, Reply + audit encoded', () => replyStage(sourceReplies), sourceReplies.length);
  await add('source_simulator', 'the simulated source per request (not the gateway: for scale)', async () => {
    for (const [source, list] of bySource) await (simulators.get(source) as ReturnType<typeof sourceSimulatorTransform>)(list);
  }, sourceMessages.length);

  // --- the pending exchanges of a chunk on Redis: written as the request stage does, claimed as the reply stage does
  if (!options.only || options.only.has('pending_redis')) {
    results.push(await measurePendingOnRedis(runtime, `bench-${options.runId}-p`, written, sourceReplies, codec, options.progress));
  }

  // --- directory lookups on Redis, pipelined as the request stage does them (one round trip per chunk)
  if (!options.only || options.only.has('directory_lookups')) results.push(await measureLookups(runtime, `bench-${options.runId}-m`, plan.directory, 3, options.progress));
  sink = undefined;
  return { benchmarks: results, sizes };
}

/**
 * One chunk's pending exchanges through the Redis store: putMany of the 500 the request stage wrote,
 * then claimMany of them by their source replies (claimed again each round by the same claimants, as a
 * re-run chunk does). Per exchange: one write and one claim, round trips included.
 */
async function measurePendingOnRedis(
  runtime: Runtime,
  prefix: string,
  exchanges: readonly PendingExchange[],
  sourceReplies: readonly InMessage[],
  codec: Runtime['codec'],
  progress: (text: string) => void,
): Promise<MicroResult> {
  const redis = runtime.redis('background');
  try {
    const store = createPendingStore(redis, redisKeys(prefix));
    const claims = sourceReplies.map((m) => ({
      ticket: codec.decode<SourceReplyRecord>(EXCHANGE_RECORD.sourceReply, m.value as Buffer).ticket,
      claimant: `${m.topic}/${m.partition}/${m.offset}`,
      source: runtime.topics.institutionOf(m.topic),
    }));
    const r = await measure('pending_redis', '', async () => {
      await store.putMany(exchanges);
      const claimed = await store.claimMany(claims);
      if (claimed.some((c) => c.status !== 'claimed')) throw new Error('micro: a pending exchange could not be claimed back');
    }, exchanges.length);
    progress(`micro: pending_redis ${r.ops_per_s.toLocaleString('en')} exchanges/s`);
    return { ...r, what: `putMany then claimMany of ${exchanges.length} exchanges on Redis, per exchange` };
  } finally {
    await deleteKeysByPrefix(redis, prefix).catch(() => undefined);
    redis.disconnect();
  }
}

/**
 * Directory lookups per second through the store's readMany, 500 persons per call (one chunk of the
 * request stage, one pipelined round trip), one call at a time as a pipeline makes them.
 */
export async function measureLookupRate(store: DirectoryStore, nisses: readonly string[], seconds: number): Promise<number> {
  const batch = 500;
  let cursor = 0;
  const nextBatch = () => {
    const out: string[] = [];
    for (let i = 0; i < batch; i++) out.push(nisses[(cursor = (cursor * 1103515245 + 12345 + i) % nisses.length)] as string);
    return out;
  };
  for (let i = 0; i < 20; i++) await store.readMany(nextBatch());
  let lookups = 0;
  const start = performance.now();
  while (performance.now() - start < seconds * 1000) {
    await store.readMany(nextBatch());
    lookups += batch;
  }
  return Math.round((lookups * 1000) / (performance.now() - start));
}

async function measureLookups(
  runtime: Runtime,
  prefix: string,
  lines: ReadonlyArray<{ niss: string; lines: readonly Integration[] }>,
  seconds: number,
  progress: (text: string) => void,
): Promise<MicroResult> {
  const redis = runtime.redis('background');
  try {
    const store = createDirectoryStore(redis, redisKeys(prefix));
    for (let i = 0; i < lines.length; i += 5_000) await store.writeMany(lines.slice(i, i + 5_000));
    const rate = await measureLookupRate(store, lines.map((l) => l.niss), seconds);
    progress(`micro: directory_lookups ${rate.toLocaleString('en')} lookups/s over ${lines.length} persons`);
    return {
      name: 'directory_lookups',
      what: `readMany of 500 persons per round trip on Redis (${lines.length} persons stored), one call at a time`,
      ops_per_s: rate,
      us_per_op: round(1e6 / rate, 3),
    };
  } finally {
    await deleteKeysByPrefix(redis, prefix).catch(() => undefined);
    redis.disconnect();
  }
}

/**
 * On its own: `npx tsx bench/micro.ts [--only name,name] [--persons n]` — JSON on stdout, progress on
 * stderr; against the running stack (Redis for the directory and pending cases).
 */
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const arg = (flag: string) => {
    const i = process.argv.indexOf(flag);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  if (process.argv.includes('--help')) {
    process.stdout.write('npx tsx bench/micro.ts [--only name,name] [--persons n]: the micro-benchmarks alone, JSON on stdout\n');
    process.exit(0);
  }
  const { createBenchLogger } = await import('./bench-logger.js');
  const { createRuntime } = await import('../src/app/runtime.js');
  // The stack's connection as the runtime reads it, without the check of its processes by this
  // checkout's path: a second checkout of the project (an older commit, to compare) uses the same stack.
  const runtime = await createRuntime({ logger: createBenchLogger('micro').logger });
  const only = arg('--only');
  const report = await runMicro(runtime, {
    runId: randomBytes(3).toString('hex'),
    persons: Number(arg('--persons') ?? 10_000),
    progress: (text) => process.stderr.write(`${text}\n`),
    ...(only ? { only: new Set(only.split(',')) } : {}),
  });
  process.stdout.write(`${JSON.stringify(report)}\n`);
  process.exit(0);
}
