/**
 * The pure parts of `npm run demo`: the scenario list and its expectations (those of the changes checked
 * against the mutation routing on the sample directory), the comparison of an outcome with what was
 * expected, and the tables (and JSON) a person reads.
 */
import { describe, expect, it } from 'vitest';
import { buildRequest } from '../../src/client/request-input.js';
import {
  allAsExpected,
  blockList,
  blocksCell,
  formCell,
  gatewayLine,
  mutationCell,
  outcomeCell,
  renderJson,
  requesterCell,
  renderSummary,
  renderTable,
  shortBlockId,
  subjectCell,
  withheldFields,
  withheldFieldsLine,
  type DemoReport,
  type DemoResult,
} from '../../src/demo/demo-table.js';
import {
  compareOutcome,
  demoChanges,
  demoScenarios,
  fieldBlock,
  fieldName,
  groupedFields,
  maskNiss,
  MUTATIONS_SECTION,
  NO_REPLY,
  NOTHING,
  ofAge,
  presentFieldsOf,
  quarterlyListExpectations,
  type DemoOutcome,
  type DemoScenario,
} from '../../src/demo/scenarios.js';
import { decideAuthorization } from '../../src/domain/authorization.js';
import type { Integration } from '../../src/domain/directory.js';
import { mutationContent, routeMutation } from '../../src/domain/mutation-routing.js';
import { isRefusalCode } from '../../src/domain/refusal-codes.js';
import { invalidityList } from '../../src/sources/invalidity-batch.js';
import { simulatedMutation } from '../../src/sources/mutation-simulator.js';
import { SAMPLE_DIRECTORY } from '../../src/sources/sample-directory.js';
import { createSyntheticPopulation, SIMULATED } from '../../src/sources/synthetic-population.js';
import { realCatalogue, realIndex, service } from './support/gateway-config.js';

const TODAY = '2026-11-24';
const scenarios = demoScenarios({ today: TODAY });

function scenario(number: number): DemoScenario {
  const found = scenarios.find((s) => s.number === number);
  if (!found) throw new Error(`no scenario ${number}`);
  return found;
}

function outcome(fields: Partial<DemoOutcome> = {}): DemoOutcome {
  return {
    status: 'OK',
    bcssCode: null,
    ticket: 'T-1',
    message: null,
    newNiss: null,
    deliveredBlocks: [],
    removedBlocks: [],
    removedFields: [],
    effectivePeriods: [{ from: '2024-01-01', to: '2024-12-31' }],
    durationMs: 12,
    ...fields,
  };
}

/** What the switch should answer to each scenario, as it would come back. */
function expectedOutcome(s: DemoScenario): DemoOutcome {
  if (s.send.kind === 'quarterly-lists') {
    return outcome({
      deliveredBlocks: ['inami-invalidity-entries.entry'],
      effectivePeriods: s.send.quarters.map((q) => ({ from: `${q.quarter.slice(0, 4)}-01-01`, to: `${q.quarter.slice(0, 4)}-12-31` })),
      lists: {
        statuses: s.send.quarters.map((q) => q.status),
        delivered: s.send.quarters.reduce((sum, q) => sum + q.entries, 0),
        removed: s.send.quarters.reduce((sum, q) => sum + q.listed - q.entries, 0),
        outsideQuarter: 0,
        underage: 0,
      },
    });
  }
  if (s.send.kind === 'mutation') {
    return outcome({
      status: s.expected.status,
      deliveredBlocks: [...(s.expected.delivered ?? [])],
      removedFields: [...(s.expected.removedFields ?? [])],
      effectivePeriods: [],
    });
  }
  return outcome({
    status: s.expected.status,
    bcssCode: s.expected.status === 'NOT_INTEGRATED' ? '-300020' : null,
    newNiss: s.expected.newNiss ?? null,
    deliveredBlocks: [...(s.expected.delivered ?? [])],
    removedBlocks: [...(s.expected.removed ?? [])],
    removedFields: [...(s.expected.removedFields ?? [])],
  });
}

function results(change: (s: DemoScenario) => Partial<DemoOutcome> = () => ({})): DemoResult[] {
  return scenarios.map((s) => {
    const o = { ...expectedOutcome(s), ...change(s) };
    return { scenario: s, outcome: o, verdict: compareOutcome(s, o) };
  });
}

const report = (rs: DemoResult[]): DemoReport => ({
  gateway: { kind: 'running', pid: 4242, topicPrefix: 'bcss', simulators: true },
  results: rs,
  timings: { setupMs: 900, requestsMs: 210, mutationsMs: 2_350, listsMs: 1_480, teardownMs: 1_000, totalMs: 3_590 },
  logFile: '.stack/logs/demo.log',
});

