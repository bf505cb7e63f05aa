/**
 * The Grafana dashboard and the Prometheus alert rules of ops/ name only metrics the gateway serves:
 * the real registry of src/observability/metrics.ts, served over HTTP by the gateway's own endpoint, is
 * read like Prometheus reads it, and every metric name in every PromQL expression must be among them
 * (a histogram serves `_bucket`, `_sum` and `_count`). A renamed metric breaks a panel or silences an
 * alert without any error anywhere else: this test is where it shows.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { PROJECT_ROOT } from '../../src/config/project-paths.js';
import { silentLogger } from '../../src/logging/logger.js';
import { createPrometheusMetrics, METRIC, startHealthServer } from '../../src/observability/metrics.js';

/** Series Prometheus adds itself to every scrape target. */
const PROMETHEUS_SERIES = new Set(['up', 'scrape_duration_seconds', 'scrape_samples_scraped']);
const PROMQL_WORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan']);

/** The metric names a PromQL expression reads (labels, functions, keywords and Grafana variables left out). */
function metricNamesIn(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\$\{?\w+\}?/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const match of bare.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*(\s*\()?/g)) {
    const [token, call] = [match[0].replace(/\s*\($/, ''), match[1]];
    if (call || PROMQL_WORDS.has(token.toLowerCase()) || /^\d/.test(token)) continue;
    names.add(token);
  }
  return [...names];
}

/** The series names a Prometheus text exposition serves, from its `# TYPE` lines. */
function servedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${name}${suffix}`);
    else if (type === 'summary') for (const suffix of ['', '_sum', '_count']) names.add(`${name}${suffix}`);
    else names.add(name as string);
  }
  return names;
}

function dashboardExpressions(): string[] {
  const dashboard = JSON.parse(readFileSync(join(PROJECT_ROOT, 'ops', 'grafana', 'bcss-gateway-dashboard.json'), 'utf8')) as {
    panels: Array<{ targets?: Array<{ expr: string }>; panels?: Array<{ targets?: Array<{ expr: string }> }> }>;
  };
  return dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]).flatMap((p) => (p.targets ?? []).map((t) => t.expr));
}

function alertExpressions(): string[] {
  const rules = parse(readFileSync(join(PROJECT_ROOT, 'ops', 'prometheus', 'alerts.yml'), 'utf8')) as {
    groups: Array<{ rules: Array<{ alert: string; expr: string }> }>;
  };
  return rules.groups.flatMap((g) => g.rules.map((r) => r.expr));
}

describe('the dashboard and the alert rules name only metrics /metrics serves', () => {
  let served = new Set<string>();
  let close = async () => undefined as void;

  beforeAll(async () => {
    const metrics = createPrometheusMetrics({ services: ['dmfa'] });
    const server = await startHealthServer({ port: 0, registry: metrics.registry, health: { ready: async () => ({ ready: true, checks: {} }) }, logger: silentLogger });
    close = server.close;
    metrics.answered('dmfa', 'OK', 12);
    metrics.deadLettered('BAD_MARKER');
    metrics.sealProgress.sealedUpTo(0, 1n, Date.now());
    const text = await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text();
    served = servedNames(text);
  });
  afterAll(() => close());

  it('serves every application metric of METRIC and the standard Node.js ones', () => {
    for (const name of Object.values(METRIC)) {
      expect(served.has(name) || served.has(`${name}_bucket`), name).toBe(true);
    }
    expect(served.has('process_cpu_seconds_total')).toBe(true);
    expect(served.has('nodejs_eventloop_lag_p99_seconds')).toBe(true);
  });

  it('finds the metric names of an expression, and flags one that is not served', () => {
    expect(metricNamesIn('histogram_quantile(0.99, sum by (le) (rate(bcss_exchange_duration_seconds_bucket{job=~"$job"}[$__rate_interval])))')).toEqual([
      'bcss_exchange_duration_seconds_bucket',
    ]);
    expect(metricNamesIn('max by (partition) (a_total) > 2 and on() up{job="x"} == 1')).toEqual(['a_total', 'up']);
    expect(metricNamesIn('rate(bcss_not_a_metric_total[5m])').filter((n) => !served.has(n))).toEqual(['bcss_not_a_metric_total']);
  });

  it.each([
    ['ops/grafana/bcss-gateway-dashboard.json', dashboardExpressions],
    ['ops/prometheus/alerts.yml', alertExpressions],
  ])('%s', (_file, expressions) => {
    const all = expressions();
    expect(all.length).toBeGreaterThan(5);
    const unknown = all.flatMap((expr) => metricNamesIn(expr).filter((n) => !served.has(n) && !PROMETHEUS_SERIES.has(n)).map((n) => `${n} in ${expr}`));
    expect(unknown).toEqual([]);
    // Every expression reads at least one metric (a typo in a function name would read none).
    expect(all.filter((expr) => metricNamesIn(expr).length === 0)).toEqual([]);
  });
});
