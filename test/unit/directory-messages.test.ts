import { describe, expect, it } from 'vitest';
import { checkDirectoryCommand, type DirectoryCommandRecord } from '../../src/contract/directory-records.js';

const base: DirectoryCommandRecord = {
  commandId: 'c-1',
  institution: 'vaph',
  action: 'INTEGRATE',
  niss: '85073003328',
  capacity: '12/10',
  phase: 1,
  periodFrom: '2024-01-01',
  periodTo: null,
  employerKind: null,
  employerId: null,
  issuedAt: Date.parse('2024-06-01T10:00:00Z'),
};

describe('checking a directory command against the topic it came from', () => {
  const refused: Array<[string, Partial<DirectoryCommandRecord>, string]> = [
    ['another institution named in the message', { institution: 'iriscare' }, 'SENDER_MISMATCH'],
    ['an invalid NISS', { niss: '85073003329' }, 'INVALID_NISS'],
    ['a NISS with separators', { niss: '85.07.30-033.28' }, 'INVALID_NISS'],
    ['an issuedAt beyond any real date', { issuedAt: 8.64e15 + 1 }, 'INVALID_MESSAGE'],
    ['an issuedAt before 2000', { issuedAt: 0 }, 'INVALID_MESSAGE'],
    ['an empty command id', { commandId: '' }, 'INVALID_MESSAGE'],
    ['integrate without capacity', { capacity: null }, 'INVALID_MESSAGE'],
    ['integrate without phase', { phase: null }, 'INVALID_MESSAGE'],
    ['integrate with phase 0', { phase: 0 }, 'INVALID_MESSAGE'],
    ['integrate without a start', { periodFrom: null }, 'INVALID_MESSAGE'],
    ['a period ending before it starts', { periodTo: '2023-12-31' }, 'INVALID_PERIOD'],
    ['an employer kind without an id', { employerKind: 'ENTERPRISE' }, 'INVALID_EMPLOYER_ID'],
    ['an enterprise number with a bad check', { employerKind: 'ENTERPRISE', employerId: '0203201341' }, 'INVALID_EMPLOYER_ID'],
    ['deintegrate with an end and no start', { action: 'DEINTEGRATE', periodFrom: null, periodTo: '2024-01-01' }, 'INVALID_PERIOD'],
  ];
  it.each(refused)('refuses %s', (_label, change, code) => {
    const result = checkDirectoryCommand({ ...base, ...change }, 'vaph');
    expect('code' in result ? result.code : 'accepted').toBe(code);
  });

  it('accepts an integration and turns it into the domain command', () => {
    const result = checkDirectoryCommand({ ...base, employerKind: 'ENTERPRISE', employerId: '0203201340' }, 'vaph');
    expect(result).toEqual({
      action: 'INTEGRATE',
      commandId: 'c-1',
      command: {
        niss: '85073003328',
        institution: 'vaph',
        capacity: '12/10',
        phase: 1,
        period: { from: '2024-01-01', to: null },
        employer: { kind: 'ENTERPRISE', id: '0203201340' },
        at: '2024-06-01T10:00:00.000Z',
      },
    });
  });

  it('accepts a deintegration of every capacity for a period', () => {
    const result = checkDirectoryCommand(
      { ...base, action: 'DEINTEGRATE', capacity: null, phase: null, periodFrom: '2024-07-01', periodTo: '2024-09-30' },
      'vaph',
    );
    expect(result).toMatchObject({ action: 'DEINTEGRATE', command: { institution: 'vaph', period: { from: '2024-07-01', to: '2024-09-30' } } });
    expect('capacity' in (result as { command: object }).command).toBe(false);
  });
});
