/**
 * Authentic-source SIMULATOR of CHANGES (demos and tests only): the SourceMutation an authentic source
 * would publish when something changes about a person of the synthetic population — a DIMONA
 * out-of-service, a corrected DmfA declaration, a new main residence, a death, a BIS number replaced by
 * a National Register number.
 *
 * Pure: no I/O and no clock of its own (the caller's `now` stamps `emittedAt` and is the sources'
 * "today"); the payload is a plain object shaped like the service's payload record, NOT yet encoded
 * (src/sources/mutation-publisher.ts encodes and publishes). The payloads are built by the request
 * simulator ({@link answerSourceRequest}, asked about the day or the quarter that changes), then changed
 * as the source's record changes, so that a change and a later request about the same person tell the
 * same story.
 *
 * What a source sends is its own choice: ONSS sends the DIMONA period or the employer's declaration of
 * the quarter that changed (not the person's whole file); the registers send the blocks that changed,
 * with their technical register block. The switch filters them like a reply.
 */
import { createHash } from 'node:crypto';
import type { EmployerRecord } from '../contract/exchange-records.js';
import type { ChangeKind, SourceMutationRecord } from '../contract/mutation-records.js';
import { parseNiss } from '../domain/niss.js';
import { addDays, isIsoDate, quarterOf, quarterPeriod, type Quarter } from '../domain/period.js';
import type { EmployerKind, IsoDate, Period } from '../domain/types.js';
import { answerSourceRequest, SIMULATED_SERVICES, type SimulatedSourceReply } from './source-simulator.js';
import {
  SIMULATED,
  SIMULATED_DMFA_QUARTERS,
  SIMULATED_EMPLOYERS,
  type SyntheticAddress,
  type SyntheticEmployer,
  type SyntheticEmployment,
  type SyntheticPerson,
  type SyntheticPopulation,
} from './synthetic-population.js';

export const MUTATION_KINDS = ['dimona-out', 'dmfa-correction', 'address', 'death', 'bis-replaced'] as const;
export type MutationKind = (typeof MUTATION_KINDS)[number];

export function isMutationKind(value: string): value is MutationKind {
  return (MUTATION_KINDS as readonly string[]).includes(value);
}

interface KindDefinition {
  readonly service: 'dimona' | 'dmfa' | 'identification';
  readonly informationType: string;
  readonly changeKind: ChangeKind;
  /** What the kind is, for a person reading a list of them. */
  readonly label: string;
}

export const MUTATION_KIND_DEFINITIONS: Readonly<Record<MutationKind, KindDefinition>> = {
  'dimona-out': { service: 'dimona', informationType: 'dimona.out-of-service', changeKind: 'ENDED', label: 'DIMONA out of service: an employment ends' },
  'dmfa-correction': { service: 'dmfa', informationType: 'dmfa.correction', changeKind: 'CHANGED', label: 'a corrected DmfA declaration of a quarter' },
  address: { service: 'identification', informationType: 'identification.address', changeKind: 'CHANGED', label: 'a new main residence' },
  death: { service: 'identification', informationType: 'identification.decease', changeKind: 'ADDED', label: 'a death recorded' },
  'bis-replaced': {
    service: 'identification',
    informationType: 'identification.niss-replaced',
    changeKind: 'CHANGED',
    label: 'a BIS number replaced by a National Register number',
  },
};

export interface SimulatedMutationOptions {
  /** The simulated source's clock (epoch ms): `emittedAt`, and the "today" of the defaults. */
  readonly now: number;
  /** The person (dots and dashes allowed); default: the kind's fixed person (see {@link defaultSubject}). */
  readonly niss?: string;
  /**
   * The employer of the employment that changes (DIMONA, DmfA): an ONSS, provisional ONSS or enterprise
   * number of a simulated employer, or its name in SIMULATED_EMPLOYERS (`careHome`, `budget-holder`).
   */
  readonly employer?: string;
  /**
   * The day the change takes effect. Default: today (dimona-out, address); the first day of the last
   * finished quarter the simulated DmfA holds (dmfa-correction: any day of the quarter names it); the
   * recorded date of death (death); the day the replacement was recorded (bis-replaced).
   */
  readonly effectiveDate?: IsoDate;
  /** Default: derived from the kind, the person, the employer and the date (same change, same id). */
  readonly mutationId?: string;
}

/** be.bcss.gateway.SourceMutation with the payload as a plain object, not yet encoded. */
export type SimulatedSourceMutation = Omit<SourceMutationRecord, 'payload'> & { readonly payload: Record<string, unknown> | null };

