import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/logging/logger.js';
import { createPrometheusMetrics, startHealthServer, type HealthState } from '../../src/observability/metrics.js';

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
});
