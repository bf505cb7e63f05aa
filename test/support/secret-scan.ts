/**
 * Finds secrets written into files: private keys (PEM blocks) and passwords, tokens or keys assigned
 * a literal value. The rule of the repository: configuration takes its secrets from the environment
 * (`${REDIS_PASSWORD}`, `env.KAFKA_SASL_PASSWORD`) or from the local stack, which makes random ones in
 * `.stack/` (git-ignored). The one exception is a development default of the local stack, and it is
 * marked so, with the words "development default" in a comment:
 *
 * - on the line itself, or on the comment line just above it;
 * - or, for a file that is all development set-up (docker-compose.yml), in the file's opening comment
 *   ("DEVELOPMENT DEFAULTS: change the passwords") — then only for values named `dev-…`, so that the
 *   value says what it is wherever it is copied to.
 *
 * A private key is never excused: the local stack makes its development key at run time.
 */

export interface SecretFinding {
  readonly file: string;
  /** 1-based. */
  readonly line: number;
  readonly kind: 'private key' | 'password';
  /** The literal value found (for a password), so that a report names it. */
  readonly value?: string;
  readonly text: string;
}

/** The marker of a development default, in a comment (`#`, `//`, `/*`, `<!--`). */
const MARKER = /(?:#|\/\/|\/\*|<!--).*\bdevelopment defaults?\b/i;

const PRIVATE_KEY = /-{5}BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-{5}/;

/** Names of secrets, such as `password`, `KAFKA_SASL_PASSWORD`, `redisPassword`, `apiKey`, `client_secret`. */
const SECRET_NAME = String.raw`[A-Za-z0-9_.-]*?(?:pass(?:word|wd|phrase)|pwd|secret|token|(?:api|access|secret|private|signing)[_-]?key)`;

/** `name: value`, `name = value`, `"name": "value"`, `name=value` (env, properties, SCRAM configs). */
const ASSIGNMENT = new RegExp(String.raw`(?<![A-Za-z0-9_{$])(["']?)(${SECRET_NAME})\1[ \t]*(?:=>|:=|[:=])[ \t]*`, 'gi');
/** redis.conf and redis-server's flag: `requirepass <value>`, `"--requirepass", "<value>"`. */
const REQUIREPASS = /\brequirepass(?:["'`]?[ \t]*,[ \t]*|[ \t]+)/gi;
/** A JAAS PLAIN user: `user_admin="value"`. */
const JAAS_USER = /\buser_[A-Za-z0-9_-]+=/g;
/** Credentials in a URL: `redis://:<value>@host`, `amqp://user:<value>@host` (the value is the group). */
const URL_PASSWORD = /\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@'"`]*:([^\s@/'"`]+)@/gi;

const CODE = /\.[cm]?[jt]sx?$/;
const CONFIG = /(?:\.(?:json|ya?ml|env|properties|conf|cfg|ini|toml|sh|bash|xml)|(?:^|\/)\.env(?:\.[\w.-]+)?|(?:^|\/)Dockerfile(?:\.[\w.-]+)?)$/;

/** Whether `file` is code or configuration, where assignments are looked for (documentation is not). */
export function checksAssignments(file: string, text: string): boolean {
  return CODE.test(file) || CONFIG.test(file) || text.startsWith('#!');
}

/** Whether the position `at` of a line of code is inside a string literal ('…', "…", `…`). */
function insideString(line: string, at: number): boolean {
  let open: string | null = null;
  for (let i = 0; i < at; i++) {
    const c = line[i] as string;
    if (c === '\\') {
      i++;
    } else if (open) {
      if (c === open) open = null;
    } else if (c === '"' || c === "'" || c === '`') {
      open = c;
    } else if (c === '/' && line[i + 1] === '/') {
      return false;
    }
  }
  return open !== null;
}

/**
 * The value that starts at `from`: a quoted string, or (in text) up to a space or a delimiter.
 * `quoted` tells which; null when there is no value.
 */
function valueAt(line: string, from: number): { value: string; quoted: boolean } | null {
  const quote = line[from];
  if (quote === '"' || quote === "'" || quote === '`') {
    const end = line.indexOf(quote, from + 1);
    return { value: line.slice(from + 1, end < 0 ? undefined : end), quoted: true };
  }
  const rest = line.slice(from);
  // An interpolation as a whole, spaces included: `${sasl?.password ?? ''}`.
  const interpolation = /^\$?\$\{/.exec(rest);
  if (interpolation) {
    let depth = 0;
    for (let i = interpolation[0].length - 1; i < rest.length; i++) {
      if (rest[i] === '{') depth++;
      else if (rest[i] === '}' && --depth === 0) return { value: rest.slice(0, i + 1), quoted: false };
    }
  }
  const placeholder = /^<[^>]*>/.exec(rest);
  if (placeholder) return { value: placeholder[0], quoted: false };
  const match = /^[^\s,;'"`\])}\\]+/.exec(rest);
  return match ? { value: match[0], quoted: false } : null;
}

/** `${NAME:-default}` / `${NAME-default}` (shell, compose; `$$` escaped in compose): the default. */
const ENV_DEFAULT = /^\$?\$\{[A-Za-z_][A-Za-z0-9_]*:?-([^}]*)\}$/;
/** References and placeholders: `${NAME}`, `$NAME`, `%s`, `{{ x }}`, `<password>`, `...`, `***`, `xxx`. */
const NOT_A_VALUE = /^(?:\$?\$\{[^}]*\}|\$\$?[A-Za-z_][A-Za-z0-9_]*|%s|\{\{[^}]*\}\}|<[^>]*>|\.{3}|…|\*+|x{3,}|null|~|true|false|undefined)$/i;

/** The literal part of a value, or null when it is a reference to something else (or nothing). */
export function literalOf(raw: string): string | null {
  const value = raw.trim();
  const fallback = ENV_DEFAULT.exec(value);
  if (fallback) return literalOf(fallback[1] as string);
  if (value === '' || NOT_A_VALUE.test(value)) return null;
  // Interpolations are not literal: `${prefix}-${secret()}` is built, `dev-$$user-password` is not.
  const rest = value.replace(/\$?\$\{[^}]*\}/g, '').replace(/[-_.:/]/g, '');
  return rest.length === 0 ? null : value;
}

/** The opening comment of a file: its first lines that are comments (after a shebang). */
function openingComment(lines: readonly string[]): string {
  const head: string[] = [];
  for (const line of lines) {
    if (/^\s*(?:#|\/\/|\/\*|\*|<!--)/.test(line)) head.push(line);
    else if (head.length > 0 || line.trim() !== '') break;
  }
  return head.join('\n');
}

/** Every secret in one file's text. `file` is the path in the repository (it decides the file's kind). */
export function findSecrets(file: string, text: string): SecretFinding[] {
  const findings: SecretFinding[] = [];
  const lines = text.split(/\r?\n/);
  const code = CODE.test(file);
  const assignments = checksAssignments(file, text);
  const devFile = /\bdevelopment defaults?\b/i.test(openingComment(lines));
  lines.forEach((line, index) => {
    const at = { file, line: index + 1, text: line.trim() };
    if (PRIVATE_KEY.test(line)) findings.push({ ...at, kind: 'private key' });
    if (!assignments) return;
    const marked = MARKER.test(line) || (index > 0 && /^\s*(?:#|\/\/|\/?\*)/.test(lines[index - 1] as string) && MARKER.test(lines[index - 1] as string));
    const seen = new Set<string>();
    for (const pattern of [ASSIGNMENT, REQUIREPASS, JAAS_USER, URL_PASSWORD]) {
      if (pattern === JAAS_USER && !line.includes('LoginModule')) continue;
      for (const match of line.matchAll(pattern)) {
        const from = (match.index as number) + match[0].length;
        const found = pattern === URL_PASSWORD ? { value: match[1] as string, quoted: false } : valueAt(line, from);
        if (!found) continue;
        // In code, a bare value is an expression (`password: env.KAFKA_SASL_PASSWORD`, `password: string`),
        // unless it is inside a string (`\`requirepass hunter2\``).
        if (code && !found.quoted && pattern !== URL_PASSWORD && !insideString(line, from)) continue;
        const value = literalOf(found.value);
        if (value === null || seen.has(value)) continue;
        seen.add(value);
        if (marked || (devFile && value.startsWith('dev-'))) continue;
        findings.push({ ...at, kind: 'password', value });
      }
    }
  });
  return findings;
}
