import { randomInt } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Runtime } from '../src/app/runtime.js';
import type { Integration } from '../src/domain/directory.js';
import { makeNiss } from '../src/sources/synthetic-population.js';
import { encodeLines } from '../src/store/directory-encoding.js';
import { createDirectoryStore } from '../src/store/directory-store.js';
import { redisKeys } from '../src/store/keys.js';
import type { RedisClient } from '../src/store/redis-connection.js';
import { round } from './cpu-accounting.js';
import { measureLookupRate } from './micro.js';
import { onInterrupt } from './interrupt.js';
import { deleteKeysByPrefix, prefixIsFree } from './redis-cleanup.js';

/**
 * The reference directory at national scale: `size` integrations written through the directory
 * store (src/store/directory-store.ts), in whatever form it keeps them, one line per person — the
 * costliest case per line, since nothing of a person's entry is shared between lines.
 *
 * The key prefix has the length of the production prefix `bcss` (four characters), so that keys
 * weigh what they will weigh; it is random per run, checked unused before, and every key of it is
 * deleted at the end (SCAN + UNLINK, never FLUSHALL: the Redis is shared).
 *
 * Memory per integration is the growth of Redis's `used_memory` divided by the integrations
 * written. Beside it, as a check, `MEMORY USAGE` of the keys holding a sample of persons divided by
 * the persons those keys hold, since other clients of the same Redis can move `used_memory` during
 * the load. The run is marked not valid when the Redis was restarted meanwhile or the store does not
 * count all the persons written at the end (another user of the shared Redis).
 */
export interface DirectoryScaleResult {
  /**
   * False when the shared Redis was disturbed during the measurement (restarted, or keys of this run
   * missing at the end): the figures below are then not those of a million integrations.
   */
  readonly valid: boolean;
  readonly invalid_reason: string | null;
  readonly integrations: number;
  readonly lines_per_person: 1;
  /** Redis keys the store used for them (one per person, or buckets of persons). */
  readonly keys_used: number;
  readonly key_prefix_length: number;
  readonly mean_value_bytes: number;
  readonly used_memory_before: number;
  readonly used_memory_after: number;
  /** Keys in the database before and after (the Redis is shared: others' keys count in its key table). */
  readonly keys_before: number;
  readonly keys_after: number;
  /** Growth of used_memory divided by the integrations written: the figure the target is checked on. */
  readonly bytes_per_integration: number;
  /** Of which the key table's growth (8 B per bucket, a power of two ≥ the keys), estimated from the key counts. */
  readonly key_table_bytes_per_integration: number;
  /** The same with a key table of its own, as in a Redis holding only this directory. */
  readonly bytes_per_integration_own_table: number;
  /** MEMORY USAGE of the keys holding 1,000 random persons, per person they hold (as Redis counts them). */
  readonly memory_usage_sample_bytes: number | null;
  readonly load_seconds: number;
  readonly writes_per_s: number;
  /** Lookups/s with `small_size` persons written (measured while loading). */
  readonly lookups_per_s_small: number;
  readonly small_size: number;
  /** Lookups/s over all persons once loaded (median of three rounds). */
  readonly lookups_per_s_full: number;
  /** Lookups/s over the first `small_size` persons once all are loaded, in rounds alternating with the above: a control for load changes during the run. */
  readonly lookups_per_s_full_hot_subset: number;
  readonly cleanup_seconds: number;
}

const BATCH = 10_000;
const SMALL = 10_000;

/** The i-th person of the scale directory: birth dates from 1950 on, 997 sequence numbers a day. */
function nissOf(i: number): string {
  const day = Math.floor(i / 997);
  const date = new Date(Date.UTC(1950, 0, 1) + day * 86_400_000).toISOString().slice(0, 10);
  return makeNiss(date, (i % 997) + 1);
}

