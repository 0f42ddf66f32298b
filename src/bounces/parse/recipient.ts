// Where a recipient may come from when a bounce names it only in prose: the address must sit in a
// recipient position, never in explanatory text ("contact postmaster@... for help"); a bare screen name
// is resolved only against the returned message's To/Cc; a mailing list's own addresses are never it.
import { ADDR, allAddresses, cleanAddress, firstAddress, isSystemAddress } from './address.js';
import type { OriginalMessage } from './types.js';

/** Words that make a sentence advice or a help pointer rather than a failure report. */
const HELP = /\b(?:contact(?:ing)?|write to|e-?mail (?:us|them)|send (?:\w+ ){0,3}to|questions?|help|helpdesk|assistance|assist|support|administrator|more information|information|see|visit|reach (?:us|them)|call|ask|report (?:abuse|spam|this)|complaints?|can help|please (?:contact|write|reply)|get in touch|問い合わせ|連絡|サポート)\b|\bfor help\b/i;
/** Words of a failure report: a line holding them names the failed recipient, even with help words. */
const FAILURE = /\b[45]\d\d\b|\b[45]\.\d{1,3}\.\d{1,3}\b|unknown|does(?:n't| not) exist|not found|no such|rejected|refused|invalid|full|quota|failed|failure|disabled|unavailable|denied|undeliverable|could not be delivered|couldn't be delivered|bounced|permanent/i;

/** Is the address `addr` on this line explanatory prose (a help or contact pointer), not a recipient? */
export function isProseAddress(line: string, addr: string): boolean {
  const lower = line.toLowerCase();
  const at = lower.indexOf(addr.toLowerCase());
  const rest = at >= 0 ? lower.slice(0, at) + ' ' + lower.slice(at + addr.length) : lower;
  return HELP.test(rest) && !FAILURE.test(rest);
}

const POSITIONAL = new RegExp(String.raw`(?:<(${ADDR})>|(?:\bto|\brecipient|\brcpt|\baddress|\bfor|\buser|\bmailbox|\baddressee)\s*:?\s*"?<?(${ADDR})>?)`, 'gi');

/**
 * Addresses of a text in recipient positions only: in angle brackets, or after "to", "recipient",
 * "RCPT TO:", "address", "for", "user", "mailbox"; never in a help sentence.
 */
export function positionalAddresses(text: string, exclude: Set<string>): string[] {
  const out: string[] = [];
  for (const line of text.split('\n').slice(0, 400)) {
    if (line.length > 1000 || !line.includes('@')) continue;
    POSITIONAL.lastIndex = 0;
    let m: RegExpExecArray | null;
    while ((m = POSITIONAL.exec(line)) !== null) {
      const a = cleanAddress(m[1] ?? m[2] ?? '');
      if (!a || exclude.has(a) || isSystemAddress(a) || out.includes(a)) continue;
      if (isProseAddress(line, a)) continue;
      out.push(a);
    }
  }
  return out;
}

/**
 * The addresses of a mailing list the returned message went through (List-Post, the list's Sender, and the
 * address its List-Id names by convention: "<news.lists.example>" -> news@lists.example): never the failed recipient.
 */
export function listAddresses(original: OriginalMessage | null): string[] {
  if (!original) return [];
  const h = original.headers;
  const out = new Set<string>();
  const post = /<mailto:([^>?\s]+)/i.exec(h['list-post'] ?? '')?.[1];
  if (post) out.add(cleanAddress(post));
  const id = /<([A-Za-z0-9_+\-]{1,64})\.([A-Za-z0-9\-]{1,63}(?:\.[A-Za-z0-9\-]{1,63})+)>/.exec(h['list-id'] ?? '');
  if (id) out.add(`${id[1]}@${id[2]}`.toLowerCase());
  if (h['list-id'] || h['list-post'] || h['list-unsubscribe']) {
    const sender = firstAddress(h['sender'] ?? '');
    if (sender) out.add(sender);
  }
  out.delete('');
  return [...out];
}

/** The To and Cc addresses of the returned message. */
export function originalRecipients(original: OriginalMessage | null): string[] {
  if (!original) return [];
  const all = [...allAddresses(original.headers['to'] ?? ''), ...allAddresses(original.headers['cc'] ?? '')];
  if (!all.length && original.to) all.push(original.to);
  return [...new Set(all)];
}

const NAME = String.raw`[A-Za-z0-9][A-Za-z0-9._+\-]{0,63}`;
/** A bare screen name (no domain) where a recipient stands: "<user123>:", "user123 does not exist". */
const SCREEN_NAMES: RegExp[] = [
  new RegExp(String.raw`^\s*<(${NAME})>\s*:`, 'm'),
  new RegExp(String.raw`^\s*"?(${NAME})"?\s*(?:does not exist|doesn't exist|is not a valid (?:user|account|recipient|mailbox)|is unknown)`, 'im'),
  new RegExp(String.raw`^\s*(${NAME})\s*:\s*(?:no such user|user unknown|unknown user|no mailbox)`, 'im'),
  new RegExp(String.raw`\b(?:user|account|recipient|mailbox|screen name)\s+"?(${NAME})"?\s+(?:does not exist|doesn't exist|is unknown|not found|is not valid)`, 'im'),
];

/** A screen name without a domain named as the failed recipient, or ''. */
export function screenName(text: string): string {
  for (const re of SCREEN_NAMES) {
    const m = re.exec(text);
    const n = m?.[1];
    if (n && !n.includes('@') && !/^(?:this|the|user|account|recipient|mailbox|address|it|that|sorry|he|she|which|who|name)$/i.test(n)) return n.toLowerCase();
  }
  return '';
}

/**
 * The recipient of a bounce whose layout was not recognised, from the returned message: a screen name in the
 * text is resolved against its To/Cc (exactly one address with that local part, else none); without one, its
 * single To/Cc address (none when it has several); a list's own address is never taken.
 */
export function recipientFromOriginal(errorPart: string, original: OriginalMessage | null, exclude: Set<string>): string {
  const list = new Set(listAddresses(original));
  const candidates = originalRecipients(original).filter((a) => !list.has(a) && !exclude.has(a));
  const name = screenName(errorPart);
  if (name) {
    const hits = candidates.filter((a) => a.slice(0, a.lastIndexOf('@')).toLowerCase() === name);
    return hits.length === 1 ? hits[0]! : '';
  }
  return candidates.length === 1 ? candidates[0]! : '';
}
