import type { DeadLetterReason } from '../contract/dead-letters.js';
import { HEADER } from '../contract/names.js';
import type { InMessage } from '../messaging/kafka-client.js';
import type { ChunkResult, PipelineEvents } from '../messaging/transactional-pipeline.js';
import { DEAD_LETTER_REASONS, UNKNOWN_LABEL, type GatewayMetrics } from './metrics.js';

const REASONS = new Set<string>(DEAD_LETTER_REASONS);

/** The reason a dead letter's `reason` header gives (set by deadLetter() from the typed reason), or `unknown`. */
export function deadLetterReasonOf(header: string | undefined): DeadLetterReason | typeof UNKNOWN_LABEL {
  return header !== undefined && REASONS.has(header) ? (header as DeadLetterReason) : UNKNOWN_LABEL;
}

type Transform = (messages: readonly InMessage[]) => Promise<ChunkResult>;

/**
 * A transactional pipeline's events and transform, reporting to `metrics`: its group's rebalances and
 * aborted transactions, and the dead letters its chunks write (counted, like answers, when produced:
 * a chunk that aborts and runs again is counted twice).
 */
export function observedPipeline(
  metrics: GatewayMetrics,
  options: { readonly group: string; readonly deadLetterTopic: string; readonly transform: Transform },
): { events: PipelineEvents; transform: Transform } {
  return {
    events: { rebalanced: () => metrics.rebalanced(options.group), aborted: () => metrics.transactionAborted(options.group) },
    async transform(messages) {
      const result = await options.transform(messages);
      for (const record of result.records) {
        if (record.topic === options.deadLetterTopic) metrics.deadLettered(deadLetterReasonOf(record.headers?.[HEADER.reason]));
      }
      return result;
    },
  };
}
