/**
 * `bcss audit export --niss N`: one person's audit records as a bundle an outsider verifies offline,
 * without this project and without seeing anyone else's records (docs/audit-format.md specifies it).
 * 10/012 §23: the logs are protected in their integrity and handed to the committee and the BCSS on
 * request — the bundle is that hand-over, with its proof.
 *
 * What it holds: the person's records exactly as Kafka stores them (key, value, headers), the seals
 * covering them, and per record the chain material from the record to its seal — the link just before
 * it and the digests (never the bytes) of the records after it up to the seal's last offset — plus the
 * public key and the Avro schemas the bytes were written with. A record the sealer has not reached yet is
 * in the bundle, marked NOT_YET_SEALED.
 *
 * How it reads: the person's one partition (as `audit search`, keys compared before anything is
 * decoded), but always from the partition's start, whatever --from says: the link before a record is
 * folded from its seal's first record, which only reading the whole interval gives. The seals are read
 * BEFORE the partition's end is taken, so every seal read covers records the read reaches.
 */
import { randomUUID, type KeyObject } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { AuditSealValue } from '../contract/audit-records.js';
import { AUDIT_SEAL_RECORD } from '../contract/names.js';
import { SCHEMA_DIR } from '../config/project-paths.js';
import type { AvroCodec } from '../messaging/avro-codec.js';
import { parseSchema, SINGLE_OBJECT_MARKER } from '../messaging/avro-codec.js';
import { fingerprintBytes } from '../messaging/crc64-avro.js';
import { readKeyPartition, type InMessage } from '../messaging/kafka-client.js';
import { clientIdPrefix } from '../messaging/topics.js';
import { AuditSearchTimeoutError, auditKeyOf, type AuditSearchOptions } from './audit-search.js';
import { publicKeyFromPem, publicKeyPem, SealKeyError } from './seal-key.js';
import { foldLinks, genesisLink, keyIdOf, recordDigest, sealSignatureValid, type SealAt } from './seal-chain.js';
import { readSeals, type UnreadableSeal } from './verify.js';

export const AUDIT_BUNDLE_FORMAT = 'bcss-audit-bundle-v1';

/** SEALED: covered by a seal of the bundle. NOT_YET_SEALED: after the partition's last seal. NOT_COVERED: before it, yet in no seal's interval. */
export type BundleRecordStatus = 'SEALED' | 'NOT_YET_SEALED' | 'NOT_COVERED';

export interface BundleChain {
  /** The covering seal's sequence (a seal of `seals`). */
  readonly seal: number;
  /** The record's place among the seal's digests, from 0. */
  readonly index: number;
  /** Hex link just before the record. */
  readonly previousLink: string;
  /** Hex digests of the records after it, up to the seal's last offset. */
  readonly following: readonly string[];
}

export interface BundleRecord {
  readonly partition: number;
  readonly offset: string;
  /** Base64; null when the message had none. */
  readonly key: string | null;
  readonly value: string | null;
  readonly headers: Readonly<Record<string, string>>;
  readonly status: BundleRecordStatus;
  readonly chain: BundleChain | null;
  /** Not evidence: a verifier recomputes all of it from the bytes. */
  readonly informative: {
    readonly digest: string;
    readonly brokerTimestamp: string;
    /** Hex fingerprint heading the value, a key of `schemas` when known. */
    readonly schema: string | null;
    readonly decoded: unknown;
    readonly decodeError?: string;
  };
}

export interface BundleSealFields {
  readonly partition: number;
  readonly sequence: number;
  readonly records: number;
  readonly firstOffset: number;
  readonly lastOffset: number;
  readonly previousLink: string;
  readonly link: string;
  readonly digests: readonly string[];
  readonly sealedAt: number;
  readonly keyId: string;
  readonly signature: string;
}

export interface BundleSeal {
  /** Offset in the seals topic. */
  readonly offset: string;
  /** The seal record's bytes (Avro single-object), base64. */
  readonly value: string;
  /** Those bytes decoded; byte fields in hex. */
  readonly fields: BundleSealFields;
}

