/**
 * The demo's scenarios: each seed deliberation shown working and each refusal of the switch provoked,
 * with the outcome a person should see; then changes published by the simulated sources, with who must
 * receive them and who must not. Pure: the list, the expectations and the comparison of an outcome with
 * its expectation; sending and receiving live in run-demo.ts and run-mutations.ts.
 *
 * Every request goes out as the institution's own principal (magda for VAPH, 10/012 §9) — ONVA's as its
 * consultation application's, DOLSIS (principal onva-dolsis), on its consultation channel, since 19/010
 * grants its data for consultation only (§3, §37) — on the sample directory that `npm start` and the
 * demo load (src/sources/sample-directory.ts); every change is published as its source's principal and
 * read as each subscriber's.
 *
 * Where a deliberation names the fields of a block, a scenario may state the fields the switch must
 * withhold (`removedFields`): the VAPH rows do, so that a name delivered to VAPH fails the demo. No row
 * shows EMPLOYER_CATEGORY_REQUIRED (10/012 §9, an interim link asked without its category): VAPH
 * integrated no interim worker in the sample directory.
 */
import type { RawRequestRecord, RequestInput } from '../client/request-input.js';
import type { ServiceDefinition } from '../domain/catalogue.js';
import { quarterOf, quarterPeriod, type Quarter } from '../domain/period.js';
import type { IsoDate, Period } from '../domain/types.js';
import { FIRST_INVALIDITY_QUARTER, invalidityList, INVALIDITY_SERVICE } from '../sources/invalidity-batch.js';
import { lastDeclaredQuarter, MUTATION_KIND_DEFINITIONS, type MutationKind } from '../sources/mutation-simulator.js';
import { SIMULATED, SIMULATED_EMPLOYERS } from '../sources/synthetic-population.js';

/** How a scenario reaches the switch. */
export type DemoSend =
  /** Checked by the client library, then sent. */
  | { readonly kind: 'request'; readonly input: RequestInput }
  /** Sent unchecked, as a record the library would not build (a requester other than the sender). */
  | { readonly kind: 'raw'; readonly record: RawRequestRecord }
  /** Bytes that are no Request at all; the reply cannot carry a requestId. */
  | { readonly kind: 'bytes'; readonly length: number }
  /** One request per quarter, sent together, each answered by a list of entries. */
  | { readonly kind: 'quarterly-lists'; readonly quarters: readonly QuarterlyListExpectation[] }
  /** A change a simulated source publishes; the scenario's requester is the subscriber watched. */
  | { readonly kind: 'mutation'; readonly change: DemoChange };

/**
 * A change published by a simulated source (src/sources/mutation-simulator.ts). Several scenarios watch
 * the same change at different subscribers: it is published once, in the order the scenarios first name
 * it.
 */
export interface DemoChange {
  readonly key: string;
  readonly kind: MutationKind;
  readonly subject: DemoSubject;
  /** The employer whose employment changes (an ONSS number), null for identity changes. */
  readonly employer: string | null;
  /** null: the simulator's default for the kind. */
  readonly effectiveDate: IsoDate | null;
  /** The change in a few words, for the table. */
  readonly label: string;
}

/** What a subscriber receives of a change: the Mutation's form, or nothing at all. */
export type MutationReceipt = 'BLOCKS' | 'NOTIFICATION' | typeof NOTHING;

export interface QuarterlyListExpectation {
  readonly quarter: Quarter;
  readonly input: RequestInput;
  readonly status: 'OK' | 'NO_DATA';
  /** Entries of the quarter itself, of persons of age: what the switch must deliver. */
  readonly entries: number;
  /** Entries the source lists for the quarter, those of the neighbouring quarters and of minors included. */
  readonly listed: number;
  /** Entries of the quarter itself of persons under 18 when the primary incapacity began (22/046 §1, §15). */
  readonly underage: number;
}

export interface DemoSubject {
  readonly niss: string;
  /** Who the person is in the story (the PAB assistant, the care worker, ...). */
  readonly role: string;
}

