/**
 * The demo's results as a person reads them: one table row per scenario, grouped by deliberation, with
 * what was asked, what came back and whether it is what should have come back; then a table of the
 * changes the sources published, one row per change and subscriber; or the same as JSON. Under a row
 * whose delivered blocks lost fields (the deliberation does not name them), a line names those fields.
 * Pure: results in, text out. Plain text without colour, so that it reads the same in a terminal and in
 * a log file.
 */
import { formatPeriod } from '../client/reply-format.js';
import { hull } from '../domain/period.js';
import type { Period } from '../domain/types.js';
import { fieldBlock, fieldsByBlock, maskNiss, NO_REPLY, NOTHING, type DemoOutcome, type DemoScenario, type DemoVerdict } from './scenarios.js';

export interface DemoResult {
  readonly scenario: DemoScenario;
  readonly outcome: DemoOutcome;
  readonly verdict: DemoVerdict;
}

/** Which switch answered: the one `npm start` runs, or one this run started (and stopped). */
export type DemoGateway =
  | { readonly kind: 'running'; readonly pid: number; readonly topicPrefix: string; readonly simulators: boolean }
  | { readonly kind: 'own'; readonly topicPrefix: string; readonly startedStack: boolean };

export interface DemoTimings {
  /** Starting the switch (and the stack) or connecting to the running one, and the institutions' clients. */
  readonly setupMs: number;
  /** The single requests, sent together. */
  readonly requestsMs: number;
  /** The changes published and their deliveries awaited, while the single requests run. */
  readonly mutationsMs: number;
  /** The quarterly lists. */
  readonly listsMs: number;
  /** Closing the clients, and stopping what this run started. */
  readonly teardownMs: number;
  readonly totalMs: number;
}

export interface DemoReport {
  readonly gateway: DemoGateway;
  readonly results: readonly DemoResult[];
  readonly timings: DemoTimings;
  /** Where the switch's and the clients' logs went. */
  readonly logFile: string | null;
}

export function allAsExpected(results: readonly DemoResult[]): boolean {
  return results.length > 0 && results.every((r) => r.verdict.asExpected);
}

/** The first line of the demo: which switch it talks to. */
export function gatewayLine(gateway: DemoGateway): string {
  if (gateway.kind === 'running') {
    const simulators = gateway.simulators ? '' : ' — it runs WITHOUT the source simulators, so the answers of the sources will not come';
    return `Using the gateway of the running \`npm start\` (pid ${gateway.pid}, topic prefix ${gateway.topicPrefix})${simulators}.`;
  }
  return (
    `No gateway running: this run starts its own (topic prefix ${gateway.topicPrefix}) with the source simulators and the ` +
    'sample directory, and stops it after, with the local stack if it has to start it.'
  );
}

// ---------------------------------------------------------------------------------------------------
// Cells

const NONE = '—';
/** Longer lists of blocks are shown by their count. */
const BLOCK_LIST_WIDTH = 36;

/** `magda → vaph` for a relay; `onva (DOLSIS)` for a request through the institution's consultation application. */
export function requesterCell(scenario: DemoScenario): string {
  const requester = scenario.consultation === undefined ? scenario.requester : `${scenario.requester} (${scenario.consultation})`;
  return scenario.beneficiary === null ? requester : `${requester} → ${scenario.beneficiary}`;
}

export function serviceCell(scenario: DemoScenario): string {
  return scenario.service === '' ? NONE : scenario.service;
}

export function subjectCell(scenario: DemoScenario): string {
  if (scenario.subject !== null) return `${scenario.subject.role} ${maskNiss(scenario.subject.niss)}`;
  if (scenario.send.kind === 'quarterly-lists') return `no person: ${scenario.send.quarters.length} quarterly lists`;
  // A request about nobody (a list), as opposed to bytes that are no request at all.
  if (scenario.send.kind === 'request') return 'no person';
  return NONE;
}

function countsOf(statuses: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const s of statuses) counts.set(s, (counts.get(s) ?? 0) + 1);
  return [...counts].map(([status, n]) => `${status === NO_REPLY ? 'no reply' : status} ×${n}`).join(', ');
}

