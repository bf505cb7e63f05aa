/**
 * `bcss audit verify [--topic T] [--seals-topic S] [--from DATE] [--to DATE] [--public-key FILE]
 * [--as PRINCIPAL] [--json]`: recomputes the audit trail's hash chains and checks every seal.
 * Exit 0 when intact (records not sealed yet are listed, not held against it), 1 on tampering (the
 * partition and offset of the first bad record are named), 2 when it could not check.
 */
import type { Command } from 'commander';
import { loadSettings, sealKeySources, settingsLogger } from '../app/settings.js';
import { SCHEMA_DIR } from '../config/project-paths.js';
import { loadAvroCodec } from '../messaging/avro-codec.js';
import { createKafkaClient, MessagingError } from '../messaging/kafka-client.js';
import { topicNames } from '../messaging/topics.js';
import { PrincipalConnectionError, principalConnection } from '../stack/principal-connection.js';
import type { PartitionCheck, Problem } from '../audit/seal-chain.js';
import { loadVerifyKey, SealKeyError } from '../audit/seal-key.js';
import { verifyAudit, type AuditVerifyReport } from '../audit/verify.js';

export const AUDIT_VERIFY_EXIT = { intact: 0, tampered: 1, error: 2 } as const;

export interface AuditVerifyOptions {
  readonly topic?: string;
  readonly sealsTopic?: string;
  readonly from?: string;
  readonly to?: string;
  readonly publicKey?: string;
  readonly as: string;
  readonly json?: boolean;
  readonly timeout?: string;
}

export interface AuditVerifyIo {
  readonly stdout: { write(chunk: string): unknown };
  readonly stderr: { write(chunk: string): unknown };
  /** The environment the settings are read from (src/app/settings.ts); default the process's. */
  readonly env?: NodeJS.ProcessEnv;
}

class UsageError extends Error {}

/**
 * `2024-05-01` (the whole day, UTC, for --to) or an ISO date-time. A day's end is inclusive, so that
 * `--from 2024-05-01 --to 2024-05-01` is that day.
 */
export function parseBound(text: string, option: '--from' | '--to'): number {
  const day = /^\d{4}-\d{2}-\d{2}$/.test(text);
  const ms = Date.parse(day ? `${text}T00:00:00Z` : text);
  if (Number.isNaN(ms) || (day && new Date(ms).toISOString().slice(0, 10) !== text)) {
    throw new UsageError(`${option}: a date (2024-05-01) or an ISO date-time (2024-05-01T12:00:00Z), not "${text}"`);
  }
  return day && option === '--to' ? ms + 86_400_000 - 1 : ms;
}

function describeProblem(problem: Problem): string {
  const seal = problem.seal === undefined ? '' : ` (seal #${problem.seal})`;
  return `${problem.kind} at partition ${problem.partition} offset ${problem.offset ?? '-'}${seal}: ${problem.detail}`;
}

function partitionLine(check: PartitionCheck): string {
  const head = `partition ${check.partition}: ${check.recordsChecked} records, ${check.sealsChecked} seals`;
  if (!check.ok) {
    const more = check.problems.length > 1 ? ` (+${check.problems.length - 1} more)` : '';
    return `${head}, TAMPERED: ${describeProblem(check.problems[0] as Problem)}${more}`;
  }
  const tail = check.unsealedTail ? `; ${check.unsealedTail.count} not sealed yet from offset ${check.unsealedTail.offset}` : '';
  return `${head}, intact${tail}`;
}

export function formatReport(report: AuditVerifyReport): string {
  const lines = [`audit verify: ${report.topic} against ${report.sealsTopic} (key ${report.keyId.slice(0, 16)}…)`];
  for (const check of report.partitions) lines.push(`  ${partitionLine(check)}`);
  for (const check of report.partitions) for (const problem of check.problems.slice(1)) lines.push(`    also ${describeProblem(problem)}`);
  for (const bad of report.unreadableSeals) lines.push(`  seals offset ${bad.offset}: not a seal (${bad.error})`);
  if (report.partitionsNotInTopic.length > 0) {
    lines.push(`  seals of partition(s) ${report.partitionsNotInTopic.join(', ')} not checked: ${report.topic} has no such partition`);
  }
  if (report.ok) {
    const unsealed = report.unsealedRecords > 0 ? `; ${report.unsealedRecords} record(s) not sealed yet` : '';
    lines.push(`intact: ${report.recordsChecked} records in ${report.partitions.length} partition(s), ${report.sealsChecked} seals${unsealed} (${report.elapsedMs} ms)`);
  } else if (report.firstProblem) {
    lines.push(`TAMPERED: ${describeProblem(report.firstProblem)}`);
  } else {
    lines.push(`TAMPERED: the seals topic holds messages that are not seals`);
  }
  return `${lines.join('\n')}\n`;
}

