// Running the built `formwarden` command as a separate process, as an owner would.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from './wait.js';

export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** The built CLI; FORMWARDEN_TEST_CLI points at another build (a private outDir while others build dist/). */
export const cliPath = process.env.FORMWARDEN_TEST_CLI || path.join(projectRoot, 'dist/cli/main.js');

export function assertBuilt(): void {
  if (!existsSync(cliPath)) throw new Error(`${cliPath} is missing: run \`npm run build\` (npm test does it first)`);
}

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the built CLI to the end. `timeoutMs` (default 240 s: on a 2-core machine loaded by a stress run a
 * `selftest` of 8 s of CPU took 90 s) is a hang guard, not a speed check: a run it stops throws, saying so, rather
 * than returning the empty output of a killed process for the test to misread.
 */
export function runCli(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {}): CliResult {
  assertBuilt();
  const timeout = opts.timeoutMs ?? 240_000;
  const r = spawnSync(process.execPath, [cliPath, ...args], { cwd: opts.cwd ?? projectRoot, env: { ...process.env, ...opts.env }, encoding: 'utf8', timeout, input: opts.input });
  if ((r.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT') {
    throw new Error(`formwarden ${args.join(' ')} was still running after ${timeout / 1000} s and was stopped; its output so far:\n${r.stdout ?? ''}${r.stderr ?? ''}`);
  }
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export async function runCliAsync(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  assertBuilt();
  const child = spawn(process.execPath, [cliPath, ...args], { cwd: opts.cwd ?? projectRoot, env: { ...process.env, ...opts.env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { status, stdout, stderr };
}

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  output(): string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts `formwarden serve` and resolves once it logs the address it listens on. */
export async function startServer(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; serveArgs?: string[] } = {}): Promise<ServerProcess> {
  assertBuilt();
  const child = spawn(process.execPath, [cliPath, ...args, 'serve', ...(opts.serveArgs ?? [])], { cwd: opts.cwd ?? projectRoot, env: { ...process.env, ...opts.env } });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  let exited = false;
  child.on('exit', () => (exited = true));
  const url = await waitFor(
    () => {
      if (exited) throw new Error(`server exited: ${out}`);
      return /formwarden: listening on (http:\/\/\S+)/.exec(out)?.[1];
    },
    'the server to listen',
    30_000,
  );
  return {
    child,
    url,
    output: () => out,
    // SIGINT: the graceful stop without server.drainGrace's wait (tests that exercise the grace send SIGTERM).
    async kill(signal = 'SIGINT') {
      if (exited) return;
      const done = new Promise((r) => child.once('exit', r));
      child.kill(signal);
      await done;
    },
  };
}
