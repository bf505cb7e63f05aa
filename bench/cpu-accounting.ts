import { readFileSync } from 'node:fs';

/**
 * Where the two cores went during a measured window: CPU time of each process of the measurement
 * (broker, Redis, gateway or relay, simulators, load generator) and of the whole machine, from
 * /proc. What the machine spent beyond our processes is other load (other test runs sharing the
 * cores), reported so that a figure measured under interference can be recognised as such.
 * Linux only; elsewhere the figures are simply absent.
 */
const TICKS_PER_SECOND = 100; // USER_HZ, 100 on every Linux the project targets

export interface CpuSample {
  readonly at: number;
  /** CPU seconds (user + system) by process name. */
  readonly processes: Readonly<Record<string, number>>;
  /** Busy CPU seconds of the whole machine (all cores), or null off Linux. */
  readonly machineBusy: number | null;
}

export interface CpuShare {
  /** Cores used on average over the window (1.0 = one core fully busy). */
  readonly cores: number;
  /** CPU milliseconds spent per exchange completed in the window. */
  readonly msPerExchange: number | null;
}

export interface CpuReport {
  readonly seconds: number;
  readonly byProcess: Readonly<Record<string, CpuShare>>;
  /** All cores of the machine; `cores` is at most the number of cores. */
  readonly machine: CpuShare | null;
  /** The machine's busy time not spent by the processes above (other load). */
  readonly others: CpuShare | null;
}

export function procCpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces: fields are counted after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return Number.isFinite(utime) && Number.isFinite(stime) ? (utime + stime) / TICKS_PER_SECOND : null;
  } catch {
    return null;
  }
}

export function machineBusySeconds(): number | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const [, ...values] = line.trim().split(/\s+/);
    const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = values.map(Number);
    return (user + nice + system + irq + softirq + steal) / TICKS_PER_SECOND;
  } catch {
    return null;
  }
}

/** A sample now, for processes given by pid (read from /proc) or by a measured value (own process, workers). */
export function sampleCpu(sources: ReadonlyArray<{ readonly name: string; readonly pid?: number; readonly seconds?: number }>): CpuSample {
  const processes: Record<string, number> = {};
  for (const source of sources) {
    const seconds = source.seconds ?? (source.pid === undefined ? null : procCpuSeconds(source.pid));
    if (seconds !== null) processes[source.name] = seconds;
  }
  return { at: performance.now(), processes, machineBusy: machineBusySeconds() };
}

export function cpuReport(start: CpuSample, end: CpuSample, exchanges: number): CpuReport {
  const seconds = (end.at - start.at) / 1000;
  const share = (cpuSeconds: number): CpuShare => ({
    cores: round(cpuSeconds / seconds, 3),
    msPerExchange: exchanges > 0 ? round((cpuSeconds * 1000) / exchanges, 4) : null,
  });
  const byProcess: Record<string, CpuShare> = {};
  let ours = 0;
  for (const [name, before] of Object.entries(start.processes)) {
    const after = end.processes[name];
    if (after === undefined) continue;
    byProcess[name] = share(after - before);
    ours += after - before;
  }
  const machine = start.machineBusy !== null && end.machineBusy !== null ? end.machineBusy - start.machineBusy : null;
  return {
    seconds: round(seconds, 3),
    byProcess,
    machine: machine === null ? null : share(machine),
    others: machine === null ? null : share(Math.max(0, machine - ours)),
  };
}

export function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
