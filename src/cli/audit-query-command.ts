/**
 * `bcss audit search` and `bcss audit tail`, connected as an auditor principal (`--as`, default
 * `auditor`; `dpo` is the other one): only auditors may read the audit trail.
 *
 *   bcss audit search --niss N [--from DAY|INSTANT] [--to DAY|INSTANT] [--requester I] [--json] [--scan]
 *   bcss audit tail [--requester I] [--service S] [--outcome O] [--event E] [--json]
 *
 * With an audit index configured (BCSS_AUDIT_INDEX_URL, or the local stack's PostgreSQL) and built by
 * `bcss audit index`, the search finds the records there, reads exactly those from Kafka and adds
 * whether a verified seal covers each; `--scan`, or an index no indexer has filled, reads the
 * person's partition instead.
 * The search prints the person's full NISS: it is the report the person asked for. The tail masks it.
 * Search: exit 0 with the report (even an empty one), 1 when there is none (bad input, no access, the
 * time bound hit). Tail: runs until Ctrl-C (exit 0), 1 when it cannot start.
 */
import type { Command } from 'commander';
import { auditIndexConfig, auditIndexPool } from '../app/audit-index-config.js';
import { loadSettings, sealKeySources, settingsLogger } from '../app/settings.js';
import { AuditIndexError, searchAuditIndex } from '../audit/audit-index.js';
import { loadVerifyKey } from '../audit/seal-key.js';
import { formatSearchReport, formatTailLine, parseTimeBound, searchReportJson, tailJson } from '../audit/audit-format.js';
import { AuditSearchTimeoutError, searchAudit } from '../audit/audit-search.js';
import { tailAudit, type AuditTailFilter } from '../audit/audit-tail.js';
import { SCHEMA_DIR } from '../config/project-paths.js';
import { parseNiss } from '../domain/niss.js';
import type { Logger } from '../logging/logger.js';
import { EXCHANGE_RECORD } from '../contract/names.js';
import { loadAvroCodec, type AvroCodec } from '../messaging/avro-codec.js';
import { createKafkaClient, MessagingError, type KafkaClient } from '../messaging/kafka-client.js';
import { assertEntityId, topicNames, type TopicNames } from '../messaging/topics.js';
import { PrincipalConnectionError, principalConnection } from '../stack/principal-connection.js';

export interface AuditCommandIo {
  readonly stdout: { write(chunk: string): unknown };
  readonly stderr: { write(chunk: string): unknown };
  /** The environment the settings are read from (src/app/settings.ts); default the process's. */
  readonly env?: NodeJS.ProcessEnv;
}

export const AUDIT_EXIT = { ok: 0, error: 1 } as const;

const DEFAULT_IO: AuditCommandIo = { stdout: process.stdout, stderr: process.stderr };

export interface AuditSearchCommandOptions {
  readonly niss: string;
  readonly from?: string;
  readonly to?: string;
  readonly requester?: string;
  readonly json?: boolean;
  readonly as: string;
  readonly timeout: string;
  /** Read the person's partition even when an index is configured. */
  readonly scan?: boolean;
}

export interface AuditTailCommandOptions {
  readonly requester?: string;
  readonly service?: string;
  readonly outcome?: string;
  readonly event?: string;
  readonly json?: boolean;
  readonly as: string;
}

export class InputError extends Error {}

export function explain(error: unknown, principal: string): string {
  if (error instanceof InputError || error instanceof PrincipalConnectionError || error instanceof AuditSearchTimeoutError || error instanceof AuditIndexError) {
    return error.message;
  }
  if (error instanceof MessagingError) {
    if (error.type === 'SASL_AUTHENTICATION_FAILED') return `Kafka did not accept the credentials of ${principal}: ${error.message}`;
    if (error.accessDenied || error.type === 'KafkaJSGroupCoordinatorNotFound') {
      return `Kafka refused ${principal} (${error.type}): only an auditor principal (auditor, dpo) may read the audit trail`;
    }
    return `Kafka: ${error.type}: ${error.message}`;
  }
  return error instanceof Error ? error.message : String(error);
}

export interface Connected {
  readonly principal: string;
  readonly client: KafkaClient;
  readonly topics: TopicNames;
  readonly logger: Logger;
}

