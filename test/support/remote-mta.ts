// A receiving MTA on loopback (smtp-server) for end-to-end bounce tests. It accepts every mail; for a
// recipient in one of its `unknownDomains` it then does what Postfix does after accepting mail for a
// mailbox that does not exist: it sends an RFC 3464 delivery status notification (multipart/report)
// from the null sender to the envelope sender it received, over SMTP (nodemailer) to `bounceTo`.
import nodemailer from 'nodemailer';
import { SmtpSink } from './smtp-sink.js';

export interface RemoteMtaOptions {
  /** Recipients in these domains have no mailbox. */
  unknownDomains: string[];
  /** Where mail for the envelope sender's domain is delivered (the bounce domain's MX). */
  bounceTo: () => { host: string; port: number };
  /** Return only the DSN's status parts, without the original's headers. */
  withoutOriginal?: boolean;
}

/** An RFC 3464 DSN for `rcpt`, returning the headers of `original`. */
export function rfc3464Dsn(opts: { rcpt: string; envelopeFrom: string; original?: Buffer; n: number }): string {
  const headers = opts.original ? opts.original.toString('utf8').split(/\r?\n\r?\n/)[0]! : '';
  return [
    'Return-Path: <>',
    'From: MAILER-DAEMON@mx.receiver.example (Mail Delivery System)',
    `To: ${opts.envelopeFrom}`,
    'Subject: Undelivered Mail Returned to Sender',
    `Date: ${new Date().toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: <dsn-${opts.n}-${Date.now()}@mx.receiver.example>`,
    'Auto-Submitted: auto-replied',
    'MIME-Version: 1.0',
    'Content-Type: multipart/report; report-type=delivery-status; boundary="DSN.b0und4ry"',
    '',
    'This is a MIME-encapsulated message.',
    '',
    '--DSN.b0und4ry',
    'Content-Description: Notification',
    'Content-Type: text/plain; charset=us-ascii',
    '',
    'This is the mail system at host mx.receiver.example.',
    '',
    "I'm sorry to have to inform you that your message could not",
    'be delivered to one or more recipients.',
    '',
    `<${opts.rcpt}>: unknown user: "${opts.rcpt.split('@')[0]}"`,
    '',
    '--DSN.b0und4ry',
    'Content-Description: Delivery report',
    'Content-Type: message/delivery-status',
    '',
    'Reporting-MTA: dns; mx.receiver.example',
    `X-Postfix-Sender: rfc822; ${opts.envelopeFrom}`,
    `Arrival-Date: ${new Date().toUTCString().replace('GMT', '+0000')}`,
    '',
    `Final-Recipient: rfc822; ${opts.rcpt}`,
    `Original-Recipient: rfc822;${opts.rcpt}`,
    'Action: failed',
    'Status: 5.1.1',
    `Diagnostic-Code: X-Postfix; unknown user: "${opts.rcpt.split('@')[0]}"`,
    '',
    ...(opts.original ? ['--DSN.b0und4ry', 'Content-Description: Undelivered Message Headers', 'Content-Type: text/rfc822-headers', '', headers, ''] : []),
    '--DSN.b0und4ry--',
    '',
  ].join('\r\n');
}

export class RemoteMta extends SmtpSink {
  /** DSNs sent, and how the bounce receiver answered (or the error). */
  readonly bounced: { to: string; rcpt: string; raw: string; response?: string; error?: string }[] = [];
  private pending: Promise<void>[] = [];
  private n = 0;

  constructor(private readonly mtaOpts: RemoteMtaOptions) {
    super();
  }

  override async start(port = 0): Promise<number> {
    this.onMail = (m) => {
      for (const rcpt of m.envelopeTo) {
        if (this.mtaOpts.unknownDomains.includes(rcpt.split('@')[1]!.toLowerCase())) this.pending.push(this.bounce(rcpt, m.envelopeFrom, m.raw));
      }
    };
    return super.start(port);
  }

  private async bounce(rcpt: string, envelopeFrom: string, original: Buffer): Promise<void> {
    await new Promise((r) => setImmediate(r));
    const { host, port } = this.mtaOpts.bounceTo();
    // Deadlines for a loaded 2-core machine (the receiver is another process), not a judgement of speed.
    const t = nodemailer.createTransport({ host, port, secure: false, ignoreTLS: true, connectionTimeout: 30_000, greetingTimeout: 30_000, socketTimeout: 30_000 });
    const raw = rfc3464Dsn({ rcpt, envelopeFrom, n: ++this.n, ...(this.mtaOpts.withoutOriginal ? {} : { original }) });
    try {
      const info = await t.sendMail({ envelope: { from: '', to: [envelopeFrom] }, raw });
      this.bounced.push({ to: envelopeFrom, rcpt, raw, response: String(info.response) });
    } catch (e) {
      this.bounced.push({ to: envelopeFrom, rcpt, raw, error: String(e) });
    } finally {
      t.close();
    }
  }

  /** Waits until every DSN so far was answered. */
  async settled(): Promise<void> {
    while (this.pending.length) {
      const p = this.pending;
      this.pending = [];
      await Promise.all(p);
    }
  }
}
