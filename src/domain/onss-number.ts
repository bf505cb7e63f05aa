/**
 * ONSS employer registration number (numéro d'immatriculation / inschrijvingsnummer), and the
 * provisional numbers ONSS hands out before the definitive one.
 *
 * - Definitive: 9 digits (a shorter number is left-padded with zeros), value in [100006, 199999934]
 *   and value mod 97 = 96. The two range bounds are the first and last 9-digit values with that residue
 *   in [100000, 199999999], which is how the rule and the range fit together.
 * - Provisional: 10 digits in [5000000120, 5999999989]. No published check rule was found. One was
 *   DERIVED from the published bounds: both are ≡ 96 (mod 97) — the same rule as definitive numbers —
 *   and 5000000120 is exactly the first such value whose 8-digit body is 50000001 (body 50000000 would
 *   give 5000000023), 5999999989 the last one with body 59999999. Two bounds agreeing by chance has a
 *   probability of about 1/97², so the rule is applied; should real provisional numbers ever fail it,
 *   relax `PROVISIONAL_CHECK` rather than the range.
 */

export type OnssKind = 'ONSS' | 'ONSS_PROVISIONAL';

export type OnssNumberErrorReason = 'EMPTY' | 'NOT_DIGITS' | 'LENGTH' | 'RANGE' | 'CHECK_DIGITS';

export type OnssNumberResult =
  | { readonly valid: true; readonly normalized: string; readonly kind: OnssKind }
  | {
      readonly valid: false;
      readonly input: string;
      readonly reason: OnssNumberErrorReason;
      readonly message: string;
    };

export const ONSS_RANGE = { min: 100_006, max: 199_999_934 } as const;
export const ONSS_PROVISIONAL_RANGE = { min: 5_000_000_120, max: 5_999_999_989 } as const;
/** Whether provisional numbers must also satisfy mod 97 = 96 (see the file comment for why). */
const PROVISIONAL_CHECK = true;
const CHECK_RESIDUE = 96;

const MESSAGES: Record<OnssNumberErrorReason, string> = {
  EMPTY: 'no digits were given',
  NOT_DIGITS: 'only digits and the separators ".", "-", "/" and space are allowed',
  LENGTH: 'an ONSS number has up to 9 digits; a provisional number has 10 and starts with 5',
  RANGE: 'outside the range of ONSS numbers [100006, 199999934] or provisional numbers [5000000120, 5999999989]',
  CHECK_DIGITS: 'the check digits do not match: the whole number mod 97 must be 96',
};

function invalid(input: string, reason: OnssNumberErrorReason): OnssNumberResult {
  return { valid: false, input, reason, message: MESSAGES[reason] };
}

export function parseOnssNumber(input: string): OnssNumberResult {
  const digits = input.trim().replace(/[.\-/ ]/g, '');
  if (digits.length === 0) return invalid(input, 'EMPTY');
  if (!/^\d+$/.test(digits)) return invalid(input, 'NOT_DIGITS');
  if (digits.length === 10 && digits[0] === '5') {
    const value = Number(digits);
    if (value < ONSS_PROVISIONAL_RANGE.min || value > ONSS_PROVISIONAL_RANGE.max) return invalid(input, 'RANGE');
    if (PROVISIONAL_CHECK && value % 97 !== CHECK_RESIDUE) return invalid(input, 'CHECK_DIGITS');
    return { valid: true, normalized: digits, kind: 'ONSS_PROVISIONAL' };
  }
  if (digits.length > 9) return invalid(input, 'LENGTH');
  const value = Number(digits);
  if (value < ONSS_RANGE.min || value > ONSS_RANGE.max) return invalid(input, 'RANGE');
  if (value % 97 !== CHECK_RESIDUE) return invalid(input, 'CHECK_DIGITS');
  return { valid: true, normalized: digits.padStart(9, '0'), kind: 'ONSS' };
}

export function isValidOnssNumber(input: string): boolean {
  return parseOnssNumber(input).valid;
}
