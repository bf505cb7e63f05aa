import { existsSync } from 'node:fs';
import { loadAuditIndexKey } from '../audit/audit-index.js';
import { auditIndexKeyPath, readPostgresUrl } from '../stack/postgres-stack.js';
import { createSqlPool, type SqlPool } from '../store/postgres-connection.js';
import type { Settings } from './settings.js';

/**
 * Where the audit index is, as the settings say: BCSS_AUDIT_INDEX_URL with BCSS_AUDIT_INDEX_KEY or
 * BCSS_AUDIT_INDEX_KEY_FILE; else, when the switch runs on the local stack (no KAFKA_BROKERS), the
 * stack's PostgreSQL and its key file. Null when neither: the search then scans, as without an index.
 */
export interface AuditIndexConfig {
  readonly url: string;
  readonly key: Buffer;
  /** 'environment' or 'local stack', for messages. */
  readonly source: 'environment' | 'local stack';
}

export function auditIndexConfig(settings: Settings): AuditIndexConfig | null {
  if (settings.auditIndex.url !== null) {
    return { url: settings.auditIndex.url, key: loadAuditIndexKey(settings.auditIndex), source: 'environment' };
  }
  if (settings.kafka.brokers !== null) return null;
  const url = readPostgresUrl(settings.stackDir);
  const keyFile = settings.auditIndex.keyFile ?? auditIndexKeyPath(settings.stackDir);
  if (url === null || (settings.auditIndex.key === null && !existsSync(keyFile))) return null;
  return { url, key: loadAuditIndexKey({ key: settings.auditIndex.key, keyFile }), source: 'local stack' };
}

export function auditIndexPool(config: AuditIndexConfig, applicationName: string): SqlPool {
  return createSqlPool(config.url, { max: 4, applicationName });
}
