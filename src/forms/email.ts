// A visitor's email address: exactly one plain address (no display name, no list, no comments,
// no whitespace or line breaks), so that it can be used as a recipient or Reply-To without ever
// becoming a second recipient or a header line.
import { domainToASCII } from 'node:url';

const LOCAL = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/** The address in canonical form (domain lower-cased, IDN as punycode), or null when it is not one plain address. */
export function parseEmail(input: string): string | null {
  if (input.length > 254) return null;
  const at = input.lastIndexOf('@');
  if (at <= 0 || at !== input.indexOf('@')) return null;
  const local = input.slice(0, at);
  const domainIn = input.slice(at + 1);
  if (local.length > 64 || !LOCAL.test(local)) return null;
  // An RFC 2047 encoded-word ("=?utf-8?q?...?=") is legal atext but decoded by some mail software
  // into another address: refuse it (the "splitting the email atom" class of confusion).
  if (local.includes('=?')) return null;
  if (!domainIn || /[\s,;<>()[\]\\"\u0000-\u001f\u007f]/.test(domainIn)) return null;
  const domain = domainToASCII(domainIn.normalize('NFKC').toLowerCase());
  if (!domain || domain.length > 253) return null;
  const labels = domain.split('.');
  if (labels.length < 2 || !labels.every((l) => LABEL.test(l))) return null;
  if (/^\d+$/.test(labels[labels.length - 1]!)) return null;
  return `${local}@${domain}`;
}
