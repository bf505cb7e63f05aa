/**
 * Minimisation to the field, per seed deliberation: a source answer holding EVERY field of the catalogue
 * goes through the real decision and filter, and the fields delivered of each block are exactly the
 * deliberation's list — the list in its file, and, for the blocks the texts are most precise about, the
 * list read from the text itself (so that a file drifting from its text fails here too).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decideAuthorization, type AuthorizationGrant } from '../../src/domain/authorization.js';
import { filterBlocks } from '../../src/domain/block-filter.js';
import { fieldsOf, type ServiceDefinition } from '../../src/domain/catalogue.js';
import type { Deliberation, DeliberationVersion, FieldGrant, ServiceGrant } from '../../src/domain/deliberation.js';
import { composeAnswer } from '../../src/domain/exchange.js';
import { deliveredFields, fullPayload } from './support/full-payload.js';
import { deliberation, invalidPaths, payloadType, realDeliberations, realIndex, service } from './support/gateway-config.js';

const sorted = (list: Iterable<string>): string[] => [...list].sort();

function expectedFields(svc: ServiceDefinition, grant: FieldGrant | undefined, blockId: string): string[] {
  const block = svc.blocks.get(blockId);
  if (!block) throw new Error(`no block ${blockId}`);
  return sorted(grant === 'all' || block.technical ? fieldsOf(block) : (grant ?? []));
}

/** The real decision for one version's grant, on the day that version came into force. */
function decisionFor(d: Deliberation, version: DeliberationVersion, grant: ServiceGrant): AuthorizationGrant {
  const relay = d.intermediaries.find((i) => i.mandatory)?.institution ?? null;
  const decision = decideAuthorization(realIndex(), {
    requester: relay ?? d.requester,
    onBehalfOf: relay === null ? null : d.requester,
    service: grant.service,
    purpose: `${d.number}@${version.id}`,
    date: version.inForce.from,
  });
  if (!decision.ok) throw new Error(`${d.number} ${version.id} ${grant.service}: ${decision.refusal.detail}`);
  return decision;
}

/** Filters the full answer for a grant: every field, no employer, period or population limit. */
function filterFull(svc: ServiceDefinition, decision: AuthorizationGrant) {
  const answer = composeAnswer(
    svc,
    {
      allowedBlocks: decision.allowedBlocks,
      grantedFields: decision.grantedFields,
      rows: [],
      interimNeedsCategory: false,
      unauthorizedBlocks: [],
      employer: null,
      employerCategory: null,
      effectivePeriods: null,
      includeFutureFields: decision.includesFutureFieldsOfBlocks,
    },
    fullPayload(svc),
  );
  return answer;
}

const viaSwitch = realDeliberations().filter((d) => d.viaBcss);
const cases = viaSwitch.flatMap((d) =>
  d.versions.flatMap((v) => v.services.map((g) => ({ name: `${d.number} ${v.id} ${g.service}`, d, v, g }))),
);

describe('every grant of every seed: the delivered fields of each block are exactly the granted ones', () => {
  it('covers the four deliberations through the switch', () => {
    expect(sorted(new Set(viaSwitch.map((d) => d.number)))).toEqual(['10/012', '19/010', '19/104', '22/046']);
    expect(cases.length).toBeGreaterThanOrEqual(15);
  });

  it.each(cases)('$name', ({ d, v, g }) => {
    const svc = service(g.service);
    const decision = decisionFor(d, v, g);
    const answer = filterFull(svc, decision);
    expect(answer.status).toBe('OK');
    const delivered = deliveredFields(svc, answer.payload);
    const expected = new Map<string, string[]>();
    for (const id of decision.allowedBlocks) expected.set(id, expectedFields(svc, decision.grantedFields[id], id));
    const got = new Map([...delivered].map(([id, set]) => [id, sorted(set)]));
    expect(Object.fromEntries(got)).toEqual(Object.fromEntries(expected));
    // Every field withheld is named, and only those.
    const withheld = [...expected].flatMap(([id, fields]) =>
      fieldsOf(svc.blocks.get(id)!).filter((f) => !fields.includes(f)).map((f) => `${id}.${f}`),
    );
    expect(sorted(answer.removedFields)).toEqual(sorted(withheld));
    // The filtered answer is still a valid payload of the same schema (withheld fields are null).
    expect(invalidPaths(payloadType(g.service), answer.payload)).toEqual([]);
  });
});

