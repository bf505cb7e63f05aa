/**
 * The marker `bcss start` writes while a gateway runs (`<stack dir>/gateway.json`), so that `bcss demo`
 * knows it can use that gateway instead of starting its own.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Runtime } from './runtime.js';

export interface GatewayMarker {
  readonly pid: number;
  readonly topicPrefix: string;
  readonly source: Runtime['source'];
  readonly simulators: boolean;
  readonly startedAt: string;
}

export function gatewayMarkerFile(stackDir: string): string {
  return join(stackDir, 'gateway.json');
}

export function writeGatewayMarker(stackDir: string, marker: GatewayMarker): void {
  mkdirSync(stackDir, { recursive: true });
  writeFileSync(gatewayMarkerFile(stackDir), JSON.stringify(marker, null, 2));
}

export function removeGatewayMarker(stackDir: string): void {
  rmSync(gatewayMarkerFile(stackDir), { force: true });
}

/** The running gateway's marker, if its process is alive. */
export function runningGateway(stackDir: string): GatewayMarker | null {
  const file = gatewayMarkerFile(stackDir);
  if (!existsSync(file)) return null;
  try {
    const marker = JSON.parse(readFileSync(file, 'utf8')) as GatewayMarker;
    process.kill(marker.pid, 0);
    return marker;
  } catch {
    return null;
  }
}
