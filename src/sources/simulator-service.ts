/**
 * The authentic-source SIMULATORS on Kafka (demos and tests only): for each simulated source, a
 * transactional pipeline that reads `bcss.source.<src>.requests` as the source's own principal
 * (`source-<src>`), answers every SourceRequest with {@link answerSourceRequest} and writes the
 * SourceReply on `bcss.source.<src>.replies`, keyed as the request was, in the same Kafka transaction as
 * the consumed offsets: a restart neither loses nor repeats an answer.
 *
 * What a real source would do, it does: a request for a service it does not serve gets ERROR, a request
 * past its deadline is still answered (the switch ignores late answers), an undecodable request goes to
 * the dead letters (never a crash, never a silent drop). The one deliberate silence is the fault person
 * `SIMULATED.unanswered`, whose requests get no reply so that the switch must time out.
 */
import { SCHEMA_DIR } from '../config/project-paths.js';
import { payloadRecordNames } from '../config/payload-records.js';
import { deadLetter } from '../contract/dead-letters.js';
import type { SourceReplyRecord, SourceRequestRecord } from '../contract/exchange-records.js';
import { EXCHANGE_RECORD, HEADER, MESSAGE_TYPE } from '../contract/names.js';
import type { Catalogue } from '../domain/catalogue.js';
import type { IsoDate } from '../domain/types.js';
import type { Logger } from '../logging/logger.js';
import { CodecError, type AvroCodec } from '../messaging/avro-codec.js';
import type { InMessage, KafkaClient } from '../messaging/kafka-client.js';
import type { TopicNames } from '../messaging/topics.js';
import { runTransactionalPipeline, type OutRecord, type RunningPipeline } from '../messaging/transactional-pipeline.js';
import {
  answerSourceRequest,
  SIMULATED_SERVICES,
  type SimulatedSourceReply,
  type SimulatorAnswerOptions,
} from './source-simulator.js';
import type { SyntheticPopulation } from './synthetic-population.js';

/** The sources that own at least one simulated service: onss, bcss-registers, inami. */
export const SIMULATED_SOURCES: readonly string[] = [...new Set(Object.values(SIMULATED_SERVICES))];

export interface SourceSimulatorOptions {
  /** A Kafka client connected as `principal` (`source-<src>`): each source reads and writes as itself. */
  clientFor(principal: string): KafkaClient;
  readonly codec: AvroCodec;
  readonly topics: TopicNames;
  readonly catalogue: Catalogue;
  readonly population: SyntheticPopulation;
  readonly logger: Logger;
  /** Namespace of the consumer groups and transactional ids (lets tests run isolated simulators). */
  readonly groupPrefix: string;
  /** Default {@link SIMULATED_SOURCES}. Another source answers ERROR to everything. */
  readonly sources?: readonly string[];
  /** Latency of the simulated sources: a pause before each chunk of requests is answered. Default 0. */
  readonly replyDelayMs?: number;
  /** Size of the simulated invalidity list of a quarter; default that of src/sources/invalidity-batch.ts. */
  readonly invalidityEntriesPerQuarter?: number;
}

export interface RunningSourceSimulators {
  stop(): Promise<void>;
}

function decodeRequest(codec: AvroCodec, message: InMessage): SourceRequestRecord | CodecError {
  if (!message.value) return new CodecError('TRUNCATED', 'empty message');
  try {
    return codec.decode<SourceRequestRecord>(EXCHANGE_RECORD.sourceRequest, message.value);
  } catch (error) {
    if (error instanceof CodecError) return error;
    return new CodecError('MALFORMED_BODY', 'the source request could not be decoded');
  }
}

function errorReply(ticket: string, errorMessage: string): SimulatedSourceReply {
  return { ticket, status: 'ERROR', newNiss: null, errorMessage, payload: null };
}