/** The lists read from the texts themselves (paragraph cited), for the blocks the issue names. */
describe('the texts, block by block', () => {
  const fieldsDelivered = (number: string, versionId: string, serviceId: string): Map<string, string[]> => {
    const d = deliberation(number);
    const v = d.versions.find((x) => x.id === versionId)!;
    const g = v.services.find((x) => x.service === serviceId)!;
    const svc = service(serviceId);
    const answer = filterFull(svc, decisionFor(d, v, g));
    return new Map([...deliveredFields(svc, answer.payload)].map(([id, set]) => [id, sorted(set)]));
  };

  it('10/012 §8: of the natural person only the sequence number and the NISS; the work-accident allowance without its amount', () => {
    const dmfa = fieldsDelivered('10/012', 'v1', 'dmfa');
    expect(dmfa.get('dmfa.natural-person')).toEqual(['niss', 'sequenceNumber']);
    expect(dmfa.get('dmfa.work-accident-allowance')).toEqual(['allowanceNature', 'incapacityRate', 'versionNumber']);
    expect(dmfa.get('dmfa.employer-declaration')).toEqual(['enterpriseNumber', 'onssNumber', 'quarter', 'registrationSource']);
    expect(dmfa.get('dmfa.worker-record')).toEqual(['employerCategory', 'localUnitId', 'quarterEndDate', 'quarterStartDate', 'workerCode']);
    expect(dmfa.get('dmfa.occupation')).toEqual(['contractType', 'endDate', 'jointCommittee', 'sequenceNumber', 'startDate', 'versionNumber', 'workerStatus']);
    expect(dmfa.has('dmfa.service')).toBe(false);
  });

  it('10/012 §7: of the DIMONA worker only the NISS', () => {
    const dimona = fieldsDelivered('10/012', 'v1', 'dimona');
    expect(dimona.get('dimona.worker')).toEqual(['niss']);
  });

  it('19/104 §9: of the DIMONA worker only the NISS; §8 (13/126): DmfA blocks whole', () => {
    expect(fieldsDelivered('19/104', 'v3', 'dimona').get('dimona.worker')).toEqual(['niss']);
    const dmfa = fieldsDelivered('19/104', 'v3', 'dmfa');
    expect(dmfa.get('dmfa.natural-person')).toEqual(sorted(fieldsOf(service('dmfa').blocks.get('dmfa.natural-person')!)));
    expect(dmfa.get('dmfa.occupation')).toEqual(sorted(fieldsOf(service('dmfa').blocks.get('dmfa.occupation')!)));
  });

  it('19/010 §17: the natural person without its sequence number; §22: the allowance without version', () => {
    const dmfa = fieldsDelivered('19/010', 'v1', 'dmfa');
    expect(dmfa.get('dmfa.natural-person')).not.toContain('sequenceNumber');
    expect(dmfa.get('dmfa.natural-person')).toContain('niss');
    expect(dmfa.get('dmfa.work-accident-allowance')).toEqual(['allowanceNature', 'amount', 'incapacityRate']);
  });

  it('22/046 §3: NISS, birth date, primary incapacity and invalidity starts', () => {
    const list = fieldsDelivered('22/046', 'v1', 'inami-invalidity-entries');
    expect(Object.fromEntries(list)).toEqual({
      'inami-invalidity-entries.entry': ['niss'],
      'inami-invalidity-entries.person': ['birthDate'],
      'inami-invalidity-entries.incapacity': ['invalidityStartDate', 'primaryIncapacityStartDate'],
    });
  });
});

// ---------------------------------------------------------------------------------------------------
// Property: for any source answer, nothing outside the grant, the employer, the period or the population.

const EMPLOYERS = [
  { onssNumber: '100012345', enterpriseNumber: '0412345614' },
  { onssNumber: '200067890', enterpriseNumber: '0876543270' },
  { onssNumber: '300054321', enterpriseNumber: '0203123443' },
] as const;
const QUARTERS = ['2023Q4', '2024Q1', '2024Q2', '2024Q3'] as const;
const WORKER_CODES = ['015', '046', '495', '439', '027'] as const;

