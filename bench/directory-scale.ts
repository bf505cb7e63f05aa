import { randomInt } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { Runtime } from '../src/app/runtime.js';
import type { Integration } from '../src/domain/directory.js';
import { makeNiss } from '../src/sources/synthetic-population.js';
import { encodeLines } from '../src/store/directory-encoding.js';
import { createDirectoryStore, type DirectoryStore } from '../src/store/directory-store.js';
import { directoryBucket, redisKeys, type RedisKeys } from '../src/store/keys.js';
import type { RedisClient } from '../src/store/redis-connection.js';
import { round } from './cpu-accounting.js';
import { onInterrupt } from './interrupt.js';
import { measureLookupRate } from './micro.js';
import { deleteKeysByPrefix, prefixIsFree } from './redis-cleanup.js';
import { isMainModule, standaloneRuntime } from './standalone.js';

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
 *
 * Lookups per second over the full directory are compared with a control: a directory of 10,000
 * persons of its own, read by the same code in rounds alternating with those over the full one (the
 * machine is shared, and its load moves both alike). Run alone, at the national size:
 * `nice npx tsx bench/directory-scale.ts --size 10000000` (JSON on stdout, progress on stderr).
 */
export interface DirectoryScaleResult {
  /**
   * False when the shared Redis was disturbed during the measurement (restarted, or keys of this run
   * missing at the end): the figures below are then not those of the size asked for.
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
  /** OBJECT ENCODING of those keys, counted: `listpack` while a bucket stays within hash-max-listpack-entries. */
  readonly sample_bucket_encodings: Readonly<Record<string, number>>;
  /** The most persons one of those keys holds. */
  readonly sample_largest_bucket: number;
  /** The Redis's hash-max-listpack-entries (null when CONFIG is not allowed). */
  readonly hash_max_listpack_entries: number | null;
  readonly load_seconds: number;
  readonly writes_per_s: number;
  /** Lookups/s with `small_size` persons written (measured while loading). */
  readonly lookups_per_s_small: number;
  readonly small_size: number;
  /** Lookups/s over all persons once loaded (median of the rounds). */
  readonly lookups_per_s_full: number;
  /** Lookups/s over the first `small_size` persons once all are loaded, in rounds alternating with the above. */
  readonly lookups_per_s_full_hot_subset: number;
  /** Persons of the control directory: a directory of its own, written before the full one. */
  readonly control_size: number;
  /** Lookups/s over the control directory (median), in rounds alternating with those over the full one. */
  readonly lookups_per_s_control: number;
  /** lookups_per_s_full / lookups_per_s_control: the figure the lookup target is checked on. */
  readonly lookups_full_to_control: number;
  /** Buckets the persons were spread over: the store's 65,536, or fewer in the density experiment. */
  readonly buckets: number;
  readonly lookup_rounds: { readonly seconds_each: number; readonly full: readonly number[]; readonly control: readonly number[]; readonly full_hot_subset: readonly number[] };
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


/** Middle value (the lower of the two middle ones for an even count). */
function median(values: readonly number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)] as number;
}

/** Writes integrations `from`..`to` - 1 through the store, BATCH persons per pipelined round trip; returns the bytes of their values. */
async function writeRange(store: DirectoryStore, from: number, to: number, base: number, afterBatch: (written: number) => Promise<void>): Promise<number> {
  let valueBytes = 0;
  for (let start = from; start < to; start += BATCH) {
    const entries: Array<{ niss: string; lines: Integration[] }> = [];
    for (let i = start; i < Math.min(to, start + BATCH); i++) {
      const niss = nissOf(i);
      const lines = [lineOf(i, niss, base)];
      valueBytes += encodeLines(lines).length;
      entries.push({ niss, lines });
    }
    await store.writeMany(entries);
    await afterBatch(Math.min(to, start + BATCH));
  }
  return valueBytes;
}

/** The Redis setting that keeps a bucket hash a listpack (Redis 7 names it listpack, older ziplist). */
async function listpackLimit(redis: RedisClient): Promise<number | null> {
  try {
    const reply = (await redis.config('GET', 'hash-max-listpack-entries')) as string[];
    const value = Number(reply[1]);
    return Number.isFinite(value) ? value : null;
  } catch {
    return null;
  }
}

