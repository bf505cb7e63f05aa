/**
 * Test helpers: one person's directory lines, shared by the tests of the directory's rules and of its
 * stored form.
 */
import type { Integration } from '../../../src/domain/directory.js';
import type { EmployerRef } from '../../../src/domain/types.js';

export const NISS = '85073003328';
export const OTHER_NISS = '17073003384';
export const T0 = '2024-01-01T08:00:00.000Z';
export const T1 = '2024-06-01T12:30:00.000Z';
export const E1: EmployerRef = { kind: 'ENTERPRISE', id: '0203201340' };
export const E2: EmployerRef = { kind: 'ONSS', id: '123456749' };
export const E3: EmployerRef = { kind: 'ONSS_PROVISIONAL', id: '5000000120' };

export interface Opts {
  readonly employer?: EmployerRef;
  readonly niss?: string;
  readonly at?: string;
}

/** A line: institution, capacity, phase, from, to (null = open). */
export function L(inst: string, cap: string, phase: number, from: string, to: string | null, o: Opts = {}): Integration {
  return {
    niss: o.niss ?? NISS,
    institution: inst,
    capacity: cap,
    phase,
    period: { from, to },
    ...(o.employer === undefined ? {} : { employer: o.employer }),
    updatedAt: o.at ?? T0,
  };
}
