/**
 * Reading configuration YAML: the `.yaml` / `.yml` files of a folder in name order, parsed strictly
 * (duplicate keys are errors), then validated with a zod schema. Every failure becomes a ConfigError
 * naming the file, the path inside it and the reason.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { ConfigError, formatPath } from './config-error.js';

export interface YamlSource {
  /** The path as read (folder joined with the file name). */
  readonly file: string;
  /** The file name without folder and extension. */
  readonly stem: string;
  readonly data: unknown;
}

export function yamlFilesIn(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (cause) {
    throw new ConfigError(dir, '', 'cannot read the configuration folder', { cause });
  }
  return names.filter((n) => /\.ya?ml$/.test(n)).sort();
}

export function parseYamlText(file: string, text: string): unknown {
  const doc = parseDocument(text, { uniqueKeys: true });
  const first = doc.errors[0];
  if (first) {
    const at = first.linePos?.[0];
    const where = at ? `line ${at.line}, column ${at.col}` : '';
    const message = (first.message.split('\n')[0] ?? first.code).replace(/ at line \d+, column \d+:?$/, '');
    throw new ConfigError(file, where, `YAML syntax: ${message}`);
  }
  return doc.toJS();
}

export function readYamlFolder(dir: string): YamlSource[] {
  return yamlFilesIn(dir).map((name) => {
    const file = join(dir, name);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (cause) {
      throw new ConfigError(file, '', 'cannot read the file', { cause });
    }
    return { file, stem: name.replace(/\.ya?ml$/, ''), data: parseYamlText(file, text) };
  });
}

type Issue = z.core.$ZodIssue;

/**
 * The most telling issue. Inside a union, the branch with the fewest issues is the one the author meant
 * (ties: the one that got furthest into the document). An unknown key is reported before the missing
 * one it usually explains (a misspelt key).
 */
function telling(issue: Issue): Issue {
  if (issue.code !== 'invalid_union' || issue.errors.length === 0) return issue;
  let best: Issue = issue;
  let bestCount = Number.POSITIVE_INFINITY;
  let bestDepth = -1;
  for (const branch of issue.errors) {
    const first = pick(branch);
    if (!first) continue;
    const candidate = telling({ ...first, path: [...issue.path, ...first.path] } as Issue);
    if (branch.length < bestCount || (branch.length === bestCount && candidate.path.length > bestDepth)) {
      best = candidate;
      bestCount = branch.length;
      bestDepth = candidate.path.length;
    }
  }
  return best;
}

function pick(issues: readonly Issue[]): Issue | undefined {
  return issues.find((i) => i.code === 'unrecognized_keys') ?? issues[0];
}

export function validateWith<S extends z.ZodType>(schema: S, file: string, data: unknown): z.output<S> {
  const result = schema.safeParse(data);
  if (result.success) return result.data;
  const issue = pick(result.error.issues);
  if (!issue) throw new ConfigError(file, '', 'invalid');
  const chosen = telling(issue);
  let path = formatPath(chosen.path);
  if (chosen.code === 'unrecognized_keys') {
    const key = chosen.keys[0] ?? '';
    path = path === '' ? key : `${path}.${key}`;
  }
  throw new ConfigError(file, path, chosen.message);
}
