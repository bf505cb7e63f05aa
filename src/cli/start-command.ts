import type { Command } from 'commander';
import { startDirectoryPipelines } from '../gateway/directory-pipelines.js';
import { topicSpecs } from '../gateway/topology.js';
import { createRuntime } from './runtime.js';

export function registerStartCommand(program: Command): void {
  program
    .command('start')
    .description('run the gateway; without KAFKA_BROKERS / REDIS_URL it starts the local stack first')
    .action(async () => {
      const runtime = await createRuntime({ startStack: true });
      const log = runtime.logger.child({ module: 'start' });
      const admin = await runtime.client.admin();
      const created = await admin.ensureTopics(topicSpecs(runtime.topics, runtime.institutions));
      await admin.disconnect();
      const redis = runtime.redis('background');
      const directory = await startDirectoryPipelines({
        client: runtime.client,
        codec: runtime.codec,
        topics: runtime.topics,
        store: runtime.directoryStore(redis),
        logger: runtime.logger,
      });
      log.info(
        {
          kafka: runtime.kafka.brokers,
          from: runtime.source,
          topicsCreated: created.length,
          services: runtime.catalogue.services.size,
          deliberations: runtime.deliberations.map((d) => d.number),
        },
        `gateway running: directory commands on topics matching ${runtime.topics.patterns.directory.source}, answers on each institution's replies topic`,
      );
      let stopping = false;
      const stop = async (signal: string) => {
        if (stopping) return;
        stopping = true;
        log.info({ signal }, 'stopping');
        await directory.stop();
        redis.disconnect();
        process.exit(0);
      };
      process.once('SIGINT', () => void stop('SIGINT'));
      process.once('SIGTERM', () => void stop('SIGTERM'));
    });
}