describe('the scenarios', () => {
  it('are numbered in order and expect, in turn, the outcomes the seeds should give', () => {
    expect(scenarios.map((s) => s.number)).toEqual(scenarios.map((_, i) => i + 1));
    expect(scenarios.map((s) => [s.requester, s.service, s.expected.status])).toEqual([
      ['magda', 'dmfa', 'OK'],
      ['magda', 'dmfa', 'OK'],
      ['magda', 'dimona', 'OK'],
      ['iriscare', 'dmfa', 'OK'],
      ['onva', 'identification', 'OK'],
      ['onva', 'dmfa', 'OK'],
      ['onva', 'dmfa', 'NO_DATA'],
      ['onva', 'identification', 'NISS_REPLACED'],
      ['onss', 'inami-invalidity-entries', 'OK'],
      ['magda', 'dmfa', 'NOT_INTEGRATED'],
      ['magda', 'dmfa', 'NOT_INTEGRATED_FOR_PERIOD'],
      ['magda', 'dmfa', 'EMPLOYER_NOT_INTEGRATED'],
      ['magda', 'dmfa', 'NOT_AUTHORIZED'],
      ['iriscare', 'dmfa', 'INVALID_EMPLOYER_ID'],
      ['iriscare', 'dmfa', 'AUTHORIZATION_NOT_IN_FORCE'],
      ['onss', 'inami-invalidity-entries', 'PERIOD_NOT_AUTHORIZED'],
      ['vaph', 'dmfa', 'SENDER_MISMATCH'],
      ['vaph', '', 'INVALID_MESSAGE'],
      ['magda', 'dmfa', 'SOURCE_ERROR'],
      ['onva', 'identification', 'CONSULTATION_ONLY'],
      ['magda', 'dimona', NOTHING],
      ['magda', 'dimona', 'BLOCKS'],
      ['onva', 'dimona', NOTHING],
      ['iriscare', 'dimona', NOTHING],
      ['magda', 'identification', 'BLOCKS'],
      ['iriscare', 'identification', NOTHING],
      ['iriscare', 'dmfa', NOTHING],
      ['iriscare', 'dimona', 'BLOCKS'],
      ['magda', 'dimona', NOTHING],
    ]);
    for (const s of scenarios) {
      if (s.send.kind === 'mutation') expect(['BLOCKS', 'NOTIFICATION', NOTHING]).toContain(s.expected.status);
      else expect(s.expected.status === 'OK' || isRefusalCode(s.expected.status)).toBe(true);
    }
  });

  it('VAPH asks, and is told of changes, only through MAGDA, on its own behalf (10/012 §9)', () => {
    const forVaph = scenarios.filter((s) => s.beneficiary === 'vaph');
    expect(forVaph.filter((s) => s.send.kind === 'request').length).toBeGreaterThan(0);
    expect(forVaph.filter((s) => s.send.kind === 'mutation').length).toBe(4);
    for (const s of forVaph) {
      expect(s.requester).toBe('magda');
      if (s.send.kind === 'request') expect(s.send.input.onBehalfOf).toBe('vaph');
    }
    // No change is watched on VAPH's own topic.
    expect(scenarios.filter((s) => s.send.kind === 'mutation' && s.requester === 'vaph')).toEqual([]);
  });

  it('every checked request passes the client library’s own checks, as its requester', () => {
    for (const s of scenarios) {
      const inputs = s.send.kind === 'request' ? [s.send.input] : s.send.kind === 'quarterly-lists' ? s.send.quarters.map((q) => q.input) : [];
      for (const input of inputs) expect(() => buildRequest(input, { requester: s.requester })).not.toThrow();
    }
  });

  it('the spoofed request names iriscare while vaph sends it; the replaced BIS number expects the new NISS', () => {
    const spoofed = scenario(17);
    expect(spoofed.requester).toBe('vaph');
    expect(spoofed.send.kind === 'raw' && spoofed.send.record.requester).toBe('iriscare');
    expect(scenario(8).expected.newNiss).toBe(SIMULATED.replacingNiss);
  });

  it('IRISCARE names the care home in every request but the one that shows it must (19/104 §2)', () => {
    for (const s of scenarios.filter((x) => x.requester === 'iriscare' && x.send.kind !== 'mutation')) {
      const named = s.send.kind === 'request' ? s.send.input.employer : s.send.kind === 'raw' ? s.send.record.employer : undefined;
      if (s.expected.status === 'INVALID_EMPLOYER_ID') expect(named ?? null, `#${s.number}`).toBeNull();
      else expect(named, `#${s.number}`).toBeTruthy();
    }
    expect(scenario(14).expected.status).toBe('INVALID_EMPLOYER_ID');
  });

  it('ONVA asks through DOLSIS in every request but the one that shows it must (19/010 §37: consultation only)', () => {
    const ofOnva = scenarios.filter((s) => s.requester === 'onva' && s.send.kind !== 'mutation');
    expect(ofOnva.map((s) => [s.number, s.consultation ?? null, s.expected.status])).toEqual([
      [5, 'DOLSIS', 'OK'],
      [6, 'DOLSIS', 'OK'],
      [7, 'DOLSIS', 'NO_DATA'],
      [8, 'DOLSIS', 'NISS_REPLACED'],
      [20, null, 'CONSULTATION_ONLY'],
    ]);
    // The refused one asks what the first one gets: the channel alone makes the difference.
    expect(scenario(20).send).toEqual(scenario(5).send);
    // Nobody else asks through a consultation application.
    expect(scenarios.filter((s) => s.consultation !== undefined && s.requester !== 'onva')).toEqual([]);
  });

  it('the 22/046 list of a quarter before 2020 is refused (§2)', () => {
    const before = scenario(16);
    expect(before.send.kind === 'request' && before.send.input).toMatchObject({ service: 'inami-invalidity-entries', subjectNiss: '', period: '2019Q4' });
    expect(before.expected.status).toBe('PERIOD_NOT_AUTHORIZED');
  });

  it('the quarterly lists: 2024 and 2025, 2,000 entries a quarter, about 5 % more listed from neighbouring quarters', () => {
    const lists = quarterlyListExpectations(TODAY);
    expect(lists.map((q) => q.quarter)).toEqual(['2024Q1', '2024Q2', '2024Q3', '2024Q4', '2025Q1', '2025Q2', '2025Q3', '2025Q4']);
    for (const q of lists) {
      expect(q.status).toBe('OK');
      expect(q.entries + q.underage).toBe(2_000);
      expect(q.listed).toBe(2_100);
    }
    // 22/046 §1, §15: two persons of the 2025Q1 list were 17 when their primary incapacity began.
    expect(lists.map((q) => q.underage)).toEqual([0, 0, 0, 0, 2, 0, 0, 0]);
    expect(scenario(9).expected.entries).toBe(15_998);
  });

  it('of age: 18 on the day the primary incapacity began, that day included', () => {
    const entry = (birthDate: string, primaryIncapacityStartDate: string) => ({ person: { birthDate }, incapacity: { primaryIncapacityStartDate } });
    expect(ofAge(entry('2005-12-03', '2023-12-03'))).toBe(true);
    expect(ofAge(entry('2005-12-03', '2023-12-02'))).toBe(false);
    expect(ofAge(entry('2004-02-29', '2022-02-28'))).toBe(false);
    expect(ofAge(entry('2004-02-29', '2022-03-01'))).toBe(true);
    const minors = invalidityList('2025Q1').entries.filter((e) => !ofAge(e));
    expect(minors.map((e) => [e.person.birthDate, e.incapacity.primaryIncapacityStartDate])).toEqual([
      ['2005-12-03', '2023-11-30'],
      ['2005-12-14', '2023-10-14'],
    ]);
  });

  it('the fields each request expects withheld are fields of the block its deliberation does not name', () => {
    const stating = scenarios.filter((s) => s.send.kind === 'request' && (s.expected.removedFields ?? []).length > 0);
    // Every row where VAPH gets DmfA or DIMONA.
    expect(stating.map((s) => s.number)).toEqual([1, 2, 3]);
    for (const s of stating) {
      const input = s.send.kind === 'request' ? s.send.input : null;
      const decision = decideAuthorization(realIndex(), {
        requester: s.requester,
        onBehalfOf: input?.onBehalfOf ?? null,
        service: s.service,
        requestedBlocks: input?.requestedBlocks ?? null,
        date: TODAY,
      });
      if (!decision.ok) throw new Error(`#${s.number}: ${decision.refusal.code}`);
      for (const field of s.expected.removedFields ?? []) {
        const block = service(s.service).blocks.get(fieldBlock(field));
        expect(block, field).toBeDefined();
        expect([...(block?.keyFields ?? []), ...(block?.fields ?? [])], field).toContain(fieldName(field));
        const granted = decision.grantedFields[fieldBlock(field)];
        expect(Array.isArray(granted), field).toBe(true);
        expect(granted, field).not.toContain(fieldName(field));
      }
    }
    // What VAPH keeps of the natural person (90017) and of the DIMONA worker.
    expect(scenario(2).expected.removedFields).not.toContain('dmfa.natural-person.niss');
    expect(scenario(2).expected.removedFields).not.toContain('dmfa.natural-person.sequenceNumber');
    expect(scenario(2).expected.removedFields).toContain('dmfa.natural-person.lastName');
    expect(scenario(3).expected.removedFields).toContain('dimona.worker.lastName');
  });

  it('a quarter not over yet has no list: NO_DATA expected', () => {
    const lists = quarterlyListExpectations('2025-10-15');
    expect(lists.map((q) => q.status)).toEqual(['OK', 'OK', 'OK', 'OK', 'OK', 'OK', 'OK', 'NO_DATA']);
    expect(lists.at(-1)?.entries).toBe(0);
  });
});

