/**
 * INAMI's simulated quarterly invalidity list (22/046): size, determinism, valid NISS and plausible
 * dates, the deliberate over-delivery that the switch's period filter must drop, and the answers to
 * requests (one quarter per request, NO_DATA before 2020Q1 and for quarters not over yet).
 */
import { describe, expect, it } from 'vitest';
import { filterBlocks } from '../../src/domain/block-filter.js';
import { parseNiss } from '../../src/domain/niss.js';
import { addDays, dayNumber, quarterOf } from '../../src/domain/period.js';
import { loadAvroCodec } from '../../src/messaging/avro-codec.js';
import {
  answerInvalidityRequest,
  DEFAULT_INVALIDITY_ENTRIES_PER_QUARTER,
  invalidityList,
  INVALIDITY_SERVICE,
  type InvalidityEntry,
} from '../../src/sources/invalidity-batch.js';
import type { SourceRequestRecord } from '../../src/contract/exchange-records.js';
import { answerSourceRequest } from '../../src/sources/source-simulator.js';
import { createSyntheticPopulation, SIMULATED } from '../../src/sources/synthetic-population.js';
import { everyField, invalidPaths, payloadType, SCHEMAS_DIR, service } from './support/gateway-config.js';

const TODAY = '2026-11-24';
const Q3_2024 = { from: '2024-07-01', to: '2024-09-30' };

function request(period: SourceRequestRecord['period'], subjectNiss = ''): SourceRequestRecord {
  return { ticket: 'T-inv', service: INVALIDITY_SERVICE, subjectNiss, employer: null, period, blocks: [], deadline: Date.parse(`${TODAY}T10:00:00Z`) };
}

function inQuarter(entry: InvalidityEntry, quarter: string): boolean {
  return quarterOf(entry.incapacity.invalidityStartDate) === quarter;
}

describe('the quarterly list', () => {
  const list = invalidityList('2024Q3');

  it('holds 2,000 entries of the quarter by default, plus about 5 % from the neighbouring quarters', () => {
    const own = list.entries.filter((e) => inQuarter(e, '2024Q3'));
    const neighbours = list.entries.filter((e) => !inQuarter(e, '2024Q3'));
    expect(own).toHaveLength(DEFAULT_INVALIDITY_ENTRIES_PER_QUARTER);
    expect(neighbours).toHaveLength(100);
    expect(new Set(neighbours.map((e) => quarterOf(e.incapacity.invalidityStartDate)))).toEqual(new Set(['2024Q2', '2024Q4']));
    expect(list).toMatchObject({ quarter: '2024Q3', listReference: 'INAMI-INV-2024Q3-01' });
  });

  it('takes the number of entries as an option', () => {
    const small = invalidityList('2024Q3', { entriesPerQuarter: 40 });
    expect(small.entries.filter((e) => inQuarter(e, '2024Q3'))).toHaveLength(40);
    expect(small.entries).toHaveLength(42);
    expect(invalidityList('2024Q3', { entriesPerQuarter: 0 }).entries).toEqual([]);
    expect(() => invalidityList('2024Q3', { entriesPerQuarter: -1 })).toThrow(RangeError);
  });

  it('is deterministic per quarter, and differs between quarters', () => {
    expect(invalidityList('2024Q3')).toEqual(list);
    const other = invalidityList('2024Q4');
    expect(other.entries.map((e) => e.niss)).not.toEqual(list.entries.map((e) => e.niss));
  });

  it('every NISS is valid, unique, carries the birth date, and is none of the fixed simulated persons', () => {
    const fixed = new Set(Object.values(SIMULATED));
    expect(new Set(list.entries.map((e) => e.niss)).size).toBe(list.entries.length);
    for (const entry of list.entries) {
      const parsed = parseNiss(entry.niss);
      expect(parsed.valid, entry.niss).toBe(true);
      if (parsed.valid) expect(parsed.birthDate).toBe(entry.person.birthDate);
      expect(fixed.has(entry.niss)).toBe(false);
    }
  });

  it('dates are plausible: primary incapacity about a year before invalidity, adults under the pension age', () => {
    for (const { person, incapacity } of list.entries) {
      const daysOfIncapacity = dayNumber(incapacity.invalidityStartDate) - dayNumber(incapacity.primaryIncapacityStartDate);
      expect(daysOfIncapacity).toBeGreaterThanOrEqual(365);
      expect(daysOfIncapacity).toBeLessThanOrEqual(366 + 90);
      const age = Number(incapacity.invalidityStartDate.slice(0, 4)) - Number(person.birthDate.slice(0, 4));
      expect(age).toBeGreaterThanOrEqual(20);
      expect(age).toBeLessThanOrEqual(64);
    }
  });

  it('is a valid InamiInvalidityEntriesPayload and single-object encodes', () => {
    expect(invalidPaths(payloadType(INVALIDITY_SERVICE), list)).toEqual([]);
    const codec = loadAvroCodec(SCHEMAS_DIR);
    const name = 'be.bcss.gateway.payload.InamiInvalidityEntriesPayload';
    expect(codec.decode(name, codec.encode(name, list))).toEqual(list);
  });

  it('the switch period filter drops exactly the over-delivered entries', () => {
    const result = filterBlocks({
      payload: list as unknown as Record<string, unknown>,
      service: service(INVALIDITY_SERVICE),
      allowedBlocks: [...service(INVALIDITY_SERVICE).blocks.keys()],
      grantedFields: everyField(INVALIDITY_SERVICE),
      periods: [Q3_2024],
    });
    const kept = (result.payload as { entries: InvalidityEntry[] }).entries;
    expect(kept).toHaveLength(DEFAULT_INVALIDITY_ENTRIES_PER_QUARTER);
    expect(kept.every((e) => inQuarter(e, '2024Q3'))).toBe(true);
    expect(result.removedRows.byPeriod).toBe(100);
  });
});

