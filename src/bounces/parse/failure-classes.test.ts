// Failure classes of issue #13 item 1, each as a family of synthetic bounces written from RFC 3464/3463/5321
// and the MTAs' documented layouts (Postfix bounce(8), Exim, qmail-send, Exchange NDRs, webmail notices):
// a version number is not a status; the address we sent to and the final one are both reported; alias
// expansions keep the alias; prose and help addresses, bare screen names and a list's addresses never become
// the recipient; challenge/response, whitelist requests and auto-replies are non-failures; a permanent
// "does not exist" after DATA is a missing mailbox; a malformed Final-Recipient is read leniently.
import { describe, expect, it } from 'vitest';
import { parseBounce } from './index.js';
import { findStatus } from './status.js';

const OURS = 'From: Example Shop <forms@shop.example>';
const returned = (to = 'To: customer@receiver.example', extra = '') =>
  `${OURS}\n${to}\nSubject: Thank you for your inquiry\nMessage-ID: <inq-1@shop.example>\nDate: Mon, 2 Dec 2024 10:00:00 +0900\n${extra}`;

/** An RFC 3464 multipart/report with the given per-recipient fields and a text/rfc822-headers part. */
function dsn(fields: string, opts: { subject?: string; text?: string; original?: string } = {}): string {
  return [
    'From: MAILER-DAEMON@mx.shop.example (Mail Delivery System)',
    'To: forms@shop.example',
    `Subject: ${opts.subject ?? 'Undelivered Mail Returned to Sender'}`,
    'MIME-Version: 1.0',
    'Content-Type: multipart/report; report-type=delivery-status; boundary="RPT"',
    '',
    '--RPT',
    'Content-Type: text/plain; charset=us-ascii',
    '',
    opts.text ?? 'This is the mail system at host mx.shop.example.\n\nI\'m sorry to have to inform you that your message could not\nbe delivered to one or more recipients.',
    '',
    '--RPT',
    'Content-Type: message/delivery-status',
    '',
    'Reporting-MTA: dns; mx.shop.example',
    'Arrival-Date: Mon, 2 Dec 2024 10:00:00 +0900',
    '',
    fields,
    '',
    '--RPT',
    'Content-Type: text/rfc822-headers',
    '',
    opts.original ?? returned(),
    '--RPT--',
    '',
  ].join('\n');
}

/** A plain-text bounce with the returned message inline (Exim/qmail/Postfix without DSN). */
function textBounce(subject: string, body: string, original = returned(), from = 'MAILER-DAEMON@mx.shop.example'): string {
  return `From: ${from}\nTo: forms@shop.example\nSubject: ${subject}\n\n${body}\n\n------ This is a copy of the message, including all the headers. ------\n\n${original}\nThank you for your inquiry.\n`;
}

const one = (raw: string) => {
  const r = parseBounce(raw);
  return { r, b: r.bounces[0] };
};

