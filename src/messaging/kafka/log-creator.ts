import kafkajs from 'kafkajs';
import type { LogEntry } from 'kafkajs';
import type { Logger } from '../../logging/logger.js';

const { logLevel } = kafkajs;

/**
 * Warnings kafkajs prints for choices made on purpose: bounded retries keep a transactional producer
 * from hanging forever (the transaction's abort and Kafka's redelivery give exactly-once instead), and
 * the default partitioner is the one every component uses.
 */
const EXPECTED_WARNINGS = [/^Limiting retries for the idempotent producer/, /^KafkaJS v2\.0\.0 switched default partitioner/];

export function kafkajsLogCreator(logger: Logger) {
  const child = logger.child({ module: 'kafkajs' });
  return () =>
    ({ level, log }: LogEntry) => {
      const { message, ...extra } = log;
      if (level === logLevel.WARN && EXPECTED_WARNINGS.some((w) => w.test(message))) child.debug(extra, message);
      else if (level === logLevel.ERROR) child.error(extra, message);
      else if (level === logLevel.WARN) child.warn(extra, message);
      else if (level === logLevel.INFO) child.debug(extra, message);
      else child.trace(extra, message);
    };
}
