import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { checkDirectoryCommand, type DirectoryCommandRecord } from '../contract/directory-records.js';
import { parseEmployerId } from '../domain/employer-id.js';

/**
 * Bulk integration from CSV, one person-integration per line:
 *
 *     niss,capacity,phase,from,to,employer
 *     85073003328,12/10,1,2024-01-01,,0203201340
 *
 * `to` empty = open-ended; `employer` empty = not bound to an employer (its kind is recognised from its
 * shape). A first line starting with `niss` is a header. Every line is checked with the same rules the
 * gateway applies, so a bad line is reported here with its number and never sent.
 */
export interface CsvLoadResult {
  readonly commands: DirectoryCommandRecord[];
  readonly bad: Array<{ line: number; reason: string }>;
  readonly lines: number;
}

export function parseDirectoryCsvLine(
  text: string,
  lineNumber: number,
  institution: string,
  runId: string,
  issuedAt: number,
): DirectoryCommandRecord | { reason: string } {
  const fields = text.split(',').map((f) => f.trim());
  if (fields.length < 4 || fields.length > 6) return { reason: `expected 4 to 6 fields, found ${fields.length}` };
  const [niss = '', capacity = '', phaseText = '', from = '', to = '', employerText = ''] = fields;
  if (!/^\d+$/.test(phaseText)) return { reason: `phase "${phaseText}" is not a whole number` };
  let employerKind: DirectoryCommandRecord['employerKind'] = null;
  let employerId: string | null = null;
  if (employerText !== '') {
    const employer = parseEmployerId('AUTO', employerText);
    if (!employer.valid) return { reason: `employer "${employerText}": ${employer.reason}` };
    employerKind = employer.employer.kind;
    employerId = employer.employer.id;
  }
  if (!/^\d{4}-\d{2}-\d{2}$/.test(from) || (to !== '' && !/^\d{4}-\d{2}-\d{2}$/.test(to))) {
    return { reason: 'dates must be YYYY-MM-DD' };
  }
  const record: DirectoryCommandRecord = {
    commandId: `${runId}:${lineNumber}`,
    institution,
    action: 'INTEGRATE',
    niss,
    capacity,
    phase: Number(phaseText),
    periodFrom: from,
    periodTo: to === '' ? null : to,
    employerKind,
    employerId,
    issuedAt,
  };
  const checked = checkDirectoryCommand(record, institution);
  return 'code' in checked ? { reason: `${checked.code}: ${checked.detail}` } : record;
}

export async function readDirectoryCsv(file: string, institution: string, runId: string): Promise<CsvLoadResult> {
  const commands: DirectoryCommandRecord[] = [];
  const bad: Array<{ line: number; reason: string }> = [];
  const issuedAt = Date.now();
  let lineNumber = 0;
  const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
  for await (const raw of lines) {
    lineNumber++;
    const text = raw.trim();
    if (text === '' || text.startsWith('#') || (lineNumber === 1 && /^niss\b/i.test(text))) continue;
    const parsed = parseDirectoryCsvLine(text, lineNumber, institution, runId, issuedAt);
    if ('reason' in parsed) bad.push({ line: lineNumber, reason: parsed.reason });
    else commands.push(parsed);
  }
  return { commands, bad, lines: lineNumber };
}
