/**
 * Ctrl-C in the middle of a run must not leave a run's topics, Redis keys (a million of them, for
 * the directory scale test) or worker processes behind: each phase registers its clean-up, which runs
 * once, either at the phase's end or at the interruption.
 */
const cleanups = new Set<() => Promise<void>>();
let interrupted = false;

export function onInterrupt(cleanup: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | null = null;
  const once = () => (done ??= cleanup());
  cleanups.add(once);
  return async () => {
    cleanups.delete(once);
    await once();
  };
}

export function installInterruptHandler(log: (text: string) => void): void {
  const handler = (signal: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = true;
    log(`${signal}: cleaning up before exiting`);
    void Promise.allSettled([...cleanups].map((c) => c())).finally(() => process.exit(130));
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}
