import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { PROJECT_ROOT } from '../src/config/project-paths.js';
import { round } from './cpu-accounting.js';

/**
 * Where a process's time went, from a V8 CPU profile (.cpuprofile): self time of every function,
 * summed by the part of the system it belongs to. The groups follow the questions the benchmark is
 * for: is it Kafka's client (producing, fetching, the wire protocol), Avro, the rules (block
 * filter, checks), Redis's client, hashing, logging, or the garbage collector.
 */
interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children?: readonly number[];
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface ProfileGroup {
  readonly group: string;
  readonly ms: number;
  /** Share of the busy (non-idle) time. */
  readonly percent: number;
  /** The group's heaviest functions. */
  readonly top: ReadonlyArray<{ readonly function: string; readonly where: string; readonly percent: number }>;
}

export interface ProfileFunction {
  readonly function: string;
  readonly where: string;
  readonly group: string;
  readonly ms: number;
  readonly percent: number;
}

export interface ProfileSummary {
  readonly file: string;
  readonly sampled_ms: number;
  readonly idle_percent: number;
  /**
   * Self time by group, V8 builtins and Node internals (buffer copies, string writes, streams)
   * charged to the nearest caller of a named group: who made the work, rather than which primitive did it.
   */
  readonly groups: readonly ProfileGroup[];
  /** Self time by group, each function where it is (builtins as their own groups). */
  readonly self_groups: readonly ProfileGroup[];
  /** The project's own functions by inclusive time (themselves and all they call): the stages' shares. */
  readonly inclusive: readonly ProfileFunction[];
  readonly top_functions: readonly ProfileFunction[];
}

