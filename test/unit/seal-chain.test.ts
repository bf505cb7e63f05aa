/**
 * The audit hash chain and its seals (src/audit/seal-chain.ts), without a broker: what the record
 * digest covers, that a seal's signature covers every field, that checkPartition names the first
 * bad record for each kind of tampering, and where the signing key comes from (seal-key.ts). The same
 * checks on the real broker are in test/integration/audit/tamper.test.ts.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AuditSealValue } from '../../src/contract/audit-records.js';
import {
  buildSeal,
  canonicalRecordBytes,
  checkPartition,
  foldLinks,
  genesisLink,
  keyIdOf,
  nextLink,
  positionAfter,
  recordDigest,
  sealSignatureValid,
  signSeal,
  startOfChain,
  type ChainRecord,
  type SealAt,
  type VerifiedRecord,
} from '../../src/audit/seal-chain.js';
import { developmentKeyPath, loadSealKey, loadVerifyKey, publicKeyPem, SealKeyError } from '../../src/audit/seal-key.js';
import { loadSettings, sealKeySources } from '../../src/app/settings.js';

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const keyId = keyIdOf(publicKey);

function record(n: number): ChainRecord {
  return { key: Buffer.from(`niss-${n % 7}`), value: Buffer.from(`audit record ${n}`), headers: { type: 'audit', event: 'REPLY_DELIVERED' } };
}

/** `count` records at offsets with gaps (as transaction markers leave), sealed every `every`. */
function sealedPartition(count: number, every: number, partition = 0) {
  const records: VerifiedRecord[] = [];
  for (let n = 0; n < count; n++) {
    records.push({ offset: String(n * 2 + 1), digest: recordDigest(record(n)), timestamp: 1_000 + n });
  }
  const seals: SealAt[] = [];
  let position = startOfChain(partition);
  for (let start = 0; start + every <= count; start += every) {
    const interval = records.slice(start, start + every);
    const seal = buildSeal(
      position,
      { digests: interval.map((r) => r.digest), firstOffset: Number(interval[0]?.offset), lastOffset: Number(interval.at(-1)?.offset) },
      { privateKey, keyId, sealedAt: 5_000 + start },
    );
    seals.push({ seal, offset: String(seals.length) });
    position = positionAfter(seal);
  }
  return { records, seals };
}

function check(records: readonly VerifiedRecord[], seals: readonly SealAt[], extra: { window?: { from?: number; to?: number } } = {}) {
  return checkPartition({ partition: 0, records, seals, publicKey, ...extra });
}

describe('the record digest', () => {
  it('covers key, value and headers, with lengths so that no two layouts collide', () => {
    const base = record(1);
    const digest = recordDigest(base);
    expect(recordDigest({ ...base, value: Buffer.from('audit record 2') })).not.toEqual(digest);
    expect(recordDigest({ ...base, key: Buffer.from('niss-2') })).not.toEqual(digest);
    expect(recordDigest({ ...base, headers: { ...base.headers, event: 'REQUEST_REFUSED' } })).not.toEqual(digest);
    // Moving a byte from the key to the value changes the digest, and so does an absent key or value.
    expect(recordDigest({ key: Buffer.from('ab'), value: Buffer.from('c'), headers: {} })).not.toEqual(
      recordDigest({ key: Buffer.from('a'), value: Buffer.from('bc'), headers: {} }),
    );
    expect(recordDigest({ key: null, value: Buffer.alloc(0), headers: {} })).not.toEqual(
      recordDigest({ key: Buffer.alloc(0), value: Buffer.alloc(0), headers: {} }),
    );
  });

  it('does not depend on the order the headers come in', () => {
    const a = canonicalRecordBytes({ key: null, value: Buffer.from('v'), headers: { type: 'audit', event: 'X', ticket: 't' } });
    const b = canonicalRecordBytes({ key: null, value: Buffer.from('v'), headers: { ticket: 't', event: 'X', type: 'audit' } });
    expect(a).toEqual(b);
  });

  it('starts each partition\'s chain from its own genesis, the same whatever the topic is called', () => {
    expect(genesisLink(0)).toEqual(genesisLink(0));
    expect(genesisLink(0)).not.toEqual(genesisLink(1));
    const digests = [recordDigest(record(1)), recordDigest(record(2))];
    expect(foldLinks(genesisLink(0), digests)).toEqual(nextLink(nextLink(genesisLink(0), digests[0] as Buffer), digests[1] as Buffer));
  });
});

