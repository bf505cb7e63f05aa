import pg from 'pg';

/**
 * The only module that imports `pg` (node-postgres). Callers get a pool through `createSqlPool` and
 * see it as the narrow `SqlPool` below, so the driver stays replaceable in one file.
 *
 * The connection setting is a PostgreSQL URL: postgres://<user>:<password>@<host>:<port>/<database>.
 */

export interface SqlResult<Row> {
  readonly rows: Row[];
  readonly rowCount: number;
}

export interface SqlSession {
  query<Row = Record<string, unknown>>(text: string, values?: readonly unknown[]): Promise<SqlResult<Row>>;
}

export interface SqlPool extends SqlSession {
  /** Runs `work` inside BEGIN … COMMIT on one connection; ROLLBACK when it throws. */
  transaction<T>(work: (session: SqlSession) => Promise<T>): Promise<T>;
  end(): Promise<void>;
}

/** A PostgreSQL error with its SQLSTATE, or a connection error (code null). */
export class SqlError extends Error {
  override readonly name = 'SqlError';
  constructor(
    message: string,
    readonly code: string | null,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

function sqlError(error: unknown): SqlError {
  if (error instanceof SqlError) return error;
  const code = error instanceof pg.DatabaseError ? (error.code ?? null) : null;
  const message = error instanceof Error ? error.message : String(error);
  return new SqlError(message, code, { cause: error });
}

async function run<Row>(client: pg.Pool | pg.PoolClient, text: string, values?: readonly unknown[]): Promise<SqlResult<Row>> {
  try {
    const result = await client.query(text, values as unknown[] | undefined);
    return { rows: result.rows as Row[], rowCount: result.rowCount ?? 0 };
  } catch (error) {
    throw sqlError(error);
  }
}

// Bigint columns (offsets, counts) arrive as strings: exact, like the offsets the rest of the code keeps.
export function createSqlPool(url: string, options: { max?: number; applicationName?: string } = {}): SqlPool {
  const pool = new pg.Pool({ connectionString: url, max: options.max ?? 4, application_name: options.applicationName ?? 'bcss' });
  // An idle connection's error (the server restarted) must not crash the process; the next query fails instead.
  pool.on('error', () => undefined);
  return {
    query: (text, values) => run(pool, text, values),
    async transaction(work) {
      let client: pg.PoolClient;
      try {
        client = await pool.connect();
      } catch (error) {
        throw sqlError(error);
      }
      try {
        await run(client, 'BEGIN');
        const result = await work({ query: (text, values) => run(client, text, values) });
        await run(client, 'COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw sqlError(error);
      } finally {
        client.release();
      }
    },
    end: () => pool.end(),
  };
}

/** Waits until a server answers `SELECT 1` at `url`, for at most `timeoutMs`. */
export async function waitForPostgres(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
      return;
    } catch (error) {
      lastError = error;
    } finally {
      await client.end().catch(() => undefined);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new SqlError(`PostgreSQL did not answer within ${timeoutMs} ms`, null, { cause: lastError });
}

/** Quotes an identifier (a schema or table name chosen by a caller) for SQL text. */
export function quoteIdentifier(name: string): string {
  return pg.escapeIdentifier(name);
}
