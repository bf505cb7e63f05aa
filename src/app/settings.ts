/**
 * Every environment variable the switch reads, read here once and checked with zod; everything else
 * takes the resulting object (docs/operations.md, "Environment", lists them). An invalid value stops
 * the command with the variable's name, the rule and the value, before anything connects.
 *
 * An empty value counts as unset, as a variable cleared with `NAME=` in a shell is meant to be.
 */
import { resolve } from 'node:path';
import { z } from 'zod';
import type { SealKeySources } from '../audit/seal-key.js';
import { DEFAULT_CONFIG_DIR } from '../config/project-paths.js';
import { DEFAULT_MAX_PENDING, DEFAULT_SOURCE_TIMEOUT_MS } from '../gateway/gateway.js';
import { DEFAULT_RETENTION, type TopicRetention } from '../gateway/topology.js';
import { createLogger, type LogFormat, type Logger } from '../logging/logger.js';
import type { KafkaConnection, SaslMechanism } from '../messaging/kafka-client.js';
import { parseClusterUrl } from '../store/redis-connection.js';
import { DEFAULT_KAFKA_HEAP, DEFAULT_STACK_DIR } from '../stack/local-stack.js';
import { PRINCIPAL_PASSWORD_PREFIX, type KafkaSettings, type PrincipalConnectionSettings } from '../stack/principal-connection.js';

export type { KafkaSettings } from '../stack/principal-connection.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const SASL_MECHANISMS = ['scram-sha-512', 'scram-sha-256', 'plain'] as const satisfies readonly SaslMechanism[];

export const DEFAULT_TOPIC_PREFIX = 'bcss';
export const DEFAULT_HTTP_PORT = 9464;
export const DEFAULT_CONSOLE_PORT = 9470;

export interface Settings extends PrincipalConnectionSettings {
  readonly kafka: KafkaSettings;
  /** REDIS_URL; null: the local stack's Redis. */
  readonly redisUrl: string | null;
  /** BCSS_TOPIC_PREFIX. */
  readonly topicPrefix: string;
  /** BCSS_REDIS_PREFIX, else the topic prefix. */
  readonly redisPrefix: string;
  /** BCSS_CONFIG_DIR: institutions.yaml, the catalogue and the deliberations. */
  readonly configDir: string;
  /** BCSS_STACK_DIR, absolute. */
  readonly stackDir: string;
  /** BCSS_KAFKA_HEAP: the local broker's -Xmx / -Xms. */
  readonly kafkaHeap: string;
  readonly gateway: {
    /** BCSS_SOURCE_TIMEOUT_MS. */
    readonly sourceTimeoutMs: number;
    /** BCSS_MAX_PENDING. */
    readonly maxPending: number;
    /** BCSS_ANSWER_DEADLINE_MS; null: the source timeout (as the run sets it) plus the gateway's queue allowance. */
    readonly answerDeadlineMs: number | null;
    /** BCSS_HTTP_PORT; null: no metrics and health endpoints (`off`). */
    readonly httpPort: number | null;
  };
  readonly console: {
    /** BCSS_CONSOLE_PORT; null: no web console (0 or `off`). Served on 127.0.0.1 only. */
    readonly port: number | null;
    /** BCSS_CONSOLE_USERS_FILE; null: on the local stack, `<stack dir>/console-users.json`, made on first start. */
    readonly usersFile: string | null;
  };
  /** BCSS_SOURCE_RETENTION_MS, BCSS_DELIVERY_RETENTION_MS, BCSS_CONSULTATION_RETENTION_MS. */
  readonly retention: TopicRetention;
  readonly audit: {
    /** BCSS_AUDIT_SEAL_KEY: the sealer's private key (PEM). */
    readonly sealKey: string | null;
    /** BCSS_AUDIT_SEAL_KEY_FILE. */
    readonly sealKeyFile: string | null;
    /** BCSS_AUDIT_VERIFY_KEY: the public key `audit verify` checks with (PEM). */
    readonly verifyKey: string | null;
  };
  readonly auditIndex: {
    /** BCSS_AUDIT_INDEX_URL (postgres://…); null: the local stack's PostgreSQL when it has one, else no index. */
    readonly url: string | null;
    /** BCSS_AUDIT_INDEX_KEY: the HMAC key of the index's subjects (hex). */
    readonly key: string | null;
    /** BCSS_AUDIT_INDEX_KEY_FILE; null: on the local stack, `<stack dir>/audit-index.key`. */
    readonly keyFile: string | null;
  };
  readonly log: {
    /** LOG_LEVEL; null: each command's own default. */
    readonly level: LogLevel | null;
    /** LOG_FORMAT; null: pretty on a terminal, else JSON. */
    readonly format: LogFormat | null;
    /** False when NO_COLOR is set (https://no-color.org). */
    readonly color: boolean;
  };
  /**
   * BCSS_PRINCIPAL_PASSWORD_<NAME>, by variable name: their names depend on config/institutions.yaml,
   * so they are kept as a map and looked up by principal-connection.ts.
   */
  readonly principalPasswords: Readonly<Record<string, string>>;
}

