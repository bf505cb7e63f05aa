import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decideDirectoryAccess,
  deintegrate,
  identityKey,
  institutionsCovering,
  integrate,
  listFor,
  sortLines,
  validateIntegrateCommand,
  type DeintegrateCommand,
  type DirectoryAccessRequest,
  type IntegrateCommand,
  type Integration,
} from '../../src/domain/directory.js';
import { contains, dayNumber, fromDayNumber } from '../../src/domain/period.js';
import type { RefusalCode } from '../../src/domain/refusal-codes.js';
import type { EmployerRef, Period } from '../../src/domain/types.js';
import { E1, E2, E3, L, NISS, OTHER_NISS, T1, type Opts } from './support/directory-lines.js';

/** An integrate command, at T1 unless told: a line's fields, with the command's time for `updatedAt`. */
function C(inst: string, cap: string, phase: number, from: string, to: string | null, o: Opts = {}): IntegrateCommand {
  const { updatedAt: _, ...line } = L(inst, cap, phase, from, to, o);
  return { ...line, at: o.at ?? T1 };
}

describe('integrate', () => {
  it.each<[string, Integration[], IntegrateCommand, Integration[]]>([
    ['into an empty directory', [], C('vaph', '12/10', 1, '2024-01-01', null), [L('vaph', '12/10', 1, '2024-01-01', null, { at: T1 })]],
    [
      'same phase, overlapping: one line spanning both',
      [L('vaph', '12/10', 1, '2024-01-01', '2024-03-31')],
      C('vaph', '12/10', 1, '2024-03-01', '2024-06-30'),
      [L('vaph', '12/10', 1, '2024-01-01', '2024-06-30', { at: T1 })],
    ],
    [
      'same phase, adjacent (ends 03-31, starts 04-01): merged',
      [L('vaph', '12/10', 1, '2024-01-01', '2024-03-31')],
      C('vaph', '12/10', 1, '2024-04-01', '2024-06-30'),
      [L('vaph', '12/10', 1, '2024-01-01', '2024-06-30', { at: T1 })],
    ],
    [
      'same phase, adjacent before: merged',
      [L('vaph', '12/10', 1, '2024-04-01', null)],
      C('vaph', '12/10', 1, '2024-01-01', '2024-03-31'),
      [L('vaph', '12/10', 1, '2024-01-01', null, { at: T1 })],
    ],
    [
      'same phase, a one-day gap: two lines',
      [L('vaph', '12/10', 1, '2024-01-01', '2024-03-30')],
      C('vaph', '12/10', 1, '2024-04-01', '2024-06-30'),
      [L('vaph', '12/10', 1, '2024-01-01', '2024-03-30'), L('vaph', '12/10', 1, '2024-04-01', '2024-06-30', { at: T1 })],
    ],
    [
      'same phase, the command bridges two lines into one',
      [L('vaph', '12/10', 1, '2024-01-01', '2024-01-31'), L('vaph', '12/10', 1, '2024-03-01', '2024-03-31')],
      C('vaph', '12/10', 1, '2024-02-01', '2024-02-29'),
      [L('vaph', '12/10', 1, '2024-01-01', '2024-03-31', { at: T1 })],
    ],
    [
      'same phase, already covered: same period, newer time',
      [L('vaph', '12/10', 1, '2024-01-01', null)],
      C('vaph', '12/10', 1, '2024-05-01', '2024-05-31'),
      [L('vaph', '12/10', 1, '2024-01-01', null, { at: T1 })],
    ],
    [
      'same phase, open command absorbs closed lines after its start',
      [L('vaph', '12/10', 1, '2024-01-01', '2024-01-31'), L('vaph', '12/10', 1, '2024-06-01', '2024-06-30')],
      C('vaph', '12/10', 1, '2024-02-01', null),
      [L('vaph', '12/10', 1, '2024-01-01', null, { at: T1 })],
    ],
    [
      'single-day command adjacent to a single-day line',
      [L('vaph', '12/10', 1, '2024-02-28', '2024-02-28')],
      C('vaph', '12/10', 1, '2024-02-29', '2024-02-29'),
      [L('vaph', '12/10', 1, '2024-02-28', '2024-02-29', { at: T1 })],
    ],
    [
      'phase change in the middle: the old phase keeps both sides',
      [L('vaph', '12/10', 1, '2024-01-01', '2024-12-31')],
      C('vaph', '12/10', 2, '2024-04-01', '2024-06-30'),
      [
        L('vaph', '12/10', 1, '2024-01-01', '2024-03-31', { at: T1 }),
        L('vaph', '12/10', 2, '2024-04-01', '2024-06-30', { at: T1 }),
        L('vaph', '12/10', 1, '2024-07-01', '2024-12-31', { at: T1 }),
      ],
    ],
    [
      'phase change from a date on an open line',
      [L('vaph', '12/10', 1, '2024-01-01', null)],
      C('vaph', '12/10', 2, '2024-07-01', null),
      [L('vaph', '12/10', 1, '2024-01-01', '2024-06-30', { at: T1 }), L('vaph', '12/10', 2, '2024-07-01', null, { at: T1 })],
    ],
    [
      'phase change on a single day of an open line',
      [L('vaph', '12/10', 1, '2024-01-01', null)],
      C('vaph', '12/10', 3, '2024-02-29', '2024-02-29'),
      [
        L('vaph', '12/10', 1, '2024-01-01', '2024-02-28', { at: T1 }),
        L('vaph', '12/10', 3, '2024-02-29', '2024-02-29', { at: T1 }),
        L('vaph', '12/10', 1, '2024-03-01', null, { at: T1 }),
      ],
    ],
    [
      'phase change covering the old line entirely replaces it',
      [L('vaph', '12/10', 1, '2024-02-01', '2024-02-29')],
      C('vaph', '12/10', 2, '2024-01-01', '2024-03-31'),
      [L('vaph', '12/10', 2, '2024-01-01', '2024-03-31', { at: T1 })],
    ],
    [
      'different phase, merely adjacent: both stay, untouched',
      [L('vaph', '12/10', 1, '2024-01-01', '2024-03-31')],
      C('vaph', '12/10', 2, '2024-04-01', null),
      [L('vaph', '12/10', 1, '2024-01-01', '2024-03-31'), L('vaph', '12/10', 2, '2024-04-01', null, { at: T1 })],
    ],
    [
      'phase 1 then phase 2, command phase 2 overlapping both: cut phase 1, merge phase 2',
      [L('vaph', '12/10', 1, '2024-01-01', '2024-06-30'), L('vaph', '12/10', 2, '2024-07-01', '2024-12-31')],
      C('vaph', '12/10', 2, '2024-05-01', '2024-08-31'),
      [L('vaph', '12/10', 1, '2024-01-01', '2024-04-30', { at: T1 }), L('vaph', '12/10', 2, '2024-05-01', '2024-12-31', { at: T1 })],
    ],
    [
      'back to the old phase over the whole slice re-forms one line',
      [
        L('vaph', '12/10', 1, '2024-01-01', '2024-03-31'),
        L('vaph', '12/10', 2, '2024-04-01', '2024-06-30'),
        L('vaph', '12/10', 1, '2024-07-01', '2024-12-31'),
      ],
      C('vaph', '12/10', 1, '2024-04-01', '2024-06-30'),
      [L('vaph', '12/10', 1, '2024-01-01', '2024-12-31', { at: T1 })],
    ],
    [
      'another capacity is another integration: overlap allowed',
      [L('cpas-1000', '17/2', 1, '2024-01-01', null)],
      C('cpas-1000', '17/1', 1, '2024-01-01', null),
      [L('cpas-1000', '17/1', 1, '2024-01-01', null, { at: T1 }), L('cpas-1000', '17/2', 1, '2024-01-01', null)],
    ],
    [
      'another institution is another integration',
      [L('vaph', '12/10', 1, '2024-01-01', null)],
      C('inami', '12/10', 2, '2024-01-01', null),
      [L('inami', '12/10', 2, '2024-01-01', null, { at: T1 }), L('vaph', '12/10', 1, '2024-01-01', null)],
    ],
    [
      'an employer-bound line and an unbound one are distinct',
      [L('vaph', '12/10', 1, '2024-01-01', null)],
      C('vaph', '12/10', 2, '2024-01-01', null, { employer: E1 }),
      [L('vaph', '12/10', 1, '2024-01-01', null), L('vaph', '12/10', 2, '2024-01-01', null, { employer: E1, at: T1 })],
    ],
    [
      'two employers are distinct; the same employer merges',
      [L('vaph', '12/10', 1, '2024-01-01', '2024-03-31', { employer: E1 }), L('vaph', '12/10', 1, '2024-01-01', '2024-03-31', { employer: E2 })],
      C('vaph', '12/10', 1, '2024-04-01', '2024-06-30', { employer: E1 }),
      [L('vaph', '12/10', 1, '2024-01-01', '2024-06-30', { employer: E1, at: T1 }), L('vaph', '12/10', 1, '2024-01-01', '2024-03-31', { employer: E2 })],
    ],
    [
      'lines of another person are never touched',
      [L('vaph', '12/10', 1, '2024-01-01', null, { niss: OTHER_NISS })],
      C('vaph', '12/10', 2, '2024-01-01', null),
      [L('vaph', '12/10', 2, '2024-01-01', null, { at: T1 }), L('vaph', '12/10', 1, '2024-01-01', null, { niss: OTHER_NISS })],
    ],
  ])('%s', (_name, lines, command, expected) => {
    const result = integrate(lines, command);
    expect(result).toEqual(sortLines(expected));
    expect(integrate(result, command)).toEqual(result); // idempotent
  });

  it('does not mutate its input', () => {
    const lines = [L('vaph', '12/10', 1, '2024-01-01', null)];
    const copy = structuredClone(lines);
    integrate(lines, C('vaph', '12/10', 2, '2024-03-01', '2024-03-31'));
    expect(lines).toEqual(copy);
  });

  it('keeps a copy of the employer, not the command object', () => {
    const employer = { kind: 'ONSS' as const, id: '123456749' };
    const [line] = integrate([], C('vaph', '12/10', 1, '2024-01-01', null, { employer }));
    expect(line?.employer).toEqual(employer);
    expect(line?.employer).not.toBe(employer);
  });
});

