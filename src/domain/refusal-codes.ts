/**
 * Every refusal the switch can answer, in one table. A refusal travels back to the requester as data
 * (code + message + the BCSS code it mirrors); nobody tells refusals apart by message text.
 */
export const REFUSAL_CODES = {
  INVALID_MESSAGE: {
    bcssCode: '-000050',
    category: 'validation',
    retriable: false,
    message: 'The message could not be decoded or does not match its schema.',
  },
  INVALID_NISS: {
    bcssCode: 'MSG00011',
    category: 'validation',
    retriable: false,
    message: 'The social-security identification number (NISS) is not valid.',
  },
  INVALID_EMPLOYER_ID: {
    bcssCode: null,
    category: 'validation',
    retriable: false,
    message: 'The employer identifier (enterprise or ONSS number) is not valid.',
  },
  INVALID_PERIOD: {
    bcssCode: null,
    category: 'validation',
    retriable: false,
    message: 'The period is not valid.',
  },
  UNKNOWN_SERVICE: {
    bcssCode: null,
    category: 'validation',
    retriable: false,
    message: 'The requested service is not known to the switch.',
  },
  SENDER_MISMATCH: {
    bcssCode: null,
    category: 'security',
    retriable: false,
    message: 'The requester named in the message is not the institution that owns the topic.',
  },
  NOT_AUTHORIZED: {
    bcssCode: '-300010',
    category: 'authorization',
    retriable: false,
    message: 'No deliberation authorizes this institution to receive these data for this purpose.',
  },
  AUTHORIZATION_NOT_IN_FORCE: {
    bcssCode: null,
    category: 'authorization',
    retriable: false,
    message: 'The deliberation exists but no version of it is in force on this date.',
  },
  EMPLOYER_CATEGORY_REQUIRED: {
    bcssCode: null,
    category: 'authorization',
    retriable: false,
    message: 'The link asked for is interim work: the deliberation demands the employer category with the employer; ask again with it.',
  },
  CONSULTATION_ONLY: {
    bcssCode: null,
    category: 'authorization',
    retriable: false,
    message: 'The deliberation grants these data for consultation only: ask through the consultation application, whose answers are not for storage.',
  },
  PERIOD_NOT_AUTHORIZED: {
    bcssCode: null,
    category: 'authorization',
    retriable: false,
    message: 'The deliberation does not cover data of the requested period.',
  },
  NOT_INTEGRATED: {
    bcssCode: '-300020',
    category: 'directory',
    retriable: false,
    message: 'The requester has not integrated this person in the reference directory.',
  },
  PHASE_TOO_LOW: {
    bcssCode: '-300030',
    category: 'directory',
    retriable: false,
    message: 'The person is integrated, but in a phase lower than the service requires.',
  },
  NOT_INTEGRATED_FOR_PERIOD: {
    bcssCode: null,
    category: 'directory',
    retriable: false,
    message: 'The person is integrated, but not for any part of the requested period.',
  },
  EMPLOYER_NOT_INTEGRATED: {
    bcssCode: null,
    category: 'directory',
    retriable: false,
    message: 'The person is not integrated with this employer for the requested period.',
  },
  EMPLOYER_LINK_REQUIRED: {
    bcssCode: null,
    category: 'directory',
    retriable: false,
    message: 'The deliberation covers only a named employer–worker link: integrate the person with the employer.',
  },
  NISS_REPLACED: {
    bcssCode: 'MSG00006',
    category: 'directory',
    retriable: false,
    message: 'This NISS has been replaced by another one; ask again with the new number.',
  },
  SOURCE_TIMEOUT: {
    bcssCode: null,
    category: 'source',
    retriable: true,
    message: 'The authentic source did not answer in time.',
  },
  SOURCE_ERROR: {
    bcssCode: null,
    category: 'source',
    retriable: true,
    message: 'The authentic source reported an error.',
  },
  NO_DATA: {
    bcssCode: 'MSG00100',
    category: 'source',
    retriable: false,
    message: 'The authentic source has no data for this request.',
  },
  OVERLOADED: {
    bcssCode: null,
    category: 'capacity',
    retriable: true,
    message: 'The switch is overloaded and could not answer within the deadline; try again later.',
  },
} as const;

export type RefusalCode = keyof typeof REFUSAL_CODES;

export const REFUSAL_CODE_NAMES = Object.keys(REFUSAL_CODES) as RefusalCode[];

export interface Refusal {
  readonly code: RefusalCode;
  /** Human detail for this case; never an internal error text or a stack trace. */
  readonly detail: string;
}

export function refusal(code: RefusalCode, detail?: string): Refusal {
  return { code, detail: detail ?? REFUSAL_CODES[code].message };
}

export function isRefusalCode(value: string): value is RefusalCode {
  return Object.hasOwn(REFUSAL_CODES, value);
}

/** The longest piece of a request's own text that a refusal's detail quotes. */
const QUOTED_MAX = 100;

/**
 * A request's own text as a refusal's detail shows it: cut after 100 characters. The detail goes into
 * the reply next to the field itself; quoted whole, a field of 600 KB made the reply larger than the
 * broker takes, and its transaction could never commit.
 */
export function quoted(text: string): string {
  return text.length <= QUOTED_MAX ? text : `${text.slice(0, QUOTED_MAX)}… (${text.length} characters)`;
}
