/**
 * The exchange's rules, as pure functions: checking a request (message, identifiers, authorization,
 * reference directory), deciding what the authentic source is asked for, and composing the answer from
 * what the source returned.
 *
 * Order of the checks, and so the refusal a request gets when several apply:
 *   1. the sender: `requester` must be the institution whose topic carried the request (SENDER_MISMATCH);
 *   2. the service is in the catalogue (UNKNOWN_SERVICE);
 *   3. the keys the service takes: NISS (INVALID_NISS), employer (INVALID_EMPLOYER_ID), period
 *      (INVALID_PERIOD) — malformed input is refused before anything is looked up;
 *   4. the authorization (NOT_AUTHORIZED, AUTHORIZATION_NOT_IN_FORCE; see authorization.ts), then the keys
 *      the deliberation demands on top of the catalogue's (10/012 §9: an employer always);
 *   5. the reference directory of the beneficiary (NOT_INTEGRATED, PHASE_TOO_LOW, EMPLOYER_NOT_INTEGRATED,
 *      NOT_INTEGRATED_FOR_PERIOD; see directory.ts), which also clips the period.
 * Who asks and what may be asked come before the directory, so that nothing about a person is looked up
 * for a request that could not be answered anyway.
 *
 * Then the source is asked for the effective period only (its hull: sources take one period), and its
 * answer is filtered again to the effective periods, the employer and the authorized blocks: a source is
 * never trusted to minimise.
 */
import { decideAuthorization, type AuthorizationGrant, type AuthorizationIndex } from './authorization.js';
import type { BlockId, Catalogue, ServiceDefinition } from './catalogue.js';
import type { FieldGrant, RowCondition } from './deliberation.js';
import { decideDirectoryAccess, type Integration } from './directory.js';
import { filterBlocks, type RemovedRows } from './block-filter.js';
import { parseEmployerId } from './employer-id.js';
import { parseNiss } from './niss.js';
import { hull, isValidPeriod, quarterOf } from './period.js';
import { quoted, refusal, type Refusal } from './refusal-codes.js';
import { retainUntil } from './retention.js';
import type { EmployerKind, EmployerRef, IsoDate, Period } from './types.js';

/** A request as decoded from its message (schemas/request.avsc). */
export interface ExchangeRequest {
  readonly requestId: string;
  readonly requester: string;
  readonly onBehalfOf: string | null;
  readonly service: string;
  readonly purpose: string | null;
  readonly subjectNiss: string;
  readonly employer: { readonly kind: EmployerKind; readonly id: string; readonly category: string | null } | null;
  readonly period: { readonly from: IsoDate; readonly to: IsoDate | null };
  readonly requestedBlocks: readonly string[] | null;
}

export interface ExchangeRules {
  readonly catalogue: Catalogue;
  readonly authorizations: AuthorizationIndex;
}

/** What the refusal and its audit record can say, as far as the checks got. */
export interface RefusedRequest {
  readonly ok: false;
  readonly refusal: Refusal;
  readonly grant: AuthorizationGrant | null;
  readonly effectivePeriods: readonly Period[];
}

/** A request whose message, keys and authorization are good; the directory is still to be consulted. */
export interface CheckedRequest {
  readonly ok: true;
  readonly request: ExchangeRequest;
  readonly service: ServiceDefinition;
  readonly grant: AuthorizationGrant;
  /** The period asked for, an open end closed at `today`. */
  readonly period: Period;
  readonly employer: EmployerRef | null;
  readonly employerCategory: string | null;
  /** Whose directory lines count: the beneficiary (the relay's principal for a relayed request). */
  readonly beneficiary: string;
  /** The subject's NISS as 11 digits (separators the requester wrote dropped); '' for a batch service. */
  readonly subjectNiss: string;
  /** The NISS whose directory lines must be read; null when the service is not about one integrated person. */
  readonly directoryNiss: string | null;
}

/** What is forwarded to the authentic source, and kept to filter its answer. */
export interface ForwardDecision {
  readonly ok: true;
  readonly checked: CheckedRequest;
  /** The period asked for, clipped to the integrated periods (or as asked when the service needs no integration). */
  readonly effectivePeriods: readonly Period[];
  /** The one period the source is asked for: the hull of the effective periods. */
  readonly sourcePeriod: Period;
  readonly blocks: readonly BlockId[];
}

function refuse(code: Refusal['code'], detail: string, grant: AuthorizationGrant | null = null): RefusedRequest {
  return { ok: false, refusal: refusal(code, detail), grant, effectivePeriods: [] };
}

const CATEGORY = /^\d{3}$/;

