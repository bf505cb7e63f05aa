/**
 * Test helpers: the real configuration (catalogue, deliberations, payload schemas) and the payload
 * fixtures. Payload schemas are parsed as the project's codec parses them: avsc defaults (a
 * ["null", record] union is the plain value) with Avro `date` read and written as an ISO string.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import avro from 'avsc';
import { buildAuthorizationIndex, type AuthorizationIndex } from '../../../src/domain/authorization.js';
import type { BlockId, Catalogue, ServiceDefinition } from '../../../src/domain/catalogue.js';
import type { Deliberation, FieldGrant } from '../../../src/domain/deliberation.js';
import { loadAuthorizations } from '../../../src/config/load-authorizations.js';
import { loadCatalogue } from '../../../src/config/load-catalogue.js';
import { parseSchema } from '../../../src/messaging/avro-codec.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const CATALOGUE_DIR = join(ROOT, 'config', 'catalogue');
export const AUTHORIZATIONS_DIR = join(ROOT, 'config', 'authorizations');
export const SCHEMAS_DIR = join(ROOT, 'schemas');
export const FIXTURES_DIR = join(ROOT, 'test', 'fixtures');

let catalogue: Catalogue | undefined;
let deliberations: Deliberation[] | undefined;
let index: AuthorizationIndex | undefined;

export function realCatalogue(): Catalogue {
  catalogue ??= loadCatalogue(CATALOGUE_DIR, { schemasDir: SCHEMAS_DIR });
  return catalogue;
}

export function realDeliberations(): Deliberation[] {
  deliberations ??= loadAuthorizations(AUTHORIZATIONS_DIR, realCatalogue());
  return deliberations;
}

export function realIndex(): AuthorizationIndex {
  index ??= buildAuthorizationIndex(realDeliberations(), realCatalogue());
  return index;
}

export function service(id: string): ServiceDefinition {
  const s = realCatalogue().services.get(id);
  if (!s) throw new Error(`no service ${id} in the catalogue`);
  return s;
}

/**
 * Every block of a service granted whole (`'all'`): for tests of the filter's block, row and period
 * mechanics, which are not about fields. A test of what a deliberation delivers uses the decision's
 * `grantedFields` instead.
 */
export function everyField(serviceId: string): Record<BlockId, FieldGrant> {
  const fields: Record<BlockId, FieldGrant> = {};
  for (const id of service(serviceId).blocks.keys()) fields[id] = 'all';
  return fields;
}

export function deliberation(number: string): Deliberation {
  const d = realDeliberations().find((x) => x.number === number);
  if (!d) throw new Error(`no deliberation ${number}`);
  return d;
}

export function payloadType(id: string): avro.Type {
  const schema = JSON.parse(readFileSync(join(SCHEMAS_DIR, service(id).schemaFile), 'utf8')) as avro.Schema;
  return parseSchema(schema);
}

export function fixture(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(FIXTURES_DIR, 'payloads', name), 'utf8')) as Record<string, unknown>;
}

/** Paths that make a value invalid for the type, for readable failures. */
export function invalidPaths(type: avro.Type, value: unknown): string[] {
  const paths: string[] = [];
  type.isValid(value, { errorHook: (path) => paths.push(path.join('.')) });
  return paths;
}

export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as Record<string, unknown>)) deepFreeze(v);
  }
  return value;
}
