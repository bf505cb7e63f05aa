import type { Command } from 'commander';
import { loadSettings, settingsLogger } from '../app/settings.js';
import { stackDown, stackStatus, stackUp, StackError } from '../stack/local-stack.js';

export function registerStackCommands(program: Command): void {
  const stack = program.command('stack').description('the local real stack: Kafka (KRaft, SASL/SCRAM, ACLs) and Redis (AOF)');

  stack
    .command('up')
    .description('start the local Kafka broker and Redis (reuses what already runs), then print the connection')
    .action(async () => {
      const settings = loadSettings();
      const logger = settingsLogger(settings, { level: 'warn' });
      try {
        const started = Date.now();
        const result = await stackUp({ logger, stackDir: settings.stackDir, kafkaHeap: settings.kafkaHeap });
        const what = (flag: boolean) => (flag ? 'started' : 'already running');
        console.log(`kafka  ${result.kafka.brokers.join(',')}  (${what(result.started.kafka)})`);
        console.log(`redis  ${result.redisUrl.replace(/:[^:@/]*@/, ':***@')}  (${what(result.started.redis)})`);
        console.log(`connection written to ${result.stackDir}/connection.env (ready in ${((Date.now() - started) / 1000).toFixed(1)} s)`);
      } catch (error) {
        if (error instanceof StackError) {
          console.error(`stack up failed: ${error.message}`);
          process.exitCode = 1;
          return;
        }
        throw error;
      }
    });

  stack
    .command('down')
    .description('stop exactly the processes that `stack up` started')
    .action(async () => {
      const { stopped } = await stackDown({ stackDir: loadSettings().stackDir });
      console.log(stopped.length ? `stopped ${stopped.join(' and ')}` : 'nothing of ours was running');
    });

  stack
    .command('status')
    .description('show whether the local broker and Redis run')
    .action(() => {
      const status = stackStatus(loadSettings().stackDir);
      console.log(`kafka  ${status.kafkaPid ? `running (pid ${status.kafkaPid})` : 'stopped'}`);
      console.log(`redis  ${status.redisPid ? `running (pid ${status.redisPid})` : 'stopped'}`);
    });
}
