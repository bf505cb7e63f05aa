/**
 * The audit index on PostgreSQL: how long the search's query takes for one person among 100 million
 * index rows, and how fast the indexer follows the audit topic.
 *
 *   npx tsx bench/audit-index-bench.ts search [--rows 100000000] [--persons 10000000] [--searches 1000] [--keep]
 *   npx tsx bench/audit-index-bench.ts indexer [--records 200000]
 *
 * `search` fills a scratch schema (`bench_audit_index`) of the stack's PostgreSQL IN SQL
 * (INSERT … SELECT FROM generate_series, in slices of 5 million rows): `--rows` rows about `--persons`
 * people (each person the same number of rows, spread over ten years and the four partitions), the
 * subject a SHA-256 of the person's number (32 random-looking bytes, like the production HMAC). The
 * table is UNLOGGED (no write-ahead log: the load is faster; reads are the same). Then it builds the
 * production indexes (primary key and (subject_hmac, at)), ANALYZEs, and runs the search's own query
 * (`subjectQuery` of src/store/audit-index-store.ts) for `--searches` random persons one after the
 * other, timing each round trip. A schema already loaded with `--rows` rows (kept by `--keep`) is
 * reused. Prints JSON: median, p99, table and index sizes, load times. The schema is dropped at the
 * end unless `--keep`.
 *
 * `indexer` writes `--records` audit records to a scratch audit topic (own prefix, deleted at the end),
 * then runs the indexer on it from the beginning and reports rows per second and the lag (records of
 * the topic not yet in the index) sampled every second, while a producer keeps appending at the rate
 * given by `--rate` (records/s, default 2,000) for the whole run.
 */
import { createHash, randomInt } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { runIndexerBench } from './audit-indexer-load.js';
import { summarizeLatencies } from './stats.js';
import { auditIndexDdl, auditIndexIndexes, subjectQuery } from '../src/store/audit-index-store.js';
import { createSqlPool, type SqlPool } from '../src/store/postgres-connection.js';
import { readPostgresUrl } from '../src/stack/postgres-stack.js';
import { DEFAULT_STACK_DIR } from '../src/stack/local-stack.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    rows: { type: 'string', default: '100000000' },
    persons: { type: 'string', default: '10000000' },
    searches: { type: 'string', default: '1000' },
    records: { type: 'string', default: '200000' },
    rate: { type: 'string', default: '2000' },
    keep: { type: 'boolean', default: false },
  },
});

const progress = (line: string) => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${line}\n`);
const SCHEMA = 'bench_audit_index';
const SLICE = 5_000_000;

function positive(name: string, text: string | undefined): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name}: a positive integer`);
  return n;
}

function indexUrl(): string {
  const url = process.env.BCSS_AUDIT_INDEX_URL ?? readPostgresUrl(process.env.BCSS_STACK_DIR ?? DEFAULT_STACK_DIR);
  if (!url) throw new Error('no audit index database: run npm run stack:up (with PostgreSQL installed) or set BCSS_AUDIT_INDEX_URL');
  return url;
}

/** The subject bytes of person `p`, as the SQL generator computes them: sha256 of the 8-byte big-endian number. */
function subjectOf(person: number): Buffer {
  const bytes = Buffer.alloc(8);
  bytes.writeBigInt64BE(BigInt(person));
  return createHash('sha256').update(bytes).digest();
}

async function loadedRows(pool: SqlPool): Promise<number | null> {
  const found = await pool.query<{ n: string }>(
    `SELECT obj_description(c.oid, 'pg_class') AS n FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
     WHERE s.nspname = $1 AND c.relname = 'audit_index'`,
    [SCHEMA],
  );
  const note = found.rows[0]?.n;
  return note ? Number(note) : null;
}

