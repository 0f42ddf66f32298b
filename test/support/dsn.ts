// A Postfix-style delivery status notification, as a receiving MTA sends it back, for tests that need
// real bounces in a mailbox. With `original`, it returns the headers of that mail (so the bounce can
// be matched to our outbox by Message-ID).
export function postfixDsn(n: number, rcpt = `user${n}@receiver.example`, original?: { messageId: string; from?: string }): string {
  const returned = original
    ? [
        '--b',
        'Content-Type: text/rfc822-headers',
        '',
        `From: ${original.from ?? 'Example Shop <info@example.jp>'}`,
        `To: ${rcpt}`,
        `Message-ID: ${original.messageId}`,
        'Subject: Thank you from Example Shop',
      ]
    : [];
  return [
    'From: MAILER-DAEMON@mx.receiver.example (Mail Delivery System)',
    'To: info@sakura-dental.example',
    `Subject: Undelivered Mail Returned to Sender #${n}`,
    `Date: Mon, ${10 + (n % 5)} Mar 2025 10:00:0${n % 10} +0900`,
    `Message-ID: <dsn-${n}@mx.receiver.example>`,
    'MIME-Version: 1.0',
    'Content-Type: multipart/report; report-type=delivery-status; boundary="b"',
    '',
    '--b',
    'Content-Type: text/plain',
    '',
    `<${rcpt}>: host mx.receiver.example[192.0.2.25] said: 550 5.1.1 User unknown (in reply to RCPT TO command)`,
    '--b',
    'Content-Type: message/delivery-status',
    '',
    'Reporting-MTA: dns; mx.receiver.example',
    '',
    `Final-Recipient: rfc822; ${rcpt}`,
    'Action: failed',
    'Status: 5.1.1',
    `Diagnostic-Code: smtp; 550 5.1.1 <${rcpt}>: User unknown`,
    ...returned,
    '--b--',
    '',
  ].join('\r\n');
}
