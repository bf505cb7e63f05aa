/**
 * Retention fitted to each topic's role, and `bcss topics sync`'s pure parts: the segment rule, the specs
 * of every kind of topic, the diff between what the switch expects and what a topic has, its lines, and
 * the retention read from the environment.
 */
import { describe, expect, it } from 'vitest';
import { loadSettings } from '../../src/app/settings.js';
import { DEFAULT_CONFIG_DIR } from '../../src/config/project-paths.js';
import { loadInstitutions } from '../../src/config/load-institutions.js';
import { diffTopics, formatTopicDrift, type TopicDrift } from '../../src/gateway/topic-sync.js';
import { ANSWER_MAX_MESSAGE_BYTES, AUDIT_RETENTION_MS, DEFAULT_RETENTION, retentionConfig, topicSpecs, type TopicRetention } from '../../src/gateway/topology.js';
import type { TopicSpec, TopicState } from '../../src/messaging/kafka-client.js';
import { topicNames } from '../../src/messaging/topics.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

describe('retentionConfig: segment.ms is a sixth of the retention, between one minute and one day', () => {
  it.each([
    ['10 minutes (consultations)', 10 * MINUTE, 100_000],
    ['one hour (sources)', HOUR, 10 * MINUTE],
    ['three days (deliveries)', 3 * DAY, 12 * HOUR],
    ['exactly six minutes: one minute', 6 * MINUTE, MINUTE],
    ['five minutes: the sixth is below a minute, so a minute', 5 * MINUTE, MINUTE],
    ['one second: a minute all the same', 1_000, MINUTE],
    ['exactly six days: one day', 6 * DAY, DAY],
    ['seven days: the sixth is above a day, so a day', 7 * DAY, DAY],
    ['thirty days: a day', 30 * DAY, DAY],
    ['not a multiple of six: rounded down', 1_000_001, 166_666],
  ])('%s', (_what, ms, segment) => {
    expect(retentionConfig(ms)).toEqual({ 'cleanup.policy': 'delete', 'retention.ms': String(ms), 'segment.ms': String(segment) });
  });

  it('the defaults: sources one hour, institutions three days, consultations ten minutes', () => {
    expect(DEFAULT_RETENTION).toEqual({ sourceMs: HOUR, deliveryMs: 3 * DAY, consultationMs: 10 * MINUTE });
  });
});

