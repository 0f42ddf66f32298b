// `npm run bench`: runs every benchmark and (re)writes docs/benchmarks.md.
//   npm run bench                      3 s warm-up, then 3 rounds of 5 s per server, 50 connections, medians
//   npm run bench -- --quick           1 round of 2 s, servers via tsx (a smoke check; prints, writes the doc only with --write)
//   npm run bench -- --only intake     run some modules (comma-separated ids: baseline, intake, rejection, pipeline, attack, bounces,
//                                      bounce-process, bounce-adversarial, bounce-flood, console)
//   options: --rounds N --duration S --warmup S --connections N --out FILE --write --no-write
//            --tsx (run the servers from TypeScript with tsx; their RSS then includes the loader)
//            --compiled (compile them with tsc first: the default, except with --quick)
//            --attack-seconds S (length of the attack flood, default 60; 15 with --quick)
//   BENCH_SERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" adds Node options to the compiled servers
//   (a CPU profile of each server; NODE_OPTIONS refuses --cpu-prof)
// Figures are ratios against a baseline measured in the same run (the machine is shared and noisy).
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { attackBench } from './attack/bench-module.js';
import { baseline } from './baseline.js';
import { bounceAdversarial } from './bounce-adversarial-module.js';
import { bounceFlood } from './bounce-flood.js';
import { bounceReport, BOUNCES_SCRIPT } from './bounce-report.js';
import { bounceProcess } from './bounces-process.js';
import { consoleBench } from './console.js';
import { intake } from './intake.js';
import { pipelineBench } from './pipeline.js';
import { rejection } from './rejection.js';
import { cpuModel } from './lib/proc.js';
import { buildServers } from './lib/build.js';
import { projectRoot, setRuntime } from './lib/server.js';
import type { BenchContext, BenchModule, BenchResult, BenchSettings, Row } from './lib/types.js';

/** In run order: the baseline first, since later modules compare against it. */
const MODULES: BenchModule[] = [baseline, intake, rejection, pipelineBench, attackBench, bounceReport, bounceProcess, bounceAdversarial, bounceFlood, consoleBench];
/** Modules that start no bench/servers/*.ts server (bounce-flood compiles `formwarden serve` itself). */
const NO_SERVER_BUILD = new Set([bounceReport.id, bounceProcess.id, attackBench.id, bounceAdversarial.id, bounceFlood.id]);

const PEERS = [
  'Stock WordPress + Contact Form 7: 9 to 17 accepted submissions per second (9.2/s on one connection, 16.8/s on four).',
  'Stock WordPress + Contact Form 7: 1 stranger mail per bot post.',
  'Stock WordPress + Contact Form 7: the spam URL in every auto-reply.',
];

function parseArgs(argv: string[]) {
  const has = (f: string) => argv.includes(f);
  const val = (f: string) => {
    const i = argv.indexOf(f);
    if (i >= 0) return argv[i + 1];
    return argv.find((a) => a.startsWith(`${f}=`))?.slice(f.length + 1);
  };
  const num = (f: string, d: number) => {
    const v = val(f);
    const n = v === undefined ? Number.NaN : Number(v);
    return Number.isFinite(n) && n >= 0 ? n : d;
  };
  const quick = has('--quick');
  const settings: BenchSettings = {
    quick,
    rounds: Math.max(1, Math.round(num('--rounds', quick ? 1 : 3))),
    duration: Math.max(1, num('--duration', quick ? 2 : 5)),
    warmup: num('--warmup', quick ? 1 : 3),
    connections: Math.max(1, Math.round(num('--connections', 50))),
    runtime: has('--tsx') ? 'tsx' : has('--compiled') ? 'compiled' : quick ? 'tsx' : 'compiled',
  };
  const only = val('--only')?.split(',').map((s) => s.trim()).filter(Boolean);
  const write = has('--no-write') ? false : quick ? has('--write') : true;
  const out = path.resolve(projectRoot, val('--out') ?? 'docs/benchmarks.md');
  return { settings, only, write, out };
}

