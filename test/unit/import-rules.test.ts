/**
 * The import rules of docs/architecture.md ("Layers and import rules"), checked on the source itself
 * with the TypeScript parser, so that a change that breaks one fails here rather than in review.
 *
 * Every import, re-export, `import()` and `require()` with a literal specifier counts. A type-only
 * import (`import type`, `export type … from`) is erased by the compiler and loads nothing at run time:
 * it may cross a layer, but it still counts for cycles. With verbatimModuleSyntax, `import { type X }`
 * keeps an (empty) import of the module, so it counts as a value import.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/config/project-paths.js';

interface Import {
  /** The importing file, relative to the project root with '/' separators. */
  readonly from: string;
  readonly specifier: string;
  /** The imported project file (same form), or null for a package or a Node module. */
  readonly target: string | null;
  readonly typeOnly: boolean;
  readonly line: number;
}

const toPosix = (path: string): string => path.split(sep).join('/');

function sourceFiles(folder: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(join(PROJECT_ROOT, folder), { withFileTypes: true })) {
    const path = `${folder}/${entry.name}`;
    if (entry.isDirectory()) found.push(...sourceFiles(path));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) found.push(path);
  }
  return found.sort();
}

/** `./x.js` → `src/…/x.ts` (NodeNext specifiers name the emitted file). */
function resolveRelative(from: string, specifier: string): string | null {
  const base = resolve(PROJECT_ROOT, dirname(from), specifier);
  const candidates = [base.replace(/\.js$/, '.ts'), base.replace(/\.mjs$/, '.mts'), base, `${base}.ts`, join(base, 'index.ts')];
  const file = candidates.find((candidate) => existsSync(candidate) && candidate.endsWith('ts'));
  return file ? toPosix(relative(PROJECT_ROOT, file)) : null;
}

