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
  renderSummary,
  renderTable,
  shortBlockId,
  subjectCell,
  type DemoReport,
  type DemoResult,
} from '../../src/demo/demo-table.js';
import {
  compareOutcome,
  demoChanges,
  demoScenarios,
  maskNiss,
  MUTATIONS_SECTION,
  NO_REPLY,
  NOTHING,
  quarterlyListExpectations,
  type DemoOutcome,
  type DemoScenario,
} from '../../src/demo/scenarios.js';
import type { Integration } from '../../src/domain/directory.js';
import { mutationContent, routeMutation } from '../../src/domain/mutation-routing.js';
import { isRefusalCode } from '../../src/domain/refusal-codes.js';
import { simulatedMutation } from '../../src/sources/mutation-simulator.js';
import { SAMPLE_DIRECTORY } from '../../src/sources/sample-directory.js';
import { createSyntheticPopulation, SIMULATED } from '../../src/sources/synthetic-population.js';
import { realCatalogue, realIndex } from './support/gateway-config.js';

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
      },
    });
  }
  if (s.send.kind === 'mutation') {
    return outcome({ status: s.expected.status, deliveredBlocks: [...(s.expected.delivered ?? [])], effectivePeriods: [] });
  }
  return outcome({
    status: s.expected.status,
    bcssCode: s.expected.status === 'NOT_INTEGRATED' ? '-300020' : null,
    newNiss: s.expected.newNiss ?? null,
    deliveredBlocks: [...(s.expected.delivered ?? [])],
    removedBlocks: [...(s.expected.removed ?? [])],
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
      ['magda', 'dimona', 'OK'],
      ['iriscare', 'dmfa', 'OK'],
      ['onva', 'identification', 'OK'],
      ['onva', 'dmfa', 'OK'],
      ['onva', 'identification', 'NISS_REPLACED'],
      ['onss', 'inami-invalidity-entries', 'OK'],
      ['magda', 'dmfa', 'NOT_INTEGRATED'],
      ['magda', 'dmfa', 'NOT_INTEGRATED_FOR_PERIOD'],
      ['magda', 'dmfa', 'EMPLOYER_NOT_INTEGRATED'],
      ['magda', 'dmfa', 'NOT_AUTHORIZED'],
      ['iriscare', 'dmfa', 'AUTHORIZATION_NOT_IN_FORCE'],
      ['vaph', 'dmfa', 'SENDER_MISMATCH'],
      ['vaph', '', 'INVALID_MESSAGE'],
      ['magda', 'dmfa', 'SOURCE_ERROR'],
      ['vaph', 'dimona', NOTHING],
      ['vaph', 'dimona', 'BLOCKS'],
      ['onva', 'dimona', NOTHING],
      ['iriscare', 'dimona', NOTHING],
      ['vaph', 'identification', 'BLOCKS'],
      ['iriscare', 'identification', NOTHING],
      ['iriscare', 'dmfa', NOTHING],
      ['iriscare', 'dimona', 'BLOCKS'],
      ['vaph', 'dimona', NOTHING],
    ]);
    for (const s of scenarios) {
      if (s.send.kind === 'mutation') expect(['BLOCKS', 'NOTIFICATION', NOTHING]).toContain(s.expected.status);
      else expect(s.expected.status === 'OK' || isRefusalCode(s.expected.status)).toBe(true);
    }
  });

  it('VAPH asks only through MAGDA, on its own behalf (10/012 §9)', () => {
    const forVaph = scenarios.filter((s) => s.beneficiary === 'vaph');
    expect(forVaph.length).toBeGreaterThan(0);
    for (const s of forVaph) {
      expect(s.requester).toBe('magda');
      expect(s.send.kind === 'request' && s.send.input.onBehalfOf).toBe('vaph');
    }
  });

  it('every checked request passes the client library’s own checks, as its requester', () => {
    for (const s of scenarios) {
      const inputs = s.send.kind === 'request' ? [s.send.input] : s.send.kind === 'quarterly-lists' ? s.send.quarters.map((q) => q.input) : [];
      for (const input of inputs) expect(() => buildRequest(input, { requester: s.requester })).not.toThrow();
    }
  });

  it('the spoofed request names iriscare while vaph sends it; the replaced BIS number expects the new NISS', () => {
    const spoofed = scenario(13);
    expect(spoofed.requester).toBe('vaph');
    expect(spoofed.send.kind === 'raw' && spoofed.send.record.requester).toBe('iriscare');
    expect(scenario(6).expected.newNiss).toBe(SIMULATED.replacingNiss);
  });

  it('the quarterly lists: 2024 and 2025, 2,000 entries a quarter, about 5 % more listed from neighbouring quarters', () => {
    const lists = quarterlyListExpectations(TODAY);
    expect(lists.map((q) => q.quarter)).toEqual(['2024Q1', '2024Q2', '2024Q3', '2024Q4', '2025Q1', '2025Q2', '2025Q3', '2025Q4']);
    for (const q of lists) {
      expect(q.status).toBe('OK');
      expect(q.entries).toBe(2_000);
      expect(q.listed).toBe(2_100);
    }
    expect(scenario(7).expected.entries).toBe(16_000);
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
    expect(watched.map((s) => s.number)).toEqual([16, 17, 18, 19, 20, 21, 22, 23, 24]);
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
      const delivery = route.deliveries.find((d) => d.institution === s.requester);
      if (s.expected.status === NOTHING) {
        expect(delivery, `#${s.number}`).toBeUndefined();
        continue;
      }
      expect(delivery, `#${s.number}`).toBeDefined();
      const content = mutationContent(rules.catalogue.services.get(record.service)!, delivery!, record.payload);
      expect(content.form, `#${s.number}`).toBe(s.expected.status);
      expect(content.deliveredBlocks, `#${s.number}`).toEqual(expect.arrayContaining([...(s.expected.delivered ?? [])]));
    }
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
    const verdict = compareOutcome(scenario(8), outcome({ status: NO_REPLY, error: 'no reply within 45000 ms' }));
    expect(verdict).toEqual({ asExpected: false, differences: ['expected NOT_INTEGRATED, got NO_REPLY (no reply within 45000 ms)'] });
  });

  it('names a block that should have been delivered or withheld and was not', () => {
    const verdict = compareOutcome(scenario(1), outcome({ deliveredBlocks: ['dmfa.remuneration', 'dmfa.service'], removedBlocks: [] }));
    expect(verdict.differences).toEqual(['dmfa.service not withheld']);
    expect(compareOutcome(scenario(4), outcome({ deliveredBlocks: ['identification.name'] })).differences).toEqual(['identification.decease not delivered']);
  });

  it('NISS_REPLACED must carry the new number', () => {
    const verdict = compareOutcome(scenario(6), outcome({ status: 'NISS_REPLACED', newNiss: null }));
    expect(verdict.differences).toEqual([`expected the new NISS ${maskNiss(SIMULATED.replacingNiss)}, got none`]);
  });

  it('the lists: each quarter’s status, the number of entries, and none outside its quarter', () => {
    const lists = scenario(7);
    const base = expectedOutcome(lists);
    const wrong = outcome({
      ...base,
      lists: { statuses: ['OK', 'OK', 'SOURCE_TIMEOUT', 'OK', 'OK', 'OK', 'OK'], delivered: 14_000, removed: 700, outsideQuarter: 3 },
    });
    expect(compareOutcome(lists, wrong).differences).toEqual([
      '2024Q3: expected OK, got SOURCE_TIMEOUT',
      '2025Q4: expected OK, got NO_REPLY',
      'expected 16000 entries delivered, got 14000',
      '3 entries delivered outside their quarter',
    ]);
  });

  it('the lists: quarters that differ the same way in one sentence, with the reason there was no reply', () => {
    const lists = scenario(7);
    const none = outcome({ status: NO_REPLY, error: 'no reply within 5 s', lists: { statuses: Array(8).fill(NO_REPLY), delivered: 0, removed: 0, outsideQuarter: 0 } });
    expect(compareOutcome(lists, none).differences).toEqual([
      '2024Q1, 2024Q2, 2024Q3, 2024Q4, 2025Q1, 2025Q2, 2025Q3, 2025Q4: expected OK, got NO_REPLY (no reply within 5 s)',
      'expected 16000 entries delivered, got 0',
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
    expect(subjectCell(scenario(7))).toBe('no person: 8 quarterly lists');
    expect(subjectCell(scenario(14))).toBe('—');
  });

  it('blocks without the service prefix, by count when the list is long, naming those the scenario is about', () => {
    expect(shortBlockId('dmfa.employer-declaration')).toBe('employer-declaration');
    expect(blockList([])).toBe('—');
    expect(blockList(['dimona.worker', 'dimona.occupation'])).toBe('worker, occupation');
    const seven = ['dmfa.employer-declaration', 'dmfa.declaration-status', 'dmfa.natural-person', 'dmfa.worker-record', 'dmfa.occupation', 'dmfa.remuneration', 'dmfa.worker-contribution'];
    expect(blockList(seven)).toBe('7 blocks');
    expect(blockList(seven, ['dmfa.remuneration', 'dmfa.service'])).toBe('7 blocks incl. remuneration');
  });

  it('changes: what was received, and the change in a few words', () => {
    expect(formCell(outcome({ status: NOTHING }))).toBe('nothing');
    expect(formCell(outcome({ status: 'BLOCKS' }))).toBe('BLOCKS');
    expect(mutationCell(scenario(17))).toBe('DIMONA out, budget holder');
    expect(mutationCell(scenario(22))).toBe('DmfA 2025Q4 corrected, care home');
    expect(mutationCell(scenario(1))).toBe('—');
  });

  it('outcome: the status and the BCSS code it mirrors; the lists by status', () => {
    expect(outcomeCell(outcome({ status: 'NOT_INTEGRATED', bcssCode: '-300020' }))).toBe('NOT_INTEGRATED -300020');
    expect(outcomeCell(outcome({ status: NO_REPLY }))).toBe('no reply');
    const lists = expectedOutcome(scenario(7));
    expect(outcomeCell(lists)).toBe('OK ×8');
    expect(blocksCell(scenario(7), lists)).toBe('16,000 entries / 800 outside their quarter');
    expect(blocksCell(scenario(6), outcome({ status: 'NISS_REPLACED', newNiss: SIMULATED.replacingNiss }))).toBe(`new NISS ${maskNiss(SIMULATED.replacingNiss)}`);
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
      '── ONVA inspection — 19/010 (annual holidays)',
      '── INAMI → ONSS — 22/046 (quarterly list of entries into invalidity)',
      '── Refusals',
      `── ${MUTATIONS_SECTION}`,
    ]);
    expect(lines.filter((l) => /^\d+\s/.test(l))).toHaveLength(scenarios.length);
    expect(lines.slice(headers[1]).filter((l) => /^\d+\s/.test(l))).toHaveLength(9);
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
    const row = lines.find((l) => l.startsWith('17 ')) ?? '';
    expect(row).toMatch(/^17\s+DIMONA out, budget holder\s+PAB assistant \*{8}464\s+vaph\s+BLOCKS\s+occupation \/ —\s+✓\s+10\/012 §10 pushes DIMONA changes as blocks$/);
    expect(lines.find((l) => l.startsWith('18 '))).toMatch(/^18\s+DIMONA out, budget holder\s+PAB assistant \*{8}464\s+onva\s+nothing\s+—\s+✓\s+ONVA never integrated the assistant$/);
  });

  it('never prints a whole NISS', () => {
    for (const niss of Object.values(SIMULATED)) expect(text).not.toContain(niss);
  });

  it('marks a differing row ✗', () => {
    const differing = renderTable(results((s) => (s.number === 9 ? { status: 'OK' } : {})));
    const row = differing.split('\n').find((l) => l.startsWith('9 '));
    expect(row).toContain('✗');
  });
});

