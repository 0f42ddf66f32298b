import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { classify, isHard, parseBounce } from './index.js';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');
const fixture = (name: string) => readFileSync(path.join(dir, name));

/** Encode text as ISO-2022-JP (JIS X 0208 via EUC-JP bytes with the high bit cleared). */
function toIso2022jp(text: string): Buffer {
  const out: number[] = [];
  let jis = false;
  for (const ch of text) {
    const euc = iconv.encode(ch, 'euc-jp');
    if (euc.length === 2) {
      if (!jis) { out.push(0x1b, 0x24, 0x42); jis = true; }
      out.push(euc[0]! & 0x7f, euc[1]! & 0x7f);
    } else {
      if (jis) { out.push(0x1b, 0x28, 0x42); jis = false; }
      out.push(...euc);
    }
  }
  if (jis) out.push(0x1b, 0x28, 0x42);
  return Buffer.from(out);
}

describe('parseBounce: standard reports', () => {
  it('parses a Postfix RFC 3464 DSN', () => {
    const r = parseBounce(fixture('postfix-dsn.eml'));
    expect(r.kind).toBe('dsn');
    expect(r.bounces).toHaveLength(1);
    expect(r.bounces[0]).toMatchObject({
      recipient: 'nobody-here@receiver.example', reason: 'userunknown', status: '5.1.1', replyCode: '550',
      hard: true, action: 'failed', originalMessageId: 'inquiry-123@sender.example',
    });
    expect(r.bounces[0]!.diagnostic).toContain('User unknown in virtual mailbox table');
    expect(r.original?.from).toBe('forms@sender.example');
    expect(r.original?.receivedIps).toContain('198.51.100.7');
    expect(r.bounce.subject).toBe('Undelivered Mail Returned to Sender');
  });

  it('parses an ARF complaint', () => {
    const r = parseBounce(fixture('arf.eml'));
    expect(r.kind).toBe('arf');
    expect(r.bounces[0]).toMatchObject({ recipient: 'complainer@mailbox.example', reason: 'feedback', feedbackType: 'abuse', hard: false, status: '' });
    expect(r.bounces[0]!.originalMessageId).toBe('arf-orig-1@sender.example');
  });

  it('recognises an RFC 3834 vacation auto-reply (not a bounce)', () => {
    const r = parseBounce(fixture('vacation.eml'));
    expect(r.kind).toBe('vacation');
    expect(r.bounces[0]).toMatchObject({ recipient: 'traveller@customer.example', reason: 'vacation', hard: false });
  });
});

describe('parseBounce: non-standard layouts', () => {
  it('Exim: indented recipient followed by the SMTP error', () => {
    const r = parseBounce(fixture('exim.eml'));
    expect(r.kind).toBe('non-standard');
    expect(r.bounces[0]).toMatchObject({ recipient: 'gone.user@far.example', reason: 'mailboxfull', status: '5.2.2', hard: false });
    expect(r.bounces[0]!.originalMessageId).toBe('thanks-77@sender.example');
  });

  it('qmail: <recipient>: followed by remote host text', () => {
    const r = parseBounce(fixture('qmail.eml'));
    expect(r.bounces[0]).toMatchObject({ recipient: 'nope@qmail-dest.example', reason: 'userunknown', hard: true });
  });

  it('Gmail: DNS failure means hostunknown', () => {
    const r = parseBounce(fixture('gmail.eml'));
    expect(r.bounces[0]).toMatchObject({ recipient: 'no.such.domain.user@nonexistent-domain.example', reason: 'hostunknown', hard: true });
  });

  it('Exchange: recipient from the returned message, RESOLVER.ADR.RecipNotFound', () => {
    const r = parseBounce(fixture('exchange.eml'));
    expect(r.bounces[0]).toMatchObject({ recipient: 'hanako@receiver.example', reason: 'userunknown', status: '5.1.1', hard: true });
  });

  it('Sendmail: transcript after DATA with spam rejection', () => {
    const r = parseBounce(fixture('sendmail.eml'));
    expect(r.bounces[0]).toMatchObject({ recipient: 'spam-blocked@strict.example', reason: 'spamdetected', hard: false });
  });

  it('decodes an ISO-2022-JP Japanese carrier bounce', () => {
    const body = toIso2022jp('こちらは au のメールサーバです。\n\n以下の宛先へのメールはお届けできませんでした。\n\n<keitai-user@ezweb.ne.jp>: 550 5.1.1 User unknown\n');
    const subject = '=?ISO-2022-JP?B?' + toIso2022jp('配信エラー').toString('base64') + '?=';
    const raw = Buffer.concat([
      Buffer.from(`From: MAILER-DAEMON@ezweb.ne.jp\nTo: forms@sender.example\nSubject: ${subject}\nMIME-Version: 1.0\nContent-Type: text/plain; charset=ISO-2022-JP\nContent-Transfer-Encoding: 7bit\n\n`),
      body,
    ]);
    const r = parseBounce(raw);
    expect(r.bounce.subject).toBe('配信エラー');
    expect(r.bounces[0]).toMatchObject({ recipient: 'keitai-user@ezweb.ne.jp', reason: 'userunknown', hard: true });
  });

  it('decodes Shift_JIS and EUC-JP text parts', () => {
    for (const cs of ['Shift_JIS', 'EUC-JP']) {
      const body = iconv.encode('以下のアドレスに送信できませんでした。\n\n<user@docomo.ne.jp>: 550 5.1.1 Unknown user\n', cs);
      const raw = Buffer.concat([Buffer.from(`From: postmaster@docomo.ne.jp\nSubject: Mail Delivery Failure\nContent-Type: text/plain; charset=${cs}\n\n`), body]);
      const r = parseBounce(raw);
      expect(r.bounces[0]).toMatchObject({ recipient: 'user@docomo.ne.jp', reason: 'userunknown' });
    }
  });
});

