/**
 * What the mutation scenario files share: SourceMutations built as a source publishes them (payloads
 * from the simulated sources' records, encoded with the service's payload record), a collector of the
 * Mutations delivered on the institutions' mutations topics, and the check every delivery must pass —
 * one Mutation per subscriber, keyed by the NISS, with its one MUTATION_DELIVERED audit record naming
 * the subscriber and never a payload value.
 *
 * A subscriber whose deliberation makes an intermediary mandatory (10/012 §9, §18: VAPH through MAGDA)
 * is delivered on the INTERMEDIARY's mutations topic, the Mutation naming it in `onBehalfOf`, and its
 * audit record names the subscriber as requester and the intermediary (`ExpectedDelivery.via`).
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import type { AuditRecordValue } from '../../../src/contract/audit-records.js';
import type { ChangeKind, MutationRecord, SourceMutationRecord } from '../../../src/contract/mutation-records.js';
import { MUTATION_RECORD } from '../../../src/contract/names.js';
import type { InMessage } from '../../../src/messaging/kafka-client.js';
import { retryingTopicCreation } from '../../support/kafka-helpers.js';
import { answerSourceRequest } from '../../../src/sources/source-simulator.js';
import type { SyntheticPopulation } from '../../../src/sources/synthetic-population.js';
import { createExchangeFixture, type CollectedMessage, type ExchangeFixture, type TopicCollector } from '../../support/exchange-fixture.js';
import { testStack } from '../../support/stack-context.js';
import { expectNoPayloadValue } from '../exchange/exchange-scenario.js';

export interface SourceEmployer {
  readonly kind: 'ENTERPRISE' | 'ONSS' | 'ONSS_PROVISIONAL';
  readonly id: string;
  readonly category?: string | null;
}

/**
 * A whole isolated switch on the shared broker. Just after other files deleted their topics, creating
 * this one's now and then fails with a retriable error (the broker does not host a new partition yet):
 * the broker catching up, not what these files test, so it is tried again a few times.
 */
export async function createMutationFixture(attempts = 4): Promise<ExchangeFixture> {
  return retryingTopicCreation(() => createExchangeFixture(testStack()), attempts);
}

/** The whole record the simulated source holds of the person for this service (every employer, every block). */
export function sourcePayload(population: SyntheticPopulation, service: string, niss: string): Record<string, unknown> {
  const answer = answerSourceRequest(population, {
    ticket: `mutation-${randomUUID()}`,
    service,
    subjectNiss: niss,
    employer: null,
    period: { from: '2018-01-01', to: '2026-12-31' },
    blocks: [],
    deadline: Date.now() + 60_000,
  });
  if (answer?.status !== 'OK' || answer.payload === null) throw new Error(`the simulated source holds no ${service} record of ${niss}`);
  return answer.payload;
}

/** A SourceMutation with defaults: a fresh mutationId, CHANGED, no employer, no payload, emitted now. */
export function sourceMutation(
  fields: Partial<Omit<SourceMutationRecord, 'employer'>> & { service: string; subjectNiss: string; employer?: SourceEmployer | null },
): SourceMutationRecord {
  const { employer, ...rest } = fields;
  return {
    mutationId: `m-${randomUUID()}`,
    informationType: `${fields.service}.changed`,
    changeKind: 'CHANGED' satisfies ChangeKind,
    effectiveDate: '2024-06-01',
    newNiss: null,
    payload: null,
    emittedAt: Date.now(),
    ...rest,
    employer: employer ? { kind: employer.kind, id: employer.id, category: employer.category ?? null } : null,
  };
}

/** Every Mutation committed on these institutions' mutations topics, from their beginning. */
export function collectMutations(fx: ExchangeFixture, institutions: readonly string[]): Promise<TopicCollector<MutationRecord>> {
  return fx.collect(
    institutions.map((i) => fx.topics.mutations(i)),
    (m: InMessage) => fx.codec.decode<MutationRecord>(MUTATION_RECORD.delivered, m.value as Buffer),
  );
}

export function ofMutation(collector: TopicCollector<MutationRecord>, mutationId: string): Array<CollectedMessage<MutationRecord>> {
  return collector.messages.filter((m) => m.value.mutationId === mutationId);
}

export function mutationAudits(audit: TopicCollector<AuditRecordValue>): AuditRecordValue[] {
  return audit.messages.map((m) => m.value).filter((a) => a.eventType === 'MUTATION_DELIVERED');
}

export interface ExpectedDelivery {
  readonly deliberation: string;
  readonly version: string;
  readonly purpose: string;
  /** The mandatory intermediary whose mutations topic carries the change (10/012: magda); absent: the subscriber's own. */
  readonly via?: string;
  readonly form: 'NOTIFICATION' | 'BLOCKS';
  readonly deliveredBlocks: readonly string[];
  readonly removedBlocks?: readonly string[];
}