export async function runDirectoryScale(
  runtime: Runtime,
  options: {
    readonly size: number;
    readonly lookupSeconds: number;
    readonly progress: (text: string) => void;
    /** Persons of the control directory (default 10,000). */
    readonly controlSize?: number;
    /** Rounds of each kind in the alternation of lookup rounds (default 3). */
    readonly lookupRounds?: number;
    /**
     * Experiment: spread the persons over another number of buckets than the store's 65,536 (a power
     * of two from 2^8 to 2^24, folded from the same hash): fewer to give a smaller directory the
     * persons per bucket of a larger one, more to try a larger directory with small buckets. Not the
     * store's form: its figures are not those of the directory as shipped.
     */
    readonly buckets?: number;
  },
): Promise<DirectoryScaleResult> {
  const { size, progress } = options;
  const controlSize = options.controlSize ?? SMALL;
  const rounds = options.lookupRounds ?? 3;
  const redis = runtime.redis('background');
  const prefixes: string[] = [];
  const cleanUp = onInterrupt(async () => {
    for (const prefix of prefixes.splice(0)) await deleteKeysByPrefix(redis, prefix).catch(() => undefined);
    redis.disconnect();
  });
  try {
    await checkRoom(redis, size + controlSize);
    const bits = options.buckets === undefined ? null : Math.log2(options.buckets);
    if (bits !== null && !(Number.isInteger(bits) && bits >= 8 && bits <= 24)) throw new Error(`buckets must be a power of two from 2^8 to 2^24, not ${options.buckets}`);
    const keysOf = (p: string): RedisKeys =>
      bits === null ? redisKeys(p) : { ...redisKeys(p), directory: (niss) => `${p}:d2:{${directoryBucket(niss, bits)}}` };
    const prefix = await freePrefix(redis);
    prefixes.push(prefix);
    const store = createDirectoryStore(redis, keysOf(prefix));
    const base = Date.now();
    // The control: a directory of its own, of the control's size, written first and read by the same
    // code in rounds that alternate with those over the full directory, so that a change of load on the
    // shared machine moves both alike.
    const controlPrefix = await freePrefix(redis);
    prefixes.push(controlPrefix);
    const controlStore = createDirectoryStore(redis, keysOf(controlPrefix));
    await writeRange(controlStore, 0, controlSize, base, async () => undefined);

    const runIdBefore = await redisRunId(redis);
    const before = await usedMemory(redis);
    const keysBefore = await redis.dbsize();
    let lookupsSmall = 0;
    const t0 = performance.now();
    progress(`directory: writing ${size.toLocaleString('en')} integrations under ${prefix}:d2:* (control: ${controlSize.toLocaleString('en')} under ${controlPrefix}:d2:*)`);
    const reportEvery = Math.max(BATCH, Math.round(size / 10 / BATCH) * BATCH);
    const valueBytes = await writeRange(store, 0, size, base, async (written) => {
      if (written === Math.min(size, SMALL) && lookupsSmall === 0) {
        lookupsSmall = await measureLookupRate(store, Array.from({ length: written }, (_, i) => nissOf(i)), options.lookupSeconds);
        progress(`directory: ${lookupsSmall.toLocaleString('en')} lookups/s with ${written.toLocaleString('en')} persons`);
      }
      if (written % reportEvery === 0) progress(`directory: ${written.toLocaleString('en')} written (${round((performance.now() - t0) / 1000, 1)} s)`);
    });
    // The small-directory lookups ran in the middle of the load: their time is not load time.
    const loadSeconds = (performance.now() - t0) / 1000 - (lookupsSmall > 0 ? options.lookupSeconds : 0);
    // Redis grows its key table by rehashing incrementally: let it finish before reading the memory.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const after = await usedMemory(redis);
    const keysAfter = await redis.dbsize();
    const keys = keysOf(prefix);
    const keysUsed = await countKeys(redis, `${prefix}:*`);
    const persons = await store.countPersons();
    const restarted = (await redisRunId(redis)) !== runIdBefore;
    const invalidReason = restarted
      ? 'Redis was restarted during the load (another user of the shared Redis)'
      : persons !== size
        ? `the store counts ${persons} of the ${size} persons written (another user of the shared Redis deleted keys)`
        : null;
    if (invalidReason !== null) progress(`directory: NOT VALID: ${invalidReason}`);
    // Keys holding 1,000 random persons, each counted once: bytes over the persons they hold, and
    // whether Redis still keeps them compact (a bucket past hash-max-listpack-entries becomes a hashtable).
    const sampleKeys = new Set(Array.from({ length: 1_000 }, () => keys.directory(nissOf(randomInt(size)))));
    let sampledPersons = 0;
    let sampleBytes = 0;
    let largestBucket = 0;
    const encodings: Record<string, number> = {};
    for (const key of sampleKeys) {
      const [bytes, type, encoding] = await Promise.all([
        redis.memory('USAGE', key, 'SAMPLES', 0).catch(() => null),
        redis.type(key),
        redis.object('ENCODING', key).catch(() => null),
      ]);
      if (typeof bytes !== 'number') continue;
      const held = type === 'hash' ? await redis.hlen(key) : 1;
      sampleBytes += bytes;
      sampledPersons += held;
      largestBucket = Math.max(largestBucket, held);
      const name = typeof encoding === 'string' ? encoding : 'unknown';
      encodings[name] = (encodings[name] ?? 0) + 1;
    }
    const all = Array.from({ length: size }, (_, i) => nissOf(i));
    const hot = all.slice(0, Math.min(size, SMALL));
    const control = Array.from({ length: controlSize }, (_, i) => nissOf(i));
    const fullRounds: number[] = [];
    const hotRounds: number[] = [];
    const controlRounds: number[] = [];
    const roundSeconds = options.lookupSeconds / rounds;
    for (let r = 0; r < rounds; r++) {
      // The order turns every round, so that neither series always follows the other.
      const series: Array<() => Promise<void>> = [
        async () => void fullRounds.push(await measureLookupRate(store, all, roundSeconds)),
        async () => void controlRounds.push(await measureLookupRate(controlStore, control, roundSeconds)),
        async () => void hotRounds.push(await measureLookupRate(store, hot, roundSeconds)),
      ];
      for (let k = 0; k < series.length; k++) await (series[(k + r) % series.length] as () => Promise<void>)();
      progress(`directory: round ${r + 1}: ${fullRounds[r]?.toLocaleString('en')} lookups/s over ${size.toLocaleString('en')}, ${controlRounds[r]?.toLocaleString('en')} over the control of ${controlSize.toLocaleString('en')}, ${hotRounds[r]?.toLocaleString('en')} over ${hot.length.toLocaleString('en')} of the full`);
    }
    const lookupsFull = median(fullRounds);
    const lookupsHot = median(hotRounds);
    const lookupsControl = median(controlRounds);
    const c0 = performance.now();
    for (const p of prefixes.splice(0)) await deleteKeysByPrefix(redis, p);
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
      sample_bucket_encodings: encodings,
      sample_largest_bucket: largestBucket,
      hash_max_listpack_entries: await listpackLimit(redis),
      load_seconds: round(loadSeconds, 1),
      writes_per_s: Math.round(size / loadSeconds),
      lookups_per_s_small: lookupsSmall,
      small_size: Math.min(size, SMALL),
      lookups_per_s_full: lookupsFull,
      lookups_per_s_full_hot_subset: lookupsHot,
      control_size: controlSize,
      lookups_per_s_control: lookupsControl,
      lookups_full_to_control: round(lookupsFull / lookupsControl, 3),
      buckets: options.buckets ?? 65_536,
      lookup_rounds: { seconds_each: round(roundSeconds, 2), full: fullRounds, control: controlRounds, full_hot_subset: hotRounds },
      cleanup_seconds: round((performance.now() - c0) / 1000, 1),
    };
  } finally {
    await cleanUp();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      size: { type: 'string', default: '10000000' },
      'control-size': { type: 'string', default: String(SMALL) },
      'lookup-seconds': { type: 'string', default: '30' },
      rounds: { type: 'string', default: '5' },
      buckets: { type: 'string' },
    },
  });
  const { runtime, progress } = await standaloneRuntime('bench-directory-scale');
  const result = await runDirectoryScale(runtime, {
    size: Number(values.size),
    controlSize: Number(values['control-size']),
    lookupSeconds: Number(values['lookup-seconds']),
    lookupRounds: Number(values.rounds),
    ...(values.buckets === undefined ? {} : { buckets: Number(values.buckets) }),
    progress,
  });
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

if (isMainModule(import.meta.url)) {
  await main();
  process.exit(0);
}
