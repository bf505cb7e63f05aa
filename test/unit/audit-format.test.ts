import { describe, expect, it } from 'vitest';
import {
  detailLine,
  eventLabel,
  formatInstant,
  formatSearchReport,
  formatTailLine,
  maskNiss,
  parseTimeBound,
  searchReportJson,
  tailJson,
} from '../../src/audit/audit-format.js';
import type { AuditEntry, AuditSearchResult } from '../../src/audit/audit-search.js';
import { tailPasses } from '../../src/audit/audit-tail.js';

const NISS = '88031412464';
const AT = Date.UTC(2025, 2, 14, 9, 26, 53, 120);

function entry(fields: Partial<AuditEntry> = {}): AuditEntry {
  return {
    at: AT,
    event: 'REPLY_DELIVERED',
    ticket: 'T-delivered',
    requester: 'vaph',
    intermediary: 'magda',
    service: 'dmfa',
    source: 'onss',
    deliberation: '10/012',
    deliberationVersion: 'v2',
    purpose: 'vaph-personal-assistance-budget',
    outcome: 'OK',
    bcssCode: null,
    subjectNiss: NISS,
    employer: { kind: 'ONSS', id: '100012334', category: null },
    effectivePeriods: [{ from: '2024-01-01', to: '2024-06-30' }],
    deliveredBlocks: ['dmfa.occupation', 'dmfa.remuneration'],
    removedBlocks: ['dmfa.service'],
    removedFields: [],
    requestId: 'req-1',
    partition: 3,
    offset: '42',
    ...fields,
  };
}

function result(records: readonly AuditEntry[], fields: Partial<AuditSearchResult> = {}): AuditSearchResult {
  return {
    niss: NISS,
    from: null,
    to: null,
    requester: null,
    records,
    partition: 3,
    partitions: 4,
    scanned: 250_123,
    startOffset: '0',
    endOffset: '250500',
    undecodable: [],
    durationMs: 1_840,
    ...fields,
  };
}

describe('audit format: times', () => {
  it('reads a day as the whole day, UTC, both ends included', () => {
    expect(parseTimeBound('2025-01-01', 'from')).toBe(Date.UTC(2025, 0, 1));
    expect(parseTimeBound('2025-01-31', 'to')).toBe(Date.UTC(2025, 1, 1) - 1);
  });

  it('reads an instant only with its zone', () => {
    expect(parseTimeBound('2025-03-14T09:00:00Z', 'from')).toBe(Date.UTC(2025, 2, 14, 9));
    expect(parseTimeBound('2025-03-14T10:00+01:00', 'to')).toBe(Date.UTC(2025, 2, 14, 9));
    expect(() => parseTimeBound('2025-03-14T09:00:00', 'from')).toThrow(/with its zone/);
  });

  it('refuses what is not a day or an instant', () => {
    expect(() => parseTimeBound('2025-02-30', 'from')).toThrow(/not a calendar day/);
    expect(() => parseTimeBound('yesterday', 'from')).toThrow(/a day/);
    expect(() => parseTimeBound('14/03/2025', 'to')).toThrow(/a day/);
  });

  it('prints an instant to the second, UTC', () => {
    expect(formatInstant(AT)).toBe('2025-03-14 09:26:53');
  });
});

