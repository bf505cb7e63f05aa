/**
 * The in-memory stores the pipeline tests run on (src/store/memory-stores.ts) behave as the Redis ones:
 * the claim as lua/claim-pending.lua answers it, the exchange as JSON, expiry a day after the deadline,
 * the sweeper's index and lease; the directory in its stored form. A test of a transform is only as
 * good as these stand-ins, so they are pinned here case by case.
 */
import { describe, expect, it } from 'vitest';
import { DirectoryStoreError } from '../../../src/store/directory-store.js';
import { createMemoryDirectoryStore, createMemoryPendingStore } from '../../../src/store/memory-stores.js';
import { storedPending, type PendingExchange } from '../../../src/store/pending-store.js';
import { EMPLOYER_A, NOW, WORKER, line } from './pipeline-harness.js';

const DAY = 24 * 3600 * 1000;

function exchange(ticket: string, fields: Partial<PendingExchange> = {}): PendingExchange {
  return {
    ticket,
    requestId: `r-${ticket}`,
    requester: 'magda',
    beneficiary: 'vaph',
    intermediary: 'magda',
    service: 'dmfa',
    source: 'onss',
    deliberation: '10/012',
    deliberationVersion: 'v1',
    purpose: 'vaph-personal-assistance-budget',
    subjectNiss: WORKER,
    employer: EMPLOYER_A,
    employerCategory: null,
    effectivePeriods: [{ from: '2024-01-01', to: '2024-06-30' }],
    allowedBlocks: ['dmfa.natural-person'],
    interimNeedsCategory: false,
    unauthorizedBlocks: [],
    receivedAt: NOW,
    forwardedAt: NOW,
    deadline: NOW + 30_000,
    replyKey: WORKER,
    ...fields,
  };
}

describe('memory pending store: the claim, as lua/claim-pending.lua', () => {
  it('missing, claimed, claimed again by the same claimant, taken by another, wrong source', async () => {
    const store = createMemoryPendingStore({ now: () => NOW });
    await store.putMany([exchange('T1')]);
    const [missing, first, again, other, wrongSource, deadline] = await store.claimMany([
      { ticket: 'T0', claimant: 'replies/0/1', source: 'onss' },
      { ticket: 'T1', claimant: 'replies/0/2', source: 'onss' },
      { ticket: 'T1', claimant: 'replies/0/2', source: 'onss' },
      { ticket: 'T1', claimant: 'timeouts/0/9', source: null },
      { ticket: 'T1', claimant: 'replies/0/3', source: 'bcss-registers' },
      { ticket: 'T1', claimant: 'timeouts/0/9', source: null },
    ]);
    expect(missing).toEqual({ status: 'missing' });
    expect(first).toEqual({ status: 'claimed', exchange: exchange('T1') });
    expect(again).toEqual(first);
    expect(other).toEqual({ status: 'taken', by: 'replies/0/2' });
    // The source is checked before the claimant: another source never learns who answered.
    expect(wrongSource).toEqual({ status: 'wrong-source' });
    expect(deadline).toEqual({ status: 'taken', by: 'replies/0/2' });
  });

  it('a wrong source does not claim: the exchange stays open for its own source', async () => {
    const store = createMemoryPendingStore({ now: () => NOW });
    await store.putMany([exchange('T1')]);
    await store.claimMany([{ ticket: 'T1', claimant: 'x/0/1', source: 'inami' }]);
    expect(store.claimantOf('T1')).toBeNull();
    expect((await store.claimMany([{ ticket: 'T1', claimant: 'y/0/1', source: 'onss' }]))[0]?.status).toBe('claimed');
  });

  it('the exchange comes back as Redis gives it: through its stored form (a field set to undefined is gone)', async () => {
    const store = createMemoryPendingStore({ now: () => NOW });
    await store.putMany([exchange('T1', { channel: undefined })]);
    const [claim] = await store.claimMany([{ ticket: 'T1', claimant: 'c', source: 'onss' }]);
    expect(claim?.status === 'claimed' && 'channel' in claim.exchange).toBe(false);
    expect(store.storedJson('T1')).toBe(storedPending(exchange('T1', { channel: undefined })));
  });

  it('recording an exchange again (a re-run request chunk) keeps its claimant, as HSET of d and s does', async () => {
    const store = createMemoryPendingStore({ now: () => NOW });
    await store.putMany([exchange('T1')]);
    await store.claimMany([{ ticket: 'T1', claimant: 'c1', source: 'onss' }]);
    await store.putMany([exchange('T1')]);
    expect(store.claimantOf('T1')).toBe('c1');
    expect((await store.claimMany([{ ticket: 'T1', claimant: 'c2', source: null }]))[0]).toEqual({ status: 'taken', by: 'c1' });
  });

  it('expires a day after the deadline; the deadline index stays until undue or removed', async () => {
    let now = NOW;
    const store = createMemoryPendingStore({ now: () => now });
    await store.putMany([exchange('T1')]);
    now = NOW + 30_000 + DAY - 1;
    expect(store.storedJson('T1')).not.toBeNull();
    now += 1;
    expect(store.storedJson('T1')).toBeNull();
    expect((await store.claimMany([{ ticket: 'T1', claimant: 'c', source: null }]))[0]).toEqual({ status: 'missing' });
    expect(await store.size()).toBe(1);
    expect(await store.due(now, 10)).toEqual(['T1']);
    await store.undue(['T1']);
    expect(await store.size()).toBe(0);
  });

  it('due: deadlines passed, earliest first, ties by ticket, at most `limit`; removeMany forgets both', async () => {
    const store = createMemoryPendingStore({ now: () => NOW });
    await store.putMany([exchange('T3', { deadline: NOW + 5 }), exchange('T2', { deadline: NOW + 1 }), exchange('T1', { deadline: NOW + 5 }), exchange('T4', { deadline: NOW + 9 })]);
    expect(await store.due(NOW + 5, 10)).toEqual(['T2', 'T1', 'T3']);
    expect(await store.due(NOW + 5, 2)).toEqual(['T2', 'T1']);
    await store.removeMany(['T1', 'T2']);
    expect(store.tickets()).toEqual(['T3', 'T4']);
    expect(await store.due(NOW + 9, 10)).toEqual(['T3', 'T4']);
  });

  it('the sweeper’s lease: one owner at a time, renewable by its owner, free again once expired', async () => {
    let now = NOW;
    const store = createMemoryPendingStore({ now: () => now });
    expect(await store.lease('gw-1', 1000)).toBe(true);
    expect(await store.lease('gw-2', 1000)).toBe(false);
    now += 900;
    expect(await store.lease('gw-1', 1000)).toBe(true);
    now += 999;
    expect(await store.lease('gw-2', 1000)).toBe(false);
    now += 1;
    expect(await store.lease('gw-2', 1000)).toBe(true);
  });
});

