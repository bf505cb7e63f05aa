import { createHash } from 'node:crypto';
import type { ServiceDefinition } from '../domain/catalogue.js';
import type { Integration } from '../domain/directory.js';
import { mutationContent, routeMutation, type MutationRules } from '../domain/mutation-routing.js';
import { parseEmployerId } from '../domain/employer-id.js';
import { parseNiss } from '../domain/niss.js';
import { retainUntil } from '../domain/retention.js';
import type { EmployerKind, IsoDate } from '../domain/types.js';
import { auditMessage, auditRecord } from '../contract/audit-records.js';
import { deadLetter } from '../contract/dead-letters.js';
import { employerRecord } from '../contract/exchange-records.js';
import type { MutationRecord, SourceMutationRecord } from '../contract/mutation-records.js';
import { HEADER, MESSAGE_TYPE, MUTATION_RECORD } from '../contract/names.js';
import type { Logger } from '../logging/logger.js';
import { CodecError, type AvroCodec } from '../messaging/avro-codec.js';
import type { InMessage } from '../messaging/kafka-client.js';
import type { TopicNames } from '../messaging/topics.js';
import type { ChunkResult, OutRecord } from '../messaging/transactional-pipeline.js';
import type { DirectoryStore } from '../store/directory-store.js';
import { NO_METRICS, type GatewayMetrics } from '../observability/metrics.js';
import { dayOf } from './exchange-messages.js';

/**
 * The mutation pipeline: every source's mutations topic in; for each change, one Mutation on the
 * mutations topic of every institution that follows the person and is authorized to be told
 * (src/domain/mutation-routing.ts), each with its MUTATION_DELIVERED audit record, all in one Kafka
 * transaction with the consumed offsets. Input and outputs are keyed by the NISS, so the changes about
 * one person reach each subscriber in the order the source published them.
 */

export interface MutationPipelineDeps {
  readonly codec: AvroCodec;
  readonly topics: TopicNames;
  readonly rules: MutationRules;
  readonly payloadRecords: ReadonlyMap<string, string>;
  readonly directory: Pick<DirectoryStore, 'readMany'>;
  readonly logger: Logger;
  readonly metrics?: GatewayMetrics;
  readonly now?: () => number;
}

/** One delivery's ticket: the change's place in Kafka and the subscriber, stable across re-processing. */
function deliveryTicket(message: InMessage, institution: string): string {
  const digest = createHash('sha256')
    .update(`${message.topic}\u0000${message.partition}\u0000${message.offset}\u0000${message.timestamp}\u0000${institution}`)
    .digest('base64url');
  return `M${digest.slice(0, 22)}`;
}

type Checked = { readonly message: InMessage; readonly source: string; readonly mutation: SourceMutationRecord; readonly service: ServiceDefinition };

