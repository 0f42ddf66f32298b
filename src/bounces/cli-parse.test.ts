import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { hostileText, TERMINAL_CONTROL } from '../../test/support/hostile-text.js';
import { openPool, parseMessages, runBouncesParse } from './cli-parse.js';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), 'parse', 'fixtures');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'fw-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function run(paths: string[], json: boolean): Promise<{ code: number; text: string }> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  const code = await runBouncesParse(paths, { json }, out);
  return { code, text: Buffer.concat(chunks).toString('utf8') };
}

describe('runBouncesParse', () => {
  it('prints one JSON object per message', async () => {
    const mbox = path.join(tmp, 'two.mbox');
    const a = readFileSync(path.join(fixtures, 'qmail.eml'), 'latin1');
    const b = readFileSync(path.join(fixtures, 'exim.eml'), 'latin1');
    writeFileSync(mbox, `From MAILER-DAEMON Mon Mar  3 10:00:00 2025\n${a}\nFrom MAILER-DAEMON Mon Mar  3 10:00:01 2025\n${b}`, 'latin1');
    const { code, text } = await run([path.join(fixtures, 'postfix-dsn.eml'), mbox], true);
    expect(code).toBe(0);
    const objs = text.trim().split('\n').map((l) => JSON.parse(l) as { file: string; index: number; bounces: Array<Record<string, unknown>> });
    expect(objs).toHaveLength(3);
    expect(objs[0]!.bounces[0]).toMatchObject({ recipient: 'nobody-here@receiver.example', reason: 'userunknown', hard: true, originalMessageId: 'inquiry-123@sender.example' });
    expect(Object.keys(objs[0]!.bounces[0]!)).toEqual(['recipient', 'sentTo', 'finalRecipient', 'reason', 'status', 'replyCode', 'hard', 'action', 'diagnostic', 'feedbackType', 'originalMessageId']);
    expect(objs.map((o) => o.index)).toEqual([0, 0, 1]);
    expect(objs[2]!.bounces[0]).toMatchObject({ recipient: 'gone.user@far.example', reason: 'mailboxfull' });
  });

  it('prints a compact line per recipient and fails on unreadable paths', async () => {
    const { code, text } = await run([path.join(fixtures, 'arf.eml'), path.join(tmp, 'missing.eml')], false);
    expect(code).toBe(1);
    expect(text).toMatch(/complainer@mailbox\.example\tfeedback\t-\tsoft/);
  });

  it('never lets the text of a bounce drive the terminal (ESC/CSI/OSC, C1, bidi overrides), in text or JSON output', async () => {
    const file = path.join(tmp, 'hostile.eml');
    await fc.assert(
      fc.asyncProperty(hostileText, hostileText, async (diag, text) => {
        const line = diag.replace(/[\r\n]/g, ' ');
        const raw = [
          'From: MAILER-DAEMON@mx.dest.example', 'To: shop@example.jp', 'Subject: Undelivered Mail Returned to Sender', 'MIME-Version: 1.0',
          'Content-Type: multipart/report; report-type=delivery-status; boundary="b"', '', '--b', 'Content-Type: text/plain; charset=utf-8', '',
          `<gone@dest.example>: ${text}`, '--b', 'Content-Type: message/delivery-status', '', 'Reporting-MTA: dns; mx.dest.example', '',
          'Final-Recipient: rfc822; gone@dest.example', 'Action: failed', 'Status: 5.1.1', `Diagnostic-Code: smtp; 550 5.1.1 ${line} user unknown`, '--b--', '',
        ].join('\r\n');
        writeFileSync(file, raw, 'utf8');
        const plain = await run([file], false);
        expect(plain.text).not.toMatch(TERMINAL_CONTROL);
        expect(plain.text.trimEnd().split('\n')).toHaveLength(1);
        const json = await run([file], true);
        expect(json.text).not.toMatch(TERMINAL_CONTROL);
        expect((JSON.parse(json.text) as { bounces: unknown[] }).bounces).toHaveLength(1);
      }),
      { numRuns: 40 },
    );
  });
});