export class SettingsError extends Error {
  override readonly name = 'SettingsError';
}

/** `shown`: the value as an error message may repeat it (a URL without its password). */
type Check<T> = (text: string) => { ok: true; value: T } | { ok: false; rule: string; shown?: string };

/** One variable: unset or empty gives `fallback`, anything else must pass `check`. */
function variable<T, F>(name: string, fallback: F, check: Check<T>) {
  return z
    .string()
    .optional()
    .transform((text, ctx): T | F => {
      if (text === undefined || text === '') return fallback;
      const result = check(text);
      if (result.ok) return result.value;
      ctx.addIssue({ code: 'custom', message: `${name} must be ${result.rule}, not ${result.shown ?? text}` });
      return z.NEVER;
    });
}

const text: Check<string> = (value) => ({ ok: true, value });

function positiveInteger(rule: string): Check<number> {
  return (value) => {
    const number = Number(value);
    return Number.isInteger(number) && number > 0 ? { ok: true, value: number } : { ok: false, rule };
  };
}

function oneOf<T extends string>(values: readonly T[], rule: string): Check<T> {
  return (value) => ((values as readonly string[]).includes(value) ? { ok: true, value: value as T } : { ok: false, rule });
}

/** The characters topicNames and redisKeys accept in a prefix. */
const prefix: Check<string> = (value) =>
  /^[A-Za-z0-9._-]+$/.test(value) ? { ok: true, value } : { ok: false, rule: "letters, digits, '.', '_' or '-'" };

const brokers: Check<readonly string[]> = (value) => {
  const list = value
    .split(',')
    .map((b) => b.trim())
    .filter(Boolean);
  return list.length > 0 ? { ok: true, value: list } : { ok: false, rule: 'a comma-separated list of host:port' };
};

/** An error message names the value, never the password in it. */
const withoutPassword = (url: string) => url.replace(/\/\/([^@/]*)@/, '//***@');

const REDIS_URL_RULE = 'redis://[:<password>@]host:port, rediss://… or redis-cluster://[:<password>@]host:port[,host:port…]';

/** One Redis server, or a Redis Cluster through its seed nodes (src/store/redis-connection.ts). */
const redisUrl: Check<string> = (value) => {
  if (!/^(rediss?|redis-cluster):\/\/./.test(value)) return { ok: false, rule: REDIS_URL_RULE, shown: withoutPassword(value) };
  try {
    parseClusterUrl(value);
    return { ok: true, value };
  } catch {
    return { ok: false, rule: REDIS_URL_RULE, shown: withoutPassword(value) };
  }
};

const httpPort: Check<number | null> = (value) => {
  if (value === 'off') return { ok: true, value: null };
  const port = Number(value);
  return Number.isInteger(port) && port >= 0 && port <= 65_535 ? { ok: true, value: port } : { ok: false, rule: 'a port, 0 or off' };
};

/** What -Xmx takes: a number of bytes, or of k, m or g. */
const heapSize: Check<string> = (value) => (/^\d+[kKmMgG]?$/.test(value) ? { ok: true, value } : { ok: false, rule: 'a JVM memory size such as 768m or 2g' });

const POSITIVE = 'a positive whole number';
const POSITIVE_MS = 'a positive whole number of milliseconds';

