import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { DeadLetterReason } from '../contract/dead-letters.js';
import type { Logger } from '../logging/logger.js';

/**
 * Every metric name the gateway serves (besides prom-client's default process and Node.js metrics,
 * served under their standard names), in one place: the dashboard, the alert rules and the console
 * refer to these. Application metrics keep the `bcss_` prefix, units in the name, `_total` on counters.
 */
export const METRIC = {
  requestsAnswered: 'bcss_requests_answered_total',
  exchangeDuration: 'bcss_exchange_duration_seconds',
  requestsForwarded: 'bcss_requests_forwarded_total',
  mutationsDelivered: 'bcss_mutations_delivered_total',
  intakePauses: 'bcss_intake_pauses_total',
  pendingExchanges: 'bcss_pending_exchanges',
  consumerLagMessages: 'bcss_consumer_lag_messages',
  consumerLagSeconds: 'bcss_consumer_lag_seconds',
  directoryPersons: 'bcss_directory_persons',
  deadLetters: 'bcss_dead_letters_total',
  auditUnsealedRecords: 'bcss_audit_unsealed_records',
  auditLastSealAge: 'bcss_audit_last_seal_age_seconds',
  consumerRebalances: 'bcss_consumer_rebalances_total',
  transactionsAborted: 'bcss_transactions_aborted_total',
  kafkaRetriedErrors: 'bcss_kafka_retried_errors_total',
  gatewayReady: 'bcss_gateway_ready',
} as const;

/** Every value `DeadLetterReason` can take: the only values of the dead letters' `reason` label. */
export const DEAD_LETTER_REASONS = [
  'TRUNCATED',
  'BAD_MARKER',
  'UNKNOWN_FINGERPRINT',
  'INCOMPATIBLE_SCHEMA',
  'MALFORMED_BODY',
  'INVALID_VALUE',
  'UNROUTABLE',
  'INTERNAL_ERROR',
  'WRONG_SOURCE',
  'INVALID_NISS',
  'INVALID_EMPLOYER_ID',
] as const satisfies readonly DeadLetterReason[];
// Fails to compile when DeadLetterReason gains a value this list lacks.
const EVERY_REASON_LISTED: [Exclude<DeadLetterReason, (typeof DEAD_LETTER_REASONS)[number]>] extends [never] ? true : never = true;
void EVERY_REASON_LISTED;

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
  /** A message written to the dead-letter topic, by its typed reason (any other value is counted as `unknown`). */
  deadLettered(reason: DeadLetterReason | typeof UNKNOWN_LABEL): void;
  /** A consumer of `group` joined its group (each join is a rebalance of the group). */
  rebalanced(group: string): void;
  /** A transaction of `group`'s pipeline was aborted (its chunk is consumed again). */
  transactionAborted(group: string): void;
}

export const UNKNOWN_SERVICE_LABEL = 'unknown';
/** The label of a value outside a bounded set (a reason, an error type). */
export const UNKNOWN_LABEL = 'unknown';

export const NO_METRICS: GatewayMetrics = {
  answered: () => undefined,
  forwarded: () => undefined,
  mutationDelivered: () => undefined,
  intakePaused: () => undefined,
  deadLettered: () => undefined,
  rebalanced: () => undefined,
  transactionAborted: () => undefined,
};

/** How far the audit sealer has come (src/audit/sealer.ts reports it; the gateway monitor turns it into lag). */
export interface SealProgress {
  /**
   * Partition `partition` of the audit trail is sealed up to `nextOffset` (excluded); its last seal was
   * made at `sealedAt` (epoch ms; null: no seal yet).
   */
  sealedUpTo(partition: number, nextOffset: bigint, sealedAt: number | null): void;
}

/** One partition's lag, as the gateway monitor samples it. */
export interface ConsumerLagSample {
  readonly group: string;
  readonly topic: string;
  readonly partition: number;
  readonly messages: number;
  readonly seconds: number;
}

