// Bounce parsing as users run it: `formwarden bounces parse --json` and `formwarden analyze --json` on files,
// one whole process each (start-up included), against Sisimai (Perl, Debian's libsisimai-perl) on the same
// files in the same run. Issue #13 item 2.
//   node --import tsx bench/bounces-process.ts [--rounds N] [--no-write] [--json]
//   npm run bench:bounces [-- --process-rounds N | --no-process]   (after the accuracy figures of bench/bounces.ts)
// Inputs are built in a temp dir from ../shared/corpora/bounces/public (442 .eml): the files (~500 set), the
// files x12 as separate files (5,304) and the same 5,304 messages as one mbox. src/ is compiled with tsc into
// the temp dir (as production runs tsc output; never `npm run build`). Each command runs under /usr/bin/time
// for its peak RSS ("Maximum resident set size"); wall time is the median of --rounds (default 3) runs, the
// commands alternating within every round. `node -e 0` is measured beside: Node's own floor.
// Skips with a message when the corpus, Sisimai (perl -MSisimai) or /usr/bin/time is absent.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchModule, Row } from './lib/types.js';

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const projectRoot = path.resolve(benchDir, '..');
const corpusDir = path.resolve(projectRoot, '../shared/corpora/bounces/public');
const COPIES = 12;
const START = '<!-- bounces-process:start -->';
const END = '<!-- bounces-process:end -->';

// One JSON line per bounce, as `bounces parse --json` prints one per message. 'delivered' => 1 keeps the
// reports Sisimai would otherwise drop, so both sides read and report every message.
const SISIMAI = `use strict; use warnings; use Sisimai;
binmode STDOUT;
for my $p (@ARGV) {
  my $v = Sisimai->make($p, 'delivered' => 1) or next;
  for my $d (@$v) { print $d->dump('json'), "\\n"; }
}
`;

interface Cmd { id: string; label: string; argv: string[] }
interface Measure { id: string; label: string; set: string; messages: number; walls: number[]; cpus: number[]; rssMb: number[]; lines: number }
export interface ProcessFigures {
  skipped?: string;
  date: string; node: string; cores: number; rounds: number; loadavg: number[];
  sisimai?: string;
  results: Array<{ id: string; label: string; set: string; messages: number; seconds: number; cpuSeconds: number; peakRssMb: number; lines: number; secondsEach: number[] }>;
  nodeFloorMb?: number;
}

function has(cmd: string, args: string[]): boolean {
  try { execFileSync(cmd, args, { stdio: 'ignore' }); return true; } catch { return false; }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)]! : Number.NaN;
}

/** Run argv under /usr/bin/time; stdout to a file. Wall time from our clock, peak RSS from time's report. */
function timed(argv: string[], cwd: string, outFile: string): Promise<{ wall: number; cpu: number; rssMb: number; lines: number }> {
  const report = path.join(cwd, 'time.txt');
  return new Promise((resolve, reject) => {
    const fd = openSync(outFile, 'w');
    const t0 = process.hrtime.bigint();
    const child = spawn('/usr/bin/time', ['-f', '%M %U %S', '-o', report, ...argv], { cwd, stdio: ['ignore', fd, 'ignore'] });
    child.on('error', (e) => { closeSync(fd); reject(e); });
    child.on('close', (code) => {
      const wall = Number(process.hrtime.bigint() - t0) / 1e9;
      closeSync(fd);
      if (code !== 0) return reject(new Error(`${argv.slice(0, 4).join(' ')}… exited with ${code}`));
      const [kb, user, sys] = (readFileSync(report, 'utf8').trim().split('\n').pop() ?? '').split(' ').map(Number);
      let lines = 0;
      const out = readFileSync(outFile);
      for (let i = out.indexOf(10); i !== -1; i = out.indexOf(10, i + 1)) lines++;
      resolve({ wall, cpu: (user ?? Number.NaN) + (sys ?? Number.NaN), rssMb: (kb ?? Number.NaN) / 1024, lines });
    });
  });
}

