import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger } from 'pino';

/**
 * Paths never printed in clear: the person's number, payload values and secrets. Operators correlate
 * by ticket; the audit trail, not the log, says about whom.
 */
const REDACTED_PATHS = [
  'niss',
  '*.niss',
  'subjectNiss',
  '*.subjectNiss',
  'newNiss',
  '*.newNiss',
  'payload',
  '*.payload',
  'password',
  '*.password',
  'sasl.password',
  '*.sasl.password',
  'redisUrl',
];

export interface LoggerOptions {
  readonly level?: string;
  readonly name?: string;
  /** Where to write; defaults to stdout. Tests pass a stream to read what was logged. */
  readonly destination?: NodeJS.WritableStream;
}

/**
 * Free text from outside (a source's error message) may quote a person's number: every run of 11
 * digits (with or without the usual separators) is masked but for its last three digits.
 */
export function maskNissIn(text: string): string {
  return text.replace(/\b\d{2}[.\s]?\d{2}[.\s]?\d{2}[-.\s]?\d{3}[.\s]?\d{2}\b/g, (m) => `********${m.replace(/\D/g, '').slice(-3)}`);
}

/**
 * JSON lines by default (for log shippers); human-readable through pino-pretty when LOG_FORMAT=pretty,
 * or when stdout is a terminal and LOG_FORMAT is not `json`.
 */
function defaultDestination(): NodeJS.WritableStream {
  const format = process.env.LOG_FORMAT;
  if (format === 'pretty' || (format !== 'json' && process.stdout.isTTY)) {
    return pretty({ colorize: process.stdout.isTTY && !process.env.NO_COLOR, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' });
  }
  return process.stdout;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      name: options.name ?? 'bcss',
      level: options.level ?? process.env.LOG_LEVEL ?? 'info',
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination ?? defaultDestination(),
  );
}

/** A logger that writes nothing, for library use where the caller gave none. */
export const silentLogger: Logger = pino({ level: 'silent' });