export interface DemoExpectation {
  /** OK or a refusal code; for a change, what the subscriber receives ({@link MutationReceipt}). */
  readonly status: string;
  /** With NISS_REPLACED: the number to ask with instead. */
  readonly newNiss?: string;
  /** Blocks that must be among those delivered. */
  readonly delivered?: readonly string[];
  /** Blocks that must be among those withheld. */
  readonly removed?: readonly string[];
  /**
   * Fields withheld from the delivered rows (`<block id>.<field>`), exactly, in the blocks they name: in
   * those blocks no other field may be withheld and none of these may hold a value in what is delivered.
   * Other blocks' fields are not checked. An empty list is no check.
   */
  readonly removedFields?: readonly string[];
  /** Entries the quarterly lists must deliver, in total (every one inside its quarter, none of a minor). */
  readonly entries?: number;
}

export interface DemoScenario {
  readonly number: number;
  /** The heading the scenario is shown under. */
  readonly section: string;
  /** What the scenario shows, in a few words. */
  readonly title: string;
  /** The institution that sends (and reads the reply), as its own principal unless `consultation` says otherwise. */
  readonly requester: string;
  /**
   * The consultation application the request goes through (its name, `DOLSIS`): sent as that
   * application's principal (config/institutions.yaml `consultation.principal`) on the institution's
   * consultation-requests topic, answered on its consultations topic. Absent: the institution's own
   * requests and replies topics, as its own principal.
   */
  readonly consultation?: string;
  /** The institution the data are for, when the requester relays (magda for vaph). */
  readonly beneficiary: string | null;
  readonly service: string;
  /** null for a list that names nobody. */
  readonly subject: DemoSubject | null;
  readonly send: DemoSend;
  readonly expected: DemoExpectation;
}

/** What came back for one scenario. */
export interface DemoOutcome {
  /** OK, a refusal code, or NO_REPLY when nothing came back in time (or Kafka refused the send). */
  readonly status: string;
  readonly bcssCode: string | null;
  readonly ticket: string | null;
  readonly message: string | null;
  readonly newNiss: string | null;
  readonly deliveredBlocks: readonly string[];
  readonly removedBlocks: readonly string[];
  /** Fields the switch reports withheld from the delivered rows, as `<block id>.<field>`. */
  readonly removedFields: readonly string[];
  /**
   * Fields holding a value in the payload as it was delivered (`<block id>.<field>`, names only): what
   * the institution could read, whatever the switch reports. Absent when no payload was read.
   */
  readonly presentFields?: readonly string[];
  readonly effectivePeriods: readonly Period[];
  /** The quarterly lists: one status per request, and the entries counted. */
  readonly lists?: {
    readonly statuses: readonly string[];
    readonly delivered: number;
    /** Listed by the source but not delivered: the entries of neighbouring quarters. */
    readonly removed: number;
    /** Delivered although their invalidity starts outside the quarter asked for (the filter missed them). */
    readonly outsideQuarter: number;
    /** Delivered although the person was under 18 when the primary incapacity began (the filter missed them). */
    readonly underage: number;
  };
  /** Why there is no reply, when there is none. */
  readonly error?: string;
  readonly durationMs: number;
}

export const NO_REPLY = 'NO_REPLY';
/** A subscriber received nothing of a change within the wait. */
export const NOTHING = 'NOTHING';

export interface DemoVerdict {
  readonly asExpected: boolean;
  /** Each difference in a sentence; empty when as expected. */
  readonly differences: readonly string[];
}

// ---------------------------------------------------------------------------------------------------
// The scenarios

const E = SIMULATED_EMPLOYERS;
const budgetHolder = E.budgetHolder.onssNumber;

const ROLE = {
  assistant: 'PAB assistant',
  careWorker: 'care worker',
  interim: 'interim worker',
  deceased: 'deceased',
  replacedBis: 'replaced BIS',
  sourceFailure: 'source fails',
} as const;

const person = (niss: string, role: string): DemoSubject => ({ niss, role });

/** ONVA's consultation application (19/010 §3, §37), whose principal is onva-dolsis. */
export const DOLSIS = 'DOLSIS';

/**
 * What 10/012 §8 withholds of the natural person (90017) the source sends: every field but the sequence
 * number and the NISS, those that hold a value in the simulated DmfA (src/sources/source-simulator.ts).
 */
