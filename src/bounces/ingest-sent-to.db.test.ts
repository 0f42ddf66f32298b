// Suppression acts on the address we sent to (issue #13 item 1): a DSN whose Final-Recipient is a forwarding
// target suppresses the outbox row's recipient (the Original-Recipient), records the final one only as
// reported, and a challenge/response request quoting our Message-ID suppresses nothing.
import { describe, expect, it } from 'vitest';
import { dbUnavailable, useMigratedDatabase } from '../../test/support/db.js';
import { ManualClock } from '../util/clock.js';
import { ingestBounce } from './ingest.js';

const report = (fields: string, messageId: string) => [
  'From: MAILER-DAEMON@mx.receiver.example', 'To: forms@shop.example', 'Subject: Undelivered Mail Returned to Sender', 'MIME-Version: 1.0',
  'Content-Type: multipart/report; report-type=delivery-status; boundary="RPT"', '', '--RPT', 'Content-Type: text/plain', '', 'Delivery failed.', '',
  '--RPT', 'Content-Type: message/delivery-status', '', 'Reporting-MTA: dns; mx.receiver.example', '', fields, '',
  '--RPT', 'Content-Type: text/rfc822-headers', '', 'From: forms@shop.example', 'To: info@receiver.example', `Message-ID: ${messageId}`, 'Subject: Thanks', '', '--RPT--', '',
].join('\r\n');

describe.skipIf(dbUnavailable())('bounce ingest: the address we sent to', () => {
  const fresh = useMigratedDatabase();
  const clock = new ManualClock(Date.UTC(2026, 11, 1, 9, 0, 0));

  async function row(id: string, to: string): Promise<string> {
    const messageId = `<${id}@shop.example>`;
    await fresh.db.kysely.insertInto('outbox').values({ id, submission_id: null, form_id: 'contact', kind: 'autoreply', to_addr: to, reply_to: null, subject: 's', body: 'b', message_id: messageId, state: 'sent', attempts: 1, next_attempt_at: 0, locked_until: null, locked_by: null, last_error: null, created_at: clock.now().getTime(), sent_at: clock.now().getTime(), raw: null, transport: 'capture' }).execute();
    return messageId;
  }

  it('Original-Recipient = the row\'s address, Final-Recipient = a forwarding target: the row\'s address is suppressed', async () => {
    const mid = await row('o_sent_to_1', 'info@receiver.example');
    const raw = report('Original-Recipient: rfc822;info@receiver.example\r\nFinal-Recipient: rfc822; staff.member@mailhost.receiver.example\r\nAction: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 User unknown', mid);
    const r = await ingestBounce(fresh.db.kysely, clock, Buffer.from(raw), 3);
    expect(r.suppressed).toEqual(['info@receiver.example']);
    const supp = await fresh.db.kysely.selectFrom('suppressions').select('address').execute();
    expect(supp.map((s) => s.address)).toEqual(['info@receiver.example']);
    const ev = await fresh.db.kysely.selectFrom('events').selectAll().where('id', '=', 'sig_o_sent_to_1').executeTakeFirstOrThrow();
    expect(ev.address).toBe('info@receiver.example');
    expect(JSON.parse(ev.detail)).toMatchObject({ reason: 'userunknown', hard: true, reported: 'staff.member@mailhost.receiver.example' });
  });

  it('a challenge/response request quoting our Message-ID suppresses nothing and counts as an auto-reply', async () => {
    const mid = await row('o_sent_to_2', 'visitor@receiver.example');
    const raw = `From: visitor@receiver.example\r\nTo: forms@shop.example\r\nSubject: Please confirm your message\r\n\r\nI use a challenge/response system. Your message is held until you verify that you are human.\r\n\r\nFrom: forms@shop.example\r\nTo: visitor@receiver.example\r\nMessage-ID: ${mid}\r\nSubject: Thanks\r\n`;
    const r = await ingestBounce(fresh.db.kysely, clock, Buffer.from(raw), 1);
    expect(r.suppressed).toEqual([]);
    expect(r.counted).toBe(0);
    const supp = await fresh.db.kysely.selectFrom('suppressions').select('address').where('address', '=', 'visitor@receiver.example').execute();
    expect(supp).toEqual([]);
  });
});
