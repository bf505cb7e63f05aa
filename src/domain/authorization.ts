/**
 * The authorization decision: may this institution receive these blocks of this service, for this
 * purpose, on this date — and under which deliberation version.
 *
 * Rules (see docs/deliberations.md):
 * - The authorization applied is the beneficiary's: `onBehalfOf` when an intermediary relays, else the
 *   requester. A relay must be registered as an intermediary of the deliberation; a deliberation whose
 *   intermediary is mandatory cannot be used without it. A relay asking for itself has only its own
 *   deliberations.
 * - Order of the checks: service known; a deliberation for beneficiary and service (via the switch);
 *   the channel (relay registered, mandatory intermediary used); the purpose; a version in force; blocks.
 *   The channel comes before the purpose so that an unregistered relay learns nothing of the
 *   beneficiary's purposes from the refusal detail.
 * - Purpose: when given, it must equal a deliberation's purpose code or its number. When absent, the
 *   one deliberation in force for requester and service is used; when several are in force, the request
 *   is refused (NOT_AUTHORIZED) and the detail lists the purposes to choose from. Deliberations not in
 *   force on the date never make a request ambiguous.
 * - A deliberation that matches but has no version in force on the date (for this service) answers
 *   AUTHORIZATION_NOT_IN_FORCE. So does a purpose that names a version (`19/104@v1`, as a requester's
 *   software may still reference the version it was built for) when that version is no longer (or not
 *   yet) in force: the requester learns which one is.
 * - A deliberation that does not go through the switch (17/006) is never applied: NOT_AUTHORIZED with a
 *   detail saying so.
 * - Blocks: none requested (absent or empty) = every authorized block; otherwise requested ∩ authorized.
 *   Technical blocks are always added. Requested blocks that are not authorized (or unknown) are
 *   reported as removed; if nothing authorized remains, the request is refused.
 *
 * `buildAuthorizationIndex` groups the deliberations by beneficiary and service once, so a decision
 * costs a map lookup plus a walk over the versions of the matching deliberations.
 */
import type { BlockId, Catalogue, InstitutionId, ServiceDefinition, ServiceId } from './catalogue.js';
import type {
  Deliberation,
  DeliberationVersion,
  FieldGrant,
  IntegrationDemand,
  Intermediary,
  KeyDemands,
  MutationGrant,
  Purpose,
  RowCondition,
  ServiceGrant,
} from './deliberation.js';
import { contains } from './period.js';
import { quoted, refusal, type Refusal } from './refusal-codes.js';
import type { Retention } from './retention.js';
import type { IsoDate } from './types.js';

export interface AuthorizationRequest {
  /** The institution that sent the request (the topic owner). */
  readonly requester: InstitutionId;
  /** The institution a relay (e.g. magda) sends for. */
  readonly onBehalfOf?: InstitutionId | null;
  readonly service: ServiceId;
  /** A purpose code or a deliberation number. */
  readonly purpose?: string | null;
  readonly requestedBlocks?: readonly BlockId[] | null;
  /** The day the decision is taken for (the day of the request). */
  readonly date: IsoDate;
}

export interface AuthorizationGrant {
  readonly ok: true;
  readonly deliberation: string;
  readonly versionId: string;
  /** Whose authorization applies: `onBehalfOf` for a relayed request, else the requester. */
  readonly beneficiary: InstitutionId;
  readonly relay: Intermediary | null;
  readonly purpose: Purpose;
  /** In catalogue order; includes the technical blocks. */
  readonly allowedBlocks: readonly BlockId[];
  /** Asked for but not authorized (or unknown), in the order asked. */
  readonly removedBlocks: readonly BlockId[];
  /**
   * The fields granted of every block the grant names, asked for or not, and `'all'` for the technical
   * blocks: what may ever reach the requester (a block kept only as the way to an asked one shows no
   * key its own grant does not name).
   */
  readonly grantedFields: Readonly<Record<BlockId, FieldGrant>>;
  /** Population and time conditions on the source's rows. */
  readonly rows: readonly RowCondition[];
  readonly periodFrom: ServiceGrant['periodFrom'];
  /** The deliberation allows consultation only (19/010 §37): never answered on the replies topic. */
  readonly consultationOnly: Deliberation['consultationOnly'];
  readonly includesFutureFieldsOfBlocks: boolean;
  readonly retention: Retention;
  readonly legalBasis: string;
  readonly mutations: MutationGrant;
  readonly keys: KeyDemands | null;
  readonly integration: IntegrationDemand | null;
}