const VAPH_WITHHELD_NATURAL_PERSON = ['lastName', 'firstName', 'birthDate', 'birthPlace', 'gender', 'address', 'nationality', 'oriolusValidation'].map(
  (f) => `dmfa.natural-person.${f}`,
);

/** What 10/012 §7 withholds of the DIMONA worker: every field but the NISS, those the simulated DIMONA fills. */
const VAPH_WITHHELD_DIMONA_WORKER = ['oriolusValidation', 'lastName', 'firstName', 'birthDate', 'gender', 'countryCode'].map((f) => `dimona.worker.${f}`);

/** 19/104 §9 names the worker's NISS only too: the same fields withheld. */
const IRISCARE_WITHHELD_DIMONA_WORKER = VAPH_WITHHELD_DIMONA_WORKER;

/** A quarter before the first one 22/046 §2 covers (2020Q1). */
const PERIOD_NOT_AUTHORIZED_QUARTER = '2019Q4';

/** The years of quarterly lists ONSS asks for. */
export const INVALIDITY_YEARS = [2024, 2025] as const;

/**
 * What the simulated INAMI lists hold for each quarter (they are deterministic): the entries of the
 * quarter and the over-delivered ones of its neighbours. A quarter not over by `today` has no list yet.
 */
export function quarterlyListExpectations(today: IsoDate, years: readonly number[] = INVALIDITY_YEARS): QuarterlyListExpectation[] {
  const quarters = years.flatMap((year) => [1, 2, 3, 4].map((n) => `${year}Q${n}` as Quarter));
  return quarters.map((quarter) => {
    const period = quarterPeriod(quarter) as Period;
    const input: RequestInput = { service: INVALIDITY_SERVICE, subjectNiss: '', period: quarter };
    const over = (period.to as IsoDate) < today && quarter >= FIRST_INVALIDITY_QUARTER;
    if (!over) return { quarter, input, status: 'NO_DATA', entries: 0, listed: 0, underage: 0 };
    const list = invalidityList(quarter);
    const own = list.entries.filter((e) => quarterOf(e.incapacity.invalidityStartDate) === quarter);
    const entries = own.filter(ofAge).length;
    return { quarter, input, status: 'OK', entries, listed: list.entries.length, underage: own.length - entries };
  });
}

/** The age 22/046 §1, §14-15 asks for: at least 18 on the day the primary incapacity began. */
export const INVALIDITY_MINIMUM_AGE = 18;

/** Whether the person of an entry was of age when the primary incapacity began (a birthday on that day counts). */
export function ofAge(entry: {
  readonly person: { readonly birthDate: string };
  readonly incapacity: { readonly primaryIncapacityStartDate: string };
}): boolean {
  const birth = entry.person.birthDate;
  const comeOfAge = `${String(Number(birth.slice(0, 4)) + INVALIDITY_MINIMUM_AGE).padStart(4, '0')}${birth.slice(4)}`;
  return comeOfAge <= entry.incapacity.primaryIncapacityStartDate;
}

