/**
 * The reference directory's rules, as pure functions over one person's integration lines.
 *
 * A line says: institution X has person N in its files, in capacity C (a sector code such as `12/10`),
 * at phase P, for a period, optionally only for one employer. Requests are checked against these lines
 * ("no fishing in other people's files"), and the period they may see is clipped to them.
 *
 * Decisions:
 *
 * 1. Identity. Two lines are the same integration when (niss, institution, capacity, employer or none)
 *    are equal. Within one identity lines never overlap, and lines of equal phase are never adjacent.
 * 2. Merge rule (integrate). Equal phase: the command's period absorbs every line of that identity it
 *    overlaps or touches (adjacent days), giving one line. Different phase: a phase change is a new
 *    fact about the command's own period only — the command's phase wins inside its period, the older
 *    line keeps its phase on the days outside it (cut into 0–2 pieces), and is left alone if merely
 *    adjacent. Every line the command changes takes the command's time as `updatedAt`.
 * 3. Employer semantics. A line without an employer covers every employer of the person, except for
 *    services that demand an employer-bound integration (`employerRequired`): then only lines bound to
 *    exactly the requested employer count. A line bound to employer E covers only requests naming E —
 *    never a request naming no employer, which would reach data of every employer.
 * 4. Refusal precedence. Filters run in a fixed order and the first one that leaves no line names the
 *    refusal: requester's lines for this NISS (NOT_INTEGRATED) → demanded capacity (NOT_INTEGRATED) →
 *    minimum phase (PHASE_TOO_LOW) → employer (EMPLOYER_NOT_INTEGRATED) → period
 *    (NOT_INTEGRATED_FOR_PERIOD). Who and what come before when, so NOT_INTEGRATED_FOR_PERIOD tells the
 *    requester that an integration with the right capacity, phase and employer exists, only elsewhere
 *    in time.
 */
import { employerEquals, parseEmployerId } from './employer-id.js';
import { isValidNiss } from './niss.js';
import { clipToUnion, contains, hull, isValidPeriod, overlaps, subtract, touches } from './period.js';
import { refusal, type Refusal } from './refusal-codes.js';
import type { EmployerRef, IsoDate, Period } from './types.js';

export interface Integration {
  readonly niss: string;
  readonly institution: string;
  /** Sector capacity code (qualité), e.g. `12/10` (ONSS employee), `17/2` (CPAS integration income). */
  readonly capacity: string;
  /** Integer ≥ 1; services may demand a minimum. */
  readonly phase: number;
  readonly period: Period;
  /** Absent: the integration is not bound to one employer. */
  readonly employer?: EmployerRef;
  /** ISO timestamp of the last command that changed this line. */
  readonly updatedAt: string;
}

export interface IntegrateCommand {
  readonly niss: string;
  readonly institution: string;
  readonly capacity: string;
  readonly phase: number;
  readonly period: Period;
  readonly employer?: EmployerRef;
  /** ISO timestamp of the command; becomes `updatedAt` of every line the command changes. */
  readonly at: string;
}

export interface DeintegrateCommand {
  /** When given, only this person's lines; the list is normally one person's anyway. */
  readonly niss?: string;
  readonly institution: string;
  /** Only lines of this capacity; absent: every capacity of the institution. */
  readonly capacity?: string;
  /** Only these days (lines are cut); absent: the whole lines go. */
  readonly period?: Period;
  /** Absent: lines of any employer and those without; null: only lines without employer; a ref: only that employer's. */
  readonly employer?: EmployerRef | null;
  /** `updatedAt` for lines that are cut and remain; absent: they keep theirs. */
  readonly at?: string;
}

export interface DirectoryAccessRequest {
  readonly requester: string;
  /** The capacity the service demands, if any. */
  readonly capacity?: string;
  readonly minPhase?: number;
  readonly niss: string;
  readonly employer?: EmployerRef;
  /** The service demands an integration bound to the requested employer. */
  readonly employerRequired: boolean;
  readonly period: Period;
}

