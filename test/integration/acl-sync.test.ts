/**
 * `bcss acl sync` on the real broker, on a prefix of its own: the first sync creates the ACLs of
 * config/institutions.yaml, the next finds nothing to do; a stray right on the prefix is deleted and
 * the principal really loses it; other applications' ACLs and the admin's are left alone. The command
 * itself runs with its output captured, as an operator would run it.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAclSyncCommand } from '../../src/cli/acl-command.js';
import { DEFAULT_CONFIG_DIR } from '../../src/config/project-paths.js';
import { loadInstitutions } from '../../src/config/load-institutions.js';
import { accessControlList, formatGrant, syncAccessControl, type AclScope } from '../../src/gateway/access-control.js';
import { topicSpecs } from '../../src/gateway/topology.js';
import { toMessagingError, type AclGrant, type KafkaConnection } from '../../src/messaging/kafka-client.js';
import { createGatewayFixture, type GatewayFixture } from '../support/gateway-fixture.js';
import { collectMessages, uniqueName, waitFor } from '../support/kafka-helpers.js';
import { capturedIo } from '../support/captured-io.js';
import { connectionAs, testStack } from '../support/stack-context.js';


describe('bcss acl sync on the real broker', () => {
  const stack = testStack();
  const institutions = loadInstitutions(DEFAULT_CONFIG_DIR);
  let fixture: GatewayFixture;
  let desired: AclGrant[];
  let scope: AclScope;
  /** Everything this file put on the broker, removed after. */
  const planted: AclGrant[] = [];
  const foreignPrefix = uniqueName('t');

  const vaph = (): KafkaConnection => ({ ...connectionAs(stack, 'vaph'), clientId: 'it-acl-sync-vaph' });
  /** The switch's entries on the broker, plus the foreign and admin ones planted here, as diff lines. */
  const onBroker = async (): Promise<string[]> => {
    const prefixes = [`${fixture.topics.prefix}.`, `${foreignPrefix}.`];
    return (await fixture.admin.describeAcls())
      .filter((g) => prefixes.some((p) => g.name.startsWith(p)))
      .map(formatGrant)
      .sort();
  };
  const plant = async (grants: AclGrant[]) => {
    planted.push(...grants);
    await fixture.admin.createAcls(grants);
    const wanted = grants.map(formatGrant);
    await waitFor(onBroker, (now) => wanted.every((line) => now.includes(line)), { what: 'the planted ACLs to be listed' });
  };
  const commandEnv = (): NodeJS.ProcessEnv => ({
    BCSS_TOPIC_PREFIX: fixture.topics.prefix,
    KAFKA_BROKERS: stack.kafka.brokers.join(','),
    ...(stack.kafka.sasl
      ? { KAFKA_SASL_MECHANISM: stack.kafka.sasl.mechanism, KAFKA_SASL_USERNAME: stack.kafka.sasl.username, KAFKA_SASL_PASSWORD: stack.kafka.sasl.password }
      : {}),
    ...(stack.kafka.ssl ? { KAFKA_SSL: 'true' } : {}),
  });

  beforeAll(async () => {
    fixture = await createGatewayFixture(stack);
    desired = accessControlList(fixture.topics, institutions);
    scope = {
      prefix: fixture.topics.prefix,
      topics: topicSpecs(fixture.topics, institutions).map((s) => s.topic),
      protectedPrincipals: stack.kafka.sasl ? [`User:${stack.kafka.sasl.username}`] : [],
    };
    // Another application's right on the same cluster, and one of the admin's on the switch's names.
    await plant([
      { principal: 'User:vaph', resource: 'TOPIC', pattern: 'LITERAL', name: `${foreignPrefix}.vaph.replies`, operation: 'READ' },
      { principal: 'User:vaph', resource: 'GROUP', pattern: 'PREFIXED', name: `${foreignPrefix}.vaph.`, operation: 'READ' },
      { principal: 'User:admin', resource: 'TOPIC', pattern: 'LITERAL', name: fixture.topics.audit, operation: 'READ' },
    ]);
  });

  afterAll(async () => {
    // The broker keeps ACLs after their topics are gone.
    await fixture.admin.deleteAcls([...desired, ...planted]).catch(() => undefined);
    await fixture.close();
  });

  it('creates every ACL of the configuration at the first sync', async () => {
    const result = await syncAccessControl(fixture.admin, desired, scope);
    expect(result).toMatchObject({ applied: true, created: desired.length, deleted: 0, settled: true });
    const now = await onBroker();
    expect(now).toEqual(expect.arrayContaining(desired.map(formatGrant)));
    // The foreign and admin entries are still there, and nothing else is.
    expect(now).toEqual([...desired, ...planted].map(formatGrant).sort());
  });

  it('finds nothing to do at the second sync', async () => {
    const result = await syncAccessControl(fixture.admin, desired, scope);
    expect(result).toMatchObject({ created: 0, deleted: 0, settled: true });
    expect(result.diff.toCreate).toEqual([]);
    expect(result.diff.toDelete).toEqual([]);
    expect(result.diff.unchanged).toHaveLength(desired.length);
  });

  it("deletes a stray READ of vaph on iriscare's replies, and vaph can no longer read them", async () => {
    const { topics } = fixture;
    const producer = await fixture.client.producer();
    const key = `stray-${randomUUID()}`;
    try {
      await producer.send(topics.replies('iriscare'), [{ key, value: Buffer.from('for iriscare only') }]);
    } finally {
      await producer.disconnect();
    }
    const stray: AclGrant = { principal: 'User:vaph', resource: 'TOPIC', pattern: 'LITERAL', name: topics.replies('iriscare'), operation: 'READ' };
    await plant([stray]);
    // With the stray entry, vaph reads iriscare's reply: the entry is a real leak.
    const leaked = await waitFor(
      () => collectMessages(vaph(), topics.replies('iriscare'), 1, { groupId: `${topics.prefix}.vaph.${randomUUID()}`, timeoutMs: 10_000 }),
      (messages) => messages.length > 0,
      { timeoutMs: 30_000, what: 'vaph to read through the stray ACL' },
    );
    expect(leaked[0]?.key?.toString()).toBe(key);

    const result = await syncAccessControl(fixture.admin, desired, scope);
    expect(result).toMatchObject({ created: 0, deleted: 1, settled: true });
    expect(result.diff.toDelete).toEqual([stray]);
    expect(await onBroker()).not.toContain(formatGrant(stray));

    const denied = await collectMessages(vaph(), topics.replies('iriscare'), 1, {
      groupId: `${topics.prefix}.vaph.${randomUUID()}`,
      timeoutMs: 10_000,
    }).then(
      () => null,
      (error: unknown) => toMessagingError(error),
    );
    expect(denied).toMatchObject({ type: 'TOPIC_AUTHORIZATION_FAILED', accessDenied: true });
  }, 90_000);

  it('leaves the foreign ACLs and the admin\'s in place', async () => {
    expect(await onBroker()).toEqual(expect.arrayContaining(planted.filter((g) => g.principal === 'User:admin' || g.name.startsWith(foreignPrefix)).map(formatGrant)));
  });

  /** `bcss acl sync --dry-run` (it changes nothing) run again until its output satisfies `done`. */
  const dryRunUntil = (done: (out: string) => boolean, what: string) =>
    waitFor(
      async () => {
        const io = capturedIo(commandEnv());
        expect(await runAclSyncCommand({ dryRun: true }, io), io.err()).toBe(0);
        return io;
      },
      (io) => done(io.out()),
      { timeoutMs: 15_000, what },
    );

  it('prints the diff from the command: dry run, sync, then nothing to do', async () => {
    const { topics } = fixture;
    const stray: AclGrant = { principal: 'User:dpo', resource: 'TOPIC', pattern: 'LITERAL', name: topics.deadLetter, operation: 'READ' };
    const missing = desired.find((g) => g.principal === 'User:vaph' && g.name === topics.requests('vaph')) as AclGrant;
    await plant([stray]);
    await fixture.admin.deleteAcls([missing]);
    await waitFor(onBroker, (now) => !now.includes(formatGrant(missing)), { what: 'the ACL to be gone' });

    // On a cluster each broker learns of an ACL change from the metadata log a moment later, and the
    // command may ask another broker than the test did: the dry run (which changes nothing) is asked
    // until it sees the deletion.
    const dry = await dryRunUntil((out) => out.startsWith('+ '), 'the dry run to see the deleted ACL');
    expect(dry.out().split('\n')).toEqual([
      `+ User:vaph TOPIC LITERAL ${topics.requests('vaph')} WRITE`,
      `- User:dpo TOPIC LITERAL ${topics.deadLetter} READ`,
      `dry run, nothing changed: would create 1, delete 1; unchanged ${desired.length - 1}`,
      '',
    ]);
    expect(await onBroker()).toContain(formatGrant(stray));

    const json = capturedIo(commandEnv());
    expect(await runAclSyncCommand({ dryRun: true, json: true }, json), json.err()).toBe(0);
    expect(JSON.parse(json.out())).toMatchObject({
      prefix: topics.prefix,
      dryRun: true,
      applied: false,
      unchanged: desired.length - 1,
      toCreate: [missing],
      toDelete: [stray],
    });

    const sync = capturedIo(commandEnv());
    expect(await runAclSyncCommand({}, sync), sync.err()).toBe(0);
    expect(sync.out()).toBe(
      [
        `+ User:vaph TOPIC LITERAL ${topics.requests('vaph')} WRITE`,
        `- User:dpo TOPIC LITERAL ${topics.deadLetter} READ`,
        `created 1, deleted 1, unchanged ${desired.length - 1}`,
        '',
      ].join('\n'),
    );
    const now = await onBroker();
    expect(now).toContain(formatGrant(missing));
    expect(now).not.toContain(formatGrant(stray));

    // Asked again until a broker that has learnt of the sync answers (a stale one would see the same diff).
    const again = await dryRunUntil((out) => out.startsWith('dry run, nothing changed: would create 0, delete 0'), 'every change of the sync to be seen');
    expect(again.out()).toBe(`dry run, nothing changed: would create 0, delete 0; unchanged ${desired.length}\n`);
    const last = capturedIo(commandEnv());
    expect(await runAclSyncCommand({}, last), last.err()).toBe(0);
    expect(last.out()).toBe(`nothing to do: created 0, deleted 0, unchanged ${desired.length}\n`);
  }, 60_000);

  it('fails with a message, exit 1, when it may not manage ACLs', async () => {
    const io = capturedIo({ ...commandEnv(), KAFKA_SASL_USERNAME: 'vaph', KAFKA_SASL_PASSWORD: connectionAs(stack, 'vaph').sasl?.password });
    expect(await runAclSyncCommand({ dryRun: true }, io)).toBe(1);
    expect(io.out()).toBe('');
    expect(io.err()).toMatch(/^bcss acl sync: Kafka refused vaph \(\w+\): managing ACLs takes an admin/);
  });
});