/**
 * Where a request came from and its answer goes: the institution's requests and replies topics, or its
 * consultation application's pair (19/010 §37: data shown, never stored).
 */
export type Channel = 'replies' | 'consultation';

/** Steps 1–4: everything that needs no lookup. `today` is the day the request is decided for. */
export function checkRequest(
  request: ExchangeRequest,
  topicInstitution: string,
  rules: ExchangeRules,
  today: IsoDate,
  channel: Channel = 'replies',
): CheckedRequest | RefusedRequest {
  if (request.requester !== topicInstitution) {
    return refuse(
      'SENDER_MISMATCH',
      `the request names "${quoted(request.requester)}" as requester but was published on the topic of ${topicInstitution}`,
    );
  }
  if (request.requestId.trim() === '') return refuse('INVALID_MESSAGE', 'requestId is empty');
  const service = rules.catalogue.services.get(request.service);
  if (service === undefined) return refuse('UNKNOWN_SERVICE', `service "${quoted(request.service)}" is not in the catalogue`);

  // The NISS: required for a person's service; a batch service (22/046) has no subject.
  let subjectNiss = '';
  if (service.keys.niss === 'none') {
    if (request.subjectNiss !== '') {
      return refuse('INVALID_NISS', `service ${service.id} is not about one person: subjectNiss must be empty`);
    }
  } else if (service.keys.niss === 'required' || request.subjectNiss !== '') {
    const niss = parseNiss(request.subjectNiss, today);
    if (!niss.valid) return refuse('INVALID_NISS', `subjectNiss is not a valid NISS: ${niss.message}`);
    subjectNiss = niss.normalized;
  }

  const employerCheck = checkEmployer(request, service);
  if ('code' in employerCheck) return { ok: false, refusal: employerCheck, grant: null, effectivePeriods: [] };
  const { employer, category } = employerCheck;

  const period: Period = { from: request.period.from, to: request.period.to ?? today };
  if (!isValidPeriod(period)) {
    return refuse('INVALID_PERIOD', `the period ends (${period.to}) before it begins (${period.from})`);
  }
  // A batch service delivers one periodic list per request (22/046 §5: quarterly): asking across lists
  // cannot be answered by any source, so it is refused here rather than failing there.
  if (service.mode === 'batch' && quarterOf(period.from) !== quarterOf(period.to as IsoDate)) {
    return refuse(
      'INVALID_PERIOD',
      `service ${service.id} delivers one quarterly list per request: ask ${quarterOf(period.from)} and the following quarters one at a time`,
    );
  }

  const decision = decideAuthorization(rules.authorizations, {
    requester: request.requester,
    onBehalfOf: request.onBehalfOf,
    service: service.id,
    purpose: request.purpose,
    requestedBlocks: request.requestedBlocks,
    date: today,
  });
  if (!decision.ok) return { ok: false, refusal: decision.refusal, grant: null, effectivePeriods: [] };

  // Data granted for consultation only never go to a topic the institution's own systems read and keep.
  if (decision.consultationOnly !== null && channel !== 'consultation') {
    return refuse(
      'CONSULTATION_ONLY',
      `deliberation ${decision.deliberation} grants ${service.id} data for consultation only (${decision.consultationOnly.paragraphs}): ` +
        'ask through the consultation application; its answers are not for storage',
      decision,
    );
  }

  // Keys the deliberation demands on top of the catalogue's.
  if (decision.keys?.employer === 'required' && employer === null) {
    return refuse(
      'INVALID_EMPLOYER_ID',
      `deliberation ${decision.deliberation} authorizes ${service.id} only for a named employer–worker link: name the employer`,
      decision,
    );
  }
  if (decision.keys?.employer === 'none' && employer !== null) {
    return refuse('INVALID_EMPLOYER_ID', `deliberation ${decision.deliberation} does not take an employer for ${service.id}`, decision);
  }

  // The earliest day the deliberation's data may concern (22/046 §2): a period wholly before it is
  // refused; one that straddles it is asked from that day (the rows are filtered again on the answer).
  let asked = period;
  const floor = decision.periodFrom;
  if (floor !== null && floor.date > period.from) {
    if (period.to !== null && period.to < floor.date) {
      return refuse(
        'PERIOD_NOT_AUTHORIZED',
        `deliberation ${decision.deliberation} covers ${service.id} data from ${floor.date} only (${floor.paragraphs}); the period ends ${period.to}`,
        decision,
      );
    }
    asked = { from: floor.date, to: period.to };
  }

  const needsDirectory = service.directory.person === 'required';
  return {
    ok: true,
    request,
    service,
    grant: decision,
    period: asked,
    employer,
    employerCategory: category,
    beneficiary: decision.beneficiary,
    subjectNiss,
    directoryNiss: needsDirectory && subjectNiss !== '' ? subjectNiss : null,
  };
}