/** Three forms of line in turn: ONVA without employer, VAPH and IRISCARE bound to an employer. */
function lineOf(i: number, niss: string, base: number): Integration {
  const updatedAt = new Date(base - (i % 86_400) * 1000).toISOString();
  switch (i % 3) {
    case 0:
      return { niss, institution: 'onva', capacity: 'inspection', phase: 1, period: { from: '2023-01-01', to: null }, updatedAt };
    case 1:
      return { niss, institution: 'vaph', capacity: 'pab-assistant', phase: 1, period: { from: '2024-01-01', to: null }, employer: { kind: 'ONSS', id: String(100_000_000 + (i % 899_999_999)) }, updatedAt };
    default:
      return { niss, institution: 'iriscare', capacity: 'care-worker', phase: 2, period: { from: '2023-01-01', to: '2025-12-31' }, employer: { kind: 'ONSS', id: String(120_000_000 + (i % 799_999_999)) }, updatedAt };
  }
}

async function redisRunId(redis: RedisClient): Promise<string> {
  return /run_id:(\w+)/.exec(await redis.info('server'))?.[1] ?? 'unknown';
}

async function countKeys(redis: RedisClient, pattern: string): Promise<number> {
  let cursor = '0';
  let count = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 10_000);
    cursor = next;
    count += keys.length;
  } while (cursor !== '0');
  return count;
}

async function usedMemory(redis: RedisClient): Promise<number> {
  const info = await redis.info('memory');
  const value = Number(/used_memory:(\d+)/.exec(info)?.[1]);
  if (!Number.isFinite(value)) throw new Error('Redis INFO memory has no used_memory');
  return value;
}

async function freePrefix(redis: RedisClient): Promise<string> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const prefix = `b${randomInt(36 ** 3).toString(36).padStart(3, '0')}`;
    if (prefix !== 'bcss' && (await prefixIsFree(redis, prefix))) return prefix;
  }
  throw new Error('no free four-character key prefix found for the directory scale test');
}

/** Refuses to load when Redis has a memory limit the load would approach (an eviction would hit others' keys). */
async function checkRoom(redis: RedisClient, size: number): Promise<void> {
  let limit = 0;
  try {
    const reply = (await redis.config('GET', 'maxmemory')) as string[];
    limit = Number(reply[1] ?? 0);
  } catch {
    return; // CONFIG may be disabled on a managed Redis; then we cannot know.
  }
  if (limit > 0 && (await usedMemory(redis)) + size * 300 > limit) {
    throw new Error(`Redis maxmemory (${limit} B) leaves no room for ${size} integrations: lower --directory-size`);
  }
}

