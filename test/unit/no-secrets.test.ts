/**
 * No password or key in the repository: configuration takes them from the environment, the local
 * stack makes random ones in `.stack/` (git-ignored). The only literal ones are the local stack's
 * development defaults, marked as such (test/support/secret-scan.ts says how).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/config/project-paths.js';
import { findSecrets, literalOf, type SecretFinding } from '../support/secret-scan.js';

/** Literal values that look like secrets and are none, each with why. */
const NOT_SECRETS: ReadonlyArray<{ file: string; value: string; why: string }> = [
  { file: 'test/integration/acl-enforcement.test.ts', value: 'not-the-password', why: 'a wrong password on purpose, to see the broker refuse it' },
];

function git(...args: string[]): string {
  return execFileSync('git', args, { cwd: PROJECT_ROOT, encoding: 'utf8' });
}

function trackedFiles(): string[] {
  return git('ls-files', '-z').split('\0').filter(Boolean);
}

/** The tracked text files as they are in the working tree (a file deleted there is skipped). */
function trackedTexts(): Array<{ file: string; text: string }> {
  return trackedFiles().flatMap((file) => {
    const path = join(PROJECT_ROOT, file);
    if (!existsSync(path)) return [];
    const text = readFileSync(path, 'utf8');
    return text.includes('\0') ? [] : [{ file, text }];
  });
}

const describeFinding = (f: SecretFinding) => `${f.file}:${f.line}: ${f.kind}${f.value ? ` ${JSON.stringify(f.value)}` : ''}: ${f.text}`;

// Planted examples are put together at run time, so that this file holds none for the scan to find.
const PASSWORD = ['pass', 'word'].join('');
const REQUIREPASS = ['require', 'pass'].join('');
const SECRET = ['sec', 'ret'].join('');
const PEM_BEGIN = `${'-'.repeat(5)}BEGIN ${['PRIVATE', 'KEY'].join(' ')}${'-'.repeat(5)}`;

describe('the repository holds no secrets', () => {
  it('tracks no local stack, downloaded jars, dependencies, data folders or key files', () => {
    const unwanted = trackedFiles().filter(
      (file) =>
        /(?:^|\/)(?:\.stack|node_modules|kafka-data|redis-data|target|coverage|dist)\//.test(file) ||
        /\.(?:jar|class|pem|key|p12|pfx|jks|keystore|rdb|aof)$/.test(file) ||
        /(?:^|\/)(?:credentials\.json|connection\.env|\.env(?:\.[\w.-]+)?)$/.test(file),
    );
    expect(unwanted).toEqual([]);
    // And git keeps ignoring what the local stack and npm write.
    const ignored = git('check-ignore', '--no-index', '.stack/credentials.json', '.stack/audit-seal-key.pem', '.stack/libs/kafka.jar', 'node_modules/x.js', 'stack/target/x.jar');
    expect(ignored.trim().split('\n')).toHaveLength(5);
  });

  it('finds no private key and no literal password, token or key in a tracked file', () => {
    const findings = trackedTexts()
      .flatMap(({ file, text }) => findSecrets(file, text))
      .filter((f) => !NOT_SECRETS.some((n) => n.file === f.file && n.value === f.value));
    expect(findings.map(describeFinding)).toEqual([]);
  });

  it('keeps the list of values that are not secrets current', () => {
    const texts = new Map(trackedTexts().map(({ file, text }) => [file, text]));
    for (const entry of NOT_SECRETS) {
      const found = findSecrets(entry.file, texts.get(entry.file) ?? '').map((f) => f.value);
      expect(found, `${entry.file} no longer holds ${entry.value}: remove it from NOT_SECRETS`).toContain(entry.value);
    }
  });

  it("excuses docker-compose.yml's passwords by its opening comment only, and they are dev- values", () => {
    const compose = readFileSync(join(PROJECT_ROOT, 'docker-compose.yml'), 'utf8');
    expect(findSecrets('docker-compose.yml', compose)).toEqual([]);
    // Without the comment that says they are development defaults, they would be found.
    const unmarked = compose.replace(/development defaults?/gi, 'settings');
    const values = findSecrets('docker-compose.yml', unmarked).map((f) => f.value);
    expect(values.length).toBeGreaterThan(0);
    expect(values.every((v) => v?.startsWith('dev-'))).toBe(true);
  });
});

