import { randomBytes } from 'node:crypto';
import { GenericContainer, Wait, type StartedTestContainer } from 'testcontainers';
import { DEFAULT_CONFIG_DIR } from '../../src/config/project-paths.js';
import { loadInstitutions, principalNames } from '../../src/config/load-institutions.js';
import { freePort, type StackCredentials } from '../../src/stack/local-stack.js';
import type { TestStack } from './stack-context.js';

/**
 * The same stack as `stack/` and docker-compose.yml, in containers, for machines with a Docker engine:
 * Kafka 3.9 in KRaft mode with SASL/SCRAM and the StandardAuthorizer, Redis with append-only files.
 */
const KAFKA_IMAGE = 'apache/kafka:3.9.2';
const REDIS_IMAGE = 'redis:7.4';

const secret = () => randomBytes(18).toString('base64url');

export async function startContainerStack(): Promise<{ stack: TestStack; stop: () => Promise<void> }> {
  const credentials: StackCredentials = {
    admin: { username: 'admin', password: secret() },
    principals: Object.fromEntries(principalNames(loadInstitutions(DEFAULT_CONFIG_DIR)).map((n) => [n, secret()])),
    redisPassword: secret(),
  };
  const adminPw = credentials.admin.password;
  // The advertised address must be the host's: bind the same port number inside and outside.
  const port = await freePort();
  const plain = `org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="${adminPw}" user_admin="${adminPw}";`;
  const kafka: StartedTestContainer = await new GenericContainer(KAFKA_IMAGE)
    .withExposedPorts({ container: port, host: port })
    .withEnvironment({
      KAFKA_NODE_ID: '1',
      KAFKA_PROCESS_ROLES: 'broker,controller',
      KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
      KAFKA_LISTENERS: `CLIENT://0.0.0.0:${port},CONTROLLER://localhost:9093`,
      KAFKA_ADVERTISED_LISTENERS: `CLIENT://127.0.0.1:${port}`,
      KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'CLIENT:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT',
      KAFKA_INTER_BROKER_LISTENER_NAME: 'CLIENT',
      KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
      KAFKA_SASL_ENABLED_MECHANISMS: 'SCRAM-SHA-512,PLAIN',
      KAFKA_SASL_MECHANISM_INTER_BROKER_PROTOCOL: 'PLAIN',
      KAFKA_SASL_MECHANISM_CONTROLLER_PROTOCOL: 'PLAIN',
      KAFKA_LISTENER_NAME_CLIENT_PLAIN_SASL_JAAS_CONFIG: plain,
      KAFKA_LISTENER_NAME_CLIENT_SCRAM___SHA___512_SASL_JAAS_CONFIG:
        'org.apache.kafka.common.security.scram.ScramLoginModule required;',
      KAFKA_LISTENER_NAME_CONTROLLER_SASL_ENABLED_MECHANISMS: 'PLAIN',
      KAFKA_LISTENER_NAME_CONTROLLER_PLAIN_SASL_JAAS_CONFIG: plain,
      KAFKA_AUTHORIZER_CLASS_NAME: 'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
      KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND: 'false',
      KAFKA_SUPER_USERS: 'User:admin',
      KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
      KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
      KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
      KAFKA_HEAP_OPTS: '-Xmx768m -Xms768m',
    })
    .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
    .start();

  // SCRAM users are created through the broker, authenticated as the PLAIN admin.
  const commandConfig = `security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\nsasl.jaas.config=${plain}\n`;
  await kafka.copyContentToContainer([{ content: commandConfig, target: '/tmp/admin.properties' }]);
  const users = [['admin', adminPw], ...Object.entries(credentials.principals)];
  for (const [name, password] of users) {
    const result = await kafka.exec([
      '/opt/kafka/bin/kafka-configs.sh', '--bootstrap-server', `127.0.0.1:${port}`, '--command-config', '/tmp/admin.properties',
      '--alter', '--entity-type', 'users', '--entity-name', String(name), '--add-config', `SCRAM-SHA-512=[password=${password}]`,
    ]);
    if (result.exitCode !== 0) throw new Error(`creating SCRAM user ${name} failed: ${result.output}`);
  }

  const redis = await new GenericContainer(REDIS_IMAGE)
    .withExposedPorts(6379)
    .withCommand(['redis-server', '--appendonly', 'yes', '--requirepass', credentials.redisPassword, '--hash-max-ziplist-entries', '256', '--hash-max-ziplist-value', '512'])
    .withWaitStrategy(Wait.forLogMessage(/Ready to accept connections/))
    .start();

  return {
    stack: {
      mode: 'containers',
      kafka: { brokers: [`127.0.0.1:${port}`], sasl: { mechanism: 'scram-sha-512', username: 'admin', password: adminPw } },
      redisUrl: `redis://:${credentials.redisPassword}@${redis.getHost()}:${redis.getMappedPort(6379)}`,
      credentials,
      stackDir: null,
    },
    stop: async () => {
      await Promise.all([kafka.stop(), redis.stop()]);
    },
  };
}
