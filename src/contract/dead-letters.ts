/**
 * Dead letters (schemas/dead-letter.avsc): what any party of the switch writes on `bcss.deadletter` for
 * a message it could not decode or route, instead of stopping its partition or dropping the message.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { RefusalCode } from '../domain/refusal-codes.js';
import type { AvroCodec, CodecErrorCode } from '../messaging/avro-codec.js';
import type { InMessage } from '../messaging/kafka-client.js';
import type { TopicNames } from '../messaging/topics.js';
import type { OutRecord } from '../messaging/transactional-pipeline.js';
import { EXCHANGE_RECORD, HEADER, MESSAGE_TYPE } from './names.js';

/**
 * Why a message was dead-lettered (`reasonCode`, and the `reason` header): the codec's error, or
 * - UNROUTABLE: its topic names no institution or source;
 * - INTERNAL_ERROR: processing it failed unexpectedly;
 * - WRONG_SOURCE: a source answered for another source's exchange, or published a change of a service
 *   it does not own;
 * - INVALID_NISS, INVALID_EMPLOYER_ID: a source's change about an identifier that is not valid (the
 *   refusal codes of the same rules).
 */
export type DeadLetterReason =
  | CodecErrorCode
  | 'UNROUTABLE'
  | 'INTERNAL_ERROR'
  | 'WRONG_SOURCE'
  | Extract<RefusalCode, 'INVALID_NISS' | 'INVALID_EMPLOYER_ID'>;

export interface DeadLetterRecord {
  readonly id: string;
  readonly recordedAt: number;
  readonly originTopic: string;
  readonly originPartition: number;
  readonly originOffset: number;
  readonly originInstitution: string | null;
  readonly reasonCode: DeadLetterReason;
  readonly reason: string;
  readonly originalKey: Buffer | null;
  readonly originalValue: Buffer | null;
  readonly originalHeaders: Readonly<Record<string, string>>;
  readonly originalSize: number | null;
  readonly originalSha256: string | null;
  readonly truncated: boolean;
}

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
  reasonCode: DeadLetterReason,
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
  const record: DeadLetterRecord = {
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
  };
  return {
    topic: topics.deadLetter,
    key: `${message.topic}:${message.partition}:${message.offset}`,
    value: codec.encode(EXCHANGE_RECORD.deadLetter, record),
    headers: { [HEADER.type]: MESSAGE_TYPE.deadLetter, [HEADER.reason]: reasonCode },
  };
}
