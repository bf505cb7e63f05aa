/**
 * Changes of the authentic sources, by hand (demos and tests of the mutation routing):
 *
 * - `bcss simulate mutation <kind> [--niss N] [--employer E] [--date YYYY-MM-DD] [--json]`: a simulated
 *   source publishes one change about a person of the synthetic population, as its own principal
 *   (`source-onss`, `source-bcss-registers`), and what was published is printed. Exit code 0 when the
 *   broker has it, 1 otherwise (bad input, no access, Kafka unreachable).
 * - `bcss mutations watch --as INSTITUTION [--json]`: what the switch delivers to an institution, read
 *   as that institution from now on and printed as it arrives, until Ctrl-C (exit 0), or 1 when it
 *   cannot start.
 */
import { join } from 'node:path';
import type { Command } from 'commander';
import { loadSettings, settingsLogger, type Settings } from '../app/settings.js';
import { loadCatalogue } from '../config/load-catalogue.js';
import { payloadRecordNames } from '../config/payload-records.js';
import { SCHEMA_DIR } from '../config/project-paths.js';
import type { Logger } from '../logging/logger.js';
import { loadAvroCodec } from '../messaging/avro-codec.js';
import { createKafkaClient, MessagingError } from '../messaging/kafka-client.js';
import { assertEntityId, topicNames } from '../messaging/topics.js';
import { listenToMutations, publishSimulatedMutation, type PublishedMutation, type ReceivedMutation } from '../sources/mutation-publisher.js';
import {
  findSimulatedEmployer,
  isMutationKind,
  MUTATION_KIND_DEFINITIONS,
  MUTATION_KINDS,
  MutationSimulationError,
  simulatedMutation,
  type MutationOption,
  type SimulatedMutation,
} from '../sources/mutation-simulator.js';
import { createSyntheticPopulation } from '../sources/synthetic-population.js';
import { PrincipalConnectionError, principalConnection } from '../stack/principal-connection.js';

export const SIMULATE_EXIT = { ok: 0, error: 1 } as const;

export interface SimulateCommandIo {
  readonly stdout: { write(chunk: string): unknown };
  readonly stderr: { write(chunk: string): unknown };
  /** The environment the settings are read from (src/app/settings.ts); default the process's. */
  readonly env?: NodeJS.ProcessEnv;
}

export interface SimulateMutationOptions {
  readonly niss?: string;
  readonly employer?: string;
  readonly date?: string;
  readonly mutationId?: string;
  readonly json?: boolean;
}

export interface WatchMutationsOptions {
  readonly as: string;
  readonly json?: boolean;
}

const OPTION_OF: Record<MutationOption, string> = {
  kind: '<kind>',
  niss: '--niss',
  employer: '--employer',
  effectiveDate: '--date',
  now: 'the clock',
};

function kafkaProblem(error: unknown, principal: string): string {
  if (error instanceof PrincipalConnectionError) return error.message;
  if (error instanceof MessagingError) {
    if (error.type === 'SASL_AUTHENTICATION_FAILED') return `Kafka did not accept the credentials of ${principal}: ${error.message}`;
    if (error.accessDenied) return `Kafka refused ${principal} (${error.type}): are its ACLs in place (npm start provisions them)? ${error.message}`;
    return `Kafka: ${error.type}: ${error.message}`;
  }
  return error instanceof Error ? error.message : String(error);
}

/** Logs go to stderr, and only when asked: stdout carries what was published or received. */
function cliLogger(settings: Settings): Logger {
  return settingsLogger(settings, { level: 'fatal', destination: process.stderr });
}

// ---------------------------------------------------------------------------------------------------
// simulate mutation

const LABEL_WIDTH = 14;
const line = (label: string, value: string): string => `  ${label.padEnd(LABEL_WIDTH)}${value}\n`;

function employerText(employer: PublishedMutation['employer']): string {
  if (employer === null) return '—';
  const known = findSimulatedEmployer(employer.id);
  const category = employer.category === null ? '' : `, category ${employer.category}`;
  return `${employer.kind} ${employer.id}${category}${known ? ` (${known.name})` : ''}`;
}

export function formatPublished(published: PublishedMutation): string {
  return (
    `Published ${published.informationType} (${published.changeKind}) as ${published.principal}\n` +
    line('mutation id', published.mutationId) +
    line('source', published.source) +
    line('topic', `${published.topic} (key: the subject's NISS)`) +
    line('service', published.service) +
    line('subject', published.subjectNiss) +
    (published.newNiss === null ? '' : line('new NISS', published.newNiss)) +
    line('employer', employerText(published.employer)) +
    line('effective', published.effectiveDate) +
    line('emitted at', new Date(published.emittedAt).toISOString())
  );
}

