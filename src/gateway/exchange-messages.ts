import type { IsoDate } from '../domain/types.js';

/** The UTC day of an instant: the day the switch decides a request for. */
export function dayOf(epochMs: number): IsoDate {
  return new Date(epochMs).toISOString().slice(0, 10);
}
