// The bounce parser against worst-case inputs: each adversarial message (about 1 MiB) is run through every
// entry point that reads untrusted mail text, next to a normal DSN padded to the same size with ordinary
// text (the baseline of the same run: the machine is shared and noisy, compare ratios).
//   node --import tsx bench/bounce-adversarial.ts [--size BYTES] [--timeout S] [--rounds N] [--only a,b] [--entries a,b] [--json]
// Each case runs in a worker thread; an entry point that needs longer than --timeout (default 60 s) is
// stopped and reported as "> timeout". Inputs only use functions that exist since 183fc51, so the file can be
// copied into an older checkout to measure it the same way.
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { ReportBuilder } from '../src/bounces/analyze/report.js';
import { readMessageHeaders } from '../src/bounces/origin/headers.js';
import { classify } from '../src/bounces/parse/classify.js';
import { parseBounce } from '../src/bounces/parse/index.js';
import { parseTextLayout } from '../src/bounces/parse/lhost/generic.js';
import { walkMessage } from '../src/bounces/parse/mime.js';
import { remoteHostReason, remoteHosts } from '../src/bounces/parse/rhost.js';

const MiB = 1024 * 1024;

/** One adversarial input: the full message, and the payload alone for the text-level entry points. */
interface Input { message: string; payload: string }

const HEAD = [
  'From: MAILER-DAEMON@mx.dest.example (Mail Delivery System)',
  'To: bounce+abc@bounce.example.jp',
  'Subject: Undelivered Mail Returned to Sender',
  'Date: Mon, 10 Mar 2025 10:00:00 +0900',
  'Message-ID: <dsn-1@mx.dest.example>',
  'MIME-Version: 1.0',
].join('\r\n');

const STATUS = 'Reporting-MTA: dns; mx.dest.example\r\n\r\nFinal-Recipient: rfc822; gone@dest.example\r\nAction: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 <gone@dest.example>: User unknown\r\n';
const ORIGINAL = 'From: Shop <info@example.jp>\r\nTo: gone@dest.example\r\nSubject: Thank you\r\nMessage-ID: <m_1@example.jp>\r\n';

/**
 * A multipart/report whose human-readable part is `text` (optionally with its own transfer encoding). With
 * `copies`, that part is repeated (as separate parts): the parser reads at most 256 KB of one part, so a
 * long run must end within that to be read at all, and a message of 1 MiB holds several such parts.
 */
function report(text: string, o: { cte?: string; type?: string; status?: string; original?: string; headers?: string; copies?: number } = {}): string {
  const part = [`--b`, `Content-Type: ${o.type ?? 'text/plain'}; charset=utf-8`, ...(o.cte ? [`Content-Transfer-Encoding: ${o.cte}`] : []), '', text].join('\r\n');
  return [
    HEAD + (o.headers ?? ''),
    'Content-Type: multipart/report; report-type=delivery-status; boundary="b"',
    '',
    ...Array.from({ length: o.copies ?? 1 }, () => part),
    '--b',
    'Content-Type: message/delivery-status',
    '',
    o.status ?? STATUS,
    '--b',
    'Content-Type: text/rfc822-headers',
    '',
    o.original ?? ORIGINAL,
    '--b--',
    '',
  ].join('\r\n');
}

const rep = (unit: string, bytes: number) => unit.repeat(Math.max(1, Math.floor(bytes / unit.length)));
const DIAG = '<gone@dest.example>: host mx.dest.example[192.0.2.25] said: 550 5.1.1 User unknown';
const PROSE = 'The quick brown fox jumps over the lazy dog while the mail system keeps a copy of every line it was given.\r\n';
/** Longest run or line that still ends inside what the parser reads of a part or a header block (256 KB). */
const RUN = 240 * 1024;

/**
 * `line` (a long run that ends within one part) in as many text parts as fit in `size`; the payload for the
 * text-level entry points is the same lines, one after the other, about `size` long.
 */
function spread(line: string, size: number, o: { cte?: string; type?: string; decoded?: string } = {}): Input {
  const copies = Math.max(1, Math.floor((size - 2000) / (line.length + 60)));
  return { message: report(line, { ...o, copies }), payload: `${o.decoded ?? line}\r\n`.repeat(copies) };
}
const run = (size: number) => Math.min(RUN, size - 2000);

