/**
 * Mutation routing on the real broker and Redis: a source publishes a change on its mutations topic;
 * the gateway tells exactly the institutions that follow the person on the change's day (for that
 * employer) and are authorized to be told, each on its own mutations topic — or, where its deliberation
 * makes an intermediary mandatory, on the intermediary's (10/012 §9, §18: VAPH's changes on MAGDA's
 * topic, naming VAPH) — with the blocks it may see and one MUTATION_DELIVERED audit record, and nobody
 * else. What cannot be routed is dead-lettered.
 *
 * 10/012 §9 and 19/104 §2 cover only a named employer–worker link: VAPH and IRISCARE integrate the
 * person WITH the employer (the directory refuses them a line without one: EMPLOYER_LINK_REQUIRED), and
 * are told only of that employer's changes. 19/010 demands no employer: ONVA's lines stay unbound.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DirectoryAckRecord, DirectoryCommandRecord } from '../../../src/contract/directory-records.js';
import type { MutationRecord, SourceMutationRecord } from '../../../src/contract/mutation-records.js';
import { DIRECTORY_RECORD as RECORD } from '../../../src/contract/names.js';
import type { SampleIntegration } from '../../../src/sources/sample-directory.js';
import {
  createSyntheticPopulation,
  generateSyntheticPersons,
  SIMULATED,
  SIMULATED_EMPLOYERS,
} from '../../../src/sources/synthetic-population.js';
import type { CollectedMessage, TopicCollector } from '../../support/exchange-fixture.js';
import { INSTITUTIONS, plusYearsMonths, startSwitch, utcDay, type RunningSwitch } from '../exchange/exchange-scenario.js';
import {
  collectMutations,
  copyFor,
  deliveredPayload,
  deliveryTopic,
  expectDelivery,
  expectDeliveryAudited,
  mutationAudits,
  ofMutation,
  sourceMutation,
  sourcePayload,
  type ExpectedDelivery,
  type SourceEmployer,
} from './mutation-scenario.js';

const E = SIMULATED_EMPLOYERS;
const onss = (id: string | null): SourceEmployer => ({ kind: 'ONSS', id: id as string });
const enterprise = (id: string | null): SourceEmployer => ({ kind: 'ENTERPRISE', id: id as string });
const bound = (employer: SourceEmployer) => ({ kind: employer.kind, id: employer.id });

/** 10/012 §9, §18: VAPH's changes come through MAGDA, on MAGDA's mutations topic. */
const VAPH_10_012 = { deliberation: '10/012', version: 'v1', purpose: 'vaph-personal-assistance-budget', via: 'magda' } as const;
const IRISCARE_19_104 = { deliberation: '19/104', version: 'v3', purpose: 'iriscare-care-structure-financing' } as const;
const VAPH_10_012_BASIS = { deliberation: VAPH_10_012.deliberation, version: VAPH_10_012.version, purpose: VAPH_10_012.purpose };
const DIMONA_DATA_BLOCKS = ['dimona.period', 'dimona.employer', 'dimona.worker', 'dimona.occupation'];

const population = createSyntheticPopulation({ extraPersons: 4 });
const [someone, orderedPerson, formerAssistant] = generateSyntheticPersons(3);

/** The employer of a generated person's first job, as DIMONA names it. */
function firstEmployer(person: ReturnType<typeof generateSyntheticPersons>[number] | undefined): SourceEmployer {
  const job = (person?.employments ?? [])[0];
  if (!job) throw new Error('no generated person with a job');
  const kind = job.employer.dimonaIdKind;
  const id = kind === 'ENTERPRISE' ? job.employer.enterpriseNumber : kind === 'ONSS' ? job.employer.onssNumber : job.employer.provisionalOnssNumber;
  return { kind, id: id as string };
}

interface DimonaRow {
  readonly employer: { readonly employerIdKind: string; readonly employerIdNumber: string } | null;
  readonly occupation: { readonly inDate: string; readonly outDate: string | null } | null;
}
const rowsOf = (payload: { dimonaPeriods?: DimonaRow[] }) =>
  (payload.dimonaPeriods ?? []).map((r) => `${r.employer?.employerIdKind}:${r.employer?.employerIdNumber}`);

function line(
  institution: string,
  niss: string,
  from: string,
  to: string | null,
  employer: SourceEmployer | null = null,
): SampleIntegration {
  // 10/012 §9: VAPH integrates the assistant as such; the other deliberations demand no capacity.
  const capacity = institution === 'vaph' ? 'pab-assistant' : 'test-capacity';
  return { institution, niss, capacity, phase: 1, from, to, employer: employer ? bound(employer) : null };
}

