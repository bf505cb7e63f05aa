/**
 * The mutation pipeline's transform (mutationTransform) on its own: real configuration, real codec,
 * the reference directory in memory. A source's change goes in as the consumer hands it over; what
 * comes out is what would be committed: one Mutation per institution that follows the person and is
 * authorized to be told, on its mutations topic — or its mandatory intermediary's (10/012: MAGDA for
 * VAPH, naming VAPH in onBehalfOf) — each with its MUTATION_DELIVERED audit record; or a dead letter.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { MutationRecord, SourceMutationRecord } from '../../../src/contract/mutation-records.js';
import { MUTATION_RECORD } from '../../../src/contract/names.js';
import type { Integration } from '../../../src/domain/directory.js';
import { mutationTransform } from '../../../src/gateway/mutation-pipeline.js';
import { silentLogger } from '../../../src/logging/logger.js';
import type { InMessage } from '../../../src/messaging/kafka-client.js';
import { createMemoryDirectoryStore } from '../../../src/store/memory-stores.js';
import { fixture } from '../support/gateway-config.js';
import {
  EMPLOYER_A,
  EMPLOYER_B,
  NOW,
  WORKER,
  catalogue,
  clock,
  codec,
  decodeOutputs,
  inMessage,
  leafStrings,
  line,
  only,
  payloadBytes,
  payloadRecords,
  relayFor,
  rules,
  topics,
  type Out,
  type Outputs,
} from './pipeline-harness.js';

const MAGDA = relayFor('vaph');
const VAPH_BASIS = { deliberation: '10/012', version: 'v1', purpose: 'vaph-personal-assistance-budget' };

type Obj = Record<string, unknown>;

/** VAPH follows the assistant from 2024, for the budget holder (employer A) only (10/012 §9). */
const VAPH_LINE = line('vaph', WORKER, 'pab-assistant', '2024-01-01', null, EMPLOYER_A);

function mutations(lines: readonly Integration[] = [VAPH_LINE]) {
  const transform = mutationTransform({
    codec,
    topics,
    rules,
    payloadRecords,
    directory: createMemoryDirectoryStore(lines.length > 0 ? [{ niss: WORKER, lines }] : []),
    logger: silentLogger,
    now: clock,
  });
  return async (...messages: InMessage[]): Promise<Outputs> => decodeOutputs((await transform(messages)).records);
}

function sourceMutation(fields: Partial<SourceMutationRecord> = {}): SourceMutationRecord {
  return {
    mutationId: 'onss-dmfa-2024-000123',
    service: 'dmfa',
    subjectNiss: WORKER,
    employer: { ...EMPLOYER_A, category: null },
    informationType: 'dmfa.correction',
    changeKind: 'CHANGED',
    effectiveDate: '2024-05-01',
    newNiss: null,
    payload: payloadBytes('dmfa', fixture('dmfa.json')),
    emittedAt: NOW - 60_000,
    ...fields,
  };
}

/** The change on its source's mutations topic, keyed by the NISS. */
function changeMessage(source: string, record: SourceMutationRecord, offset?: number): InMessage {
  return inMessage(topics.sourceMutations(source), codec.encode(MUTATION_RECORD.source, record), { key: record.subjectNiss, ...(offset !== undefined ? { offset } : {}) });
}

/** One delivery per institution, each with its audit record under the same ticket. */
function deliveries(out: Outputs): Array<{ mutation: Out<MutationRecord>; audit: Out<Outputs['audits'][number]['value']> }> {
  expect(out.deadLetters).toEqual([]);
  expect(out.audits).toHaveLength(out.mutations.length);
  return out.mutations.map((mutation) => {
    expect(mutation.headers).toEqual({ type: 'mutation', ticket: mutation.value.ticket });
    expect(mutation.key).toBe(mutation.value.subjectNiss);
    const audit = only(out.audits.filter((a) => a.headers.ticket === mutation.value.ticket), `audit record of ${mutation.value.ticket}`);
    expect(audit.topic).toBe(topics.audit);
    expect(audit.headers).toEqual({ type: 'audit', event: 'MUTATION_DELIVERED', ticket: mutation.value.ticket });
    expect(audit.value).toMatchObject({
      eventType: 'MUTATION_DELIVERED',
      outcome: 'OK',
      at: NOW,
      source: mutation.value.source,
      service: mutation.value.service,
      subjectNiss: mutation.value.subjectNiss,
      deliberation: mutation.value.legalBasis.deliberation,
      deliveredBlocks: mutation.value.deliveredBlocks,
      removedBlocks: mutation.value.removedBlocks,
      removedFields: mutation.value.removedFields,
      effectivePeriods: [{ from: mutation.value.effectiveDate, to: mutation.value.effectiveDate }],
    });
    return { mutation, audit };
  });
}

