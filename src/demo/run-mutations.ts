/**
 * The demo's changes on Kafka: the subscribers' mutations topics watched (each as its institution, from
 * the end they had before anything is published; a relayed subscriber's changes on its relay's topic, as
 * the relay, each naming the institution it is for), the changes published by the simulated sources (each
 * as its source), and what each subscriber received compared with what it should have.
 *
 * Positive expectations end the wait as soon as they are met; the "nothing" ones then get a short quiet
 * time more. That is enough because of how the scenarios are built (see `mutationScenarios` in
 * scenarios.ts): every change expected to reach nobody is decided no later than a change that reaches
 * someone.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Settings } from '../app/settings.js';
import { loadCatalogue } from '../config/load-catalogue.js';
import { payloadRecordNames } from '../config/payload-records.js';
import { SCHEMA_DIR } from '../config/project-paths.js';
import type { IsoDate } from '../domain/types.js';
import type { Logger } from '../logging/logger.js';
import type { AvroCodec } from '../messaging/avro-codec.js';
import { createKafkaClient } from '../messaging/kafka-client.js';
import type { TopicNames } from '../messaging/topics.js';
import { createMutationPublisher, listenToMutations, type MutationListener, type ReceivedMutation } from '../sources/mutation-publisher.js';
import { simulatedMutation } from '../sources/mutation-simulator.js';
import { createSyntheticPopulation } from '../sources/synthetic-population.js';
import { principalConnection } from '../stack/principal-connection.js';
import { demoChanges, NOTHING, presentFieldsOf, type DemoChange, type DemoOutcome, type DemoScenario } from './scenarios.js';

/** How long the changes expected somewhere may take to arrive. */
export const DEFAULT_MUTATION_WAIT_MS = 20_000;
/** After the last expected delivery: time for one that should not come to show up anyway. */
export const DEFAULT_MUTATION_QUIET_MS = 1_500;
const CLOSE_WAIT_MS = 1_000;

export interface MutationRunOptions {
  /** Where the catalogue is, and how each principal connects. */
  readonly settings: Settings;
  readonly topics: TopicNames;
  readonly codec: AvroCodec;
  readonly logger: Logger;
  readonly today: IsoDate;
  readonly waitMs?: number;
  readonly quietMs?: number;
  /** Default: the epoch milliseconds of the call; each change is stamped when it is built. */
  readonly now?: () => number;
}

export interface MutationRun {
  /** Publishes the changes in order and waits for the deliveries; outcomes by scenario number. Never rejects. */
  run(signal?: AbortSignal): Promise<Map<number, DemoOutcome>>;
  close(): Promise<void>;
}

