import type { Consumer, ConsumerConfig, Kafka, Producer, ProducerBatch, RetryOptions, Transaction } from 'kafkajs';
import { kafkajsOf } from './client.js';
import { retrying, toMessagingError } from './errors.js';
import { COORDINATOR_GROUP, COORDINATOR_TRANSACTION, withCluster, type InternalBroker, type InternalCluster } from './kafkajs-internals.js';
import { TXN_OFFSET_COMMIT_API_KEY, TXN_OFFSET_COMMIT_VERSION, txnOffsetCommitV3, type GroupMembership } from './txn-offset-commit-v3.js';
import type { KafkaClient } from './types.js';

/**
 * Transactions fenced by the consumer group (KIP-447) on kafkajs: one transactional producer per
 * consumer, whose offset commits carry the member's generation, so that the broker — not a
 * transactional id per input partition — refuses the commit of a member the group has moved past.
 *
 * kafkajs keeps its cluster (coordinators, connections) and the members' generation in closures; the
 * Kafka object makes each producer's and consumer's cluster through one private factory, so the
 * cluster is captured there, and JoinGroup / InitProducerId answers are read off its coordinator.
 */

/**
 * Calls `observe` with what every coordinator this cluster finds answers to `method`. Brokers are
 * objects of this cluster only (each kafkajs client has its own pool), so the wrap touches nothing else.
 */
function observeCoordinators<K extends 'joinGroup' | 'initProducerId'>(
  cluster: InternalCluster,
  method: K,
  observe: (request: Parameters<InternalBroker[K]>[0], answer: Awaited<ReturnType<InternalBroker[K]>>) => void,
): void {
  const wrapped = new WeakSet<InternalBroker>();
  const find = cluster.findGroupCoordinator.bind(cluster);
  cluster.findGroupCoordinator = async (request) => {
    const broker = await find(request);
    if (!wrapped.has(broker)) {
      wrapped.add(broker);
      const original = (broker[method] as (request: unknown) => Promise<never>).bind(broker);
      (broker as unknown as Record<K, (request: never) => Promise<unknown>>)[method] = async (request) => {
        const answer = await original(request);
        observe(request, answer);
        return answer;
      };
    }
    return broker;
  };
}

export interface GroupMemberConsumer {
  readonly consumer: Consumer;
  /** The member's id and generation from its last JoinGroup; null before the first. */
  membership(): GroupMembership | null;
}

/** A kafkajs consumer whose group membership (member id, generation) can be read for v3 commits. */
export function groupMemberConsumer(client: KafkaClient, config: ConsumerConfig): GroupMemberConsumer {
  const kafka = kafkajsOf(client);
  let current: GroupMembership | null = null;
  const { made: consumer, cluster } = withCluster(kafka, () => kafka.consumer(config));
  observeCoordinators(cluster, 'joinGroup', (_request, answer) => {
    current = { memberId: answer.memberId, generationId: answer.generationId, groupInstanceId: null };
  });
  return { consumer, membership: () => current };
}

export interface OffsetsOfGroupMember {
  readonly groupId: string;
  /** The member the offsets belong to, read when its batch was fetched. */
  readonly membership: GroupMembership;
  readonly topics: ReadonlyArray<{ readonly topic: string; readonly partitions: ReadonlyArray<{ readonly partition: number; readonly offset: string }> }>;
}