/** A DmfA answer: the full row shapes, with random employers, quarters, worker codes, dates and nulls. */
function dmfaAnswer(): fc.Arbitrary<Record<string, unknown>> {
  const svc = service('dmfa');
  const template = fullPayload(svc) as any;
  const decl0 = template.employerDeclarations[0];
  const person0 = decl0.naturalPersons[0];
  const record0 = person0.workerRecords[0];
  const occ0 = record0.occupations[0];
  const maybeNull = (row: Record<string, unknown>) =>
    fc.array(fc.constantFrom(...Object.keys(row)), { maxLength: 3 }).map((nulls) => {
      const out: Record<string, unknown> = { ...row };
      for (const k of nulls) if (!Array.isArray(row[k]) && (row[k] === null || typeof row[k] !== 'object')) out[k] = null;
      return out;
    });
  const day = fc.integer({ min: 0, max: 500 }).map((n) => new Date(Date.UTC(2023, 9, 1) + n * 86_400_000).toISOString().slice(0, 10));
  const occupation = fc.record({ base: maybeNull(occ0), start: day, length: fc.integer({ min: 0, max: 200 }) }).map(({ base, start, length }) => ({
    ...base,
    startDate: start,
    endDate: new Date(Date.parse(start) + length * 86_400_000).toISOString().slice(0, 10),
  }));
  const workerRecord = fc
    .record({ base: maybeNull(record0), code: fc.constantFrom(...WORKER_CODES), occupations: fc.array(occupation, { minLength: 1, maxLength: 2 }) })
    .map(({ base, code, occupations }) => ({ ...base, workerCode: code, occupations }));
  const person = fc.record({ base: maybeNull(person0), records: fc.array(workerRecord, { minLength: 0, maxLength: 3 }) }).map(({ base, records }) => ({ ...base, workerRecords: records }));
  const declaration = fc
    .record({ base: maybeNull(decl0), employer: fc.constantFrom(...EMPLOYERS), quarter: fc.constantFrom(...QUARTERS), persons: fc.array(person, { minLength: 1, maxLength: 2 }) })
    .map(({ base, employer, quarter, persons }) => ({ ...base, ...employer, quarter, naturalPersons: persons }));
  return fc.array(declaration, { minLength: 1, maxLength: 4 }).map((employerDeclarations) => ({ ...template, employerDeclarations }));
}

describe('property: no delivered field outside the grant, no row outside employer, period or population', () => {
  const grants = [
    { number: '10/012', version: 'v1' },
    { number: '19/010', version: 'v1' },
    { number: '19/104', version: 'v3' },
  ];

  it.each(grants)('DmfA under $number', ({ number, version }) => {
    const d = deliberation(number);
    const v = d.versions.find((x) => x.id === version)!;
    const g = v.services.find((x) => x.service === 'dmfa')!;
    const decision = decisionFor(d, v, g);
    const svc = service('dmfa');
    const population = decision.rows.find((r) => r.kind === 'one-of' && r.path === 'workerCode');
    fc.assert(
      fc.property(dmfaAnswer(), fc.constantFrom(...EMPLOYERS), fc.constantFrom(...QUARTERS), (payload, employer, quarter) => {
        const [y, q] = quarter.split('Q').map(Number) as [number, number];
        const from = `${y}-${String((q - 1) * 3 + 1).padStart(2, '0')}-01`;
        const to = new Date(Date.UTC(y, q * 3, 0)).toISOString().slice(0, 10);
        const result = filterBlocks({
          payload,
          service: svc,
          allowedBlocks: decision.allowedBlocks,
          grantedFields: decision.grantedFields,
          rows: decision.rows,
          employer: { kind: 'ONSS', id: employer.onssNumber },
          periods: [{ from, to }],
          includeFutureFields: decision.includesFutureFieldsOfBlocks,
        });
        // Fields: nothing outside each block's grant.
        for (const [id, fields] of deliveredFields(svc, result.payload)) {
          const allowed = expectedFields(svc, decision.grantedFields[id], id);
          for (const f of fields) expect(allowed, `${number}: ${id}.${f}`).toContain(f);
        }
        // Rows: only the employer and the quarter asked; occupations overlapping it; the population.
        for (const decl of (result.payload.employerDeclarations ?? []) as any[]) {
          if (decl.onssNumber !== null) expect(decl.onssNumber).toBe(employer.onssNumber);
          if (decl.quarter !== null) expect(decl.quarter).toBe(quarter);
          for (const person of decl.naturalPersons as any[]) {
            if (population) expect(person.workerRecords.length).toBeGreaterThan(0);
            for (const record of person.workerRecords as any[]) {
              if (population && population.kind === 'one-of') expect(population.values).toContain(record.workerCode);
              for (const occ of record.occupations as any[]) {
                if (occ.startDate !== null) expect(occ.startDate <= to).toBe(true);
                if (occ.endDate !== null) expect(occ.endDate >= from).toBe(true);
              }
            }
          }
        }
        // What is delivered still encodes.
        expect(invalidPaths(payloadType('dmfa'), result.payload)).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });
});