describe('answers to list requests', () => {
  it('OK with the whole quarter for any period inside one quarter', () => {
    const whole = answerInvalidityRequest(request(Q3_2024), { today: TODAY });
    expect(whole).toMatchObject({ ticket: 'T-inv', status: 'OK', newNiss: null, errorMessage: null });
    expect(whole.payload).toEqual(invalidityList('2024Q3'));
    const part = answerInvalidityRequest(request({ from: '2024-08-01', to: '2024-08-31' }), { today: TODAY });
    expect(part.payload).toEqual(whole.payload);
  });

  it('ERROR for a period spanning more than one quarter, an open period reaching past it, or a named person', () => {
    const across = answerInvalidityRequest(request({ from: '2024-09-01', to: '2024-10-31' }), { today: TODAY });
    expect(across).toMatchObject({ status: 'ERROR', payload: null, errorMessage: expect.stringContaining('one quarter per request') });
    expect(answerInvalidityRequest(request({ from: '2024-07-01', to: null }), { today: TODAY })).toMatchObject({
      status: 'ERROR',
      errorMessage: expect.stringContaining('one quarter per request'),
    });
    expect(answerInvalidityRequest(request(Q3_2024, SIMULATED.assistantOfVaph), { today: TODAY })).toMatchObject({ status: 'ERROR', payload: null });
  });

  it('NO_DATA before 2020Q1 and for a quarter not over yet', () => {
    expect(answerInvalidityRequest(request({ from: '2019-10-01', to: '2019-12-31' }), { today: TODAY }).status).toBe('NO_DATA');
    expect(answerInvalidityRequest(request({ from: '2020-01-01', to: '2020-03-31' }), { today: TODAY }).status).toBe('OK');
    expect(answerInvalidityRequest(request({ from: '2027-01-01', to: '2027-03-31' }), { today: TODAY }).status).toBe('NO_DATA');
    expect(answerInvalidityRequest(request({ from: '2026-10-01', to: '2026-12-31' }), { today: TODAY }).status).toBe('NO_DATA');
    expect(answerInvalidityRequest(request({ from: '2026-10-01', to: null }), { today: TODAY }).status).toBe('NO_DATA');
    expect(answerInvalidityRequest(request({ from: '2026-07-01', to: '2026-09-30' }), { today: '2026-09-30' }).status).toBe('NO_DATA');
    expect(answerInvalidityRequest(request({ from: '2026-07-01', to: '2026-09-30' }), { today: addDays('2026-09-30', 1) }).status).toBe('OK');
  });

  it('answerSourceRequest dispatches the list, its today defaulting to the day of the deadline', () => {
    const population = createSyntheticPopulation();
    const viaDispatch = answerSourceRequest(population, request(Q3_2024), { invalidityEntriesPerQuarter: 10 });
    expect(viaDispatch).toEqual(answerInvalidityRequest(request(Q3_2024), { today: TODAY, entriesPerQuarter: 10 }));
    const lastQuarter = request({ from: '2026-07-01', to: '2026-09-30' });
    expect(answerSourceRequest(population, { ...lastQuarter, deadline: Date.parse('2026-09-30T23:00:00Z') })?.status).toBe('NO_DATA');
    expect(answerSourceRequest(population, { ...lastQuarter, deadline: Date.parse('2026-10-01T00:00:05Z') })?.status).toBe('OK');
  });
});