export interface GroupFencedTransaction {
  sendBatch(batch: ProducerBatch): Promise<void>;
  /**
   * Adds the group's offsets to the transaction (AddOffsetsToTxn) and commits them with TxnOffsetCommit
   * v3. A member the group has moved past gets ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID or
   * FENCED_INSTANCE_ID (as a MessagingError): the transaction must then be aborted.
   */
  sendOffsets(offsets: OffsetsOfGroupMember): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

export interface GroupFencedProducer {
  transaction(): Promise<GroupFencedTransaction>;
  disconnect(): Promise<void>;
}

/** Errors of TxnOffsetCommit that a new attempt (after finding the coordinator again) may cure. */
const COMMIT_RETRIABLE = new Set(['COORDINATOR_LOAD_IN_PROGRESS', 'UNKNOWN_TOPIC_OR_PARTITION', 'NOT_COORDINATOR', 'COORDINATOR_NOT_AVAILABLE', 'CONCURRENT_TRANSACTIONS']);

/**
 * A transaction begun right after the previous one's commit meets CONCURRENT_TRANSACTIONS while the
 * broker writes the markers, and kafkajs retries it with the producer's backoff: the client's 200 ms
 * would stall every partition of the consumer, so the first wait is short (the Java client's is 20 ms).
 */
const PRODUCER_RETRY: RetryOptions = { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 15, maxRetryTime: 5_000 };

export async function connectGroupFencedProducer(
  client: KafkaClient,
  { transactionalId, transactionTimeout = 30_000 }: { transactionalId: string; transactionTimeout?: number },
): Promise<GroupFencedProducer> {
  const kafka = kafkajsOf(client);
  const { made: producer, cluster } = withCluster<Producer>(kafka, () =>
    kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false, transactionTimeout, retry: { ...PRODUCER_RETRY } }),
  );
  let identity: { producerId: string; producerEpoch: number } | null = null;
  observeCoordinators(cluster, 'initProducerId', (request, answer) => {
    if (request.transactionalId === transactionalId) identity = { producerId: answer.producerId, producerEpoch: answer.producerEpoch };
  });
  await producer.connect();

  const endWithoutRecords = async (commit: boolean): Promise<void> => {
    if (!identity) throw new TypeError('no producer id yet');
    const coordinator = await cluster.findGroupCoordinator({ groupId: transactionalId, coordinatorType: COORDINATOR_TRANSACTION });
    await coordinator.endTxn({ transactionalId, ...identity, transactionResult: commit });
  };

  return {
    async transaction() {
      const transaction: Transaction = await producer.transaction();
      let recordsSent = false;
      let offsetsAdded = false;
      // kafkajs ends a transaction on the broker only if it sent records or offsets through kafkajs;
      // one that carries only our offsets is ended here, then kafkajs's state is reset (no request).
      const end = async (commit: boolean): Promise<void> => {
        if (offsetsAdded && !recordsSent) await endWithoutRecords(commit);
        await (commit ? transaction.commit() : transaction.abort());
      };
      return {
        async sendBatch(batch) {
          if ((batch.topicMessages ?? []).some((t) => t.messages.length > 0)) recordsSent = true;
          await transaction.sendBatch(batch);
        },
        async sendOffsets({ groupId, membership, topics }) {
          const owner = identity;
          if (!owner) throw new TypeError('no producer id yet');
          await retrying(
            async () => {
              const coordinator = await cluster.findGroupCoordinator({ groupId: transactionalId, coordinatorType: COORDINATOR_TRANSACTION });
              await coordinator.addOffsetsToTxn({ transactionalId, ...owner, groupId });
            },
            { attempts: 10, shouldRetry: (error) => error.type === 'CONCURRENT_TRANSACTIONS' },
          );
          offsetsAdded = true;
          await retrying(
            async () => {
              const coordinator = await cluster.findGroupCoordinator({ groupId, coordinatorType: COORDINATOR_GROUP });
              const supported = coordinator.versions?.[TXN_OFFSET_COMMIT_API_KEY]?.maxVersion ?? -1;
              if (supported < TXN_OFFSET_COMMIT_VERSION) {
                throw new TypeError(`the group coordinator speaks TxnOffsetCommit up to v${supported}; v${TXN_OFFSET_COMMIT_VERSION} (Kafka 2.5+) is needed`);
              }
              await coordinator.connectionPool.send(
                txnOffsetCommitV3({ transactionalId, groupId, producerId: owner.producerId, producerEpoch: owner.producerEpoch, membership, topics }),
              );
            },
            { attempts: 10, shouldRetry: (error) => COMMIT_RETRIABLE.has(error.type) },
          );
        },
        commit: () => end(true),
        abort: () => end(false),
      };
    },
    disconnect: () => producer.disconnect().catch((error: unknown) => Promise.reject(toMessagingError(error))),
  };
}
