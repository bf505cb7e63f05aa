/**
 * The Kafka connection of one named principal (an institution, a source, an auditor), for tools that
 * act as that principal: `bcss request --as vaph` must be vaph to the broker, since the ACLs and the
 * requests topic it may write to are what make it vaph to the switch.
 *
 * From the settings (src/app/settings.ts) when they name brokers (KAFKA_BROKERS):
 *   - BCSS_PRINCIPAL_PASSWORD_<NAME> (NAME = the principal upper-cased, '-' as '_': SOURCE_ONSS), or
 *   - KAFKA_SASL_USERNAME / KAFKA_SASL_PASSWORD when that username is the principal,
 *   - else the local stack's credentials, if the local stack (single node or cluster) is the broker
 *     KAFKA_BROKERS names;
 *   with KAFKA_SASL_MECHANISM and KAFKA_SSL.
 * Otherwise from the local stack (`credentials.json` in the settings' stack folder).
 */
import type { KafkaConnection, SaslMechanism } from '../messaging/kafka-client.js';
import { readClusterConnection } from './cluster-stack.js';
import { readStackConnection, type StackConnection } from './local-stack.js';

export class PrincipalConnectionError extends Error {
  override readonly name = 'PrincipalConnectionError';
}

export const PRINCIPAL_PASSWORD_PREFIX = 'BCSS_PRINCIPAL_PASSWORD_';

/** `source-onss` → `BCSS_PRINCIPAL_PASSWORD_SOURCE_ONSS`. */
export function principalPasswordVariable(principal: string): string {
  return `${PRINCIPAL_PASSWORD_PREFIX}${principal.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

/** The broker as the environment names it (KAFKA_*), checked by src/app/settings.ts. */
export interface KafkaSettings {
  /** KAFKA_BROKERS; null: the local stack's broker. */
  readonly brokers: readonly string[] | null;
  /** KAFKA_SASL_MECHANISM. */
  readonly saslMechanism: SaslMechanism;
  /** KAFKA_SASL_USERNAME / KAFKA_SASL_PASSWORD: SASL is used only when both are set. */
  readonly saslUsername: string | null;
  readonly saslPassword: string | null;
  /** KAFKA_SSL=true. */
  readonly ssl: boolean;
}

/** The part of the settings (src/app/settings.ts) a principal's connection depends on. */
export interface PrincipalConnectionSettings {
  readonly kafka: KafkaSettings;
  /** BCSS_PRINCIPAL_PASSWORD_<NAME> values, by variable name. */
  readonly principalPasswords: Readonly<Record<string, string>>;
  /** The local stack's folder. */
  readonly stackDir: string;
}

export interface PrincipalConnectionOptions {
  readonly settings: PrincipalConnectionSettings;
  /** Reads the local stack; default `readStackConnection(settings.stackDir)`. */
  readonly readStack?: () => StackConnection | null;
  /** Reads the local clustered stack; default `readClusterConnection(settings.stackDir)`. */
  readonly readCluster?: () => StackConnection | null;
}

function sameBrokers(a: readonly string[], b: readonly string[]): boolean {
  const normal = (list: readonly string[]) => list.map((x) => x.replace(/^localhost:/, '127.0.0.1:')).sort().join(',');
  return normal(a) === normal(b);
}

function stackPassword(stack: StackConnection, principal: string): string {
  const password = stack.credentials.principals[principal];
  if (!password) {
    const known = Object.keys(stack.credentials.principals).sort().join(', ');
    throw new PrincipalConnectionError(`the local stack has no principal "${principal}" (it has: ${known})`);
  }
  return password;
}

export function principalConnection(principal: string, options: PrincipalConnectionOptions): KafkaConnection {
  const { kafka, principalPasswords, stackDir } = options.settings;
  const readStack = options.readStack ?? (() => readStackConnection(stackDir));
  const readCluster = options.readCluster ?? (() => readClusterConnection(stackDir));
  if (principal.trim() === '') throw new PrincipalConnectionError('no principal named');
  const clientId = `bcss-${principal}`;

  if (kafka.brokers !== null) {
    const brokers = kafka.brokers;
    const variable = principalPasswordVariable(principal);
    let password = principalPasswords[variable];
    if (!password && kafka.saslUsername === principal) password = kafka.saslPassword ?? undefined;
    if (!password) {
      // The local stack's connection.env names its admin user: its principals are in its credentials file.
      const stack = [readStack(), readCluster()].find((s) => s !== null && sameBrokers(s.kafka.brokers, brokers));
      if (stack) password = stackPassword(stack, principal);
    }
    if (!password) {
      throw new PrincipalConnectionError(
        `no password for principal "${principal}": set ${variable}, or KAFKA_SASL_USERNAME=${principal} with KAFKA_SASL_PASSWORD`,
      );
    }
    return { brokers, sasl: { mechanism: kafka.saslMechanism, username: principal, password }, ssl: kafka.ssl, clientId };
  }

  const stack = readStack();
  if (!stack) {
    throw new PrincipalConnectionError(
      `no Kafka configured: set KAFKA_BROKERS and ${principalPasswordVariable(principal)}, or start the local stack with \`npm run stack:up\``,
    );
  }
  return {
    brokers: stack.kafka.brokers,
    sasl: { mechanism: 'scram-sha-512', username: principal, password: stackPassword(stack, principal) },
    ...(stack.kafka.ssl === undefined ? {} : { ssl: stack.kafka.ssl }),
    clientId,
  };
}
