/**
 * The environment read once (src/app/settings.ts): each variable's default as docs/operations.md lists
 * it, the values it accepts, and an error that names the variable for any other value.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { environmentKafkaConnection, loadSettings, SettingsError } from '../../src/app/settings.js';
import { DEFAULT_CONFIG_DIR, PROJECT_ROOT } from '../../src/config/project-paths.js';
import { DEFAULT_MAX_PENDING, DEFAULT_SOURCE_TIMEOUT_MS } from '../../src/gateway/gateway.js';
import { DEFAULT_RETENTION } from '../../src/gateway/topology.js';
import { principalConnection } from '../../src/stack/principal-connection.js';

// Made up per run: a literal password in a tracked file is what the secret scan refuses.
const PW = `t${Math.random().toString(36).slice(2, 10)}`;
const SASL_PW = `s${Math.random().toString(36).slice(2, 10)}`;
const ONSS_PW = `o${Math.random().toString(36).slice(2, 10)}`;
const VAPH_PW = `v${Math.random().toString(36).slice(2, 10)}`;

describe('loadSettings', () => {
  it('the documented defaults when nothing is set', () => {
    expect(loadSettings({})).toEqual({
      kafka: { brokers: null, saslMechanism: 'scram-sha-512', saslUsername: null, saslPassword: null, ssl: false },
      redisUrl: null,
      topicPrefix: 'bcss',
      redisPrefix: 'bcss',
      configDir: DEFAULT_CONFIG_DIR,
      stackDir: join(PROJECT_ROOT, '.stack'),
      kafkaHeap: '768m',
      gateway: { sourceTimeoutMs: DEFAULT_SOURCE_TIMEOUT_MS, maxPending: DEFAULT_MAX_PENDING, answerDeadlineMs: null, httpPort: 9464 },
      console: { port: 9470, usersFile: null },
      retention: DEFAULT_RETENTION,
      audit: { sealKey: null, sealKeyFile: null, verifyKey: null },
      auditIndex: { url: null, key: null, keyFile: null },
      log: { level: null, format: null, color: true },
      principalPasswords: {},
    });
    expect(DEFAULT_SOURCE_TIMEOUT_MS).toBe(30_000);
    expect(DEFAULT_MAX_PENDING).toBe(20_000);
  });

  it('an empty value counts as unset', () => {
    expect(loadSettings({ BCSS_TOPIC_PREFIX: '', KAFKA_BROKERS: '', BCSS_HTTP_PORT: '', LOG_LEVEL: '', NO_COLOR: '' })).toEqual(loadSettings({}));
  });

  it('reads every variable into its field', () => {
    const settings = loadSettings({
      KAFKA_BROKERS: ' k1:9092, k2:9092 ,',
      REDIS_URL: `redis://:${PW}@r:6379`,
      KAFKA_SASL_MECHANISM: 'plain',
      KAFKA_SASL_USERNAME: 'admin',
      KAFKA_SASL_PASSWORD: SASL_PW,
      KAFKA_SSL: 'true',
      BCSS_TOPIC_PREFIX: 't-1',
      BCSS_REDIS_PREFIX: 'r-1',
      BCSS_CONFIG_DIR: '/etc/bcss',
      BCSS_STACK_DIR: 'relative/stack',
      BCSS_KAFKA_HEAP: '2g',
      BCSS_SOURCE_TIMEOUT_MS: '5000',
      BCSS_MAX_PENDING: '10',
      BCSS_ANSWER_DEADLINE_MS: '9000',
      BCSS_HTTP_PORT: 'off',
      BCSS_AUDIT_SEAL_KEY: 'pem',
      BCSS_AUDIT_SEAL_KEY_FILE: '/keys/seal.pem',
      BCSS_AUDIT_VERIFY_KEY: 'public pem',
      BCSS_AUDIT_INDEX_URL: `postgres://bcss:${PW}@db:5432/bcss_audit`,
      BCSS_AUDIT_INDEX_KEY: 'ab'.repeat(32),
      BCSS_AUDIT_INDEX_KEY_FILE: 'relative/index.key',
      LOG_LEVEL: 'debug',
      LOG_FORMAT: 'json',
      NO_COLOR: '1',
      BCSS_PRINCIPAL_PASSWORD_SOURCE_ONSS: ONSS_PW,
      UNRELATED: 'ignored',
    });
    expect(settings).toMatchObject({
      kafka: { brokers: ['k1:9092', 'k2:9092'], saslMechanism: 'plain', saslUsername: 'admin', saslPassword: SASL_PW, ssl: true },
      redisUrl: `redis://:${PW}@r:6379`,
      topicPrefix: 't-1',
      redisPrefix: 'r-1',
      configDir: '/etc/bcss',
      stackDir: join(process.cwd(), 'relative/stack'),
      kafkaHeap: '2g',
      gateway: { sourceTimeoutMs: 5000, maxPending: 10, answerDeadlineMs: 9000, httpPort: null },
      console: { port: 9470, usersFile: null },
      audit: { sealKey: 'pem', sealKeyFile: '/keys/seal.pem', verifyKey: 'public pem' },
      auditIndex: { url: `postgres://bcss:${PW}@db:5432/bcss_audit`, key: 'ab'.repeat(32), keyFile: join(process.cwd(), 'relative/index.key') },
      log: { level: 'debug', format: 'json', color: false },
      principalPasswords: { BCSS_PRINCIPAL_PASSWORD_SOURCE_ONSS: ONSS_PW },
    });
    expect(loadSettings({ BCSS_HTTP_PORT: '0' }).gateway.httpPort).toBe(0);
    expect(loadSettings({ BCSS_TOPIC_PREFIX: 't-2' }).redisPrefix).toBe('t-2');
  });

  it('is frozen, nested objects included', () => {
    const settings = loadSettings({ KAFKA_BROKERS: 'k:1' });
    expect(Object.isFrozen(settings)).toBe(true);
    expect(Object.isFrozen(settings.kafka)).toBe(true);
    expect(Object.isFrozen(settings.kafka.brokers)).toBe(true);
    expect(Object.isFrozen(settings.retention)).toBe(true);
    expect(Object.isFrozen(settings.principalPasswords)).toBe(true);
  });

  it.each([
    ['KAFKA_SASL_MECHANISM', 'gssapi', 'scram-sha-512, scram-sha-256 or plain'],
    ['KAFKA_SSL', '1', 'true or false'],
    ['KAFKA_BROKERS', ' , ', 'a comma-separated list of host:port'],
    ['BCSS_TOPIC_PREFIX', 'bcss/prod', "letters, digits, '.', '_' or '-'"],
    ['BCSS_REDIS_PREFIX', 'a b', "letters, digits, '.', '_' or '-'"],
    ['BCSS_SOURCE_TIMEOUT_MS', '0', 'a positive whole number'],
    ['BCSS_MAX_PENDING', '2.5', 'a positive whole number'],
    ['BCSS_ANSWER_DEADLINE_MS', 'soon', 'a positive whole number'],
    ['BCSS_HTTP_PORT', '70000', 'a port, 0 or off'],
    ['BCSS_HTTP_PORT', 'on', 'a port, 0 or off'],
    ['BCSS_KAFKA_HEAP', '768 MB', 'a JVM memory size such as 768m or 2g'],
    ['LOG_LEVEL', 'verbose', 'fatal, error, warn, info, debug, trace, silent'],
    ['LOG_FORMAT', 'text', 'json or pretty'],
    ['BCSS_AUDIT_INDEX_URL', 'mysql://db/audit', 'a postgres:// URL'],
  ])('rejects %s=%j, naming the variable', (name, value, rule) => {
    expect(() => loadSettings({ [name]: value })).toThrow(SettingsError);
    expect(() => loadSettings({ [name]: value })).toThrow(`${name} must be ${rule}, not ${value}`);
  });

  it('takes a Redis server or a Redis Cluster, and names a bad REDIS_URL without its password', () => {
    const cluster = `redis-cluster://:${PW}@10.0.0.1:7000,10.0.0.2:7000`;
    expect(loadSettings({ REDIS_URL: cluster }).redisUrl).toBe(cluster);
    expect(loadSettings({ REDIS_URL: `rediss://:${PW}@r:6380` }).redisUrl).toBe(`rediss://:${PW}@r:6380`);
    const rule = 'redis://[:<password>@]host:port, rediss://… or redis-cluster://[:<password>@]host:port[,host:port…]';
    expect(() => loadSettings({ REDIS_URL: `redis-cluster://:${PW}@10.0.0.1` })).toThrow(`REDIS_URL must be ${rule}, not redis-cluster://***@10.0.0.1`);
    expect(() => loadSettings({ REDIS_URL: `http://:${PW}@r:6379` })).toThrow(`REDIS_URL must be ${rule}, not http://***@r:6379`);
    expect(() => loadSettings({ REDIS_URL: `http://:${PW}@r:6379` })).not.toThrow(PW);
  });

  it('names every invalid variable at once', () => {
    expect(() => loadSettings({ BCSS_MAX_PENDING: '-1', KAFKA_SSL: 'yes' })).toThrow(
      'KAFKA_SSL must be true or false, not yes; BCSS_MAX_PENDING must be a positive whole number, not -1',
    );
  });

  it('the environment connection: SASL only with both username and password', () => {
    expect(environmentKafkaConnection(loadSettings({}).kafka)).toBeNull();
    expect(environmentKafkaConnection(loadSettings({ KAFKA_BROKERS: 'k:1', KAFKA_SASL_USERNAME: 'admin' }).kafka)).toEqual({ brokers: ['k:1'], ssl: false });
    expect(environmentKafkaConnection(loadSettings({ KAFKA_BROKERS: 'k:1', KAFKA_SASL_USERNAME: 'a', KAFKA_SASL_PASSWORD: SASL_PW }).kafka)).toEqual({
      brokers: ['k:1'],
      sasl: { mechanism: 'scram-sha-512', username: 'a', password: SASL_PW },
      ssl: false,
    });
  });

  it("a principal's password from BCSS_PRINCIPAL_PASSWORD_<NAME>, else KAFKA_SASL_* when it names the principal", () => {
    const noStack = () => null;
    const settings = loadSettings({ KAFKA_BROKERS: 'k:1', BCSS_PRINCIPAL_PASSWORD_SOURCE_ONSS: ONSS_PW, KAFKA_SASL_USERNAME: 'vaph', KAFKA_SASL_PASSWORD: VAPH_PW });
    const none = { readStack: noStack, readCluster: noStack };
    expect(principalConnection('source-onss', { settings, ...none }).sasl).toEqual({ mechanism: 'scram-sha-512', username: 'source-onss', password: ONSS_PW });
    expect(principalConnection('vaph', { settings, ...none }).sasl?.password).toBe(VAPH_PW);
    expect(() => principalConnection('magda', { settings, ...none })).toThrow(/set BCSS_PRINCIPAL_PASSWORD_MAGDA/);
  });

  it("a principal's password from the local stack, single node or cluster, whichever KAFKA_BROKERS names", () => {
    const stackOf = (brokers: string[], password: string) => () => ({
      kafka: { brokers },
      redisUrl: 'redis://r:1',
      credentials: { admin: { username: 'admin', password: SASL_PW }, principals: { magda: password }, redisPassword: PW },
      stackDir: '/nowhere',
    });
    const readStack = stackOf(['127.0.0.1:19092'], ONSS_PW);
    const readCluster = stackOf(['127.0.0.1:19192', '127.0.0.1:19193', '127.0.0.1:19194'], VAPH_PW);
    const on = (brokers: string) => loadSettings({ KAFKA_BROKERS: brokers });
    expect(principalConnection('magda', { settings: on('127.0.0.1:19092'), readStack, readCluster }).sasl?.password).toBe(ONSS_PW);
    expect(principalConnection('magda', { settings: on('127.0.0.1:19194,localhost:19192,127.0.0.1:19193'), readStack, readCluster }).sasl?.password).toBe(VAPH_PW);
    expect(() => principalConnection('magda', { settings: on('127.0.0.1:19192'), readStack, readCluster })).toThrow(/set BCSS_PRINCIPAL_PASSWORD_MAGDA/);
  });
});
