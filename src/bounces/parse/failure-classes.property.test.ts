// Property tests for the failure classes of issue #13 item 1, over attacker- or world-generated input
// families: a dotted number anywhere in a subject or prose never becomes the status; an address in a help
// sentence never becomes the recipient; a bare screen name resolves only to a unique To address; a
// Final-Recipient is read whatever its decoration.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseBounce } from './index.js';

const label = fc.stringMatching(/^[a-z][a-z0-9]{0,9}$/);
const domain = fc.tuple(label, fc.constantFrom('example', 'example.net', 'example.org', 'test')).map(([a, b]) => `${a}.${b}`);
const local = fc.stringMatching(/^[a-z][a-z0-9._-]{0,14}[a-z0-9]$/).filter((s) => !s.includes('..'));
const address = fc.tuple(local, domain).map(([l, d]) => `${l}@${d}`);
const version = fc.tuple(
  fc.constantFrom('', 'v', 'V', 'version ', 'Version ', 'release ', 'Release ', 'build ', 'rev ', 'mailer ', 'Product ', ''),
  fc.constantFrom(2, 4, 5), fc.integer({ min: 0, max: 7 }), fc.integer({ min: 0, max: 30 }),
).map(([p, a, b, c]) => `${p}${a}.${b}.${c}`);

const returned = (to: string) => `From: forms@shop.example\nTo: ${to}\nSubject: Thanks\nMessage-ID: <inq-1@shop.example>\n`;
const dsn = (fields: string, subject: string, text: string, original: string) => [
  'From: MAILER-DAEMON@mx.shop.example', 'To: forms@shop.example', `Subject: ${subject}`, 'MIME-Version: 1.0',
  'Content-Type: multipart/report; report-type=delivery-status; boundary="RPT"', '', '--RPT', 'Content-Type: text/plain', '', text, '',
  '--RPT', 'Content-Type: message/delivery-status', '', 'Reporting-MTA: dns; mx.shop.example', '', fields, '',
  '--RPT', 'Content-Type: text/rfc822-headers', '', original, '--RPT--', '',
].join('\n');
const textBounce = (subject: string, body: string, original: string) =>
  `From: MAILER-DAEMON@mx.shop.example\nTo: forms@shop.example\nSubject: ${subject}\n\n${body}\n\n------ This is a copy of the message, including all the headers. ------\n\n${original}\nhello\n`;

describe('failure classes: properties', () => {
  it('a version number in the subject or prose never changes a DSN\'s status or makes it "delivered"', () => {
    fc.assert(fc.property(version, version, (v1, v2) => {
      const r = parseBounce(dsn('Final-Recipient: rfc822; customer@receiver.example\nAction: failed\nStatus: 5.1.1\nDiagnostic-Code: smtp; 550 5.1.1 User unknown',
        `Undelivered: release notes ${v1}`, `Your message "Release ${v1}" could not be delivered. We run mailer ${v2}.`, returned('customer@receiver.example')));
      expect(r.bounces[0]).toMatchObject({ recipient: 'customer@receiver.example', status: '5.1.1', reason: 'userunknown', hard: true });
    }), { numRuns: 150 });
  });

  it('a version number in an NDR\'s quoted subject line is never the status of a text bounce', () => {
    fc.assert(fc.property(version, (v) => {
      const r = parseBounce(textBounce(`Undeliverable: ${v}`, `Your message\n\n  To: customer@receiver.example\n  Subject: New ${v} is out\n\ndid not reach the following recipient(s):\n\ncustomer@receiver.example on Mon, 2 Dec 2024\n    The e-mail account does not exist at the organization this message was sent to.`, returned('customer@receiver.example')));
      const b = r.bounces[0];
      expect(b?.reason).not.toBe('delivered');
      expect(b?.status).not.toBe(v.replace(/^\D+/, ''));
    }), { numRuns: 150 });
  });

  const help = fc.constantFrom(
    (a: string) => `If you need help, please contact ${a}.`, (a: string) => `Please contact ${a} for assistance.`,
    (a: string) => `${a} can help you.`, (a: string) => `For help write to: ${a}`, (a: string) => `For more information see ${a}`,
    (a: string) => `Questions? Send them to ${a}`, (a: string) => `Report abuse to ${a}`,
  );
  it('an address in a help sentence never becomes the recipient', () => {
    fc.assert(fc.property(help, address, fc.option(address, { nil: undefined }), (sentence, helpAddr, rcpt) => {
      fc.pre(helpAddr !== rcpt);
      const body = `Your message could not be delivered.\n${sentence(helpAddr)}\n\n${rcpt ? `<${rcpt}>:\n` : ''}550 5.1.1 user unknown`;
      const r = parseBounce(textBounce('Returned mail', body, 'From: forms@shop.example\nSubject: Thanks\n'));
      for (const b of r.bounces) expect(b.recipient).not.toBe(helpAddr);
      if (rcpt) expect(r.bounces.map((b) => b.recipient)).toContain(rcpt);
    }), { numRuns: 200 });
  });

  it('a bare screen name becomes a recipient only when exactly one To address has that local part', () => {
    fc.assert(fc.property(local, fc.uniqueArray(address, { minLength: 1, maxLength: 4 }), (name, to) => {
      const r = parseBounce(textBounce('Failure Notice', `Sorry, we were unable to deliver your message to the following address.\n\n<${name}>:\n554: delivery error: dd This user doesn't have an account`, returned(to.join(', '))));
      const hits = to.filter((a) => a.slice(0, a.indexOf('@')) === name);
      expect(r.bounces[0]?.recipient).toBe(hits.length === 1 ? hits[0] : '');
    }), { numRuns: 200 });
  });

  const decorate = fc.tuple(
    fc.constantFrom('rfc822;', 'rfc822; ', 'RFC822;', 'rfc822 ;  ', '', 'rfc822 '),
    fc.constantFrom(['', ''], ['<', '>'], ['< ', ' >'], ['"', '"'], ['<<', '>>']),
    fc.constantFrom('', ' (comment)', ';', '.', ' '),
    fc.boolean(),
  );
  it('a Final-Recipient is read whatever its type prefix, brackets, quotes, case or trailing comment', () => {
    fc.assert(fc.property(address, decorate, (a, [type, [open, close], tail, upper]) => {
      const shown = upper ? a.toUpperCase() : a;
      const r = parseBounce(dsn(`Final-Recipient: ${type}${open}${shown}${close}${tail}\nAction: failed\nStatus: 5.1.1`, 'Undelivered', 'Delivery failed.', returned('someone-else@receiver.example')));
      expect(r.bounces[0]?.recipient).toBe(a);
    }), { numRuns: 200 });
  });
});