export interface AuditBundle {
  readonly format: typeof AUDIT_BUNDLE_FORMAT;
  readonly exportedAt: string;
  readonly subject: { readonly niss: string };
  /** Bounds on the records' `at` (epoch ms), both included; null when open. */
  readonly window: { readonly from: number | null; readonly to: number | null };
  readonly source: {
    readonly topic: string;
    readonly sealsTopic: string;
    readonly partition: number;
    readonly partitions: number;
    readonly endOffset: string;
    readonly unreadableSeals: readonly UnreadableSeal[];
  };
  readonly publicKey: { readonly algorithm: 'Ed25519'; readonly spki: string; readonly keyId: string };
  /** Writer schemas (.avsc text) of the records and seals, by hex CRC-64-AVRO fingerprint. */
  readonly schemas: Readonly<Record<string, string>>;
  /** The sequence of the partition's last seal when exported (one of `seals`); null before any. */
  readonly lastSeal: number | null;
  readonly records: readonly BundleRecord[];
  readonly seals: readonly BundleSeal[];
}

/** A search's options (the person, the time bounds, the scan's bound and principal), with the key. */
export interface AuditExportOptions extends Pick<AuditSearchOptions, 'client' | 'codec' | 'topics' | 'niss' | 'from' | 'to' | 'timeoutMs' | 'principal'> {
  /** The key the seals verify with (as `audit verify` loads it): written into the bundle. */
  readonly publicKey: KeyObject;
  /** Where the .avsc files (and history/) are; default the project's schemas/. */
  readonly schemaDir?: string;
}

const DEFAULT_TIMEOUT_MS = 120_000;
const FINGERPRINT_END = SINGLE_OBJECT_MARKER.length + 8;

interface KnownSchema {
  readonly text: string;
  readonly type: ReturnType<typeof parseSchema>;
}

/** Every schema file, current and history, by the fingerprint its single-object bytes carry. */
function schemaCatalogue(schemaDir: string): Map<string, KnownSchema> {
  const catalogue = new Map<string, KnownSchema>();
  for (const folder of [schemaDir, join(schemaDir, 'history')]) {
    let names: string[];
    try {
      names = readdirSync(folder).filter((name) => name.endsWith('.avsc'));
    } catch {
      continue;
    }
    for (const name of names) {
      const text = readFileSync(join(folder, name), 'utf8');
      const type = parseSchema(JSON.parse(text));
      catalogue.set(fingerprintBytes(JSON.stringify(type.schema())).toString('hex'), { text, type });
    }
  }
  return catalogue;
}

function fingerprintOf(value: Buffer | null): string | null {
  if (value === null || value.length < FINGERPRINT_END || !value.subarray(0, 2).equals(SINGLE_OBJECT_MARKER)) return null;
  return value.subarray(2, FINGERPRINT_END).toString('hex');
}

/** JSON of a decoded Avro value: bytes and fixed as hex. */
function jsonView(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (_, v: unknown) => (isSerializedBuffer(v) ? Buffer.from(v.data).toString('hex') : v)));
}

function isSerializedBuffer(v: unknown): v is { type: 'Buffer'; data: number[] } {
  return typeof v === 'object' && v !== null && (v as { type?: unknown }).type === 'Buffer' && Array.isArray((v as { data?: unknown }).data);
}

function decodeWith(catalogue: Map<string, KnownSchema>, value: Buffer | null): { schema: string | null; decoded: unknown; decodeError?: string } {
  const schema = fingerprintOf(value);
  const known = schema === null ? undefined : catalogue.get(schema);
  if (!known || value === null) return { schema, decoded: null, decodeError: schema === null ? 'not Avro single-object bytes' : `no schema has fingerprint ${schema}` };
  try {
    return { schema, decoded: jsonView(known.type.fromBuffer(value.subarray(FINGERPRINT_END))) };
  } catch (error) {
    return { schema, decoded: null, decodeError: error instanceof Error ? error.message : String(error) };
  }
}

export function sealFields(seal: AuditSealValue): BundleSealFields {
  return {
    partition: seal.partition,
    sequence: seal.sequence,
    records: seal.records,
    firstOffset: seal.firstOffset,
    lastOffset: seal.lastOffset,
    previousLink: seal.previousLink.toString('hex'),
    link: seal.link.toString('hex'),
    digests: seal.digests.map((d) => d.toString('hex')),
    sealedAt: seal.sealedAt,
    keyId: seal.keyId,
    signature: seal.signature.toString('hex'),
  };
}

/** A record of the person waiting for the end of its seal's interval. */
interface Placed {
  readonly message: InMessage;
  readonly digest: Buffer;
  readonly index: number;
  readonly previousLink: Buffer;
}