describe('memory directory store: the lines in their stored form', () => {
  it('reads back what was written, in canonical order, and [] for a person without lines', async () => {
    const later = line('vaph', WORKER, 'pab-assistant', '2024-03-01', null, EMPLOYER_A);
    const earlier = line('iriscare', WORKER, 'care-worker', '2023-01-01', '2023-12-31');
    const store = createMemoryDirectoryStore([{ niss: WORKER, lines: [later, earlier] }]);
    const read = await store.readMany([WORKER, WORKER, '17073003384']);
    expect([...read.keys()]).toEqual([WORKER, '17073003384']);
    expect(read.get(WORKER)).toEqual([earlier, later]);
    expect(read.get('17073003384')).toEqual([]);
    expect(await store.countPersons()).toBe(1);
  });

  it('writing no lines deletes the person; a rebuild records its offsets; the presence mark', async () => {
    const store = createMemoryDirectoryStore([{ niss: WORKER, lines: [line('onva', WORKER, 'inspection', '2023-01-01', null)] }]);
    expect(await store.isPresent()).toBe(false);
    await store.applyFromChangelog([{ niss: WORKER, lines: [] }], 2, '41');
    await store.markPresent();
    expect(await store.read(WORKER)).toEqual([]);
    expect(await store.countPersons()).toBe(0);
    expect(await store.rebuildOffsets()).toEqual(new Map([[2, '41']]));
    expect(await store.isPresent()).toBe(true);
  });

  it('a line that cannot be stored is refused on writing; one that cannot be read back fails the read (never "not integrated")', async () => {
    const store = createMemoryDirectoryStore();
    await expect(store.writeMany([{ niss: WORKER, lines: [line('vaph', WORKER, 'a|b', '2024-01-01', null)] }])).rejects.toThrow(RangeError);
    // Phase 0 is written as it is but is no phase the stored form accepts: in Redis too, the read fails closed.
    await store.writeMany([{ niss: WORKER, lines: [{ ...line('vaph', WORKER, 'pab-assistant', '2024-01-01', null), phase: 0 }] }]);
    await expect(store.readMany([WORKER])).rejects.toThrow(DirectoryStoreError);
  });
});
