/**
 * The console's users and their roles. On the local stack the users are made once per checkout, like
 * the stack's Kafka passwords (src/stack/local-stack.ts): `<stack dir>/console-users.json` keeps scrypt
 * hashes only, `<stack dir>/console-passwords.env` the passwords for the local user alone (mode 0600),
 * printed once when made. Elsewhere the operator gives a users file of the same form
 * (BCSS_CONSOLE_USERS_FILE), written with `hashPassword`.
 */
import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { z } from 'zod';

/** operator: runs the switch (dead letters, redrive); dpo: the data-protection officer (person reports, NISS in full); observer: reads, masked. */
export const CONSOLE_ROLES = ['operator', 'dpo', 'observer'] as const;
export type ConsoleRole = (typeof CONSOLE_ROLES)[number];

export interface ConsoleUser {
  readonly name: string;
  readonly role: ConsoleRole;
}

const USER_NAME = /^[a-z][a-z0-9._-]{0,31}$/;

const USERS_FILE = z.object({
  users: z.array(
    z.object({
      name: z.string().regex(USER_NAME),
      role: z.enum(CONSOLE_ROLES),
      /** `scrypt$<salt base64url>$<hash base64url>` */
      password: z.string().regex(/^scrypt\$[A-Za-z0-9_-]+\$[A-Za-z0-9_-]+$/),
    }),
  ),
  /** Signs the session cookies: a new secret logs everyone out. */
  cookieSecret: z.string().min(32),
});
export type ConsoleUsersFile = z.infer<typeof USERS_FILE>;

export class ConsoleUsersError extends Error {
  override readonly name = 'ConsoleUsersError';
}

const KEY_LENGTH = 32;

export function hashPassword(password: string): string {
  const salt = randomBytes(16);
  return `scrypt$${salt.toString('base64url')}$${scryptSync(password, salt, KEY_LENGTH).toString('base64url')}`;
}

export interface ConsoleUsers {
  readonly cookieSecret: string;
  /** The user when name and password match; null otherwise (the same time whether the name exists or not). */
  check(name: string, password: string): ConsoleUser | null;
  readonly names: readonly string[];
}

const DUMMY_HASH = hashPassword(randomBytes(9).toString('base64url'));

export function consoleUsers(file: ConsoleUsersFile): ConsoleUsers {
  const byName = new Map(file.users.map((u) => [u.name, u]));
  return {
    cookieSecret: file.cookieSecret,
    names: [...byName.keys()],
    check(name, password) {
      const user = byName.get(name);
      const [, salt, hash] = (user?.password ?? DUMMY_HASH).split('$') as [string, string, string];
      const expected = Buffer.from(hash, 'base64url');
      const actual = scryptSync(password, Buffer.from(salt, 'base64url'), expected.length);
      return user && timingSafeEqual(actual, expected) ? { name: user.name, role: user.role } : null;
    },
  };
}

export function readUsersFile(path: string): ConsoleUsersFile {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ConsoleUsersError(`${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const parsed = USERS_FILE.safeParse(json);
  if (!parsed.success) throw new ConsoleUsersError(`${path}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return parsed.data;
}

/** The local stack's users: one per role, named after it; made on first use. */
export function ensureLocalUsers(stackDir: string): { file: string; passwordsFile: string; created: Record<string, string> | null } {
  const file = join(stackDir, 'console-users.json');
  const passwordsFile = join(stackDir, 'console-passwords.env');
  if (existsSync(file)) return { file, passwordsFile, created: null };
  mkdirSync(dirname(file), { recursive: true });
  const passwords = Object.fromEntries(CONSOLE_ROLES.map((role) => [role, randomBytes(12).toString('base64url')]));
  const users: ConsoleUsersFile = {
    users: CONSOLE_ROLES.map((role) => ({ name: role, role, password: hashPassword(passwords[role] as string) })),
    cookieSecret: randomBytes(32).toString('base64url'),
  };
  writeFileSync(passwordsFile, CONSOLE_ROLES.map((role) => `BCSS_CONSOLE_PASSWORD_${role.toUpperCase()}=${passwords[role]}\n`).join(''), { mode: 0o600 });
  // Written last and exclusively: a second process starting at the same time fails here, not silently.
  writeFileSync(file, `${JSON.stringify(users, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  return { file, passwordsFile, created: passwords };
}

/** The local passwords as written by ensureLocalUsers, by role (for the local user, and the tests). */
export function readLocalPasswords(passwordsFile: string): Record<string, string> {
  const passwords: Record<string, string> = {};
  for (const line of readFileSync(passwordsFile, 'utf8').split('\n')) {
    const match = /^BCSS_CONSOLE_PASSWORD_([A-Z]+)=(.+)$/.exec(line);
    if (match) passwords[(match[1] as string).toLowerCase()] = match[2] as string;
  }
  return passwords;
}
