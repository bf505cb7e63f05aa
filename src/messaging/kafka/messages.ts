import type { EachBatchPayload } from 'kafkajs';
import type { InMessage, OutMessage } from './types.js';

function toKafkaHeaders(headers?: Readonly<Record<string, string>>): Record<string, string> | undefined {
  return headers ? { ...headers } : undefined;
}

function fromKafkaHeaders(headers: Record<string, unknown> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!headers) return out;
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || value === null) continue;
    out[name] = Buffer.isBuffer(value) ? value.toString('utf8') : Array.isArray(value) ? String(value[0]) : String(value);
  }
  return out;
}

export function toKafkaMessages(messages: readonly OutMessage[]) {
  return messages.map((m) => ({
    key: m.key ?? null,
    value: m.value,
    headers: toKafkaHeaders(m.headers),
    ...(m.partition === undefined ? {} : { partition: m.partition }),
  }));
}

export function toInMessages(payload: Pick<EachBatchPayload, 'batch'>): InMessage[] {
  const { topic, partition, messages } = payload.batch;
  return messages.map((m) => ({
    topic,
    partition,
    offset: m.offset,
    key: m.key,
    value: m.value,
    headers: fromKafkaHeaders(m.headers as Record<string, unknown> | undefined),
    timestamp: m.timestamp,
  }));
}
