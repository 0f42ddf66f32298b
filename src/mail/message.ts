// Building the RFC 5322 message for an outbox row. One code path for every transport, so what the
// capture transport stores is byte for byte what SMTP would send. Every header comes from the
// configuration or from a validated address; visitor text only ever reaches the body or an encoded Subject.
// Every text that goes into a header passes headerSafe here: no C0/C1 control and no bidi control, whatever
// its source (a template, a visitor's field, the configuration).
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import addressparser from 'nodemailer/lib/addressparser/index.js';
import { parseEmail } from '../forms/email.js';
import { headerSafe, headerText } from './template.js';

export interface OutgoingMail {
  id: string;
  kind: string;
  from: string;
  to: string;
  replyTo: string | null;
  subject: string;
  body: string;
  messageId: string;
  date: Date;
  /** Extra headers set by Formwarden itself (never from visitor input). */
  headers?: Record<string, string>;
  /** Files the visitor sent: only ever on the owner's notification (kind notify). */
  attachments?: readonly { filename: string; contentType: string; content: Buffer }[];
}

export interface ParsedFrom {
  name: string;
  address: string;
}

/** The configured From: exactly one address, optionally with a display name. */
export function parseFrom(from: string): ParsedFrom | null {
  if (/[\r\n]/.test(from)) return null;
  const list = addressparser(from, { flatten: true });
  if (list.length !== 1) return null;
  const address = parseEmail(list[0]!.address ?? '');
  return address ? { name: list[0]!.name ?? '', address } : null;
}

export function messageIdFor(outboxId: string, fromAddress: string): string {
  return `<${outboxId}@${fromAddress.split('@')[1]}>`;
}

export async function buildMessage(mail: OutgoingMail): Promise<Buffer> {
  const from = parseFrom(mail.from);
  const to = parseEmail(mail.to);
  const replyTo = mail.replyTo === null ? null : parseEmail(mail.replyTo);
  if (!from || !to || (mail.replyTo !== null && !replyTo)) throw new Error('E_BAD_ADDRESS: refusing to build a message with an invalid address');
  // Second line of defense (the lint and the worker are the first): a visitor's files go to the owner only.
  const attachments = mail.attachments ?? [];
  if (attachments.length > 0 && mail.kind !== 'notify') throw new Error(`E_ATTACH_NOT_OWNER: refusing to attach files to a ${mail.kind} mail`);
  const autoHeader = mail.kind === 'notify' ? {} : { 'Auto-Submitted': mail.kind === 'autoreply' ? 'auto-replied' : 'auto-generated' };
  const composer = new MailComposer({
    from: { name: headerSafe(from.name), address: from.address },
    to: [{ name: '', address: to }],
    ...(replyTo ? { replyTo: [{ name: '', address: replyTo }] } : {}),
    subject: headerText(mail.subject),
    text: mail.body.replace(/\r\n?/g, '\n'),
    messageId: mail.messageId,
    date: mail.date,
    headers: Object.fromEntries(Object.entries({ ...autoHeader, 'X-Formwarden-Kind': mail.kind, ...(mail.headers ?? {}) }).map(([k, v]) => [k, headerSafe(v)])),
    textEncoding: 'quoted-printable',
    // nodemailer encodes the (already cleaned) name in Content-Disposition and Content-Type (RFC 2231).
    attachments: attachments.map((a) => ({ filename: headerSafe(a.filename), content: a.content, contentType: a.contentType, contentDisposition: 'attachment' as const })),
  });
  return new Promise((resolve, reject) => composer.compile().build((err, msg) => (err ? reject(err) : resolve(msg))));
}
