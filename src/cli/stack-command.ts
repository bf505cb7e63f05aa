import type { Command } from 'commander';
import { loadSettings, settingsLogger } from '../app/settings.js';
import { clusterStackDown, clusterStackUp, clusterStatus } from '../stack/cluster-stack.js';
import { stackDown, stackStatus, stackUp, StackError } from '../stack/local-stack.js';

export function registerStackCommands(program: Command): void {
  const stack = program.command('stack').description('the local real stack: Kafka (KRaft, SASL/SCRAM, ACLs), Redis (AOF) and PostgreSQL (the audit index)');

  stack
    .command('up')
    .description('start the local Kafka broker, Redis and PostgreSQL (reuses what already runs), then print the connection')
    .option('--cluster', 'a cluster instead: three Kafka nodes (KRaft) and a Redis Cluster of three masters with a replica each')
    .action(async (options: { cluster?: boolean }) => {
      const settings = loadSettings();
      const logger = settingsLogger(settings, { level: 'warn' });
      try {
        const started = Date.now();
        if (options.cluster) {
          const result = await clusterStackUp({ logger, stackDir: settings.stackDir, kafkaHeap: settings.kafkaHeap });
          const what = (n: number, of: number) => (n === 0 ? 'already running' : n === of ? 'started' : `${n} of ${of} started`);
          console.log(`kafka  ${result.kafka.brokers.join(',')}  (${what(result.started.kafka, result.kafka.brokers.length)})`);
          console.log(`redis  ${result.redisUrl.replace(/:[^:@/]*@/, ':***@')}  (${what(result.started.redis, 6)})`);
          console.log(
            result.auditIndexUrl
              ? `postgres  ${result.auditIndexUrl.replace(/:[^:@/]*@/, ':***@')}  (${result.started.postgres ? 'started' : 'already running'})`
              : 'postgres  not installed: no audit index (audit search scans)',
          );
          console.log(`connection written to ${result.connectionEnv} (ready in ${((Date.now() - started) / 1000).toFixed(1)} s)`);
          return;
        }
        const result = await stackUp({ logger, stackDir: settings.stackDir, kafkaHeap: settings.kafkaHeap });
        const what = (flag: boolean) => (flag ? 'started' : 'already running');
        console.log(`kafka  ${result.kafka.brokers.join(',')}  (${what(result.started.kafka)})`);
        console.log(`redis  ${result.redisUrl.replace(/:[^:@/]*@/, ':***@')}  (${what(result.started.redis)})`);
        console.log(
          result.auditIndexUrl
            ? `postgres  ${result.auditIndexUrl.replace(/:[^:@/]*@/, ':***@')}  (${what(result.started.postgres)})`
            : 'postgres  not installed: no audit index (audit search scans)',
        );
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
    .description('stop exactly the processes that `stack up` (and `stack up --cluster`) started')
    .action(async () => {
      const { stackDir } = loadSettings();
      const [single, cluster] = await Promise.all([stackDown({ stackDir }), clusterStackDown(stackDir)]);
      const stopped = [...single.stopped, ...cluster.stopped];
      console.log(stopped.length ? `stopped ${stopped.join(', ')}` : 'nothing of ours was running');
    });

  stack
    .command('status')
    .description('show whether the local broker and Redis run')
    .action(() => {
      const { stackDir } = loadSettings();
      const status = stackStatus(stackDir);
      const state = (pid: number | null) => (pid ? `running (pid ${pid})` : 'stopped');
      console.log(`kafka  ${state(status.kafkaPid)}`);
      console.log(`redis  ${state(status.redisPid)}`);
      console.log(`postgres  ${state(status.postgresPid)}`);
      const cluster = clusterStatus(stackDir);
      if (!cluster) return;
      for (const k of cluster.kafka) console.log(`cluster kafka node ${k.nodeId} (port ${k.port})  ${state(k.pid)}`);
      for (const r of cluster.redis) console.log(`cluster redis ${r.port}  ${state(r.pid)}`);
    });
}