describe('topicSpecs: the retention of each kind of topic', () => {
  const institutions = loadInstitutions(DEFAULT_CONFIG_DIR);
  const topics = topicNames('bcss');
  const retention: TopicRetention = { sourceMs: 30 * MINUTE, deliveryMs: 2 * DAY, consultationMs: 5 * MINUTE };
  const specs = topicSpecs(topics, institutions, { retention });
  const byTopic = new Map(specs.map((s) => [s.topic, s]));
  const configOf = (topic: string) => byTopic.get(topic)?.config ?? {};
  const withConsultation = institutions.institutions.filter((i) => i.consultation).map((i) => i.id);

  it('names every topic once', () => {
    expect(byTopic.size).toBe(specs.length);
  });

  it("every bcss.source.* topic keeps the sources' retention, with a sixth of it as segment time", () => {
    const sourceTopics = specs.filter((s) => s.topic.startsWith('bcss.source.'));
    expect(sourceTopics).toHaveLength(institutions.sources.length * 3);
    for (const spec of sourceTopics) {
      const { 'max.message.bytes': _answers, ...rest } = spec.config ?? {};
      expect(rest, spec.topic).toEqual({ 'cleanup.policy': 'delete', 'retention.ms': String(30 * MINUTE), 'segment.ms': String(5 * MINUTE) });
    }
    // The answers are unfiltered: nothing under bcss.source. keeps them longer.
    for (const { id } of institutions.sources) {
      for (const topic of [topics.sourceRequests(id), topics.sourceReplies(id), topics.sourceMutations(id)]) {
        expect(configOf(topic)['retention.ms'], topic).toBe(String(30 * MINUTE));
      }
    }
  });

  it("consultations topics keep the consultation retention; their requests the institutions'", () => {
    expect(withConsultation.length).toBeGreaterThan(0);
    for (const id of withConsultation) {
      expect(configOf(topics.consultations(id))).toEqual(retentionConfig(5 * MINUTE));
      expect(configOf(topics.consultationRequests(id))).toEqual(retentionConfig(2 * DAY));
    }
    // Only institutions with a consultation application have those topics.
    const consultationTopics = specs.filter((s) => s.topic.endsWith('.consultations')).map((s) => s.topic);
    expect(consultationTopics.sort()).toEqual(withConsultation.map((id) => topics.consultations(id)).sort());
  });

  it("what institutions receive and send keeps the institutions' retention", () => {
    for (const { id } of institutions.institutions) {
      for (const topic of [topics.requests(id), topics.mutations(id), topics.directory(id)]) {
        expect(configOf(topic), topic).toEqual(retentionConfig(2 * DAY));
      }
      expect(configOf(topics.replies(id))).toEqual({ ...retentionConfig(2 * DAY), 'max.message.bytes': ANSWER_MAX_MESSAGE_BYTES });
    }
    expect(configOf(topics.directoryCommands)).toEqual(retentionConfig(2 * DAY));
  });

  it('the audit trail and its seals: ten years (and a day), whatever the retention configured', () => {
    expect(Number(AUDIT_RETENTION_MS)).toBeGreaterThanOrEqual(10 * 365.25 * DAY);
    expect(configOf(topics.audit)).toEqual({ 'cleanup.policy': 'delete', 'retention.ms': AUDIT_RETENTION_MS, 'retention.bytes': '-1' });
    expect(configOf(topics.auditSeals)['retention.ms']).toBe(AUDIT_RETENTION_MS);
    const short = topicSpecs(topics, institutions, { retention: { sourceMs: 1, deliveryMs: 1, consultationMs: 1 } });
    expect(short.find((s) => s.topic === topics.audit)?.config?.['retention.ms']).toBe(AUDIT_RETENTION_MS);
  });

  it('a whole answer fits in one record: 16 MiB on the topics carrying answers (a 22/046 list), not elsewhere', () => {
    expect(Number(ANSWER_MAX_MESSAGE_BYTES)).toBe(16 * 1024 * 1024);
    const answerTopics = new Set([
      ...institutions.institutions.map(({ id }) => topics.replies(id)),
      ...institutions.sources.map(({ id }) => topics.sourceReplies(id)),
      topics.deadLetter,
    ]);
    for (const spec of specs) {
      expect(spec.config?.['max.message.bytes'], spec.topic).toBe(answerTopics.has(spec.topic) ? ANSWER_MAX_MESSAGE_BYTES : undefined);
    }
  });

  it('the directory changelog and the authorizations are compacted, not deleted', () => {
    expect(configOf(topics.directoryChangelog)['cleanup.policy']).toBe('compact');
    expect(configOf(topics.authorizations)['cleanup.policy']).toBe('compact');
  });

  it('without options: the default retention, four partitions', () => {
    const defaults = topicSpecs(topics, institutions);
    expect(defaults.find((s) => s.topic === topics.sourceReplies('onss'))?.config).toEqual({ ...retentionConfig(HOUR), 'max.message.bytes': ANSWER_MAX_MESSAGE_BYTES });
    expect(defaults.find((s) => s.topic === topics.replies('vaph'))?.config).toEqual({ ...retentionConfig(3 * DAY), 'max.message.bytes': ANSWER_MAX_MESSAGE_BYTES });
    for (const id of withConsultation) {
      expect(defaults.find((s) => s.topic === topics.consultations(id))?.config).toEqual(retentionConfig(10 * MINUTE));
    }
    expect(defaults.find((s) => s.topic === topics.replies('vaph'))?.partitions).toBe(4);
    expect(topicSpecs(topics, institutions, { partitions: 2 }).find((s) => s.topic === topics.replies('vaph'))?.partitions).toBe(2);
  });
});