function mutationScenariosOf(scenarios: readonly DemoScenario[]): Array<DemoScenario & { send: { kind: 'mutation'; change: DemoChange } }> {
  return scenarios.filter((s): s is DemoScenario & { send: { kind: 'mutation'; change: DemoChange } } => s.send.kind === 'mutation');
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Opens the listeners of every subscriber the scenarios watch, before anything is published; each
 * resolves once its consumer has joined, so that "nothing received" means nothing was delivered.
 */
export async function openMutationRun(scenarios: readonly DemoScenario[], options: MutationRunOptions): Promise<MutationRun> {
  const { settings, topics, codec, logger } = options;
  const now = options.now ?? Date.now;
  const waitMs = options.waitMs ?? DEFAULT_MUTATION_WAIT_MS;
  const quietMs = options.quietMs ?? DEFAULT_MUTATION_QUIET_MS;
  const watched = mutationScenariosOf(scenarios);
  // This run's changes only: another run, or `npm start`'s users, may publish on the same topics.
  const runId = randomBytes(4).toString('hex');
  const mutationIdOf = (change: DemoChange): string => `demo-${runId}-${change.key}`;

  const received = new Map<string, ReceivedMutation[]>();
  const wakers = new Set<() => void>();
  const listeners: MutationListener[] = [];
  const catalogue = loadCatalogue(join(settings.configDir, 'catalogue'), { schemasDir: SCHEMA_DIR });
  const publisher = createMutationPublisher({
    clientFor: (principal) => createKafkaClient(principalConnection(principal, { settings }), logger),
    codec,
    topics,
    payloadRecords: payloadRecordNames(catalogue, SCHEMA_DIR),
  });
  const close = async (): Promise<void> => {
    const closing = Promise.allSettled([...listeners.splice(0).map((l) => l.close()), publisher.close()]);
    // What had to arrive is in: leaving the consumer groups can wait for a fetch in progress, the
    // person running the demo should not.
    await Promise.race([closing, new Promise((resolve) => setTimeout(resolve, CLOSE_WAIT_MS).unref())]);
  };

  const subscribers = [...new Set(watched.map((s) => s.requester))];
  const opening = await Promise.allSettled(
    subscribers.map(async (institution) => {
      const listener = await listenToMutations({
        client: createKafkaClient(principalConnection(institution, { settings }), logger),
        codec,
        topics,
        institution,
        purpose: 'demo',
        onMutation: (mutation) => {
          if (!mutation.record.mutationId.startsWith(`demo-${runId}-`)) return;
          // Through a relay (MAGDA for VAPH, 10/012 §9), the change names the institution it is for.
          const key = `${institution}\u0000${mutation.record.onBehalfOf ?? institution}\u0000${mutation.record.mutationId}`;
          received.set(key, [...(received.get(key) ?? []), mutation]);
          for (const wake of wakers) wake();
        },
      });
      listeners.push(listener);
    }),
  );
  const failed = opening.find((o): o is PromiseRejectedResult => o.status === 'rejected');
  if (failed) {
    await close();
    throw failed.reason;
  }

  const receivedBy = (scenario: (typeof watched)[number]): ReceivedMutation[] =>
    received.get(`${scenario.requester}\u0000${scenario.beneficiary ?? scenario.requester}\u0000${mutationIdOf(scenario.send.change)}`) ?? [];

  return {
    close,
    async run(signal) {
      const outcomes = new Map<number, DemoOutcome>();
      const notPublished = new Map<string, string>();
      const population = createSyntheticPopulation();
      // In order, through one producer per source: a person's changes of a source keep their order.
      for (const change of demoChanges(watched)) {
        if (signal?.aborted) {
          notPublished.set(change.key, 'not published: the demo was interrupted');
          continue;
        }
        try {
          const simulated = simulatedMutation(change.kind, population, {
            now: now(),
            niss: change.subject.niss,
            ...(change.employer === null ? {} : { employer: change.employer }),
            ...(change.effectiveDate === null ? {} : { effectiveDate: change.effectiveDate }),
            mutationId: mutationIdOf(change),
          });
          await publisher.publish(simulated);
        } catch (error) {
          notPublished.set(change.key, `not published: ${errorText(error)}`);
        }
      }

      const expectedSomewhere = watched.filter((s) => s.expected.status !== NOTHING && !notPublished.has(s.send.change.key));
      const allArrived = (): boolean => expectedSomewhere.every((s) => receivedBy(s).length > 0);
      const pause = (ms: number, until?: () => boolean): Promise<void> =>
        new Promise((resolve) => {
          const done = () => {
            clearTimeout(timer);
            wakers.delete(wake);
            signal?.removeEventListener('abort', done);
            resolve();
          };
          const wake = () => {
            if (until?.()) done();
          };
          const timer = setTimeout(done, ms);
          wakers.add(wake);
          signal?.addEventListener('abort', done, { once: true });
          if (signal?.aborted) done();
          else wake();
        });
      await pause(waitMs, allArrived);
      if (!signal?.aborted) await pause(quietMs);

      for (const scenario of watched) {
        const key = scenario.send.change.key;
        const got = receivedBy(scenario);
        const first = got[0];
        if (first === undefined) {
          const why = notPublished.get(key) ?? (scenario.expected.status === NOTHING ? undefined : `nothing within ${waitMs / 1000} s`);
          outcomes.set(scenario.number, {
            status: NOTHING,
            bcssCode: null,
            ticket: null,
            message: null,
            newNiss: null,
            deliveredBlocks: [],
            removedBlocks: [],
            removedFields: [],
            effectivePeriods: [],
            ...(why === undefined ? {} : { error: why }),
            durationMs: 0,
          });
          continue;
        }
        const m = first.record;
        const service = catalogue.services.get(m.service);
        outcomes.set(scenario.number, {
          // Delivered twice would break the switch's exactly-once promise: shown, and not as expected.
          status: got.length === 1 ? m.form : `${m.form} ×${got.length}`,
          bcssCode: null,
          ticket: m.ticket,
          message: null,
          newNiss: m.newNiss,
          deliveredBlocks: m.deliveredBlocks,
          removedBlocks: m.removedBlocks,
          removedFields: m.removedFields,
          // What the subscriber can read of the change, whatever the switch reports withheld.
          ...(first.payload !== null && first.payload !== undefined && service ? { presentFields: presentFieldsOf(service, first.payload) } : {}),
          effectivePeriods: [{ from: m.effectiveDate, to: m.effectiveDate }],
          // From the source's publication to the switch's delivery.
          durationMs: Math.max(0, Math.round(m.deliveredAt - m.emittedAt)),
        });
      }
      return outcomes;
    },
  };
}
