// Starting a server entry script (bench/servers/*.ts) in its own child process, reading its URL from
// stdout, and stopping it. Its memory and CPU are read from /proc/<pid>. Runtime: the tsc-compiled
// copy in bench/.bench-tmp/build (see build.ts), or the TypeScript source with `node --import tsx`.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { LISTENING_PREFIX } from '../servers/child.js';
import { buildDir } from './build.js';
import { benchDir, projectRoot } from './paths.js';
import { readCpuSeconds, readMemory, type MemoryStatus } from './proc.js';

export { benchDir, projectRoot };

export type Runtime = 'compiled' | 'tsx';
let runtime: Runtime = 'tsx';
/** Chooses how servers are started (run.ts sets it once, after building when 'compiled'). */
export function setRuntime(r: Runtime): void {
  runtime = r;
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export interface ServerProcess {
  name: string;
  url: string;
  pid: number;
  memory(): MemoryStatus | null;
  cpuSeconds(): number;
  /** Asks the server for its own figures over IPC (empty when it has none). */
  stats(opts?: { timeoutMs?: number; gc?: boolean }): Promise<Record<string, number>>;
  /** The last lines the server wrote to stderr (for error messages). */
  stderrTail(): string;
  stop(): Promise<void>;
}

export async function startServer(name: string, script: string, opts: { startTimeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<ServerProcess> {
  const argv =
    runtime === 'compiled'
      ? [...(process.env.BENCH_SERVER_NODE_ARGS?.split(' ').filter(Boolean) ?? []), '--expose-gc', path.join(buildDir, 'bench', 'servers', script.replace(/\.ts$/, '.js'))]
      : ['--expose-gc', '--import', 'tsx', path.resolve(benchDir, 'servers', script)];
  const child = spawn(process.execPath, argv, {
    cwd: projectRoot,
    env: { ...process.env, NODE_ENV: 'production', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  live.add(child);
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr = (stderr + d).slice(-4000);
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      live.delete(child);
      resolve(code);
    }),
  );

  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => fail(new Error(`${name}: no URL on stdout after ${opts.startTimeoutMs ?? 60_000} ms`)), opts.startTimeoutMs ?? 60_000);
    const fail = (e: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`${e.message}\n${stderr.trim()}`));
    };
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const line = out.split('\n').find((l) => l.startsWith(LISTENING_PREFIX));
      if (line) {
        clearTimeout(timer);
        resolve(line.slice(LISTENING_PREFIX.length).trim());
      }
    });
    void exited.then((code) => fail(new Error(`${name}: exited with code ${code} before listening`)));
  });

  let nextId = 1;
  const pid = child.pid!;
  return {
    name,
    url,
    pid,
    memory: () => readMemory(pid),
    cpuSeconds: () => readCpuSeconds(pid),
    stats({ timeoutMs = 5000, gc = false } = {}) {
      const id = nextId++;
      return new Promise((resolve) => {
        const timer = setTimeout(() => done({}), timeoutMs);
        const onMessage = (msg: unknown) => {
          const m = msg as { type?: string; id?: number; stats?: Record<string, number> };
          if (m?.type === 'stats' && m.id === id) done(m.stats ?? {});
        };
        const done = (s: Record<string, number>) => {
          clearTimeout(timer);
          child.off('message', onMessage);
          resolve(s);
        };
        child.on('message', onMessage);
        if (!child.connected || !child.send({ type: 'stats', id, gc })) done({});
      });
    },
    stderrTail: () => stderr.trim(),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