export function mutationTransform(deps: MutationPipelineDeps) {
  const { codec, topics } = deps;
  const now = deps.now ?? Date.now;
  const log = deps.logger.child({ module: 'mutations' });
  const metrics = deps.metrics ?? NO_METRICS;

  const check = (message: InMessage): Checked | OutRecord => {
    const source = topics.institutionOf(message.topic);
    if (source === null) return deadLetter(codec, topics, message, 'UNROUTABLE', 'the topic does not name a source');
    const mutation = codec.tryDecode<SourceMutationRecord>(MUTATION_RECORD.source, message.value);
    if (mutation instanceof CodecError) return deadLetter(codec, topics, message, mutation.code, mutation.message);
    const service = deps.rules.catalogue.services.get(mutation.service);
    // A source speaks only for its own services: anything else is not a change the switch can vouch for.
    if (!service || service.source !== source) {
      return deadLetter(codec, topics, message, 'WRONG_SOURCE', `source ${source} does not own service "${mutation.service}"`);
    }
    const niss = parseNiss(mutation.subjectNiss);
    if (!niss.valid) return deadLetter(codec, topics, message, 'INVALID_NISS', `subjectNiss: ${niss.message}`);
    if (mutation.newNiss !== null) {
      const replacing = parseNiss(mutation.newNiss);
      if (!replacing.valid) return deadLetter(codec, topics, message, 'INVALID_NISS', `newNiss: ${replacing.message}`);
    }
    let employer = mutation.employer;
    if (employer !== null) {
      // Routing compares employers exactly: an id written another way would silently reach nobody.
      const parsed = parseEmployerId(employer.kind as EmployerKind, employer.id);
      if (!parsed.valid) return deadLetter(codec, topics, message, 'INVALID_EMPLOYER_ID', `employer: ${parsed.message}`);
      employer = { ...employer, id: parsed.employer.id };
    }
    return { message, source, service, mutation: { ...mutation, subjectNiss: niss.normalized, employer } };
  };

  /** The change's payload as the service's payload record (null without one), or why it cannot be read. */
  const decodePayload = (checked: Checked): unknown => {
    const { mutation, service } = checked;
    if (mutation.payload === null) return null;
    const recordName = deps.payloadRecords.get(service.id);
    if (!recordName || codec.recordNameOf(mutation.payload) !== recordName) {
      return new CodecError('INCOMPATIBLE_SCHEMA', `the payload is not a ${recordName ?? service.id} record`);
    }
    return codec.tryDecode(recordName, mutation.payload);
  };

  return async (messages: readonly InMessage[]): Promise<ChunkResult> => {
    const records: OutRecord[] = [];
    const checked: Checked[] = [];
    for (const message of messages) {
      const result = check(message);
      if ('mutation' in result) checked.push(result);
      else records.push(result);
    }
    // One pipelined round trip for every person of the chunk; a Redis failure throws (fail closed).
    const lines: Map<string, Integration[]> =
      checked.length > 0 ? await deps.directory.readMany(checked.map((c) => c.mutation.subjectNiss)) : new Map();
    const deliveredAt = now();
    const today = dayOf(deliveredAt);

    for (const item of checked) {
      try {
        records.push(...deliver(item, lines, deliveredAt, today));
      } catch (error) {
        // No change may stop its partition: what the rules cannot handle is kept for the operators.
        log.error({ err: error, mutationId: item.mutation.mutationId }, 'a change could not be routed');
        records.push(deadLetter(codec, topics, item.message, 'INTERNAL_ERROR', 'the change could not be routed'));
      }
    }
    return { records };
  };

  /** One change's deliveries and audit records (all or nothing). */
  function deliver(item: Checked, lines: ReadonlyMap<string, Integration[]>, deliveredAt: number, today: IsoDate): OutRecord[] {
    const records: OutRecord[] = [];
    const { mutation, service, source, message } = item;
    const sourcePayload = decodePayload(item);
    if (sourcePayload instanceof CodecError) return [deadLetter(codec, topics, message, sourcePayload.code, sourcePayload.message)];
    const employer = mutation.employer === null ? null : { kind: mutation.employer.kind as EmployerKind, id: mutation.employer.id };
    const route = routeMutation(
      { service: service.id, subjectNiss: mutation.subjectNiss, employer, effectiveDate: mutation.effectiveDate },
      lines.get(mutation.subjectNiss) ?? [],
      deps.rules,
      today,
    );
    const recordName = deps.payloadRecords.get(service.id) as string;
    for (const delivery of route.deliveries) {
      const content = mutationContent(service, delivery, sourcePayload);
      const ticket = deliveryTicket(message, delivery.institution);
      metrics.mutationDelivered(service.id, content.form);
      const { subscription } = delivery;
      const record: MutationRecord = {
        ticket,
        mutationId: mutation.mutationId,
        source,
        service: service.id,
        subjectNiss: mutation.subjectNiss,
        onBehalfOf: delivery.via === null ? null : delivery.institution,
        employer: mutation.employer,
        informationType: mutation.informationType,
        changeKind: mutation.changeKind,
        effectiveDate: mutation.effectiveDate,
        newNiss: mutation.newNiss,
        form: content.form,
        deliveredBlocks: [...content.deliveredBlocks],
        removedBlocks: [...content.removedBlocks],
        removedFields: [...content.removedFields],
        payload: content.payload === null ? null : codec.encode(recordName, content.payload),
        legalBasis: { deliberation: subscription.deliberation, version: subscription.versionId, purpose: subscription.purpose.code },
        retainUntil: content.payload === null ? null : retainUntil(subscription.retention, today),
        emittedAt: mutation.emittedAt,
        deliveredAt,
      };
      records.push({
        // Through the mandatory intermediary, as the beneficiary's requests go (10/012 §9, §18).
        topic: topics.mutations(delivery.via ?? delivery.institution),
        key: mutation.subjectNiss,
        value: codec.encode(MUTATION_RECORD.delivered, record),
        headers: { [HEADER.type]: MESSAGE_TYPE.mutation, [HEADER.ticket]: ticket },
      });
      records.push(
        auditMessage(
          codec,
          topics,
          auditRecord('MUTATION_DELIVERED', 'OK', {
            ticket,
            at: deliveredAt,
            requester: delivery.institution,
            intermediary: delivery.via,
            source,
            service: service.id,
            deliberation: subscription.deliberation,
            deliberationVersion: subscription.versionId,
            purpose: subscription.purpose.code,
            subjectNiss: mutation.subjectNiss,
            employer: employerRecord(employer, mutation.employer?.category ?? null),
            effectivePeriods: [{ from: mutation.effectiveDate, to: mutation.effectiveDate }],
            deliveredBlocks: [...content.deliveredBlocks],
            removedBlocks: [...content.removedBlocks],
            removedFields: [...content.removedFields],
          }),
        ),
      );
    }
    if (route.deliveries.length === 0) {
      log.debug({ mutationId: mutation.mutationId, service: service.id, excluded: route.excluded.length }, 'a change nobody follows');
    }
    return records;
  }
}