function checkEmployer(
  request: ExchangeRequest,
  service: ServiceDefinition,
): { employer: EmployerRef | null; category: string | null } | Refusal {
  const given = request.employer;
  const presence = service.keys.employer.presence;
  if (given === null) {
    if (presence === 'required') return refusal('INVALID_EMPLOYER_ID', `service ${service.id} requires an employer`);
    return { employer: null, category: null };
  }
  if (presence === 'none') return refusal('INVALID_EMPLOYER_ID', `service ${service.id} does not take an employer`);
  if (!service.keys.employer.kinds.includes(given.kind)) {
    return refusal(
      'INVALID_EMPLOYER_ID',
      `service ${service.id} identifies employers by ${service.keys.employer.kinds.join(' or ')}, not ${given.kind}`,
    );
  }
  const parsed = parseEmployerId(given.kind, given.id);
  if (!parsed.valid) {
    return refusal('INVALID_EMPLOYER_ID', `employer id is not a valid ${given.kind} number: ${parsed.message}`);
  }
  const category = given.category;
  if (category !== null) {
    if (service.keys.employerCategory === 'none') {
      return refusal('INVALID_EMPLOYER_ID', `service ${service.id} does not take an employer category`);
    }
    if (!CATEGORY.test(category)) return refusal('INVALID_EMPLOYER_ID', 'the employer category must be 3 digits');
  }
  return { employer: parsed.employer, category };
}

/** Step 5: the beneficiary's directory lines for this person (empty when none). */
export function decideForward(checked: CheckedRequest, lines: readonly Integration[]): ForwardDecision | RefusedRequest {
  const { service, grant } = checked;
  let effectivePeriods: readonly Period[] = [checked.period];
  if (checked.directoryNiss !== null) {
    const demand = grant.integration;
    const minPhase = service.directory.minPhase ?? demand?.minPhase ?? undefined;
    const access = decideDirectoryAccess(lines, {
      requester: checked.beneficiary,
      niss: checked.directoryNiss,
      period: checked.period,
      employerRequired: service.directory.employerLink === 'required',
      ...(demand ? { capacity: demand.capacity } : {}),
      ...(minPhase !== undefined ? { minPhase } : {}),
      ...(checked.employer !== null ? { employer: checked.employer } : {}),
    });
    if (!access.ok) return { ok: false, refusal: access.refusal, grant, effectivePeriods: [] };
    effectivePeriods = access.effectivePeriods;
  }
  const sourcePeriod = hull(effectivePeriods) ?? checked.period;
  return { ok: true, checked, effectivePeriods, sourcePeriod, blocks: grant.allowedBlocks };
}

// ---------------------------------------------------------------------------------------------------
// The answer

/** What the switch kept of a forwarded request to filter the source's answer. */
export interface AnswerRules {
  readonly allowedBlocks: readonly BlockId[];
  /** The grant's fields per block (see AuthorizationGrant.grantedFields). */
  readonly grantedFields: Readonly<Record<BlockId, FieldGrant>>;
  /** The deliberation's population and time conditions on rows. */
  readonly rows: readonly RowCondition[];
  /** 10/012 §9: the employer category is demanded for interim work and the request gave none. */
  readonly interimNeedsCategory: boolean;
  /** Asked for but not authorized: reported as removed whatever the source returns. */
  readonly unauthorizedBlocks: readonly BlockId[];
  readonly employer: EmployerRef | null;
  readonly employerCategory: string | null;
  /** Null: no period filter (a change to who the person is). */
  readonly effectivePeriods: readonly Period[] | null;
  readonly includeFutureFields: boolean;
}

export interface ComposedAnswer {
  /**
   * OK; NO_DATA when nothing the requester may see is left; EMPLOYER_CATEGORY_REQUIRED when the link
   * asked for is interim work and the deliberation demands its category (10/012 §9): nothing is delivered.
   */
  readonly status: 'OK' | 'NO_DATA' | 'EMPLOYER_CATEGORY_REQUIRED';
  readonly payload: Record<string, unknown>;
  readonly deliveredBlocks: readonly BlockId[];
  readonly removedBlocks: readonly BlockId[];
  /** Fields withheld from delivered rows, as `<block id>.<field>` (names, never values). */
  readonly removedFields: readonly string[];
  readonly removedRows: RemovedRows;
  readonly removedUnknown: readonly string[];
  /**
   * The filtered payload equals the source's, value for value: the filter took nothing away (no row, no
   * block, no field, nothing unknown) and nulled nothing that held a value.
   */
  readonly unchanged: boolean;
}