export type DirectoryDecision =
  | {
      readonly ok: true;
      /** The requested period clipped to the union of the matched lines: sorted, disjoint, non-adjacent. */
      readonly effectivePeriods: Period[];
      /** From the first effective day to the last (open when the last piece is open). */
      readonly effectivePeriod: Period;
      /** The lines that grant access: right requester, capacity, phase and employer, overlapping the period. */
      readonly matchedLines: Integration[];
    }
  | { readonly ok: false; readonly refusal: Refusal };

// ---------------------------------------------------------------------------------------------------
// Identity and order

function employerKey(employer: EmployerRef | undefined): string {
  return employer === undefined ? '' : `${employer.kind}:${employer.id}`;
}

/** The merge identity of a line: (niss, institution, capacity, employer or none). */
export function identityKey(line: Pick<Integration, 'niss' | 'institution' | 'capacity' | 'employer'>): string {
  return `${line.niss}|${line.institution}|${line.capacity}|${employerKey(line.employer)}`;
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Canonical order: niss, institution, capacity, employer (none first), start date. */
export function compareLines(a: Integration, b: Integration): number {
  return (
    compareStrings(a.niss, b.niss) ||
    compareStrings(a.institution, b.institution) ||
    compareStrings(a.capacity, b.capacity) ||
    compareStrings(employerKey(a.employer), employerKey(b.employer)) ||
    compareStrings(a.period.from, b.period.from)
  );
}

export function sortLines(lines: readonly Integration[]): Integration[] {
  return [...lines].sort(compareLines);
}

function withPeriod(line: Integration, period: Period, at: string | undefined): Integration {
  return { ...line, period, updatedAt: at ?? line.updatedAt };
}

// ---------------------------------------------------------------------------------------------------
// Commands

/** Applies an integrate command to a person's lines (see the merge rule above); returns sorted lines. */
export function integrate(lines: readonly Integration[], command: IntegrateCommand): Integration[] {
  const key = identityKey(command);
  const out: Integration[] = [];
  let merged: Period = command.period;
  for (const line of lines) {
    if (identityKey(line) !== key) out.push(line);
    else if (line.phase === command.phase) {
      if (touches(line.period, command.period)) merged = hull([merged, line.period]) ?? merged;
      else out.push(line);
    } else if (overlaps(line.period, command.period)) {
      for (const piece of subtract(line.period, command.period)) out.push(withPeriod(line, piece, command.at));
    } else out.push(line);
  }
  out.push({
    niss: command.niss,
    institution: command.institution,
    capacity: command.capacity,
    phase: command.phase,
    period: merged,
    ...(command.employer === undefined ? {} : { employer: { kind: command.employer.kind, id: command.employer.id } }),
    updatedAt: command.at,
  });
  return sortLines(out);
}

function deintegrateSelects(line: Integration, command: DeintegrateCommand): boolean {
  if (line.institution !== command.institution) return false;
  if (command.niss !== undefined && line.niss !== command.niss) return false;
  if (command.capacity !== undefined && line.capacity !== command.capacity) return false;
  if (command.employer === null) return line.employer === undefined;
  if (command.employer !== undefined) return line.employer !== undefined && employerEquals(line.employer, command.employer);
  return true;
}

/** Removes an institution's lines, or cuts the command's period out of them; returns sorted lines. */
export function deintegrate(lines: readonly Integration[], command: DeintegrateCommand): Integration[] {
  const out: Integration[] = [];
  for (const line of lines) {
    if (!deintegrateSelects(line, command)) out.push(line);
    else if (command.period !== undefined) {
      if (!overlaps(line.period, command.period)) out.push(line);
      else for (const piece of subtract(line.period, command.period)) out.push(withPeriod(line, piece, command.at));
    }
  }
  return sortLines(out);
}

/** One institution's lines, in canonical order. */
export function listFor(lines: readonly Integration[], institution: string): Integration[] {
  return sortLines(lines.filter((l) => l.institution === institution));
}

/**
 * Institutions to notify of a mutation: with `date` null (identity changes), every institution that
 * has the person integrated at all; otherwise those with a line containing the date. Sorted, unique.
 */
export function institutionsCovering(lines: readonly Integration[], date: IsoDate | null): string[] {
  const found = new Set<string>();
  for (const l of lines) if (date === null || contains(l.period, date)) found.add(l.institution);
  return [...found].sort(compareStrings);
}

const CODE = /^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,63}$/;