/** Publishes one simulated change and returns the exit code; never throws. */
export async function runSimulateMutation(kind: string, options: SimulateMutationOptions, io: SimulateCommandIo): Promise<number> {
  const fail = (message: string): number => {
    io.stderr.write(`bcss simulate mutation: ${message}\n`);
    return SIMULATE_EXIT.error;
  };
  if (!isMutationKind(kind)) {
    const kinds = MUTATION_KINDS.map((k) => `  ${k.padEnd(16)}${MUTATION_KIND_DEFINITIONS[k].label}`).join('\n');
    return fail(`unknown kind "${kind}"; one of:\n${kinds}`);
  }
  let simulated: SimulatedMutation;
  let payloadRecords: ReadonlyMap<string, string>;
  let settings: Settings;
  try {
    settings = loadSettings(io.env);
    simulated = simulatedMutation(kind, createSyntheticPopulation(), {
      now: Date.now(),
      ...(options.niss === undefined ? {} : { niss: options.niss }),
      ...(options.employer === undefined ? {} : { employer: options.employer }),
      ...(options.date === undefined ? {} : { effectiveDate: options.date }),
      ...(options.mutationId === undefined ? {} : { mutationId: options.mutationId }),
    });
    const catalogue = loadCatalogue(join(settings.configDir, 'catalogue'), { schemasDir: SCHEMA_DIR });
    // The switch dead-letters a change published by a source that does not own the service.
    const owner = catalogue.services.get(simulated.record.service)?.source;
    if (owner !== simulated.source) {
      return fail(`the catalogue gives ${simulated.record.service} to ${owner ?? 'nobody'}, not to ${simulated.source}: the switch would refuse the change`);
    }
    payloadRecords = payloadRecordNames(catalogue, SCHEMA_DIR);
  } catch (error) {
    if (error instanceof MutationSimulationError) return fail(`${OPTION_OF[error.option]}: ${error.detail}`);
    return fail(error instanceof Error ? error.message : String(error));
  }

  const principal = `source-${simulated.source}`;
  let published: PublishedMutation;
  try {
    const logger = cliLogger(settings);
    published = await publishSimulatedMutation(
      {
        clientFor: (name) => createKafkaClient(principalConnection(name, { settings }), logger),
        codec: loadAvroCodec(SCHEMA_DIR),
        topics: topicNames(settings.topicPrefix),
        payloadRecords,
      },
      simulated,
    );
  } catch (error) {
    return fail(kafkaProblem(error, principal));
  }
  io.stdout.write(options.json ? `${JSON.stringify({ kind, ...published }, null, 2)}\n` : formatPublished(published));
  return SIMULATE_EXIT.ok;
}

// ---------------------------------------------------------------------------------------------------
// mutations watch

/** Bytes shown by their size: a payload inside a JSON line stays readable. */
function jsonReplacer(this: Record<string, unknown>, key: string, value: unknown): unknown {
  const raw = this[key];
  if (raw instanceof Uint8Array) return `<${raw.length} bytes>`;
  return value;
}

function blockNames(blocks: readonly string[]): string {
  return blocks.length === 0 ? '—' : blocks.join(', ');
}

/** One delivered change as a person reads it. */
export function formatReceived(received: ReceivedMutation): string {
  const m = received.record;
  const head = `${new Date(m.deliveredAt).toISOString()}  ${m.informationType} (${m.changeKind})  about ${m.subjectNiss}  effective ${m.effectiveDate}\n`;
  const basis = `${m.legalBasis.deliberation} ${m.legalBasis.version}${m.legalBasis.purpose === null ? '' : ` (${m.legalBasis.purpose})`}`;
  let payload = '';
  if (m.form === 'BLOCKS') {
    const text = received.payload === undefined ? '(could not be decoded)' : JSON.stringify(received.payload, jsonReplacer, 2);
    payload = line('payload', text.split('\n').join(`\n${' '.repeat(LABEL_WIDTH + 2)}`));
  }
  return (
    head +
    line('mutation id', `${m.mutationId} (source ${m.source}, service ${m.service})`) +
    (m.onBehalfOf === null ? '' : line('for', `${m.onBehalfOf} (relayed: this institution may not use it)`)) +
    line('ticket', m.ticket) +
    (m.newNiss === null ? '' : line('new NISS', m.newNiss)) +
    (m.employer === null ? '' : line('employer', employerText(m.employer))) +
    line('form', m.form === 'BLOCKS' ? 'BLOCKS (the changed data, filtered)' : 'NOTIFICATION (no data: ask with a request)') +
    line('delivered', blockNames(m.deliveredBlocks)) +
    line('withheld', blockNames(m.removedBlocks)) +
    line('withheld fields', m.removedFields.length === 0 ? '—' : m.removedFields.join(', ')) +
    line('legal basis', basis) +
    line('retain until', m.retainUntil ?? '—') +
    line('emitted at', new Date(m.emittedAt).toISOString()) +
    payload +
    '\n'
  );
}

