// The returned original message: only its headers matter (origin classification, Message-ID).
import { firstAddress } from './address.js';
import { decodeHeaderValue, findHeaderEnd, getHeader, getHeaders, parseHeaderBlock } from './headers.js';
import type { OriginalMessage } from './types.js';

const KEEP = new Set(['message-id', 'from', 'to', 'subject', 'return-path', 'date', 'reply-to', 'sender', 'x-mailer',
  'list-id', 'list-post', 'list-unsubscribe', 'x-formwarden-id', 'x-formwarden-form', 'feedback-id', 'received', 'cc', 'mime-version',
  'content-type', 'x-original-to', 'delivered-to', 'user-agent']);

export function stripMessageId(v: string): string {
  const m = /<([^<>\s]+)>/.exec(v);
  return (m?.[1] ?? v.trim().split(/\s+/)[0] ?? '').slice(0, 500);
}

/** Parse the header block of a returned original (binary or decoded string). */
export function parseOriginal(text: string): OriginalMessage | null {
  if (!text) return null;
  let s = text.replace(/^\s+/, '');
  // Some layouts indent or quote the returned headers.
  if (/^\|\s/.test(s)) s = s.replace(/^\|\s?/gm, '');
  const [hEnd] = findHeaderEnd(s, 0);
  const h = parseHeaderBlock(s.slice(0, hEnd));
  if (h.list.length === 0) return null;
  const headers: Record<string, string> = {};
  for (const [n, v] of h.list) if (KEEP.has(n) && !(n in headers)) headers[n] = decodeHeaderValue(v).slice(0, 2000);
  const receivedIps: string[] = [];
  for (const r of getHeaders(h, 'received').slice(0, 20)) {
    for (const m of r.matchAll(/\[((?:\d{1,3}\.){3}\d{1,3}|IPv6:[0-9a-fA-F:]+)\]/g)) {
      const ip = (m[1] ?? '').replace(/^IPv6:/i, '');
      if (ip && !receivedIps.includes(ip)) receivedIps.push(ip);
    }
  }
  const o: OriginalMessage = {
    messageId: stripMessageId(getHeader(h, 'message-id')),
    from: firstAddress(decodeHeaderValue(getHeader(h, 'from'))),
    to: firstAddress(decodeHeaderValue(getHeader(h, 'to'))),
    subject: decodeHeaderValue(getHeader(h, 'subject')).slice(0, 1000),
    returnPath: firstAddress(getHeader(h, 'return-path')),
    receivedIps,
    headers,
  };
  if (!o.messageId && !o.from && !o.to && !o.subject) return null;
  return o;
}