function importsOf(file: string): Import[] {
  const text = readFileSync(join(PROJECT_ROOT, file), 'utf8');
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const found: Import[] = [];
  const add = (literal: ts.StringLiteralLike, typeOnly: boolean): void => {
    const specifier = literal.text;
    const target = specifier.startsWith('.') ? resolveRelative(file, specifier) : null;
    const line = source.getLineAndCharacterOfPosition(literal.getStart(source)).line + 1;
    found.push({ from: file, specifier, target, typeOnly, line });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteralLike(node.moduleSpecifier)) {
      add(node.moduleSpecifier, node.importClause?.isTypeOnly === true);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteralLike(node.moduleSpecifier)) {
      add(node.moduleSpecifier, node.isTypeOnly);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      const expression = node.moduleReference.expression;
      if (ts.isStringLiteralLike(expression)) add(expression, node.isTypeOnly);
    } else if (ts.isCallExpression(node)) {
      const [argument] = node.arguments;
      const dynamic = node.expression.kind === ts.SyntaxKind.ImportKeyword;
      const required = ts.isIdentifier(node.expression) && node.expression.text === 'require';
      if ((dynamic || required) && argument && ts.isStringLiteralLike(argument)) add(argument, false);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteralLike(node.argument.literal)) {
      // `import('x').T` in a type position: a type reference, erased like `import type`.
      add(node.argument.literal, true);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

const SRC_FILES = sourceFiles('src');
const BENCH_FILES = sourceFiles('bench');
const SRC_IMPORTS = SRC_FILES.flatMap(importsOf);
const ALL_IMPORTS = [...SRC_IMPORTS, ...BENCH_FILES.flatMap(importsOf)];

/** `src/messaging/kafka/client.ts` → `messaging`; `src/index.ts` → `index.ts`; `bench/x.ts` → `bench`. */
function folderOf(file: string): string {
  const parts = file.split('/');
  return (parts[0] === 'src' ? parts[1] : parts[0]) as string;
}

const NODE_MODULES = new Set(builtinModules);
const isNodeModule = (specifier: string): boolean => specifier.startsWith('node:') || NODE_MODULES.has(specifier.split('/')[0] as string);
/** `kafkajs`, `kafkajs/…`, `@scope/pkg/…` → the package's name. */
const packageOf = (specifier: string): string =>
  specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : (specifier.split('/')[0] as string);

const where = (i: Import): string => `${i.from}:${i.line} imports '${i.specifier}'`;

/** Fails with every offending import listed, one a line. */
function expectNone(offences: readonly string[], rule: string): void {
  expect(offences, `${rule}:\n  ${offences.join('\n  ')}`).toEqual([]);
}

/**
 * The layers, lowest first: a file may import its own folder and folders of a LOWER layer only
 * (value imports; see above for type-only ones). `src/index.ts` (the library's entry), `src/cli/`
 * and `bench/` are entries: nothing in src imports them. The gateway shares a layer with the
 * institutions' client, the sources and the audit tools: what they have in common is the protocol
 * (`src/contract/`), below them all, as it would be between separate parties.
 */
const LAYERS: ReadonlyArray<readonly string[]> = [
  ['domain', 'logging'],
  ['config', 'messaging', 'store'],
  ['contract'],
  ['observability'],
  ['gateway', 'client', 'sources', 'audit', 'stack'],
  // The operators' and data-protection officer's web console: it reads the audit trail and the metrics.
  ['console'],
  ['app'],
  ['demo'],
  ['cli', 'index.ts', 'bench'],
];
const LAYER_OF = new Map(LAYERS.flatMap((folders, layer) => folders.map((folder) => [folder, layer] as const)));

describe('import rules (docs/architecture.md)', () => {
  it('reads the sources it checks', () => {
    // A parser or path mistake here would make every rule below pass vacuously.
    expect(SRC_FILES).toContain('src/domain/niss.ts');
    expect(SRC_IMPORTS.filter((i) => i.from === 'src/app/runtime.ts' && i.target === 'src/app/settings.ts')).toHaveLength(1);
  });

  it('src/domain imports nothing with I/O: no Node module, no package but pure ones, nothing outside src/domain except type-only', () => {
    // Pure rules only: anything that reaches a broker, Redis, a file or a log is a layer above.
    const PURE_PACKAGES = new Set<string>();
    const offences = SRC_IMPORTS.filter((i) => folderOf(i.from) === 'domain').flatMap((i) => {
      if (isNodeModule(i.specifier)) return [`${where(i)}: a Node module`];
      if (i.target === null && !i.specifier.startsWith('.')) {
        return PURE_PACKAGES.has(packageOf(i.specifier)) ? [] : [`${where(i)}: a package (kafkajs, ioredis, pino, … do I/O)`];
      }
      if (i.target === null) return [`${where(i)}: a file that does not exist`];
      if (folderOf(i.target) !== 'domain' && !i.typeOnly) return [`${where(i)}: ${i.target} is outside src/domain`];
      return [];
    });
    expectNone(offences, 'src/domain must stay pure');
  });

  it('only files under src/messaging/ import kafkajs', () => {
    const offences = ALL_IMPORTS.filter((i) => packageOf(i.specifier) === 'kafkajs' && !i.from.startsWith('src/messaging/')).map(where);
    expectNone(offences, 'kafkajs outside src/messaging (its errors are translated there, into MessagingError)');
  });

  it('only files under src/store/ import ioredis', () => {
    const offences = ALL_IMPORTS.filter((i) => packageOf(i.specifier) === 'ioredis' && !i.from.startsWith('src/store/')).map(where);
    expectNone(offences, 'ioredis outside src/store (keys and Cluster-safe commands are kept there)');
  });

  it('only src/store/postgres-connection.ts imports pg', () => {
    const offences = ALL_IMPORTS.filter((i) => packageOf(i.specifier) === 'pg' && i.from !== 'src/store/postgres-connection.ts').map(where);
    expectNone(offences, 'pg outside src/store/postgres-connection.ts (its errors become SqlError there)');
  });

  it('no import cycles among src files (type-only imports included)', () => {
    const edges = new Map<string, string[]>(SRC_FILES.map((file) => [file, []]));
    for (const i of SRC_IMPORTS) if (i.target?.startsWith('src/')) edges.get(i.from)?.push(i.target);
    // Tarjan's strongly connected components: every component of more than one file (or a file
    // importing itself) is a cycle.
    let counter = 0;
    const index = new Map<string, number>();
    const low = new Map<string, number>();
    const stack: string[] = [];
    const onStack = new Set<string>();
    const cycles: string[][] = [];
    const connect = (file: string): void => {
      index.set(file, counter);
      low.set(file, counter);
      counter++;
      stack.push(file);
      onStack.add(file);
      for (const next of edges.get(file) ?? []) {
        if (!index.has(next)) {
          connect(next);
          low.set(file, Math.min(low.get(file) as number, low.get(next) as number));
        } else if (onStack.has(next)) {
          low.set(file, Math.min(low.get(file) as number, index.get(next) as number));
        }
      }
      if (low.get(file) === index.get(file)) {
        const component: string[] = [];
        let member: string;
        do {
          member = stack.pop() as string;
          onStack.delete(member);
          component.push(member);
        } while (member !== file);
        if (component.length > 1 || (edges.get(file) ?? []).includes(file)) cycles.push(component.sort());
      }
    };
    for (const file of SRC_FILES) if (!index.has(file)) connect(file);
    const offences = cycles.map((component) => {
      const inside = new Set(component);
      const links = SRC_IMPORTS.filter((i) => inside.has(i.from) && i.target !== null && inside.has(i.target)).map(where);
      return `${component.join(' ↔ ')}\n    ${links.join('\n    ')}`;
    });
    expectNone(offences, 'import cycles (move what both sides need into a third file)');
  });

  it('no upward imports: each folder imports its own files and lower layers only', () => {
    const offences = ALL_IMPORTS.filter((i) => !i.typeOnly && i.target !== null && (i.target.startsWith('src/') || i.target.startsWith('bench/'))).flatMap((i) => {
      const from = folderOf(i.from);
      const to = folderOf(i.target as string);
      if (from === to) return [];
      const fromLayer = LAYER_OF.get(from);
      const toLayer = LAYER_OF.get(to);
      if (fromLayer === undefined) return [`${where(i)}: src/${from} is in no layer of this test (add it to LAYERS)`];
      if (toLayer === undefined) return [`${where(i)}: src/${to} is in no layer of this test (add it to LAYERS)`];
      return toLayer < fromLayer ? [] : [`${where(i)}: ${from} (layer ${fromLayer}) may not import ${to} (layer ${toLayer})`];
    });
    expectNone(offences, 'upward imports');
  });

  it('src/client, src/sources and src/audit never import src/gateway, not even a type: they share the contract only', () => {
    const PARTIES = new Set(['client', 'sources', 'audit']);
    const offences = SRC_IMPORTS.filter((i) => PARTIES.has(folderOf(i.from)) && i.target?.startsWith('src/gateway/')).map(where);
    expectNone(offences, 'imports of the gateway by its parties (what they need of it belongs in src/contract)');
  });

  it('nothing outside src/cli imports src/cli: the demo, the app and the benchmarks included', () => {
    const offences = ALL_IMPORTS.filter((i) => i.target?.startsWith('src/cli/') && !i.from.startsWith('src/cli/')).map(where);
    expectNone(offences, 'imports of the command line (what they need belongs in src/app)');
  });

  it('every src folder is in a layer', () => {
    const folders = [...new Set(SRC_FILES.map(folderOf))].filter((folder) => !LAYER_OF.has(folder));
    expectNone(folders.map((folder) => `src/${folder}`), 'folders missing from LAYERS');
  });
});
