/**
 * Every Redis key is built here and nowhere else. Keys about one person carry the NISS as a hash tag
 * (`{...}`), so that on Redis Cluster they live in one slot.
 */
export interface RedisKeys {
  readonly prefix: string;
  /** One person's integration lines (compact text, see src/domain/directory.ts). */
  directory(niss: string): string;
  /** Pattern matching every directory key, for SCAN. */
  readonly directoryPattern: string;
  /** Hash: changelog partition → last offset applied by a rebuild. */
  readonly directoryRebuildOffsets: string;
  /** Set once the directory in Redis is complete; its absence means Redis was lost or flushed. */
  readonly directoryPresent: string;
}

export function redisKeys(prefix = 'bcss'): RedisKeys {
  if (!/^[A-Za-z0-9._-]+$/.test(prefix)) throw new Error(`invalid Redis key prefix ${JSON.stringify(prefix)}`);
  return {
    prefix,
    directory: (niss) => `${prefix}:d:{${niss}}`,
    directoryPattern: `${prefix}:d:{*}`,
    directoryRebuildOffsets: `${prefix}:directory-rebuild-offsets`,
    directoryPresent: `${prefix}:directory-present`,
  };
}
