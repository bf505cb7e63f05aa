import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';

/**
 * The processes of a local stack (single node or cluster): started detached, recognised by their pid
 * file and working directory, stopped with a grace period; ports, secrets and private files.
 */

export class StackError extends Error {
  override readonly name = 'StackError';
}

export function commandExists(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

export const ALTERNATIVES =
  'Alternatives: point the gateway at an existing stack with KAFKA_BROKERS (plus KAFKA_SASL_USERNAME / KAFKA_SASL_PASSWORD) and REDIS_URL, or run `docker compose up` where Docker is available.';

/** Java for the brokers, redis-server, and whatever else a layout needs (redis-cli for a cluster). */
export function requireTools(extra: ReadonlyArray<{ command: string; hint: string }> = []): void {
  if (!commandExists('java')) throw new StackError(`Java (17 or later) is needed to run the local Kafka broker and was not found on PATH. ${ALTERNATIVES}`);
  if (!commandExists('redis-server')) {
    throw new StackError(`redis-server was not found on PATH (Debian: apt-get install redis-server). ${ALTERNATIVES}`);
  }
  for (const { command, hint } of extra) {
    if (!commandExists(command)) throw new StackError(`${command} was not found on PATH (${hint}). ${ALTERNATIVES}`);
  }
}

export async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolvePort) => {
    const server = createServer();
    server.once('error', () => resolvePort(false));
    server.listen({ port, host: '127.0.0.1' }, () => server.close(() => resolvePort(true)));
  });
}

/** A port the system has just handed out as free on the loopback interface. */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ port: 0, host: '127.0.0.1' }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

export function secret(): string {
  return randomBytes(18).toString('base64url');
}

export function readJson<T>(file: string): T {
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}

export function writePrivate(file: string, text: string): void {
  writeFileSync(file, text, { mode: 0o600 });
}

/** A pid is ours when the process is alive and its working directory is the one we started it in. */
export function runningPid(pidFile: string, cwd: string): number | null {
  if (!existsSync(pidFile)) return null;
  // The first line: PostgreSQL's postmaster.pid goes on with its data folder, port and more.
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]?.trim());
  if (!Number.isInteger(pid) || pid <= 0) return null;
  try {
    process.kill(pid, 0);
    return readlinkSync(`/proc/${pid}/cwd`) === cwd ? pid : null;
  } catch {
    return null;
  }
}

/** `runAs`: another user's uid and gid, for a server that refuses to run as root (PostgreSQL). */
export function spawnDetached(
  command: string,
  args: string[],
  cwd: string,
  logFile: string,
  pidFile: string,
  runAs?: { uid: number; gid: number },
): number {
  const out = openSync(logFile, 'a');
  const child = spawn(command, args, { cwd, detached: true, stdio: ['ignore', out, out], ...(runAs ?? {}) });
  closeSync(out);
  if (!child.pid) throw new StackError(`could not start ${command}`);
  child.unref();
  writeFileSync(pidFile, `${child.pid}\n`);
  return child.pid;
}

/** Sends a signal (0: only asks whether the process exists); false when there is no such process. */
function signal(pid: number, name: NodeJS.Signals | 0): boolean {
  try {
    process.kill(pid, name);
    return true;
  } catch {
    return false;
  }
}

/** True once the process is gone, false if it still runs after `graceMs`. */
async function exited(pid: number, graceMs: number, pollMs: number): Promise<boolean> {
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!signal(pid, 0)) return true;
    await new Promise((r) => setTimeout(r, pollMs));
  }
  return false;
}

/** SIGTERM (or `first`), then SIGKILL if the process still runs after `graceMs`. */
export async function stopProcess(pid: number, graceMs: number, first: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!signal(pid, first)) return;
  if (!(await exited(pid, graceMs, 100))) signal(pid, 'SIGKILL');
}

export type StoppedProcessSignal = 'SIGTERM' | 'SIGKILL';

/** Signals a process and waits until it is gone; SIGKILL after `graceMs` if a SIGTERM was not enough. */
export async function signalAndWait(pid: number, name: StoppedProcessSignal, graceMs: number): Promise<void> {
  if (name === 'SIGTERM') return stopProcess(pid, graceMs);
  if (!signal(pid, 'SIGKILL')) return;
  if (!(await exited(pid, graceMs, 50))) throw new StackError(`process ${pid} was still alive ${graceMs} ms after SIGKILL`);
}