type Denial = { readonly ok: false; readonly refusal: Refusal };

export type AuthorizationDecision = AuthorizationGrant | Denial;

interface IndexedVersion {
  readonly version: DeliberationVersion;
  readonly grant: ServiceGrant;
}

interface IndexedDeliberation {
  readonly deliberation: Deliberation;
  /** Versions that authorize the service, in order. */
  readonly versions: readonly IndexedVersion[];
}

interface IndexedService {
  readonly definition: ServiceDefinition;
  readonly order: ReadonlyMap<BlockId, number>;
  readonly technical: readonly BlockId[];
}

export interface AuthorizationIndex {
  readonly byBeneficiaryAndService: ReadonlyMap<string, readonly IndexedDeliberation[]>;
  /** Deliberations that authorize a communication outside the switch, by the same key. */
  readonly outsideSwitch: ReadonlyMap<string, readonly Deliberation[]>;
  /** Institutions registered as intermediaries, with the beneficiaries they relay for. */
  readonly relays: ReadonlyMap<InstitutionId, ReadonlySet<InstitutionId>>;
  readonly services: ReadonlyMap<ServiceId, IndexedService>;
}

function key(beneficiary: InstitutionId, service: ServiceId): string {
  return `${beneficiary}\u0000${service}`;
}

function pushTo<K, V>(map: Map<K, V[]>, k: K, value: V): void {
  const list = map.get(k);
  if (list) list.push(value);
  else map.set(k, [value]);
}

export function buildAuthorizationIndex(
  deliberations: readonly Deliberation[],
  catalogue: Catalogue,
): AuthorizationIndex {
  const byBeneficiaryAndService = new Map<string, IndexedDeliberation[]>();
  const outsideSwitch = new Map<string, Deliberation[]>();
  const relays = new Map<InstitutionId, Set<InstitutionId>>();

  for (const deliberation of deliberations) {
    const services = new Set(deliberation.versions.flatMap((v) => v.services.map((s) => s.service)));
    for (const service of services) {
      const k = key(deliberation.requester, service);
      if (!deliberation.viaBcss) {
        pushTo(outsideSwitch, k, deliberation);
        continue;
      }
      const versions: IndexedVersion[] = [];
      for (const version of deliberation.versions) {
        const grant = version.services.find((s) => s.service === service);
        if (grant) versions.push({ version, grant });
      }
      pushTo(byBeneficiaryAndService, k, { deliberation, versions });
    }
    if (deliberation.viaBcss) {
      for (const intermediary of deliberation.intermediaries) {
        let set = relays.get(intermediary.institution);
        if (!set) relays.set(intermediary.institution, (set = new Set()));
        set.add(deliberation.requester);
      }
    }
  }

  const services = new Map<ServiceId, IndexedService>();
  for (const definition of catalogue.services.values()) {
    const order = new Map<BlockId, number>();
    let i = 0;
    for (const id of definition.blocks.keys()) order.set(id, i++);
    const technical = [...definition.blocks.values()].filter((b) => b.technical).map((b) => b.id);
    services.set(definition.id, { definition, order, technical });
  }

  return { byBeneficiaryAndService, outsideSwitch, relays, services };
}

function deny(code: 'NOT_AUTHORIZED' | 'AUTHORIZATION_NOT_IN_FORCE' | 'UNKNOWN_SERVICE', detail: string): Denial {
  return { ok: false, refusal: refusal(code, detail) };
}

function matchesPurpose(deliberation: Deliberation, purpose: string): boolean {
  return deliberation.purpose.code === purpose || deliberation.number === purpose;
}

