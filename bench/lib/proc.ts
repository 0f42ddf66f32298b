// Reading a child process's memory and CPU from /proc (Linux): peak RSS (VmHWM), current RSS, and
// user+system CPU time, so the server's figures are its own and not the load generator's.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let clkTck: number | undefined;
function ticksPerSecond(): number {
  if (clkTck === undefined) {
    try {
      clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clkTck = 100;
    }
  }
  return clkTck;
}

export interface MemoryStatus {
  /** Peak resident set size so far (VmHWM), in MB. */
  peakRssMb: number;
  /** Current resident set size (VmRSS), in MB. */
  rssMb: number;
}

export function readMemory(pid: number): MemoryStatus | null {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)\\s+kB`, 'm').exec(text)?.[1] ?? Number.NaN);
    return { peakRssMb: kb('VmHWM') / 1024, rssMb: kb('VmRSS') / 1024 };
  } catch {
    return null;
  }
}

/** CPU seconds (user + system) the process has used so far, or NaN if it is gone. */
export function readCpuSeconds(pid: number): number {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces: the fields after it start after the last ')'.
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // rest[0] is field 3 (state); utime is field 14, stime field 15.
    const utime = Number(rest[11]);
    const stime = Number(rest[12]);
    return (utime + stime) / ticksPerSecond();
  } catch {
    return Number.NaN;
  }
}

/** Samples a process's RSS while something runs; VmHWM already gives the peak, this adds the peak during the window. */
export class RssSampler {
  private timer: NodeJS.Timeout | null = null;
  maxRssMb = 0;
  constructor(
    private readonly pid: number,
    private readonly everyMs = 200,
  ) {}
  start(): this {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.everyMs);
    this.timer.unref();
    return this;
  }
  stop(): number {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.sample();
    return this.maxRssMb;
  }
  private sample(): void {
    const m = readMemory(this.pid);
    if (m && m.rssMb > this.maxRssMb) this.maxRssMb = m.rssMb;
  }
}

export function cpuModel(): string {
  try {
    const text = readFileSync('/proc/cpuinfo', 'utf8');
    return /^model name\s*:\s*(.+)$/m.exec(text)?.[1]?.trim() ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
