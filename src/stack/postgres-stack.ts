import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../logging/logger.js';
import { createSqlPool, waitForPostgres } from '../store/postgres-connection.js';
import { freePort, portIsFree, readJson, runningPid, secret, spawnDetached, StackError, stopProcess, writePrivate } from './stack-processes.js';

/**
 * The local stack's PostgreSQL, for the audit index: Debian's binaries (`/usr/lib/postgresql/<v>/bin`,
 * or the folder named by BCSS_POSTGRES_BIN), a cluster of its own in `<stack>/postgres`, its own port
 * (15432 when free), password authentication over loopback TCP only, and the database `bcss_audit`.
 * It never uses a PostgreSQL the machine runs for itself. initdb and postgres refuse to run as root:
 * started by root, they run as the system user `postgres` (Debian's package creates it).
 */

export const AUDIT_INDEX_DATABASE = 'bcss_audit';
const DEFAULT_PORT = 15432;
const SUPERUSER = 'bcss';
const RUN_AS = 'postgres';

export interface PostgresPaths {
  readonly data: string;
  readonly state: string;
  readonly log: string;
}

export function postgresPathsOf(stackDir: string): PostgresPaths {
  return { data: join(stackDir, 'postgres'), state: join(stackDir, 'postgres.json'), log: join(stackDir, 'logs', 'postgres.log') };
}

interface PostgresState {
  readonly port: number;
  readonly user: string;
  readonly password: string;
}

/** The folder of initdb and postgres: BCSS_POSTGRES_BIN, else the newest Debian version; null when absent. */
export function postgresBinDir(configured: string | null = process.env.BCSS_POSTGRES_BIN ?? null): string | null {
  if (configured) return existsSync(join(configured, 'initdb')) ? configured : null;
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(root, versions[0], 'bin') : null;
}

/** The uid and gid to run PostgreSQL as: ours, unless we are root. */
function runAs(): { uid: number; gid: number } | null {
  if (process.getuid?.() !== 0) return null;
  const result = spawnSync('id', ['-u', RUN_AS], { encoding: 'utf8' });
  const group = spawnSync('id', ['-g', RUN_AS], { encoding: 'utf8' });
  if (result.status !== 0 || group.status !== 0) {
    throw new StackError(`PostgreSQL refuses to run as root and there is no user '${RUN_AS}' to run it as (Debian: apt-get install postgresql)`);
  }
  return { uid: Number(result.stdout.trim()), gid: Number(group.stdout.trim()) };
}

function chownTo(path: string, owner: { uid: number; gid: number } | null): void {
  if (owner) chownSync(path, owner.uid, owner.gid);
}

/** The local stack's HMAC key of the audit index: random per checkout, like the seal key, never in the repository. */
export function auditIndexKeyPath(stackDir: string): string {
  return join(stackDir, 'audit-index.key');
}

function ensureIndexKey(stackDir: string): void {
  const file = auditIndexKeyPath(stackDir);
  if (!existsSync(file)) writePrivate(file, `${randomBytes(32).toString('hex')}\n`);
}

export function postgresUrl(state: PostgresState, database = AUDIT_INDEX_DATABASE): string {
  return `postgres://${SUPERUSER}:${encodeURIComponent(state.password)}@127.0.0.1:${state.port}/${database}`;
}