/** `19/104@v3` → purpose `19/104`, version `v3`; without `@`, no version named. */
function splitVersion(text: string | null): { purpose: string | null; version: string | null } {
  if (text === null || text === '') return { purpose: null, version: null };
  const at = text.lastIndexOf('@');
  if (at <= 0 || at === text.length - 1) return { purpose: text, version: null };
  return { purpose: text.slice(0, at), version: text.slice(at + 1) };
}

function describeInForce(versions: readonly IndexedVersion[]): string {
  return versions
    .map(({ version }) => `${version.id} ${version.inForce.from}..${version.inForce.to ?? ''}`)
    .join(', ');
}

/** The first of the versions in force on `date` (a deliberation's versions do not overlap). */
function versionInForceOn(versions: readonly IndexedVersion[], date: IsoDate): IndexedVersion | undefined {
  return versions.find(({ version }) => contains(version.inForce, date));
}

/** Who asks and for whom: the authorization applied is the beneficiary's. */
interface Parties {
  readonly requester: InstitutionId;
  readonly beneficiary: InstitutionId;
  /** An intermediary sends for another institution. */
  readonly relayed: boolean;
}

function partiesOf(request: AuthorizationRequest): Parties {
  const { requester, onBehalfOf } = request;
  const relayed = onBehalfOf != null && onBehalfOf !== '' && onBehalfOf !== requester;
  return { requester, beneficiary: relayed ? onBehalfOf : requester, relayed };
}

interface InForceChoice {
  readonly entry: IndexedDeliberation;
  readonly at: IndexedVersion;
}

export function decideAuthorization(index: AuthorizationIndex, request: AuthorizationRequest): AuthorizationDecision {
  const { service, date } = request;
  const indexedService = index.services.get(service);
  if (!indexedService) return deny('UNKNOWN_SERVICE', `service "${quoted(service)}" is not in the catalogue`);
  const parties = partiesOf(request);

  const candidates = index.byBeneficiaryAndService.get(key(parties.beneficiary, service)) ?? [];
  if (candidates.length === 0) return noDeliberation(index, parties, service);

  // Checked before the purpose, so that an unregistered relay learns nothing of the beneficiary's purposes.
  const viaChannel = candidates.filter((c) => usesChannel(c.deliberation, parties));
  if (viaChannel.length === 0) return channelNotCovered(candidates, parties);

  const named = splitVersion(request.purpose ?? null);
  const matching = forPurpose(viaChannel, named.purpose);
  if (matching.length === 0) return purposeNotCovered(viaChannel, parties, service, named.purpose ?? '');

  const namedNotInForce = namedVersionNotInForce(matching, named, parties, service, date);
  if (namedNotInForce !== null) return namedNotInForce;

  const inForce = inForceOn(matching, date);
  if (inForce.length === 0) return noneInForce(matching, service, date);
  if (inForce.length > 1) return ambiguousPurpose(inForce, parties, service, date);

  const chosen = inForce[0] as InForceChoice;
  const blocks = selectBlocks(indexedService, chosen.at.grant, request.requestedBlocks ?? null);
  if (!blocks.ok) return noBlockAuthorized(chosen, blocks.removed);
  return grantOf(chosen, parties, indexedService, blocks);
}

/** No deliberation through the switch for beneficiary and service: says which case it is. */
function noDeliberation(index: AuthorizationIndex, parties: Parties, service: ServiceId): Denial {
  const { requester, beneficiary, relayed } = parties;
  const outside = index.outsideSwitch.get(key(beneficiary, service));
  if (outside && outside.length > 0) {
    const numbers = outside.map((d) => d.number).join(', ');
    return deny(
      'NOT_AUTHORIZED',
      `deliberation ${numbers} authorizes ${quoted(beneficiary)} to receive ${service} data without the BCSS ` +
        '(a communication to a sub-contractor): it does not go through the switch, which never carries it',
    );
  }
  if (!relayed && index.relays.has(requester)) {
    return deny(
      'NOT_AUTHORIZED',
      `${requester} is registered only as an intermediary (for ${[...(index.relays.get(requester) ?? [])].join(', ')}) ` +
        `and has no deliberation of its own for ${service}; name the institution in onBehalfOf`,
    );
  }
  return deny('NOT_AUTHORIZED', `no deliberation authorizes ${quoted(beneficiary)} to receive ${service} data`);
}

