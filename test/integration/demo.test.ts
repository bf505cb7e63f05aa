/**
 * `npm run demo` in-process on the test stack: a switch of its own on an isolated topic and Redis
 * prefix (topics, ACLs, gateway, simulators, sample directory), every scenario sent by its
 * institution's principal, every change published by its source's principal and read by each
 * subscriber's, every outcome the expected one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DemoReport } from '../../src/demo/demo-table.js';
import { runDemo } from '../../src/demo/run-demo.js';
import { NOTHING } from '../../src/demo/scenarios.js';
import { principalPasswordVariable } from '../../src/stack/principal-connection.js';
import { uniqueName } from '../support/kafka-helpers.js';
import { removeSwitchLeftovers } from '../support/prefix-cleanup.js';
import { testStack } from '../support/stack-context.js';

const ENV_NAMES = ['BCSS_TOPIC_PREFIX', 'BCSS_REDIS_PREFIX', 'KAFKA_BROKERS', 'REDIS_URL', 'KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD'];

describe('npm run demo', () => {
  const stack = testStack();
  const prefix = uniqueName('demo');
  const saved = new Map<string, string | undefined>();
  const setEnv = (name: string, value: string) => {
    if (!saved.has(name)) saved.set(name, process.env[name]);
    process.env[name] = value;
  };
  let report: DemoReport;

  beforeAll(async () => {
    // The demo finds the switch and the principals as the CLI does: from the environment, else the
    // local stack. Containers are neither, so they are named in the environment.
    for (const name of ENV_NAMES) saved.set(name, process.env[name]);
    setEnv('BCSS_TOPIC_PREFIX', prefix);
    setEnv('BCSS_REDIS_PREFIX', prefix);
    if (stack.mode === 'containers') {
      setEnv('KAFKA_BROKERS', stack.kafka.brokers.join(','));
      setEnv('REDIS_URL', stack.redisUrl);
      if (stack.kafka.sasl) {
        setEnv('KAFKA_SASL_USERNAME', stack.kafka.sasl.username);
        setEnv('KAFKA_SASL_PASSWORD', stack.kafka.sasl.password);
      }
      for (const [principal, password] of Object.entries(stack.credentials?.principals ?? {})) {
        setEnv(principalPasswordVariable(principal), password);
      }
    }
    report = await runDemo({ gateway: 'own', requestTimeoutMs: 30_000 });
  }, 90_000);

  afterAll(async () => {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    await removeSwitchLeftovers(stack, prefix);
  }, 60_000);

  it('ran its own switch on the isolated prefix, on the stack already up (left running)', () => {
    expect(report.gateway).toEqual({ kind: 'own', topicPrefix: prefix, startedStack: false });
  });

  it('reports every scenario as expected', () => {
    const differing = report.results.filter((r) => !r.verdict.asExpected).map((r) => ({ number: r.scenario.number, differences: r.verdict.differences }));
    expect(differing).toEqual([]);
    expect(report.results.map((r) => r.outcome.status)).toEqual([
      'OK',
      'OK',
      'OK',
      'OK',
      'OK',
      'OK',
      'NO_DATA',
      'NISS_REPLACED',
      'OK',
      'NOT_INTEGRATED',
      'NOT_INTEGRATED_FOR_PERIOD',
      'EMPLOYER_NOT_INTEGRATED',
      'NOT_AUTHORIZED',
      'INVALID_EMPLOYER_ID',
      'AUTHORIZATION_NOT_IN_FORCE',
      'PERIOD_NOT_AUTHORIZED',
      'SENDER_MISMATCH',
      'INVALID_MESSAGE',
      'SOURCE_ERROR',
      'CONSULTATION_ONLY',
      NOTHING,
      'BLOCKS',
      NOTHING,
      NOTHING,
      'BLOCKS',
      NOTHING,
      NOTHING,
      'BLOCKS',
      NOTHING,
    ]);
  });

  it('ONVA asks through DOLSIS (its consultation application, 19/010 §37); on its own replies topic it is refused', () => {
    const ofOnva = report.results.filter((r) => r.scenario.requester === 'onva' && r.scenario.send.kind !== 'mutation');
    expect(ofOnva.map((r) => [r.scenario.consultation ?? null, r.outcome.status])).toEqual([
      ['DOLSIS', 'OK'],
      ['DOLSIS', 'OK'],
      ['DOLSIS', 'NO_DATA'],
      ['DOLSIS', 'NISS_REPLACED'],
      [null, 'CONSULTATION_ONLY'],
    ]);
    const refused = ofOnva.at(-1)?.outcome;
    expect(refused).toMatchObject({ deliveredBlocks: [], effectivePeriods: [] });
    expect(refused?.message).toContain('19/010');
  });

  it('the changes: each delivered once, filtered, to the subscriber that follows the person; nothing to the others', () => {
    const changes = report.results.filter((r) => r.scenario.send.kind === 'mutation');
    expect(changes).toHaveLength(9);
    const delivered = changes.filter((r) => r.outcome.status === 'BLOCKS');
    // VAPH's changes read on MAGDA's mutations topic, as MAGDA, each naming VAPH (10/012 §9).
    expect(delivered.map((r) => [r.scenario.requester, r.scenario.beneficiary, r.scenario.service, r.outcome.deliveredBlocks])).toEqual([
      ['magda', 'vaph', 'dimona', ['dimona.period', 'dimona.employer', 'dimona.worker', 'dimona.occupation']],
      ['magda', 'vaph', 'identification', ['identification.register', 'identification.residence']],
      ['iriscare', null, 'dimona', ['dimona.period', 'dimona.employer', 'dimona.worker', 'dimona.occupation']],
    ]);
    for (const r of delivered) expect(r.outcome.ticket).toMatch(/^M/);
    // The DIMONA changes name the worker by NISS only (10/012 §7, 19/104 §9).
    for (const r of delivered.filter((d) => d.scenario.service === 'dimona')) {
      expect(r.outcome.removedFields).toEqual(expect.arrayContaining(['dimona.worker.lastName', 'dimona.worker.firstName', 'dimona.worker.birthDate']));
      expect(r.outcome.presentFields).toContain('dimona.worker.niss');
      expect(r.outcome.presentFields).not.toContain('dimona.worker.lastName');
    }
    for (const r of changes.filter((c) => c.outcome.status === NOTHING)) expect(r.outcome.error).toBeUndefined();
    expect(report.timings.mutationsMs).toBeGreaterThan(0);
  });

  it('VAPH reads neither the name in DmfA nor in DIMONA: withheld, and null in the payload', () => {
    const forVaph = report.results.filter((r) => r.scenario.beneficiary === 'vaph' && r.outcome.status === 'OK');
    expect(forVaph.map((r) => [r.scenario.number, r.scenario.service])).toEqual([
      [1, 'dmfa'],
      [2, 'dmfa'],
      [3, 'dimona'],
    ]);
    const name = { dmfa: 'dmfa.natural-person', dimona: 'dimona.worker' } as Record<string, string>;
    for (const r of forVaph) {
      const block = name[r.scenario.service] as string;
      expect(r.outcome.removedFields, `#${r.scenario.number}`).toContain(`${block}.lastName`);
      expect(r.outcome.presentFields, `#${r.scenario.number}`).toContain(`${block}.niss`);
      expect((r.outcome.presentFields ?? []).filter((f) => f.startsWith(`${block}.`) && !f.endsWith('.niss') && !f.endsWith('.sequenceNumber'))).toEqual([]);
    }
  });

  it('the quarterly lists: 15,998 entries delivered; the 800 of neighbouring quarters and the 2 of minors filtered out', () => {
    const lists = report.results.find((r) => r.outcome.lists)?.outcome.lists;
    expect(lists).toEqual({ statuses: Array(8).fill('OK'), delivered: 15_998, removed: 802, outsideQuarter: 0, underage: 0 });
  });
});
