import type { Command } from 'commander';
import { createDirectoryClient, newCommandId } from '../client/directory-client.js';
import { loadDirectoryFile } from '../client/directory-load.js';
import { parseEmployerId } from '../domain/employer-id.js';
import { parsePeriod } from '../domain/period.js';
import type { DirectoryAckRecord, DirectoryCommandRecord } from '../contract/directory-records.js';
import { rebuildDirectory } from '../gateway/directory-rebuild.js';
import { createRuntime, type Runtime } from '../app/runtime.js';
import { loadSettings, settingsLogger } from '../app/settings.js';

const quietRuntime = () => {
  const settings = loadSettings();
  return createRuntime({ settings, logger: settingsLogger(settings, { level: 'warn' }) });
};

function fail(message: string): never {
  console.error(message);
  process.exit(2);
}

async function sendOne(runtime: Runtime, institution: string, command: DirectoryCommandRecord, timeoutMs: number): Promise<DirectoryAckRecord> {
  const client = await createDirectoryClient({ client: runtime.client, codec: runtime.codec, topics: runtime.topics, institution });
  try {
    let answer!: (ack: DirectoryAckRecord) => void;
    const acked = new Promise<DirectoryAckRecord>((resolve) => (answer = resolve));
    await client.listen((ack) => ack.commandId === command.commandId && answer(ack));
    await client.publish([command]);
    let timer: NodeJS.Timeout | undefined;
    return await Promise.race([
      acked,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no acknowledgement within ${timeoutMs} ms: is the gateway running (npm start)?`)), timeoutMs);
      }),
    ]).finally(() => clearTimeout(timer));
  } finally {
    await client.close();
  }
}

function commandFrom(
  action: DirectoryCommandRecord['action'],
  options: { as: string; niss: string; capacity?: string; phase?: string; period?: string; employer?: string },
): DirectoryCommandRecord {
  let periodFrom: string | null = null;
  let periodTo: string | null = null;
  if (options.period) {
    const parsed = parsePeriod(options.period);
    if (!parsed.ok) fail(`--period: ${parsed.message}`);
    periodFrom = parsed.period.from;
    periodTo = parsed.period.to;
  }
  let employerKind: DirectoryCommandRecord['employerKind'] = null;
  let employerId: string | null = null;
  if (options.employer) {
    const employer = parseEmployerId('AUTO', options.employer);
    if (!employer.valid) fail(`--employer: ${employer.message}`);
    employerKind = employer.employer.kind;
    employerId = employer.employer.id;
  }
  return {
    commandId: newCommandId('cli'),
    institution: options.as,
    action,
    niss: options.niss.replace(/[.\-\s]/g, ''),
    capacity: options.capacity ?? null,
    phase: options.phase === undefined ? null : Number(options.phase),
    periodFrom,
    periodTo,
    employerKind,
    employerId,
    issuedAt: Date.now(),
  };
}

export function registerDirectoryCommands(program: Command): void {
  const directory = program.command('directory').description('the reference directory: who has integrated whom, for which period');

  const withCommon = (cmd: Command) =>
    cmd
      .requiredOption('--as <institution>', 'the institution integrating the person')
      .requiredOption('--niss <niss>', 'the person')
      .option('--employer <id>', 'bind to one employer (enterprise, ONSS or provisional ONSS number)')
      .option('--timeout <ms>', 'how long to wait for the acknowledgement', '30000');

  withCommon(directory.command('integrate').description('integrate a person for a period'))
    .requiredOption('--capacity <code>', 'capacity code (qualité), e.g. 12/10')
    .option('--phase <n>', 'phase', '1')
    .requiredOption('--period <period>', 'e.g. 2024-01-01.. (open), 2024Q1..2024Q4, 2024-01-01..2024-06-30')
    .action(async (options) => {
      const runtime = await quietRuntime();
      const ack = await sendOne(runtime, options.as, commandFrom('INTEGRATE', options), Number(options.timeout));
      console.log(JSON.stringify(ack));
      process.exit(ack.status === 'OK' ? 0 : 1);
    });

  withCommon(directory.command('deintegrate').description('end integrations: all, one capacity, or a period'))
    .option('--capacity <code>', 'only this capacity')
    .option('--period <period>', 'only these days')
    .action(async (options) => {
      const runtime = await quietRuntime();
      const ack = await sendOne(runtime, options.as, commandFrom('DEINTEGRATE', options), Number(options.timeout));
      console.log(JSON.stringify(ack));
      process.exit(ack.status === 'OK' ? 0 : 1);
    });

  directory
    .command('list')
    .description("a person's integration lines, as the gateway reads them")
    .requiredOption('--niss <niss>', 'the person')
    .option('--as <institution>', 'only this institution')
    .option('--json', 'JSON lines')
    .action(async (options) => {
      const runtime = await quietRuntime();
      const redis = runtime.redis('background');
      const lines = (await runtime.directoryStore(redis).read(options.niss.replace(/[.\-\s]/g, ''))).filter(
        (l) => !options.as || l.institution === options.as,
      );
      redis.disconnect();
      if (options.json) for (const line of lines) console.log(JSON.stringify(line));
      else {
        console.table(
          lines.map((l) => ({
            institution: l.institution,
            capacity: l.capacity,
            phase: l.phase,
            from: l.period.from,
            to: l.period.to ?? '(open)',
            employer: l.employer ? `${l.employer.kind} ${l.employer.id}` : '(any)',
            updatedAt: l.updatedAt,
          })),
        );
      }
      process.exit(0);
    });

  directory
    .command('load')
    .description('bulk-integrate from CSV (niss,capacity,phase,from,to,employer): bad lines reported with their number')
    .argument('<file>', 'CSV file')
    .requiredOption('--as <institution>', 'the institution integrating the persons')
    .option('--timeout <ms>', 'how long to wait for all acknowledgements', '600000')
    .action(async (file: string, options) => {
      const runtime = await quietRuntime();
      const report = await loadDirectoryFile({
        client: runtime.client, codec: runtime.codec, topics: runtime.topics, institution: options.as, file, timeoutMs: Number(options.timeout),
      });
      for (const bad of report.bad) console.error(`line ${bad.line}: ${bad.reason}`);
      for (const refused of report.refused) console.error(`line ${refused.line}: refused ${refused.status}: ${refused.message}`);
      console.log(
        `${report.lines} lines: ${report.applied} applied, ${report.bad.length} bad, ${report.refused.length} refused by the gateway`,
      );
      process.exit(report.bad.length + report.refused.length === 0 ? 0 : 1);
    });

  directory
    .command('rebuild')
    .description('restore the directory in Redis from the compacted changelog (after a Redis loss)')
    .option('--resume', 'continue from the changelog offsets a previous rebuild reached')
    .action(async (options) => {
      const runtime = await quietRuntime();
      const redis = runtime.redis('background');
      const started = Date.now();
      const { persons } = await rebuildDirectory({
        client: runtime.client, codec: runtime.codec, topics: runtime.topics, store: runtime.directoryStore(redis), resume: Boolean(options.resume),
      });
      redis.disconnect();
      console.log(`rebuilt ${persons} persons in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      process.exit(0);
    });
}