export function receivedJson(received: ReceivedMutation): string {
  return JSON.stringify({ ...received.record, payload: received.payload ?? null }, jsonReplacer);
}

/** Prints what `options.as` receives until `signal` aborts; returns the exit code, never throws. */
export async function runWatchMutations(options: WatchMutationsOptions, io: SimulateCommandIo, signal: AbortSignal): Promise<number> {
  const fail = (message: string): number => {
    io.stderr.write(`bcss mutations watch: ${message}\n`);
    return SIMULATE_EXIT.error;
  };
  let institution: string;
  try {
    institution = assertEntityId(options.as);
  } catch (error) {
    return fail(`--as: ${error instanceof Error ? error.message : String(error)}`);
  }
  let settings: Settings;
  try {
    settings = loadSettings(io.env);
  } catch (error) {
    return fail(error instanceof Error ? error.message : String(error));
  }
  const topics = topicNames(settings.topicPrefix);
  let listener: Awaited<ReturnType<typeof listenToMutations>>;
  try {
    listener = await listenToMutations({
      client: createKafkaClient(principalConnection(institution, { settings }), cliLogger(settings)),
      codec: loadAvroCodec(SCHEMA_DIR),
      topics,
      institution,
      purpose: 'watch',
      onMutation: (received) => {
        io.stdout.write(options.json ? `${receivedJson(received)}\n` : formatReceived(received));
      },
      onUnreadable: (message, error) => {
        io.stderr.write(`bcss mutations watch: skipped an unreadable message at ${message.partition}/${message.offset}: ${error instanceof Error ? error.message : String(error)}\n`);
      },
    });
  } catch (error) {
    return fail(kafkaProblem(error, institution));
  }
  // With --json, stdout carries the JSON lines alone.
  io.stderr.write(`Watching ${listener.topic} as ${institution}, from now on; Ctrl-C to stop.\n`);
  if (!signal.aborted) await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
  await Promise.race([listener.close().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 1_000).unref())]);
  return SIMULATE_EXIT.ok;
}

// ---------------------------------------------------------------------------------------------------

export function registerSimulateCommands(
  program: Command,
  io: SimulateCommandIo = { stdout: process.stdout, stderr: process.stderr },
): void {
  const simulate = program.command('simulate').description('make the simulated authentic sources publish a change (demos and tests)');
  simulate
    .command('mutation')
    .description(
      `publish a change of a simulated source about a person of the synthetic population (exit 0 published, 1 error); kinds: ${MUTATION_KINDS.join(', ')}`,
    )
    .argument('<kind>', MUTATION_KINDS.map((k) => `${k}: ${MUTATION_KIND_DEFINITIONS[k].label}`).join('; '))
    .option('--niss <niss>', 'the person (default: the kind’s sample person: the PAB assistant, the care worker, the deceased, the replaced BIS)')
    .option('--employer <id>', 'DIMONA/DmfA: the employer, by number or name (budgetHolder, careHome, ...); default the sample one')
    .option('--date <YYYY-MM-DD>', 'the effective date (dmfa-correction: a day of the quarter corrected)')
    .option('--mutation-id <id>', 'the source’s id of the change (default: derived from kind, person, employer and date)')
    .option('--json', 'print what was published as JSON')
    .action(async (kind: string, options: SimulateMutationOptions) => {
      process.exit(await runSimulateMutation(kind, options, io));
    });

  const mutations = program.command('mutations').description('the changes the switch delivers to institutions');
  mutations
    .command('watch')
    .description('print what an institution receives on its mutations topic, read as that institution from now on, until Ctrl-C')
    .requiredOption('--as <institution>', 'the institution (its principal and its mutations topic)')
    .option('--json', 'one JSON object per line')
    .action(async (options: WatchMutationsOptions) => {
      const controller = new AbortController();
      process.once('SIGINT', () => controller.abort());
      process.once('SIGTERM', () => controller.abort());
      process.exit(await runWatchMutations(options, io, controller.signal));
    });
}
