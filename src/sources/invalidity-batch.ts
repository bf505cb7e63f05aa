/**
 * Authentic-source SIMULATOR (demos and tests only) of INAMI's quarterly list of employees entering
 * invalidity (service `inami-invalidity-entries`, deliberation 22/046): a batch, not a consultation, so
 * the request names no person, only a period, and the answer is the whole list of one calendar quarter.
 *
 * Pure and deterministic: the list of a quarter is built from a PRNG seeded with the quarter, so the
 * same quarter always gives the same persons and dates. The only notion of time is the `today` the
 * caller passes: a quarter's list exists once the quarter is over.
 *
 * Like the other simulated sources it over-delivers on purpose: about one entry in twenty has its
 * invalidity start in the neighbouring quarter (late registrations of the previous quarter, and
 * invalidities already known to start early in the next one, the start being fixed one year after the
 * primary incapacity began). The switch's period filter (`incapacity.invalidityStartDate`) must drop them.
 */
import type { SourceRequestRecord } from '../contract/exchange-records.js';
import { addDays, dayNumber, quarterOf, quarterPeriod, type Quarter } from '../domain/period.js';
import type { IsoDate, Period } from '../domain/types.js';
import type { SimulatedSourceReply } from './simulated-source.js';
import { createPrng, makeNiss, SIMULATED, type Prng } from './synthetic-population.js';

export const INVALIDITY_SERVICE = 'inami-invalidity-entries';

/** The first quarter INAMI's simulated lists exist for (22/046 §2 covers invalidities from 2020 on). */
export const FIRST_INVALIDITY_QUARTER: Quarter = '2020Q1';

/** Entries whose invalidity starts in the quarter itself, by default. */
export const DEFAULT_INVALIDITY_ENTRIES_PER_QUARTER = 2_000;

/** One over-delivered entry (neighbouring quarter) for every twenty of the quarter's own. */
const OVER_DELIVERY_RATIO = 1 / 20;

/** How far into the neighbouring quarter the over-delivered invalidity starts fall, in days. */
const NEIGHBOUR_REACH_DAYS = 30;

const DEFAULT_SEED = 0x1a_a3_22_46;

export interface InvalidityEntry {
  readonly niss: string;
  readonly person: { readonly birthDate: IsoDate };
  readonly incapacity: { readonly primaryIncapacityStartDate: IsoDate; readonly invalidityStartDate: IsoDate };
}

/** be.bcss.gateway.payload.InamiInvalidityEntriesPayload as a plain object. */
export interface InvalidityList {
  readonly quarter: Quarter;
  readonly listReference: string;
  readonly entries: readonly InvalidityEntry[];
}

export interface InvalidityListOptions {
  /** Entries whose invalidity starts in the quarter (default 2,000); about 5 % more are over-delivered. */
  readonly entriesPerQuarter?: number;
  readonly seed?: number;
}

export interface InvalidityAnswerOptions extends InvalidityListOptions {
  /** The simulated source's today: quarters not yet over have no list. */
  readonly today: IsoDate;
}

function intBetween(prng: Prng, min: number, max: number): number {
  return min + Math.floor(prng() * (max - min + 1));
}

function dayIn(prng: Prng, period: Period): IsoDate {
  return addDays(period.from, intBetween(prng, 0, dayNumber(period.to as IsoDate) - dayNumber(period.from)));
}

/** The same day one year earlier; 29 February falls back to the 28th. */
function yearBefore(date: IsoDate): IsoDate {
  const year = Number(date.slice(0, 4)) - 1;
  const monthDay = date.slice(5);
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return `${String(year).padStart(4, '0')}-${monthDay === '02-29' && !leap ? '02-28' : monthDay}`;
}

function quarterSeed(quarter: Quarter, seed: number): number {
  const index = Number(quarter.slice(0, 4)) * 4 + Number(quarter.slice(5)) - 1;
  return (seed ^ Math.imul(index, 0x9e37_79b1)) >>> 0;
}

const FIXED_NISS: ReadonlySet<string> = new Set(Object.values(SIMULATED));

/**
 * The simulated list of one quarter, over-delivered entries included, sorted by NISS (so that those
 * are scattered among the others). Same quarter and options, same list.
 */
