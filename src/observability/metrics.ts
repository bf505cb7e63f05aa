import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Logger } from '../logging/logger.js';

/**
 * What the pipelines report, as a small interface so that they do not depend on prom-client. Counts
 * are taken when an answer is produced, before its transaction commits: a chunk that aborts and runs
 * again is counted twice. Metrics are for operators; the audit trail is the exact record.
 */
export interface GatewayMetrics {
  /** One answer to a request: OK or a refusal code; latency from receipt to answer. */
  answered(service: string, outcome: string, latencyMs: number): void;
  forwarded(service: string): void;
  mutationDelivered(service: string, form: string): void;
  /** Request intake paused because too many exchanges wait for their sources. */
  intakePaused(): void;
}

export const UNKNOWN_SERVICE_LABEL = 'unknown';

export const NO_METRICS: GatewayMetrics = {
  answered: () => undefined,
  forwarded: () => undefined,
  mutationDelivered: () => undefined,
  intakePaused: () => undefined,
};

export interface PrometheusMetrics extends GatewayMetrics {
  readonly registry: Registry;
  readonly pendingExchanges: Gauge;
  readonly consumerLag: Gauge;
  readonly directoryPersons: Gauge;
}

/**
 * Label values come from the catalogue, never from a message: a request naming a service the switch
 * does not know is counted under `unknown`. A label taken from input would make one time series per
 * distinct string a sender invents — memory without bound, and that string exposed on /metrics.
 */
export function createPrometheusMetrics(options: { services: Iterable<string> }): PrometheusMetrics {
  const known = new Set(options.services);
  const serviceLabel = (service: string) => (known.has(service) ? service : UNKNOWN_SERVICE_LABEL);
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'bcss_process_' });
  const answers = new Counter({
    name: 'bcss_requests_answered_total',
    help: 'Requests answered, by service and outcome (OK or a refusal code).',
    labelNames: ['service', 'outcome'],
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'bcss_exchange_duration_seconds',
    help: 'From the switch reading a request to its answer, by service and outcome.',
    labelNames: ['service', 'outcome'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });
  const forwards = new Counter({
    name: 'bcss_requests_forwarded_total',
    help: 'Requests forwarded to an authentic source, by service.',
    labelNames: ['service'],
    registers: [registry],
  });
  const mutations = new Counter({
    name: 'bcss_mutations_delivered_total',
    help: 'Changes delivered to subscribers, by service and form (BLOCKS or NOTIFICATION).',
    labelNames: ['service', 'form'],
    registers: [registry],
  });
  const pauses = new Counter({
    name: 'bcss_intake_pauses_total',
    help: 'Times a requests partition was paused because the exchanges waiting for sources reached BCSS_MAX_PENDING.',
    registers: [registry],
  });
  const pendingExchanges = new Gauge({
    name: 'bcss_pending_exchanges',
    help: 'Exchanges forwarded to a source and not answered yet.',
    registers: [registry],
  });
  const consumerLag = new Gauge({
    name: 'bcss_consumer_lag_messages',
    help: 'Messages (and transaction markers) the gateway has yet to consume, by consumer group and topic.',
    labelNames: ['group', 'topic'],
    registers: [registry],
  });
  const directoryPersons = new Gauge({
    name: 'bcss_directory_persons',
    help: 'Persons with at least one integration line in Redis (sampled).',
    registers: [registry],
  });
  return {
    registry,
    pendingExchanges,
    consumerLag,
    directoryPersons,
    answered(service, outcome, latencyMs) {
      const labels = { service: serviceLabel(service), outcome };
      answers.inc(labels);
      latency.observe(labels, latencyMs / 1000);
    },
    forwarded: (service) => forwards.inc({ service: serviceLabel(service) }),
    mutationDelivered: (service, form) => mutations.inc({ service: serviceLabel(service), form }),
    intakePaused: () => pauses.inc(),
  };
}

export interface HealthState {
  /** Liveness: the process answers. Readiness: the pipelines run and Kafka and Redis answered recently. */
  ready(): Promise<{ ready: boolean; checks: Record<string, boolean | string> }>;
}

/**
 * `/metrics` (Prometheus text format), `/healthz` (alive) and `/readyz` (able to serve). A port in use
 * is logged, not fatal: a second gateway on the same machine still serves, without its endpoints.
 */
export async function startHealthServer(options: {
  port: number;
  host?: string;
  registry: Registry;
  health: HealthState;
  logger: Logger;
}): Promise<{ port: number | null; close(): Promise<void> }> {
  const log = options.logger.child({ module: 'http' });
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    if (req.method !== 'GET') return send(405, 'text/plain', 'method not allowed\n');
    if (path === '/healthz') return send(200, 'application/json', '{"status":"alive"}\n');
    if (path === '/readyz') {
      options.health
        .ready()
        .then((state) => send(state.ready ? 200 : 503, 'application/json', `${JSON.stringify(state)}\n`))
        .catch(() => send(503, 'application/json', '{"ready":false}\n'));
      return;
    }
    if (path === '/metrics') {
      options.registry
        .metrics()
        .then((text) => send(200, options.registry.contentType, text))
        .catch(() => send(500, 'text/plain', 'metrics unavailable\n'));
      return;
    }
    send(404, 'text/plain', 'not found: /metrics, /healthz, /readyz\n');
  });
  const port = await new Promise<number | null>((resolve) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      log.warn({ port: options.port, code: error.code }, 'metrics and health endpoints not served: the port is unavailable');
      resolve(null);
    });
    server.listen(options.port, options.host ?? '127.0.0.1', () => {
      const address = server.address();
      resolve(typeof address === 'object' && address !== null ? address.port : options.port);
    });
  });
  return {
    port,
    close: () => new Promise<void>((resolve) => (port === null ? resolve() : server.close(() => resolve()))),
  };
}