describe('runBouncesParse: inline or in worker threads', () => {
  // A directory of fixtures (three copies each, more than the window of messages in flight) and the same as an mbox.
  const names = readdirSync(fixtures).filter((f) => f.endsWith('.eml')).sort();
  const dir = path.join(tmp, 'many');
  mkdirSync(dir);
  const mboxParts: string[] = [];
  for (const copy of ['c', 'a', 'b']) {
    for (const n of names) {
      const raw = readFileSync(path.join(fixtures, n), 'latin1');
      writeFileSync(path.join(dir, `${copy}-${n}`), raw, 'latin1');
      mboxParts.push(`From MAILER-DAEMON Mon Mar  3 10:00:00 2025\n${raw}\n`);
    }
  }
  const mbox = path.join(tmp, 'many.mbox');
  writeFileSync(mbox, mboxParts.join(''), 'latin1');

  it('prints the same lines in the same order whichever path parses, run after run', async () => {
    const inline = await run([dir, mbox], true);
    expect(inline.code).toBe(0);
    const lines = inline.text.trimEnd().split('\n');
    expect(lines).toHaveLength(names.length * 6);
    const objs = lines.map((l) => JSON.parse(l) as { file: string; index: number });
    // Files in name order, then the mbox's messages in file order.
    const files = objs.slice(0, names.length * 3).map((o) => path.basename(o.file));
    expect(files).toEqual([...files].sort());
    expect(objs.slice(names.length * 3).map((o) => o.index)).toEqual([...Array(names.length * 3).keys()]);
    for (const workers of [1, 2]) {
      const out = new PassThrough();
      const chunks: Buffer[] = [];
      out.on('data', (c: Buffer) => chunks.push(c));
      expect(await runBouncesParse([dir, mbox], { json: true, workers }, out)).toBe(0);
      expect(Buffer.concat(chunks).toString('utf8')).toBe(inline.text);
    }
    expect((await run([dir, mbox], true)).text).toBe(inline.text);
  }, 60_000);

  it('parses in workers exactly what it parses inline, message by message', async () => {
    const inline: unknown[] = [];
    for await (const [m, r] of parseMessages(dir, null)) inline.push([m.file, m.index, r]);
    const pooled: unknown[] = [];
    const pool = await openPool(2);
    try {
      for await (const [m, r] of parseMessages(dir, pool)) pooled.push([m.file, m.index, r]);
    } finally {
      await pool?.close();
    }
    expect(pooled).toEqual(inline);
  }, 60_000);

  it('starts its worker threads once per run, not once per path (a shell glob gives one path per file)', async () => {
    const files = readdirSync(dir).map((n) => path.join(dir, n));
    expect(files.length).toBeGreaterThanOrEqual(3);
    let started = 0;
    const count = () => started++;
    process.on('worker', count);
    try {
      const out = new PassThrough();
      const chunks: Buffer[] = [];
      out.on('data', (c: Buffer) => chunks.push(c));
      expect(await runBouncesParse([...files, mbox], { json: true, workers: 1 }, out)).toBe(0);
      expect(Buffer.concat(chunks).toString('utf8')).toBe((await run([...files, mbox], true)).text);
    } finally {
      process.off('worker', count);
    }
    expect(started).toBe(1);
  }, 60_000);

  it('a path that cannot be read is reported, and the paths after it still parse in the same pool', async () => {
    const fifo = path.join(tmp, 'pipe-w.eml');
    execFileSync('mkfifo', [fifo]);
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    expect(await runBouncesParse([dir, fifo, mbox], { json: true, workers: 1 }, out)).toBe(1);
    const lines = Buffer.concat(chunks).toString('utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(names.length * 6);
  }, 60_000);

  it('a FIFO given as a path is reported, not waited on forever', async () => {
    const fifo = path.join(tmp, 'pipe.eml');
    execFileSync('mkfifo', [fifo]);
    const { code, text } = await run([fifo, path.join(fixtures, 'arf.eml')], true);
    expect(code).toBe(1);
    expect(text.trimEnd().split('\n')).toHaveLength(1);
  }, 10_000);
});
