/**
 * Loads the deliberations from a folder of YAML files (one per deliberation, named after its number:
 * `19-104-onss-iriscare.yaml` holds 19/104), validates each against `authorization-schema.ts` and
 * cross-checks it against the catalogue and itself:
 *
 * - every service exists, its source is the catalogue's, every block exists in that service, is named
 *   once and is not technical (technical blocks need no authorization), mutations are granted only for
 *   a service that emits them;
 * - versions have unique ids, `from ≤ until`, are in date order and do not overlap; the first version
 *   lists its services; later versions inherit what they do not change;
 * - intermediaries are not the requester and are named once; deliberation numbers are unique.
 *
 * Fails with a ConfigError naming the file, the path inside it and the reason.
 */
import { ancestorsOf, fieldsOf, resolvesToField, type BlockId, type Catalogue, type ServiceDefinition } from '../domain/catalogue.js';
import type { Deliberation, DeliberationVersion, FieldGrant, RowCondition, ServiceGrant } from '../domain/deliberation.js';
import type { Retention } from '../domain/retention.js';
import { DeliberationFileSchema, type DeliberationFile } from './authorization-schema.js';
import { ConfigError } from './config-error.js';
import { readYamlFolder, validateWith } from './yaml-source.js';

export function loadAuthorizations(dir: string, catalogue: Catalogue): Deliberation[] {
  const result: Deliberation[] = [];
  const fileOf = new Map<string, string>();
  for (const source of readYamlFolder(dir)) {
    const deliberation = buildDeliberation(source.file, source.stem, source.data, catalogue);
    const earlier = fileOf.get(deliberation.number);
    if (earlier !== undefined) {
      throw new ConfigError(source.file, 'number', `deliberation ${deliberation.number} is already defined in ${earlier}`);
    }
    fileOf.set(deliberation.number, source.file);
    result.push(deliberation);
  }
  return result;
}

type GrantFile = NonNullable<DeliberationFile['versions'][number]['services']>[number];

/** Validates and cross-checks one deliberation file's content. */
export function buildDeliberation(file: string, stem: string, data: unknown, catalogue: Catalogue): Deliberation {
  const yaml = validateWith(DeliberationFileSchema, file, data);
  const fail = (path: string, reason: string): never => {
    throw new ConfigError(file, path, reason);
  };

  const prefix = yaml.number.replace('/', '-');
  if (stem !== prefix && !stem.startsWith(`${prefix}-`)) {
    fail('number', `the file of deliberation ${yaml.number} must be named ${prefix}-<words>.yaml`);
  }

  const relays = new Set<string>();
  yaml.intermediaries.forEach((i, n) => {
    if (i.institution === yaml.requester) fail(`intermediaries[${n}].institution`, 'the requester cannot be its own intermediary');
    if (relays.has(i.institution)) fail(`intermediaries[${n}].institution`, `intermediary "${i.institution}" is listed twice`);
    relays.add(i.institution);
  });

  const checkGrants = (grants: readonly GrantFile[], at: string): ServiceGrant[] => {
    const services = new Set<string>();
    return grants.map((g, i) => {
      const p = `${at}.services[${i}]`;
      const service = catalogue.services.get(g.service);
      if (!service) return fail(`${p}.service`, `service "${g.service}" is not in the catalogue`);
      if (services.has(g.service)) fail(`${p}.service`, `service "${g.service}" is listed twice in this version`);
      services.add(g.service);
      if (g.source !== service.source) {
        fail(`${p}.source`, `service "${g.service}" comes from "${service.source}", not "${g.source}"`);
      }
      const { blocks, fields } = checkBlockGrants(g, service, p, fail);
      const rows = g.rows.map((r, j) => checkRowCondition(r, service, `${p}.rows[${j}]`, fail));
      if (g.mutations.pushed && !service.emitsMutations) {
        fail(`${p}.mutations`, `service "${g.service}" emits no mutations`);
      }
      return {
        service: g.service,
        source: g.source,
        blocks,
        fields,
        rows,
        periodFrom: g.periodFrom,
        includesFutureFieldsOfBlocks: g.includesFutureFieldsOfBlocks,
        mutations: g.mutations.pushed ? { pushed: true, form: g.mutations.form } : { pushed: false },
        keys: g.keys,
        integration: g.integration,
        paragraphs: g.paragraphs,
        note: g.note,
      };
    });
  };

  const versions: DeliberationVersion[] = [];
  const ids = new Set<string>();
  let purposeText = yaml.purpose.text;
  let legalBasis = yaml.legalBasis;
  let retention: Retention = yaml.retention;
  let services: ServiceGrant[] | null = null;
  yaml.versions.forEach((v, i) => {
    const p = `versions[${i}]`;
    if (ids.has(v.id)) fail(`${p}.id`, `version id "${v.id}" is used twice`);
    ids.add(v.id);
    const { from, until } = v.inForce;
    if (until !== null && until < from) fail(`${p}.inForce.until`, `ends (${until}) before it starts (${from})`);
    const previous = versions[versions.length - 1];
    if (previous) {
      if (from <= previous.inForce.from) {
        fail(`${p}.inForce.from`, `versions must be in date order: ${from} is not after ${previous.id}'s start ${previous.inForce.from}`);
      }
      if (previous.inForce.to === null || previous.inForce.to >= from) {
        fail(
          `${p}.inForce.from`,
          `overlaps version ${previous.id} (in force ${previous.inForce.from}..${previous.inForce.to ?? 'open'}); end it before ${from}`,
        );
      }
    }
    if (v.services) services = checkGrants(v.services, p);
    else if (services === null) fail(`${p}.services`, 'the first version must list the services it authorizes');
    purposeText = v.purposeText ?? purposeText;
    legalBasis = v.legalBasis ?? legalBasis;
    retention = v.retention ?? retention;
    versions.push({
      id: v.id,
      decidedOn: v.decidedOn,
      inForce: { from, to: until },
      purposeText,
      legalBasis,
      retention,
      services: services as ServiceGrant[],
      note: v.note,
    });
  });

  return {
    number: yaml.number,
    file,
    title: yaml.title,
    reference: yaml.reference,
    committee: yaml.committee,
    viaBcss: yaml.viaBcss,
    requester: yaml.requester,
    onwardRecipients: yaml.onwardRecipients,
    intermediaries: yaml.intermediaries.map((i) => ({ institution: i.institution, mayUseData: i.mayUseData, mandatory: i.mandatory })),
    purpose: yaml.purpose,
    logging: yaml.logging,
    access: yaml.access,
    consultationOnly: yaml.consultationOnly,
    versions,
  };
}