describe('a seal', () => {
  const { seals } = sealedPartition(10, 5);
  const seal = (seals[1] as SealAt).seal;

  it('continues the previous seal and counts the records cumulatively', () => {
    const first = (seals[0] as SealAt).seal;
    expect(first).toMatchObject({ sequence: 1, records: 5, firstOffset: 1, lastOffset: 9, keyId });
    expect(first.previousLink).toEqual(genesisLink(0));
    expect(seal).toMatchObject({ sequence: 2, records: 10, firstOffset: 11, lastOffset: 19 });
    expect(seal.previousLink).toEqual(first.link);
    expect(seal.signature).toHaveLength(64);
    expect(sealSignatureValid(seal, publicKey)).toBe(true);
  });

  it('has a signature over every other field', () => {
    const changes: Array<Partial<AuditSealValue>> = [
      { partition: 1 },
      { sequence: 3 },
      { records: 11 },
      { firstOffset: 12 },
      { lastOffset: 18 },
      { previousLink: genesisLink(0) },
      { link: genesisLink(1) },
      { digests: seal.digests.slice(1) },
      { sealedAt: seal.sealedAt + 1 },
      { keyId: keyId.replace(/^./, '0') === keyId ? keyId.replace(/^./, '1') : keyId.replace(/^./, '0') },
    ];
    for (const change of changes) expect(sealSignatureValid({ ...seal, ...change }, publicKey), JSON.stringify(Object.keys(change))).toBe(false);
    const other = generateKeyPairSync('ed25519').publicKey;
    expect(sealSignatureValid(seal, other)).toBe(false);
  });

  it('does not verify once any byte of a digest or the signature is flipped', () => {
    fc.assert(
      fc.property(fc.nat(seal.digests.length * 32 + 63), fc.integer({ min: 1, max: 255 }), (position, mask) => {
        const digests = seal.digests.map((d) => Buffer.from(d));
        const signature = Buffer.from(seal.signature);
        if (position < digests.length * 32) {
          const digest = digests[Math.floor(position / 32)] as Buffer;
          digest[position % 32] = (digest[position % 32] as number) ^ mask;
        } else {
          const at = position - digests.length * 32;
          signature[at] = (signature[at] as number) ^ mask;
        }
        return !sealSignatureValid({ ...seal, digests, signature }, publicKey);
      }),
      { numRuns: 200 },
    );
  });
});

