import { createHash, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import type { AuditSealValue } from '../contract/audit-records.js';

/**
 * The audit trail's hash chain and its signed seals, as pure functions: the sealer builds seals with
 * them, `bcss audit verify` checks records against them.
 *
 * Per audit partition, in offset order:
 *
 *   digest_n = SHA-256(canonicalRecordBytes(record_n))
 *   link_0   = SHA-256("be.bcss.gateway.audit-chain.v1\npartition=" + partition)
 *   link_n   = SHA-256(link_{n-1} || digest_n)
 *
 * The genesis names the partition but not the topic, and the record bytes leave out the offset and the
 * broker's timestamp: a verbatim copy of a partition to another topic (other name, other offsets, no
 * transaction markers) verifies against the very same seals. What a record says about its time is in
 * its value (AuditRecord.at), which is hashed.
 *
 * Canonical record bytes, every length a 32-bit big-endian integer, -1 for an absent key or value:
 *
 *   "bcss-audit-record-v1" 0x00
 *   len(key)   key bytes
 *   len(value) value bytes
 *   count(headers), then per header in ascending order of its name's UTF-8 bytes:
 *     len(name) name UTF-8   len(value) value UTF-8
 *
 * Headers are taken as the messaging layer hands them (one string value per name, UTF-8 decoded): the
 * switch writes only ASCII headers, each name once, so that form is exact for its own records.
 */

export const DIGEST_LENGTH = 32;
const RECORD_DOMAIN = Buffer.from('bcss-audit-record-v1\u0000', 'utf8');
const SEAL_DOMAIN = Buffer.from('bcss-audit-seal-v1\u0000', 'utf8');
const GENESIS_TEXT = 'be.bcss.gateway.audit-chain.v1\npartition=';

export interface ChainRecord {
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Readonly<Record<string, string>>;
}

function sha256(...parts: readonly Buffer[]): Buffer {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest();
}

function int32(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeInt32BE(value);
  return out;
}

function int64(value: number | bigint): Buffer {
  const out = Buffer.alloc(8);
  out.writeBigInt64BE(BigInt(value));
  return out;
}

function lengthPrefixed(bytes: Buffer | null): Buffer[] {
  return bytes === null ? [int32(-1)] : [int32(bytes.length), bytes];
}

export function canonicalRecordBytes(record: ChainRecord): Buffer {
  const headers = Object.entries(record.headers)
    .map(([name, value]) => [Buffer.from(name, 'utf8'), Buffer.from(value, 'utf8')] as const)
    .sort(([a], [b]) => Buffer.compare(a, b));
  return Buffer.concat([
    RECORD_DOMAIN,
    ...lengthPrefixed(record.key),
    ...lengthPrefixed(record.value),
    int32(headers.length),
    ...headers.flatMap(([name, value]) => [...lengthPrefixed(name), ...lengthPrefixed(value)]),
  ]);
}

export function recordDigest(record: ChainRecord): Buffer {
  return sha256(canonicalRecordBytes(record));
}

export function genesisLink(partition: number): Buffer {
  return sha256(Buffer.from(`${GENESIS_TEXT}${partition}`, 'utf8'));
}

export function nextLink(previous: Buffer, digest: Buffer): Buffer {
  return sha256(previous, digest);
}

export function foldLinks(previous: Buffer, digests: readonly Buffer[]): Buffer {
  return digests.reduce((link, digest) => nextLink(link, digest), previous);
}

export type UnsignedSeal = Omit<AuditSealValue, 'signature'>;

/**
 * What the signature covers: every field but the signature, in a fixed order and fixed widths, so
 * that the proof does not depend on how Avro (or a later version of the schema) lays the record out.
 */
export function sealSigningBytes(seal: UnsignedSeal): Buffer {
  const keyId = Buffer.from(seal.keyId, 'utf8');
  return Buffer.concat([
    SEAL_DOMAIN,
    int32(seal.partition),
    int64(seal.sequence),
    int64(seal.records),
    int64(seal.firstOffset),
    int64(seal.lastOffset),
    seal.previousLink,
    seal.link,
    int32(seal.digests.length),
    ...seal.digests,
    int64(seal.sealedAt),
    ...lengthPrefixed(keyId),
  ]);
}

/** Hex SHA-256 of the public key's DER SubjectPublicKeyInfo; a private key yields its public key's id. */
export function keyIdOf(key: KeyObject): string {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  return sha256(publicKey.export({ type: 'spki', format: 'der' })).toString('hex');
}

export function signSeal(seal: UnsignedSeal, privateKey: KeyObject): AuditSealValue {
  return { ...seal, signature: sign(null, sealSigningBytes(seal), privateKey) };
}

export function sealSignatureValid(seal: AuditSealValue, publicKey: KeyObject): boolean {
  try {
    return verify(null, sealSigningBytes(seal), publicKey, seal.signature);
  } catch {
    return false;
  }
}

/** Where a partition's chain stands after its last seal: what the sealer resumes from. */
export interface ChainPosition {
  readonly partition: number;
  /** Sequence of the last seal; 0 before the first. */
  readonly sequence: number;
  /** Records covered so far. */
  readonly records: number;
  readonly link: Buffer;
  /** Offset of the last record sealed, in the sealed topic; null before the first seal. */
  readonly lastOffset: number | null;
}

export function startOfChain(partition: number): ChainPosition {
  return { partition, sequence: 0, records: 0, link: genesisLink(partition), lastOffset: null };
}

export function positionAfter(seal: AuditSealValue): ChainPosition {
  return { partition: seal.partition, sequence: seal.sequence, records: seal.records, link: seal.link, lastOffset: seal.lastOffset };
}

/** The next seal of a partition over `digests` (records firstOffset..lastOffset), signed. */
export function buildSeal(
  position: ChainPosition,
  interval: { readonly digests: readonly Buffer[]; readonly firstOffset: number; readonly lastOffset: number },
  signing: { readonly privateKey: KeyObject; readonly keyId: string; readonly sealedAt: number },
): AuditSealValue {
  if (interval.digests.length === 0) throw new Error('a seal covers at least one record');
  return signSeal(
    {
      partition: position.partition,
      sequence: position.sequence + 1,
      records: position.records + interval.digests.length,
      firstOffset: interval.firstOffset,
      lastOffset: interval.lastOffset,
      previousLink: position.link,
      link: foldLinks(position.link, interval.digests),
      digests: [...interval.digests],
      sealedAt: signing.sealedAt,
      keyId: signing.keyId,
    },
    signing.privateKey,
  );
}

// ---------------------------------------------------------------------------------------------------
// Verification of one partition.

export type ProblemKind =
  /** A record's bytes differ from what was sealed at its place. */
  | 'CHANGED'
  /** Sealed records are absent from their place (removed). */
  | 'MISSING'
  /** Records that were never sealed stand before sealed ones (inserted). */
  | 'INSERTED'
  /** Sealed records are present but not in the sealed order. */
  | 'REORDERED'
  /** A seal's signature does not verify with the key (or it was signed by another key). */
  | 'BAD_SIGNATURE'
  /** A signed seal that does not continue the chain: a seal missing or repeated, links or counts that disagree. */
  | 'BAD_SEAL'
  /** Records after the last seal: not yet sealed, which is not tampering. */
  | 'UNSEALED_TAIL';

export const TAMPERING_KINDS: ReadonlySet<ProblemKind> = new Set(['CHANGED', 'MISSING', 'INSERTED', 'REORDERED', 'BAD_SIGNATURE', 'BAD_SEAL']);

export interface Problem {
  readonly partition: number;
  /** Offset, in the verified topic, of the first record concerned; null when the partition has none there. */
  readonly offset: string | null;
  readonly kind: ProblemKind;
  readonly detail: string;
  /** The seal whose interval the problem falls in (its sequence), when there is one. */
  readonly seal?: number;
  /** That seal's offset in the seals topic. */
  readonly sealOffset?: string;
  /** How many records the problem spans (MISSING, INSERTED, UNSEALED_TAIL). */
  readonly count?: number;
}

export interface VerifiedRecord {
  readonly offset: string;
  readonly digest: Buffer;
  /** The broker's timestamp (ms), for --from/--to only: it is not part of what is hashed. */
  readonly timestamp: number;
}

export interface SealAt {
  readonly seal: AuditSealValue;
  /** Offset in the seals topic. */
  readonly offset: string;
}

export interface PartitionCheck {
  readonly partition: number;
  /** Records read, and of them within the window. */
  readonly recordsRead: number;
  readonly recordsChecked: number;
  /** Records covered by valid seals. */
  readonly sealedRecords: number;
  readonly sealsChecked: number;
  readonly lastSeal: number | null;
  /** Tampering found (within the window; a bad seal always), in partition order, at most `maxProblems`. */
  readonly problems: readonly Problem[];
  readonly unsealedTail: Problem | null;
  readonly ok: boolean;
}

export interface CheckOptions {
  readonly partition: number;
  readonly records: readonly VerifiedRecord[];
  /** This partition's seals in the seals topic's order. */
  readonly seals: readonly SealAt[];
  readonly publicKey: KeyObject;
  /** Only records whose timestamp is within [from, to] are reported and counted. */
  readonly window?: { readonly from?: number; readonly to?: number };
  readonly maxProblems?: number;
}

interface SealedDigest {
  readonly digest: Buffer;
  readonly seal: SealAt;
}

/** Checks the seals in order; stops at the first that cannot be trusted. */
function trustedSeals(partition: number, seals: readonly SealAt[], publicKey: KeyObject) {
  const keyId = keyIdOf(publicKey);
  const sealed: SealedDigest[] = [];
  let position = startOfChain(partition);
  let checked = 0;
  for (const at of seals) {
    const { seal } = at;
    const refuse = (kind: ProblemKind, detail: string) => ({
      kind,
      detail: `seal #${seal.sequence} (seals offset ${at.offset}): ${detail}`,
      seal: seal.sequence,
      sealOffset: at.offset,
    });
    checked++;
    let bad: ReturnType<typeof refuse> | null = null;
    if (seal.keyId !== keyId) bad = refuse('BAD_SIGNATURE', `signed with key ${seal.keyId.slice(0, 16)}…, not the verifying key ${keyId.slice(0, 16)}…`);
    else if (!sealSignatureValid(seal, publicKey)) bad = refuse('BAD_SIGNATURE', 'the signature does not verify');
    else if (seal.sequence !== position.sequence + 1) {
      bad = refuse('BAD_SEAL', seal.sequence <= position.sequence ? `repeats seal #${seal.sequence}` : `seal #${position.sequence + 1} is missing`);
    } else if (!seal.previousLink.equals(position.link)) bad = refuse('BAD_SEAL', 'does not continue the previous seal\'s link');
    else if (seal.digests.length === 0 || seal.records !== position.records + seal.digests.length) {
      bad = refuse('BAD_SEAL', `counts ${seal.records} records, but the chain had ${position.records} and it adds ${seal.digests.length}`);
    } else if (!foldLinks(seal.previousLink, seal.digests).equals(seal.link)) bad = refuse('BAD_SEAL', 'its link is not the chain of its digests');
    if (bad) return { sealed, position, checked, bad };
    for (const digest of seal.digests) sealed.push({ digest, seal: at });
    position = positionAfter(seal);
  }
  return { sealed, position, checked, bad: null };
}

function indexAfter<T>(list: readonly T[], from: number, digest: Buffer, digestOf: (item: T) => Buffer): number {
  for (let k = from + 1; k < list.length; k++) if (digestOf(list[k] as T).equals(digest)) return k;
  return -1;
}

/**
 * Compares the records' digests, one by one, with the digests the seals carry. Comparing digests is
 * the same as recomputing the chain (every seal's link is checked to be the fold of its digests, and
 * each seal continues the previous one), and it tells which record is bad, not only which interval.
 * After a problem the comparison re-aligns (skips what was removed or inserted, undoes a swap) so
 * that later problems are found too, each once.
 */
export function checkPartition(options: CheckOptions): PartitionCheck {
  const { partition, publicKey } = options;
  const maxProblems = options.maxProblems ?? 100;
  const records = [...options.records];
  const from = options.window?.from ?? Number.NEGATIVE_INFINITY;
  const to = options.window?.to ?? Number.POSITIVE_INFINITY;
  const inWindow = (record: VerifiedRecord | undefined) => record === undefined || (record.timestamp >= from && record.timestamp <= to);
  const trusted = trustedSeals(partition, options.seals, publicKey);
  const sealed = trusted.sealed;

  const problems: Problem[] = [];
  const report = (problem: Problem, record: VerifiedRecord | undefined) => {
    if (inWindow(record)) problems.push(problem);
  };
  const sealFields = (entry: SealedDigest | undefined) =>
    entry ? { seal: entry.seal.seal.sequence, sealOffset: entry.seal.offset } : {};

  let i = 0;
  let j = 0;
  while (i < records.length && j < sealed.length && problems.length < maxProblems) {
    const record = records[i] as VerifiedRecord;
    const expected = sealed[j] as SealedDigest;
    if (record.digest.equals(expected.digest)) {
      i++;
      j++;
      continue;
    }
    const expectedLater = indexAfter(records, i, expected.digest, (r) => r.digest);
    const presentLater = indexAfter(sealed, j, record.digest, (s) => s.digest);
    const at = { partition, offset: record.offset, ...sealFields(expected) };
    if (expectedLater >= 0 && presentLater >= 0) {
      report({ ...at, kind: 'REORDERED', detail: `record at offset ${record.offset} was sealed at position ${presentLater + 1}, not ${j + 1}` }, record);
      // Put the expected record back at its place: a swap of two records is then one problem, not two.
      records[i] = records[expectedLater] as VerifiedRecord;
      records[expectedLater] = record;
      i++;
      j++;
    } else if (presentLater >= 0) {
      const count = presentLater - j;
      report({ ...at, kind: 'MISSING', count, detail: `${count} sealed record(s) missing before offset ${record.offset}` }, record);
      j = presentLater;
    } else if (expectedLater >= 0) {
      const count = expectedLater - i;
      report({ ...at, kind: 'INSERTED', count, detail: `${count} record(s) never sealed inserted at offset ${record.offset}` }, record);
      i = expectedLater;
    } else {
      report({ ...at, kind: 'CHANGED', detail: `record at offset ${record.offset} differs from the one sealed at position ${j + 1}` }, record);
      i++;
      j++;
    }
  }

  const lastRecord = records[records.length - 1];
  if (problems.length < maxProblems && j < sealed.length && i >= records.length) {
    const count = sealed.length - j;
    const offset = lastRecord ? (BigInt(lastRecord.offset) + 1n).toString() : null;
    report(
      { partition, offset, kind: 'MISSING', count, ...sealFields(sealed[j]), detail: `the last ${count} sealed record(s) are missing (from position ${j + 1})` },
      lastRecord,
    );
  }

  let unsealedTail: Problem | null = null;
  if (trusted.bad) {
    // Past a seal that cannot be trusted nothing more can be proven: the problem is named at the first
    // record that seal claims to cover.
    const first = records[i];
    problems.push({ partition, offset: first?.offset ?? null, ...trusted.bad });
  } else if (i < records.length && problems.length < maxProblems) {
    const tail = records.slice(i).filter(inWindow);
    const first = tail[0];
    if (first) {
      const count = tail.length;
      unsealedTail = { partition, offset: first.offset, kind: 'UNSEALED_TAIL', count, detail: `${count} record(s) from offset ${first.offset} are not sealed yet` };
    }
  }

  return {
    partition,
    recordsRead: records.length,
    recordsChecked: records.filter(inWindow).length,
    sealedRecords: sealed.length,
    sealsChecked: trusted.checked,
    lastSeal: trusted.position.sequence === 0 ? null : trusted.position.sequence,
    problems,
    unsealedTail,
    ok: problems.length === 0,
  };
}