type Fail = (path: string, reason: string) => never;

/**
 * The blocks of a grant and the fields granted of each. Fail closed: a bare block id (granted whole) is
 * accepted only where the text covers whole blocks with their future fields (13/126); a field list in
 * such a grant is ambiguous and refused; a listed field must be one the catalogue knows; in a field-level
 * grant every functional ancestor of a granted block is granted too, so that no key of an ungranted
 * block is delivered to reach it.
 */
function checkBlockGrants(
  g: GrantFile,
  service: ServiceDefinition,
  p: string,
  fail: Fail,
): { blocks: BlockId[]; fields: Record<BlockId, FieldGrant> } {
  const blocks: BlockId[] = [];
  const fields: Record<BlockId, FieldGrant> = {};
  g.blocks.forEach((entry, j) => {
    const at = `${p}.blocks[${j}]`;
    const id = typeof entry === 'string' ? entry : entry.block;
    const block = service.blocks.get(id);
    if (!block) return fail(typeof entry === 'string' ? at : `${at}.block`, `block "${id}" does not exist in service "${g.service}"`);
    if (block.technical) fail(at, `block "${id}" is technical: it needs no authorization, do not list it`);
    if (id in fields) fail(at, `block "${id}" is listed twice`);
    if (typeof entry === 'string') {
      if (!g.includesFutureFieldsOfBlocks) {
        fail(
          at,
          `block "${id}" is granted without a field list: a block is granted whole only where the deliberation says so ` +
            '(includesFutureFieldsOfBlocks, deliberation 13/126); list the fields the text names',
        );
      }
      fields[id] = 'all';
    } else {
      if (g.includesFutureFieldsOfBlocks) {
        fail(
          `${at}.fields`,
          `block "${id}" lists fields in a grant that covers whole blocks and their future fields ` +
            '(includesFutureFieldsOfBlocks): ambiguous — drop the list or the flag',
        );
      }
      const known = new Set(fieldsOf(block));
      const seen = new Set<string>();
      entry.fields.forEach((f, k) => {
        if (!known.has(f)) fail(`${at}.fields[${k}]`, `"${f}" is not a field of block ${id} (its fields: ${[...known].join(', ')})`);
        if (seen.has(f)) fail(`${at}.fields[${k}]`, `field "${f}" is listed twice`);
        seen.add(f);
      });
      fields[id] = [...entry.fields];
    }
    blocks.push(id);
  });
  if (!g.includesFutureFieldsOfBlocks) {
    g.blocks.forEach((entry, j) => {
      const id = typeof entry === 'string' ? entry : entry.block;
      for (const ancestor of ancestorsOf(service, id)) {
        if (service.blocks.get(ancestor)?.technical || ancestor in fields) continue;
        fail(
          `${p}.blocks[${j}]`,
          `block "${id}" is granted but its parent block "${ancestor}" is not: grant the fields of ${ancestor} the text names, ` +
            'or its rows (and so this block) cannot be delivered without fields the deliberation does not name',
        );
      }
    });
  }
  return { blocks, fields };
}

function checkRowCondition(r: GrantFile['rows'][number], service: ServiceDefinition, at: string, fail: Fail): RowCondition {
  const block = service.blocks.get(r.block);
  if (!block) return fail(`${at}.block`, `block "${r.block}" does not exist in service "${service.id}"`);
  if (block.cardinality !== 'many') fail(`${at}.block`, `block "${r.block}" is not a "many" block: a row condition withholds rows`);
  const field = (key: string, path: string): void => {
    if (!resolvesToField(service, r.block, path)) fail(`${at}.${key}`, `"${path}" is not a field of block ${r.block} (or of an optional child)`);
  };
  if ('oneOf' in r) {
    field('field', r.field);
    return { kind: 'one-of', block: r.block, path: r.field, values: r.oneOf, paragraphs: r.paragraphs, label: r.label };
  }
  if ('onOrAfter' in r) {
    field('field', r.field);
    return { kind: 'date-on-or-after', block: r.block, path: r.field, date: r.onOrAfter, paragraphs: r.paragraphs, label: r.label };
  }
  field('ageAtLeast.birthDate', r.ageAtLeast.birthDate);
  field('ageAtLeast.on', r.ageAtLeast.on);
  return {
    kind: 'age-at-least',
    block: r.block,
    birthDatePath: r.ageAtLeast.birthDate,
    onDatePath: r.ageAtLeast.on,
    years: r.ageAtLeast.years,
    paragraphs: r.paragraphs,
    label: r.label,
  };
}
