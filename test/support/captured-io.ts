/** A command's stdout and stderr kept as text, and the environment it reads its settings from. */
export interface CapturedIo {
  readonly env: NodeJS.ProcessEnv;
  readonly stdout: { write(chunk: string): unknown };
  readonly stderr: { write(chunk: string): unknown };
  out(): string;
  err(): string;
  /** Forgets what was written so far, for the next command on the same io. */
  reset(): void;
}

export function capturedIo(env: NodeJS.ProcessEnv): CapturedIo {
  let out = '';
  let err = '';
  return {
    env,
    stdout: { write: (chunk: string) => (out += chunk) },
    stderr: { write: (chunk: string) => (err += chunk) },
    out: () => out,
    err: () => err,
    reset: () => {
      out = '';
      err = '';
    },
  };
}
