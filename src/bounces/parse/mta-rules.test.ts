// Per-MTA wordings (lhost/rules.ts, lhost/fml.ts, lhost/mailmarshal.ts) and the diagnostic
// phrase families added with them. Every fixture is synthetic.
import { describe, expect, it } from 'vitest';
import { parseBounce } from './index.js';

interface DsnOpts { headers?: string; from?: string; text: string; recipient: string; status: string; diagnostic: string; action?: string }

/** A multipart/report DSN with a human-readable part and one per-recipient block. */
function dsn(o: DsnOpts): string {
  return [
    `From: ${o.from ?? 'MAILER-DAEMON@relay.example.net'}`,
    'To: forms@sender.example',
    'Subject: Delivery Status Notification (Failure)',
    ...(o.headers ? [o.headers] : []),
    'MIME-Version: 1.0',
    'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"',
    '',
    '--b1',
    'Content-Type: text/plain',
    '',
    o.text,
    '',
    '--b1',
    'Content-Type: message/delivery-status',
    '',
    'Reporting-MTA: dns; relay.example.net',
    '',
    `Final-Recipient: rfc822; ${o.recipient}`,
    `Action: ${o.action ?? 'failed'}`,
    `Status: ${o.status}`,
    `Diagnostic-Code: smtp; ${o.diagnostic}`,
    '',
    '--b1--',
    '',
  ].join('\n');
}

/** A plain-text (non-MIME) bounce. */
function plain(headers: string, body: string): string {
  return `${headers}\nSubject: Undelivered Mail\n\n${body}\n`;
}

const one = (raw: string) => {
  const r = parseBounce(raw);
  expect(r.bounces).toHaveLength(1);
  return r.bounces[0]!;
};

describe('Amazon SES inbound (receipt rule bounce templates)', () => {
  const ses = (diagnostic: string, status: string) => dsn({
    headers: 'X-SES-Outgoing: 2024.01.02-198.51.100.9', text: 'This message could not be delivered.',
    recipient: 'someone@inbound.example', status, diagnostic,
  });

  it('"Mailbox does not exist" from the template is a filter decision, not an unknown user', () => {
    expect(one(ses('550 5.1.1 Mailbox does not exist', '5.1.1'))).toMatchObject({ reason: 'filtered', hard: false, status: '5.1.1' });
  });

  it('"Message content rejected" is a content error', () => {
    expect(one(ses('500 5.6.1 Message content rejected', '5.6.1'))).toMatchObject({ reason: 'contenterror', hard: false });
  });

  it('without the SES template marker the same text is an unknown mailbox', () => {
    const r = one(dsn({ text: 'Delivery failed.', recipient: 'someone@inbound.example', status: '5.1.1', diagnostic: '550 5.1.1 Mailbox does not exist' }));
    expect(r).toMatchObject({ reason: 'userunknown', hard: true });
  });
});

describe('Amazon SES: generic label wrapping the remote reply', () => {
  const wrapped = (inner: string) => dsn({
    text: 'An error occurred while trying to deliver the mail.', recipient: 'user@remote.example', status: '5.1.0',
    diagnostic: `5.1.0 - Unknown address error '${inner}' (delivery attempts: 0)`,
  });

  it('takes code and reason from the quoted reply (access denied)', () => {
    expect(one(wrapped('5.7.1 <bounce-id@bounces.example>... Access denied'))).toMatchObject({ reason: 'securityerror', status: '5.7.1', hard: false });
  });

  it('takes code and reason from the quoted reply (mailbox full)', () => {
    const b = one(wrapped('5.2.2 <user@remote.example>... Mailbox Full'));
    expect(b).toMatchObject({ reason: 'mailboxfull', status: '5.2.2', hard: false });
    expect(b.diagnostic).toContain('Unknown address error'); // the output keeps the full text
  });
});

