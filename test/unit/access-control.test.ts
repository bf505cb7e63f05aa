/**
 * The ACLs computed from the repository's config/institutions.yaml: who may touch which topic,
 * group and transactional id. The broker's enforcement of them is in
 * test/integration/principal-isolation.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG_DIR } from '../../src/config/project-paths.js';
import { loadInstitutions, principalNames, type Institutions } from '../../src/config/load-institutions.js';
import {
  accessControlList,
  diffAccessControl,
  formatGrant,
  ownedBySwitch,
  provisionAccessControl,
  syncAccessControl,
  userPrincipal,
  type AclScope,
} from '../../src/gateway/access-control.js';
import { topicSpecs } from '../../src/gateway/topology.js';
import type { AclGrant, KafkaAdmin } from '../../src/messaging/kafka-client.js';
import { topicNames } from '../../src/messaging/topics.js';

const institutions = loadInstitutions(DEFAULT_CONFIG_DIR);
const topics = topicNames('bcss');
const grants = accessControlList(topics, institutions);
const institutionIds = institutions.institutions.map((i) => i.id);
const sourceIds = institutions.sources.map((s) => s.id);

function of(principal: string, resource: AclGrant['resource'] = 'TOPIC'): AclGrant[] {
  return grants.filter((g) => g.principal === userPrincipal(principal) && g.resource === resource);
}

/** "READ bcss.vaph.replies" lines, sorted, for one principal and resource type. */
function rights(principal: string, resource: AclGrant['resource'] = 'TOPIC'): string[] {
  return of(principal, resource)
    .map((g) => `${g.operation} ${g.name}${g.pattern === 'PREFIXED' ? '*' : ''}`)
    .sort();
}

function topicsOf(institution: string): string[] {
  return [topics.requests(institution), topics.replies(institution), topics.mutations(institution), topics.directory(institution)];
}