interface RoutingCase {
  readonly name: string;
  readonly lines: readonly SampleIntegration[];
  /** As published, but for the payload: encoded when sent. */
  readonly mutation: SourceMutationRecord;
  /** The source's payload before encoding (null: the source sent the event only). */
  readonly payload: Record<string, unknown> | null;
  /** The institutions told, and what each receives; every other institution receives nothing. */
  readonly expected: Readonly<Record<string, ExpectedDelivery & { readonly rows?: readonly string[] }>>;
}

function dimonaChange(niss: string, employer: SourceEmployer, effectiveDate: string): { mutation: SourceMutationRecord; payload: Record<string, unknown> } {
  const payload = sourcePayload(population, 'dimona', niss);
  return { payload, mutation: sourceMutation({ service: 'dimona', subjectNiss: niss, employer, effectiveDate, informationType: 'dimona.occupation' }) };
}

function buildCases(): RoutingCase[] {

  const assistant = SIMULATED.assistantOfVaph;
  const careWorker = SIMULATED.careWorkerIriscare;
  const interim = SIMULATED.interimWorker;
  const someoneJob = (someone?.employments ?? [])[0];
  if (!someone || !someoneJob || !formerAssistant) throw new Error('no generated person');
  const someoneEmployer = firstEmployer(someone);

  return [
    {
      name: '10/012 §9, 19/104 §2: integrated WITH the budget holder and authorized: VAPH (through MAGDA) and IRISCARE each get the budget holder\'s rows only',
      lines: [
        line('vaph', assistant, '2024-01-01', null, onss(E.budgetHolder.onssNumber)),
        line('iriscare', assistant, '2024-01-01', null, onss(E.budgetHolder.onssNumber)),
        // 19/010: ONVA consults, it is pushed nothing; it demands no employer, its line stays unbound.
        line('onva', assistant, '2023-01-01', null),
      ],
      ...dimonaChange(assistant, onss(E.budgetHolder.onssNumber), '2024-06-01'),
      expected: {
        // The source's record holds the supermarket's job too (2024-02 … 2025-06): another link, for neither.
        iriscare: { ...IRISCARE_19_104, form: 'BLOCKS', deliveredBlocks: DIMONA_DATA_BLOCKS, rows: [`ONSS:${E.budgetHolder.onssNumber}`] },
        vaph: { ...VAPH_10_012, form: 'BLOCKS', deliveredBlocks: DIMONA_DATA_BLOCKS, rows: [`ONSS:${E.budgetHolder.onssNumber}`] },
      },
    },
    {
      name: 'integrated for another period: nobody',
      lines: [
        line('iriscare', careWorker, '2019-04-01', '2022-12-31', onss(E.careHome.onssNumber)),
        line('vaph', careWorker, '2020-01-01', '2020-12-31', onss(E.careHome.onssNumber)),
      ],
      ...dimonaChange(careWorker, onss(E.careHome.onssNumber), '2024-06-01'),
      expected: {},
    },
    {
      name: 'not integrated by anyone: nobody',
      lines: [],
      ...dimonaChange(someone.person.niss, someoneEmployer, someoneJob.inDate),
      expected: {},
    },
    {
      name: 'integrated but not authorized (ONVA consults only, 19/104 does not push DmfA, MAGDA only relays): nobody',
      lines: [
        line('onva', SIMULATED.deceased, '2023-01-01', null),
        line('iriscare', SIMULATED.deceased, '2023-01-01', null, onss(E.cpas.onssNumber)),
        line('magda', SIMULATED.deceased, '2023-01-01', null),
      ],
      ...{
        payload: sourcePayload(population, 'dmfa', SIMULATED.deceased),
        mutation: sourceMutation({
          service: 'dmfa',
          subjectNiss: SIMULATED.deceased,
          employer: onss(E.cpas.onssNumber),
          effectiveDate: '2024-03-01',
          informationType: 'dmfa.correction',
        }),
      },
      expected: {},
    },
    {
      name: 'bound to another employer: IRISCARE follows the agency, VAPH the brewery that hired the worker',
      lines: [
        line('iriscare', interim, '2023-01-01', null, onss(E.interimAgency.onssNumber)),
        line('vaph', interim, '2024-10-01', null, enterprise(E.brewery.enterpriseNumber)),
      ],
      ...dimonaChange(interim, enterprise(E.brewery.enterpriseNumber), '2024-10-01'),
      expected: {
        vaph: { ...VAPH_10_012, form: 'BLOCKS', deliveredBlocks: DIMONA_DATA_BLOCKS, rows: [`ENTERPRISE:${E.brewery.enterpriseNumber}`] },
      },
    },
    {
      name: '10/012 §15: an identity change of 2024, VAPH\'s file closed in 2016: nobody',
      lines: [line('vaph', formerAssistant.person.niss, '2015-01-01', '2016-12-31', firstEmployer(formerAssistant))],
      ...{
        payload: sourcePayload(population, 'identification', formerAssistant.person.niss),
        mutation: sourceMutation({
          service: 'identification',
          subjectNiss: formerAssistant.person.niss,
          effectiveDate: '2024-06-01',
          informationType: 'identification.address',
        }),
      },
      expected: {},
    },
    {
      name: 'an identity change, VAPH\'s file (bound to the care home) open on its date: VAPH is told through MAGDA; IRISCARE and ONVA are not authorized',
      lines: [
        line('vaph', SIMULATED.replacingNiss, '2024-01-15', null, onss(E.careHome.onssNumber)),
        line('iriscare', SIMULATED.replacingNiss, '2024-01-15', null, onss(E.careHome.onssNumber)),
        line('onva', SIMULATED.replacingNiss, '2024-01-15', null),
      ],
      ...{
        payload: sourcePayload(population, 'identification', SIMULATED.replacingNiss),
        mutation: sourceMutation({
          service: 'identification',
          subjectNiss: SIMULATED.replacingNiss,
          effectiveDate: '2024-06-01',
          informationType: 'identification.address',
        }),
      },
      expected: {
        vaph: {
          ...VAPH_10_012,
          form: 'BLOCKS',
          // 10/012 §17: the registers' data; no photo, and nothing about civil status or death is known.
          deliveredBlocks: [
            'identification.register',
            'identification.name',
            'identification.birth',
            'identification.gender',
            'identification.nationality',
            'identification.residence',
          ],
        },
      },
    },
    {
      name: 'a BIS number replaced, sent without data: a notification with the new NISS to whoever followed the old one',
      // 10/012 §9: VAPH integrates the assistant with the budget holder known from the application file.
      lines: [line('vaph', SIMULATED.replacedBis, '2022-04-11', null, onss(E.budgetHolder.onssNumber))],
      ...{
        payload: null,
        mutation: sourceMutation({
          service: 'identification',
          subjectNiss: SIMULATED.replacedBis,
          effectiveDate: '2023-09-18',
          informationType: 'identification.niss-replaced',
          newNiss: SIMULATED.replacingNiss,
        }),
      },
      expected: { vaph: { ...VAPH_10_012, form: 'NOTIFICATION', deliveredBlocks: [] } },
    },
  ];
}

