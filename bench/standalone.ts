import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Runtime } from '../src/app/runtime.js';
import type { Logger } from '../src/logging/logger.js';
import { createBenchLogger } from './bench-logger.js';
import { connectRuntime } from './environment.js';
import { installInterruptHandler } from './interrupt.js';

/** True when the module at `moduleUrl` is the script node was started with (not imported by bench/run.ts). */
export function isMainModule(moduleUrl: string): boolean {
  return process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(moduleUrl);
}

/**
 * What a benchmark run on its own needs: progress on stderr, clean-up on Ctrl-C, and the connection
 * `npm start` would use.
 */
export async function standaloneRuntime(name: string): Promise<{ runtime: Runtime; logger: Logger; progress: (text: string) => void }> {
  const progress = (text: string) => process.stderr.write(`${text}\n`);
  installInterruptHandler(progress);
  const { logger } = createBenchLogger(name);
  return { runtime: await connectRuntime(logger), logger, progress };
}