describe('accessControlList for config/institutions.yaml', () => {
  it('gives an institution its own four topics and its own groups, nothing else', () => {
    for (const id of institutionIds) {
      expect(rights(id), id).toEqual(
        [
          `READ ${topics.mutations(id)}`,
          `READ ${topics.replies(id)}`,
          `WRITE ${topics.directory(id)}`,
          `WRITE ${topics.requests(id)}`,
        ].sort(),
      );
      expect(rights(id, 'GROUP'), id).toEqual([`READ bcss.${id}.*`]);
      expect(of(id, 'TRANSACTIONAL_ID'), id).toEqual([]);
      expect(of(id, 'CLUSTER'), id).toEqual([]);
    }
  });

  it('grants no institution anything on another institution\'s topics, the audit, the directory or a source', () => {
    const forbiddenFor = (id: string) =>
      new Set([
        ...institutionIds.filter((other) => other !== id).flatMap(topicsOf),
        ...sourceIds.flatMap((s) => [topics.sourceRequests(s), topics.sourceReplies(s), topics.sourceMutations(s)]),
        topics.audit,
        topics.auditSeals,
        topics.directoryChangelog,
        topics.directoryCommands,
        topics.authorizations,
        topics.deadLetter,
        topics.exchangeTimeouts,
      ]);
    for (const id of institutionIds) {
      const forbidden = forbiddenFor(id);
      expect(of(id).filter((g) => forbidden.has(g.name)), id).toEqual([]);
    }
  });

  it('lets a source read its requests and write its replies and mutations, in its own groups and transactions', () => {
    for (const id of sourceIds) {
      const principal = `source-${id}`;
      expect(rights(principal), principal).toEqual(
        [`READ ${topics.sourceRequests(id)}`, `WRITE ${topics.sourceMutations(id)}`, `WRITE ${topics.sourceReplies(id)}`].sort(),
      );
      expect(rights(principal, 'GROUP')).toEqual([`READ bcss.${principal}.*`]);
      expect(rights(principal, 'TRANSACTIONAL_ID')).toEqual([`WRITE bcss.${principal}.*`]);
    }
  });

  it('lets the gateway relay between all parties and write the audit, never read it back', () => {
    const gateway = rights('gateway');
    for (const id of institutionIds) {
      expect(gateway).toEqual(expect.arrayContaining([`READ ${topics.requests(id)}`, `READ ${topics.directory(id)}`]));
      expect(gateway).toEqual(expect.arrayContaining([`WRITE ${topics.replies(id)}`, `WRITE ${topics.mutations(id)}`]));
      expect(gateway).not.toContain(`WRITE ${topics.requests(id)}`);
      expect(gateway).not.toContain(`READ ${topics.replies(id)}`);
    }
    for (const id of sourceIds) {
      expect(gateway).toEqual(
        expect.arrayContaining([`WRITE ${topics.sourceRequests(id)}`, `READ ${topics.sourceReplies(id)}`, `READ ${topics.sourceMutations(id)}`]),
      );
    }
    for (const internal of [topics.directoryCommands, topics.directoryChangelog, topics.exchangeTimeouts]) {
      expect(gateway).toEqual(expect.arrayContaining([`READ ${internal}`, `WRITE ${internal}`]));
    }
    // It publishes the deliberations it applies (and audits their changes) at start.
    expect(gateway).toEqual(expect.arrayContaining([`READ ${topics.authorizations}`, `WRITE ${topics.authorizations}`]));
    expect(gateway).toEqual(expect.arrayContaining([`WRITE ${topics.audit}`, `WRITE ${topics.deadLetter}`]));
    for (const unread of [topics.audit, topics.auditSeals, topics.deadLetter]) {
      expect(of('gateway').filter((g) => g.name === unread && g.operation !== 'WRITE'), unread).toEqual([]);
    }
    expect(rights('gateway', 'GROUP')).toEqual(['READ bcss.gateway.*']);
    expect(rights('gateway', 'TRANSACTIONAL_ID')).toEqual(['WRITE bcss.gateway.*']);
  });

  it('lets an auditor read the audit trail and its seals only', () => {
    for (const auditor of institutions.auditors) {
      expect(rights(auditor)).toEqual([`READ ${topics.audit}`, `READ ${topics.auditSeals}`].sort());
      expect(rights(auditor, 'GROUP')).toEqual([`READ bcss.${auditor}.*`]);
    }
  });

  it('lets the audit sealer read the audit trail, and read and write its seals, only', () => {
    const sealer = institutions.sealer;
    expect(sealer).toBe('audit-sealer');
    expect(principalNames(institutions)).toContain(sealer);
    expect(rights(sealer)).toEqual([`READ ${topics.audit}`, `READ ${topics.auditSeals}`, `WRITE ${topics.auditSeals}`]);
    expect(rights(sealer, 'GROUP')).toEqual([`READ bcss.${sealer}.*`]);
    expect(rights(sealer, 'TRANSACTIONAL_ID')).toEqual([`WRITE bcss.${sealer}.*`]);
    // No one else may write a seal: not the gateway that writes the trail, nor an auditor.
    expect(grants.filter((g) => g.name === topics.auditSeals && g.operation === 'WRITE').map((g) => g.principal)).toEqual([
      userPrincipal(sealer),
    ]);
  });

  it('names topics one by one, and groups and transactional ids by the principal\'s prefix', () => {
    for (const grant of grants) {
      const principal = grant.principal.slice('User:'.length);
      if (grant.resource === 'TOPIC') expect(grant.pattern).toBe('LITERAL');
      else expect(grant).toMatchObject({ pattern: 'PREFIXED', name: `bcss.${principal}.` });
    }
  });

  it('only touches topics the topology creates, and only for principals of the configuration', () => {
    const created = new Set(topicSpecs(topics, institutions).map((s) => s.topic));
    expect(grants.filter((g) => g.resource === 'TOPIC' && !created.has(g.name))).toEqual([]);
    const principals = new Set(principalNames(institutions).map(userPrincipal));
    expect(grants.filter((g) => !principals.has(g.principal))).toEqual([]);
    // Every principal gets something to do, and no cluster-wide right is handed out.
    expect(new Set(grants.map((g) => g.principal))).toEqual(principals);
    expect(grants.filter((g) => g.resource === 'CLUSTER' || g.operation === 'ALL' || g.operation === 'CREATE')).toEqual([]);
  });

  it('is deterministic and lists each ACL once', () => {
    expect(accessControlList(topicNames('bcss'), loadInstitutions(DEFAULT_CONFIG_DIR))).toEqual(grants);
    const keys = grants.map((g) => JSON.stringify(g));
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('follows the prefix: a test prefix yields grants on its own names only', () => {
    const other = accessControlList(topicNames('t-1234'), institutions);
    expect(other).toHaveLength(grants.length);
    expect(other.every((g) => g.name.startsWith('t-1234.'))).toBe(true);
  });

  it('refuses a configuration where one principal has two roles', () => {
    const clash: Institutions = { ...institutions, auditors: [...institutions.auditors, 'vaph'] };
    expect(() => accessControlList(topics, clash)).toThrow(/principal vaph has more than one role/);
    const sealerClash: Institutions = { ...institutions, sealer: 'auditor' };
    expect(() => accessControlList(topics, sealerClash)).toThrow(/principal auditor has more than one role/);
  });
});

/** `User:vaph TOPIC LITERAL bcss.vaph.requests WRITE` → the grant. */
function grant(line: string): AclGrant {
  const [principal, resource, pattern, name, operation] = line.split(' ') as [string, AclGrant['resource'], AclGrant['pattern'], string, AclGrant['operation']];
  return { principal, resource, pattern, name, operation };
}

const lines = (list: readonly AclGrant[]) => list.map(formatGrant);

describe('diffAccessControl', () => {
  const scope: AclScope = { prefix: 'bcss', topics: topicSpecs(topics, institutions).map((s) => s.topic) };
  const strayRead = grant('User:vaph TOPIC LITERAL bcss.iriscare.replies READ');

  it('creates every ACL on an empty broker', () => {
    const diff = diffAccessControl(grants, [], scope);
    expect(diff.toCreate).toEqual(grants);
    expect(diff.toDelete).toEqual([]);
    expect(diff.unchanged).toEqual([]);
  });

  it('has nothing to do when the broker holds exactly the list, in any order', () => {
    const diff = diffAccessControl(grants, [...grants].reverse(), scope);
    expect(diff).toEqual({ toCreate: [], toDelete: [], unchanged: grants });
  });

  it('creates only the missing ones, keeping the order of the list', () => {
    const present = grants.filter((_, i) => i % 3 === 0);
    const diff = diffAccessControl(grants, present, scope);
    expect(diff.toCreate).toEqual(grants.filter((_, i) => i % 3 !== 0));
    expect(diff.unchanged).toEqual(present);
    expect(diff.toDelete).toEqual([]);
  });

  it('deletes a stale ACL of the switch: a right the configuration does not grant', () => {
    const diff = diffAccessControl(grants, [...grants, strayRead], scope);
    expect(diff.toDelete).toEqual([strayRead]);
    expect(diff.toCreate).toEqual([]);
    expect(diff.unchanged).toHaveLength(grants.length);
  });

  it('deletes what the switch named for a principal no longer configured, or for everyone', () => {
    const gone = [
      grant('User:oldinst TOPIC LITERAL bcss.oldinst.requests WRITE'),
      grant('User:oldinst GROUP PREFIXED bcss.oldinst. READ'),
      grant('User:oldinst TRANSACTIONAL_ID PREFIXED bcss.oldinst. WRITE'),
      grant('User:* TOPIC LITERAL bcss.audit READ'),
      grant('User:vaph GROUP PREFIXED bcss. READ'),
    ];
    const diff = diffAccessControl(grants, [...gone, ...grants], scope);
    expect(lines(diff.toDelete).sort()).toEqual(lines(gone).sort());
  });

  it('leaves foreign ACLs alone: another prefix, a shorter prefix, no prefix, the cluster', () => {
    const foreign = [
      grant('User:vaph TOPIC LITERAL other.vaph.requests WRITE'),
      grant('User:vaph TOPIC LITERAL bcss-staging.vaph.replies READ'),
      grant('User:vaph TOPIC LITERAL bcssx.audit READ'),
      grant('User:vaph TOPIC PREFIXED bcs READ'),
      grant('User:vaph TOPIC LITERAL bcss READ'),
      grant('User:billing GROUP PREFIXED billing. READ'),
      grant('User:billing TRANSACTIONAL_ID LITERAL invoices WRITE'),
      grant('User:gateway CLUSTER LITERAL kafka-cluster DESCRIBE'),
    ];
    const diff = diffAccessControl(grants, [...grants, ...foreign], scope);
    expect(diff.toDelete).toEqual([]);
    expect(foreign.every((g) => !ownedBySwitch(g, scope))).toBe(true);
  });

  it('never deletes for User:admin, nor for protected principals (super users, the one running the sync)', () => {
    const admin = [grant('User:admin TOPIC LITERAL bcss.audit READ'), grant('User:admin GROUP PREFIXED bcss. READ')];
    const ops = grant('User:ops TOPIC LITERAL bcss.deadletter READ');
    const current = [...grants, ...admin, ops];
    expect(diffAccessControl(grants, current, scope).toDelete).toEqual([ops]);
    expect(diffAccessControl(grants, current, { ...scope, protectedPrincipals: ['User:ops'] }).toDelete).toEqual([]);
  });

  it('owns a topic of the topology by its name, even outside the prefix', () => {
    const renamed: AclScope = { prefix: 'bcss', topics: ['legacy-audit'] };
    expect(ownedBySwitch(grant('User:vaph TOPIC LITERAL legacy-audit READ'), renamed)).toBe(true);
    // A group of that name is not a topic of the switch.
    expect(ownedBySwitch(grant('User:vaph GROUP LITERAL legacy-audit READ'), renamed)).toBe(false);
  });

  it('does not confuse ACLs that differ in one field', () => {
    const write = grant('User:vaph TOPIC LITERAL bcss.vaph.requests WRITE');
    const variants = [
      grant('User:vaph TOPIC LITERAL bcss.vaph.requests READ'),
      grant('User:vaph TOPIC PREFIXED bcss.vaph.requests WRITE'),
      grant('User:iriscare TOPIC LITERAL bcss.vaph.requests WRITE'),
      grant('User:vaph TOPIC LITERAL bcss.vaph.replies WRITE'),
    ];
    const diff = diffAccessControl([write], variants, scope);
    expect(diff.toCreate).toEqual([write]);
    expect(lines(diff.toDelete).sort()).toEqual(lines(variants).sort());
  });

  it('counts duplicates once, on either side', () => {
    const stale = grant('User:vaph TOPIC LITERAL bcss.audit READ');
    // The broker lists an entry once per host; the wanted list may name one twice.
    const diff = diffAccessControl([...grants, ...grants.slice(0, 5)], [...grants.slice(0, 3), ...grants.slice(0, 3), stale, stale], scope);
    expect(diff.unchanged).toEqual(grants.slice(0, 3));
    expect(diff.toCreate).toEqual(grants.slice(3));
    expect(diff.toDelete).toEqual([stale]);
  });

  it('lists deletions in a stable order, whatever the broker\'s', () => {
    const stale = ['User:vaph TOPIC LITERAL bcss.audit READ', 'User:dpo TOPIC LITERAL bcss.deadletter READ', 'User:vaph GROUP PREFIXED bcss.x. READ'].map(grant);
    const a = diffAccessControl(grants, [...stale, ...grants], scope);
    const b = diffAccessControl(grants, [...grants, ...stale].reverse(), scope);
    expect(a.toDelete).toEqual(b.toDelete);
    expect(lines(a.toDelete)).toEqual([
      'User:dpo TOPIC LITERAL bcss.deadletter READ',
      'User:vaph GROUP PREFIXED bcss.x. READ',
      'User:vaph TOPIC LITERAL bcss.audit READ',
    ]);
  });

  it('deletes nothing without a scope', () => {
    expect(diffAccessControl(grants, [...grants, strayRead], null).toDelete).toEqual([]);
  });

  it('applied to its own result, finds nothing to do', () => {
    const current = [...grants.slice(10), strayRead, grant('User:other TOPIC LITERAL other.topic READ')];
    const diff = diffAccessControl(grants, current, scope);
    const removed = new Set(lines(diff.toDelete));
    const after = [...current.filter((g) => !removed.has(formatGrant(g))), ...diff.toCreate];
    expect(diffAccessControl(grants, after, scope)).toEqual({ toCreate: [], toDelete: [], unchanged: expect.any(Array) });
    expect(lines(after)).toContain('User:other TOPIC LITERAL other.topic READ');
  });

  it('formats a grant as one diff line', () => {
    expect(formatGrant(grant('User:vaph TOPIC LITERAL bcss.vaph.requests WRITE'))).toBe('User:vaph TOPIC LITERAL bcss.vaph.requests WRITE');
  });
});

/** An admin holding ACLs in memory, as the broker lists them: enough for the sync's calls. */
function memoryAdmin(initial: readonly AclGrant[]) {
  let acls = [...initial];
  const calls: string[] = [];
  const admin = {
    async describeAcls() {
      return [...acls];
    },
    async createAcls(list: readonly AclGrant[]) {
      calls.push(`create ${list.length}`);
      acls.push(...list);
    },
    async deleteAcls(list: readonly AclGrant[]) {
      calls.push(`delete ${list.length}`);
      const gone = new Set(list.map(formatGrant));
      const before = acls.length;
      acls = acls.filter((g) => !gone.has(formatGrant(g)));
      return before - acls.length;
    },
  } as unknown as KafkaAdmin;
  return { admin, calls, acls: () => acls };
}

describe('syncAccessControl', () => {
  const scope: AclScope = { prefix: 'bcss' };
  const stray = { principal: 'User:vaph', resource: 'TOPIC', pattern: 'LITERAL', name: 'bcss.audit', operation: 'READ' } as const;
  const foreign = { principal: 'User:vaph', resource: 'TOPIC', pattern: 'LITERAL', name: 'other.audit', operation: 'READ' } as const;

  it('creates and deletes, then finds nothing to do', async () => {
    const broker = memoryAdmin([stray, foreign, ...grants.slice(0, 4)]);
    const first = await syncAccessControl(broker.admin, grants, scope, { settleMs: 0 });
    expect(first).toMatchObject({ applied: true, created: grants.length - 4, deleted: 1, settled: true });
    expect(broker.calls).toEqual([`create ${grants.length - 4}`, 'delete 1']);
    expect(lines(broker.acls()).sort()).toEqual(lines([foreign, ...grants]).sort());
    const second = await syncAccessControl(broker.admin, grants, scope);
    expect(second).toMatchObject({ created: 0, deleted: 0, settled: true });
    expect(second.diff.unchanged).toHaveLength(grants.length);
    expect(broker.calls).toHaveLength(2);
  });

  it('changes nothing on a dry run, and reports what it would do', async () => {
    const broker = memoryAdmin([stray]);
    const result = await syncAccessControl(broker.admin, grants, scope, { dryRun: true });
    expect(result).toMatchObject({ applied: false, created: 0, deleted: 0 });
    expect(result.diff.toCreate).toHaveLength(grants.length);
    expect(result.diff.toDelete).toEqual([stray]);
    expect(broker.calls).toEqual([]);
  });

  it('only creates when create-only (as at start), naming what a sync would delete', async () => {
    const broker = memoryAdmin([stray]);
    const { created, stale } = await provisionAccessControl(broker.admin, grants, scope);
    expect(created).toBe(grants.length);
    expect(stale).toEqual([stray]);
    expect(broker.acls()).toContainEqual(stray);
    expect(broker.calls).toEqual([`create ${grants.length}`]);
  });
});
