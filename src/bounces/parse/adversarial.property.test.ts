// Class 4 of issue #10: one unauthenticated message must not be able to make the parser's work grow faster than
// its size. fast-check builds large inputs (up to 1 MiB) from the families that used to take quadratic time or
// more: whitespace runs (also reached through quoted-printable soft breaks), very long lines, long and folded
// headers, deep multipart nesting, thousands of parts, floods of header-like lines and of DSN fields. Every one
// must come back from the parser with a sane result, and the messages beyond the budget (parts, depth, lines,
// bytes) as unparseable. There is no timing assertion: before the fix these runs took minutes to hours and the
// test did not finish; the budget checks fail at once on the old parser (it has no overBudget).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { classify } from './classify.js';
import { parseBounce, type ParsedBounce } from './index.js';
import { parseTextLayout } from './lhost/generic.js';
import { walkMessage } from './mime.js';
import { remoteHostReason, remoteHosts } from './rhost.js';

const KINDS = new Set(['dsn', 'arf', 'vacation', 'challenge', 'non-standard', 'not-a-bounce', 'unparseable']);
const MiB = 1024 * 1024;
const HEAD = 'From: MAILER-DAEMON@mx.dest.example (Mail Delivery System)\r\nTo: bounce+x@bounce.example.jp\r\nSubject: Undelivered Mail Returned to Sender\r\nMIME-Version: 1.0\r\n';
const DIAG = '<gone@dest.example>: host mx.dest.example[192.0.2.25] said: 550 5.1.1 User unknown';
const STATUS = 'Reporting-MTA: dns; mx.dest.example\r\n\r\nFinal-Recipient: rfc822; gone@dest.example\r\nAction: failed\r\nStatus: 5.1.1\r\n';

/** A DSN; with `fill`, its text part is repeated (as separate parts) until the message is about 1 MiB. */
function report(text: string, o: { cte?: string; type?: string; status?: string; headers?: string; original?: string; fill?: boolean } = {}): string {
  const part = `--b\r\nContent-Type: ${o.type ?? 'text/plain'}\r\n${o.cte ? `Content-Transfer-Encoding: ${o.cte}\r\n` : ''}\r\n${text}\r\n`;
  const copies = o.fill ? Math.max(1, Math.min(100, Math.floor((MiB - 4096) / part.length))) : 1;
  return `${HEAD}${o.headers ?? ''}Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n${part.repeat(copies)}--b\r\nContent-Type: message/delivery-status\r\n\r\n${o.status ?? STATUS}\r\n--b\r\nContent-Type: text/rfc822-headers\r\n\r\n${o.original ?? 'From: Shop <info@example.jp>\r\nTo: gone@dest.example\r\nMessage-ID: <m_1@example.jp>\r\n'}\r\n--b--\r\n`;
}

/** `unit` repeated to about `bytes` bytes. */
const fill = (unit: string, bytes: number) => unit.repeat(Math.max(1, Math.ceil(bytes / Buffer.byteLength(unit))));

interface Case { raws: string[]; payload: string; expect?: 'parts' | 'depth' }

// One run or line of up to 240 KB: the parser reads 256 KB of a part and of a header block, so the character
// that ends the run is still read (a run cut at the end of what is read costs nothing); the text parts are
// repeated up to about 1 MiB.
const size = fc.integer({ min: 16 * 1024, max: 240 * 1024 });
const bigSize = fc.integer({ min: 64 * 1024, max: MiB - 8 * 1024 });
const space = fc.constantFrom(' ', '\t', '\u00a0', '\u3000', ' \t', '\u2003', '\v\f');
/**
 * Every place the parser reads a payload from: the text part, an HTML part, a DSN field, the outer headers
 * (Content-Type parameters among them) and the returned message's headers.
 */
function everywhere(payload: string): string[] {
  return [
    report(`${DIAG}${payload}x`, { fill: true }),
    report(`<p>${DIAG}${payload}</p>`, { type: 'text/html', fill: true }),
    report(DIAG, { status: `${STATUS}Diagnostic-Code: smtp; 550 ${payload}x\r\n` }),
    report(DIAG, { headers: `X-Long: <${payload}>\r\nReply-To: ${payload}\r\n` }),
    report(DIAG).replace('report-type=delivery-status;', `report-type=delivery-status;${payload}!`),
    report(DIAG, { original: `From: <${payload}\r\nTo: ${payload}\r\nSubject: ${payload}\r\nMessage-ID: <m_1@example.jp>\r\n` }),
  ];
}

