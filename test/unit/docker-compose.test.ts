import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadInstitutions, principalNames } from '../../src/config/load-institutions.js';
import { DEFAULT_CONFIG_DIR, PROJECT_ROOT } from '../../src/config/project-paths.js';

describe('docker-compose.yml', () => {
  const compose = parse(readFileSync(join(PROJECT_ROOT, 'docker-compose.yml'), 'utf8')) as {
    services: Record<string, { command?: string[] }>;
  };

  it('creates a SCRAM user for exactly the admin and every principal of config/institutions.yaml', () => {
    const script = (compose.services['kafka-users']?.command ?? []).join('\n');
    const list = /for user in ([^;]+);/.exec(script)?.[1];
    expect(list, 'the users loop of kafka-users').toBeDefined();
    const users = (list ?? '').trim().split(/\s+/).sort();
    expect(users).toEqual(['admin', ...principalNames(loadInstitutions(DEFAULT_CONFIG_DIR))].sort());
  });
});