export async function exportAuditBundle(options: AuditExportOptions): Promise<AuditBundle> {
  const niss = auditKeyOf(options.niss);
  if (niss === '') throw new Error('no NISS to export');
  const key = Buffer.from(niss, 'utf8');
  const from = options.from ?? null;
  const to = options.to ?? null;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const groupPrefix = clientIdPrefix(options.topics, options.principal ?? 'auditor');
  const catalogue = schemaCatalogue(options.schemaDir ?? SCHEMA_DIR);

  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(new AuditSearchTimeoutError(timeoutMs, null, null, null)), timeoutMs);
  const rawSeals = new Map<string, Buffer>();
  let read: Awaited<ReturnType<typeof readKeyPartition>>;
  let allSeals: SealAt[];
  let unreadableSeals: UnreadableSeal[];
  const records: BundleRecord[] = [];
  const usedSeals = new Set<SealAt>();
  try {
    ({ seals: allSeals, unreadable: unreadableSeals } = await readSeals({
      client: options.client,
      codec: options.codec,
      topic: options.topics.auditSeals,
      groupPrefix,
      timeoutMs,
      onMessage: (message) => void (message.value && rawSeals.set(message.offset, message.value)),
    }));
    let seals: SealAt[] = [];
    let s = 0;
    /** The current interval: digests read in it, the link after them, and the person's records in it. */
    let digests: Buffer[] = [];
    let link: Buffer | null = null;
    let placed: Placed[] = [];

    const wanted = (message: InMessage): boolean => message.key !== null && key.equals(message.key);
    const push = (message: InMessage, status: BundleRecordStatus, chain: BundleChain | null, digest: Buffer) => {
      const view = decodeWith(catalogue, message.value);
      const at = (view.decoded as { at?: unknown } | null)?.at;
      // A record that does not decode has no time to filter on: in the bundle, never left out.
      if (typeof at === 'number' && ((from !== null && at < from) || (to !== null && at > to))) return;
      records.push({
        partition: message.partition,
        offset: message.offset,
        key: message.key?.toString('base64') ?? null,
        value: message.value?.toString('base64') ?? null,
        headers: { ...message.headers },
        status,
        chain,
        informative: { digest: digest.toString('hex'), brokerTimestamp: message.timestamp, ...view },
      });
    };
    const closeInterval = () => {
      const at = seals[s] as SealAt;
      for (const p of placed) {
        usedSeals.add(at);
        const chain = {
          seal: at.seal.sequence,
          index: p.index,
          previousLink: p.previousLink.toString('hex'),
          following: digests.slice(p.index + 1).map((d) => d.toString('hex')),
        };
        push(p.message, 'SEALED', chain, p.digest);
      }
      digests = [];
      link = null;
      placed = [];
      s++;
    };

    read = await readKeyPartition(options.client, {
      topic: options.topics.audit,
      key,
      groupId: `${groupPrefix}audit-export.${randomUUID()}`,
      signal: deadline.signal,
      onStart({ partition }) {
        seals = allSeals.filter((at) => at.seal.partition === partition);
      },
      onBatch(messages) {
        for (const message of messages) {
          const offset = Number(message.offset);
          while (s < seals.length && (seals[s] as SealAt).seal.lastOffset < offset) closeInterval();
          const current = seals[s];
          const inInterval = current !== undefined && offset >= current.seal.firstOffset;
          if (!inInterval && !wanted(message)) continue;
          const digest = recordDigest(message);
          if (!inInterval) {
            push(message, current === undefined ? 'NOT_YET_SEALED' : 'NOT_COVERED', null, digest);
            continue;
          }
          link ??= current.seal.previousLink;
          if (wanted(message)) placed.push({ message, digest, index: digests.length, previousLink: link });
          digests.push(digest);
          link = foldLinks(link, [digest]);
        }
      },
    });
    while (s < seals.length) closeInterval();
    const last = seals[seals.length - 1];
    if (last) usedSeals.add(last);
  } finally {
    clearTimeout(timer);
  }

  const bundleSeals = [...usedSeals]
    .sort((a, b) => a.seal.sequence - b.seal.sequence)
    .map((at) => ({ offset: at.offset, value: (rawSeals.get(at.offset) as Buffer).toString('base64'), fields: sealFields(at.seal) }));
  const schemas: Record<string, string> = {};
  const fingerprints = [
    ...records.map((r) => r.informative.schema),
    ...bundleSeals.map((b) => fingerprintOf(Buffer.from(b.value, 'base64'))),
  ];
  for (const fingerprint of fingerprints) {
    const known = fingerprint === null ? undefined : catalogue.get(fingerprint);
    if (fingerprint !== null && known) schemas[fingerprint] = known.text;
  }
  const lastSeal = bundleSeals.length === 0 ? null : (bundleSeals[bundleSeals.length - 1] as BundleSeal).fields.sequence;
  return {
    format: AUDIT_BUNDLE_FORMAT,
    exportedAt: new Date().toISOString(),
    subject: { niss },
    window: { from, to },
    source: {
      topic: options.topics.audit,
      sealsTopic: options.topics.auditSeals,
      partition: read.partition,
      partitions: read.partitions,
      endOffset: read.endOffset,
      unreadableSeals,
    },
    publicKey: { algorithm: 'Ed25519', spki: publicKeyPem(options.publicKey), keyId: keyIdOf(options.publicKey) },
    schemas,
    lastSeal,
    records: records.sort((a, b) => Number(BigInt(a.offset) - BigInt(b.offset))),
    seals: bundleSeals,
  };
}

