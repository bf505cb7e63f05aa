/**
 * The public entry of the Kafka wrapper (its parts are in ./kafka/). The rest of the code speaks to
 * Kafka through the small interfaces exported here, so that a move to another KafkaJS-compatible client
 * stays contained in src/messaging, the only folder that imports kafkajs.
 */
export type {
  AclGrant,
  AclGrantFilter,
  AclOperation,
  AclResource,
  BatchContext,
  ConsumerOptions,
  GroupTopicOffsets,
  InMessage,
  KafkaAdmin,
  KafkaClient,
  KafkaConnection,
  MessageConsumer,
  MessageProducer,
  OutMessage,
  SaslMechanism,
  TopicSpec,
  TopicState,
  TransactionalProducer,
} from './kafka/types.js';
export { MessagingError, retrying, toMessagingError } from './kafka/errors.js';
export { createKafkaClient } from './kafka/client.js';
export { onKafkaRetriedError } from './kafka/log-creator.js';
export { readKeyPartition } from './kafka/key-partition.js';
