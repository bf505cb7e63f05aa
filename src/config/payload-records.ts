import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Catalogue, ServiceId } from '../domain/catalogue.js';
import { ConfigError } from './config-error.js';

/**
 * The full Avro record name of each service's payload (`be.bcss.gateway.payload.DmfaPayload`), read
 * from the schema file the catalogue names: the codec encodes and decodes payloads by that name.
 */
export function payloadRecordNames(catalogue: Catalogue, schemasDir: string): ReadonlyMap<ServiceId, string> {
  const names = new Map<ServiceId, string>();
  for (const service of catalogue.services.values()) {
    const file = join(schemasDir, service.schemaFile);
    const schema = JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown; namespace?: unknown };
    if (typeof schema.name !== 'string') throw new ConfigError(file, '', 'the payload schema has no record name');
    names.set(service.id, typeof schema.namespace === 'string' && !schema.name.includes('.') ? `${schema.namespace}.${schema.name}` : schema.name);
  }
  return names;
}
