/**
 * The Kafka connection of one named principal (an institution, a source, an auditor), for tools that
 * act as that principal: `bcss request --as vaph` must be vaph to the broker, since the ACLs and the
 * requests topic it may write to are what make it vaph to the switch.
 *
 * From the environment when KAFKA_BROKERS is set:
 *   - BCSS_PRINCIPAL_PASSWORD_<NAME> (NAME = the principal upper-cased, '-' as '_': SOURCE_ONSS), or
 *   - KAFKA_SASL_USERNAME / KAFKA_SASL_PASSWORD when that username is the principal,
 *   - else the local stack's credentials, if the local stack is the broker KAFKA_BROKERS names;
 *   with KAFKA_SASL_MECHANISM (default scram-sha-512) and KAFKA_SSL=true.
 * Otherwise from the local stack (`.stack/credentials.json`, or BCSS_STACK_DIR).
 */
import type { KafkaConnection, SaslMechanism } from '../messaging/kafka-client.js';
import { readStackConnection, type StackConnection } from './local-stack.js';

export class PrincipalConnectionError extends Error {
  override readonly name = 'PrincipalConnectionError';
}

const MECHANISMS: readonly SaslMechanism[] = ['scram-sha-512', 'scram-sha-256', 'plain'];

/** `source-onss` → `BCSS_PRINCIPAL_PASSWORD_SOURCE_ONSS`. */
export function principalPasswordVariable(principal: string): string {
  return `BCSS_PRINCIPAL_PASSWORD_${principal.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

export interface PrincipalConnectionOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** Reads the local stack; default `readStackConnection()`. */
  readonly readStack?: () => StackConnection | null;
}

function splitBrokers(list: string): string[] {
  return list
    .split(',')
    .map((b) => b.trim())
    .filter(Boolean);
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

export function principalConnection(principal: string, options: PrincipalConnectionOptions = {}): KafkaConnection {
  const env = options.env ?? process.env;
  const readStack = options.readStack ?? (() => readStackConnection());
  if (principal.trim() === '') throw new PrincipalConnectionError('no principal named');
  const clientId = `bcss-${principal}`;

  if (env.KAFKA_BROKERS) {
    const brokers = splitBrokers(env.KAFKA_BROKERS);
    const mechanism = (env.KAFKA_SASL_MECHANISM ?? 'scram-sha-512') as SaslMechanism;
    if (!MECHANISMS.includes(mechanism)) {
      throw new PrincipalConnectionError(`KAFKA_SASL_MECHANISM must be ${MECHANISMS.join(', ')}, not ${mechanism}`);
    }
    const ssl = env.KAFKA_SSL === 'true';
    const variable = principalPasswordVariable(principal);
    let password = env[variable];
    if (!password && env.KAFKA_SASL_USERNAME === principal) password = env.KAFKA_SASL_PASSWORD;
    if (!password) {
      // The local stack's connection.env names its admin user: its principals are in its credentials file.
      const stack = readStack();
      if (stack && sameBrokers(stack.kafka.brokers, brokers)) password = stackPassword(stack, principal);
    }
    if (!password) {
      throw new PrincipalConnectionError(
        `no password for principal "${principal}": set ${variable}, or KAFKA_SASL_USERNAME=${principal} with KAFKA_SASL_PASSWORD`,
      );
    }
    return { brokers, sasl: { mechanism, username: principal, password }, ssl, clientId };
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