/** The channel: a relay must be registered; a mandatory intermediary cannot be bypassed. */
function usesChannel(deliberation: Deliberation, parties: Parties): boolean {
  const { intermediaries } = deliberation;
  if (parties.relayed) return intermediaries.some((i) => i.institution === parties.requester);
  return !intermediaries.some((i) => i.mandatory);
}

function channelNotCovered(candidates: readonly IndexedDeliberation[], parties: Parties): Denial {
  const { requester, beneficiary, relayed } = parties;
  const numbers = candidates.map((c) => c.deliberation.number).join(', ');
  if (relayed) {
    return deny(
      'NOT_AUTHORIZED',
      `${requester} is not registered as an intermediary for ${quoted(beneficiary)} in deliberation ${numbers}`,
    );
  }
  const via = [
    ...new Set(candidates.flatMap((c) => c.deliberation.intermediaries.filter((i) => i.mandatory).map((i) => i.institution))),
  ].join(', ');
  return deny(
    'NOT_AUTHORIZED',
    `deliberation ${numbers} authorizes ${quoted(beneficiary)} only through ${via}; a direct request is not covered`,
  );
}

/** The deliberations for the purpose named; all of them when none is. */
function forPurpose(viaChannel: readonly IndexedDeliberation[], purpose: string | null): readonly IndexedDeliberation[] {
  if (purpose === null || purpose === '') return viaChannel;
  return viaChannel.filter((c) => matchesPurpose(c.deliberation, purpose));
}

function purposeNotCovered(viaChannel: readonly IndexedDeliberation[], parties: Parties, service: ServiceId, purpose: string): Denial {
  const known = viaChannel.map((c) => `${c.deliberation.purpose.code} (${c.deliberation.number})`).join(', ');
  return deny(
    'NOT_AUTHORIZED',
    `no deliberation authorizes ${quoted(parties.beneficiary)} to receive ${service} data for purpose "${quoted(purpose)}"; authorized purposes: ${known}`,
  );
}

/**
 * A purpose naming a version (`19/104@v1`): refused when no deliberation has that version, or when it is
 * in force for none of them — the detail then says which version is.
 */
function namedVersionNotInForce(
  matching: readonly IndexedDeliberation[],
  { purpose, version: versionId }: { readonly purpose: string | null; readonly version: string | null },
  parties: Parties,
  service: ServiceId,
  date: IsoDate,
): Denial | null {
  if (versionId === null) return null;
  const named = (c: IndexedDeliberation): IndexedVersion => c.versions.find((x) => x.version.id === versionId) as IndexedVersion;
  const withVersion = matching.filter((c) => c.versions.some((v) => v.version.id === versionId));
  if (withVersion.length === 0) {
    return deny('NOT_AUTHORIZED', `no version ${quoted(versionId)} of ${quoted(purpose ?? '')} authorizes ${quoted(parties.beneficiary)} to receive ${service} data`);
  }
  const stale = withVersion.filter((c) => !contains(named(c).version.inForce, date));
  if (stale.length < withVersion.length) return null;
  const detail = stale
    .map((c) => {
      const v = named(c);
      const current = versionInForceOn(c.versions, date);
      return `${c.deliberation.number} ${quoted(versionId)} was in force ${v.version.inForce.from}..${v.version.inForce.to ?? ''}` +
        (current ? `; the version in force on ${date} is ${current.version.id}` : `; no version is in force on ${date}`);
    })
    .join('; ');
  return deny('AUTHORIZATION_NOT_IN_FORCE', detail);
}

/** Each matching deliberation with its version in force on `date`, if it has one. */
function inForceOn(matching: readonly IndexedDeliberation[], date: IsoDate): InForceChoice[] {
  const inForce: InForceChoice[] = [];
  for (const entry of matching) {
    const at = versionInForceOn(entry.versions, date);
    if (at) inForce.push({ entry, at });
  }
  return inForce;
}

function noneInForce(matching: readonly IndexedDeliberation[], service: ServiceId, date: IsoDate): Denial {
  const detail = matching
    .map((c) => `${c.deliberation.number} (versions authorizing ${service}: ${describeInForce(c.versions)})`)
    .join('; ');
  return deny('AUTHORIZATION_NOT_IN_FORCE', `no version in force on ${date} authorizes ${service}: ${detail}`);
}

