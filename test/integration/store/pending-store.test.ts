/**
 * The pending store on the project's Redis: what one chunk's write leaves there (each exchange's hash
 * with its time to live, the deadline index), and the claim reading it back.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { redisKeys } from '../../../src/store/keys.js';
import { createPendingStore, PendingStoreError, type PendingExchange } from '../../../src/store/pending-store.js';
import { createRedisClient } from '../../../src/store/redis-connection.js';
import { uniqueName } from '../../support/kafka-helpers.js';
import { deleteRedisPrefix } from '../../support/prefix-cleanup.js';
import { testStack } from '../../support/stack-context.js';

const GRACE_MS = 24 * 3600 * 1000;

function exchange(i: number, now: number, source = 'onss'): PendingExchange {
  return {
    ticket: `t-${i}-${now}`,
    requestId: `r-${i}`,
    requester: 'magda',
    beneficiary: 'vaph',
    intermediary: 'magda',
    service: 'dmfa',
    source,
    deliberation: '10/012',
    deliberationVersion: 'v1',
    purpose: 'pab-assistant',
    subjectNiss: '85073003328',
    employer: { kind: 'ONSS', id: '100012345' },
    employerCategory: null,
    effectivePeriods: [{ from: '2024-01-01', to: '2024-12-31' }],
    allowedBlocks: ['dmfa.employer-declaration'],
    interimNeedsCategory: false,
    channel: 'replies',
    unauthorizedBlocks: [],
    receivedAt: now - 5,
    forwardedAt: now,
    deadline: now + 30_000 + i,
    replyKey: `k-${i}`,
  };
}

describe('pending store on Redis', () => {
  const stack = testStack();
  const redis = createRedisClient(stack.redisUrl, { role: 'background' });
  const prefix = uniqueName('it-pending');
  const keys = redisKeys(prefix);
  const store = createPendingStore(redis, keys);

  afterAll(async () => {
    await deleteRedisPrefix(redis, prefix);
    redis.disconnect();
  });

  it('writes each exchange with its source and time to live, and the chunk’s deadlines, and claims them back', async () => {
    const now = Date.now();
    const chunk = [0, 1, 2].map((i) => exchange(i, now));
    await store.putMany(chunk);
    for (const x of chunk) {
      const key = keys.pending(x.ticket);
      expect(await redis.hget(key, 's')).toBe('onss');
      expect(await redis.hget(key, 'c')).toBeNull();
      const ttl = await redis.pttl(key);
      expect(ttl).toBeGreaterThan(x.deadline - Date.now() + GRACE_MS - 5_000);
      expect(ttl).toBeLessThanOrEqual(x.deadline - now + GRACE_MS);
      expect(Number(await redis.zscore(keys.pendingDeadlines, x.ticket))).toBe(x.deadline);
    }
    expect(await store.size()).toBe(3);

    const claims = await store.claimMany([
      { ticket: chunk[0]!.ticket, claimant: 'replies/0/1', source: 'onss' },
      { ticket: chunk[1]!.ticket, claimant: 'replies/0/2', source: 'inami' },
      { ticket: chunk[2]!.ticket, claimant: 'timeouts/0/3', source: null },
      { ticket: 'never-forwarded', claimant: 'replies/0/4', source: 'onss' },
    ]);
    expect(claims).toEqual([{ status: 'claimed', exchange: chunk[0] }, { status: 'wrong-source' }, { status: 'claimed', exchange: chunk[2] }, { status: 'missing' }]);
    expect(await store.claimMany([{ ticket: chunk[0]!.ticket, claimant: 'replies/0/9', source: 'onss' }])).toEqual([{ status: 'taken', by: 'replies/0/1' }]);

    await store.removeMany(chunk.map((x) => x.ticket));
    expect(await store.size()).toBe(0);
    // One key per command: on a Redis Cluster the exchanges' keys are in different slots.
    expect(await Promise.all(chunk.map((x) => redis.exists(keys.pending(x.ticket))))).toEqual(chunk.map(() => 0));
  });

  it('an exchange an earlier gateway recorded (the grant kept whole) is claimed with its grant; an unknown form is refused', async () => {
    const now = Date.now();
    const { grant: _none, ...current } = exchange(7, now);
    const grant = {
      grantedFields: { 'dmfa.employer-declaration': ['quarter'] },
      rows: [{ kind: 'one-of', block: 'dmfa.worker-record', path: 'workerCode', values: ['015'] }],
      includeFutureFields: false,
      retention: { kind: 'duration', duration: 'P5Y', paragraphs: '§10', text: 'five years' },
    };
    // The earlier form: every field of the exchange and the grant's, with its legal basis text, no form number.
    const earlier = JSON.stringify({ ...current, ...grant, legalBasis: 'Deliberation 10/012, §8' });
    await redis.hset(keys.pending(current.ticket), 'd', earlier, 's', 'onss');
    const [claim] = await store.claimMany([{ ticket: current.ticket, claimant: 'replies/1/1', source: 'onss' }]);
    expect(claim).toEqual({ status: 'claimed', exchange: { ...current, grant } });

    await redis.hset(keys.pending('t-odd'), 'd', JSON.stringify({ f: 99, ticket: 't-odd' }), 's', 'onss');
    await expect(store.claimMany([{ ticket: 't-odd', claimant: 'replies/1/2', source: 'onss' }])).rejects.toThrow(PendingStoreError);
    await Promise.all([redis.del(keys.pending(current.ticket)), redis.del(keys.pending('t-odd'))]);
  });

  it('the stored form is the exchange and its form number, nothing else', async () => {
    const now = Date.now();
    const x = exchange(8, now);
    await store.putMany([x]);
    const stored = (await redis.hget(keys.pending(x.ticket), 'd')) as string;
    expect(Object.keys(JSON.parse(stored)).sort()).toEqual(['f', ...Object.keys(x)].sort());
    await store.removeMany([x.ticket]);
  });

  it('an empty chunk writes nothing', async () => {
    await store.putMany([]);
    expect(await store.size()).toBe(0);
  });
});