describe('the changes', () => {
  const watched = scenarios.filter((s) => s.send.kind === 'mutation');
  const population = createSyntheticPopulation();
  const now = Date.parse(`${TODAY}T12:00:00.000Z`);
  const lines: Integration[] = SAMPLE_DIRECTORY.map((s) => ({
    niss: s.niss,
    institution: s.institution,
    capacity: s.capacity,
    phase: s.phase,
    period: { from: s.from, to: s.to },
    ...(s.employer === null ? {} : { employer: s.employer }),
    updatedAt: `${TODAY}T00:00:00.000Z`,
  }));

  it('the subscribers are watched after the requests, under their own section', () => {
    expect(watched.map((s) => s.number)).toEqual([21, 22, 23, 24, 25, 26, 27, 28, 29]);
    for (const s of watched) expect(s.section).toBe(MUTATIONS_SECTION);
    expect(demoChanges(scenarios).map((c) => [c.key, c.kind])).toEqual([
      ['assistant-supermarket-out', 'dimona-out'],
      ['assistant-budget-holder-out', 'dimona-out'],
      ['assistant-address', 'address'],
      ['care-worker-dmfa-correction', 'dmfa-correction'],
      ['care-worker-care-home-out', 'dimona-out'],
    ]);
  });

  it('expect what the switch’s routing decides on the sample directory and the real deliberations', () => {
    const rules = { catalogue: realCatalogue(), authorizations: realIndex() };
    for (const s of watched) {
      if (s.send.kind !== 'mutation') continue;
      const { change } = s.send;
      const simulated = simulatedMutation(change.kind, population, {
        now,
        niss: change.subject.niss,
        ...(change.employer === null ? {} : { employer: change.employer }),
        ...(change.effectiveDate === null ? {} : { effectiveDate: change.effectiveDate }),
      });
      const { record } = simulated;
      const route = routeMutation(
        { service: record.service, subjectNiss: record.subjectNiss, employer: record.employer && { kind: record.employer.kind, id: record.employer.id }, effectiveDate: record.effectiveDate },
        lines,
        rules,
        TODAY,
      );
      // A relayed subscriber (VAPH) receives on its relay's topic (MAGDA's): the delivery names both.
      const delivery = route.deliveries.find((d) => d.institution === (s.beneficiary ?? s.requester) && (d.via ?? d.institution) === s.requester);
      if (s.expected.status === NOTHING) {
        expect(delivery, `#${s.number}`).toBeUndefined();
        continue;
      }
      expect(delivery, `#${s.number}`).toBeDefined();
      const content = mutationContent(rules.catalogue.services.get(record.service)!, delivery!, record.payload);
      expect(content.form, `#${s.number}`).toBe(s.expected.status);
      expect(content.deliveredBlocks, `#${s.number}`).toEqual(expect.arrayContaining([...(s.expected.delivered ?? [])]));
      // The fields expected withheld, exactly, in the blocks they name.
      const expectedFields = s.expected.removedFields ?? [];
      const blocks = new Set(expectedFields.map(fieldBlock));
      expect(content.removedFields.filter((f) => blocks.has(fieldBlock(f))), `#${s.number}`).toEqual(expectedFields);
    }
    // The DIMONA changes VAPH and IRISCARE receive tell the worker by NISS only.
    expect(watched.filter((s) => (s.expected.removedFields ?? []).includes('dimona.worker.lastName')).map((s) => s.number)).toEqual([22, 28]);
  });

  it('each “nothing” is decided by the time a delivery of the same person and source arrives', () => {
    // Published in this order, one partition per person and source: an earlier change is decided first.
    const changes = demoChanges(scenarios);
    const sourceOf = (kind: string) => (kind === 'address' ? 'bcss-registers' : 'onss');
    changes.forEach((change, i) => {
      const delivered = (key: string) => watched.some((s) => s.send.kind === 'mutation' && s.send.change.key === key && s.expected.status !== NOTHING);
      if (delivered(change.key)) return;
      const later = changes.slice(i + 1).find((c) => c.subject.niss === change.subject.niss && sourceOf(c.kind) === sourceOf(change.kind) && delivered(c.key));
      expect(later, change.key).toBeDefined();
    });
  });

  it('a change received where nothing should come, or not received where it should, differs', () => {
    const nothing = watched.find((s) => s.expected.status === NOTHING) as DemoScenario;
    const blocks = watched.find((s) => s.expected.status === 'BLOCKS') as DemoScenario;
    expect(compareOutcome(nothing, outcome({ status: 'BLOCKS' })).differences).toEqual(['expected NOTHING, got BLOCKS']);
    expect(compareOutcome(blocks, outcome({ status: NOTHING, error: 'nothing within 20 s' })).differences).toEqual([
      'expected BLOCKS, got NOTHING (nothing within 20 s)',
    ]);
    expect(compareOutcome(blocks, outcome({ status: 'BLOCKS ×2', deliveredBlocks: ['dimona.occupation'] })).asExpected).toBe(false);
  });
});