const ENVIRONMENT = z.object({
  KAFKA_BROKERS: variable('KAFKA_BROKERS', null, brokers),
  REDIS_URL: variable('REDIS_URL', null, redisUrl),
  KAFKA_SASL_MECHANISM: variable('KAFKA_SASL_MECHANISM', 'scram-sha-512' as const, oneOf(SASL_MECHANISMS, 'scram-sha-512, scram-sha-256 or plain')),
  KAFKA_SASL_USERNAME: variable('KAFKA_SASL_USERNAME', null, text),
  KAFKA_SASL_PASSWORD: variable('KAFKA_SASL_PASSWORD', null, text),
  KAFKA_SSL: variable('KAFKA_SSL', false, (value) => (value === 'true' || value === 'false' ? { ok: true, value: value === 'true' } : { ok: false, rule: 'true or false' })),
  BCSS_TOPIC_PREFIX: variable('BCSS_TOPIC_PREFIX', DEFAULT_TOPIC_PREFIX, prefix),
  BCSS_REDIS_PREFIX: variable('BCSS_REDIS_PREFIX', null, prefix),
  BCSS_CONFIG_DIR: variable('BCSS_CONFIG_DIR', DEFAULT_CONFIG_DIR, text),
  BCSS_STACK_DIR: variable('BCSS_STACK_DIR', DEFAULT_STACK_DIR, text),
  BCSS_KAFKA_HEAP: variable('BCSS_KAFKA_HEAP', DEFAULT_KAFKA_HEAP, heapSize),
  BCSS_SOURCE_TIMEOUT_MS: variable('BCSS_SOURCE_TIMEOUT_MS', DEFAULT_SOURCE_TIMEOUT_MS, positiveInteger(POSITIVE)),
  BCSS_MAX_PENDING: variable('BCSS_MAX_PENDING', DEFAULT_MAX_PENDING, positiveInteger(POSITIVE)),
  BCSS_ANSWER_DEADLINE_MS: variable('BCSS_ANSWER_DEADLINE_MS', null, positiveInteger(POSITIVE)),
  BCSS_HTTP_PORT: variable('BCSS_HTTP_PORT', DEFAULT_HTTP_PORT, httpPort),
  BCSS_CONSOLE_PORT: variable('BCSS_CONSOLE_PORT', DEFAULT_CONSOLE_PORT, (value) => {
    const port = httpPort(value);
    return port.ok && port.value === 0 ? { ok: true, value: null } : port;
  }),
  BCSS_CONSOLE_USERS_FILE: variable('BCSS_CONSOLE_USERS_FILE', null, text),
  BCSS_SOURCE_RETENTION_MS: variable('BCSS_SOURCE_RETENTION_MS', DEFAULT_RETENTION.sourceMs, positiveInteger(POSITIVE_MS)),
  BCSS_DELIVERY_RETENTION_MS: variable('BCSS_DELIVERY_RETENTION_MS', DEFAULT_RETENTION.deliveryMs, positiveInteger(POSITIVE_MS)),
  BCSS_CONSULTATION_RETENTION_MS: variable('BCSS_CONSULTATION_RETENTION_MS', DEFAULT_RETENTION.consultationMs, positiveInteger(POSITIVE_MS)),
  BCSS_AUDIT_SEAL_KEY: variable('BCSS_AUDIT_SEAL_KEY', null, text),
  BCSS_AUDIT_SEAL_KEY_FILE: variable('BCSS_AUDIT_SEAL_KEY_FILE', null, text),
  BCSS_AUDIT_VERIFY_KEY: variable('BCSS_AUDIT_VERIFY_KEY', null, text),
  BCSS_AUDIT_INDEX_URL: variable('BCSS_AUDIT_INDEX_URL', null, (value) =>
    /^postgres(?:ql)?:\/\/[^\s]+$/.test(value) ? { ok: true, value } : { ok: false, rule: 'a postgres:// URL', shown: value.replace(/:[^:@/]*@/, ':***@') },
  ),
  BCSS_AUDIT_INDEX_KEY: variable('BCSS_AUDIT_INDEX_KEY', null, text),
  BCSS_AUDIT_INDEX_KEY_FILE: variable('BCSS_AUDIT_INDEX_KEY_FILE', null, text),
  LOG_LEVEL: variable('LOG_LEVEL', null, oneOf(LOG_LEVELS, LOG_LEVELS.join(', '))),
  LOG_FORMAT: variable('LOG_FORMAT', null, oneOf(['json', 'pretty'] as const, 'json or pretty')),
  NO_COLOR: variable('NO_COLOR', false, () => ({ ok: true, value: true })),
});

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

