/**
 * The ACLs computed from the repository's config/institutions.yaml: who may touch which topic,
 * group and transactional id. The broker's enforcement of them is in
 * test/integration/principal-isolation.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG_DIR } from '../../src/config/project-paths.js';
import { loadInstitutions, principalNames, type Institutions } from '../../src/config/load-institutions.js';
import { accessControlList, userPrincipal } from '../../src/gateway/access-control.js';
import { topicSpecs } from '../../src/gateway/topology.js';
import type { AclGrant } from '../../src/messaging/kafka-client.js';
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
