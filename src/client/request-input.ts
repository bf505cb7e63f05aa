/**
 * What an institution writes (a NISS with dots, `2024Q3`, an employer number of either kind) turned
 * into the Request record the switch reads. Pure: the caller supplies the clock and the id.
 *
 * Every problem is caught here, before anything is sent, and named by its field: a refusal from the
 * switch costs a round trip and an audit record, a typo should cost neither.
 */
import { randomUUID } from 'node:crypto';
import { parseEmployerId } from '../domain/employer-id.js';
import { parseNiss } from '../domain/niss.js';
import { parsePeriod } from '../domain/period.js';
import type { RequestRecord } from '../contract/exchange-records.js';
import type { EmployerKind, IsoDate } from '../domain/types.js';

export interface EmployerInput {
  /** AUTO guesses the kind from the shape (see `detectEmployerKind`). */
  readonly kind: EmployerKind | 'AUTO';
  readonly id: string;
  readonly category?: string | null;
}

/**
 * A period as text (`2024Q3`, `2024Q1..2024Q4`, `2024-01-01..2024-03-31`, `2024-01-01..` open, or one
 * day `2024-02-29`) or as bounds (each a date or a quarter; `to` absent or null = open end).
 */
export type PeriodInput = string | { readonly from: string; readonly to?: string | null };

export interface RequestInput {
  /** Chosen by the caller, or generated. Unique per requester. */
  readonly requestId?: string;
  readonly service: string;
  /** 11 digits; `.`, `-` and spaces are dropped. `''` for a service without a subject (batch). */
  readonly subjectNiss: string;
  /** A number whose kind is guessed from its shape, or the kind stated. Blank or null: no employer. */
  readonly employer?: string | EmployerInput | null;
  /** Employer category (3 digits), for interim work; same as `employer.category`. */
  readonly employerCategory?: string | null;
  readonly period: PeriodInput;
  /** Deliberation number (`10/012`) or purpose code; absent = the only authorization in force. */
  readonly purpose?: string | null;
  /** The beneficiary institution, when the requester relays for it. */
  readonly onBehalfOf?: string | null;
  /** Block ids wanted; absent or null = every block the authorization grants. */
  readonly requestedBlocks?: readonly string[] | null;
}

export type RequestInputField = keyof RequestInput | 'requester';

export class RequestInputError extends Error {
  override readonly name = 'RequestInputError';
  constructor(
    readonly field: RequestInputField,
    /** A stable code (e.g. CHECK_DIGITS, FROM_AFTER_TO, KIND_MISMATCH) for callers that branch on it. */
    readonly reason: string,
    /** The problem without the field name. */
    readonly detail: string,
    /** Position of the input in a bulk call; undefined for a single request. */
    readonly index?: number,
  ) {
    super(`${index === undefined ? '' : `input ${index}: `}${field}: ${detail}`);
  }

  /** The same error, placed at `index` of a bulk call. */
  at(index: number): RequestInputError {
    return new RequestInputError(this.field, this.reason, this.detail, index);
  }
}

const EMPLOYER_KINDS: ReadonlySet<string> = new Set<EmployerKind>(['ENTERPRISE', 'ONSS', 'ONSS_PROVISIONAL']);
const INSTITUTION_ID = /^[a-z][a-z0-9-]{0,62}$/;
const EMPLOYER_CATEGORY = /^\d{3}$/;

export function newRequestId(): string {
  return randomUUID();
}

function optionalText(field: RequestInputField, value: string | null | undefined): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw new RequestInputError(field, 'NOT_TEXT', 'must be text');
  const trimmed = value.trim();
  return trimmed === '' ? null : trimmed;
}

function requiredText(field: RequestInputField, value: unknown): string {
  if (typeof value !== 'string') throw new RequestInputError(field, 'NOT_TEXT', 'must be text');
  const trimmed = value.trim();
  if (trimmed === '') throw new RequestInputError(field, 'EMPTY', 'is required');
  return trimmed;
}

function subjectNissOf(value: unknown): string {
  if (typeof value !== 'string') throw new RequestInputError('subjectNiss', 'NOT_TEXT', "must be text ('' for a service without a subject)");
  if (value.trim() === '') return '';
  const niss = parseNiss(value);
  if (!niss.valid) throw new RequestInputError('subjectNiss', niss.reason, niss.message);
  return niss.normalized;
}

function categoryOf(field: RequestInputField, value: string | null | undefined): string | null {
  const category = optionalText(field, value);
  if (category !== null && !EMPLOYER_CATEGORY.test(category)) {
    throw new RequestInputError(field, 'CATEGORY', `an employer category has 3 digits, got "${category}"`);
  }
  return category;
}

