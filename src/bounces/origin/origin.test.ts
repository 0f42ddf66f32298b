import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseBounce } from '../parse/index.js';
import { authResults, classifyOrigin, parseReceived, readMessageHeaders, type OriginContext, type OutboxRef } from './index.js';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');
const fixture = (n: string) => readFileSync(path.join(dir, n));
const OWNER = ['sakura-dental.example'];

async function classify(raw: Buffer | string, ctx: Partial<OriginContext> = {}) {
  return classifyOrigin(parseBounce(raw), { ownerDomains: OWNER, ...ctx }, raw);
}

describe('readMessageHeaders', () => {
  it('reads every header of a message/rfc822 original and of text/rfc822-headers', () => {
    const a = readMessageHeaders(fixture('account-takeover.eml'));
    expect(a.original?.filter(([n]) => n === 'received')).toHaveLength(2);
    expect(a.original?.find(([n]) => n === 'x-mailer')?.[1]).toBe('Microsoft Outlook 16.0');
    const s = readMessageHeaders(fixture('spoofing-backscatter.eml'));
    expect(s.original?.find(([n]) => n === 'received-spf')?.[1]).toMatch(/^Fail \(mailfrom\)/);
    expect(s.outer.find(([n]) => n === 'delivered-to')?.[1]).toBe('info@sakura-dental.example');
  });

  it('reads a base64-encoded original and an inline copy', () => {
    const orig = 'Received: from x (x [203.0.113.9]) by mx.example with ESMTP\nFrom: a@sakura-dental.example\nMessage-ID: <q@x>\nSubject: hi\n\nbody\n';
    const b64 = `From: MAILER-DAEMON@mx.example\nSubject: failure\nContent-Type: multipart/report; boundary="b"\n\n--b\nContent-Type: text/plain\n\nfailed\n--b\nContent-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\n${Buffer.from(orig).toString('base64')}\n--b--\n`;
    expect(readMessageHeaders(b64).original?.find(([n]) => n === 'message-id')?.[1]).toBe('<q@x>');
    const inline = `From: MAILER-DAEMON@mx.example\nSubject: failure notice\n\nsorry.\n\n------ This is a copy of the message, including all the headers. ------\n\n${orig}`;
    expect(readMessageHeaders(inline).original?.find(([n]) => n === 'from')?.[1]).toBe('a@sakura-dental.example');
  });
});

describe('helpers', () => {
  it('parses Received hops and authentication results', () => {
    const h = parseReceived('from [198.51.100.203] (unknown [198.51.100.203]) (Authenticated sender: info@x.example) by smtp.x.example (Postfix) with ESMTPSA id 5E');
    expect(h).toMatchObject({ ip: '198.51.100.203', byHost: 'smtp.x.example', withProto: 'ESMTPSA', authenticated: true });
    expect(parseReceived('from a.example (a.example [192.0.2.1]) by b.example with ESMTP id 1').authenticated).toBe(false);
    const r = authResults([['authentication-results', 'mx; dkim=pass header.d=x.example; spf=fail smtp.mailfrom=a@y.example'], ['received-spf', 'Softfail (x) envelope-from=b@z.example']]);
    expect(r).toEqual([
      { method: 'dkim', result: 'pass', domain: 'x.example' },
      { method: 'spf', result: 'fail', domain: 'y.example' },
      { method: 'spf', result: 'softfail', domain: 'z.example' },
    ]);
  });
});