describe('deintegrate', () => {
  const base = [
    L('vaph', '12/10', 1, '2024-01-01', null),
    L('vaph', '12/10', 2, '2023-01-01', '2023-12-31', { employer: E1 }),
    L('vaph', '17/2', 1, '2024-01-01', '2024-12-31'),
    L('inami', '12/10', 1, '2024-01-01', null),
  ];

  it.each<[string, Integration[], DeintegrateCommand, Integration[]]>([
    ['every line of the institution', base, { institution: 'vaph' }, [L('inami', '12/10', 1, '2024-01-01', null)]],
    [
      'one capacity only',
      base,
      { institution: 'vaph', capacity: '17/2' },
      [L('inami', '12/10', 1, '2024-01-01', null), L('vaph', '12/10', 1, '2024-01-01', null), L('vaph', '12/10', 2, '2023-01-01', '2023-12-31', { employer: E1 })],
    ],
    [
      'one employer only',
      base,
      { institution: 'vaph', employer: E1 },
      [L('inami', '12/10', 1, '2024-01-01', null), L('vaph', '12/10', 1, '2024-01-01', null), L('vaph', '17/2', 1, '2024-01-01', '2024-12-31')],
    ],
    [
      'employer null: only the lines without employer',
      base,
      { institution: 'vaph', employer: null },
      [L('inami', '12/10', 1, '2024-01-01', null), L('vaph', '12/10', 2, '2023-01-01', '2023-12-31', { employer: E1 })],
    ],
    [
      'a middle slice cuts a line in two, the pieces take the command time',
      [L('vaph', '17/2', 1, '2024-01-01', '2024-12-31')],
      { institution: 'vaph', period: { from: '2024-04-01', to: '2024-06-30' }, at: T1 },
      [L('vaph', '17/2', 1, '2024-01-01', '2024-03-31', { at: T1 }), L('vaph', '17/2', 1, '2024-07-01', '2024-12-31', { at: T1 })],
    ],
    [
      'closing an open line from a date',
      [L('vaph', '12/10', 1, '2024-01-01', null)],
      { institution: 'vaph', period: { from: '2024-07-01', to: null }, at: T1 },
      [L('vaph', '12/10', 1, '2024-01-01', '2024-06-30', { at: T1 })],
    ],
    [
      'a single day out of an open line',
      [L('vaph', '12/10', 1, '2024-01-01', null)],
      { institution: 'vaph', period: { from: '2024-01-01', to: '2024-01-01' }, at: T1 },
      [L('vaph', '12/10', 1, '2024-01-02', null, { at: T1 })],
    ],
    [
      'a period covering a whole line removes it',
      [L('vaph', '17/2', 1, '2024-02-01', '2024-02-29'), L('vaph', '17/2', 1, '2024-06-01', '2024-06-30')],
      { institution: 'vaph', period: { from: '2024-01-01', to: '2024-03-31' }, at: T1 },
      [L('vaph', '17/2', 1, '2024-06-01', '2024-06-30')],
    ],
    [
      'a disjoint period leaves lines and their times alone',
      [L('vaph', '17/2', 1, '2024-02-01', '2024-02-29')],
      { institution: 'vaph', period: { from: '2024-03-01', to: null }, at: T1 },
      [L('vaph', '17/2', 1, '2024-02-01', '2024-02-29')],
    ],
    [
      'without a time, cut lines keep theirs',
      [L('vaph', '17/2', 1, '2024-01-01', '2024-12-31')],
      { institution: 'vaph', period: { from: '2024-01-01', to: '2024-06-30' } },
      [L('vaph', '17/2', 1, '2024-07-01', '2024-12-31')],
    ],
    [
      'up to 9999-12-31 closes an open line for good (no piece left after the last day)',
      [L('vaph', '12/10', 1, '2023-01-01', null)],
      { institution: 'vaph', period: { from: '2024-01-01', to: '9999-12-31' }, at: T1 },
      [L('vaph', '12/10', 1, '2023-01-01', '2023-12-31', { at: T1 })],
    ],
    ['another institution: nothing happens', base, { institution: 'onem' }, sortLines(base)],
    [
      'with a NISS: only that person',
      [L('vaph', '12/10', 1, '2024-01-01', null), L('vaph', '12/10', 1, '2024-01-01', null, { niss: OTHER_NISS })],
      { institution: 'vaph', niss: OTHER_NISS },
      [L('vaph', '12/10', 1, '2024-01-01', null)],
    ],
  ])('%s', (_name, lines, command, expected) => {
    expect(deintegrate(lines, command)).toEqual(sortLines(expected));
  });
});

