import { describe, expect, it } from 'vitest';
import { SCHEMA_DIR } from '../../src/config/project-paths.js';
import { auditMessage, auditRecord } from '../../src/contract/audit-records.js';
import { loadAvroCodec } from '../../src/messaging/avro-codec.js';
import { topicNames } from '../../src/messaging/topics.js';

const codec = loadAvroCodec(SCHEMA_DIR);
const topics = topicNames('bcss');

describe('audit message keys', () => {
  it('keys by the person, else by the requester, so that a trail stays in order', () => {
    expect(auditMessage(codec, topics, auditRecord('REQUEST_REFUSED', 'NOT_INTEGRATED', { requester: 'vaph', subjectNiss: '85073003328' })).key).toBe(
      '85073003328',
    );
    // A refused request's subject as it was written (not a NISS) still keys its record: a search finds it.
    expect(auditMessage(codec, topics, auditRecord('REQUEST_REFUSED', 'INVALID_NISS', { requester: 'vaph', subjectNiss: '85.07.30' })).key).toBe('85.07.30');
    expect(auditMessage(codec, topics, auditRecord('AUTHORIZATION_CHANGED', 'ADDED', { requester: 'vaph' })).key).toBe('vaph');
  });

  it('never by a long text a request brought: key and value would each carry it, past the broker limit', () => {
    const big = '7'.repeat(600_000);
    const message = auditMessage(codec, topics, auditRecord('REQUEST_REFUSED', 'INVALID_NISS', { requester: 'onva', subjectNiss: big }));
    expect(message.key).toBe('onva');
    const relayed = auditMessage(codec, topics, auditRecord('REQUEST_REFUSED', 'NOT_AUTHORIZED', { requester: big, subjectNiss: null }));
    expect(relayed.key).toBe('');
    expect(relayed.value?.length).toBeLessThan(601_000);
  });
});
