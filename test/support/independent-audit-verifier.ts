/**
 * A verifier of audit bundles written from docs/audit-format.md alone, as an auditor would write one:
 * it imports nothing of the project (node:crypto for the hashes and Ed25519, avsc for the Avro bytes),
 * so that a bundle it accepts is proven by the document, not by the code that made the bundle.
 * It returns the problems found, each with the code the document gives; none when the bundle verifies.
 */
import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import avro from 'avsc';

export interface IndependentProblem {
  readonly code: string;
  readonly where: string;
  readonly detail: string;
}

/* eslint-disable @typescript-eslint/no-explicit-any -- a bundle is untrusted JSON, read field by field */
type Json = any;

const sha256 = (...parts: Buffer[]): Buffer => {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest();
};
const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};
const u64 = (n: number): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(BigInt(n));
  return b;
};
const field = (bytes: Buffer | null): Buffer => (bytes === null ? u32(-1) : Buffer.concat([u32(bytes.length), bytes]));
const fromHex = (text: string): Buffer => Buffer.from(text, 'hex');

/** §"Record bytes". */
function canonical(key: Buffer | null, value: Buffer | null, headers: Record<string, string>): Buffer {
  const pairs = Object.entries(headers)
    .map(([n, v]) => [Buffer.from(n, 'utf8'), Buffer.from(v, 'utf8')] as const)
    .sort((a, b) => Buffer.compare(a[0], b[0]));
  return Buffer.concat([
    Buffer.from('bcss-audit-record-v1\0', 'utf8'),
    field(key),
    field(value),
    u32(pairs.length),
    ...pairs.flatMap(([n, v]) => [field(n), field(v)]),
  ]);
}

/** §"Chain". */
const genesis = (partition: number): Buffer => sha256(Buffer.from(`be.bcss.gateway.audit-chain.v1\npartition=${partition}`, 'utf8'));
const fold = (link: Buffer, digests: readonly Buffer[]): Buffer => digests.reduce((l, d) => sha256(l, d), link);

/** §"Seal signing bytes". */
function signingBytes(s: Json): Buffer {
  return Buffer.concat([
    Buffer.from('bcss-audit-seal-v1\0', 'utf8'),
    u32(s.partition),
    u64(s.sequence),
    u64(s.records),
    u64(s.firstOffset),
    u64(s.lastOffset),
    fromHex(s.previousLink),
    fromHex(s.link),
    u32(s.digests.length),
    ...s.digests.map(fromHex),
    u64(s.sealedAt),
    field(Buffer.from(s.keyId, 'utf8')),
  ]);
}

/** §"Schemas and the decoded view": CRC-64-AVRO of the Parsing Canonical Form, little-endian. */
function crc64Avro(text: string): string {
  const EMPTY = 0xc15d213aa4d7a795n;
  let fp = EMPTY;
  for (const byte of Buffer.from(text, 'utf8')) {
    let x = (fp ^ BigInt(byte)) & 0xffn;
    for (let j = 0; j < 8; j++) x = (x >> 1n) ^ (EMPTY & -(x & 1n));
    fp = (fp >> 8n) ^ x;
  }
  const out = Buffer.alloc(8);
  out.writeBigUInt64LE(fp & 0xffffffffffffffffn);
  return out.toString('hex');
}

class IsoDay extends avro.types.LogicalType {
  protected override _fromValue(days: number): string {
    return new Date(days * 86_400_000).toISOString().slice(0, 10);
  }
  protected override _toValue(text: string): number {
    return Date.parse(`${text}T00:00:00Z`) / 86_400_000;
  }
}

function jsonView(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (_k, v: any) => (v && v.type === 'Buffer' && Array.isArray(v.data) ? Buffer.from(v.data).toString('hex') : v)));
}

function decode(bundle: Json, bytes: Buffer | null): { value: unknown } | { error: string } {
  if (bytes === null || bytes.length < 10 || bytes[0] !== 0xc3 || bytes[1] !== 0x01) return { error: 'not Avro single-object bytes' };
  const fingerprint = bytes.subarray(2, 10).toString('hex');
  const text = bundle.schemas?.[fingerprint];
  if (typeof text !== 'string') return { error: `no schema for fingerprint ${fingerprint}` };
  try {
    const schema = JSON.parse(text);
    if (crc64Avro(JSON.stringify(avro.Type.forSchema(schema).schema())) !== fingerprint) return { error: `schema under ${fingerprint} has another fingerprint` };
    const type = avro.Type.forSchema(schema, { wrapUnions: 'auto', logicalTypes: { date: IsoDay } });
    return { value: jsonView(type.fromBuffer(bytes.subarray(10))) };
  } catch (error) {
    return { error: String(error) };
  }
}

