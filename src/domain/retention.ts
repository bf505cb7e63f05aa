/**
 * How long a recipient may keep what it received, as the deliberations say it. Not every deliberation
 * gives a duration, so the rule is a union that keeps what the text really says:
 *
 * - `duration`: an ISO 8601 duration from receipt (22/046: P3Y at the latest; 19/104: P6M);
 * - `until-event`: kept until something happens (17/006: until the debt is paid or declared
 *   irrecoverable and the bailiff's intervention is closed) — no date can be computed in advance;
 * - `no-storage`: consultation only, nothing stored (19/010 §37, DOLSIS);
 * - `unspecified`: the deliberation sets no retention for the data (10/012).
 */
import { daysInMonth } from './period.js';
import type { IsoDate } from './types.js';

export type Retention =
  | { readonly kind: 'duration'; readonly duration: string; readonly paragraphs: string; readonly text: string }
  | { readonly kind: 'until-event'; readonly event: string; readonly paragraphs: string; readonly text: string }
  | { readonly kind: 'no-storage'; readonly paragraphs: string; readonly text: string }
  | { readonly kind: 'unspecified'; readonly paragraphs: string; readonly text: string };

const DURATION = /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?$/;

export interface DateDuration {
  readonly years: number;
  readonly months: number;
  readonly days: number;
}

/** Parses the date part of an ISO 8601 duration (`P3Y`, `P6M`, `P1Y2M10D`, `P2W`); null for anything else. */
export function parseDateDuration(text: string): DateDuration | null {
  const m = DURATION.exec(text);
  if (m === null || text === 'P') return null;
  const [, y, mo, w, d] = m;
  return {
    years: Number(y ?? 0),
    months: Number(mo ?? 0),
    days: Number(d ?? 0) + 7 * Number(w ?? 0),
  };
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/**
 * `date` plus the duration: years and months first, the day clamped to the month's end (2024-08-31 plus
 * P6M is 2025-02-28), then days.
 */
export function addDuration(date: IsoDate, duration: DateDuration): IsoDate {
  let year = Number(date.slice(0, 4)) + duration.years;
  let month = Number(date.slice(5, 7)) + duration.months;
  year += Math.floor((month - 1) / 12);
  month = ((month - 1) % 12) + 1;
  const day = Math.min(Number(date.slice(8, 10)), daysInMonth(year, month));
  let ms = Date.UTC(year, month - 1, day);
  ms += duration.days * 86_400_000;
  const d = new Date(ms);
  return `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)}`;
}

/**
 * The last day the recipient may keep data received on `receivedOn`, or null when the rule gives no
 * date (until an event, unspecified). `no-storage` answers the day of receipt itself: consult, do not keep.
 */
export function retainUntil(retention: Retention, receivedOn: IsoDate): IsoDate | null {
  switch (retention.kind) {
    case 'duration': {
      const duration = parseDateDuration(retention.duration);
      return duration === null ? null : addDuration(receivedOn, duration);
    }
    case 'no-storage':
      return receivedOn;
    case 'until-event':
    case 'unspecified':
      return null;
  }
}
