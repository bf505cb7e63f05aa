import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PROJECT_ROOT } from '../src/config/project-paths.js';
import { WORKER_CONFIG_VARIABLE, type ParentMessage, type WorkerConfig, type WorkerMessage, type WorkerStats } from './worker-protocol.js';

const WORKER_FILE = join(dirname(fileURLToPath(import.meta.url)), 'worker.ts');

export interface WorkerHandle {
  readonly role: WorkerConfig['role'];
  /** The role, numbered when several processes share it (gateway, gateway-2, ...). */
  readonly name: string;
  readonly pid: number;
  stats(): Promise<WorkerStats>;
  profileStart(): Promise<void>;
  profileStop(file: string): Promise<void>;
  /** Stops the pipelines and waits for the process to end (killed after `graceMs`). */
  stop(graceMs?: number): Promise<void>;
}

type Distributive<T> = T extends unknown ? Omit<T, 'id'> : never;

/** Starts a worker process (tsx, as npm start runs) and resolves once its pipelines are started. */
export async function startWorker(config: WorkerConfig, name: string = config.role, readyTimeoutMs = 60_000): Promise<WorkerHandle> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', WORKER_FILE], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, [WORKER_CONFIG_VARIABLE]: JSON.stringify(config) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`the ${config.role} worker could not be started`);
  let nextId = 1;
  const waiting = new Map<number, { resolve(m: WorkerMessage & { type: 'done' }): void; reject(e: Error): void }>();
  let exited = false;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = true;
      for (const w of waiting.values()) w.reject(new Error(`the ${config.role} worker ended (${signal ?? code})`));
      waiting.clear();
      resolve();
    });
  });

  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the ${config.role} worker was not ready within ${readyTimeoutMs / 1000} s`));
    }, readyTimeoutMs);
    child.on('message', (message: WorkerMessage) => {
      if (message.type === 'ready') {
        clearTimeout(timer);
        resolve();
      } else if (message.type === 'failed') {
        clearTimeout(timer);
        reject(new Error(`the ${config.role} worker failed to start: ${message.message}`));
      } else {
        const w = waiting.get(message.id);
        waiting.delete(message.id);
        if (message.error !== undefined) w?.reject(new Error(`${config.role} worker: ${message.error}`));
        else w?.resolve(message);
      }
    });
    void exit.then(() => {
      clearTimeout(timer);
      reject(new Error(`the ${config.role} worker ended before it was ready`));
    });
  });

  const request = (message: Distributive<ParentMessage>): Promise<WorkerMessage & { type: 'done' }> => {
    if (exited) return Promise.reject(new Error(`the ${config.role} worker is not running`));
    const id = nextId++;
    return new Promise((resolve, reject) => {
      waiting.set(id, { resolve, reject });
      child.send({ ...message, id } as ParentMessage);
    });
  };

  return {
    role: config.role,
    name,
    pid,
    async stats() {
      const done = await request({ type: 'stats' });
      if (!done.stats) throw new Error('the worker sent no statistics');
      return done.stats;
    },
    async profileStart() {
      await request({ type: 'profile-start' });
    },
    async profileStop(file) {
      await request({ type: 'profile-stop', file });
    },
    async stop(graceMs = 30_000) {
      if (exited) return;
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await request({ type: 'stop' }).catch(() => undefined);
      await exit;
      clearTimeout(timer);
    },
  };
}
