import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDirectoryFile } from '../../src/client/directory-load.js';
import { createGatewayFixture, type GatewayFixture } from '../support/gateway-fixture.js';
import { testStack } from '../support/stack-context.js';

/** The n-th valid NISS of a synthetic population: birth dates spread over 1950–1999, sequence 001–997. */
function syntheticNiss(n: number): string {
  const year = 50 + (n % 50);
  const month = 1 + (Math.floor(n / 50) % 12);
  const day = 1 + (Math.floor(n / 600) % 28);
  const seq = 1 + (Math.floor(n / 16_800) % 997);
  const base = `${String(year).padStart(2, '0')}${String(month).padStart(2, '0')}${String(day).padStart(2, '0')}${String(seq).padStart(3, '0')}`;
  return base + String(97 - (Number(base) % 97)).padStart(2, '0');
}

describe('bulk directory load from CSV', () => {
  const stack = testStack();
  let fx: GatewayFixture;
  const LINES = 100_000;
  const badLines = new Map<number, string>();

  beforeAll(async () => {
    fx = await createGatewayFixture(stack, 4);
    await fx.startDirectory();
  });

  afterAll(async () => {
    await fx?.close();
  });

  it('loads 100,000 lines with a progress bar, applies the good ones and reports the bad ones by line number', async () => {
    const rows = ['niss,capacity,phase,from,to,employer'];
    for (let i = 0; i < LINES; i++) {
      const lineNumber = i + 2;
      let row = `${syntheticNiss(i)},12/10,1,2024-01-01,,`;
      if (i % 9973 === 17) {
        row = `${syntheticNiss(i).slice(0, 9)}00,12/10,1,2024-01-01,,`;
        badLines.set(lineNumber, 'INVALID_NISS');
      } else if (i % 9973 === 4242) {
        row = `${syntheticNiss(i)},12/10,1,2024-02-30,,`;
        badLines.set(lineNumber, 'INVALID_PERIOD');
      } else if (i % 9973 === 777) {
        row = `${syntheticNiss(i)},12/10,1,2024-01-01,,0203201341`;
        badLines.set(lineNumber, 'employer');
      }
      rows.push(row);
    }
    const file = join(mkdtempSync(join(tmpdir(), 'bcss-load-')), 'integrations.csv');
    writeFileSync(file, `${rows.join('\n')}\n`);

    const progress = new PassThrough();
    let progressText = '';
    progress.on('data', (chunk: Buffer) => (progressText += chunk.toString()));
    const report = await loadDirectoryFile({
      client: fx.client, codec: fx.codec, topics: fx.topics, institution: 'onva', file, progress, timeoutMs: 240_000,
    });

    expect(report.bad.map((b) => b.line)).toEqual([...badLines.keys()].sort((a, b) => a - b));
    for (const bad of report.bad) expect(bad.reason).toContain(badLines.get(bad.line) === 'employer' ? 'employer' : badLines.get(bad.line));
    expect(report.published).toBe(LINES - badLines.size);
    expect(report.applied).toBe(LINES - badLines.size);
    expect(report.refused).toEqual([]);
    expect(progressText).toMatch(/published \[.*\] 9\d{4}\/9\d{4}/);
    expect(progressText).toMatch(/applied/);

    // Applied means in the directory: sample persons across the file.
    const sample = [0, 1, 33_333, 66_666, LINES - 1].filter((i) => !badLines.has(i + 2));
    const lines = await fx.store.readMany(sample.map(syntheticNiss));
    for (const i of sample) {
      expect(lines.get(syntheticNiss(i))).toEqual([expect.objectContaining({ institution: 'onva', capacity: '12/10', period: { from: '2024-01-01', to: null } })]);
    }
  }, 300_000);
});