describe('checkPartition', () => {
  const { records, seals } = sealedPartition(30, 10);

  it('passes an intact partition, whatever its offsets, and names records not sealed yet', () => {
    expect(check(records, seals)).toMatchObject({ ok: true, problems: [], recordsRead: 30, sealedRecords: 30, sealsChecked: 3, lastSeal: 3, unsealedTail: null });
    // The same records at contiguous offsets (a copy) pass against the same seals.
    const copy = records.map((r, index) => ({ ...r, offset: String(index) }));
    expect(check(copy, seals).ok).toBe(true);
    const more = sealedPartition(34, 10).records;
    expect(check(more, seals)).toMatchObject({ ok: true, unsealedTail: { kind: 'UNSEALED_TAIL', offset: '61', count: 4 } });
    expect(check(more, []).unsealedTail).toMatchObject({ offset: '1', count: 34 });
  });

  it('names a changed record', () => {
    const tampered = records.map((r, index) => (index === 13 ? { ...r, digest: recordDigest({ ...record(13), value: Buffer.from('audit record 13!') }) } : r));
    const result = check(tampered, seals);
    expect(result.ok).toBe(false);
    expect(result.problems).toEqual([expect.objectContaining({ partition: 0, offset: '27', kind: 'CHANGED', seal: 2, sealOffset: '1' })]);
  });

  it('names where a record was removed, in the middle or at the end', () => {
    const dropped = records.filter((_, index) => index !== 12);
    expect(check(dropped, seals).problems).toEqual([expect.objectContaining({ offset: '27', kind: 'MISSING', count: 1, seal: 2 })]);
    const truncated = records.slice(0, 28);
    expect(check(truncated, seals).problems).toEqual([expect.objectContaining({ offset: '56', kind: 'MISSING', count: 2, seal: 3 })]);
  });

  it('names a record inserted among sealed ones', () => {
    const inserted = [...records.slice(0, 5), { offset: '10', digest: recordDigest(record(99)), timestamp: 2_000 }, ...records.slice(5)];
    expect(check(inserted, seals).problems).toEqual([expect.objectContaining({ offset: '10', kind: 'INSERTED', count: 1, seal: 1 })]);
  });

  it('names the first of two swapped records once, near or far apart', () => {
    const swap = (a: number, b: number) =>
      records.map((r, index) => (index === a ? { ...r, digest: (records[b] as VerifiedRecord).digest } : index === b ? { ...r, digest: (records[a] as VerifiedRecord).digest } : r));
    expect(check(swap(7, 8), seals).problems).toEqual([expect.objectContaining({ offset: '15', kind: 'REORDERED' })]);
    expect(check(swap(4, 22), seals).problems).toEqual([expect.objectContaining({ offset: '9', kind: 'REORDERED' })]);
  });

  it('finds every independent problem, in partition order', () => {
    const tampered = records
      .map((r, index) => (index === 3 ? { ...r, digest: recordDigest(record(300)) } : r))
      .filter((_, index) => index !== 20);
    expect(check(tampered, seals).problems.map((p) => [p.kind, p.offset])).toEqual([
      ['CHANGED', '7'],
      ['MISSING', '43'],
    ]);
  });

  it('refuses a seal with a bad signature or another key, naming the first record it covers', () => {
    const forged = seals.map((s, index) => (index === 1 ? { ...s, seal: { ...s.seal, sealedAt: s.seal.sealedAt + 1 } } : s));
    expect(check(records, forged).problems).toEqual([expect.objectContaining({ offset: '21', kind: 'BAD_SIGNATURE', seal: 2, sealOffset: '1' })]);
    const other = generateKeyPairSync('ed25519').privateKey;
    const { signature: _signature, ...unsigned } = (seals[1] as SealAt).seal;
    const resigned = seals.map((s, index) => (index === 1 ? { ...s, seal: signSeal({ ...unsigned, keyId: keyIdOf(other) }, other) } : s));
    expect(check(records, resigned).problems).toEqual([expect.objectContaining({ offset: '21', kind: 'BAD_SIGNATURE', detail: expect.stringMatching(/not the verifying key/) })]);
  });

  it('refuses a missing or repeated seal, even when each seal is well signed', () => {
    const gap = [seals[0], seals[2]] as SealAt[];
    expect(check(records, gap).problems).toEqual([expect.objectContaining({ offset: '21', kind: 'BAD_SEAL', detail: expect.stringMatching(/seal #2 is missing/) })]);
    const repeated = [seals[0], seals[1], seals[1], seals[2]] as SealAt[];
    expect(check(records, repeated).problems).toEqual([expect.objectContaining({ offset: '41', kind: 'BAD_SEAL', detail: expect.stringMatching(/repeats seal #2/) })]);
  });

  it('reports only records stamped within the window, and counts those', () => {
    const tampered = records.map((r, index) => (index === 3 || index === 25 ? { ...r, digest: recordDigest(record(300 + index)) } : r));
    const inWindow = check(tampered, seals, { window: { from: 1_010, to: 1_029 } });
    expect(inWindow.recordsChecked).toBe(20);
    expect(inWindow.problems.map((p) => p.offset)).toEqual(['51']);
    expect(check(tampered, seals, { window: { to: 1_009 } }).problems.map((p) => p.offset)).toEqual(['7']);
    expect(check(tampered, seals, { window: { from: 1_010, to: 1_020 } }).ok).toBe(true);
    // Records not sealed yet are counted within the window too.
    const more = sealedPartition(34, 10).records;
    expect(check(more, seals, { window: { to: 1_031 } }).unsealedTail).toMatchObject({ offset: '61', count: 2 });
    expect(check(more, seals, { window: { to: 1_029 } }).unsealedTail).toBeNull();
  });
});

describe('the seal key', () => {
  /** The key sources as the settings read them from this environment. */
  const fromEnv = (env: NodeJS.ProcessEnv) => sealKeySources(loadSettings(env));
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

  it('comes from BCSS_AUDIT_SEAL_KEY or the file BCSS_AUDIT_SEAL_KEY_FILE names, and must be Ed25519', () => {
    expect(loadSealKey(fromEnv({ BCSS_AUDIT_SEAL_KEY: pem }))).toMatchObject({ keyId, source: 'BCSS_AUDIT_SEAL_KEY' });
    const dir = mkdtempSync(join(tmpdir(), 'seal-key-'));
    try {
      const file = join(dir, 'seal.pem');
      writeFileSync(file, pem, { mode: 0o600 });
      expect(loadSealKey(fromEnv({ BCSS_AUDIT_SEAL_KEY_FILE: file })).keyId).toBe(keyId);
      const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
      expect(() => loadSealKey(fromEnv({ BCSS_AUDIT_SEAL_KEY: ec }))).toThrow(/an Ed25519 key is needed, not ec/);
      expect(() => loadSealKey(fromEnv({ BCSS_AUDIT_SEAL_KEY: 'not a key' }))).toThrow(SealKeyError);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('else is the local stack\'s development key, made once (0600) by the sealer, only read by verification', () => {
    const stackDir = mkdtempSync(join(tmpdir(), 'seal-stack-'));
    try {
      expect(() => loadVerifyKey(fromEnv({ BCSS_STACK_DIR: stackDir }))).toThrow(/no audit seal key/);
      const made = loadSealKey({ ...fromEnv({ BCSS_STACK_DIR: stackDir }), createDevelopmentKey: true });
      expect(statSync(developmentKeyPath(stackDir)).mode & 0o777).toBe(0o600);
      expect(loadSealKey({ ...fromEnv({ BCSS_STACK_DIR: stackDir }), createDevelopmentKey: true }).keyId).toBe(made.keyId);
      expect(loadVerifyKey(fromEnv({ BCSS_STACK_DIR: stackDir })).keyId).toBe(made.keyId);
    } finally {
      rmSync(stackDir, { recursive: true, force: true });
    }
  });

  it('is checked with BCSS_AUDIT_VERIFY_KEY or --public-key, which only need the public half', () => {
    const publicPem = publicKeyPem(publicKey);
    expect(publicPem).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    expect(loadVerifyKey(fromEnv({ BCSS_AUDIT_VERIFY_KEY: publicPem })).keyId).toBe(keyId);
    const dir = mkdtempSync(join(tmpdir(), 'seal-pub-'));
    try {
      const file = join(dir, 'seal.pub.pem');
      writeFileSync(file, publicPem);
      expect(loadVerifyKey({ ...fromEnv({ BCSS_AUDIT_VERIFY_KEY: 'ignored: the option comes first' }), publicKeyFile: file }).keyId).toBe(keyId);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
