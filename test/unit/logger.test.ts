import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, maskNissIn } from '../../src/logging/logger.js';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  return { lines, logger: createLogger({ destination, level: 'info' }) };
}

describe('operational logs never carry a person’s number or data in clear', () => {
  it('redacts NISS fields and payloads at the top level and one level down, in every child logger', () => {
    const { lines, logger } = capture();
    const child = logger.child({ module: 'replies' });
    child.info(
      { niss: '88031412464', subjectNiss: '88031412464', newNiss: '90050821614', payload: { amount: 1 }, reply: { subjectNiss: '88031412464', payload: 'x' } },
      'answered',
    );
    expect(lines).toHaveLength(1);
    const line = lines[0] as string;
    expect(line).not.toMatch(/88031412464|90050821614|amount/);
    const record = JSON.parse(line) as Record<string, unknown>;
    expect(record).toMatchObject({ module: 'replies', niss: '[redacted]', subjectNiss: '[redacted]', newNiss: '[redacted]', payload: '[redacted]' });
    expect(record.reply).toEqual({ subjectNiss: '[redacted]', payload: '[redacted]' });
  });

  it('masks 11-digit numbers inside free text (a source’s error message), written plain or formatted', () => {
    expect(maskNissIn('no record for 88031412464 at ONSS')).toBe('no record for ********464 at ONSS');
    expect(maskNissIn('failure for 88.03.14-124.64')).toBe('failure for ********464');
    // Other numbers stay: an ONSS number has 9 digits, a date is not 11 digits.
    expect(maskNissIn('employer 100012334 on 2024-01-01')).toBe('employer 100012334 on 2024-01-01');
  });
});
