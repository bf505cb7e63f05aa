/**
 * One change, a thousand subscribers: 1,000 institutions integrate the same person under a deliberation
 * each that pushes DIMONA changes; the source publishes ONE mutation; each institution gets exactly one
 * copy on its own mutations topic, under its own deliberation, and the audit trail holds exactly 1,000
 * MUTATION_DELIVERED records for it — all written in the transaction that consumed the change.
 *
 * How the thousand integrations reach the directory: on the directory writer's input, the commands
 * topic, exactly as the intake stage forwards a checked command (keyed by the NISS, the command's bytes
 * as the institution sent them, its institution in a header). The writer then applies them for real —
 * Redis, the changelog and an acknowledgement on each institution's replies topic. Going through 1,000
 * institutions' own directory topics would add nothing this file is about and does not stay bounded:
 * the intake stage commits each input partition with its own transactional producer (kafkajs has no
 * KIP-447), so 1,000 directory topics take 1,000 producers to start, each with its SCRAM handshake and
 * InitProducerId — 37.6 s on an idle machine, more than 150 s for 834 of them on a busy one. The intake's
 * own checks are covered by the directory tests.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Deliberation } from '../../../src/domain/deliberation.js';
import type { AuditRecordValue } from '../../../src/contract/audit-records.js';
import type { DirectoryCommandRecord } from '../../../src/contract/directory-records.js';
import type { MutationRecord } from '../../../src/contract/mutation-records.js';
import { DIRECTORY_RECORD as RECORD, MUTATION_RECORD } from '../../../src/contract/names.js';
import type { KafkaAdmin, MessageProducer, TopicSpec } from '../../../src/messaging/kafka-client.js';
import { createSyntheticPopulation, SIMULATED, SIMULATED_EMPLOYERS } from '../../../src/sources/synthetic-population.js';
import type { ExchangeFixture } from '../../support/exchange-fixture.js';
import { waitFor } from '../../support/kafka-helpers.js';
import { expectNoPayloadValue } from '../exchange/exchange-scenario.js';
import { createMutationFixture, sourceMutation, sourcePayload } from './mutation-scenario.js';

const SUBSCRIBERS = 1_000;
const NISS = SIMULATED.careWorkerIriscare;
const CARE_HOME = { kind: 'ONSS' as const, id: SIMULATED_EMPLOYERS.careHome.onssNumber as string };
/** Topics are created and deleted in groups: one request for thousands of topics is more than the broker answers in time. */
const TOPIC_BATCH = 250;

