// Bounce parser accuracy + speed bench against the Sisimai corpus in ../shared (if present).
//   node --import tsx bench/bounces.ts [--verbose] [--json] [--rounds N] [--mbox-mb N]
//   (then bench/bounces-process.ts: whole processes against Sisimai; --process-rounds N, or --no-process to skip)
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseBounce, readMbox, splitMbox } from '../src/bounces/parse/index.js';
import type { BouncedRecipient } from '../src/bounces/parse/index.js';
import { accuracySection, type PartFigures } from './lib/bounce-accuracy.js';

export type { PartFigures };

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const corpusDir = path.resolve(projectRoot, '../shared/corpora/bounces');
const args = process.argv.slice(2);
const flag = (n: string) => args.includes(n);
const num = (n: string, d: number) => { const i = args.indexOf(n); return i >= 0 ? Number(args[i + 1]) : d; };
const PLACEHOLDER = 'undisclosed-recipient-in-headers@libsisimai.org.invalid';

interface Expected { recipient: string; reason: string; status: string; hardbounce: number; replycode: string; feedbacktype: string; message_index: number }
interface Line { file: string; expected: Expected[] }

export interface BenchFigures {
  files: number; messages: number; expectedRecipients: number;
  recipientAgreement: number; reasonAgreement: number; hardAgreement: number; statusAgreement: number; replyCodeAgreement: number;
  msgsPerSecond: number; rounds: number; peakRssMb: number;
  confusion: Record<string, Record<string, number>>;
  mismatches: Array<{ file: string; expected: string; got: string }>;
  /** accuracy per part of the family split (heldBack is null when only the development part was scored) */
  parts?: { development: PartFigures; heldBack: PartFigures | null };
  mbox?: { sizeMb: number; messages: number; msgsPerSecond: number; mbPerSecond: number; peakRssMb: number };
}


/** The family of a corpus file: its module ("lhost-postfix", "rhost-google", "arf", "rfc3464", ...). */
export function familyOf(file: string): string {
  return file.replace(/(?:-\d+)?\.eml$/, '');
}

/** Deterministic split: about a third of the families (by a hash of the family name) are held back. */
export function familyPart(file: string): 'development' | 'held-back' {
  return createHash('sha256').update(familyOf(file)).digest().readUInt32BE(0) % 3 === 0 ? 'held-back' : 'development';
}

const NON_FAILURE = new Set(['delivered', 'vacation', 'feedback']);

function score(lines: Line[], raws: Map<string, Buffer[]>) {
  let exp = 0, rcptOk = 0, reasonOk = 0, hardOk = 0, statusOk = 0, replyOk = 0, noFailure = 0;
  const confusion: Record<string, Record<string, number>> = {};
  const mismatches: BenchFigures['mismatches'] = [];
  for (const l of lines) {
    const msgs = raws.get(l.file) ?? [];
    const results = msgs.map((m) => parseBounce(m).bounces);
    const byMsg = new Map<number, Expected[]>();
    for (const e of l.expected) byMsg.set(e.message_index, [...(byMsg.get(e.message_index) ?? []), e]);
    for (const [mi, exps] of byMsg) {
      const got: BouncedRecipient[] = [...(results[mi - 1] ?? [])];
      const pairs: Array<[Expected, BouncedRecipient | undefined, boolean]> = [];
      const rest: Expected[] = [];
      for (const e of exps) {
        const want = e.recipient === PLACEHOLDER ? '' : e.recipient.toLowerCase();
        const gi = got.findIndex((g) => g.recipient === want);
        if (gi >= 0) { pairs.push([e, got[gi], true]); got.splice(gi, 1); } else rest.push(e);
      }
      for (const e of rest) pairs.push([e, got.shift(), false]);
      for (const [e, g, same] of pairs) {
        exp++;
        if (same) rcptOk++;
        const gr = g?.reason ?? '(none)';
        if (!NON_FAILURE.has(e.reason) && (!g || NON_FAILURE.has(g.reason))) noFailure++;
        (confusion[e.reason] ??= {})[gr] = ((confusion[e.reason] ?? {})[gr] ?? 0) + 1;
        if (g && g.reason === e.reason) reasonOk++;
        if (g && g.hard === (e.hardbounce === 1)) hardOk++;
        if (g && g.status === e.status) statusOk++;
        if (g && g.replyCode === e.replycode) replyOk++;
        if (!g || !same || g.reason !== e.reason || g.status !== e.status || g.hard !== (e.hardbounce === 1)) {
          mismatches.push({
            file: `${l.file}#${mi}`,
            expected: fmt({ ...e, hard: e.hardbounce }),
            got: g ? `${fmt(g)} | ${g.diagnostic.slice(0, 160)}` : '(nothing)',
          });
        }
      }
    }
  }
  const part: PartFigures = {
    families: new Set(lines.map((l) => familyOf(l.file))).size, files: lines.length, expectedRecipients: exp,
    recipient: pct(rcptOk, exp), reason: pct(reasonOk, exp), hard: pct(hardOk, exp), status: pct(statusOk, exp),
    noFailureFound: noFailure, confusion,
  };
  return { exp, rcptOk, reasonOk, hardOk, statusOk, replyOk, confusion, mismatches, part };
}

