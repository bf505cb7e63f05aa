/**
 * The worked example of docs/audit-format.md is what the code computes: the record's canonical bytes
 * and digest, the genesis link, the first link, and a seal's signing bytes and Ed25519 signature with
 * the key of RFC 8032's first test vector. The example is regenerated here and compared, section by
 * section, with the document (PRINT_AUDIT_EXAMPLE=1 prints the block to paste when the format changes).
 */
import { createPrivateKey, createPublicKey, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { canonicalRecordBytes, genesisLink, keyIdOf, nextLink, recordDigest, sealSigningBytes, signSeal } from '../../src/audit/seal-chain.js';
import { PROJECT_ROOT } from '../../src/config/project-paths.js';

/** RFC 8032 §7.1, TEST 1: the secret key, as the seed of a PKCS#8 Ed25519 key. */
const RFC8032_SEED = '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60';
const PKCS8_ED25519_PREFIX = '302e020100300506032b657004220420';

function workedExample(): Record<string, string> {
  const record = { key: Buffer.from('subject', 'utf8'), value: Buffer.from([1, 2, 3]), headers: { type: 'audit', ticket: 't', event: 'E' } };
  const digest = recordDigest(record);
  const genesis = genesisLink(0);
  const link = nextLink(genesis, digest);
  const privateKey = createPrivateKey({ key: Buffer.from(PKCS8_ED25519_PREFIX + RFC8032_SEED, 'hex'), format: 'der', type: 'pkcs8' });
  const spki = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  const unsigned = {
    partition: 0,
    sequence: 1,
    records: 1,
    firstOffset: 0,
    lastOffset: 0,
    previousLink: genesis,
    link,
    digests: [digest],
    sealedAt: 1_700_000_000_000,
    keyId: keyIdOf(privateKey),
  };
  const seal = signSeal(unsigned, privateKey);
  return {
    'record.canonical': canonicalRecordBytes(record).toString('hex'),
    'record.digest': digest.toString('hex'),
    'genesis.partition-0': genesis.toString('hex'),
    'link.1': link.toString('hex'),
    'key.spki-der': spki.toString('hex'),
    'key.id': unsigned.keyId,
    'seal.signing-bytes': sealSigningBytes(unsigned).toString('hex'),
    'seal.signature': seal.signature.toString('hex'),
  };
}

/** The example as the document writes it: `name:` then the hex, 64 digits (32 bytes) a line, indented. */
function formatExample(example: Record<string, string>): string {
  return Object.entries(example)
    .map(([name, hex]) => `${name}:\n${(hex.match(/.{1,64}/g) ?? []).map((line) => `  ${line}`).join('\n')}`)
    .join('\n');
}

function documentedExample(): Record<string, string> {
  const doc = readFileSync(join(PROJECT_ROOT, 'docs', 'audit-format.md'), 'utf8');
  const block = /<!-- worked-example -->\n```text\n([\s\S]*?)\n```/.exec(doc)?.[1];
  if (block === undefined) throw new Error('docs/audit-format.md has no worked-example block');
  const out: Record<string, string> = {};
  let name = '';
  for (const line of block.split('\n')) {
    if (line.startsWith('  ')) out[name] = (out[name] ?? '') + line.trim();
    else name = line.replace(/:$/, '');
  }
  return out;
}

describe('docs/audit-format.md worked example', () => {
  it('is what the code computes', () => {
    if (process.env.PRINT_AUDIT_EXAMPLE) process.stdout.write(`${formatExample(workedExample())}\n`);
    expect(documentedExample()).toEqual(workedExample());
  });

  it('its signature verifies with its key, and the RFC 8032 public key is the one in the SPKI', () => {
    const example = documentedExample();
    const publicKey = createPublicKey({ key: Buffer.from(example['key.spki-der'] as string, 'hex'), format: 'der', type: 'spki' });
    expect(example['key.spki-der']?.endsWith('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a')).toBe(true);
    expect(verify(null, Buffer.from(example['seal.signing-bytes'] as string, 'hex'), publicKey, Buffer.from(example['seal.signature'] as string, 'hex'))).toBe(true);
  });
});
