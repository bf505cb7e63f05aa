import { decodeLines, encodeLines, type Integration } from '../domain/directory.js';
import type { RedisKeys } from './keys.js';
import type { RedisClient } from './redis-connection.js';

/** The commands of the Redis client this store uses. */
type DirectoryRedis = Pick<RedisClient, 'get' | 'set' | 'del' | 'pipeline' | 'multi' | 'hset' | 'hgetall' | 'scan' | 'dbsize'>;

export interface DirectoryStore {
  /** Every person's lines, read in one pipelined round trip; a person without lines maps to []. */
  readMany(nisses: readonly string[]): Promise<Map<string, Integration[]>>;
  read(niss: string): Promise<Integration[]>;
  /** Replaces each person's lines (empty: deletes the key), in one pipelined round trip. */
  writeMany(entries: ReadonlyArray<{ niss: string; lines: readonly Integration[] }>): Promise<void>;
  /**
   * For a rebuild from the changelog: replaces lines and records the changelog offset reached, in one
   * MULTI, so that an interrupted rebuild resumes where it stopped.
   */
  applyFromChangelog(
    entries: ReadonlyArray<{ niss: string; lines: readonly Integration[] }>,
    partition: number,
    offset: string,
  ): Promise<void>;
  rebuildOffsets(): Promise<Map<number, string>>;
  /** Number of persons with at least one line (SCAN; for operators, not the hot path). */
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

  const queueWrites = (
    batch: ReturnType<DirectoryRedis['pipeline']>,
    entries: ReadonlyArray<{ niss: string; lines: readonly Integration[] }>,
  ) => {
    for (const { niss, lines } of entries) {
      if (lines.length === 0) batch.del(keys.directory(niss));
      else batch.set(keys.directory(niss), encodeLines(lines));
    }
  };

  const check = (results: Array<[Error | null, unknown]> | null): void => {
    if (!results) throw new DirectoryStoreError('directory transaction was discarded');
    const failed = results.find(([error]) => error);
    if (failed?.[0]) throw new DirectoryStoreError('directory write failed', { cause: failed[0] });
  };

  return {
    async readMany(nisses) {
      const unique = [...new Set(nisses)];
      const out = new Map<string, Integration[]>();
      if (unique.length === 0) return out;
      const batch = redis.pipeline();
      for (const niss of unique) batch.get(keys.directory(niss));
      const results = await batch.exec();
      if (!results) throw new DirectoryStoreError('directory read pipeline was discarded');
      unique.forEach((niss, i) => {
        const [error, value] = results[i] ?? [new Error('missing pipeline result'), null];
        if (error) throw new DirectoryStoreError('directory read failed', { cause: error });
        out.set(niss, decode(niss, value as string | null));
      });
      return out;
    },

    async read(niss) {
      return decode(niss, await redis.get(keys.directory(niss)));
    },

    async writeMany(entries) {
      if (entries.length === 0) return;
      const batch = redis.pipeline();
      queueWrites(batch, entries);
      check(await batch.exec());
    },

    async applyFromChangelog(entries, partition, offset) {
      const transaction = redis.multi();
      queueWrites(transaction, entries);
      transaction.hset(keys.directoryRebuildOffsets, String(partition), offset);
      check(await transaction.exec());
    },

    async rebuildOffsets() {
      const all = await redis.hgetall(keys.directoryRebuildOffsets);
      return new Map(Object.entries(all).map(([partition, offset]) => [Number(partition), offset]));
    },

    async countPersons() {
      let cursor = '0';
      let count = 0;
      do {
        const [next, found] = await redis.scan(cursor, 'MATCH', keys.directoryPattern, 'COUNT', 1000);
        cursor = next;
        count += found.length;
      } while (cursor !== '0');
      return count;
    },
  };
}
