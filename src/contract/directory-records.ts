/**
 * The reference directory's records (schemas/directory-command.avsc, directory-snapshot.avsc,
 * directory-ack.avsc) and what makes a DirectoryCommand acceptable: an institution checks its commands
 * with the same function before it sends them (src/client/directory-csv.ts) as the intake after.
 */
import { validateIntegrateCommand, type DeintegrateCommand, type IntegrateCommand } from '../domain/directory.js';
import { parseEmployerId } from '../domain/employer-id.js';
import { isValidNiss } from '../domain/niss.js';
import { isValidPeriod } from '../domain/period.js';
import { refusal, type Refusal } from '../domain/refusal-codes.js';
import type { EmployerKind, EmployerRef, IsoDate } from '../domain/types.js';
import type { ReplyStatus } from './exchange-records.js';

/** The Avro records of the directory, as avsc decodes them (dates as ISO strings, timestamps as ms). */
export interface DirectoryCommandRecord {
  commandId: string;
  institution: string;
  action: 'INTEGRATE' | 'DEINTEGRATE';
  niss: string;
  capacity: string | null;
  phase: number | null;
  periodFrom: IsoDate | null;
  periodTo: IsoDate | null;
  employerKind: EmployerKind | null;
  employerId: string | null;
  issuedAt: number;
}

export interface IntegrationLineRecord {
  institution: string;
  capacity: string;
  phase: number;
  from: IsoDate;
  to: IsoDate | null;
  employerKind: EmployerKind | null;
  employerId: string | null;
  updatedAt: number;
}

export interface DirectorySnapshotRecord {
  niss: string;
  lines: IntegrationLineRecord[];
  changedAt: number;
  lastCommandId: string;
  lastInstitution: string;
}

export interface DirectoryAckRecord {
  commandId: string | null;
  /** The command's outcome, with a Reply's vocabulary. */
  status: ReplyStatus;
  bcssCode: string | null;
  message: string;
  niss: string | null;
  linesAfter: number;
  answeredAt: number;
}

export type CheckedDirectoryCommand =
  | { readonly action: 'INTEGRATE'; readonly commandId: string; readonly command: IntegrateCommand }
  | { readonly action: 'DEINTEGRATE'; readonly commandId: string; readonly command: DeintegrateCommand & { niss: string } };

function employerOf(record: DirectoryCommandRecord): EmployerRef | undefined | Refusal {
  if (record.employerKind === null && record.employerId === null) return undefined;
  if (record.employerKind === null || record.employerId === null) {
    return refusal('INVALID_EMPLOYER_ID', 'employerKind and employerId go together');
  }
  const parsed = parseEmployerId(record.employerKind, record.employerId);
  if (!parsed.valid) return refusal('INVALID_EMPLOYER_ID', `employer id: ${parsed.reason}`);
  return parsed.employer;
}

const isRefusal = (value: unknown): value is Refusal =>
  typeof value === 'object' && value !== null && 'code' in value && 'detail' in value;

/**
 * Checks a decoded command against the institution that owns the topic it came from. The sender is
 * the topic, never the message's word for it.
 */
export function checkDirectoryCommand(record: DirectoryCommandRecord, topicInstitution: string): CheckedDirectoryCommand | Refusal {
  if (record.institution !== topicInstitution) {
    return refusal('SENDER_MISMATCH', `the command names ${record.institution} but came from ${topicInstitution}'s topic`);
  }
  if (!record.commandId || record.commandId.length > 128) return refusal('INVALID_MESSAGE', 'commandId must be 1–128 characters');
  if (!/^\d{11}$/.test(record.niss) || !isValidNiss(record.niss)) return refusal('INVALID_NISS');
  // Any long decodes; only real instants (year 2000 to 9999) are times a command can have been issued.
  if (!Number.isSafeInteger(record.issuedAt) || record.issuedAt < 946_684_800_000 || record.issuedAt > 253_402_300_799_999) {
    return refusal('INVALID_MESSAGE', 'issuedAt is not a plausible time');
  }
  const employer = employerOf(record);
  if (isRefusal(employer)) return employer;
  const at = new Date(record.issuedAt).toISOString();

  if (record.action === 'INTEGRATE') {
    if (record.capacity === null || record.phase === null || record.periodFrom === null) {
      return refusal('INVALID_MESSAGE', 'to integrate, capacity, phase and periodFrom are required');
    }
    const command: IntegrateCommand = {
      niss: record.niss,
      institution: record.institution,
      capacity: record.capacity,
      phase: record.phase,
      period: { from: record.periodFrom, to: record.periodTo },
      ...(employer ? { employer } : {}),
      at,
    };
    const problem = validateIntegrateCommand(command);
    return problem ?? { action: 'INTEGRATE', commandId: record.commandId, command };
  }

  let period: DeintegrateCommand['period'];
  if (record.periodFrom !== null) {
    period = { from: record.periodFrom, to: record.periodTo };
    if (!isValidPeriod(period)) return refusal('INVALID_PERIOD');
  } else if (record.periodTo !== null) {
    return refusal('INVALID_PERIOD', 'periodTo without periodFrom');
  }
  return {
    action: 'DEINTEGRATE',
    commandId: record.commandId,
    command: {
      niss: record.niss,
      institution: record.institution,
      ...(record.capacity === null ? {} : { capacity: record.capacity }),
      ...(period ? { period } : {}),
      ...(employer ? { employer } : {}),
      at,
    },
  };
}