const RULES: ReadonlyArray<readonly [RegExp, string]> = [
  [/node_modules\/kafkajs\/src\/protocol\/requests\/(produce|addPartitionsToTxn|addOffsetsToTxn|txnOffsetCommit|endTxn|initProducerId)/, 'kafkajs: produce and transactions'],
  [/node_modules\/kafkajs\/src\/protocol\/requests\/fetch/, 'kafkajs: fetch'],
  [/node_modules\/kafkajs\/src\/protocol\/(recordBatch|message)/, 'kafkajs: record batches (encode/decode)'],
  [/node_modules\/kafkajs\/src\/protocol\/(encoder|decoder|crc32|request|requests)/, 'kafkajs: wire protocol (encoder/decoder)'],
  [/node_modules\/kafkajs\/src\/(producer|utils)/, 'kafkajs: producer'],
  [/node_modules\/kafkajs\/src\/consumer/, 'kafkajs: consumer'],
  [/node_modules\/kafkajs\/src\/network/, 'kafkajs: network'],
  [/node_modules\/kafkajs\//, 'kafkajs: other'],
  [/node_modules\/avsc\//, 'avsc (Avro)'],
  [/node_modules\/(ioredis|redis-parser|denque|cluster-key-slot|standard-as-callback|redis-errors)\//, 'ioredis (Redis client)'],
  [/node_modules\/(pino|pino-std-serializers|sonic-boom|fast-redact|thread-stream)\//, 'logging (pino)'],
  [/src\/domain\/block-filter\.ts/, 'block filter'],
  [/src\/domain\/(niss|authorization|exchange|directory|period|employer-id|enterprise-number|onss-number|retention|refusal-codes)\.ts/, 'rules: checks, authorization, directory'],
  [/src\/gateway\//, 'gateway stages (message building)'],
  [/src\/messaging\/avro-codec\.ts|src\/messaging\/crc64/, 'Avro codec wrapper'],
  [/src\/messaging\//, 'pipeline (src/messaging)'],
  [/src\/store\//, 'stores (src/store)'],
  [/node:internal\/crypto|node:crypto/, 'crypto (hashing)'],
  [/node:(net|internal\/net|internal\/stream_base_commons|internal\/streams|stream|_stream|internal\/dns|dns|tls|_tls)/, 'Node sockets and streams'],
  [/node:internal\/(timers|process\/task_queues|async_hooks)|node:timers/, 'Node timers and microtasks'],
  [/node:/, 'Node other'],
  [/node_modules\/(tsx|esbuild)\//, 'module loader'],
];

function groupOf(frame: ProfileNode['callFrame']): string {
  switch (frame.functionName) {
    case '(idle)':
      return 'idle';
    case '(garbage collector)':
      return 'garbage collector';
    case '(program)':
      return 'V8 and native (program)';
    case '(root)':
      return 'idle';
  }
  if (frame.url === '') return 'V8 builtins (JSON, strings, buffers…)';
  if (/src\/messaging\/avro-codec\.ts/.test(frame.url) && /^_(toValue|fromValue|resolve)$/.test(frame.functionName)) {
    return 'Avro date logical type (IsoDateType)';
  }
  for (const [pattern, group] of RULES) if (pattern.test(frame.url)) return group;
  return 'other';
}

/** Groups whose time belongs to whoever called them. */
const PRIMITIVE = new Set([
  'V8 builtins (JSON, strings, buffers…)',
  'Node other',
  'Node sockets and streams',
  'Node timers and microtasks',
  'other',
]);

function whereOf(frame: ProfileNode['callFrame']): string {
  if (frame.url === '') return '(native)';
  const path = frame.url.startsWith('file://') ? relative(PROJECT_ROOT, new URL(frame.url).pathname) : frame.url;
  return `${path}:${frame.lineNumber + 1}`;
}

export function summarizeProfile(file: string, top = 25): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  // timeDeltas[i] is the time between sample i-1 and sample i: it is charged to sample i.
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i] as number;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const ownerOf = (id: number): string => {
    const own = groupOf((byId.get(id) as ProfileNode).callFrame);
    for (let current: number | undefined = id; current !== undefined; current = parent.get(current)) {
      const group = groupOf((byId.get(current) as ProfileNode).callFrame);
      if (!PRIMITIVE.has(group) && group !== 'idle') return group;
    }
    return own;
  };
  // Samples under the worker's own message handler are the profiler starting and stopping itself.
  const underProfiler = (id: number): boolean => {
    for (let current: number | undefined = id; current !== undefined; current = parent.get(current)) {
      if ((byId.get(current) as ProfileNode).callFrame.url.endsWith('/bench/worker.ts')) return true;
    }
    return false;
  };
  let total = 0;
  let idle = 0;
  const groups = new Map<string, number>();
  const owners = new Map<string, number>();
  const functions = new Map<string, { fn: string; where: string; group: string; us: number }>();
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    const group = groupOf(node.callFrame);
    if (underProfiler(id)) continue;
    total += us;
    if (group === 'idle') {
      idle += us;
      continue;
    }
    groups.set(group, (groups.get(group) ?? 0) + us);
    const owner = ownerOf(id);
    owners.set(owner, (owners.get(owner) ?? 0) + us);
    const where = whereOf(node.callFrame);
    const name = node.callFrame.functionName || '(anonymous)';
    const key = `${name}@${where}`;
    const entry = functions.get(key) ?? { fn: name, where, group, us: 0 };
    entry.us += us;
    functions.set(key, entry);
  }
  // Inclusive time of the project's functions: each sample counts once for every distinct function
  // on its stack.
  const inclusiveUs = new Map<string, { fn: string; where: string; group: string; us: number }>();
  for (let i = 0; i < profile.samples.length; i++) {
    const us = profile.timeDeltas[i] ?? 0;
    if (underProfiler(profile.samples[i] as number)) continue;
    const seen = new Set<string>();
    for (let current: number | undefined = profile.samples[i]; current !== undefined; current = parent.get(current)) {
      const frame = (byId.get(current) as ProfileNode).callFrame;
      if (!/\/(src|bench)\//.test(frame.url) || frame.url.includes('/node_modules/')) continue;
      const where = whereOf(frame);
      const name = frame.functionName || '(anonymous)';
      const key = `${name}@${where}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const entry = inclusiveUs.get(key) ?? { fn: name, where, group: groupOf(frame), us: 0 };
      entry.us += us;
      inclusiveUs.set(key, entry);
    }
  }
  const busy = total - idle;
  const pct = (us: number) => (busy > 0 ? round((100 * us) / busy, 1) : 0);
  return {
    file: relative(PROJECT_ROOT, file),
    sampled_ms: Math.round(total / 1000),
    idle_percent: total > 0 ? round((100 * idle) / total, 1) : 0,
    groups: [...owners]
      .sort((a, b) => b[1] - a[1])
      .map(([group, us]) => ({ group, ms: Math.round(us / 1000), percent: pct(us), top: [] })),
    self_groups: [...groups]
      .sort((a, b) => b[1] - a[1])
      .map(([group, us]) => ({
        group,
        ms: Math.round(us / 1000),
        percent: pct(us),
        top: [...functions.values()]
          .filter((f) => f.group === group)
          .sort((a, b) => b.us - a.us)
          .slice(0, 4)
          .map((f) => ({ function: f.fn, where: f.where, percent: pct(f.us) })),
      })),
    inclusive: [...inclusiveUs.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((f) => ({ function: f.fn, where: f.where, group: f.group, ms: Math.round(f.us / 1000), percent: pct(f.us) })),
    top_functions: [...functions.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((f) => ({ function: f.fn, where: f.where, group: f.group, ms: Math.round(f.us / 1000), percent: pct(f.us) })),
  };
}
