import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readMessages } from '../parse/index.js';
import { createImapClient } from '../imap/index.js';
import { dovecotMissing, startDovecot } from '../../../test/support/dovecot.js';
import { analyze, dayOf, renderHtml, renderJson, renderText, runAnalyze, type Report } from './index.js';
import { sampleMbox, sampleMessages } from './sample-mbox.js';

const OWNER = ['sakura-dental.example'];
let tmp: string;
let mbox: string;
const expected = sampleMessages();

beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'fw-analyze-'));
  mbox = path.join(tmp, 'bounces.mbox');
  writeFileSync(mbox, sampleMbox());
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function sink(tty = false) {
  const s = new PassThrough() as PassThrough & { isTTY?: boolean; text(): string };
  let buf = '';
  s.on('data', (d) => (buf += d));
  s.isTTY = tty;
  s.text = () => buf;
  return s;
}

async function report(): Promise<Report> {
  return analyze(readMessages([mbox]), { ownerDomains: OWNER, now: () => new Date('2025-03-13T00:00:00Z') });
}

describe('dayOf', () => {
  it('takes the calendar day in the date\'s own zone', () => {
    expect(dayOf('Mon, 10 Mar 2025 00:30:00 +0900')).toBe('2025-03-10');
    expect(dayOf('Mon,  3 Mar 2025 10:00:01 +0900 (JST)')).toBe('2025-03-03');
    expect(dayOf('3 Mar 25 10:00 GMT')).toBe('2025-03-03');
    expect(dayOf('garbage')).toBeNull();
    expect(dayOf(null)).toBeNull();
  });
});

describe('analyze', () => {
  it('counts bounces per day by reason and by origin, complaints, vacations and auto-replies to strangers', async () => {
    const r = await report();
    const count = (k: string) => expected.filter((m) => m.expect.kind === k).length;
    expect(r.totals.messages).toBe(expected.length);
    expect(r.totals.bounces).toBe(count('ours') + count('spoofing') + count('account'));
    expect(r.byOrigin).toEqual({ ours: count('ours'), spoofing: count('spoofing'), account: count('account'), unrelated: 0, unknown: 0 });
    expect(r.totals.complaints).toBe(count('complaint'));
    expect(r.totals.vacations).toBe(count('vacation'));
    expect(r.totals.notBounces).toBe(count('other'));
    expect(r.totals.autoRepliesToStrangers).toBe(count('ours'));
    expect(r.firstDate).toBe('2025-03-03');
    expect(r.lastDate).toBe('2025-03-12');
    expect(r.days).toHaveLength(10);
    for (const d of r.days) {
      const want = expected.filter((m) => m.expect.day === d.date && ['ours', 'spoofing', 'account'].includes(m.expect.kind));
      expect(d.bounces).toBe(want.length);
      expect(Object.values(d.byReason).reduce((a, b) => a + b, 0)).toBe(d.bounces);
      expect(d.byOrigin.spoofing).toBe(want.filter((m) => m.expect.kind === 'spoofing').length);
    }
    expect(r.byReason[0]).toMatchObject({ reason: 'userunknown' });
    expect(r.byReason.map((x) => x.reason)).toEqual(expect.arrayContaining(['userunknown', 'mailboxfull']));
  });

  it('shows the share of recipient domains and top-level domains, and the sending IPs of the originals', async () => {
    const r = await report();
    expect(r.recipientTlds[0]).toMatchObject({ tld: '.ru', count: 36 });
    expect(r.recipientTlds[0]!.share).toBeGreaterThan(0.4);
    expect(r.recipientDomains[0]!.domain).toMatch(/^mail\d\.example\.ru$/);
    const ips = Object.fromEntries(r.sendingIps.map((x) => [x.ip, x]));
    expect(ips['198.51.100.10']?.origins).toEqual({ ours: expected.filter((m) => m.expect.kind === 'ours').length });
    expect(ips['198.51.100.203']?.origins).toEqual({ account: 2 });
    expect(Object.keys(ips)).toEqual(expect.arrayContaining(['203.0.113.70', '203.0.113.71']));
  });

  it('explains what the numbers mean, in English and Japanese', async () => {
    const r = await report();
    const ids = r.findings.map((f) => f.id);
    expect(ids[0]).toBe('account');
    expect(ids).toEqual(expect.arrayContaining(['account', 'relay-abuse', 'spoofing', 'domain-concentration', 'complaints', 'vacations']));
    const relay = r.findings.find((f) => f.id === 'relay-abuse')!;
    expect(relay.severity).toBe('warning');
    expect(relay.detail.en).toMatch(/rising/);
    expect(relay.detail.ja).toMatch(/増加傾向/);
    const spoof = r.findings.find((f) => f.id === 'spoofing')!;
    expect(spoof.action.en).toMatch(/SPF.*DKIM.*DMARC/);
    expect(r.findings.find((f) => f.id === 'account')!.action.ja).toMatch(/パスワード/);
  });

  it('says "nothing unusual" for a quiet mailbox and handles an empty one', async () => {
    const quiet = sampleMessages({ days: 4, surgeDays: 0 }).filter((m) => m.expect.kind === 'ours' || m.expect.kind === 'other');
    async function* src() { let i = 0; for (const m of quiet) yield { file: 'x', index: i++, raw: Buffer.from(m.raw) }; }
    const r = await analyze(src(), { ownerDomains: OWNER });
    expect(r.findings.some((f) => f.severity !== 'info')).toBe(false);
    expect(r.findings.map((f) => f.id)).toContain('quiet');
    const empty = await analyze((async function* () { /* nothing */ })(), { ownerDomains: OWNER });
    expect(empty.totals.messages).toBe(0);
    expect(empty.days).toEqual([]);
    expect(renderText(empty, 'ja')).toContain('特に問題はありません');
    expect(renderHtml(empty)).toContain('</html>');
  });

  it('reports progress per message', async () => {
    const seen: Array<[number, number]> = [];
    await analyze(readMessages([mbox]), { ownerDomains: OWNER, onProgress: (n, b) => seen.push([n, b]) });
    expect(seen).toHaveLength(expected.length);
    expect(seen.at(-1)![1]).toBeGreaterThan(seen[0]![1]);
  });
});

