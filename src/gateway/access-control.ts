import { principalNames, sourcePrincipal, type Institutions } from '../config/load-institutions.js';
import type { AclGrant, AclOperation, KafkaAdmin } from '../messaging/kafka-client.js';
import { clientIdPrefix, type TopicNames } from '../messaging/topics.js';

/**
 * Least-privilege ACLs, computed from config/institutions.yaml. The broker denies whatever no ACL
 * allows (`allow.everyone.if.no.acl.found=false`), so this list is the whole of what each principal
 * may do:
 *
 * - an institution writes its own requests and directory topics and reads its own replies and
 *   mutations; it sees no other institution's topics, nor the audit trail, nor the directory state;
 * - a source (principal `source-<id>`) reads its requests and writes its replies and mutations;
 * - the gateway reads what institutions and sources send and writes what they receive, writes the
 *   audit trail and dead letters, and never reads them back;
 * - an institution's consultation application (19/010 §37: DOLSIS) writes its consultation requests and
 *   reads their answers, nothing else; the institution itself reads neither;
 * - an auditor reads the audit trail and its seals, nothing else;
 * - an operator reads the dead letters, nothing else;
 * - the audit sealer reads the audit trail and reads and writes its seals, nothing else (in its own
 *   groups and transactional ids), so that the principal that writes the trail never seals it.
 *
 * Topics are named one by one (the institutions are known here); consumer groups and transactional
 * ids are PREFIXED by `<prefix>.<principal>.`, the naming rule every client of the switch follows.
 *
 * No DESCRIBE entry is listed: Kafka's READ and WRITE imply DESCRIBE on the same resource, which is
 * all metadata requests, group and transaction coordinators ask for. No cluster-level right either:
 * an idempotent producer passes with any WRITE on a topic (instead of IDEMPOTENT_WRITE), and a
 * subscription by regular expression only sees the topics the principal may describe.
 */

/** Kafka's principal for a SCRAM user. */
export function userPrincipal(name: string): string {
  return `User:${name}`;
}

class GrantList {
  readonly grants: AclGrant[] = [];
  private readonly seen = new Set<string>();

  constructor(private readonly topics: TopicNames) {}

  private add(grant: AclGrant): void {
    const key = grantKey(grant);
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.grants.push(grant);
  }

  topicAccess(principal: string, operation: AclOperation, names: readonly string[]): void {
    for (const name of names) this.add({ principal: userPrincipal(principal), resource: 'TOPIC', name, pattern: 'LITERAL', operation });
  }

  /** Joining a group and committing its offsets (also inside a transaction) take READ on the group. */
  ownGroups(principal: string): void {
    const name = clientIdPrefix(this.topics, principal);
    this.add({ principal: userPrincipal(principal), resource: 'GROUP', name, pattern: 'PREFIXED', operation: 'READ' });
  }

  /** Starting, writing and committing a transaction take WRITE on its transactional id. */
  ownTransactions(principal: string): void {
    const name = clientIdPrefix(this.topics, principal);
    this.add({ principal: userPrincipal(principal), resource: 'TRANSACTIONAL_ID', name, pattern: 'PREFIXED', operation: 'WRITE' });
  }
}

