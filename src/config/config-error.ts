/**
 * A configuration file that cannot be used: which file, where inside it (a path such as
 * `versions[1].services[0].blocks[2]`, or the line and column of a YAML syntax error) and why.
 * Start-up fails on the first one: the gateway never runs on a configuration it did not understand.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';

  constructor(
    readonly file: string,
    readonly path: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}: ${path === '' ? '(document)' : path}: ${reason}`, options);
  }
}

/** `['versions', 1, 'services', 0, 'blocks', 2]` → `versions[1].services[0].blocks[2]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out;
}
