/**
 * Keeps the switch's topics as `topicSpecs` describes them, like `acl sync` does for ACLs: a topic that
 * already exists is never re-created, so a retention tightened in the configuration (or loosened by hand
 * on the broker) would otherwise never reach it.
 *
 * `diffTopics` compares, for every topic the switch expects, the values it sets (retention, segment
 * time, cleanup policy, …) with those set on the topic itself; keys the switch does not set are not its
 * business and are kept. A missing topic is created; a topic with fewer partitions than expected is only
 * reported: adding partitions moves keys (NISS) to other partitions, which is an operator's decision.
 */
import type { KafkaAdmin, TopicSpec, TopicState } from '../messaging/kafka-client.js';

export interface ConfigChange {
  readonly key: string;
  /** Null: not set on the topic (the broker default applies). */
  readonly current: string | null;
  readonly expected: string;
}

export interface TopicDrift {
  readonly topic: string;
  readonly missing: boolean;
  readonly changes: readonly ConfigChange[];
  /** Set when the topic has fewer partitions than expected (reported, never changed). */
  readonly partitions: { readonly current: number; readonly expected: number } | null;
}

/** Pure: what differs between the expected specs and the topics' state (absent = topic missing). */
export function diffTopics(specs: readonly TopicSpec[], states: ReadonlyMap<string, TopicState>): TopicDrift[] {
  const drift: TopicDrift[] = [];
  for (const spec of specs) {
    const state = states.get(spec.topic);
    if (!state) {
      drift.push({ topic: spec.topic, missing: true, changes: [], partitions: null });
      continue;
    }
    const changes: ConfigChange[] = [];
    for (const [key, expected] of Object.entries(spec.config ?? {})) {
      const current = state.config[key] ?? null;
      if (current !== expected) changes.push({ key, current, expected });
    }
    const partitions = state.partitions < spec.partitions ? { current: state.partitions, expected: spec.partitions } : null;
    if (changes.length > 0 || partitions !== null) drift.push({ topic: spec.topic, missing: false, changes, partitions });
  }
  return drift;
}

export interface TopicSyncResult {
  readonly drift: readonly TopicDrift[];
  readonly unchanged: number;
  readonly created: readonly string[];
  readonly reconfigured: readonly string[];
  readonly applied: boolean;
}

export async function syncTopics(admin: KafkaAdmin, specs: readonly TopicSpec[], options: { dryRun: boolean }): Promise<TopicSyncResult> {
  const states = await admin.describeTopics(specs.map((s) => s.topic));
  const drift = diffTopics(specs, states);
  const unchanged = specs.length - drift.length;
  if (options.dryRun) return { drift, unchanged, created: [], reconfigured: [], applied: false };
  const missing = new Set(drift.filter((d) => d.missing).map((d) => d.topic));
  const created = missing.size > 0 ? await admin.ensureTopics(specs.filter((s) => missing.has(s.topic))) : [];
  const reconfigured: string[] = [];
  for (const d of drift) {
    if (d.missing || d.changes.length === 0) continue;
    const spec = specs.find((s) => s.topic === d.topic) as TopicSpec;
    // AlterConfigs replaces the topic's own values: keep those the switch does not set.
    await admin.replaceTopicConfig(d.topic, { ...(states.get(d.topic)?.config ?? {}), ...(spec.config ?? {}) });
    reconfigured.push(d.topic);
  }
  return { drift, unchanged, created, reconfigured, applied: true };
}

/** One line per difference: `+ topic (missing)`, `~ topic key: current → expected`, `! topic partitions …`. */
export function formatTopicDrift(drift: readonly TopicDrift[]): string[] {
  const lines: string[] = [];
  for (const d of drift) {
    if (d.missing) lines.push(`+ ${d.topic} (missing: created with the expected configuration)`);
    for (const c of d.changes) lines.push(`~ ${d.topic} ${c.key}: ${c.current ?? '(broker default)'} → ${c.expected}`);
    if (d.partitions) {
      lines.push(`! ${d.topic} partitions: ${d.partitions.current} < ${d.partitions.expected} (not changed: adding partitions moves keys; an operator's decision)`);
    }
  }
  return lines;
}
