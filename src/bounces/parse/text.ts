// Helpers for non-MIME (or text-only) bounce bodies: where the returned original begins,
// which SMTP command failed, and whether a text looks like a bounce at all.

/** Lines that introduce the returned original message in plain-text bounces. */
const ORIGINAL_MARKERS: RegExp[] = [
  /^\s*[-=_*#]{2,}.{0,20}\b(?:this is a copy of|below this line is a copy|copy of the (?:original )?message|original message|returned message|undelivered message|unsent message|returned mail|message text|message header|headers? of (?:the )?(?:original|returned|message)|the message (?:header|body)|text of returned|rfc822|original header|original mail|message follows|failed message)/i,
  /^\s*(?:-+\s*)?(?:original message|returned message|the original message|message headers? follows?|original message follows|original message headers?|a copy of the original message|original mail header|headers of the original message|included is a copy of the message header)\b.{0,40}$/i,
  /^\s*[-=_]{3,}\s*(?:message|mail)\s*[-=_]{3,}/i,
  /^\s*Content-Type:\s*message\/rfc822/i,
  /^\s*-{3,}\s*The header of the original message is following\.\s*-{3,}/i,
  /^\s*\|?\s*Received: from /,
];

/** A line that starts a header block of the returned message. */
const HEADER_LINE = /^(?:return-path|received|message-id|from|to|subject|date|mime-version|x-[a-z0-9-]+|content-type|delivered-to|reply-to|dkim-signature):/i;

/**
 * Split a text body into the human-written error part and the returned original (if inline).
 * The original is recognised by a marker line, or by a run of header lines.
 */
export function splitOriginal(text: string): [string, string] {
  const lines = text.split('\n');
  const limit = Math.min(lines.length, 4000);
  for (let i = 0; i < limit; i++) {
    const l = lines[i] ?? '';
    if (l.length > 200) continue;
    if (i > 0 && ORIGINAL_MARKERS.some((re) => re.test(l))) {
      // "Received: from" marker only counts when more header lines follow.
      if (/Received: from/.test(l) && !looksLikeHeaders(lines, i)) continue;
      return [lines.slice(0, i).join('\n'), lines.slice(i + 1).join('\n')];
    }
    if (i > 0 && (lines[i - 1] ?? '').trim() === '' && HEADER_LINE.test(l) && looksLikeHeaders(lines, i)) {
      return [lines.slice(0, i).join('\n'), lines.slice(i).join('\n')];
    }
  }
  return [text, ''];
}

/** Headers only a real message carries: a To/Date/Subject summary (IMail, Outlook notices) lacks them. */
const MESSAGE_HEADER = /^(?:return-path|received|message-id|from|mime-version|content-type|delivered-to|dkim-signature):/i;

function looksLikeHeaders(lines: string[], from: number): boolean {
  let n = 0;
  let real = false;
  for (let j = from; j < Math.min(lines.length, from + 12); j++) {
    const l = (lines[j] ?? '').replace(/^\|\s*/, '');
    if (l.trim() === '') break;
    if (HEADER_LINE.test(l)) n++;
    if (!real && MESSAGE_HEADER.test(l)) real = true;
  }
  return n >= 3 && real;
}

const COMMANDS: Array<[RegExp, string]> = [
  [/\b(?:in reply to|after|while sending|response to|>>>)\s*(?:the\s+)?(?:rcpt\s*to|rcpt)\b/i, 'RCPT'],
  [/most progress was rcpt to response|does not like recipient|\bSMTP:RCPT\b|\[RCPT_TO\]/i, 'RCPT'],
  [/\b(?:in reply to|after|while sending|response to|>>>)\s*(?:the\s+)?mail\s*from\b/i, 'MAIL'],
  [/\b(?:in reply to|after|>>>)\s*(?:end of (?:data|message)|data\b|the data|\.)/i, 'DATA'],
  [/\b(?:in reply to|after|>>>)\s*(?:ehlo|helo)\b/i, 'HELO'],
  [/after initial connection|(?:connect(?:ion)?|greeting) (?:to|with) .{0,80}(?:failed|refused)|in reply to (?:the )?initial greeting/i, 'CONN'],
  [/but sender was rejected/i, 'MAIL'],
  [/but my name was rejected/i, 'HELO'],
  [/\bsender address rejected\b/i, 'MAIL'],
];

/** The SMTP command that the error answered, from phrases like "in reply to RCPT TO command". */
export function findCommand(text: string): string {
  for (const [re, cmd] of COMMANDS) if (re.test(text)) return cmd;
  return '';
}

/** Subject/sender hints that a message is a bounce at all. */
export function looksLikeBounce(from: string, subject: string, body: string): boolean {
  if (/mailer-daemon|postmaster|mail delivery|mail-daemon|maildaemon|bounce/i.test(from)) return true;
  if (/undeliver|undelivered|delivery (?:status|fail|notification|report)|returned mail|failure notice|mail delivery|could not be delivered|non[- ]?delivery|delivery has failed|returned to sender|rejected|bounce|delayed|warning: message|error|nicht zustellbar|unzustellbar|配信|エラー|不達|失敗/i.test(subject)) return true;
  return /this is the mail system at|could not be delivered|undeliverable|permanent error|delivery to the following|was not delivered|user unknown|mailbox unavailable|smtp error/i.test(body.slice(0, 20000));
}