export function demoScenarios(options: { readonly today: IsoDate }): DemoScenario[] {
  const viaMagda = { requester: 'magda', beneficiary: 'vaph' } as const;
  const vaphDmfa = (subject: DemoSubject, fields: Partial<RequestInput> = {}): RequestInput => ({
    service: 'dmfa',
    subjectNiss: subject.niss,
    onBehalfOf: 'vaph',
    employer: budgetHolder,
    period: '2024Q1..2024Q4',
    ...fields,
  });
  const assistant = person(SIMULATED.assistantOfVaph, ROLE.assistant);
  const careWorker = person(SIMULATED.careWorkerIriscare, ROLE.careWorker);
  const interimWorker = person(SIMULATED.interimWorker, ROLE.interim);
  const lists = quarterlyListExpectations(options.today);
  // 19/010 §3, §37: ONVA's inspectors consult through DOLSIS, which shows data and records none.
  const viaDolsis = { requester: 'onva', beneficiary: null, consultation: DOLSIS } as const;

  const sections = {
    vaph: 'VAPH through MAGDA — 10/012 (personal assistance budget)',
    iriscare: 'IRISCARE — 19/104 (financing of care homes)',
    onva: 'ONVA inspection through DOLSIS — 19/010 (annual holidays; consultation only, §37)',
    inami: 'INAMI → ONSS — 22/046 (quarterly list of entries into invalidity)',
    refusals: 'Refusals',
    mutations: MUTATIONS_SECTION,
  };

  const scenarios: Array<Omit<DemoScenario, 'number'>> = [
    {
      section: sections.vaph,
      title: 'DmfA of the assistant, employed by the budget holder',
      ...viaMagda,
      service: 'dmfa',
      subject: assistant,
      send: { kind: 'request', input: vaphDmfa(assistant) },
      // 10/012 §8 grants 11 DmfA blocks, not the services (90018) the source sends along; of the
      // natural person only the sequence number and the NISS.
      expected: {
        status: 'OK',
        delivered: ['dmfa.remuneration'],
        removed: ['dmfa.service'],
        removedFields: VAPH_WITHHELD_NATURAL_PERSON,
      },
    },
    {
      section: sections.vaph,
      title: 'only the natural person (90017): sequence number and NISS, no name (§8)',
      ...viaMagda,
      service: 'dmfa',
      subject: assistant,
      send: { kind: 'request', input: vaphDmfa(assistant, { requestedBlocks: ['dmfa.natural-person'] }) },
      expected: { status: 'OK', delivered: ['dmfa.natural-person'], removedFields: VAPH_WITHHELD_NATURAL_PERSON },
    },
    {
      section: sections.vaph,
      title: 'DIMONA of the assistant, employed by the budget holder',
      ...viaMagda,
      service: 'dimona',
      subject: assistant,
      send: { kind: 'request', input: vaphDmfa(assistant, { service: 'dimona' }) },
      // 10/012 §7: of the worker, the NISS only.
      expected: { status: 'OK', delivered: ['dimona.occupation'], removedFields: VAPH_WITHHELD_DIMONA_WORKER },
    },
    {
      section: sections.iriscare,
      title: 'DmfA of the care worker at the care home',
      requester: 'iriscare',
      beneficiary: null,
      service: 'dmfa',
      subject: careWorker,
      send: {
        kind: 'request',
        input: { service: 'dmfa', subjectNiss: careWorker.niss, employer: E.careHome.onssNumber, period: '2024Q1..2024Q4' },
      },
      // 19/104 §7 grants the services (90018) that 10/012 does not, but not the remuneration.
      expected: { status: 'OK', delivered: ['dmfa.service'], removed: ['dmfa.remuneration'] },
    },
    {
      section: sections.onva,
      title: 'identification of a deceased person',
      ...viaDolsis,
      service: 'identification',
      subject: person(SIMULATED.deceased, ROLE.deceased),
      send: { kind: 'request', input: { service: 'identification', subjectNiss: SIMULATED.deceased, period: options.today } },
      expected: { status: 'OK', delivered: ['identification.decease'] },
    },
    {
      section: sections.onva,
      title: 'DmfA 2024 of the former interim worker: only the manual worker record (015) at the brewery',
      ...viaDolsis,
      service: 'dmfa',
      subject: interimWorker,
      send: { kind: 'request', input: { service: 'dmfa', subjectNiss: interimWorker.niss, period: '2024Q1..2024Q4' } },
      // 19/010 §15-22 grants the services (90018); §36 keeps the worker records of manual workers and
      // artists: the agency's white-collar interim records (495, with their using employer 90107) go.
      expected: { status: 'OK', delivered: ['dmfa.service'] },
    },
    {
      section: sections.onva,
      title: 'DmfA 2024Q1..Q3, when the interim worker was white-collar at the agency (495): §36 leaves nothing',
      ...viaDolsis,
      service: 'dmfa',
      subject: interimWorker,
      send: { kind: 'request', input: { service: 'dmfa', subjectNiss: interimWorker.niss, period: '2024Q1..2024Q3' } },
      expected: { status: 'NO_DATA' },
    },
    {
      section: sections.onva,
      title: 'identification of a BIS number since replaced',
      ...viaDolsis,
      service: 'identification',
      subject: person(SIMULATED.replacedBis, ROLE.replacedBis),
      send: { kind: 'request', input: { service: 'identification', subjectNiss: SIMULATED.replacedBis, period: options.today } },
      expected: { status: 'NISS_REPLACED', newNiss: SIMULATED.replacingNiss },
    },
    {
      section: sections.inami,
      title: `the lists of ${lists.length} quarters, ${lists[0]?.quarter ?? ''}..${lists.at(-1)?.quarter ?? ''}`,
      requester: 'onss',
      beneficiary: null,
      service: INVALIDITY_SERVICE,
      subject: null,
      send: { kind: 'quarterly-lists', quarters: lists },
      expected: { status: 'OK', entries: lists.reduce((sum, q) => sum + q.entries, 0) },
    },
    {
      section: sections.refusals,
      title: 'a person VAPH never integrated (fishing)',
      ...viaMagda,
      service: 'dmfa',
      subject: careWorker,
      send: { kind: 'request', input: vaphDmfa(careWorker, { employer: E.careHome.onssNumber }) },
      expected: { status: 'NOT_INTEGRATED' },
    },
    {
      section: sections.refusals,
      title: 'a period before the integration (2024-01-01)',
      ...viaMagda,
      service: 'dmfa',
      subject: assistant,
      send: { kind: 'request', input: vaphDmfa(assistant, { period: '2023Q1..2023Q2' }) },
      expected: { status: 'NOT_INTEGRATED_FOR_PERIOD' },
    },
    {
      section: sections.refusals,
      title: "the assistant's supermarket job: an employer VAPH did not link",
      ...viaMagda,
      service: 'dmfa',
      subject: assistant,
      send: { kind: 'request', input: vaphDmfa(assistant, { employer: E.supermarket.onssNumber }) },
      expected: { status: 'EMPLOYER_NOT_INTEGRATED' },
    },
    {
      section: sections.refusals,
      title: 'only the services block (90018), which 10/012 does not grant',
      ...viaMagda,
      service: 'dmfa',
      subject: assistant,
      send: { kind: 'request', input: vaphDmfa(assistant, { requestedBlocks: ['dmfa.service'] }) },
      expected: { status: 'NOT_AUTHORIZED' },
    },
    {
      section: sections.refusals,
      title: 'IRISCARE asks without naming the care home: 19/104 §2 is per employer',
      requester: 'iriscare',
      beneficiary: null,
      service: 'dmfa',
      subject: careWorker,
      send: { kind: 'request', input: { service: 'dmfa', subjectNiss: careWorker.niss, period: '2024Q1..2024Q4' } },
      expected: { status: 'INVALID_EMPLOYER_ID' },
    },
    {
      section: sections.refusals,
      title: 'purpose 19/104@v1, a version no longer in force',
      requester: 'iriscare',
      beneficiary: null,
      service: 'dmfa',
      subject: careWorker,
      send: {
        kind: 'request',
        input: { service: 'dmfa', subjectNiss: careWorker.niss, employer: E.careHome.onssNumber, period: '2024Q1..2024Q4', purpose: '19/104@v1' },
      },
      expected: { status: 'AUTHORIZATION_NOT_IN_FORCE' },
    },
    {
      section: sections.refusals,
      title: `the list of ${PERIOD_NOT_AUTHORIZED_QUARTER}: 22/046 §2 covers invalidity from 2020 on`,
      requester: 'onss',
      beneficiary: null,
      service: INVALIDITY_SERVICE,
      subject: null,
      send: { kind: 'request', input: { service: INVALIDITY_SERVICE, subjectNiss: '', period: PERIOD_NOT_AUTHORIZED_QUARTER } },
      expected: { status: 'PERIOD_NOT_AUTHORIZED' },
    },
    {
      section: sections.refusals,
      title: 'vaph publishes on its own topic a request naming iriscare',
      requester: 'vaph',
      beneficiary: null,
      service: 'dmfa',
      subject: careWorker,
      send: {
        kind: 'raw',
        record: {
          // Filled in when sent: every run needs a new one.
          requestId: '',
          requester: 'iriscare',
          service: 'dmfa',
          subjectNiss: careWorker.niss,
          employer: { kind: 'ONSS', id: E.careHome.onssNumber },
          period: { from: '2024-01-01', to: '2024-12-31' },
        },
      },
      expected: { status: 'SENDER_MISMATCH' },
    },
    {
      section: sections.refusals,
      title: 'random bytes instead of a Request',
      requester: 'vaph',
      beneficiary: null,
      service: '',
      subject: null,
      send: { kind: 'bytes', length: 48 },
      expected: { status: 'INVALID_MESSAGE' },
    },
    {
      section: sections.refusals,
      title: 'the source fails for this person',
      ...viaMagda,
      service: 'dmfa',
      subject: person(SIMULATED.sourceFailure, ROLE.sourceFailure),
      send: { kind: 'request', input: vaphDmfa(person(SIMULATED.sourceFailure, ROLE.sourceFailure)) },
      expected: { status: 'SOURCE_ERROR' },
    },
    {
      section: sections.refusals,
      title: 'ONVA asks 19/010 identification on its own replies topic, not through DOLSIS: consultation only (§37)',
      requester: 'onva',
      beneficiary: null,
      service: 'identification',
      subject: person(SIMULATED.deceased, ROLE.deceased),
      send: { kind: 'request', input: { service: 'identification', subjectNiss: SIMULATED.deceased, period: options.today } },
      expected: { status: 'CONSULTATION_ONLY' },
    },
    ...mutationScenarios(options.today, sections.mutations),
  ];
  return scenarios.map((s, i) => ({ number: i + 1, ...s }));
}