describe('mutationTransform: a change reaches who follows the person, filtered to their grant', () => {
  it('a DmfA correction for VAPH is relayed through MAGDA (10/012 §9, §18): on bcss.magda.mutations, onBehalfOf vaph', async () => {
    const run = mutations();
    const change = sourceMutation();
    const [delivery] = deliveries(await run(changeMessage('onss', change)));
    const { mutation, audit } = delivery as NonNullable<typeof delivery>;

    expect(mutation.topic).toBe(topics.mutations(MAGDA));
    expect(mutation.value).toMatchObject({
      mutationId: change.mutationId,
      source: 'onss',
      service: 'dmfa',
      subjectNiss: WORKER,
      onBehalfOf: 'vaph',
      employer: { ...EMPLOYER_A, category: null },
      informationType: 'dmfa.correction',
      changeKind: 'CHANGED',
      effectiveDate: '2024-05-01',
      form: 'BLOCKS',
      legalBasis: VAPH_BASIS,
      // 10/012 sets no retention for the data.
      retainUntil: null,
      emittedAt: change.emittedAt,
      deliveredAt: NOW,
    });
    // Audited as VAPH's, through MAGDA — as VAPH's requests are.
    expect(audit.value).toMatchObject({ requester: 'vaph', intermediary: MAGDA, deliberation: '10/012', deliberationVersion: 'v1', employer: { ...EMPLOYER_A, category: null } });

    // The content as an answer to VAPH would be: employer A only, from VAPH's integration on (2024),
    // and of the natural person only its sequence number and NISS (10/012 §8).
    const payload = codec.decode<{ employerDeclarations: Obj[] }>(payloadRecords.get('dmfa') as string, mutation.value.payload as Buffer);
    expect(payload.employerDeclarations.map((d) => [d.enterpriseNumber, d.quarter])).toEqual([
      [EMPLOYER_A.id, '2024Q1'],
      [EMPLOYER_A.id, '2024Q2'],
    ]);
    const persons = payload.employerDeclarations.flatMap((d) => d.naturalPersons as Obj[]);
    for (const person of persons) {
      expect(Object.keys(person).filter((f) => f !== 'workerRecords' && person[f] !== null).sort()).toEqual(['niss', 'sequenceNumber']);
    }
    expect(mutation.value.removedFields).toEqual(expect.arrayContaining(['dmfa.natural-person.lastName', 'dmfa.natural-person.birthDate']));
    expect(mutation.value.removedBlocks).toContain('dmfa.service');
    // Names of withheld fields in the audit, never values.
    expect(leafStrings(audit.value)).not.toContain('Peeters');
  });

  it('the delivery’s ticket is its place in Kafka and its subscriber: processing the change again gives the same ticket', async () => {
    const run = mutations();
    const message = changeMessage('onss', sourceMutation());
    const first = await run(message);
    const again = await run(message);
    expect(only(again.mutations, 'mutation').value.ticket).toBe(only(first.mutations, 'mutation').value.ticket);
    // Another change (another offset) is another delivery.
    const other = await run(changeMessage('onss', sourceMutation()));
    expect(only(other.mutations, 'mutation').value.ticket).not.toBe(only(first.mutations, 'mutation').value.ticket);
  });

  it('a DIMONA change fans out: VAPH through MAGDA and IRISCARE directly (19/104 §9), each its own delivery and audit record', async () => {
    const run = mutations([VAPH_LINE, line('iriscare', WORKER, 'care-worker', '2024-01-01', null, EMPLOYER_A)]);
    const out = await run(
      changeMessage('onss', sourceMutation({ service: 'dimona', informationType: 'dimona.out-of-service', changeKind: 'ENDED', payload: payloadBytes('dimona', fixture('dimona.json')) })),
    );
    const byTopic = new Map(deliveries(out).map((d) => [d.mutation.topic, d]));
    expect([...byTopic.keys()].sort()).toEqual([topics.mutations('iriscare'), topics.mutations(MAGDA)].sort());
    expect(out.mutations.some((m) => m.topic === topics.mutations('vaph'))).toBe(false);

    const iriscare = byTopic.get(topics.mutations('iriscare'));
    const vaph = byTopic.get(topics.mutations(MAGDA));
    expect(iriscare?.mutation.value).toMatchObject({ onBehalfOf: null, legalBasis: { deliberation: '19/104' } });
    expect(iriscare?.audit.value).toMatchObject({ requester: 'iriscare', intermediary: null });
    expect(vaph?.mutation.value).toMatchObject({ onBehalfOf: 'vaph', legalBasis: { deliberation: '10/012' } });
    expect(vaph?.audit.value).toMatchObject({ requester: 'vaph', intermediary: MAGDA });
    expect(iriscare?.mutation.value.ticket).not.toBe(vaph?.mutation.value.ticket);
    // Both grants give the worker's NISS only (10/012 §7, 19/104 §9): no name reaches either.
    for (const d of [iriscare, vaph]) {
      const payload = codec.decode<{ dimonaPeriods: Array<{ worker: Obj | null }> }>(payloadRecords.get('dimona') as string, d?.mutation.value.payload as Buffer);
      expect(payload.dimonaPeriods.length).toBeGreaterThan(0);
      for (const period of payload.dimonaPeriods) expect(period.worker).toMatchObject({ niss: WORKER, lastName: null, firstName: null });
    }
  });

  it('a change without data is still told, as a NOTIFICATION', async () => {
    const run = mutations();
    const [delivery] = deliveries(await run(changeMessage('onss', sourceMutation({ payload: null }))));
    expect(delivery?.mutation.value).toMatchObject({ form: 'NOTIFICATION', payload: null, deliveredBlocks: [], retainUntil: null, onBehalfOf: 'vaph' });
  });
});

