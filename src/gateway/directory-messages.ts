import type { Integration } from '../domain/directory.js';
import type { DirectorySnapshotRecord } from '../contract/directory-records.js';

/** A person's lines as the changelog's DirectorySnapshot carries them, and back (the writer and the rebuild). */
export function toSnapshotRecord(
  niss: string,
  lines: readonly Integration[],
  meta: { changedAt: number; lastCommandId: string; lastInstitution: string },
): DirectorySnapshotRecord {
  return {
    niss,
    lines: lines.map((line) => ({
      institution: line.institution,
      capacity: line.capacity,
      phase: line.phase,
      from: line.period.from,
      to: line.period.to,
      employerKind: line.employer?.kind ?? null,
      employerId: line.employer?.id ?? null,
      updatedAt: Date.parse(line.updatedAt),
    })),
    ...meta,
  };
}

export function fromSnapshotRecord(record: DirectorySnapshotRecord): Integration[] {
  return record.lines.map((line) => ({
    niss: record.niss,
    institution: line.institution,
    capacity: line.capacity,
    phase: line.phase,
    period: { from: line.from, to: line.to },
    ...(line.employerKind !== null && line.employerId !== null
      ? { employer: { kind: line.employerKind, id: line.employerId } }
      : {}),
    updatedAt: new Date(line.updatedAt).toISOString(),
  }));
}
