/**
 * `bcss demo` (npm run demo): the seed scenarios replayed through the switch as each institution would
 * see them, printed as a table (or JSON with --json). Exit code 0 only when every outcome is the
 * expected one, 1 otherwise (the differences are listed under the table) or when the switch could not
 * be reached or started.
 */
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname, isAbsolute, join, relative } from 'node:path';
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { loadSettings, settingsLogger, type Settings } from '../app/settings.js';
import { allAsExpected, renderJson, renderSummary, renderTable } from '../demo/demo-table.js';
import { DEFAULT_DEMO_TIMEOUT_MS, runDemo, type DemoProgress } from '../demo/run-demo.js';

export interface DemoCommandOptions {
  readonly json?: boolean;
  readonly ownGateway?: boolean;
  readonly timeout: string;
}

export interface DemoCommandIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  /** The environment the settings are read from (src/app/settings.ts); default the process's. */
  readonly env?: NodeJS.ProcessEnv;
}

export const DEMO_EXIT = { asExpected: 0, differs: 1 } as const;

export function demoLogFile(stackDir: string): string {
  return join(stackDir, 'logs', 'demo.log');
}

/** The lists' progress, counted in entries received, on stderr so that stdout stays the table or the JSON. */
function listsProgress(stream: NodeJS.WritableStream): DemoProgress {
  let bar: cliProgress.SingleBar | undefined;
  let lists = 0;
  return {
    listsStarted(entries, quarters) {
      lists = 0;
      bar = new cliProgress.SingleBar(
        {
          stream,
          format: ' INAMI → ONSS quarterly lists [{bar}] {value}/{total} entries, {lists}/{quarters} lists',
          formatValue: (value, _options, type) => (type === 'value' || type === 'total' ? value.toLocaleString('en-US') : String(value)),
          // In a log file: a line now and then instead of a bar redrawn in place.
          noTTYOutput: true,
          notTTYSchedule: 2000,
          hideCursor: true,
        },
        cliProgress.Presets.shades_classic,
      );
      bar.start(entries, 0, { lists, quarters });
    },
    listReceived(entries) {
      lists++;
      bar?.increment(entries, { lists });
    },
    listsDone() {
      bar?.stop();
      bar = undefined;
    },
  };
}

function closeLog(stream: WriteStream): Promise<void> {
  return new Promise((resolve) => stream.end(() => resolve()));
}

/** Runs the demo and returns its exit code; never throws. */
export async function runDemoCommand(options: DemoCommandOptions, io: DemoCommandIo, signal?: AbortSignal): Promise<number> {
  const timeoutMs = Number(options.timeout);
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) {
    io.stderr.write(`bcss demo: --timeout: a positive number of milliseconds, not "${options.timeout}"\n`);
    return DEMO_EXIT.differs;
  }
  let settings: Settings;
  try {
    settings = loadSettings(io.env);
  } catch (error) {
    io.stderr.write(`bcss demo: ${error instanceof Error ? error.message : String(error)}\n`);
    return DEMO_EXIT.differs;
  }
  // The switch this run may start and the clients log a lot (kafkajs included): to a file, so that
  // the terminal shows the demo only.
  const logFile = demoLogFile(settings.stackDir);
  mkdirSync(dirname(logFile), { recursive: true });
  const logStream = createWriteStream(logFile, { flags: 'w' });
  const logger = settingsLogger(settings, { level: 'info', destination: logStream });
  // With --json, stdout carries the JSON alone.
  const lines = options.json ? io.stderr : io.stdout;
  const inside = relative(process.cwd(), logFile);
  const shownLogFile = inside === '' || inside.startsWith('..') || isAbsolute(inside) ? logFile : inside;
  try {
    const report = await runDemo({
      settings,
      gateway: options.ownGateway ? 'own' : 'auto',
      logger,
      logFile: shownLogFile,
      requestTimeoutMs: timeoutMs,
      progress: { announce: (line) => lines.write(`${line}\n`), ...listsProgress(io.stderr) },
      ...(signal ? { signal } : {}),
    });
    if (options.json) {
      io.stdout.write(renderJson(report));
    } else {
      io.stdout.write(`\n${renderTable(report.results)}\n${renderSummary(report)}`);
    }
    return allAsExpected(report.results) ? DEMO_EXIT.asExpected : DEMO_EXIT.differs;
  } catch (error) {
    logger.error({ err: error }, 'the demo could not run');
    io.stderr.write(`bcss demo: ${error instanceof Error ? error.message : String(error)} (details in ${shownLogFile})\n`);
    return DEMO_EXIT.differs;
  } finally {
    await closeLog(logStream);
  }
}

export function registerDemoCommand(
  program: Command,
  io: DemoCommandIo = { stdout: process.stdout, stderr: process.stderr },
): void {
  program
    .command('demo')
    .description(
      'replay the seed scenarios through the switch (the running `npm start`, or one started for the run) and print ' +
        'what each institution gets; exit 0 only if every outcome is the expected one',
    )
    .option('--json', 'print the results as JSON')
    .option('--own-gateway', 'start a switch for this run even when `npm start` runs')
    .option('--timeout <ms>', 'how long to wait for each reply', String(DEFAULT_DEMO_TIMEOUT_MS))
    .action(async (options: DemoCommandOptions) => {
      const controller = new AbortController();
      // A first Ctrl-C stops what this run started before leaving; a second one leaves at once.
      process.once('SIGINT', () => {
        io.stderr.write('\nbcss demo: interrupted; closing the clients and stopping what this run started\n');
        controller.abort();
      });
      const code = await runDemoCommand(options, io, controller.signal);
      process.exit(code);
    });
}