export interface SimulatedMutation {
  readonly kind: MutationKind;
  /** The authentic source that publishes it: the catalogue's owner of the service (onss, bcss-registers). */
  readonly source: string;
  readonly record: SimulatedSourceMutation;
}

export type MutationOption = 'kind' | 'niss' | 'employer' | 'effectiveDate' | 'now';

/** A change the simulated sources cannot make: the option at fault and why. */
export class MutationSimulationError extends Error {
  override readonly name = 'MutationSimulationError';
  constructor(
    readonly option: MutationOption,
    readonly detail: string,
  ) {
    super(`${option}: ${detail}`);
  }
}

/** Whom each kind is about when no NISS is given: the persons the sample directory makes interesting. */
export function defaultSubject(kind: MutationKind): string {
  switch (kind) {
    case 'dimona-out':
    case 'address':
      return SIMULATED.assistantOfVaph;
    case 'dmfa-correction':
      return SIMULATED.careWorkerIriscare;
    case 'death':
      return SIMULATED.deceased;
    case 'bis-replaced':
      return SIMULATED.replacedBis;
  }
}

const DEFAULT_EMPLOYER: Partial<Record<MutationKind, SyntheticEmployer>> = {
  'dimona-out': SIMULATED_EMPLOYERS.budgetHolder,
  'dmfa-correction': SIMULATED_EMPLOYERS.careHome,
};

/** Worker contribution rate of the simulated DmfA (13.07 %), as the population computes it. */
const WORKER_CONTRIBUTION_RATE = 0.1307;
/** A correction raises the declared remuneration by 3 %: small, visible, deterministic. */
const CORRECTION_FACTOR = 1.03;

/** Made-up addresses a person moves to (none of them exists as a home). */
const NEW_ADDRESSES: readonly SyntheticAddress[] = [
  { street: 'Koningin Astridlaan', houseNumber: '48', postalCode: '9000', municipality: 'Gent', countryCode: '150' },
  { street: 'Rue des Palais', houseNumber: '103', postalCode: '1030', municipality: 'Schaerbeek', countryCode: '150' },
  { street: 'Lange Kievitstraat', houseNumber: '7', postalCode: '2018', municipality: 'Antwerpen', countryCode: '150' },
  { street: 'Rue Saint-Léonard', houseNumber: '220', postalCode: '4000', municipality: 'Liège', countryCode: '150' },
];

// ---------------------------------------------------------------------------------------------------
// Options

function todayOf(now: number): IsoDate {
  const time = new Date(now);
  if (!Number.isFinite(now) || Number.isNaN(time.getTime())) throw new MutationSimulationError('now', `not a time: ${String(now)}`);
  return time.toISOString().slice(0, 10);
}

function subjectOf(kind: MutationKind, population: SyntheticPopulation, niss: string | undefined): SyntheticPerson {
  const given = niss ?? defaultSubject(kind);
  const parsed = parseNiss(given);
  if (!parsed.valid) throw new MutationSimulationError('niss', parsed.message);
  const person = population.persons.get(parsed.normalized);
  if (person === undefined) throw new MutationSimulationError('niss', `${parsed.normalized} is nobody of the simulated population`);
  return person;
}

function employerKeyOf(name: string): string {
  return name.replace(/[-_\s]/g, '').toLowerCase();
}

/** A simulated employer by one of its numbers or by its name. */
export function findSimulatedEmployer(text: string): SyntheticEmployer | null {
  const byName = Object.entries(SIMULATED_EMPLOYERS).find(([key]) => employerKeyOf(key) === employerKeyOf(text));
  if (byName) return byName[1];
  const digits = text.replace(/^be/i, '').replace(/[.\-/\s]/g, '');
  if (!/^\d+$/.test(digits)) return null;
  return (
    Object.values(SIMULATED_EMPLOYERS).find((e: SyntheticEmployer) =>
      [e.onssNumber, e.provisionalOnssNumber, e.enterpriseNumber].some((n) => n !== null && n.replace(/^0+/, '') === digits.replace(/^0+/, '')),
    ) ?? null
  );
}

function employerOf(kind: MutationKind, text: string | undefined): SyntheticEmployer | null {
  const fallback = DEFAULT_EMPLOYER[kind] ?? null;
  if (text === undefined) return fallback;
  if (fallback === null) throw new MutationSimulationError('employer', `a change of ${MUTATION_KIND_DEFINITIONS[kind].service} names no employer`);
  const found = findSimulatedEmployer(text);
  if (found === null) {
    const known = Object.keys(SIMULATED_EMPLOYERS).join(', ');
    throw new MutationSimulationError('employer', `"${text}" is no simulated employer (by number, or by name: ${known})`);
  }
  return found;
}

