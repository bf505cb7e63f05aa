/**
 * What the per-person audit of a list costs: one 22/046 quarterly list of `--entries` persons (default
 * 20,000) delivered with one LIST_ENTRY_DELIVERED audit record per person, against the same list with
 * only its outcome record (as before the per-person audit).
 *
 *   npx tsx bench/list-audit.ts [--entries 20000] [--rounds 5] [--commits 3] [--no-kafka]
 *   npm run bench:list-audit
 *
 * The list is the switch's own: ONSS's request goes through the gateway's request stage, the simulated
 * INAMI answers it (the quarter's entries plus 5 % of the neighbouring quarters), and the reply stage
 * (`replyTransform`) filters and delivers it — in this process, the stores replaced by the in-memory
 * ones of src/store/memory-stores.ts (as bench/micro.ts does). "Without" is the same reply stage with
 * the service's mode set to `consultation`, the only thing that turns the per-person records off.
 *
 * Measured (median of `--rounds` after a warm-up):
 *  - encode: the pure pieces — the filtered list, its Reply and its outcome record encoded (without);
 *    plus `listSubjects` and one `auditMessage` per person (with);
 *  - reply stage: the whole `replyTransform` of the source's answer, without and with;
 *  - bytes: what the records add (values, keys and headers, uncompressed: the producers do not compress).
 * Then, against the stack (median of `--commits`, without and with alternated in each round, after one
 * warm-up of each): the time to commit one transaction holding the outputs, through the gateway's own
 * transactional pipeline (`runTransactionalPipeline`: 900 KB produce calls, the consumed offset, the
 * commit) — from the end of the transform to the after-commit callback — on scratch topics configured
 * as `topicSpecs` configures them (replies and audit four partitions), deleted at the end.
 *
 * Prints one JSON line on stdout; the table and progress on stderr.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { createRuntime } from '../src/app/runtime.js';
import { buildAuthorizationIndex } from '../src/domain/authorization.js';
import type { Catalogue } from '../src/domain/catalogue.js';
import { listSubjects, type ExchangeRules } from '../src/domain/exchange.js';
import { auditMessage, type AuditRecordValue } from '../src/contract/audit-records.js';
import type { ReplyRecord, RequestRecord } from '../src/contract/exchange-records.js';
import { EXCHANGE_RECORD } from '../src/contract/names.js';
import { replyTransform } from '../src/gateway/reply-pipeline.js';
import { requestTransform } from '../src/gateway/request-pipeline.js';
import { topicSpecs } from '../src/gateway/topology.js';
import { silentLogger } from '../src/logging/logger.js';
import type { InMessage, KafkaAdmin } from '../src/messaging/kafka-client.js';
import { inMessage } from './in-message.js';
import { topicNames } from '../src/messaging/topics.js';
import { runTransactionalPipeline, type OutRecord, type RunningPipeline } from '../src/messaging/transactional-pipeline.js';
import { INVALIDITY_SERVICE } from '../src/sources/invalidity-batch.js';
import { sourceSimulatorTransform } from '../src/sources/simulator-service.js';
import { createSyntheticPopulation } from '../src/sources/synthetic-population.js';
import { createMemoryDirectoryStore, createMemoryPendingStore } from '../src/store/memory-stores.js';

const { values } = parseArgs({
  options: {
    entries: { type: 'string', default: '20000' },
    rounds: { type: 'string', default: '5' },
    commits: { type: 'string', default: '3' },
    quarter: { type: 'string', default: '2025Q2' },
    'no-kafka': { type: 'boolean', default: false },
  },
});
const ENTRIES = Number(values.entries);
const ROUNDS = Number(values.rounds);
const COMMITS = Number(values.commits);
for (const [name, n] of Object.entries({ entries: ENTRIES, rounds: ROUNDS, commits: COMMITS })) {
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name}: a positive integer`);
}
const QUARTER = values.quarter;
const quarterMatch = /^(\d{4})Q([1-4])$/.exec(QUARTER);
if (!quarterMatch) throw new Error('--quarter: YYYYQn');

const progress = (line: string) => process.stderr.write(`${line}\n`);

function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

const round1 = (x: number) => Math.round(x * 10) / 10;
const round3 = (x: number) => Math.round(x * 1000) / 1000;

/** Median of `rounds` timed calls after one untimed one, in ms. */
async function timed(rounds: number, fn: () => unknown): Promise<{ median_ms: number; runs_ms: number[] }> {
  await fn();
  const runs: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const start = performance.now();
    await fn();
    runs.push(performance.now() - start);
  }
  return { median_ms: round1(median(runs)), runs_ms: runs.map(round1) };
}


