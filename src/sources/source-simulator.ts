/**
 * Authentic-source SIMULATOR (demos and tests only): answers a SourceRequest from the synthetic
 * population, as ONSS (DmfA, DIMONA) and the National Register / BCSS registers (identification) would,
 * and INAMI's quarterly invalidity list (src/sources/invalidity-batch.ts). One function answers every
 * simulated service. Two fixed persons stand for faults: the sources never answer about
 * `SIMULATED.unanswered` (null: no reply) and answer ERROR about `SIMULATED.sourceFailure`.
 *
 * Pure: the answer is a plain value, the payload a plain object shaped like the service's payload record
 * (schemas/<service>-payload.avsc), NOT yet encoded; the process around it encodes it and stamps
 * `answeredAt` with its clock.
 *
 * It deliberately answers with the WHOLE record of the person: every employer (whatever employer was
 * asked), every block (whatever blocks were asked), every quarter in and around the period (one calendar
 * quarter either side). The switch must never trust a source to minimise; its block filter does, and the tests
 * of that filter rely on this over-delivery.
 */
import type { SourceReplyStatus, SourceRequestRecord } from '../contract/exchange-records.js';
import { addDays, overlaps, quarterOf, quarterPeriod } from '../domain/period.js';
import type { IsoDate, Period } from '../domain/types.js';
import { answerInvalidityRequest, INVALIDITY_SERVICE } from './invalidity-batch.js';
import type { SimulatedSourceReply } from './simulated-source.js';
import { SIMULATED } from './synthetic-population.js';
import type {
  SyntheticAddress,
  SyntheticDeclaration,
  SyntheticEmployer,
  SyntheticEmployment,
  SyntheticPerson,
  SyntheticPopulation,
} from './synthetic-population.js';

export type { SimulatedSourceReply } from './simulated-source.js';

/** The services the simulator answers, with the source that owns each. */
export const SIMULATED_SERVICES = {
  dmfa: 'onss',
  dimona: 'onss',
  identification: 'bcss-registers',
  [INVALIDITY_SERVICE]: 'inami',
} as const satisfies Record<string, string>;

export interface SimulatorAnswerOptions {
  /**
   * The simulated sources' today (only the quarterly invalidity list looks at it: a quarter not over
   * yet has no list). Defaults to the UTC day of the request's deadline, the switch's own clock, which
   * keeps this function free of any clock.
   */
  readonly today?: IsoDate;
  /** Size of the simulated invalidity list of a quarter (its own entries, before over-delivery). */
  readonly invalidityEntriesPerQuarter?: number;
}

/** The asked period widened by one whole calendar quarter on each side: the simulator over-delivers. */
function widen(period: Period): Period {
  const first = quarterPeriod(quarterOf(period.from)) as Period;
  const before = quarterPeriod(quarterOf(addDays(first.from, -1))) as Period;
  if (period.to === null) return { from: before.from, to: null };
  const last = quarterPeriod(quarterOf(period.to)) as Period;
  const after = quarterPeriod(quarterOf(addDays(last.to as IsoDate, 1))) as Period;
  return { from: before.from, to: after.to };
}

function reply(ticket: string, status: SourceReplyStatus, extra: Partial<SimulatedSourceReply> = {}): SimulatedSourceReply {
  return { ticket, status, newNiss: null, errorMessage: null, payload: null, ...extra };
}

function utcDay(epochMillis: number): IsoDate | null {
  const time = new Date(epochMillis);
  return Number.isNaN(time.getTime()) ? null : time.toISOString().slice(0, 10);
}

/**
 * The answer of the simulated source to one request, or null when the source does not answer at all
 * ({@link SIMULATED.unanswered}: an outage, the switch must time out).
 */
export function answerSourceRequest(
  population: SyntheticPopulation,
  request: SourceRequestRecord,
  options: SimulatorAnswerOptions = {},
): SimulatedSourceReply | null {
  if (request.service === INVALIDITY_SERVICE) {
    const today = options.today ?? utcDay(request.deadline);
    if (today === null) return reply(request.ticket, 'ERROR', { errorMessage: 'the request deadline is not a time' });
    return answerInvalidityRequest(request, {
      today,
      ...(options.invalidityEntriesPerQuarter === undefined ? {} : { entriesPerQuarter: options.invalidityEntriesPerQuarter }),
    });
  }
  if (request.subjectNiss === SIMULATED.unanswered) return null;
  if (request.subjectNiss === SIMULATED.sourceFailure) {
    return reply(request.ticket, 'ERROR', { errorMessage: 'simulated source failure: the record of this person cannot be read' });
  }
  const person = population.persons.get(request.subjectNiss);
  if (person === undefined) return reply(request.ticket, 'NO_DATA');
  if (person.replacedBy !== null) return reply(request.ticket, 'NISS_REPLACED', { newNiss: person.replacedBy });
  const widened = widen(request.period);
  let payload: Record<string, unknown> | null;
  switch (request.service) {
    case 'dmfa':
      payload = dmfaPayload(population, person, widened);
      break;
    case 'dimona':
      payload = dimonaPayload(population, person, widened);
      break;
    case 'identification':
      payload = identificationPayload(person);
      break;
    default:
      return reply(request.ticket, 'ERROR', { errorMessage: `the simulated sources do not serve ${request.service}` });
  }
  return payload === null ? reply(request.ticket, 'NO_DATA') : reply(request.ticket, 'OK', { payload });
}