/** Each case is the worst we found for one family of inputs; `size` is the target message size. */
const CASES: Record<string, (size: number) => Input> = {
  // A normal DSN padded to the size with ordinary text: what the other rows are compared with.
  baseline: (n) => { const p = `${DIAG}\r\n\r\n${rep(PROSE, n - 1500)}`; return { message: report(p), payload: p }; },
  // A line with a whitespace run in the middle (the reported freeze).
  'whitespace-run': (n) => spread(`${DIAG}${' '.repeat(run(n))}x`, n),
  'whitespace-mixed': (n) => spread(`${DIAG}${rep(' \t\u00a0\u3000\v\f', run(n) / 2)}x`, n),
  'whitespace-lines': (n) => { const p = `${DIAG}\r\n${rep(' \r\n', n - 1500)}x`; return { message: report(p), payload: p }; },
  'blank-lines': (n) => { const p = `${DIAG}\r\n${rep('\r\n', n - 1500)}x`; return { message: report(p), payload: p }; },
  'long-line': (n) => spread(`${DIAG} ${'a'.repeat(run(n))}`, n),
  'long-line-addresses': (n) => spread(`${DIAG} ${rep('a@', run(n))}`, n),
  'long-line-dots': (n) => spread(`550 5.1.1 ${rep('a.', run(n))}`, n),
  // Quoted-printable soft breaks: a real MTA folds a long line into 76-column pieces; decoding joins them.
  'qp-soft-breaks': (n) => {
    const pieces = Math.floor(run(n) / 76);
    return spread(`${DIAG}=\r\n${`${' '.repeat(73)}=\r\n`.repeat(pieces)}x`, n, { cte: 'quoted-printable', decoded: `${DIAG}${' '.repeat(73 * pieces)}x` });
  },
  'qp-breaks-only': (n) => { const enc = `${DIAG}${rep('=\r\n', n - 1500)}x`; return { message: report(enc, { cte: 'quoted-printable' }), payload: `${DIAG}x` }; },
  'qp-equals-spaces': (n) => spread(`${DIAG}=${' '.repeat(run(n))}x`, n, { cte: 'quoted-printable' }),
  // HTML only (no text/plain): the tag stripper.
  'html-open-tags': (n) => spread(`${DIAG}${rep('<style>', run(n))}`, n, { type: 'text/html' }),
  'html-unclosed': (n) => spread(`${DIAG}${rep('<a', run(n))}`, n, { type: 'text/html' }),
  // Headers (the parser reads 256 KB of a header block): one long unfolded line, and one folded over many lines.
  'header-long-token': (n) => {
    const v = `<${rep('a@', Math.min(RUN, (n - 2000) / 4))}`;
    return { message: report(DIAG, { headers: `\r\nReply-To: ${v}\r\nX-Original-To: ${v}`, original: `From: ${v}\r\nTo: ${v}\r\nMessage-ID: <m_1@example.jp>\r\n` }), payload: v };
  },
  'header-folded': (n) => {
    const v = `x${rep('\r\n \t a@b', Math.min(RUN, (n - 2000) / 4))}`;
    return { message: report(DIAG, { headers: `\r\nX-Long: ${v}`, original: `Subject: ${v}\r\nFrom: ${v}\r\nMessage-ID: <m_1@example.jp>\r\n` }), payload: v };
  },
  'content-type-whitespace': (n) => {
    const v = `multipart/report;${' '.repeat(run(n))}!`;
    return { message: `${HEAD}\r\nContent-Type: ${v}\r\n\r\n${DIAG}\r\n${rep(PROSE, n - v.length - 2000)}`, payload: v };
  },
  'encoded-words': (n) => {
    const v = rep('=?utf-8?q?a?= ', Math.min(RUN, (n - 2000) / 2));
    return { message: report(DIAG, { headers: `\r\nX-Subject: ${v}`, original: `Subject: ${v}\r\nTo: ${rep('=?x', Math.min(RUN, (n - 2000) / 2))}\r\n` }), payload: v };
  },
  'date-parentheses': (n) => { const v = rep('(', run(n)); return { message: report(DIAG, { original: ORIGINAL }).replace('Date: Mon, 10 Mar 2025 10:00:00 +0900', `Date: ${v}`), payload: v }; },
  // MIME structure.
  'deep-nesting': (n) => {
    const levels = Math.floor((n - 2000) / 110);
    let open = '';
    let close = '';
    for (let i = 0; i < levels; i++) {
      open += `Content-Type: multipart/mixed; boundary="L${i}x"\r\n\r\n--L${i}x\r\n`;
      close = `\r\n--L${i}x--${close}`;
    }
    const body = `${open}Content-Type: text/plain\r\n\r\n${DIAG}${close}`;
    return { message: `${HEAD}\r\n${body}\r\n`, payload: DIAG };
  },
  'many-parts': (n) => {
    const part = '--b\r\nContent-Type: text/plain\r\n\r\n<u@dest.example>: 550 5.1.1 unknown\r\n';
    return { message: `${HEAD}\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n${rep(part, n - 1500)}--b--\r\n`, payload: DIAG };
  },
  'header-like-lines': (n) => { const p = `${DIAG}\r\n\r\n${rep('Received: from x\r\nX-A: b\r\n\r\n', n - 1500)}`; return { message: report(p), payload: p }; },
  'status-fields': (n) => {
    const s = `Reporting-MTA: dns; mx.dest.example\r\n\r\n${rep('Status: 5.1.1\r\nFinal-Recipient: rfc822; u@dest.example\r\n', n - 1500)}`;
    return { message: report(DIAG, { status: s }), payload: s };
  },
  'recipient-blocks': (n) => {
    let s = 'Reporting-MTA: dns; mx.dest.example\r\n';
    for (let i = 0; s.length < n - 1500; i++) s += `\r\nFinal-Recipient: rfc822; u${i}@dest${i % 97}.example\r\nAction: failed\r\nStatus: 5.1.1\r\n`;
    return { message: report(DIAG, { status: s }), payload: s };
  },
  'recipient-lines': (n) => {
    let p = '';
    for (let i = 0; p.length < n - 1500; i++) p += `<u${i}@dest.example>: 550 5.1.1 user unknown\r\n`;
    return { message: report(p), payload: p };
  },
  'bare-cr': (n) => { const p = `${DIAG}${rep('\r', n - 1500)}x`; return { message: report(p), payload: p }; },
};

