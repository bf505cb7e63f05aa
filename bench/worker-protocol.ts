/**
 * The gateway (or the bare relay) and the source simulators each run in a process of their own, as
 * they do in production: one Node event loop cannot carry a switch, three sources and the load that
 * drives them without each slowing the others. Parent and worker talk over the IPC channel.
 */
export type WorkerRole = 'gateway' | 'relay' | 'simulators' | 'one-hop-relay';

export interface WorkerConfig {
  readonly role: WorkerRole;
  /** Topic prefix, consumer groups and transactional ids of this run. */
  readonly prefix: string;
  readonly redisPrefix: string;
  /** Generated persons the simulated sources know (beside the fixed ones). */
  readonly persons: number;
  readonly sourceTimeoutMs: number;
  /** Relay only: where every source reply goes, and the sources it may forward to. */
  readonly relayRepliesTo: string;
  readonly relaySources: readonly string[];
  /**
   * Partitions each pipeline of the exchange path works on at once. 1 is the switch as shipped; more
   * is the experiment of bench/concurrent-pipelines.ts (relay, gateway stages and simulators alike).
   */
  readonly pipelineConcurrency: number;
  /** One-hop relay only: the topic it reads and the topic it writes. */
  readonly hop?: { readonly input: string; readonly output: string };
}

export type ParentMessage =
  | { readonly type: 'stats'; readonly id: number }
  | { readonly type: 'profile-start'; readonly id: number }
  | { readonly type: 'profile-stop'; readonly id: number; readonly file: string }
  | { readonly type: 'stop'; readonly id: number };

export interface WorkerStats {
  /** CPU seconds (user + system) since the worker started. */
  readonly cpuSeconds: number;
  /** Cumulative event-loop time: how busy the worker's one JavaScript thread was. */
  readonly eventLoop: { readonly idle: number; readonly active: number };
  /** Transaction requests the broker answered CONCURRENT_TRANSACTIONS (each retried after a backoff). */
  readonly concurrentTransactionRetries: number;
}

export type WorkerMessage =
  | { readonly type: 'ready' }
  | { readonly type: 'failed'; readonly message: string }
  | { readonly type: 'done'; readonly id: number; readonly stats?: WorkerStats; readonly error?: string };

export const WORKER_CONFIG_VARIABLE = 'BCSS_BENCH_WORKER';