describe('mutationTransform: who is not told', () => {
  it('a change about another employer than the one VAPH’s line is bound to: no record at all', async () => {
    const run = mutations();
    const out = await run(changeMessage('onss', sourceMutation({ employer: { ...EMPLOYER_B, category: null } })));
    expect([out.mutations, out.audits, out.deadLetters]).toEqual([[], [], []]);
  });

  it('a change effective before VAPH integrated the person: not told (10/012 §15)', async () => {
    const run = mutations();
    const out = await run(changeMessage('onss', sourceMutation({ effectiveDate: '2023-11-15' })));
    expect([out.mutations, out.audits]).toEqual([[], []]);
  });

  it('a person nobody integrated: nothing', async () => {
    const run = mutations([]);
    const out = await run(changeMessage('onss', sourceMutation()));
    expect([out.mutations, out.audits, out.deadLetters]).toEqual([[], [], []]);
  });
});

describe('mutationTransform: what the switch cannot vouch for goes to the dead letters, and only there', () => {
  /** The one dead letter and nothing else. */
  function deadLettered(out: Outputs) {
    expect([out.mutations, out.audits]).toEqual([[], []]);
    const dead = only(out.deadLetters, 'dead letter');
    expect(dead.topic).toBe(topics.deadLetter);
    expect(dead.headers).toEqual({ type: 'dead-letter', reason: dead.value.reasonCode });
    return dead.value;
  }

  it('undecodable bytes: the codec’s reason, the original bytes and where they came from', async () => {
    const run = mutations();
    const garbage = Buffer.from([0xc3, 0x01, 1, 2, 3]);
    const dead = deadLettered(await run(inMessage(topics.sourceMutations('onss'), garbage, { offset: 42 })));
    expect(dead).toMatchObject({ reasonCode: 'TRUNCATED', originTopic: topics.sourceMutations('onss'), originOffset: 42, originInstitution: 'onss' });
    expect(dead.originalValue?.equals(garbage)).toBe(true);
  });

  it('a source publishing a change of a service it does not own: WRONG_SOURCE', async () => {
    const run = mutations();
    // DmfA is ONSS's (catalogue), not the registers'.
    expect(catalogue.services.get('dmfa')?.source).toBe('onss');
    expect(deadLettered(await run(changeMessage('bcss-registers', sourceMutation()))).reasonCode).toBe('WRONG_SOURCE');
  });

  it('a NISS that is not valid: INVALID_NISS (it would route to nobody, silently)', async () => {
    const run = mutations();
    expect(deadLettered(await run(changeMessage('onss', sourceMutation({ subjectNiss: '85073003329' })))).reasonCode).toBe('INVALID_NISS');
  });

  it('a payload that is not the service’s record (a DIMONA payload in a DmfA change): INCOMPATIBLE_SCHEMA', async () => {
    const run = mutations();
    const out = await run(changeMessage('onss', sourceMutation({ payload: payloadBytes('dimona', fixture('dimona.json')) })));
    expect(deadLettered(out).reasonCode).toBe('INCOMPATIBLE_SCHEMA');
  });

  it('a topic that names no source: UNROUTABLE', async () => {
    const run = mutations();
    const out = await run(inMessage('bcss.changes', codec.encode(MUTATION_RECORD.source, sourceMutation())));
    expect(deadLettered(out)).toMatchObject({ reasonCode: 'UNROUTABLE', originInstitution: null });
  });

  it('any bytes at all, in any chunk: exactly one dead letter per message, nothing delivered, never a throw', async () => {
    const run = mutations();
    const header = Buffer.concat([Buffer.from([0xc3, 0x01]), codec.fingerprint(MUTATION_RECORD.source)]);
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
      // The record's own header, so that the body itself is what fails.
      fc.uint8Array({ maxLength: 120 }).map((b) => Buffer.concat([header, b])),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(bytes, { minLength: 1, maxLength: 6 }), async (values) => {
        const messages = values.map((v) => inMessage(topics.sourceMutations('onss'), v, { key: WORKER }));
        const out = await run(...messages);
        // A body that decodes by chance still names no service ONSS owns and no valid NISS: dead too.
        expect(out.deadLetters.map((d) => d.key)).toEqual(messages.map((m) => `${m.topic}:${m.partition}:${m.offset}`));
        expect(out.deadLetters.map((d) => d.value.originInstitution)).toEqual(messages.map(() => 'onss'));
        expect([out.mutations, out.audits, out.replies, out.sourceRequests]).toEqual([[], [], [], []]);
      }),
      { numRuns: 150 },
    );
  });
});
