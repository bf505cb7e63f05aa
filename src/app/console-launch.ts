/**
 * The web console (src/console/) as `bcss start` runs it, in the gateway process: the metrics
 * registry and the monitor's health of this gateway, the audit trail read as an auditor principal and
 * the dead letters as an operator principal (config/institutions.yaml `auditors`, `operators`), its own
 * records written as the gateway. A dead letter is re-sent as the principal whose ACLs let it write
 * the origin topic (the institution or source that sent it), as it first arrived.
 */
import { accessControlList, diffAccessControl, formatGrant, userPrincipal } from '../gateway/access-control.js';
import { diffTopics, formatTopicDrift } from '../gateway/topic-sync.js';
import { topicSpecs } from '../gateway/topology.js';
import type { Logger } from '../logging/logger.js';
import type { KafkaClient } from '../messaging/kafka-client.js';
import type { HealthState, PrometheusMetrics } from '../observability/metrics.js';
import { loadVerifyKey } from '../audit/seal-key.js';
import { startConsole, type RunningConsole } from '../console/server.js';
import { consoleUsers, ensureLocalUsers, readUsersFile } from '../console/users.js';
import type { Runtime } from './runtime.js';
import { sealKeySources } from './settings.js';

export async function launchConsole(
  runtime: Runtime,
  parts: {
    readonly port: number;
    readonly metrics: PrometheusMetrics;
    readonly health: HealthState;
    readonly clientFor: (principal: string) => KafkaClient;
    readonly groups: readonly string[];
    readonly sealer: boolean;
    readonly logger: Logger;
  },
): Promise<RunningConsole> {
  const { settings, institutions, topics } = runtime;
  const log = parts.logger.child({ module: 'console' });
  let usersFile = settings.console.usersFile;
  if (usersFile === null) {
    if (runtime.source !== 'local stack') throw new Error('the console needs BCSS_CONSOLE_USERS_FILE outside the local stack (or BCSS_CONSOLE_PORT=off)');
    const local = ensureLocalUsers(settings.stackDir);
    usersFile = local.file;
    if (local.created) {
      // Once, on the terminal of whoever made them; afterwards in the 0600 file only.
      process.stdout.write(`console users made: ${Object.entries(local.created).map(([role, pw]) => `${role} / ${pw}`).join(', ')} (kept in ${local.passwordsFile})\n`);
    }
  }
  const auditor = institutions.auditors[0];
  const operator = institutions.operators[0];
  if (!auditor || !operator) throw new Error('the console needs an auditor and an operator principal in institutions.yaml');
  const grants = accessControlList(topics, institutions);
  const writers = new Map<string, string>();
  for (const grant of grants) {
    if (grant.resource === 'TOPIC' && grant.operation === 'WRITE' && grant.principal !== userPrincipal('gateway') && !writers.has(grant.name)) writers.set(grant.name, grant.principal.replace(/^User:/, ''));
  }
  let verifyKey = null;
  try {
    verifyKey = loadVerifyKey(sealKeySources(settings)).publicKey;
  } catch (error) {
    log.warn({ err: error }, 'no key to verify the audit seals with: the person report will not show the integrity');
  }
  const specs = topicSpecs(topics, institutions, { retention: settings.retention });
  return startConsole({
    port: parts.port,
    logger: parts.logger,
    users: consoleUsers(readUsersFile(usersFile)),
    codec: runtime.codec,
    topics,
    registry: parts.metrics.registry,
    health: parts.health,
    gatewayClient: parts.clientFor('gateway'),
    auditor: { client: parts.clientFor(auditor), principal: auditor },
    operator: { client: parts.clientFor(operator), principal: operator },
    writerOf: (topic) => {
      const writer = writers.get(topic);
      return writer ? parts.clientFor(writer) : null;
    },
    groups: parts.groups,
    deliberations: runtime.deliberations,
    configDir: settings.configDir,
    sealer: parts.sealer,
    verifyKey,
    async drift() {
      const admin = await runtime.client.admin();
      try {
        const acl = diffAccessControl(grants, await admin.describeAcls(), { prefix: topics.prefix, topics: specs.map((s) => s.topic), protectedPrincipals: runtime.kafka.sasl ? [userPrincipal(runtime.kafka.sasl.username)] : [] });
        const topicDrift = diffTopics(specs, await admin.describeTopics(specs.map((s) => s.topic)));
        return {
          acl: [...acl.toCreate.map((g) => `+ ${formatGrant(g)}`), ...acl.toDelete.map((g) => `- ${formatGrant(g)}`)],
          topics: formatTopicDrift(topicDrift),
        };
      } finally {
        await admin.disconnect();
      }
    },
  });
}
