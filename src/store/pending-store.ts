import { readFileSync } from 'node:fs';
import type { FieldGrant, RowCondition } from '../domain/deliberation.js';
import type { Channel } from '../domain/exchange.js';
import type { Retention } from '../domain/retention.js';
import type { EmployerRef, Period } from '../domain/types.js';
import type { RedisKeys } from './keys.js';
import type { RedisClient } from './redis-connection.js';

/**
 * Pending exchanges: what the switch keeps between forwarding a request to an authentic source and
 * answering it — the requester, the authorization applied and what the answer must be filtered to.
 *
 * Exactly one answer per exchange: the source's reply and the timeout race, possibly in two gateway
 * processes. Whoever answers first CLAIMS the exchange atomically (`lua/claim-pending.lua`, on the
 * exchange's own key, so Redis Cluster is fine), naming itself by the Kafka record it is processing. A claim by the
 * same claimant succeeds again — that is the case of a transaction that aborted and is re-run — and any
 * other claimant is told who answered. The entry is deleted only after the answer is committed; its TTL
 * (deadline + a day) cleans up after a crash in between.
 */

export interface PendingExchange {
  readonly ticket: string;
  readonly requestId: string;
  /** The institution that sent the request (owner of the requests topic); the reply goes to it. */
  readonly requester: string;
  /** Whose authorization applied: the requester, or the institution a relay asked for. */
  readonly beneficiary: string;
  /** The relay (e.g. magda), when there is one. */
  readonly intermediary: string | null;
  readonly service: string;
  readonly source: string;
  /**
   * The deliberation version applied. Versions are immutable: the reply stage takes the grant's field
   * lists, row conditions and retention from the authorization index by it (see `grant`).
   */
  readonly deliberation: string;
  readonly deliberationVersion: string;
  readonly purpose: string;
  readonly subjectNiss: string;
  readonly employer: EmployerRef | null;
  readonly employerCategory: string | null;
  readonly effectivePeriods: readonly Period[];
  /** The blocks asked for and authorized (with the technical ones): they depend on the request. */
  readonly allowedBlocks: readonly string[];
  /** 10/012 §9: an interim link must be asked with its employer category, and this request gave none. */
  readonly interimNeedsCategory: boolean;
  /**
   * Where the answer goes: the requester's replies topic, or its consultation application's topic.
   * Absent in an exchange a gateway of an earlier version recorded: the replies topic.
   */
  readonly channel?: Channel;
  /** Asked for but refused: reported as removed whatever the source answers. */
  readonly unauthorizedBlocks: readonly string[];
  readonly receivedAt: number;
  readonly forwardedAt: number;
  readonly deadline: number;
  /** Kafka key of the reply (the request's key). */
  readonly replyKey: string | null;
  /**
   * Only in an exchange a gateway of an earlier version recorded, which kept the grant whole: used as
   * recorded (it is what that gateway decided). Absent: the reply stage takes it from the index.
   */
  readonly grant?: PendingGrant;
}

/** What the answer is filtered to and kept for, beyond the blocks: the deliberation version's own. */
export interface PendingGrant {
  readonly grantedFields: Readonly<Record<string, FieldGrant>>;
  readonly rows: readonly RowCondition[];
  readonly includeFutureFields: boolean;
  readonly retention: Retention;
}

/** The form of the stored exchange; an entry without it is the earlier form, the grant kept whole. */
const PENDING_FORM = 2;

/** The stored form of a pending exchange (the `d` field of its hash): JSON, without the grant. */
export function storedPending(exchange: PendingExchange): string {
  const { grant: _grant, ...kept } = exchange;
  return JSON.stringify({ f: PENDING_FORM, ...kept });
}

/**
 * Reads a stored exchange back. The earlier form (no `f`) carried the grant's field lists, row
 * conditions, retention and texts: they are kept as its `grant`, so that an exchange forwarded by a
 * gateway of the earlier version during an upgrade is answered as that gateway decided. Anything else
 * throws (fail closed: the chunk is not committed).
 */
export function readPending(stored: string): PendingExchange {
  const value = JSON.parse(stored) as Record<string, unknown>;
  if (value.f === PENDING_FORM) {
    const { f: _form, ...exchange } = value;
    return exchange as unknown as PendingExchange;
  }
  if (value.f === undefined && typeof value.grantedFields === 'object' && value.grantedFields !== null && Array.isArray(value.rows) && typeof value.retention === 'object' && value.retention !== null) {
    const { grantedFields, rows, includeFutureFields, retention, legalBasis: _text, ...exchange } = value;
    const grant: PendingGrant = {
      grantedFields: grantedFields as PendingGrant['grantedFields'],
      rows: rows as PendingGrant['rows'],
      includeFutureFields: includeFutureFields === true,
      retention: retention as Retention,
    };
    return { ...(exchange as unknown as PendingExchange), grant };
  }
  throw new PendingStoreError(`a pending exchange of an unknown form (${JSON.stringify(value.f ?? null)})`);
}

export type ClaimResult =
  | { readonly status: 'claimed'; readonly exchange: PendingExchange }
  /** Another claimant answers (or answered) this exchange. */
  | { readonly status: 'taken'; readonly by: string }
  /** No such pending exchange: answered and committed already, expired, or never forwarded. */
  | { readonly status: 'missing' }
  /** The exchange was forwarded to another source than the one answering: never accepted. */
  | { readonly status: 'wrong-source' };