export function verifyBundleIndependently(bundle: Json, expectedKeyId?: string): IndependentProblem[] {
  const problems: IndependentProblem[] = [];
  const add = (code: string, where: string, detail: string) => problems.push({ code, where, detail });
  if (bundle?.format !== 'bcss-audit-bundle-v1') return [{ code: 'BAD_FORMAT', where: 'bundle', detail: `format ${String(bundle?.format)}` }];

  // Step 1: the key.
  let key: KeyObject | null = null;
  let keyId = '';
  try {
    key = createPublicKey(bundle.publicKey.spki);
    if (key.asymmetricKeyType !== 'ed25519') throw new Error(`a ${key.asymmetricKeyType} key`);
    keyId = sha256(key.export({ type: 'spki', format: 'der' })).toString('hex');
    if (keyId !== bundle.publicKey.keyId) add('BAD_KEY', 'bundle', 'keyId is not SHA-256 of the SPKI DER');
    if (expectedKeyId !== undefined && keyId !== expectedKeyId) add('BAD_KEY', 'bundle', 'not the expected key');
  } catch (error) {
    add('BAD_KEY', 'bundle', String(error));
  }

  // Step 2: the seals.
  const seals = new Map<number, Json>();
  for (const entry of bundle.seals) {
    const s = entry.fields;
    const where = `seal #${s.sequence}`;
    seals.set(s.sequence, s);
    const raw = decode(bundle, Buffer.from(entry.value, 'base64'));
    if ('error' in raw) add('SEAL_MISMATCH', where, raw.error);
    else if (!isDeepStrictEqual(raw.value, s)) add('SEAL_MISMATCH', where, 'the bytes do not decode to the fields');
    let signed = false;
    try {
      signed = key !== null && s.keyId === keyId && verify(null, signingBytes(s), key, fromHex(s.signature));
    } catch {
      signed = false;
    }
    if (!signed) add('BAD_SIGNATURE', where, 'the signature does not verify with the bundle key');
    if (s.partition !== bundle.source.partition) add('BAD_SEAL', where, 'another partition');
    if (!fold(fromHex(s.previousLink), s.digests.map(fromHex)).equals(fromHex(s.link))) add('BAD_SEAL', where, 'link is not the fold of the digests');
    if (s.sequence === 1 && !fromHex(s.previousLink).equals(genesis(s.partition))) add('BAD_SEAL', where, 'first seal not from the genesis link');
  }
  const last = bundle.lastSeal === null ? null : seals.get(bundle.lastSeal);
  if (last === undefined) add('BAD_FORMAT', 'bundle', 'lastSeal is not in the bundle');

  // Step 3: the records.
  const subject = Buffer.from(bundle.subject.niss, 'utf8');
  for (const r of bundle.records) {
    const where = `record ${r.partition}:${r.offset}`;
    const key64 = r.key === null ? null : Buffer.from(r.key, 'base64');
    const value = r.value === null ? null : Buffer.from(r.value, 'base64');
    if (key64 === null || !key64.equals(subject)) add('NOT_THE_PERSON', where, 'key is not the subject');
    const decoded = decode(bundle, value);
    if ('error' in decoded) add('UNDECODABLE', where, decoded.error);
    else {
      if (!isDeepStrictEqual(decoded.value, r.informative?.decoded)) add('DECODED_MISMATCH', where, 'the informative view differs from the bytes');
      const at = (decoded.value as Json).at;
      const { from, to } = bundle.window;
      if ((from !== null && at < from) || (to !== null && at > to)) add('OUTSIDE_WINDOW', where, `at ${at}`);
    }
    const digest = sha256(canonical(key64, value, r.headers));
    const offset = Number(r.offset);
    if (r.status === 'NOT_YET_SEALED') {
      if (last && offset <= last.lastOffset) add('UNSEALED_CLAIM', where, 'a seal reaches past it');
      continue;
    }
    const seal = r.chain ? seals.get(r.chain.seal) : undefined;
    if (r.status !== 'SEALED' || !seal) {
      add('UNSEALED_CLAIM', where, `status ${r.status} without a seal of the bundle`);
      continue;
    }
    const following: Buffer[] = r.chain.following.map(fromHex);
    const sealed: Buffer[] = seal.digests.map(fromHex);
    const i: number = r.chain.index;
    if (!fold(fromHex(r.chain.previousLink), [digest, ...following]).equals(fromHex(seal.link))) {
      add(sealed[i] && !sealed[i].equals(digest) ? 'CHANGED' : 'BAD_CHAIN', where, 'the chain does not reach the seal link');
      continue;
    }
    const consistent =
      i + 1 + following.length === sealed.length &&
      sealed[i]?.equals(digest) &&
      following.every((d, k) => d.equals(sealed[i + 1 + k] as Buffer)) &&
      fold(fromHex(seal.previousLink), sealed.slice(0, i)).equals(fromHex(r.chain.previousLink)) &&
      offset >= seal.firstOffset &&
      offset <= seal.lastOffset;
    if (!consistent) add('BAD_CHAIN', where, 'chain material disagrees with the seal');
  }
  return problems;
}
