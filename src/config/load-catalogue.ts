/**
 * Loads the service catalogue from a folder of YAML files (one service per file, `<service>.yaml`),
 * validates each against `catalogue-schema.ts`, cross-checks it (block ids unique and prefixed with the
 * service, paths unique among siblings, fields not repeated, filters on existing `many` blocks with
 * paths that resolve to known fields) and, when given the schemas folder, against its Avro payload
 * schema (`check-catalogue-schema.ts`). Fails with a ConfigError naming file, path and reason.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type {
  BlockDefinition,
  BlockId,
  Catalogue,
  EmployerMatcher,
  PeriodFilter,
  ServiceDefinition,
  ServiceId,
} from '../domain/catalogue.js';
import type { BlockYaml } from './catalogue-schema.js';
import { ServiceFileSchema } from './catalogue-schema.js';
import { checkServiceSchema } from './check-catalogue-schema.js';
import { ConfigError } from './config-error.js';
import { readYamlFolder, validateWith } from './yaml-source.js';

export interface LoadCatalogueOptions {
  /** The folder of `.avsc` payload schemas; when given, every service is checked against its schema. */
  readonly schemasDir?: string;
}

export function loadCatalogue(dir: string, options: LoadCatalogueOptions = {}): Catalogue {
  const services = new Map<ServiceId, ServiceDefinition>();
  const fileOf = new Map<ServiceId, string>();
  for (const source of readYamlFolder(dir)) {
    const service = buildService(source.file, source.stem, source.data);
    const earlier = fileOf.get(service.id);
    if (earlier !== undefined) throw new ConfigError(source.file, 'service', `service "${service.id}" is already defined in ${earlier}`);
    if (options.schemasDir !== undefined) {
      const schemaFile = join(options.schemasDir, service.schemaFile);
      let schema: unknown;
      try {
        schema = JSON.parse(readFileSync(schemaFile, 'utf8'));
      } catch (cause) {
        throw new ConfigError(source.file, 'schema', `cannot read the payload schema ${schemaFile}: ${(cause as Error).message}`, { cause });
      }
      checkServiceSchema(schemaFile, source.file, service, schema);
    }
    services.set(service.id, service);
    fileOf.set(service.id, source.file);
  }
  return { services };
}

