import { randomUUID } from 'node:crypto';
import type { ExchangeTimeoutRecord } from '../contract/exchange-records.js';
import { EXCHANGE_RECORD, HEADER, MESSAGE_TYPE } from '../contract/names.js';
import type { Logger } from '../logging/logger.js';
import type { AvroCodec } from '../messaging/avro-codec.js';
import type { MessageProducer } from '../messaging/kafka-client.js';
import type { TopicNames } from '../messaging/topics.js';
import type { PendingStore } from '../store/pending-store.js';

/**
 * Turns passed deadlines into events on the internal timeouts topic; the reply pipeline answers
 * SOURCE_TIMEOUT from them, in a transaction like every other answer. The event is published first and
 * the ticket taken out of the deadline index after, so a crash in between yields a second event, which
 * the claim in the reply pipeline makes harmless — never a lost timeout. One sweeper at a time holds a
 * lease in Redis; another gateway process takes over when it lapses.
 */

export interface TimeoutSweeperDeps {
  readonly producer: MessageProducer;
  readonly codec: AvroCodec;
  readonly topics: TopicNames;
  readonly pending: Pick<PendingStore, 'due' | 'undue' | 'lease'>;
  readonly logger: Logger;
  readonly intervalMs?: number;
  /** Deadlines handled per round at most. */
  readonly batchSize?: number;
}

export interface RunningSweeper {
  /** One round now (tests, and the loop itself); returns the number of timeouts emitted. */
  sweep(): Promise<number>;
  stop(): Promise<void>;
}

export function startTimeoutSweeper(deps: TimeoutSweeperDeps): RunningSweeper {
  const log = deps.logger.child({ module: 'timeouts' });
  const intervalMs = deps.intervalMs ?? 500;
  const batchSize = deps.batchSize ?? 2_000;
  const owner = randomUUID();
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<unknown> = Promise.resolve();

  const sweep = async (): Promise<number> => {
    if (!(await deps.pending.lease(owner, Math.max(intervalMs * 10, 5_000)))) return 0;
    let emitted = 0;
    for (;;) {
      const now = Date.now();
      const tickets = await deps.pending.due(now, batchSize);
      if (tickets.length === 0) return emitted;
      await deps.producer.send(
        deps.topics.exchangeTimeouts,
        tickets.map((ticket) => {
          const record: ExchangeTimeoutRecord = { ticket, deadline: now, emittedAt: now };
          return {
            key: ticket,
            value: deps.codec.encode(EXCHANGE_RECORD.timeout, record),
            headers: { [HEADER.type]: MESSAGE_TYPE.timeout },
          };
        }),
      );
      await deps.pending.undue(tickets);
      emitted += tickets.length;
      if (tickets.length < batchSize || stopped) return emitted;
    }
  };

  const loop = () => {
    if (stopped) return;
    running = sweep()
      .then((n) => {
        if (n > 0) log.info({ timeouts: n }, 'deadlines passed: SOURCE_TIMEOUT will be answered');
      })
      .catch((error: unknown) => log.warn({ err: error }, 'timeout sweep failed; retrying'))
      .finally(() => {
        if (!stopped) timer = setTimeout(loop, intervalMs);
      });
  };
  timer = setTimeout(loop, intervalMs);

  return {
    sweep,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