describe('compareOutcome', () => {
  it('accepts the outcomes the scenarios expect', () => {
    expect(results().filter((r) => !r.verdict.asExpected)).toEqual([]);
    expect(allAsExpected(results())).toBe(true);
  });

  it('names a status other than the expected one, with the reason there was no reply', () => {
    const verdict = compareOutcome(scenario(10), outcome({ status: NO_REPLY, error: 'no reply within 45000 ms' }));
    expect(verdict).toEqual({ asExpected: false, differences: ['expected NOT_INTEGRATED, got NO_REPLY (no reply within 45000 ms)'] });
  });

  it('names a block that should have been delivered or withheld and was not', () => {
    const withheld = scenario(1).expected.removedFields ?? [];
    const verdict = compareOutcome(scenario(1), outcome({ deliveredBlocks: ['dmfa.remuneration', 'dmfa.service'], removedBlocks: [], removedFields: withheld }));
    expect(verdict.differences).toEqual(['dmfa.service not withheld']);
    expect(compareOutcome(scenario(5), outcome({ deliveredBlocks: ['identification.name'] })).differences).toEqual(['identification.decease not delivered']);
  });

  it('withheld fields: each expected one withheld and holding no value, no other of those blocks withheld', () => {
    const natural = scenario(2);
    const expected = natural.expected.removedFields ?? [];
    const base = { deliveredBlocks: ['dmfa.natural-person'], presentFields: ['dmfa.natural-person.sequenceNumber', 'dmfa.natural-person.niss'] };
    expect(compareOutcome(natural, outcome({ ...base, removedFields: expected })).asExpected).toBe(true);
    // Fields of other blocks are not the scenario's business.
    expect(compareOutcome(natural, outcome({ ...base, removedFields: [...expected, 'dmfa.occupation.daysPerWeek'] })).asExpected).toBe(true);
    // A regression that lets the name through: neither reported withheld nor null.
    const leaked = outcome({
      ...base,
      removedFields: expected.filter((f) => !f.endsWith('.lastName') && !f.endsWith('.firstName')),
      presentFields: [...base.presentFields, 'dmfa.natural-person.lastName', 'dmfa.natural-person.firstName'],
    });
    expect(compareOutcome(natural, leaked).differences).toEqual([
      'not withheld: dmfa.natural-person: lastName, firstName',
      'delivered with a value: dmfa.natural-person: lastName, firstName',
    ]);
    // The switch says it withheld the name, but the payload holds it.
    expect(compareOutcome(natural, outcome({ ...base, removedFields: expected, presentFields: ['dmfa.natural-person.lastName'] })).differences).toEqual([
      'delivered with a value: dmfa.natural-person: lastName',
    ]);
    // Too much withheld: the NISS VAPH may read.
    expect(compareOutcome(natural, outcome({ ...base, removedFields: ['dmfa.natural-person.niss', ...expected] })).differences).toEqual([
      'withheld, not expected: dmfa.natural-person: niss',
    ]);
    // Not compared on another status: that difference says it all.
    expect(compareOutcome(natural, outcome({ status: 'NO_DATA' })).differences).toEqual(['expected OK, got NO_DATA']);
  });

  it('withheld fields of a change are compared as those of a reply', () => {
    const change = scenario(22);
    const expected = change.expected.removedFields ?? [];
    const received = outcome({ status: 'BLOCKS', deliveredBlocks: ['dimona.occupation'], removedFields: [...expected, 'dimona.employer.languageCode'] });
    expect(compareOutcome(change, received).asExpected).toBe(true);
    expect(compareOutcome(change, { ...received, removedFields: expected.filter((f) => f !== 'dimona.worker.birthDate') }).differences).toEqual([
      'not withheld: dimona.worker: birthDate',
    ]);
  });

  it('NISS_REPLACED must carry the new number', () => {
    const verdict = compareOutcome(scenario(8), outcome({ status: 'NISS_REPLACED', newNiss: null }));
    expect(verdict.differences).toEqual([`expected the new NISS ${maskNiss(SIMULATED.replacingNiss)}, got none`]);
  });

  it('the lists: each quarter’s status, the number of entries, none outside its quarter and none of a minor', () => {
    const lists = scenario(9);
    const base = expectedOutcome(lists);
    const wrong = outcome({
      ...base,
      lists: { statuses: ['OK', 'OK', 'SOURCE_TIMEOUT', 'OK', 'OK', 'OK', 'OK'], delivered: 14_000, removed: 700, outsideQuarter: 3, underage: 2 },
    });
    expect(compareOutcome(lists, wrong).differences).toEqual([
      '2024Q3: expected OK, got SOURCE_TIMEOUT',
      '2025Q4: expected OK, got NO_REPLY',
      'expected 15998 entries delivered, got 14000',
      '3 entries delivered outside their quarter',
      '2 entries delivered of persons under 18 when their incapacity began',
    ]);
  });

  it('the lists: quarters that differ the same way in one sentence, with the reason there was no reply', () => {
    const lists = scenario(9);
    const none = outcome({
      status: NO_REPLY,
      error: 'no reply within 5 s',
      lists: { statuses: Array(8).fill(NO_REPLY), delivered: 0, removed: 0, outsideQuarter: 0, underage: 0 },
    });
    expect(compareOutcome(lists, none).differences).toEqual([
      '2024Q1, 2024Q2, 2024Q3, 2024Q4, 2025Q1, 2025Q2, 2025Q3, 2025Q4: expected OK, got NO_REPLY (no reply within 5 s)',
      'expected 15998 entries delivered, got 0',
    ]);
  });

  it('an empty run is not a successful one', () => {
    expect(allAsExpected([])).toBe(false);
  });
});