const DOCS = path.join(projectRoot, 'docs/benchmarks.md');
const BEGIN = '<!-- bench:bounces accuracy begin (npm run bench:bounces) -->';
const END = '<!-- bench:bounces accuracy end -->';

/** Write (or replace) the accuracy section in docs/benchmarks.md, inside the Bounce parser section. */
function writeDocs(d: PartFigures, h: PartFigures): void {
  if (!existsSync(DOCS)) return;
  const section = [BEGIN, ...accuracySection(d, h), END].join('\n');
  let doc = readFileSync(DOCS, 'utf8');
  const b = doc.indexOf(BEGIN), e = doc.indexOf(END);
  if (b >= 0 && e > b) doc = doc.slice(0, b) + section + doc.slice(e + END.length);
  else {
    const anchor = doc.indexOf('## Bounce parser (bench/bounces.ts)');
    const next = anchor >= 0 ? doc.indexOf('\n## ', anchor + 5) : -1;
    doc = next >= 0 ? `${doc.slice(0, next)}\n${section}\n${doc.slice(next)}` : `${doc.trimEnd()}\n\n${section}\n`;
  }
  writeFileSync(DOCS, doc);
}

function pct(a: number, b: number): number { return b ? Math.round((a / b) * 10000) / 100 : 0; }
const fmt = (e: { recipient: string; reason: string; status: string; hard: boolean | number }) =>
  `${e.recipient || '-'} ${e.reason} ${e.status || '-'} ${e.hard ? 'hard' : 'soft'}`;

