/**
 * Audit completeness: after the demo (run in-process on a switch of its own, as `npm run demo` does),
 * the audit trail holds exactly one outcome record per reply delivered — as many per outcome as there
 * are replies with that status — and one MUTATION_DELIVERED record per change delivered to a
 * subscriber, and one LIST_ENTRY_DELIVERED record per person named in each list delivered. Both sides
 * are read from Kafka to their end, not taken from what the demo reports.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { searchAudit } from '../../../src/audit/audit-search.js';
import { loadCatalogue } from '../../../src/config/load-catalogue.js';
import { payloadRecordNames } from '../../../src/config/payload-records.js';
import { DEFAULT_CONFIG_DIR } from '../../../src/config/project-paths.js';
import { consultationOf, loadInstitutions } from '../../../src/config/load-institutions.js';
import type { DemoReport } from '../../../src/demo/demo-table.js';
import { runDemo } from '../../../src/demo/run-demo.js';
import type { AuditEventType, AuditRecordValue } from '../../../src/contract/audit-records.js';
import type { ReplyRecord } from '../../../src/contract/exchange-records.js';
import type { MutationRecord } from '../../../src/contract/mutation-records.js';
import { EXCHANGE_RECORD, MUTATION_RECORD } from '../../../src/contract/names.js';
import { silentLogger } from '../../../src/logging/logger.js';
import { loadAvroCodec } from '../../../src/messaging/avro-codec.js';
import { createKafkaClient, type InMessage, type KafkaClient } from '../../../src/messaging/kafka-client.js';
import { readTopicToEnd } from '../../../src/messaging/topic-reader.js';
import { topicNames } from '../../../src/messaging/topics.js';
import { SCHEMA_DIR } from '../../../src/config/project-paths.js';
import { INVALIDITY_SERVICE } from '../../../src/sources/invalidity-batch.js';
import { principalPasswordVariable } from '../../../src/stack/principal-connection.js';
import { uniqueName } from '../../support/kafka-helpers.js';
import { removeSwitchLeftovers } from '../../support/prefix-cleanup.js';
import { testStack } from '../../support/stack-context.js';

const ENV_NAMES = ['BCSS_TOPIC_PREFIX', 'BCSS_REDIS_PREFIX', 'KAFKA_BROKERS', 'REDIS_URL', 'KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD'];

/** The events that close an exchange, each carrying the status of the reply it goes with. */
const OUTCOME_EVENTS: readonly AuditEventType[] = ['REQUEST_REFUSED', 'REPLY_DELIVERED', 'SOURCE_TIMEOUT'];

interface Delivered {
  readonly institution: string;
  readonly ticket: string;
}

async function readAll(client: KafkaClient, topic: string): Promise<InMessage[]> {
  const messages: InMessage[] = [];
  await readTopicToEnd({
    client,
    topic,
    timeoutMs: 60_000,
    onBatch: async (batch) => {
      messages.push(...batch.messages);
    },
  });
  return messages;
}

function countBy<T>(items: readonly T[], keyOf: (item: T) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[keyOf(item)] = (counts[keyOf(item)] ?? 0) + 1;
  return counts;
}