export const MUTATIONS_SECTION = 'Mutations — changes the sources publish, pushed to whoever follows the person';

/** The day an earlier end of the assistant's supermarket job takes effect (the job ends 2025-06-30). */
const SUPERMARKET_OUT_DATE = '2025-03-31';

/**
 * The changes: ONSS ends two of the assistant's jobs (the budget holder's, followed by VAPH, and the
 * supermarket's, which VAPH did not link), the registers move the assistant, ONSS corrects the care
 * worker's DmfA (19/104 pushes no DmfA changes) and ends the care worker's job at the care home.
 *
 * Each "nothing" is decided for sure by the time the deliveries come: a change is delivered to all its
 * subscribers in one transaction, and a person's earlier changes of a source are decided before its
 * later ones (same key, same partition). So every change expected to reach nobody is published BEFORE
 * a change of the same person and source that reaches someone.
 */
function mutationScenarios(today: IsoDate, section: string): Array<Omit<DemoScenario, 'number'>> {
  const assistant = person(SIMULATED.assistantOfVaph, ROLE.assistant);
  const careWorker = person(SIMULATED.careWorkerIriscare, ROLE.careWorker);
  const change = (key: string, kind: MutationKind, subject: DemoSubject, employer: string | null, effectiveDate: IsoDate | null, label: string): DemoChange => ({
    key,
    kind,
    subject,
    employer,
    effectiveDate,
    label,
  });
  const supermarketOut = change('assistant-supermarket-out', 'dimona-out', assistant, E.supermarket.onssNumber, SUPERMARKET_OUT_DATE, 'DIMONA out, supermarket');
  const budgetHolderOut = change('assistant-budget-holder-out', 'dimona-out', assistant, budgetHolder, today, 'DIMONA out, budget holder');
  const address = change('assistant-address', 'address', assistant, null, today, 'new main residence');
  const dmfaCorrection = change(
    'care-worker-dmfa-correction',
    'dmfa-correction',
    careWorker,
    E.careHome.onssNumber,
    null,
    `DmfA ${lastDeclaredQuarter(today)} corrected, care home`,
  );
  const careHomeOut = change('care-worker-care-home-out', 'dimona-out', careWorker, E.careHome.onssNumber, today, 'DIMONA out, care home');

  const row = (
    c: DemoChange,
    subscriber: string,
    status: MutationReceipt,
    title: string,
    more: Omit<DemoExpectation, 'status'> = {},
  ): Omit<DemoScenario, 'number'> => ({
    section,
    title,
    // 10/012 §9: VAPH's changes reach it only through MAGDA, on MAGDA's mutations topic.
    ...(subscriber === 'vaph' ? { requester: 'magda', beneficiary: 'vaph' } : { requester: subscriber, beneficiary: null }),
    service: MUTATION_KIND_DEFINITIONS[c.kind].service,
    subject: c.subject,
    send: { kind: 'mutation', change: c },
    expected: { status, ...more },
  });
  return [
    row(supermarketOut, 'vaph', NOTHING, 'VAPH follows the assistant only at the budget holder (employer link, 10/012 §9)'),
    // The change carries the worker as DIMONA has it: §7 lets the NISS through, not the name.
    row(budgetHolderOut, 'vaph', 'BLOCKS', '10/012 §10: DIMONA changes through MAGDA, the worker by NISS only', {
      delivered: ['dimona.occupation'],
      removedFields: VAPH_WITHHELD_DIMONA_WORKER,
    }),
    row(budgetHolderOut, 'onva', NOTHING, 'ONVA never integrated the assistant'),
    row(budgetHolderOut, 'iriscare', NOTHING, 'IRISCARE never integrated the assistant'),
    row(address, 'vaph', 'BLOCKS', '10/012 §17: register changes, whatever the employer', { delivered: ['identification.residence'] }),
    row(address, 'iriscare', NOTHING, 'identity changes go only to those who integrated the person'),
    row(dmfaCorrection, 'iriscare', NOTHING, 'integrated, but 19/104 v3 pushes DIMONA changes, not DmfA'),
    // 19/104 §9 names the worker's NISS only, as 10/012 §7 does.
    row(careHomeOut, 'iriscare', 'BLOCKS', '19/104 v3 §9 pushes DIMONA changes as blocks, the worker by NISS only', {
      delivered: ['dimona.occupation'],
      removedFields: IRISCARE_WITHHELD_DIMONA_WORKER,
    }),
    row(careHomeOut, 'vaph', NOTHING, 'VAPH never integrated the care worker'),
  ];
}

