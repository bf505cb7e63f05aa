import { Readable } from 'node:stream';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { checkId, registerIdCommands } from '../../src/cli/id-command.js';

/** Runs `bcss <args>` in-process with a fake stdin/stdout; returns the parsed output lines. */
async function run(args: string[], stdinText = ''): Promise<Record<string, unknown>[]> {
  let out = '';
  const program = new Command('bcss').exitOverride();
  program.configureOutput({ writeOut: () => {}, writeErr: () => {} });
  registerIdCommands(program, { stdout: { write: (s: string) => (out += s) }, stdin: Readable.from([stdinText]) });
  await program.parseAsync(args, { from: 'user' });
  return out
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('bcss id check', () => {
  it('checks NISS values given as arguments, valid and invalid alike', async () => {
    const out = await run(['id', 'check', 'niss', '85.07.30-033.28', '85073003329', '85473003416']);
    expect(out).toEqual([
      {
        kind: 'niss',
        input: '85.07.30-033.28',
        valid: true,
        normalized: '85073003328',
        reason: null,
        message: null,
        formatted: '85.07.30-033.28',
        nissKind: 'NN',
        bisKind: null,
        birthDate: '1985-07-30',
        birthYear: 1985,
        sex: 'M',
      },
      expect.objectContaining({ kind: 'niss', input: '85073003329', valid: false, normalized: null, reason: 'CHECK_DIGITS' }),
      expect.objectContaining({ valid: true, nissKind: 'BIS', bisKind: 'MONTH_PLUS_40', sex: 'F' }),
    ]);
  });

  it('reads stdin, one value per line, skipping blank lines and CRs', async () => {
    const out = await run(['id', 'check', 'enterprise'], 'BE 0203.201.340\r\n\n0203201341\n  \n1000000021');
    expect(out.map((o) => [o.input, o.valid, o.normalized, o.reason])).toEqual([
      ['BE 0203.201.340', true, '0203201340', null],
      ['0203201341', false, null, 'CHECK_DIGITS'],
      ['1000000021', true, '1000000021', null],
    ]);
    expect(out[0]?.formatted).toBe('0203.201.340');
  });

  it('checks ONSS and provisional numbers', async () => {
    const out = await run(['id', 'check', 'onss', '100006', '5000000120', '123456748']);
    expect(out.map((o) => [o.normalized, o.employerKind, o.reason])).toEqual([
      ['000100006', 'ONSS', null],
      ['5000000120', 'ONSS_PROVISIONAL', null],
      [null, undefined, 'CHECK_DIGITS'],
    ]);
  });

  it('empty stdin prints nothing', async () => {
    expect(await run(['id', 'check', 'niss'], '')).toEqual([]);
  });

  it('refuses an unknown kind as a usage error', async () => {
    await expect(run(['id', 'check', 'iban', 'BE68539007547034'])).rejects.toMatchObject({
      code: 'commander.invalidArgument',
    });
  });
});

describe('checkId', () => {
  it('reports every invalid value with a reason and a message', () => {
    for (const [kind, value] of [
      ['niss', '85133003300'],
      ['enterprise', '2203201340'],
      ['onss', '99909'],
    ] as const) {
      const r = checkId(kind, value);
      expect(r.valid).toBe(false);
      expect(typeof r.reason).toBe('string');
      expect(typeof r.message).toBe('string');
    }
  });
});
