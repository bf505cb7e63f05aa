import { createRequire } from 'node:module';
import kafkajs from './kafkajs.js';
import type { LogEntry } from 'kafkajs';
import type { Logger } from '../../logging/logger.js';

const { logLevel } = kafkajs;

/**
 * Warnings kafkajs prints for choices made on purpose: bounded retries keep a transactional producer
 * from hanging forever (the transaction's abort and Kafka's redelivery give exactly-once instead), and
 * the default partitioner is the one every component uses.
 */
const EXPECTED_WARNINGS = [/^Limiting retries for the idempotent producer/, /^KafkaJS v2\.0\.0 switched default partitioner/];

interface ProtocolError {
  readonly type: string;
  readonly retriable: boolean;
  readonly message: string;
}

// kafkajs logs a protocol error by its message only; its own table (not in its typings) gives the type back.
const { errorCodes } = createRequire(import.meta.url)('kafkajs/src/protocol/error.js') as { errorCodes: readonly ProtocolError[] };
const PROTOCOL_ERRORS = new Map(errorCodes.map((e) => [e.message, e]));

/** Not retriable in kafkajs's table, but handled by its consumer itself: it rejoins the group. */
const REJOINED_BY_KAFKAJS = new Set(['REBALANCE_IN_PROGRESS', 'UNKNOWN_MEMBER_ID']);
/**
 * What the protocol answers in normal operation and kafkajs retries at once: a transaction still
 * ending when the next one starts (the sealer's, the pipelines'), a coordinator loading or moving at
 * start, a group rebalancing. Logged at debug; every other retried error at warn. All are counted.
 */
const ROUTINE = new Set([
  'CONCURRENT_TRANSACTIONS',
  'GROUP_LOAD_IN_PROGRESS',
  'GROUP_COORDINATOR_NOT_AVAILABLE',
  'NOT_COORDINATOR_FOR_GROUP',
  'REBALANCE_IN_PROGRESS',
]);
/** The label of a retried error whose protocol type the line does not give (a connection closed, a timeout). */
export const OTHER_RETRIED_ERROR = 'OTHER';

type RetriedListener = (errorType: string) => void;
const retriedListeners = new Set<RetriedListener>();

/**
 * Calls `listener` with the protocol error type (a bounded set: kafkajs's table, or
 * {@link OTHER_RETRIED_ERROR}) each time kafkajs logs an error it retries by itself, in any client of
 * this process. Returns the unsubscription.
 */
export function onKafkaRetriedError(listener: RetriedListener): () => void {
  retriedListeners.add(listener);
  return () => void retriedListeners.delete(listener);
}

function protocolErrorOf(message: string, extra: Record<string, unknown>): ProtocolError | undefined {
  const candidates = [
    typeof extra.error === 'string' ? extra.error : undefined,
    message,
    // "Crash: KafkaJSProtocolError: <message>", "Failed to send messages: <message>"
    message.replace(/^Crash: \w+: /, '').replace(/^Failed to send messages: /, ''),
  ];
  for (const candidate of candidates) {
    const found = candidate === undefined ? undefined : PROTOCOL_ERRORS.get(candidate);
    if (found) return found;
  }
  return undefined;
}

export type BridgedLevel = 'error' | 'warn' | 'debug' | 'trace';

/**
 * The level a kafkajs line is logged at, and the error type to count when kafkajs retries by itself.
 * Error level is kept for what needs a person: an error kafkajs does not retry, a consumer it does not
 * restart. A healthy run logs no error line, so an alert on error lines means something.
 */
export function bridgedLevel(level: number, message: string, extra: Record<string, unknown>): { level: BridgedLevel; retried?: string } {
  if (level === logLevel.WARN) return { level: EXPECTED_WARNINGS.some((w) => w.test(message)) ? 'debug' : 'warn' };
  if (level === logLevel.INFO) return { level: 'debug' };
  if (level !== logLevel.ERROR) return { level: 'trace' };
  // Follows a crash kafkajs restarts from (the crash line itself is counted below).
  if (message.startsWith('Restarting the consumer')) return { level: 'warn' };
  // Some topics of a CreateTopics refused (on a cluster: created meanwhile by another process, or by
  // an attempt that timed out): `ensureTopics` lists what exists and fails, at error, if one is missing.
  if (message.startsWith('Response CreateTopics') && extra.error === 'Topic creation errors') return { level: 'warn' };
  const protocol = protocolErrorOf(message, extra);
  if (protocol && (protocol.retriable || REJOINED_BY_KAFKAJS.has(protocol.type))) {
    return { level: ROUTINE.has(protocol.type) ? 'debug' : 'warn', retried: protocol.type };
  }
  // A crash after kafkajs's retries ran out is retriable for kafkajs: it restarts the consumer.
  if (message.startsWith('Crash: KafkaJSNumberOfRetriesExceeded')) return { level: 'warn', retried: OTHER_RETRIED_ERROR };
  return { level: 'error' };
}

export function kafkajsLogCreator(logger: Logger) {
  const child = logger.child({ module: 'kafkajs' });
  return () =>
    ({ level, log }: LogEntry) => {
      const { message, ...extra } = log;
      const bridged = bridgedLevel(level, message, extra);
      if (bridged.retried !== undefined) {
        for (const listener of retriedListeners) listener(bridged.retried);
        child[bridged.level]({ ...extra, retriedError: bridged.retried }, message);
      } else {
        child[bridged.level](extra, message);
      }
    };
}