function dateOption(value: IsoDate | undefined): IsoDate | undefined {
  if (value !== undefined && !isIsoDate(value)) throw new MutationSimulationError('effectiveDate', `a date YYYY-MM-DD, not "${value}"`);
  return value;
}

/** How the switch's directory names an employer: its ONSS number when it has one. */
function employerIdentity(employer: SyntheticEmployer): { kind: EmployerKind; id: string } {
  if (employer.onssNumber !== null) return { kind: 'ONSS', id: employer.onssNumber };
  if (employer.provisionalOnssNumber !== null) return { kind: 'ONSS_PROVISIONAL', id: employer.provisionalOnssNumber };
  return { kind: 'ENTERPRISE', id: employer.enterpriseNumber as string };
}

function defaultMutationId(kind: MutationKind, niss: string, employer: SyntheticEmployer | null, date: IsoDate): string {
  // Hashed: an id travels in logs and audit records, a NISS should not.
  const digest = createHash('sha256')
    .update([kind, niss, employer === null ? '' : employerIdentity(employer).id, date].join('\u0000'))
    .digest('hex');
  return `sim-${kind}-${digest.slice(0, 16)}`;
}

// ---------------------------------------------------------------------------------------------------
// The source's record, as the request simulator answers it

type Obj = Record<string, unknown>;

function ask(population: SyntheticPopulation, person: SyntheticPerson, service: string, period: Period, now: number): Obj {
  const answer: SimulatedSourceReply | null = answerSourceRequest(population, {
    ticket: 'mutation',
    service,
    subjectNiss: person.niss,
    employer: null,
    period,
    blocks: [],
    deadline: now,
  });
  if (answer === null || answer.status === 'ERROR') {
    // The fault persons of the population: the simulated sources hold nothing they would publish.
    throw new MutationSimulationError('niss', `the simulated sources hold no readable ${service} record of ${person.niss} (a fault scenario person)`);
  }
  if (answer.status === 'NISS_REPLACED') {
    throw new MutationSimulationError('niss', `${person.niss} was replaced by ${answer.newNiss ?? '?'}: changes are about the new number`);
  }
  if (answer.status !== 'OK' || answer.payload === null) {
    throw new MutationSimulationError('niss', `the simulated sources hold no ${service} of ${person.niss} around ${period.from}`);
  }
  return answer.payload;
}

function sameEmployer(a: SyntheticEmployer, b: SyntheticEmployer): boolean {
  return employerIdentity(a).id === employerIdentity(b).id;
}

function employmentsAt(population: SyntheticPopulation, person: SyntheticPerson, employer: SyntheticEmployer): SyntheticEmployment[] {
  return (population.employments.get(person.niss) ?? []).filter((e) => sameEmployer(e.employer, employer));
}

/** Every field but the root NISS and `keep` emptied: the registers send the blocks that changed. */
function onlyBlocks(payload: Obj, keep: Readonly<Record<string, unknown>>): Obj {
  const out: Obj = {};
  for (const [field, value] of Object.entries(payload)) out[field] = field === 'niss' ? value : Array.isArray(value) ? [] : null;
  return { ...out, ...keep };
}

function registerBlock(payload: Obj, lastChange: IsoDate, register?: 'RN' | 'BIS'): Obj {
  const current = (payload.register ?? {}) as Obj;
  return { ...current, ...(register === undefined ? {} : { register }), lastChange };
}

function addressValue(a: SyntheticAddress): Obj {
  return { street: a.street, houseNumber: a.houseNumber, postalCode: a.postalCode, municipality: a.municipality, countryCode: a.countryCode };
}

function pickIndex(seed: string, modulo: number): number {
  return createHash('sha256').update(seed).digest().readUInt32BE(0) % modulo;
}

// ---------------------------------------------------------------------------------------------------
// The kinds

interface Built {
  readonly person: SyntheticPerson;
  readonly employer: SyntheticEmployer | null;
  /** The employment's DmfA employer category, when the change is about an employment. */
  readonly category: string | null;
  readonly effectiveDate: IsoDate;
  readonly newNiss: string | null;
  readonly payload: Obj | null;
}

