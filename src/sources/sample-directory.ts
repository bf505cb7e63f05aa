import type { DirectoryCommandRecord } from '../contract/directory-records.js';
import type { EmployerKind, IsoDate } from '../domain/types.js';
import { SIMULATED, SIMULATED_EMPLOYERS } from './synthetic-population.js';

/**
 * The sample reference directory loaded by `npm start` and the demo: which institution integrated which
 * simulated person, in which capacity, from when and for which employer — chosen so that each seed
 * deliberation can be shown working and each directory refusal can be provoked.
 */
export interface SampleIntegration {
  readonly institution: string;
  readonly niss: string;
  readonly capacity: string;
  readonly phase: number;
  readonly from: IsoDate;
  readonly to: IsoDate | null;
  readonly employer: { readonly kind: EmployerKind; readonly id: string } | null;
}

const E = SIMULATED_EMPLOYERS;
const onss = (id: string | null): { kind: EmployerKind; id: string } => ({ kind: 'ONSS', id: id as string });

export const SAMPLE_DIRECTORY: readonly SampleIntegration[] = [
  // 10/012 §9: VAPH integrates the personal assistant from the budget application, for the budget
  // holder's employment only (the assistant's job at the supermarket is none of VAPH's business).
  { institution: 'vaph', niss: SIMULATED.assistantOfVaph, capacity: 'pab-assistant', phase: 1, from: '2024-01-01', to: null, employer: onss(E.budgetHolder.onssNumber) },
  // Persons whose sources fail or never answer, to show SOURCE_ERROR and SOURCE_TIMEOUT.
  { institution: 'vaph', niss: SIMULATED.unanswered, capacity: 'pab-assistant', phase: 1, from: '2024-01-01', to: null, employer: onss(E.budgetHolder.onssNumber) },
  { institution: 'vaph', niss: SIMULATED.sourceFailure, capacity: 'pab-assistant', phase: 1, from: '2024-01-01', to: null, employer: onss(E.budgetHolder.onssNumber) },
  // 19/104: IRISCARE follows the care worker of a Brussels care home.
  { institution: 'iriscare', niss: SIMULATED.careWorkerIriscare, capacity: 'care-worker', phase: 1, from: '2023-01-01', to: null, employer: onss(E.careHome.onssNumber) },
  // 19/010: the ONVA inspection's files.
  { institution: 'onva', niss: SIMULATED.interimWorker, capacity: 'inspection', phase: 1, from: '2023-01-01', to: null, employer: null },
  { institution: 'onva', niss: SIMULATED.deceased, capacity: 'inspection', phase: 1, from: '2023-01-01', to: null, employer: null },
  { institution: 'onva', niss: SIMULATED.replacedBis, capacity: 'inspection', phase: 1, from: '2023-01-01', to: null, employer: null },
];

export function sampleDirectoryCommands(institution: string, runId: string, issuedAt: number): DirectoryCommandRecord[] {
  return SAMPLE_DIRECTORY.filter((s) => s.institution === institution).map((s, i) => ({
    commandId: `${runId}:${i}`,
    institution,
    action: 'INTEGRATE',
    niss: s.niss,
    capacity: s.capacity,
    phase: s.phase,
    periodFrom: s.from,
    periodTo: s.to,
    employerKind: s.employer?.kind ?? null,
    employerId: s.employer?.id ?? null,
    issuedAt,
  }));
}
