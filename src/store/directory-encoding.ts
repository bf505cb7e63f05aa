/**
 * The directory's form in Redis: one person's integration lines as one compact string. The rules over
 * those lines are in src/domain/directory.ts; only their storage is here.
 */
import { sortLines, type Integration } from '../domain/directory.js';
import { isIsoDate } from '../domain/period.js';
import type { EmployerRef, IsoDate, Period } from '../domain/types.js';

/**
 * Compact text for one person's lines, one line per row (`\n`-separated), fields `|`-separated:
 *
 *     institution|capacity|phase|fromYYYYMMDD|toYYYYMMDD or empty (open)|employer|updatedAt
 *
 * employer is empty or a kind letter and the digits (E enterprise, O ONSS, P provisional ONSS);
 * updatedAt is epoch milliseconds in base 36 (8 characters until the year 2059). The NISS is not
 * repeated: it is the storage key, and `decodeLines` takes it back. Example, 43 bytes:
 *
 *     vaph|12/10|1|20240101||E0203201340|lqumrcw0
 *
 * Stored as one field of a bucket hash per NISS (keys.ts: 65,536 buckets, each a listpack):
 * one HGET on the hot path. Measured with 1,000,000 persons of one line each: 72 bytes of Redis memory
 * per integration (a string key per person cost 162 — over the 150-byte budget).
 * Lines round-trip exactly when `updatedAt` is in `Date.prototype.toISOString()` form (UTC, ms). A
 * format change means rebuilding Redis from the changelog, which the design allows at any time.
 */
export function encodeLines(lines: readonly Integration[]): string {
  const niss = lines[0]?.niss;
  if (lines.some((l) => l.niss !== niss)) throw new RangeError('encodeLines: lines of more than one NISS');
  return sortLines(lines).map(encodeLine).join('\n');
}

const KIND_LETTER = { ENTERPRISE: 'E', ONSS: 'O', ONSS_PROVISIONAL: 'P' } as const;
const LETTER_KIND = { E: 'ENTERPRISE', O: 'ONSS', P: 'ONSS_PROVISIONAL' } as const;

function compactDate(date: IsoDate): string {
  return date.slice(0, 4) + date.slice(5, 7) + date.slice(8, 10);
}

function expandDate(compact: string): IsoDate {
  return `${compact.slice(0, 4)}-${compact.slice(4, 6)}-${compact.slice(6, 8)}`;
}

function encodeLine(line: Integration): string {
  for (const field of [line.institution, line.capacity]) {
    if (field.includes('|') || field.includes('\n')) {
      throw new RangeError(`directory field contains a separator: ${JSON.stringify(field)}`);
    }
  }
  const ms = Date.parse(line.updatedAt);
  if (!Number.isFinite(ms)) throw new RangeError(`updatedAt is not a timestamp: ${line.updatedAt}`);
  const employer = line.employer === undefined ? '' : KIND_LETTER[line.employer.kind] + line.employer.id;
  return [
    line.institution,
    line.capacity,
    String(line.phase),
    compactDate(line.period.from),
    line.period.to === null ? '' : compactDate(line.period.to),
    employer,
    ms.toString(36),
  ].join('|');
}

export class DirectoryDecodeError extends Error {
  override readonly name = 'DirectoryDecodeError';
}

const COMPACT_DATE = /^\d{8}$/;

/** Inverse of {@link encodeLines}; throws {@link DirectoryDecodeError} on anything it did not write. */
export function decodeLines(text: string, niss: string): Integration[] {
  if (text === '') return [];
  return text.split('\n').map((row, i) => {
    const f = row.split('|');
    const [institution, capacity, phase, from, to, employer, updated] = f;
    const bad = (what: string) => new DirectoryDecodeError(`directory row ${i + 1}: ${what}`);
    if (f.length !== 7 || institution === undefined || capacity === undefined || phase === undefined) {
      throw bad(`expected 7 fields, found ${f.length}`);
    }
    if (from === undefined || !COMPACT_DATE.test(from)) throw bad('bad start date');
    if (to === undefined || (to !== '' && !COMPACT_DATE.test(to))) throw bad('bad end date');
    if (!/^[1-9]\d*$/.test(phase)) throw bad('bad phase');
    const period: Period = { from: expandDate(from), to: to === '' ? null : expandDate(to) };
    if (!isIsoDate(period.from) || (period.to !== null && !isIsoDate(period.to))) throw bad('not a calendar date');
    const ms = updated === undefined ? NaN : parseInt(updated, 36);
    if (!Number.isFinite(ms) || !/^[0-9a-z]+$/.test(updated ?? '')) throw bad('bad timestamp');
    let ref: EmployerRef | undefined;
    if (employer !== undefined && employer !== '') {
      const letter = employer[0];
      const id = employer.slice(1);
      if ((letter !== 'E' && letter !== 'O' && letter !== 'P') || !/^\d+$/.test(id)) throw bad('bad employer');
      ref = { kind: LETTER_KIND[letter], id };
    }
    return {
      niss,
      institution,
      capacity,
      phase: Number(phase),
      period,
      ...(ref === undefined ? {} : { employer: ref }),
      updatedAt: new Date(ms).toISOString(),
    };
  });
}
