import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project's root folder (where package.json is), found from this file's own place. */
export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export const DEFAULT_CONFIG_DIR = resolve(PROJECT_ROOT, 'config');
export const SCHEMA_DIR = resolve(PROJECT_ROOT, 'schemas');
export const STACK_FILES_DIR = resolve(PROJECT_ROOT, 'stack');
