/**
 * SYNTHETIC population for the authentic-source SIMULATORS (demos and tests only). Nobody in it exists:
 * names, addresses, NISS, employers and wages are made up, and every number is built to pass its check
 * rule (NISS mod 97, enterprise number mod 97, ONSS number mod 97 = 96) so that the switch accepts it.
 *
 * Pure and deterministic: no I/O, no clock, no `Math.random`; the varying parts (wages, hours, generated
 * persons) come from a small PRNG (mulberry32) seeded from a constant, so the same call gives the same
 * population every time.
 *
 * What it holds, per person: identification (name, birth, gender, address, civil status, death), the
 * employments that DIMONA declares (in/out dates, joint committee, worker type, employer identified by
 * an ONSS number, a provisional ONSS number or an enterprise number), and per employment and quarter of
 * 2023Q1..2025Q4 the DmfA declaration figures. The fixed persons ({@link SIMULATED}) cover the cases the
 * demos and tests need: several employers per worker, interim work (joint committee 322 with a using
 * employer, DmfA block 90107), a BIS number replaced by a National Register number, a deceased person,
 * and two fault scenarios: a person the sources never answer about, and one they answer ERROR about.
 */
import { parseNiss } from '../domain/niss.js';
import { dayNumber, expandQuarters, quarterPeriod, type Quarter } from '../domain/period.js';
import type { EmployerKind, IsoDate, Period } from '../domain/types.js';

/** First and last quarter the simulated DmfA holds declarations for. */
export const SIMULATED_DMFA_QUARTERS: Period = { from: '2023-01-01', to: '2025-12-31' };

const SEED = 0x5eed_bc55;

// ---------------------------------------------------------------------------------------------------
// Deterministic randomness and check digits

export type Prng = () => number;