// ---------------------------------------------------------------------------------------------------
// DmfA

function addressValue(a: SyntheticAddress): Record<string, unknown> {
  return { street: a.street, houseNumber: a.houseNumber, postalCode: a.postalCode, municipality: a.municipality, countryCode: a.countryCode };
}

function employerOnss(employer: SyntheticEmployer): string {
  return employer.onssNumber ?? employer.provisionalOnssNumber ?? '';
}

function dmfaPayload(population: SyntheticPopulation, person: SyntheticPerson, around: Period): Record<string, unknown> | null {
  const jobs = new Map((population.employments.get(person.niss) ?? []).map((e) => [e.id, e]));
  const declarations = (population.declarations.get(person.niss) ?? []).filter((d) => {
    const q = quarterPeriod(d.quarter);
    return q !== null && overlaps(q, around);
  });
  // One employer declaration per employer and quarter; several employments there become worker records.
  const groups = new Map<string, { employer: SyntheticEmployer; quarter: string; rows: Array<[SyntheticDeclaration, SyntheticEmployment]> }>();
  for (const d of declarations) {
    const job = jobs.get(d.employmentId);
    if (job === undefined) continue;
    const key = `${d.quarter}/${employerOnss(job.employer)}`;
    const group = groups.get(key) ?? { employer: job.employer, quarter: d.quarter, rows: [] };
    group.rows.push([d, job]);
    groups.set(key, group);
  }
  if (groups.size === 0) return null;
  const employerDeclarations = [...groups.values()].map(({ employer, quarter, rows }) => {
    const q = quarterPeriod(quarter) as Period;
    const totalContribution = rows.reduce((sum, [d]) => sum + d.workerContribution, 0);
    return {
      quarter,
      onssNumber: employerOnss(employer),
      enterpriseNumber: employer.enterpriseNumber,
      registrationSource: employer.registrationSource,
      curatorship: false,
      netAmountDue: totalContribution * 3,
      holidayStartDate: null,
      fiveDayWeekConversion: null,
      declarationStatus: {
        declarationReference: `DMFA-SIM-${employerOnss(employer)}-${quarter}`,
        attestationStatus: 'ACCEPTED',
        receivedOn: addDays(q.to as IsoDate, 30),
      },
      naturalPersons: [
        {
          sequenceNumber: 1,
          niss: person.niss,
          lastName: person.lastName,
          firstName: person.firstNames[0] ?? null,
          birthDate: person.birthDate,
          birthPlace: person.birthPlace,
          gender: person.gender,
          address: addressValue(person.address),
          nationality: person.nationality,
          oriolusValidation: '1',
          workerRecords: rows.map(([d, job], i) => workerRecord(d, job, q, i)),
        },
      ],
      contributionsUnrelatedToNaturalPerson: [
        { employerCategory: rows[0]?.[1].employerCategory ?? '000', workerCode: '851', calculationBasis: null, amount: 1250 },
      ],
    };
  });
  return { niss: person.niss, employerDeclarations };
}

