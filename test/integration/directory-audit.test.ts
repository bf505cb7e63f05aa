import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newCommandId } from '../../src/client/directory-client.js';
import type { AuditRecordValue } from '../../src/contract/audit-records.js';
import type { DirectoryCommandRecord } from '../../src/contract/directory-records.js';
import { DIRECTORY_RECORD } from '../../src/contract/names.js';
import type { MessageProducer } from '../../src/messaging/kafka-client.js';
import { SIMULATED } from '../../src/sources/synthetic-population.js';
import { createExchangeFixture, type ExchangeFixture } from '../support/exchange-fixture.js';
import { waitFor } from '../support/kafka-helpers.js';
import { testStack } from '../support/stack-context.js';

/** Directory changes and refusals are audited like exchanges: one record each, in the same transaction. */
describe('audit of the reference directory', () => {
  let fx: ExchangeFixture;
  let producer: MessageProducer;

  const command = (fields: Partial<DirectoryCommandRecord>): DirectoryCommandRecord => ({
    commandId: newCommandId('audit'),
    institution: 'onva',
    action: 'INTEGRATE',
    niss: SIMULATED.deceased,
    capacity: 'inspection',
    phase: 1,
    periodFrom: '2024-01-01',
    periodTo: '2024-12-31',
    employerKind: null,
    employerId: null,
    issuedAt: Date.now(),
    ...fields,
  });

  beforeAll(async () => {
    fx = await createExchangeFixture(testStack());
    await fx.startDirectory();
    producer = await fx.client.producer();
  }, 120_000);

  afterAll(async () => {
    await producer?.disconnect();
    await fx?.close();
  }, 60_000);

  it('records each applied command, each refusal at intake or writer, and an undecodable command, naming who and about whom', async () => {
    const applied = command({});
    const deintegrated = command({ action: 'DEINTEGRATE', capacity: null, phase: null, periodFrom: '2024-07-01', periodTo: '2024-12-31' });
    const spoofed = command({ institution: 'iriscare' }); // published on onva's topic
    const badCapacity = command({ capacity: 'not a capacity!' });
    const send = (institution: string, value: Buffer, key: string) =>
      producer.send(fx.topics.directory(institution), [{ key, value }]);
    for (const c of [applied, deintegrated, spoofed, badCapacity]) await send('onva', fx.codec.encode(DIRECTORY_RECORD.command, c), c.niss);
    await send('onva', Buffer.from('not a directory command'), 'garbage');

    const directoryEvents = (records: AuditRecordValue[]) =>
      records.filter((r) => r.eventType === 'DIRECTORY_CHANGED' || r.eventType === 'DIRECTORY_REFUSED');
    const audit = await waitFor(async () => directoryEvents(await fx.readAudit()), (r) => r.length >= 5, {
      timeoutMs: 30_000,
      what: 'five directory audit records',
    });
    expect(audit).toHaveLength(5);
    const byTicket = new Map(audit.map((r) => [r.ticket, r]));

    expect(byTicket.get(applied.commandId)).toMatchObject({
      eventType: 'DIRECTORY_CHANGED',
      outcome: 'OK',
      requester: 'onva',
      service: 'directory',
      purpose: 'INTEGRATE inspection',
      subjectNiss: SIMULATED.deceased,
      effectivePeriods: [{ from: '2024-01-01', to: '2024-12-31' }],
    });
    expect(byTicket.get(deintegrated.commandId)).toMatchObject({
      eventType: 'DIRECTORY_CHANGED',
      purpose: 'DEINTEGRATE',
      effectivePeriods: [{ from: '2024-07-01', to: '2024-12-31' }],
    });
    // The spoof is refused at intake and recorded under the topic's owner, not the name it claimed.
    expect(byTicket.get(spoofed.commandId)).toMatchObject({ eventType: 'DIRECTORY_REFUSED', outcome: 'SENDER_MISMATCH', requester: 'onva' });
    expect(byTicket.get(badCapacity.commandId)).toMatchObject({ eventType: 'DIRECTORY_REFUSED', outcome: 'INVALID_MESSAGE', bcssCode: '-000050' });
    const undecodable = audit.find((r) => r.ticket === null);
    expect(undecodable).toMatchObject({ eventType: 'DIRECTORY_REFUSED', outcome: 'INVALID_MESSAGE', requester: 'onva', subjectNiss: null });
  }, 60_000);
});
