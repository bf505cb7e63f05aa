/** A deliberation as the gateways publish it on `bcss.authorizations` (schemas/authorization-snapshot.avsc). */
export interface AuthorizationSnapshot {
  readonly deliberation: string;
  readonly title: string;
  readonly requester: string;
  readonly purpose: string;
  readonly viaBcss: boolean;
  readonly versions: ReadonlyArray<{
    id: string;
    inForceFrom: string;
    inForceTo: string | null;
    services: string[];
    fields: string[];
    limits: string[];
  }>;
  readonly requesterDuties: readonly string[];
  readonly contentHash: string;
  readonly sourceFile: string;
  readonly publishedAt: number;
}