/** Every ACL of the switch, in a stable order: the gateway, institutions, sources, auditors, the sealer (as in principalNames). */
export function accessControlList(topics: TopicNames, institutions: Institutions): AclGrant[] {
  // One principal in two roles (an institution called "gateway", an auditor also an institution)
  // would hold the rights of both.
  const names = principalNames(institutions);
  const shared = names.find((name, index) => names.indexOf(name) !== index);
  if (shared) throw new Error(`principal ${shared} has more than one role in the configuration`);

  const list = new GrantList(topics);
  const institutionIds = institutions.institutions.map((i) => i.id);
  const sourceIds = institutions.sources.map((s) => s.id);
  const consulting = institutions.institutions.flatMap((i) => (i.consultation ? [{ id: i.id, principal: i.consultation.principal }] : []));

  const gateway = 'gateway';
  list.topicAccess(gateway, 'READ', [
    ...institutionIds.flatMap((id) => [topics.requests(id), topics.directory(id)]),
    ...consulting.map((c) => topics.consultationRequests(c.id)),
    ...sourceIds.flatMap((id) => [topics.sourceReplies(id), topics.sourceMutations(id)]),
    topics.directoryCommands,
    topics.directoryChangelog,
    topics.exchangeTimeouts,
    topics.authorizations,
  ]);
  list.topicAccess(gateway, 'WRITE', [
    ...institutionIds.flatMap((id) => [topics.replies(id), topics.mutations(id)]),
    ...consulting.map((c) => topics.consultations(c.id)),
    ...sourceIds.map((id) => topics.sourceRequests(id)),
    topics.directoryCommands,
    topics.directoryChangelog,
    topics.exchangeTimeouts,
    // The deliberations it applies, published at start (authorization-publisher.ts).
    topics.authorizations,
    topics.audit,
    topics.deadLetter,
  ]);
  list.ownGroups(gateway);
  list.ownTransactions(gateway);

  for (const id of institutionIds) {
    list.topicAccess(id, 'WRITE', [topics.requests(id), topics.directory(id)]);
    list.topicAccess(id, 'READ', [topics.replies(id), topics.mutations(id)]);
    list.ownGroups(id);
  }

  // A consultation application sends and reads only through its own pair of topics: the institution's
  // machine principal never reads a consultation, and the application nothing else.
  for (const { id, principal } of consulting) {
    list.topicAccess(principal, 'WRITE', [topics.consultationRequests(id)]);
    list.topicAccess(principal, 'READ', [topics.consultations(id)]);
    list.ownGroups(principal);
  }

  for (const id of sourceIds) {
    const principal = sourcePrincipal(id);
    list.topicAccess(principal, 'READ', [topics.sourceRequests(id)]);
    list.topicAccess(principal, 'WRITE', [topics.sourceReplies(id), topics.sourceMutations(id)]);
    list.ownGroups(principal);
    list.ownTransactions(principal);
  }

  for (const auditor of institutions.auditors) {
    list.topicAccess(auditor, 'READ', [topics.audit, topics.auditSeals]);
    list.ownGroups(auditor);
  }

  // Dead letters hold whole messages that could not be read, personal data included: operators only.
  for (const operator of institutions.operators) {
    list.topicAccess(operator, 'READ', [topics.deadLetter]);
    list.ownGroups(operator);
  }

  const sealer = institutions.sealer;
  // It reads its own seals back at start: the last one of each partition is where its chain resumes.
  list.topicAccess(sealer, 'READ', [topics.audit, topics.auditSeals]);
  list.topicAccess(sealer, 'WRITE', [topics.auditSeals]);
  list.ownGroups(sealer);
  list.ownTransactions(sealer);

  return list.grants;
}

/** One ACL as a line of the diff: `User:vaph TOPIC LITERAL bcss.vaph.requests WRITE`. */
export function formatGrant(grant: AclGrant): string {
  return `${grant.principal} ${grant.resource} ${grant.pattern} ${grant.name} ${grant.operation}`;
}

function grantKey(grant: AclGrant): string {
  return [grant.principal, grant.resource, grant.pattern, grant.name, grant.operation].join('\u0000');
}

function compareGrants(a: AclGrant, b: AclGrant): number {
  const x = [a.principal, a.resource, a.name, a.pattern, a.operation];
  const y = [b.principal, b.resource, b.name, b.pattern, b.operation];
  for (let i = 0; i < x.length; i++) {
    const [p, q] = [x[i] as string, y[i] as string];
    if (p !== q) return p < q ? -1 : 1;
  }
  return 0;
}

/** Which of the broker's ACLs a sync may delete: see `diffAccessControl`. */
export interface AclScope {
  /** The switch's topic prefix (`bcss`): its names are `<prefix>.…`. */
  readonly prefix: string;
  /** The switch's own topics (topology.ts), owned whatever their name. */
  readonly topics?: Iterable<string>;
  /** Principals never deleted for, besides `User:admin`: the super users, the principal running the sync. */
  readonly protectedPrincipals?: Iterable<string>;
}

/** The principal of the local stack's and docker-compose's super user. */
export const ADMIN_PRINCIPAL = userPrincipal('admin');

/** Whether an ACL on the broker belongs to the switch of `scope`, so that a sync may delete it. */
export function ownedBySwitch(grant: AclGrant, scope: AclScope): boolean {
  if (grant.resource === 'CLUSTER') return false;
  const protectedPrincipals = new Set([ADMIN_PRINCIPAL, ...(scope.protectedPrincipals ?? [])]);
  if (protectedPrincipals.has(grant.principal)) return false;
  if (grant.name.startsWith(`${scope.prefix}.`)) return true;
  return grant.resource === 'TOPIC' && new Set(scope.topics ?? []).has(grant.name);
}

export interface AclDiff {
  /** Wanted and not on the broker, in the order of the wanted list. */
  readonly toCreate: AclGrant[];
  /** On the broker, the switch's, and not wanted; sorted by principal, resource and name. */
  readonly toDelete: AclGrant[];
  /** Wanted and already on the broker, in the order of the wanted list. */
  readonly unchanged: AclGrant[];
}