describe('a. a version number or other dotted number is not a delivery status', () => {
  const versions = ['v5.1.0', 'release 4.4.2', '2.0.1', 'version 2.1.5', 'Version 5.7.1', 'build 4.2.2'];

  it.each(versions)('Exchange-style notice whose subject line quotes "%s": still a failure, no status from the subject', (v) => {
    const { b } = one(textBounce(`Undeliverable: Product ${v} released`, [
      'Your message', '', '  To: customer@receiver.example', `  Subject: Product ${v} released`, '  Sent: Mon, 2 Dec 2024 10:00:00 +0900', '',
      'did not reach the following recipient(s):', '', 'customer@receiver.example on Mon, 2 Dec 2024 10:00:05 +0900',
      '    The e-mail account does not exist at the organization this message was sent to.',
    ].join('\n')));
    expect(b?.recipient).toBe('customer@receiver.example');
    expect(b?.reason).not.toBe('delivered');
    expect(b?.status.startsWith('5.0.9')).toBe(true);
  });

  it.each(versions)('a DSN without Status whose Diagnostic-Code mentions "%s" is not read as that status', (v) => {
    const { b } = one(dsn(`Final-Recipient: rfc822; customer@receiver.example\nAction: failed\nDiagnostic-Code: smtp; Mailbox unavailable, see our ${v} notes`));
    expect(b?.reason).not.toBe('delivered');
    expect(b?.status).not.toBe(v.replace(/^\D+/, ''));
  });

  it('qmail text naming the server software version is still a failure', () => {
    const { b } = one(textBounce('failure notice', 'Hi. This is the qmail-send program at mx.shop.example.\nI\'m afraid I wasn\'t able to deliver your message to the following addresses.\n\n<customer@receiver.example>:\nThis address no longer accepts mail. Our server runs mailer 2.0.1.'));
    expect(b).toMatchObject({ recipient: 'customer@receiver.example' });
    expect(b?.reason).not.toBe('delivered');
  });

  it('status codes in SMTP-reply context are still read', () => {
    expect(findStatus('550 5.1.1 <a@b.example>: User unknown')).toBe('5.1.1');
    expect(findStatus('550-5.1.1 The email account that you tried to reach does not exist')).toBe('5.1.1');
    expect(findStatus('Sorry, no mailbox here by that name. (#5.1.1)')).toBe('5.1.1');
    expect(findStatus('Resources temporarily unavailable [#4.1.9]')).toBe('4.1.9');
    expect(findStatus('smtp; 5.1.1 - Unknown address error')).toBe('5.1.1');
    expect(findStatus("Remote Server returned '554 5.4.4 SMTPSEND.DNS.NonExistentDomain'")).toBe('5.4.4');
    expect(findStatus('status code 5.2.2 mailbox full')).toBe('5.2.2');
    expect(findStatus('5.7.1 Message rejected as spam')).toBe('5.7.1');
  });

  it("sendmail's '<code> <address>... text' form is a status wherever it stands, after a host name too", () => {
    for (const host of ['mx.receiver.example', 'mail2.example.co.jp', 'relay.provider.example']) {
      expect(findStatus(`host: ${host} 5.1.1 <someone@receiver.example>... User Unknown`)).toBe('5.1.1');
      expect(findStatus(`${host} 4.2.2 <box@receiver.example>... Mailbox full`)).toBe('4.2.2');
    }
    // A version number followed by prose (not an address in brackets) stays prose.
    expect(findStatus('Product 2.0.1 <see notes> released')).toBe('');
  });

  it('dotted numbers in prose are not', () => {
    for (const t of ['Subject: Product 2.0.1 released', 'see release 4.4.2 of the guide', 'our mailer 2.1.5 says', 'Version 5.7.1 notes', 'v5.1.0', 'Sent: 2.0.1']) {
      expect(findStatus(t), t).toBe('');
    }
  });
});

describe('b. Original-Recipient and Final-Recipient: both reported', () => {
  it('a forwarded address: sentTo is the Original-Recipient, finalRecipient the Final-Recipient', () => {
    const { b } = one(dsn('Original-Recipient: rfc822;info@receiver.example\nFinal-Recipient: rfc822; staff.member@mailhost.receiver.example\nAction: failed\nStatus: 5.2.2\nDiagnostic-Code: smtp; 552 5.2.2 Mailbox full'));
    expect(b).toMatchObject({ sentTo: 'info@receiver.example', finalRecipient: 'staff.member@mailhost.receiver.example', reason: 'mailboxfull' });
  });

  it('without Original-Recipient all three name the Final-Recipient', () => {
    const { b } = one(dsn('Final-Recipient: rfc822; customer@receiver.example\nAction: failed\nStatus: 5.1.1'));
    expect(b).toMatchObject({ recipient: 'customer@receiver.example', sentTo: 'customer@receiver.example', finalRecipient: 'customer@receiver.example' });
  });

  it('several recipients each keep their own pair', () => {
    const r = parseBounce(dsn([
      'Original-Recipient: rfc822;sales@receiver.example', 'Final-Recipient: rfc822;alice@hosted.receiver.example', 'Action: failed', 'Status: 5.1.1', '',
      'Original-Recipient: rfc822;support@receiver.example', 'Final-Recipient: rfc822;bob@hosted.receiver.example', 'Action: failed', 'Status: 5.1.1',
    ].join('\n')));
    expect(r.bounces.map((b) => [b.sentTo, b.finalRecipient])).toEqual([
      ['sales@receiver.example', 'alice@hosted.receiver.example'],
      ['support@receiver.example', 'bob@hosted.receiver.example'],
    ]);
  });

  it('an xtext-encoded Original-Recipient (RFC 3461) is decoded', () => {
    const { b } = one(dsn('Original-Recipient: rfc822;shop+2Borders@receiver.example\nFinal-Recipient: rfc822; orders@mailhost.receiver.example\nAction: failed\nStatus: 5.1.1'));
    expect(b?.sentTo).toBe('shop+orders@receiver.example');
  });
});