/**
 * Structural equality of two decoded payloads: same keys, same arrays, same primitives, same bytes.
 * Anything it does not know how to compare counts as different.
 */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameValue(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  if (ArrayBuffer.isView(a) || ArrayBuffer.isView(b)) {
    return a instanceof Uint8Array && b instanceof Uint8Array && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
  }
  const protoA = Object.getPrototypeOf(a) as unknown;
  if ((protoA !== Object.prototype && protoA !== null) || Object.getPrototypeOf(b) !== protoA) return false;
  const keysA = Object.keys(a);
  if (keysA.length !== Object.keys(b).length) return false;
  for (const k of keysA) {
    if (!Object.prototype.hasOwnProperty.call(b, k) || !sameValue((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  }
  return true;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !ArrayBuffer.isView(value);
}

/** Blocks holding data in a (filtered) payload, in catalogue order. */
export function presentBlocks(service: ServiceDefinition, payload: Record<string, unknown>): BlockId[] {
  const present = new Set<BlockId>();
  const visit = (blockIds: readonly BlockId[], records: readonly Record<string, unknown>[]): void => {
    for (const id of blockIds) {
      const block = service.blocks.get(id);
      if (!block) continue;
      const rows: Record<string, unknown>[] = [];
      for (const record of records) {
        const value = record[block.path];
        if (Array.isArray(value)) rows.push(...value.filter(isRecord));
        else if (isRecord(value)) rows.push(value);
      }
      if (rows.length === 0) continue;
      present.add(id);
      visit(block.children, rows);
    }
  };
  visit(service.topBlocks, [payload]);
  return [...service.blocks.keys()].filter((id) => present.has(id));
}

/**
 * Filters the source's payload to what the requester may receive. NO_DATA when no functional block is
 * left (technical blocks alone say nothing the requester asked for).
 */
export function composeAnswer(service: ServiceDefinition, rules: AnswerRules, sourcePayload: unknown): ComposedAnswer {
  const filtered = filterBlocks({
    payload: sourcePayload,
    service,
    allowedBlocks: rules.allowedBlocks,
    employer: rules.employer,
    employerCategory: rules.employerCategory,
    periods: rules.effectivePeriods,
    grantedFields: rules.grantedFields,
    rows: rules.rows,
    interimNeedsCategory: rules.interimNeedsCategory,
    includeFutureFields: rules.includeFutureFields,
  });
  if (filtered.interimRows > 0) {
    return {
      status: 'EMPLOYER_CATEGORY_REQUIRED',
      payload: {},
      deliveredBlocks: [],
      removedBlocks: [],
      removedFields: [],
      removedRows: filtered.removedRows,
      removedUnknown: [],
      unchanged: false,
    };
  }
  const delivered = presentBlocks(service, filtered.payload);
  const functional = delivered.filter((id) => !service.blocks.get(id)?.technical && !filtered.reducedToKeys.includes(id));
  const removed = [...new Set([...filtered.removedBlocks, ...rules.unauthorizedBlocks])];
  return {
    status: functional.length > 0 ? 'OK' : 'NO_DATA',
    payload: filtered.payload,
    deliveredBlocks: functional.length > 0 ? delivered.filter((id) => !filtered.reducedToKeys.includes(id)) : [],
    removedBlocks: removed,
    removedFields: functional.length > 0 ? filtered.removedFields : [],
    removedRows: filtered.removedRows,
    removedUnknown: filtered.removedUnknown,
    unchanged: sameValue(sourcePayload, filtered.payload),
  };
}

/** The last day the requester may keep what it receives today, from the deliberation version applied. */
export function retainUntilFor(grant: Pick<AuthorizationGrant, 'retention'>, receivedOn: IsoDate): IsoDate | null {
  return retainUntil(grant.retention, receivedOn);
}

/**
 * The persons a list service's (filtered) answer names: the `niss` key of the rows of its top-level
 * blocks (22/046: one entry per person entering invalidity), in order, each once.
 */
export function listSubjects(service: ServiceDefinition, payload: Record<string, unknown>): string[] {
  const subjects = new Set<string>();
  for (const id of service.topBlocks) {
    const block = service.blocks.get(id);
    if (!block || !block.keyFields.includes('niss')) continue;
    const value = payload[block.path];
    const rows = Array.isArray(value) ? value : isRecord(value) ? [value] : [];
    for (const row of rows) if (isRecord(row) && typeof row.niss === 'string' && row.niss !== '') subjects.add(row.niss);
  }
  return [...subjects];
}
