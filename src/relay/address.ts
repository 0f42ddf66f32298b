// Recipient identity. Two jobs, one canonical form:
// - normalizeAddress: the key under which caps, the suppression list and the breaker's statistics count
//   a mailbox. Every spelling that reaches the same mailbox must give the same key, so a bot cannot get
//   past a per-address cap or a suppression with "ceo+1@x", "ceo+2@x", "CEO@X", "ｃｅｏ＠ｘ".
// - autoreplyRecipient: where an auto-reply may go. It goes to the canonical address (the base mailbox,
//   its tag removed), or nowhere when even the base mailbox name carries a link, a domain, a phone number,
//   routing syntax or too many words: a stranger's To: header never carries visitor-chosen words beyond a
//   plain mailbox name. The owner's notification keeps the address as typed (Reply-To).
// Every folding rule below is delivery-equivalent (the provider delivers both spellings to one mailbox), so
// the canonical address is a correct recipient, never someone else's mailbox.

import { domainToASCII } from 'node:url';

interface ProviderRule {
  /** Domain the provider's aliases collapse to. */
  canonical: string;
  /** The provider ignores dots in the local part (Gmail). */
  ignoreDots?: boolean;
}

/**
 * Provider rules on top of the generic ones (trim, NFKC, lower case, IDN to punycode, '+tag' removed for
 * every domain). Only behaviour the providers document:
 * - Gmail ignores dots; googlemail.com is the same mailbox as gmail.com.
 * - Yandex: every mailbox is reachable on yandex.ru, ya.ru, yandex.com, yandex.by, yandex.kz and yandex.ua.
 * Not here on purpose: Outlook/Hotmail/Live, iCloud, Proton, Fastmail domains are distinct mailboxes (their
 * '+tags' are covered by the generic rule); Yahoo's "base-keyword" addresses are separate addresses the
 * owner has to create one by one, so a bot cannot mint new ones and '-' (legal in names) is not folded.
 */
export const PROVIDER_RULES: Readonly<Record<string, Readonly<ProviderRule>>> = Object.freeze({
  'gmail.com': { canonical: 'gmail.com', ignoreDots: true },
  'googlemail.com': { canonical: 'gmail.com', ignoreDots: true },
  'yandex.ru': { canonical: 'yandex.ru' },
  'ya.ru': { canonical: 'yandex.ru' },
  'yandex.com': { canonical: 'yandex.ru' },
  'yandex.by': { canonical: 'yandex.ru' },
  'yandex.kz': { canonical: 'yandex.ru' },
  'yandex.ua': { canonical: 'yandex.ru' },
});

/**
 * Domains with subdomain addressing: "anything@user.fastmail.com" is delivered to "user@fastmail.com", so
 * the local part there is all tag and the first label is the mailbox.
 */
export const SUBDOMAIN_ADDRESSING: ReadonlySet<string> = new Set(['fastmail.com', 'fastmail.fm']);

/** The sub-address separator removed for every domain (RFC 5233; Google Workspace, Microsoft 365 and most servers deliver '+tags' to the base mailbox). */
export const TAG_SEPARATOR = '+';

/** Case and Unicode folding: NFKC (full-width forms, '＋', '＠'), lower case, NFKC again (stable). */
function fold(s: string): string {
  return s.trim().normalize('NFKC').toLowerCase().normalize('NFKC');
}

function asciiDomain(domain: string): string {
  const d = domain.replace(/\.+$/, ''); // FQDN trailing dot
  if (d === '') return d;
  // domainToASCII lower-cases and punycodes; '' means it is not a valid host.
  // Keep the lower-cased input then, so distinct garbage stays distinct.
  // (Its output may end in a dot again, ".?" -> ".": strip once more so the key is idempotent.)
  return (domainToASCII(d) || d).replace(/\.+$/, '');
}

