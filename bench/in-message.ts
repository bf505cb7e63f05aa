import type { InMessage } from '../src/messaging/kafka-client.js';

/** A message as a pipeline transform receives it, for driving the transforms in process (partition 0). */
export function inMessage(topic: string, offset: number, key: string | Buffer | null, value: Buffer | null, headers: Record<string, string> = {}): InMessage {
  return {
    topic,
    partition: 0,
    offset: String(offset),
    key: typeof key === 'string' ? Buffer.from(key) : key,
    value,
    headers,
    timestamp: String(Date.now()),
  };
}
