/**
 * The shape of a deliberation file in `config/authorizations/` (one deliberation per file, named
 * `<nn>-<nnn>-<words>.yaml` after its number). Only the shape: cross-checks against the catalogue and
 * between versions are in `load-authorizations.ts`.
 *
 * A version lists only what its amendment changed (`purposeText`, `legalBasis`, `retention`,
 * `services`); what it omits is the previous version's (the first version's defaults are the
 * deliberation's top-level `purpose.text`, `legalBasis` and `retention`; it must list its services).
 */
import { z } from 'zod';
import { isIsoDate } from '../domain/period.js';
import { BlockIdText, Identifier } from './catalogue-schema.js';

export const IsoDateText = z
  .string()
  .refine(isIsoDate, 'must be a calendar date written YYYY-MM-DD (quote it if YAML reads it otherwise)');

export const DurationText = z
  .string()
  .regex(/^P(?=\d)(?:\d+Y)?(?:\d+M)?(?:\d+W)?(?:\d+D)?$/, 'must be an ISO 8601 date duration such as P3Y, P6M or P10Y');

const Paragraphs = z.string().min(1);

const RetentionSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('duration'), duration: DurationText, paragraphs: Paragraphs, text: z.string().min(1) }),
  z.strictObject({ kind: z.literal('until-event'), event: Identifier, paragraphs: Paragraphs, text: z.string().min(1) }),
  z.strictObject({ kind: z.literal('no-storage'), paragraphs: Paragraphs, text: z.string().min(1) }),
  z.strictObject({ kind: z.literal('unspecified'), paragraphs: Paragraphs, text: z.string().min(1) }),
]);

const MutationsSchema = z.discriminatedUnion('pushed', [
  z.strictObject({ pushed: z.literal(false) }),
  z.strictObject({ pushed: z.literal(true), form: z.enum(['notification', 'blocks']), paragraphs: Paragraphs }),
]);

const Presence = z.enum(['required', 'optional', 'none']);

/**
 * A granted block: `{ block, fields }` names the fields the text grants (the usual case: 10/012 §7-8,
 * 19/010 §10-32 list them); a bare block id grants the block whole, which the loader accepts only in a
 * grant whose text covers whole blocks, current and future fields (`includesFutureFieldsOfBlocks`, 13/126).
 */
const BlockGrantSchema = z.union([
  BlockIdText,
  z.strictObject({
    block: BlockIdText,
    fields: z.array(z.string().min(1)).min(1),
    paragraphs: Paragraphs.optional(),
    note: z.string().optional(),
  }),
]);

const RowConditionSchema = z.union([
  z.strictObject({
    block: BlockIdText,
    field: z.string().min(1),
    oneOf: z.array(z.string().min(1)).min(1),
    label: z.string().min(1),
    paragraphs: Paragraphs,
  }),
  z.strictObject({
    block: BlockIdText,
    field: z.string().min(1),
    onOrAfter: IsoDateText,
    label: z.string().min(1),
    paragraphs: Paragraphs,
  }),
  z.strictObject({
    block: BlockIdText,
    ageAtLeast: z.strictObject({ years: z.number().int().positive(), birthDate: z.string().min(1), on: z.string().min(1) }),
    label: z.string().min(1),
    paragraphs: Paragraphs,
  }),
]);

const ServiceGrantSchema = z.strictObject({
  service: Identifier,
  source: Identifier,
  paragraphs: Paragraphs,
  blocks: z.array(BlockGrantSchema).min(1),
  includesFutureFieldsOfBlocks: z.boolean().default(false),
  rows: z.array(RowConditionSchema).default([]),
  periodFrom: z.strictObject({ date: IsoDateText, paragraphs: Paragraphs }).nullable().default(null),
  mutations: MutationsSchema.default({ pushed: false }),
  keys: z
    .strictObject({
      employer: Presence.nullable().default(null),
      period: Presence.nullable().default(null),
      employerCategoryForInterim: z.boolean().default(false),
    })
    .nullable()
    .default(null),
  integration: z
    .strictObject({
      sector: Identifier,
      capacity: z.string().min(1),
      minPhase: z.number().int().min(0).nullable().default(null),
      note: z.string().nullable().default(null),
    })
    .nullable()
    .default(null),
  note: z.string().nullable().default(null),
});

const VersionSchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9.-]*$/, 'a version id is short lowercase text, e.g. "v1"'),
  decidedOn: IsoDateText,
  inForce: z.strictObject({ from: IsoDateText, until: IsoDateText.nullable().default(null) }),
  purposeText: z.string().min(1).optional(),
  legalBasis: z.string().min(1).optional(),
  retention: RetentionSchema.optional(),
  services: z.array(ServiceGrantSchema).min(1).optional(),
  note: z.string().nullable().default(null),
});

const LogField = z.enum(['time', 'purpose', 'subject', 'requester', 'agent', 'data']);

export const DeliberationFileSchema = z.strictObject({
  number: z.string().regex(/^\d{2}\/\d{3}$/, 'a deliberation number is written "nn/nnn", e.g. "19/104"'),
  title: z.string().min(1),
  reference: z.string().min(1),
  committee: z.string().min(1),
  viaBcss: z.boolean(),
  requester: Identifier,
  onwardRecipients: z.array(Identifier).default([]),
  intermediaries: z
    .array(
      z.strictObject({
        institution: Identifier,
        mayUseData: z.boolean(),
        mandatory: z.boolean().default(false),
        paragraphs: Paragraphs,
      }),
    )
    .default([]),
  purpose: z.strictObject({ code: Identifier, text: z.string().min(1) }),
  legalBasis: z.string().min(1),
  retention: RetentionSchema,
  logging: z.strictObject({
    minimumRetention: DurationText.nullable().default(null),
    switchLogs: z.array(LogField).default([]),
    requesterLogs: z.array(LogField).default([]),
    readableBy: z.array(z.string().min(1)).default([]),
    paragraphs: Paragraphs,
    text: z.string().min(1),
  }),
  access: z
    .strictObject({
      roles: z.array(z.string().min(1)).min(1),
      maxUsers: z.number().int().positive().nullable().default(null),
      paragraphs: Paragraphs,
      duties: z.array(z.strictObject({ duty: z.string().min(1), paragraphs: Paragraphs })).default([]),
    })
    .nullable()
    .default(null),
  consultationOnly: z.strictObject({ paragraphs: Paragraphs, text: z.string().min(1) }).nullable().default(null),
  versions: z.array(VersionSchema).min(1),
});

export type DeliberationFile = z.output<typeof DeliberationFileSchema>;
