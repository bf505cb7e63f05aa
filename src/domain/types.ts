/**
 * Shared value types of the domain. Dates are ISO calendar dates (`YYYY-MM-DD`) kept as strings: they
 * compare correctly as text, serialize as they are and need no time zone.
 */
export type IsoDate = string;

/**
 * A period of days, closed at both ends (`from` and `to` are both included), as the BCSS directory and
 * DmfA quarters express them. `to === null` means open-ended (an active integration).
 */
export interface Period {
  readonly from: IsoDate;
  readonly to: IsoDate | null;
}

/** How an employer is identified: enterprise (BCE/KBO) number, ONSS registration number, or a provisional ONSS number. */
export type EmployerKind = 'ENTERPRISE' | 'ONSS' | 'ONSS_PROVISIONAL';

export interface EmployerRef {
  readonly kind: EmployerKind;
  /** The normalised digits (10 for an enterprise number, 9 for ONSS, 10 for a provisional number). */
  readonly id: string;
}
