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

export type LogFormat = 'json' | 'pretty';

export interface LoggerOptions {
  /** Default `info`. */
  readonly level?: string;
  readonly name?: string;
  /** Where to write; defaults to stdout. Tests pass a stream to read what was logged. */
  readonly destination?: NodeJS.WritableStream;
  /** On stdout: `json`, `pretty`, or (unset) pretty on a terminal and JSON elsewhere. */
  readonly format?: LogFormat;
  /** Colours in the pretty form on a terminal; default true (false for NO_COLOR). */
  readonly color?: boolean;
}

/**
 * Free text from outside (a source's error message) may quote a person's number: every run of 11
 * digits (with or without the usual separators) is masked but for its last three digits.
 */
export function maskNissIn(text: string): string {
  return text.replace(/\b\d{2}[.\s]?\d{2}[.\s]?\d{2}[-.\s]?\d{3}[.\s]?\d{2}\b/g, (m) => `********${m.replace(/\D/g, '').slice(-3)}`);
}

/**
 * JSON lines by default (for log shippers); human-readable through pino-pretty when the format is
 * `pretty`, or when stdout is a terminal and the format is not `json`. The caller passes what the
 * environment says (src/app/settings.ts): this module reads no environment.
 */
function defaultDestination(format: LogFormat | undefined, color: boolean): NodeJS.WritableStream {
  if (format === 'pretty' || (format !== 'json' && process.stdout.isTTY)) {
    return pretty({ colorize: process.stdout.isTTY && color, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' });
  }
  return process.stdout;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      name: options.name ?? 'bcss',
      level: options.level ?? 'info',
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination ?? defaultDestination(options.format, options.color ?? true),
  );
}

/** A logger that writes nothing, for library use where the caller gave none. */
export const silentLogger: Logger = pino({ level: 'silent' });
