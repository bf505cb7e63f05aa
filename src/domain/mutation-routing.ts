/**
 * Who is told of a change, and what (ARCHITECTURE §5, "mutation routing"):
 *
 * - an institution is told only of what happens while its file on the person is open: its integration
 *   must cover the change's effective date — for an identity change too (10/012 §15: a line for
 *   2015–2016 does not receive a 2024 change of address), the day the change is routed when it has none;
 * - a change of a service with employers goes, where a covering line is bound to an employer, only if the
 *   change is about that employer (a line bound to employer E never lets its institution see changes of
 *   another employer, nor changes that name no employer);
 * - where the institution's grant covers only a named employer–worker link (10/012 §9: "seules des
 *   données … relatives au lien entre l'employeur concerné et le travailleur concerné"; 19/104 §2), only
 *   lines bound to the change's employer count — an unbound line is not enough — and the change carries
 *   that employer's rows only;
 * - and only if the institution's deliberation in force pushes mutations of that service
 *   (`mutationSubscription`); an institution not authorized gets nothing;
 * - counting only the lines in the capacity (and phase) the deliberation demands, as for a request: an
 *   institution is never pushed what it could not have asked for;
 * - where the deliberation makes an intermediary mandatory (10/012: MAGDA), the change is delivered
 *   through that intermediary (`via`), naming the beneficiary, as its requests go.
 *
 * What is delivered is filtered like a reply: the authorized blocks and fields, the employer when every
 * covering line is bound to one, and the institution's integrated periods (not for identity changes). A
 * deliberation that pushes notifications only gets no data at all.
 */
import { mutationSubscription, type AuthorizationIndex, type MutationSubscription } from './authorization.js';
import type { BlockId, Catalogue, ServiceDefinition } from './catalogue.js';
import type { Integration } from './directory.js';
import { employerEquals } from './employer-id.js';
import { composeAnswer } from './exchange.js';
import { contains, union } from './period.js';
import type { EmployerRef, IsoDate, Period } from './types.js';

export interface MutationFacts {
  readonly service: string;
  readonly subjectNiss: string;
  readonly employer: EmployerRef | null;
  /** The day the change takes effect; null: the day it is routed. */
  readonly effectiveDate: IsoDate | null;
}

export type ExclusionReason =
  /** Integrated, but no line covers the effective date. */
  | 'NOT_INTEGRATED_ON_DATE'
  /** Covering lines are all bound to another employer (or the change names none). */
  | 'EMPLOYER_NOT_LINKED'
  /** No deliberation in force pushes this service's changes to the institution. */
  | 'NOT_SUBSCRIBED'
  /** Covering lines exist, but none in the capacity (or phase) the deliberation demands. */
  | 'NOT_INTEGRATED_IN_CAPACITY'
  /** The grant covers only a named employer–worker link, and no covering line is bound to the change's employer. */
  | 'EMPLOYER_LINE_REQUIRED';

export interface MutationDelivery {
  readonly institution: string;
  readonly subscription: MutationSubscription;
  /** Rows outside these periods are filtered out; null: no period filter (identity changes). */
  readonly periods: readonly Period[] | null;
  /** Rows of other employers are filtered out; null: every employer (a covering line not bound to one). */
  readonly employer: EmployerRef | null;
  /** The intermediary the change is delivered through (10/012: magda), or null: to the institution itself. */
  readonly via: string | null;
}

export interface MutationRoute {
  readonly deliveries: readonly MutationDelivery[];
  readonly excluded: ReadonlyArray<{ readonly institution: string; readonly reason: ExclusionReason }>;
}

export interface MutationRules {
  readonly catalogue: Catalogue;
  readonly authorizations: AuthorizationIndex;
}

/** A service without a period is about who the person is: its changes concern every file on them. */
export function isIdentityService(service: ServiceDefinition): boolean {
  return service.keys.period === 'none';
}

