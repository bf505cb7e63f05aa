/**
 * What every simulated source answers, before it is encoded. Its own file so that the simulators of
 * each service (source-simulator.ts, invalidity-batch.ts) can share it without importing each other;
 * the request they read is the contract's SourceRequestRecord.
 */
import type { SourceReplyRecord } from '../contract/exchange-records.js';

/** be.bcss.gateway.SourceReply without `answeredAt`, with the payload as a plain object (not encoded). */
export type SimulatedSourceReply = Omit<SourceReplyRecord, 'answeredAt' | 'payload'> & {
  readonly payload: Record<string, unknown> | null;
};
