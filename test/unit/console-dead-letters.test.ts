import { describe, expect, it } from 'vitest';
import type { DeadLetterRecord } from '../../src/contract/dead-letters.js';
import { deadLettersPage } from '../../src/console/pages.js';
import type { DeadLetterView } from '../../src/console/records.js';
import type { ConsoleRole } from '../../src/console/users.js';

/** A source's answer dead-lettered with its payload: a person's data the console must not show. */
function letterWithPayload(): DeadLetterView {
  const payload = Buffer.from('SURNAME-JANSSENS FIRSTNAME-AN STREET-KERKSTRAAT-12', 'utf8');
  const record: DeadLetterRecord = {
    id: 'dl-1',
    recordedAt: Date.UTC(2026, 11, 7, 12),
    originTopic: 'bcss.source.onss.replies',
    originPartition: 0,
    originOffset: 42,
    originInstitution: 'source-onss',
    reasonCode: 'WRONG_SOURCE',
    reason: 'the ticket was forwarded to another source',
    originalKey: null,
    originalValue: Buffer.from('opaque'),
    originalHeaders: {},
    originalSize: 6,
    originalSha256: null,
    truncated: false,
  };
  return { record, offset: '7', decoded: { recordName: 'be.bcss.gateway.SourceReply', value: { ticket: 'T-1', subjectNiss: '85073003328', status: 'OK', payload } } };
}

describe('the dead letters page: the envelope, never a payload', () => {
  it.each<ConsoleRole>(['operator', 'dpo'])('shows the %s ids and status, and the payload only as its size', (role) => {
    const text = deadLettersPage({ user: { name: role, role }, csrf: 'c' }, [letterWithPayload()], new Set(), null).text;
    expect(text).toContain('T-1');
    expect(text).toContain('WRONG_SOURCE');
    expect(text).toContain('&lt;50 bytes withheld&gt;');
    expect(text).not.toMatch(/JANSSENS|KERKSTRAAT/);
    // The bytes as numbers would spell the same data.
    expect(text).not.toContain(String('SURNAME'.charCodeAt(0)) + ',');
    if (role === 'dpo') expect(text).toContain('85073003328');
    else expect(text).not.toContain('85073003328');
  });
});