/** mulberry32: 32-bit state, uniform in [0, 1). Small, fast and good enough for synthetic data. */
export function createPrng(seed: number): Prng {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function pick<T>(prng: Prng, items: readonly T[]): T {
  const item = items[Math.floor(prng() * items.length)];
  if (item === undefined) throw new RangeError('pick from an empty list');
  return item;
}

function intBetween(prng: Prng, min: number, max: number): number {
  return min + Math.floor(prng() * (max - min + 1));
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/**
 * A NISS from a birth date and a sequence number (odd = male, even = female). `bis` adds 40 to the
 * month (BIS number, sex known). Births from 2000 on use the "2" prefix rule for the check digits.
 */
export function makeNiss(birthDate: IsoDate, sequence: number, bis = false): string {
  const year = Number(birthDate.slice(0, 4));
  const month = Number(birthDate.slice(5, 7)) + (bis ? 40 : 0);
  const body = `${birthDate.slice(2, 4)}${pad(month, 2)}${birthDate.slice(8, 10)}${pad(sequence, 3)}`;
  const value = Number(body) + (year >= 2000 ? 2_000_000_000 : 0);
  return `${body}${pad(97 - (value % 97), 2)}`;
}

/** An enterprise (BCE/KBO) number from its 8-digit body (starting 0 or 1): check = 97 − body mod 97. */
export function makeEnterpriseNumber(body: number): string {
  if (!Number.isInteger(body) || body < 0 || body >= 20_000_000) throw new RangeError(`enterprise number body ${body} must start with 0 or 1`);
  return `${pad(body, 8)}${pad(97 - (body % 97), 2)}`;
}

/** The nearest ONSS registration number at or above `near` (9 digits, value mod 97 = 96). */
export function makeOnssNumber(near: number): string {
  return pad(near + ((96 - (near % 97) + 97) % 97), 9);
}

/** The nearest provisional ONSS number at or above `near` (10 digits from 5, same residue rule). */
export function makeProvisionalOnssNumber(near: number): string {
  return String(near + ((96 - (near % 97) + 97) % 97));
}

// ---------------------------------------------------------------------------------------------------
// Types

export interface SyntheticAddress {
  readonly street: string;
  readonly houseNumber: string;
  readonly postalCode: string;
  readonly municipality: string;
  /** NIS country code; 150 = Belgium. */
  readonly countryCode: string;
}

export interface SyntheticEmployer {
  readonly name: string;
  /** Definitive ONSS number, or null while only a provisional one exists. */
  readonly onssNumber: string | null;
  readonly provisionalOnssNumber: string | null;
  readonly enterpriseNumber: string | null;
  /** The number DIMONA identifies this employer with. */
  readonly dimonaIdKind: EmployerKind;
  readonly address: SyntheticAddress;
  readonly jointCommittee: string;
  /** ONSS or ONSSAPL (former provincial and local administrations). */
  readonly registrationSource: 'ONSS' | 'ONSSAPL';
}

export interface SyntheticPerson {
  readonly niss: string;
  readonly lastName: string;
  readonly firstNames: readonly string[];
  readonly birthDate: IsoDate;
  readonly birthPlace: string;
  /** 1 male, 2 female (the registers' codes). */
  readonly gender: '1' | '2';
  readonly nationality: string;
  readonly address: SyntheticAddress;
  readonly residentSince: IsoDate;
  readonly civilStatus: { readonly code: string; readonly since: IsoDate } | null;
  /** RN: National Register number; BIS: a number of the BCSS registers. */
  readonly register: 'RN' | 'BIS';
  readonly lastChange: IsoDate;
  readonly death: { readonly date: IsoDate; readonly place: string } | null;
  /** Set when this number was replaced (a BIS number by a National Register number): the new NISS. */
  readonly replacedBy: string | null;
}

export interface SyntheticEmployment {
  /** The DIMONA period id. */
  readonly id: number;
  readonly niss: string;
  readonly employer: SyntheticEmployer;
  /** Employer category of the DmfA worker record (3 digits; 484 = temporary-work agency, blue collar). */
  readonly employerCategory: string;
  /** DmfA worker code (015 = ordinary manual worker / ouvrier, 495 = ordinary white-collar worker / employé, ...). */
  readonly workerCode: string;
  /** 322 = temporary work: `usingEmployer` is then set. */
  readonly jointCommittee: string;
  /** DIMONA worker type: OTH, STU, ... */
  readonly workerType: string;
  readonly inDate: IsoDate;
  readonly outDate: IsoDate | null;
  readonly usingEmployer: SyntheticEmployer | null;
  /** Days per week of the work regime, in hundredths (500 = five days). */
  readonly daysPerWeek: number;
  /** Mean weekly hours of the worker and of the reference person, in hundredths. */
  readonly meanWorkingHours: number;
  readonly referenceMeanWorkingHours: number;
  readonly functionNumber: string;
}

/** The DmfA figures of one employment for one quarter. */
export interface SyntheticDeclaration {
  readonly quarter: Quarter;
  readonly employmentId: number;
  /** Days worked, in hundredths. */
  readonly days: number;
  /** Hours worked, in hundredths. */
  readonly hours: number;
  /** Gross remuneration (code 1), euro cents. */
  readonly grossWage: number;
  /** Worker contribution (13.07 %), euro cents. */
  readonly workerContribution: number;
}

export interface SyntheticPopulation {
  readonly persons: ReadonlyMap<string, SyntheticPerson>;
  /** Employments by NISS, in start order. */
  readonly employments: ReadonlyMap<string, readonly SyntheticEmployment[]>;
  /** DmfA figures by NISS, by quarter then employment. */
  readonly declarations: ReadonlyMap<string, readonly SyntheticDeclaration[]>;
}

// ---------------------------------------------------------------------------------------------------
// Fixed employers

function address(street: string, houseNumber: string, postalCode: string, municipality: string): SyntheticAddress {
  return { street, houseNumber, postalCode, municipality, countryCode: '150' };
}

/** Simulated employers, one per kind of identification DIMONA knows. */
export const SIMULATED_EMPLOYERS = {
  /** A person with a personal assistance budget (VAPH) employing an assistant: ONSS number. */
  budgetHolder: {
    name: 'Claes Marc (PAB-budgethouder, simulated)',
    onssNumber: makeOnssNumber(100_012_300),
    provisionalOnssNumber: null,
    enterpriseNumber: null,
    dimonaIdKind: 'ONSS',
    address: address('Kerkstraat', '1', '9000', 'Gent'),
    jointCommittee: '337',
    registrationSource: 'ONSS',
  },
  /** A Brussels care home: ONSS number and enterprise number. */
  careHome: {
    name: 'Résidence Les Tilleuls ASBL (simulated)',
    onssNumber: makeOnssNumber(120_450_000),
    provisionalOnssNumber: null,
    enterpriseNumber: makeEnterpriseNumber(4_123_456),
    dimonaIdKind: 'ONSS',
    address: address('Avenue des Tilleuls', '25', '1050', 'Ixelles'),
    jointCommittee: '330',
    registrationSource: 'ONSS',
  },
  /** A temporary-work agency: the legal employer of interim workers (joint committee 322). */
  interimAgency: {
    name: 'Interim Plus NV (simulated)',
    onssNumber: makeOnssNumber(150_067_800),
    provisionalOnssNumber: null,
    enterpriseNumber: makeEnterpriseNumber(8_765_432),
    dimonaIdKind: 'ONSS',
    address: address('Meir', '88', '2000', 'Antwerpen'),
    jointCommittee: '322',
    registrationSource: 'ONSS',
  },
  /** The company that uses the agency's interim workers (DmfA 90107, DIMONA using employer). */
  brewery: {
    name: 'Brouwerij De Kroon NV (simulated)',
    onssNumber: makeOnssNumber(130_333_000),
    provisionalOnssNumber: null,
    enterpriseNumber: makeEnterpriseNumber(4_567_891),
    dimonaIdKind: 'ENTERPRISE',
    address: address('Brouwerijstraat', '3', '3000', 'Leuven'),
    jointCommittee: '118',
    registrationSource: 'ONSS',
  },
  /** A new employer that has only a provisional ONSS number yet. */
  startUp: {
    name: 'Lumen Labs SRL (simulated)',
    onssNumber: null,
    provisionalOnssNumber: makeProvisionalOnssNumber(5_123_456_700),
    enterpriseNumber: makeEnterpriseNumber(7_987_654),
    dimonaIdKind: 'ONSS_PROVISIONAL',
    address: address('Rue de la Loi', '16', '1000', 'Bruxelles'),
    jointCommittee: '200',
    registrationSource: 'ONSS',
  },
  /** A retail chain that DIMONA identifies by its enterprise number. */
  supermarket: {
    name: 'Supermarkt Vers NV (simulated)',
    onssNumber: makeOnssNumber(110_222_000),
    provisionalOnssNumber: null,
    enterpriseNumber: makeEnterpriseNumber(4_022_233),
    dimonaIdKind: 'ENTERPRISE',
    address: address('Bondgenotenlaan', '140', '3000', 'Leuven'),
    jointCommittee: '202',
    registrationSource: 'ONSS',
  },
  /** A public centre for social welfare: registered with the former ONSSAPL. */
  cpas: {
    name: 'CPAS de Namur (simulated)',
    onssNumber: makeOnssNumber(170_555_000),
    provisionalOnssNumber: null,
    enterpriseNumber: makeEnterpriseNumber(2_075_555),
    dimonaIdKind: 'ONSS',
    address: address('Rue de Dave', '165', '5100', 'Namur'),
    jointCommittee: '000',
    registrationSource: 'ONSSAPL',
  },
} as const satisfies Record<string, SyntheticEmployer>;

// ---------------------------------------------------------------------------------------------------
// Fixed persons

/** The NISS of the fixed simulated persons, for demos and tests. */
export const SIMULATED = {
  /** Personal assistant of a VAPH budget holder, also working in a supermarket: two employers. */
  assistantOfVaph: makeNiss('1988-03-14', 124),
  /** Care worker in a Brussels care home (IRISCARE, 19/104), with a second job at a start-up. */
  careWorkerIriscare: makeNiss('1975-11-02', 57),
  /** Interim worker (born 2001): agency with joint committee 322 and a using employer, then hired by it. */
  interimWorker: makeNiss('2001-06-21', 311),
  /** A BIS number (month + 40) replaced by the National Register number {@link SIMULATED.replacingNiss}. */
  replacedBis: makeNiss('1990-05-08', 216, true),
  /** The National Register number that replaced {@link SIMULATED.replacedBis}. */
  replacingNiss: makeNiss('1990-05-08', 216),
  /** Died on 2024-08-17, after a last job at the CPAS. */
  deceased: makeNiss('1941-09-30', 83),
  /** Known to the registers but never employed: NO_DATA for DmfA and DIMONA. */
  neverEmployed: makeNiss('1969-12-24', 146),
  /**
   * Fault scenario, a source outage: the simulated sources NEVER answer about this person (no reply at
   * all, whatever the service), so the switch must answer SOURCE_TIMEOUT at the deadline. Otherwise an
   * ordinary person (identification, an employment with the VAPH budget holder) so that institutions
   * can integrate them and ask.
   */
  unanswered: makeNiss('1983-04-19', 403),
  /**
   * Fault scenario, a failing source: the simulated sources answer ERROR about this person, whatever the
   * service. Otherwise an ordinary person (identification, an employment at the supermarket).
   */
  sourceFailure: makeNiss('1979-01-27', 188),
} as const;

interface PersonSeed {
  readonly niss: string;
  readonly lastName: string;
  readonly firstNames: readonly string[];
  readonly birthPlace: string;
  readonly nationality?: string;
  readonly address: SyntheticAddress;
  readonly residentSince: IsoDate;
  readonly civilStatus?: SyntheticPerson['civilStatus'];
  readonly register?: 'RN' | 'BIS';
  readonly lastChange?: IsoDate;
  readonly death?: SyntheticPerson['death'];
  readonly replacedBy?: string;
}

interface EmploymentSeed {
  readonly employer: SyntheticEmployer;
  readonly inDate: IsoDate;
  readonly outDate?: IsoDate | null;
  readonly usingEmployer?: SyntheticEmployer;
  readonly employerCategory?: string;
  readonly workerCode?: string;
  readonly workerType?: string;
  readonly daysPerWeek?: number;
  readonly meanWorkingHours?: number;
  readonly functionNumber?: string;
}

const E = SIMULATED_EMPLOYERS;

const FIXED_PERSONS: ReadonlyArray<{ person: PersonSeed; employments: readonly EmploymentSeed[] }> = [
  {
    person: {
      niss: SIMULATED.assistantOfVaph,
      lastName: 'Maes',
      firstNames: ['Sofie', 'Anna'],
      birthPlace: 'Gent',
      address: address('Veldstraat', '12', '9000', 'Gent'),
      residentSince: '2019-09-01',
      civilStatus: { code: 'married', since: '2014-06-21' },
    },
    employments: [
      { employer: E.budgetHolder, inDate: '2022-09-01', meanWorkingHours: 1900, daysPerWeek: 300, functionNumber: '8' },
      { employer: E.supermarket, inDate: '2024-02-01', outDate: '2025-06-30', meanWorkingHours: 1200, daysPerWeek: 200 },
    ],
  },
  {
    person: {
      niss: SIMULATED.careWorkerIriscare,
      lastName: 'El Amrani',
      firstNames: ['Karim'],
      birthPlace: 'Anderlecht',
      address: address('Chaussée de Mons', '212', '1070', 'Anderlecht'),
      residentSince: '2008-03-01',
      civilStatus: { code: 'single', since: '1975-11-02' },
    },
    employments: [
      { employer: E.careHome, inDate: '2019-04-01', functionNumber: '3' },
      { employer: E.startUp, inDate: '2025-03-01', workerType: 'FLX', meanWorkingHours: 800, daysPerWeek: 100 },
    ],
  },
  {
    person: {
      niss: SIMULATED.interimWorker,
      lastName: 'Dubois',
      firstNames: ['Lucas', 'Jean'],
      birthPlace: 'Liège',
      address: address('Rue Saint-Gilles', '41', '4000', 'Liège'),
      residentSince: '2022-10-01',
    },
    employments: [
      {
        employer: E.interimAgency,
        usingEmployer: E.brewery,
        inDate: '2023-05-02',
        outDate: '2023-12-22',
        employerCategory: '484',
        workerCode: '495',
      },
      {
        employer: E.interimAgency,
        usingEmployer: E.brewery,
        inDate: '2024-03-04',
        outDate: '2024-09-27',
        employerCategory: '484',
        workerCode: '495',
      },
      { employer: E.brewery, inDate: '2024-10-01', workerCode: '015' },
    ],
  },
  {
    person: {
      niss: SIMULATED.replacedBis,
      lastName: 'Kovalenko',
      firstNames: ['Olena'],
      birthPlace: 'Kyiv',
      nationality: '264',
      address: address('Rue Haute', '100', '1000', 'Bruxelles'),
      residentSince: '2022-04-11',
      register: 'BIS',
      lastChange: '2023-09-18',
      replacedBy: SIMULATED.replacingNiss,
    },
    employments: [],
  },
  {
    person: {
      niss: SIMULATED.replacingNiss,
      lastName: 'Kovalenko',
      firstNames: ['Olena'],
      birthPlace: 'Kyiv',
      nationality: '264',
      address: address('Rue Haute', '100', '1000', 'Bruxelles'),
      residentSince: '2022-04-11',
      lastChange: '2023-09-18',
    },
    employments: [{ employer: E.careHome, inDate: '2024-01-15', functionNumber: '3' }],
  },
  {
    person: {
      niss: SIMULATED.deceased,
      lastName: 'Janssens',
      firstNames: ['Jozef', 'Maria'],
      birthPlace: 'Mechelen',
      address: address('Grand-Place', '7', '5000', 'Namur'),
      residentSince: '1998-02-01',
      civilStatus: { code: 'widowed', since: '2016-01-09' },
      lastChange: '2024-08-19',
      death: { date: '2024-08-17', place: 'Namur' },
    },
    employments: [
      { employer: E.cpas, inDate: '2023-01-01', outDate: '2024-08-17', workerType: 'OTH', meanWorkingHours: 760, daysPerWeek: 100 },
    ],
  },
  {
    person: {
      niss: SIMULATED.neverEmployed,
      lastName: 'Lambert',
      firstNames: ['Chantal'],
      birthPlace: 'Charleroi',
      address: address('Boulevard Tirou', '9', '6000', 'Charleroi'),
      residentSince: '2001-07-01',
    },
    employments: [],
  },
  {
    person: {
      niss: SIMULATED.unanswered,
      lastName: 'Vermeulen',
      firstNames: ['Pieter'],
      birthPlace: 'Aalst',
      address: address('Molenstraat', '23', '9300', 'Aalst'),
      residentSince: '2012-05-01',
      civilStatus: { code: 'single', since: '1983-04-19' },
    },
    employments: [{ employer: E.budgetHolder, inDate: '2023-03-01', meanWorkingHours: 1520, daysPerWeek: 400 }],
  },
  {
    person: {
      niss: SIMULATED.sourceFailure,
      lastName: 'Renard',
      firstNames: ['Isabelle', 'Claire'],
      birthPlace: 'Mons',
      address: address('Rue de Nimy', '54', '7000', 'Mons'),
      residentSince: '2005-10-01',
      civilStatus: { code: 'married', since: '2004-06-12' },
    },
    employments: [{ employer: E.supermarket, inDate: '2022-01-03' }],
  },
];

// ---------------------------------------------------------------------------------------------------
// Building

function buildPerson(seed: PersonSeed): SyntheticPerson {
  const parsed = parseNiss(seed.niss);
  if (!parsed.valid || parsed.birthDate === null || parsed.sex === null) {
    throw new Error(`synthetic person ${seed.niss} needs a valid NISS with a full birth date and a sex`);
  }
  return {
    niss: seed.niss,
    lastName: seed.lastName,
    firstNames: seed.firstNames,
    birthDate: parsed.birthDate,
    birthPlace: seed.birthPlace,
    gender: parsed.sex === 'M' ? '1' : '2',
    nationality: seed.nationality ?? '150',
    address: seed.address,
    residentSince: seed.residentSince,
    civilStatus: seed.civilStatus ?? null,
    register: seed.register ?? 'RN',
    lastChange: seed.lastChange ?? seed.residentSince,
    death: seed.death ?? null,
    replacedBy: seed.replacedBy ?? null,
  };
}

function buildEmployment(niss: string, id: number, seed: EmploymentSeed): SyntheticEmployment {
  const jointCommittee = seed.employer.jointCommittee;
  if (jointCommittee === '322' && seed.usingEmployer === undefined) {
    throw new Error(`synthetic interim employment ${id} (joint committee 322) needs a using employer`);
  }
  return {
    id,
    niss,
    employer: seed.employer,
    employerCategory: seed.employerCategory ?? '000',
    workerCode: seed.workerCode ?? '015',
    jointCommittee,
    workerType: seed.workerType ?? 'OTH',
    inDate: seed.inDate,
    outDate: seed.outDate ?? null,
    usingEmployer: seed.usingEmployer ?? null,
    daysPerWeek: seed.daysPerWeek ?? 500,
    meanWorkingHours: seed.meanWorkingHours ?? 3800,
    referenceMeanWorkingHours: 3800,
    functionNumber: seed.functionNumber ?? '1',
  };
}

/** Days of `period` that fall in `quarter`, as a share of the quarter (0..1). */
function shareOfQuarter(quarter: Quarter, inDate: IsoDate, outDate: IsoDate | null): number {
  const q = quarterPeriod(quarter);
  if (q === null || q.to === null) return 0;
  const from = inDate > q.from ? inDate : q.from;
  const to = outDate !== null && outDate < q.to ? outDate : q.to;
  if (from > to) return 0;
  const days = dayNumber(to) - dayNumber(from) + 1;
  const all = dayNumber(q.to) - dayNumber(q.from) + 1;
  return days / all;
}

function buildDeclarations(employments: readonly SyntheticEmployment[], prng: Prng, deathDate: IsoDate | null): SyntheticDeclaration[] {
  const result: SyntheticDeclaration[] = [];
  for (const quarter of expandQuarters(SIMULATED_DMFA_QUARTERS)) {
    for (const employment of employments) {
      const end = deathDate !== null && (employment.outDate === null || deathDate < employment.outDate) ? deathDate : employment.outDate;
      const share = shareOfQuarter(quarter, employment.inDate, end);
      if (share <= 0) continue;
      // 13 weeks a quarter; days and hours in hundredths, a little noise for realism.
      const days = Math.round((13 * employment.daysPerWeek * share) / 100) * 100;
      const hours = Math.round((13 * employment.meanWorkingHours * share) / 100) * 100;
      const hourlyWage = intBetween(prng, 1_500, 2_400); // euro cents
      const grossWage = Math.round((hours / 100) * hourlyWage);
      result.push({
        quarter,
        employmentId: employment.id,
        days,
        hours,
        grossWage,
        workerContribution: Math.round(grossWage * 0.1307),
      });
    }
  }
  return result;
}

const LAST_NAMES = ['Peeters', 'Janssens', 'Maes', 'Jacobs', 'Mertens', 'Willems', 'Claes', 'Goossens', 'Wouters', 'De Smet', 'Dubois', 'Lambert', 'Dupont', 'Martin', 'Simon', 'Laurent'] as const;
const FIRST_NAMES_F = ['Emma', 'Louise', 'Marie', 'Elise', 'Nora', 'Lina', 'Julie', 'Sarah'] as const;
const FIRST_NAMES_M = ['Noah', 'Louis', 'Arthur', 'Jules', 'Adam', 'Victor', 'Thomas', 'Milan'] as const;
const PLACES = [
  address('Stationsstraat', '5', '2800', 'Mechelen'),
  address('Rue Neuve', '18', '1000', 'Bruxelles'),
  address('Markt', '2', '8000', 'Brugge'),
  address('Rue de Fer', '30', '5000', 'Namur'),
  address('Diestsestraat', '77', '3000', 'Leuven'),
] as const;
const ORDINARY_EMPLOYERS = [E.careHome, E.supermarket, E.brewery, E.startUp, E.cpas, E.budgetHolder] as const;

export interface GeneratedPerson {
  readonly person: SyntheticPerson;
  readonly employments: readonly SyntheticEmployment[];
}

/**
 * `count` more simulated persons for load tests: National Register numbers born 1960–1999 (sequence
 * numbers from 500 on, so they never collide with the fixed persons), one to three employments each,
 * one in eight of them interim work. Deterministic for a given `seed`.
 */
export function generateSyntheticPersons(count: number, seed: number = SEED): GeneratedPerson[] {
  const prng = createPrng(seed ^ 0x9e37_79b9);
  const result: GeneratedPerson[] = [];
  const seen = new Set<string>();
  let nextEmploymentId = 900_000;
  while (result.length < count) {
    const year = intBetween(prng, 1960, 1999);
    const month = intBetween(prng, 1, 12);
    const day = intBetween(prng, 1, 28);
    const sequence = intBetween(prng, 500, 997);
    const birthDate = `${year}-${pad(month, 2)}-${pad(day, 2)}`;
    const niss = makeNiss(birthDate, sequence);
    if (seen.has(niss)) continue;
    seen.add(niss);
    const female = sequence % 2 === 0;
    const place = pick(prng, PLACES);
    const person = buildPerson({
      niss,
      lastName: pick(prng, LAST_NAMES),
      firstNames: [pick(prng, female ? FIRST_NAMES_F : FIRST_NAMES_M)],
      birthPlace: place.municipality,
      address: place,
      residentSince: `${intBetween(prng, 2000, 2022)}-${pad(intBetween(prng, 1, 12), 2)}-01`,
    });
    const employments: SyntheticEmployment[] = [];
    const jobs = intBetween(prng, 1, 3);
    for (let j = 0; j < jobs; j++) {
      const interim = prng() < 0.125;
      const inDate = `${intBetween(prng, 2018, 2025)}-${pad(intBetween(prng, 1, 12), 2)}-01`;
      const outDate = prng() < 0.5 ? null : `${Number(inDate.slice(0, 4)) + intBetween(prng, 0, 2)}-12-31`;
      const employmentSeed: EmploymentSeed = interim
        ? { employer: E.interimAgency, usingEmployer: pick(prng, [E.brewery, E.supermarket]), inDate, outDate, employerCategory: '484', workerCode: '495' }
        : { employer: pick(prng, ORDINARY_EMPLOYERS), inDate, outDate };
      employments.push(buildEmployment(niss, nextEmploymentId++, employmentSeed));
    }
    employments.sort((a, b) => (a.inDate < b.inDate ? -1 : a.inDate > b.inDate ? 1 : a.id - b.id));
    result.push({ person, employments });
  }
  return result;
}

/**
 * The simulated population: the fixed persons of {@link SIMULATED} plus `extraPersons` generated ones
 * (default none). Same arguments, same population.
 */
export function createSyntheticPopulation(options: { readonly extraPersons?: number; readonly seed?: number } = {}): SyntheticPopulation {
  const seed = options.seed ?? SEED;
  const prng = createPrng(seed);
  const persons = new Map<string, SyntheticPerson>();
  const employments = new Map<string, readonly SyntheticEmployment[]>();
  const declarations = new Map<string, readonly SyntheticDeclaration[]>();
  let nextEmploymentId = 700_001;
  const add = (person: SyntheticPerson, jobs: readonly SyntheticEmployment[]): void => {
    persons.set(person.niss, person);
    employments.set(person.niss, jobs);
    declarations.set(person.niss, buildDeclarations(jobs, prng, person.death?.date ?? null));
  };
  for (const fixed of FIXED_PERSONS) {
    const person = buildPerson(fixed.person);
    add(person, fixed.employments.map((e) => buildEmployment(person.niss, nextEmploymentId++, e)));
  }
  for (const generated of generateSyntheticPersons(options.extraPersons ?? 0, seed)) {
    add(generated.person, generated.employments);
  }
  return { persons, employments, declarations };
}