function split(addr: string): { local: string; domain: string } | null {
  const at = addr.lastIndexOf('@');
  if (at <= 0 || at === addr.length - 1) return null;
  return { local: addr.slice(0, at), domain: addr.slice(at + 1) };
}

interface Canonical {
  /** The local part as typed (folded), tag included. */
  typedLocal: string;
  /** The mailbox name: the typed local part without its tag (or the subdomain's mailbox), before provider rules. */
  base: string;
  local: string;
  domain: string;
}

function canonical(addr: string): Canonical | null {
  const parts = split(fold(addr));
  if (!parts) return null;
  const typedLocal = parts.local;
  let domain = asciiDomain(parts.domain);
  let base = typedLocal;
  const dot = domain.indexOf('.');
  if (dot > 0 && SUBDOMAIN_ADDRESSING.has(domain.slice(dot + 1))) {
    base = domain.slice(0, dot);
    domain = domain.slice(dot + 1);
  } else {
    const i = typedLocal.indexOf(TAG_SEPARATOR);
    base = i === -1 ? typedLocal : typedLocal.slice(0, i);
  }
  let local = base;
  const rule = PROVIDER_RULES[domain];
  if (rule) {
    if (rule.ignoreDots) local = local.replaceAll('.', '');
    domain = rule.canonical;
  }
  // Folding may leave only white space (". @gmail.com"): trim, so the key is idempotent. "+x@example.com"
  // names no mailbox: keep it whole (it never gets an auto-reply, see autoreplyRecipient).
  local = local.trim();
  if (local === '') local = typedLocal;
  return { typedLocal, base, local, domain };
}

/**
 * The canonical mailbox key of an address, for caps, suppression and statistics: trimmed, NFKC, lower case,
 * IDN domain in punycode, '+tag' removed (every domain), provider aliases folded. Idempotent; the result is
 * also the auto-reply's recipient (see autoreplyRecipient). Input without a usable '@' is returned folded.
 */
export function normalizeAddress(addr: string): string {
  const c = canonical(addr);
  return c ? `${c.local}@${c.domain}` : fold(addr);
}

/** Normalized ASCII domain of an address ('' if there is none). */
export function addressDomain(addr: string): string {
  const n = normalizeAddress(addr);
  const at = n.lastIndexOf('@');
  return at === -1 ? '' : n.slice(at + 1);
}

// --- Who may get an auto-reply -------------------------------------------------------------------

/** Why an address gets no auto-reply (recorded as `skipped:address:<reason>` on the submission). */
export type WithheldReason = 'routing' | 'empty' | 'symbols' | 'length' | 'phone' | 'domain' | 'parts';

export type RecipientVerdict = { ok: true; to: string } | { ok: false; reason: WithheldReason };

/**
 * Routing syntax anywhere in the local part, tag included: '%' (percent hack, "user%host@relay"), '!' (UUCP
 * bang path), '/' and '=' (X.400 gateways, SRS), and what a plain address never has ('@', ':', quotes,
 * brackets, ',' ';' '<>' '\\', whitespace). A smarthost may deliver such an address somewhere else than
 * the domain the caps counted.
 */
const ROUTING = /[%!/=@:"\\[\]<>,;\s]/;
/** A plain mailbox name: dot-separated runs of letters, digits, '_', '-' and the apostrophe (o'brien). */
const PLAIN = /^[a-z0-9_'-]+(?:\.[a-z0-9_'-]+)*$/;
/**
 * Longest mailbox name (the part that reaches the To: header) that gets an auto-reply. Gmail allows 30
 * characters, and a genuine "firstname.middle.lastname" fits; a longer name is a sentence.
 */
export const MAX_MAILBOX_NAME = 32;
/**
 * Digits in the mailbox name at or above which it reads as a phone number: a phone number with its area
 * code has 9 or more digits (Japan 10-11, NANP 10), while a birth date or year suffix ("taro19850101") has 8.
 */
export const PHONE_DIGITS = 9;
/**
 * Separators ('.', '-', '_') allowed in the mailbox name: "mary-jane.watson-parker" has 3; more than that
 * is a phrase spelled out word by word.
 */
