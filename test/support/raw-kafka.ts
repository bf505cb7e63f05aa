import type { Kafka } from 'kafkajs';
import { silentLogger } from '../../src/logging/logger.js';
import type { KafkaConnection } from '../../src/messaging/kafka-client.js';
import { createKafkajs } from '../../src/messaging/kafka/client.js';

/**
 * A kafkajs client with the same settings as the switch's own, for tests that must see what the wrapper
 * hides on purpose: a produced message's offset, a consumer's join and crash events, a group's members.
 */
export function rawKafka(connection: KafkaConnection): Kafka {
  return createKafkajs(connection, silentLogger);
}
