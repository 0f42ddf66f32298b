// Bounce parser figures: bench/bounces.ts is its own bench (owned separately, `npm run bench:bounces`).
// If it exists and supports --json, run it in a child process and carry its headline figures over;
// otherwise just say so. Its failure never fails the other benchmarks.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { benchDir, projectRoot } from './lib/server.js';
import { accuracySection, type PartFigures } from './lib/bounce-accuracy.js';
import type { BenchModule, Row } from './lib/types.js';

export const BOUNCES_SCRIPT = path.join(benchDir, 'bounces.ts');

interface BounceFigures {
  files?: number;
  messages?: number;
  expectedRecipients?: number;
  recipientAgreement?: number;
  reasonAgreement?: number;
  hardAgreement?: number;
  statusAgreement?: number;
  replyCodeAgreement?: number;
  msgsPerSecond?: number;
  rounds?: number;
  peakRssMb?: number;
  parts?: { development: PartFigures; heldBack: PartFigures | null };
}

function runJson(timeoutMs: number): Promise<{ stdout: string; stderr: string; error?: Error }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', BOUNCES_SCRIPT, '--json'],
      { cwd: projectRoot, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' },
      (error, stdout, stderr) => resolve({ stdout, stderr, ...(error ? { error } : {}) }),
    );
  });
}

export const bounceReport: BenchModule = {
  id: 'bounces',
  title: 'Bounce parser (bench/bounces.ts)',
  async run(ctx) {
    if (!existsSync(BOUNCES_SCRIPT)) return { rows: [], details: ['- bench/bounces.ts is absent: no bounce parser figures.'] };
    const details = ['- Bounce parser: run `npm run bench:bounces` (add `--verbose` for every mismatch).'];
    if (!readFileSync(BOUNCES_SCRIPT, 'utf8').includes('--json')) {
      details.push('- bench/bounces.ts does not support `--json`: its figures are not included here.');
      return { rows: [], details };
    }
    ctx.log('  node --import tsx bench/bounces.ts --json');
    const { stdout, stderr, error } = await runJson(ctx.settings.quick ? 120_000 : 300_000);
    if (error) {
      details.push(`- \`bench/bounces.ts --json\` failed: ${error.message.split('\n')[0]}${stderr.trim() ? ` — ${stderr.trim().split('\n').slice(-1)[0]}` : ''}`);
      return { rows: [], details };
    }
    const text = stdout.trim();
    let f: BounceFigures;
    try {
      f = JSON.parse(text.slice(text.indexOf('{'))) as BounceFigures;
    } catch {
      details.push(`- \`bench/bounces.ts --json\` printed no JSON: "${text.split('\n')[0]?.slice(0, 200) ?? ''}"`);
      return { rows: [], details };
    }
    const rows: Row[] = [];
    const pct = (name: string, v: number | undefined) => {
      if (typeof v === 'number') rows.push({ name, value: v, unit: '%', note: 'agreement with the Sisimai corpus' });
    };
    pct('Bounce parser: recipient agreement', f.recipientAgreement);
    pct('Bounce parser: reason agreement', f.reasonAgreement);
    pct('Bounce parser: hard/soft agreement', f.hardAgreement);
    pct('Bounce parser: status agreement', f.statusAgreement);
    if (typeof f.msgsPerSecond === 'number') {
      rows.push({ name: 'Bounce parser speed', value: f.msgsPerSecond, unit: 'msgs/s', note: `median of ${f.rounds ?? '?'} rounds, in-process` });
    }
    details.push(
      `- Corpus: ${f.files ?? '?'} files, ${f.messages ?? '?'} messages, ${f.expectedRecipients ?? '?'} expected recipients; ` +
        `reply code agreement ${f.replyCodeAgreement ?? '?'}%; peak RSS of the bench process ${f.peakRssMb ?? '?'} MB.`,
    );
    // The accuracy of the two parts of the family split, with the confusion tables (the same section
    // `npm run bench:bounces` writes between these markers).
    if (f.parts?.development && f.parts.heldBack) {
      details.push('', '<!-- bench:bounces accuracy begin (npm run bench:bounces) -->', ...accuracySection(f.parts.development, f.parts.heldBack), '<!-- bench:bounces accuracy end -->');
    }
    return { rows, details };
  },
};