describe('c. an alias and its expansion: the alias is kept as sentTo', () => {
  it('Postfix "(expanded from <alias>)"', () => {
    const { b } = one(textBounce('Undelivered Mail Returned to Sender', 'This is the mail system at host mx.shop.example.\n\n<real.person@receiver.example> (expanded from <team@receiver.example>): host\n    mx.receiver.example[192.0.2.1] said: 550 5.1.1 User unknown (in reply to RCPT TO command)'));
    expect(b).toMatchObject({ recipient: 'real.person@receiver.example', sentTo: 'team@receiver.example', reason: 'userunknown' });
  });

  it('Exim "(generated from alias)" on the next line', () => {
    const { b } = one(textBounce('Mail delivery failed: returning message to sender', 'This message was created automatically by mail delivery software.\n\nA message that you sent could not be delivered to one or more of its\nrecipients. This is a permanent error. The following address(es) failed:\n\n  real.person@receiver.example\n    (generated from team@receiver.example)\n    SMTP error from remote mail server after RCPT TO:<real.person@receiver.example>:\n    550 5.1.1 User unknown'));
    expect(b).toMatchObject({ recipient: 'real.person@receiver.example', sentTo: 'team@receiver.example', reason: 'userunknown' });
  });

  it('Exim "generated by alias"', () => {
    const { b } = one(textBounce('Mail delivery failed: returning message to sender', 'A message that you sent could not be delivered to one or more of its\nrecipients. This is a permanent error. The following address(es) failed:\n\n  real.person@receiver.example\n    generated by team@receiver.example\n    SMTP error from remote mail server after RCPT TO:<real.person@receiver.example>:\n    550 5.1.1 User unknown'));
    expect(b).toMatchObject({ recipient: 'real.person@receiver.example', sentTo: 'team@receiver.example' });
  });
});

describe('d. addresses in explanatory prose are never the recipient', () => {
  const prose = [
    'If you need help, please contact postmaster@provider.example.',
    'Please contact abuse@provider.example for help.',
    'support@provider.example can help you.',
    'For help write to: helpdesk@provider.example',
    'For more information see admin@provider.example',
  ];
  it.each(prose)('"%s" with no recipient line: no recipient rather than the help address', (line) => {
    const { b } = one(textBounce('Returned mail', `Your message could not be delivered.\n${line}\n\n550 5.1.1 user unknown`, `${OURS}\nSubject: Thanks\n`));
    expect(b?.recipient).toBe('');
    expect(b?.reason).toBe('userunknown');
  });

  it.each(prose)('"%s" beside a recipient line: the recipient line wins', (line) => {
    const r = parseBounce(textBounce('Returned mail', `Your message could not be delivered.\n${line}\n\n<customer@receiver.example>:\n550 5.1.1 user unknown`, `${OURS}\nSubject: Thanks\n`));
    expect(r.bounces.map((x) => x.recipient)).toEqual(['customer@receiver.example']);
  });
});

describe('e. bare screen names are resolved only against the returned To', () => {
  const webmail = (name: string, to: string) => textBounce('Failure Notice', `Sorry, we were unable to deliver your message to the following address.\n\n<${name}>:\n554: delivery error: dd This user doesn't have an account`, `${OURS}\n${to}\nSubject: Thanks\n`);

  it('one To address with that local part: that address', () => {
    expect(one(webmail('user123', 'To: someone@receiver.example, user123@webmail.example')).b?.recipient).toBe('user123@webmail.example');
  });
  it('none matching: no recipient rather than a wrong one', () => {
    expect(one(webmail('user123', 'To: someone@receiver.example, other@webmail.example')).b?.recipient).toBe('');
  });
  it('two matching (same local part at two domains): no recipient', () => {
    expect(one(webmail('user123', 'To: user123@receiver.example, user123@webmail.example')).b?.recipient).toBe('');
  });
  it('"name does not exist" prose form', () => {
    const raw = textBounce('Failure Notice', 'Sorry, we were unable to deliver your message.\n\nuser123 does not exist here.', `${OURS}\nTo: a@receiver.example, user123@webmail.example\nSubject: Thanks\n`);
    expect(one(raw).b?.recipient).toBe('user123@webmail.example');
  });
});

