/**
 * `bcss request --as INSTITUTION --service S --niss N --period P ...`: one request through the switch,
 * as the institution's own principal, and its reply printed. Exit code 0 for data, 2 for a refusal,
 * 1 when there is no answer (bad input, no access, timeout).
 *
 * `--consultation`: as the institution's consultation application instead (config/institutions.yaml
 * `consultation.principal`, e.g. onva-dolsis for ONVA: 19/010 §37), on its consultation-requests topic,
 * answered on its consultations topic — the only channel on which data granted for consultation only
 * are answered.
 */
import type { Command } from 'commander';
import { loadSettings, settingsLogger, type Settings } from '../app/settings.js';
import { consultationOf, loadInstitutions } from '../config/load-institutions.js';
import { createExchangeClient, ExchangeTimeoutError, type ExchangeClient, type ExchangeReply } from '../client/exchange-client.js';
import { formatReply, payloadJson, type PayloadFormat } from '../client/reply-format.js';
import { buildRequest, parseBlockList, RequestInputError, type RequestInput, type RequestInputField } from '../client/request-input.js';
import { MessagingError } from '../messaging/kafka-client.js';
import { assertEntityId, topicNames } from '../messaging/topics.js';
import { PrincipalConnectionError, principalConnection } from '../stack/principal-connection.js';

export interface RequestCommandOptions {
  readonly as: string;
  readonly service: string;
  readonly niss: string;
  readonly employer?: string;
  readonly employerCategory?: string;
  readonly period: string;
  readonly purpose?: string;
  readonly onBehalfOf?: string;
  readonly blocks?: string;
  readonly requestId?: string;
  readonly timeout: string;
  readonly json?: boolean;
  readonly payload?: string;
  /** As the institution's consultation application, on its consultation channel. */
  readonly consultation?: boolean;
}

export interface RequestCommandIo {
  readonly stdout: { write(chunk: string): unknown };
  readonly stderr: { write(chunk: string): unknown };
  /** The environment the settings are read from (src/app/settings.ts); default the process's. */
  readonly env?: NodeJS.ProcessEnv;
}

export const EXIT = { ok: 0, error: 1, refused: 2 } as const;
const CLOSE_WAIT_MS = 1_000;

const OPTION_OF: Record<RequestInputField, string> = {
  requester: '--as',
  requestId: '--request-id',
  service: '--service',
  subjectNiss: '--niss',
  employer: '--employer',
  employerCategory: '--employer-category',
  period: '--period',
  purpose: '--purpose',
  onBehalfOf: '--on-behalf-of',
  requestedBlocks: '--blocks',
};

function inputOf(options: RequestCommandOptions): RequestInput {
  return {
    ...(options.requestId === undefined ? {} : { requestId: options.requestId }),
    service: options.service,
    subjectNiss: options.niss,
    employer: options.employer ?? null,
    employerCategory: options.employerCategory ?? null,
    period: options.period,
    purpose: options.purpose ?? null,
    onBehalfOf: options.onBehalfOf ?? null,
    requestedBlocks: options.blocks === undefined ? null : parseBlockList(options.blocks),
  };
}

function explain(error: unknown, principal: string): string {
  if (error instanceof RequestInputError) return `${OPTION_OF[error.field]}: ${error.detail}`;
  if (error instanceof ExchangeTimeoutError) {
    return `no reply within ${error.timeoutMs} ms to request ${error.requestId}; it was sent, and the switch may still answer it. Is the gateway running (npm start)?`;
  }
  if (error instanceof PrincipalConnectionError) return error.message;
  if (error instanceof MessagingError) {
    if (error.type === 'SASL_AUTHENTICATION_FAILED') return `Kafka did not accept the credentials of ${principal}: ${error.message}`;
    if (error.accessDenied) return `Kafka refused ${principal} (${error.type}): are its ACLs in place? ${error.message}`;
    return `Kafka: ${error.type}: ${error.message}`;
  }
  return error instanceof Error ? error.message : String(error);
}

