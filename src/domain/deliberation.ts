/**
 * A deliberation: the legal act of the social-security data-protection committee that authorizes a
 * communication of personal data. It has a number (`19/104`), a requester, optional intermediaries that
 * relay without using the data, a purpose, and versions (the original act and its amendments), each in
 * force over a period and each authorizing data blocks of one or more services.
 *
 * Versions are stored resolved: every version carries its complete content (what an amendment did not
 * change is copied from the version before it by the loader), so that a decision reads one version only.
 *
 * Data, not code: built by `src/config/load-authorizations.ts` from `config/authorizations/*.yaml`.
 */
import type { BlockId, InstitutionId, KeyPresence, ServiceId } from './catalogue.js';
import type { Retention } from './retention.js';
import { contains } from './period.js';
import type { IsoDate, Period } from './types.js';

export interface Purpose {
  /** Stable code a request may name (`vaph-personal-assistance-budget`); the deliberation number works too. */
  readonly code: string;
  readonly text: string;
}

export interface Intermediary {
  readonly institution: InstitutionId;
  /** MAGDA/CORVE relays for VAPH but may not use the data itself (10/012 §22). */
  readonly mayUseData: boolean;
  /** The requester may only send through this intermediary (10/012 §9, §18: "à l'intervention de MAGDA"). */
  readonly mandatory: boolean;
}

export type MutationGrant =
  | { readonly pushed: false }
  | { readonly pushed: true; readonly form: 'notification' | 'blocks' };

/** Keys the deliberation demands on top of the catalogue's (10/012 §9: NISS + employer + period always). */
export interface KeyDemands {
  readonly employer: KeyPresence | null;
  readonly period: KeyPresence | null;
  readonly employerCategoryForInterim: boolean;
}

export interface IntegrationDemand {
  /** Sector and capacity code (qualité) under which the requester integrates the person. */
  readonly sector: string;
  readonly capacity: string;
  readonly minPhase: number | null;
  readonly note: string | null;
}

/**
 * What a grant delivers of one block: the fields the deliberation names, or `'all'` where its text grants
 * the block whole, current and future fields alike (13/126, cited by 19/104 §8). A field the list does
 * not name is delivered as null, key fields included.
 */
export type FieldGrant = 'all' | readonly string[];

/**
 * A row condition the deliberation sets on the population or the time its data may concern, applied by
 * the filter to the source's rows (read before any field is withheld): a row that fails it, or whose
 * value cannot be read, is not delivered, and neither is an ancestor row left with no row of that
 * block (19/010 §36: a natural person whose every worker line is a white-collar one).
 */
export type RowCondition =
  | {
      readonly kind: 'one-of';
      readonly block: BlockId;
      /** Dotted path from the row, through optional child blocks, to a field. */
      readonly path: string;
      readonly values: readonly string[];
      readonly paragraphs: string;
      readonly label: string;
    }
  | {
      readonly kind: 'date-on-or-after';
      readonly block: BlockId;
      readonly path: string;
      readonly date: IsoDate;
      readonly paragraphs: string;
      readonly label: string;
    }
  | {
      readonly kind: 'age-at-least';
      readonly block: BlockId;
      readonly birthDatePath: string;
      /** The day the age is reached by (e.g. the start of the primary incapacity, 22/046 §1). */
      readonly onDatePath: string;
      readonly years: number;
      readonly paragraphs: string;
      readonly label: string;
    };

/** A condition of the deliberation the switch cannot see, published as the requester's duty. */
export interface RequesterDuty {
  readonly duty: string;
  readonly paragraphs: string;
}

export interface ServiceGrant {
  readonly service: ServiceId;
  readonly source: InstitutionId;
  /** Functional blocks authorized (technical blocks need no authorization). */
  readonly blocks: readonly BlockId[];
  /** Per authorized block, the fields granted (every block of `blocks` has an entry). */
  readonly fields: Readonly<Record<BlockId, FieldGrant>>;
  /** Rows outside the population or time the deliberation covers are withheld. */
  readonly rows: readonly RowCondition[];
  /** The earliest day the data may concern (22/046 §2: invalidity after 31 December 2019); null: none. */
  readonly periodFrom: { readonly date: IsoDate; readonly paragraphs: string } | null;
  /** Fields added later to an authorized block are covered too (deliberation 13/126, cited by 19/104 §8). */
  readonly includesFutureFieldsOfBlocks: boolean;
  readonly mutations: MutationGrant;
  readonly keys: KeyDemands | null;
  readonly integration: IntegrationDemand | null;
  /** The deliberation's paragraphs this grant is taken from, e.g. `§15-22`. */
  readonly paragraphs: string;
  readonly note: string | null;
}