// ---------------------------------------------------------------------------------------------------
// The project's own check of a bundle, step by step as docs/audit-format.md ("Verifying a bundle")
// says, with the chain functions the sealer signs with.

export type BundleProblemCode =
  | 'BAD_FORMAT'
  | 'BAD_KEY'
  | 'SEAL_MISMATCH'
  | 'BAD_SIGNATURE'
  | 'BAD_SEAL'
  | 'NOT_THE_PERSON'
  | 'CHANGED'
  | 'BAD_CHAIN'
  | 'UNSEALED_CLAIM'
  | 'UNDECODABLE'
  | 'DECODED_MISMATCH'
  | 'OUTSIDE_WINDOW';

export interface BundleProblem {
  readonly code: BundleProblemCode;
  /** `bundle`, `seal #<sequence>` or `record <partition>:<offset>`. */
  readonly where: string;
  readonly detail: string;
}

export interface BundleCheckOptions {
  readonly codec: AvroCodec;
  /** The key id the auditor holds from elsewhere; without it the bundle's own key is trusted. */
  readonly expectedKeyId?: string;
}

const hex = (text: string): Buffer => Buffer.from(text, 'hex');

function sealValueOf(fields: BundleSealFields): AuditSealValue {
  return {
    ...fields,
    previousLink: hex(fields.previousLink),
    link: hex(fields.link),
    digests: fields.digests.map(hex),
    signature: hex(fields.signature),
  };
}

