import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AuditIndexError, indexRowOf, loadAuditIndexKey, subjectHmac, UNDECODABLE_EVENT } from '../../src/audit/audit-index.js';
import { SCHEMA_DIR } from '../../src/config/project-paths.js';
import { auditMessage, auditRecord } from '../../src/contract/audit-records.js';
import { loadAvroCodec } from '../../src/messaging/avro-codec.js';
import type { InMessage } from '../../src/messaging/kafka-client.js';
import { topicNames } from '../../src/messaging/topics.js';

const codec = loadAvroCodec(SCHEMA_DIR);
const topics = topicNames('bcss');
const KEY = Buffer.alloc(32, 7);
const NISS = '88031412464';

function asRead(record: ReturnType<typeof auditRecord>, offset = '42'): InMessage {
  const out = auditMessage(codec, topics, record);
  return {
    topic: topics.audit,
    partition: 3,
    offset,
    key: out.key === null || out.key === undefined ? null : Buffer.from(out.key),
    value: out.value,
    headers: { ...out.headers },
    timestamp: '1700000000000',
  };
}

describe('the audit index key', () => {
  it('takes hex of at least 32 bytes, from the variable or else the file', () => {
    const hex = 'ab'.repeat(32);
    expect(loadAuditIndexKey({ key: hex, keyFile: null })).toEqual(Buffer.from(hex, 'hex'));
    const file = join(mkdtempSync(join(tmpdir(), 'aidx-')), 'key');
    writeFileSync(file, `${'cd'.repeat(40)}\n`);
    expect(loadAuditIndexKey({ key: null, keyFile: file })).toHaveLength(40);
    expect(loadAuditIndexKey({ key: hex, keyFile: file })).toEqual(Buffer.from(hex, 'hex'));
  });

  it.each([
    [{ key: null, keyFile: null }, 'AUDIT_INDEX_KEY_MISSING'],
    [{ key: null, keyFile: '/nonexistent/audit-index.key' }, 'AUDIT_INDEX_KEY_MISSING'],
    [{ key: 'ab'.repeat(31), keyFile: null }, 'AUDIT_INDEX_KEY_INVALID'],
    [{ key: 'zz'.repeat(32), keyFile: null }, 'AUDIT_INDEX_KEY_INVALID'],
    [{ key: `${'a'.repeat(63)}`, keyFile: null }, 'AUDIT_INDEX_KEY_INVALID'],
  ])('refuses %j with %s', (sources, code) => {
    expect(() => loadAuditIndexKey(sources)).toThrow(AuditIndexError);
    expect(() => loadAuditIndexKey(sources)).toThrow(code);
  });
});

describe('the row of one audit message', () => {
  it('holds the keyed hash of the person, never the NISS, with place, time and the fields to filter on', () => {
    const record = auditRecord('REPLY_DELIVERED', 'OK', { at: 1_700_000_123_456, requester: 'vaph', service: 'dmfa', subjectNiss: NISS });
    const row = indexRowOf(asRead(record), codec, KEY);
    expect(row).toEqual({
      partition: 3,
      offset: '42',
      subjectHmac: subjectHmac(KEY, NISS),
      at: 1_700_000_123_456,
      requester: 'vaph',
      service: 'dmfa',
      event: 'REPLY_DELIVERED',
      outcome: 'OK',
    });
    expect(row.subjectHmac).toHaveLength(32);
    expect(JSON.stringify(row)).not.toContain(NISS);
    // Another key, another hash: the table cannot be matched against hashes of every NISS without it.
    expect(subjectHmac(Buffer.alloc(32, 8), NISS).equals(subjectHmac(KEY, NISS))).toBe(false);
  });

  it('has no subject for a record about no person (keyed by the requester)', () => {
    const row = indexRowOf(asRead(auditRecord('AUTHORIZATION_CHANGED', 'OK', { requester: 'vaph' })), codec, KEY);
    expect(row.subjectHmac).toBeNull();
    expect(row.event).toBe('AUTHORIZATION_CHANGED');
  });

  it('indexes a message that is not an audit record under its key, as UNDECODABLE, at the broker time', () => {
    const message = { ...asRead(auditRecord('REPLY_DELIVERED', 'OK', { subjectNiss: NISS })), value: Buffer.from('not avro') };
    expect(indexRowOf(message, codec, KEY)).toMatchObject({ subjectHmac: subjectHmac(KEY, NISS), event: UNDECODABLE_EVENT, at: 1_700_000_000_000, requester: null });
  });
});
