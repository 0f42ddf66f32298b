import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cpuTime } from '../../../test/support/cpu.js';
import { parseBounce } from './index.js';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');
const postfix = readFileSync(path.join(dir, 'postfix-dsn.eml'), 'latin1');

const HEAD = 'From: MAILER-DAEMON@mx.example\nTo: forms@sender.example\nSubject: Undelivered Mail Returned to Sender\nMIME-Version: 1.0\n';

describe('robustness: never throws, bounded, explains what it cannot understand', () => {
  it('truncated MIME (cut in the middle of the report part)', () => {
    const cut = postfix.slice(0, postfix.indexOf('Action: failed') + 5);
    const r = parseBounce(cut);
    expect(r.bounces[0]?.recipient).toBe('nobody-here@receiver.example');
    expect(r.bounces[0]?.reason).toBe('userunknown'); // from the text part
  });

  it('multipart without the declared boundary in the body', () => {
    const raw = `${HEAD}Content-Type: multipart/report; boundary="NOT-THERE"\n\n<lost@dest.example>: host mx.dest.example said: 550 5.1.1 User unknown (in reply to RCPT TO command)\n`;
    const r = parseBounce(raw);
    expect(r.bounces[0]).toMatchObject({ recipient: 'lost@dest.example', reason: 'userunknown' });
  });

  it('multipart without any boundary parameter', () => {
    const r = parseBounce(`${HEAD}Content-Type: multipart/mixed\n\n<x@dest.example>: 552 5.2.2 Mailbox full\n`);
    expect(r.bounces[0]).toMatchObject({ recipient: 'x@dest.example', reason: 'mailboxfull' });
  });

  it('wrong charset label (UTF-8 bytes declared as ISO-2022-JP, unknown charset)', () => {
    for (const cs of ['ISO-2022-JP', 'x-no-such-charset', 'utf-16']) {
      const raw = Buffer.concat([Buffer.from(`${HEAD}Content-Type: text/plain; charset=${cs}\n\n`), Buffer.from('Zustellung fehlgeschlagen – <ü@dest.example>: 550 5.1.1 user unknown\n<real@dest.example>: 550 5.1.1 user unknown\n', 'utf8')]);
      const r = parseBounce(raw);
      expect(r.bounces.some((b) => b.recipient === 'real@dest.example' && b.reason === 'userunknown')).toBe(true);
    }
  });

  it('a 50 MB message is refused unread (over maxBytes); its first maxBytes, as the readers keep them, are not decoded beyond maxPartBytes', () => {
    const big = Buffer.alloc(50 * 1024 * 1024, `${'QUFB'.repeat(19)}\n`);
    const raw = Buffer.concat([
      Buffer.from(`${HEAD}Content-Type: multipart/mixed; boundary="b1"\n\n--b1\nContent-Type: text/plain\n\n<big@dest.example>: 552 5.3.4 Message too big for system\n\n--b1\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n`),
      big,
      Buffer.from('\n--b1--\n'),
    ]);
    const before = process.memoryUsage().rss;
    // CPU time, not wall time: the bound is on the work, whatever else the machine is doing.
    const { result: r, ms } = cpuTime(() => parseBounce(raw.subarray(0, 10 * 1024 * 1024), { maxBytes: 10 * 1024 * 1024 }));
    expect(ms).toBeLessThan(5000);
    expect(process.memoryUsage().rss - before).toBeLessThan(200 * 1024 * 1024);
    expect(r.bounces[0]).toMatchObject({ recipient: 'big@dest.example', reason: 'mesgtoobig' });
    expect(parseBounce(raw, { maxBytes: 10 * 1024 * 1024 })).toMatchObject({ kind: 'unparseable', bounces: [], overBudget: 'bytes' });
  });

  it('message/rfc822 nested 50 levels deep', () => {
    let inner = 'From: someone@else.example\nTo: deep@dest.example\nSubject: innermost\nMessage-ID: <deep@x>\n\nhello\n';
    for (let i = 0; i < 50; i++) {
      inner = `From: fwd${i}@x.example\nSubject: level ${i}\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="L${i}"\n\n--L${i}\nContent-Type: text/plain\n\nlevel ${i}\n--L${i}\nContent-Type: message/rfc822\n\n${inner}\n--L${i}--\n`;
    }
    const raw = `${HEAD}Content-Type: multipart/report; boundary="top"\n\n--top\nContent-Type: text/plain\n\n<deep@dest.example>: 550 5.1.1 no such user\n--top\nContent-Type: message/rfc822\n\n${inner}\n--top--\n`;
    const r = parseBounce(raw);
    expect(r.bounces[0]).toMatchObject({ recipient: 'deep@dest.example', reason: 'userunknown' });
  });

  it('multipart nested 50 levels deep is over the depth budget: unparseable, no bounce', () => {
    let body = 'Content-Type: text/plain\n\n<n@dest.example>: 550 5.1.1 user unknown\n';
    for (let i = 0; i < 50; i++) body = `Content-Type: multipart/mixed; boundary="M${i}"\n\n--M${i}\n${body}\n--M${i}--\n`;
    const r = parseBounce(`${HEAD}${body}`);
    expect(r).toMatchObject({ kind: 'unparseable', bounces: [], overBudget: 'depth' });
  });

  it('zip and gzip attachments are never decompressed', () => {
    const secret = 'SECRET-INSIDE <leak@inside.example>: 550 5.1.1 user unknown\n'.repeat(100);
    const gz = gzipSync(Buffer.from(secret)).toString('base64');
    const zipLike = Buffer.concat([Buffer.from('PK\x03\x04', 'latin1'), gzipSync(Buffer.from(secret))]).toString('base64');
    const raw = `${HEAD}Content-Type: multipart/mixed; boundary="z"\n\n--z\nContent-Type: text/plain\n\n<z@dest.example>: 550 5.1.1 user unknown\n--z\nContent-Type: application/gzip\nContent-Transfer-Encoding: base64\n\n${gz}\n--z\nContent-Type: application/zip\nContent-Transfer-Encoding: base64\n\n${zipLike}\n--z--\n`;
    const r = parseBounce(raw);
    expect(r.bounces.map((b) => b.recipient)).toEqual(['z@dest.example']);
    expect(JSON.stringify(r)).not.toContain('SECRET-INSIDE');
  });

  it('binary garbage yields unparseable with a reason, never throws', () => {
    const garbage = Buffer.alloc(64 * 1024);
    let x = 12345;
    for (let i = 0; i < garbage.length; i++) { x = (x * 1103515245 + 12345) & 0x7fffffff; garbage[i] = x & 0xff; }
    const r = parseBounce(garbage);
    expect(r.kind).toBe('unparseable');
    expect(r.bounces).toEqual([]);
    expect(r.why).toBeTruthy();
    expect(parseBounce('').kind).toBe('unparseable');
  });

  it('CRLF and CR-only line endings give the same result as LF', () => {
    const lf = parseBounce(postfix);
    const crlf = parseBounce(postfix.replace(/\n/g, '\r\n'));
    const cr = parseBounce(postfix.replace(/\n/g, '\r'));
    expect(crlf.bounces).toEqual(lf.bounces);
    expect(cr.bounces).toEqual(lf.bounces);
  });

  it('a bounce without any understandable content yields reason undefined with why', () => {
    const r = parseBounce(`${HEAD}Content-Type: text/plain\n\nSomething went wrong.\n`);
    expect(r.bounces).toHaveLength(1);
    expect(r.bounces[0]!.reason).toBe('undefined');
    expect(r.why).toBeTruthy();
  });

  it('an ordinary message is not a bounce', () => {
    const r = parseBounce('From: friend@example.org\nTo: me@example.net\nSubject: lunch?\n\nAre you free tomorrow?\n');
    expect(r.kind).toBe('not-a-bounce');
    expect(r.bounces).toEqual([]);
    expect(r.why).toBeTruthy();
  });

  it('pathological long lines and huge headers stay fast', () => {
    for (const filler of ['a'.repeat(1_000_000), 'a.'.repeat(500_000), '<'.repeat(1_000_000), 'a@'.repeat(500_000), '5.5.5.'.repeat(200_000)]) {
      const { ms } = cpuTime(() => {
        parseBounce(`${HEAD}Content-Type: text/plain\n\n${filler}\n`);
        parseBounce(`${HEAD}X-Long: ${filler}\n\n<x@dest.example>: 550 5.1.1 user unknown\n`);
      });
      expect(ms).toBeLessThan(3000);
    }
  });

  it('never throws on arbitrary input (property)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 2000 }), fc.uint8Array({ maxLength: 2000 }).map((a) => Buffer.from(a))), (input) => {
        const r = parseBounce(input);
        expect(Array.isArray(r.bounces)).toBe(true);
      }),
      { numRuns: 200 },
    );
    // Mutations of a real bounce: truncations and random header damage.
    fc.assert(
      fc.property(fc.nat(postfix.length), fc.string({ maxLength: 50 }), (cut, junk) => {
        const r = parseBounce(postfix.slice(0, cut) + junk + postfix.slice(cut + junk.length));
        expect(Array.isArray(r.bounces)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });
});
