// CPU time, not wall-clock time, for the guards against super-linear work (a regex or parser blow-up):
// on a loaded machine the wall clock also counts the time other processes held the CPU, which says
// nothing about the code under test. The calling thread's CPU time where Node has it (22.19+), else
// the process's (all threads: a little more than the work itself, never less).
type ThreadCpu = { threadCpuUsage?: (prev?: NodeJS.CpuUsage) => NodeJS.CpuUsage };

const usage = (prev?: NodeJS.CpuUsage): NodeJS.CpuUsage => {
  const p = process as unknown as ThreadCpu;
  return typeof p.threadCpuUsage === 'function' ? p.threadCpuUsage(prev) : process.cpuUsage(prev);
};

/** Runs `fn` (synchronous) and returns its result and the CPU milliseconds it used. */
export function cpuTime<T>(fn: () => T): { result: T; ms: number } {
  const before = usage();
  const result = fn();
  const d = usage(before);
  return { result, ms: (d.user + d.system) / 1000 };
}