export function outcomeCell(outcome: DemoOutcome): string {
  if (outcome.lists) return countsOf(outcome.lists.statuses);
  if (outcome.status === NO_REPLY) return 'no reply';
  return outcome.bcssCode === null ? outcome.status : `${outcome.status} ${outcome.bcssCode}`;
}

/** Block ids without their service prefix: `dmfa.occupation` → `occupation`. */
export function shortBlockId(block: string): string {
  const dot = block.indexOf('.');
  return dot < 0 ? block : block.slice(dot + 1);
}

/** The blocks by name when short enough, else their count, naming those the scenario is about. */
export function blockList(blocks: readonly string[], highlight: readonly string[] = []): string {
  if (blocks.length === 0) return NONE;
  const names = blocks.map(shortBlockId).join(', ');
  if (names.length <= BLOCK_LIST_WIDTH) return names;
  const named = highlight.filter((b) => blocks.includes(b)).map(shortBlockId);
  const count = `${blocks.length} blocks`;
  return named.length === 0 ? count : `${count} incl. ${named.join(', ')}`;
}

const thousands = (n: number): string => n.toLocaleString('en-US');

/**
 * Why the lists' entries were withheld, when as many were as the source's lists let expect: those of the
 * neighbouring quarters, and those of minors (22/046 §1). Another count is not explained.
 */
function listsWithheldWhy(scenario: DemoScenario, outcome: DemoOutcome): string {
  if (scenario.send.kind !== 'quarterly-lists' || !outcome.lists) return '';
  const quarters = scenario.send.quarters;
  const outside = quarters.reduce((sum, q) => sum + q.listed - q.entries - q.underage, 0);
  const underage = quarters.reduce((sum, q) => sum + q.underage, 0);
  if (outcome.lists.removed !== outside + underage || outcome.lists.removed === 0) return '';
  const parts = [`${thousands(outside)} outside their quarter`, ...(underage > 0 ? [`${thousands(underage)} under 18`] : [])];
  return ` (${parts.join(', ')})`;
}

export function blocksCell(scenario: DemoScenario, outcome: DemoOutcome): string {
  if (outcome.lists) {
    return `${thousands(outcome.lists.delivered)} entries / ${thousands(outcome.lists.removed)} withheld${listsWithheldWhy(scenario, outcome)}`;
  }
  if (outcome.newNiss !== null) return `new NISS ${maskNiss(outcome.newNiss)}`;
  if (outcome.deliveredBlocks.length === 0 && outcome.removedBlocks.length === 0) return NONE;
  const delivered = blockList(outcome.deliveredBlocks, scenario.expected.delivered);
  const removed = blockList(outcome.removedBlocks, scenario.expected.removed);
  return `${delivered} / ${removed}`;
}

/** Field names shown per block before the rest are counted. */
const FIELDS_PER_BLOCK = 4;
/** The withheld fields' line, label excepted: blocks beyond it are counted. */
const FIELD_LINE_WIDTH = 150;

/**
 * The fields withheld from the delivered rows, by block (`dmfa.natural-person: lastName, firstName,
 * birthDate, … (8)`), the blocks the scenario expects first; blocks past the line's width counted.
 */
export function withheldFields(fields: readonly string[], expected: readonly string[] = []): string {
  if (fields.length === 0) return NONE;
  const named = new Set(expected.map(fieldBlock));
  const groups = [...fieldsByBlock(fields)].sort(([a], [b]) => Number(named.has(b)) - Number(named.has(a)));
  const parts: string[] = [];
  let used = 0;
  let shownBlocks = 0;
  for (const [i, [block, names]] of groups.entries()) {
    const list = names.length <= FIELDS_PER_BLOCK ? names.join(', ') : `${names.slice(0, FIELDS_PER_BLOCK - 1).join(', ')}, … (${names.length})`;
    const part = `${block}: ${list}`;
    // The last block is named when its count would take about as much room.
    const last = i === groups.length - 1 && width(part) <= width(moreBlocks(1, names.length)) + 12;
    if (shownBlocks > 0 && used + width(part) > FIELD_LINE_WIDTH && !last) break;
    parts.push(part);
    used += width(part) + 2;
    shownBlocks++;
  }
  const rest = groups.slice(shownBlocks);
  if (rest.length > 0) parts.push(moreBlocks(rest.length, rest.reduce((sum, [, names]) => sum + names.length, 0)));
  return parts.join('; ');
}