export function invalidityList(quarter: Quarter, options: InvalidityListOptions = {}): InvalidityList {
  const own = options.entriesPerQuarter ?? DEFAULT_INVALIDITY_ENTRIES_PER_QUARTER;
  if (!Number.isInteger(own) || own < 0) throw new RangeError(`entriesPerQuarter must be a whole number ≥ 0, not ${own}`);
  const period = quarterPeriod(quarter);
  if (period === null || period.to === null) throw new RangeError(`not a quarter: ${quarter}`);
  const prng = createPrng(quarterSeed(quarter, options.seed ?? DEFAULT_SEED));
  const before: Period = { from: addDays(period.from, -NEIGHBOUR_REACH_DAYS), to: addDays(period.from, -1) };
  const after: Period = { from: addDays(period.to, 1), to: addDays(period.to, NEIGHBOUR_REACH_DAYS) };
  const neighbours = Math.round(own * OVER_DELIVERY_RATIO);

  const seen = new Set<string>();
  const entries: InvalidityEntry[] = [];
  const add = (span: Period): void => {
    const invalidityStartDate = dayIn(prng, span);
    // Invalidity follows one year of primary incapacity; interruptions of the incapacity push its start back.
    const interrupted = prng() < 0.25 ? intBetween(prng, 1, 90) : 0;
    const primaryIncapacityStartDate = addDays(yearBefore(invalidityStartDate), -interrupted);
    // Employees over 18 (22/046 §1) and under the pension age.
    const birthYear = Number(invalidityStartDate.slice(0, 4)) - intBetween(prng, 20, 64);
    const birthDate = `${birthYear}-${String(intBetween(prng, 1, 12)).padStart(2, '0')}-${String(intBetween(prng, 1, 28)).padStart(2, '0')}`;
    let niss: string;
    do niss = makeNiss(birthDate, intBetween(prng, 1, 499));
    while (seen.has(niss) || FIXED_NISS.has(niss));
    seen.add(niss);
    entries.push({ niss, person: { birthDate }, incapacity: { primaryIncapacityStartDate, invalidityStartDate } });
  };
  for (let i = 0; i < own; i++) add(period);
  for (let i = 0; i < neighbours; i++) add(i % 2 === 0 ? before : after);
  entries.sort((a, b) => (a.niss < b.niss ? -1 : a.niss > b.niss ? 1 : 0));
  return { quarter, listReference: `INAMI-INV-${quarter}-01`, entries };
}

function reply(ticket: string, status: SimulatedSourceReply['status'], extra: Partial<SimulatedSourceReply> = {}): SimulatedSourceReply {
  return { ticket, status, newNiss: null, errorMessage: null, payload: null, ...extra };
}

/**
 * INAMI's answer to a request for the list: the whole list of the ONE quarter the period lies in
 * (OK), NO_DATA for a quarter before {@link FIRST_INVALIDITY_QUARTER} or not over yet, ERROR for a
 * request naming a person or a period across quarters.
 */
export function answerInvalidityRequest(request: SourceRequestRecord, options: InvalidityAnswerOptions): SimulatedSourceReply {
  if (request.subjectNiss !== '') {
    return reply(request.ticket, 'ERROR', { errorMessage: `${INVALIDITY_SERVICE} is a quarterly list: the request must not name a person` });
  }
  const from = request.period.from;
  const to = request.period.to ?? options.today;
  if (to < from) return reply(request.ticket, 'ERROR', { errorMessage: `the period ends (${to}) before it starts (${from})` });
  const quarter = quarterOf(from);
  if (quarterOf(to) !== quarter) {
    return reply(request.ticket, 'ERROR', {
      errorMessage: `one quarter per request: the period ${from}..${request.period.to ?? ''} spans ${quarter} to ${quarterOf(to)}`,
    });
  }
  const last = (quarterPeriod(quarter) as Period).to as IsoDate;
  if (quarter < FIRST_INVALIDITY_QUARTER || last >= options.today) return reply(request.ticket, 'NO_DATA');
  const list = invalidityList(quarter, options);
  return reply(request.ticket, 'OK', { payload: { ...list } });
}
