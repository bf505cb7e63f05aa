/**
 * The shape of a service file in `config/catalogue/` (one service per file, named `<service>.yaml`).
 * Only the shape: cross-checks (ids, paths, filters, the Avro schema) are in `load-catalogue.ts`.
 */
import { z } from 'zod';

export const IDENTIFIER = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;
export const BLOCK_ID = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*\.[a-z0-9]+(?:-[a-z0-9]+)*$/;
const FIELD_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const FIELD_PATH = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*$/;

export const Identifier = z.string().regex(IDENTIFIER, 'must be lowercase kebab-case, e.g. "onss" or "bcss-registers"');
export const BlockIdText = z.string().regex(BLOCK_ID, 'a block id is "<service>.<kebab-name>", e.g. "dmfa.occupation"');
const FieldName = z.string().regex(FIELD_NAME, 'a field name is an identifier, e.g. "startDate"');
const FieldPath = z.string().regex(FIELD_PATH, 'a field path is dotted identifiers, e.g. "occupation.inDate"');
const Presence = z.enum(['required', 'optional', 'none']);
export const EmployerKindText = z.enum(['ENTERPRISE', 'ONSS', 'ONSS_PROVISIONAL']);

export interface BlockYaml {
  id: string;
  number: number | null;
  label: string;
  path: string;
  cardinality: 'many' | 'optional';
  technical: boolean;
  keyFields: string[];
  fields: string[];
  blocks: BlockYaml[];
}

export const BlockSchema: z.ZodType<BlockYaml, unknown> = z.lazy(() =>
  z.strictObject({
    id: BlockIdText,
    number: z.number().int().positive().nullable().default(null),
    label: z.string().min(1),
    path: FieldName,
    cardinality: z.enum(['many', 'optional']),
    technical: z.boolean().default(false),
    keyFields: z.array(FieldName).default([]),
    fields: z.array(FieldName).default([]),
    blocks: z.array(BlockSchema).default([]),
  }),
);

const EmployerMatcherSchema = z.union([
  z.strictObject({ kind: EmployerKindText, path: FieldPath }),
  z.strictObject({ kindPath: FieldPath, idPath: FieldPath }),
]);

const PeriodFilterSchema = z.union([
  z.strictObject({ block: BlockIdText, quarter: FieldPath }),
  z.strictObject({ block: BlockIdText, from: FieldPath, to: FieldPath.optional() }),
]);

export const ServiceFileSchema = z.strictObject({
  service: Identifier,
  title: z.string().min(1),
  source: Identifier,
  mode: z.enum(['consultation', 'batch']).default('consultation'),
  schema: z.string().regex(/^[a-z0-9-]+\.avsc$/, 'the payload schema file name, e.g. "dmfa-payload.avsc"'),
  keys: z.strictObject({
    niss: Presence,
    employer: z.strictObject({ presence: Presence, kinds: z.array(EmployerKindText).default([]) }),
    period: Presence,
    employerCategory: Presence.default('none'),
  }),
  directory: z.strictObject({
    person: z.enum(['required', 'none']),
    employerLink: Presence.default('none'),
    minPhase: z.number().int().min(0).nullable().default(null),
  }),
  mutations: z.strictObject({ emitted: z.boolean() }),
  root: z.strictObject({ fields: z.array(FieldName).default([]) }).default({ fields: [] }),
  blocks: z.array(BlockSchema).min(1),
  filters: z
    .strictObject({
      employer: z.array(z.strictObject({ block: BlockIdText, matchers: z.array(EmployerMatcherSchema).min(1) })).default([]),
      employerCategory: z.array(z.strictObject({ block: BlockIdText, path: FieldPath })).default([]),
      period: z.array(PeriodFilterSchema).default([]),
      interim: z.array(z.strictObject({ block: BlockIdText, child: FieldName })).default([]),
    })
    .default({ employer: [], employerCategory: [], period: [], interim: [] }),
  notes: z.string().nullable().default(null),
});

export type ServiceFile = z.output<typeof ServiceFileSchema>;