describe('listFor and institutionsCovering', () => {
  const lines = [
    L('vaph', '17/2', 1, '2024-01-01', '2024-06-30'),
    L('inami', '12/10', 1, '2023-01-01', '2023-12-31'),
    L('vaph', '12/10', 1, '2024-07-01', null),
    L('cpas-1000', '17/2', 1, '2024-03-01', '2024-03-31'),
  ];

  it('listFor returns one institution, in canonical order', () => {
    expect(listFor(lines, 'vaph')).toEqual([L('vaph', '12/10', 1, '2024-07-01', null), L('vaph', '17/2', 1, '2024-01-01', '2024-06-30')]);
    expect(listFor(lines, 'onem')).toEqual([]);
  });

  it.each<[string | null, string[]]>([
    [null, ['cpas-1000', 'inami', 'vaph']],
    ['2024-03-15', ['cpas-1000', 'vaph']],
    ['2023-06-01', ['inami']],
    ['2030-01-01', ['vaph']],
    ['2022-01-01', []],
  ])('institutionsCovering(%s)', (date, expected) => {
    expect(institutionsCovering(lines, date)).toEqual(expected);
  });
});

// ---------------------------------------------------------------------------------------------------
// The access decision

const REQ: DirectoryAccessRequest = {
  requester: 'vaph',
  niss: NISS,
  employerRequired: false,
  period: { from: '2024-01-01', to: '2024-03-31' },
};

