import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/config/project-paths.js';
import type { TestStack } from './stack-context.js';

/**
 * The gateway as its own operating-system process (`bcss start`), for tests that must crash it for
 * real: SIGKILL leaves no chance to abort a transaction, disconnect a consumer or release a lease.
 *
 * Node runs src/cli/main.ts itself, with tsx registered through `--import` (as bin/bcss.mjs does), so
 * the pid the test holds is the gateway's own — not an npm or shell wrapper that would survive it.
 * Everything the child writes is kept (bounded) for diagnostics. Tests kill their children in afterAll
 * ({@link killAllGatewayProcesses}); as a last resort, whatever is still running when the test process
 * exits is killed too (not if the test process is itself killed by a signal: nothing runs then).
 */

export interface GatewayProcessOptions {
  /** Environment of the child, on top of PATH, HOME and TMPDIR (nothing else of the test process leaks in). */
  readonly env: Readonly<Record<string, string>>;
  /** Arguments after `start`; default: no simulators, no sample directory, no ACL provisioning. */
  readonly args?: readonly string[];
  /** Names the process in diagnostics (e.g. "gateway#2"). */
  readonly label?: string;
}

export interface ProcessExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface GatewayProcess {
  readonly label: string;
  readonly pid: number;
  /** Resolves when the process has ended, however it ended. */
  readonly exited: Promise<ProcessExit>;
  /** True until the process has ended. */
  alive(): boolean;
  /** Resolves once the gateway logs that it runs (the line whose msg starts with "gateway running"). */
  waitReady(timeoutMs: number): Promise<void>;
  /** SIGKILL, and wait until the operating system has reaped the process. */
  kill(): Promise<ProcessExit>;
  /** SIGTERM (the gateway's orderly stop); SIGKILL if it has not ended within `graceMs`. */
  terminate(graceMs?: number): Promise<ProcessExit>;
  /** What the process wrote (stdout then stderr interleaved as received), the last `maxChars` of it. */
  output(maxChars?: number): string;
  /** The JSON log lines at or above a pino level (40 warn, 50 error), parsed. */
  logLines(minLevel: number): Array<Record<string, unknown>>;
}

/** Every child started here and not yet ended. */
const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Last resort when the test process ends without its afterAll (a crash, a killed worker): the
  // 'exit' handler may only do synchronous work, and kill() is synchronous.
  process.once('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
}

/** Keeps at most this many characters of a child's output: the end is what explains a failure. */
const OUTPUT_LIMIT = 4_000_000;

export function spawnGatewayProcess(options: GatewayProcessOptions): GatewayProcess {
  installExitHook();
  const label = options.label ?? 'gateway';
  const args = options.args ?? ['--no-simulators', '--no-sample-directory', '--no-acl', '--no-sealer'];
  const base: Record<string, string> = {};
  for (const name of ['PATH', 'HOME', 'TMPDIR', 'LANG']) {
    const value = process.env[name];
    if (value !== undefined) base[name] = value;
  }
  const child = spawn(process.execPath, ['--import', 'tsx', join('src', 'cli', 'main.ts'), 'start', ...args], {
    cwd: PROJECT_ROOT,
    env: { ...base, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error(`${label}: the process could not be started`);
  live.add(child);

  let text = '';
  let pending = '';
  const parsed: Array<Record<string, unknown>> = [];
  let ready = false;
  const readyWaiters: Array<() => void> = [];

  const onLine = (line: string) => {
    if (!line.startsWith('{')) return;
    try {
      const entry = JSON.parse(line) as Record<string, unknown>;
      parsed.push(entry);
      if (parsed.length > 50_000) parsed.splice(0, parsed.length - 50_000);
      if (!ready && typeof entry.msg === 'string' && entry.msg.startsWith('gateway running')) {
        ready = true;
        for (const resolve of readyWaiters.splice(0)) resolve();
      }
    } catch {
      // Not a log line (a stack trace, a warning of node itself): kept in the text only.
    }
  };
  const append = (chunk: Buffer, fromStdout: boolean) => {
    const s = chunk.toString('utf8');
    text += s;
    if (text.length > OUTPUT_LIMIT) text = text.slice(text.length - OUTPUT_LIMIT);
    if (!fromStdout) return;
    pending += s;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) onLine(line);
  };
  child.stdout?.on('data', (chunk: Buffer) => append(chunk, true));
  child.stderr?.on('data', (chunk: Buffer) => append(chunk, false));

  let ended = false;
  const exited = new Promise<ProcessExit>((resolve) => {
    child.once('exit', (code, signal) => {
      ended = true;
      live.delete(child);
      resolve({ code, signal });
    });
  });

  const tail = (maxChars = 6_000) => (text.length > maxChars ? `…${text.slice(text.length - maxChars)}` : text);

  const kill = async (): Promise<ProcessExit> => {
    if (!ended) child.kill('SIGKILL');
    return exited;
  };

  return {
    label,
    pid: child.pid,
    exited,
    alive: () => !ended,
    async waitReady(timeoutMs) {
      if (ready) return;
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      const failed = new Promise<never>((_, reject) => {
        void exited.then((exit) => {
          if (!settled) reject(new Error(`${label} ended before it was ready (code ${exit.code}, signal ${exit.signal}):\n${tail()}`));
        });
        timer = setTimeout(() => reject(new Error(`${label} was not ready within ${timeoutMs} ms:\n${tail()}`)), timeoutMs);
      });
      try {
        await Promise.race([new Promise<void>((resolve) => readyWaiters.push(resolve)), failed]);
      } catch (error) {
        // A gateway that did not come up is of no use to anyone: it must not linger.
        await kill();
        throw error;
      } finally {
        settled = true;
        clearTimeout(timer);
      }
    },
    kill,
    async terminate(graceMs = 15_000) {
      if (ended) return exited;
      child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const graceful = await Promise.race([
        exited,
        new Promise<null>((resolve) => {
          timer = setTimeout(() => resolve(null), graceMs);
        }),
      ]);
      clearTimeout(timer);
      return graceful ?? kill();
    },
    output: tail,
    logLines: (minLevel) => parsed.filter((entry) => typeof entry.level === 'number' && entry.level >= minLevel),
  };
}

/** SIGKILLs every gateway child still running (for afterAll, whatever state the test left). */
export async function killAllGatewayProcesses(): Promise<void> {
  const waits = [...live].map(
    (child) =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      }),
  );
  await Promise.all(waits);
}