/** The changes of the scenarios, each once, in the order they must be published. */
export function demoChanges(scenarios: readonly DemoScenario[]): DemoChange[] {
  const changes = new Map<string, DemoChange>();
  for (const s of scenarios) {
    if (s.send.kind === 'mutation' && !changes.has(s.send.change.key)) changes.set(s.send.change.key, s.send.change);
  }
  return [...changes.values()];
}

// ---------------------------------------------------------------------------------------------------
// Comparison

export function compareOutcome(scenario: DemoScenario, outcome: DemoOutcome): DemoVerdict {
  const expected = scenario.expected;
  const differences: string[] = [];
  if (scenario.send.kind === 'quarterly-lists') {
    const statuses = outcome.lists?.statuses ?? [];
    // Quarters that differ the same way in one sentence: a switch that does not answer is one cause.
    const differing = new Map<string, string[]>();
    scenario.send.quarters.forEach((q, i) => {
      const got = statuses[i] ?? NO_REPLY;
      if (got === q.status) return;
      const how = `expected ${q.status}, got ${got}`;
      differing.set(how, [...(differing.get(how) ?? []), q.quarter]);
    });
    const why = outcome.error ? ` (${outcome.error})` : '';
    for (const [how, quarters] of differing) differences.push(`${quarters.join(', ')}: ${how}${how.endsWith(NO_REPLY) ? why : ''}`);
  } else if (outcome.status !== expected.status) {
    differences.push(`expected ${expected.status}, got ${outcome.status}${outcome.error ? ` (${outcome.error})` : ''}`);
  }
  if (expected.newNiss !== undefined && outcome.status === expected.status && outcome.newNiss !== expected.newNiss) {
    differences.push(`expected the new NISS ${maskNiss(expected.newNiss)}, got ${outcome.newNiss === null ? 'none' : maskNiss(outcome.newNiss)}`);
  }
  if (outcome.status === expected.status) {
    for (const block of expected.delivered ?? []) {
      if (!outcome.deliveredBlocks.includes(block)) differences.push(`${block} not delivered`);
    }
    for (const block of expected.removed ?? []) {
      if (!outcome.removedBlocks.includes(block)) differences.push(`${block} not withheld`);
    }
    differences.push(...fieldDifferences(expected.removedFields ?? [], outcome));
  }
  if (expected.entries !== undefined && outcome.lists) {
    if (outcome.lists.delivered !== expected.entries) {
      differences.push(`expected ${expected.entries} entries delivered, got ${outcome.lists.delivered}`);
    }
    if (outcome.lists.outsideQuarter > 0) {
      differences.push(`${outcome.lists.outsideQuarter} entries delivered outside their quarter`);
    }
    if (outcome.lists.underage > 0) {
      differences.push(`${outcome.lists.underage} entries delivered of persons under ${INVALIDITY_MINIMUM_AGE} when their incapacity began`);
    }
  }
  return { asExpected: differences.length === 0, differences };
}

