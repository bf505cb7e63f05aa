import type { Command } from 'commander';
import { removeGatewayMarker, writeGatewayMarker } from '../app/gateway-marker.js';
import { launchSwitch, type LaunchedSwitch } from '../app/launch.js';
import { createRuntime } from '../app/runtime.js';
import { loadSettings } from '../app/settings.js';
import { stackDown } from '../stack/local-stack.js';

export function registerStartCommand(program: Command): void {
  program
    .command('start')
    .description('run the gateway; without KAFKA_BROKERS / REDIS_URL it starts the local stack, the source simulators and the sample directory')
    .option('--simulators', 'run the authentic-source simulators (default with the local stack)')
    .option('--no-simulators', 'do not run the authentic-source simulators')
    .option('--no-sample-directory', 'do not load the sample reference directory')
    .option('--no-acl', 'do not provision the ACLs computed from config/ (the principal may lack the right to)')
    .option('--no-sealer', 'do not run the audit sealer (it needs BCSS_AUDIT_SEAL_KEY outside the local stack)')
    .option('--keep-stack', 'leave the local stack running on Ctrl-C')
    .action(async (options: { simulators?: boolean; sampleDirectory: boolean; acl: boolean; sealer: boolean; keepStack?: boolean }) => {
      const settings = loadSettings();
      const runtime = await createRuntime({ startStack: true, settings });
      const log = runtime.logger.child({ module: 'start' });
      const local = runtime.source === 'local stack';
      const withSimulators = options.simulators ?? local;
      let launched: LaunchedSwitch | null = null;
      let stopping = false;
      const stop = async (signal: string, code = 0) => {
        if (stopping) return;
        stopping = true;
        log.info({ signal }, 'stopping');
        await launched?.stop();
        removeGatewayMarker(settings.stackDir);
        if (runtime.startedStack && !options.keepStack) {
          const { stopped } = await stackDown({ stackDir: settings.stackDir });
          log.info({ stopped }, 'local stack stopped');
        }
        process.exit(code);
      };
      process.once('SIGINT', () => void stop('SIGINT'));
      process.once('SIGTERM', () => void stop('SIGTERM'));

      try {
        launched = await launchSwitch(runtime, {
          simulators: withSimulators,
          sampleDirectory: options.sampleDirectory && local,
          acl: options.acl,
          sealer: options.sealer,
        });
        const { sampleIntegrations: integrated, sourceTimeoutMs } = launched;
        writeGatewayMarker(settings.stackDir, {
          pid: process.pid,
          topicPrefix: runtime.topics.prefix,
          source: runtime.source,
          simulators: withSimulators,
          startedAt: new Date().toISOString(),
        });
        log.info(
          {
            kafka: runtime.kafka.brokers,
            from: runtime.source,
            services: runtime.catalogue.services.size,
            deliberations: runtime.deliberations.map((d) => d.number),
            simulators: withSimulators,
            sampleIntegrations: integrated,
            sourceTimeoutMs,
          },
          `gateway running: publish requests on ${runtime.topics.prefix}.<institution>.requests (e.g. npx bcss request --as magda ...), ` +
            `directory commands on ${runtime.topics.prefix}.<institution>.directory; answers arrive on ${runtime.topics.prefix}.<institution>.replies. ` +
            'Try `npm run demo`. Ctrl-C stops everything.',
        );
      } catch (error) {
        log.error({ err: error }, 'the gateway could not start');
        await stop('start-failure', 1);
      }
    });
}