describe('cells', () => {
  it('masks the NISS but its last three digits, next to the person’s role', () => {
    expect(maskNiss('88031412464')).toBe('********464');
    expect(subjectCell(scenario(1))).toBe('PAB assistant ********464');
    expect(subjectCell(scenario(9))).toBe('no person: 8 quarterly lists');
    expect(subjectCell(scenario(18))).toBe('—');
    expect(subjectCell(scenario(16))).toBe('no person');
  });

  it('blocks without the service prefix, by count when the list is long, naming those the scenario is about', () => {
    expect(shortBlockId('dmfa.employer-declaration')).toBe('employer-declaration');
    expect(blockList([])).toBe('—');
    expect(blockList(['dimona.worker', 'dimona.occupation'])).toBe('worker, occupation');
    const seven = ['dmfa.employer-declaration', 'dmfa.declaration-status', 'dmfa.natural-person', 'dmfa.worker-record', 'dmfa.occupation', 'dmfa.remuneration', 'dmfa.worker-contribution'];
    expect(blockList(seven)).toBe('7 blocks');
    expect(blockList(seven, ['dmfa.remuneration', 'dmfa.service'])).toBe('7 blocks incl. remuneration');
  });

  it('requester: the relay and its beneficiary; the consultation application an institution asks through', () => {
    expect(requesterCell(scenario(1))).toBe('magda → vaph');
    expect(requesterCell(scenario(4))).toBe('iriscare');
    expect(requesterCell(scenario(5))).toBe('onva (DOLSIS)');
    // ONVA on its own replies topic: refused CONSULTATION_ONLY.
    expect(requesterCell(scenario(20))).toBe('onva');
  });

  it('changes: what was received, and the change in a few words', () => {
    expect(formCell(outcome({ status: NOTHING }))).toBe('nothing');
    expect(formCell(outcome({ status: 'BLOCKS' }))).toBe('BLOCKS');
    expect(mutationCell(scenario(22))).toBe('DIMONA out, budget holder');
    expect(mutationCell(scenario(27))).toBe('DmfA 2025Q4 corrected, care home');
    expect(mutationCell(scenario(1))).toBe('—');
  });

  it('outcome: the status and the BCSS code it mirrors; the lists by status', () => {
    expect(outcomeCell(outcome({ status: 'NOT_INTEGRATED', bcssCode: '-300020' }))).toBe('NOT_INTEGRATED -300020');
    expect(outcomeCell(outcome({ status: NO_REPLY }))).toBe('no reply');
    const lists = expectedOutcome(scenario(9));
    expect(outcomeCell(lists)).toBe('OK ×8');
    expect(blocksCell(scenario(9), lists)).toBe('15,998 entries / 802 withheld (800 outside their quarter, 2 under 18)');
    // Another count than the lists let expect is not explained.
    expect(blocksCell(scenario(9), { ...lists, lists: { ...lists.lists!, delivered: 16_000, removed: 800 } })).toBe('16,000 entries / 800 withheld');
    expect(blocksCell(scenario(8), outcome({ status: 'NISS_REPLACED', newNiss: SIMULATED.replacingNiss }))).toBe(`new NISS ${maskNiss(SIMULATED.replacingNiss)}`);
  });

  it('fields: the block is all but the last dotted part; grouped by block in the order they come', () => {
    expect(fieldBlock('dmfa.natural-person.lastName')).toBe('dmfa.natural-person');
    expect(fieldName('dmfa.natural-person.lastName')).toBe('lastName');
    expect(groupedFields(['dmfa.natural-person.lastName', 'dimona.worker.gender', 'dmfa.natural-person.firstName'])).toBe(
      'dmfa.natural-person: lastName, firstName; dimona.worker: gender',
    );
  });

  it('withheld fields by block: a few names then the count, the expected blocks first, the rest of the line counted', () => {
    expect(withheldFields([])).toBe('—');
    expect(withheldFields(['dimona.worker.lastName', 'dimona.worker.firstName'])).toBe('dimona.worker: lastName, firstName');
    const person = ['lastName', 'firstName', 'birthDate', 'birthPlace', 'gender', 'address', 'nationality', 'oriolusValidation'].map((f) => `dmfa.natural-person.${f}`);
    expect(withheldFields(person)).toBe('dmfa.natural-person: lastName, firstName, birthDate, … (8)');
    const four = person.slice(0, 4);
    expect(withheldFields(four)).toBe('dmfa.natural-person: lastName, firstName, birthDate, birthPlace');
    const declaration = ['dmfa.employer-declaration.curatorship', 'dmfa.employer-declaration.netAmountDue'];
    expect(withheldFields([...declaration, ...person], person)).toBe(
      'dmfa.natural-person: lastName, firstName, birthDate, … (8); dmfa.employer-declaration: curatorship, netAmountDue',
    );
    // Beyond the line's width, the blocks are counted.
    const many = Array.from({ length: 12 }, (_, i) => [`dmfa.block-${i}.firstField`, `dmfa.block-${i}.secondField`]).flat();
    const text = withheldFields(many);
    expect(text).toMatch(/^dmfa\.block-0: firstField, secondField; .*; \d+ more blocks \(\d+ fields\)$/);
    expect(text.length).toBeLessThan(200);
    // A last block as short as its count is named instead.
    const long = Array.from({ length: 2 }, (_, i) => [1, 2, 3, 4, 5].map((n) => `dmfa.long-block-${i}.someFieldName${n}`)).flat();
    expect(withheldFields([...long, 'dimona.occupation.partialEntity'])).toMatch(/; dimona\.occupation: partialEntity$/);
    expect(withheldFields([...long, 'dimona.occupation.partialEntity', 'dimona.worker.gender'])).toMatch(/; 2 more blocks \(2 fields\)$/);
    expect(withheldFieldsLine(scenario(2), outcome({ removedFields: person }))).toBe('withheld fields (8): dmfa.natural-person: lastName, firstName, birthDate, … (8)');
    expect(withheldFieldsLine(scenario(2), outcome())).toBeNull();
  });

  it('present fields: those holding a value in the payload, in catalogue order, whatever the switch reports', () => {
    const payload = {
      niss: '88031412464',
      employerDeclarations: [
        {
          quarter: '2024Q1',
          onssNumber: '0100012300',
          enterpriseNumber: null,
          naturalPersons: [{ sequenceNumber: 1, niss: '88031412464', lastName: null, firstName: 'Sofie', workerRecords: [{ workerCode: '015', occupations: [] }] }],
        },
        { quarter: '2024Q2', onssNumber: '0100012300', naturalPersons: [{ sequenceNumber: 1, niss: null, lastName: 'Maes' }] },
      ],
    };
    expect(presentFieldsOf(service('dmfa'), payload)).toEqual([
      'dmfa.employer-declaration.quarter',
      'dmfa.employer-declaration.onssNumber',
      'dmfa.natural-person.sequenceNumber',
      'dmfa.natural-person.niss',
      'dmfa.natural-person.lastName',
      'dmfa.natural-person.firstName',
      'dmfa.worker-record.workerCode',
    ]);
    expect(presentFieldsOf(service('dmfa'), null)).toEqual([]);
  });
});