/**
 * The removed fields against those expected, in the blocks the expectation names: each expected field
 * reported withheld and holding no value in the payload, no other field of those blocks withheld.
 */
function fieldDifferences(expected: readonly string[], outcome: DemoOutcome): string[] {
  if (expected.length === 0) return [];
  const blocks = new Set(expected.map(fieldBlock));
  const got = outcome.removedFields.filter((f) => blocks.has(fieldBlock(f)));
  const differences: string[] = [];
  const notWithheld = expected.filter((f) => !got.includes(f));
  if (notWithheld.length > 0) differences.push(`not withheld: ${groupedFields(notWithheld)}`);
  const unexpected = got.filter((f) => !expected.includes(f));
  if (unexpected.length > 0) differences.push(`withheld, not expected: ${groupedFields(unexpected)}`);
  // What the switch reports is one thing, what the institution can read another.
  const present = new Set(outcome.presentFields ?? []);
  const readable = expected.filter((f) => present.has(f));
  if (readable.length > 0) differences.push(`delivered with a value: ${groupedFields(readable)}`);
  return differences;
}

/** `dmfa.natural-person.lastName` → `dmfa.natural-person` (block ids have dots, field names none). */
export function fieldBlock(field: string): string {
  const dot = field.lastIndexOf('.');
  return dot < 0 ? '' : field.slice(0, dot);
}