function explain(error: unknown, principal: string): string {
  if (error instanceof UsageError || error instanceof SealKeyError || error instanceof PrincipalConnectionError) return error.message;
  if (error instanceof MessagingError) {
    if (error.type === 'SASL_AUTHENTICATION_FAILED') return `Kafka did not accept the credentials of ${principal}: ${error.message}`;
    if (error.accessDenied) return `Kafka refused ${principal} (${error.type}): may it read the audit topics (npm start provisions an auditor's ACLs)? ${error.message}`;
    return `Kafka: ${error.type}: ${error.message}`;
  }
  return error instanceof Error ? error.message : String(error);
}

/** Runs the command and returns its exit code; never throws. */
export async function runAuditVerifyCommand(options: AuditVerifyOptions, io: AuditVerifyIo): Promise<number> {
  const principal = options.as;
  try {
    const from = options.from === undefined ? undefined : parseBound(options.from, '--from');
    const to = options.to === undefined ? undefined : parseBound(options.to, '--to');
    if (from !== undefined && to !== undefined && from > to) throw new UsageError('--from is after --to');
    const timeoutMs = options.timeout === undefined ? undefined : Number(options.timeout);
    if (timeoutMs !== undefined && (!Number.isInteger(timeoutMs) || timeoutMs <= 0)) throw new UsageError(`--timeout: a positive number of milliseconds, not "${options.timeout}"`);
    // The key first: without one there is nothing to check against, and no connection is spent.
    const settings = loadSettings(io.env);
    const key = loadVerifyKey({ ...sealKeySources(settings), ...(options.publicKey ? { publicKeyFile: options.publicKey } : {}) });
    const topics = topicNames(settings.topicPrefix);
    // Logs go to stderr: stdout carries the report (JSON with --json).
    const logger = settingsLogger(settings, { level: 'fatal', destination: process.stderr });
    const client = createKafkaClient(principalConnection(principal, { settings }), logger);
    const report = await verifyAudit({
      client,
      codec: loadAvroCodec(SCHEMA_DIR),
      topic: options.topic ?? topics.audit,
      sealsTopic: options.sealsTopic ?? topics.auditSeals,
      publicKey: key.publicKey,
      groupPrefix: `${topics.prefix}.${principal}.`,
      ...(from === undefined ? {} : { from }),
      ...(to === undefined ? {} : { to }),
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
    });
    io.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
    return report.ok ? AUDIT_VERIFY_EXIT.intact : AUDIT_VERIFY_EXIT.tampered;
  } catch (error) {
    io.stderr.write(`bcss audit verify: ${explain(error, principal)}\n`);
    return AUDIT_VERIFY_EXIT.error;
  }
}

export function registerAuditVerifyCommand(
  program: Command,
  io: AuditVerifyIo = { stdout: process.stdout, stderr: process.stderr },
): void {
  const audit =
    program.commands.find((command) => command.name() === 'audit') ?? program.command('audit').description('the audit trail and its seals');
  audit
    .command('verify')
    .description('recompute the audit hash chains and check every seal (exit 0 intact, 1 tampered, 2 error)')
    .option('--topic <topic>', 'the audit topic, or a copy of it (default <prefix>.audit)')
    .option('--seals-topic <topic>', 'the seals topic (default <prefix>.audit.seals)')
    .option('--from <date>', 'report only records stamped from this date or ISO date-time (chains are still recomputed from the start)')
    .option('--to <date>', 'report only records stamped up to this date (inclusive) or ISO date-time')
    .option('--public-key <file>', 'PEM public key the seals are checked with (default BCSS_AUDIT_VERIFY_KEY, else the sealing key\'s public half)')
    .option('--as <principal>', 'the principal that reads the audit topics', 'auditor')
    .option('--timeout <ms>', 'how long reading each topic to its end may take')
    .option('--json', 'print the report as JSON')
    .action(async (options: AuditVerifyOptions) => {
      process.exit(await runAuditVerifyCommand(options, io));
    });
}