describe('findSecrets', () => {
  const found = (file: string, text: string) => findSecrets(file, text).map((f) => f.value ?? f.kind);

  it('finds a private key in any file, even marked', () => {
    const pem = `${PEM_BEGIN}\nMC4CAQAwBQYDK2VwBCIEIA==\n${PEM_BEGIN.replace('BEGIN', 'END')}\n`;
    expect(found('docs/notes.md', pem)).toEqual(['private key']);
    expect(found('config/key.yaml', `seal: |\n  ${PEM_BEGIN.replace('PRIVATE', 'RSA PRIVATE')}  # development default\n`)).toEqual(['private key']);
    expect(found('test/x.ts', "expect(pem).toMatch(/^-----BEGIN PUBLIC KEY-----/);")).toEqual([]);
  });

  it('finds a password assigned literally in YAML, env, properties, JSON, shell and code', () => {
    expect(found('config/institutions.yaml', `kafka:\n  ${PASSWORD}: hunter2\n`)).toEqual(['hunter2']);
    expect(found('deploy/prod.env', `KAFKA_SASL_${PASSWORD.toUpperCase()}=s3cr3t-Value\n`)).toEqual(['s3cr3t-Value']);
    expect(found('.env', `REDIS_${PASSWORD.toUpperCase()}="quoted one"\n`)).toEqual(['quoted one']);
    expect(found('stack/client.properties', `sasl.jaas.config=...ScramLoginModule required username="admin" ${PASSWORD}="Adm1n!";\n`)).toEqual(['Adm1n!']);
    expect(found('config/redis.conf', `${REQUIREPASS} opensesame\n`)).toEqual(['opensesame']);
    expect(found('config/app.json', `{ "api${'Key'}": "AKIA0123456789", "db${PASSWORD[0]?.toUpperCase()}${PASSWORD.slice(1)}": "pw1" }`)).toEqual(['AKIA0123456789', 'pw1']);
    expect(found('scripts/run.sh', `export GITHUB_${'TOKEN'}=ghp_abcdef\n`)).toEqual(['ghp_abcdef']);
    expect(found('src/x.ts', `const connection = { sasl: { username: 'vaph', ${PASSWORD}: 'hunter2' } };`)).toEqual(['hunter2']);
    expect(found('src/x.ts', `const ${SECRET} = "topsecret";`)).toEqual(['topsecret']);
    expect(found('src/x.ts', `args.push('--${REQUIREPASS}', 'letmein');`)).toEqual(['letmein']);
    expect(found('src/x.ts', `const conf = \`${REQUIREPASS} letmein\`;`)).toEqual(['letmein']);
    expect(found('src/x.ts', `const url = 'redis://:${'letmein'}@127.0.0.1:6379';`)).toEqual(['letmein']);
    expect(found('docker-compose.yml', `command: ["redis-server", "--${REQUIREPASS}", "\${REDIS_PW:-letmein}"]`)).toEqual(['letmein']);
  });

  it('accepts what comes from the environment or from code, and placeholders', () => {
    const accepted = [
      ['src/x.ts', `const ${PASSWORD} = env.KAFKA_SASL_${PASSWORD.toUpperCase()};`],
      ['src/x.ts', `readonly ${PASSWORD}: string;`],
      ['src/x.ts', `sasl: { mechanism, username, ${PASSWORD}: credentials.admin.${PASSWORD} },`],
      ['src/x.ts', `['redis-server', '--${REQUIREPASS}', credentials.redisPassword]`],
      ['src/x.ts', 'lines.push(`requirepass ${credentials.redisPassword}`);'],
      ['src/x.ts', '`KAFKA_SASL_PASSWORD=${sasl?.password ?? \'\'}`,'],
      ['src/x.ts', 'return `redis://:${credentials.redisPassword}@127.0.0.1:${ports.redis}`;'],
      ['src/x.ts', `const jaas = \`ScramLoginModule required username="\${ADMIN_USER}" ${PASSWORD}="\${adminPassword}";\`;`],
      ['docker-compose.yml', `      REDIS_${PASSWORD.toUpperCase()}: \${REDIS_${PASSWORD.toUpperCase()}}`],
      ['deploy/prod.env', `KAFKA_SASL_${PASSWORD.toUpperCase()}=`],
      ['README.sh', `KAFKA_SASL_${PASSWORD.toUpperCase()}=... npm test`],
      ['config/x.yaml', `${PASSWORD}: <your ${PASSWORD}>`],
      ['config/x.json', `{ "${PASSWORD}": null }`],
      ['config/x.yaml', 'url: redis://:...@127.0.0.1:16379'],
      ['schemas/x.avsc', `{ "name": "socialSecretariatId", "type": "string" }`],
    ] as const;
    for (const [file, line] of accepted) expect(found(file, line), line).toEqual([]);
  });

  it('does not look for assignments in documentation', () => {
    expect(found('docs/operations.md', `KAFKA_SASL_${PASSWORD.toUpperCase()}=hunter2`)).toEqual([]);
    expect(found('README.md', `${PASSWORD}: hunter2`)).toEqual([]);
  });

  it('excuses a development default marked on its line or the comment line above, and nothing else', () => {
    const planted = `REDIS_${PASSWORD.toUpperCase()}=dev-redis-${PASSWORD}`;
    expect(found('stack/redis.env', `${planted}\n`)).toEqual([`dev-redis-${PASSWORD}`]);
    expect(found('stack/redis.env', `${planted}  # development default, see README\n`)).toEqual([]);
    expect(found('stack/redis.env', `# Development default of the local stack:\n${planted}\n`)).toEqual([]);
    expect(found('src/x.ts', `const fallback = { ${PASSWORD}: 'dev-admin' }; // development default\n`)).toEqual([]);
    // The marker covers the next line only, not the rest of the file.
    expect(found('stack/redis.env', `# development default\n${planted}\nOTHER_${PASSWORD.toUpperCase()}=hunter2\n`)).toEqual(['hunter2']);
    // Outside a comment, the words do not excuse.
    expect(found('config/x.yaml', `${PASSWORD}: development-default-hunter2\n`)).toEqual(['development-default-hunter2']);
  });

  it("excuses only dev- values by a file's opening comment", () => {
    const header = '# Local set-up. DEVELOPMENT DEFAULTS: change the passwords.\nservices:\n';
    expect(found('docker-compose.yml', `${header}  ${PASSWORD}: \${X:-dev-admin-${PASSWORD}}\n`)).toEqual([]);
    expect(found('docker-compose.yml', `${header}  ${PASSWORD}: \${X:-hunter2}\n`)).toEqual(['hunter2']);
    // A comment further down is not the file's opening one.
    expect(found('docker-compose.yml', `services:\n# development defaults\n\n  a: 1\n  ${PASSWORD}: dev-x\n`)).toEqual(['dev-x']);
  });

  it('reads the default of an environment reference as the literal', () => {
    expect(literalOf('${REDIS_PASSWORD:-dev-redis-password}')).toBe('dev-redis-password');
    expect(literalOf('$${BCSS_ADMIN_PASSWORD-fallback}')).toBe('fallback');
    expect(literalOf('${REDIS_PASSWORD}')).toBeNull();
    expect(literalOf('${REDIS_PASSWORD:-}')).toBeNull();
    expect(literalOf('$REDIS_PASSWORD')).toBeNull();
    expect(literalOf('%s')).toBeNull();
    expect(literalOf('dev-$$user-password')).toBe('dev-$$user-password');
    expect(literalOf('${prefix}.${name}')).toBeNull();
  });
});
