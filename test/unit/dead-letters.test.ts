import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SCHEMA_DIR } from '../../src/config/project-paths.js';
import { DEAD_LETTER_LIMITS, deadLetter, type DeadLetterRecord } from '../../src/contract/dead-letters.js';
import { EXCHANGE_RECORD } from '../../src/contract/names.js';
import { loadAvroCodec } from '../../src/messaging/avro-codec.js';
import type { InMessage } from '../../src/messaging/kafka-client.js';
import { topicNames } from '../../src/messaging/topics.js';

const codec = loadAvroCodec(SCHEMA_DIR);
const topics = topicNames('bcss');

const message = (value: Buffer | null, key: Buffer | null = Buffer.from('k'), headers: Record<string, string> = {}): InMessage => ({
  topic: 'bcss.vaph.requests',
  partition: 1,
  offset: '42',
  key,
  value,
  headers,
  timestamp: '0',
});

const decode = (m: InMessage) => {
  const out = deadLetter(codec, topics, m, 'BAD_MARKER', 'not a single-object encoding');
  return { out, value: codec.decode<DeadLetterRecord>(EXCHANGE_RECORD.deadLetter, out.value as Buffer) };
};

describe('dead letters', () => {
  it('keep a message\'s exact bytes, size and hash when small', () => {
    const bytes = Buffer.from('garbage of any kind');
    const { value } = decode(message(bytes, null, { a: 'b' }));
    expect(value.originalValue?.equals(bytes)).toBe(true);
    expect(value.originalSize).toBe(bytes.length);
    expect(value.originalSha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(value.truncated).toBe(false);
    expect(value.originalHeaders).toEqual({ a: 'b' });
    expect(value.originOffset).toBe(42);
  });

  it('stay under the broker\'s limit for a message just under it: the value cut, its size and hash whole', () => {
    const bytes = Buffer.alloc(1_048_450, 7);
    const { out, value } = decode(message(bytes, Buffer.alloc(200_000, 1), { h: 'x'.repeat(100_000) }));
    expect((out.value as Buffer).length).toBeLessThan(DEAD_LETTER_LIMITS.valueBytes + DEAD_LETTER_LIMITS.keyBytes + 70_000);
    expect(value.truncated).toBe(true);
    expect(value.originalValue?.length).toBe(DEAD_LETTER_LIMITS.valueBytes);
    expect(value.originalValue?.equals(bytes.subarray(0, DEAD_LETTER_LIMITS.valueBytes))).toBe(true);
    expect(value.originalKey?.length).toBe(DEAD_LETTER_LIMITS.keyBytes);
    expect(value.originalHeaders.h?.length).toBe(DEAD_LETTER_LIMITS.headerChars);
    expect(value.originalSize).toBe(bytes.length);
    expect(value.originalSha256).toBe(createHash('sha256').update(bytes).digest('hex'));
  });

  it('record an empty message as such', () => {
    const { value } = decode(message(null));
    expect(value.originalValue).toBeNull();
    expect(value.originalSize).toBeNull();
    expect(value.truncated).toBe(false);
  });
});
