/**
 * What the pipeline tests share: the switch's real configuration (catalogue, deliberations and
 * institutions of config/) and Avro codec (schemas/), its topic names, one fixed clock, the stores in
 * memory (src/store/memory-stores.ts), messages as the broker hands them to a transform, and the
 * transform's output records decoded with the schema their header names.
 *
 * The transforms run exactly as the transactional pipeline runs them, minus Kafka and Redis: what they
 * return is what would be committed in one transaction with the consumed offsets.
 */
import { expect } from 'vitest';
import { loadInstitutions, type Institutions } from '../../../src/config/load-institutions.js';
import { payloadRecordNames } from '../../../src/config/payload-records.js';
import { DEFAULT_CONFIG_DIR, SCHEMA_DIR } from '../../../src/config/project-paths.js';
import type { Integration } from '../../../src/domain/directory.js';
import type { ExchangeRules } from '../../../src/domain/exchange.js';
import type { EmployerRef } from '../../../src/domain/types.js';
import type { AuditRecordValue } from '../../../src/contract/audit-records.js';
import type { DeadLetterRecord } from '../../../src/contract/dead-letters.js';
import type {
  ExchangeTimeoutRecord,
  ReplyRecord,
  RequestRecord,
  SourceReplyRecord,
  SourceRequestRecord,
} from '../../../src/contract/exchange-records.js';
import type { MutationRecord } from '../../../src/contract/mutation-records.js';
import { EXCHANGE_RECORD, MUTATION_RECORD } from '../../../src/contract/names.js';
import { loadAvroCodec } from '../../../src/messaging/avro-codec.js';
import type { InMessage } from '../../../src/messaging/kafka-client.js';
import { topicNames } from '../../../src/messaging/topics.js';
import type { OutRecord } from '../../../src/messaging/transactional-pipeline.js';
import { realCatalogue, realIndex } from '../support/gateway-config.js';

export const codec = loadAvroCodec(SCHEMA_DIR);
export const topics = topicNames('bcss');
export const catalogue = realCatalogue();
export const rules: ExchangeRules = { catalogue, authorizations: realIndex() };
export const payloadRecords = payloadRecordNames(catalogue, SCHEMA_DIR);
export const institutions: Institutions = loadInstitutions(DEFAULT_CONFIG_DIR);

/**
 * The switch's "now" in every test: a working day in 2024, when the seed deliberations' current
 * versions are in force and the fixtures' periods lie in the past.
 */
export const NOW = Date.parse('2024-09-02T10:00:00.000Z');
export const TODAY = '2024-09-02';
export const clock = (): number => NOW;

/** How long a source has to answer, as the gateway's default. */
export const SOURCE_TIMEOUT_MS = 30_000;

// ---------------------------------------------------------------------------------------------------
// Who is who, read from config/institutions.yaml rather than assumed

/** The institution that relays for `beneficiary` (10/012: MAGDA for VAPH). */
export function relayFor(beneficiary: string): string {
  const relays = institutions.institutions.filter((i) => i.relaysFor.includes(beneficiary));
  expect(relays, `exactly one relay for ${beneficiary} in institutions.yaml`).toHaveLength(1);
  return (relays[0] as (typeof relays)[number]).id;
}

// ---------------------------------------------------------------------------------------------------
// The people and employers of the payload fixtures (test/fixtures/payloads)

/** The worker of dmfa.json and identification.json. */
export const WORKER = '85073003328';
/**
 * Employer A of dmfa.json (declarations 2023Q4, 2024Q1, 2024Q2) and dimona.json, by its enterprise
 * number: the fixtures' ONSS numbers are made up and do not pass the check digits the switch verifies.
 */
export const EMPLOYER_A: EmployerRef = { kind: 'ENTERPRISE', id: '0412345614' };
/** Employer B of dmfa.json: a temporary-work agency, 2024Q1. */
export const EMPLOYER_B: EmployerRef = { kind: 'ENTERPRISE', id: '0876543270' };

/** One reference-directory line, as the directory writer would have stored it. */
export function line(
  institution: string,
  niss: string,
  capacity: string,
  from: string,
  to: string | null,
  employer?: EmployerRef,
): Integration {
  return {
    niss,
    institution,
    capacity,
    phase: 1,
    period: { from, to },
    ...(employer ? { employer } : {}),
    updatedAt: '2024-01-15T09:00:00.000Z',
  };
}

// ---------------------------------------------------------------------------------------------------
// Messages in

let nextOffset = 1000;

export interface MessageOptions {
  readonly key?: string | null;
  readonly partition?: number;
  /** Default: a fresh offset, so that every message has its own ticket. */
  readonly offset?: number;
  /** When the producer published it (ms); default NOW. */
  readonly timestamp?: number;
  readonly headers?: Readonly<Record<string, string>>;
}

