import { Command, InvalidArgumentError, Option } from 'commander';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { topicNames } from '../src/messaging/topics.js';
import { runTransactionalPipeline } from '../src/messaging/transactional-pipeline.js';
import { createBenchLogger } from './bench-logger.js';
import { connectRuntime, probeStack } from './environment.js';
import { stackStatus } from '../src/stack/local-stack.js';
import { cpuReport, sampleCpu, type CpuSample } from './cpu-accounting.js';
import { summarizeLatencies } from './stats.js';

/**
 * A side experiment of the benchmark (`npx tsx bench/pickup-latency.ts`), not part of `npm run bench`:
 * how long a message waits before a transactional pipeline takes it up, as a function of how many
 * partitions the pipeline works on at once. The gateway's stages take each of their partitions in
 * turn, one transaction each, so a message waits for the transactions of the other partitions of
 * the same fetch; `--delay` stands for the Redis round trips of the gateway's transforms.
 *
 * Two requests topics of `--partitions` partitions each (as in the benchmark: ONVA's
 * consultation-requests topic — 19/010 §37, it asks through DOLSIS — and MAGDA's requests topic) are fed
 * at `--rate` messages/s; the transform forwards them and records `taken up − produced` (the
 * message's Kafka timestamp, same machine). With `--no-pipeline` nothing consumes: the broker's CPU
 * is then that of the producing alone, and the difference that of the pipeline's transactions. Its
 * topics are deleted at the end.
 */
function positiveInt(text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) throw new InvalidArgumentError('a whole number');
  return value;
}

const options = new Command('pickup-latency')
  .addOption(new Option('--concurrency <n>', 'partitions consumed concurrently').argParser(positiveInt).default(1))
  .addOption(new Option('--partitions <n>', 'partitions per input topic').argParser(positiveInt).default(4))
  .addOption(new Option('--delay <ms>', 'time the transform waits (the gateway awaits Redis twice per chunk)').argParser(positiveInt).default(0))
  .addOption(new Option('--rate <n>', 'messages per second').argParser(positiveInt).default(1_000))
  .addOption(new Option('--duration <s>', 'seconds measured after 3 s of warm-up').argParser(positiveInt).default(10))
  .option('--no-pipeline', 'only produce (the broker CPU of the producing alone)')
  .parse(process.argv)
  .opts<{ concurrency: number; partitions: number; delay: number; rate: number; duration: number; pipeline: boolean }>();

const { logger, concurrentTransactionRetries } = createBenchLogger('pickup-latency');
const runtime = await connectRuntime(logger);
await probeStack(runtime);
const topics = topicNames(`bench-${randomBytes(3).toString('hex')}-x`);
const inputs = [topics.consultationRequests('onva'), topics.requests('magda')];
const output = topics.sourceRequests('onss');
const admin = await runtime.client.admin();
const specs = [...inputs, output].map((topic) => ({ topic, partitions: options.partitions }));
try {
  await admin.ensureTopics(specs);
  for (const spec of specs) await admin.topicOffsets(spec.topic);
  const pickup: number[] = [];
  let measuring = false;
  const kafkaPid = runtime.source === 'local stack' ? stackStatus().kafkaPid : null;
  const pipeline = !options.pipeline ? null : await runTransactionalPipeline({
    client: runtime.client,
    groupId: `${topics.prefix}.pipeline`,
    // As the gateway's request stage subscribes: both kinds of requests topics.
    topics: [topics.patterns.requests, topics.patterns.consultationRequests],
    transactionalIdPrefix: `${topics.prefix}.pipeline`,
    logger,
    partitionsConsumedConcurrently: options.concurrency,
    transform: async (messages) => {
      const now = Date.now();
      if (measuring) for (const m of messages) pickup.push(now - Number(m.timestamp));
      if (options.delay > 0) await new Promise((resolve) => setTimeout(resolve, options.delay));
      return { records: messages.map((m) => ({ topic: output, key: m.key, value: m.value })) };
    },
  });
  const producer = await runtime.client.producer();
  const start = performance.now();
  const end = start + (3 + options.duration) * 1000;
  let sent = 0;
  let cpuStart: CpuSample | null = null;
  const sample = () => sampleCpu([{ name: 'pipeline', seconds: process.cpuUsage().user / 1e6 + process.cpuUsage().system / 1e6 }, ...(kafkaPid === null ? [] : [{ name: 'kafka', pid: kafkaPid }])]);
  while (performance.now() < end) {
    if (!measuring && performance.now() - start >= 3_000) cpuStart = sample();
    measuring = performance.now() - start >= 3_000;
    const due = Math.floor(((performance.now() - start) * options.rate) / 1000) - sent;
    if (due <= 0) {
      await new Promise((resolve) => setTimeout(resolve, 1));
      continue;
    }
    const messages = Array.from({ length: due }, (_, i) => ({ key: `k${sent + i}`, value: Buffer.alloc(200, 120) }));
    const half = Math.ceil(due / 2);
    await Promise.all([producer.send(inputs[0] as string, messages.slice(0, half)), producer.send(inputs[1] as string, messages.slice(half))]);
    sent += due;
  }
  measuring = false;
  const cpu = cpuStart === null ? null : cpuReport(cpuStart, sample(), Math.round(options.duration * options.rate));
  await producer.disconnect();
  await pipeline?.stop();
  process.stdout.write(
    `${JSON.stringify({
      pipeline: options.pipeline,
      concurrency: options.concurrency,
      partitions: 2 * options.partitions,
      delay_ms: options.delay,
      rate: options.rate,
      pickup: summarizeLatencies(pickup),
      cores: cpu ? Object.fromEntries(Object.entries(cpu.byProcess).map(([name, share]) => [name, share.cores])) : null,
      concurrent_transaction_retries: concurrentTransactionRetries(),
    })}\n`,
  );
} finally {
  await admin.deleteTopics(specs.map((s) => s.topic)).catch(() => undefined);
  await admin.disconnect();
}
process.exit(0);