export interface PendingStore {
  /** Records exchanges and their deadlines, in one pipelined round trip. */
  putMany(exchanges: readonly PendingExchange[]): Promise<void>;
  /** `source`: the authentic source answering (only its own exchanges can be claimed); null for the deadline. */
  claimMany(
    claims: ReadonlyArray<{ readonly ticket: string; readonly claimant: string; readonly source: string | null }>,
  ): Promise<ClaimResult[]>;
  /** After the answer is committed: forget the exchanges. */
  removeMany(tickets: readonly string[]): Promise<void>;
  /** Tickets whose deadline has passed, oldest first. */
  due(now: number, limit: number): Promise<string[]>;
  /** Takes them out of the deadline index (the exchange itself stays until answered). */
  undue(tickets: readonly string[]): Promise<void>;
  /** Number of exchanges waiting for their source. */
  size(): Promise<number>;
  /** A lease so that one sweeper at a time runs; true when `owner` holds it (renewed if it did). */
  lease(owner: string, ttlMs: number): Promise<boolean>;
}

/** Kept a day past the deadline so that an answer interrupted by a crash can still be completed. */
const GRACE_MS = 24 * 3600 * 1000;

// The scripts are source files beside this module (KEYS, ARGV and return codes in their headers), read
// once at load; resolving them from this module's URL finds them under tsx, vitest and `bcss` alike.
const CLAIM_SCRIPT = readFileSync(new URL('./lua/claim-pending.lua', import.meta.url), 'utf8');
const LEASE_SCRIPT = readFileSync(new URL('./lua/lease.lua', import.meta.url), 'utf8');
const PUT_SCRIPT = readFileSync(new URL('./lua/put-pending.lua', import.meta.url), 'utf8');

type PendingRedis = RedisClient & {
  bcssClaimPending(key: string, claimant: string, source: string): Promise<[0] | [1, string] | [2, string] | [3]>;
  bcssLease(key: string, owner: string, ttlMs: string): Promise<0 | 1>;
  bcssPutPending(key: string, stored: string, source: string, ttlMs: string): Promise<1>;
};

export class PendingStoreError extends Error {
  override readonly name = 'PendingStoreError';
}

export function createPendingStore(client: RedisClient, keys: RedisKeys): PendingStore {
  const redis = client as PendingRedis;
  // EVALSHA with a fallback to EVAL: the script's text travels once per connection.
  if (typeof redis.bcssClaimPending !== 'function') {
    client.defineCommand('bcssClaimPending', { numberOfKeys: 1, lua: CLAIM_SCRIPT });
    client.defineCommand('bcssLease', { numberOfKeys: 1, lua: LEASE_SCRIPT });
    client.defineCommand('bcssPutPending', { numberOfKeys: 1, lua: PUT_SCRIPT });
  }

  const wrap = async <T>(what: string, op: () => Promise<T>): Promise<T> => {
    try {
      return await op();
    } catch (cause) {
      throw new PendingStoreError(`pending exchanges: ${what} failed`, { cause });
    }
  };

  return {
    putMany(exchanges) {
      return wrap('write', async () => {
        if (exchanges.length === 0) return;
        const now = Date.now();
        // One scripted call per exchange on its own key, and one ZADD for the chunk on the deadline
        // index: each command touches one key, as Redis Cluster demands, all in one round trip.
        const deadlines: Array<number | string> = [];
        const writes = exchanges.map((x) => {
          deadlines.push(x.deadline, x.ticket);
          return redis.bcssPutPending(keys.pending(x.ticket), storedPending(x), x.source, String(Math.max(x.deadline - now, 0) + GRACE_MS));
        });
        await Promise.all([...writes, redis.zadd(keys.pendingDeadlines, ...deadlines)]);
      });
    },

    claimMany(claims) {
      return wrap('claim', () =>
        Promise.all(
          claims.map(async ({ ticket, claimant, source }): Promise<ClaimResult> => {
            const result = await redis.bcssClaimPending(keys.pending(ticket), claimant, source ?? '*');
            if (result[0] === 1) return { status: 'claimed', exchange: readPending(result[1]) };
            if (result[0] === 2) return { status: 'taken', by: result[1] };
            if (result[0] === 3) return { status: 'wrong-source' };
            return { status: 'missing' };
          }),
        ),
      );
    },

    removeMany(tickets) {
      return wrap('remove', async () => {
        if (tickets.length === 0) return;
        await Promise.all([...tickets.map((t) => redis.del(keys.pending(t))), redis.zrem(keys.pendingDeadlines, ...tickets)]);
      });
    },

    due(now, limit) {
      return wrap('deadline scan', () => redis.zrangebyscore(keys.pendingDeadlines, '-inf', now, 'LIMIT', 0, limit));
    },

    undue(tickets) {
      return wrap('deadline removal', async () => {
        if (tickets.length > 0) await redis.zrem(keys.pendingDeadlines, ...tickets);
      });
    },

    size() {
      return wrap('count', () => redis.zcard(keys.pendingDeadlines));
    },

    lease(owner, ttlMs) {
      return wrap('lease', async () => (await redis.bcssLease(keys.sweeperLock, owner, String(ttlMs))) === 1);
    },
  };
}
