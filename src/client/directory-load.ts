import { randomUUID } from 'node:crypto';
import cliProgress from 'cli-progress';
import type { AvroCodec } from '../messaging/avro-codec.js';
import type { KafkaClient } from '../messaging/kafka-client.js';
import type { TopicNames } from '../messaging/topics.js';
import { createDirectoryClient } from './directory-client.js';
import { readDirectoryCsv } from './directory-csv.js';

export interface DirectoryLoadReport {
  readonly lines: number;
  readonly bad: Array<{ line: number; reason: string }>;
  readonly published: number;
  readonly applied: number;
  /** Commands the gateway refused (line number and code), e.g. a rule only the gateway can check. */
  readonly refused: Array<{ line: number; status: string; message: string }>;
}

/**
 * Loads a CSV file of integrations for one institution: checks every line, publishes the good ones on
 * the institution's directory topic with a progress bar, then waits until the gateway acknowledged
 * each of them (a second bar), so that "loaded" means applied.
 */
export async function loadDirectoryFile(deps: {
  client: KafkaClient;
  codec: AvroCodec;
  topics: TopicNames;
  institution: string;
  file: string;
  progress?: NodeJS.WritableStream;
  timeoutMs?: number;
}): Promise<DirectoryLoadReport> {
  const runId = `load-${randomUUID().slice(0, 8)}`;
  const { commands, bad, lines } = await readDirectoryCsv(deps.file, deps.institution, runId);
  const directory = await createDirectoryClient(deps);
  const stream = deps.progress ?? process.stderr;
  const bars = new cliProgress.MultiBar(
    { stream, format: ' {task} [{bar}] {value}/{total} ({percentage}%)', noTTYOutput: true, notTTYSchedule: 2000, hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  const refused: DirectoryLoadReport['refused'] = [];
  let applied = 0;
  let acked = 0;
  let allAcked!: () => void;
  const done = new Promise<void>((resolve) => (allAcked = resolve));
  const ackBar = bars.create(commands.length, 0, { task: 'applied  ' });
  try {
    await directory.listen((ack) => {
      if (!ack.commandId?.startsWith(`${runId}:`)) return;
      acked++;
      if (ack.status === 'OK') applied++;
      else refused.push({ line: Number(ack.commandId.slice(runId.length + 1)), status: ack.status, message: ack.message });
      ackBar.update(acked);
      if (acked >= commands.length) allAcked();
    });
    const sendBar = bars.create(commands.length, 0, { task: 'published' });
    const chunk = 5000;
    for (let i = 0; i < commands.length; i += chunk) {
      await directory.publish(commands.slice(i, i + chunk));
      sendBar.update(Math.min(i + chunk, commands.length));
    }
    if (commands.length === 0) allAcked();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      done,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`only ${acked} of ${commands.length} commands were acknowledged in time; is the gateway running?`)),
          deps.timeoutMs ?? 600_000,
        );
      }),
    ]).finally(() => clearTimeout(timer));
    return { lines, bad, published: commands.length, applied, refused: refused.sort((a, b) => a.line - b.line) };
  } finally {
    bars.stop();
    await directory.close();
  }
}
