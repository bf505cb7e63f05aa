import { createDirectoryClient } from '../client/directory-client.js';
import type { DirectoryAckRecord } from '../contract/directory-records.js';
import { accessControlList, provisionAccessControl, userPrincipal } from '../gateway/access-control.js';
import { publishAuthorizations } from '../gateway/authorization-publisher.js';
import { DEFAULT_QUEUE_ALLOWANCE_MS, startGateway } from '../gateway/gateway.js';
import { diffTopics, formatTopicDrift } from '../gateway/topic-sync.js';
import { topicSpecs } from '../gateway/topology.js';
import type { Logger } from '../logging/logger.js';
import type { KafkaClient } from '../messaging/kafka-client.js';
import { SAMPLE_DIRECTORY, sampleDirectoryCommands } from '../sources/sample-directory.js';
import { startSourceSimulators } from '../sources/simulator-service.js';
import { createSyntheticPopulation } from '../sources/synthetic-population.js';
import { createPendingStore } from '../store/pending-store.js';
import { redisKeys } from '../store/keys.js';
import { startAuditSealer } from '../audit/sealer.js';
import { loadSealKey } from '../audit/seal-key.js';
import { startGatewayMonitor } from '../observability/gateway-monitor.js';
import { createPrometheusMetrics, startHealthServer } from '../observability/metrics.js';
import { onKafkaRetriedError } from '../messaging/kafka-client.js';
import { launchConsole } from './console-launch.js';
import type { Runtime } from './runtime.js';
import { sealKeySources } from './settings.js';

/**
 * Everything `bcss start` runs, as one call that `bcss demo` can reuse when no gateway is running:
 * topics, ACLs, the gateway, the source simulators and the sample directory. On the local stack every
 * part runs as its own principal, under the ACLs just provisioned.
 */
export interface LaunchOptions {
  readonly simulators: boolean;
  readonly sampleDirectory: boolean;
  readonly acl: boolean;
  /** Run the audit sealer (needs a seal key; on the local stack a development key is made). */
  readonly sealer: boolean;
  /** Serve the web console (BCSS_CONSOLE_PORT); default true. A switch the demo starts for itself has none. */
  readonly console?: boolean;
  readonly sourceTimeoutMs?: number;
}

export interface LaunchedSwitch {
  readonly sampleIntegrations: number;
  readonly sourceTimeoutMs: number;
  /** Where /metrics, /healthz and /readyz are served; null when off or the port was taken. */
  readonly httpPort: number | null;
  /** Where the web console is served (http://127.0.0.1:<port>); null when off. */
  readonly consolePort: number | null;
  stop(): Promise<void>;
}