/** Bytes of a record as produced, before the batch framing: value, key, headers. */
function recordBytes(records: readonly OutRecord[]): { value: number; key_and_headers: number } {
  let value = 0;
  let keyAndHeaders = 0;
  for (const r of records) {
    value += r.value?.length ?? 0;
    if (r.key) keyAndHeaders += typeof r.key === 'string' ? Buffer.byteLength(r.key) : r.key.length;
    for (const [name, v] of Object.entries(r.headers ?? {})) keyAndHeaders += Buffer.byteLength(name) + Buffer.byteLength(v);
  }
  return { value, key_and_headers: keyAndHeaders };
}

const isEntry = (r: OutRecord) => r.headers?.event === 'LIST_ENTRY_DELIVERED';

interface CommitResult {
  readonly commits: number;
  readonly without_ms: number;
  readonly with_ms: number;
  readonly added_ms: number;
  readonly runs_without_ms: readonly number[];
  readonly runs_with_ms: readonly number[];
  readonly audit_partitions: number;
}

interface ListAuditResult {
  readonly entries: number;
  readonly quarter: string;
  readonly encode: {
    readonly rounds: number;
    readonly without_ms: number;
    readonly with_ms: number;
    readonly added_ms: number;
    readonly added_us_per_entry: number;
    readonly list_subjects_ms: number;
    readonly runs_without_ms: readonly number[];
    readonly runs_with_ms: readonly number[];
  };
  readonly reply_stage: { readonly rounds: number; readonly without_ms: number; readonly with_ms: number; readonly added_ms: number };
  readonly bytes: {
    readonly reply: number;
    readonly outcome_record: number;
    readonly without_total: number;
    readonly entry_records_value: number;
    readonly entry_records_key_and_headers: number;
    readonly added: number;
    readonly added_per_entry: number;
    readonly ratio_with_to_without: number;
  };
  commit?: CommitResult;
}

