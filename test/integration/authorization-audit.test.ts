import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTHORIZATION_RECORD } from '../../src/contract/names.js';
import { publishAuthorizations } from '../../src/gateway/authorization-publisher.js';
import type { Deliberation } from '../../src/domain/deliberation.js';
import { silentLogger } from '../../src/logging/logger.js';
import { readTopicToEnd } from '../../src/messaging/topic-reader.js';
import { createExchangeFixture, type ExchangeFixture } from '../support/exchange-fixture.js';
import { testStack } from '../support/stack-context.js';

/** Every change of the deliberations a gateway applies leaves an AUTHORIZATION_CHANGED audit record. */
describe('authorization changes are published and audited', () => {
  let fx: ExchangeFixture;
  const publish = (deliberations: readonly Deliberation[]) =>
    publishAuthorizations({
      client: fx.client,
      codec: fx.codec,
      topics: fx.topics,
      deliberations,
      logger: silentLogger,
      instanceName: `${fx.instanceName}.gateway`,
    });
  const authorizationEvents = async () => (await fx.readAudit()).filter((r) => r.eventType === 'AUTHORIZATION_CHANGED');

  beforeAll(async () => {
    fx = await createExchangeFixture(testStack());
  }, 120_000);

  afterAll(async () => {
    await fx?.close();
  }, 60_000);

  it('first start: every deliberation ADDED; a restart with the same files: nothing', async () => {
    const numbers = fx.deliberations.map((d) => d.number).sort();
    expect(await publish(fx.deliberations)).toEqual({ added: numbers, changed: [], withdrawn: [] });
    expect(await publish(fx.deliberations)).toEqual({ added: [], changed: [], withdrawn: [] });
    const events = await authorizationEvents();
    expect(events.map((e) => [e.deliberation, e.outcome]).sort()).toEqual(numbers.map((n) => [n, 'ADDED']));
    const iriscare = events.find((e) => e.deliberation === '19/104');
    expect(iriscare).toMatchObject({ requester: 'iriscare', deliberationVersion: 'v3', purpose: expect.any(String), subjectNiss: null });
  }, 60_000);

  it('a rule changed (a block withdrawn from 19/104 v3) is CHANGED; a deliberation dropped from the files is WITHDRAWN', async () => {
    const edited = fx.deliberations.map((d) =>
      d.number !== '19/104'
        ? d
        : {
            ...d,
            versions: d.versions.map((v) =>
              v.id !== 'v3' ? v : { ...v, services: v.services.map((s) => ({ ...s, blocks: s.blocks.filter((b) => b !== 'dmfa.service') })) },
            ),
          },
    );
    expect(await publish(edited)).toEqual({ added: [], changed: ['19/104'], withdrawn: [] });
    const without = edited.filter((d) => d.number !== '22/046');
    expect(await publish(without)).toEqual({ added: [], changed: [], withdrawn: ['22/046'] });

    const events = await authorizationEvents();
    expect(events.filter((e) => e.outcome === 'CHANGED').map((e) => e.deliberation)).toEqual(['19/104']);
    expect(events.filter((e) => e.outcome === 'WITHDRAWN').map((e) => e.deliberation)).toEqual(['22/046']);

    // The compacted topic's latest value per deliberation: 22/046 a tombstone, 19/104 without 90018.
    const latest = new Map<string, Buffer | null>();
    await readTopicToEnd({
      client: fx.client,
      topic: fx.topics.authorizations,
      onBatch: async ({ messages }) => {
        for (const m of messages) latest.set(m.key?.toString('utf8') ?? '', m.value);
      },
    });
    expect(latest.get('22/046')).toBeNull();
    const snapshot = fx.codec.decode<{ versions: Array<{ id: string; services: string[] }> }>(AUTHORIZATION_RECORD, latest.get('19/104') as Buffer);
    const v3 = snapshot.versions.find((v) => v.id === 'v3');
    expect(v3?.services.some((s) => s.startsWith('dmfa:'))).toBe(true);
    expect(v3?.services.join(' ')).not.toContain('dmfa.service');
  }, 60_000);
});