function moreBlocks(blocks: number, fields: number): string {
  return `${blocks} more block${blocks === 1 ? '' : 's'} (${fields} field${fields === 1 ? '' : 's'})`;
}

/** The line under a row whose delivered rows lost fields; null when none did. */
export function withheldFieldsLine(scenario: DemoScenario, outcome: DemoOutcome): string | null {
  if (outcome.removedFields.length === 0) return null;
  return `withheld fields (${outcome.removedFields.length}): ${withheldFields(outcome.removedFields, scenario.expected.removedFields)}`;
}

export function periodCell(scenario: DemoScenario, outcome: DemoOutcome): string {
  let periods: readonly Period[] = outcome.effectivePeriods;
  if (outcome.lists) {
    const covered = hull(outcome.effectivePeriods);
    periods = covered === null ? [] : [covered];
  }
  return periods.length === 0 ? NONE : periods.map(formatPeriod).join(', ');
}

export function verdictCell(verdict: DemoVerdict): string {
  return verdict.asExpected ? '✓' : '✗';
}

/** What a subscriber received of a change: its form, or nothing. */
export function formCell(outcome: DemoOutcome): string {
  return outcome.status === NOTHING ? 'nothing' : outcome.status;
}

/** The change in a few words; the scenario's own title says why the subscriber gets it or not. */
export function mutationCell(scenario: DemoScenario): string {
  return scenario.send.kind === 'mutation' ? scenario.send.change.label : NONE;
}

export function isMutationResult(result: DemoResult): boolean {
  return result.scenario.send.kind === 'mutation';
}

// ---------------------------------------------------------------------------------------------------
// Tables

const COLUMNS = ['#', 'requester (→ beneficiary)', 'service', 'subject', 'outcome', 'delivered / removed blocks', 'effective period', 'expected', 'scenario'];
const MUTATION_COLUMNS = ['#', 'mutation', 'subject', 'subscriber', 'form', 'delivered / removed blocks', 'expected', 'why'];
const GAP = '  ';

function mutationRow(result: DemoResult): string[] {
  const { scenario, outcome, verdict } = result;
  return [
    String(scenario.number),
    mutationCell(scenario),
    subjectCell(scenario),
    requesterCell(scenario),
    formCell(outcome),
    blocksCell(scenario, outcome),
    verdictCell(verdict),
    scenario.title,
  ];
}

function row(result: DemoResult): string[] {
  const { scenario, outcome, verdict } = result;
  return [
    String(scenario.number),
    requesterCell(scenario),
    serviceCell(scenario),
    subjectCell(scenario),
    outcomeCell(outcome),
    blocksCell(scenario, outcome),
    periodCell(scenario, outcome),
    verdictCell(verdict),
    scenario.title,
  ];
}

/** Characters as a terminal counts them (the arrows and ticks are one each). */
function width(text: string): number {
  return [...text].length;
}

function padEnd(text: string, to: number): string {
  return text + ' '.repeat(Math.max(0, to - width(text)));
}

/**
 * The requests' table, one line per scenario under a line per section, then (when there are any) the
 * changes' table with its own columns; the last column is not padded.
 */
export function renderTable(results: readonly DemoResult[]): string {
  const requests = results.filter((r) => !isMutationResult(r));
  const changes = results.filter(isMutationResult);
  const tables: string[] = [];
  if (requests.length > 0 || changes.length === 0) tables.push(renderColumns(COLUMNS, requests, row));
  if (changes.length > 0) tables.push(renderColumns(MUTATION_COLUMNS, changes, mutationRow));
  return tables.join('\n');
}