async function main(): Promise<void> {
  const runtime = await createRuntime({ logger: silentLogger });
  const { codec, catalogue, deliberations, payloadRecords } = runtime;
  const prefix = `bench-list-${randomUUID().slice(0, 8)}`;
  const topics = topicNames(prefix);
  const service = catalogue.services.get(INVALIDITY_SERVICE);
  const recordName = payloadRecords.get(INVALIDITY_SERVICE);
  if (!service || !recordName) throw new Error(`the catalogue has no ${INVALIDITY_SERVICE}`);

  // --- The list, through the gateway's two stages and the simulated INAMI.
  const rules: ExchangeRules = { catalogue, authorizations: buildAuthorizationIndex(deliberations, catalogue) };
  // The list names no one person: the directory is not read, and stays empty.
  const pending = createMemoryPendingStore();
  const requestStage = requestTransform({
    codec,
    topics,
    rules,
    directory: createMemoryDirectoryStore(),
    pending,
    sourceTimeoutMs: 30_000,
    logger: silentLogger,
  });
  const year = Number(quarterMatch?.[1]);
  const q = Number(quarterMatch?.[2]);
  const from = `${year}-${String(3 * q - 2).padStart(2, '0')}-01`;
  const to = new Date(Date.UTC(year, 3 * q, 0)).toISOString().slice(0, 10);
  const request: RequestRecord = {
    requestId: randomUUID(),
    requester: 'onss',
    onBehalfOf: null,
    service: INVALIDITY_SERVICE,
    purpose: null,
    subjectNiss: '',
    employer: null,
    period: { from, to },
    requestedBlocks: null,
    sentAt: Date.now(),
  };
  const forwarded = (await requestStage([inMessage(topics.requests('onss'), 0, 'onss', codec.encode(EXCHANGE_RECORD.request, request))])).records;
  const sourceRequest = forwarded.find((r) => r.headers?.type === 'source-request');
  if (!sourceRequest) throw new Error(`the request for the list was not forwarded: ${JSON.stringify(forwarded.map((r) => r.headers))}`);
  const inami = sourceSimulatorTransform({
    codec,
    topics,
    catalogue,
    population: createSyntheticPopulation(),
    logger: silentLogger,
    source: 'inami',
    payloadRecords,
    invalidityEntriesPerQuarter: ENTRIES,
  });
  const answered = (await inami([inMessage(sourceRequest.topic, 0, sourceRequest.key ?? null, sourceRequest.value, sourceRequest.headers as Record<string, string>)])).records;
  const sourceReplies = answered.map((r, i) => inMessage(r.topic, i, r.key ?? null, r.value, r.headers as Record<string, string>));

  // The same catalogue, the list service taken for a consultation: no per-person records.
  const withoutCatalogue: Catalogue = { services: new Map([...catalogue.services].map(([id, s]) => [id, id === INVALIDITY_SERVICE ? { ...s, mode: 'consultation' as const } : s])) };
  // Both stages, every round, claim the one exchange with the same answer (the same Kafka position), so
  // each claim succeeds again, as a re-run chunk's does; nothing is committed, so nothing is removed.
  const stageWith = replyTransform({ codec, topics, catalogue, authorizations: rules.authorizations, payloadRecords, pending, logger: silentLogger });
  const stageWithout = replyTransform({ codec, topics, catalogue: withoutCatalogue, authorizations: rules.authorizations, payloadRecords, pending, logger: silentLogger });
  const withRecords = (await stageWith(sourceReplies)).records;
  const withoutRecords = (await stageWithout(sourceReplies)).records;

  const replyOut = withRecords.find((r) => r.headers?.type === 'reply') as OutRecord;
  const reply = codec.decode<ReplyRecord>(EXCHANGE_RECORD.reply, replyOut.value as Buffer);
  if (reply.status !== 'OK' || reply.payload === null) throw new Error(`the list was not delivered: ${reply.status} ${reply.message}`);
  const payload = codec.decode<Record<string, unknown> & { entries: Array<{ niss: string }> }>(recordName, reply.payload);
  const entryRecords = withRecords.filter(isEntry);
  if (payload.entries.length !== ENTRIES) throw new Error(`the list delivered has ${payload.entries.length} entries, not ${ENTRIES}`);
  if (entryRecords.length !== ENTRIES) throw new Error(`${entryRecords.length} LIST_ENTRY_DELIVERED records for ${ENTRIES} entries`);
  if (withoutRecords.some(isEntry) || withoutRecords.length !== withRecords.length - ENTRIES) throw new Error('the reply stage without entries is not the list alone');
  const sourcePayloadBytes = (answered[0]?.value?.length ?? 0);
  progress(`list ${QUARTER}: ${payload.entries.length.toLocaleString('en-US')} entries delivered (${sourcePayloadBytes.toLocaleString('en-US')} B from the source); outputs ${withoutRecords.length} without, ${withRecords.length.toLocaleString('en-US')} with`);

  // --- Encode: the pure pieces.
  const outcome = codec.decode<AuditRecordValue>(EXCHANGE_RECORD.audit, withRecords.find((r) => r.headers?.type === 'audit' && !isEntry(r))?.value as Buffer);
  const listAlone = () => {
    const bytes = codec.encode(recordName, payload);
    const value = codec.encode(EXCHANGE_RECORD.reply, { ...reply, payload: bytes });
    return [value, auditMessage(codec, topics, outcome)];
  };
  const listWithEntries = () => {
    const out: unknown[] = listAlone();
    for (const niss of listSubjects(service, payload)) {
      out.push(auditMessage(codec, topics, { ...outcome, eventType: 'LIST_ENTRY_DELIVERED', subjectNiss: niss, removedBlocks: [], removedFields: [] }));
    }
    return out;
  };
  progress(`encode: median of ${ROUNDS}`);
  const encodeWithout = await timed(ROUNDS, listAlone);
  const encodeWith = await timed(ROUNDS, listWithEntries);
  const subjectsOnly = await timed(ROUNDS, () => listSubjects(service, payload));
  const stageWithoutTime = await timed(ROUNDS, () => stageWithout(sourceReplies));
  const stageWithTime = await timed(ROUNDS, () => stageWith(sourceReplies));

  const bytesWithout = recordBytes(withoutRecords);
  const bytesEntries = recordBytes(entryRecords);
  const result: ListAuditResult = {
    entries: ENTRIES,
    quarter: QUARTER,
    encode: {
      rounds: ROUNDS,
      without_ms: encodeWithout.median_ms,
      with_ms: encodeWith.median_ms,
      added_ms: round1(encodeWith.median_ms - encodeWithout.median_ms),
      added_us_per_entry: round3(((encodeWith.median_ms - encodeWithout.median_ms) * 1000) / ENTRIES),
      list_subjects_ms: subjectsOnly.median_ms,
      runs_without_ms: encodeWithout.runs_ms,
      runs_with_ms: encodeWith.runs_ms,
    },
    reply_stage: {
      rounds: ROUNDS,
      without_ms: stageWithoutTime.median_ms,
      with_ms: stageWithTime.median_ms,
      added_ms: round1(stageWithTime.median_ms - stageWithoutTime.median_ms),
    },
    bytes: {
      reply: replyOut.value?.length ?? 0,
      outcome_record: recordBytes(withoutRecords.filter((r) => r.headers?.type === 'audit')).value,
      without_total: bytesWithout.value + bytesWithout.key_and_headers,
      entry_records_value: bytesEntries.value,
      entry_records_key_and_headers: bytesEntries.key_and_headers,
      added: bytesEntries.value + bytesEntries.key_and_headers,
      added_per_entry: round1((bytesEntries.value + bytesEntries.key_and_headers) / ENTRIES),
      ratio_with_to_without: round3((bytesWithout.value + bytesWithout.key_and_headers + bytesEntries.value + bytesEntries.key_and_headers) / (bytesWithout.value + bytesWithout.key_and_headers)),
    },
  };

  // --- Commit, against the stack.
  if (!values['no-kafka']) result.commit = await measureCommits(runtime, prefix, withoutRecords, withRecords);

  process.stdout.write(`${JSON.stringify(result)}\n`);
  printTable(result);
}