/** First start only: a new cluster with the superuser's random password, loopback TCP, no Unix socket. */
async function ensureCluster(paths: PostgresPaths, bin: string, owner: { uid: number; gid: number } | null, log: Logger): Promise<PostgresState> {
  if (existsSync(paths.state) && existsSync(join(paths.data, 'PG_VERSION'))) return readJson<PostgresState>(paths.state);
  rmSync(paths.data, { recursive: true, force: true });
  mkdirSync(paths.data, { mode: 0o700 });
  chownTo(paths.data, owner);
  const state: PostgresState = { port: (await portIsFree(DEFAULT_PORT)) ? DEFAULT_PORT : await freePort(), user: SUPERUSER, password: secret() };
  // The password reaches initdb through a file only it reads, never through its arguments.
  const pwfile = join(paths.data, '..', 'postgres-initial-password');
  writePrivate(pwfile, `${state.password}\n`);
  chownTo(pwfile, owner);
  log.info({ data: paths.data, port: state.port }, 'initialising the local PostgreSQL');
  const result = spawnSync(
    join(bin, 'initdb'),
    ['-D', paths.data, '-U', SUPERUSER, `--pwfile=${pwfile}`, '--auth=scram-sha-256', '--encoding=UTF8', '--locale=C.UTF-8'],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...(owner ?? {}) },
  );
  rmSync(pwfile, { force: true });
  if (result.status !== 0) throw new StackError(`initdb failed (exit ${result.status}):\n${result.stdout}${result.stderr}`);
  const conf = join(paths.data, 'postgresql.conf');
  writeFileSync(
    conf,
    [
      '\n# Local stack (generated): loopback TCP only, no Unix socket, so nothing collides with a system PostgreSQL.',
      "listen_addresses = '127.0.0.1'",
      `port = ${state.port}`,
      "unix_socket_directories = ''",
      // The benchmark's index of 100 million rows is built faster with more memory for the sort.
      "maintenance_work_mem = '512MB'",
      "shared_buffers = '256MB'",
      '',
    ].join('\n'),
    { flag: 'a' },
  );
  chownTo(conf, owner);
  writePrivate(paths.state, `${JSON.stringify(state, null, 2)}\n`);
  return state;
}

function pidFileOf(paths: PostgresPaths): string {
  return join(paths.data, 'postmaster.pid');
}

export function postgresPid(stackDir: string): number | null {
  const paths = postgresPathsOf(stackDir);
  // postmaster.pid's first line is the server's pid; the server's working directory is its data folder.
  return existsSync(pidFileOf(paths)) ? runningPid(pidFileOf(paths), paths.data) : null;
}

function startServer(paths: PostgresPaths, bin: string, owner: { uid: number; gid: number } | null): boolean {
  if (postgresPid(join(paths.data, '..'))) return false;
  mkdirSync(join(paths.log, '..'), { recursive: true });
  const launchPid = join(paths.data, '..', 'postgres.launch.pid');
  if (owner) {
    // Written before the start, so that the server (another user) may append its log.
    writeFileSync(paths.log, '', { flag: 'a' });
    chownTo(paths.log, owner);
  }
  spawnDetached(join(bin, 'postgres'), ['-D', paths.data], paths.data, paths.log, launchPid, owner ?? undefined);
  rmSync(launchPid, { force: true });
  return true;
}

async function ensureDatabase(state: PostgresState): Promise<void> {
  const pool = createSqlPool(postgresUrl(state, 'postgres'), { max: 1 });
  try {
    const found = await pool.query('SELECT 1 FROM pg_database WHERE datname = $1', [AUDIT_INDEX_DATABASE]);
    if (found.rowCount === 0) await pool.query(`CREATE DATABASE ${AUDIT_INDEX_DATABASE}`);
  } finally {
    await pool.end();
  }
}

export interface PostgresUpResult {
  /** postgres://… of the database `bcss_audit`. */
  readonly url: string;
  readonly started: boolean;
}

/** Starts the stack's PostgreSQL unless it runs; null when PostgreSQL is not installed (the audit index is then off). */
export async function postgresUp(stackDir: string, log: Logger): Promise<PostgresUpResult | null> {
  const bin = postgresBinDir();
  if (!bin) {
    log.warn('PostgreSQL is not installed (Debian: apt-get install postgresql): the local stack runs without the audit index');
    return null;
  }
  const paths = postgresPathsOf(stackDir);
  const owner = runAs();
  const state = await ensureCluster(paths, bin, owner, log);
  const started = startServer(paths, bin, owner);
  await waitForPostgres(postgresUrl(state, 'postgres'), 30_000).catch((cause: unknown) => {
    throw new StackError(`the local PostgreSQL did not start; see ${paths.log}`, { cause });
  });
  await ensureDatabase(state);
  ensureIndexKey(stackDir);
  return { url: postgresUrl(state), started };
}

/** The URL of the stack's audit-index database when one was initialised, without starting anything. */
export function readPostgresUrl(stackDir: string): string | null {
  const paths = postgresPathsOf(stackDir);
  return existsSync(paths.state) ? postgresUrl(readJson<PostgresState>(paths.state)) : null;
}

/** Fast shutdown (SIGINT): open sessions are rolled back rather than waited for, as `pg_ctl stop -m fast`. */
export async function postgresDown(stackDir: string): Promise<boolean> {
  const pid = postgresPid(stackDir);
  if (!pid) return false;
  await stopProcess(pid, 30_000, 'SIGINT');
  return true;
}