describe('classifyOrigin', () => {
  it('(a) a Postfix DSN returning a Formwarden auto-reply is ours, even though it went out with ESMTPSA', async () => {
    const raw = fixture('ours-autoreply.eml');
    const seen: unknown[] = [];
    const ref: OutboxRef = { outboxId: 'm_0k3v9x2b7q4n8m1c5z6r0t', formId: 'contact', submissionId: 's_1', kind: 'autoreply' };
    const o = await classify(raw, { lookup: async (q) => { seen.push(q); return q.messageId === 'm_0k3v9x2b7q4n8m1c5z6r0t@sakura-dental.example' ? ref : null; } });
    expect(o.kind).toBe('ours');
    if (o.kind !== 'ours') return;
    expect(o.ref).toEqual(ref);
    expect(seen).toEqual([{ messageId: 'm_0k3v9x2b7q4n8m1c5z6r0t@sakura-dental.example' }]);
    expect(o.evidence.join('\n')).toMatch(/outbox as m_0k3v9x2b7q4n8m1c5z6r0t \(autoreply, form contact\)/);
    // Without a lookup, the markers decide.
    const m = await classify(raw);
    expect(m.kind).toBe('ours');
    if (m.kind === 'ours') expect(m.ref).toEqual({ outboxId: 'm_0k3v9x2b7q4n8m1c5z6r0t', formId: null, submissionId: null, kind: 'autoreply' });
  });

  it('(a) a VERP envelope sender identifies our mail through its token', async () => {
    const raw = fixture('ours-autoreply.eml').toString('latin1')
      .replace(/^To: info@sakura-dental.example$/m, 'To: bounce+Xk42aB9@bounces.sakura-dental.example')
      .replace(/Message-ID: <m_[^>]+>/, 'Message-ID: <other@sakura-dental.example>')
      .replace(/X-Formwarden-Kind: autoreply\n/, '');
    const o = await classify(raw, { bounceDomain: 'bounces.sakura-dental.example', lookup: (q) => (q.verpToken === 'Xk42aB9' ? { outboxId: 'm_x', formId: null, submissionId: null, kind: 'notify' } : null) });
    expect(o.kind).toBe('ours');
    expect(o.evidence.join('\n')).toContain('VERP token Xk42aB9');
  });

  it('(b) backscatter of spam forged with the owner\'s domain from a botnet IP with SPF fail is spoofing', async () => {
    const o = await classify(fixture('spoofing-backscatter.eml'), { lookup: () => null });
    expect(o.kind).toBe('spoofing');
    if (o.kind !== 'spoofing') return;
    const ev = o.evidence.join('\n');
    expect(ev).toMatch(/spf=fail for sakura-dental\.example/);
    expect(ev).toMatch(/dmarc=fail/);
    expect(ev).toMatch(/directly from dsl-203-0-113-77\.dyn\.isp\.example \[203\.0\.113\.77\]/);
    expect(o.advice.en).toMatch(/SPF.*DKIM.*DMARC/s);
    expect(o.advice.ja).toMatch(/SPF.*DKIM.*DMARC/s);
  });

  it('(c) spam sent through the owner\'s provider with ESMTPSA and DKIM pass is an account problem', async () => {
    const o = await classify(fixture('account-takeover.eml'), { lookup: () => null });
    expect(o.kind).toBe('account');
    if (o.kind !== 'account') return;
    const ev = o.evidence.join('\n');
    expect(ev).toMatch(/dkim=pass for sakura-dental\.example/);
    expect(ev).toMatch(/authenticated submission/);
    expect(ev).toMatch(/Microsoft Outlook/);
    expect(o.advice.en).toMatch(/password/);
    expect(o.advice.ja).toMatch(/パスワード/);
  });

  it('a Formwarden-looking message the outbox does not know is not ours', async () => {
    const o = await classify(fixture('ours-autoreply.eml'), { lookup: () => null });
    expect(o.kind).not.toBe('ours');
    expect(o.evidence.join('\n')).toMatch(/outbox has no such entry/);
  });

  it('a bounce of somebody else\'s mail is unrelated; one without the original is unknown', async () => {
    const raw = fixture('spoofing-backscatter.eml').toString('latin1').replace(/info@sakura-dental\.example/g, 'news@other-shop.example');
    const o = await classify(raw, { lookup: () => null });
    expect(o.kind).toBe('unrelated');
    expect(o.evidence[0]).toMatch(/other-shop\.example is not one of the owner's domains/);
    const bare = 'From: MAILER-DAEMON@mx.example\nTo: info@sakura-dental.example\nSubject: Undelivered Mail Returned to Sender\n\n<x@y.example>: host said: 550 5.1.1 user unknown\n';
    expect((await classify(bare)).kind).toBe('unknown');
  });

  it('works from the parser output alone (no raw message)', async () => {
    const raw = fixture('ours-autoreply.eml');
    const o = await classifyOrigin(parseBounce(raw), { ownerDomains: OWNER, lookup: (q) => (q.messageId?.startsWith('m_') ? { outboxId: 'm_1', formId: null, submissionId: null, kind: 'autoreply' } : null) });
    expect(o.kind).toBe('ours');
  });
});