export async function runDirectoryScale(
  runtime: Runtime,
  options: { readonly size: number; readonly lookupSeconds: number; readonly progress: (text: string) => void },
): Promise<DirectoryScaleResult> {
  const { size, progress } = options;
  const redis = runtime.redis('background');
  let prefix: string | null = null;
  const cleanUp = onInterrupt(async () => {
    if (prefix !== null) await deleteKeysByPrefix(redis, prefix).catch(() => undefined);
    redis.disconnect();
  });
  try {
    await checkRoom(redis, size);
    prefix = await freePrefix(redis);
    const store = createDirectoryStore(redis, redisKeys(prefix));
    const runIdBefore = await redisRunId(redis);
    const before = await usedMemory(redis);
    const keysBefore = await redis.dbsize();
    const base = Date.now();
    let valueBytes = 0;
    let lookupsSmall = 0;
    const t0 = performance.now();
    progress(`directory: writing ${size.toLocaleString('en')} integrations under ${prefix}:d:*`);
    for (let start = 0; start < size; start += BATCH) {
      const entries: Array<{ niss: string; lines: Integration[] }> = [];
      for (let i = start; i < Math.min(size, start + BATCH); i++) {
        const niss = nissOf(i);
        const lines = [lineOf(i, niss, base)];
        valueBytes += encodeLines(lines).length;
        entries.push({ niss, lines });
      }
      await store.writeMany(entries);
      const written = Math.min(size, start + BATCH);
      if (written === Math.min(size, SMALL) && lookupsSmall === 0) {
        lookupsSmall = await measureLookupRate(store, Array.from({ length: written }, (_, i) => nissOf(i)), options.lookupSeconds);
        progress(`directory: ${lookupsSmall.toLocaleString('en')} lookups/s with ${written.toLocaleString('en')} persons`);
      }
      if (written % 200_000 === 0) progress(`directory: ${written.toLocaleString('en')} written`);
    }
    // The small-directory lookups ran in the middle of the load: their time is not load time.
    const loadSeconds = (performance.now() - t0) / 1000 - (lookupsSmall > 0 ? options.lookupSeconds : 0);
    // Redis grows its key table by rehashing incrementally: let it finish before reading the memory.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const after = await usedMemory(redis);
    const keysAfter = await redis.dbsize();
    const keys = redisKeys(prefix);
    const keysUsed = await countKeys(redis, `${prefix}:*`);
    const persons = await store.countPersons();
    const restarted = (await redisRunId(redis)) !== runIdBefore;
    const invalidReason = restarted
      ? 'Redis was restarted during the load (another user of the shared Redis)'
      : persons !== size
        ? `the store counts ${persons} of the ${size} persons written (another user of the shared Redis deleted keys)`
        : null;
    if (invalidReason !== null) progress(`directory: NOT VALID: ${invalidReason}`);
    // Keys holding 1,000 random persons, each counted once: bytes over the persons they hold.
    const sampleKeys = new Set(Array.from({ length: 1_000 }, () => keys.directory(nissOf(randomInt(size)))));
    let sampledPersons = 0;
    let sampleBytes = 0;
    for (const key of sampleKeys) {
      const [bytes, type] = await Promise.all([redis.memory('USAGE', key, 'SAMPLES', 0).catch(() => null), redis.type(key)]);
      if (typeof bytes !== 'number') continue;
      sampleBytes += bytes;
      sampledPersons += type === 'hash' ? await redis.hlen(key) : 1;
    }
    const all = Array.from({ length: size }, (_, i) => nissOf(i));
    const hot = all.slice(0, Math.min(size, SMALL));
    const fullRounds: number[] = [];
    const hotRounds: number[] = [];
    for (let round = 0; round < 3; round++) {
      fullRounds.push(await measureLookupRate(store, all, options.lookupSeconds / 3));
      hotRounds.push(await measureLookupRate(store, hot, options.lookupSeconds / 3));
    }
    const median = (values: number[]) => values.sort((a, b) => a - b)[1] as number;
    const lookupsFull = median(fullRounds);
    const lookupsHot = median(hotRounds);
    progress(`directory: ${lookupsFull.toLocaleString('en')} lookups/s over ${size.toLocaleString('en')} persons, ${lookupsHot.toLocaleString('en')} over ${hot.length.toLocaleString('en')} of them`);
    const c0 = performance.now();
    await deleteKeysByPrefix(redis, prefix);
    prefix = null;
    const table = (count: number) => 8 * 2 ** Math.ceil(Math.log2(Math.max(count, 4)));
    const tableGrowth = table(keysAfter) - table(keysBefore);
    return {
      valid: invalidReason === null,
      invalid_reason: invalidReason,
      integrations: size,
      lines_per_person: 1,
      keys_used: keysUsed,
      key_prefix_length: 4,
      mean_value_bytes: round(valueBytes / size, 1),
      used_memory_before: before,
      used_memory_after: after,
      keys_before: keysBefore,
      keys_after: keysAfter,
      bytes_per_integration: round((after - before) / size, 1),
      key_table_bytes_per_integration: round(tableGrowth / size, 1),
      bytes_per_integration_own_table: round((after - before - tableGrowth + table(keysUsed)) / size, 1),
      memory_usage_sample_bytes: sampledPersons > 0 ? round(sampleBytes / sampledPersons, 1) : null,
      load_seconds: round(loadSeconds, 1),
      writes_per_s: Math.round(size / loadSeconds),
      lookups_per_s_small: lookupsSmall,
      small_size: Math.min(size, SMALL),
      lookups_per_s_full: lookupsFull,
      lookups_per_s_full_hot_subset: lookupsHot,
      cleanup_seconds: round((performance.now() - c0) / 1000, 1),
    };
  } finally {
    await cleanUp();
  }
}