export interface PrometheusMetrics extends GatewayMetrics {
  readonly registry: Registry;
  readonly pendingExchanges: Gauge;
  readonly consumerLag: Gauge;
  readonly directoryPersons: Gauge;
  /** 1 when /readyz would answer 200, else 0 (set by the gateway monitor each round). */
  readonly gatewayReady: Gauge;
  readonly sealProgress: SealProgress;
  /** Replaces every lag series with these (a partition or group gone disappears from /metrics). */
  setConsumerLag(samples: readonly ConsumerLagSample[]): void;
  /**
   * The audit trail's log ends: unsealed records per partition are the end minus the sealer's position
   * (transaction markers included, so an idle trail shows a few). Ignored until the sealer reported.
   */
  setAuditLogEnds(ends: ReadonlyArray<{ readonly partition: number; readonly high: string }>): void;
  /** kafkajs retried a request by itself after this protocol error type (see messaging/kafka/log-creator.ts). */
  kafkaRetried(errorType: string): void;
}

/** Kafka's protocol error types are upper-case words: anything else is not one, and is not a label. */
const ERROR_TYPE = /^[A-Z][A-Z_]{0,63}$/;

/**
 * Label values come from the catalogue, never from a message: a request naming a service the switch
 * does not know is counted under `unknown`. A label taken from input would make one time series per
 * distinct string a sender invents — memory without bound, and that string exposed on /metrics. The
 * other labels come from bounded sets in the code (dead-letter reasons, Kafka's error types) or from
 * the topology (groups, topics, partitions).
 */
