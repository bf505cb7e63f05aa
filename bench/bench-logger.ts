import { loadSettings, settingsLogger } from '../src/app/settings.js';
import type { Logger } from '../src/logging/logger.js';

/**
 * kafkajs logs as errors some broker answers it then retries by itself: a transaction step begun
 * while the broker still completes the previous transaction (CONCURRENT_TRANSACTIONS), and the
 * metadata of topics just created (the broker does not serve their partitions for a moment). Those
 * are counted, not printed — the count explains latency outliers better than a wall of identical
 * lines; every other line goes to stderr.
 */
export interface BenchLogger {
  readonly logger: Logger;
  /** Broker answers CONCURRENT_TRANSACTIONS so far (each retried by kafkajs after its backoff). */
  concurrentTransactionRetries(): number;
}

const TRANSIENT = [
  'This server does not host this topic-partition',
  'This server is not the leader for that topic-partition',
  '"msg":"Response CreateTopics',
  'Topic creation errors',
];

export function createBenchLogger(name: string): BenchLogger {
  let retries = 0;
  const destination = {
    write(line: string): boolean {
      if (line.includes('another concurrent operation on the same transaction')) {
        if (line.includes('"msg":"Response ')) retries++;
        return true;
      }
      if (TRANSIENT.some((text) => line.includes(text))) return true;
      return process.stderr.write(line);
    },
  } as NodeJS.WritableStream;
  return {
    logger: settingsLogger(loadSettings(), { level: 'warn', name, destination }),
    concurrentTransactionRetries: () => retries,
  };
}
