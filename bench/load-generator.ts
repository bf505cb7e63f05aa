import { performance } from 'node:perf_hooks';
import type { ReplyRecord, SourceReplyRecord } from '../src/contract/exchange-records.js';
import { EXCHANGE_RECORD } from '../src/contract/names.js';
import type { AvroCodec } from '../src/messaging/avro-codec.js';
import type { InMessage, KafkaClient, MessageConsumer, MessageProducer, OutMessage } from '../src/messaging/kafka-client.js';
import type { TopicNames } from '../src/messaging/topics.js';
import { baselineMessage, gatewayAnswerTopics, gatewayMessage, type ExchangeKind, type LoadPlan, type Outgoing } from './load-plan.js';
import { summarizeLatencies, type LatencySummary } from './stats.js';

/**
 * The institutions' side of the measurement, in the benchmark's own process: it sends requests on
 * ONVA's consultation-requests topic (19/010 §37: consultation only) and MAGDA's requests topic, and
 * reads where they are answered: ONVA's consultations and MAGDA's replies topics from the gateway,
 * ONVA's replies topic from the bare relay. Every time is taken on this
 * process's one monotonic clock: a request's send time (for the open loop, the time its schedule
 * said it was due, so that a stalled producer shows as latency instead of hiding it) and the time
 * its reply was handed to this process by the consumer.
 *
 * Two ways to load the switch:
 * - closed loop (throughput): at most `window` exchanges in flight; a new request goes out as soon as
 *   a reply frees a place. The switch works flat out without an ever-growing backlog, and the figure
 *   is the replies received per second over the steady window.
 * - open loop (latency): requests at a fixed rate whatever the replies do; each request's end-to-end
 *   latency is reply received − request due.
 */
export type Target = 'gateway' | 'baseline';

export interface PhaseHooks {
  /** At the start and end of the steady window (after the warm-up): resource snapshots. */
  windowStart?(): Promise<void> | void;
  windowEnd?(): Promise<void> | void;
}

export interface PhaseResult {
  readonly mode: 'closed-loop' | 'open-loop';
  readonly window: number | null;
  readonly rate: number | null;
  readonly warmup_s: number;
  readonly duration_s: number;
  /** Requests sent during the steady window, per second. */
  readonly offered_eps: number;
  /** Replies received during the steady window, per second. */
  readonly eps: number;
  readonly replies_in_window: number;
  /** End-to-end latency of the requests sent during the steady window. */
  readonly latency: LatencySummary;
  /** Requests of the steady window still without a reply when the phase ended. */
  readonly unanswered: number;
  /** Replies of the steady window by exchange kind and status. */
  readonly statuses: Readonly<Record<string, number>>;
  readonly duplicates: number;
  /**
   * The end-to-end latency cut at the times the messages carry (wall clock, millisecond resolution,
   * all on this machine): the gateway's Reply says when its request and reply stages took the
   * exchange up, the relayed SourceReply when the source answered.
   */
  readonly segments: Readonly<Record<string, LatencySummary>>;
}

const MAX_BATCH = 500;

/** The cuts between an exchange's checkpoints (see PhaseResult.segments). */
const SEGMENTS: Readonly<Record<Target, readonly string[]>> = {
  gateway: [
    'sent → request stage takes it up',
    'request stage → reply stage takes the answer up (forward, source, back)',
    'reply stage → reply written (chunk, Redis claim)',
    'reply written → requester has it (commit, fetch)',
  ],
  baseline: [
    'sent → source answers (relay hop)',
    'source answers → relay writes the reply (source commit, relay hop)',
    'reply written → requester has it (commit, fetch)',
  ],
};

class Tracker {
  readonly sent: number[] = [];
  readonly received: number[] = [];
  /** Wall-clock checkpoints of each exchange: sent, the stamps its reply carries, received. */
  readonly sentWall: number[] = [];
  readonly checkpoints: number[][] = [];
  readonly kinds: ExchangeKind[] = [];
  readonly statuses: string[] = [];
  answered = 0;
  duplicates = 0;
  private waiters: Array<() => void> = [];

  constructor(readonly id: string) {}

  get inFlight(): number {
    return this.sent.length - this.answered;
  }

  onReply(seq: number, at: number, status: string, checkpoints: number[]): void {
    if (!(seq >= 0 && seq < this.sent.length)) return;
    if (this.received[seq] !== undefined) {
      this.duplicates++;
      return;
    }
    this.received[seq] = at;
    this.checkpoints[seq] = [this.sentWall[seq] as number, ...checkpoints];
    this.statuses[seq] = status;
    this.answered++;
  }

  wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** Resolves at the next batch of replies, or after `ms`. */
  nextReply(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class LoadGenerator {
  private producer: MessageProducer | null = null;
  private consumer: MessageConsumer | null = null;
  private readonly trackers = new Map<string, Tracker>();
  private phaseCount = 0;
  /** Replies that name no exchange of this generator (should stay 0). */
  strays = 0;

  constructor(
    private readonly deps: {
      readonly client: KafkaClient;
      readonly codec: AvroCodec;
      readonly topics: TopicNames;
      readonly plan: LoadPlan;
      readonly target: Target;
    },
  ) {}

  async start(): Promise<void> {
    const { client, topics } = this.deps;
    this.producer = await client.producer();
    this.consumer = await client.consumer({
      groupId: `${topics.prefix}.load-generator`,
      // The gateway answers each requester on its own answer topic (ONVA on its consultations topic: a
      // CONSULTATION_ONLY refusal on its replies topic would then show as unanswered); the relay sends
      // every reply to onva's replies topic.
      topics: this.deps.target === 'gateway' ? gatewayAnswerTopics(topics) : [topics.replies('onva'), topics.replies('magda')],
      fromBeginning: true,
    });
    await this.consumer.run(async (batch) => this.onReplies(batch.messages));
  }

  async stop(): Promise<void> {
    await Promise.allSettled([this.consumer?.disconnect(), this.producer?.disconnect()]);
  }

  private onReplies(messages: readonly InMessage[]): void {
    const at = performance.now();
    const wall = Date.now();
    const touched = new Set<Tracker>();
    for (const message of messages) {
      if (!message.value) continue;
      let id: string;
      let status: string;
      // The reply's Kafka timestamp is when its producer wrote it, inside the transaction.
      const written = Number(message.timestamp);
      let checkpoints: number[];
      if (this.deps.target === 'gateway') {
        const reply = this.deps.codec.decode<ReplyRecord>(EXCHANGE_RECORD.reply, message.value);
        id = reply.requestId;
        status = reply.status;
        checkpoints = [reply.receivedAt, reply.answeredAt, written, wall];
      } else {
        const reply = this.deps.codec.decode<SourceReplyRecord>(EXCHANGE_RECORD.sourceReply, message.value);
        id = reply.ticket;
        status = reply.status;
        checkpoints = [reply.answeredAt, written, wall];
      }
      const dot = id.indexOf('.');
      const tracker = this.trackers.get(id.slice(0, dot));
      if (tracker === undefined) {
        this.strays++;
        continue;
      }
      tracker.onReply(Number(id.slice(dot + 1)), at, status, checkpoints);
      touched.add(tracker);
    }
    for (const tracker of touched) tracker.wake();
  }

  private newTracker(): Tracker {
    const tracker = new Tracker(`p${++this.phaseCount}`);
    this.trackers.set(tracker.id, tracker);
    return tracker;
  }

  /** Sends `count` requests; `dueAt(i)` gives the i-th one's send time (default: now). */
  private async sendBatch(tracker: Tracker, count: number, dueAt?: (seq: number) => number): Promise<void> {
    const { codec, topics, plan, target } = this.deps;
    const byTopic = new Map<string, OutMessage[]>();
    const now = performance.now();
    const wallNow = Date.now();
    for (let i = 0; i < count; i++) {
      const seq = tracker.sent.length;
      const request = plan.next();
      const id = `${tracker.id}.${seq}`;
      const out: Outgoing =
        target === 'gateway' ? gatewayMessage(codec, topics, request, id, wallNow) : baselineMessage(codec, topics, plan, request, id, wallNow);
      tracker.sent.push(dueAt ? dueAt(seq) : now);
      tracker.sentWall.push(wallNow);
      tracker.kinds.push(request.kind);
      let list = byTopic.get(out.topic);
      if (!list) byTopic.set(out.topic, (list = []));
      list.push(out.message);
    }
    const producer = this.producer;
    if (!producer) throw new Error('the load generator is not started');
    await Promise.all([...byTopic].map(([topic, messages]) => producer.send(topic, messages)));
  }

  private async drain(tracker: Tracker, timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (tracker.inFlight > 0 && performance.now() < deadline) await tracker.nextReply(100);
  }

  /** Sends `count` requests and waits for their replies: the switch's consumer groups have joined. */
  async probe(count: number, timeoutMs: number): Promise<void> {
    const tracker = this.newTracker();
    await this.sendBatch(tracker, count);
    await this.drain(tracker, timeoutMs);
    if (tracker.inFlight > 0) {
      throw new Error(`${tracker.inFlight} of ${count} probe requests got no reply within ${timeoutMs / 1000} s: the ${this.deps.target} does not answer`);
    }
    const statuses = new Set(tracker.statuses);
    if (this.deps.target === 'gateway' && !statuses.has('OK')) {
      throw new Error(`the gateway answered the probe requests with ${[...statuses].join(', ')} instead of OK: the load is misconfigured`);
    }
  }

  async closedLoop(options: { window: number; warmupS: number; durationS: number; drainS?: number; hooks?: PhaseHooks }): Promise<PhaseResult> {
    const tracker = this.newTracker();
    const start = performance.now();
    const windowStart = start + options.warmupS * 1000;
    const windowEnd = windowStart + options.durationS * 1000;
    // Small top-ups would turn into one produce request per reply batch: wait for a worthwhile room.
    const minRoom = Math.max(1, Math.min(50, Math.floor(options.window / 10)));
    let started = false;
    for (;;) {
      const now = performance.now();
      if (!started && now >= windowStart) {
        started = true;
        await options.hooks?.windowStart?.();
      }
      if (now >= windowEnd) break;
      const room = options.window - tracker.inFlight;
      if (room < minRoom) {
        await tracker.nextReply(Math.min(50, windowEnd - now));
        continue;
      }
      await this.sendBatch(tracker, Math.min(room, MAX_BATCH));
    }
    await options.hooks?.windowEnd?.();
    await this.drain(tracker, (options.drainS ?? 60) * 1000);
    return this.result(tracker, { mode: 'closed-loop', rate: null, ...options, windowStart, windowEnd });
  }

  async openLoop(options: { rate: number; warmupS: number; durationS: number; drainS?: number; hooks?: PhaseHooks }): Promise<PhaseResult> {
    const tracker = this.newTracker();
    const start = performance.now();
    const windowStart = start + options.warmupS * 1000;
    const windowEnd = windowStart + options.durationS * 1000;
    const interval = 1000 / options.rate;
    const dueAt = (seq: number) => start + seq * interval;
    let started = false;
    for (;;) {
      const now = performance.now();
      if (!started && now >= windowStart) {
        started = true;
        await options.hooks?.windowStart?.();
      }
      if (now >= windowEnd) break;
      // Everything due by now goes in one send: while a send is in flight the next ones accumulate,
      // each keeping its own due time.
      const due = Math.floor((now - start) / interval) + 1 - tracker.sent.length;
      if (due > 0) await this.sendBatch(tracker, Math.min(due, MAX_BATCH * 4), dueAt);
      else await sleep(Math.max(1, Math.floor(dueAt(tracker.sent.length) - now)));
    }
    await options.hooks?.windowEnd?.();
    await this.drain(tracker, (options.drainS ?? 40) * 1000);
    return this.result(tracker, { mode: 'open-loop', window: null, ...options, windowStart, windowEnd });
  }

  private result(
    tracker: Tracker,
    phase: {
      mode: PhaseResult['mode'];
      window: number | null;
      rate: number | null;
      warmupS: number;
      durationS: number;
      windowStart: number;
      windowEnd: number;
    },
  ): PhaseResult {
    const { windowStart, windowEnd } = phase;
    const seconds = (windowEnd - windowStart) / 1000;
    const latencies: number[] = [];
    const names = SEGMENTS[this.deps.target];
    const cuts: number[][] = names.map(() => []);
    const statuses: Record<string, number> = {};
    let sentInWindow = 0;
    let unanswered = 0;
    for (let seq = 0; seq < tracker.sent.length; seq++) {
      const sent = tracker.sent[seq] as number;
      if (sent < windowStart || sent >= windowEnd) continue;
      sentInWindow++;
      const received = tracker.received[seq];
      if (received === undefined) {
        unanswered++;
        continue;
      }
      latencies.push(received - sent);
      const points = tracker.checkpoints[seq] ?? [];
      for (let i = 1; i < points.length; i++) cuts[i - 1]?.push((points[i] as number) - (points[i - 1] as number));
    }
    let replies = 0;
    for (let seq = 0; seq < tracker.sent.length; seq++) {
      const received = tracker.received[seq];
      if (received === undefined || received < windowStart || received >= windowEnd) continue;
      replies++;
      const key = `${tracker.kinds[seq]}:${tracker.statuses[seq]}`;
      statuses[key] = (statuses[key] ?? 0) + 1;
    }
    this.trackers.delete(tracker.id);
    return {
      mode: phase.mode,
      window: phase.window,
      rate: phase.rate,
      warmup_s: phase.warmupS,
      duration_s: phase.durationS,
      offered_eps: Math.round(sentInWindow / seconds),
      eps: Math.round(replies / seconds),
      replies_in_window: replies,
      latency: summarizeLatencies(latencies),
      unanswered,
      statuses,
      duplicates: tracker.duplicates,
      segments: Object.fromEntries(names.map((name, i) => [name, summarizeLatencies(cuts[i] ?? [])])),
    };
  }
}
