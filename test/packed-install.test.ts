// The package as an owner installs it: `npm pack` (with its prepare build) → `npm i -g` of the tarball →
// `formwarden init`, `check-config` and `serve` in an empty folder, far from this checkout. Proves that
// package.json `files` and `dependencies` are complete: the hosted page's web/ assets, the compiled code
// (migrations, messages, the bounce parser's worker), the mmdb country database and better-sqlite3 built
// for the running Node are all found at run time.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withoutLoadShedding } from './support/load-shedding.js';
import { stablePort } from './support/ports.js';
import { projectRoot } from './support/process.js';
import { waitFor } from './support/wait.js';

/** Installing needs the npm registry: outside CI a machine without it skips, in CI it fails. */
function registryUnreachable(): boolean {
  const r = spawnSync('npm', ['ping', '--fetch-retries=1', '--fetch-timeout=20000'], { env: npmEnv(), encoding: 'utf8', timeout: 60_000 });
  if (r.status === 0) return false;
  const lines = (r.stderr || r.error?.message || '').trim().split('\n');
  const reason = lines.find((l) => /reason:|ENOTFOUND|ETIMEDOUT|ECONN/.test(l)) ?? lines.find((l) => l.includes('error')) ?? lines[0];
  const why = `the npm registry is unreachable (npm ping: ${reason?.trim()})`;
  if (process.env.CI) throw new Error(`${why}; the packed-install test needs it`);
  process.stderr.write(`[packed-install] skipped: ${why}\n`);
  return true;
}

/**
 * The environment for a child npm: this one without what `npm test` adds for its own script (the
 * project's prefix, package fields, lifecycle), and native modules built against the running Node's
 * headers (a ~/.npmrc `nodedir` may name another Node's; with none here npm finds them itself).
 */
function npmEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^npm_(package|lifecycle|command|execpath|node_execpath)/i.test(k) || k === 'INIT_CWD') continue;
    if (/^npm_config_(prefix|global|global_prefix|local_prefix|ignore_scripts|nodedir)$/i.test(k)) continue;
    if (/^(FORMWARDEN_|FW_|VITEST)/.test(k) || k === 'NODE_OPTIONS') continue;
    env[k] = v;
  }
  const nodeHome = path.resolve(path.dirname(process.execPath), '..');
  if (existsSync(path.join(nodeHome, 'include/node/node.h'))) env.npm_config_nodedir = nodeHome;
  env.PATH = `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}`;
  return env;
}

/**
 * better-sqlite3's install script (`prebuild-install || node-gyp rebuild`) fetches a prebuilt binary from
 * GitHub on an owner's machine; this machine kind reaches only the npm registry, so it would compile SQLite
 * (4-5 minutes of the suite on each Node version). The script still runs here, unchanged, but finds the
 * same version's binary for the running Node's ABI as a local prebuild packed from this checkout's own
 * build (prebuild-install's documented `npm_config_<package>_local_prebuilds`). The binary is then loaded
 * by `serve` below, so a wrong one fails the test.
 */
function localPrebuild(dir: string): NodeJS.ProcessEnv {
  const pkgDir = path.join(projectRoot, 'node_modules', 'better-sqlite3');
  const binary = path.join(pkgDir, 'build', 'Release', 'better_sqlite3.node');
  if (!existsSync(binary)) return {};
  const { version } = JSON.parse(readFileSync(path.join(pkgDir, 'package.json'), 'utf8')) as { version: string };
  mkdirSync(dir, { recursive: true });
  const name = `better-sqlite3-v${version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`;
  const tar = spawnSync('tar', ['-czf', path.join(dir, name), '-C', pkgDir, 'build/Release/better_sqlite3.node'], { encoding: 'utf8' });
  if (tar.status !== 0) throw new Error(`tar failed: ${tar.stderr}`);
  return { npm_config_better_sqlite3_local_prebuilds: dir };
}

interface Result {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a command without blocking the test process (an install takes minutes). */
function run(cmd: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr });
    });
  });
}

const show = (r: Result) => `exit ${r.status ?? r.signal}\n--- stdout\n${r.stdout.slice(-4000)}\n--- stderr\n${r.stderr.slice(-4000)}`;

