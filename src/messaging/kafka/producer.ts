import type { Kafka, Producer } from 'kafkajs';
import { translated } from './errors.js';
import { toKafkaMessages } from './messages.js';
import type { MessageProducer, OutMessage, TransactionalProducer } from './types.js';

export async function connectProducer(kafka: Kafka, options?: { idempotent?: boolean }): Promise<MessageProducer> {
  const idempotent = options?.idempotent ?? true;
  const producer = kafka.producer({
    idempotent,
    ...(idempotent ? { maxInFlightRequests: 1 } : {}),
    allowAutoTopicCreation: false,
  });
  await translated(() => producer.connect());
  return wrapProducer(producer);
}

function wrapProducer(producer: Producer): MessageProducer {
  return {
    send: (topic, messages) =>
      translated(async () => {
        await producer.send({ topic, messages: toKafkaMessages(messages), acks: -1 });
      }),
    disconnect: () => producer.disconnect(),
  };
}

export async function connectTransactionalProducer(kafka: Kafka, transactionalId: string): Promise<TransactionalProducer> {
  const producer = kafka.producer({
    transactionalId,
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
  });
  await translated(() => producer.connect());
  return {
    sendAtomically: (records) =>
      translated(async () => {
        const byTopic = new Map<string, OutMessage[]>();
        for (const { topic, ...message } of records) byTopic.set(topic, [...(byTopic.get(topic) ?? []), message]);
        const transaction = await producer.transaction();
        try {
          await transaction.sendBatch({
            topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages: toKafkaMessages(messages) })),
            acks: -1,
          });
          await transaction.commit();
        } catch (error) {
          await transaction.abort().catch(() => undefined);
          throw error;
        }
      }),
    disconnect: () => producer.disconnect(),
  };
}