/** The inputs: 442 files, 5,304 files, one mbox of the 5,304. */
function buildInputs(tmp: string): { sets: Array<{ id: string; path: string; messages: number }> } {
  const names = readdirSync(corpusDir).filter((n) => n.endsWith('.eml')).sort();
  const small = path.join(tmp, 'files-1x');
  const large = path.join(tmp, `files-${COPIES}x`);
  mkdirSync(small);
  mkdirSync(large);
  const mbox = path.join(tmp, `all-${COPIES}x.mbox`);
  const fd = openSync(mbox, 'w');
  for (const n of names) copyFileSync(path.join(corpusDir, n), path.join(small, n));
  for (let i = 1; i <= COPIES; i++) {
    for (const n of names) {
      const src = path.join(corpusDir, n);
      const name = `${String(i).padStart(2, '0')}-${n}`;
      copyFileSync(src, path.join(large, name));
      const raw = readFileSync(src);
      if (raw.subarray(0, 5).toString('latin1') !== 'From ') writeSync(fd, 'From MAILER-DAEMON Thu Jan  1 00:00:00 2015\n');
      writeSync(fd, raw);
      writeSync(fd, '\n');
    }
  }
  closeSync(fd);
  return {
    sets: [
      { id: `${names.length} files`, path: small, messages: names.length },
      { id: `${names.length * COPIES} files`, path: large, messages: names.length * COPIES },
      { id: `${names.length * COPIES} in one mbox`, path: mbox, messages: names.length * COPIES },
    ],
  };
}

async function compile(tmp: string, log: (m: string) => void): Promise<string> {
  const out = path.join(tmp, 'dist');
  const tsc = path.join(projectRoot, 'node_modules', 'typescript', 'bin', 'tsc');
  const t0 = Date.now();
  await new Promise<void>((resolve) => {
    // tsc emits even on type errors elsewhere in src/ (someone may be mid-edit); the entry must exist.
    execFile(process.execPath, [tsc, '-p', path.join(projectRoot, 'tsconfig.build.json'), '--outDir', out, '--sourceMap', 'false'], { cwd: projectRoot, maxBuffer: 16 << 20 }, () => resolve());
  });
  const entry = path.join(out, 'cli', 'main.js');
  if (!existsSync(entry)) throw new Error('tsc produced no dist/cli/main.js');
  symlinkSync(path.join(projectRoot, 'node_modules'), path.join(tmp, 'node_modules'), 'dir');
  log(`  compiled src with tsc in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return entry;
}

export async function measureProcesses(opts: { rounds: number; log: (m: string) => void }): Promise<ProcessFigures> {
  const base: ProcessFigures = { date: new Date().toISOString(), node: process.version, cores: os.cpus().length, rounds: opts.rounds, loadavg: os.loadavg(), results: [] };
  if (!existsSync(corpusDir)) return { ...base, skipped: '../shared/corpora/bounces/public not found' };
  if (!has('/usr/bin/time', ['-f', '%M', 'true'])) return { ...base, skipped: '/usr/bin/time (GNU time) not found: `apt-get install time`' };
  if (!has('perl', ['-MSisimai', '-e', '1'])) return { ...base, skipped: 'Sisimai is not installed (`apt-get install libsisimai-perl`): no comparison' };
  const sisimaiVersion = execFileSync('perl', ['-MSisimai', '-e', 'print $Sisimai::VERSION'], { encoding: 'utf8' }).trim();
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'fw-bounces-process-'));
  try {
    const entry = await compile(tmp, opts.log);
    const { sets } = buildInputs(tmp);
    writeFileSync(path.join(tmp, 'sisimai.pl'), SISIMAI);
    const node = process.execPath;
    const cmds = (p: string): Cmd[] => [
      { id: 'parse', label: 'formwarden bounces parse --json', argv: [node, entry, 'bounces', 'parse', '--json', p] },
      { id: 'parse-w1', label: 'formwarden bounces parse --json --workers 1', argv: [node, entry, 'bounces', 'parse', '--json', '--workers', '1', p] },
      { id: 'analyze', label: 'formwarden analyze --json --owner-domain example.jp', argv: [node, entry, 'analyze', '--json', '--owner-domain', 'example.jp', p] },
      { id: 'sisimai', label: `Sisimai ${sisimaiVersion} (make + dump per bounce)`, argv: ['perl', path.join(tmp, 'sisimai.pl'), p] },
    ];
    const measures = new Map<string, Measure>();
    const floor: number[] = [];
    const outFile = path.join(tmp, 'out.txt');
    for (let r = 0; r < opts.rounds; r++) {
      floor.push((await timed([node, '-e', '0'], tmp, outFile)).rssMb);
      for (const s of sets) {
        // Alternate the order within a round, so neither side always runs right after the other.
        const list = r % 2 ? [...cmds(s.path)].reverse() : cmds(s.path);
        for (const c of list) {
          const m = await timed(c.argv, tmp, outFile);
          const key = `${s.id}|${c.id}`;
          const e = measures.get(key) ?? { id: c.id, label: c.label, set: s.id, messages: s.messages, walls: [], cpus: [], rssMb: [], lines: m.lines };
          e.walls.push(m.wall);
          e.cpus.push(m.cpu);
          e.rssMb.push(m.rssMb);
          measures.set(key, e);
          opts.log(`  round ${r + 1}: ${s.id.padEnd(20)} ${c.id.padEnd(9)} ${m.wall.toFixed(2)} s (cpu ${m.cpu.toFixed(2)} s), ${m.rssMb.toFixed(1)} MB, ${m.lines} lines`);
        }
      }
    }
    return {
      ...base,
      loadavg: os.loadavg(),
      sisimai: sisimaiVersion,
      nodeFloorMb: Math.max(...floor),
      results: [...measures.values()].map((m) => ({
        id: m.id, label: m.label, set: m.set, messages: m.messages, lines: m.lines,
        seconds: median(m.walls), cpuSeconds: median(m.cpus), peakRssMb: Math.max(...m.rssMb), secondsEach: m.walls,
      })),
    };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Table rows: each formwarden command against Sisimai on the same set, same run. */
export function rows(f: ProcessFigures): Row[] {
  const out: Row[] = [];
  const sets = [...new Set(f.results.map((r) => r.set))];
  for (const set of sets) {
    const sis = f.results.find((r) => r.set === set && r.id === 'sisimai');
    if (!sis) continue;
    const large = sis.messages >= 5000;
    for (const r of f.results.filter((x) => x.set === set && x.id !== 'sisimai')) {
      const speedup = sis.seconds / r.seconds;
      const target = large ? 3 : 1;
      out.push({
        name: `${r.label}, ${set}: whole process`, value: r.seconds, unit: 's',
        baseline: { name: 'Sisimai', value: sis.seconds }, ratio: speedup,
        goal: `Sisimai's time / ours ≥ ${target}`, pass: speedup >= target,
        note: `median of ${f.rounds}; ${Math.round(r.messages / r.seconds)} msgs/s; CPU ${r.cpuSeconds.toFixed(2)} s vs ${sis.cpuSeconds.toFixed(2)} s (${(sis.cpuSeconds / r.cpuSeconds).toFixed(2)}×)`,
      });
      out.push({
        name: `${r.label}, ${set}: peak RSS`, value: r.peakRssMb, unit: 'MB',
        baseline: { name: 'Sisimai', value: sis.peakRssMb }, ratio: r.peakRssMb / sis.peakRssMb,
        goal: 'below Sisimai\'s', pass: r.peakRssMb < sis.peakRssMb,
        note: `\`node -e 0\`: ${f.nodeFloorMb?.toFixed(1) ?? '?'} MB`,
      });
    }
  }
  return out;
}