type Expect = { code: RefusalCode } | { effective: Period[] };

describe('decideDirectoryAccess', () => {
  it.each<[string, Integration[], Partial<DirectoryAccessRequest>, Expect]>([
    ['no line at all', [], {}, { code: 'NOT_INTEGRATED' }],
    ['only another institution has the person', [L('inami', '12/10', 1, '2020-01-01', null)], {}, { code: 'NOT_INTEGRATED' }],
    ['the requester has another person', [L('vaph', '12/10', 1, '2020-01-01', null, { niss: OTHER_NISS })], {}, { code: 'NOT_INTEGRATED' }],
    ['demanded capacity missing', [L('vaph', '17/2', 3, '2020-01-01', null)], { capacity: '12/10' }, { code: 'NOT_INTEGRATED' }],
    ['no capacity demanded: any capacity counts', [L('vaph', '17/2', 1, '2020-01-01', null)], {}, { effective: [{ from: '2024-01-01', to: '2024-03-31' }] }],
    ['phase below the minimum', [L('vaph', '12/10', 1, '2020-01-01', null)], { capacity: '12/10', minPhase: 2 }, { code: 'PHASE_TOO_LOW' }],
    ['phase equal to the minimum', [L('vaph', '12/10', 2, '2020-01-01', null)], { minPhase: 2 }, { effective: [{ from: '2024-01-01', to: '2024-03-31' }] }],
    [
      'the high-phase line lies outside the period: period refusal, not phase',
      [L('vaph', '12/10', 1, '2024-01-01', '2024-03-31'), L('vaph', '12/10', 2, '2024-04-01', null)],
      { minPhase: 2 },
      { code: 'NOT_INTEGRATED_FOR_PERIOD' },
    ],
    [
      'only the part of the period with a high enough phase is effective',
      [L('vaph', '12/10', 1, '2024-01-01', '2024-02-14'), L('vaph', '12/10', 2, '2024-02-15', null)],
      { minPhase: 2 },
      { effective: [{ from: '2024-02-15', to: '2024-03-31' }] },
    ],
    ['line ends before the period', [L('vaph', '12/10', 1, '2023-01-01', '2023-12-31')], {}, { code: 'NOT_INTEGRATED_FOR_PERIOD' }],
    ['line starts after the period', [L('vaph', '12/10', 1, '2024-04-01', null)], {}, { code: 'NOT_INTEGRATED_FOR_PERIOD' }],
    ['line ends on the first requested day', [L('vaph', '12/10', 1, '2023-01-01', '2024-01-01')], {}, { effective: [{ from: '2024-01-01', to: '2024-01-01' }] }],
    ['line starts on the last requested day', [L('vaph', '12/10', 1, '2024-03-31', null)], {}, { effective: [{ from: '2024-03-31', to: '2024-03-31' }] }],
    [
      'a single-day request on the day after the line',
      [L('vaph', '12/10', 1, '2024-01-01', '2024-02-28')],
      { period: { from: '2024-02-29', to: '2024-02-29' } },
      { code: 'NOT_INTEGRATED_FOR_PERIOD' },
    ],
    [
      'a gap in the integration gives two effective pieces',
      [L('vaph', '12/10', 1, '2023-01-01', '2024-01-31'), L('vaph', '12/10', 1, '2024-03-01', null)],
      {},
      { effective: [{ from: '2024-01-01', to: '2024-01-31' }, { from: '2024-03-01', to: '2024-03-31' }] },
    ],
    [
      'adjacent lines of different phases give one piece',
      [L('vaph', '12/10', 2, '2023-01-01', '2024-01-31'), L('vaph', '12/10', 3, '2024-02-01', null)],
      { minPhase: 2 },
      { effective: [{ from: '2024-01-01', to: '2024-03-31' }] },
    ],
    ['open request, open line: open effective period', [L('vaph', '12/10', 1, '2024-02-01', null)], { period: { from: '2024-01-01', to: null } }, { effective: [{ from: '2024-02-01', to: null }] }],
    ['open request, closed line', [L('vaph', '12/10', 1, '2020-01-01', '2024-02-10')], { period: { from: '2024-01-01', to: null } }, { effective: [{ from: '2024-01-01', to: '2024-02-10' }] }],
    // employer semantics
    ['employer asked, unbound line, not required: covered', [L('vaph', '12/10', 1, '2020-01-01', null)], { employer: E1 }, { effective: [{ from: '2024-01-01', to: '2024-03-31' }] }],
    ['employer asked and required, unbound line: refused', [L('vaph', '12/10', 1, '2020-01-01', null)], { employer: E1, employerRequired: true }, { code: 'EMPLOYER_NOT_INTEGRATED' }],
    ['employer asked and required, bound to it: covered', [L('vaph', '12/10', 1, '2020-01-01', null, { employer: E1 })], { employer: E1, employerRequired: true }, { effective: [{ from: '2024-01-01', to: '2024-03-31' }] }],
    ['employer asked, bound to another employer', [L('vaph', '12/10', 1, '2020-01-01', null, { employer: E2 })], { employer: E1 }, { code: 'EMPLOYER_NOT_INTEGRATED' }],
    [
      'same digits, another kind of employer id is another employer',
      [L('vaph', '12/10', 1, '2020-01-01', null, { employer: { kind: 'ONSS', id: '0203201340' } })],
      { employer: E1 },
      { code: 'EMPLOYER_NOT_INTEGRATED' },
    ],
    ['no employer asked, only bound lines', [L('vaph', '12/10', 1, '2020-01-01', null, { employer: E1 })], {}, { code: 'EMPLOYER_NOT_INTEGRATED' }],
    ['required but none asked', [L('vaph', '12/10', 1, '2020-01-01', null, { employer: E1 })], { employerRequired: true }, { code: 'EMPLOYER_NOT_INTEGRATED' }],
    [
      'bound and unbound lines both cover the employer: their union counts',
      [L('vaph', '12/10', 1, '2024-01-01', '2024-01-31', { employer: E3 }), L('vaph', '12/10', 1, '2024-02-01', '2024-02-15')],
      { employer: E3 },
      { effective: [{ from: '2024-01-01', to: '2024-02-15' }] },
    ],
    [
      'required: the unbound line does not count, even where it covers',
      [L('vaph', '12/10', 1, '2024-01-01', '2024-01-31', { employer: E3 }), L('vaph', '12/10', 1, '2024-02-01', '2024-02-15')],
      { employer: E3, employerRequired: true },
      { effective: [{ from: '2024-01-01', to: '2024-01-31' }] },
    ],
    ['right employer, wrong period', [L('vaph', '12/10', 1, '2022-01-01', '2022-12-31', { employer: E1 })], { employer: E1 }, { code: 'NOT_INTEGRATED_FOR_PERIOD' }],
    // precedence when several things are wrong
    ['precedence: wrong employer and wrong period → employer', [L('vaph', '12/10', 1, '2022-01-01', '2022-12-31', { employer: E2 })], { employer: E1 }, { code: 'EMPLOYER_NOT_INTEGRATED' }],
    ['precedence: low phase and wrong employer → phase', [L('vaph', '12/10', 1, '2020-01-01', null, { employer: E2 })], { employer: E1, minPhase: 2 }, { code: 'PHASE_TOO_LOW' }],
    ['precedence: wrong capacity and low phase → not integrated', [L('vaph', '17/2', 1, '2020-01-01', null)], { capacity: '12/10', minPhase: 2 }, { code: 'NOT_INTEGRATED' }],
    [
      'precedence: low phase in the period, high phase elsewhere → period',
      [L('vaph', '12/10', 1, '2024-01-01', '2024-03-31'), L('vaph', '12/10', 3, '2025-01-01', null)],
      { minPhase: 2 },
      { code: 'NOT_INTEGRATED_FOR_PERIOD' },
    ],
    [
      'the demanded capacity filters before the phase',
      [L('vaph', '17/2', 5, '2020-01-01', null), L('vaph', '12/10', 1, '2020-01-01', null)],
      { capacity: '12/10', minPhase: 2 },
      { code: 'PHASE_TOO_LOW' },
    ],
  ])('%s', (_name, lines, overrides, expected) => {
    const decision = decideDirectoryAccess(lines, { ...REQ, ...overrides });
    if ('code' in expected) {
      expect(decision.ok).toBe(false);
      if (decision.ok) return;
      expect(decision.refusal.code).toBe(expected.code);
      expect(decision.refusal.detail).not.toContain(NISS); // details reach the requester and the logs
    } else {
      expect(decision.ok).toBe(true);
      if (!decision.ok) return;
      expect(decision.effectivePeriods).toEqual(expected.effective);
      const first = expected.effective[0] as Period;
      const last = expected.effective[expected.effective.length - 1] as Period;
      expect(decision.effectivePeriod).toEqual({ from: first.from, to: last.to });
    }
  });

  it('matchedLines are the granting lines that overlap the period, sorted', () => {
    const lines = [
      L('vaph', '12/10', 2, '2024-02-01', null),
      L('vaph', '12/10', 1, '2023-01-01', '2023-12-31'),
      L('vaph', '17/2', 1, '2024-01-01', '2024-01-15'),
      L('vaph', '12/10', 1, '2024-01-01', '2024-01-31', { employer: E2 }),
      L('inami', '12/10', 1, '2024-01-01', null),
    ];
    const decision = decideDirectoryAccess(lines, REQ);
    expect(decision.ok && decision.matchedLines).toEqual([L('vaph', '12/10', 2, '2024-02-01', null), L('vaph', '17/2', 1, '2024-01-01', '2024-01-15')]);
    expect(decision.ok && decision.effectivePeriods).toEqual([
      { from: '2024-01-01', to: '2024-01-15' },
      { from: '2024-02-01', to: '2024-03-31' },
    ]);
    expect(decision.ok && decision.effectivePeriod).toEqual({ from: '2024-01-01', to: '2024-03-31' });
  });

  it('the phase refusal names the highest phase found', () => {
    const decision = decideDirectoryAccess([L('vaph', '12/10', 1, '2020-01-01', null), L('vaph', '12/10', 2, '2019-01-01', '2019-12-31')], {
      ...REQ,
      minPhase: 3,
    });
    expect(!decision.ok && decision.refusal.detail).toContain('highest integrated is 2');
  });
});

