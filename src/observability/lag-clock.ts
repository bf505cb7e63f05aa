/**
 * Consumer lag in seconds, from offsets alone: how long a group's committed offset has been behind the
 * log end. For each partition the clock remembers when the log end was seen at each sampled value; the
 * message at the committed offset was written after the last sample whose end was at or before that
 * offset, so the lag is the time since the first sample whose end passed it. No message is read (its
 * timestamp would need a consumer and READ rights on every topic), and a producer's clock never enters.
 *
 * Resolution is the sampling interval. A partition already behind at the first sample shows the time
 * since that sample: after a restart the value is a lower bound until the group catches up once.
 */
export class LagClock {
  /** Per partition key, (time, log end) samples whose end passed the oldest committed offset seen since. */
  private readonly history = new Map<string, Array<{ at: number; end: bigint }>>();

  constructor(
    /** Samples kept per partition at most (oldest dropped: the lag then reads as the oldest one kept). */
    private readonly maxSamples = 720,
  ) {}

  /** Records the partition's log end at `now` and returns how many seconds `committed` lags behind it. */
  observe(key: string, committed: bigint, end: bigint, now: number): number {
    let samples = this.history.get(key);
    if (!samples) {
      samples = [];
      this.history.set(key, samples);
    }
    const last = samples[samples.length - 1];
    if (!last || end > last.end) samples.push({ at: now, end });
    // Samples whose end is at or before the committed offset no longer date an unconsumed message.
    let first = 0;
    while (first < samples.length && (samples[first] as { end: bigint }).end <= committed) first++;
    samples.splice(0, Math.max(first, samples.length - this.maxSamples));
    const oldest = samples[0];
    if (committed >= end || !oldest) return 0;
    return Math.max(0, (now - oldest.at) / 1000);
  }

  /** Forgets the partitions not in `keys` (a topic deleted, a group no longer watched). */
  retain(keys: ReadonlySet<string>): void {
    for (const key of this.history.keys()) if (!keys.has(key)) this.history.delete(key);
  }
}
