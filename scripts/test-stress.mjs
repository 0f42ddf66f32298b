#!/usr/bin/env node
// npm run test:stress -- [N] [--no-hog] [--pg-load] [--node DIR] [--max-minutes M] [--keep-logs] [-- vitest args]
//
// Runs the whole suite N times (default 5) after one `npm run build`, with one CPU-bound busy loop per
// core running meanwhile (--no-hog: without), and optionally a light query loop keeping PostgreSQL and
// Redis busy (--pg-load). Prints pass or fail per run with its duration and the failing tests (read
// from vitest's JSON report), and exits 1 if any run failed. The busy loops are always stopped: they
// also stop by themselves when this script is gone. --node DIR runs everything with the node binary
// in DIR (or DIR/bin). Each run's full output is kept in a log file (path printed); a green run's log
// is deleted unless --keep-logs. A run still going after --max-minutes (default 120) is stopped and
// counts as failed.
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function usage(msg) {
  if (msg) console.error(`test:stress: ${msg}`);
  console.error('usage: npm run test:stress -- [N] [--no-hog] [--pg-load] [--node DIR] [--max-minutes M] [--keep-logs] [-- vitest args]');
  process.exit(2);
}

// ---------------------------------------------------------------------------------------------------
// Options

const args = process.argv.slice(2);
const opts = { runs: 5, hog: true, pgLoad: false, node: process.execPath, keepLogs: false, maxMinutes: 120, vitest: [] };
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--') {
    opts.vitest = args.slice(i + 1);
    break;
  } else if (/^\d+$/.test(a)) opts.runs = Number(a);
  else if (a === '--hog') opts.hog = true;
  else if (a === '--no-hog') opts.hog = false;
  else if (a === '--pg-load') opts.pgLoad = true;
  else if (a === '--keep-logs') opts.keepLogs = true;
  else if (a === '--max-minutes') {
    opts.maxMinutes = Number(args[++i]);
    if (!(opts.maxMinutes > 0)) usage('--max-minutes needs a positive number');
  }
  else if (a === '--node') {
    const dir = args[++i];
    if (!dir) usage('--node needs a directory');
    const bin = [path.join(dir, 'bin', 'node'), path.join(dir, 'node'), dir].find((p) => statSync(p, { throwIfNoEntry: false })?.isFile());
    if (!bin) usage(`no node binary in ${dir}`);
    opts.node = path.resolve(bin);
  } else if (a === '-h' || a === '--help') usage();
  else usage(`unknown argument ${a}`);
}
if (opts.runs < 1) usage('N must be at least 1');

// Child processes use the chosen node first on PATH (npm scripts, vitest's workers, `formwarden serve`).
const env = { ...process.env, PATH: `${path.dirname(opts.node)}${path.delimiter}${process.env.PATH ?? ''}` };
const nodeVersion = spawnSync(opts.node, ['--version'], { encoding: 'utf8' }).stdout.trim();

// The native module must be built for this node (a Node 24 run after `npm ci` on Node 20 is not).
const sqlite = spawnSync(opts.node, ['-e', "new (require('better-sqlite3'))(':memory:').close()"], { cwd: root, env, encoding: 'utf8' });
if (sqlite.status !== 0) {
  const why = sqlite.stderr.split('\n').find((l) => /NODE_MODULE_VERSION|Error/.test(l)) ?? sqlite.stderr.trim().split('\n')[0];
  console.error(`test:stress: better-sqlite3 does not load on node ${nodeVersion}: ${why?.trim()}`);
  console.error(`Fix: PATH=${path.dirname(opts.node)}:$PATH npm rebuild better-sqlite3 (and again with your usual node afterwards)`);
  process.exit(2);
}

// ---------------------------------------------------------------------------------------------------
// Background load: busy loops and the PostgreSQL/Redis query loop. Each child checks its parent and
// exits once it is gone, so no load outlives this script, however it ends.

const children = new Set();
let vitestChild = null;
function background(code, name) {
  const child = spawn(opts.node, ['-e', code, String(process.pid)], { cwd: root, env, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => (err = (err + d).slice(-2000)));
  child.on('exit', (c, sig) => {
    children.delete(child);
    if (!stopping && c !== 0) console.error(`test:stress: ${name} stopped (${sig ?? `exit ${c}`}): ${err.trim()}`);
  });
  children.add(child);
  return child;
}

let stopping = false;
function stopBackground() {
  stopping = true;
  for (const c of children) c.kill('SIGKILL');
}
/** The query loop gets a moment to delete its Redis keys (they expire within a minute anyway). */
async function stopBackgroundGently() {
  stopping = true;
  const exited = [...children].map((c) => new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r() : c.once('exit', r))));
  for (const c of children) c.kill('SIGTERM');
  await Promise.race([Promise.all(exited), new Promise((r) => setTimeout(r, 5000))]);
  stopBackground();
}
process.on('exit', stopBackground);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    console.error(`\ntest:stress: ${sig}: stopping`);
    stopBackground();
    vitestChild?.kill(sig);
    process.exit(130);
  });
}

const HOG = `
const parent = Number(process.argv[1]);
let x = 0;
for (let i = 1; ; i++) {
  x = (x * 1103515245 + 12345) | 0;
  if ((i & 0xffffff) === 0 && process.ppid !== parent) process.exit(0);
}`;

