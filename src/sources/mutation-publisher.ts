/**
 * The Kafka side of the simulated changes (demos and tests only):
 *
 * - publishing: a {@link SimulatedMutation} encoded (its payload as the service's payload record, then
 *   the SourceMutation, both in single-object encoding) and written on `bcss.source.<src>.mutations` as
 *   the source's own principal `source-<src>` — the only one its ACLs let write there — keyed by the
 *   subject NISS, so that the switch handles one person's changes in the order they were published;
 * - listening: what an institution receives on `bcss.<inst>.mutations`, read as that institution from
 *   the end the topic had when the listener started (for `bcss mutations watch` and the demo).
 */
import { randomUUID } from 'node:crypto';
import { sourcePrincipal } from '../config/load-institutions.js';
import type { MutationRecord, SourceMutationRecord } from '../contract/mutation-records.js';
import { HEADER, MESSAGE_TYPE, MUTATION_RECORD } from '../contract/names.js';
import { CodecError, type AvroCodec } from '../messaging/avro-codec.js';
import type { InMessage, KafkaClient, MessageConsumer, MessageProducer, OutMessage } from '../messaging/kafka-client.js';
import type { TopicNames } from '../messaging/topics.js';
import type { SimulatedMutation } from './mutation-simulator.js';

export interface EncodedMutation {
  readonly source: string;
  readonly principal: string;
  readonly topic: string;
  readonly message: OutMessage;
}

/** Encodes a simulated change for its source's mutations topic. Throws CodecError when it does not fit the schemas. */
export function encodeSimulatedMutation(
  codec: AvroCodec,
  topics: TopicNames,
  payloadRecords: ReadonlyMap<string, string>,
  simulated: SimulatedMutation,
): EncodedMutation {
  const { record } = simulated;
  let payload: Buffer | null = null;
  if (record.payload !== null) {
    const recordName = payloadRecords.get(record.service);
    if (recordName === undefined) throw new CodecError('INVALID_VALUE', `no payload schema for service ${record.service}`);
    payload = codec.encode(recordName, record.payload);
  }
  const value: SourceMutationRecord = { ...record, payload };
  return {
    source: simulated.source,
    principal: sourcePrincipal(simulated.source),
    topic: topics.sourceMutations(simulated.source),
    message: {
      key: record.subjectNiss,
      value: codec.encode(MUTATION_RECORD.source, value),
      headers: { [HEADER.type]: MESSAGE_TYPE.sourceMutation, [HEADER.mutationId]: record.mutationId },
    },
  };
}

export interface MutationPublisherDeps {
  /** A client connected as `principal` (`source-onss`, `source-bcss-registers`): each source writes as itself. */
  clientFor(principal: string): KafkaClient;
  readonly codec: AvroCodec;
  readonly topics: TopicNames;
  /** Service → full name of its payload record (src/config/payload-records.ts). */
  readonly payloadRecords: ReadonlyMap<string, string>;
}

/** What was published, for the person or the program that asked. */
export interface PublishedMutation {
  readonly mutationId: string;
  readonly source: string;
  readonly principal: string;
  readonly topic: string;
  readonly service: string;
  readonly subjectNiss: string;
  readonly informationType: string;
  readonly changeKind: SourceMutationRecord['changeKind'];
  readonly effectiveDate: string;
  readonly employer: SourceMutationRecord['employer'];
  readonly newNiss: string | null;
  readonly emittedAt: number;
}

export interface MutationPublisher {
  /** Resolves once the broker has the change (acks from every in-sync replica). */
  publish(simulated: SimulatedMutation): Promise<PublishedMutation>;
  close(): Promise<void>;
}