async function main(): Promise<void> {
  if (!existsSync(path.join(corpusDir, 'public.jsonl'))) {
    console.log('skipped: ../shared/corpora/bounces not found');
    return;
  }
  const lines: Line[] = readFileSync(path.join(corpusDir, 'public.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Line);
  const raws = new Map<string, Buffer[]>();
  for (const l of lines) raws.set(l.file, [...splitMbox(readFileSync(path.join(corpusDir, 'public', l.file)))]);

  // Evaluation discipline: families (MTA/provider module) are split by a hash of their name; the
  // held-back part is scored only when asked for (--dev leaves it out while rules are being developed).
  const devOnly = flag('--dev');
  const dev = lines.filter((l) => familyPart(l.file) === 'development');
  const held = lines.filter((l) => familyPart(l.file) === 'held-back');
  const devScore = score(dev, raws);
  const heldScore = devOnly ? null : score(held, raws);
  const allScore = devOnly ? devScore : score(lines, raws);
  const { exp, confusion, mismatches } = allScore;
  const { rcptOk, reasonOk, hardOk, statusOk, replyOk } = allScore;

  // Speed: parse every message, several rounds, median.
  const all = [...raws.values()].flat();
  const rounds = num('--rounds', 5);
  const rates: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    for (const m of all) parseBounce(m);
    const dt = Number(process.hrtime.bigint() - t0) / 1e9;
    rates.push(all.length / dt);
  }
  rates.sort((a, b) => a - b);
  const figures: BenchFigures = {
    files: devOnly ? dev.length : lines.length, messages: all.length, expectedRecipients: exp,
    recipientAgreement: pct(rcptOk, exp), reasonAgreement: pct(reasonOk, exp), hardAgreement: pct(hardOk, exp),
    statusAgreement: pct(statusOk, exp), replyCodeAgreement: pct(replyOk, exp),
    msgsPerSecond: Math.round(rates[Math.floor(rates.length / 2)] ?? 0), rounds,
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024), confusion, mismatches,
    parts: { development: devScore.part, heldBack: heldScore?.part ?? null },
  };

  const mboxMb = num('--mbox-mb', 0);
  if (mboxMb > 0) figures.mbox = await mboxBench(all, mboxMb);

  if (flag('--json')) { console.log(JSON.stringify(figures, null, 2)); return; }
  const partLine = (n: string, p: PartFigures) =>
    `${n.padEnd(12)} ${p.families} families, ${p.files} files, ${p.expectedRecipients} recipients: recipient ${p.recipient}%, reason ${p.reason}%, hard/soft ${p.hard}%, status ${p.status}%, no failure found ${p.noFailureFound}`;
  console.log(partLine('development', devScore.part));
  if (heldScore) console.log(partLine('held-back', heldScore.part));
  else console.log('held-back    not scored (--dev)');
  if (heldScore && !flag('--no-write')) { writeDocs(devScore.part, heldScore.part); console.log(`wrote the accuracy section of ${path.relative(projectRoot, DOCS)}`); }
  console.log(`${devOnly ? 'development part' : 'corpus'}: ${figures.files} files, ${figures.messages} messages, ${exp} expected recipients`);
  console.log(`recipient agreement: ${figures.recipientAgreement}%`);
  console.log(`reason agreement:    ${figures.reasonAgreement}%`);
  console.log(`hard/soft agreement: ${figures.hardAgreement}%`);
  console.log(`status agreement:    ${figures.statusAgreement}%`);
  console.log(`reply code agreement: ${figures.replyCodeAgreement}%`);
  console.log(`speed: ${figures.msgsPerSecond} msgs/s (median of ${rounds} rounds), peak RSS ${figures.peakRssMb} MB`);
  if (figures.mbox) {
    const m = figures.mbox;
    console.log(`mbox ${m.sizeMb} MB: ${m.messages} messages, ${m.msgsPerSecond} msgs/s, ${m.mbPerSecond} MB/s, peak RSS ${m.peakRssMb} MB`);
  }
  console.log('\nconfusion (expected -> got: count), mismatches only:');
  for (const [e, row] of Object.entries(confusion).sort()) {
    const off = Object.entries(row).filter(([g]) => g !== e).map(([g, n]) => `${g}:${n}`);
    if (off.length) console.log(`  ${e.padEnd(16)} ok:${row[e] ?? 0}  -> ${off.join(' ')}`);
  }
  if (flag('--verbose')) {
    console.log(`\nmismatches (${mismatches.length}):`);
    for (const m of mismatches) console.log(`  ${m.file}\n    expected ${m.expected}\n    got      ${m.got}`);
  } else console.log(`\n${mismatches.length} mismatching entries (use --verbose to list)`);
}

async function mboxBench(msgs: Buffer[], sizeMb: number): Promise<NonNullable<BenchFigures['mbox']>> {
  const file = path.join(os.tmpdir(), `formwarden-bounces-bench-${process.pid}.mbox`);
  try {
    const ws = createWriteStream(file);
    let written = 0;
    const target = sizeMb * 1024 * 1024;
    let i = 0;
    while (written < target) {
      const m = msgs[i++ % msgs.length]!;
      const body = m.subarray(0, 5).toString('latin1') === 'From ' ? m : Buffer.concat([Buffer.from('From MAILER-DAEMON Thu Jan  1 00:00:00 2015\n'), m]);
      const chunk = Buffer.concat([body, Buffer.from('\n')]);
      if (!ws.write(chunk)) await new Promise<void>((r) => ws.once('drain', () => r()));
      written += chunk.length;
    }
    await new Promise<void>((r) => ws.end(() => r()));
    const t0 = process.hrtime.bigint();
    let n = 0;
    for await (const m of readMbox(file)) { parseBounce(m.raw); n++; }
    const dt = Number(process.hrtime.bigint() - t0) / 1e9;
    return {
      sizeMb, messages: n, msgsPerSecond: Math.round(n / dt), mbPerSecond: Math.round((written / 1048576 / dt) * 10) / 10,
      peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    };
  } finally {
    rmSync(file, { force: true });
  }
}

await main();
// Speed and memory as users run it, whole processes against Sisimai (issue #13 item 2): bench/bounces-process.ts.
if (!flag('--json') && !flag('--no-process')) await (await import('./bounces-process.js')).runStandalone(args, '--process-rounds');
