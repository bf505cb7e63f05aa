/**
 * BCE/KBO enterprise number: 10 digits, the first 0 or 1, the last two a mod-97 check on the first
 * eight: check = 97 − (first8 mod 97) (so 97, never 00, when first8 is a multiple of 97).
 * Written forms accepted: `0203.201.340`, `BE 0203201340`, `be0203-201-340`, and the old 9-digit form
 * `203.201.340` (a leading 0 is added).
 */

export type EnterpriseNumberErrorReason = 'EMPTY' | 'NOT_DIGITS' | 'LENGTH' | 'FIRST_DIGIT' | 'CHECK_DIGITS';

export type EnterpriseNumberResult =
  | { readonly valid: true; readonly normalized: string }
  | {
      readonly valid: false;
      readonly input: string;
      readonly reason: EnterpriseNumberErrorReason;
      readonly message: string;
    };

const MESSAGES: Record<EnterpriseNumberErrorReason, string> = {
  EMPTY: 'no digits were given',
  NOT_DIGITS: 'only digits, an optional "BE" prefix and the separators ".", "-" and space are allowed',
  LENGTH: 'an enterprise number has 10 digits (or 9 in the old form)',
  FIRST_DIGIT: 'an enterprise number starts with 0 or 1',
  CHECK_DIGITS: 'the check digits do not match: 97 − (first 8 digits mod 97)',
};

/** The 10 digits, or the reason they cannot be had. */
function normalize(input: string): { digits: string } | { reason: EnterpriseNumberErrorReason } {
  let s = input.trim();
  if (s.length >= 2 && (s[0] === 'B' || s[0] === 'b') && (s[1] === 'E' || s[1] === 'e')) s = s.slice(2);
  const digits = s.replace(/[.\- ]/g, '');
  if (digits.length === 0) return { reason: 'EMPTY' };
  if (!/^\d+$/.test(digits)) return { reason: 'NOT_DIGITS' };
  if (digits.length === 9) return { digits: `0${digits}` };
  if (digits.length !== 10) return { reason: 'LENGTH' };
  return { digits };
}

function checkReason(digits: string): EnterpriseNumberErrorReason | null {
  if (digits[0] !== '0' && digits[0] !== '1') return 'FIRST_DIGIT';
  const body = Number(digits.slice(0, 8));
  return 97 - (body % 97) === Number(digits.slice(8)) ? null : 'CHECK_DIGITS';
}

function invalid(input: string, reason: EnterpriseNumberErrorReason): EnterpriseNumberResult {
  return { valid: false, input, reason, message: MESSAGES[reason] };
}

export function parseEnterpriseNumber(input: string): EnterpriseNumberResult {
  const n = normalize(input);
  if ('reason' in n) return invalid(input, n.reason);
  const reason = checkReason(n.digits);
  if (reason !== null) return invalid(input, reason);
  return { valid: true, normalized: n.digits };
}

export function isValidEnterpriseNumber(input: string): boolean {
  const n = normalize(input);
  return 'digits' in n && checkReason(n.digits) === null;
}

/** `0203.201.340`; null unless the input normalises to 10 digits. */
export function formatEnterpriseNumber(input: string): string | null {
  const n = normalize(input);
  if (!('digits' in n)) return null;
  const d = n.digits;
  return `${d.slice(0, 4)}.${d.slice(4, 7)}.${d.slice(7)}`;
}