/** Runs the command and returns its exit code; never throws. */
export async function runRequestCommand(options: RequestCommandOptions, io: RequestCommandIo): Promise<number> {
  const fail = (message: string): number => {
    io.stderr.write(`bcss request: ${message}\n`);
    return EXIT.error;
  };
  const timeoutMs = Number(options.timeout);
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) return fail(`--timeout: a positive number of milliseconds, not "${options.timeout}"`);
  const payloadFormat = (options.payload ?? 'summary') as PayloadFormat;
  if (!['summary', 'json', 'none'].includes(payloadFormat)) return fail(`--payload: summary, json or none, not "${options.payload}"`);
  let settings: Settings;
  try {
    settings = loadSettings(io.env);
  } catch (error) {
    return fail(error instanceof Error ? error.message : String(error));
  }
  let institution: string;
  try {
    institution = assertEntityId(options.as);
  } catch (error) {
    return fail(`--as: ${error instanceof Error ? error.message : String(error)}`);
  }
  const input = inputOf(options);
  try {
    // Checked before connecting: a typo costs no connection.
    buildRequest(input, { requester: institution });
  } catch (error) {
    return fail(explain(error, institution));
  }
  // The principal that speaks: the institution's own, or its consultation application's.
  let principal = institution;
  if (options.consultation) {
    let application: string | null;
    try {
      application = consultationOf(loadInstitutions(settings.configDir), institution);
    } catch (error) {
      return fail(`--consultation: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (application === null) return fail(`--consultation: ${institution} has no consultation application in config/institutions.yaml`);
    principal = application;
  }

  let client: ExchangeClient | undefined;
  let reply: ExchangeReply | undefined;
  let failure: string | undefined;
  try {
    const topics = topicNames(settings.topicPrefix);
    client = await createExchangeClient({
      connection: principalConnection(principal, { settings }),
      institution,
      channel: options.consultation ? 'consultation' : 'replies',
      principal,
      topics,
      // Logs go to stderr: stdout carries the reply (JSON with --json).
      logger: settingsLogger(settings, { level: 'fatal', destination: process.stderr }),
      defaultTimeoutMs: timeoutMs,
    });
    reply = await client.request(input);
  } catch (error) {
    failure = explain(error, principal);
  }
  if (reply) {
    io.stdout.write(options.json ? `${payloadJson(reply)}\n` : formatReply(reply, { payload: payloadFormat }));
    if (!reply.ok) io.stderr.write(`bcss request: refused: ${reply.status}\n`);
  }
  // The reply is out already; leaving the consumer group can wait for a fetch in progress, which a
  // person at the terminal should not.
  if (client) await Promise.race([client.close(), new Promise((r) => setTimeout(r, CLOSE_WAIT_MS).unref())]);
  if (!reply) return fail(failure ?? 'no reply');
  return reply.ok ? EXIT.ok : EXIT.refused;
}

export function registerRequestCommand(
  program: Command,
  io: RequestCommandIo = { stdout: process.stdout, stderr: process.stderr },
): void {
  program
    .command('request')
    .description('ask a service through the switch as an institution, and print the reply (exit 0 data, 2 refused, 1 error)')
    .requiredOption('--as <institution>', 'the requesting institution (its principal and its topics)')
    .requiredOption('--service <service>', 'service id from the catalogue: dmfa, dimona, identification, ...')
    .requiredOption('--niss <niss>', "the person (11 digits, dots and dashes allowed); '' for a service without a subject")
    .requiredOption('--period <period>', '2024Q3, 2024Q1..2024Q4, 2024-01-01..2024-03-31, 2024-01-01.. (open)')
    .option('--employer <id>', 'enterprise, ONSS or provisional ONSS number (kind guessed from the shape)')
    .option('--employer-category <code>', 'employer category (3 digits), for interim work')
    .option('--purpose <deliberation>', 'deliberation number or purpose code (default: the only one in force)')
    .option('--on-behalf-of <institution>', 'the beneficiary institution, when --as relays for it (magda for vaph)')
    .option('--blocks <ids>', 'comma-separated block ids (default: every block granted)')
    .option('--request-id <id>', 'the request id (default: a new UUID)')
    .option('--timeout <ms>', 'how long to wait for the reply', '30000')
    .option('--payload <format>', 'summary, json or none', 'summary')
    .option('--json', 'print the reply as JSON')
    .option(
      '--consultation',
      "as the institution's consultation application (its own principal, e.g. onva-dolsis): sent on its consultation-requests topic, answered on its consultations topic — required for data granted for consultation only (19/010)",
    )
    .action(async (options: RequestCommandOptions) => {
      const code = await runRequestCommand(options, io);
      process.exit(code);
    });
}
