/**
 * The institutions' side of the exchange: publish a Request on the institution's requests topic and
 * wait for the Reply that carries its requestId on the institution's replies topic — or, with
 * `channel: 'consultation'`, as the institution's consultation application (19/010 §37: ONVA's DOLSIS,
 * which shows data and stores none), on its consultation-requests topic and its consultations topic.
 *
 * One producer and one reply consumer per client. The consumer's group is new for every client and
 * starts at the end offsets read before anything is sent, so that a reply can neither be missed (it
 * came before the group was assigned) nor be one of an earlier run. Several clients of the same
 * institution read the same replies topic: each keeps only the replies to its own requests.
 */
import { randomUUID } from 'node:crypto';
import { SCHEMA_DIR } from '../config/project-paths.js';
import type { ReplyRecord, ReplyStatus, RequestRecord } from '../contract/exchange-records.js';
import { EXCHANGE_RECORD, HEADER, MESSAGE_TYPE } from '../contract/names.js';
import type { Channel } from '../domain/exchange.js';
import { isRefusalCode, REFUSAL_CODES, type RefusalCode } from '../domain/refusal-codes.js';
import type { IsoDate, Period } from '../domain/types.js';
import { silentLogger, type Logger } from '../logging/logger.js';
import { loadAvroCodec, type AvroCodec } from '../messaging/avro-codec.js';
import {
  createKafkaClient,
  type BatchContext,
  type InMessage,
  type KafkaConnection,
  type MessageConsumer,
  type MessageProducer,
} from '../messaging/kafka-client.js';
import { assertEntityId, topicNames, type TopicNames } from '../messaging/topics.js';
import {
  buildRequest,
  completeRawRequest,
  requestKey,
  RequestInputError,
  type RawRequestRecord,
  type RequestInput,
} from './request-input.js';

/** The two records an institution writes and reads, under the names the library exports (src/index.ts). */
export const REQUEST_RECORD = EXCHANGE_RECORD.request;
export const REPLY_RECORD = EXCHANGE_RECORD.reply;

/**
 * A Reply as this library reads it: a switch newer than the library may answer a status it does not
 * know yet (the schema keeps `status` a string), which stays a plain string.
 */
export type ReceivedReplyRecord = Omit<ReplyRecord, 'status'> & { readonly status: ReplyStatus | (string & {}) };

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_CONCURRENCY = 16;
/** Ids of timed-out requests remembered so that their late replies still reach `onReply` listeners. */
const LATE_REPLIES_REMEMBERED = 10_000;

export interface LegalBasis {
  readonly deliberation: string;
  readonly version: string;
  readonly purpose: string | null;
}

interface ReplyTimes {
  /** ISO-8601 instants (UTC): when the switch read the request, forwarded it (null: refused before) and answered. */
  readonly receivedAt: string;
  readonly forwardedAt: string | null;
  readonly answeredAt: string;
}

/**
 * As on the wire: `removedFields` are the fields withheld from the delivered rows, as
 * `<block id>.<field>` (the deliberation does not name them).
 */
type ReplyAsSent = Pick<ReplyRecord, 'requestId' | 'ticket' | 'service' | 'deliveredBlocks' | 'removedBlocks' | 'removedFields' | 'retainUntil'>;

export interface ExchangeOk<P = unknown> extends ReplyTimes, ReplyAsSent {
  readonly ok: true;
  readonly status: 'OK';
  readonly effectivePeriods: readonly Period[];
  /** The service's payload record, decoded; null if the switch sent none. */
  readonly payload: P | null;
  /** Full Avro name of the payload record (be.bcss.gateway.payload.DmfaPayload), null without payload. */
  readonly payloadRecord: string | null;
  readonly legalBasis: LegalBasis | null;
}

export interface ExchangeRefusal extends ReplyTimes {
  readonly ok: false;
  /** A refusal code of the switch; a code newer than this library stays a plain string. */
  readonly status: RefusalCode | (string & {});
  readonly bcssCode: string | null;
  readonly message: string;
  /** Whether asking again later may succeed; null for a code this library does not know. */
  readonly retriable: boolean | null;
  readonly requestId: string;
  readonly ticket: string;
  readonly service: string;
  /** With NISS_REPLACED: the number to ask with instead. */
  readonly newNiss: string | null;
  readonly effectivePeriods: readonly Period[];
}

