/**
 * The directory store and the pending-exchange store held in this process's memory: the same
 * interfaces as the Redis ones (directory-store.ts, pending-store.ts), for driving the pipelines'
 * transforms without Redis — unit tests and benchmarks. Nothing here is for a running gateway: the
 * state lives and dies with the process, and no other gateway sees it.
 *
 * The semantics are Redis's, not a simplification of them:
 *  - a person's lines are kept in their stored form (`encodeLines`) and decoded on every read, so a
 *    line comes back exactly as Redis would give it back (canonical order, `updatedAt` to the ms), and
 *    an unreadable entry fails closed with `DirectoryStoreError`;
 *  - a pending exchange is kept as its JSON and parsed on every claim, as the Redis hash holds it;
 *  - a claim follows lua/claim-pending.lua step for step (missing, wrong source, claimed now or again
 *    by the same claimant, taken by another); recording an exchange again keeps its claimant, as HSET
 *    of the fields `d` and `s` does;
 *  - an exchange expires a day after its deadline and the sweeper's lease after its time to live, on
 *    the store's clock; the deadline index is a separate structure that does not expire, as the sorted
 *    set does not.
 */
import type { Integration } from '../domain/directory.js';
import { decodeLines, encodeLines } from './directory-encoding.js';
import { DirectoryStoreError, type DirectoryStore } from './directory-store.js';
import { readPending, storedPending, type ClaimResult, type PendingExchange, type PendingStore } from './pending-store.js';

/** One person's lines, as the directory writer and a rebuild hand them to a store. */
export interface PersonLines {
  readonly niss: string;
  readonly lines: readonly Integration[];
}

/** A directory store in memory, optionally holding these persons' lines from the start. */
export function createMemoryDirectoryStore(initial: Iterable<PersonLines> = []): DirectoryStore {
  /** NISS → the person's lines in their stored form; no entry = no line. */
  const stored = new Map<string, string>();
  const offsets = new Map<number, string>();
  let present = false;

  const write = (entries: Iterable<PersonLines>): void => {
    for (const { niss, lines } of entries) {
      if (lines.length === 0) stored.delete(niss);
      else stored.set(niss, encodeLines(lines));
    }
  };
  const decode = (niss: string): Integration[] => {
    const text = stored.get(niss);
    if (text === undefined) return [];
    try {
      return decodeLines(text, niss);
    } catch (cause) {
      // As in Redis: a line that cannot be read is never taken for "not integrated".
      throw new DirectoryStoreError('unreadable directory entry', { cause });
    }
  };
  write(initial);

  return {
    async readMany(nisses) {
      return new Map([...new Set(nisses)].map((niss) => [niss, decode(niss)]));
    },
    async read(niss) {
      return decode(niss);
    },
    async writeMany(entries) {
      write(entries);
    },
    async applyFromChangelog(entries, partition, offset) {
      write(entries);
      offsets.set(partition, offset);
    },
    async rebuildOffsets() {
      return new Map(offsets);
    },
    async isPresent() {
      return present;
    },
    async markPresent() {
      present = true;
    },
    async countPersons() {
      return stored.size;
    },
  };
}

/** A pending store in memory, with what a test or a benchmark needs to look at besides. */
export interface MemoryPendingStore extends PendingStore {
  /** The exchange's stored form (the JSON the Redis hash holds), or null when there is none (or it expired). */
  storedJson(ticket: string): string | null;
  /** Who claimed the exchange, or null while it is unclaimed (or missing). */
  claimantOf(ticket: string): string | null;
  /** The tickets of the exchanges held, in the order they were first recorded. */
  tickets(): string[];
}

/** As pending-store.ts: an exchange is kept a day past its deadline, so an interrupted answer can still be completed. */
const GRACE_MS = 24 * 3600 * 1000;

interface StoredExchange {
  /** The hash's fields: `d` the JSON, `s` the source, `c` the claimant. */
  readonly d: string;
  readonly s: string;
  c: string | null;
  expiresAt: number;
}

export interface MemoryPendingOptions {
  /** The store's clock, for expiry; the wall clock by default (as Redis's own). */
  readonly now?: () => number;
}

export function createMemoryPendingStore(options: MemoryPendingOptions = {}): MemoryPendingStore {
  const now = options.now ?? Date.now;
  const exchanges = new Map<string, StoredExchange>();
  /** The deadline index: ticket → deadline (ms). */
  const deadlines = new Map<string, number>();
  let lock: { owner: string; expiresAt: number } | null = null;

  /** The live entry of a ticket; an expired one is gone, as Redis would have dropped the key. */
  const live = (ticket: string): StoredExchange | null => {
    const entry = exchanges.get(ticket);
    if (entry === undefined) return null;
    if (entry.expiresAt <= now()) {
      exchanges.delete(ticket);
      return null;
    }
    return entry;
  };

  /** lua/claim-pending.lua. */
  const claim = (ticket: string, claimant: string, source: string | null): ClaimResult => {
    const entry = live(ticket);
    if (entry === null) return { status: 'missing' };
    if (source !== null && entry.s !== source) return { status: 'wrong-source' };
    if (entry.c === null) entry.c = claimant;
    if (entry.c === claimant) return { status: 'claimed', exchange: readPending(entry.d) };
    return { status: 'taken', by: entry.c };
  };

  return {
    async putMany(xs) {
      const at = now();
      for (const x of xs) {
        const expiresAt = at + Math.max(x.deadline - at, 0) + GRACE_MS;
        exchanges.set(x.ticket, { d: storedPending(x), s: x.source, c: live(x.ticket)?.c ?? null, expiresAt });
        deadlines.set(x.ticket, x.deadline);
      }
    },

    async claimMany(claims) {
      return claims.map(({ ticket, claimant, source }) => claim(ticket, claimant, source));
    },

    async removeMany(tickets) {
      for (const ticket of tickets) {
        exchanges.delete(ticket);
        deadlines.delete(ticket);
      }
    },

    async due(at, limit) {
      // ZRANGEBYSCORE -inf at LIMIT 0 limit: by deadline, ties in the members' byte order.
      return [...deadlines]
        .filter(([, deadline]) => deadline <= at)
        .sort(([a, da], [b, db]) => da - db || (a < b ? -1 : a > b ? 1 : 0))
        .slice(0, limit)
        .map(([ticket]) => ticket);
    },

    async undue(tickets) {
      for (const ticket of tickets) deadlines.delete(ticket);
    },

    async size() {
      return deadlines.size;
    },

    async lease(owner, ttlMs) {
      // lua/lease.lua: free, expired or already the owner's → the owner's for ttlMs more.
      const at = now();
      if (lock !== null && lock.expiresAt > at && lock.owner !== owner) return false;
      lock = { owner, expiresAt: at + ttlMs };
      return true;
    },

    storedJson(ticket) {
      return live(ticket)?.d ?? null;
    },

    claimantOf(ticket) {
      return live(ticket)?.c ?? null;
    },

    tickets() {
      return [...exchanges.keys()].filter((ticket) => live(ticket) !== null);
    },
  };
}