/** A message as the consumer hands it over. */
export function inMessage(topic: string, value: Buffer | null, options: MessageOptions = {}): InMessage {
  return {
    topic,
    partition: options.partition ?? 0,
    offset: String(options.offset ?? nextOffset++),
    key: options.key === null || options.key === undefined ? null : Buffer.from(options.key),
    value,
    headers: options.headers ?? {},
    timestamp: String(options.timestamp ?? NOW),
  };
}

export function requestRecord(fields: Partial<RequestRecord> & Pick<RequestRecord, 'requester' | 'service'>): RequestRecord {
  return {
    requestId: `req-${nextOffset}`,
    onBehalfOf: null,
    purpose: null,
    subjectNiss: '',
    employer: null,
    period: { from: '2024-01-01', to: '2024-06-30' },
    requestedBlocks: null,
    sentAt: NOW,
    ...fields,
  };
}

/** A request on its requester's requests topic (or `topic`), keyed by the NISS as the client library keys it. */
export function requestMessage(record: RequestRecord, topic = topics.requests(record.requester), options: MessageOptions = {}): InMessage {
  return inMessage(topic, codec.encode(EXCHANGE_RECORD.request, record), { key: record.subjectNiss || record.requester, ...options });
}

export function sourceReplyMessage(
  source: string,
  reply: Partial<SourceReplyRecord> & Pick<SourceReplyRecord, 'ticket' | 'status'>,
  options: MessageOptions = {},
): InMessage {
  const record: SourceReplyRecord = { newNiss: null, errorMessage: null, payload: null, answeredAt: NOW, ...reply };
  return inMessage(topics.sourceReplies(source), codec.encode(EXCHANGE_RECORD.sourceReply, record), options);
}

/** The sweeper's deadline event for an exchange. */
export function timeoutMessage(ticket: string, deadline = NOW): InMessage {
  const record: ExchangeTimeoutRecord = { ticket, deadline, emittedAt: NOW };
  return inMessage(topics.exchangeTimeouts, codec.encode(EXCHANGE_RECORD.timeout, record), { key: ticket });
}

/** A service's payload in its single-object encoding, as a source puts it in its answer. */
export function payloadBytes(service: string, payload: unknown): Buffer {
  const recordName = payloadRecords.get(service);
  if (!recordName) throw new Error(`no payload record for ${service}`);
  return codec.encode(recordName, payload);
}

// ---------------------------------------------------------------------------------------------------
// Records out

export interface Out<T> {
  readonly topic: string;
  readonly key: string | null;
  readonly headers: Readonly<Record<string, string>>;
  readonly value: T;
}

export interface Outputs {
  readonly replies: Out<ReplyRecord>[];
  readonly audits: Out<AuditRecordValue>[];
  readonly deadLetters: Out<DeadLetterRecord>[];
  readonly sourceRequests: Out<SourceRequestRecord>[];
  readonly mutations: Out<MutationRecord>[];
}

/** The Avro record each `type` header announces: a record of another type fails the test. */
const RECORD_OF_TYPE = {
  reply: ['replies', EXCHANGE_RECORD.reply],
  audit: ['audits', EXCHANGE_RECORD.audit],
  'dead-letter': ['deadLetters', EXCHANGE_RECORD.deadLetter],
  'source-request': ['sourceRequests', EXCHANGE_RECORD.sourceRequest],
  mutation: ['mutations', MUTATION_RECORD.delivered],
} as const satisfies Record<string, readonly [keyof Outputs, string]>;

/** Every output record decoded with the schema its `type` header names (an unknown type fails). */
export function decodeOutputs(records: readonly OutRecord[]): Outputs {
  const out: { [K in keyof Outputs]: Array<Out<unknown>> } = { replies: [], audits: [], deadLetters: [], sourceRequests: [], mutations: [] };
  for (const r of records) {
    const type = r.headers?.type ?? '';
    expect(Object.keys(RECORD_OF_TYPE), `the type header of a record on ${r.topic}`).toContain(type);
    const [list, recordName] = RECORD_OF_TYPE[type as keyof typeof RECORD_OF_TYPE];
    expect(r.value, `the value of a ${type} record`).toBeInstanceOf(Buffer);
    out[list].push({
      topic: r.topic,
      key: r.key === null || r.key === undefined ? null : r.key.toString(),
      headers: r.headers ?? {},
      value: codec.decode(recordName, r.value as Buffer),
    });
  }
  return out as Outputs;
}

/** The one element of a list, failing with the list when there are none or several. */
export function only<T>(list: readonly T[], what: string): T {
  expect(list, `exactly one ${what}`).toHaveLength(1);
  return list[0] as T;
}

/** Every text inside a decoded value, for checking that none of a payload's values leaked into it. */
export function leafStrings(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (Buffer.isBuffer(value)) return out;
  else if (Array.isArray(value)) for (const v of value) leafStrings(v, out);
  else if (value !== null && typeof value === 'object') for (const v of Object.values(value)) leafStrings(v, out);
  return out;
}