/** Every file under dir, relative to it, with forward slashes. */
function filesUnder(dir: string): string[] {
  return (readdirSync(dir, { recursive: true, withFileTypes: true }) as import('node:fs').Dirent[])
    .filter((d) => d.isFile())
    .map((d) => path.relative(dir, path.join(d.parentPath, d.name)).split(path.sep).join('/'));
}

describe.skipIf(registryUnreachable())('npm pack → npm i -g → formwarden in an empty folder', () => {
  // Made in beforeAll, so that a skipped run leaves nothing behind.
  let root = '';
  const at = (name: string) => path.join(root, name);
  let packed: string[] = [];
  let install: Result;

  beforeAll(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'fw-packed-'));
    const [copy, packDir, prefix, home, site] = ['checkout', 'pack', 'prefix', 'home', 'site'].map(at) as [string, string, string, string, string];
    expect(path.relative(projectRoot, root).startsWith('..'), 'the temporary folder lies outside the checkout').toBe(true);
    for (const d of [packDir, prefix, home, site]) mkdirSync(d);
    // Pack a copy of the working tree: `prepare` builds a fresh dist/ there (no stale files, nothing written
    // to the shared checkout); node_modules is linked for tsc only and never reaches the tarball.
    const skip = new Set(['node_modules', '.git', 'dist', 'data', 'coverage', '.bench-tmp']);
    cpSync(projectRoot, copy, { recursive: true, filter: (src) => !(path.dirname(src) === projectRoot && (skip.has(path.basename(src)) || src.endsWith('.tgz'))) });
    symlinkSync(path.join(projectRoot, 'node_modules'), path.join(copy, 'node_modules'), 'dir');
    const pack = await run('npm', ['pack', '--json', '--pack-destination', packDir], { cwd: copy, env: npmEnv(), timeoutMs: 600_000 });
    expect(pack.status, show(pack)).toBe(0);
    // stdout may start with the prepare script's output; the JSON report is the array at a line start.
    const info = JSON.parse(pack.stdout.slice(pack.stdout.search(/^\[/m))) as { filename: string; files: { path: string }[] }[];
    const tarball = path.join(packDir, info[0]!.filename);
    packed = info[0]!.files.map((f) => f.path);

    // As the README says. --allow-scripts lets better-sqlite3 build or fetch its binary (npm 12 runs no
    // dependency install script without it); a tarball's own `prepare` never runs on install.
    install = await run('npm', ['i', '-g', '--prefix', prefix, '--no-audit', '--no-fund', '--allow-scripts=better-sqlite3', tarball], {
      cwd: root,
      env: { ...npmEnv(), ...localPrebuild(at('prebuilds')) },
      timeoutMs: 900_000,
    });
    expect(install.status, show(install)).toBe(0);
  }, 1_200_000);

  afterAll(() => {
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('the tarball holds every web/ asset and every compiled module, and no tests', () => {
    const copy = at('checkout');
    const web = filesUnder(path.join(copy, 'web')).map((f) => `web/${f}`);
    expect(web.length).toBeGreaterThan(0);
    for (const f of [...web, 'dist/cli/main.js', 'package.json', 'README.md', 'README.ja.md']) expect(packed, f).toContain(f);
    const modules = filesUnder(path.join(copy, 'src'))
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.endsWith('.d.ts'))
      .map((f) => `dist/${f.replace(/\.ts$/, '.js')}`);
    expect(modules.length).toBeGreaterThan(50);
    for (const m of modules) expect(packed, m).toContain(m);
    expect(packed.filter((f) => /\.test\.js$|(^|\/)(test-support|support)\/|dovecot|^src\/|^test\//.test(f))).toEqual([]);
  });

  it('npm installs it with better-sqlite3 built for this Node; engine warnings only for the two known packages', () => {
    expect(install.stderr).not.toMatch(/install-scripts\s+better-sqlite3@/);
    expect(packed).toContain('LICENSE');
    // package.json's overrides (cookie 1.1.1, content-disposition 2.0.1: they support Node 20) apply to a
    // checkout, not to an install of the tarball, which takes cookie 2 and content-disposition 3 (they declare
    // Node >= 22 and run on 20: the next test serves and submits). README says so; any other warning fails here.
    const warned = [...`${install.stdout}\n${install.stderr}`.matchAll(/EBADENGINE\s+package: '(@?[^@']+)@/g)].map((m) => m[1]);
    expect(new Set(warned)).toEqual(new Set(/^v2[0-1]\./.test(process.version) ? ['cookie', 'content-disposition'] : []));
    expect(existsSync(path.join(at('prefix'), 'bin', 'formwarden'))).toBe(true);
  });

  it('init, check-config and serve run from an empty folder: the demo page, its assets and a submission', async () => {
    const [copy, prefix, home, site] = ['checkout', 'prefix', 'home', 'site'].map(at) as [string, string, string, string];
    const bin = path.join(prefix, 'bin', 'formwarden');
    // A fresh shell: this Node first on PATH (the bin's `#!/usr/bin/env node`), an empty home, nothing of the tests.
    const env: NodeJS.ProcessEnv = { PATH: `${path.join(prefix, 'bin')}${path.delimiter}${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}`, HOME: home, TMPDIR: tmpdir() };
    const cli = (args: string[]) => run(bin, args, { cwd: site, env });
    expect(readdirSync(site)).toEqual([]);

    const init = await cli(['init']);
    expect(init.status, show(init)).toBe(0);
    const config = path.join(site, 'formwarden.yaml');
    expect(init.stdout).toContain(`wrote ${config}`);
    const port = await stablePort();
    const yaml = readFileSync(config, 'utf8');
    expect(yaml).toContain('port: 8787');
    // What this test checks is the installed package, not the machine's load.
    const edited = withoutLoadShedding(yaml.replaceAll('8787', String(port)));
    expect(edited).toContain('  loadShedding: { enabled: false }');
    writeFileSync(config, edited);

    const check = await cli(['check-config']);
    expect(check.status, show(check)).toBe(0);
    expect(check.stdout).toContain(`configuration OK: ${config}`);

    const server = spawn(bin, ['serve'], { cwd: site, env });
    let out = '';
    server.stdout.on('data', (d) => (out += d));
    server.stderr.on('data', (d) => (out += d));
    const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => server.on('exit', (code, signal) => resolve([code, signal])));
    let gone = false;
    void exited.then(() => (gone = true));
    try {
      const url = await waitFor(
        () => {
          if (gone) throw new Error(`server exited:\n${out}`);
          return /formwarden: listening on (http:\/\/\S+)/.exec(out)?.[1];
        },
        'the installed server to listen',
        60_000,
      );
      expect(url).toBe(`http://127.0.0.1:${port}`);

      const health = await fetch(`${url}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ status: 'ok' });

      const page = await fetch(`${url}/f/contact`);
      expect(page.status).toBe(200);
      const html = await page.text();
      expect(html).toContain('お問い合わせ');
      expect(await (await fetch(`${url}/f/contact?lang=en`)).text()).toContain('Contact us');
      const assets = [...html.matchAll(/(?:src|href)="(\/static\/[^"]+)"/g)].map((m) => m[1]!);
      expect(assets).toEqual(expect.arrayContaining(['/static/form.css', '/static/widget.js', '/static/vendor/altcha.js']));
      for (const a of assets) {
        const res = await fetch(`${url}${a}`);
        expect(res.status, a).toBe(200);
        const body = await res.text();
        expect(body.length, a).toBeGreaterThan(0);
        const own = path.join(copy, 'web', a.slice('/static/'.length));
        if (!a.startsWith('/static/vendor/')) expect(body, a).toBe(readFileSync(own, 'utf8'));
      }

      const submit = await cli(['submit', '--url', url, '--form', 'contact', '--field', 'name=佐藤 花子', '--field', 'email=hanako@example.jp', '--field', 'message=見積もりをお願いします']);
      expect(submit.stdout, show(submit)).toContain('HTTP 201');
      expect(submit.status).toBe(0);
    } finally {
      if (!gone) server.kill('SIGTERM');
    }
    expect(await exited, out).toEqual([0, null]);
    expect(out).toContain('shutting down');

    // The server kept its data in the folder it ran in: the notification is captured in ./data.
    expect(existsSync(path.join(site, 'data', 'formwarden.db'))).toBe(true);
    const mails = await cli(['mail', 'list', '--json']);
    expect(mails.status, show(mails)).toBe(0);
    const list = JSON.parse(mails.stdout) as { kind: string; to?: unknown }[];
    expect(list.map((m) => m.kind)).toContain('notify');
  }, 300_000);
});
