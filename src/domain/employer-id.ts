/**
 * Employer identifiers as requests carry them: an enterprise number, an ONSS number or a provisional
 * ONSS number, with the kind either stated or guessed from the shape (AUTO).
 */
import { parseEnterpriseNumber } from './enterprise-number.js';
import { parseOnssNumber } from './onss-number.js';
import type { EmployerKind, EmployerRef } from './types.js';

export type EmployerIdErrorReason =
  | 'EMPTY'
  | 'NOT_DIGITS'
  | 'LENGTH'
  | 'FIRST_DIGIT'
  | 'RANGE'
  | 'CHECK_DIGITS'
  /** The value is a valid number of another kind than the one stated (ONSS vs provisional). */
  | 'KIND_MISMATCH'
  /** AUTO: no kind has this shape. */
  | 'UNRECOGNISED_SHAPE';

export type EmployerIdResult =
  | { readonly valid: true; readonly employer: EmployerRef }
  | {
      readonly valid: false;
      readonly input: string;
      readonly kind: EmployerKind | 'AUTO';
      readonly reason: EmployerIdErrorReason;
      readonly message: string;
    };

/**
 * AUTO decides by shape, after dropping separators: a `BE` prefix or 10 digits starting 0/1 →
 * enterprise; 10 digits starting 5 → provisional ONSS; 9 digits or fewer → ONSS. An old 9-digit
 * enterprise number is therefore read as an ONSS number: state ENTERPRISE (or write `BE`) for those.
 */
export function detectEmployerKind(value: string): EmployerKind | null {
  const s = value.trim();
  if (/^be/i.test(s)) return 'ENTERPRISE';
  const digits = s.replace(/[.\-/ ]/g, '');
  if (!/^\d+$/.test(digits)) return null;
  if (digits.length === 10) {
    if (digits[0] === '0' || digits[0] === '1') return 'ENTERPRISE';
    if (digits[0] === '5') return 'ONSS_PROVISIONAL';
    return null;
  }
  return digits.length <= 9 ? 'ONSS' : null;
}

export function parseEmployerId(kind: EmployerKind | 'AUTO', value: string): EmployerIdResult {
  const fail = (reason: EmployerIdErrorReason, message: string): EmployerIdResult => ({
    valid: false,
    input: value,
    kind,
    reason,
    message,
  });
  const effective = kind === 'AUTO' ? detectEmployerKind(value) : kind;
  if (effective === null) {
    if (value.trim() === '') return fail('EMPTY', 'no digits were given');
    return fail(
      'UNRECOGNISED_SHAPE',
      'not the shape of any employer id: enterprise (10 digits starting 0 or 1, or "BE…"), provisional ONSS (10 digits starting 5) or ONSS (up to 9 digits)',
    );
  }
  if (effective === 'ENTERPRISE') {
    const r = parseEnterpriseNumber(value);
    return r.valid ? { valid: true, employer: { kind: 'ENTERPRISE', id: r.normalized } } : fail(r.reason, r.message);
  }
  const r = parseOnssNumber(value);
  if (!r.valid) return fail(r.reason, r.message);
  if (r.kind !== effective) {
    return fail('KIND_MISMATCH', `a valid ${r.kind} number, but ${effective} was stated`);
  }
  return { valid: true, employer: { kind: r.kind, id: r.normalized } };
}

export function employerEquals(a: EmployerRef, b: EmployerRef): boolean {
  return a.kind === b.kind && a.id === b.id;
}
