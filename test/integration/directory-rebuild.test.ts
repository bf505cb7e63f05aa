import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newCommandId, createDirectoryClient } from '../../src/client/directory-client.js';
import { decideDirectoryAccess, type DirectoryAccessRequest } from '../../src/domain/directory.js';
import type { DirectoryAckRecord, DirectoryCommandRecord } from '../../src/contract/directory-records.js';
import { rebuildDirectory } from '../../src/gateway/directory-rebuild.js';
import { createGatewayFixture, type GatewayFixture } from '../support/gateway-fixture.js';
import { waitFor } from '../support/kafka-helpers.js';
import { deleteRedisPrefix } from '../support/prefix-cleanup.js';
import { testStack } from '../support/stack-context.js';

// Valid NISS numbers (check digits verified in test/unit/niss.test.ts's way): 85073003328 and
// 17073003384 (born 2017), and two more computed below.
function nissFor(yymmdd: string, seq: number, after2000 = false): string {
  const base = `${yymmdd}${String(seq).padStart(3, '0')}`;
  const check = 97 - (Number((after2000 ? '2' : '') + base) % 97);
  return base + String(check).padStart(2, '0');
}

describe('reference directory: commands applied, changelog rebuilt into an emptied Redis', () => {
  const stack = testStack();
  let fx: GatewayFixture;
  const loseRedis = () => deleteRedisPrefix(fx.redis, fx.instanceName);
  const alice = nissFor('850730', 33);
  const bob = nissFor('170730', 33, true);
  const carol = nissFor('900101', 12);

  const command = (fields: Partial<DirectoryCommandRecord> & Pick<DirectoryCommandRecord, 'institution' | 'niss'>): DirectoryCommandRecord => ({
    commandId: newCommandId(),
    action: 'INTEGRATE',
    capacity: '12/10',
    phase: 2,
    periodFrom: '2024-01-01',
    periodTo: null,
    employerKind: null,
    employerId: null,
    issuedAt: Date.parse('2024-06-01T10:00:00Z'),
    ...fields,
  });

  async function sendAndAwait(institution: string, commands: DirectoryCommandRecord[]): Promise<DirectoryAckRecord[]> {
    const client = await createDirectoryClient({ client: fx.client, codec: fx.codec, topics: fx.topics, institution });
    const acks: DirectoryAckRecord[] = [];
    try {
      await client.listen((ack) => acks.push(ack));
      await client.publish(commands);
      await waitFor(() => acks.length, (n) => n >= commands.length, { what: `${commands.length} acknowledgements` });
      return acks;
    } finally {
      await client.close();
    }
  }

  const requests: Array<[string, DirectoryAccessRequest]> = [
    ['vaph sees alice in 2024', { requester: 'vaph', niss: alice, employerRequired: false, period: { from: '2024-01-01', to: '2024-12-31' } }],
    ['vaph sees bob only from the integration', { requester: 'vaph', niss: bob, employerRequired: false, period: { from: '2023-01-01', to: '2024-03-31' } }],
    ['iriscare does not see alice', { requester: 'iriscare', niss: alice, employerRequired: false, period: { from: '2024-01-01', to: '2024-12-31' } }],
    ['vaph sees carol only with her employer', { requester: 'vaph', niss: carol, employerRequired: true, employer: { kind: 'ENTERPRISE', id: '0203201340' }, period: { from: '2024-01-01', to: '2024-12-31' } }],
    ['vaph and another employer of carol', { requester: 'vaph', niss: carol, employerRequired: true, employer: { kind: 'ENTERPRISE', id: '0417497106' }, period: { from: '2024-01-01', to: '2024-12-31' } }],
    ['vaph after deintegration of alice mid-year', { requester: 'vaph', niss: alice, employerRequired: false, period: { from: '2024-08-01', to: '2024-12-31' } }],
  ];

  async function decisions() {
    const lines = await fx.store.readMany([alice, bob, carol]);
    return requests.map(([label, request]) => [label, decideDirectoryAccess(lines.get(request.niss) ?? [], request)] as const);
  }

  beforeAll(async () => {
    fx = await createGatewayFixture(stack);
    await fx.startDirectory();
  });

  afterAll(async () => {
    await fx?.close();
  });

  it('applies integrations, refuses a spoofed institution, and rebuilds the same decisions after Redis lost every key', async () => {
    const sent = [
      command({ institution: 'vaph', niss: alice }),
      command({ institution: 'vaph', niss: bob, periodFrom: '2024-02-01' }),
      command({ institution: 'vaph', niss: carol, employerKind: 'ENTERPRISE', employerId: '0203201340' }),
      command({ institution: 'vaph', niss: alice, action: 'DEINTEGRATE', capacity: null, phase: null, periodFrom: '2024-07-01', periodTo: '2024-09-30' }),
      command({ institution: 'iriscare', niss: carol }),
    ];
    const acks = await sendAndAwait('vaph', sent);
    // Refusals at intake and acknowledgements of the writer come from two stages: match by command id.
    const statusOf = new Map(acks.map((a) => [a.commandId, a.status]));
    expect(sent.map((c) => statusOf.get(c.commandId))).toEqual(['OK', 'OK', 'OK', 'OK', 'SENDER_MISMATCH']);
    expect(acks).toHaveLength(sent.length);

    const before = await decisions();
    expect(before.map(([label, d]) => [label, d.ok ? d.effectivePeriods : d.refusal.code])).toEqual([
      ['vaph sees alice in 2024', [{ from: '2024-01-01', to: '2024-06-30' }, { from: '2024-10-01', to: '2024-12-31' }]],
      ['vaph sees bob only from the integration', [{ from: '2024-02-01', to: '2024-03-31' }]],
      ['iriscare does not see alice', 'NOT_INTEGRATED'],
      ['vaph sees carol only with her employer', [{ from: '2024-01-01', to: '2024-12-31' }]],
      ['vaph and another employer of carol', 'EMPLOYER_NOT_INTEGRATED'],
      ['vaph after deintegration of alice mid-year', [{ from: '2024-10-01', to: '2024-12-31' }]],
    ]);

    await loseRedis();
    const emptied = await decisions();
    expect(emptied.every(([, d]) => !d.ok && d.refusal.code === 'NOT_INTEGRATED')).toBe(true);

    const { persons } = await rebuildDirectory({ client: fx.client, codec: fx.codec, topics: fx.topics, store: fx.store });
    expect(persons).toBeGreaterThanOrEqual(3);
    expect(await decisions()).toEqual(before);
  });

  it('restores a lost Redis from the changelog by itself before applying the next command', async () => {
    await loseRedis();
    const acks = await sendAndAwait('iriscare', [command({ institution: 'iriscare', niss: alice, capacity: '17/2', phase: 1 })]);
    expect(acks.map((a) => a.status)).toEqual(['OK']);
    const lines = await fx.store.read(alice);
    // vaph's two pieces came back from the changelog; iriscare's new line was added to them, not instead.
    expect(lines.map((l) => [l.institution, l.capacity, l.period.from, l.period.to])).toEqual([
      ['iriscare', '17/2', '2024-01-01', null],
      ['vaph', '12/10', '2024-01-01', '2024-06-30'],
      ['vaph', '12/10', '2024-10-01', null],
    ]);
    expect(await fx.store.isPresent()).toBe(true);
  });
});
