/**
 * `bcss acl sync [--dry-run] [--json] [--protect PRINCIPAL ...]`: makes the broker's ACLs of the
 * switch those computed from config/institutions.yaml (access-control.ts), and prints the diff:
 *
 *   + User:vaph TOPIC LITERAL bcss.vaph.requests WRITE
 *   - User:vaph TOPIC LITERAL bcss.iriscare.replies READ
 *   created 1, deleted 1, unchanged 92
 *
 * Only the switch's own entries are deleted (names of its topics, or starting with `<prefix>.`), never
 * those of User:admin, of the principal running the sync or of a `--protect`ed one: see
 * `diffAccessControl`. A second run finds nothing to do. Connects as the admin: KAFKA_BROKERS with
 * KAFKA_SASL_USERNAME / KAFKA_SASL_PASSWORD when set, else the local stack's admin. Exit 0 on success,
 * 1 when it could not sync.
 */
import type { Command } from 'commander';
import { environmentKafkaConnection, loadSettings, settingsLogger, type Settings } from '../app/settings.js';
import { loadInstitutions } from '../config/load-institutions.js';
import {
  accessControlList,
  ADMIN_PRINCIPAL,
  formatGrant,
  syncAccessControl,
  userPrincipal,
  type AclScope,
  type AclSyncResult,
} from '../gateway/access-control.js';
import { topicSpecs } from '../gateway/topology.js';
import { createKafkaClient, MessagingError, type KafkaConnection } from '../messaging/kafka-client.js';
import { topicNames } from '../messaging/topics.js';
import { readStackConnection } from '../stack/local-stack.js';

export const ACL_EXIT = { ok: 0, error: 1 } as const;

export interface AclCommandIo {
  readonly stdout: { write(chunk: string): unknown };
  readonly stderr: { write(chunk: string): unknown };
  /** The environment the settings are read from (src/app/settings.ts); default the process's. */
  readonly env?: NodeJS.ProcessEnv;
}

export interface AclSyncCommandOptions {
  readonly dryRun?: boolean;
  readonly json?: boolean;
  /** Principals (`User:ops` or `ops`) whose ACLs are never deleted. */
  readonly protect?: readonly string[];
}

const DEFAULT_IO: AclCommandIo = { stdout: process.stdout, stderr: process.stderr };

class AclCommandError extends Error {}

/** The admin's connection: from the settings' KAFKA_* (as `bcss start` reads them), else the local stack's. */
export function adminConnection(settings: Settings): KafkaConnection {
  const environment = environmentKafkaConnection(settings.kafka);
  if (environment) return { ...environment, clientId: 'bcss-acl-sync' };
  const stack = readStackConnection(settings.stackDir);
  if (!stack) {
    throw new AclCommandError(
      'no Kafka configured: set KAFKA_BROKERS with KAFKA_SASL_USERNAME / KAFKA_SASL_PASSWORD of an admin, or start the local stack with `npm run stack:up`',
    );
  }
  return { ...stack.kafka, clientId: 'bcss-acl-sync' };
}

export function formatAclSync(result: AclSyncResult, options: { dryRun: boolean }): string {
  const { toCreate, toDelete, unchanged } = result.diff;
  const lines = [...toCreate.map((g) => `+ ${formatGrant(g)}`), ...toDelete.map((g) => `- ${formatGrant(g)}`)];
  if (options.dryRun) {
    lines.push(`dry run, nothing changed: would create ${toCreate.length}, delete ${toDelete.length}; unchanged ${unchanged.length}`);
  } else if (toCreate.length === 0 && toDelete.length === 0) {
    lines.push(`nothing to do: created 0, deleted 0, unchanged ${unchanged.length}`);
  } else {
    lines.push(`created ${result.created}, deleted ${result.deleted}, unchanged ${unchanged.length}`);
  }
  return `${lines.join('\n')}\n`;
}

export function aclSyncJson(result: AclSyncResult, context: { prefix: string; dryRun: boolean }): string {
  const { toCreate, toDelete, unchanged } = result.diff;
  return JSON.stringify(
    {
      prefix: context.prefix,
      dryRun: context.dryRun,
      applied: result.applied,
      created: result.created,
      deleted: result.deleted,
      unchanged: unchanged.length,
      settled: result.settled,
      toCreate,
      toDelete,
    },
    null,
    2,
  );
}

function explain(error: unknown, principal: string | undefined): string {
  if (error instanceof AclCommandError) return error.message;
  if (error instanceof MessagingError) {
    const who = principal ?? 'the client';
    if (error.type === 'SASL_AUTHENTICATION_FAILED') return `Kafka did not accept the credentials of ${who}: ${error.message}`;
    if (error.accessDenied || error.type === 'SECURITY_DISABLED') {
      return `Kafka refused ${who} (${error.type}): managing ACLs takes an admin (a super user, or DESCRIBE and ALTER on the cluster)`;
    }
    return `Kafka: ${error.type}: ${error.message}`;
  }
  return error instanceof Error ? error.message : String(error);
}

/** Runs the sync and prints the diff; returns the exit code, never throws. */
export async function runAclSyncCommand(options: AclSyncCommandOptions, io: AclCommandIo = DEFAULT_IO): Promise<number> {
  const dryRun = options.dryRun === true;
  let principal: string | undefined;
  try {
    const settings = loadSettings(io.env);
    const topics = topicNames(settings.topicPrefix);
    const institutions = loadInstitutions(settings.configDir);
    const desired = accessControlList(topics, institutions);
    const connection = adminConnection(settings);
    principal = connection.sasl?.username;
    const scope: AclScope = {
      prefix: topics.prefix,
      topics: topicSpecs(topics, institutions).map((s) => s.topic),
      // Whoever runs the sync keeps its rights, super user or not.
      protectedPrincipals: [
        ...(principal ? [userPrincipal(principal)] : []),
        ...(options.protect ?? []).map((p) => (p.includes(':') ? p : userPrincipal(p))),
      ],
    };
    // Logs go to stderr, only when asked for (LOG_LEVEL): stdout carries the diff.
    const logger = settingsLogger(settings, { level: 'fatal', destination: process.stderr });
    const admin = await createKafkaClient(connection, logger).admin();
    let result: AclSyncResult;
    try {
      result = await syncAccessControl(admin, desired, scope, { dryRun });
    } finally {
      await admin.disconnect();
    }
    io.stdout.write(options.json ? `${aclSyncJson(result, { prefix: topics.prefix, dryRun })}\n` : formatAclSync(result, { dryRun }));
    if (!result.settled) {
      io.stderr.write('bcss acl sync: the broker did not list every change in time; run it again to check\n');
      return ACL_EXIT.error;
    }
    return ACL_EXIT.ok;
  } catch (error) {
    io.stderr.write(`bcss acl sync: ${explain(error, principal)}\n`);
    return ACL_EXIT.error;
  }
}

/** Adds `acl sync` to `program`. */
export function registerAclCommands(program: Command, io: AclCommandIo = DEFAULT_IO): void {
  const acl = program.command('acl').description("the principals' ACLs on the broker, from config/institutions.yaml");
  acl
    .command('sync')
    .description(`create the missing ACLs of the switch and delete its stale ones, printing the diff (never ${ADMIN_PRINCIPAL}'s, nor other applications')`)
    .option('--dry-run', 'print the diff, change nothing')
    .option('--json', 'print the diff as JSON')
    .option(
      '--protect <principal>',
      'never delete an ACL of this principal (User:admin and the principal running the sync always are); repeatable',
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .action(async (options: AclSyncCommandOptions) => {
      process.exit(await runAclSyncCommand(options, io));
    });
}