/** The topic a subscriber's changes come on: its mandatory intermediary's, else its own. */
export function deliveryTopic(fx: ExchangeFixture, institution: string, via: string | null = null): string {
  return fx.topics.mutations(via ?? institution);
}

/** The one copy of a change delivered for `institution` (on its intermediary's topic when `via` is set). */
export function copyFor(
  fx: ExchangeFixture,
  delivered: ReadonlyArray<CollectedMessage<MutationRecord>>,
  institution: string,
  via: string | null = null,
): CollectedMessage<MutationRecord> | undefined {
  return delivered.find((m) => m.topic === deliveryTopic(fx, institution, via) && m.value.onBehalfOf === (via === null ? null : institution));
}

/**
 * The delivery's one audit record (it is committed with the Mutation; the collector may still be
 * reading): MUTATION_DELIVERED, the subscriber as requester, the intermediary it came through (or
 * none), the deliberation applied, the blocks delivered and removed, the change's day as the period —
 * and no value of the source's (unfiltered) payload.
 */
export async function expectDeliveryAudited(
  audit: TopicCollector<AuditRecordValue>,
  delivered: CollectedMessage<MutationRecord>,
  institution: string,
  sourcePayloadValue: unknown,
  via: string | null = null,
): Promise<AuditRecordValue> {
  const m = delivered.value;
  const ofTicket = () => mutationAudits(audit).filter((a) => a.ticket === m.ticket);
  await audit.waitFor(() => ofTicket().length > 0, `the MUTATION_DELIVERED record of ticket ${m.ticket}`);
  const records = ofTicket();
  expect(records).toHaveLength(1);
  const record = records[0] as AuditRecordValue;
  expect(record).toMatchObject({
    eventType: 'MUTATION_DELIVERED',
    outcome: 'OK',
    bcssCode: null,
    requester: institution,
    intermediary: via,
    source: m.source,
    service: m.service,
    deliberation: m.legalBasis.deliberation,
    deliberationVersion: m.legalBasis.version,
    purpose: m.legalBasis.purpose,
    subjectNiss: m.subjectNiss,
    employer: m.employer,
    effectivePeriods: [{ from: m.effectiveDate, to: m.effectiveDate }],
    at: m.deliveredAt,
  });
  expect(record.deliveredBlocks).toEqual(m.deliveredBlocks);
  expect(record.removedBlocks).toEqual(m.removedBlocks);
  expectNoPayloadValue(record, sourcePayloadValue);
  return record;
}

/**
 * A delivered Mutation as the subscriber reads it: on its own topic — or on its mandatory
 * intermediary's, naming it in `onBehalfOf` — keyed by the NISS, typed and ticketed.
 */
export function expectDelivery(
  fx: ExchangeFixture,
  delivered: CollectedMessage<MutationRecord>,
  institution: string,
  sent: SourceMutationRecord,
  expected: ExpectedDelivery,
): void {
  const m = delivered.value;
  expect(delivered.topic).toBe(deliveryTopic(fx, institution, expected.via ?? null));
  expect(m.onBehalfOf).toBe(expected.via === undefined ? null : institution);
  expect(delivered.key).toBe(sent.subjectNiss);
  expect(delivered.headers).toMatchObject({ type: 'mutation', ticket: m.ticket });
  expect(m).toMatchObject({
    mutationId: sent.mutationId,
    // The source that owns the service, whose mutations topic it came from.
    source: fx.catalogue.services.get(sent.service)?.source,
    service: sent.service,
    subjectNiss: sent.subjectNiss,
    employer: sent.employer,
    informationType: sent.informationType,
    changeKind: sent.changeKind,
    effectiveDate: sent.effectiveDate,
    newNiss: sent.newNiss,
    form: expected.form,
    legalBasis: { deliberation: expected.deliberation, version: expected.version, purpose: expected.purpose },
    emittedAt: sent.emittedAt,
  });
  expect(m.deliveredBlocks).toEqual(expected.deliveredBlocks);
  expect(m.removedBlocks).toEqual(expected.removedBlocks ?? []);
  if (expected.form === 'NOTIFICATION') {
    expect(m.payload).toBeNull();
    expect(m.retainUntil).toBeNull();
  } else {
    expect(m.payload).not.toBeNull();
  }
  expect(m.emittedAt).toBeLessThanOrEqual(m.deliveredAt);
}

/** The delivered payload, decoded with the record its fingerprint names (checked to be the service's). */
export function deliveredPayload<T = Record<string, unknown>>(fx: ExchangeFixture, m: MutationRecord): T {
  const recordName = fx.payloadRecords.get(m.service) as string;
  expect(m.payload).not.toBeNull();
  expect(fx.codec.recordNameOf(m.payload as Buffer)).toBe(recordName);
  return fx.codec.decode<T>(recordName, m.payload as Buffer);
}
