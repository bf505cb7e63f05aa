import { randomUUID } from 'node:crypto';
import type { DirectoryAckRecord, DirectoryCommandRecord } from '../contract/directory-records.js';
import { DIRECTORY_RECORD, HEADER, MESSAGE_TYPE } from '../contract/names.js';
import type { AvroCodec } from '../messaging/avro-codec.js';
import type { KafkaClient, MessageConsumer } from '../messaging/kafka-client.js';
import type { TopicNames } from '../messaging/topics.js';

/**
 * For institutions and operators: publish directory commands on the institution's directory topic and
 * collect their acknowledgements from its replies topic.
 */
export interface DirectoryClient {
  /** Starts listening for acknowledgements from the replies topic's current end; call before publishing. */
  listen(onAck: (ack: DirectoryAckRecord) => void): Promise<void>;
  publish(commands: readonly DirectoryCommandRecord[]): Promise<void>;
  close(): Promise<void>;
}

export function newCommandId(prefix = 'cmd'): string {
  return `${prefix}-${randomUUID()}`;
}

export async function createDirectoryClient(deps: {
  client: KafkaClient;
  codec: AvroCodec;
  topics: TopicNames;
  institution: string;
}): Promise<DirectoryClient> {
  const producer = await deps.client.producer();
  const repliesTopic = deps.topics.replies(deps.institution);
  let consumer: MessageConsumer | undefined;
  return {
    async listen(onAck) {
      const admin = await deps.client.admin();
      const ends = await admin.topicEndOffsets(repliesTopic).finally(() => admin.disconnect());
      consumer = await deps.client.consumer({ groupId: `${deps.topics.prefix}.${deps.institution}.directory-client.${randomUUID()}`, topics: [repliesTopic] });
      await consumer.run(async (batch) => {
        for (const message of batch.messages) {
          if (message.headers[HEADER.type] !== MESSAGE_TYPE.directoryAck || !message.value) continue;
          onAck(deps.codec.decode<DirectoryAckRecord>(DIRECTORY_RECORD.ack, message.value));
        }
      });
      for (const { partition, offset } of ends) consumer.seek(repliesTopic, partition, offset);
    },
    async publish(commands) {
      const chunk = 1000;
      for (let i = 0; i < commands.length; i += chunk) {
        await producer.send(
          deps.topics.directory(deps.institution),
          commands.slice(i, i + chunk).map((command) => ({ key: command.niss, value: deps.codec.encode(DIRECTORY_RECORD.command, command) })),
        );
      }
    },
    async close() {
      await Promise.all([producer.disconnect(), consumer?.disconnect()]);
    },
  };
}
