import { quoteIdentifier, type SqlPool, type SqlSession } from './postgres-connection.js';

/**
 * The audit index's table in PostgreSQL: one row per record of an audit topic, found by the keyed hash
 * of the person it is about. The row holds where the record is (partition, offset) and a few fields to
 * filter on; the record itself stays in Kafka, where its seal covers it.
 *
 * One schema per audit topic (`bcss.audit` → schema `bcss_audit`), so that switches with other topic
 * prefixes sharing one database never mix their rows.
 */

export interface AuditIndexRow {
  readonly partition: number;
  /** Kafka offset, exact (a decimal string). */
  readonly offset: string;
  /** HMAC-SHA-256 of the person's NISS (32 bytes); null for a record about no person. */
  readonly subjectHmac: Buffer | null;
  /** The record's instant (epoch ms). */
  readonly at: number;
  readonly requester: string | null;
  readonly service: string | null;
  readonly event: string;
  readonly outcome: string | null;
}

/** Where one indexed record is, and what the index knows of it. */
export interface IndexedRecordPlace {
  readonly partition: number;
  readonly offset: string;
  readonly at: number;
}

export function schemaForTopic(topic: string): string {
  return topic.toLowerCase().replace(/[^a-z0-9_]/g, '_');
}

/**
 * The table and its index. Primary key (partition, offset): a record reprocessed after a crash or a
 * reset lands on the row it already has, so `ON CONFLICT DO NOTHING` writes nothing twice.
 * `unlogged` is for the benchmark's scratch copy only (no write-ahead log: lost on a crash).
 */
export function auditIndexDdl(schema: string, options: { unlogged?: boolean; withIndexes?: boolean } = {}): string[] {
  const s = quoteIdentifier(schema);
  const table = [
    `CREATE SCHEMA IF NOT EXISTS ${s}`,
    `CREATE ${options.unlogged ? 'UNLOGGED ' : ''}TABLE IF NOT EXISTS ${s}.audit_index (
      audit_partition integer NOT NULL,
      audit_offset bigint NOT NULL,
      subject_hmac bytea,
      at timestamptz NOT NULL,
      requester text,
      service text,
      event text NOT NULL,
      outcome text
    )`,
  ];
  return options.withIndexes === false ? table : [...table, ...auditIndexIndexes(schema)];
}

/** The primary key and the search's index, apart so that a bulk load may build them after the rows. */
export function auditIndexIndexes(schema: string): string[] {
  const s = quoteIdentifier(schema);
  return [
    `DO $$ BEGIN
       IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'audit_index_place' AND connamespace = ${quoteLiteralName(schema)}::regnamespace) THEN
         ALTER TABLE ${s}.audit_index ADD CONSTRAINT audit_index_place PRIMARY KEY (audit_partition, audit_offset);
       END IF;
     END $$`,
    `CREATE INDEX IF NOT EXISTS audit_index_subject ON ${s}.audit_index (subject_hmac, at)`,
  ];
}

function quoteLiteralName(name: string): string {
  return `'${quoteIdentifier(name).replace(/'/g, "''")}'`;
}

export async function createAuditIndexSchema(pool: SqlPool, schema: string): Promise<void> {
  // Two indexers starting at once would race on CREATE … IF NOT EXISTS: one lock serialises them.
  await pool.transaction(async (session) => {
    await session.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`audit-index:${schema}`]);
    for (const statement of auditIndexDdl(schema)) await session.query(statement);
  });
}

const COLUMNS = 8;

/** Writes the rows in one statement; rows already there are left as they are. Returns the rows written. */
export async function insertAuditIndexRows(session: SqlSession, schema: string, rows: readonly AuditIndexRow[]): Promise<number> {
  if (rows.length === 0) return 0;
  const values: unknown[] = [];
  const tuples = rows.map((row, i) => {
    values.push(row.partition, row.offset, row.subjectHmac, new Date(row.at), row.requester, row.service, row.event, row.outcome);
    const base = i * COLUMNS;
    return `(${Array.from({ length: COLUMNS }, (_, c) => `$${base + c + 1}`).join(',')})`;
  });
  const result = await session.query(
    `INSERT INTO ${quoteIdentifier(schema)}.audit_index
       (audit_partition, audit_offset, subject_hmac, at, requester, service, event, outcome)
     VALUES ${tuples.join(',')}
     ON CONFLICT (audit_partition, audit_offset) DO NOTHING`,
    values,
  );
  return result.rowCount;
}

/** The search's query: one person's records, oldest first, in a time window when given. */
export function subjectQuery(schema: string): string {
  return `SELECT audit_partition AS partition, audit_offset::text AS offset, (extract(epoch FROM at) * 1000)::bigint::text AS at_ms
          FROM ${quoteIdentifier(schema)}.audit_index
          WHERE subject_hmac = $1 AND at >= $2 AND at <= $3
          ORDER BY at, audit_partition, audit_offset`;
}

// Open bounds as instants, so that the one query (and its plan) serves every search.
const MIN_TIME = new Date('1900-01-01T00:00:00Z');
const MAX_TIME = new Date('9999-12-31T00:00:00Z');

export async function findSubjectRecords(
  session: SqlSession,
  schema: string,
  subjectHmac: Buffer,
  window: { from?: number | null; to?: number | null } = {},
): Promise<IndexedRecordPlace[]> {
  const result = await session.query<{ partition: number; offset: string; at_ms: string }>(subjectQuery(schema), [
    subjectHmac,
    window.from == null ? MIN_TIME : new Date(window.from),
    window.to == null ? MAX_TIME : new Date(window.to),
  ]);
  return result.rows.map((row) => ({ partition: row.partition, offset: row.offset, at: Number(row.at_ms) }));
}