function dimonaOut(population: SyntheticPopulation, person: SyntheticPerson, employer: SyntheticEmployer, date: IsoDate, today: IsoDate, now: number): Built {
  const jobs = employmentsAt(population, person, employer);
  const job = jobs.find((e) => e.inDate <= date && (e.outDate === null || date <= e.outDate));
  if (job === undefined) {
    const known = jobs.map((e) => `${e.inDate}..${e.outDate ?? ''}`).join(', ') || 'none';
    throw new MutationSimulationError('effectiveDate', `${person.niss} is not employed by ${employer.name} on ${date} (employments there: ${known})`);
  }
  const payload = ask(population, person, 'dimona', { from: date, to: date }, now);
  const period = ((payload.dimonaPeriods ?? []) as Obj[]).find((p) => p.dimonaPeriodId === job.id);
  if (period === undefined) throw new MutationSimulationError('niss', `DIMONA holds no period ${job.id} of ${person.niss}`);
  const occupation = (period.occupation ?? {}) as Obj;
  return {
    person,
    employer,
    category: job.employerCategory,
    effectiveDate: date,
    newNiss: null,
    // The one DIMONA period that ends, as the out-of-service declaration leaves it.
    payload: { ...payload, dimonaPeriods: [{ ...period, lastDeclarationDate: today, occupation: { ...occupation, outDate: date } }] },
  };
}

/** The last quarter over by `today` that the simulated DmfA holds declarations for. */
export function lastDeclaredQuarter(today: IsoDate): Quarter {
  const lastOver = quarterOf(addDays((quarterPeriod(quarterOf(today)) as Period).from, -1));
  const lastHeld = quarterOf(SIMULATED_DMFA_QUARTERS.to as IsoDate);
  return lastOver < lastHeld ? lastOver : lastHeld;
}

function correctedWorkerRecord(record: Obj): Obj {
  const bump = (v: unknown): number => (typeof v === 'number' ? v : 1) + 1;
  let gross = 0;
  const occupations = ((record.occupations ?? []) as Obj[]).map((occupation) => ({
    ...occupation,
    versionNumber: bump(occupation.versionNumber),
    remunerations: ((occupation.remunerations ?? []) as Obj[]).map((r) => {
      const amount = Math.round((r.amount as number) * CORRECTION_FACTOR);
      gross += amount;
      return { ...r, amount, versionNumber: bump(r.versionNumber) };
    }),
  }));
  const contributions = ((record.contributions ?? []) as Obj[]).map((c) => ({
    ...c,
    calculationBasis: gross,
    amount: Math.round(gross * WORKER_CONTRIBUTION_RATE),
    versionNumber: bump(c.versionNumber),
  }));
  return { ...record, occupations, contributions };
}

function dmfaCorrection(
  population: SyntheticPopulation,
  person: SyntheticPerson,
  employer: SyntheticEmployer,
  date: IsoDate | undefined,
  today: IsoDate,
  now: number,
): Built {
  const quarter = date === undefined ? lastDeclaredQuarter(today) : quarterOf(date);
  const period = quarterPeriod(quarter) as Period;
  const held = `${quarterOf(SIMULATED_DMFA_QUARTERS.from)}..${quarterOf(SIMULATED_DMFA_QUARTERS.to as IsoDate)}`;
  if (period.from < SIMULATED_DMFA_QUARTERS.from || (SIMULATED_DMFA_QUARTERS.to as IsoDate) < period.from) {
    throw new MutationSimulationError('effectiveDate', `the simulated DmfA holds ${held}, not ${quarter}`);
  }
  const job = employmentsAt(population, person, employer).find((e) => e.inDate <= (period.to as IsoDate) && (e.outDate === null || period.from <= e.outDate));
  if (job === undefined) throw new MutationSimulationError('effectiveDate', `${person.niss} is not employed by ${employer.name} in ${quarter}`);
  const payload = ask(population, person, 'dmfa', period, now);
  const onss = employer.onssNumber ?? employer.provisionalOnssNumber;
  const declaration = ((payload.employerDeclarations ?? []) as Obj[]).find((d) => d.quarter === quarter && d.onssNumber === onss);
  if (declaration === undefined) {
    throw new MutationSimulationError('effectiveDate', `no DmfA declaration of ${employer.name} for ${quarter} (the simulated DmfA holds ${held})`);
  }
  const persons = ((declaration.naturalPersons ?? []) as Obj[]).map((p) => ({
    ...p,
    workerRecords: ((p.workerRecords ?? []) as Obj[]).map(correctedWorkerRecord),
  }));
  const contributions = persons.flatMap((p) => p.workerRecords).flatMap((r) => (r.contributions ?? []) as Obj[]);
  const status = (declaration.declarationStatus ?? {}) as Obj;
  const corrected: Obj = {
    ...declaration,
    // As the population computes it from the worker contributions.
    netAmountDue: contributions.reduce((sum, c) => sum + (c.amount as number), 0) * 3,
    declarationStatus: { ...status, declarationReference: `${String(status.declarationReference ?? 'DMFA-SIM')}-C1`, receivedOn: today },
    naturalPersons: persons,
  };
  return { person, employer, category: job.employerCategory, effectiveDate: period.from, newNiss: null, payload: { ...payload, employerDeclarations: [corrected] } };
}