function fmtValue(value: number, unit: string): string {
  if (!Number.isFinite(value)) return 'n/a';
  const digits = unit === 'req/s' || unit === 'msgs/s' || unit === 'count' ? 0 : unit === 'ms' || unit === 'MB' || unit === '%' ? 1 : 2;
  const s = value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
  return unit === 'count' ? s : unit === '%' ? `${s}%` : `${s} ${unit}`;
}

function fmtRatio(r: number | undefined): string {
  return r === undefined || !Number.isFinite(r) ? '' : r.toFixed(r < 10 ? 3 : 1);
}

const passText = (p: boolean | undefined) => (p === undefined ? '' : p ? '✅ pass' : '❌ fail');
const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function table(rows: Row[]): string[] {
  const lines = ['| Figure | Value | Baseline (same run) | Ratio | Goal | Result | Note |', '|---|---:|---|---:|---|---|---|'];
  for (const r of rows) {
    const base = r.baseline ? `${r.baseline.name}: ${fmtValue(r.baseline.value, r.unit)}` : '';
    lines.push(`| ${cell(r.name)} | ${fmtValue(r.value, r.unit)} | ${cell(base)} | ${fmtRatio(r.ratio)} | ${cell(r.goal ?? '')} | ${passText(r.pass)} | ${cell(r.note ?? '')} |`);
  }
  return lines;
}

