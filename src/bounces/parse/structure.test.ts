// Bounces whose structure is damaged or wrapped: forwarded reports, lost MIME headers,
// pretty-printed SNS envelopes, summary blocks that look like headers, self-addressed mail,
// DSN fields pasted into text. Every fixture is synthetic.
import { describe, expect, it } from 'vitest';
import { parseBounce } from './index.js';

const innerDsn = [
  'From: Mail Delivery Subsystem <MAILER-DAEMON@mx.inner.example>',
  'To: forms@sender.example',
  'Subject: Returned mail: see transcript for details',
  'MIME-Version: 1.0',
  'Content-Type: multipart/report; report-type=delivery-status;',
  '\tboundary="inner-b"',
  '',
  '--inner-b',
  'Content-Type: text/plain',
  '',
  '   ----- The following addresses had permanent fatal errors -----',
  'absent@inner.example',
  '',
  '--inner-b',
  'Content-Type: message/delivery-status',
  '',
  'Reporting-MTA: dns; mx.inner.example',
  '',
  'Final-Recipient: RFC822; absent@inner.example',
  'Action: failed',
  'Status: 5.1.1',
  'Diagnostic-Code: SMTP; 550 5.1.1 User unknown',
  '',
  '--inner-b--',
].join('\n');

describe('wrapped and damaged reports', () => {
  it('reads a delivery report forwarded as an attachment, not the forwarding envelope', () => {
    const raw = [
      'From: Mail Delivery Subsystem <MAILER-DAEMON@gw.sender.example>',
      'To: "Notifications" <notify@gw.sender.example>',
      'Delivered-To: forms@sender.example',
      'Subject: FW: Returned mail',
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="outer-b"',
      '',
      '--outer-b',
      'Content-Type: text/plain',
      '',
      'Forwarded notification.',
      '',
      '--outer-b',
      'Content-Type: message/rfc822',
      '',
      innerDsn,
      '',
      '--outer-b--',
      '',
    ].join('\n');
    const r = parseBounce(raw);
    expect(r.kind).toBe('dsn');
    expect(r.bounces.map((b) => [b.recipient, b.reason, b.hard])).toEqual([['absent@inner.example', 'userunknown', true]]);
  });

  it('finds the MIME parts when the report lost its Content-Type header', () => {
    const raw = [
      'From: Mail Delivery Subsystem <MAILER-DAEMON@mx.sender.example>',
      'To: user@sender.example',
      'Subject: Returned mail: see transcript for details',
      '',
      'This is a MIME-encapsulated message',
      '',
      '--q1234567.1700000000/mx.sender.example',
      '',
      'kept... Deferred: Connection refused by [192.0.2.1]',
      '',
      '--q1234567.1700000000/mx.sender.example',
      'Content-Type: message/delivery-status',
      '',
      'Reporting-MTA: dns; mx.sender.example',
      '',
      'Final-Recipient: RFC822; kept@far.example',
      'Action: failed',
      'Status: 4.4.7',
      '',
      '--q1234567.1700000000/mx.sender.example--',
      '',
    ].join('\n');
    const r = parseBounce(raw);
    expect(r.kind).toBe('dsn');
    expect(r.bounces[0]).toMatchObject({ recipient: 'kept@far.example', status: '4.4.7' });
  });

  it('does not take the boundaries of a quoted original further down for the report\'s own', () => {
    const raw = [
      'From: MAILER-DAEMON@mx.sender.example',
      'To: forms@sender.example',
      'Subject: Failure Notice',
      '',
      'Sorry, we were unable to deliver your message to the following address.',
      '',
      '<nobody@far.example>:',
      '550: 5.1.1 <nobody@far.example>: Recipient address rejected: User unknown',
      '',
      '--- Below this line is a copy of the message.',
      '',
      'From: forms@sender.example',
      'To: nobody@far.example',
      'Subject: hi',
      'MIME-Version: 1.0',
      'Content-Type: multipart/alternative; boundary="----=_Part_1_2.3"',
      '',
      '------=_Part_1_2.3',
      'Content-Type: text/plain',
      '',
      'hello',
      '------=_Part_1_2.3--',
      '',
    ].join('\n');
    expect(parseBounce(raw).bounces[0]).toMatchObject({ recipient: 'nobody@far.example', reason: 'userunknown' });
  });

  it('reads an SES notification inside a pretty-printed SNS envelope', () => {
    const inner = JSON.stringify({
      notificationType: 'Bounce',
      bounce: { bounceType: 'Permanent', bouncedRecipients: [{ emailAddress: 'gone@far.example', action: 'failed', status: '5.1.1', diagnosticCode: 'smtp; 550 5.1.1 user unknown' }] },
    });
    const body = JSON.stringify({ Type: 'Notification', MessageId: 'n-1', Message: inner }, null, 2);
    const raw = `From: SES <no-reply@sns.amazonaws.com>\nTo: forms@sender.example\nSubject: AWS Notification Message\nContent-Type: text/plain; charset=UTF-8\n\n${body}\n`;
    expect(parseBounce(raw).bounces).toEqual([expect.objectContaining({ recipient: 'gone@far.example', reason: 'userunknown', hard: true, action: 'failed' })]);
  });

  it('a To/CC/Date/Subject summary in the notice is not mistaken for the returned message', () => {
    const raw = [
      'From: "Postmaster" <postmaster@mail.sender.example>',
      'To: <forms@sender.example>',
      'Subject: Undeliverable Mail',
      'X-Mailer: <SMTP32 v9.00>',
      '',
      'Save to the following Address Book:',
      '',
      'To: forms@sender.example',
      'CC:',
      'Date: Monday, Jan 1, 2024 1:00:00 PM',
      'Subject: Undeliverable Mail',
      '',
      'undeliverable to far@remote.example',
      '',
      'Body of message generated response:',
      '550 REJECTED - Blacklisted URL in message.',
      '',
    ].join('\n');
    expect(parseBounce(raw).bounces[0]).toMatchObject({ recipient: 'far@remote.example', reason: 'spamdetected' });
  });

  it('a message sent to oneself: the failed address equals the bounce\'s To and is still the recipient', () => {
    const raw = [
      'From: Mail Delivery System <MAILER-DAEMON@mout.sender.example>',
      'To: me@self.example',
      'Subject: Mail delivery failed: returning message to sender',
      '',
      'A message that you sent could not be delivered to one or more of',
      'its recipients. This is a permanent error. The following address(es)',
      'failed:',
      '',
      'me@self.example:',
      'SMTP error from remote server for RCPT TO command, host: mx.self.example reason: 550 5.1.1 mailbox unavailable',
      '',
    ].join('\n');
    expect(parseBounce(raw).bounces[0]).toMatchObject({ recipient: 'me@self.example', reason: 'userunknown' });
  });

  it('an ordinary message naming its own To address next to a number stays not-a-bounce', () => {
    const raw = 'From: friend@elsewhere.example\nTo: me@self.example\nSubject: Lunch\n\nme@self.example: table 550 is booked for noon.\n';
    expect(parseBounce(raw)).toMatchObject({ kind: 'not-a-bounce', bounces: [] });
  });

  it('"Action: delayed" pasted into a text notice with a generic 4.0.0 makes the failure expiring', () => {
    const raw = [
      'From: postmaster@relay.sender.example',
      'To: forms@sender.example',
      'Subject: Delivery delayed',
      '',
      'Original-Recipient: rfc822; later@slow.example',
      'Final-Recipient: rfc822; later@slow.example',
      'Action: delayed',
      'Status: 4.0.0 (slow.example: host name lookup failure)',
      '',
    ].join('\n');
    expect(parseBounce(raw).bounces[0]).toMatchObject({ recipient: 'later@slow.example', reason: 'expired', hard: false });
  });
});