export type ExchangeReply<P = unknown> = ExchangeOk<P> | ExchangeRefusal;

/** No reply within the time allowed. The switch may still answer: the request was published. */
export class ExchangeTimeoutError extends Error {
  override readonly name = 'ExchangeTimeoutError';
  constructor(
    readonly requestId: string,
    readonly timeoutMs: number,
  ) {
    super(
      `no reply to request ${requestId} within ${timeoutMs} ms; the request was sent and the switch may still answer it (onReply listeners receive late replies)`,
    );
  }
}

/** A refusal, as an error: from `requestOrThrow`. `message` is the switch's own explanation. */
export class ExchangeRefusalError extends Error {
  override readonly name = 'ExchangeRefusalError';
  readonly code: string;
  readonly bcssCode: string | null;
  readonly ticket: string;
  readonly requestId: string;
  readonly newNiss: string | null;
  constructor(readonly reply: ExchangeRefusal) {
    super(reply.message);
    this.code = reply.status;
    this.bcssCode = reply.bcssCode;
    this.ticket = reply.ticket;
    this.requestId = reply.requestId;
    this.newNiss = reply.newNiss;
  }
}

/** The reply to this request arrived but its payload could not be read (unknown schema, corrupt bytes). */
export class ReplyDecodeError extends Error {
  override readonly name = 'ReplyDecodeError';
  constructor(
    readonly requestId: string,
    readonly ticket: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export class ExchangeClosedError extends Error {
  override readonly name = 'ExchangeClosedError';
  constructor() {
    super('the exchange client is closed');
  }
}

function instant(ms: number): string {
  return new Date(ms).toISOString();
}

/** The Reply record as the union callers branch on; decodes the payload (throws ReplyDecodeError). */
export function toExchangeReply<P = unknown>(record: ReceivedReplyRecord, codec: AvroCodec): ExchangeReply<P> {
  const times: ReplyTimes = {
    receivedAt: instant(record.receivedAt),
    forwardedAt: record.forwardedAt === null ? null : instant(record.forwardedAt),
    answeredAt: instant(record.answeredAt),
  };
  const effectivePeriods = record.effectivePeriods.map((p) => ({ from: p.from, to: p.to }));
  if (record.status !== 'OK') {
    return {
      ok: false,
      status: record.status,
      bcssCode: record.bcssCode,
      message: record.message,
      retriable: isRefusalCode(record.status) ? REFUSAL_CODES[record.status].retriable : null,
      requestId: record.requestId,
      ticket: record.ticket,
      service: record.service,
      newNiss: record.newNiss,
      effectivePeriods,
      ...times,
    };
  }
  let payload: P | null = null;
  let payloadRecord: string | null = null;
  if (record.payload !== null) {
    payloadRecord = codec.recordNameOf(record.payload);
    if (payloadRecord === null) {
      throw new ReplyDecodeError(record.requestId, record.ticket, `the payload of ticket ${record.ticket} is of no schema this client knows`);
    }
    try {
      payload = codec.decode<P>(payloadRecord, record.payload);
    } catch (cause) {
      throw new ReplyDecodeError(record.requestId, record.ticket, `the ${payloadRecord} payload of ticket ${record.ticket} could not be decoded`, { cause });
    }
  }
  return {
    ok: true,
    status: 'OK',
    requestId: record.requestId,
    ticket: record.ticket,
    service: record.service,
    effectivePeriods,
    deliveredBlocks: [...record.deliveredBlocks],
    removedBlocks: [...record.removedBlocks],
    removedFields: [...(record.removedFields ?? [])],
    payload,
    payloadRecord,
    retainUntil: record.retainUntil,
    legalBasis: record.legalBasis,
    ...times,
  };
}

/**
 * Which pair of the institution's topics a client uses: `replies` (its requests and replies topics, as
 * its machine principal) or `consultation` (its consultation-requests and consultations topics, as its
 * consultation application's principal: data granted for consultation only are answered there alone).
 */
export type ExchangeChannel = Channel;

export interface ExchangeClientOptions {
  readonly connection: KafkaConnection;
  /** The institution this client speaks as: its requests topic, its replies topic, its principal. */
  readonly institution: string;
  /**
   * Default `replies`. `consultation`: sends on `consultationRequests(institution)` and reads
   * `consultations(institution)`; the connection is then the consultation application's principal
   * (config/institutions.yaml `consultation.principal`, e.g. onva-dolsis), which alone may use them.
   */
  readonly channel?: ExchangeChannel;
  /**
   * The principal the connection authenticates as: its consumer groups are named
   * `<prefix>.<principal>.client.<uuid>`, the prefix its ACLs grant. Default: the institution on the
   * replies channel; on the consultation channel the connection's SASL user name (the application's
   * principal), else the institution.
   */
  readonly principal?: string;
  /** Default: `topicNames('bcss')`. */
  readonly topics?: TopicNames;
  /** Default: the project's schemas. */
  readonly codec?: AvroCodec;
  readonly logger?: Logger;
  /** Default 30 s. */
  readonly defaultTimeoutMs?: number;
}

export interface RequestOptions {
  readonly timeoutMs?: number;
}

export interface RequestManyOptions extends RequestOptions {
  /** Requests waiting for their reply at any moment; default 16. */
  readonly concurrency?: number;
  /** Called as each reply arrives (in arrival order); `index` is the input's position. */
  onReply?(reply: ExchangeReply, index: number): void;
}

export interface ExchangeClient {
  readonly institution: string;
  readonly topics: TopicNames;
  readonly channel: ExchangeChannel;
  /** Where its requests go and its replies come from. */
  readonly requestsTopic: string;
  readonly repliesTopic: string;
  /** Checks the input, sends the request and resolves with its reply (refusals included). */
  request<P = unknown>(input: RequestInput, options?: RequestOptions): Promise<ExchangeReply<P>>;
  /** As `request`, but a refusal rejects with {@link ExchangeRefusalError}. */
  requestOrThrow<P = unknown>(input: RequestInput, options?: RequestOptions): Promise<ExchangeOk<P>>;
  /**
   * Every input checked first (a bad one rejects before anything is sent, its `index` set), then at
   * most `concurrency` in flight; resolves with the replies in input order. The first failure (a
   * timeout, Kafka refusing) stops further sends and rejects once those in flight have settled.
   */
  requestMany<P = unknown>(inputs: readonly RequestInput[], options?: RequestManyOptions): Promise<Array<ExchangeReply<P>>>;
  /** Sends a record as is, unchecked (spoofed requester, invalid NISS...), and waits for its reply. */
  rawRequest<P = unknown>(record: RawRequestRecord, options?: RequestOptions & { readonly key?: string }): Promise<ExchangeReply<P>>;
  /** Checks and publishes without waiting; the reply goes to `onReply` listeners. Returns the requestId. */
  send(input: RequestInput): Promise<string>;
  /**
   * Publishes a record unchecked, or bytes as they are (not even Avro), without waiting. A record's
   * reply goes to `onReply` listeners; bytes have no requestId to match a reply with.
   */
  rawSend(value: RawRequestRecord | Buffer, options?: { readonly key?: string; readonly headers?: Readonly<Record<string, string>> }): Promise<void>;
  /**
   * Listens to the replies to every request this client sent, awaited or not, including late replies
   * to requests that timed out. Returns the function that stops listening.
   */
  onReply(listener: (reply: ExchangeReply) => void): () => void;
  /** Rejects what still waits with {@link ExchangeClosedError} and disconnects. */
  close(): Promise<void>;
}

interface Pending {
  resolve(reply: ExchangeReply): void;
  reject(error: unknown): void;
  timer: NodeJS.Timeout;
}

export async function createExchangeClient(options: ExchangeClientOptions): Promise<ExchangeClient> {
  const institution = assertEntityId(options.institution);
  const topics = options.topics ?? topicNames();
  const codec = options.codec ?? loadAvroCodec(SCHEMA_DIR);
  const log = (options.logger ?? silentLogger).child({ module: 'exchange-client', institution });
  const defaultTimeoutMs = options.defaultTimeoutMs ?? DEFAULT_TIMEOUT_MS;
  const channel: ExchangeChannel = options.channel ?? 'replies';
  if (channel !== 'replies' && channel !== 'consultation') throw new Error(`channel: replies or consultation, not ${String(channel)}`);
  const requestsTopic = topics.requestsOn(channel, institution);
  const repliesTopic = topics.answersOn(channel, institution);
  const principal = assertEntityId(
    options.principal ?? (channel === 'consultation' ? (options.connection.sasl?.username ?? institution) : institution),
    'principal',
  );
  const kafka = createKafkaClient(options.connection, options.logger ?? silentLogger);

  const pending = new Map<string, Pending>();
  /** Sent without waiting (send, rawSend): replies wanted by listeners, kept until they come. */
  const unawaited = new Set<string>();
  /** Timed out: a late reply still goes to listeners, for the most recent ones only. */
  const late = new Set<string>();
  const listeners = new Set<(reply: ExchangeReply) => void>();
  let closed = false;

  const emit = (reply: ExchangeReply): void => {
    for (const listener of listeners) {
      try {
        listener(reply);
      } catch (error) {
        log.error({ err: error, requestId: reply.requestId }, 'an onReply listener threw');
      }
    }
  };

  const rememberLate = (requestId: string): void => {
    late.add(requestId);
    if (late.size > LATE_REPLIES_REMEMBERED) {
      const oldest = late.values().next().value;
      if (oldest !== undefined) late.delete(oldest);
    }
  };

  const onMessage = (message: InMessage): void => {
    if (message.headers[HEADER.type] !== MESSAGE_TYPE.reply || message.value === null) return;
    let record: ReceivedReplyRecord;
    try {
      record = codec.decode<ReceivedReplyRecord>(REPLY_RECORD, message.value);
    } catch (error) {
      log.warn({ err: error, partition: message.partition, offset: message.offset }, 'skipped a reply that is not a readable Reply record');
      return;
    }
    const waiting = pending.get(record.requestId);
    const wanted = waiting !== undefined || unawaited.delete(record.requestId) || late.delete(record.requestId);
    // Another client of the same institution sent it.
    if (!wanted) return;
    if (waiting) {
      pending.delete(record.requestId);
      clearTimeout(waiting.timer);
    }
    let reply: ExchangeReply;
    try {
      reply = toExchangeReply(record, codec);
    } catch (error) {
      log.warn({ err: error, requestId: record.requestId, ticket: record.ticket }, 'reply payload could not be decoded');
      waiting?.reject(error);
      return;
    }
    log.debug({ requestId: reply.requestId, ticket: reply.ticket, status: reply.status }, 'reply received');
    waiting?.resolve(reply);
    emit(reply);
  };

  // The end offsets are read before the consumer exists and before any send: everything from there
  // on is read, whenever the group gets its partitions.
  const admin = await kafka.admin();
  const ends = await admin.topicEndOffsets(repliesTopic).finally(() => admin.disconnect());
  const producer: MessageProducer = await kafka.producer();
  let consumer: MessageConsumer | undefined;
  try {
    consumer = await kafka.consumer({
      // The prefix the principal's ACLs grant: <prefix>.<principal>.
      groupId: `${topics.prefix}.${principal}.client.${randomUUID()}`,
      topics: [repliesTopic],
      fromBeginning: false,
      readCommitted: true,
    });
    await consumer.run(async (batch: BatchContext) => {
      for (const message of batch.messages) onMessage(message);
    });
    for (const { partition, offset } of ends) consumer.seek(repliesTopic, partition, offset);
  } catch (error) {
    await Promise.allSettled([producer.disconnect(), consumer?.disconnect()]);
    throw error;
  }
  const replyConsumer: MessageConsumer = consumer;

  const publish = async (record: RequestRecord, key: string): Promise<void> => {
    await producer.send(requestsTopic, [{ key, value: codec.encode(REQUEST_RECORD, record) }]);
    log.debug({ requestId: record.requestId, service: record.service }, 'request sent');
  };

  const exchange = <P>(record: RequestRecord, key: string, timeoutMs: number): Promise<ExchangeReply<P>> => {
    if (closed) return Promise.reject(new ExchangeClosedError());
    if (pending.has(record.requestId)) {
      return Promise.reject(new RequestInputError('requestId', 'IN_FLIGHT', `request ${record.requestId} is already waiting for its reply`));
    }
    // Asking again with the id of a request that timed out: its late reply answers this one.
    late.delete(record.requestId);
    unawaited.delete(record.requestId);
    return new Promise<ExchangeReply<P>>((resolve, reject) => {
      // Registered before sending: the reply may be read before the send call returns.
      const entry: Pending = {
        resolve: resolve as (reply: ExchangeReply) => void,
        reject,
        timer: setTimeout(() => {
          if (pending.get(record.requestId) !== entry) return;
          pending.delete(record.requestId);
          rememberLate(record.requestId);
          reject(new ExchangeTimeoutError(record.requestId, timeoutMs));
        }, timeoutMs),
      };
      pending.set(record.requestId, entry);
      publish(record, key).catch((error: unknown) => {
        if (pending.get(record.requestId) !== entry) return;
        pending.delete(record.requestId);
        clearTimeout(entry.timer);
        reject(error);
      });
    });
  };

  const build = (input: RequestInput): RequestRecord => buildRequest(input, { requester: institution });

  const client: ExchangeClient = {
    institution,
    topics,
    channel,
    requestsTopic,
    repliesTopic,

    request<P>(input: RequestInput, requestOptions?: RequestOptions) {
      let record: RequestRecord;
      try {
        record = build(input);
      } catch (error) {
        return Promise.reject(error);
      }
      return exchange<P>(record, requestKey(record), requestOptions?.timeoutMs ?? defaultTimeoutMs);
    },

    async requestOrThrow<P>(input: RequestInput, requestOptions?: RequestOptions) {
      const reply = await client.request<P>(input, requestOptions);
      if (!reply.ok) throw new ExchangeRefusalError(reply);
      return reply;
    },

    async requestMany<P>(inputs: readonly RequestInput[], manyOptions: RequestManyOptions = {}) {
      const records: RequestRecord[] = [];
      const ids = new Set<string>();
      inputs.forEach((input, index) => {
        let record: RequestRecord;
        try {
          record = build(input);
        } catch (error) {
          throw error instanceof RequestInputError ? error.at(index) : error;
        }
        if (ids.has(record.requestId)) {
          throw new RequestInputError('requestId', 'DUPLICATE', `${record.requestId} is used by an earlier input`, index);
        }
        ids.add(record.requestId);
        records.push(record);
      });
      const timeoutMs = manyOptions.timeoutMs ?? defaultTimeoutMs;
      const concurrency = Math.max(1, Math.floor(manyOptions.concurrency ?? DEFAULT_CONCURRENCY));
      const replies = new Array<ExchangeReply<P>>(records.length);
      let next = 0;
      let failed = false;
      let failure: unknown;
      const worker = async (): Promise<void> => {
        while (!failed && next < records.length) {
          const index = next++;
          const record = records[index] as RequestRecord;
          try {
            // Stamped when it leaves, not when the batch was checked.
            const reply = await exchange<P>({ ...record, sentAt: Date.now() }, requestKey(record), timeoutMs);
            replies[index] = reply;
            manyOptions.onReply?.(reply, index);
          } catch (error) {
            if (!failed) {
              failed = true;
              failure = error;
            }
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(concurrency, records.length) }, worker));
      if (failed) throw failure;
      return replies;
    },

    rawRequest<P>(raw: RawRequestRecord, requestOptions?: RequestOptions & { readonly key?: string }) {
      const record = completeRawRequest(raw, Date.now());
      return exchange<P>(record, requestOptions?.key ?? requestKey(record), requestOptions?.timeoutMs ?? defaultTimeoutMs);
    },

    async send(input: RequestInput) {
      if (closed) throw new ExchangeClosedError();
      const record = build(input);
      unawaited.add(record.requestId);
      try {
        await publish(record, requestKey(record));
      } catch (error) {
        unawaited.delete(record.requestId);
        throw error;
      }
      return record.requestId;
    },

    async rawSend(value, sendOptions) {
      if (closed) throw new ExchangeClosedError();
      if (Buffer.isBuffer(value)) {
        await producer.send(requestsTopic, [{ key: sendOptions?.key ?? institution, value, ...(sendOptions?.headers ? { headers: sendOptions.headers } : {}) }]);
        return;
      }
      const record = completeRawRequest(value, Date.now());
      unawaited.add(record.requestId);
      try {
        await producer.send(requestsTopic, [
          {
            key: sendOptions?.key ?? requestKey(record),
            value: codec.encode(REQUEST_RECORD, record),
            ...(sendOptions?.headers ? { headers: sendOptions.headers } : {}),
          },
        ]);
      } catch (error) {
        unawaited.delete(record.requestId);
        throw error;
      }
    },

    onReply(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },

    async close() {
      if (closed) return;
      closed = true;
      for (const [, entry] of pending) {
        clearTimeout(entry.timer);
        entry.reject(new ExchangeClosedError());
      }
      pending.clear();
      listeners.clear();
      await Promise.allSettled([producer.disconnect(), replyConsumer.disconnect()]);
    },
  };
  return client;
}
