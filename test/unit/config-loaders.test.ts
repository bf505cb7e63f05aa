/**
 * The configuration loaders: the real catalogue and deliberations load, and every kind of bad file
 * fails with a ConfigError naming the file, the path inside it and the reason. Each bad fixture under
 * test/fixtures/config-bad/ differs from a valid base under test/fixtures/config-good/ by one change,
 * and the base itself is shown to load.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, formatPath } from '../../src/config/config-error.js';
import { loadAuthorizations } from '../../src/config/load-authorizations.js';
import { loadCatalogue } from '../../src/config/load-catalogue.js';
import { FIXTURES_DIR, realCatalogue, realDeliberations } from './support/gateway-config.js';

const GOOD = join(FIXTURES_DIR, 'config-good');
const BAD = join(FIXTURES_DIR, 'config-bad');

function configError(load: () => unknown): ConfigError {
  try {
    load();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError, but the configuration loaded');
}

describe('the real configuration', () => {
  it('loads ten catalogue services, each checked against its Avro schema', () => {
    expect([...realCatalogue().services.keys()].sort()).toEqual([
      'dimona',
      'dmfa',
      'gotot',
      'identification',
      'inami-incapacity',
      'inami-invalidity-entries',
      'multifunctional-attestation',
      'onem-allowances',
      'p4employer',
      'rgti',
    ]);
  });

  it('loads the five seed deliberations', () => {
    expect(realDeliberations().map((d) => d.number)).toEqual(['10/012', '17/006', '19/010', '19/104', '22/046']);
  });

  it('keeps the DmfA block tree and official numbers: 90007 > 90017 > 90012 > 90015 > 90018, 90019, 90107; 90001 under 90012; 90002 under 90007', () => {
    const dmfa = realCatalogue().services.get('dmfa');
    const parentOf = (id: string) => dmfa?.blocks.get(id)?.parent;
    const numberOf = (id: string) => dmfa?.blocks.get(id)?.number;
    expect(numberOf('dmfa.employer-declaration')).toBe(90007);
    expect(parentOf('dmfa.natural-person')).toBe('dmfa.employer-declaration');
    expect(numberOf('dmfa.natural-person')).toBe(90017);
    expect(parentOf('dmfa.worker-record')).toBe('dmfa.natural-person');
    expect(numberOf('dmfa.worker-record')).toBe(90012);
    expect(parentOf('dmfa.occupation')).toBe('dmfa.worker-record');
    expect(numberOf('dmfa.occupation')).toBe(90015);
    for (const [id, n] of [['dmfa.service', 90018], ['dmfa.remuneration', 90019], ['dmfa.using-employer', 90107]] as const) {
      expect(parentOf(id)).toBe('dmfa.occupation');
      expect(numberOf(id)).toBe(n);
    }
    expect(parentOf('dmfa.worker-contribution')).toBe('dmfa.worker-record');
    expect(numberOf('dmfa.worker-contribution')).toBe(90001);
    expect(parentOf('dmfa.contribution-unrelated-to-person')).toBe('dmfa.employer-declaration');
    expect(numberOf('dmfa.contribution-unrelated-to-person')).toBe(90002);
  });

  it('resolves amendments: a version that lists no services inherits the previous version\'s', () => {
    const d = realDeliberations().find((x) => x.number === '19/104');
    expect(d?.versions.map((v) => v.services.map((s) => s.service))).toEqual([['dmfa'], ['dmfa'], ['dmfa', 'dimona']]);
    expect(d?.versions[1]?.services).toBe(d?.versions[0]?.services);
  });

  it('the valid bases of the bad fixtures load', () => {
    const catalogue = loadCatalogue(join(GOOD, 'catalogue'), { schemasDir: join(GOOD, 'schemas') });
    expect([...catalogue.services.keys()]).toEqual(['mini']);
    const deliberations = loadAuthorizations(join(GOOD, 'authorizations'), realCatalogue());
    expect(deliberations.map((d) => d.number)).toEqual(['94/001']);
    // A field-level grant: each block with the fields it lists, every ancestor of a granted block granted.
    const grant = deliberations[0]?.versions[0]?.services[0];
    expect(grant?.blocks).toEqual(['dmfa.employer-declaration', 'dmfa.natural-person', 'dmfa.worker-record', 'dmfa.occupation']);
    expect(grant?.fields).toEqual({
      'dmfa.employer-declaration': ['quarter', 'onssNumber'],
      'dmfa.natural-person': ['niss'],
      'dmfa.worker-record': ['workerCode'],
      'dmfa.occupation': ['sequenceNumber', 'startDate', 'endDate'],
    });
    expect(grant?.rows).toEqual([]);
    expect(grant?.periodFrom).toBeNull();
  });

  it('an empty folder is an empty configuration; a missing folder is an error naming it', () => {
    expect(loadAuthorizations(join(GOOD, 'schemas'), realCatalogue())).toEqual([]);
    const e = configError(() => loadCatalogue(join(BAD, 'no-such-folder')));
    expect(e.file).toContain('no-such-folder');
  });
});

describe('bad deliberation files', () => {
  const cases: Array<[caseName: string, file: string, path: string | RegExp, reason: RegExp]> = [
    ['unknown-block', '94-001-test.yaml', 'versions[0].services[0].blocks[1].block', /block "dmfa.salary-slip" does not exist in service "dmfa"/],
    ['unknown-service', '94-001-test.yaml', 'versions[0].services[0].service', /"tax-returns" is not in the catalogue/],
    ['wrong-source', '94-001-test.yaml', 'versions[0].services[0].source', /comes from "onss", not "inami"/],
    ['technical-block', '94-001-test.yaml', 'versions[0].services[0].blocks[1]', /technical: it needs no authorization/],
    ['block-twice', '94-001-test.yaml', 'versions[0].services[0].blocks[2]', /listed twice/],
    ['bare-block-id', '94-001-test.yaml', 'versions[0].services[0].blocks[3]', /block "dmfa.occupation" is granted without a field list.*includesFutureFieldsOfBlocks/],
    ['fields-with-future-fields', '94-001-test.yaml', 'versions[0].services[0].blocks[0].fields', /block "dmfa.employer-declaration" lists fields .*ambiguous/],
    ['unknown-field', '94-001-test.yaml', 'versions[0].services[0].blocks[0].fields[2]', /"salary" is not a field of block dmfa.employer-declaration/],
    ['field-twice', '94-001-test.yaml', 'versions[0].services[0].blocks[3].fields[3]', /field "startDate" is listed twice/],
    ['ungranted-ancestor', '94-001-test.yaml', 'versions[0].services[0].blocks[2]', /block "dmfa.occupation" is granted but its parent block "dmfa.worker-record" is not/],
    ['row-unknown-field', '94-001-test.yaml', 'versions[0].services[0].rows[0].field', /"salary" is not a field of block dmfa.occupation/],
    ['row-on-optional-block', '94-001-test.yaml', 'versions[0].services[0].rows[0].block', /block "dmfa.declaration-status" is not a "many" block/],
    ['mutations-not-emitted', '94-001-test.yaml', 'versions[0].services[1].mutations', /emits no mutations/],
    ['mutation-form', '94-001-test.yaml', 'versions[0].services[0].mutations.form', /notification/],
    ['overlapping-versions', '94-001-test.yaml', 'versions[1].inForce.from', /overlaps version v1/],
    ['open-version-then-another', '94-001-test.yaml', 'versions[1].inForce.from', /overlaps version v1 \(in force 2020-01-01\.\.open\)/],
    ['versions-out-of-order', '94-001-test.yaml', 'versions[1].inForce.from', /date order/],
    ['until-before-from', '94-001-test.yaml', 'versions[0].inForce.until', /ends \(2019-12-31\) before it starts/],
    ['impossible-date', '94-001-test.yaml', 'versions[1].decidedOn', /calendar date/],
    ['version-id-twice', '94-001-test.yaml', 'versions[1].id', /"v1" is used twice/],
    ['first-version-without-services', '94-001-test.yaml', 'versions[0].services', /first version must list/],
    ['missing-purpose', '94-001-test.yaml', 'purpose', /expected object/],
    ['misspelt-key', '94-001-test.yaml', 'requestor', /Unrecognized key/],
    ['bad-duration', '94-001-test.yaml', 'retention.duration', /ISO 8601/],
    ['bad-number', '94-001-test.yaml', 'number', /"nn\/nnn"/],
    ['file-name', '94-001-test.yaml', 'number', /must be named 94-002-<words>\.yaml/],
    ['intermediary-is-requester', '94-001-test.yaml', 'intermediaries[0].institution', /its own intermediary/],
    ['uppercase-institution', '94-001-test.yaml', 'requester', /lowercase kebab-case/],
    ['syntax-error', '94-001-test.yaml', /^line \d+, column \d+$/, /YAML syntax/],
    ['duplicate-key', '94-001-test.yaml', /^line 14, column 1$/, /YAML syntax: .*unique/i],
    ['empty-file', '94-001-test.yaml', '', /expected object, received null/],
    ['list-document', '94-001-test.yaml', '', /expected object, received array/],
    ['duplicate-number', '94-001-b.yaml', 'number', /94\/001 is already defined in .*94-001-a\.yaml/],
  ];

  it.each(cases)('%s: names %s, the path and the reason', (caseName, file, path, reason) => {
    const e = configError(() => loadAuthorizations(join(BAD, 'authorizations', caseName), realCatalogue()));
    expect(e.file).toBe(join(BAD, 'authorizations', caseName, file));
    if (typeof path === 'string') expect(e.path).toBe(path);
    else expect(e.path).toMatch(path);
    expect(e.reason).toMatch(reason);
    expect(e.message).toBe(`${e.file}: ${e.path === '' ? '(document)' : e.path}: ${e.reason}`);
  });
});

describe('bad catalogue files', () => {
  const cases: Array<[caseName: string, file: string, path: string, reason: RegExp]> = [
    ['block-id-prefix', 'mini.yaml', 'blocks[0].blocks[0].id', /must start with "mini\."/],
    ['block-id-twice', 'mini.yaml', 'blocks[0].blocks[0].id', /"mini.row" is defined twice/],
    ['bad-cardinality', 'mini.yaml', 'blocks[0].blocks[0].cardinality', /"many"\|"optional"/],
    ['field-twice', 'mini.yaml', 'blocks[0].fields[2]', /"rowId" is listed twice/],
    ['filter-unknown-block', 'mini.yaml', 'filters.period[0].block', /"mini.rows" is not defined/],
    ['filter-unknown-field', 'mini.yaml', 'filters.period[0].to', /"stopDate" is not a field of block mini.row/],
    ['filter-on-optional-block', 'mini.yaml', 'filters.period[0].block', /not a "many" block/],
    ['employer-without-kinds', 'mini.yaml', 'keys.employer.kinds', /which kinds/],
    ['file-name', 'maxi.yaml', 'service', /must be named mini\.yaml/],
    ['service-twice', 'mini.yml', 'service', /"mini" is already defined in .*mini\.yaml/],
  ];

  it.each(cases)('%s: names %s, the path and the reason', (caseName, file, path, reason) => {
    const e = configError(() => loadCatalogue(join(BAD, 'catalogue', caseName)));
    expect(e.file).toBe(join(BAD, 'catalogue', caseName, file));
    expect(e.path).toBe(path);
    expect(e.reason).toMatch(reason);
  });

  const schemaCases: Array<[caseName: string, path: string, reason: RegExp]> = [
    ['schema-not-nullable', 'rows[].detail.note', /must be \["null", …\] with default null/],
    ['schema-missing-block', 'rows[].detail', /declares "detail" but the schema has no such field/],
    ['schema-cardinality', 'rows[].detail', /block mini.detail is "optional": expected \["null", <inline record>\]/],
    ['schema-extra-field', 'rows[].salary', /"salary" of block mini.row is neither a field nor a child block/],
    ['schema-namespace', 'namespace', /be\.bcss\.gateway\.payload/],
  ];

  it.each(schemaCases)('%s: the payload schema disagrees with the catalogue — names the .avsc file, the path and the reason', (caseName, path, reason) => {
    const dir = join(BAD, 'catalogue', caseName);
    const e = configError(() => loadCatalogue(dir, { schemasDir: join(dir, 'schemas') }));
    expect(e.file).toBe(join(dir, 'schemas', 'mini-payload.avsc'));
    expect(e.path).toBe(path);
    expect(e.reason).toMatch(reason);
    expect(e.reason).toContain('mini.yaml');
  });

  it('a schema file that cannot be read is named, from the catalogue file that refers to it', () => {
    const e = configError(() => loadCatalogue(join(GOOD, 'catalogue'), { schemasDir: join(BAD, 'no-such-folder') }));
    expect(e.file).toBe(join(GOOD, 'catalogue', 'mini.yaml'));
    expect(e.path).toBe('schema');
  });
});

describe('formatPath', () => {
  it('writes indexes in brackets and keys with dots', () => {
    expect(formatPath(['versions', 1, 'services', 0, 'blocks', 2])).toBe('versions[1].services[0].blocks[2]');
    expect(formatPath([])).toBe('');
    expect(formatPath([0, 'a'])).toBe('[0].a');
  });
});
