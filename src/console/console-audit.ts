/**
 * What console users do, in the audit trail (docs/audit-events.md, CONSOLE_LOOKUP and
 * DEAD_LETTER_REDRIVEN): requester `console:<user>` (an institution id never holds `:`), the role as
 * the first word of the purpose, keyed by the person looked up when there is one, so that the
 * sealer chains these records with the others and `bcss audit search --niss` lists the lookups too.
 * Written before the answer is shown: no record, no answer (fail closed).
 */
import { auditMessage, auditRecord, type AuditRecordValue } from '../contract/audit-records.js';
import type { AvroCodec } from '../messaging/avro-codec.js';
import type { KafkaClient, MessageProducer } from '../messaging/kafka-client.js';
import type { TopicNames } from '../messaging/topics.js';
import { auditKeyOf } from '../audit/audit-search.js';
import type { ConsoleUser } from './users.js';

export const CONSOLE_SERVICE = 'console';

export interface ConsoleAction {
  readonly event: 'CONSOLE_LOOKUP' | 'DEAD_LETTER_REDRIVEN';
  /** OK, DENIED (the role may not), REDRIVEN, REDRIVE_FAILED. */
  readonly outcome: string;
  /** What was done, after the role: `person report`, `exchange`, `redrive` ... */
  readonly what: string;
  readonly niss?: string | null;
  readonly ticket?: string | null;
  readonly source?: string | null;
  /** The request id looked up, when the exchange was asked for by it. */
  readonly requestId?: string | null;
}

export interface ConsoleAudit {
  record(user: ConsoleUser, action: ConsoleAction): Promise<AuditRecordValue>;
  close(): Promise<void>;
}

export function consoleRequester(user: ConsoleUser): string {
  return `console:${user.name}`;
}

export function createConsoleAudit(options: { client: KafkaClient; codec: AvroCodec; topics: TopicNames }): ConsoleAudit {
  let producer: Promise<MessageProducer> | null = null;
  return {
    async record(user, action) {
      const record = auditRecord(action.event, action.outcome, {
        requester: consoleRequester(user),
        service: CONSOLE_SERVICE,
        purpose: `${user.role}: ${action.what}`,
        subjectNiss: action.niss ? auditKeyOf(action.niss) : null,
        ticket: action.ticket ?? null,
        source: action.source ?? null,
        requestId: action.requestId ?? null,
      });
      const message = auditMessage(options.codec, options.topics, record);
      producer ??= options.client.producer();
      await (await producer).send(message.topic, [message]);
      return record;
    },
    async close() {
      if (producer) await (await producer).disconnect();
    },
  };
}