/** The input as each entry point receives it (line endings normalised beforehand, outside the timing). */
interface Prepared extends Input { messageLf: string; payloadLf: string }

const ENTRIES: Record<string, (i: Prepared) => unknown> = {
  parse: (i) => parseBounce(i.message),
  mime: (i) => walkMessage(i.messageLf),
  layout: (i) => parseTextLayout(i.payloadLf, { exclude: new Set() }),
  rhost: (i) => remoteHostReason('gone@dest.example', remoteHosts(i.payload), { diagnostic: i.payload, status: '5.1.1', replyCode: '550', command: 'RCPT' }),
  reasons: (i) => classify({ recipient: 'gone@dest.example', action: 'failed', status: '', replyCode: '', diagnostic: i.payload, diagnosticType: 'SMTP', command: '', reason: '', feedbackType: '' }),
  origin: (i) => readMessageHeaders(i.message),
  analyze: (i) => new ReportBuilder({ ownerDomains: ['example.jp'] }).add(Buffer.from(i.message, 'utf8')),
};

type Msg = { entry: string; ms: number } | { done: true };

async function runInWorker(): Promise<void> {
  const { name, size, entries, rounds } = workerData as { name: string; size: number; entries: string[]; rounds: number };
  const raw = CASES[name]!(size);
  const input: Prepared = { ...raw, messageLf: raw.message.replace(/\r\n?/g, '\n'), payloadLf: raw.payload.replace(/\r\n?/g, '\n') };
  for (const e of entries) {
    const times: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const t0 = performance.now();
      await ENTRIES[e]!(input);
      times.push(performance.now() - t0);
      if (times[0]! > 1000) break; // slow: one round says enough
    }
    times.sort((a, b) => a - b);
    parentPort!.postMessage({ entry: e, ms: times[Math.floor(times.length / 2)]! } satisfies Msg);
  }
  parentPort!.postMessage({ done: true } satisfies Msg);
}

