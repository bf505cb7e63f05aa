/**
 * The audit trail as people read it. Pure: records in, text out; times and dates in, instants out.
 *
 * - The search report is for the data-protection officer answering a citizen: who consulted this
 *   person's data, when, for which purpose, under which deliberation. It names the person in full —
 *   it is the report the person asked for — and the blocks, never their content (the trail has none).
 * - The tail is an operator's screen: one line per record as it is written, the person's number
 *   masked but for its last digits.
 */
import { formatNiss } from '../domain/niss.js';
import type { PeriodRecord } from '../contract/exchange-records.js';
import type { IndexedSearchResult } from './audit-index.js';
import type { AuditEntry, AuditSearchResult } from './audit-search.js';

const NONE = '—';
const GAP = '  ';

// ---------------------------------------------------------------------------------------------------
// Times

/** `2025-03-14 09:26:53` (UTC): to the second, the way a person reads a log. */
export function formatInstant(epochMs: number): string {
  return new Date(epochMs).toISOString().replace('T', ' ').slice(0, 19);
}

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

/**
 * A bound of `--from` / `--to`: a day (`2025-03-14`, the whole day, UTC) or an instant in ISO 8601 with
 * its zone (`2025-03-14T09:00:00Z`, `2025-03-14T10:00+01:00`). A day as `to` ends at its last
 * millisecond, so that `--from 2025-01-01 --to 2025-01-31` is January. Both bounds are inclusive.
 */
export function parseTimeBound(text: string, bound: 'from' | 'to'): number {
  const value = text.trim();
  const day = DAY.exec(value);
  if (day) {
    const start = Date.UTC(Number(day[1]), Number(day[2]) - 1, Number(day[3]));
    // Date.UTC rolls 2025-02-30 over to March: only a day that reads back the same is one.
    if (new Date(start).toISOString().slice(0, 10) !== value) throw new Error(`"${text}" is not a calendar day`);
    return bound === 'from' ? start : start + 86_400_000 - 1;
  }
  // A time without a zone would be read in the local zone of whoever runs the command: refused.
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/.test(value)) {
    throw new Error(`"${text}": a day (2025-03-14) or an instant with its zone (2025-03-14T09:00:00Z)`);
  }
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new Error(`"${text}" is not a valid instant`);
  return ms;
}

// ---------------------------------------------------------------------------------------------------
// Cells

/** All digits hidden but the last three: enough for an operator to tell two lines apart. */
export function maskNiss(niss: string | null): string {
  if (niss === null || niss === '') return NONE;
  if (niss.length <= 3) return niss;
  return `${'*'.repeat(niss.length - 3)}${niss.slice(-3)}`;
}

/** What happened, in words; the event code stays in the JSON. */
export function eventLabel(entry: Pick<AuditEntry, 'event' | 'outcome'>): string {
  switch (entry.event) {
    case 'REQUEST_FORWARDED':
      return 'asked the source';
    case 'REPLY_DELIVERED':
      return entry.outcome === 'OK' ? 'data delivered' : 'answered, no data';
    case 'REQUEST_REFUSED':
      return 'request refused';
    case 'SOURCE_TIMEOUT':
      return 'source did not answer';
    case 'LATE_SOURCE_REPLY':
      return 'late source answer';
    case 'MUTATION_DELIVERED':
      return 'change delivered';
    case 'DIRECTORY_CHANGED':
      return 'directory updated';
    case 'DIRECTORY_REFUSED':
      return 'directory refused';
    case 'AUTHORIZATION_CHANGED':
      return 'authorization changed';
    case 'DEAD_LETTER':
      return 'unreadable message';
    case 'LIST_ENTRY_DELIVERED':
      return 'named in a list delivered';
    case 'CONSOLE_LOOKUP':
      return entry.outcome === 'OK' ? 'looked up in the console' : 'console lookup denied';
    case 'DEAD_LETTER_REDRIVEN':
      return 'dead letter re-sent';
  }
}

export function institutionCell(entry: Pick<AuditEntry, 'requester' | 'intermediary'>): string {
  const who = entry.requester ?? NONE;
  return entry.intermediary ? `${who} via ${entry.intermediary}` : who;
}

export function serviceCell(entry: Pick<AuditEntry, 'service' | 'source'>): string {
  if (!entry.service) return NONE;
  return entry.source ? `${entry.service} (${entry.source})` : entry.service;
}

export function deliberationCell(entry: Pick<AuditEntry, 'deliberation' | 'deliberationVersion'>): string {
  if (!entry.deliberation) return NONE;
  return entry.deliberationVersion ? `${entry.deliberation} ${entry.deliberationVersion}` : entry.deliberation;
}