/**
 * Checks an integrate command before it reaches the changelog; null when it is acceptable. Institution
 * and capacity codes are restricted to a safe alphabet, which also keeps them free of the storage
 * format's separators.
 */
export function validateIntegrateCommand(command: IntegrateCommand): Refusal | null {
  if (!isValidNiss(command.niss) || !/^\d{11}$/.test(command.niss)) {
    return refusal('INVALID_NISS', 'the NISS must be 11 valid digits, without separators');
  }
  if (!CODE.test(command.institution)) return refusal('INVALID_MESSAGE', 'institution code is not valid');
  if (!CODE.test(command.capacity)) return refusal('INVALID_MESSAGE', 'capacity code is not valid');
  if (!Number.isInteger(command.phase) || command.phase < 1) {
    return refusal('INVALID_MESSAGE', 'phase must be an integer ≥ 1');
  }
  if (!isValidPeriod(command.period)) return refusal('INVALID_PERIOD');
  if (command.employer !== undefined) {
    const r = parseEmployerId(command.employer.kind, command.employer.id);
    if (!r.valid || r.employer.id !== command.employer.id) {
      return refusal('INVALID_EMPLOYER_ID', 'the employer id must be a valid, normalised number of its kind');
    }
  }
  if (!Number.isFinite(Date.parse(command.at))) return refusal('INVALID_MESSAGE', 'command time is not a timestamp');
  return null;
}

// ---------------------------------------------------------------------------------------------------
// Access decision

function employerCovers(line: Integration, request: DirectoryAccessRequest): boolean {
  if (line.employer === undefined) return !request.employerRequired;
  return request.employer !== undefined && employerEquals(line.employer, request.employer);
}

/** May the requester see this person (and employer) for this period? See the precedence above. */
export function decideDirectoryAccess(
  lines: readonly Integration[],
  request: DirectoryAccessRequest,
): DirectoryDecision {
  const own = lines.filter((l) => l.niss === request.niss && l.institution === request.requester);
  if (own.length === 0) {
    return { ok: false, refusal: refusal('NOT_INTEGRATED', 'the requester has not integrated this person') };
  }
  const capacity = request.capacity;
  const ofCapacity = capacity === undefined ? own : own.filter((l) => l.capacity === capacity);
  if (ofCapacity.length === 0) {
    return {
      ok: false,
      refusal: refusal('NOT_INTEGRATED', `the requester has not integrated this person in capacity ${capacity}`),
    };
  }
  const minPhase = request.minPhase;
  const ofPhase = minPhase === undefined ? ofCapacity : ofCapacity.filter((l) => l.phase >= minPhase);
  if (ofPhase.length === 0) {
    const highest = Math.max(...ofCapacity.map((l) => l.phase));
    return {
      ok: false,
      refusal: refusal('PHASE_TOO_LOW', `the service requires phase ${minPhase}; the highest integrated is ${highest}`),
    };
  }
  const ofEmployer = ofPhase.filter((l) => employerCovers(l, request));
  if (ofEmployer.length === 0) {
    const detail =
      request.employer === undefined
        ? request.employerRequired
          ? 'the service requires an employer and the request names none'
          : 'the person is integrated only for specific employers and the request names none'
        : request.employerRequired
          ? 'the service requires an integration bound to this employer, and there is none'
          : 'the person is not integrated with this employer';
    return { ok: false, refusal: refusal('EMPLOYER_NOT_INTEGRATED', detail) };
  }
  const matchedLines = ofEmployer.filter((l) => overlaps(l.period, request.period));
  if (matchedLines.length === 0) {
    return {
      ok: false,
      refusal: refusal('NOT_INTEGRATED_FOR_PERIOD', 'no integration of this person covers any day of the requested period'),
    };
  }
  const effectivePeriods = clipToUnion(
    request.period,
    matchedLines.map((l) => l.period),
  );
  const effectivePeriod = hull(effectivePeriods);
  // Unreachable: every matched line overlaps the request, so there is at least one piece.
  if (effectivePeriod === null) return { ok: false, refusal: refusal('NOT_INTEGRATED_FOR_PERIOD') };
  return { ok: true, effectivePeriods, effectivePeriod, matchedLines: sortLines(matchedLines) };
}
