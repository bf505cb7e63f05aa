import type { Logger } from '../logging/logger.js';
import { NO_METRICS, type GatewayMetrics } from '../observability/metrics.js';

interface StepDefaults {
  readonly logger: Logger;
  readonly now?: () => number;
  readonly metrics?: GatewayMetrics;
}

/** A pipeline's dependencies with the clock, the module's logger and the metrics resolved. */
export type PipelineSteps<D extends StepDefaults> = D & {
  readonly now: () => number;
  readonly log: Logger;
  readonly metrics: GatewayMetrics;
};

export function pipelineSteps<D extends StepDefaults>(deps: D, module: string): PipelineSteps<D> {
  return {
    ...deps,
    now: deps.now ?? Date.now,
    log: deps.logger.child({ module }),
    metrics: deps.metrics ?? NO_METRICS,
  };
}