type Kind = 'without' | 'with';

async function measureCommits(
  runtime: Awaited<ReturnType<typeof createRuntime>>,
  prefix: string,
  withoutRecords: readonly OutRecord[],
  withRecords: readonly OutRecord[],
): Promise<CommitResult> {
  const topics = topicNames(prefix);
  const trigger = `${prefix}.bench.trigger`;
  const wanted = new Set([topics.replies('onss'), topics.audit]);
  const specs = [
    ...topicSpecs(topics, runtime.institutions).filter((s) => wanted.has(s.topic)),
    { topic: trigger, partitions: 1 },
  ];
  const admin: KafkaAdmin = await runtime.client.admin();
  let pipeline: RunningPipeline | null = null;
  const cleanUp = async () => {
    await pipeline?.stop().catch(() => undefined);
    await admin.deleteTopics(specs.map((s) => s.topic)).catch((error: unknown) => progress(`could not delete the scratch topics: ${String(error)}`));
    await admin.disconnect().catch(() => undefined);
  };
  const onSignal = () => {
    progress('interrupted: deleting the scratch topics');
    void cleanUp().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  try {
    await admin.ensureTopics(specs);
    progress(`commit: scratch topics ${prefix}.* (replies and audit ${specs[0]?.partitions} partitions)`);
    let waiting: { resolve(ms: number): void; reject(error: unknown): void } | null = null;
    pipeline = await runTransactionalPipeline({
      client: runtime.client,
      groupId: `${prefix}.bench`,
      topics: [trigger],
      transactionalIdPrefix: `${prefix}.bench`,
      logger: silentLogger,
      fromBeginning: true,
      chunkSize: 1,
      async transform(messages) {
        const kind = (messages[0]?.value?.toString('utf8') ?? 'without') as Kind;
        const records = kind === 'with' ? withRecords : withoutRecords;
        const start = performance.now();
        return {
          records,
          afterCommit: async () => {
            waiting?.resolve(performance.now() - start);
            waiting = null;
          },
        };
      },
    });
    const producer = await runtime.client.producer();
    const commitOnce = async (kind: Kind): Promise<number> => {
      const done = new Promise<number>((resolve, reject) => (waiting = { resolve, reject }));
      await producer.send(trigger, [{ key: kind, value: Buffer.from(kind) }]);
      const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no commit of the ${kind} transaction within 120 s`)), 120_000).unref());
      return Promise.race([done, timeout]);
    };
    const times: Record<Kind, number[]> = { without: [], with: [] };
    try {
      // Warm-up: the transactional producer's InitProducerId, the group's join, the first metadata.
      progress(`  warm-up: without ${round1(await commitOnce('without'))} ms, with ${round1(await commitOnce('with'))} ms`);
      for (let i = 0; i < COMMITS; i++) {
        const order: Kind[] = i % 2 === 0 ? ['without', 'with'] : ['with', 'without'];
        for (const kind of order) times[kind].push(await commitOnce(kind));
        progress(`  round ${i + 1}: without ${round1(times.without[i] as number)} ms, with ${round1(times.with[i] as number)} ms`);
      }
    } finally {
      await producer.disconnect();
    }
    const offsets = await admin.topicOffsets(topics.audit);
    const auditOffsets = offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
    const auditRecords = (records: readonly OutRecord[]) => records.filter((r) => r.topic === topics.audit).length;
    // Each kind was committed COMMITS + 1 times (warm-up included); each transaction also leaves one
    // commit marker per partition it wrote to, so the offsets are at least the records.
    const expectedRecords = (COMMITS + 1) * (auditRecords(withoutRecords) + auditRecords(withRecords));
    if (auditOffsets < expectedRecords) throw new Error(`the audit topic holds ${auditOffsets} offsets, fewer than the ${expectedRecords} records committed`);
    return {
      commits: COMMITS,
      without_ms: round1(median(times.without)),
      with_ms: round1(median(times.with)),
      added_ms: round1(median(times.with) - median(times.without)),
      runs_without_ms: times.without.map(round1),
      runs_with_ms: times.with.map(round1),
      audit_partitions: offsets.length,
    };
  } finally {
    process.removeListener('SIGINT', onSignal);
    await cleanUp();
  }
}

function printTable(result: ListAuditResult): void {
  const { encode: e, reply_stage: s, bytes: b, commit: c } = result;
  const n = (x: number) => x.toLocaleString('en-US');
  const rows: Array<[string, string, string, string]> = [
    ['', 'list alone', `list + ${n(result.entries)} records`, 'added'],
    [`encode (median of ${e.rounds})`, `${e.without_ms} ms`, `${e.with_ms} ms`, `${e.added_ms} ms (${e.added_us_per_entry} µs/entry)`],
    [`reply stage (median of ${s.rounds})`, `${s.without_ms} ms`, `${s.with_ms} ms`, `${s.added_ms} ms`],
    ['bytes produced', n(b.without_total), n(b.without_total + b.added), `${n(b.added)} (${b.added_per_entry} B/entry)`],
  ];
  if (c) rows.push([`commit (median of ${c.commits})`, `${c.without_ms} ms`, `${c.with_ms} ms`, `${c.added_ms} ms`]);
  const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => r[i]?.length ?? 0)));
  for (const row of rows) progress(row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] as number) : cell.padStart(widths[i] as number))).join('  '));
}

await main();
process.exit(0);