/**
 * The environment under which a child gateway joins a test's switch on the test broker and Redis: the
 * same topic prefix (hence the consumer groups `<prefix>.gateway.*`) and the same Redis key prefix as
 * the test's fixture. Its marker file (`gateway.json`, written by `bcss start`) goes to a folder of its
 * own, never to the developer's local stack folder; `dispose` removes that folder.
 */
export function gatewayProcessEnv(
  stack: TestStack,
  options: {
    readonly topicPrefix: string;
    readonly redisPrefix: string;
    readonly sourceTimeoutMs?: number;
    readonly logLevel?: string;
    /** Default: the source timeout plus 10 minutes; see below. */
    readonly answerDeadlineMs?: number;
    /** BCSS_MAX_PENDING; default the gateway's. */
    readonly maxPending?: number;
  },
): { env: Record<string, string>; dispose(): void } {
  const stackDir = mkdtempSync(join(tmpdir(), 'bcss-gateway-process-'));
  const env: Record<string, string> = {
    KAFKA_BROKERS: stack.kafka.brokers.join(','),
    REDIS_URL: stack.redisUrl,
    BCSS_TOPIC_PREFIX: options.topicPrefix,
    // Several gateways of the tests may run at once: no fixed HTTP port for their endpoints, and no
    // console (its port is fixed too, and outside the local stack it wants a users file).
    BCSS_HTTP_PORT: 'off',
    BCSS_CONSOLE_PORT: 'off',
    BCSS_REDIS_PREFIX: options.redisPrefix,
    BCSS_STACK_DIR: stackDir,
    LOG_LEVEL: options.logLevel ?? 'info',
  };
  if (stack.kafka.sasl) {
    env.KAFKA_SASL_USERNAME = stack.kafka.sasl.username;
    env.KAFKA_SASL_PASSWORD = stack.kafka.sasl.password;
    env.KAFKA_SASL_MECHANISM = stack.kafka.sasl.mechanism;
  }
  if (stack.kafka.ssl) env.KAFKA_SSL = 'true';
  if (options.sourceTimeoutMs !== undefined) env.BCSS_SOURCE_TIMEOUT_MS = String(options.sourceTimeoutMs);
  // These tests count exact outcomes: requests queued while a gateway is killed or the broker restarts
  // must still be forwarded, not answered OVERLOADED (which back-pressure.test.ts proves on its own).
  env.BCSS_ANSWER_DEADLINE_MS = String(options.answerDeadlineMs ?? (options.sourceTimeoutMs ?? 30_000) + 600_000);
  if (options.maxPending !== undefined) env.BCSS_MAX_PENDING = String(options.maxPending);
  return { env, dispose: () => rmSync(stackDir, { recursive: true, force: true }) };
}
