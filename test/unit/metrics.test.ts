import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/logging/logger.js';
import { LagClock } from '../../src/observability/lag-clock.js';
import { createPrometheusMetrics, METRIC, NO_METRICS, startHealthServer, type HealthState } from '../../src/observability/metrics.js';
import { deadLetterReasonOf, observedPipeline } from '../../src/observability/pipeline-metrics.js';
import { bridgedLevel } from '../../src/messaging/kafka/log-creator.js';

describe('metrics and health endpoints', () => {
  const servers: Array<{ close(): Promise<void> }> = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  async function serve(health: HealthState) {
    const metrics = createPrometheusMetrics({ services: ['dmfa'] });
    const server = await startHealthServer({ port: 0, registry: metrics.registry, health, logger: silentLogger });
    servers.push(server);
    if (server.port === null) throw new Error('no port');
    return { metrics, base: `http://127.0.0.1:${server.port}` };
  }

  it('exposes answers by service and outcome, latencies as a histogram, and the gauges, in Prometheus text', async () => {
    const { metrics, base } = await serve({ ready: async () => ({ ready: true, checks: {} }) });
    metrics.answered('dmfa', 'OK', 12);
    metrics.answered('dmfa', 'OK', 40);
    metrics.answered('dmfa', 'NOT_INTEGRATED', 2);
    metrics.forwarded('dmfa');
    metrics.pendingExchanges.set(3);
    const response = await fetch(`${base}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const text = await response.text();
    expect(text).toContain('bcss_requests_answered_total{service="dmfa",outcome="OK"} 2');
    expect(text).toContain('bcss_requests_answered_total{service="dmfa",outcome="NOT_INTEGRATED"} 1');
    // 12 ms and 40 ms: both at most 0.05 s, only the first at most 0.025 s.
    expect(text).toContain('bcss_exchange_duration_seconds_bucket{le="0.025",service="dmfa",outcome="OK"} 1');
    expect(text).toContain('bcss_exchange_duration_seconds_bucket{le="0.05",service="dmfa",outcome="OK"} 2');
    expect(text).toContain('bcss_requests_forwarded_total{service="dmfa"} 1');
    expect(text).toContain('bcss_pending_exchanges 3');
  });

  it('labels a service the catalogue does not know as unknown: a sender cannot add time series', async () => {
    const { metrics, base } = await serve({ ready: async () => ({ ready: true, checks: {} }) });
    for (let i = 0; i < 500; i += 1) metrics.answered(`invented-${i}-${'x'.repeat(200)}`, 'UNKNOWN_SERVICE', 1);
    metrics.answered('', 'SENDER_MISMATCH', 1);
    metrics.forwarded('not-in-catalogue');
    metrics.mutationDelivered('not-in-catalogue', 'BLOCKS');
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).not.toContain('invented-');
    expect(text).not.toContain('not-in-catalogue');
    expect(text).toContain('bcss_requests_answered_total{service="unknown",outcome="UNKNOWN_SERVICE"} 500');
    expect(text).toContain('bcss_requests_answered_total{service="unknown",outcome="SENDER_MISMATCH"} 1');
    expect(text).toContain('bcss_requests_forwarded_total{service="unknown"} 1');
    expect(text).toContain('bcss_mutations_delivered_total{service="unknown",form="BLOCKS"} 1');
    const answeredSeries = text.split('\n').filter((line) => line.startsWith('bcss_requests_answered_total{'));
    expect(answeredSeries).toHaveLength(2);
  });

  it('answers /healthz while alive and /readyz 503 until ready, naming the failing checks', async () => {
    let ready = false;
    const { base } = await serve({ ready: async () => ({ ready, checks: { kafka: ready, redis: true } }) });
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const notReady = await fetch(`${base}/readyz`);
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toEqual({ ready: false, checks: { kafka: false, redis: true } });
    ready = true;
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    expect((await fetch(`${base}/nothing`)).status).toBe(404);
    expect((await fetch(`${base}/metrics`, { method: 'POST' })).status).toBe(405);
  });

  it('does not fail when the port is taken: the second server serves nothing and says so', async () => {
    const first = await serve({ ready: async () => ({ ready: true, checks: {} }) });
    const port = Number(new URL(first.base).port);
    const second = await startHealthServer({
      port,
      registry: createPrometheusMetrics({ services: [] }).registry,
      health: { ready: async () => ({ ready: true, checks: {} }) },
      logger: silentLogger,
    });
    servers.push(second);
    expect(second.port).toBeNull();
  });

  it('serves prom-client default metrics under their standard names, with no prefix', async () => {
    const { base } = await serve({ ready: async () => ({ ready: true, checks: {} }) });
    const text = await (await fetch(`${base}/metrics`)).text();
    for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_seconds']) {
      expect(text).toMatch(new RegExp(`^${name}(\\{[^}]*\\})? `, 'm'));
    }
    expect(text).not.toContain('bcss_process_');
  });

  it('counts dead letters by typed reason only, rebalances and aborts by group, retried Kafka errors by type', async () => {
    const { metrics, base } = await serve({ ready: async () => ({ ready: true, checks: {} }) });
    metrics.deadLettered('BAD_MARKER');
    metrics.deadLettered(deadLetterReasonOf('<script>invented</script>'));
    metrics.deadLettered('not-a-reason' as never);
    metrics.rebalanced('t.gateway.requests');
    metrics.transactionAborted('t.gateway.requests');
    metrics.kafkaRetried('CONCURRENT_TRANSACTIONS');
    metrics.kafkaRetried('a message: with spaces');
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).toContain(`${METRIC.deadLetters}{reason="BAD_MARKER"} 1`);
    expect(text).toContain(`${METRIC.deadLetters}{reason="unknown"} 2`);
    expect(text).not.toContain('invented');
    expect(text).toContain(`${METRIC.consumerRebalances}{group="t.gateway.requests"} 1`);
    expect(text).toContain(`${METRIC.transactionsAborted}{group="t.gateway.requests"} 1`);
    expect(text).toContain(`${METRIC.kafkaRetriedErrors}{error="CONCURRENT_TRANSACTIONS"} 1`);
    expect(text).toContain(`${METRIC.kafkaRetriedErrors}{error="unknown"} 1`);
  });

  it('replaces the lag series per group, topic and partition at each sample', async () => {
    const { metrics, base } = await serve({ ready: async () => ({ ready: true, checks: {} }) });
    metrics.setConsumerLag([
      { group: 'g', topic: 'a', partition: 0, messages: 5, seconds: 12.5 },
      { group: 'g', topic: 'a', partition: 1, messages: 0, seconds: 0 },
    ]);
    metrics.setConsumerLag([{ group: 'g', topic: 'a', partition: 1, messages: 2, seconds: 3 }]);
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).toContain(`${METRIC.consumerLagMessages}{group="g",topic="a",partition="1"} 2`);
    expect(text).toContain(`${METRIC.consumerLagSeconds}{group="g",topic="a",partition="1"} 3`);
    expect(text).not.toContain('partition="0"');
  });

  it('reports the audit records not sealed yet and the age of the last seal, per partition', async () => {
    const { metrics, base } = await serve({ ready: async () => ({ ready: true, checks: {} }) });
    metrics.setAuditLogEnds([{ partition: 0, high: '100' }]);
    expect(await (await fetch(`${base}/metrics`)).text()).not.toMatch(new RegExp(`^${METRIC.auditUnsealedRecords}\\{`, 'm'));
    metrics.sealProgress.sealedUpTo(0, 40n, Date.now() - 30_000);
    metrics.sealProgress.sealedUpTo(1, 0n, null);
    metrics.setAuditLogEnds([
      { partition: 0, high: '100' },
      { partition: 1, high: '7' },
    ]);
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).toContain(`${METRIC.auditUnsealedRecords}{partition="0"} 60`);
    expect(text).toContain(`${METRIC.auditUnsealedRecords}{partition="1"} 7`);
    const age = Number(new RegExp(`^${METRIC.auditLastSealAge}\\{partition="0"\\} (\\S+)`, 'm').exec(text)?.[1]);
    expect(age).toBeGreaterThanOrEqual(30);
    expect(age).toBeLessThan(40);
    expect(text).not.toContain(`${METRIC.auditLastSealAge}{partition="1"}`);
  });
});

describe('pipeline metrics', () => {
  it('counts the dead letters a chunk writes, by the reason header, and reports rebalances and aborts of its group', async () => {
    const seen: string[] = [];
    const metrics = {
      ...NO_METRICS,
      deadLettered: (reason: string) => void seen.push(`dead:${reason}`),
      rebalanced: (group: string) => void seen.push(`join:${group}`),
      transactionAborted: (group: string) => void seen.push(`abort:${group}`),
    };
    const observed = observedPipeline(metrics, {
      group: 'g',
      deadLetterTopic: 'dl',
      transform: async () => ({
        records: [
          { topic: 'dl', value: Buffer.from('x'), headers: { reason: 'UNROUTABLE' } },
          { topic: 'dl', value: Buffer.from('x'), headers: { reason: 'made-up' } },
          { topic: 'replies', value: Buffer.from('x'), headers: { reason: 'BAD_MARKER' } },
        ],
      }),
    });
    await observed.transform([]);
    observed.events.rebalanced();
    observed.events.aborted();
    expect(seen).toEqual(['dead:UNROUTABLE', 'dead:unknown', 'join:g', 'abort:g']);
  });
});

describe('consumer lag in seconds (LagClock)', () => {
  it('is the time since the log end first passed the committed offset, 0 once caught up', () => {
    const clock = new LagClock();
    expect(clock.observe('p', 10n, 10n, 0)).toBe(0);
    expect(clock.observe('p', 10n, 15n, 10_000)).toBe(0);
    expect(clock.observe('p', 10n, 20n, 20_000)).toBe(10);
    // The committed offset moved past the end seen at 10 s: the oldest unconsumed message came after it.
    expect(clock.observe('p', 16n, 25n, 30_000)).toBe(10);
    expect(clock.observe('p', 25n, 25n, 40_000)).toBe(0);
    expect(clock.observe('p', 25n, 26n, 50_000)).toBe(0);
    expect(clock.observe('p', 25n, 26n, 65_000)).toBe(15);
  });

  it('keeps a bounded history per partition and forgets partitions no longer sampled', () => {
    const clock = new LagClock(3);
    for (let i = 1; i <= 10; i++) clock.observe('p', 0n, BigInt(i), i * 1_000);
    // Only the last three samples (8, 9, 10 s) are kept: the lag reads from the oldest kept.
    expect(clock.observe('p', 0n, 11n, 11_000)).toBe(2);
    clock.retain(new Set());
    expect(clock.observe('p', 0n, 11n, 12_000)).toBe(0);
  });
});

describe('kafkajs log levels', () => {
  const ERROR = 1;
  it('demotes errors kafkajs retries by itself, naming their protocol type', () => {
    const concurrent = 'The producer attempted to update a transaction while another concurrent operation on the same transaction was ongoing';
    expect(bridgedLevel(ERROR, 'Response AddPartitionsToTxn(key: 24, version: 1)', { error: concurrent })).toEqual({ level: 'debug', retried: 'CONCURRENT_TRANSACTIONS' });
    expect(bridgedLevel(ERROR, "Crash: KafkaJSProtocolError: The coordinator is loading and hence can't process requests for this group", {})).toEqual({
      level: 'debug',
      retried: 'GROUP_LOAD_IN_PROGRESS',
    });
    expect(bridgedLevel(ERROR, 'Response Metadata(key: 3, version: 6)', { error: 'There is no leader for this topic-partition as we are in the middle of a leadership election' })).toEqual({
      level: 'warn',
      retried: 'LEADER_NOT_AVAILABLE',
    });
    expect(bridgedLevel(ERROR, 'Restarting the consumer in 300ms', {})).toEqual({ level: 'warn' });
    // ensureTopics decides: it lists the topics and fails if one is missing.
    expect(bridgedLevel(ERROR, 'Response CreateTopics(key: 19, version: 3)', { error: 'Topic creation errors' })).toEqual({ level: 'warn' });
    expect(bridgedLevel(ERROR, 'Response DeleteTopics(key: 20, version: 1)', { error: 'Topic creation errors' })).toEqual({ level: 'error' });
  });

  it('keeps at error what kafkajs does not retry, and what it cannot name', () => {
    const fenced = "Producer attempted an operation with an old epoch. Either there is a newer producer with the same transactionalId, or the producer's transaction has been expired by the broker";
    expect(bridgedLevel(ERROR, 'Response EndTxn(key: 26, version: 1)', { error: fenced })).toEqual({ level: 'error' });
    expect(bridgedLevel(ERROR, 'Crash: KafkaJSNonRetriableError: something else', {})).toEqual({ level: 'error' });
    expect(bridgedLevel(ERROR, 'Response Produce(key: 0, version: 7)', { error: 'Not authorized to access topics: [Topic authorization failed]' })).toEqual({ level: 'error' });
  });
});
