/**
 * What every simulated source reads and answers: the request as the codec decodes it, and the reply
 * before it is encoded. Its own file so that the simulators of each service (source-simulator.ts,
 * invalidity-batch.ts) can share it without importing each other.
 */
import type { EmployerKind, IsoDate } from '../domain/types.js';

/** be.bcss.gateway.SourceRequest as the codec decodes it (schemas/source-request.avsc). */
export interface SimulatorSourceRequest {
  readonly ticket: string;
  readonly service: string;
  readonly subjectNiss: string;
  readonly employer: { readonly kind: EmployerKind; readonly id: string; readonly category: string | null } | null;
  readonly period: { readonly from: IsoDate; readonly to: IsoDate | null };
  readonly blocks: readonly string[];
  readonly deadline: number;
}

export type SimulatedSourceStatus = 'OK' | 'NO_DATA' | 'ERROR' | 'NISS_REPLACED';

/** be.bcss.gateway.SourceReply without `answeredAt`, with the payload as a plain object (not encoded). */
export interface SimulatedSourceReply {
  readonly ticket: string;
  readonly status: SimulatedSourceStatus;
  readonly newNiss: string | null;
  readonly errorMessage: string | null;
  readonly payload: Record<string, unknown> | null;
}