export function connect(as: string, io: AuditCommandIo): Connected {
  let principal: string;
  try {
    principal = assertEntityId(as, 'principal');
  } catch (error) {
    throw new InputError(`--as: ${error instanceof Error ? error.message : String(error)}`);
  }
  const settings = loadSettings(io.env);
  // Logs go to stderr, only when asked for (LOG_LEVEL): stdout carries the report or the lines.
  const logger = settingsLogger(settings, { level: 'fatal', destination: process.stderr });
  return {
    principal,
    client: createKafkaClient(principalConnection(principal, { settings }), logger),
    topics: topicNames(settings.topicPrefix),
    logger,
  };
}

function institution(text: string | undefined, option: string): void {
  if (text === undefined) return;
  try {
    assertEntityId(text);
  } catch (error) {
    throw new InputError(`${option}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** The event types the audit schema knows: a misspelt one would filter out everything, silently. */
function auditEvents(codec: AvroCodec): readonly string[] {
  const record = codec.type(EXCHANGE_RECORD.audit) as unknown as { field(name: string): { type: { symbols?: string[] } } };
  return record.field('eventType').type.symbols ?? [];
}

function positiveMs(text: string, option: string): number {
  const ms = Number(text);
  if (!Number.isInteger(ms) || ms <= 0) throw new InputError(`${option}: a positive number of milliseconds, not "${text}"`);
  return ms;
}

function bound(text: string | undefined, which: 'from' | 'to'): number | undefined {
  if (text === undefined) return undefined;
  try {
    return parseTimeBound(text, which);
  } catch (error) {
    throw new InputError(`--${which}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** --niss, --from, --to and --timeout checked: one person's records over a time, as a search and an export take them. */
export function personQuery(options: { readonly niss: string; readonly from?: string; readonly to?: string; readonly timeout: string }): {
  niss: string;
  from?: number;
  to?: number;
  timeoutMs: number;
} {
  const niss = parseNiss(options.niss);
  // A mistyped number would give an empty report that reads as "nobody consulted": refused instead.
  if (!niss.valid) throw new InputError(`--niss: ${niss.message}`);
  const from = bound(options.from, 'from');
  const to = bound(options.to, 'to');
  if (from !== undefined && to !== undefined && from > to) throw new InputError('--from is after --to');
  return {
    niss: niss.normalized,
    ...(from === undefined ? {} : { from }),
    ...(to === undefined ? {} : { to }),
    timeoutMs: positiveMs(options.timeout, '--timeout'),
  };
}

/** Runs the search and prints the report; returns the exit code, never throws. */
export async function runAuditSearchCommand(options: AuditSearchCommandOptions, io: AuditCommandIo = DEFAULT_IO): Promise<number> {
  const principal = options.as;
  try {
    const query = personQuery(options);
    institution(options.requester, '--requester');
    const { client, topics, logger } = connect(principal, io);
    const codec = loadAvroCodec(SCHEMA_DIR);
    const settings = loadSettings(io.env);
    const search = {
      client,
      codec,
      topics,
      ...query,
      ...(options.requester === undefined ? {} : { requester: options.requester }),
      principal,
      logger,
    };
    const index = options.scan ? null : auditIndexConfig(settings);
    if (index) {
      const pool = auditIndexPool(index, 'bcss-audit-search');
      try {
        const result = await searchAuditIndex({ ...search, pool, key: index.key, publicKey: loadVerifyKey(sealKeySources(settings)).publicKey });
        io.stdout.write(options.json ? `${searchReportJson(result)}\n` : formatSearchReport(result));
        return AUDIT_EXIT.ok;
      } catch (error) {
        if (!(error instanceof AuditIndexError && error.code === 'AUDIT_INDEX_NOT_BUILT')) throw error;
        io.stderr.write(`bcss audit search: the audit index is configured but not built (${error.message}); reading the partition instead\n`);
      } finally {
        await pool.end();
      }
    }
    const result = await searchAudit(search);
    io.stdout.write(options.json ? `${searchReportJson(result)}\n` : formatSearchReport(result));
    return AUDIT_EXIT.ok;
  } catch (error) {
    io.stderr.write(`bcss audit search: ${explain(error, principal)}\n`);
    return AUDIT_EXIT.error;
  }
}

/**
 * Prints the trail's new records until `signal` aborts (Ctrl-C in the command); resolves with the exit
 * code then, or at once when the tail cannot start.
 */
export async function runAuditTailCommand(
  options: AuditTailCommandOptions,
  signal: AbortSignal,
  io: AuditCommandIo = DEFAULT_IO,
): Promise<number> {
  const principal = options.as;
  try {
    institution(options.requester, '--requester');
    const codec = loadAvroCodec(SCHEMA_DIR);
    const events = auditEvents(codec);
    if (options.event !== undefined && !events.includes(options.event.toUpperCase())) {
      throw new InputError(`--event: one of ${events.join(', ')}; not "${options.event}"`);
    }
    const filter: AuditTailFilter = {
      ...(options.requester === undefined ? {} : { requester: options.requester }),
      ...(options.service === undefined ? {} : { service: options.service }),
      ...(options.outcome === undefined ? {} : { outcome: options.outcome }),
      ...(options.event === undefined ? {} : { event: options.event }),
    };
    const { client, topics, logger } = connect(principal, io);
    if (signal.aborted) return AUDIT_EXIT.ok;
    const tail = await tailAudit({
      client,
      codec,
      topics,
      filter,
      principal,
      logger,
      onRecord: (entry) => io.stdout.write(`${options.json ? tailJson(entry) : formatTailLine(entry)}\n`),
      onUndecodable: (place) => io.stderr.write(`bcss audit tail: partition ${place.partition} offset ${place.offset} is not an audit record\n`),
    });
    const active = Object.entries(filter).map(([name, value]) => `${name}=${value}`).join(' ');
    io.stderr.write(`Following ${topics.audit} from now on${active ? ` (${active})` : ''}; Ctrl-C to stop.\n`);
    await new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      else signal.addEventListener('abort', () => resolve(), { once: true });
    });
    await tail.stop();
    return AUDIT_EXIT.ok;
  } catch (error) {
    io.stderr.write(`bcss audit tail: ${explain(error, principal)}\n`);
    return AUDIT_EXIT.error;
  }
}

/**
 * The `audit` command every audit subcommand hangs under, created by whichever registration comes
 * first: `audit search`, `audit tail` and `audit verify` share it in whatever order they are added.
 */
export function auditParentCommand(program: Command): Command {
  return (
    program.commands.find((c) => c.name() === 'audit') ??
    program.command('audit').description('the audit trail: search a person\'s records, follow it live, verify it')
  );
}

/** Adds `audit search` and `audit tail` to `program` (under its `audit` command). */
export function registerAuditQueryCommands(program: Command, io: AuditCommandIo = DEFAULT_IO): void {
  const audit = auditParentCommand(program);
  audit
    .command('search')
    .description("who consulted a person's data, when, for which purpose, under which deliberation (the report a citizen may ask for)")
    .requiredOption('--niss <niss>', 'the person (11 digits, dots and dashes allowed)')
    .option('--from <when>', 'only records from this day (2025-01-01) or instant (2025-01-01T08:00:00Z) on')
    .option('--to <when>', 'only records until this day (included) or instant')
    .option('--requester <institution>', 'only what this institution asked, or relayed')
    .option('--json', 'print the report as JSON')
    .option('--as <principal>', 'the auditor principal to connect as', 'auditor')
    .option('--timeout <ms>', 'give up (and print no partial report) after this long', '60000')
    .option('--scan', 'read the person\'s partition even when an audit index is configured')
    .action(async (options: AuditSearchCommandOptions) => {
      process.exit(await runAuditSearchCommand(options, io));
    });
  audit
    .command('tail')
    .description('follow the audit trail as it is written (NISS masked); Ctrl-C to stop')
    .option('--requester <institution>', 'only what this institution asked, or relayed')
    .option('--service <service>', 'only this service (dmfa, dimona, directory, ...)')
    .option('--outcome <outcome>', 'only this outcome: OK, FORWARDED, NO_DATA, NOT_AUTHORIZED, ...')
    .option('--event <event>', 'only this event: REPLY_DELIVERED, REQUEST_REFUSED, MUTATION_DELIVERED, ...')
    .option('--json', 'one JSON object per line')
    .option('--as <principal>', 'the auditor principal to connect as', 'auditor')
    .action(async (options: AuditTailCommandOptions) => {
      const stop = new AbortController();
      const onSignal = () => stop.abort();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      process.exit(await runAuditTailCommand(options, stop.signal, io));
    });
}