export async function launchSwitch(runtime: Runtime, options: LaunchOptions): Promise<LaunchedSwitch> {
  const log = runtime.logger.child({ module: 'launch' });
  const local = runtime.source === 'local stack';
  const { settings } = runtime;
  const admin = await runtime.client.admin();
  try {
    const specs = topicSpecs(runtime.topics, runtime.institutions, { retention: settings.retention });
    const created = await admin.ensureTopics(specs);
    if (created.length > 0) log.info({ created: created.length }, 'topics created');
    // An existing topic keeps its configuration: say so when it is not what the switch expects.
    const drift = diffTopics(specs, await admin.describeTopics(specs.map((s) => s.topic)));
    if (drift.length > 0) {
      log.warn({ topics: drift.length, drift: formatTopicDrift(drift).slice(0, 20) }, 'topics whose configuration differs from what the switch expects: `bcss topics sync` corrects them');
    }
    if (options.acl) {
      const grants = accessControlList(runtime.topics, runtime.institutions);
      const { created: added, stale } = await provisionAccessControl(admin, grants, {
        prefix: runtime.topics.prefix,
        topics: specs.map((s) => s.topic),
        ...(runtime.kafka.sasl ? { protectedPrincipals: [userPrincipal(runtime.kafka.sasl.username)] } : {}),
      });
      log.info({ acls: grants.length, created: added }, 'ACLs provisioned from config/institutions.yaml');
      // A start only adds: removing rights is the operator's explicit step.
      if (stale.length > 0) log.warn({ stale: stale.length }, 'ACLs on the switch\'s names that config/institutions.yaml no longer grants: `bcss acl sync` removes them');
    }
  } finally {
    await admin.disconnect();
  }

  const clientFor = (principal: string): KafkaClient => (local ? runtime.clientFor(principal) : runtime.client);
  const redis = runtime.redis('background');
  const running: Array<{ stop(): Promise<void> }> = [];
  const stop = async () => {
    await Promise.all(running.splice(0).map((r) => r.stop().catch((error: unknown) => log.warn({ err: error }, 'stop failed'))));
    redis.disconnect();
  };
  try {
    const sourceTimeoutMs = options.sourceTimeoutMs ?? settings.gateway.sourceTimeoutMs;
    const metrics = createPrometheusMetrics({ services: runtime.catalogue.services.keys() });
    const unsubscribeRetried = onKafkaRetriedError(metrics.kafkaRetried);
    running.push({ stop: async () => unsubscribeRetried() });
    const directoryStore = runtime.directoryStore(redis);
    const pendingStore = createPendingStore(redis, redisKeys(runtime.redisPrefix));
    const gatewayClient = clientFor('gateway');
    const instanceName = `${runtime.topics.prefix}.gateway`;
    // What this gateway applies is published and every change of it audited, before it applies it.
    await publishAuthorizations({
      client: gatewayClient,
      codec: runtime.codec,
      topics: runtime.topics,
      deliberations: runtime.deliberations,
      logger: runtime.logger,
      instanceName,
    });
    running.push(
      await startGateway({
        client: gatewayClient,
        metrics,
        instanceName,
        codec: runtime.codec,
        topics: runtime.topics,
        catalogue: runtime.catalogue,
        deliberations: runtime.deliberations,
        payloadRecords: runtime.payloadRecords,
        directoryStore,
        pendingStore,
        logger: runtime.logger,
        sourceTimeoutMs,
        maxPending: settings.gateway.maxPending,
        answerDeadlineMs: settings.gateway.answerDeadlineMs ?? sourceTimeoutMs + DEFAULT_QUEUE_ALLOWANCE_MS,
      }),
    );
    const groups = ['requests', 'replies', 'mutations', 'directory-intake', 'directory-writer'].map((stage) => `${instanceName}.${stage}`);
    const monitor = startGatewayMonitor({
      client: gatewayClient,
      pending: pendingStore,
      directory: directoryStore,
      metrics,
      groups,
      ...(options.sealer ? { auditTopic: runtime.topics.audit } : {}),
      logger: runtime.logger,
    });
    running.push(monitor);
    const wantedPort = settings.gateway.httpPort;
    let httpPort: number | null = null;
    if (wantedPort !== null) {
      const http = await startHealthServer({ port: wantedPort, registry: metrics.registry, health: monitor.health, logger: runtime.logger });
      httpPort = http.port;
      running.push({ stop: () => http.close() });
      if (httpPort !== null) log.info({ port: httpPort }, 'metrics and health on http://127.0.0.1:<port>/metrics, /healthz, /readyz');
    }
    if (options.sealer) {
      // Without a key outside the local stack, SealKeyError stops the start: an unsealed trail must be
      // a decision (--no-sealer), not an accident.
      const key = loadSealKey({ ...sealKeySources(settings), createDevelopmentKey: local });
      running.push(
        await startAuditSealer({
          client: clientFor(runtime.institutions.sealer),
          codec: runtime.codec,
          topics: runtime.topics,
          key,
          logger: runtime.logger,
          groupPrefix: runtime.topics.prefix,
          principal: runtime.institutions.sealer,
          progress: metrics.sealProgress,
        }),
      );
    }
    if (options.simulators) {
      running.push(
        await startSourceSimulators({
          clientFor,
          codec: runtime.codec,
          topics: runtime.topics,
          catalogue: runtime.catalogue,
          population: createSyntheticPopulation(),
          logger: runtime.logger,
          groupPrefix: runtime.topics.prefix,
        }),
      );
    }
    let consolePort: number | null = null;
    if (settings.console.port !== null && options.console !== false) {
      const web = await launchConsole(runtime, { port: settings.console.port, metrics, health: monitor.health, clientFor, groups, sealer: options.sealer, logger: runtime.logger }).catch(
        (error: NodeJS.ErrnoException) => {
          // As for /metrics: a second switch on the same machine still serves, without its console.
          if (error.code !== 'EADDRINUSE') throw error;
          log.warn({ port: settings.console.port }, 'console not served: the port is in use (BCSS_CONSOLE_PORT)');
          return null;
        },
      );
      if (web) {
        consolePort = web.port;
        running.push({ stop: () => web.close() });
        log.info({ url: web.url }, `console on ${web.url}`);
      }
    }
    const sampleIntegrations = options.sampleDirectory ? await loadSampleDirectory(runtime, clientFor, log) : 0;
    return { sampleIntegrations, sourceTimeoutMs, httpPort, consolePort, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Integrates the sample persons as each institution would, and waits until the gateway applied them. */
async function loadSampleDirectory(runtime: Runtime, clientFor: (principal: string) => KafkaClient, log: Logger): Promise<number> {
  const institutions = [...new Set(SAMPLE_DIRECTORY.map((s) => s.institution))];
  let applied = 0;
  for (const institution of institutions) {
    const runId = `sample-${Date.now().toString(36)}`;
    const commands = sampleDirectoryCommands(institution, runId, Date.now());
    const directory = await createDirectoryClient({ client: clientFor(institution), codec: runtime.codec, topics: runtime.topics, institution });
    try {
      const acks = new Map<string, DirectoryAckRecord>();
      let resolveAll!: () => void;
      const all = new Promise<void>((resolve) => (resolveAll = resolve));
      await directory.listen((ack) => {
        if (!ack.commandId?.startsWith(`${runId}:`)) return;
        acks.set(ack.commandId, ack);
        if (acks.size === commands.length) resolveAll();
      });
      await directory.publish(commands);
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`the sample directory of ${institution} was not acknowledged within 60 s`)), 60_000);
      });
      await Promise.race([all, timeout]).finally(() => clearTimeout(timer));
      const refused = [...acks.values()].filter((a) => a.status !== 'OK');
      for (const r of refused) log.warn({ institution, status: r.status, message: r.message }, 'sample integration refused');
      applied += acks.size - refused.length;
    } finally {
      await directory.close();
    }
  }
  return applied;
}