export const MAX_SEPARATORS = 3;
/** URL words, matched in the name with its separators removed (so "w.w.w" and "h-t-t-p" count too). */
const URL_WORDS = /www|http/;
/** URL words that are only words on their own ("ftp.example", not "microsoftpartner"). */
const URL_TOKENS = new Set(['ftp', 'url']);
/** A spelled-out dot before a common TLD ("spam-dot-com", "spamdotnet"). */
const SPELLED_DOT = /dot(?:com|net|org|info|biz|xyz|top|jp|ru|cn)/;
/**
 * Dotted labels that end a domain name in spam. Only generic TLDs that are no one's name or department
 * suffix: two-letter country codes ("support.jp", "juan.de.la.cruz"), names that are also TLDs ("kim",
 * "link", "win", "loan") and words like "team", "support", "tokyo" are left out on purpose, and so is the
 * full IANA list the body-text sanitizer uses.
 */
const TLD_WORDS = new Set([
  'com', 'net', 'org', 'info', 'biz', 'xyz', 'top', 'online', 'site', 'website', 'shop', 'store', 'club', 'icu',
  'vip', 'click', 'monster', 'example', 'test', 'invalid', 'localhost',
]);
/** Second-level registries before a country code: "shop.co.jp", "x.com.cn", "y.ne.jp". */
const SECOND_LEVEL = /\.(?:co|ne|or|ac|go|com|net|org|gov|edu)\.[a-z]{2}$/;

function domainLike(name: string): boolean {
  const collapsed = name.replace(/[._'-]/g, '');
  if (URL_WORDS.test(collapsed) || SPELLED_DOT.test(collapsed)) return true;
  if (name.split(/[._'-]/).some((t) => URL_TOKENS.has(t))) return true;
  if (SECOND_LEVEL.test(name)) return true;
  const labels = name.split('.');
  return labels.slice(1).some((l) => TLD_WORDS.has(l));
}

/**
 * Where an auto-reply to the typed address may go: the canonical address (the base mailbox, with no tag
 * text), or nowhere with the reason. Routing syntax is looked for in the whole local part, tag included;
 * everything else in the mailbox name without its tag (the tag never reaches the To: header).
 */
export function autoreplyRecipient(typed: string): RecipientVerdict {
  return recipientOf(canonical(typed));
}

/** normalizeAddress and autoreplyRecipient of one typed address, folded once (the accept path needs both). */
export function addressAndRecipient(typed: string): { key: string; recipient: RecipientVerdict } {
  const c = canonical(typed);
  return { key: c ? `${c.local}@${c.domain}` : fold(typed), recipient: recipientOf(c) };
}

function recipientOf(c: Canonical | null): RecipientVerdict {
  if (!c) return { ok: false, reason: 'symbols' };
  if (ROUTING.test(c.typedLocal)) return { ok: false, reason: 'routing' };
  const name = c.base;
  if (name === '') return { ok: false, reason: 'empty' };
  if (!PLAIN.test(name) || !PLAIN.test(c.local)) return { ok: false, reason: 'symbols' };
  // Length and word count of what the To: header will show (Gmail's ignored dots are not shown) ...
  if (c.local.length > MAX_MAILBOX_NAME) return { ok: false, reason: 'length' };
  // ... phone and domain text in the name as typed, which holds every character the canonical one shows.
  if ((name.match(/[0-9]/g)?.length ?? 0) >= PHONE_DIGITS) return { ok: false, reason: 'phone' };
  if (domainLike(name)) return { ok: false, reason: 'domain' };
  if ((c.local.match(/[._-]/g)?.length ?? 0) > MAX_SEPARATORS) return { ok: false, reason: 'parts' };
  return { ok: true, to: `${c.local}@${c.domain}` };
}

// --- Owner-configured addresses ------------------------------------------------------------------

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
