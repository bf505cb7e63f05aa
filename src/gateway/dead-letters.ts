import { randomUUID } from 'node:crypto';
import type { AvroCodec } from '../messaging/avro-codec.js';
import type { InMessage } from '../messaging/kafka-client.js';
import type { TopicNames } from '../messaging/topics.js';
import type { OutRecord } from '../messaging/transactional-pipeline.js';
import { RECORD } from './directory-messages.js';

/** A dead-letter record for a message that could not be decoded or routed: reason, origin, exact bytes. */
export function deadLetter(
  codec: AvroCodec,
  topics: TopicNames,
  message: InMessage,
  reasonCode: string,
  reason: string,
): OutRecord {
  return {
    topic: topics.deadLetter,
    key: `${message.topic}:${message.partition}:${message.offset}`,
    value: codec.encode(RECORD.deadLetter, {
      id: randomUUID(),
      recordedAt: Date.now(),
      originTopic: message.topic,
      originPartition: message.partition,
      originOffset: Number(message.offset),
      originInstitution: topics.institutionOf(message.topic),
      reasonCode,
      reason,
      originalKey: message.key,
      originalValue: message.value,
      originalHeaders: { ...message.headers },
    }),
    headers: { type: 'dead-letter', reason: reasonCode },
  };
}