describe('provider (remote host) rules', () => {
  const bounce = (rcpt: string, diag: string) => parseBounce(
    `From: MAILER-DAEMON@mx.sender.example\nTo: forms@sender.example\nSubject: Undelivered Mail Returned to Sender\n\n` +
    `This is the mail system at host mx.sender.example.\n\n<${rcpt}>: ${diag}\n`,
  ).bounces[0];
  it('au (KDDI): "550 : User unknown" is filtered, "550 <a>: User unknown" is userunknown', () => {
    expect(bounce('u@ezweb.ne.jp', 'host lsean.ezweb.ne.jp[192.0.2.1] said: 550 : User unknown')?.reason).toBe('filtered');
    expect(bounce('u@ezweb.ne.jp', 'host lsean.ezweb.ne.jp[192.0.2.1] said: 550 <u@ezweb.ne.jp>: User unknown (in reply to end of DATA command)')?.reason).toBe('userunknown');
  });
  it('GoDaddy IB codes and Mimecast replies decide the reason', () => {
    expect(bounce('a@b.example', 'host smtp.secureserver.net[192.0.2.2] said: 550 5.1.1 <a@b.example> has sent to too many recipients this hour. IB607')?.reason).toBe('speeding');
    expect(bounce('a@b.example', 'host eu.mimecast.com[192.0.2.3] said: 554 Host network not allowed (in reply to RCPT TO command)')?.reason).toBe('policyviolation');
  });
});

describe('classify()', () => {
  const rec = (o: Partial<Parameters<typeof classify>[0]>) => classify({
    recipient: 'a@b.example', action: 'failed', status: '', replyCode: '', diagnostic: '', diagnosticType: 'SMTP', command: '',
    reason: '', feedbackType: '', ...o,
  });
  it('uses the status code first', () => {
    expect(rec({ status: '5.2.2', diagnostic: '552 5.2.2 Mailbox full' })).toBe('mailboxfull');
    expect(rec({ status: '5.1.2' })).toBe('hostunknown');
    expect(rec({ status: '2.1.5' })).toBe('delivered');
  });
  it('falls back to diagnostic phrases', () => {
    expect(rec({ status: '5.7.1', diagnostic: '554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org' })).toBe('blocked');
    expect(rec({ status: '5.0.0', diagnostic: '550 Relay access denied' })).toBe('norelaying');
    expect(rec({ action: 'delayed', status: '4.0.0', diagnostic: '' })).toBe('expired');
  });
  it('"user unknown" is userunknown at RCPT or with a 5.1.1 code, filtered otherwise', () => {
    expect(rec({ command: 'RCPT', diagnostic: '550 User unknown' })).toBe('userunknown');
    expect(rec({ status: '5.1.1', diagnostic: '550 5.1.1 User unknown' })).toBe('userunknown');
    expect(rec({ diagnostic: '550 User unknown' })).toBe('filtered');
    expect(rec({ command: 'DATA', diagnostic: '550 Unknown user' })).toBe('filtered');
    expect(rec({ status: '5.2.1', diagnostic: '550 5.2.1 <a@b.example>... User Unknown' })).toBe('filtered');
    expect(rec({ diagnostic: 'User some.name (a@b.example) not listed in Domino Directory' })).toBe('userunknown');
  });
  it('yields undefined without any information', () => {
    expect(rec({ diagnosticType: '' })).toBe('undefined');
  });
  it('hard bounces follow Sisimai semantics', () => {
    expect(isHard('userunknown', '5.1.1')).toBe(true);
    expect(isHard('notaccept', '5.3.2')).toBe(true);
    expect(isHard('notaccept', '4.3.2')).toBe(false);
    expect(isHard('mailboxfull', '5.2.2')).toBe(false);
    expect(isHard('feedback', '')).toBe(false);
    expect(isHard('vacation', '')).toBe(false);
  });
});
