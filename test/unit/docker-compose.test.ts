import { existsSync, readFileSync } from 'node:fs';
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

describe('docker-compose.yml, profile observability (no Docker engine here: parsed, not run)', () => {
  interface Service {
    profiles?: string[];
    volumes?: string[];
    network_mode?: string;
    environment?: Record<string, string>;
    command?: string[];
  }
  const compose = parse(readFileSync(join(PROJECT_ROOT, 'docker-compose.yml'), 'utf8')) as { services: Record<string, Service> };

  it('adds the gateway, Prometheus and Grafana under the profile, the stack itself outside it', () => {
    const inProfile = Object.entries(compose.services).filter(([, s]) => s.profiles?.includes('observability')).map(([name]) => name);
    expect(inProfile.sort()).toEqual(['gateway', 'grafana', 'prometheus']);
    expect(compose.services.kafka?.profiles).toBeUndefined();
    expect(compose.services.redis?.profiles).toBeUndefined();
  });

  it('runs npm start against the compose Kafka and Redis, its admin port reachable by Prometheus', () => {
    const gateway = compose.services.gateway as Service;
    expect(gateway.command?.join(' ')).toContain('npm start');
    expect(gateway.environment?.KAFKA_BROKERS).toBe('kafka:9092');
    expect(gateway.environment?.REDIS_URL).toMatch(/@redis:6379$/);
    expect(gateway.environment?.BCSS_HTTP_PORT).toBe('9464');
    // The endpoint listens on 127.0.0.1: Prometheus shares the gateway's network namespace to scrape it.
    expect(compose.services.prometheus?.network_mode).toBe('service:gateway');
    const prometheus = parse(readFileSync(join(PROJECT_ROOT, 'ops', 'prometheus', 'prometheus.yml'), 'utf8')) as {
      rule_files: string[];
      scrape_configs: Array<{ static_configs: Array<{ targets: string[] }> }>;
    };
    expect(prometheus.scrape_configs.flatMap((c) => c.static_configs.flatMap((s) => s.targets))).toEqual(['127.0.0.1:9464']);
    expect(prometheus.rule_files).toEqual(['/etc/prometheus/alerts.yml']);
  });

  it('mounts files and folders that exist in the repository, the rules and the dashboard among them', () => {
    const mounts = ['prometheus', 'grafana'].flatMap((name) => compose.services[name]?.volumes ?? []).map((v) => v.split(':'));
    for (const [from] of mounts) expect(existsSync(join(PROJECT_ROOT, from as string)), from).toBe(true);
    const targets = new Map(mounts.map(([from, to]) => [to, from]));
    expect(targets.get('/etc/prometheus/alerts.yml')).toBe('./ops/prometheus/alerts.yml');
    expect(targets.get('/etc/prometheus/prometheus.yml')).toBe('./ops/prometheus/prometheus.yml');
    expect(targets.get('/var/lib/grafana/dashboards/bcss-gateway-dashboard.json')).toBe('./ops/grafana/bcss-gateway-dashboard.json');
    const provider = parse(readFileSync(join(PROJECT_ROOT, 'ops', 'grafana', 'provisioning', 'dashboards', 'bcss.yml'), 'utf8')) as {
      providers: Array<{ options: { path: string } }>;
    };
    expect(provider.providers[0]?.options.path).toBe('/var/lib/grafana/dashboards');
  });
});