function workerRecord(d: SyntheticDeclaration, job: SyntheticEmployment, quarter: Period, index: number): Record<string, unknown> {
  const interim = job.usingEmployer !== null;
  const end = job.outDate !== null && quarter.to !== null && job.outDate <= quarter.to ? job.outDate : null;
  const user = job.usingEmployer;
  return {
    employerCategory: job.employerCategory,
    workerCode: job.workerCode,
    quarterStartDate: null,
    quarterEndDate: null,
    frontierWorker: false,
    activityWithRisk: null,
    localUnitId: null,
    occupations: [
      {
        sequenceNumber: index + 1,
        startDate: job.inDate,
        endDate: end,
        jointCommittee: job.jointCommittee,
        daysPerWeek: job.daysPerWeek,
        meanWorkingHours: job.meanWorkingHours,
        referenceMeanWorkingHours: job.referenceMeanWorkingHours,
        contractType: interim ? '2' : '1',
        workerStatus: null,
        retired: false,
        functionNumber: job.functionNumber,
        versionNumber: 1,
        services: [{ sequenceNumber: 1, serviceCode: '1', days: d.days, hours: d.hours, flightMinutes: null }],
        remunerations: [
          { sequenceNumber: 1, remunerationCode: '1', frequencyInMonths: null, percentageOnYearlyBasis: null, amount: d.grossWage, versionNumber: 1 },
        ],
        usingEmployer:
          user === null
            ? null
            : {
                naturalPersonNiss: null,
                jointCommittee: user.jointCommittee,
                enterpriseNumber: user.enterpriseNumber,
                name: user.name,
                vatNumber: user.enterpriseNumber === null ? null : `BE${user.enterpriseNumber}`,
                successiveDailyContracts: null,
              },
        occupationInformation: null,
        publicSectorOccupations:
          job.employer.registrationSource === 'ONSSAPL'
            ? [{ startDate: job.inDate, endDate: job.outDate, institutionType: 'CPAS', personnelCategory: 'contractual' }]
            : [],
        reductions: [],
      },
    ],
    contributions: [
      { workerCode: job.workerCode, contributionType: '0', calculationBasis: d.grossWage, amount: d.workerContribution, supplementaryAllowanceAmount: null, versionNumber: 1 },
    ],
    reductions: [],
    studentContribution: null,
    earlyRetirementContributions: [],
    workAccidentAllowances: [],
  };
}

// ---------------------------------------------------------------------------------------------------
// DIMONA

function employerIdNumber(employer: SyntheticEmployer): string | null {
  switch (employer.dimonaIdKind) {
    case 'ONSS':
      return employer.onssNumber;
    case 'ONSS_PROVISIONAL':
      return employer.provisionalOnssNumber;
    case 'ENTERPRISE':
      return employer.enterpriseNumber;
  }
}

function dimonaPayload(population: SyntheticPopulation, person: SyntheticPerson, around: Period): Record<string, unknown> | null {
  const jobs = (population.employments.get(person.niss) ?? []).filter((e) => overlaps({ from: e.inDate, to: e.outDate }, around));
  if (jobs.length === 0) return null;
  return {
    niss: person.niss,
    dimonaPeriods: jobs.map((job) => ({
      dimonaPeriodId: job.id,
      lastDeclarationDate: job.outDate ?? job.inDate,
      declarationChannel: 'web',
      employer: {
        employerIdKind: job.employer.dimonaIdKind,
        employerIdNumber: employerIdNumber(job.employer),
        enterpriseNumber: job.employer.enterpriseNumber,
        naturalPersonNiss: null,
        name: job.employer.name,
        address: addressValue(job.employer.address),
        languageCode: job.employer.address.postalCode < '1300' || job.employer.address.postalCode >= '4000' ? '1' : '2',
        employerCategory: job.employerCategory,
        studentEmployer: false,
      },
      usingEmployer:
        job.usingEmployer === null
          ? null
          : {
              employerIdKind: job.usingEmployer.dimonaIdKind,
              employerIdNumber: employerIdNumber(job.usingEmployer),
              enterpriseNumber: job.usingEmployer.enterpriseNumber,
              name: job.usingEmployer.name,
              address: addressValue(job.usingEmployer.address),
            },
      worker: {
        niss: person.niss,
        oriolusValidation: '1',
        lastName: person.lastName,
        firstName: person.firstNames[0] ?? null,
        birthDate: person.birthDate,
        gender: person.gender,
        countryCode: person.nationality,
        studentAddress: null,
      },
      occupation: {
        inDate: job.inDate,
        outDate: job.outDate,
        jointCommittee: job.jointCommittee,
        workerType: job.workerType,
        workplace: null,
        partialEntity: false,
      },
    })),
  };
}

// ---------------------------------------------------------------------------------------------------
// Identification

function identificationPayload(person: SyntheticPerson): Record<string, unknown> {
  return {
    niss: person.niss,
    register: { register: person.register, lastChange: person.lastChange },
    name: { lastName: person.lastName, firstNames: [...person.firstNames] },
    birth: { date: person.birthDate, place: person.birthPlace, countryCode: person.register === 'BIS' ? person.nationality : '150' },
    gender: { code: person.gender },
    nationalities: [{ countryCode: person.nationality, since: person.birthDate }],
    mainResidence: { address: addressValue(person.address), since: person.residentSince },
    decease: person.death === null ? null : { date: person.death.date, place: person.death.place },
    civilStatus: person.civilStatus === null ? null : { code: person.civilStatus.code, since: person.civilStatus.since },
    photo: null,
  };
}