// ---------------------------------------------------------------------------------------------------
// Model-based properties: a person's directory as a map (identity, day) → phase over a small window.

const BASE = dayNumber('2024-01-01');
const HORIZON = 120; // every generated finite date is before BASE + HORIZON
const day = (n: number) => fromDayNumber(BASE + n);
const INSTITUTIONS = ['vaph', 'inami'] as const;
const CAPACITIES = ['12/10', '17/2'] as const;
const EMPLOYERS = [undefined, E1, E2] as const;

const arbPeriod: fc.Arbitrary<Period> = fc
  .tuple(fc.integer({ min: 0, max: 80 }), fc.option(fc.integer({ min: 0, max: 30 }), { freq: 4 }))
  .map(([s, len]) => ({ from: day(s), to: len === null ? null : day(s + len) }));

const arbIntegrate: fc.Arbitrary<IntegrateCommand> = fc.record({
  institution: fc.constantFrom(...INSTITUTIONS),
  capacity: fc.constantFrom(...CAPACITIES),
  phase: fc.integer({ min: 1, max: 3 }),
  period: arbPeriod,
  employer: fc.constantFrom(...EMPLOYERS),
  t: fc.integer({ min: 0, max: 1000 }),
}).map(({ employer, t, ...c }) => ({
  ...c,
  niss: NISS,
  ...(employer === undefined ? {} : { employer }),
  at: new Date(Date.UTC(2024, 0, 1) + t * 1000).toISOString(),
}));