/** Runs the entries of one case; an entry that exceeds the timeout is reported as null and the rest go on in a fresh worker. */
async function measure(name: string, size: number, entries: string[], rounds: number, timeoutMs: number): Promise<Record<string, number | null>> {
  const out: Record<string, number | null> = {};
  let todo = [...entries];
  while (todo.length) {
    await new Promise<void>((resolve) => {
      const w = tsWorker(new URL(import.meta.url), { name, size, entries: todo, rounds });
      let timer: NodeJS.Timeout;
      const arm = () => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          out[todo[0]!] = null;
          todo = todo.slice(1);
          void w.terminate();
        }, timeoutMs);
      };
      arm();
      w.on('message', (m: Msg) => {
        if ('done' in m) { clearTimeout(timer); return; }
        out[m.entry] = m.ms;
        todo = todo.filter((e) => e !== m.entry);
        arm();
      });
      w.on('error', (e) => { clearTimeout(timer); out[todo[0]!] = Number.NaN; todo = todo.slice(1); process.stderr.write(`${name}: ${String(e)}\n`); });
      w.on('exit', () => { clearTimeout(timer); resolve(); });
    });
  }
  return out;
}

/** A worker running this TypeScript file (`--import tsx` does not reach worker threads on Node 20). */
function tsWorker(url: URL, data: unknown): Worker {
  const api = import.meta.resolve('tsx/esm/api');
  return new Worker(`import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}); });`, { eval: true, workerData: data });
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const val = (f: string) => { const i = args.indexOf(f); return i >= 0 ? args[i + 1] : undefined; };
  const size = Number(val('--size') ?? MiB);
  const timeoutMs = Number(val('--timeout') ?? 60) * 1000;
  const rounds = Number(val('--rounds') ?? 3);
  const only = val('--only')?.split(',');
  const entries = val('--entries')?.split(',') ?? Object.keys(ENTRIES);
  const names = Object.keys(CASES).filter((n) => n === 'baseline' || !only || only.includes(n));
  const rows: Array<{ case: string; bytes: number; ms: Record<string, number | null> }> = [];
  for (const name of names) {
    const bytes = Buffer.byteLength(CASES[name]!(size).message, 'utf8');
    const ms = await measure(name, size, entries, rounds, timeoutMs);
    rows.push({ case: name, bytes, ms });
    if (!args.includes('--json')) process.stderr.write(`  ${name} done\n`);
  }
  const base = rows[0]!.ms;
  const worst = rows.slice(1).map((r) => ({ case: r.case, entry: '', ms: -1 }));
  rows.slice(1).forEach((r, i) => {
    for (const e of entries) {
      const v = r.ms[e];
      const ms = v === null || v === undefined ? Infinity : v;
      if (ms > worst[i]!.ms) worst[i] = { case: r.case, entry: e, ms };
    }
  });
  const worstOverall = worst.reduce((a, b) => (b.ms > a.ms ? b : a), { case: '', entry: '', ms: -1 });
  if (args.includes('--json')) {
    console.log(JSON.stringify({ size, timeoutMs, rows, worst: worstOverall.ms === Infinity ? { ...worstOverall, ms: null } : worstOverall }, null, 2));
    return;
  }
  const fmt = (v: number | null | undefined) => (v === null ? `>${timeoutMs / 1000}s` : v === undefined ? '-' : Number.isNaN(v) ? 'error' : v >= 1000 ? `${(v / 1000).toFixed(1)}s` : `${v.toFixed(1)}`);
  const w = Math.max(...rows.map((r) => r.case.length));
  console.log(`bounce parser, adversarial inputs of ~${(size / MiB).toFixed(2)} MiB: parse time in ms (median of ${rounds}), x = ratio to the baseline`);
  console.log(`${'case'.padEnd(w)}  ${'bytes'.padStart(8)}  ${entries.map((e) => e.padStart(14)).join('')}`);
  for (const r of rows) {
    const cells = entries.map((e) => {
      const v = r.ms[e];
      const b = base[e];
      const ratio = r === rows[0] || v === null || v === undefined || !b ? '' : ` x${(v / b).toFixed(1)}`;
      return `${fmt(v)}${ratio}`.padStart(14);
    });
    console.log(`${r.case.padEnd(w)}  ${String(r.bytes).padStart(8)}  ${cells.join('')}`);
  }
  const withUnit = (v: number | null | undefined) => { const f = fmt(v); return /^[\d.]+$/.test(f) ? `${f} ms` : f; };
  console.log(`worst: ${worstOverall.case} / ${worstOverall.entry}: ${withUnit(worstOverall.ms === Infinity ? null : worstOverall.ms)} (baseline ${withUnit(base[worstOverall.entry])})`);
}

if (isMainThread) await main();
else await runInWorker();