/** Publishes as many changes as asked, one producer per source, opened at its first change. */
export function createMutationPublisher(deps: MutationPublisherDeps): MutationPublisher {
  const producers = new Map<string, Promise<MessageProducer>>();
  const producerOf = (principal: string): Promise<MessageProducer> => {
    let producer = producers.get(principal);
    if (producer === undefined) {
      producer = deps.clientFor(principal).producer();
      // A producer that could not connect is not kept: the next change tries again.
      producer.catch(() => producers.delete(principal));
      producers.set(principal, producer);
    }
    return producer;
  };
  return {
    async publish(simulated) {
      // Encoded before connecting: a change that does not fit its schema costs no connection.
      const encoded = encodeSimulatedMutation(deps.codec, deps.topics, deps.payloadRecords, simulated);
      const producer = await producerOf(encoded.principal);
      await producer.send(encoded.topic, [encoded.message]);
      const { record } = simulated;
      return {
        mutationId: record.mutationId,
        source: encoded.source,
        principal: encoded.principal,
        topic: encoded.topic,
        service: record.service,
        subjectNiss: record.subjectNiss,
        informationType: record.informationType,
        changeKind: record.changeKind,
        effectiveDate: record.effectiveDate,
        employer: record.employer,
        newNiss: record.newNiss,
        emittedAt: record.emittedAt,
      };
    },
    async close() {
      const opened = [...producers.values()];
      producers.clear();
      await Promise.allSettled(opened.map(async (p) => (await p).disconnect()));
    },
  };
}

/** One change, published by a producer opened for it and closed after. */
export async function publishSimulatedMutation(deps: MutationPublisherDeps, simulated: SimulatedMutation): Promise<PublishedMutation> {
  const publisher = createMutationPublisher(deps);
  try {
    return await publisher.publish(simulated);
  } finally {
    await publisher.close();
  }
}

// ---------------------------------------------------------------------------------------------------
// What an institution receives

export interface ReceivedMutation {
  readonly institution: string;
  readonly partition: number;
  readonly offset: string;
  readonly record: MutationRecord;
  /** The filtered payload decoded (BLOCKS), null without one; undefined when it could not be decoded. */
  readonly payload: unknown;
}

export interface MutationListenerOptions {
  /** A client connected as `institution`: only it may read its mutations topic. */
  readonly client: KafkaClient;
  readonly codec: AvroCodec;
  readonly topics: TopicNames;
  readonly institution: string;
  /** Middle part of the consumer group, `<prefix>.<institution>.<purpose>.<uuid>` (watch, demo). */
  readonly purpose: string;
  onMutation(mutation: ReceivedMutation): void | Promise<void>;
  /** A message on the topic that is no Mutation (never from the switch): told, then skipped. */
  onUnreadable?(message: InMessage, error: unknown): void;
}

export interface MutationListener {
  readonly topic: string;
  close(): Promise<void>;
}

function decodePayload(codec: AvroCodec, bytes: Buffer | null): unknown {
  if (bytes === null) return null;
  const name = codec.recordNameOf(bytes);
  if (name === null) return undefined;
  try {
    return codec.decode(name, bytes);
  } catch {
    return undefined;
  }
}

/**
 * Reads an institution's mutations from the end the topic has now: the end offsets are taken before the
 * consumer joins, and it is moved there once it has its partitions, so that nothing published after this
 * call resolves is missed and nothing older is shown. Resolves when the consumer has joined its group.
 */
export async function listenToMutations(options: MutationListenerOptions): Promise<MutationListener> {
  const { client, codec, institution } = options;
  const topic = options.topics.mutations(institution);
  const admin = await client.admin();
  const ends = await admin.topicEndOffsets(topic).finally(() => admin.disconnect());
  const consumer: MessageConsumer = await client.consumer({
    // The institution's ACLs grant the groups that start with <prefix>.<institution>.
    groupId: `${options.topics.prefix}.${institution}.${options.purpose}.${randomUUID()}`,
    topics: [topic],
    fromBeginning: false,
    readCommitted: true,
  });
  try {
    await consumer.run(async (batch) => {
      for (const message of batch.messages) {
        if (message.value === null || message.headers[HEADER.type] !== MESSAGE_TYPE.mutation) continue;
        let record: MutationRecord;
        try {
          record = codec.decode<MutationRecord>(MUTATION_RECORD.delivered, message.value);
        } catch (error) {
          options.onUnreadable?.(message, error);
          continue;
        }
        await options.onMutation({
          institution,
          partition: message.partition,
          offset: message.offset,
          record,
          payload: decodePayload(codec, record.payload),
        });
      }
    });
    for (const { partition, offset } of ends) consumer.seek(topic, partition, offset);
  } catch (error) {
    await consumer.disconnect().catch(() => undefined);
    throw error;
  }
  return { topic, close: () => consumer.disconnect() };
}