// A light, steady load: small aggregate queries on PostgreSQL and pipelined counters on Redis (keys
// under a prefix of their own, with a TTL, deleted at the end). No tables, nothing left behind.
const PG_LOAD = `
const parent = Number(process.argv[1]);
const pg = require('pg');
const Redis = require('ioredis').default ?? require('ioredis');
const url = process.env.FORMWARDEN_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const prefix = 'fwstress:' + process.pid + ':';
const client = new pg.Client({ connectionString: url });
const redis = new Redis('redis://127.0.0.1:6379', { lazyConnect: true, maxRetriesPerRequest: 1 });
let stop = false;
process.on('SIGTERM', () => { stop = true; });
setInterval(() => { if (process.ppid !== parent) stop = true; }, 500).unref();
(async () => {
  await client.connect();
  await redis.connect();
  while (!stop) {
    await client.query('select sum(i * i) from generate_series(1, 20000) i');
    const p = redis.pipeline();
    for (let k = 0; k < 50; k++) p.incr(prefix + (k % 10)).expire(prefix + (k % 10), 60);
    await p.exec();
  }
  const keys = await redis.keys(prefix + '*');
  if (keys.length) await redis.del(...keys);
  await client.end();
  redis.disconnect();
  process.exit(0);
})().catch((e) => { console.error(String(e)); process.exit(1); });`;

// ---------------------------------------------------------------------------------------------------
// Runs

function run(cmd, argv, extraEnv, logStream) {
  return new Promise((resolve) => {
    const child = spawn(cmd, argv, { cwd: root, env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
    vitestChild = child;
    child.stdout.pipe(logStream, { end: false });
    child.stderr.pipe(logStream, { end: false });
    // A run that hangs is stopped (and fails) rather than holding up the others.
    const limit = setTimeout(() => {
      logStream.write(`\ntest:stress: still running after ${opts.maxMinutes} min: stopped\n`);
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
    }, opts.maxMinutes * 60_000);
    child.on('close', (code, signal) => {
      clearTimeout(limit);
      vitestChild = null;
      resolve(code ?? (signal ? 128 : 1));
    });
  });
}

const short = (s) => String(s ?? '').split('\n').find((l) => l.trim())?.trim().slice(0, 200) ?? '';

/** Failing tests of a vitest JSON report: "file > full name: first line of the error". */
function failuresOf(report) {
  const out = [];
  for (const file of report.testResults ?? []) {
    const rel = path.relative(root, file.name);
    const failed = (file.assertionResults ?? []).filter((t) => t.status === 'failed');
    for (const t of failed) out.push(`${rel} > ${t.fullName}: ${short(t.failureMessages?.[0])}`);
    if (file.status === 'failed' && failed.length === 0) out.push(`${rel}: ${short(file.message) || 'failed (hook or import error)'}`);
  }
  return out;
}

const fmt = (ms) => `${Math.round(ms / 1000)} s`;
const logDir = mkdtempSync(path.join(tmpdir(), 'formwarden-stress-'));
const cores = availableParallelism();
console.log(`test:stress: ${opts.runs} run(s) of ${opts.vitest.length ? `vitest run ${opts.vitest.join(' ')}` : 'the whole suite'} on node ${nodeVersion}; load: ${opts.hog ? `${cores} busy loop(s)` : 'none'}${opts.pgLoad ? ' + PostgreSQL/Redis query loop' : ''}; logs in ${logDir}`);

const build = spawnSync('npm', ['run', 'build'], { cwd: root, env, encoding: 'utf8', shell: process.platform === 'win32' });
if (build.status !== 0) {
  console.error(`test:stress: npm run build failed:\n${build.stdout}${build.stderr}`);
  process.exit(2);
}

if (opts.hog) for (let i = 0; i < cores; i++) background(HOG, 'busy loop');
if (opts.pgLoad) background(PG_LOAD, 'PostgreSQL/Redis load');

const vitestBin = path.join(root, 'node_modules', 'vitest', 'vitest.mjs');
const results = [];
try {
  for (let n = 1; n <= opts.runs; n++) {
    const report = path.join(logDir, `run-${n}.json`);
    const logFile = path.join(logDir, `run-${n}.log`);
    const log = createWriteStream(logFile);
    const t0 = Date.now();
    // vitest.config.ts adds the JSON reporter when FW_JSON_REPORT names its file.
    const code = await run(opts.node, [vitestBin, 'run', ...opts.vitest], { FW_JSON_REPORT: report }, log.on('error', () => {}));
    await new Promise((r) => log.end(r));
    const ms = Date.now() - t0;
    let r = null;
    try {
      r = JSON.parse(readFileSync(report, 'utf8'));
    } catch {
      // no report: vitest did not get that far
    }
    const failures = r ? failuresOf(r) : [];
    const ok = code === 0 && r !== null && r.success && failures.length === 0;
    const counts = r ? `${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped` : 'no JSON report';
    console.log(`run ${n}/${opts.runs}: ${ok ? 'PASS' : 'FAIL'} in ${fmt(ms)} (${counts}${code !== 0 ? `, exit ${code}` : ''})`);
    for (const f of failures) console.log(`  x ${f}`);
    if (!ok && failures.length === 0) console.log(`  x vitest exited ${code} without a failing test in its report: see ${logFile}`);
    if (!ok) console.log(`  log: ${logFile}`);
    else if (!opts.keepLogs) rmSync(logFile, { force: true });
    results.push({ ok, ms });
  }
} finally {
  await stopBackgroundGently();
}

const green = results.filter((r) => r.ok).length;
console.log(`test:stress: ${green} of ${results.length} run(s) green${opts.hog ? ` under ${cores} busy loop(s)` : ''}${opts.pgLoad ? ' and the PostgreSQL/Redis load' : ''}; durations ${results.map((r) => fmt(r.ms)).join(', ')}`);
if (green === results.length && !opts.keepLogs) rmSync(logDir, { recursive: true, force: true });
process.exit(green === results.length ? 0 : 1);