describe('Gmail "(state N)" suffix', () => {
  const gmail = (reply: string) => plain(
    'From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>\nTo: forms@sender.example',
    [
      'Delivery to the following recipient failed permanently:', '', '     someone@remote.example', '',
      'Technical details of permanent failure:',
      'Google tried to deliver your message, but it was rejected by the recipient domain. We recommend contacting the other email provider for further information about the cause of this error. The error that the other server returned was: ' + reply,
    ].join('\n'),
  );

  it('state 6 (TLS not offered) is a system error', () => {
    expect(one(gmail('500 Remote server does not support TLS (state 6).')).reason).toBe('systemerror');
  });

  it('state 18 after DATA is a filter, even with a 5.7.0 code', () => {
    expect(one(gmail('554 554 5.7.0 Header error (state 18).'))).toMatchObject({ reason: 'filtered', status: '5.7.0' });
  });

  it('a specific quoted status wins over the state (5.2.2 in state 14)', () => {
    expect(one(gmail('450 450 4.2.2 <someone@remote.example>... Mailbox Full (state 14).')).reason).toBe('mailboxfull');
  });
});

describe('Gmail "** Message not delivered **" notices', () => {
  it('reads the explanation under the title (Send mail as misconfigured -> rejected)', () => {
    const raw = [
      'From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>', 'To: forms@sender.example',
      'X-Failed-Recipients: team@groups.example', 'Subject: Delivery Status Notification (Failure)', '',
      '** Message not delivered **', '',
      "You're sending this from a different address or alias using the 'Send mail as' feature. The settings are out of date.", '',
      'The response was:', '', 'Unspecified Error (SENT_SECOND_EHLO): Smtp server does not advertise AUTH capability', '',
    ].join('\n');
    expect(one(raw)).toMatchObject({ recipient: 'team@groups.example', reason: 'rejected' });
  });
});

describe('Symantec Email Security.cloud (MessageLabs)', () => {
  it('"542 <address> Rejected" means the mailbox does not exist', () => {
    const raw = plain(
      'From: Mail Delivery System <MAILER-DAEMON@messagelabs.com>\nTo: forms@sender.example',
      'I was unable to deliver your message to the following addresses:\n\nlost@remote.example\n\nReason: 542 lost@remote.example Rejected\n',
    );
    expect(one(raw)).toMatchObject({ recipient: 'lost@remote.example', reason: 'userunknown', hard: true });
  });
});

describe('AOL outbound relays', () => {
  const text = 'Name service error for name=remote.example type=MX: Malformed or unexpected name server reply';
  it('a garbled MX answer reported by AOL means the domain takes no mail (hard)', () => {
    const b = one(dsn({ headers: 'x-aol-sid: 3039ac1a0000000000000000', text: `<user@remote.example>: ${text}`, recipient: 'user@remote.example', status: '5.4.4', diagnostic: text }));
    expect(b).toMatchObject({ reason: 'notaccept', hard: true });
  });

  it('the same text from another Postfix stays a network error', () => {
    const b = one(dsn({ text: `<user@remote.example>: ${text}`, recipient: 'user@remote.example', status: '5.4.4', diagnostic: text }));
    expect(b).toMatchObject({ reason: 'networkerror', hard: false });
  });
});

describe('au EZweb notices', () => {
  const ezweb = (notice: string) => plain(
    'From: Mail Administrator <Postmaster@ezweb.ne.jp>\nTo: forms@sender.example\nMessage-Id: <20240101000000.AAAA@mta.ezweb.ne.jp>',
    `${notice}\n\n\n<someone@ezweb.ne.jp>: 550 user unknown (in reply to RCPT TO command)`,
  );

  it('"account is disabled" above the list makes it a suspended account', () => {
    expect(one(ezweb('The user(s) account is disabled.'))).toMatchObject({ reason: 'suspend', hard: false });
  });

  it('without a notice the SMTP reply decides', () => {
    expect(one(ezweb('Your mail could not be delivered.'))).toMatchObject({ reason: 'userunknown', hard: true });
  });
});

describe('Verizon Wireless text gateway', () => {
  it('"no such user here" is an unknown subscriber whatever the command', () => {
    const raw = plain(
      'From: post_master@vtext.com\nTo: forms@sender.example',
      'Error: Invalid user address\n\nError message below:\n550 - Requested action not taken: no such user here\n\nMessage details:\n  Subject: Hello\n  RCPT TO: 5550100@vtext.com\n',
    );
    const b = parseBounce(raw).bounces.find((x) => x.recipient === '5550100@vtext.com');
    expect(b).toMatchObject({ reason: 'userunknown', hard: true });
  });
});