/** Deliberations not in force never make a request ambiguous: only several in force do. */
function ambiguousPurpose(inForce: readonly InForceChoice[], parties: Parties, service: ServiceId, date: IsoDate): Denial {
  const choices = inForce
    .map(({ entry }) => `${entry.deliberation.purpose.code} (${entry.deliberation.number})`)
    .join(', ');
  return deny(
    'NOT_AUTHORIZED',
    `several deliberations authorize ${quoted(parties.beneficiary)} to receive ${service} data on ${date}; name the purpose, one of: ${choices}`,
  );
}

function noBlockAuthorized(chosen: InForceChoice, removed: readonly BlockId[]): Denial {
  return deny(
    'NOT_AUTHORIZED',
    `none of the requested blocks (${quoted(removed.join(', '))}) is authorized by deliberation ${chosen.entry.deliberation.number} ${chosen.at.version.id}`,
  );
}

function grantOf(
  chosen: InForceChoice,
  parties: Parties,
  indexedService: IndexedService,
  blocks: { readonly allowed: readonly BlockId[]; readonly removed: readonly BlockId[] },
): AuthorizationGrant {
  const { deliberation } = chosen.entry;
  const { version, grant } = chosen.at;
  return {
    ok: true,
    deliberation: deliberation.number,
    versionId: version.id,
    beneficiary: parties.beneficiary,
    relay: parties.relayed ? (deliberation.intermediaries.find((i) => i.institution === parties.requester) ?? null) : null,
    purpose: { code: deliberation.purpose.code, text: version.purposeText },
    allowedBlocks: blocks.allowed,
    removedBlocks: blocks.removed,
    grantedFields: fieldsFor(grant, indexedService.technical),
    rows: grant.rows,
    periodFrom: grant.periodFrom,
    consultationOnly: deliberation.consultationOnly,
    includesFutureFieldsOfBlocks: grant.includesFutureFieldsOfBlocks,
    retention: version.retention,
    legalBasis: version.legalBasis,
    mutations: grant.mutations,
    keys: grant.keys,
    integration: grant.integration,
  };
}

/** The grant's fields per block, plus the technical blocks, which need no authorization and pass whole. */
function fieldsFor(grant: ServiceGrant, technical: readonly BlockId[]): Record<BlockId, FieldGrant> {
  const fields: Record<BlockId, FieldGrant> = {};
  for (const id of technical) fields[id] = 'all';
  for (const id of grant.blocks) fields[id] = grant.fields[id] ?? [];
  return fields;
}

type BlockSelection =
  | { readonly ok: true; readonly allowed: BlockId[]; readonly removed: BlockId[] }
  | { readonly ok: false; readonly removed: BlockId[] };

function selectBlocks(service: IndexedService, grant: ServiceGrant, requested: readonly BlockId[] | null): BlockSelection {
  const authorized = new Set(grant.blocks);
  const technical = new Set(service.technical);
  const byOrder = (a: BlockId, b: BlockId): number => (service.order.get(a) ?? 0) - (service.order.get(b) ?? 0);

  if (requested === null || requested.length === 0) {
    return { ok: true, allowed: [...new Set([...grant.blocks, ...technical])].sort(byOrder), removed: [] };
  }
  const allowed = new Set<BlockId>(technical);
  const removed: BlockId[] = [];
  let functional = 0;
  for (const id of new Set(requested)) {
    if (authorized.has(id)) {
      allowed.add(id);
      functional++;
    } else if (!technical.has(id)) {
      removed.push(id);
    }
  }
  // Asking only for technical blocks is allowed: they carry nothing a deliberation protects.
  if (functional === 0 && removed.length > 0) return { ok: false, removed };
  return { ok: true, allowed: [...allowed].sort(byOrder), removed };
}

