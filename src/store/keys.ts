/**
 * Every Redis key is built here and nowhere else. Keys about one person carry the NISS as a hash tag
 * (`{...}`), so that on Redis Cluster they live in one slot.
 */
export interface RedisKeys {
  readonly prefix: string;
  /**
   * The hash holding this person's integration lines (field: the NISS; value: the compact text of
   * directory-encoding.ts). Persons are spread over 65,536 buckets, so that each bucket is a small
   * hash Redis stores as one listpack: about half the memory of a key per person.
   */
  directory(niss: string): string;
  /** Pattern matching every directory bucket, for SCAN. */
  readonly directoryPattern: string;
  /** Hash: changelog partition → last offset applied by a rebuild. */
  readonly directoryRebuildOffsets: string;
  /** Set once the directory in Redis is complete; its absence means Redis was lost or flushed. */
  readonly directoryPresent: string;
  /** Hash of one pending exchange: `d` its JSON, `c` the claimant that answers it. */
  pending(ticket: string): string;
  /** Sorted set of pending tickets scored by deadline (epoch ms), read by the timeout sweeper. */
  readonly pendingDeadlines: string;
  /** One sweeper at a time across gateway processes. */
  readonly sweeperLock: string;
}

/**
 * FNV-1a of the NISS folded to `bits` bits (the store uses 16: 4 hex digits), in hex: an even spread
 * that any client can recompute. Other widths serve the benchmark's bucket-count experiments.
 */
export function directoryBucket(niss: string, bits = 16): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < niss.length; i++) {
    hash ^= niss.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return (((hash ^ (hash >>> bits)) >>> 0) % 2 ** bits).toString(16).padStart(Math.ceil(bits / 4), '0');
}

export function redisKeys(prefix = 'bcss'): RedisKeys {
  if (!/^[A-Za-z0-9._-]+$/.test(prefix)) throw new Error(`invalid Redis key prefix ${JSON.stringify(prefix)}`);
  return {
    prefix,
    directory: (niss) => `${prefix}:d2:{${directoryBucket(niss)}}`,
    directoryPattern: `${prefix}:d2:{*}`,
    // Versioned with the storage form: a Redis holding the former form reads as "not present" and is
    // rebuilt from the changelog before the writer applies anything.
    directoryRebuildOffsets: `${prefix}:directory-rebuild-offsets:v2`,
    directoryPresent: `${prefix}:directory-present:v2`,
    pending: (ticket) => `${prefix}:x:{${ticket}}`,
    pendingDeadlines: `${prefix}:x-deadlines`,
    sweeperLock: `${prefix}:x-sweeper-lock`,
  };
}