/** `lines` are the person's integration lines (every institution); `today` decides which version is in force. */
export function routeMutation(facts: MutationFacts, lines: readonly Integration[], rules: MutationRules, today: IsoDate): MutationRoute {
  const service = rules.catalogue.services.get(facts.service);
  if (!service) return { deliveries: [], excluded: [] };
  const identity = isIdentityService(service);
  const effectiveDate = facts.effectiveDate ?? today;
  const employer = facts.employer;
  const linkedTo = (l: Integration): boolean => employer !== null && l.employer !== undefined && employerEquals(l.employer, employer);
  const byInstitution = new Map<string, Integration[]>();
  for (const line of lines) {
    if (line.niss !== facts.subjectNiss) continue;
    const list = byInstitution.get(line.institution) ?? [];
    list.push(line);
    byInstitution.set(line.institution, list);
  }

  const deliveries: MutationDelivery[] = [];
  const excluded: Array<{ institution: string; reason: ExclusionReason }> = [];
  for (const [institution, own] of [...byInstitution].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    // A file closed before the change (or opened after it) is not told of it, whoever the person is.
    let covering = own.filter((l) => contains(l.period, effectiveDate));
    if (covering.length === 0) {
      excluded.push({ institution, reason: 'NOT_INTEGRATED_ON_DATE' });
      continue;
    }
    if (!identity) {
      covering = covering.filter((l) => l.employer === undefined || linkedTo(l));
      if (covering.length === 0) {
        excluded.push({ institution, reason: 'EMPLOYER_NOT_LINKED' });
        continue;
      }
    }
    const subscription = mutationSubscription(rules.authorizations, institution, service.id, today);
    if (subscription === null) {
      excluded.push({ institution, reason: 'NOT_SUBSCRIBED' });
      continue;
    }
    const demand = subscription.integration;
    const inCapacity = (l: Integration) =>
      demand === null || (l.capacity === demand.capacity && (demand.minPhase === null || l.phase >= demand.minPhase));
    covering = covering.filter(inCapacity);
    if (covering.length === 0) {
      excluded.push({ institution, reason: 'NOT_INTEGRATED_IN_CAPACITY' });
      continue;
    }
    // The link itself, never a line that would reach every employer of the person.
    const linkOnly = !identity && subscription.employerRequired;
    if (linkOnly) {
      covering = covering.filter(linkedTo);
      if (covering.length === 0) {
        excluded.push({ institution, reason: 'EMPLOYER_LINE_REQUIRED' });
        continue;
      }
    }
    const unbound = covering.some((l) => l.employer === undefined);
    // The change's data is shown within the periods of the lines that would let the institution ask for
    // it: in the demanded capacity, and not bound to another employer (as decideDirectoryAccess does).
    const eligible = own.filter((l) => inCapacity(l) && (linkOnly ? linkedTo(l) : l.employer === undefined || linkedTo(l)));
    deliveries.push({
      institution,
      subscription,
      periods: identity ? null : union(eligible.map((l) => l.period)),
      employer: identity || unbound ? null : employer,
      via: subscription.relay,
    });
  }
  return { deliveries, excluded };
}

export interface MutationContent {
  readonly form: 'NOTIFICATION' | 'BLOCKS';
  /** The filtered payload (BLOCKS with data), else null. */
  readonly payload: Record<string, unknown> | null;
  readonly deliveredBlocks: readonly BlockId[];
  readonly removedBlocks: readonly BlockId[];
  /** Fields withheld from delivered rows, as `<block id>.<field>`. */
  readonly removedFields: readonly string[];
}

/** What one subscriber receives of the source's payload: the same filter as an answer, fields included. */
export function mutationContent(service: ServiceDefinition, delivery: MutationDelivery, sourcePayload: unknown): MutationContent {
  if (delivery.subscription.form === 'notification' || sourcePayload === null || sourcePayload === undefined) {
    return { form: 'NOTIFICATION', payload: null, deliveredBlocks: [], removedBlocks: [], removedFields: [] };
  }
  const answer = composeAnswer(
    service,
    {
      allowedBlocks: delivery.subscription.allowedBlocks,
      grantedFields: delivery.subscription.grantedFields,
      rows: delivery.subscription.rows,
      // A change carries no category to ask with; the link's own rows are routed by employer (above).
      interimNeedsCategory: false,
      unauthorizedBlocks: [],
      employer: delivery.employer,
      employerCategory: null,
      effectivePeriods: delivery.periods ?? null,
      includeFutureFields: delivery.subscription.includesFutureFieldsOfBlocks,
    },
    sourcePayload,
  );
  // Nothing the subscriber may see is left: it is still told that something changed, without data.
  if (answer.status !== 'OK') {
    return { form: 'NOTIFICATION', payload: null, deliveredBlocks: [], removedBlocks: answer.removedBlocks, removedFields: [] };
  }
  return {
    form: 'BLOCKS',
    payload: answer.payload,
    deliveredBlocks: answer.deliveredBlocks,
    removedBlocks: answer.removedBlocks,
    removedFields: answer.removedFields,
  };
}