/**
 * What turns the broker's ACLs (`current`, from `describeAcls`) into the wanted ones (`desired`, from
 * `accessControlList`). Duplicates on either side count once.
 *
 * Only the switch's own ACLs are ever deleted: the broker may serve other applications, whose ACLs
 * this configuration knows nothing about. An entry is the switch's when its resource name is one of
 * the switch's topics or starts with `<prefix>.` — its topics `<prefix>.*`, its groups and
 * transactional ids `<prefix>.<principal>.` — whatever its principal: whoever needs access to the
 * switch's topics is declared in config/institutions.yaml, so an entry by hand (a `User:*` grant, a
 * principal removed from the configuration, a right an institution no longer has) is stale. Left
 * alone, always:
 *
 * - anything for `User:admin` and the other `protectedPrincipals` (super users, the principal that
 *   runs the sync), so that a sync never locks out its operator;
 * - CLUSTER entries, and names outside the prefix, including a PREFIXED entry on a shorter name
 *   (`bcs`) that reaches the switch's names but others' too;
 * - what `describeAcls` does not list: DENY entries and operations AclGrant does not name.
 *
 * A prefix that begins another switch's (`bcss` and `bcss.test`) would claim that switch's names:
 * prefixes of switches sharing a cluster must not nest. Without a scope (null) nothing is the
 * switch's, and nothing is deleted.
 */
export function diffAccessControl(desired: readonly AclGrant[], current: readonly AclGrant[], scope: AclScope | null): AclDiff {
  const onBroker = new Set(current.map(grantKey));
  const wanted = new Set<string>();
  const toCreate: AclGrant[] = [];
  const unchanged: AclGrant[] = [];
  for (const grant of desired) {
    const key = grantKey(grant);
    if (wanted.has(key)) continue;
    wanted.add(key);
    (onBroker.has(key) ? unchanged : toCreate).push(grant);
  }
  const stale = new Map<string, AclGrant>();
  for (const grant of current) {
    const key = grantKey(grant);
    if (!wanted.has(key) && scope && ownedBySwitch(grant, scope)) stale.set(key, grant);
  }
  return { toCreate, toDelete: [...stale.values()].sort(compareGrants), unchanged };
}

export interface AclSyncResult {
  readonly diff: AclDiff;
  /** False for a dry run: nothing was changed. */
  readonly applied: boolean;
  readonly created: number;
  readonly deleted: number;
  /** Whether the broker listed every change before the wait ended (true when there was none). */
  readonly settled: boolean;
}

export interface AclSyncOptions {
  /** Compute and report the diff, change nothing. */
  readonly dryRun?: boolean;
  /** Create what is missing, delete nothing (the diff still lists what a full sync would delete). */
  readonly createOnly?: boolean;
  /** How long to wait for the broker to list the changes; default 10 s. */
  readonly settleMs?: number;
}

/**
 * Makes the switch's ACLs on the broker those of `desired`: creates the missing ones, deletes the
 * stale ones of the switch (`diffAccessControl` says which), then waits until the broker lists the
 * result. Running it again finds nothing to do.
 */
export async function syncAccessControl(
  admin: KafkaAdmin,
  desired: readonly AclGrant[],
  scope: AclScope | null,
  options: AclSyncOptions = {},
): Promise<AclSyncResult> {
  const diff = diffAccessControl(desired, await admin.describeAcls(), scope);
  const toDelete = options.createOnly ? [] : diff.toDelete;
  if (options.dryRun) return { diff, applied: false, created: 0, deleted: 0, settled: true };
  if (diff.toCreate.length === 0 && toDelete.length === 0) return { diff, applied: true, created: 0, deleted: 0, settled: true };
  if (diff.toCreate.length > 0) await admin.createAcls(diff.toCreate);
  if (toDelete.length > 0) await admin.deleteAcls(toDelete);
  // The broker's authorizer applies ACL changes from the metadata log shortly after the call returns;
  // a client that connects at once could still be refused (or still let in). Wait until the list
  // shows them all, then a moment.
  const deadline = Date.now() + (options.settleMs ?? 10_000);
  let settled = false;
  for (;;) {
    const now = new Set((await admin.describeAcls()).map(grantKey));
    settled = diff.toCreate.every((g) => now.has(grantKey(g))) && toDelete.every((g) => !now.has(grantKey(g)));
    if (settled || Date.now() >= deadline) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  await new Promise((r) => setTimeout(r, 1_000));
  return { diff, applied: true, created: diff.toCreate.length, deleted: toDelete.length, settled };
}

/**
 * Creates the missing ACLs on the broker (`syncAccessControl`, create-only): creating what exists
 * changes nothing, so running it at every start is safe. It never deletes; given the switch's
 * `scope`, it returns the stale entries `bcss acl sync` would delete.
 */
export async function provisionAccessControl(
  admin: KafkaAdmin,
  grants: readonly AclGrant[],
  scope?: AclScope,
): Promise<{ created: number; stale: AclGrant[] }> {
  const { created, diff } = await syncAccessControl(admin, grants, scope ?? null, { createOnly: true });
  return { created, stale: diff.toDelete };
}
