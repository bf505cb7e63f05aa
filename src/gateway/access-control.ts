import { principalNames, sourcePrincipal, type Institutions } from '../config/load-institutions.js';
import type { AclGrant, AclOperation, KafkaAdmin } from '../messaging/kafka-client.js';
import type { TopicNames } from '../messaging/topics.js';

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
 * - an auditor reads the audit trail and its seals, nothing else;
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

/** The prefix every consumer group and transactional id of `principal` starts with. */
export function clientIdPrefix(topics: TopicNames, principal: string): string {
  return `${topics.prefix}.${principal}.`;
}

class GrantList {
  readonly grants: AclGrant[] = [];
  private readonly seen = new Set<string>();

  constructor(private readonly topics: TopicNames) {}

  private add(grant: AclGrant): void {
    const key = [grant.principal, grant.resource, grant.pattern, grant.name, grant.operation].join('\u0000');
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

  const gateway = 'gateway';
  list.topicAccess(gateway, 'READ', [
    ...institutionIds.flatMap((id) => [topics.requests(id), topics.directory(id)]),
    ...sourceIds.flatMap((id) => [topics.sourceReplies(id), topics.sourceMutations(id)]),
    topics.directoryCommands,
    topics.directoryChangelog,
    topics.exchangeTimeouts,
    topics.authorizations,
  ]);
  list.topicAccess(gateway, 'WRITE', [
    ...institutionIds.flatMap((id) => [topics.replies(id), topics.mutations(id)]),
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

  const sealer = institutions.sealer;
  // It reads its own seals back at start: the last one of each partition is where its chain resumes.
  list.topicAccess(sealer, 'READ', [topics.audit, topics.auditSeals]);
  list.topicAccess(sealer, 'WRITE', [topics.auditSeals]);
  list.ownGroups(sealer);
  list.ownTransactions(sealer);

  return list.grants;
}

/**
 * Creates the ACLs on the broker. Creating an ACL that already exists changes nothing, so running it
 * at every start is safe; it never deletes: an ACL dropped from the list has to be removed by hand.
 */
export async function provisionAccessControl(admin: KafkaAdmin, grants: readonly AclGrant[]): Promise<{ created: number }> {
  const key = (g: AclGrant) => `${g.principal}|${g.resource}|${g.pattern}|${g.name}|${g.operation}`;
  const existing = new Set((await admin.describeAcls()).map(key));
  const missing = grants.filter((g) => !existing.has(key(g)));
  if (missing.length === 0) return { created: 0 };
  await admin.createAcls(missing);
  // The broker's authorizer applies new ACLs from the metadata log shortly after the call returns; a
  // client that connects at once could still be refused. Wait until they are all listed, then a moment.
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const now = new Set((await admin.describeAcls()).map(key));
    if (missing.every((g) => now.has(key(g)))) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  await new Promise((r) => setTimeout(r, 1_000));
  return { created: missing.length };
}