export function outcomeCell(entry: Pick<AuditEntry, 'outcome' | 'bcssCode'>): string {
  return entry.bcssCode ? `${entry.outcome} (BCSS ${entry.bcssCode})` : entry.outcome;
}

function periodText(period: PeriodRecord): string {
  return `${period.from}..${period.to ?? '(open)'}`;
}

/** The second line of a record: what it covered, what was delivered and withheld, and its ticket. */
export function detailLine(entry: AuditEntry): string {
  const parts: string[] = [];
  if (entry.effectivePeriods.length > 0) parts.push(`periods ${entry.effectivePeriods.map(periodText).join(', ')}`);
  if (entry.employer) parts.push(`employer ${entry.employer.kind} ${entry.employer.id}${entry.employer.category ? ` cat. ${entry.employer.category}` : ''}`);
  if (entry.deliveredBlocks.length > 0) parts.push(`delivered ${entry.deliveredBlocks.join(', ')}`);
  if (entry.removedBlocks.length > 0) parts.push(`withheld ${entry.removedBlocks.join(', ')}`);
  if (entry.removedFields.length > 0) parts.push(`withheld fields ${entry.removedFields.join(', ')}`);
  parts.push(`ticket ${entry.ticket ?? NONE}`);
  return parts.join('; ');
}

// ---------------------------------------------------------------------------------------------------
// The search report

const SEARCH_COLUMNS = ['when (UTC)', 'what', 'institution', 'service (source)', 'deliberation', 'purpose', 'outcome'];
/** Through the index, each record also says whether a verified seal covers its bytes. */
const INDEXED_COLUMNS = [...SEARCH_COLUMNS, 'seal'];

const throughIndex = (result: AuditSearchResult | IndexedSearchResult): result is IndexedSearchResult => 'via' in result && result.via === 'index';

function searchRow(entry: AuditEntry): string[] {
  return [
    formatInstant(entry.at),
    eventLabel(entry),
    institutionCell(entry),
    serviceCell(entry),
    deliberationCell(entry),
    entry.purpose ?? NONE,
    outcomeCell(entry),
  ];
}

/** Characters as a terminal counts them. */
function width(text: string): number {
  return [...text].length;
}

function padEnd(text: string, to: number): string {
  return text + ' '.repeat(Math.max(0, to - width(text)));
}

function plural(n: number, word: string): string {
  return `${n.toLocaleString('en-US')} ${word}${n === 1 ? '' : 's'}`;
}

function tally(values: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([value, n]) => `${value} ×${n}`)
    .join(', ');
}

function scopeLine(result: AuditSearchResult): string {
  const period =
    result.from === null && result.to === null
      ? 'the whole trail'
      : `${result.from === null ? 'the beginning' : formatInstant(result.from)} to ${result.to === null ? 'now' : formatInstant(result.to)} (UTC)`;
  return `Period: ${period}; institution: ${result.requester ?? 'any'}.`;
}

/**
 * The report: a heading naming the person and the scope, one row per record (oldest first) with a
 * detail line under it, then who consulted how often and how the trail was read.
 */
export function formatSearchReport(result: AuditSearchResult | IndexedSearchResult): string {
  const out: string[] = [];
  out.push(`Audit trail of NISS ${formatNiss(result.niss) ?? result.niss}: who consulted this person's data, when, for which purpose, under which deliberation.`);
  out.push(scopeLine(result));
  out.push('');
  if (result.records.length === 0) {
    out.push('No record.');
  } else {
    const indexed = throughIndex(result);
    const columns = indexed ? INDEXED_COLUMNS : SEARCH_COLUMNS;
    const rows = indexed ? result.records.map((r) => [...searchRow(r), r.seal]) : result.records.map(searchRow);
    const widths = columns.map((c, i) => Math.max(width(c), ...rows.map((r) => width(r[i] ?? ''))));
    const line = (cells: readonly string[]) =>
      cells
        .map((cell, i) => (i === cells.length - 1 ? cell : padEnd(cell, widths[i] ?? 0)))
        .join(GAP)
        .trimEnd();
    out.push(line(columns));
    out.push(line(widths.map((w) => '-'.repeat(w))));
    const indent = ' '.repeat((widths[0] ?? 0) + GAP.length);
    result.records.forEach((entry, i) => {
      out.push(line(rows[i] as string[]));
      out.push(`${indent}${detailLine(entry)}`);
    });
  }
  out.push('');
  out.push(`${plural(result.records.length, 'record')}${result.records.length === 0 ? '' : `: ${tally(result.records.map(eventLabel))}`}.`);
  const institutions = result.records.filter((r) => r.requester !== null).map(institutionCell);
  if (institutions.length > 0) out.push(`Institutions: ${tally(institutions)}.`);
  if (result.undecodable.length > 0) {
    const places = result.undecodable.map((u) => `${u.partition}:${u.offset}`).join(', ');
    out.push(`WARNING: ${plural(result.undecodable.length, 'message')} keyed by this person could not be read as audit records (partition:offset ${places}); the report leaves them out.`);
  }
  if (throughIndex(result)) out.push(...indexLines(result));
  else {
    out.push(
      `Read partition ${result.partition} of ${result.partitions} (offsets ${result.startOffset}..${result.endOffset}): ` +
        `${plural(result.scanned, 'record')} compared in ${(result.durationMs / 1000).toFixed(1)} s.`,
    );
  }
  return `${out.join('\n')}\n`;
}

