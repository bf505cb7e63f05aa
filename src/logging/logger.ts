import { pino, type Logger } from 'pino';

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

export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      name: options.name ?? 'bcss',
      level: options.level ?? process.env.LOG_LEVEL ?? 'info',
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination ?? process.stdout,
  );
}

/** A logger that writes nothing, for library use where the caller gave none. */
export const silentLogger: Logger = pino({ level: 'silent' });