/** What a subscriber is told of a change, and under which deliberation version. */
export interface MutationSubscription {
  readonly institution: InstitutionId;
  readonly deliberation: string;
  readonly versionId: string;
  readonly purpose: Purpose;
  readonly form: 'notification' | 'blocks';
  /** In catalogue order; includes the technical blocks. */
  readonly allowedBlocks: readonly BlockId[];
  readonly grantedFields: Readonly<Record<BlockId, FieldGrant>>;
  readonly rows: readonly RowCondition[];
  /**
   * The grant covers only a named employer–worker link (10/012 §9, 19/104 §2): changes reach the
   * institution only through lines bound to the change's employer, with that employer's rows only.
   */
  readonly employerRequired: boolean;
  /**
   * The deliberation's mandatory intermediary (10/012 §9, §18: "à l'intervention de … MAGDA"), through
   * whose mutations topic the change is delivered, naming the beneficiary; null: delivered directly.
   */
  readonly relay: InstitutionId | null;
  readonly includesFutureFieldsOfBlocks: boolean;
  readonly retention: Retention;
  /** The capacity (and minimum phase) the deliberation's integration demands, as for its requests. */
  readonly integration: IntegrationDemand | null;
}

/**
 * Does the institution's authorization demand that a person be integrated with an employer? True when,
 * for the capacity integrated, every grant in force on `date` of a service that takes an employer covers
 * only a named employer–worker link (10/012 §9, 19/104 §2): a line without employer would let changes of
 * every employer of the person through, which no such grant allows. Returns the deliberation and its
 * paragraphs, or null.
 */
export function employerLinkDemand(
  index: AuthorizationIndex,
  institution: InstitutionId,
  capacity: string,
  date: IsoDate,
): { readonly deliberation: string; readonly paragraphs: string } | null {
  let demand: { deliberation: string; paragraphs: string } | null = null;
  for (const [serviceId, indexed] of index.services) {
    if (indexed.definition.keys.employer.presence === 'none') continue;
    for (const { deliberation, versions } of index.byBeneficiaryAndService.get(key(institution, serviceId)) ?? []) {
      const at = versionInForceOn(versions, date);
      if (!at) continue;
      if (at.grant.integration !== null && at.grant.integration.capacity !== capacity) continue;
      // One grant that takes an unbound line for this capacity is enough to accept it.
      if (at.grant.keys?.employer !== 'required') return null;
      demand ??= { deliberation: deliberation.number, paragraphs: at.grant.paragraphs };
    }
  }
  return demand;
}

/**
 * Is `institution` to be told of changes to `service` on `date`, and how? Only a deliberation going
 * through the switch whose version in force grants the service with pushed mutations counts (10/012 §10,
 * 19/104 §9). Changes go to the beneficiary itself, whatever intermediary its requests use: a relay
 * such as MAGDA may not use the data (10/012 §22). Several matching deliberations: the first by number,
 * so the choice never depends on file order.
 */
export function mutationSubscription(
  index: AuthorizationIndex,
  institution: InstitutionId,
  service: ServiceId,
  date: IsoDate,
): MutationSubscription | null {
  const indexedService = index.services.get(service);
  if (!indexedService) return null;
  const candidates = [...(index.byBeneficiaryAndService.get(key(institution, service)) ?? [])].sort((a, b) =>
    a.deliberation.number < b.deliberation.number ? -1 : a.deliberation.number > b.deliberation.number ? 1 : 0,
  );
  for (const { deliberation, versions } of candidates) {
    const at = versionInForceOn(versions, date);
    if (!at || !at.grant.mutations.pushed) continue;
    const selected = selectBlocks(indexedService, at.grant, null);
    return {
      institution,
      deliberation: deliberation.number,
      versionId: at.version.id,
      purpose: { code: deliberation.purpose.code, text: at.version.purposeText },
      form: at.grant.mutations.form,
      allowedBlocks: selected.ok ? selected.allowed : [],
      grantedFields: fieldsFor(at.grant, indexedService.technical),
      rows: at.grant.rows,
      employerRequired: at.grant.keys?.employer === 'required',
      relay: deliberation.intermediaries.find((i) => i.mandatory)?.institution ?? null,
      includesFutureFieldsOfBlocks: at.grant.includesFutureFieldsOfBlocks,
      retention: at.version.retention,
      integration: at.grant.integration,
    };
  }
  return null;
}