/** Reads and checks the environment; throws SettingsError naming every invalid variable. */
export function loadSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  const parsed = ENVIRONMENT.safeParse(env);
  if (!parsed.success) throw new SettingsError(parsed.error.issues.map((issue) => issue.message).join('; '));
  const e = parsed.data;
  const principalPasswords: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (name.startsWith(PRINCIPAL_PASSWORD_PREFIX) && value) principalPasswords[name] = value;
  }
  return deepFreeze({
    kafka: {
      brokers: e.KAFKA_BROKERS,
      saslMechanism: e.KAFKA_SASL_MECHANISM,
      saslUsername: e.KAFKA_SASL_USERNAME,
      saslPassword: e.KAFKA_SASL_PASSWORD,
      ssl: e.KAFKA_SSL,
    },
    redisUrl: e.REDIS_URL,
    topicPrefix: e.BCSS_TOPIC_PREFIX,
    redisPrefix: e.BCSS_REDIS_PREFIX ?? e.BCSS_TOPIC_PREFIX,
    configDir: e.BCSS_CONFIG_DIR,
    stackDir: resolve(e.BCSS_STACK_DIR),
    kafkaHeap: e.BCSS_KAFKA_HEAP,
    gateway: {
      sourceTimeoutMs: e.BCSS_SOURCE_TIMEOUT_MS,
      maxPending: e.BCSS_MAX_PENDING,
      answerDeadlineMs: e.BCSS_ANSWER_DEADLINE_MS,
      httpPort: e.BCSS_HTTP_PORT,
    },
    console: { port: e.BCSS_CONSOLE_PORT, usersFile: e.BCSS_CONSOLE_USERS_FILE === null ? null : resolve(e.BCSS_CONSOLE_USERS_FILE) },
    retention: {
      sourceMs: e.BCSS_SOURCE_RETENTION_MS,
      deliveryMs: e.BCSS_DELIVERY_RETENTION_MS,
      consultationMs: e.BCSS_CONSULTATION_RETENTION_MS,
    },
    audit: { sealKey: e.BCSS_AUDIT_SEAL_KEY, sealKeyFile: e.BCSS_AUDIT_SEAL_KEY_FILE, verifyKey: e.BCSS_AUDIT_VERIFY_KEY },
    auditIndex: {
      url: e.BCSS_AUDIT_INDEX_URL,
      key: e.BCSS_AUDIT_INDEX_KEY,
      keyFile: e.BCSS_AUDIT_INDEX_KEY_FILE === null ? null : resolve(e.BCSS_AUDIT_INDEX_KEY_FILE),
    },
    log: { level: e.LOG_LEVEL, format: e.LOG_FORMAT, color: !e.NO_COLOR },
    principalPasswords,
  });
}

/**
 * A logger as the settings ask (LOG_LEVEL, LOG_FORMAT, NO_COLOR); `level` is the command's own
 * default when LOG_LEVEL is not set.
 */
export function settingsLogger(settings: Settings, options: { readonly level: LogLevel; readonly destination?: NodeJS.WritableStream; readonly name?: string }): Logger {
  return createLogger({
    level: settings.log.level ?? options.level,
    color: settings.log.color,
    ...(settings.log.format === null ? {} : { format: settings.log.format }),
    ...(options.destination ? { destination: options.destination } : {}),
    ...(options.name ? { name: options.name } : {}),
  });
}

/** The seal and verify keys' sources (src/audit/seal-key.ts) as the settings name them. */
export function sealKeySources(settings: Settings): SealKeySources {
  return { ...settings.audit, stackDir: settings.stackDir };
}

/** The connection KAFKA_BROKERS and KAFKA_SASL_* describe; null when no broker is named (the local stack's then). */
export function environmentKafkaConnection(kafka: KafkaSettings): KafkaConnection | null {
  if (kafka.brokers === null) return null;
  const { saslMechanism: mechanism, saslUsername: username, saslPassword: password } = kafka;
  return {
    brokers: kafka.brokers,
    ...(username && password ? { sasl: { mechanism, username, password } } : {}),
    ssl: kafka.ssl,
  };
}