const arbDeintegrate: fc.Arbitrary<DeintegrateCommand> = fc.record(
  {
    institution: fc.constantFrom(...INSTITUTIONS),
    capacity: fc.constantFrom(...CAPACITIES),
    period: arbPeriod,
    employer: fc.constantFrom<EmployerRef | null>(null, E1, E2),
  },
  { requiredKeys: ['institution'] },
);

type Command = { integrate: IntegrateCommand } | { deintegrate: DeintegrateCommand };
const arbCommands = fc.array(
  fc.oneof(
    { weight: 3, arbitrary: arbIntegrate.map((c): Command => ({ integrate: c })) },
    { weight: 1, arbitrary: arbDeintegrate.map((c): Command => ({ deintegrate: c })) },
  ),
  { maxLength: 12 },
);

type Model = Map<string, Map<number, number>>; // identity → day → phase

function applyToModel(model: Model, command: Command): void {
  const inPeriod = (p: Period, n: number) => contains(p, day(n));
  if ('integrate' in command) {
    const c = command.integrate;
    const key = identityKey(c);
    const days = model.get(key) ?? new Map<number, number>();
    for (let n = 0; n <= HORIZON; n++) if (inPeriod(c.period, n)) days.set(n, c.phase);
    model.set(key, days);
    return;
  }
  const c = command.deintegrate;
  for (const [key, days] of model) {
    const [, institution, capacity, employer] = key.split('|');
    if (institution !== c.institution) continue;
    if (c.capacity !== undefined && capacity !== c.capacity) continue;
    if (c.employer === null && employer !== '') continue;
    if (c.employer !== undefined && c.employer !== null && employer !== `${c.employer.kind}:${c.employer.id}`) continue;
    for (const n of [...days.keys()]) if (c.period === undefined || inPeriod(c.period, n)) days.delete(n);
  }
}