function renderColumns(columns: readonly string[], results: readonly DemoResult[], rowOf: (result: DemoResult) => string[]): string {
  const rows = results.map(rowOf);
  const widths = columns.map((title, i) => Math.max(width(title), ...rows.map((r) => width(r[i] ?? ''))));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : padEnd(cell, widths[i] ?? 0)))
      .join(GAP)
      .trimEnd();
  // As wide as the aligned columns and the last one's title: the scenarios' own text may run on.
  const ruleWidth = widths.slice(0, -1).reduce((sum, w) => sum + w + GAP.length, 0) + width(columns.at(-1) ?? '');
  const out = [line(columns), '─'.repeat(ruleWidth)];
  let section: string | null = null;
  results.forEach((result, i) => {
    if (result.scenario.section !== section) {
      section = result.scenario.section;
      if (i > 0) out.push('');
      out.push(`── ${section} ${'─'.repeat(Math.max(3, ruleWidth - width(section) - 4))}`);
    }
    out.push(line(rows[i] ?? []));
    // Under the row, from the second column: what the switch withheld inside the delivered blocks.
    const withheld = withheldFieldsLine(result.scenario, result.outcome);
    if (withheld !== null) out.push(`${' '.repeat((widths[0] ?? 0) + GAP.length)}${withheld}`);
  });
  return `${out.join('\n')}\n`;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** Under the table: the count, every difference, the timings. */
export function renderSummary(report: DemoReport): string {
  const { results, timings } = report;
  const differing = results.filter((r) => !r.verdict.asExpected);
  const lines: string[] = [];
  if (differing.length === 0) {
    lines.push(`All ${results.length} outcomes as expected.`);
  } else {
    lines.push(`${differing.length} of ${results.length} outcomes differ from what was expected:`);
    for (const r of differing) {
      for (const difference of r.verdict.differences) lines.push(`  #${r.scenario.number} (${r.scenario.title}): ${difference}`);
    }
  }
  const entries = results.reduce((sum, r) => sum + (r.outcome.lists?.delivered ?? 0), 0);
  const changes = new Set(results.flatMap((r) => (r.scenario.send.kind === 'mutation' ? [r.scenario.send.change.key] : []))).size;
  const mutations = changes === 0 ? '' : `, mutations ${seconds(timings.mutationsMs)} (${changes} changes, at the same time)`;
  lines.push(
    `Timings: setup ${seconds(timings.setupMs)}, single requests ${seconds(timings.requestsMs)}${mutations}, ` +
      `quarterly lists ${seconds(timings.listsMs)} (${thousands(entries)} entries), teardown ${seconds(timings.teardownMs)}; ` +
      `total ${seconds(timings.totalMs)}.`,
  );
  if (report.logFile !== null) lines.push(`Logs of the switch and the clients: ${report.logFile}`);
  return `${lines.join('\n')}\n`;
}

/** The report as JSON: the persons' numbers masked as in the table. */
export function renderJson(report: DemoReport): string {
  return `${JSON.stringify(
    {
      gateway: report.gateway,
      asExpected: allAsExpected(report.results),
      timings: report.timings,
      logFile: report.logFile,
      scenarios: report.results.map(({ scenario, outcome, verdict }) => ({
        number: scenario.number,
        section: scenario.section,
        title: scenario.title,
        requester: scenario.requester,
        ...(scenario.consultation === undefined ? {} : { consultation: scenario.consultation }),
        beneficiary: scenario.beneficiary,
        service: scenario.service || null,
        subject: scenario.subject === null ? null : { role: scenario.subject.role, niss: maskNiss(scenario.subject.niss) },
        ...(scenario.send.kind === 'mutation'
          ? {
              change: {
                kind: scenario.send.change.kind,
                label: scenario.send.change.label,
                employer: scenario.send.change.employer,
                effectiveDate: scenario.send.change.effectiveDate,
              },
            }
          : {}),
        expected: { ...scenario.expected, ...(scenario.expected.newNiss ? { newNiss: maskNiss(scenario.expected.newNiss) } : {}) },
        outcome: { ...outcome, newNiss: outcome.newNiss === null ? null : maskNiss(outcome.newNiss) },
        asExpected: verdict.asExpected,
        differences: verdict.differences,
      })),
    },
    null,
    2,
  )}\n`;
}