const institutions = Array.from({ length: SUBSCRIBERS }, (_, i) => `fan-${String(i + 1).padStart(4, '0')}`);
const numberOf = (institution: string) => `90/${institution.slice(4)}`;

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe(`mutations: one change fanned out to ${SUBSCRIBERS.toLocaleString('en')} subscribing institutions`, () => {
  let fx: ExchangeFixture;
  /** Its own admin: the fixture's is disconnected once the fixture is closed, and these topics go after that. */
  let admin: KafkaAdmin;
  let producer: MessageProducer;
  let extraTopics: string[] = [];

  beforeAll(async () => {
    const started = Date.now();
    fx = await createMutationFixture();
    // Each subscriber's own topics: replies (its directory acknowledgements) and mutations.
    const specs: TopicSpec[] = institutions.flatMap((i) => [
      { topic: fx.topics.replies(i), partitions: 1 },
      { topic: fx.topics.mutations(i), partitions: 1 },
    ]);
    extraTopics = specs.map((s) => s.topic);
    admin = await fx.client.admin();
    for (const batch of chunks(specs, TOPIC_BATCH)) await admin.ensureTopics(batch);
    const topicsCreated = Date.now();
    // Created is not yet served: the broker creates each partition's log after the metadata names its
    // leader, and thousands of them take a while. Until then, writing to one fails and a transaction
    // that includes it is aborted. Each partition answers its offsets once it is served.
    for (const batch of chunks(extraTopics, 50)) {
      await Promise.all(
        batch.map((topic) =>
          waitFor(() => admin.topicOffsets(topic), () => true, { timeoutMs: 60_000, intervalMs: 200, what: `${topic} to be served` }),
        ),
      );
    }
    const topicsReady = Date.now();

    // One deliberation per subscriber, each a copy of 19/104 (DIMONA changes pushed as blocks from v3)
    // for its own requester, under its own number.
    const base = fx.deliberations.find((d) => d.number === '19/104') as Deliberation;
    const deliberations: Deliberation[] = [
      ...fx.deliberations,
      ...institutions.map((institution) => ({ ...base, number: numberOf(institution), requester: institution, file: `${institution}.yaml` })),
    ];
    await fx.startGateway({ deliberations });
    const gatewayReady = Date.now();

    // Every subscriber integrates the person for the care home.
    producer = await fx.client.producer();
    const issuedAt = Date.now();
    for (const batch of chunks(institutions, 100)) {
      await producer.send(
        fx.topics.directoryCommands,
        batch.map((institution) => {
          const command: DirectoryCommandRecord = {
            commandId: `${institution}:integrate`,
            institution,
            action: 'INTEGRATE',
            niss: NISS,
            capacity: 'care-worker',
            phase: 1,
            periodFrom: '2023-01-01',
            periodTo: null,
            employerKind: CARE_HOME.kind,
            employerId: CARE_HOME.id,
            issuedAt,
          };
          return { key: NISS, value: fx.codec.encode(RECORD.command, command), headers: { institution } };
        }),
      );
    }
    await waitFor(
      async () => (await fx.store.read(NISS)).length,
      (n) => n >= SUBSCRIBERS,
      { timeoutMs: 60_000, intervalMs: 250, what: `${SUBSCRIBERS} integration lines of ${NISS}` },
    );
    console.info(
      `fan-out setup: ${extraTopics.length} topics created in ${topicsCreated - started} ms and served ${topicsReady - topicsCreated} ms later, gateway started in ${gatewayReady - topicsReady} ms, ` +
        `${SUBSCRIBERS} integrations applied in ${Date.now() - issuedAt} ms`,
    );
  }, 150_000);

  afterAll(async () => {
    await producer?.disconnect().catch(() => undefined);
    // The gateway stops before the topics it reads go away.
    await fx?.closeAtOnce();
    if (admin) {
      try {
        for (const batch of chunks(extraTopics, TOPIC_BATCH)) await admin.deleteTopics(batch);
      } finally {
        await admin.disconnect();
      }
    }
  }, 120_000);

  it('each subscriber gets exactly one copy, and the audit trail exactly one record per subscriber', async () => {
    const lines = await fx.store.read(NISS);
    expect(new Set(lines.map((l) => l.institution))).toEqual(new Set(institutions));

    // Every subscriber's mutations topic, by pattern: one collector for the thousand of them.
    const pattern = new RegExp(`^${escapeRegExp(fx.topics.prefix)}\\.fan-\\d{4}\\.mutations$`);
    const { messages: received } = await fx.collect([pattern], (m) => fx.codec.decode<MutationRecord>(MUTATION_RECORD.delivered, m.value as Buffer));

    const payload = sourcePayload(createSyntheticPopulation(), 'dimona', NISS);
    const mutation = sourceMutation({
      service: 'dimona',
      subjectNiss: NISS,
      employer: CARE_HOME,
      effectiveDate: '2024-06-01',
      informationType: 'dimona.occupation',
      payload: fx.codec.encode(fx.payloadRecords.get('dimona') as string, payload),
    });
    const sentAt = Date.now();
    await fx.sendMutation('onss', mutation);
    await waitFor(() => received.length, (n) => n >= SUBSCRIBERS, { timeoutMs: 60_000, intervalMs: 50, what: `${SUBSCRIBERS} copies` });
    const allReadAt = Date.now();
    await fx.waitForMutationsProcessed();
    const delivered = received.map((r) => r.value);
    const deliveredAt = new Set(delivered.map((m) => m.deliveredAt));
    console.info(
      `fan-out: 1 mutation to ${SUBSCRIBERS} subscribers — all copies read ${allReadAt - sentAt} ms after it was sent; ` +
        `the switch stamped them ${Math.max(...deliveredAt) - mutation.emittedAt} ms after the source emitted it`,
    );

    // Once settled (any duplicate would be read by then), exactly one copy per subscriber, on its own topic.
    await fx.settled();
    expect(received).toHaveLength(SUBSCRIBERS);
    const byTopic = new Map(received.map((r) => [r.topic, r]));
    expect([...byTopic.keys()].sort()).toEqual(institutions.map((i) => fx.topics.mutations(i)).sort());
    for (const institution of institutions) {
      const copy = byTopic.get(fx.topics.mutations(institution));
      expect(copy?.key).toBe(NISS);
      expect(copy?.value).toMatchObject({
        mutationId: mutation.mutationId,
        subjectNiss: NISS,
        form: 'BLOCKS',
        legalBasis: { deliberation: numberOf(institution), version: 'v3', purpose: 'iriscare-care-structure-financing' },
      });
    }
    // Decided at once for all (one chunk, one transaction): the same delivery time on every copy, a distinct ticket each.
    expect(deliveredAt.size).toBe(1);
    expect(new Set(delivered.map((m) => m.ticket)).size).toBe(SUBSCRIBERS);
    // Filtered for the care home (every subscriber is bound to it): the start-up job is another link.
    const sample = fx.codec.decode<{ dimonaPeriods: Array<{ employer: { employerIdNumber: string } }> }>(
      fx.payloadRecords.get('dimona') as string,
      delivered[0]?.payload as Buffer,
    );
    expect(sample.dimonaPeriods.map((p) => p.employer.employerIdNumber)).toEqual([CARE_HOME.id]);

    const audit = (await fx.readAudit()).filter(
      (a: AuditRecordValue) => a.eventType === 'MUTATION_DELIVERED' && a.subjectNiss === NISS,
    );
    expect(audit).toHaveLength(SUBSCRIBERS);
    expect(audit.map((a) => a.requester).sort()).toEqual([...institutions].sort());
    expect(audit.map((a) => a.ticket).sort()).toEqual(delivered.map((m) => m.ticket).sort());
    const byTicket = new Map(delivered.map((m) => [m.ticket, m]));
    for (const a of audit) {
      const m = byTicket.get(a.ticket as string) as MutationRecord;
      expect(a.deliberation).toBe(m.legalBasis.deliberation);
      expect(a.deliveredBlocks).toEqual(m.deliveredBlocks);
      expectNoPayloadValue(a, payload);
    }
  }, 120_000);
});