describe('renderSummary, gatewayLine, renderJson', () => {
  it('all as expected: the count and the timings', () => {
    expect(renderSummary(report(results()))).toBe(
      'All 24 outcomes as expected.\n' +
        'Timings: setup 0.9 s, single requests 0.2 s, mutations 2.4 s (5 changes, at the same time), quarterly lists 1.5 s (16,000 entries), ' +
        'teardown 1.0 s; total 3.6 s.\n' +
        'Logs of the switch and the clients: .stack/logs/demo.log\n',
    );
  });

  it('lists every difference with its scenario', () => {
    const summary = renderSummary(report(results((s) => (s.number === 12 ? { status: 'OK' } : {}))));
    expect(summary).toContain('1 of 24 outcomes differ from what was expected:\n');
    expect(summary).toContain('  #12 (purpose 19/104@v1, a version no longer in force): expected AUTHORIZATION_NOT_IN_FORCE, got OK\n');
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
    expect(parsed.scenarios).toHaveLength(24);
    expect(parsed.scenarios[0]?.subject?.niss).toBe('********464');
    expect(parsed.scenarios[16]).toMatchObject({
      number: 17,
      asExpected: true,
      change: { kind: 'dimona-out', label: 'DIMONA out, budget holder', effectiveDate: TODAY },
    });
  });
});