describe('f. a mailing list\'s addresses in the returned message are not recipients', () => {
  const body = 'Your message could not be delivered.\n\n550 5.1.1 The email account that you tried to reach does not exist.';
  it('To is the List-Post address: no recipient', () => {
    const { b } = one(textBounce('Mail delivery failed', body, `From: member@elsewhere.example\nTo: news@lists.example\nList-Id: <news.lists.example>\nList-Post: <mailto:news@lists.example>\nSubject: Thanks\n`));
    expect(b?.recipient).toBe('');
  });
  it('To is the address the List-Id names: no recipient', () => {
    const { b } = one(textBounce('Mail delivery failed', body, `From: member@elsewhere.example\nTo: news@lists.example\nSender: news-owner@lists.example\nList-Id: Shop news <news.lists.example>\nSubject: Thanks\n`));
    expect(b?.recipient).toBe('');
  });
  it('a personalised list mail (To is the subscriber): the subscriber', () => {
    const { b } = one(textBounce('Mail delivery failed', body, `${OURS}\nTo: customer@receiver.example\nSender: news-bounces@lists.example\nList-Id: <news.lists.example>\nList-Post: <mailto:news@lists.example>\nSubject: Thanks\n`));
    expect(b?.recipient).toBe('customer@receiver.example');
  });
  it('a DSN whose text names the list address too: the Final-Recipient only', () => {
    const r = parseBounce(dsn('Final-Recipient: rfc822; customer@receiver.example\nAction: failed\nStatus: 5.1.1', {
      text: 'Delivery to the following recipient failed permanently:\n\n     customer@receiver.example',
      original: `From: member@elsewhere.example\nTo: news@lists.example\nList-Post: <mailto:news@lists.example>\nSubject: x\n`,
    }));
    expect(r.bounces.map((b) => b.recipient)).toEqual(['customer@receiver.example']);
  });
});

describe('g. challenge/response, whitelist requests and auto-replies are non-failures', () => {
  const reply = (subject: string, body: string, extra = '', from = 'customer@receiver.example') =>
    `From: ${from}\nTo: forms@shop.example\nSubject: ${subject}\n${extra}\n${body}\n\n${returned()}\n`;
  const challenges = [
    ['Please confirm your message', 'Hello, I use a challenge/response system to block spam. Please click the link below to confirm that you are human.'],
    ['Re: Thank you for your inquiry', 'Your message is held until you verify your address at the link below.'],
    ['Re: Thank you for your inquiry', 'I only accept mail from senders on my whitelist. Reply to this message to be added to my whitelist.'],
    ['Verification required', 'Your email is pending verification. Once you confirm, it will be delivered.'],
    ['送信者確認のお願い', 'スパム対策のため、ホワイトリストに登録された送信者からのメールのみ受信しています。'],
  ];
  it.each(challenges)('"%s": kind challenge, no bounce', (subject, body) => {
    const r = parseBounce(reply(subject, body));
    expect(r.kind).toBe('challenge');
    expect(r.bounces).toEqual([]);
  });
  it('a challenge sent from a mailer-daemon style address is still a challenge', () => {
    const r = parseBounce(reply('Message held: please confirm', 'Your message has been held pending your confirmation. Click the link to prove you are not a robot.', '', 'MAILER-DAEMON@receiver.example'));
    expect(r.kind).toBe('challenge');
  });
  it('a real failure mentioning verification is still a failure', () => {
    const r = parseBounce(textBounce('Undelivered Mail Returned to Sender', '<customer@receiver.example>: host mx.receiver.example[192.0.2.1] said: 550 5.1.1 User unknown; sender verification pending (in reply to RCPT TO command)'));
    expect(r.bounces[0]).toMatchObject({ recipient: 'customer@receiver.example', reason: 'userunknown' });
  });

  const autos: Array<[string, string, string, string?]> = [
    ['不在通知', '只今不在にしております。', 'Auto-Submitted: auto-replied\n'],
    ['【自動返信】お問い合わせありがとうございます', 'このメールは自動返信です。', ''],
    ['[自動応答] Re: Thank you', '休暇中のため返信が遅れます。', ''],
    ['休暇のお知らせ', '12月28日まで休暇をいただいております。', ''],
    ['Out of office', 'I am away.', 'X-Autoreply: yes\n'],
    ['Automatic reply: Thank you for your inquiry', 'I am out of the office until Monday.', ''],
    ['Auto reply: Thank you', 'I am on vacation until Monday.', 'Auto-Submitted: auto-replied\n', 'MAILER-DAEMON@receiver.example'],
  ];
  it.each(autos)('"%s": an auto-reply (vacation), never a failure', (subject, body, extra, from) => {
    const r = parseBounce(reply(subject, body, extra, from));
    expect(r.kind).toBe('vacation');
    expect(r.bounces.every((b) => b.reason === 'vacation' && !b.hard)).toBe(true);
  });
});

