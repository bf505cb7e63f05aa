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
import type { Catalogue } from '../domain/catalogue.js';
import type { Deliberation, DeliberationVersion, ServiceGrant } from '../domain/deliberation.js';
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
      const blocks = new Set<string>();
      g.blocks.forEach((id, j) => {
        const block = service.blocks.get(id);
        if (!block) fail(`${p}.blocks[${j}]`, `block "${id}" does not exist in service "${g.service}"`);
        else if (block.technical) fail(`${p}.blocks[${j}]`, `block "${id}" is technical: it needs no authorization, do not list it`);
        if (blocks.has(id)) fail(`${p}.blocks[${j}]`, `block "${id}" is listed twice`);
        blocks.add(id);
      });
      if (g.mutations.pushed && !service.emitsMutations) {
        fail(`${p}.mutations`, `service "${g.service}" emits no mutations`);
      }
      return {
        service: g.service,
        source: g.source,
        blocks: g.blocks,
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
    versions,
  };
}
