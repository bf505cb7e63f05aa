/**
 * The whole switch (`launchSwitch`: topics, ACLs, gateway, source simulators, sample directory, audit
 * sealer, metrics endpoint) on the running stack under an isolated prefix, for about 20 s of requests:
 * - a healthy run writes no error-level line (pino level 50 or above), kafkajs's retried responses
 *   included — an alert on error lines must mean that a person is needed;
 * - the new metrics move on the real code paths: answers, consumer lag per partition in messages and
 *   seconds, rebalances, dead letters by reason, sealer lag and the standard process metrics.
 */
import { Writable } from 'node:stream';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchSwitch, type LaunchedSwitch } from '../../src/app/launch.js';
import { createRuntime, type Runtime } from '../../src/app/runtime.js';
import { loadSettings } from '../../src/app/settings.js';
import { createExchangeClient, type ExchangeClient } from '../../src/client/exchange-client.js';
import { demoScenarios } from '../../src/demo/scenarios.js';
import { createLogger } from '../../src/logging/logger.js';
import { METRIC } from '../../src/observability/metrics.js';
import { principalConnection, principalPasswordVariable } from '../../src/stack/principal-connection.js';
import { uniqueName } from '../support/kafka-helpers.js';
import { removeSwitchLeftovers } from '../support/prefix-cleanup.js';
import { testStack } from '../support/stack-context.js';

const RUN_MS = 20_000;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** The value of one series of the Prometheus text, or undefined when it is not served. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const match = /^([a-z_:]+)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const present = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => present[k] === v)) return Number(match[3]);
  }
  return undefined;
}

describe('a healthy run of the switch: no error lines, and its metrics move', () => {
  const stack = testStack();
  const prefix = uniqueName('obs');
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const logger = createLogger({ level: 'info', destination });
  let runtime: Runtime | undefined;
  let launched: LaunchedSwitch | undefined;
  let client: ExchangeClient | undefined;
  let metricsText = '';
  let answered = 0;

  beforeAll(async () => {
    const env: Record<string, string | undefined> = { ...process.env, BCSS_TOPIC_PREFIX: prefix, BCSS_REDIS_PREFIX: prefix, BCSS_HTTP_PORT: String(await freePort()) };
    if (stack.mode === 'containers') {
      env.KAFKA_BROKERS = stack.kafka.brokers.join(',');
      env.REDIS_URL = stack.redisUrl;
      env.KAFKA_SASL_USERNAME = stack.kafka.sasl?.username;
      env.KAFKA_SASL_PASSWORD = stack.kafka.sasl?.password;
      for (const [principal, password] of Object.entries(stack.credentials?.principals ?? {})) env[principalPasswordVariable(principal)] = password;
    }
    const settings = loadSettings(env);
    runtime = await createRuntime({ startStack: false, logger, settings });
    launched = await launchSwitch(runtime, { simulators: true, sampleDirectory: true, acl: true, sealer: runtime.source === 'local stack', console: runtime.source === 'local stack' });
    const scenarios = demoScenarios({ today: new Date().toISOString().slice(0, 10) as never }).flatMap((s) =>
      s.send.kind === 'request' && s.consultation === undefined ? [{ requester: s.requester, input: s.send.input }] : [],
    );
    const requester = scenarios[0]?.requester as string;
    client = await createExchangeClient({
      connection: principalConnection(requester, { settings }),
      institution: requester,
      channel: 'replies',
      principal: requester,
      topics: runtime.topics,
      codec: runtime.codec,
      logger,
      defaultTimeoutMs: 30_000,
    });
    // Bytes that are no request at all: a dead letter (BAD_MARKER) on a real code path.
    const producer = await runtime.clientFor(requester).producer();
    await producer.send(runtime.topics.requests(requester), [{ key: 'x', value: Buffer.from('not avro at all') }]);
    await producer.disconnect();
    const own = scenarios.filter((s) => s.requester === requester);
    const until = Date.now() + RUN_MS;
    for (let n = 0; Date.now() < until; n++) {
      await client.request((own[n % own.length] as (typeof own)[number]).input);
      answered++;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // The monitor samples every 10 s: one more round after the last requests.
    await new Promise((resolve) => setTimeout(resolve, 10_500));
    metricsText = await (await fetch(`http://127.0.0.1:${launched.httpPort}/metrics`)).text();
  }, 150_000);

  afterAll(async () => {
    await client?.close().catch(() => undefined);
    await launched?.stop();
    await removeSwitchLeftovers(stack, prefix);
  }, 60_000);

  it('served requests for the whole run', () => {
    expect(answered).toBeGreaterThan(20);
    const total = metricsText
      .split('\n')
      .filter((l) => l.startsWith(`${METRIC.requestsAnswered}{`))
      .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
    expect(total).toBeGreaterThanOrEqual(answered);
  });

  it('logged no line at error level or above', () => {
    const errors = lines.filter((l) => Number(l.level) >= 50).map((l) => ({ module: l.module, msg: l.msg, error: l.error, err: l.err }));
    expect(lines.length).toBeGreaterThan(10);
    expect(errors).toEqual([]);
  });

  it('moves the new metrics on their real code paths', () => {
    const requests = `${prefix}.gateway.requests`;
    const lagSeries = metricsText.split('\n').filter((l) => l.startsWith(`${METRIC.consumerLagMessages}{group="${requests}"`));
    expect(lagSeries.length).toBeGreaterThan(0);
    expect(lagSeries.every((l) => /partition="\d+"/.test(l))).toBe(true);
    expect(metricsText).toMatch(new RegExp(`^${METRIC.consumerLagSeconds}\\{group="${requests.replace(/\./g, '\\.')}",topic="[^"]+",partition="\\d+"\\} `, 'm'));
    expect(sample(metricsText, METRIC.consumerRebalances, { group: requests })).toBeGreaterThanOrEqual(1);
    expect(sample(metricsText, METRIC.deadLetters, { reason: 'BAD_MARKER' })).toBe(1);
    expect(sample(metricsText, 'process_cpu_seconds_total')).toBeGreaterThan(0);
    expect(sample(metricsText, 'nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
  });

  it('reports the sealer: records not sealed yet and the age of the last seal', () => {
    if (runtime?.source !== 'local stack') return;
    expect(metricsText).toMatch(new RegExp(`^${METRIC.auditUnsealedRecords}\\{partition="\\d+"\\} \\d+`, 'm'));
    // The sealer seals every 10 s: after a 20 s run and a monitor round, every partition written to was sealed recently.
    const ages = [...metricsText.matchAll(new RegExp(`^${METRIC.auditLastSealAge}\\{partition="\\d+"\\} (\\S+)`, 'gm'))].map((m) => Number(m[1]));
    expect(ages.length).toBeGreaterThan(0);
    expect(Math.min(...ages)).toBeLessThan(30);
  });
});
