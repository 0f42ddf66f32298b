// E-mail address extraction helpers.

/** A permissive address pattern (local@domain) usable inside free text. */
// Lengths are bounded (RFC 5321 limits) so that scanning long garbage stays linear.
export const ADDR = String.raw`[A-Za-z0-9!#$%&'*+/=?^_\`{|}~.\-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?){0,12}`;
const ADDR_RE = new RegExp(ADDR);
const ADDR_G = new RegExp(ADDR, 'g');

/** Clean one address candidate: strip <>, quotes, trailing dots; lower-case. */
const QUOTED_LOCAL = /"[^"\s<>@\\]{1,64}"@[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252}[A-Za-z0-9])?/;

export function cleanAddress(a: string): string {
  let s = a.trim();
  // A quoted local part ("neko..nyaan"@example.org) is kept with its quotes.
  if (s.includes('"@')) { const q = QUOTED_LOCAL.exec(s); if (q) return q[0].toLowerCase(); }
  const m = ADDR_RE.exec(s);
  if (!m) return '';
  s = m[0].replace(/^[.'"]+|[.'"]+$/g, '');
  if (s.startsWith('mailto:')) s = s.slice(7);
  return s.toLowerCase();
}

/** First address in a header value like `"Name" <a@b>` or `rfc822; a@b`. */
export function firstAddress(v: string): string {
  if (!v) return '';
  // The local part holds no "@": one way to match, linear whatever the number of "@" in the value.
  const angle = /<([^<>\s@]+@[^<>\s]+)>/.exec(v);
  if (angle?.[1]) return cleanAddress(angle[1]);
  return cleanAddress(v);
}

export function allAddresses(v: string): string[] {
  const text = v.length > 65536 ? v.slice(0, 65536) : v;
  return (text.match(ADDR_G) ?? []).map(cleanAddress).filter(Boolean);
}

/** Addresses that are never the bounced recipient. */
export function isSystemAddress(a: string): boolean {
  return /^(mailer-daemon|postmaster|mail-daemon|maildaemon|mailerdaemon|root|noreply|no-reply|bounces?|double-bounce|nobody)@/i.test(a);
}