const CASES = buildCases();

describe('mutations: routed to exactly the institutions that follow the person and are authorized', () => {
  let sw: RunningSwitch;
  let mutations: TopicCollector<MutationRecord>;

  beforeAll(async () => {
    sw = await startSwitch();
    const { fx } = sw;
    const orderLines = [line('vaph', orderedPerson?.person.niss as string, '2018-01-01', null, firstEmployer(orderedPerson))];
    await fx.integrate([...CASES.flatMap((c) => c.lines), ...orderLines]);
    mutations = await collectMutations(fx, INSTITUTIONS);
    // Every case's change at once, each from the source that owns its service.
    for (const c of CASES) {
      const payload = c.payload === null ? null : fx.codec.encode(fx.payloadRecords.get(c.mutation.service) as string, c.payload);
      await fx.sendMutation(fx.catalogue.services.get(c.mutation.service)?.source as string, { ...c.mutation, payload });
    }
    await fx.waitForMutationsProcessed();
  }, 120_000);

  afterAll(async () => {
    await sw?.fx.closeAtOnce();
  }, 60_000);

  /** Once its expected deliveries arrived and the switch settled: any unexpected one would be read by then. */
  async function deliveriesOf(c: RoutingCase): Promise<Array<CollectedMessage<MutationRecord>>> {
    const count = Object.keys(c.expected).length;
    await mutations.waitFor((ms) => ms.filter((m) => m.value.mutationId === c.mutation.mutationId).length >= count, `${count} deliveries of ${c.name}`);
    await sw.fx.settled();
    return ofMutation(mutations, c.mutation.mutationId);
  }

  it.each(CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const { fx } = sw;
    const delivered = await deliveriesOf(c);
    // Exactly the expected institutions' topics (their intermediary's, for VAPH), one copy each, and nothing on any other.
    expect(delivered.map((m) => m.topic).sort(), c.name).toEqual(
      Object.entries(c.expected).map(([i, e]) => deliveryTopic(fx, i, e.via ?? null)).sort(),
    );

    for (const [institution, expected] of Object.entries(c.expected)) {
      const copy = copyFor(fx, delivered, institution, expected.via ?? null) as CollectedMessage<MutationRecord>;
      expect(copy, `${c.name}: ${institution}'s copy`).toBeDefined();
      expectDelivery(fx, copy, institution, c.mutation, expected);
      if (expected.form === 'BLOCKS') {
        const payload = deliveredPayload<{ niss: string; dimonaPeriods?: DimonaRow[] }>(fx, copy.value);
        expect(payload.niss).toBe(c.mutation.subjectNiss);
        if (expected.rows) expect(rowsOf(payload), `${c.name}: ${institution}'s rows`).toEqual(expected.rows);
        // The retention of the deliberation applied, from the day of delivery: 19/104 six months, 10/012 none.
        expect(copy.value.retainUntil).toBe(
          expected.deliberation === '19/104' ? plusYearsMonths(utcDay(copy.value.deliveredAt), 0, 6) : null,
        );
      }
      await expectDeliveryAudited(sw.audit, copy, institution, c.payload, expected.via ?? null);
    }
    // One audit record per delivery, none for those not told.
    const audits = mutationAudits(sw.audit).filter((a) => a.subjectNiss === c.mutation.subjectNiss);
    expect(audits.map((a) => a.ticket).sort()).toEqual(delivered.map((m) => m.value.ticket).sort());
    expect(audits.map((a) => a.requester).sort()).toEqual(Object.keys(c.expected).sort());
  });

  it('several changes about one person reach the subscriber in the order the source published them', async () => {
    const { fx } = sw;
    const niss = orderedPerson?.person.niss as string;
    const payload = sourcePayload(population, 'dimona', niss);
    const encoded = fx.codec.encode(fx.payloadRecords.get('dimona') as string, payload);
    const kinds = ['ADDED', 'CHANGED', 'CHANGED', 'ENDED', 'CANCELLED', 'ADDED', 'CHANGED', 'ENDED'] as const;
    const sent = kinds.map((changeKind, i) =>
      sourceMutation({
        service: 'dimona',
        subjectNiss: niss,
        // The employer VAPH integrated the person with (10/012 §9).
        employer: firstEmployer(orderedPerson),
        changeKind,
        // Days out of order on purpose: the order is the source's, not the effective dates'.
        effectiveDate: `2024-0${9 - i}-01`,
        informationType: `dimona.step-${i}`,
        payload: i % 3 === 0 ? null : encoded,
      }),
    );
    // One at a time, each acknowledged before the next: they may be read in several batches and transactions.
    for (const m of sent) await fx.sendMutation('onss', m);
    const ids = sent.map((m) => m.mutationId);
    const arrived = await mutations.waitFor(
      (ms) => ms.filter((m) => ids.includes(m.value.mutationId)).length >= ids.length,
      'every change about the person',
    );
    const mine = arrived.filter((m) => ids.includes(m.value.mutationId));
    expect(mine.map((m) => m.value.mutationId)).toEqual(ids);
    // VAPH's changes all come through MAGDA (10/012 §9, §18): one partition of MAGDA's topic, in order.
    expect(new Set(mine.map((m) => `${m.topic}:${m.partition}`))).toEqual(new Set([`${fx.topics.mutations('magda')}:${mine[0]?.partition}`]));
    expect(mine.every((m) => m.value.onBehalfOf === 'vaph')).toBe(true);
    expect(mine.map((m) => m.value.changeKind)).toEqual([...kinds]);
    // Within the partition, offsets grow in the same order.
    const offsets = mine.map((m) => BigInt(m.offset));
    expect(offsets.every((o, i) => i === 0 || o > (offsets[i - 1] as bigint))).toBe(true);
    expect(mine.map((m) => m.value.form)).toEqual(sent.map((m) => (m.payload === null ? 'NOTIFICATION' : 'BLOCKS')));
  });

  describe('10/012 §9, §18: VAPH is told of its own employer–worker link only, and through MAGDA', () => {
    it('VAPH, integrated with the budget holder, receives no change of another employer of the assistant (the supermarket)', async () => {
      const { fx } = sw;
      const assistant = SIMULATED.assistantOfVaph;
      const payload = sourcePayload(population, 'dimona', assistant);
      const before = mutationAudits(sw.audit).filter((a) => a.subjectNiss === assistant).length;
      const supermarketChange = sourceMutation({
        service: 'dimona',
        subjectNiss: assistant,
        employer: enterprise(E.supermarket.enterpriseNumber),
        effectiveDate: '2024-06-01',
        informationType: 'dimona.occupation',
        payload: fx.codec.encode(fx.payloadRecords.get('dimona') as string, payload),
      });
      await fx.sendMutation('onss', supermarketChange);
      await fx.settled();
      // Nobody: VAPH's and IRISCARE's lines are bound to the budget holder, ONVA is pushed nothing.
      expect(ofMutation(mutations, supermarketChange.mutationId)).toEqual([]);
      expect(mutationAudits(sw.audit).filter((a) => a.subjectNiss === assistant)).toHaveLength(before);
    });

    it('VAPH\'s change is read on MAGDA\'s mutations topic, naming VAPH; nothing ever comes on VAPH\'s own; audited as VAPH\'s, through MAGDA', async () => {
      const { fx } = sw;
      const change = CASES[0] as RoutingCase;
      const delivered = await deliveriesOf(change);
      const relayed = delivered.filter((m) => m.topic === fx.topics.mutations('magda'));
      expect(relayed).toHaveLength(1);
      const [copy] = relayed as [CollectedMessage<MutationRecord>];
      expect(copy.value).toMatchObject({ mutationId: change.mutation.mutationId, onBehalfOf: 'vaph', legalBasis: VAPH_10_012_BASIS });
      // IRISCARE has no intermediary: its copy is on its own topic and names nobody.
      expect(delivered.find((m) => m.topic === fx.topics.mutations('iriscare'))?.value.onBehalfOf).toBeNull();
      // Not this change, nor any other, on VAPH's own topic.
      expect(mutations.messages.filter((m) => m.topic === fx.topics.mutations('vaph'))).toEqual([]);
      const audit = await expectDeliveryAudited(sw.audit, copy, 'vaph', change.payload, 'magda');
      expect(audit).toMatchObject({ requester: 'vaph', intermediary: 'magda' });
    });
  });

  describe('the directory: VAPH and IRISCARE integrate with the employer (10/012 §9, 19/104 §2), ONVA need not', () => {
    it('an integration without employer is refused EMPLOYER_LINK_REQUIRED, acknowledged and audited DIRECTORY_REFUSED; no line is written', async () => {
      const { fx } = sw;
      const niss = SIMULATED.neverEmployed;
      const acks = await fx.collect([fx.topics.replies('vaph'), fx.topics.replies('iriscare')], (m) =>
        m.headers.type === 'directory-ack' && m.value !== null ? fx.codec.decode<DirectoryAckRecord>(RECORD.ack, m.value) : null,
      );
      const command = (institution: string, capacity: string): DirectoryCommandRecord => ({
        commandId: `unbound-${institution}-${randomUUID()}`,
        institution,
        action: 'INTEGRATE',
        niss,
        capacity,
        phase: 1,
        periodFrom: '2024-01-01',
        periodTo: null,
        employerKind: null,
        employerId: null,
        issuedAt: Date.now(),
      });
      const sent = [command('vaph', 'pab-assistant'), command('iriscare', 'care-worker')];
      const producer = await fx.client.producer();
      try {
        for (const c of sent) await producer.send(fx.topics.directory(c.institution), [{ key: niss, value: fx.codec.encode(RECORD.command, c) }]);
      } finally {
        await producer.disconnect();
      }
      const ids = sent.map((c) => c.commandId);
      const got = (await acks.waitFor((ms) => ms.filter((m) => ids.includes(m.value?.commandId ?? '')).length >= ids.length, 'the two acknowledgements'))
        .filter((m) => ids.includes(m.value?.commandId ?? ''));
      for (const [c, deliberation] of [[sent[0], '10/012'], [sent[1], '19/104']] as const) {
        const ack = got.find((m) => m.value?.commandId === c?.commandId);
        expect(ack?.topic).toBe(fx.topics.replies(c?.institution as string));
        expect(ack?.value).toMatchObject({ status: 'EMPLOYER_LINK_REQUIRED', niss: null, linesAfter: 0 });
        expect(ack?.value?.message).toContain(`deliberation ${deliberation}`);
        const records = await sw.audit.waitFor(
          (ms) => ms.some((m) => m.value.ticket === c?.commandId),
          `the DIRECTORY_REFUSED record of ${c?.commandId}`,
        );
        expect(records.filter((m) => m.value.ticket === c?.commandId).map((m) => m.value)).toEqual([
          expect.objectContaining({
            eventType: 'DIRECTORY_REFUSED',
            outcome: 'EMPLOYER_LINK_REQUIRED',
            requester: c?.institution,
            service: 'directory',
            purpose: `INTEGRATE ${c?.capacity}`,
            subjectNiss: niss,
            employer: null,
          }),
        ]);
      }
      // Refused at intake: the writer never saw them.
      expect(await fx.store.read(niss)).toEqual([]);
    });
  });

  describe('what cannot be routed is dead-lettered, and nobody is told', () => {
    async function expectDeadLetter(bytes: Buffer, source: string, reasonCode: string, reason: RegExp): Promise<void> {
      const { fx } = sw;
      const key = `bad-mutation-${randomUUID()}`;
      const before = { mutations: mutations.messages.length, audits: mutationAudits(sw.audit).length };
      await fx.sendMutation(source, bytes, key);
      const [letter] = (await sw.deadLetters.waitFor(
        (ms) => ms.some((m) => m.value.originalKey?.toString() === key),
        `the dead letter of ${key}`,
      )).filter((m) => m.value.originalKey?.toString() === key);
      expect(letter?.value).toMatchObject({
        originTopic: fx.topics.sourceMutations(source),
        originInstitution: source,
        reasonCode,
      });
      expect(letter?.value.reason).toMatch(reason);
      expect(letter?.value.originalValue?.equals(bytes)).toBe(true);
      expect(letter?.key).toBe(`${letter?.value.originTopic}:${letter?.value.originPartition}:${letter?.value.originOffset}`);
      await fx.settled();
      expect(sw.deadLetters.messages.filter((m) => m.value.originalKey?.toString() === key)).toHaveLength(1);
      expect({ mutations: mutations.messages.length, audits: mutationAudits(sw.audit).length }).toEqual(before);
    }

    const assistantChange = () =>
      sourceMutation({ service: 'dimona', subjectNiss: SIMULATED.assistantOfVaph, employer: onss(E.budgetHolder.onssNumber) });

    it('an undecodable mutation', async () => {
      await expectDeadLetter(Buffer.from('{"mutationId":"not avro"}'), 'onss', 'BAD_MARKER', /single-object marker/);
      await expectDeadLetter(Buffer.from([0xc3]), 'onss', 'TRUNCATED', /shorter than the single-object header/);
    });

    it('a mutation for a service the source does not own (WRONG_SOURCE)', async () => {
      const { fx } = sw;
      // Identification belongs to the registers: ONSS cannot vouch for an address change.
      const identity = sourceMutation({ service: 'identification', subjectNiss: SIMULATED.assistantOfVaph, informationType: 'identification.address' });
      await expectDeadLetter(fx.codec.encode('be.bcss.gateway.SourceMutation', identity), 'onss', 'WRONG_SOURCE', /source onss does not own service "identification"/);
      // Nor can the registers publish a DIMONA change, nor anyone a service the catalogue does not know.
      await expectDeadLetter(fx.codec.encode('be.bcss.gateway.SourceMutation', assistantChange()), 'bcss-registers', 'WRONG_SOURCE', /does not own service "dimona"/);
      const unknown = { ...assistantChange(), service: 'unknown-service' };
      await expectDeadLetter(fx.codec.encode('be.bcss.gateway.SourceMutation', unknown), 'onss', 'WRONG_SOURCE', /"unknown-service"/);
    });

    it('a mutation about an invalid NISS, or whose payload is another service\'s record', async () => {
      const { fx } = sw;
      const badNiss = { ...assistantChange(), subjectNiss: '12345678901' };
      await expectDeadLetter(fx.codec.encode('be.bcss.gateway.SourceMutation', badNiss), 'onss', 'INVALID_NISS', /subjectNiss/);
      const dmfaPayload = fx.codec.encode(fx.payloadRecords.get('dmfa') as string, sourcePayload(population, 'dmfa', SIMULATED.assistantOfVaph));
      const mismatched = { ...assistantChange(), payload: dmfaPayload };
      await expectDeadLetter(fx.codec.encode('be.bcss.gateway.SourceMutation', mismatched), 'onss', 'INCOMPATIBLE_SCHEMA', /DimonaPayload/);
    });
  });
});