function modelOfLines(lines: readonly Integration[]): Model {
  const model: Model = new Map();
  for (const l of lines) {
    const key = identityKey(l);
    const days = model.get(key) ?? new Map<number, number>();
    for (let n = 0; n <= HORIZON; n++) {
      if (contains(l.period, day(n))) {
        expect(days.has(n)).toBe(false); // no overlap within an identity
        days.set(n, l.phase);
      }
    }
    model.set(key, days);
  }
  return model;
}

function normalise(model: Model): Record<string, Record<number, number>> {
  const out: Record<string, Record<number, number>> = {};
  for (const [k, days] of model) if (days.size > 0) out[k] = Object.fromEntries([...days].sort((a, b) => a[0] - b[0]));
  return out;
}

describe('directory properties', () => {
  it('integrate/deintegrate agree with a day-by-day model, and lines stay canonical', () => {
    fc.assert(
      fc.property(arbCommands, (commands) => {
        let lines: Integration[] = [];
        const model: Model = new Map();
        for (const command of commands) {
          lines = 'integrate' in command ? integrate(lines, command.integrate) : deintegrate(lines, command.deintegrate);
          applyToModel(model, command);
        }
        expect(normalise(modelOfLines(lines))).toEqual(normalise(model));
        // canonical: equal-phase lines of one identity never touch (else they would have merged)
        for (const a of lines) {
          for (const b of lines) {
            if (a === b || identityKey(a) !== identityKey(b) || a.phase !== b.phase) continue;
            const aEnd = a.period.to;
            expect(aEnd !== null && fromDayNumber(dayNumber(aEnd) + 1) === b.period.from).toBe(false);
          }
        }
        expect(lines).toEqual(sortLines(lines));
      }),
      { numRuns: 1000 },
    );
  });

  it('an access decision grants exactly the requested days covered by a qualifying line', () => {
    fc.assert(
      fc.property(
        arbCommands,
        arbPeriod,
        fc.record({ capacity: fc.option(fc.constantFrom(...CAPACITIES), { nil: undefined }), minPhase: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }), employer: fc.constantFrom(...EMPLOYERS), employerRequired: fc.boolean() }),
        (commands, period, r) => {
          let lines: Integration[] = [];
          for (const c of commands) lines = 'integrate' in c ? integrate(lines, c.integrate) : deintegrate(lines, c.deintegrate);
          const request: DirectoryAccessRequest = {
            requester: 'vaph',
            niss: NISS,
            period,
            employerRequired: r.employerRequired,
            ...(r.capacity === undefined ? {} : { capacity: r.capacity }),
            ...(r.minPhase === undefined ? {} : { minPhase: r.minPhase }),
            ...(r.employer === undefined ? {} : { employer: r.employer }),
          };
          const qualifies = (l: Integration) =>
            l.institution === 'vaph' &&
            (r.capacity === undefined || l.capacity === r.capacity) &&
            (r.minPhase === undefined || l.phase >= r.minPhase) &&
            (l.employer === undefined
              ? !r.employerRequired
              : r.employer !== undefined && l.employer.kind === r.employer.kind && l.employer.id === r.employer.id);
          const decision = decideDirectoryAccess(lines, request);
          let anyDay = false;
          for (let n = 0; n <= HORIZON; n++) {
            const d = day(n);
            const granted = contains(period, d) && lines.some((l) => qualifies(l) && contains(l.period, d));
            anyDay ||= granted;
            expect(decision.ok && decision.effectivePeriods.some((p) => contains(p, d))).toBe(granted);
          }
          expect(decision.ok).toBe(anyDay);
        },
      ),
      { numRuns: 1000 },
    );
  });
});