describe('renderers', () => {
  it('renders terminal tables in both languages and JSON', async () => {
    const r = await report();
    const en = renderText(r, 'en');
    expect(en).toContain('Bounces per day by reason');
    expect(en).toMatch(/2025-03-12\s+\d+/);
    expect(en).toMatch(/\[CRITICAL\] Your mail account may be taken over/);
    const ja = renderText(r, 'ja');
    expect(ja).toContain('日別バウンス（理由別）');
    expect(ja).toContain('[緊急]');
    expect(JSON.parse(renderJson(r))).toEqual(JSON.parse(JSON.stringify(r)));
  });

  it('renders one self-contained HTML page with SVG charts, both languages, and escapes bounce data', async () => {
    const r = await report();
    r.recipientDomains.push({ domain: '<script>alert(1)</script>.example', count: 1, share: 0 });
    const html = renderHtml(r, 'en');
    expect(html).not.toMatch(/<script/i);
    expect(html).toContain('&lt;script&gt;');
    expect(html).not.toMatch(/\b(?:src|href)=["']?(?:https?:)?\/\//i);
    expect(html).not.toMatch(/url\(|@import/);
    expect(html.match(/<svg /g)).toHaveLength(3);
    expect(html).toContain('Bounces per day by reason');
    expect(html).toContain('日別バウンス（理由別）');
    expect(html).toMatch(/id="lang-en" checked/);
  });
});

describe('runAnalyze', () => {
  it('prints the table, writes HTML, shows progress only when asked, and reads Maildir and .eml too', async () => {
    const maildir = path.join(tmp, 'Maildir');
    mkdirSync(path.join(maildir, 'cur'), { recursive: true });
    mkdirSync(path.join(maildir, 'new'), { recursive: true });
    expected.slice(0, 5).forEach((m, i) => writeFileSync(path.join(maildir, 'cur', `${1000 + i}.eml:2,S`), m.raw));
    const eml = path.join(tmp, 'one.eml');
    writeFileSync(eml, expected[0]!.raw);
    const htmlFile = path.join(tmp, 'report.html');
    const out = sink();
    const err = sink(false);
    const code = await runAnalyze([mbox, maildir, eml], { html: htmlFile, lang: 'ja', ownerDomains: OWNER }, out, err);
    expect(code).toBe(0);
    expect(out.text()).toContain('日別バウンス（理由別）');
    expect(err.text()).toContain(`HTML report written to ${htmlFile}`);
    expect(err.text()).not.toMatch(/analyze: \d+ messages/);
    expect(readFileSync(htmlFile, 'utf8')).toMatch(/^<!DOCTYPE html>/);

    const out2 = sink();
    const err2 = sink(false);
    expect(await runAnalyze([mbox], { json: true, progress: true, progressEvery: 10, ownerDomains: OWNER }, out2, err2)).toBe(0);
    const j = JSON.parse(out2.text()) as Report;
    expect(j.totals.messages).toBe(expected.length);
    expect(err2.text()).toMatch(/analyze: \d+ messages, [\d.]+ MB\n/);
  });

  it('reports an unreadable path, still prints the rest, and exits 1', async () => {
    const out = sink();
    const err = sink();
    expect(await runAnalyze([path.join(tmp, 'missing.mbox'), mbox], { json: true, ownerDomains: OWNER }, out, err)).toBe(1);
    expect(err.text()).toMatch(/cannot read .*missing\.mbox/);
    expect((JSON.parse(out.text()) as Report).totals.messages).toBe(expected.length);
    expect(await runAnalyze([], {}, out, err)).toBe(2);
  });

  describe.skipIf(dovecotMissing())('from IMAP', () => {
    it('analyzes an IMAP folder given as imap://user:pass@host:port/MAILBOX', async () => {
      const server = await startDovecot();
      try {
        const c = await createImapClient({ host: server.host, port: server.port, user: server.user, pass: server.pass });
        await c.connect();
        for (const m of expected.slice(0, 20)) await c.append('INBOX', m.raw);
        await c.logout();
        const out = sink();
        const err = sink();
        expect(await runAnalyze([server.url()], { json: true, ownerDomains: OWNER }, out, err)).toBe(0);
        expect((JSON.parse(out.text()) as Report).totals.messages).toBe(20);
        const bad = sink();
        expect(await runAnalyze([server.url().replace(server.pass, 'nope')], { json: true, ownerDomains: OWNER }, sink(), bad)).toBe(1);
        expect(bad.text()).toMatch(/cannot read imap:\/\/bounces:\*\*\*@127\.0\.0\.1/);
        expect(bad.text()).not.toContain('nope');
      } finally {
        await server.dispose();
      }
    });
  });
});
