import type { Consumer, Kafka } from 'kafkajs';
import { retrying, translated } from './errors.js';
import { toInMessages } from './messages.js';
import type { ConsumerOptions, MessageConsumer } from './types.js';

export async function connectConsumer(kafka: Kafka, options: ConsumerOptions): Promise<MessageConsumer> {
  const consumer = kafka.consumer({
    groupId: options.groupId,
    readUncommitted: options.readCommitted === false,
    allowAutoTopicCreation: false,
  });
  await translated(() => consumer.connect());
  for (const topic of options.topics) {
    // A topic created a moment ago may not be served yet (UNKNOWN_TOPIC_OR_PARTITION, retriable).
    await retrying(() => consumer.subscribe({ topic, fromBeginning: options.fromBeginning ?? false }));
  }
  return wrapConsumer(consumer, options);
}

function wrapConsumer(consumer: Consumer, options: ConsumerOptions): MessageConsumer {
  return {
    run: (onBatch) =>
      translated(() =>
        consumer.run({
          partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 1,
          eachBatchAutoResolve: true,
          eachBatch: async (payload) => {
            await onBatch({
              topic: payload.batch.topic,
              partition: payload.batch.partition,
              messages: toInMessages(payload),
              heartbeat: payload.heartbeat,
              isRunning: () => payload.isRunning() && !payload.isStale(),
            });
          },
        }),
      ),
    seek: (topic, partition, offset) => consumer.seek({ topic, partition, offset }),
    disconnect: () => consumer.disconnect(),
  };
}