describe('renderTable', () => {
  const text = renderTable(results());
  const lines = text.trimEnd().split('\n');

  const headers = lines.flatMap((l, i) => (l.startsWith('# ') ? [i] : []));

  it('has the header, a line per section and one row per scenario; the changes in a table of their own', () => {
    expect(headers).toHaveLength(2);
    expect(lines[0]).toMatch(/^#\s+requester \(→ beneficiary\)\s+service\s+subject\s+outcome\s+delivered \/ removed blocks\s+effective period\s+expected\s+scenario$/);
    expect(lines[headers[1] as number]).toMatch(/^#\s+mutation\s+subject\s+subscriber\s+form\s+delivered \/ removed blocks\s+expected\s+why$/);
    expect(lines[(headers[1] as number) - 1]).toBe('');
    expect(lines.filter((l) => l.startsWith('── ')).map((l) => l.replace(/ ─+$/, ''))).toEqual([
      '── VAPH through MAGDA — 10/012 (personal assistance budget)',
      '── IRISCARE — 19/104 (financing of care homes)',
      '── ONVA inspection through DOLSIS — 19/010 (annual holidays; consultation only, §37)',
      '── INAMI → ONSS — 22/046 (quarterly list of entries into invalidity)',
      '── Refusals',
      `── ${MUTATIONS_SECTION}`,
    ]);
    expect(lines.filter((l) => /^\d+\s/.test(l))).toHaveLength(scenarios.length);
    expect(lines.slice(headers[1]).filter((l) => /^\d+\s/.test(l))).toHaveLength(9);
  });

  it('under a row whose delivered blocks lost fields, a line names them from the second column', () => {
    const under = (number: number) => lines[lines.findIndex((l) => l.startsWith(`${number} `)) + 1] ?? '';
    const indent = [...(lines[0] ?? '')].join('').indexOf('requester');
    expect(under(1)).toBe(`${' '.repeat(indent)}withheld fields (8): dmfa.natural-person: lastName, firstName, birthDate, … (8)`);
    expect(under(2)).toBe(`${' '.repeat(indent)}withheld fields (8): dmfa.natural-person: lastName, firstName, birthDate, … (8)`);
    expect(under(3)).toBe(`${' '.repeat(indent)}withheld fields (6): dimona.worker: oriolusValidation, lastName, firstName, … (6)`);
    expect(under(5)).toMatch(/^6\s/);
    // The changes' table: under the row, from its second column too.
    const mutationIndent = [...(lines[headers[1] as number] ?? '')].join('').indexOf('mutation');
    expect(under(22)).toBe(`${' '.repeat(mutationIndent)}withheld fields (6): dimona.worker: oriolusValidation, lastName, firstName, … (6)`);
    expect(lines.filter((l) => l.trimStart().startsWith('withheld fields'))).toHaveLength(5);
  });

  it('keeps the columns aligned: the verdict of every row under its table header’s "expected"', () => {
    headers.forEach((header, i) => {
      const at = [...(lines[header] ?? '')].join('').indexOf('expected');
      const rows = lines.slice(header, headers[i + 1]).filter((l) => /^\d+\s/.test(l));
      expect(rows.length).toBeGreaterThan(0);
      for (const row of rows) expect([...row][at]).toBe('✓');
    });
  });

  it('a change row: what changed, about whom, who was watched, what came', () => {
    const row = lines.find((l) => l.startsWith('22 ')) ?? '';
    expect(row).toMatch(
      /^22\s+DIMONA out, budget holder\s+PAB assistant \*{8}464\s+magda → vaph\s+BLOCKS\s+occupation \/ —\s+✓\s+10\/012 §10: DIMONA changes through MAGDA, the worker by NISS only$/,
    );
    expect(lines.find((l) => l.startsWith('23 '))).toMatch(/^23\s+DIMONA out, budget holder\s+PAB assistant \*{8}464\s+onva\s+nothing\s+—\s+✓\s+ONVA never integrated the assistant$/);
  });

  it('never prints a whole NISS', () => {
    for (const niss of Object.values(SIMULATED)) expect(text).not.toContain(niss);
  });

  it('marks a differing row ✗', () => {
    const differing = renderTable(results((s) => (s.number === 11 ? { status: 'OK' } : {})));
    const row = differing.split('\n').find((l) => l.startsWith('11 '));
    expect(row).toContain('✗');
  });
});

describe('renderSummary, gatewayLine, renderJson', () => {
  it('all as expected: the count and the timings', () => {
    expect(renderSummary(report(results()))).toBe(
      'All 29 outcomes as expected.\n' +
        'Timings: setup 0.9 s, single requests 0.2 s, mutations 2.4 s (5 changes, at the same time), quarterly lists 1.5 s (15,998 entries), ' +
        'teardown 1.0 s; total 3.6 s.\n' +
        'Logs of the switch and the clients: .stack/logs/demo.log\n',
    );
  });

  it('lists every difference with its scenario', () => {
    const summary = renderSummary(report(results((s) => (s.number === 15 ? { status: 'OK' } : {}))));
    expect(summary).toContain('1 of 29 outcomes differ from what was expected:\n');
    expect(summary).toContain('  #15 (purpose 19/104@v1, a version no longer in force): expected AUTHORIZATION_NOT_IN_FORCE, got OK\n');
  });

  it('the first line says which switch answers', () => {
    expect(gatewayLine({ kind: 'running', pid: 4242, topicPrefix: 'bcss', simulators: true })).toBe(
      'Using the gateway of the running `npm start` (pid 4242, topic prefix bcss).',
    );
    expect(gatewayLine({ kind: 'running', pid: 1, topicPrefix: 'bcss', simulators: false })).toContain('WITHOUT the source simulators');
    expect(gatewayLine({ kind: 'own', topicPrefix: 'bcss', startedStack: false })).toMatch(/^No gateway running: this run starts its own .* and stops it after/);
  });

  it('JSON: every scenario with its expectation, outcome and verdict; the numbers masked', () => {
    const json = renderJson(report(results()));
    for (const niss of Object.values(SIMULATED)) expect(json).not.toContain(niss);
    const parsed = JSON.parse(json) as { asExpected: boolean; scenarios: Array<{ number: number; asExpected: boolean; subject: { niss: string } | null }> };
    expect(parsed.asExpected).toBe(true);
    expect(parsed.scenarios).toHaveLength(29);
    expect(parsed.scenarios[0]?.subject?.niss).toBe('********464');
    expect(parsed.scenarios[1]).toMatchObject({
      number: 2,
      expected: { removedFields: expect.arrayContaining(['dmfa.natural-person.lastName']) },
      outcome: { removedFields: expect.arrayContaining(['dmfa.natural-person.lastName']) },
    });
    // Through ONVA's consultation application, and (the refusal) not.
    expect(parsed.scenarios[4]).toMatchObject({ number: 5, requester: 'onva', consultation: 'DOLSIS' });
    expect(parsed.scenarios[19]).toMatchObject({ number: 20, requester: 'onva', expected: { status: 'CONSULTATION_ONLY' } });
    expect(parsed.scenarios[19]).not.toHaveProperty('consultation');
    expect(parsed.scenarios[21]).toMatchObject({
      number: 22,
      asExpected: true,
      change: { kind: 'dimona-out', label: 'DIMONA out, budget holder', effectiveDate: TODAY },
    });
  });
});