export function createPrometheusMetrics(options: { services: Iterable<string> }): PrometheusMetrics {
  const known = new Set(options.services);
  const serviceLabel = (service: string) => (known.has(service) ? service : UNKNOWN_SERVICE_LABEL);
  const reasons = new Set<string>(DEAD_LETTER_REASONS);
  const registry = new Registry();
  // Standard names (process_cpu_seconds_total, nodejs_heap_size_used_bytes, ...): the stock Node.js
  // dashboards query them, and a prefix breaks them.
  collectDefaultMetrics({ register: registry });
  const answers = new Counter({
    name: METRIC.requestsAnswered,
    help: 'Requests answered, by service and outcome (OK or a refusal code).',
    labelNames: ['service', 'outcome'],
    registers: [registry],
  });
  const latency = new Histogram({
    name: METRIC.exchangeDuration,
    help: 'From the switch reading a request to its answer, by service and outcome.',
    labelNames: ['service', 'outcome'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });
  const forwards = new Counter({
    name: METRIC.requestsForwarded,
    help: 'Requests forwarded to an authentic source, by service.',
    labelNames: ['service'],
    registers: [registry],
  });
  const mutations = new Counter({
    name: METRIC.mutationsDelivered,
    help: 'Changes delivered to subscribers, by service and form (BLOCKS or NOTIFICATION).',
    labelNames: ['service', 'form'],
    registers: [registry],
  });
  const pauses = new Counter({
    name: METRIC.intakePauses,
    help: 'Times a requests partition was paused because the exchanges waiting for sources reached BCSS_MAX_PENDING.',
    registers: [registry],
  });
  const pendingExchanges = new Gauge({
    name: METRIC.pendingExchanges,
    help: 'Exchanges forwarded to a source and not answered yet.',
    registers: [registry],
  });
  const consumerLag = new Gauge({
    name: METRIC.consumerLagMessages,
    help: 'Messages (and transaction markers) the gateway has yet to consume, by consumer group, topic and partition.',
    labelNames: ['group', 'topic', 'partition'],
    registers: [registry],
  });
  const consumerLagSeconds = new Gauge({
    name: METRIC.consumerLagSeconds,
    help: 'How long the committed offset has been behind the log end, by consumer group, topic and partition (0: caught up; resolution: the monitor interval).',
    labelNames: ['group', 'topic', 'partition'],
    registers: [registry],
  });
  const directoryPersons = new Gauge({
    name: METRIC.directoryPersons,
    help: 'Persons with at least one integration line in Redis (sampled).',
    registers: [registry],
  });
  const deadLetters = new Counter({
    name: METRIC.deadLetters,
    help: 'Messages written to the dead-letter topic, by reason (DeadLetterReason).',
    labelNames: ['reason'],
    registers: [registry],
  });
  const rebalances = new Counter({
    name: METRIC.consumerRebalances,
    help: 'Consumer group joins (rebalances) seen by this process, by consumer group.',
    labelNames: ['group'],
    registers: [registry],
  });
  const aborts = new Counter({
    name: METRIC.transactionsAborted,
    help: 'Pipeline transactions aborted (the chunk is consumed again), by consumer group.',
    labelNames: ['group'],
    registers: [registry],
  });
  const retried = new Counter({
    name: METRIC.kafkaRetriedErrors,
    help: 'Kafka errors the client retried by itself (logged at warn or debug, not error), by protocol error type.',
    labelNames: ['error'],
    registers: [registry],
  });
  const gatewayReady = new Gauge({
    name: METRIC.gatewayReady,
    help: 'Whether the gateway is ready (as /readyz): 1 yes, 0 no.',
    registers: [registry],
  });
  const sealed = new Map<number, { nextOffset: bigint; sealedAt: number | null }>();
  const unsealed = new Gauge({
    name: METRIC.auditUnsealedRecords,
    help: 'Audit records (and transaction markers) written and not yet covered by a seal, by audit partition.',
    labelNames: ['partition'],
    registers: [registry],
  });
  new Gauge({
    name: METRIC.auditLastSealAge,
    help: 'Seconds since the last seal of each audit partition (absent before its first seal).',
    labelNames: ['partition'],
    registers: [registry],
    collect() {
      this.reset();
      const now = Date.now();
      for (const [partition, { sealedAt }] of sealed) {
        if (sealedAt !== null) this.set({ partition: String(partition) }, Math.max(0, (now - sealedAt) / 1000));
      }
    },
  });
  return {
    registry,
    pendingExchanges,
    consumerLag,
    directoryPersons,
    gatewayReady,
    answered(service, outcome, latencyMs) {
      const labels = { service: serviceLabel(service), outcome };
      answers.inc(labels);
      latency.observe(labels, latencyMs / 1000);
    },
    forwarded: (service) => forwards.inc({ service: serviceLabel(service) }),
    mutationDelivered: (service, form) => mutations.inc({ service: serviceLabel(service), form }),
    intakePaused: () => pauses.inc(),
    deadLettered: (reason) => deadLetters.inc({ reason: reasons.has(reason) ? reason : UNKNOWN_LABEL }),
    rebalanced: (group) => rebalances.inc({ group }),
    transactionAborted: (group) => aborts.inc({ group }),
    kafkaRetried: (errorType) => retried.inc({ error: ERROR_TYPE.test(errorType) ? errorType : UNKNOWN_LABEL }),
    sealProgress: {
      sealedUpTo(partition, nextOffset, sealedAt) {
        const before = sealed.get(partition);
        sealed.set(partition, { nextOffset, sealedAt: sealedAt ?? before?.sealedAt ?? null });
      },
    },
    setConsumerLag(samples) {
      consumerLag.reset();
      consumerLagSeconds.reset();
      for (const s of samples) {
        const labels = { group: s.group, topic: s.topic, partition: String(s.partition) };
        consumerLag.set(labels, s.messages);
        consumerLagSeconds.set(labels, s.seconds);
      }
    },
    setAuditLogEnds(ends) {
      for (const { partition, high } of ends) {
        const at = sealed.get(partition);
        if (at) unsealed.set({ partition: String(partition) }, Math.max(0, Number(BigInt(high) - at.nextOffset)));
      }
    },
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