/** `dmfa.natural-person.lastName` → `lastName`. */
export function fieldName(field: string): string {
  return field.slice(field.lastIndexOf('.') + 1);
}

/** Fields by block, in the order the blocks first appear. */
export function fieldsByBlock(fields: readonly string[]): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const f of fields) {
    const block = fieldBlock(f);
    groups.set(block, [...(groups.get(block) ?? []), fieldName(f)]);
  }
  return groups;
}

/** `dmfa.natural-person: lastName, firstName; dimona.worker: gender`, every field named. */
export function groupedFields(fields: readonly string[]): string {
  return [...fieldsByBlock(fields)].map(([block, names]) => `${block}: ${names.join(', ')}`).join('; ');
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value);
}

/**
 * The fields that hold a value in a payload as delivered, as `<block id>.<field>` in catalogue order:
 * read from the payload itself, not from what the switch reports. Unknown fields are not looked at.
 */
export function presentFieldsOf(service: ServiceDefinition, payload: unknown): string[] {
  const found = new Set<string>();
  const visit = (blockId: string, value: unknown): void => {
    const block = service.blocks.get(blockId);
    if (!block) return;
    const rows = block.cardinality === 'many' ? (Array.isArray(value) ? value.filter(isObject) : []) : isObject(value) ? [value] : [];
    for (const row of rows) {
      for (const field of [...block.keyFields, ...block.fields]) {
        if (row[field] !== null && row[field] !== undefined) found.add(`${block.id}.${field}`);
      }
      for (const child of block.children) visit(child, row[service.blocks.get(child)?.path ?? '']);
    }
  };
  if (isObject(payload)) for (const top of service.topBlocks) visit(top, payload[service.blocks.get(top)?.path ?? '']);
  const order = [...service.blocks.values()].flatMap((b) => [...b.keyFields, ...b.fields].map((f) => `${b.id}.${f}`));
  return order.filter((f) => found.has(f));
}

/** `88031412464` → `********464`: enough to tell the demo's persons apart, not to read the number. */
export function maskNiss(niss: string): string {
  if (niss.length <= 3) return niss;
  return `${'*'.repeat(niss.length - 3)}${niss.slice(-3)}`;
}
