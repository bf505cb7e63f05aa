/**
 * `bcss audit export --niss N [--from D] [--to D] [--out FILE] [--public-key FILE] [--as PRINCIPAL]
 * [--timeout MS]`: a person's audit records with the seals and chain material that prove them, as one
 * JSON bundle (docs/audit-format.md) an outsider verifies offline. Connected as an auditor principal,
 * like `audit search`.
 *
 * The bundle goes to FILE (mode 0600: it holds the person's records) or to stdout; a summary to stderr.
 * Exit 0: written, and the project's own check of it finds nothing wrong (records not sealed yet are
 * counted, not held against it); 1: written, but the check finds problems (listed on stderr: the bundle
 * is the evidence of them); 2: no bundle (bad input, no key, no access, time bound hit).
 */
import { chmodSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { loadSettings, sealKeySources } from '../app/settings.js';
import { exportAuditBundle, verifyAuditBundle, type AuditBundle, type BundleProblem } from '../audit/audit-export.js';
import { loadVerifyKey } from '../audit/seal-key.js';
import { SCHEMA_DIR } from '../config/project-paths.js';
import { loadAvroCodec } from '../messaging/avro-codec.js';
import { auditParentCommand, connect, explain, personQuery, type AuditCommandIo } from './audit-query-command.js';

export const AUDIT_EXPORT_EXIT = { ok: 0, problems: 1, error: 2 } as const;

export interface AuditExportCommandOptions {
  readonly niss: string;
  readonly from?: string;
  readonly to?: string;
  readonly out?: string;
  readonly publicKey?: string;
  readonly as: string;
  readonly timeout: string;
}

export function formatExportSummary(bundle: AuditBundle, problems: readonly BundleProblem[], out: string | undefined): string {
  const sealed = bundle.records.filter((r) => r.status === 'SEALED').length;
  const lines = [
    `bcss audit export: ${bundle.records.length} record(s) of partition ${bundle.source.partition} (${sealed} sealed, ` +
      `${bundle.records.length - sealed} not sealed), ${bundle.seals.length} seal(s), key ${bundle.publicKey.keyId.slice(0, 16)}… -> ${out ?? 'stdout'}`,
  ];
  for (const record of bundle.records) {
    if (record.status !== 'SEALED') lines.push(`  ${record.partition}:${record.offset} ${record.status}`);
  }
  for (const problem of problems) lines.push(`  ${problem.code} at ${problem.where}: ${problem.detail}`);
  lines.push(problems.length === 0 ? 'verified: every sealed record reaches a valid seal' : `PROBLEMS: ${problems.length}`);
  return `${lines.join('\n')}\n`;
}

/** Exports, writes and checks the bundle; returns the exit code, never throws. */
export async function runAuditExportCommand(options: AuditExportCommandOptions, io: AuditCommandIo): Promise<number> {
  const principal = options.as;
  try {
    const query = personQuery(options);
    // The key first: a bundle without it proves nothing, and no connection is spent.
    const key = loadVerifyKey({ ...sealKeySources(loadSettings(io.env)), ...(options.publicKey ? { publicKeyFile: options.publicKey } : {}) });
    const { client, topics } = connect(principal, io);
    const codec = loadAvroCodec(SCHEMA_DIR);
    const bundle = await exportAuditBundle({
      client,
      codec,
      topics,
      ...query,
      publicKey: key.publicKey,
      principal,
    });
    const json = `${JSON.stringify(bundle, null, 2)}\n`;
    if (options.out === undefined) io.stdout.write(json);
    else {
      writeFileSync(options.out, json, { mode: 0o600 });
      // The mode applies only to a file created: one written over is narrowed too.
      chmodSync(options.out, 0o600);
    }
    const problems = verifyAuditBundle(bundle, { codec });
    io.stderr.write(formatExportSummary(bundle, problems, options.out));
    return problems.length === 0 ? AUDIT_EXPORT_EXIT.ok : AUDIT_EXPORT_EXIT.problems;
  } catch (error) {
    io.stderr.write(`bcss audit export: ${explain(error, principal)}\n`);
    return AUDIT_EXPORT_EXIT.error;
  }
}

export function registerAuditExportCommand(program: Command, io: AuditCommandIo = { stdout: process.stdout, stderr: process.stderr }): void {
  auditParentCommand(program)
    .command('export')
    .description("a person's records with the seals that prove them, as a JSON bundle verifiable offline (docs/audit-format.md; exit 0 verified, 1 problems, 2 error)")
    .requiredOption('--niss <niss>', 'the person (11 digits, dots and dashes allowed)')
    .option('--from <when>', 'only records from this day (2025-01-01) or instant (2025-01-01T08:00:00Z) on')
    .option('--to <when>', 'only records until this day (included) or instant')
    .option('--out <file>', 'write the bundle there (mode 0600) instead of stdout')
    .option('--public-key <file>', "PEM public key of the seals (default BCSS_AUDIT_VERIFY_KEY, else the sealing key's public half)")
    .option('--as <principal>', 'the auditor principal to connect as', 'auditor')
    .option('--timeout <ms>', 'give up (and write no bundle) after this long', '120000')
    .action(async (options: AuditExportCommandOptions) => {
      process.exit(await runAuditExportCommand(options, io));
    });
}