describe('audit format: the search report', () => {
  const refused = entry({
    at: AT + 60_000,
    event: 'REQUEST_REFUSED',
    ticket: 'T-refused',
    requester: 'iriscare',
    intermediary: null,
    deliberation: null,
    deliberationVersion: null,
    purpose: null,
    source: null,
    outcome: 'NOT_AUTHORIZED',
    bcssCode: '-300010',
    employer: null,
    effectivePeriods: [],
    deliveredBlocks: [],
    removedBlocks: [],
    offset: '57',
  });

  it('names the person in full, and for each record when, who, what, under which deliberation and purpose', () => {
    const text = formatSearchReport(result([entry(), refused]));
    expect(text).toContain('Audit trail of NISS 88.03.14-124.64');
    expect(text).toContain('Period: the whole trail; institution: any.');
    const lines = text.split('\n');
    const header = lines.find((l) => l.startsWith('when (UTC)')) as string;
    expect(header.split(/\s{2,}/)).toEqual(['when (UTC)', 'what', 'institution', 'service (source)', 'deliberation', 'purpose', 'outcome']);
    const delivered = lines.find((l) => l.includes('data delivered')) as string;
    expect(delivered.split(/\s{2,}/)).toEqual([
      '2025-03-14 09:26:53',
      'data delivered',
      'vaph via magda',
      'dmfa (onss)',
      '10/012 v2',
      'vaph-personal-assistance-budget',
      'OK',
    ]);
    const refusedLine = lines.find((l) => l.includes('request refused')) as string;
    expect(refusedLine.split(/\s{2,}/)).toEqual(['2025-03-14 09:27:53', 'request refused', 'iriscare', 'dmfa', '—', '—', 'NOT_AUTHORIZED (BCSS -300010)']);
  });

  it('puts the periods, employer, blocks and ticket on a detail line under the row', () => {
    const text = formatSearchReport(result([entry()]));
    const lines = text.split('\n');
    const row = lines.findIndex((l) => l.includes('data delivered'));
    expect(lines[row + 1]?.trim()).toBe(
      'periods 2024-01-01..2024-06-30; employer ONSS 100012334; delivered dmfa.occupation, dmfa.remuneration; withheld dmfa.service; ticket T-delivered',
    );
    expect(lines[row + 1]?.startsWith(' '.repeat('2025-03-14 09:26:53'.length + 2))).toBe(true);
  });

  it('ends with the counts per event and per institution, and how the trail was read', () => {
    const text = formatSearchReport(result([entry(), refused, entry({ at: AT + 120_000, offset: '80' })]));
    expect(text).toContain('3 records: data delivered ×2, request refused ×1.');
    expect(text).toContain('Institutions: vaph via magda ×2, iriscare ×1.');
    expect(text).toContain('Read partition 3 of 4 (offsets 0..250500): 250,123 records compared in 1.8 s.');
  });

  it('says so when there is nothing, and states the scope searched', () => {
    const text = formatSearchReport(result([], { from: Date.UTC(2025, 0, 1), to: Date.UTC(2025, 1, 1) - 1, requester: 'vaph' }));
    expect(text).toContain('Period: 2025-01-01 00:00:00 to 2025-01-31 23:59:59 (UTC); institution: vaph.');
    expect(text).toContain('No record.');
    expect(text).toContain('0 records.');
  });

  it('warns about messages of the person that are not readable audit records', () => {
    const text = formatSearchReport(result([entry()], { undecodable: [{ partition: 3, offset: '17' }] }));
    expect(text).toContain('WARNING: 1 message keyed by this person could not be read as audit records (partition:offset 3:17)');
  });

  it('gives the same records as JSON, times in ISO 8601, the NISS in full', () => {
    const json = JSON.parse(searchReportJson(result([entry(), refused]))) as { niss: string; matched: number; records: Array<Record<string, unknown>> };
    expect(json.niss).toBe(NISS);
    expect(json.matched).toBe(2);
    expect(json.records[0]).toMatchObject({
      at: '2025-03-14T09:26:53.120Z',
      event: 'REPLY_DELIVERED',
      requester: 'vaph',
      intermediary: 'magda',
      deliberation: '10/012',
      deliberationVersion: 'v2',
      purpose: 'vaph-personal-assistance-budget',
      subjectNiss: NISS,
    });
    expect(json.records[1]).toMatchObject({ event: 'REQUEST_REFUSED', outcome: 'NOT_AUTHORIZED', bcssCode: '-300010' });
  });
});

describe('audit format: labels and details', () => {
  it('says in words what each event is', () => {
    expect(eventLabel({ event: 'REPLY_DELIVERED', outcome: 'OK' })).toBe('data delivered');
    expect(eventLabel({ event: 'REPLY_DELIVERED', outcome: 'NO_DATA' })).toBe('answered, no data');
    expect(eventLabel({ event: 'REQUEST_FORWARDED', outcome: 'FORWARDED' })).toBe('asked the source');
    expect(eventLabel({ event: 'SOURCE_TIMEOUT', outcome: 'SOURCE_TIMEOUT' })).toBe('source did not answer');
    expect(eventLabel({ event: 'MUTATION_DELIVERED', outcome: 'OK' })).toBe('change delivered');
  });

  it('leaves out of the detail line what a record does not have', () => {
    expect(detailLine(entry({ effectivePeriods: [], employer: null, deliveredBlocks: [], removedBlocks: [], ticket: null }))).toBe('ticket —');
    expect(detailLine(entry({ effectivePeriods: [{ from: '2024-01-01', to: null }], employer: null, deliveredBlocks: [], removedBlocks: [] }))).toBe(
      'periods 2024-01-01..(open); ticket T-delivered',
    );
  });
});

describe('audit format: the tail', () => {
  it('masks the NISS but for its last three digits', () => {
    expect(maskNiss(NISS)).toBe('********464');
    expect(maskNiss(null)).toBe('—');
  });

  it('prints one line per record, with the NISS masked and never in full', () => {
    const line = formatTailLine(entry());
    expect(line).not.toContain(NISS);
    expect(line.split(/\s{2,}/)).toEqual([
      '2025-03-14T09:26:53.120Z',
      'REPLY_DELIVERED',
      'OK',
      'vaph via magda',
      'dmfa (onss)',
      'delib 10/012 v2',
      'NISS ********464',
      'ticket T-delivered',
    ]);
    expect(line).not.toContain('\n');
  });

  it('masks the NISS in the JSON lines too', () => {
    const json = tailJson(entry());
    expect(json).not.toContain(NISS);
    expect(JSON.parse(json)).toMatchObject({ event: 'REPLY_DELIVERED', subjectNiss: '********464' });
  });

  it('filters on the requester or the intermediary, the service, the outcome and the event', () => {
    const e = entry();
    expect(tailPasses(e, {})).toBe(true);
    expect(tailPasses(e, { requester: 'vaph' })).toBe(true);
    expect(tailPasses(e, { requester: 'magda' })).toBe(true);
    expect(tailPasses(e, { requester: 'iriscare' })).toBe(false);
    expect(tailPasses(e, { service: 'dmfa' })).toBe(true);
    expect(tailPasses(e, { service: 'dimona' })).toBe(false);
    expect(tailPasses(e, { outcome: 'ok' })).toBe(true);
    expect(tailPasses(e, { outcome: 'NO_DATA' })).toBe(false);
    expect(tailPasses(e, { event: 'reply_delivered', requester: 'vaph', service: 'dmfa', outcome: 'OK' })).toBe(true);
    expect(tailPasses(e, { event: 'REQUEST_REFUSED' })).toBe(false);
  });
});