export interface DeliberationVersion {
  readonly id: string;
  /** Date of the committee's decision (original act or amendment). */
  readonly decidedOn: IsoDate;
  /** Closed at both ends; `to === null`: in force until further notice. */
  readonly inForce: Period;
  readonly purposeText: string;
  readonly legalBasis: string;
  readonly retention: Retention;
  readonly services: readonly ServiceGrant[];
  readonly note: string | null;
}

export type LogField = 'time' | 'purpose' | 'subject' | 'requester' | 'agent' | 'data';

export interface LoggingRequirements {
  /** ISO 8601 duration, e.g. P10Y (10/012 §23); null when the deliberation sets none. */
  readonly minimumRetention: string | null;
  /** What the switch (and any intermediary) logs per communication. */
  readonly switchLogs: readonly LogField[];
  /** What the requester must log itself, per communication. */
  readonly requesterLogs: readonly LogField[];
  /** Roles that may read the detailed logs; empty when not restricted by the deliberation. */
  readonly readableBy: readonly string[];
  readonly paragraphs: string;
  readonly text: string;
}

export interface AccessRestrictions {
  /** Who at the recipient may see the data. */
  readonly roles: readonly string[];
  readonly maxUsers: number | null;
  readonly paragraphs: string;
  /** Further conditions on the requester's side that the switch cannot check (published as duties). */
  readonly duties: readonly RequesterDuty[];
}

export interface Deliberation {
  /** `19/104` */
  readonly number: string;
  /** The YAML file it was read from, for errors and audit. */
  readonly file: string;
  readonly title: string;
  /** The committee's own document reference, e.g. `CSI/CSSS/23/394`. */
  readonly reference: string;
  readonly committee: string;
  /**
   * False when the deliberation authorizes a communication that does not pass through the BCSS (17/006:
   * ONSS to its sub-contractor, §14 and §17). The switch never authorizes such a deliberation.
   */
  readonly viaBcss: boolean;
  readonly requester: InstitutionId;
  /** Further recipients to whom the requester passes the data (17/006: the bailiffs). */
  readonly onwardRecipients: readonly InstitutionId[];
  readonly intermediaries: readonly Intermediary[];
  readonly purpose: Purpose;
  readonly logging: LoggingRequirements;
  readonly access: AccessRestrictions | null;
  /**
   * The data may only be consulted, never stored (19/010 §3, §37: "en consultation, via l'application web
   * DOLSIS", which "ne prévoit pas de fonctionnalité d'enregistrement"): answered only on the
   * institution's consultation channel, refused CONSULTATION_ONLY on its replies topic.
   */
  readonly consultationOnly: { readonly paragraphs: string; readonly text: string } | null;
  /** Ordered by `inForce.from`; periods do not overlap. */
  readonly versions: readonly DeliberationVersion[];
}

export function versionInForce(deliberation: Deliberation, date: IsoDate): DeliberationVersion | null {
  for (const version of deliberation.versions) {
    if (contains(version.inForce, date)) return version;
  }
  return null;
}

export function grantFor(version: DeliberationVersion, service: ServiceId): ServiceGrant | null {
  return version.services.find((s) => s.service === service) ?? null;
}

/** The fields a grant delivers, one line per block, as published in the authorization snapshot. */
export function describeGrantedFields(grant: ServiceGrant): string[] {
  return grant.blocks.map((id) => {
    const fields = grant.fields[id];
    return fields === 'all' || fields === undefined
      ? `${id}: whole block, current and future fields (13/126)`
      : `${id}: ${fields.join(', ')}`;
  });
}

/** The population, time and key conditions the switch applies to a grant, one line each. */
export function describeGrantLimits(grant: ServiceGrant): string[] {
  const limits: string[] = [];
  if (grant.keys?.employer === 'required') limits.push('employer required (the employer–worker link is named in every request)');
  if (grant.keys?.employerCategoryForInterim) limits.push('employer category required for interim work');
  if (grant.periodFrom) limits.push(`data from ${grant.periodFrom.date} only (${grant.periodFrom.paragraphs})`);
  for (const row of grant.rows) {
    const rule =
      row.kind === 'one-of'
        ? `${row.path} one of ${row.values.join(', ')}`
        : row.kind === 'date-on-or-after'
          ? `${row.path} on or after ${row.date}`
          : `aged at least ${row.years} (${row.birthDatePath}) on ${row.onDatePath}`;
    limits.push(`${row.block}: ${row.label}: ${rule} (${row.paragraphs})`);
  }
  return limits;
}

/** What the deliberation asks of the requester that the switch cannot see, one line each. */
export function requesterDuties(deliberation: Deliberation): string[] {
  const access = deliberation.access;
  if (access === null) return [];
  const duties = [`only ${access.roles.join(', ')} may see the data (${access.paragraphs})`];
  if (access.maxUsers !== null) duties.push(`at most ${access.maxUsers} users (${access.paragraphs})`);
  for (const d of access.duties) duties.push(`${d.duty} (${d.paragraphs})`);
  return duties;
}
