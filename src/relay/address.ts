// Address normalization for cap and suppression comparison (never for sending:
// always send to the address exactly as typed). Two spellings that reach the
// same mailbox must normalize to the same string, so a bot cannot dodge a
// per-address cap with "j.o.h.n+1@gmail.com".

import { domainToASCII } from 'node:url';

interface ProviderRule {
  /** Domain the provider's aliases collapse to. */
  canonical: string;
  /** The provider ignores dots in the local part. */
  ignoreDots: boolean;
  /** Sub-address separator the provider strips ('+'), or null. */
  tagSeparator: '+' | null;
}

/**
 * Small, deliberately conservative table; only behaviour the providers document.
 * - Gmail: dots are ignored and +tags are delivered to the base mailbox;
 *   googlemail.com is the same mailbox as gmail.com.
 * - Outlook/Hotmail/Live/MSN: +tags; dots are significant; domains are distinct mailboxes.
 * - iCloud (icloud.com, me.com, mac.com): +tags. Domains kept apart (not always the same account).
 * - Fastmail: +tags (its subdomain addressing, user@tag.fastmail.com, is not folded).
 * - Proton: +tags.
 * - Yahoo: uses "base-keyword" disposable addresses that are separate mailboxes;
 *   '-' is legal in ordinary local parts, so nothing is stripped.
 */
export const PROVIDER_RULES: Readonly<Record<string, Readonly<ProviderRule>>> = Object.freeze({
  'gmail.com': { canonical: 'gmail.com', ignoreDots: true, tagSeparator: '+' },
  'googlemail.com': { canonical: 'gmail.com', ignoreDots: true, tagSeparator: '+' },
  'outlook.com': { canonical: 'outlook.com', ignoreDots: false, tagSeparator: '+' },
  'hotmail.com': { canonical: 'hotmail.com', ignoreDots: false, tagSeparator: '+' },
  'live.com': { canonical: 'live.com', ignoreDots: false, tagSeparator: '+' },
  'msn.com': { canonical: 'msn.com', ignoreDots: false, tagSeparator: '+' },
  'icloud.com': { canonical: 'icloud.com', ignoreDots: false, tagSeparator: '+' },
  'me.com': { canonical: 'me.com', ignoreDots: false, tagSeparator: '+' },
  'mac.com': { canonical: 'mac.com', ignoreDots: false, tagSeparator: '+' },
  'fastmail.com': { canonical: 'fastmail.com', ignoreDots: false, tagSeparator: '+' },
  'fastmail.fm': { canonical: 'fastmail.fm', ignoreDots: false, tagSeparator: '+' },
  'protonmail.com': { canonical: 'protonmail.com', ignoreDots: false, tagSeparator: '+' },
  'protonmail.ch': { canonical: 'protonmail.ch', ignoreDots: false, tagSeparator: '+' },
  'proton.me': { canonical: 'proton.me', ignoreDots: false, tagSeparator: '+' },
  'pm.me': { canonical: 'pm.me', ignoreDots: false, tagSeparator: '+' },
  'yahoo.com': { canonical: 'yahoo.com', ignoreDots: false, tagSeparator: null },
});

function asciiDomain(domain: string): string {
  const d = domain.replace(/\.+$/, ''); // FQDN trailing dot
  if (d === '') return d;
  // domainToASCII lower-cases and punycodes; '' means it is not a valid host.
  // Keep the lower-cased input then, so distinct garbage stays distinct.
  return domainToASCII(d) || d;
}

function split(addr: string): { local: string; domain: string } | null {
  const at = addr.lastIndexOf('@');
  if (at <= 0 || at === addr.length - 1) return null;
  return { local: addr.slice(0, at), domain: addr.slice(at + 1) };
}

/**
 * Canonical form of an address for counting: trim, NFKC, lower-case, IDN
 * domain to punycode, provider alias rules. Input without a usable '@' is
 * returned trimmed, NFKC'd and lower-cased.
 */
export function normalizeAddress(addr: string): string {
  const s = addr.trim().normalize('NFKC').toLowerCase();
  const parts = split(s);
  if (!parts) return s;
  let { local } = parts;
  let domain = asciiDomain(parts.domain);
  const rule = PROVIDER_RULES[domain];
  if (rule) {
    let l = local;
    if (rule.tagSeparator) {
      const i = l.indexOf(rule.tagSeparator);
      if (i !== -1) l = l.slice(0, i);
    }
    if (rule.ignoreDots) l = l.replaceAll('.', '');
    if (l !== '') local = l; // "+x@gmail.com" is no real mailbox: leave it
    domain = rule.canonical;
  }
  return `${local}@${domain}`;
}

/** Normalized ASCII domain of an address ('' if there is none). */
export function addressDomain(addr: string): string {
  const n = normalizeAddress(addr);
  const at = n.lastIndexOf('@');
  return at === -1 ? '' : n.slice(at + 1);
}

const LITERAL_ADDR_RE = /^[^\s@<>()[\]{},;:"\\]+@[^\s@<>()[\]{},;:"\\.][^\s@<>()[\]{},;:"\\]*\.[^\s@<>()[\]{},;:"\\.]{2,}$/u;

/**
 * A literal address an owner may put in notify.to: `a@b.cc` or
 * `Display Name <a@b.cc>`. Deliberately simple; no placeholders, no lists.
 */
export function isLiteralAddress(value: string): boolean {
  const v = value.trim();
  if (/[\r\n{}]/.test(v)) return false;
  const angle = /^[^<>@]*<([^<>]+)>$/.exec(v);
  return LITERAL_ADDR_RE.test(angle ? (angle[1] ?? '') : v);
}
