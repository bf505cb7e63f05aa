import type { Kafka, Producer } from 'kafkajs';
import { translated } from './errors.js';
import { toKafkaMessages } from './messages.js';
import type { MessageProducer, OutMessage, TransactionalProducer } from './types.js';

/**
 * The transactional producers' own retry. A new transaction's first request (AddPartitionsToTxn) is
 * answered CONCURRENT_TRANSACTIONS while the broker still completes the previous one, usually for a
 * few milliseconds; with the client's 200 ms first wait every chunk after a commit stalled that long.
 * 15 ms doubling (to 1 s) over 10 retries gives up after about 5 s, as the client's setting does.
 */
export const TRANSACTIONAL_RETRY = { retries: 10, initialRetryTime: 15, maxRetryTime: 1_000 } as const;

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
    retry: TRANSACTIONAL_RETRY,
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