export function details(f: ProcessFigures): string[] {
  if (f.skipped) return [`- Skipped: ${f.skipped}.`];
  const d: string[] = [
    `- ${f.date}, Node ${f.node}, ${f.cores} cores, Sisimai ${f.sisimai ?? '?'} (Debian libsisimai-perl). Load average at the end ${f.loadavg.map((l) => l.toFixed(2)).join(' / ')}: the machine is shared, only same-run ratios count.`,
    `- Method: \`node --import tsx bench/bounces-process.ts\` (also run by \`npm run bench:bounces\`): src/ compiled with tsc into a temp dir; inputs built there from ../shared/corpora/bounces/public (442 .eml): the files, the files ×${COPIES} as separate files, and those as one mbox. Each command is one process under \`/usr/bin/time\` (peak RSS = "Maximum resident set size"), stdout to a file; ${f.rounds} rounds, commands alternating within a round; wall time is the median, RSS the highest.`,
    `- Node's own floor: \`node -e 0\` peaks at ${f.nodeFloorMb?.toFixed(1) ?? '?'} MB in the same run; Perl with Sisimai loaded starts at ~20 MB.`,
    '',
    '| Input | Command | Wall (median) | Each run | CPU user+sys (median) | Peak RSS | Output lines | vs Sisimai (wall) | vs Sisimai (CPU) |',
    '|---|---|---:|---|---:|---:|---:|---:|---:|',
  ];
  for (const r of f.results) {
    const sis = f.results.find((x) => x.set === r.set && x.id === 'sisimai');
    const ratio = sis && r.id !== 'sisimai' ? `${(sis.seconds / r.seconds).toFixed(2)}×` : '';
    const cpuRatio = sis && r.id !== 'sisimai' ? `${(sis.cpuSeconds / r.cpuSeconds).toFixed(2)}×` : '';
    d.push(`| ${r.set} | \`${r.label}\` | ${r.seconds.toFixed(2)} s | ${r.secondsEach.map((s) => s.toFixed(2)).join(', ')} | ${r.cpuSeconds.toFixed(2)} s | ${r.peakRssMb.toFixed(1)} MB | ${r.lines} | ${ratio} | ${cpuRatio} |`);
  }
  d.push('', '- Output lines: formwarden prints one line per message (analyze: the report), Sisimai one per bounce it found.');
  return d;
}

