import { createRequire } from 'node:module';
import type { Kafka } from 'kafkajs';

/**
 * What the protocol extensions of src/messaging/kafka reach inside kafkajs 2.2.4: its encoder and
 * decoder (to write requests it lacks, sent on its own connections), its cluster (coordinators and
 * their connections), and its error table. Kept in one file so that a kafkajs upgrade is checked here.
 */

export interface KafkajsEncoder {
  writeInt8(value: number): KafkajsEncoder;
  writeInt16(value: number): KafkajsEncoder;
  writeInt32(value: number): KafkajsEncoder;
  writeInt64(value: string): KafkajsEncoder;
  writeBoolean(value: boolean): KafkajsEncoder;
  writeUVarInt(value: number): KafkajsEncoder;
  writeUVarIntString(value: string | null): KafkajsEncoder;
  writeUVarIntArray(values: KafkajsEncoder[], type: 'object'): KafkajsEncoder;
}

export interface KafkajsDecoder {
  readInt16(): number;
  readInt32(): number;
  readInt64(): bigint;
  readUVarIntString(): string | null;
  readUVarIntArray<T>(reader: (decoder: KafkajsDecoder) => T): T[] | null;
  readTaggedFields(): unknown;
}

const require = createRequire(import.meta.url);
export const Encoder = require('kafkajs/src/protocol/encoder.js') as new () => KafkajsEncoder;
export const Decoder = require('kafkajs/src/protocol/decoder.js') as new (buffer: Buffer) => KafkajsDecoder;
export const { createErrorFromCode } = require('kafkajs/src/protocol/error.js') as { createErrorFromCode(code: number): Error };

/** An empty tagged-field section: nothing optional is sent. */
export const noTags = (encoder: KafkajsEncoder): KafkajsEncoder => encoder.writeUVarInt(0);

/** What a kafkajs connection sends: the request (key, version, payload) and how to read its answer. */
export interface KafkajsProtocolRequest<T> {
  readonly request: { apiKey: number; apiVersion: number; apiName: string; encode(): Promise<KafkajsEncoder> };
  readonly response: { decode(payload: Buffer): Promise<T>; parse(decoded: T): Promise<T> };
}

export interface InternalBroker {
  versions: Record<number, { minVersion: number; maxVersion: number } | undefined> | null;
  connectionPool: { send<T>(request: KafkajsProtocolRequest<T>): Promise<T> };
  joinGroup(request: unknown): Promise<{ generationId: number; memberId: string }>;
  initProducerId(request: { transactionalId?: string }): Promise<{ producerId: string; producerEpoch: number }>;
  addOffsetsToTxn(request: { transactionalId: string; producerId: string; producerEpoch: number; groupId: string }): Promise<unknown>;
  endTxn(request: { transactionalId: string; producerId: string; producerEpoch: number; transactionResult: boolean }): Promise<unknown>;
}

export interface InternalCluster {
  findGroupCoordinator(request: { groupId: string; coordinatorType?: number }): Promise<InternalBroker>;
}

export const COORDINATOR_GROUP = 0;
export const COORDINATOR_TRANSACTION = 1;

type ClusterFactory = (options: unknown) => InternalCluster;

/**
 * Makes a kafkajs producer, consumer or admin and returns it with the cluster kafkajs made for it:
 * the Kafka object makes each client's cluster through one private factory, captured here.
 */
export function withCluster<T>(kafka: Kafka, make: () => T): { made: T; cluster: InternalCluster } {
  const holder = kafka as unknown as Record<symbol, ClusterFactory>;
  const key = Object.getOwnPropertySymbols(kafka).find((s) => s.description === 'private:Kafka:createCluster');
  const factory = key ? holder[key] : undefined;
  if (!key || !factory) throw new TypeError('this kafkajs version has no private:Kafka:createCluster factory');
  let cluster: InternalCluster | undefined;
  // kafkajs calls the factory synchronously inside producer()/consumer()/admin(): nothing else can run meanwhile.
  holder[key] = (options) => (cluster = factory(options));
  let made: T;
  try {
    made = make();
  } finally {
    holder[key] = factory;
  }
  if (!cluster) throw new TypeError('kafkajs made no cluster for this client');
  return { made, cluster };
}

/**
 * A flexible response's topics array: each topic's name, its partitions (each read by `readPartition`,
 * then its tagged fields), then the topic's tagged fields.
 */
export function readTopicPartitions<P>(decoder: KafkajsDecoder, readPartition: (decoder: KafkajsDecoder) => P): Array<{ topic: string; partitions: P[] }> {
  return (
    decoder.readUVarIntArray((topicDecoder) => {
      const topic = topicDecoder.readUVarIntString() ?? '';
      const partitions =
        topicDecoder.readUVarIntArray((partitionDecoder) => {
          const partition = readPartition(partitionDecoder);
          partitionDecoder.readTaggedFields();
          return partition;
        }) ?? [];
      topicDecoder.readTaggedFields();
      return { topic, partitions };
    }) ?? []
  );
}