describe('diffTopics', () => {
  const expected: TopicSpec = { topic: 'p.source.onss.replies', partitions: 4, config: retentionConfig(HOUR) };
  const state = (partitions: number, config: Record<string, string>): TopicState => ({ partitions, config });
  const exact = retentionConfig(HOUR);

  it.each<[string, TopicState | undefined, TopicDrift[]]>([
    ['a missing topic', undefined, [{ topic: expected.topic, missing: true, changes: [], partitions: null }]],
    [
      'a retention loosened on the broker',
      state(4, { ...exact, 'retention.ms': '604800000' }),
      [{ topic: expected.topic, missing: false, changes: [{ key: 'retention.ms', current: '604800000', expected: '3600000' }], partitions: null }],
    ],
    [
      'a value the switch sets, not set on the topic (broker default)',
      state(4, { 'cleanup.policy': 'delete', 'retention.ms': '3600000' }),
      [{ topic: expected.topic, missing: false, changes: [{ key: 'segment.ms', current: null, expected: '600000' }], partitions: null }],
    ],
    ['a key the switch does not set: not its business', state(4, { ...exact, 'max.message.bytes': '2097152', 'min.insync.replicas': '1' }), []],
    [
      'fewer partitions: reported',
      state(2, exact),
      [{ topic: expected.topic, missing: false, changes: [], partitions: { current: 2, expected: 4 } }],
    ],
    ['more partitions: fine', state(8, exact), []],
    ['equal: no drift', state(4, exact), []],
  ])('%s', (_what, current, drift) => {
    const states = new Map<string, TopicState>(current ? [[expected.topic, current]] : []);
    expect(diffTopics([expected], states)).toEqual(drift);
  });

  it('several changes and fewer partitions on one topic make one drift entry, in the spec order', () => {
    const specs: TopicSpec[] = [
      { topic: 'a', partitions: 4, config: retentionConfig(HOUR) },
      { topic: 'b', partitions: 1 },
      { topic: 'c', partitions: 4, config: retentionConfig(10 * MINUTE) },
    ];
    const states = new Map<string, TopicState>([
      ['a', state(1, { 'cleanup.policy': 'compact', 'retention.ms': '3600000', 'segment.ms': '604800000' })],
      // A topic whose spec sets nothing: only its partitions count.
      ['b', state(1, { 'retention.ms': '1' })],
    ]);
    expect(diffTopics(specs, states)).toEqual([
      {
        topic: 'a',
        missing: false,
        changes: [
          { key: 'cleanup.policy', current: 'compact', expected: 'delete' },
          { key: 'segment.ms', current: '604800000', expected: '600000' },
        ],
        partitions: { current: 1, expected: 4 },
      },
      { topic: 'c', missing: true, changes: [], partitions: null },
    ]);
  });

  it('the specs of the whole switch against topics created from them: no drift', () => {
    const specs = topicSpecs(topicNames('bcss'), loadInstitutions(DEFAULT_CONFIG_DIR));
    const states = new Map(specs.map((s) => [s.topic, state(s.partitions, { ...(s.config ?? {}) })]));
    expect(diffTopics(specs, states)).toEqual([]);
  });
});

describe('formatTopicDrift', () => {
  it('one line per missing topic, per changed value and per partition shortfall', () => {
    const drift: TopicDrift[] = [
      { topic: 'bcss.vaph.consultations', missing: true, changes: [], partitions: null },
      {
        topic: 'bcss.source.onss.replies',
        missing: false,
        changes: [
          { key: 'retention.ms', current: '604800000', expected: '3600000' },
          { key: 'segment.ms', current: null, expected: '600000' },
        ],
        partitions: { current: 2, expected: 4 },
      },
    ];
    expect(formatTopicDrift(drift)).toEqual([
      '+ bcss.vaph.consultations (missing: created with the expected configuration)',
      '~ bcss.source.onss.replies retention.ms: 604800000 → 3600000',
      '~ bcss.source.onss.replies segment.ms: (broker default) → 600000',
      '! bcss.source.onss.replies partitions: 2 < 4 (not changed: adding partitions moves keys; an operator\'s decision)',
    ]);
  });

  it('no drift, no line', () => {
    expect(formatTopicDrift([])).toEqual([]);
  });
});

describe('the retention settings', () => {
  const retentionFromEnv = (env: NodeJS.ProcessEnv) => loadSettings(env).retention;

  it('the defaults when nothing (or an empty value) is set', () => {
    expect(retentionFromEnv({})).toEqual(DEFAULT_RETENTION);
    expect(retentionFromEnv({ BCSS_SOURCE_RETENTION_MS: '', BCSS_DELIVERY_RETENTION_MS: '', BCSS_CONSULTATION_RETENTION_MS: '' })).toEqual(DEFAULT_RETENTION);
  });

  it('each variable sets its kind of topic', () => {
    expect(
      retentionFromEnv({ BCSS_SOURCE_RETENTION_MS: '1800000', BCSS_DELIVERY_RETENTION_MS: '86400000', BCSS_CONSULTATION_RETENTION_MS: '120000' }),
    ).toEqual({ sourceMs: 1_800_000, deliveryMs: 86_400_000, consultationMs: 120_000 });
    expect(retentionFromEnv({ BCSS_CONSULTATION_RETENTION_MS: '300000' })).toEqual({ ...DEFAULT_RETENTION, consultationMs: 300_000 });
  });

  it.each([
    ['BCSS_SOURCE_RETENTION_MS', '0'],
    ['BCSS_SOURCE_RETENTION_MS', '-3600000'],
    ['BCSS_DELIVERY_RETENTION_MS', '-1'],
    ['BCSS_DELIVERY_RETENTION_MS', '1.5'],
    ['BCSS_CONSULTATION_RETENTION_MS', 'ten minutes'],
    ['BCSS_CONSULTATION_RETENTION_MS', ' '],
  ])('rejects %s=%j', (name, value) => {
    expect(() => retentionFromEnv({ [name]: value })).toThrow(new RegExp(`^${name} must be a positive whole number`));
  });
});
