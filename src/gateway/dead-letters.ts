import { createHash, randomUUID } from 'node:crypto';
import type { AvroCodec } from '../messaging/avro-codec.js';
import type { InMessage } from '../messaging/kafka-client.js';
import type { TopicNames } from '../messaging/topics.js';
import type { OutRecord } from '../messaging/transactional-pipeline.js';
import { RECORD } from './directory-messages.js';

/**
 * What of the original a dead letter keeps at most. The record must fit in the broker's message size
 * limit (1 MiB by default) whatever arrived — a message just under the limit, a huge key or headers —
 * or its transaction could never commit and the partition would stall. The value's size and SHA-256
 * are always recorded whole.
 */
export const DEAD_LETTER_LIMITS = { valueBytes: 512 * 1024, keyBytes: 16 * 1024, headerChars: 1024, headers: 64 } as const;

/** A dead-letter record for a message that could not be decoded or routed: reason, origin, its bytes. */
export function deadLetter(
  codec: AvroCodec,
  topics: TopicNames,
  message: InMessage,
  reasonCode: string,
  reason: string,
): OutRecord {
  const limits = DEAD_LETTER_LIMITS;
  let truncated = false;
  const cut = (bytes: Buffer | null, max: number): Buffer | null => {
    if (bytes === null || bytes.length <= max) return bytes;
    truncated = true;
    return bytes.subarray(0, max);
  };
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers).slice(0, limits.headers)) {
    if (name.length > limits.headerChars || value.length > limits.headerChars) truncated = true;
    headers[name.slice(0, limits.headerChars)] = value.slice(0, limits.headerChars);
  }
  if (Object.keys(message.headers).length > limits.headers) truncated = true;
  const originalValue = cut(message.value, limits.valueBytes);
  const originalKey = cut(message.key, limits.keyBytes);
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
      originalKey,
      originalValue,
      originalHeaders: headers,
      originalSize: message.value === null ? null : message.value.length,
      originalSha256: message.value === null ? null : createHash('sha256').update(message.value).digest('hex'),
      truncated,
    }),
    headers: { type: 'dead-letter', reason: reasonCode },
  };
}
