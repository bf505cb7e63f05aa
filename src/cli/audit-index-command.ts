/**
 * `bcss audit index [--as auditor]`: runs the audit indexer until Ctrl-C — it consumes the audit topic
 * as an auditor principal and writes one row per record into the audit index (PostgreSQL), resuming
 * where its consumer group stopped. Exit 0 when stopped, 1 when it cannot start or fails.
 */
import type { Command } from 'commander';
import { auditIndexConfig, auditIndexPool } from '../app/audit-index-config.js';
import { loadSettings } from '../app/settings.js';
import { startAuditIndexer } from '../audit/audit-index.js';
import { SCHEMA_DIR } from '../config/project-paths.js';
import { loadAvroCodec } from '../messaging/avro-codec.js';
import { AUDIT_EXIT, auditParentCommand, connect, explain, type AuditCommandIo } from './audit-query-command.js';

const DEFAULT_IO: AuditCommandIo = { stdout: process.stdout, stderr: process.stderr };

export async function runAuditIndexCommand(options: { readonly as: string }, signal: AbortSignal, io: AuditCommandIo = DEFAULT_IO): Promise<number> {
  const principal = options.as;
  try {
    const config = auditIndexConfig(loadSettings(io.env));
    if (!config) {
      io.stderr.write('bcss audit index: no audit index configured: set BCSS_AUDIT_INDEX_URL and BCSS_AUDIT_INDEX_KEY(_FILE), or run `npm run stack:up` with PostgreSQL installed\n');
      return AUDIT_EXIT.error;
    }
    const { client, topics, logger } = connect(principal, io);
    const pool = auditIndexPool(config, 'bcss-audit-indexer');
    try {
      let rows = 0;
      const indexer = await startAuditIndexer({ client, codec: loadAvroCodec(SCHEMA_DIR), topics, pool, key: config.key, principal, logger, onBatch: (b) => (rows += b.written) });
      io.stderr.write(`Indexing ${topics.audit} into schema ${indexer.schema} (${config.source}); Ctrl-C to stop.\n`);
      await new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true })));
      await indexer.stop();
      io.stderr.write(`Stopped: ${rows.toLocaleString('en-US')} rows written.\n`);
      return AUDIT_EXIT.ok;
    } finally {
      await pool.end();
    }
  } catch (error) {
    io.stderr.write(`bcss audit index: ${explain(error, principal)}\n`);
    return AUDIT_EXIT.error;
  }
}

export function registerAuditIndexCommand(program: Command, io: AuditCommandIo = DEFAULT_IO): void {
  auditParentCommand(program)
    .command('index')
    .description('keep the audit index (PostgreSQL) up to date with the audit trail, until Ctrl-C')
    .option('--as <principal>', 'the auditor principal to connect as', 'auditor')
    .action(async (options: { as: string }) => {
      const stop = new AbortController();
      process.once('SIGINT', () => stop.abort());
      process.once('SIGTERM', () => stop.abort());
      process.exit(await runAuditIndexCommand(options, stop.signal, io));
    });
}