function employerOf(input: RequestInput): RequestRecord['employer'] {
  const raw = input.employer;
  const separateCategory = categoryOf('employerCategory', input.employerCategory);
  const blank = raw === undefined || raw === null || (typeof raw === 'string' && raw.trim() === '');
  if (blank) {
    if (separateCategory !== null) {
      throw new RequestInputError('employerCategory', 'WITHOUT_EMPLOYER', 'an employer category goes with an employer id');
    }
    return null;
  }
  let kind: EmployerKind | 'AUTO';
  let id: string;
  let category = separateCategory;
  if (typeof raw === 'string') {
    kind = 'AUTO';
    id = raw;
  } else if (typeof raw === 'object') {
    if (raw.kind !== 'AUTO' && !EMPLOYER_KINDS.has(raw.kind)) {
      throw new RequestInputError('employer', 'KIND', `kind must be ENTERPRISE, ONSS, ONSS_PROVISIONAL or AUTO, not "${String(raw.kind)}"`);
    }
    if (typeof raw.id !== 'string') throw new RequestInputError('employer', 'NOT_TEXT', 'the id must be text');
    kind = raw.kind;
    id = raw.id;
    const ownCategory = categoryOf('employer', raw.category);
    if (ownCategory !== null && separateCategory !== null && ownCategory !== separateCategory) {
      throw new RequestInputError(
        'employerCategory',
        'CATEGORY_CONFLICT',
        `differs from the employer's own category (${separateCategory} vs ${ownCategory})`,
      );
    }
    category = ownCategory ?? separateCategory;
  } else {
    throw new RequestInputError('employer', 'NOT_TEXT', 'must be a number as text or { kind, id, category }');
  }
  const parsed = parseEmployerId(kind, id);
  if (!parsed.valid) throw new RequestInputError('employer', parsed.reason, parsed.message);
  return { kind: parsed.employer.kind, id: parsed.employer.id, category };
}

function periodOf(value: PeriodInput): RequestRecord['period'] {
  if (value === undefined || value === null) throw new RequestInputError('period', 'MISSING_FROM', 'is required');
  if (typeof value !== 'string' && typeof value !== 'object') {
    throw new RequestInputError('period', 'SYNTAX', 'must be text such as 2024Q3 or { from, to }');
  }
  const parsed = parsePeriod(value);
  if (!parsed.ok) throw new RequestInputError('period', parsed.reason, parsed.message);
  return { from: parsed.period.from, to: parsed.period.to };
}

function blocksOf(value: readonly string[] | null | undefined): readonly string[] | null {
  if (value === undefined || value === null) return null;
  if (!Array.isArray(value)) throw new RequestInputError('requestedBlocks', 'NOT_A_LIST', 'must be a list of block ids');
  const blocks: string[] = [];
  for (const block of value) {
    if (typeof block !== 'string' || block.trim() === '') {
      throw new RequestInputError('requestedBlocks', 'EMPTY_BLOCK', 'every block id must be non-empty text');
    }
    const id = block.trim();
    if (!blocks.includes(id)) blocks.push(id);
  }
  // An empty list would ask for nothing; null already means "every block granted".
  if (blocks.length === 0) {
    throw new RequestInputError('requestedBlocks', 'EMPTY_LIST', 'name at least one block, or leave it out for every block granted');
  }
  return blocks;
}

function institutionOf(field: RequestInputField, value: string | null | undefined): string | null {
  const id = optionalText(field, value);
  if (id !== null && !INSTITUTION_ID.test(id)) {
    throw new RequestInputError(field, 'INSTITUTION_ID', `"${id}" is not an institution id (lowercase letters, digits and '-')`);
  }
  return id;
}

/** `a, b,,c` → `['a', 'b', 'c']`: the command line's form of a block list. */
export function parseBlockList(text: string): string[] {
  return text
    .split(',')
    .map((block) => block.trim())
    .filter((block) => block !== '');
}

/**
 * Checks the input and builds the Request record; throws {@link RequestInputError} naming the first
 * field at fault. `now` and `requestId` default to the clock and a random UUID.
 */
export function buildRequest(
  input: RequestInput,
  context: { readonly requester: string; readonly now?: number; readonly newRequestId?: () => string },
): RequestRecord {
  if (input === null || typeof input !== 'object') throw new RequestInputError('service', 'NOT_AN_OBJECT', 'the request input must be an object');
  const requester = institutionOf('requester', context.requester);
  if (requester === null) throw new RequestInputError('requester', 'EMPTY', 'is required');
  const requestId =
    input.requestId === undefined ? (context.newRequestId ?? newRequestId)() : requiredText('requestId', input.requestId);
  return {
    requestId,
    requester,
    onBehalfOf: institutionOf('onBehalfOf', input.onBehalfOf),
    service: requiredText('service', input.service),
    purpose: optionalText('purpose', input.purpose),
    subjectNiss: subjectNissOf(input.subjectNiss),
    employer: employerOf(input),
    period: periodOf(input.period),
    requestedBlocks: blocksOf(input.requestedBlocks),
    sentAt: context.now ?? Date.now(),
  };
}

/**
 * The record of a request sent as is (tests, demos of the switch's refusals): nullable fields left out
 * become null, nothing is checked. The codec still refuses what the schema cannot carry.
 */
export type RawRequestRecord = Pick<RequestRecord, 'requestId' | 'requester' | 'service' | 'subjectNiss'> & {
  readonly onBehalfOf?: string | null;
  readonly purpose?: string | null;
  readonly employer?: { readonly kind: string; readonly id: string; readonly category?: string | null } | null;
  readonly period: { readonly from: string; readonly to?: string | null };
  readonly requestedBlocks?: readonly string[] | null;
  readonly sentAt?: number;
};

export function completeRawRequest(record: RawRequestRecord, now: number): RequestRecord {
  return {
    ...record,
    onBehalfOf: record.onBehalfOf ?? null,
    purpose: record.purpose ?? null,
    employer: record.employer
      ? { kind: record.employer.kind as EmployerKind, id: record.employer.id, category: record.employer.category ?? null }
      : null,
    period: { from: record.period.from, to: record.period.to ?? null },
    requestedBlocks: record.requestedBlocks ?? null,
    sentAt: record.sentAt ?? now,
  };
}

/** The message key: the subject, so that one person's requests stay in order; the requester when there is none. */
export function requestKey(record: Pick<RequestRecord, 'subjectNiss' | 'requester'>): string {
  return record.subjectNiss === '' ? record.requester : record.subjectNiss;
}
