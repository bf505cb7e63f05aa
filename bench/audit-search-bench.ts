/**
 * How long `bcss audit search` takes for one person in a trail of a million audit records.
 *
 *   npx tsx bench/audit-search-bench.ts [--records 1000000] [--matched 300] [--runs 3] [--persons 400000]
 *
 * Fills a scratch audit topic of four partitions (its own prefix, deleted at the end) with realistic
 * records: exchanges of a population of `--persons` people — most forwarded then delivered (two
 * records, same person), some refused, some without data or timed out, some changes pushed — with the
 * gateway's keys (the person's NISS) and headers, and `--matched` records about one person spread
 * through the whole trail. Then times `searchAudit` for that person `--runs` times: each run reads the
 * person's one partition (about a quarter of the trail) from its beginning, compares keys, decodes only
 * the person's records. Prints JSON on stdout: {records, partitions, search_ms, median_ms, matched, ...};
 * progress on stderr.
 *
 * Producing is plain (no transactions, acks=-1, large batches): the trail's contents matter here, not
 * how the gateway writes it. The gateway's transaction markers, one per transaction and partition, are
 * the difference: the scan skips them without decoding.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { searchAudit } from '../src/audit/audit-search.js';
import { createRuntime } from '../src/app/runtime.js';
import { auditMessage, auditRecord, type AuditEventType, type AuditRecordValue } from '../src/contract/audit-records.js';
import { silentLogger } from '../src/logging/logger.js';
import type { MessageProducer, OutMessage } from '../src/messaging/kafka-client.js';
import { topicNames, type TopicNames } from '../src/messaging/topics.js';
import type { AvroCodec } from '../src/messaging/avro-codec.js';
import { makeNiss } from '../src/sources/synthetic-population.js';

const PARTITIONS = 4;
const BATCH = 10_000;
const IN_FLIGHT = 4;

const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '1000000' },
    matched: { type: 'string', default: '300' },
    runs: { type: 'string', default: '3' },
    persons: { type: 'string', default: '400000' },
    timeout: { type: 'string', default: '60000' },
  },
});
const RECORDS = Number(values.records);
const MATCHED = Number(values.matched);
const RUNS = Number(values.runs);
const PERSONS = Number(values.persons);
const TIMEOUT_MS = Number(values.timeout);
for (const [name, n] of Object.entries({ RECORDS, MATCHED, RUNS, PERSONS, TIMEOUT_MS })) {
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name.toLowerCase()}: a positive integer`);
}
if (MATCHED >= RECORDS) throw new Error('--matched must be below --records');

const progress = (line: string) => process.stderr.write(`${line}\n`);

/** A deterministic generator, so that two runs fill the same trail. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const rand = random(20_250_314);
const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)] as T;

/** The i-th person of the population: a valid NISS from a birth date and a sequence number. */
function personNiss(i: number): string {
  const day = i % 9_000;
  const birth = new Date(Date.UTC(1945, 0, 1) + day * 86_400_000 * 2).toISOString().slice(0, 10);
  return makeNiss(birth, 1 + (Math.floor(i / 9_000) % 997));
}

interface Grant {
  readonly requester: string;
  readonly intermediary: string | null;
  readonly service: string;
  readonly source: string;
  readonly deliberation: string;
  readonly purpose: string;
  readonly delivered: readonly string[];
  readonly removed: readonly string[];
}

const GRANTS: readonly Grant[] = [
  {
    requester: 'vaph',
    intermediary: 'magda',
    service: 'dmfa',
    source: 'onss',
    deliberation: '10/012',
    purpose: 'vaph-personal-assistance-budget',
    delivered: ['dmfa.employer-declaration', 'dmfa.natural-person', 'dmfa.worker-record', 'dmfa.occupation', 'dmfa.remuneration'],
    removed: ['dmfa.service', 'dmfa.contribution-unrelated-to-person'],
  },
  {
    requester: 'vaph',
    intermediary: 'magda',
    service: 'dimona',
    source: 'onss',
    deliberation: '10/012',
    purpose: 'vaph-personal-assistance-budget',
    delivered: ['dimona.period', 'dimona.employer', 'dimona.worker', 'dimona.occupation'],
    removed: [],
  },
  {
    requester: 'iriscare',
    intermediary: null,
    service: 'dmfa',
    source: 'onss',
    deliberation: '19/104',
    purpose: 'iriscare-care-structure-financing',
    delivered: ['dmfa.employer-declaration', 'dmfa.worker-record', 'dmfa.occupation'],
    removed: ['dmfa.remuneration'],
  },
  {
    requester: 'onva',
    intermediary: null,
    service: 'identification',
    source: 'bcss-registers',
    deliberation: '19/010',
    purpose: 'onva-inspection-annual-holidays',
    delivered: ['identification.name', 'identification.birth', 'identification.main-residence'],
    removed: ['identification.nationality'],
  },
  {
    requester: 'inami',
    intermediary: null,
    service: 'inami-incapacity',
    source: 'inami',
    deliberation: '21/088',
    purpose: 'inami-incapacity-control',
    delivered: ['inami-incapacity.period'],
    removed: [],
  },
];

const REFUSALS = ['NOT_INTEGRATED', 'NOT_INTEGRATED_FOR_PERIOD', 'NOT_AUTHORIZED', 'EMPLOYER_NOT_INTEGRATED', 'INVALID_PERIOD'];