describe('audit completeness after the demo', () => {
  const stack = testStack();
  const prefix = uniqueName('audit-demo');
  const topics = topicNames(prefix);
  const institutions = loadInstitutions(DEFAULT_CONFIG_DIR);
  const codec = loadAvroCodec(SCHEMA_DIR);
  const saved = new Map<string, string | undefined>();
  const setEnv = (name: string, value: string) => {
    if (!saved.has(name)) saved.set(name, process.env[name]);
    process.env[name] = value;
  };
  let report: DemoReport;
  let replies: ReplyRecord[];
  let mutations: Delivered[];
  let audit: AuditRecordValue[];

  beforeAll(async () => {
    // The demo finds the switch and the principals as the CLI does: from the environment, else the
    // local stack. Containers are neither, so they are named in the environment.
    for (const name of ENV_NAMES) saved.set(name, process.env[name]);
    setEnv('BCSS_TOPIC_PREFIX', prefix);
    setEnv('BCSS_REDIS_PREFIX', prefix);
    if (stack.mode === 'containers') {
      setEnv('KAFKA_BROKERS', stack.kafka.brokers.join(','));
      setEnv('REDIS_URL', stack.redisUrl);
      if (stack.kafka.sasl) {
        setEnv('KAFKA_SASL_USERNAME', stack.kafka.sasl.username);
        setEnv('KAFKA_SASL_PASSWORD', stack.kafka.sasl.password);
      }
      for (const [principal, password] of Object.entries(stack.credentials?.principals ?? {})) {
        setEnv(principalPasswordVariable(principal), password);
      }
    }
    report = await runDemo({ gateway: 'own', requestTimeoutMs: 30_000 });

    // The demo has stopped its switch: what it committed is all there is. Read as the stack's
    // administrator, every topic of the prefix from its beginning to its end.
    const client = createKafkaClient(stack.kafka, silentLogger);
    replies = [];
    mutations = [];
    for (const { id } of institutions.institutions) {
      // An institution with a consultation application (ONVA's DOLSIS, 19/010 §37) is answered on its
      // consultations topic too.
      const replyTopics = consultationOf(institutions, id) === null ? [topics.replies(id)] : [topics.replies(id), topics.consultations(id)];
      for (const topic of replyTopics) {
        for (const message of await readAll(client, topic)) {
          if (message.headers.type === 'reply' && message.value) replies.push(codec.decode<ReplyRecord>(EXCHANGE_RECORD.reply, message.value));
        }
      }
      for (const message of await readAll(client, topics.mutations(id))) {
        if (message.headers.type !== 'mutation' || !message.headers.ticket || !message.value) continue;
        // Delivered through a mandatory intermediary (10/012: magda), a change is the beneficiary's.
        const mutation = codec.decode<MutationRecord>(MUTATION_RECORD.delivered, message.value);
        mutations.push({ institution: mutation.onBehalfOf ?? id, ticket: message.headers.ticket });
      }
    }
    audit = (await readAll(client, topics.audit)).map((m) => codec.decode<AuditRecordValue>(EXCHANGE_RECORD.audit, m.value as Buffer));
  }, 180_000);

  afterAll(async () => {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    await removeSwitchLeftovers(stack, prefix);
  }, 60_000);

  it('ran on its own prefix, and every reply and change the demo printed is one read back from Kafka', () => {
    expect(report.gateway).toMatchObject({ kind: 'own', topicPrefix: prefix });
    const byTicket = new Map(replies.map((r) => [r.ticket, r.status]));
    const changes = new Set(mutations.map((m) => `${m.institution} ${m.ticket}`));
    const printed = report.results.filter((r) => r.outcome.ticket !== null);
    const printedReplies = printed.filter((r) => r.scenario.send.kind !== 'mutation');
    expect(printedReplies.length).toBeGreaterThan(0);
    for (const result of printed) {
      const ticket = result.outcome.ticket as string;
      if (result.scenario.send.kind === 'mutation') expect(changes, `scenario ${result.scenario.number}`).toContain(`${result.scenario.beneficiary ?? result.scenario.requester} ${ticket}`);
      else expect(byTicket.get(ticket), `scenario ${result.scenario.number}`).toBe(result.outcome.status);
    }
    // The quarterly lists' replies are on the topic too (the demo prints them as one row).
    expect(replies.length).toBeGreaterThan(printedReplies.length);
  });

  it('per outcome, as many outcome audit records as replies with that status', () => {
    const outcomes = audit.filter((r) => OUTCOME_EVENTS.includes(r.eventType));
    expect(countBy(outcomes, (r) => r.outcome)).toEqual(countBy(replies, (r) => r.status));
    // And each event with the statuses it may carry.
    for (const record of outcomes) {
      if (record.eventType === 'SOURCE_TIMEOUT') expect(record.outcome).toBe('SOURCE_TIMEOUT');
      if (record.eventType === 'REQUEST_REFUSED') expect(record.outcome).not.toBe('OK');
    }
  });

  it('every reply\'s ticket has exactly one outcome record, and no outcome record is without its reply', () => {
    const outcomes = audit.filter((r) => OUTCOME_EVENTS.includes(r.eventType));
    const perTicket = countBy(outcomes, (r) => r.ticket ?? '(none)');
    const replyTickets = replies.map((r) => r.ticket);
    expect(new Set(replyTickets).size).toBe(replies.length);
    expect(replyTickets.filter((t) => perTicket[t] !== 1)).toEqual([]);
    expect(Object.keys(perTicket).sort()).toEqual([...replyTickets].sort());
  });

  it('every request forwarded to a source was answered: its ticket has an outcome record', () => {
    const closed = new Set(audit.filter((r) => OUTCOME_EVENTS.includes(r.eventType)).map((r) => r.ticket));
    const forwarded = audit.filter((r) => r.eventType === 'REQUEST_FORWARDED');
    expect(forwarded.length).toBeGreaterThan(0);
    expect(forwarded.filter((r) => !closed.has(r.ticket)).map((r) => r.ticket)).toEqual([]);
  });

  it('one MUTATION_DELIVERED record per change delivered to a subscriber (none when the demo sends none)', () => {
    const recorded = audit
      .filter((r) => r.eventType === 'MUTATION_DELIVERED')
      .map((r) => `${r.requester} ${r.ticket}`)
      .sort();
    expect(recorded).toEqual(mutations.map((m) => `${m.institution} ${m.ticket}`).sort());
  });

  it('for every list delivered, one LIST_ENTRY_DELIVERED record per entry of its payload, under its ticket', () => {
    const catalogue = loadCatalogue(join(DEFAULT_CONFIG_DIR, 'catalogue'), { schemasDir: SCHEMA_DIR });
    const recordName = payloadRecordNames(catalogue, SCHEMA_DIR).get(INVALIDITY_SERVICE) as string;
    expect(catalogue.services.get(INVALIDITY_SERVICE)?.mode).toBe('batch');
    const lists = replies.filter((r) => r.service === INVALIDITY_SERVICE && r.status === 'OK');
    // The demo asks for quarterly lists: there is something to count.
    expect(lists.length).toBeGreaterThan(0);
    const named = audit.filter((r) => r.eventType === 'LIST_ENTRY_DELIVERED');
    const namedPerTicket = new Map<string, string[]>();
    for (const record of named) {
      const list = namedPerTicket.get(record.ticket ?? '(none)') ?? [];
      list.push(record.subjectNiss ?? '(none)');
      namedPerTicket.set(record.ticket ?? '(none)', list);
    }
    let entries = 0;
    for (const reply of lists) {
      expect(reply.payload, reply.ticket).not.toBeNull();
      expect(codec.recordNameOf(reply.payload as Buffer)).toBe(recordName);
      const payload = codec.decode<{ entries: Array<{ niss: string }> }>(recordName, reply.payload as Buffer);
      const subjects = namedPerTicket.get(reply.ticket) ?? [];
      expect(subjects.length, `list ${reply.ticket}`).toBe(payload.entries.length);
      expect([...subjects].sort(), `list ${reply.ticket}`).toEqual(payload.entries.map((e) => e.niss).sort());
      entries += payload.entries.length;
    }
    expect(entries).toBeGreaterThan(0);
    // And none under a ticket that is not a list delivered (a refused or empty list names nobody).
    const listTickets = new Set(lists.map((r) => r.ticket));
    expect([...namedPerTicket.keys()].filter((t) => !listTickets.has(t))).toEqual([]);
    expect(named).toHaveLength(entries);
  });

  it('bcss audit search --niss finds a person of one of the demo’s quarterly lists, by the list that named them', async () => {
    const recordName = payloadRecordNames(loadCatalogue(join(DEFAULT_CONFIG_DIR, 'catalogue'), { schemasDir: SCHEMA_DIR }), SCHEMA_DIR).get(INVALIDITY_SERVICE) as string;
    const list = replies.find((r) => r.service === INVALIDITY_SERVICE && r.status === 'OK') as ReplyRecord;
    const entries = codec.decode<{ entries: Array<{ niss: string }> }>(recordName, list.payload as Buffer).entries;
    const person = entries[Math.floor(entries.length / 2)] as { niss: string };
    const client = createKafkaClient(stack.kafka, silentLogger);
    const result = await searchAudit({ client, codec, topics, niss: person.niss, principal: 'admin' });
    expect(result.undecodable).toEqual([]);
    expect(result.records.filter((r) => r.event === 'LIST_ENTRY_DELIVERED' && r.ticket === list.ticket)).toEqual([
      expect.objectContaining({ subjectNiss: person.niss, requester: 'onss', deliberation: '22/046', outcome: 'OK' }),
    ]);
  });
});
