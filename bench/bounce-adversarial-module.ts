// `npm run bench -- --only bounce-adversarial` (issue #10, class 4): runs bench/bounce-adversarial.ts --json in
// a child process (its own worker threads per case) and reports, for the whole-message entry points `parse`
// and `analyze`, the slowest adversarial ~1 MiB case next to a normal DSN padded to 1 MiB from the same run.
// The goal is linear cost: no adversarial input costs more than 10x the normal one of the same size.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { benchDir, projectRoot } from './lib/server.js';
import { goal, type BenchModule, type Row } from './lib/types.js';

export const ADVERSARIAL_SCRIPT = path.join(benchDir, 'bounce-adversarial.ts');
/** Worst case / baseline for `parse` and `analyze`. */
const MAX_RATIO = 10;
/** The child's own per-entry timeout (s): beyond it an entry is "> timeout" and the row fails. */
const ENTRY_TIMEOUT_S = 20;

interface AdversarialJson {
  size: number;
  timeoutMs: number;
  rows: Array<{ case: string; bytes: number; ms: Record<string, number | null> }>;
  worst: { case: string; entry: string; ms: number | null };
}

function runJson(rounds: number, timeoutMs: number): Promise<{ stdout: string; stderr: string; error?: Error }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', ADVERSARIAL_SCRIPT, '--json', '--rounds', String(rounds), '--timeout', String(ENTRY_TIMEOUT_S)],
      { cwd: projectRoot, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024, encoding: 'utf8' },
      (error, stdout, stderr) => resolve({ stdout, stderr, ...(error ? { error } : {}) }),
    );
  });
}

const fmtMs = (v: number | null | undefined, timeoutS: number) =>
  v === null ? `> ${timeoutS} s` : v === undefined ? '-' : Number.isNaN(v) ? 'error' : v >= 1000 ? `${(v / 1000).toFixed(2)} s` : v.toFixed(1);

export const bounceAdversarial: BenchModule = {
  id: 'bounce-adversarial',
  title: 'Bounce parser: adversarial 1 MiB inputs (bench/bounce-adversarial.ts)',
  async run(ctx) {
    const rounds = ctx.settings.quick ? 1 : 3;
    ctx.log(`  node --import tsx bench/bounce-adversarial.ts --json --rounds ${rounds} --timeout ${ENTRY_TIMEOUT_S}`);
    const { stdout, stderr, error } = await runJson(rounds, 150_000);
    if (error) throw new Error(`bench/bounce-adversarial.ts --json failed: ${error.message.split('\n')[0]}${stderr.trim() ? ` — ${stderr.trim().split('\n').slice(-1)[0]}` : ''}`);
    const text = stdout.trim();
    const j = JSON.parse(text.slice(text.indexOf('{'))) as AdversarialJson;
    const timeoutS = j.timeoutMs / 1000;
    const base = j.rows.find((r) => r.case === 'baseline');
    if (!base) throw new Error('bench/bounce-adversarial.ts printed no baseline row');
    const cases = j.rows.filter((r) => r !== base);
    const entries = Object.keys(base.ms);

    const rows: Row[] = [];
    for (const entry of ['parse', 'analyze']) {
      const b = base.ms[entry];
      if (typeof b !== 'number') continue;
      // A timed-out (null) or failed (NaN) entry is the worst there is.
      const ms = (r: (typeof cases)[number]) => { const v = r.ms[entry]; return typeof v === 'number' && !Number.isNaN(v) ? v : Infinity; };
      const worst = cases.reduce((a, r) => (ms(r) > ms(a) ? r : a), cases[0]!);
      const value = ms(worst);
      const ratio = value / b;
      rows.push({
        name: `Bounce parser, adversarial 1 MiB: slowest case for \`${entry}\``,
        value,
        unit: 'ms',
        baseline: { name: 'normal DSN padded to 1 MiB', value: b },
        ratio,
        ...goal(ratio, '<=', MAX_RATIO, 'ratio'),
        note: `${worst.case} (${(worst.bytes / 1048576).toFixed(2)} MiB); ${cases.length} cases, median of ${rounds} run${rounds === 1 ? '' : 's'} in a fresh worker${rounds === 1 ? ' (cold)' : ''}`,
      });
    }

    const head = `| Case | MiB | ${entries.map((e) => `\`${e}\` ms`).join(' | ')} |`;
    const sep = `|---|---:|${entries.map(() => '---:').join('|')}|`;
    const line = (r: (typeof j.rows)[number]) =>
      `| ${r.case} | ${(r.bytes / 1048576).toFixed(2)} | ${entries
        .map((e) => {
          const v = r.ms[e];
          const b = base.ms[e];
          const x = r !== base && typeof v === 'number' && typeof b === 'number' && b > 0 ? ` (×${(v / b).toFixed(1)})` : '';
          return `${fmtMs(v, timeoutS)}${x}`;
        })
        .join(' | ')} |`;
    const details = [
      `- Each case is one family of worst-case input at ~1 MiB (whitespace runs, long lines, QP soft breaks, HTML tags, long and folded headers, deep MIME nesting, many parts, field floods); ` +
        `every entry point that reads untrusted mail text is timed on it in a fresh worker thread (median of ${rounds}), next to the baseline: a normal DSN padded to 1 MiB with ordinary text, same run. ` +
        `\`parse\` is parseBounce on the whole message, \`analyze\` the \`bounces analyze\` report builder; the others are the text-level parts (MIME walk, text layout, remote host, reasons, original headers). ` +
        `An entry slower than ${timeoutS} s would show as "> ${timeoutS} s". Times under ~1 ms are noise; (×n) is the ratio to the baseline.`,
      `- Goal: linear cost — the slowest case of \`parse\` and of \`analyze\` within ${MAX_RATIO}× the baseline. Before the fix (183fc51) a whitespace run in one line took minutes.`,
      '',
      head,
      sep,
      ...j.rows.map(line),
      '',
      `- Alone: \`node --import tsx bench/bounce-adversarial.ts [--rounds N] [--only case,...]\` (a text table; \`--json\` for this data).`,
    ];
    return { rows, details };
  },
};
