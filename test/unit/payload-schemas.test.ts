/**
 * A filtered payload must still encode with the very schema the source wrote it with. For every
 * service: the fixture is valid; every seed grant's filtering is valid and survives an Avro round
 * trip; so is withholding any single block, and delivering any single block (its ancestors then
 * reduced to their keys), every field of a delivered block granted; and so is delivering every block
 * with no field granted (every field null, key fields included, but those of technical blocks).
 */
import { describe, expect, it } from 'vitest';
import { blockIds, technicalBlockIds } from '../../src/domain/catalogue.js';
import { filterBlocks } from '../../src/domain/block-filter.js';
import { everyField, fixture, invalidPaths, payloadType, realCatalogue, realDeliberations, service } from './support/gateway-config.js';

type Obj = Record<string, any>;

const SERVICES = [...realCatalogue().services.keys()];

function roundTrips(serviceId: string, payload: unknown): void {
  const type = payloadType(serviceId);
  expect(invalidPaths(type, payload)).toEqual([]);
  expect(type.isValid(payload, { noUndeclaredFields: true })).toBe(true);
  expect(type.fromBuffer(type.toBuffer(payload))).toEqual(payload);
}

describe.each(SERVICES)('%s payload schema', (serviceId) => {
  const def = service(serviceId);
  const functional = blockIds(def).filter((id) => !def.blocks.get(id)?.technical);

  it('the schema is one record in namespace be.bcss.gateway.payload, and the fixture is valid for it', () => {
    const type = payloadType(serviceId);
    expect(type.name).toMatch(/^be\.bcss\.gateway\.payload\.[A-Z]\w+Payload$/);
    roundTrips(serviceId, fixture(`${serviceId}.json`));
  });

  it('withholding any one block keeps the payload valid', () => {
    for (const id of functional) {
      const r = filterBlocks({
        payload: fixture(`${serviceId}.json`),
        service: def,
        allowedBlocks: functional.filter((b) => b !== id),
        grantedFields: everyField(serviceId),
      });
      roundTrips(serviceId, r.payload);
    }
  });

  it('delivering any one block alone (ancestors reduced to keys) keeps the payload valid', () => {
    for (const id of functional) {
      const r = filterBlocks({
        payload: fixture(`${serviceId}.json`),
        service: def,
        allowedBlocks: [id, ...technicalBlockIds(def)],
        grantedFields: everyField(serviceId),
      });
      roundTrips(serviceId, r.payload);
    }
  });

  it('delivering every block with no field granted (every field null, key fields included) keeps the payload valid', () => {
    const r = filterBlocks({ payload: fixture(`${serviceId}.json`), service: def, allowedBlocks: functional, grantedFields: {} });
    roundTrips(serviceId, r.payload);
  });
});

describe('every grant of every seed deliberation', () => {
  const grants = realDeliberations().flatMap((d) =>
    d.versions.flatMap((v) => v.services.map((g) => [`${d.number} ${v.id} ${g.service}`, g.service, g] as const)),
  );

  it.each(grants)('%s: the filtered fixture encodes with the same schema and round-trips', (_, serviceId, g) => {
    const def = service(serviceId);
    const r = filterBlocks({
      payload: fixture(`${serviceId}.json`),
      service: def,
      allowedBlocks: [...g.blocks, ...technicalBlockIds(def)],
      grantedFields: g.fields,
      rows: g.rows,
    });
    roundTrips(serviceId, r.payload);
  });
});

describe('the fixtures hold what the filter tests rely on', () => {
  it('DmfA: one worker, several employers, several quarters, interim (322) occupations with a using employer (90107)', () => {
    const dmfa = fixture('dmfa.json') as Obj;
    const declarations = dmfa.employerDeclarations as Obj[];
    expect(new Set(declarations.map((d) => d.onssNumber)).size).toBe(3);
    expect(new Set(declarations.map((d) => d.quarter)).size).toBeGreaterThanOrEqual(3);
    const occupations = declarations.flatMap((d) => d.naturalPersons.flatMap((p: Obj) => p.workerRecords.flatMap((w: Obj) => w.occupations)));
    const interim = occupations.filter((o: Obj) => o.jointCommittee === '322');
    expect(interim.length).toBeGreaterThanOrEqual(2);
    for (const o of interim) expect(o.usingEmployer).not.toBeNull();
    expect(new Set(declarations.flatMap((d) => d.naturalPersons.map((p: Obj) => p.niss)))).toEqual(new Set([dmfa.niss]));
  });

  it('DIMONA: joint committee 322 always comes with the using employer; several employers, one provisional number', () => {
    const periods = (fixture('dimona.json') as Obj).dimonaPeriods as Obj[];
    for (const p of periods) if (p.occupation.jointCommittee === '322') expect(p.usingEmployer).not.toBeNull();
    expect(new Set(periods.map((p) => p.employer.employerIdNumber)).size).toBe(3);
    expect(periods.some((p) => p.employer.employerIdKind === 'ONSS_PROVISIONAL')).toBe(true);
  });
});
