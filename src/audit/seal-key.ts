import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { keyIdOf } from './seal-chain.js';

/**
 * The Ed25519 key that signs the audit seals, and the public key that checks them.
 *
 * Signing key, first found of:
 *   - BCSS_AUDIT_SEAL_KEY: the private key itself (PKCS#8 PEM), e.g. from a secret store;
 *   - BCSS_AUDIT_SEAL_KEY_FILE: a file holding it;
 *   - the local stack's development key, `<stack dir>/audit-seal-key.pem` (mode 0600), generated on
 *     first need: random per checkout, like the stack's credentials, and never in the repository.
 * Verifying key: `--public-key FILE`, else BCSS_AUDIT_VERIFY_KEY (SPKI PEM), else derived from the
 * signing key as above (the development key is then only read, never created: a key made at
 * verification would have signed nothing).
 *
 * The caller passes those values and the stack folder (src/app/settings.ts reads them): the audit
 * code depends on no environment and on no stack launcher.
 */

export class SealKeyError extends Error {
  override readonly name = 'SealKeyError';
}

export interface SealKey {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** Hex SHA-256 of the public key, written in every seal. */
  readonly keyId: string;
  /** Where it came from, for logs (never the key). */
  readonly source: string;
}

export interface VerifyKey {
  readonly publicKey: KeyObject;
  readonly keyId: string;
  readonly source: string;
}

export function developmentKeyPath(stackDir: string): string {
  return join(stackDir, 'audit-seal-key.pem');
}

function ed25519(key: KeyObject, source: string): KeyObject {
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new SealKeyError(`${source}: an Ed25519 key is needed, not ${key.asymmetricKeyType ?? 'a secret key'}`);
  }
  return key;
}

function privateFromPem(pem: string, source: string): SealKey {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (cause) {
    throw new SealKeyError(`${source}: not a PEM private key`, { cause });
  }
  ed25519(key, source);
  return { privateKey: key, publicKey: createPublicKey(key), keyId: keyIdOf(key), source };
}

function readKeyFile(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (cause) {
    throw new SealKeyError(`${what}: cannot read ${file}`, { cause });
  }
}

/** Creates the development key if it does not exist yet (never replaces one); returns its path. */
export function ensureDevelopmentSealKey(stackDir: string): string {
  const file = developmentKeyPath(stackDir);
  if (existsSync(file)) return file;
  mkdirSync(dirname(file), { recursive: true });
  const { privateKey } = generateKeyPairSync('ed25519');
  try {
    // 'wx': two processes starting at once keep the first key written, not a mix.
    writeFileSync(file, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  return file;
}

/** Where the keys come from: the values of the variables above, and the local stack's folder. */
export interface SealKeySources {
  /** BCSS_AUDIT_SEAL_KEY. */
  readonly sealKey?: string | null;
  /** BCSS_AUDIT_SEAL_KEY_FILE. */
  readonly sealKeyFile?: string | null;
  /** BCSS_AUDIT_VERIFY_KEY. */
  readonly verifyKey?: string | null;
  /** Where the development key is. */
  readonly stackDir: string;
}

export interface SealKeyOptions extends SealKeySources {
  /** Generate the development key when no key is configured (the sealer does; verification does not). */
  readonly createDevelopmentKey?: boolean;
}

export function loadSealKey(options: SealKeyOptions): SealKey {
  if (options.sealKey) return privateFromPem(options.sealKey, 'BCSS_AUDIT_SEAL_KEY');
  if (options.sealKeyFile) {
    const file = options.sealKeyFile;
    return privateFromPem(readKeyFile(file, 'BCSS_AUDIT_SEAL_KEY_FILE'), file);
  }
  const file = developmentKeyPath(options.stackDir);
  if (!existsSync(file)) {
    if (!options.createDevelopmentKey) {
      throw new SealKeyError(
        `no audit seal key: set BCSS_AUDIT_SEAL_KEY or BCSS_AUDIT_SEAL_KEY_FILE (or, to verify, BCSS_AUDIT_VERIFY_KEY or --public-key); the local development key ${file} does not exist yet (the sealer creates it at its first start)`,
      );
    }
    ensureDevelopmentSealKey(dirname(file));
  }
  return privateFromPem(readKeyFile(file, 'development seal key'), file);
}

export function publicKeyFromPem(pem: string, source: string): VerifyKey {
  let key: KeyObject;
  try {
    // A private key's PEM is accepted too: its public half is what checks.
    key = createPublicKey(pem);
  } catch (cause) {
    throw new SealKeyError(`${source}: not a PEM public key`, { cause });
  }
  ed25519(key, source);
  return { publicKey: key, keyId: keyIdOf(key), source };
}

export function loadVerifyKey(options: SealKeySources & { readonly publicKeyFile?: string }): VerifyKey {
  if (options.publicKeyFile) return publicKeyFromPem(readKeyFile(options.publicKeyFile, '--public-key'), options.publicKeyFile);
  if (options.verifyKey) return publicKeyFromPem(options.verifyKey, 'BCSS_AUDIT_VERIFY_KEY');
  const signing = loadSealKey({ sealKey: options.sealKey ?? null, sealKeyFile: options.sealKeyFile ?? null, stackDir: options.stackDir });
  return { publicKey: signing.publicKey, keyId: signing.keyId, source: `public half of ${signing.source}` };
}

/** The public key as PEM, to hand to auditors (BCSS_AUDIT_VERIFY_KEY or --public-key). */
export function publicKeyPem(key: KeyObject): string {
  return (key.type === 'private' ? createPublicKey(key) : key).export({ type: 'spki', format: 'pem' }).toString();
}