/** The transform of one simulated source's pipeline: requests in, replies (or dead letters) out. */
export function sourceSimulatorTransform(
  options: Pick<SourceSimulatorOptions, 'codec' | 'topics' | 'catalogue' | 'population' | 'logger' | 'replyDelayMs' | 'invalidityEntriesPerQuarter'> & {
    readonly source: string;
    readonly payloadRecords: ReadonlyMap<string, string>;
  },
) {
  const { codec, topics, catalogue, population, source, payloadRecords } = options;
  const log = options.logger;
  const replies = topics.sourceReplies(source);
  const delayMs = options.replyDelayMs ?? 0;

  const answer = (request: SourceRequestRecord, answerOptions: SimulatorAnswerOptions): SimulatedSourceReply | null => {
    const owner = (SIMULATED_SERVICES as Readonly<Record<string, string>>)[request.service];
    if (owner !== source) {
      const known = catalogue.services.get(request.service);
      return errorReply(
        request.ticket,
        known === undefined
          ? `unknown service ${request.service}`
          : known.source === source
            ? `the simulated ${source} does not serve ${request.service}`
            : `${request.service} belongs to ${known.source}, not to ${source}`,
      );
    }
    return answerSourceRequest(population, request, answerOptions);
  };

  const encodeReply = (reply: SimulatedSourceReply, service: string): Buffer => {
    let payload: Buffer | null = null;
    let final = reply;
    if (reply.payload !== null) {
      const recordName = payloadRecords.get(service);
      try {
        if (recordName === undefined) throw new CodecError('INVALID_VALUE', `no payload schema for ${service}`);
        payload = codec.encode(recordName, reply.payload);
      } catch (error) {
        // A simulator bug, not the requester's: the switch gets an ERROR it can report, the operator a log line.
        log.error({ ticket: reply.ticket, service, err: error }, 'the simulated answer does not fit its payload schema');
        final = errorReply(reply.ticket, 'the simulated source could not encode its answer');
      }
    }
    const record: SourceReplyRecord = {
      ticket: final.ticket,
      status: final.status,
      newNiss: final.newNiss,
      errorMessage: final.errorMessage,
      payload,
      answeredAt: Date.now(),
    };
    return codec.encode(EXCHANGE_RECORD.sourceReply, record);
  };

  return async (messages: readonly InMessage[]): Promise<{ records: OutRecord[] }> => {
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    const today: IsoDate = new Date().toISOString().slice(0, 10);
    const answerOptions: SimulatorAnswerOptions = {
      today,
      ...(options.invalidityEntriesPerQuarter === undefined ? {} : { invalidityEntriesPerQuarter: options.invalidityEntriesPerQuarter }),
    };
    const records: OutRecord[] = [];
    let unanswered = 0;
    for (const message of messages) {
      try {
        const request = decodeRequest(codec, message);
        if (request instanceof CodecError) {
          log.warn({ topic: message.topic, partition: message.partition, offset: message.offset, code: request.code }, 'undecodable source request dead-lettered');
          records.push(deadLetter(codec, topics, message, request.code, request.message));
          continue;
        }
        const reply = answer(request, answerOptions);
        if (reply === null) {
          unanswered++;
          continue;
        }
        records.push({
          topic: replies,
          key: message.key,
          value: encodeReply(reply, request.service),
          headers: { [HEADER.type]: MESSAGE_TYPE.sourceReply, [HEADER.ticket]: request.ticket },
        });
      } catch (error) {
        // No request may stop the source's partition: whatever goes wrong ends in the dead letters.
        log.error({ topic: message.topic, partition: message.partition, offset: message.offset, err: error }, 'source request could not be answered');
        records.push(deadLetter(codec, topics, message, 'INTERNAL_ERROR', 'the simulated source could not process the request'));
      }
    }
    log.debug({ requests: messages.length, replies: records.length, unanswered }, 'source requests answered');
    return { records };
  };
}

/**
 * Starts one simulator pipeline per source (each with its own client, connected as `source-<src>`).
 * If one cannot start, those already started are stopped and the error is thrown.
 */
export async function startSourceSimulators(options: SourceSimulatorOptions): Promise<RunningSourceSimulators> {
  const sources = options.sources ?? SIMULATED_SOURCES;
  const payloadRecords = payloadRecordNames(options.catalogue, SCHEMA_DIR);
  const started = await Promise.allSettled(
    sources.map((source) => {
      const name = `${options.groupPrefix}.source-${source}.simulator`;
      const logger = options.logger.child({ module: 'simulator', source });
      return runTransactionalPipeline({
        client: options.clientFor(`source-${source}`),
        groupId: name,
        topics: [options.topics.sourceRequests(source)],
        transactionalIdPrefix: name,
        logger,
        transform: sourceSimulatorTransform({ ...options, logger, source, payloadRecords }),
      });
    }),
  );
  const running = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  const stop = async (pipelines: readonly RunningPipeline[]): Promise<void> => {
    await Promise.all(pipelines.map((p) => p.stop()));
  };
  if (failed !== undefined) {
    await stop(running).catch(() => undefined);
    throw failed.reason;
  }
  options.logger.child({ module: 'simulator' }).info({ sources }, 'source simulators started');
  return { stop: () => stop(running) };
}
