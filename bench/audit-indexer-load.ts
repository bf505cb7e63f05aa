/**
 * The indexer's part of bench/audit-index-bench.ts: throughput and lag of `startAuditIndexer` on a
 * scratch audit topic of four partitions (own prefix, deleted at the end; its index schema dropped).
 *
 * `records` audit records are written first (a backlog, as after an indexer outage); then the indexer
 * starts from offset 0 while a producer keeps appending `rate` records per second, in batches every
 * 100 ms, as a busy gateway would. Measured: the time to catch up with the backlog and what arrived
 * meanwhile (rows per second), then the lag (records written to the topic and not yet in the index)
 * sampled every 250 ms for 15 s of steady load, with the rate the producer really achieved then. The indexer connects as the admin of the stack (the
 * rows and offsets are the same as an auditor's); PostgreSQL is the stack's.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { createRuntime } from '../src/app/runtime.js';
import { startAuditIndexer } from '../src/audit/audit-index.js';
import { auditMessage, auditRecord, type AuditEventType } from '../src/contract/audit-records.js';
import { silentLogger } from '../src/logging/logger.js';
import type { OutMessage } from '../src/messaging/kafka-client.js';
import { topicNames, type TopicNames } from '../src/messaging/topics.js';
import type { AvroCodec } from '../src/messaging/avro-codec.js';
import { makeNiss } from '../src/sources/synthetic-population.js';
import { readPostgresUrl } from '../src/stack/postgres-stack.js';
import { DEFAULT_STACK_DIR } from '../src/stack/local-stack.js';
import { schemaForTopic } from '../src/store/audit-index-store.js';
import { createSqlPool, quoteIdentifier } from '../src/store/postgres-connection.js';
import { summarizeLatencies } from './stats.js';

const PARTITIONS = 4;
const BATCH = 5_000;
const EVENTS: readonly AuditEventType[] = ['REQUEST_FORWARDED', 'REPLY_DELIVERED', 'REQUEST_REFUSED', 'MUTATION_DELIVERED'];
const STEADY_MS = 15_000;

function messages(codec: AvroCodec, topics: TopicNames, from: number, count: number): OutMessage[] {
  return Array.from({ length: count }, (_, i) => {
    const n = from + i;
    const niss = makeNiss(new Date(Date.UTC(1950, 0, 1) + (n % 20_000) * 86_400_000).toISOString().slice(0, 10), 1 + (n % 997));
    const record = auditRecord(EVENTS[n % EVENTS.length] as AuditEventType, 'OK', {
      ticket: `t-${n}`,
      requester: 'vaph',
      intermediary: 'magda',
      source: 'onss',
      service: 'dmfa',
      deliberation: '10/012',
      subjectNiss: niss,
      deliveredBlocks: ['employment', 'wages'],
      requestId: randomUUID(),
    });
    const out = auditMessage(codec, topics, record);
    return { key: out.key, value: out.value, headers: out.headers };
  });
}

export interface IndexerBenchResult {
  readonly backlog: number;
  readonly rate_per_s: number;
  readonly catch_up_s: number;
  readonly rows_per_s: number;
  readonly steady: { readonly samples: number; readonly appended_per_s: number; readonly lag_records_p50: number | null; readonly lag_records_p99: number | null; readonly lag_records_max: number | null };
  readonly rows_total: number;
  readonly records_total: number;
}

export async function runIndexerBench(options: { records: number; rate: number; progress: (line: string) => void }): Promise<IndexerBenchResult> {
  const { progress } = options;
  const url = process.env.BCSS_AUDIT_INDEX_URL ?? readPostgresUrl(process.env.BCSS_STACK_DIR ?? DEFAULT_STACK_DIR);
  if (!url) throw new Error('no audit index database: run npm run stack:up (with PostgreSQL installed) or set BCSS_AUDIT_INDEX_URL');
  const runtime = await createRuntime({ logger: silentLogger });
  const topics = topicNames(`bench-aidx-${randomBytes(3).toString('hex')}`);
  const admin = await runtime.client.admin();
  const pool = createSqlPool(url, { max: 6, applicationName: 'bcss-bench-indexer' });
  const producer = await runtime.client.producer({ idempotent: false });
  let written = 0;
  try {
    await admin.ensureTopics([{ topic: topics.audit, partitions: PARTITIONS }]);
    progress(`writing a backlog of ${options.records.toLocaleString('en')} records to ${topics.audit}`);
    while (written < options.records) {
      const count = Math.min(BATCH, options.records - written);
      await producer.send(topics.audit, messages(runtime.codec, topics, written, count));
      written += count;
    }
    let records = 0;
    let rows = 0;
    const indexer = await startAuditIndexer({
      client: runtime.client,
      codec: runtime.codec,
      topics,
      pool,
      key: randomBytes(32),
      principal: 'admin',
      groupName: 'bench',
      onBatch: (b) => {
        records += b.records;
        rows += b.written;
      },
    });
    const started = performance.now();
    // The steady producer: `rate` records a second, a tenth every 100 ms.
    let producing = true;
    const perTick = Math.max(1, Math.round(options.rate / 10));
    const appending = (async () => {
      while (producing) {
        const tick = performance.now();
        await producer.send(topics.audit, messages(runtime.codec, topics, written, perTick));
        written += perTick;
        await new Promise((r) => setTimeout(r, Math.max(0, 100 - (performance.now() - tick))));
      }
    })();
    while (records < written && performance.now() - started < 600_000) await new Promise((r) => setTimeout(r, 50));
    const caughtUp = performance.now();
    const caughtRecords = records;
    const writtenAtCatchUp = written;
    progress(`caught up: ${caughtRecords.toLocaleString('en')} records in ${((caughtUp - started) / 1000).toFixed(1)} s`);
    const lags: number[] = [];
    while (performance.now() - caughtUp < STEADY_MS) {
      lags.push(Math.max(0, written - records));
      await new Promise((r) => setTimeout(r, 250));
    }
    const steadyRate = Math.round((written - writtenAtCatchUp) / ((performance.now() - caughtUp) / 1000));
    producing = false;
    await appending;
    while (records < written) await new Promise((r) => setTimeout(r, 50));
    await indexer.stop();
    const count = await pool.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${quoteIdentifier(schemaForTopic(topics.audit))}.audit_index`);
    const lag = summarizeLatencies(lags);
    return {
      backlog: options.records,
      rate_per_s: options.rate,
      catch_up_s: Math.round((caughtUp - started) / 100) / 10,
      rows_per_s: Math.round(caughtRecords / ((caughtUp - started) / 1000)),
      steady: { samples: lag.samples, appended_per_s: steadyRate, lag_records_p50: lag.p50_ms, lag_records_p99: lag.p99_ms, lag_records_max: lag.max_ms },
      rows_total: Number(count.rows[0]?.n),
      records_total: written,
    };
  } finally {
    await producer.disconnect();
    await pool.query(`DROP SCHEMA IF EXISTS ${quoteIdentifier(schemaForTopic(topics.audit))} CASCADE`).catch(() => undefined);
    await pool.end();
    await admin.deleteTopics([topics.audit]).catch(() => undefined);
    await admin.disconnect();
  }
}