// ---------------------------------------------------------------------------------------------------
// Validation of commands

describe('validateIntegrateCommand', () => {
  const ok = C('vaph', '12/10', 1, '2024-01-01', null, { employer: E1 });

  it('accepts a well-formed command', () => {
    expect(validateIntegrateCommand(ok)).toBeNull();
  });

  it.each<[string, Partial<IntegrateCommand>, RefusalCode]>([
    ['bad NISS', { niss: '85073003329' }, 'INVALID_NISS'],
    ['NISS with separators (must be normalised)', { niss: '85.07.30-033.28' }, 'INVALID_NISS'],
    ['empty institution', { institution: '' }, 'INVALID_MESSAGE'],
    ['institution with the storage separator', { institution: 'va|ph' }, 'INVALID_MESSAGE'],
    ['capacity with a newline', { capacity: '12/10\n' }, 'INVALID_MESSAGE'],
    ['phase 0', { phase: 0 }, 'INVALID_MESSAGE'],
    ['phase 1.5', { phase: 1.5 }, 'INVALID_MESSAGE'],
    ['from after to', { period: { from: '2024-02-01', to: '2024-01-31' } }, 'INVALID_PERIOD'],
    ['impossible date', { period: { from: '2023-02-29', to: null } }, 'INVALID_PERIOD'],
    ['bad employer check digits', { employer: { kind: 'ENTERPRISE', id: '0203201341' } }, 'INVALID_EMPLOYER_ID'],
    ['employer not normalised', { employer: { kind: 'ONSS', id: '100006' } }, 'INVALID_EMPLOYER_ID'],
    ['employer of the wrong kind', { employer: { kind: 'ONSS', id: '5000000120' } }, 'INVALID_EMPLOYER_ID'],
    ['time not a timestamp', { at: 'yesterday' }, 'INVALID_MESSAGE'],
  ])('%s → %s', (_name, change, code) => {
    expect(validateIntegrateCommand({ ...ok, ...change })?.code).toBe(code);
  });
});