async function load(pool: SqlPool, rows: number, persons: number): Promise<{ insert_s: number; index_s: number }> {
  await pool.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  for (const statement of auditIndexDdl(SCHEMA, { unlogged: true, withIndexes: false })) await pool.query(statement);
  const started = performance.now();
  for (let low = 1; low <= rows; low += SLICE) {
    const high = Math.min(rows, low + SLICE - 1);
    // Person of row g: a multiplicative spread (the multiplier is coprime to the population), so that
    // every person has rows/persons rows scattered over the whole time range.
    await pool.query(
      `INSERT INTO ${SCHEMA}.audit_index
       SELECT (p % 4)::int, g, sha256(int8send(p)),
              timestamptz '2016-01-01 00:00:00+00' + g * interval '3 seconds',
              (ARRAY['magda','vaph','onva','inami','onem','riziv-mc','cpas-gent','famifed'])[1 + (g % 8)::int],
              (ARRAY['dmfa','dimona','identification','inami-invalidity','gotot'])[1 + ((g / 8) % 5)::int],
              (ARRAY['REQUEST_FORWARDED','REPLY_DELIVERED','REQUEST_FORWARDED','REPLY_DELIVERED','REQUEST_REFUSED','MUTATION_DELIVERED'])[1 + ((g / 3) % 6)::int],
              (ARRAY['OK','OK','OK','NOT_AUTHORIZED','NO_DATA'])[1 + ((g / 5) % 5)::int]
       FROM (SELECT g, (g * 2654435761) % $3 AS p FROM generate_series($1::bigint, $2::bigint) AS g) AS rows_of_slice`,
      [low, high, persons],
    );
    progress(`inserted ${high.toLocaleString('en')} of ${rows.toLocaleString('en')} rows (${((performance.now() - started) / 1000).toFixed(0)} s)`);
  }
  const inserted = performance.now();
  for (const statement of auditIndexIndexes(SCHEMA)) {
    progress(`building ${statement.includes('PRIMARY KEY') ? 'the primary key' : 'the subject index'}`);
    await pool.query(statement);
  }
  await pool.query(`ANALYZE ${SCHEMA}.audit_index`);
  await pool.query(`COMMENT ON TABLE ${SCHEMA}.audit_index IS '${rows}'`);
  const indexed = performance.now();
  return { insert_s: Math.round((inserted - started) / 1000), index_s: Math.round((indexed - inserted) / 1000) };
}

async function sizes(pool: SqlPool): Promise<Record<string, string>> {
  const result = await pool.query<{ name: string; size: string }>(
    `SELECT c.relname AS name, pg_size_pretty(pg_relation_size(c.oid)) AS size
     FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace WHERE s.nspname = $1 ORDER BY c.relname`,
    [SCHEMA],
  );
  const total = await pool.query<{ size: string }>(`SELECT pg_size_pretty(pg_total_relation_size('${SCHEMA}.audit_index')) AS size`);
  return { ...Object.fromEntries(result.rows.map((r) => [r.name, r.size])), total: total.rows[0]?.size ?? '?' };
}

async function searchBench(): Promise<void> {
  const rows = positive('rows', values.rows);
  const persons = positive('persons', values.persons);
  const searches = positive('searches', values.searches);
  if (persons > rows) throw new Error('--persons must not exceed --rows');
  // One connection for the load (its statements are long), one for the searches, as the CLI has.
  const pool = createSqlPool(indexUrl(), { max: 1, applicationName: 'bcss-bench' });
  try {
    let loadTimes: { insert_s: number; index_s: number } | null = null;
    if ((await loadedRows(pool)) === rows) progress(`reusing ${SCHEMA} (${rows.toLocaleString('en')} rows)`);
    else loadTimes = await load(pool, rows, persons);
    const query = subjectQuery(SCHEMA);
    const plan = await pool.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${query}`, [subjectOf(1), new Date(0), new Date('9999-12-31')]);
    const latencies: number[] = [];
    const found: number[] = [];
    const perPerson = Math.floor(rows / persons);
    for (let i = 0; i < searches; i++) {
      const person = randomInt(persons);
      const subject = subjectOf(person);
      const started = performance.now();
      const result = await pool.query(query, [subject, new Date('1900-01-01T00:00:00Z'), new Date('9999-12-31T00:00:00Z')]);
      latencies.push(performance.now() - started);
      found.push(result.rowCount);
      // Every person has rows/persons rows (one more for the first rows % persons): fewer is a wrong query.
      if (result.rowCount < perPerson) throw new Error(`person ${person}: ${result.rowCount} rows, expected at least ${perPerson}`);
    }
    const summary = summarizeLatencies(latencies);
    const out = {
      rows,
      persons,
      searches,
      rows_per_person: perPerson,
      rows_found_mean: found.reduce((a, b) => a + b, 0) / found.length,
      median_ms: summary.p50_ms,
      p99_ms: summary.p99_ms,
      max_ms: summary.max_ms,
      mean_ms: summary.mean_ms,
      plan: plan.rows.map((r) => r['QUERY PLAN'].trim()),
      sizes: await sizes(pool),
      load: loadTimes,
    };
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    if (!values.keep) {
      progress(`dropping ${SCHEMA}`);
      await pool.query(`DROP SCHEMA ${SCHEMA} CASCADE`);
    }
  } finally {
    await pool.end();
  }
}

const mode = positionals[0] ?? 'search';
if (mode === 'search') await searchBench();
else if (mode === 'indexer') {
  const result = await runIndexerBench({ records: positive('records', values.records), rate: positive('rate', values.rate), progress });
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
} else throw new Error(`unknown mode ${mode}: search or indexer`);
