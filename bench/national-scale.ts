import { parseArgs } from 'node:util';
import type { Runtime } from '../src/app/runtime.js';
import { runBulkExchange, type BulkExchangeResult } from './bulk-exchange.js';
import { runDirectoryScale, type DirectoryScaleResult } from './directory-scale.js';
import { isMainModule, standaloneRuntime } from './standalone.js';

/**
 * Issue 16, item 5 — national scale, measured: the directory at 10,000,000 integrations against a
 * control of 10,000, then ONSS's quarterly list of 70,000 entries end to end through a running gateway.
 * One after the other (never at once: the two would share the cores and the Redis). The targets are
 * checked here: ≤ 80 B per integration, lookups within 10 % of the control.
 *
 * `nice npx tsx bench/national-scale.ts [--directory-size 10000000] [--entries 70000] [--repeats 3]
 * [--skip directory|bulk]` — JSON on stdout, progress on stderr.
 */
export interface NationalScaleResult {
  readonly directory: DirectoryScaleResult | null;
  readonly bulk_exchange: BulkExchangeResult | null;
  readonly targets: {
    readonly bytes_per_integration: { readonly value: number | null; readonly limit: 80; readonly met: boolean | null };
    readonly lookups_to_control: { readonly value: number | null; readonly limit: 0.9; readonly met: boolean | null };
  };
}

export async function runNationalScale(
  runtime: Runtime,
  options: {
    readonly directorySize: number;
    readonly entries: number;
    readonly repeats: number;
    readonly skip: ReadonlySet<'directory' | 'bulk'>;
    readonly progress: (text: string) => void;
  },
): Promise<NationalScaleResult> {
  const { progress } = options;
  const directory = options.skip.has('directory')
    ? null
    : await runDirectoryScale(runtime, { size: options.directorySize, lookupSeconds: 30, lookupRounds: 5, progress });
  const bulk = options.skip.has('bulk') ? null : await runBulkExchange(runtime, { entries: options.entries, repeats: options.repeats, progress });
  const bytes = directory?.valid ? directory.bytes_per_integration : null;
  const ratio = directory?.valid ? directory.lookups_full_to_control : null;
  return {
    directory,
    bulk_exchange: bulk,
    targets: {
      bytes_per_integration: { value: bytes, limit: 80, met: bytes === null ? null : bytes <= 80 },
      lookups_to_control: { value: ratio, limit: 0.9, met: ratio === null ? null : ratio >= 0.9 },
    },
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'directory-size': { type: 'string', default: '10000000' },
      entries: { type: 'string', default: '70000' },
      repeats: { type: 'string', default: '3' },
      skip: { type: 'string', multiple: true, default: [] },
    },
  });
  const { runtime, progress } = await standaloneRuntime('bench-national-scale');
  const skip = new Set(values.skip.filter((s): s is 'directory' | 'bulk' => s === 'directory' || s === 'bulk'));
  const result = await runNationalScale(runtime, {
    directorySize: Number(values['directory-size']),
    entries: Number(values.entries),
    repeats: Number(values.repeats),
    skip,
    progress,
  });
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

if (isMainModule(import.meta.url)) {
  await main();
  process.exit(0);
}