describe('fml mailing-list manager', () => {
  it('a post from a non-member is refused: the list address, rejected', () => {
    const raw = plain(
      'From: club-admin@lists.example\nTo: poster@sender.example\nX-MLServer: fml [fml 4.0.3 release]',
      'You are not a member of this mailing list <club@lists.example>.\n\nIf you know the general guide of this list, please send mail with\nthe mail body\n\n\tguide\n\nto the address\n\n\tclub-ctl@lists.example\n',
    );
    expect(one(raw)).toMatchObject({ recipient: 'club@lists.example', reason: 'rejected', hard: false });
  });
});

describe('MailMarshal SMTP', () => {
  it('reads the cause above the affected-recipients list', () => {
    const raw = plain(
      'From: postmaster@gateway.example\nTo: alerts@sender.example',
      [
        'Your message:', '   From:    forms@sender.example', '   Subject: Hello', '',
        'Could not be delivered because of', '', '550 5.1.1 User unknown', '',
        'The following recipients were affected: ', '    gone@remote.example', '', '',
        'Additional Information', '======================', 'Original Sender:    <forms@sender.example>',
      ].join('\n'),
    );
    expect(one(raw)).toMatchObject({ recipient: 'gone@remote.example', reason: 'userunknown', status: '5.1.1', hard: true });
  });
});

describe('diagnostic phrase families', () => {
  const exim = (lines: string) => plain(
    'From: Mail Delivery System <Mailer-Daemon@mx.sender.example>\nTo: forms@sender.example',
    `This message was created automatically by mail delivery software.\n\nA message that you sent could not be delivered to one or more of its\nrecipients. This is a permanent error. The following address(es) failed:\n\n${lines}\n`,
  );

  it('"553 <host name> does not exist" is an unknown host, not an unknown user', () => {
    const b = one(exim('  user@remote.example\n    host mx.remote.example [192.0.2.9]\n    SMTP error from remote mail server after end of data:\n    553 relay.remote.example does not exist'));
    expect(b).toMatchObject({ reason: 'hostunknown', hard: true });
  });

  it('"550 john.smith does not exist" names the recipient\'s dotted local part, not a host', () => {
    const b = one(exim('  john.smith@remote.example\n    host mx.remote.example [192.0.2.9]\n    SMTP error from remote mail server after RCPT TO:<john.smith@remote.example>:\n    550 john.smith does not exist'));
    expect(b.reason).not.toBe('hostunknown');
  });

  it('a failed "pipe to |command" delivery is a mailer error', () => {
    const b = one(exim('  pipe to |/usr/local/bin/autoresponder user@sender.example\n    generated by user@sender.example\n\nThe following text was generated during the delivery attempt:\n\n[2024-01-01] autoresponder: cannot open template'));
    expect(b.reason).toBe('mailererror');
  });

  it('advice to set up SPF records is not an authentication failure; a failed SPF record check is', () => {
    const advice = one(dsn({ text: 'Rejected.', recipient: 'g@groups.example', status: '5.0.0', diagnostic: 'Your email to group g@groups.example was rejected due to spam classification. Set up SPF records for your sending domain.' }));
    expect(advice.reason).toBe('spamdetected');
    const failed = one(dsn({ text: 'Rejected.', recipient: 'u@remote.example', status: '5.7.1', diagnostic: '550 5.7.1 SPF record check failed for sender.example' }));
    expect(failed.reason).toBe('authfailure');
  });

  it('DragonFly: an explicit "delivering your mail to <postmaster@...>" names the recipient; a DNS failure is an unknown host', () => {
    const raw = plain(
      'From: MAILER-DAEMON <>\nTo: user@sender.example',
      'This is the DragonFly Mail Agent at mail.sender.example.\n\nThere was an error delivering your mail to <postmaster@nowhere.example>.\n\nDNS lookup failure: host nowhere.example not found\n\nMessage headers follow.\n',
    );
    expect(one(raw)).toMatchObject({ recipient: 'postmaster@nowhere.example', reason: 'hostunknown', hard: true });
  });
});
