import kafkajs from './kafkajs.js';
import type { Kafka, SASLOptions } from 'kafkajs';
import type { Logger } from '../../logging/logger.js';
import { connectAdmin } from './admin.js';
import { connectConsumer } from './consumer.js';
import { kafkajsLogCreator } from './log-creator.js';
import { connectProducer, connectTransactionalProducer } from './producer.js';
import type { KafkaClient, KafkaConnection } from './types.js';

const { Kafka: KafkaCtor, logLevel } = kafkajs;

/** The kafkajs client of a connection, with the timeouts, retries and logging every component uses. */
export function createKafkajs(connection: KafkaConnection, logger: Logger): Kafka {
  return new KafkaCtor({
    clientId: connection.clientId ?? 'bcss-gateway',
    brokers: [...connection.brokers],
    ssl: connection.ssl ?? false,
    ...(connection.sasl ? { sasl: { ...connection.sasl } as SASLOptions } : {}),
    connectionTimeout: 5_000,
    authenticationTimeout: 5_000,
    retry: { retries: 5, initialRetryTime: 200, maxRetryTime: 5_000 },
    logLevel: logLevel.INFO,
    logCreator: kafkajsLogCreator(logger),
  });
}

// Kept off the KafkaClient object so that nothing outside src/messaging can reach kafkajs through it.
const kafkajsByClient = new WeakMap<KafkaClient, Kafka>();

/**
 * The kafkajs client behind `client`, for the readers and the transactional pipeline of src/messaging,
 * which drive kafkajs's consumers and producers themselves.
 */
export function kafkajsOf(client: KafkaClient): Kafka {
  const kafka = kafkajsByClient.get(client);
  if (!kafka) throw new TypeError('this KafkaClient was not made by createKafkaClient');
  return kafka;
}

export function createKafkaClient(connection: KafkaConnection, logger: Logger): KafkaClient {
  const kafka = createKafkajs(connection, logger);
  const client: KafkaClient = {
    connection,
    admin: () => connectAdmin(kafka),
    producer: (options) => connectProducer(kafka, options),
    transactionalProducer: (transactionalId) => connectTransactionalProducer(kafka, transactionalId),
    consumer: (options) => connectConsumer(kafka, options),
  };
  kafkajsByClient.set(client, kafka);
  return client;
}
