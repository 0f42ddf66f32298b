// Private, throwaway Redis and PostgreSQL servers for fault tests: the machine's shared ones are never
// stopped. Each runs on a free loopback port and is removed afterwards.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stablePort } from '../support/ports.js';
import { waitFor } from '../support/wait.js';

/** False (and says why on stderr) when a server binary a fault test needs is not installed; CI must have it. */
export function installed(what: string, ok: boolean, hint: string): boolean {
  if (ok) return true;
  if (process.env.CI) throw new Error(`${what} is missing: ${hint}`);
  process.stderr.write(`[faults] skipped: ${what} not found (${hint})\n`);
  return false;
}

/** A free port for a server that is restarted on the same port: outside the ephemeral range (see ports.ts). */
export const freePort = stablePort;

const accepts = (port: number) =>
  new Promise<boolean>((resolve) => {
    const c = new Socket();
    c.once('connect', () => (c.destroy(), resolve(true)));
    c.once('error', () => resolve(false));
    c.connect(port, '127.0.0.1');
  });

/** A redis-server child process without persistence; stop() kills it, start() brings it back on the same port. */
export class PrivateRedis {
  private child: ChildProcess | null = null;
  constructor(readonly port: number) {}
  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }
  static available(): boolean {
    return spawnSync('redis-server', ['--version']).status === 0;
  }
  async start(): Promise<void> {
    this.child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    await waitFor(() => accepts(this.port), `redis-server on port ${this.port}`, 15_000);
  }
  async stop(): Promise<void> {
    const c = this.child;
    this.child = null;
    if (!c || c.exitCode !== null) return;
    const done = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await done;
  }
}

// Debian's server binaries (the newest installed version), not on PATH.
const PG_BIN = (existsSync('/usr/lib/postgresql') ? readdirSync('/usr/lib/postgresql') : [])
  .sort((a, b) => Number(b) - Number(a))
  .map((v) => `/usr/lib/postgresql/${v}/bin`)
  .find((d) => existsSync(path.join(d, 'initdb')));

/** A throwaway PostgreSQL cluster (initdb, trust auth) on its own port; stop() and start() are a real server restart. */
export class PrivateCluster {
  readonly dir: string;
  private constructor(readonly port: number) {
    this.dir = mkdtempSync(path.join(tmpdir(), 'fw-pgc-'));
  }
  static available(): boolean {
    return !!PG_BIN;
  }
  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }
  // initdb and pg_ctl refuse to run as root: run them as the postgres user, in a directory it owns.
  // Asynchronous, so that an in-process Formwarden keeps serving while the cluster stops and starts.
  private async run(args: string[]): Promise<void> {
    const asRoot = process.getuid?.() === 0;
    const cmd = asRoot ? 'runuser' : args[0]!;
    const argv = asRoot ? ['-u', 'postgres', '--', ...args] : args.slice(1);
    const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    const status = await new Promise<number | null>((r) => child.on('close', r));
    if (status !== 0) throw new Error(`${args.join(' ')}: ${out}`);
  }
  static async create(): Promise<PrivateCluster> {
    const c = new PrivateCluster(await freePort());
    if (process.getuid?.() === 0) {
      const uid = Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim());
      const gid = Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim());
      chownSync(c.dir, uid, gid);
    }
    chmodSync(c.dir, 0o700);
    await c.run([path.join(PG_BIN!, 'initdb'), '-D', path.join(c.dir, 'data'), '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
    await c.start();
    return c;
  }
  private ctl(action: string, extra: string[] = []): Promise<void> {
    const opts = `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off`;
    return this.run([path.join(PG_BIN!, 'pg_ctl'), '-D', path.join(this.dir, 'data'), '-o', opts, '-l', path.join(this.dir, 'log'), '-w', ...extra, action]);
  }
  start(): Promise<void> {
    return this.ctl('start');
  }
  /** Stops the server: `fast` disconnects every client (what a restart for an upgrade does). */
  stop(): Promise<void> {
    return this.ctl('stop', ['-m', 'fast']);
  }
  async destroy(): Promise<void> {
    await this.ctl('stop', ['-m', 'immediate']).catch(() => {}); // may be stopped already
    rmSync(this.dir, { recursive: true, force: true });
  }
}