function decodeBundled(bundle: AuditBundle, value: Buffer | null): { decoded: unknown } | { error: string } {
  const fingerprint = fingerprintOf(value);
  const text = fingerprint === null ? undefined : bundle.schemas[fingerprint];
  if (value === null || fingerprint === null || text === undefined) return { error: `no schema in the bundle for fingerprint ${fingerprint ?? '(none)'}` };
  try {
    const type = parseSchema(JSON.parse(text));
    if (fingerprintBytes(JSON.stringify(type.schema())).toString('hex') !== fingerprint) return { error: `the schema filed under ${fingerprint} has another fingerprint` };
    return { decoded: jsonView(type.fromBuffer(value.subarray(FINGERPRINT_END))) };
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
}

/** Problems found in the bundle; none when every record it holds is proven (records not yet sealed are not problems). */
export function verifyAuditBundle(bundle: AuditBundle, options: BundleCheckOptions): BundleProblem[] {
  const problems: BundleProblem[] = [];
  const add = (code: BundleProblemCode, where: string, detail: string) => problems.push({ code, where, detail });
  if (bundle.format !== AUDIT_BUNDLE_FORMAT) {
    add('BAD_FORMAT', 'bundle', `format ${String(bundle.format)}, not ${AUDIT_BUNDLE_FORMAT}`);
    return problems;
  }

  let key: KeyObject | null = null;
  try {
    key = publicKeyFromPem(bundle.publicKey.spki, 'publicKey.spki').publicKey;
    if (keyIdOf(key) !== bundle.publicKey.keyId) add('BAD_KEY', 'bundle', 'publicKey.keyId is not the SHA-256 of the key');
    if (options.expectedKeyId !== undefined && keyIdOf(key) !== options.expectedKeyId) add('BAD_KEY', 'bundle', 'not the key the auditor expects');
  } catch (error) {
    add('BAD_KEY', 'bundle', error instanceof SealKeyError ? error.message : String(error));
  }

  const seals = new Map<number, AuditSealValue>();
  for (const entry of bundle.seals) {
    const where = `seal #${entry.fields.sequence}`;
    const seal = sealValueOf(entry.fields);
    seals.set(seal.sequence, seal);
    const raw = decodeBundled(bundle, Buffer.from(entry.value, 'base64'));
    if ('error' in raw) add('SEAL_MISMATCH', where, raw.error);
    else if (!isDeepStrictEqual(sealFields(options.codec.decode<AuditSealValue>(AUDIT_SEAL_RECORD, Buffer.from(entry.value, 'base64'))), entry.fields)) {
      add('SEAL_MISMATCH', where, 'its bytes do not decode to its fields');
    }
    if (key === null || seal.keyId !== keyIdOf(key)) add('BAD_SIGNATURE', where, `signed with key ${seal.keyId}, not the bundle's`);
    else if (!sealSignatureValid(seal, key)) add('BAD_SIGNATURE', where, 'the signature does not verify');
    if (seal.partition !== bundle.source.partition) add('BAD_SEAL', where, `seals partition ${seal.partition}, not ${bundle.source.partition}`);
    if (!foldLinks(seal.previousLink, seal.digests).equals(seal.link)) add('BAD_SEAL', where, 'its link is not the chain of its digests');
    if (seal.sequence === 1 && !seal.previousLink.equals(genesisLink(seal.partition))) add('BAD_SEAL', where, 'the first seal does not start at the genesis link');
  }
  const last = bundle.lastSeal === null ? undefined : seals.get(bundle.lastSeal);
  if (bundle.lastSeal !== null && !last) add('BAD_FORMAT', 'bundle', `lastSeal #${bundle.lastSeal} is not in the bundle`);

  const subject = Buffer.from(bundle.subject.niss, 'utf8');
  for (const record of bundle.records) {
    const where = `record ${record.partition}:${record.offset}`;
    const keyBytes = record.key === null ? null : Buffer.from(record.key, 'base64');
    const value = record.value === null ? null : Buffer.from(record.value, 'base64');
    if (keyBytes === null || !keyBytes.equals(subject)) add('NOT_THE_PERSON', where, 'its key is not the subject\'s NISS');
    const decoded = decodeBundled(bundle, value);
    if ('error' in decoded) add('UNDECODABLE', where, decoded.error);
    else {
      if (!isDeepStrictEqual(decoded.decoded, record.informative.decoded)) add('DECODED_MISMATCH', where, 'informative.decoded is not what the bytes say');
      const at = (decoded.decoded as { at?: unknown }).at;
      const { from, to } = bundle.window;
      if (typeof at === 'number' && ((from !== null && at < from) || (to !== null && at > to))) add('OUTSIDE_WINDOW', where, `at ${at} is outside the window`);
    }
    const digest = recordDigest({ key: keyBytes, value, headers: record.headers });
    const offset = Number(record.offset);
    if (record.status === 'NOT_YET_SEALED') {
      if (last && offset <= last.lastOffset) add('UNSEALED_CLAIM', where, `said not yet sealed, but seal #${last.sequence} reaches offset ${last.lastOffset}`);
      continue;
    }
    const seal = record.chain === null ? undefined : seals.get(record.chain.seal);
    if (record.status !== 'SEALED' || !record.chain || !seal) {
      add('UNSEALED_CLAIM', where, `status ${record.status}: no seal of the bundle covers it`);
      continue;
    }
    const { index } = record.chain;
    const previousLink = hex(record.chain.previousLink);
    const following = record.chain.following.map(hex);
    if (!foldLinks(previousLink, [digest, ...following]).equals(seal.link)) {
      const sealed = seal.digests[index];
      add(sealed && !sealed.equals(digest) ? 'CHANGED' : 'BAD_CHAIN', where, `its chain does not reach seal #${seal.sequence}'s link`);
      continue;
    }
    const agrees =
      Number.isInteger(index) &&
      index >= 0 &&
      index + 1 + following.length === seal.digests.length &&
      seal.digests[index]?.equals(digest) === true &&
      following.every((d, k) => d.equals(seal.digests[index + 1 + k] as Buffer)) &&
      foldLinks(seal.previousLink, seal.digests.slice(0, index)).equals(previousLink) &&
      offset >= seal.firstOffset &&
      offset <= seal.lastOffset;
    if (!agrees) add('BAD_CHAIN', where, `its chain material disagrees with seal #${seal.sequence}`);
  }
  return problems;
}
