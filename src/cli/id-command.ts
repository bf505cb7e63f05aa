/**
 * `bcss id check <niss|enterprise|onss> [values...]`: validates identifiers, one JSON object per line,
 * from the arguments or, when there are none, from stdin (one value per line). Invalid values are
 * results, not failures: the exit code stays 0 so that a whole file can be checked in one pipe.
 */
import { createInterface } from 'node:readline';
import { Argument, type Command } from 'commander';
import { formatEnterpriseNumber, parseEnterpriseNumber } from '../domain/enterprise-number.js';
import { formatNiss, parseNiss } from '../domain/niss.js';
import { parseOnssNumber } from '../domain/onss-number.js';

export const ID_KINDS = ['niss', 'enterprise', 'onss'] as const;
export type IdKind = (typeof ID_KINDS)[number];

export interface IdCheckResult {
  readonly kind: IdKind;
  readonly input: string;
  readonly valid: boolean;
  readonly normalized: string | null;
  readonly reason: string | null;
  readonly message: string | null;
  readonly [extra: string]: unknown;
}

export function checkId(kind: IdKind, input: string): IdCheckResult {
  switch (kind) {
    case 'niss': {
      const r = parseNiss(input);
      if (!r.valid) return { kind, input, valid: false, normalized: null, reason: r.reason, message: r.message };
      return {
        kind,
        input,
        valid: true,
        normalized: r.normalized,
        reason: null,
        message: null,
        formatted: formatNiss(r.normalized),
        nissKind: r.kind,
        bisKind: r.bisKind ?? null,
        birthDate: r.birthDate,
        birthYear: r.birthYear ?? null,
        sex: r.sex,
      };
    }
    case 'enterprise': {
      const r = parseEnterpriseNumber(input);
      if (!r.valid) return { kind, input, valid: false, normalized: null, reason: r.reason, message: r.message };
      return {
        kind,
        input,
        valid: true,
        normalized: r.normalized,
        reason: null,
        message: null,
        formatted: formatEnterpriseNumber(r.normalized),
      };
    }
    case 'onss': {
      const r = parseOnssNumber(input);
      if (!r.valid) return { kind, input, valid: false, normalized: null, reason: r.reason, message: r.message };
      return { kind, input, valid: true, normalized: r.normalized, reason: null, message: null, employerKind: r.kind };
    }
  }
}

export interface IdCommandIo {
  readonly stdout: { write(chunk: string): unknown };
  readonly stdin: NodeJS.ReadableStream;
}

export function registerIdCommands(
  program: Command,
  io: IdCommandIo = { stdout: process.stdout, stdin: process.stdin },
): void {
  const id = program.command('id').description('check identifiers: NISS, enterprise (BCE/KBO) and ONSS numbers');
  id.command('check')
    .description('validate values (or stdin, one per line) and print one JSON object per value')
    .addArgument(new Argument('<kind>', 'what the values are').choices(ID_KINDS))
    .argument('[values...]', 'values to check; none: read stdin')
    .action(async (kind: IdKind, values: string[]) => {
      const print = (value: string) => io.stdout.write(`${JSON.stringify(checkId(kind, value))}\n`);
      if (values.length > 0) {
        for (const value of values) print(value);
        return;
      }
      const lines = createInterface({ input: io.stdin, crlfDelay: Infinity });
      for await (const line of lines) {
        const value = line.replace(/\r$/, '');
        if (value.trim() !== '') print(value);
      }
    });
}