function indexLines(result: IndexedSearchResult): string[] {
  const out: string[] = [];
  const unsealed = result.records.filter((r) => r.seal !== 'SEALED');
  if (unsealed.length > 0) out.push(`WARNING: ${plural(unsealed.length, 'record')} not covered by a verified seal: ${tally(unsealed.map((r) => r.seal))}.`);
  if (result.missing.length > 0) {
    out.push(`WARNING: the index names ${plural(result.missing.length, 'record')} the audit topic no longer has (partition:offset ${result.missing.map((m) => `${m.partition}:${m.offset}`).join(', ')}).`);
  }
  const lag = `${result.indexLag.reduce((sum, p) => sum + p.lag, 0).toLocaleString('en-US')} (transaction markers included)`;
  out.push(
    `Found through the audit index: ${plural(result.indexRows, 'row')}, ${plural(result.scanned, 'record')} read from Kafka by offset, ` +
      `in ${(result.durationMs / 1000).toFixed(1)} s; records not indexed yet when searched: ${lag}.`,
  );
  return out;
}

function entryJson(entry: AuditEntry, niss: (n: string | null) => string | null) {
  return {
    at: new Date(entry.at).toISOString(),
    event: entry.event,
    ticket: entry.ticket,
    requester: entry.requester,
    intermediary: entry.intermediary,
    service: entry.service,
    source: entry.source,
    deliberation: entry.deliberation,
    deliberationVersion: entry.deliberationVersion,
    purpose: entry.purpose,
    outcome: entry.outcome,
    bcssCode: entry.bcssCode,
    subjectNiss: niss(entry.subjectNiss),
    employer: entry.employer,
    effectivePeriods: entry.effectivePeriods,
    deliveredBlocks: entry.deliveredBlocks,
    removedBlocks: entry.removedBlocks,
    removedFields: entry.removedFields,
    requestId: entry.requestId,
    partition: entry.partition,
    offset: entry.offset,
  };
}

/** The report as JSON: the same records, times in ISO 8601. */
export function searchReportJson(result: AuditSearchResult | IndexedSearchResult): string {
  const indexed = throughIndex(result);
  return JSON.stringify(
    {
      niss: result.niss,
      from: result.from === null ? null : new Date(result.from).toISOString(),
      to: result.to === null ? null : new Date(result.to).toISOString(),
      requester: result.requester,
      records: indexed ? result.records.map((r) => ({ ...entryJson(r, (n) => n), seal: r.seal })) : result.records.map((r) => entryJson(r, (n) => n)),
      matched: result.records.length,
      partition: result.partition,
      partitions: result.partitions,
      scanned: result.scanned,
      startOffset: result.startOffset,
      endOffset: result.endOffset,
      undecodable: result.undecodable,
      durationMs: result.durationMs,
      ...(indexed ? { via: 'index', indexRows: result.indexRows, missing: result.missing, indexLag: result.indexLag } : { via: 'scan' }),
    },
    null,
    2,
  );
}

// ---------------------------------------------------------------------------------------------------
// The tail

const TAIL_WIDTHS = { event: 18, outcome: 26, institution: 18, service: 28 } as const;

/**
 * One record on one line, as it is written: time, event, outcome, who, what, under which deliberation,
 * about whom (masked) and the ticket an operator correlates with.
 */
export function formatTailLine(entry: AuditEntry): string {
  return [
    new Date(entry.at).toISOString(),
    padEnd(entry.event, TAIL_WIDTHS.event),
    // The outcome's code alone, so that the columns hold (the longest is 26): the BCSS code is in --json.
    padEnd(entry.outcome, TAIL_WIDTHS.outcome),
    padEnd(institutionCell(entry), TAIL_WIDTHS.institution),
    padEnd(serviceCell(entry), TAIL_WIDTHS.service),
    `delib ${deliberationCell(entry)}`,
    `NISS ${maskNiss(entry.subjectNiss)}`,
    `ticket ${entry.ticket ?? NONE}`,
  ].join(GAP);
}

/** One record as one line of JSON, the person's number masked as on the screen. */
export function tailJson(entry: AuditEntry): string {
  return JSON.stringify(entryJson(entry, (n) => (n === null ? null : maskNiss(n))));
}