/** The records of one exchange (or one pushed change) about `niss`, as the gateway writes them. */
function exchangeRecords(niss: string, at: number): AuditRecordValue[] {
  const grant = pick(GRANTS);
  const ticket = `T${randomUUID().replace(/-/g, '').slice(0, 22)}`;
  const common = {
    ticket,
    requester: grant.requester,
    intermediary: grant.intermediary,
    service: grant.service,
    source: grant.source,
    deliberation: grant.deliberation,
    deliberationVersion: 'v1',
    purpose: grant.purpose,
    subjectNiss: niss,
    effectivePeriods: [{ from: '2024-01-01', to: '2024-12-31' }],
  };
  const kind = rand();
  const outcome = (event: AuditEventType, status: string, delivered: readonly string[], removed: readonly string[]) =>
    auditRecord(event, status, { ...common, at: at + 40, deliveredBlocks: [...delivered], removedBlocks: [...removed] });
  const forwarded = auditRecord('REQUEST_FORWARDED', 'FORWARDED', { ...common, at, removedBlocks: [...grant.removed] });
  if (kind < 0.7) return [forwarded, outcome('REPLY_DELIVERED', 'OK', grant.delivered, grant.removed)];
  if (kind < 0.9) return [auditRecord('REQUEST_REFUSED', pick(REFUSALS), { ...common, at, effectivePeriods: [] })];
  if (kind < 0.95) return [forwarded, outcome('REPLY_DELIVERED', 'NO_DATA', [], [])];
  if (kind < 0.97) return [forwarded, outcome('SOURCE_TIMEOUT', 'SOURCE_TIMEOUT', [], [])];
  return [auditRecord('MUTATION_DELIVERED', 'OK', { ...common, at, deliveredBlocks: [...grant.delivered], removedBlocks: [...grant.removed] })];
}

/** Fills the topic: `total` records, `matched` of them about `target`, spread evenly through the trail. */
async function fill(producer: MessageProducer, codec: AvroCodec, topics: TopicNames, target: string, total: number, matched: number): Promise<number> {
  const every = Math.floor(total / matched);
  let written = 0;
  let ofTarget = 0;
  let batch: OutMessage[] = [];
  const inFlight = new Set<Promise<void>>();
  const flush = async () => {
    const messages = batch;
    batch = [];
    const sending = producer.send(topics.audit, messages).finally(() => inFlight.delete(sending));
    inFlight.add(sending);
    if (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight);
  };
  const start = Date.now() - total * 50;
  let lastReport = 0;
  while (written < total) {
    const forTarget = ofTarget < matched && written >= (ofTarget + 0.5) * every;
    const niss = forTarget ? target : personNiss(Math.floor(rand() * PERSONS));
    const records = exchangeRecords(niss, start + written * 50);
    for (const record of records.slice(0, Math.min(records.length, total - written, forTarget ? matched - ofTarget : Infinity))) {
      const { topic: _topic, ...message } = auditMessage(codec, topics, record);
      batch.push(message);
      written++;
      if (forTarget) ofTarget++;
    }
    if (batch.length >= BATCH) await flush();
    if (written - lastReport >= 100_000) {
      lastReport = written;
      progress(`  ${written.toLocaleString('en-US')} records written`);
    }
  }
  if (batch.length > 0) await flush();
  await Promise.all(inFlight);
  return ofTarget;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

async function main(): Promise<void> {
  const runtime = await createRuntime({ logger: silentLogger });
  const topics = topicNames(`bench-audit-${randomUUID().slice(0, 8)}`);
  const admin = await runtime.client.admin();
  const target = personNiss(PERSONS + 1);
  let interrupted = false;
  const onSignal = () => {
    interrupted = true;
    progress('interrupted: deleting the scratch topic');
    void admin.deleteTopics([topics.audit]).finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  try {
    await admin.ensureTopics([{ topic: topics.audit, partitions: PARTITIONS }]);
    progress(`scratch topic ${topics.audit} (${PARTITIONS} partitions): writing ${RECORDS.toLocaleString('en-US')} records, ${MATCHED} about the searched person`);
    const producer = await runtime.client.producer({ idempotent: false });
    const produceStart = performance.now();
    let ofTarget: number;
    try {
      ofTarget = await fill(producer, runtime.codec, topics, target, RECORDS, MATCHED);
    } finally {
      await producer.disconnect();
    }
    const produceMs = Math.round(performance.now() - produceStart);
    const offsets = await admin.topicOffsets(topics.audit);
    const records = offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
    progress(`written in ${(produceMs / 1000).toFixed(1)} s; per partition: ${offsets.map((p) => p.high).join(', ')}`);

    const searchMs: number[] = [];
    let matched = 0;
    let scanned = 0;
    let partition = -1;
    for (let run = 1; run <= RUNS && !interrupted; run++) {
      const started = performance.now();
      const result = await searchAudit({ client: runtime.client, codec: runtime.codec, topics, niss: target, timeoutMs: TIMEOUT_MS });
      const ms = Math.round(performance.now() - started);
      searchMs.push(ms);
      matched = result.records.length;
      scanned = result.scanned;
      partition = result.partition;
      progress(`  search ${run}: ${ms} ms, ${matched} records of the person among ${scanned.toLocaleString('en-US')} read in partition ${partition}`);
    }
    if (matched !== ofTarget) throw new Error(`the search found ${matched} records of the person, ${ofTarget} were written`);
    process.stdout.write(
      `${JSON.stringify({
        records,
        partitions: PARTITIONS,
        search_ms: searchMs,
        median_ms: median(searchMs),
        matched,
        scanned_in_partition: scanned,
        partition,
        produce_ms: produceMs,
      })}\n`,
    );
  } finally {
    process.removeListener('SIGINT', onSignal);
    await admin.deleteTopics([topics.audit]).catch((error: unknown) => progress(`could not delete ${topics.audit}: ${String(error)}`));
    await admin.disconnect();
  }
}

await main();
