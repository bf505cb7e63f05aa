/**
 * Retention on the real broker, on a prefix of its own: the topics created as `bcss start` creates them
 * carry the retention of their role (read back from the broker, not from the specs); a topic loosened by
 * hand is reported by `bcss topics sync --dry-run` and left as it is, then corrected by `bcss topics
 * sync`, after which a second run has nothing to do; a value the switch does not manage survives. The
 * command runs with its output captured, as an operator would run it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSettings } from '../../src/app/settings.js';
import { runTopicsSyncCommand } from '../../src/cli/topics-command.js';
import { DEFAULT_CONFIG_DIR } from '../../src/config/project-paths.js';
import { loadInstitutions } from '../../src/config/load-institutions.js';
import { retentionConfig, topicSpecs } from '../../src/gateway/topology.js';
import { silentLogger } from '../../src/logging/logger.js';
import { createKafkaClient, type KafkaAdmin, type TopicSpec, type TopicState } from '../../src/messaging/kafka-client.js';
import { topicNames } from '../../src/messaging/topics.js';
import { retryingTopicCreation, uniqueName, waitFor } from '../support/kafka-helpers.js';
import { removeSwitchLeftovers } from '../support/prefix-cleanup.js';
import { capturedIo } from '../support/captured-io.js';
import { testStack } from '../support/stack-context.js';

const SOURCE_MS = 1_800_000; // 30 minutes: segment.ms 300,000
const CONSULTATION_MS = 300_000; // 5 minutes: segment.ms 60,000 (the floor is 60,000 too: 50,000 → 60,000)
const LOOSENED = '604800000'; // seven days, set by hand
const FOREIGN = { 'compression.type': 'gzip' }; // not the switch's business



describe('bcss topics sync on the real broker', () => {
  const stack = testStack();
  const institutions = loadInstitutions(DEFAULT_CONFIG_DIR);
  const prefix = uniqueName('t');
  const topics = topicNames(prefix);
  const env: NodeJS.ProcessEnv = {
    BCSS_TOPIC_PREFIX: prefix,
    BCSS_SOURCE_RETENTION_MS: String(SOURCE_MS),
    BCSS_CONSULTATION_RETENTION_MS: String(CONSULTATION_MS),
    KAFKA_BROKERS: stack.kafka.brokers.join(','),
    ...(stack.kafka.sasl
      ? { KAFKA_SASL_MECHANISM: stack.kafka.sasl.mechanism, KAFKA_SASL_USERNAME: stack.kafka.sasl.username, KAFKA_SASL_PASSWORD: stack.kafka.sasl.password }
      : {}),
    ...(stack.kafka.ssl ? { KAFKA_SSL: 'true' } : {}),
  };
  // As `bcss start` computes them (launch.ts), from the same environment the command reads.
  const specs: TopicSpec[] = topicSpecs(topics, institutions, { retention: loadSettings(env).retention });
  const drifted = topics.sourceReplies('onss');
  const untouched = topics.sourceRequests('onss');
  let admin: KafkaAdmin;

  const describe_ = (names: readonly string[] = specs.map((s) => s.topic)) => admin.describeTopics(names);
  const configOf = async (topic: string): Promise<Readonly<Record<string, string>>> => (await describe_([topic])).get(topic)?.config ?? {};
  /** A configuration change goes through the controller: the broker shows it a moment later. */
  const waitForConfig = (topic: string, accept: (config: Readonly<Record<string, string>>) => boolean, what: string) =>
    waitFor(() => configOf(topic), accept, { timeoutMs: 15_000, what });

  beforeAll(async () => {
    admin = await createKafkaClient({ ...stack.kafka, clientId: 'it-topics-sync' }, silentLogger).admin();
    const created = await retryingTopicCreation(() => admin.ensureTopics(specs));
    expect(created.sort()).toEqual(specs.map((s) => s.topic).sort());
  }, 120_000);

  afterAll(async () => {
    await admin?.disconnect();
    await removeSwitchLeftovers(stack, prefix);
  }, 60_000);

  it('every topic, read back from the broker, has the configuration of its role', async () => {
    const states: Map<string, TopicState> = await waitFor(
      () => describe_(),
      (s) => s.size === specs.length,
      { what: 'every topic of the prefix to be described' },
    );
    for (const spec of specs) {
      const state = states.get(spec.topic) as TopicState;
      expect(state.partitions, spec.topic).toBe(spec.partitions);
      expect(state.config, spec.topic).toMatchObject(spec.config ?? {});
    }
    // The sources' topics (unfiltered answers): the short retention configured, a sixth of it as segment time.
    const sourceTopics = specs.filter((s) => s.topic.startsWith(`${prefix}.source.`)).map((s) => s.topic);
    expect(sourceTopics).toHaveLength(institutions.sources.length * 3);
    for (const topic of sourceTopics) {
      expect(states.get(topic)?.config, topic).toMatchObject({ 'cleanup.policy': 'delete', 'retention.ms': String(SOURCE_MS), 'segment.ms': String(SOURCE_MS / 6) });
    }
    // Consultations: minutes; the segment time at its floor of a minute.
    for (const { id } of institutions.institutions.filter((i) => i.consultation)) {
      expect(states.get(topics.consultations(id))?.config).toMatchObject({ 'retention.ms': String(CONSULTATION_MS), 'segment.ms': '60000' });
    }
    // What institutions receive: the default three days, BCSS_DELIVERY_RETENTION_MS being unset.
    expect(states.get(topics.replies('vaph'))?.config).toMatchObject(retentionConfig(3 * 24 * 3_600_000));
  });

  it('a first sync on topics just created has nothing to do', async () => {
    const io = capturedIo(env);
    expect(await runTopicsSyncCommand({}, io)).toBe(0);
    expect(io.err()).toBe('');
    expect(io.out()).toBe(`nothing to do: unchanged ${specs.length}\n`);
  });

  it('--dry-run prints the drift of a topic loosened by hand and changes nothing', async () => {
    const before = await configOf(drifted);
    await admin.replaceTopicConfig(drifted, { ...before, 'retention.ms': LOOSENED, ...FOREIGN });
    await waitForConfig(drifted, (c) => c['retention.ms'] === LOOSENED && c['compression.type'] === FOREIGN['compression.type'], 'the hand-made change');

    const io = capturedIo(env);
    expect(await runTopicsSyncCommand({ dryRun: true }, io)).toBe(0);
    expect(io.err()).toBe('');
    expect(io.out().split('\n')).toEqual([
      `~ ${drifted} retention.ms: ${LOOSENED} → ${SOURCE_MS}`,
      `dry run, nothing changed: would create 0, reconfigure 1; unchanged ${specs.length - 1}`,
      '',
    ]);
    // Unchanged on the broker, even a while later: a fixed wait, a topic's configuration being no message settled() could wait for.
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await configOf(drifted)).toMatchObject({ 'retention.ms': LOOSENED, 'segment.ms': String(SOURCE_MS / 6), ...FOREIGN });

    const json = capturedIo(env);
    expect(await runTopicsSyncCommand({ dryRun: true, json: true }, json)).toBe(0);
    expect(JSON.parse(json.out())).toMatchObject({
      prefix,
      dryRun: true,
      applied: false,
      unchanged: specs.length - 1,
      drift: [{ topic: drifted, missing: false, changes: [{ key: 'retention.ms', current: LOOSENED, expected: String(SOURCE_MS) }], partitions: null }],
    });
  });

  it('sync corrects it, keeps the value it does not manage, and a second run has nothing to do', async () => {
    const io = capturedIo(env);
    expect(await runTopicsSyncCommand({}, io)).toBe(0);
    expect(io.err()).toBe('');
    expect(io.out().split('\n')).toEqual([
      `~ ${drifted} retention.ms: ${LOOSENED} → ${SOURCE_MS}`,
      `reconfigured 1, created 0, unchanged ${specs.length - 1}`,
      '',
    ]);
    const corrected = await waitForConfig(drifted, (c) => c['retention.ms'] === String(SOURCE_MS), 'the corrected retention');
    expect(corrected).toMatchObject({ 'cleanup.policy': 'delete', 'retention.ms': String(SOURCE_MS), 'segment.ms': String(SOURCE_MS / 6), ...FOREIGN });
    // Its neighbour was never touched.
    expect(await configOf(untouched)).toEqual(retentionConfig(SOURCE_MS));

    io.reset();
    expect(await runTopicsSyncCommand({}, io)).toBe(0);
    expect(io.out()).toBe(`nothing to do: unchanged ${specs.length}\n`);
  });

  it('a missing topic is created with its configuration', async () => {
    const consultations = institutions.institutions.find((i) => i.consultation)?.id as string;
    const topic = topics.consultations(consultations);
    await admin.deleteTopics([topic]);
    await waitFor(() => describe_([topic]), (s) => !s.has(topic), { what: `${topic} to be gone` });

    const dry = capturedIo(env);
    expect(await runTopicsSyncCommand({ dryRun: true }, dry)).toBe(0);
    expect(dry.out()).toContain(`+ ${topic} (missing: created with the expected configuration)\n`);
    expect(dry.out()).toContain('would create 1, reconfigure 0');

    const io = capturedIo(env);
    expect(await runTopicsSyncCommand({}, io)).toBe(0);
    expect(io.err()).toBe('');
    expect(io.out()).toContain(`reconfigured 0, created 1, unchanged ${specs.length - 1}`);
    const config = await waitForConfig(topic, (c) => c['retention.ms'] === String(CONSULTATION_MS), `${topic} to be created`);
    expect(config).toMatchObject(retentionConfig(CONSULTATION_MS));
  });

  it('a retention that is not a positive whole number stops the command before it connects', async () => {
    const io = capturedIo({ ...env, BCSS_DELIVERY_RETENTION_MS: '0' });
    expect(await runTopicsSyncCommand({}, io)).toBe(1);
    expect(io.out()).toBe('');
    expect(io.err()).toMatch(/^bcss topics sync: BCSS_DELIVERY_RETENTION_MS must be a positive whole number/);
  });
});
