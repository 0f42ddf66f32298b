// A stored message as a person reads it: headers and text part decoded (quoted-printable, base64, MIME
// words). Shared by `formwarden mail show` and the console's mail viewer.

export interface DecodedMail {
  from: string;
  to: string;
  /** null when the message has no Reply-To. */
  replyTo: string | null;
  subject: string;
  /** ISO 8601, or '' without a Date header. */
  date: string;
  attachments: { filename: string | null; contentType: string; size: number }[];
  text: string;
}

export async function decodeMail(raw: string): Promise<DecodedMail> {
  const { simpleParser } = await import('mailparser');
  const m = await simpleParser(raw, { skipHtmlToText: false, skipImageLinks: true, skipTextToHtml: true });
  const addr = (a: typeof m.from | typeof m.to) => (a === undefined ? '' : (Array.isArray(a) ? a : [a]).map((x) => x.text).join(', '));
  return {
    from: addr(m.from),
    to: addr(m.to),
    replyTo: m.replyTo ? addr(m.replyTo) : null,
    subject: m.subject ?? '',
    date: m.date ? m.date.toISOString() : '',
    attachments: m.attachments.map((a) => ({ filename: a.filename ?? null, contentType: a.contentType, size: a.size })),
    text: m.text ?? '',
  };
}

/** The decoded message as text (`mail show`): headers, a blank line, the text part. */
export async function decodedMessage(raw: string): Promise<string> {
  const m = await decodeMail(raw);
  const head = [
    `From:      ${m.from}`,
    `To:        ${m.to}`,
    ...(m.replyTo !== null ? [`Reply-To:  ${m.replyTo}`] : []),
    `Subject:   ${m.subject}`,
    `Date:      ${m.date}`,
    ...m.attachments.map((a) => `Attached:  ${a.filename ?? '(no name)'} (${a.contentType}, ${a.size} bytes)`),
  ];
  return `${head.join('\n')}\n\n${m.text}`;
}