const families: Record<string, fc.Arbitrary<Case>> = {
  'whitespace runs': fc.tuple(space, size).map(([s, n]) => { const p = fill(s, n); return { raws: everywhere(p), payload: p }; }),
  'one very long line': fc.tuple(fc.constantFrom('a', 'a@', '<', '(', '=?', 'a.', '-', '"', '[1', 'x@y.', '>>> ', '<a@'), size)
    .map(([u, n]) => { const p = fill(u, n); return { raws: everywhere(p), payload: p }; }),
  'quoted-printable soft breaks': fc.tuple(fc.constantFrom('=\r\n', ' =\r\n', '=  \r\n', `${' '.repeat(73)}=\r\n`, `${'\t'.repeat(70)}=\r\n`), size)
    .map(([u, n]) => { const enc = `${DIAG}=\r\n${fill(u, n)}x`; return { raws: [report(enc, { cte: 'quoted-printable', fill: true })], payload: enc }; }),
  'folded headers': fc.tuple(fc.constantFrom('\r\n ', '\r\n\t', '\r\n      '), fc.constantFrom('a@b', 'x', ';', '=?utf-8?q?a?=', '(c)', ''), size)
    .map(([fold, word, n]) => { const v = `x${fill(`${fold}${word}`, n / 2)}`; return { raws: [report(DIAG, { headers: `Content-Type-X: ${v}\r\n`, original: `From: ${v}\r\nSubject: ${v}\r\nMessage-ID: <m@x>\r\n` })], payload: v }; }),
  'deep multipart nesting': fc.integer({ min: 13, max: 6000 }).map((depth) => {
    let open = '';
    let close = '';
    for (let i = 0; i < depth; i++) { open += `Content-Type: multipart/mixed; boundary="L${i}x"\r\n\r\n--L${i}x\r\n`; close = `\r\n--L${i}x--${close}`; }
    return { raws: [`${HEAD}${open}Content-Type: text/plain\r\n\r\n${DIAG}${close}\r\n`], payload: DIAG, expect: 'depth' as const };
  }),
  'thousands of parts': fc.integer({ min: 201, max: 12_000 }).map((n) => {
    const part = '--b\r\nContent-Type: text/plain\r\n\r\n<u@dest.example>: 550 5.1.1 unknown\r\n';
    return { raws: [`${HEAD}Content-Type: multipart/mixed; boundary="b"\r\n\r\n${part.repeat(n)}--b--\r\n`], payload: DIAG, expect: 'parts' as const };
  }),
  'header-like and DSN field floods': fc.tuple(
    fc.constantFrom('Received: from x\r\n', 'X-A: b\r\n\r\n', 'Status: 5.1.1\r\n', 'Final-Recipient: rfc822; u@d.example\r\n', 'Action: failed\r\nStatus: 4.4.1\r\n\r\n', '>>> RCPT TO:<a@b>\r\n<<< 550 5.1.1\r\n'),
    fc.constantFrom('text', 'status'),
    bigSize,
  ).map(([line, at, n]) => { const p = fill(line, n); return { raws: [at === 'status' ? report(DIAG, { status: `${STATUS}\r\n${p}` }) : report(`${DIAG}\r\n\r\n${p}`)], payload: p }; }),
};

function sane(r: ParsedBounce): void {
  expect(KINDS.has(r.kind)).toBe(true);
  expect(r.why ?? '').not.toMatch(/^internal error/);
  expect(r.bounces.length).toBeLessThanOrEqual(500);
  for (const b of r.bounces) {
    expect(b.recipient.length).toBeLessThanOrEqual(320);
    expect(b.diagnostic.length).toBeLessThanOrEqual(1000);
  }
  expect(r.bounce.subject.length).toBeLessThanOrEqual(1000);
  expect((r.bounce.date ?? '').length).toBeLessThanOrEqual(200);
}

describe('adversarial 1 MiB inputs: the parser completes with a sane, bounded result', () => {
  for (const [name, family] of Object.entries(families)) {
    it(name, () => {
      fc.assert(
        fc.property(family, (c) => {
          for (const raw of c.raws) {
            const r = parseBounce(raw);
            sane(r);
            if (c.expect) expect(r).toMatchObject({ kind: 'unparseable', bounces: [], overBudget: c.expect });
            walkMessage(raw.replace(/\r\n?/g, '\n'));
          }
          // The other entry points of the parser, on the payload itself.
          parseTextLayout(c.payload.replace(/\r\n?/g, '\n'), { exclude: new Set() });
          remoteHostReason('gone@dest.example', remoteHosts(c.payload), { diagnostic: c.payload, status: '5.1.1', replyCode: '550', command: 'RCPT' });
          classify({ recipient: 'gone@dest.example', action: 'failed', status: '', replyCode: '', diagnostic: c.payload, diagnosticType: 'SMTP', command: '', reason: '', feedbackType: '' });
        }),
        { numRuns: 6 },
      );
    }, 240_000);
  }

  it('a message over the line budget is unparseable, and over the byte budget it is not even read', () => {
    fc.assert(
      fc.property(fc.integer({ min: 200_001, max: 400_000 }), fc.constantFrom('\n', '\r\n', '\r', ' \n'), (n, eol) => {
        expect(parseBounce(`${HEAD}\r\n${DIAG}${eol.repeat(n)}`)).toMatchObject({ kind: 'unparseable', bounces: [], overBudget: 'lines' });
      }),
      { numRuns: 4 },
    );
    expect(parseBounce(report(DIAG), { maxBytes: 100 })).toMatchObject({ kind: 'unparseable', bounces: [], overBudget: 'bytes' });
  });
});
