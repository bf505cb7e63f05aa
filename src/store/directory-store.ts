import type { Integration } from '../domain/directory.js';
import { decodeLines, encodeLines } from './directory-encoding.js';
import type { RedisKeys } from './keys.js';
import { scanKeys, type RedisClient } from './redis-connection.js';

/**
 * The commands of the Redis client this store uses. Commands are issued one per key and batched by the
 * client's auto-pipelining (one round trip per node), which, unlike an explicit pipeline or MULTI, also
 * works on Redis Cluster where a person's keys live in different slots.
 */
type DirectoryRedis = Pick<RedisClient, 'set' | 'hget' | 'hset' | 'hdel' | 'hlen' | 'hgetall' | 'exists' | 'scan'>;

export interface DirectoryStore {
  /** Every person's lines, read in one pipelined round trip; a person without lines maps to []. */
  readMany(nisses: readonly string[]): Promise<Map<string, Integration[]>>;
  read(niss: string): Promise<Integration[]>;
  /** Replaces each person's lines (empty: deletes the key), in one pipelined round trip. */
  writeMany(entries: ReadonlyArray<{ niss: string; lines: readonly Integration[] }>): Promise<void>;
  /**
   * For a rebuild from the changelog: replaces lines, then records the changelog offset reached, so that
   * an interrupted rebuild resumes where it stopped. The offset is written after the lines (not in one
   * MULTI, which Redis Cluster refuses across slots): a resume point behind the data only re-applies
   * snapshots, which is harmless.
   */
  applyFromChangelog(
    entries: ReadonlyArray<{ niss: string; lines: readonly Integration[] }>,
    partition: number,
    offset: string,
  ): Promise<void>;
  rebuildOffsets(): Promise<Map<number, string>>;
  /** False when Redis lost the directory (flushed, restarted without its files): rebuild before writing. */
  isPresent(): Promise<boolean>;
  markPresent(): Promise<void>;
  /**
   * Persons with lines, counted by SCAN for the operators' gauge (sampled, never on the request path).
   * On Redis Cluster a SCAN covers one node only: the figure is then that node's.
   */
  countPersons(): Promise<number>;
}

export class DirectoryStoreError extends Error {
  override readonly name = 'DirectoryStoreError';
}

export function createDirectoryStore(redis: DirectoryRedis, keys: RedisKeys): DirectoryStore {
  const decode = (niss: string, text: string | null): Integration[] => {
    if (text === null) return [];
    try {
      return decodeLines(text, niss);
    } catch (cause) {
      // A line we cannot read must never be taken for "not integrated": fail closed, loudly.
      throw new DirectoryStoreError(`unreadable directory entry ${keys.directory('…')}`, { cause });
    }
  };

  const writeAll = async (entries: ReadonlyArray<{ niss: string; lines: readonly Integration[] }>) => {
    try {
      await Promise.all(
        entries.map(({ niss, lines }) =>
          lines.length === 0 ? redis.hdel(keys.directory(niss), niss) : redis.hset(keys.directory(niss), niss, encodeLines(lines)),
        ),
      );
    } catch (cause) {
      throw new DirectoryStoreError('directory write failed', { cause });
    }
  };

  return {
    async readMany(nisses) {
      const unique = [...new Set(nisses)];
      let values: Array<string | null>;
      try {
        values = await Promise.all(unique.map((niss) => redis.hget(keys.directory(niss), niss)));
      } catch (cause) {
        throw new DirectoryStoreError('directory read failed', { cause });
      }
      return new Map(unique.map((niss, i) => [niss, decode(niss, values[i] ?? null)]));
    },

    async read(niss) {
      return decode(niss, await redis.hget(keys.directory(niss), niss));
    },

    async writeMany(entries) {
      await writeAll(entries);
    },

    async applyFromChangelog(entries, partition, offset) {
      await writeAll(entries);
      await redis.hset(keys.directoryRebuildOffsets, String(partition), offset);
    },

    async isPresent() {
      return (await redis.exists(keys.directoryPresent)) === 1;
    },

    async countPersons() {
      let count = 0;
      for await (const buckets of scanKeys(redis, keys.directoryPattern, 5000)) {
        const sizes = await Promise.all(buckets.map((bucket) => redis.hlen(bucket)));
        count += sizes.reduce((sum, n) => sum + n, 0);
      }
      return count;
    },

    async markPresent() {
      await redis.set(keys.directoryPresent, new Date().toISOString());
    },

    async rebuildOffsets() {
      const all = await redis.hgetall(keys.directoryRebuildOffsets);
      return new Map(Object.entries(all).map(([partition, offset]) => [Number(partition), offset]));
    },
  };
}