describe('h. a permanent "does not exist" after DATA is a missing mailbox, not onhold', () => {
  const postfix = (reply: string) => textBounce('Undelivered Mail Returned to Sender', `This is the mail system at host mx.shop.example.\n\n<customer@receiver.example>: host mx.receiver.example[192.0.2.1] said: ${reply} (in reply to end of DATA command)`);
  it.each(['554 Sorry, customer does not exist', '554 delivery error: dd This user doesn\'t have an account', '550 Recipient customer doesn\'t exist here'])('"%s"', (reply) => {
    const { b } = one(postfix(reply));
    expect(b).toMatchObject({ recipient: 'customer@receiver.example', reason: 'userunknown', hard: true });
  });
  it('a temporary (4xx) "does not exist" stays soft', () => {
    const { b } = one(postfix('451 Sorry, customer does not exist yet, try again later'));
    expect(b?.hard).toBe(false);
  });
  it('a sender-side "does not exist" is not a missing recipient', () => {
    const { b } = one(postfix('554 Sender domain does not exist'));
    expect(b?.reason).not.toBe('userunknown');
  });
});

describe('i. a malformed Final-Recipient is read leniently', () => {
  const forms = [
    'Final-Recipient: customer@receiver.example',
    'Final-Recipient: <customer@receiver.example>',
    'Final-Recipient: rfc822;  < customer@receiver.example >',
    'Final-Recipient: rfc822; customer@receiver.example (Customer Name)',
    'Final-Recipient: RFC822; "customer@receiver.example"',
    'Final-Recipient: rfc822 customer@receiver.example',
    'Final-Recipient: rfc822;<<customer@receiver.example>>',
    'Final-Recipient: rfc822; mailto:customer@receiver.example',
    'Final-Recipient: rfc822; customer@receiver.example.',
    'Final-Recipient : rfc822; CUSTOMER@RECEIVER.EXAMPLE',
    'Final-Recipient: rfc822;\n customer@receiver.example',
    'Final-Recipient: utf-8; customer\\x{2E}desk@receiver.example',
  ];
  it.each(forms)('%s', (field) => {
    const { b } = one(dsn(`${field}\nAction: failed\nStatus: 5.1.1\nDiagnostic-Code: smtp; 550 5.1.1 User unknown`, { text: 'Delivery failed.', original: returned('To: other@receiver.example') }));
    expect(b?.recipient).toBe(field.includes('x{2E}') ? 'customer.desk@receiver.example' : 'customer@receiver.example');
    expect(b?.reason).toBe('userunknown');
  });
  it('an indented field block', () => {
    const { b } = one(dsn(' Final-Recipient: rfc822; customer@receiver.example\n Action: failed\n Status: 5.1.1', { text: 'Delivery failed.', original: returned('To: other@receiver.example') }));
    expect(b).toMatchObject({ recipient: 'customer@receiver.example', status: '5.1.1', reason: 'userunknown' });
  });
  it('a non-ASCII address (utf-8 type, RFC 6533)', () => {
    const { b } = one(dsn('Final-Recipient: utf-8; 顧客@receiver.example\nAction: failed\nStatus: 5.1.1', { text: 'Delivery failed.', original: returned('To: other@receiver.example') }));
    expect(b?.recipient).toBe('顧客@receiver.example');
  });
  it('an unusable Final-Recipient falls back to the Original-Recipient', () => {
    const { b } = one(dsn('Original-Recipient: rfc822; customer@receiver.example\nFinal-Recipient: rfc822; customer\nAction: failed\nStatus: 5.1.1', { text: 'Delivery failed.', original: returned('To: other@receiver.example') }));
    expect(b?.recipient).toBe('customer@receiver.example');
  });
});

describe('d. recipient positions stay recipients even beside help words', () => {
  it('"<a@b>: ... contact your administrator" (a qmail/Postfix recipient line start)', () => {
    const r = parseBounce(textBounce('failure notice', 'Hi. This is the qmail-send program at mx.shop.example.\n\n<customer@receiver.example>: please contact your administrator'));
    expect(r.bounces[0]?.recipient).toBe('customer@receiver.example');
  });
  it('"Final-Recipient: a@b" in the text, with help words after it', () => {
    const r = parseBounce(textBounce('Undeliverable', 'Final-Recipient: customer@receiver.example (see help for more information)\n\n550 5.1.1 user unknown', `${OURS}\nSubject: Thanks\n`));
    expect(r.bounces[0]?.recipient).toBe('customer@receiver.example');
  });
});