/** For bench/run.ts: the same figures in the generated docs/benchmarks.md. */
export const bounceProcess: BenchModule = {
  id: 'bounce-process',
  title: 'Bounce parsing as a process, against Sisimai (bench/bounces-process.ts)',
  async run(ctx) {
    const f = await measureProcesses({ rounds: ctx.settings.quick ? 1 : Math.max(3, ctx.settings.rounds), log: ctx.log });
    return { rows: f.skipped ? [] : rows(f), details: details(f) };
  },
};

/** Replace (or add, before "## Reproduce") this bench's section of docs/benchmarks.md. */
function writeSection(f: ProcessFigures): string {
  const file = path.join(projectRoot, 'docs', 'benchmarks.md');
  const table = ['| Figure | Value | Sisimai (same run) | Ratio | Goal | Result | Note |', '|---|---:|---|---:|---|---|---|'];
  for (const r of rows(f)) {
    const v = r.unit === 's' ? `${r.value.toFixed(2)} s` : `${r.value.toFixed(1)} MB`;
    const b = r.baseline ? (r.unit === 's' ? `${r.baseline.value.toFixed(2)} s` : `${r.baseline.value.toFixed(1)} MB`) : '';
    table.push(`| ${r.name} | ${v} | ${b} | ${r.ratio?.toFixed(2) ?? ''} | ${r.goal ?? ''} | ${r.pass === undefined ? '' : r.pass ? '✅ pass' : '❌ fail'} | ${r.note ?? ''} |`);
  }
  const section = [START, `## ${bounceProcess.title}`, '', ...(f.skipped ? [] : [...table, '']), ...details(f), END].join('\n');
  const doc = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n';
  let next: string;
  const a = doc.indexOf(START);
  const b = doc.indexOf(END);
  const h = doc.indexOf(`\n## ${bounceProcess.title}\n`); // as bench/run.ts writes it, without the markers
  if (a !== -1 && b > a) next = doc.slice(0, a) + section + doc.slice(b + END.length);
  else if (h !== -1) {
    const after = doc.indexOf('\n## ', h + 4);
    next = `${doc.slice(0, h + 1)}${section}\n${after === -1 ? '' : doc.slice(after)}`;
  } else {
    const at = doc.indexOf('\n## Reproduce');
    next = at === -1 ? `${doc.trimEnd()}\n\n${section}\n` : `${doc.slice(0, at)}\n${section}\n${doc.slice(at)}`;
  }
  writeFileSync(file, next);
  return file;
}

/** The command line (also called at the end of bench/bounces.ts, as `npm run bench:bounces`, with --process-rounds). */
export async function runStandalone(args: string[], roundsFlag = '--rounds'): Promise<void> {
  const i = args.indexOf(roundsFlag);
  const rounds = Math.max(1, i >= 0 ? Number(args[i + 1]) || 3 : 3);
  const f = await measureProcesses({ rounds, log: (m) => console.error(m) });
  if (args.includes('--json')) { console.log(JSON.stringify(f, null, 2)); return; }
  if (f.skipped) { console.log(`bounces-process: skipped: ${f.skipped}`); return; }
  console.log(details(f).join('\n'));
  if (!args.includes('--no-write')) console.log(`\nwrote ${path.relative(process.cwd(), writeSection(f))}`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await runStandalone(process.argv.slice(2));
