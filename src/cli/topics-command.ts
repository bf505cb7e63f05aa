/**
 * `bcss topics sync [--dry-run] [--json]`: makes the switch's topics' configuration what it expects
 * (src/gateway/topology.ts: retention fitted to each topic's role, compaction, segment time), printing
 * the diff:
 *
 *   ~ bcss.source.onss.replies retention.ms: 604800000 → 3600000
 *   + bcss.vaph.consultations (missing: created with the expected configuration)
 *   reconfigured 1, created 1, unchanged 57
 *
 * Retention comes from BCSS_SOURCE_RETENTION_MS, BCSS_DELIVERY_RETENTION_MS and
 * BCSS_CONSULTATION_RETENTION_MS, through the settings (src/app/settings.ts) as `bcss start` reads them. Connects as the admin, like `acl sync`.
 * Exit 0 on success, 1 when it could not sync.
 */
import type { Command } from 'commander';
import { loadSettings, settingsLogger } from '../app/settings.js';
import { loadInstitutions } from '../config/load-institutions.js';
import { formatTopicDrift, syncTopics, type TopicSyncResult } from '../gateway/topic-sync.js';
import { topicSpecs } from '../gateway/topology.js';
import { createKafkaClient, MessagingError } from '../messaging/kafka-client.js';
import { topicNames } from '../messaging/topics.js';
import { adminConnection, type AclCommandIo } from './acl-command.js';

const DEFAULT_IO: AclCommandIo = { stdout: process.stdout, stderr: process.stderr };

export function formatTopicSync(result: TopicSyncResult, options: { dryRun: boolean }): string {
  const lines = formatTopicDrift(result.drift);
  const missing = result.drift.filter((d) => d.missing).length;
  const changed = result.drift.filter((d) => !d.missing && d.changes.length > 0).length;
  if (options.dryRun) lines.push(`dry run, nothing changed: would create ${missing}, reconfigure ${changed}; unchanged ${result.unchanged}`);
  else if (result.drift.length === 0) lines.push(`nothing to do: unchanged ${result.unchanged}`);
  else lines.push(`reconfigured ${result.reconfigured.length}, created ${result.created.length}, unchanged ${result.unchanged}`);
  return `${lines.join('\n')}\n`;
}

export async function runTopicsSyncCommand(options: { dryRun?: boolean; json?: boolean }, io: AclCommandIo = DEFAULT_IO): Promise<number> {
  const dryRun = options.dryRun === true;
  try {
    const settings = loadSettings(io.env);
    const topics = topicNames(settings.topicPrefix);
    const institutions = loadInstitutions(settings.configDir);
    const specs = topicSpecs(topics, institutions, { retention: settings.retention });
    const logger = settingsLogger(settings, { level: 'fatal', destination: process.stderr });
    const admin = await createKafkaClient({ ...adminConnection(settings), clientId: 'bcss-topics-sync' }, logger).admin();
    let result: TopicSyncResult;
    try {
      result = await syncTopics(admin, specs, { dryRun });
    } finally {
      await admin.disconnect();
    }
    io.stdout.write(options.json ? `${JSON.stringify({ prefix: topics.prefix, dryRun, ...result }, null, 2)}\n` : formatTopicSync(result, { dryRun }));
    return 0;
  } catch (error) {
    const text = error instanceof MessagingError ? `Kafka: ${error.type}: ${error.message}` : error instanceof Error ? error.message : String(error);
    io.stderr.write(`bcss topics sync: ${text}\n`);
    return 1;
  }
}

/** Adds `topics sync` to `program`. */
export function registerTopicsCommands(program: Command, io: AclCommandIo = DEFAULT_IO): void {
  const topics = program.command('topics').description("the switch's topics on the broker: retention and configuration per role");
  topics
    .command('sync')
    .description('create missing topics and correct the configuration of drifted ones, printing the diff')
    .option('--dry-run', 'print the diff, change nothing')
    .option('--json', 'print the diff as JSON')
    .action(async (options: { dryRun?: boolean; json?: boolean }) => {
      process.exit(await runTopicsSyncCommand(options, io));
    });
}