/** Validates and cross-checks one service file's content. */
export function buildService(file: string, stem: string, data: unknown): ServiceDefinition {
  const yaml = validateWith(ServiceFileSchema, file, data);
  const fail = (path: string, reason: string): never => {
    throw new ConfigError(file, path, reason);
  };
  if (stem !== yaml.service) fail('service', `the file of service "${yaml.service}" must be named ${yaml.service}.yaml`);

  const blocks = new Map<BlockId, BlockDefinition>();
  const children = new Map<BlockId, BlockId[]>();

  const checkNames = (at: string, names: readonly { list: readonly string[]; key: string }[], childPaths: readonly string[]): void => {
    const seen = new Set<string>();
    for (const { list, key } of names) {
      list.forEach((name, i) => {
        if (seen.has(name)) fail(`${at}${key}[${i}]`, `field "${name}" is listed twice`);
        seen.add(name);
      });
    }
    childPaths.forEach((p) => {
      if (seen.has(p)) fail(at === '' ? 'blocks' : `${at}blocks`, `child block path "${p}" is also a field name`);
    });
  };

  const walk = (list: readonly BlockYaml[], parent: BlockId | null, at: string): BlockId[] => {
    const ids: BlockId[] = [];
    const paths = new Set<string>();
    list.forEach((b, i) => {
      const p = `${at}blocks[${i}]`;
      if (!b.id.startsWith(`${yaml.service}.`)) fail(`${p}.id`, `block id "${b.id}" must start with "${yaml.service}."`);
      if (blocks.has(b.id)) fail(`${p}.id`, `block id "${b.id}" is defined twice`);
      if (paths.has(b.path)) fail(`${p}.path`, `two sibling blocks use the path "${b.path}"`);
      paths.add(b.path);
      checkNames(`${p}.`, [{ list: b.keyFields, key: 'keyFields' }, { list: b.fields, key: 'fields' }], b.blocks.map((c) => c.path));
      const def: BlockDefinition = {
        id: b.id,
        number: b.number,
        label: b.label,
        path: b.path,
        cardinality: b.cardinality,
        technical: b.technical,
        keyFields: b.keyFields,
        fields: b.fields,
        parent,
        children: [],
      };
      blocks.set(b.id, def);
      ids.push(b.id);
      children.set(b.id, walk(b.blocks, b.id, `${p}.`));
    });
    return ids;
  };
  checkNames('root.', [{ list: yaml.root.fields, key: 'fields' }], yaml.blocks.map((b) => b.path));
  const topBlocks = walk(yaml.blocks, null, '');
  for (const [id, def] of blocks) blocks.set(id, { ...def, children: children.get(id) ?? [] });

  /** A dotted path from a row: through optional child blocks, ending on a field. */
  const resolves = (blockId: BlockId, path: string): boolean => {
    let block = blocks.get(blockId);
    const parts = path.split('.');
    for (let i = 0; i < parts.length && block; i++) {
      const part = parts[i] as string;
      const last = i === parts.length - 1;
      if (last) return block.keyFields.includes(part) || block.fields.includes(part);
      const next: BlockDefinition | undefined = block.children.map((c) => blocks.get(c)).find((c) => c?.path === part);
      if (!next || next.cardinality !== 'optional') return false;
      block = next;
    }
    return false;
  };
  const rowBlock = (path: string, id: BlockId): void => {
    const b = blocks.get(id);
    if (!b) fail(path, `block "${id}" is not defined in this service`);
    else if (b.cardinality !== 'many') fail(path, `block "${id}" is not a "many" block: a filter drops rows`);
  };
  const fieldPath = (path: string, block: BlockId, field: string): void => {
    if (!resolves(block, field)) fail(path, `"${field}" is not a field of block ${block} (or of an optional child)`);
  };

  const employer = yaml.filters.employer.map((f, i) => {
    const at = `filters.employer[${i}]`;
    rowBlock(`${at}.block`, f.block);
    const matchers: EmployerMatcher[] = f.matchers.map((m, j) => {
      if ('path' in m) {
        fieldPath(`${at}.matchers[${j}].path`, f.block, m.path);
        return { kind: m.kind, path: m.path };
      }
      fieldPath(`${at}.matchers[${j}].kindPath`, f.block, m.kindPath);
      fieldPath(`${at}.matchers[${j}].idPath`, f.block, m.idPath);
      return { kindPath: m.kindPath, idPath: m.idPath };
    });
    return { block: f.block, matchers };
  });
  const employerCategory = yaml.filters.employerCategory.map((f, i) => {
    rowBlock(`filters.employerCategory[${i}].block`, f.block);
    fieldPath(`filters.employerCategory[${i}].path`, f.block, f.path);
    return { block: f.block, path: f.path };
  });
  const period = yaml.filters.period.map((f, i): PeriodFilter => {
    const at = `filters.period[${i}]`;
    rowBlock(`${at}.block`, f.block);
    if ('quarter' in f) {
      fieldPath(`${at}.quarter`, f.block, f.quarter);
      return { block: f.block, quarterPath: f.quarter };
    }
    fieldPath(`${at}.from`, f.block, f.from);
    if (f.to !== undefined) fieldPath(`${at}.to`, f.block, f.to);
    return { block: f.block, fromPath: f.from, toPath: f.to ?? null };
  });
  const interim = yaml.filters.interim.map((f, i) => {
    rowBlock(`filters.interim[${i}].block`, f.block);
    const child = blocks.get(f.block)?.children.map((c) => blocks.get(c)).find((c) => c?.path === f.child);
    if (!child || child.cardinality !== 'optional') {
      fail(`filters.interim[${i}].child`, `"${f.child}" is not an optional child block of ${f.block}`);
    }
    return { block: f.block, childPath: f.child };
  });
  if (yaml.keys.employer.presence !== 'none' && yaml.keys.employer.kinds.length === 0) {
    fail('keys.employer.kinds', 'a service that takes an employer must say which kinds of employer id');
  }

  return {
    id: yaml.service,
    title: yaml.title,
    source: yaml.source,
    mode: yaml.mode,
    schemaFile: yaml.schema,
    keys: yaml.keys,
    directory: yaml.directory,
    emitsMutations: yaml.mutations.emitted,
    rootFields: yaml.root.fields,
    topBlocks,
    blocks,
    filters: { employer, employerCategory, period, interim },
    notes: yaml.notes,
  };
}