function alive(person: SyntheticPerson, change: string): void {
  if (person.death !== null) throw new MutationSimulationError('niss', `${person.niss} died on ${person.death.date}: no ${change} after that`);
}

function addressChange(population: SyntheticPopulation, person: SyntheticPerson, date: IsoDate, now: number): Built {
  alive(person, 'address change');
  const payload = ask(population, person, 'identification', { from: date, to: date }, now);
  const choices = NEW_ADDRESSES.filter((a) => a.street !== person.address.street);
  const address = choices[pickIndex(`${person.niss}\u0000${date}`, choices.length)] as SyntheticAddress;
  return {
    person,
    employer: null,
    category: null,
    effectiveDate: date,
    newNiss: null,
    payload: onlyBlocks(payload, { register: registerBlock(payload, date), mainResidence: { address: addressValue(address), since: date } }),
  };
}

function death(population: SyntheticPopulation, person: SyntheticPerson, date: IsoDate | undefined, today: IsoDate, now: number): Built {
  const day = date ?? person.death?.date ?? today;
  const place = person.death?.place ?? person.address.municipality;
  const payload = ask(population, person, 'identification', { from: day, to: day }, now);
  return {
    person,
    employer: null,
    category: null,
    effectiveDate: day,
    newNiss: null,
    payload: onlyBlocks(payload, { register: registerBlock(payload, day), decease: { date: day, place } }),
  };
}

function bisReplaced(population: SyntheticPopulation, person: SyntheticPerson, date: IsoDate | undefined, now: number): Built {
  if (person.replacedBy === null) {
    throw new MutationSimulationError('niss', `${person.niss} was never replaced in the simulated registers (the replaced BIS number is ${SIMULATED.replacedBis})`);
  }
  const replacing = population.persons.get(person.replacedBy);
  if (replacing === undefined) throw new MutationSimulationError('niss', `the new number ${person.replacedBy} is nobody of the simulated population`);
  const day = date ?? person.lastChange;
  // The record as it now stands under the new number, in the National Register.
  const payload = ask(population, replacing, 'identification', { from: day, to: day }, now);
  return { person, employer: null, category: null, effectiveDate: day, newNiss: replacing.niss, payload: { ...payload, register: registerBlock(payload, day, 'RN') } };
}

// ---------------------------------------------------------------------------------------------------

/** The change a simulated source publishes; throws {@link MutationSimulationError} for one it cannot make. */
export function simulatedMutation(kind: MutationKind, population: SyntheticPopulation, options: SimulatedMutationOptions): SimulatedMutation {
  if (!isMutationKind(kind)) throw new MutationSimulationError('kind', `one of ${MUTATION_KINDS.join(', ')}, not "${String(kind)}"`);
  const definition = MUTATION_KIND_DEFINITIONS[kind];
  const today = todayOf(options.now);
  const person = subjectOf(kind, population, options.niss);
  const employer = employerOf(kind, options.employer);
  const date = dateOption(options.effectiveDate);

  let built: Built;
  switch (kind) {
    case 'dimona-out':
      built = dimonaOut(population, person, employer as SyntheticEmployer, date ?? today, today, options.now);
      break;
    case 'dmfa-correction':
      built = dmfaCorrection(population, person, employer as SyntheticEmployer, date, today, options.now);
      break;
    case 'address':
      built = addressChange(population, person, date ?? today, options.now);
      break;
    case 'death':
      built = death(population, person, date, today, options.now);
      break;
    case 'bis-replaced':
      built = bisReplaced(population, person, date, options.now);
      break;
  }

  const employerRecord: EmployerRecord | null =
    built.employer === null ? null : { ...employerIdentity(built.employer), category: built.category };
  return {
    kind,
    source: SIMULATED_SERVICES[definition.service],
    record: {
      mutationId: options.mutationId ?? defaultMutationId(kind, person.niss, built.employer, built.effectiveDate),
      service: definition.service,
      subjectNiss: person.niss,
      employer: employerRecord,
      informationType: definition.informationType,
      changeKind: definition.changeKind,
      effectiveDate: built.effectiveDate,
      newNiss: built.newNiss,
      payload: built.payload,
      emittedAt: options.now,
    },
  };
}