function markdown(args: ReturnType<typeof parseArgs>, results: { module: BenchModule; result?: BenchResult; error?: string; seconds: number }[], meta: { started: Date; load0: number[]; load1: number[]; totalSeconds: number; notes: string[] }): string {
  const s = args.settings;
  const cores = os.cpus().length;
  const allRows = results.flatMap((r) => r.result?.rows ?? []);
  const goals = allRows.filter((r) => r.pass !== undefined);
  const failed = goals.filter((r) => r.pass === false);
  const out: string[] = [
    '# Benchmarks',
    '',
    '<!-- Generated by `npm run bench` (bench/run.ts). Do not edit by hand: rerun it. -->',
    '',
    `Generated by \`npm run bench${s.quick ? ' -- --quick' : ''}\` (bench/run.ts).${s.quick ? ' **Quick mode: one short round, for a smoke check only; do not quote these figures.**' : ''}`,
    '',
    `- Date: ${meta.started.toISOString()}`,
    `- Node: ${process.version} (${process.platform} ${process.arch})`,
    `- CPU: ${cpuModel()}, ${cores} core${cores === 1 ? '' : 's'} (shared with other work; load average ${meta.load0.map((l) => l.toFixed(2)).join(' / ')} at start, ${meta.load1.map((l) => l.toFixed(2)).join(' / ')} at end)`,
    `- Method: each server runs in its own child process (${
      s.runtime === 'compiled'
        ? '`node bench/.bench-tmp/build/bench/servers/*.js`: bench/servers/*.ts and src/ compiled with tsc at the start of the run, as production runs tsc output'
        : '`node --import tsx bench/servers/*.ts`: RSS includes the tsx loader, ~25–50 MB'
    }), loopback only; autocannon in the parent, ` +
      `${s.connections} connections, ${s.rounds} round${s.rounds === 1 ? '' : 's'} of ${s.duration} s per server after a ${s.warmup} s warm-up, ` +
      `rounds of servers compared with each other interleaved; figures are medians over the rounds. Peak RSS is the server's VmHWM from /proc/<pid>/status, CPU from /proc/<pid>/stat.`,
    `- Speed and memory are judged as ratios against a baseline measured in the same run, never as absolute timings (the machine is shared and noisy).`,
    ...meta.notes.map((n) => `- **Note:** ${n}`),
    `- Goals: ${goals.length - failed.length} of ${goals.length} met${failed.length ? ` (missed: ${failed.map((r) => r.name).join('; ')})` : ''}. Total bench time ${Math.round(meta.totalSeconds)} s.`,
    '',
    '## Peers, measured on this kind of machine (quoted as given)',
    '',
    ...PEERS.map((p) => `- ${p}`),
    '',
    '## Results',
    '',
    ...table(allRows),
    '',
  ];
  for (const r of results) {
    out.push(`## ${r.module.title}`, '');
    if (r.error) out.push(`**Failed:** ${r.error}`, '');
    if (r.result?.details?.length) out.push(...r.result.details, '');
    else if (!r.error) out.push('- (no details)', '');
    out.push(`- Module \`${r.module.id}\` took ${Math.round(r.seconds)} s.`, '');
  }
  if (!results.some((r) => r.module.id === bounceReport.id)) {
    out.push('## Bounce parser', '', existsSync(BOUNCES_SCRIPT) ? '- Bounce parser: run `npm run bench:bounces`' : '- bench/bounces.ts is absent.', '');
  }
  out.push('## Reproduce', '', '```sh', 'npm run bench               # full run, rewrites this file', 'npm run bench -- --quick    # 1 round of 2 s, servers via tsx, prints only (add --write to write this file)',
    'npm run bench -- --tsx      # full run with the servers run from TypeScript (RSS then includes the tsx loader)', 'npm run bench:bounces       # bounce parser accuracy and speed',
    'npm run bench -- --only attack --attack-seconds 60   # the attack flood alone (bench/attack; CLI: node --import tsx bench/attack/cli.ts --help)',
    'npm run bench -- --only bounce-adversarial,bounce-flood --no-write   # adversarial 1 MiB bounces: parse times, and /healthz while 30 arrive',
    'npm run bench:bounce-adversarial   # the parse-time table alone (options: --rounds N --only case,... --size BYTES)',
    'node --import tsx bench/bounce-flood.ts --rounds 3 --compiled   # the /healthz flood alone',
    'npm run bench -- --only console --no-write   # the console\'s inbox and dashboard with 100,000 stored submissions', '```', '');
  return out.join('\n');
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const modules = args.only ? MODULES.filter((m) => args.only!.includes(m.id)) : MODULES;
  if (modules.length === 0) throw new Error(`--only: no such module (have ${MODULES.map((m) => m.id).join(', ')})`);
  const started = new Date();
  const load0 = os.loadavg();
  const ctx: BenchContext = {
    settings: args.settings,
    baselines: new Map(),
    log: (m) => console.log(m),
  };
  const s = args.settings;
  console.log(`bench: ${s.rounds} round(s) × ${s.duration} s, warm-up ${s.warmup} s, ${s.connections} connections, servers ${s.runtime}${s.quick ? ' (quick)' : ''}`);
  const results: { module: BenchModule; result?: BenchResult; error?: string; seconds: number }[] = [];
  const notes: string[] = [];
  if (s.runtime === 'compiled' && modules.some((m) => !NO_SERVER_BUILD.has(m.id))) {
    console.log('\n== Build');
    try {
      await buildServers(ctx.log);
    } catch (e) {
      const msg = e instanceof Error ? e.message.split('\n')[0]! : String(e);
      console.error(`build failed, running the servers with tsx instead: ${msg}`);
      notes.push(`The tsc build of the servers failed (${msg}); they ran with tsx, so RSS includes the loader.`);
      s.runtime = 'tsx';
    }
  }
  setRuntime(s.runtime);
  for (const m of modules) {
    console.log(`\n== ${m.title}`);
    const t0 = Date.now();
    try {
      results.push({ module: m, result: await m.run(ctx), seconds: (Date.now() - t0) / 1000 });
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      console.error(`${m.id} failed: ${msg}`);
      results.push({ module: m, error: msg.split('\n').slice(0, 6).join(' / '), seconds: (Date.now() - t0) / 1000 });
    }
  }
  const md = markdown(args, results, { started, load0, load1: os.loadavg(), totalSeconds: (Date.now() - started.getTime()) / 1000, notes });
  console.log(`\n${table(results.flatMap((r) => r.result?.rows ?? [])).join('\n')}`);
  if (args.write) {
    mkdirSync(path.dirname(args.out), { recursive: true });
    writeFileSync(args.out, md);
    console.log(`\nwrote ${path.relative(process.cwd(), args.out) || args.out}`);
  } else console.log(`\n(not written: ${args.settings.quick && !process.argv.includes('--no-write') ? '--quick prints only; add --write to write the doc' : '--no-write'})`);
  if (results.some((r) => r.error)) process.exitCode = 1;
}

await main();
