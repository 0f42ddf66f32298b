// RFC 3463 enhanced status codes: lookup table (code -> reason), extraction from free text,
// SMTP reply codes, and the internal D.S.N codes used when a bounce carries none.
import type { BounceReason } from './types.js';

/** Standard codes mapped to reasons (IANA registry semantics, as Sisimai does). */
const STANDARD: Record<string, BounceReason> = {
  '2.1.5': 'delivered',
  '4.1.6': 'hasmoved', '4.1.7': 'rejected', '4.1.8': 'rejected', '4.1.9': 'systemerror',
  '4.2.1': 'suspend', '4.2.2': 'mailboxfull', '4.2.3': 'exceedlimit', '4.2.4': 'filtered',
  '4.3.1': 'systemfull', '4.3.2': 'notaccept', '4.3.3': 'systemerror', '4.3.5': 'systemerror',
  '4.4.1': 'expired', '4.4.2': 'networkerror', '4.4.3': 'systemerror', '4.4.4': 'networkerror',
  '4.4.5': 'systemfull', '4.4.6': 'networkerror', '4.4.7': 'expired', '4.4.8': 'networkerror',
  '4.5.3': 'systemerror', '4.5.5': 'systemerror',
  '4.6.0': 'contenterror', '4.6.2': 'contenterror', '4.6.5': 'contenterror',
  '4.7.1': 'blocked', '4.7.2': 'blocked', '4.7.5': 'securityerror', '4.7.6': 'securityerror',
  '4.7.7': 'securityerror', '4.7.12': 'securityerror', '4.7.15': 'securityerror', '4.7.16': 'mesgtoobig',
  '4.7.24': 'authfailure', '4.7.25': 'requireptr', '4.7.26': 'authfailure',
  '5.1.0': 'userunknown', '5.1.1': 'userunknown', '5.1.2': 'hostunknown', '5.1.3': 'userunknown',
  '5.1.4': 'filtered', '5.1.6': 'hasmoved', '5.1.7': 'rejected', '5.1.8': 'rejected',
  '5.1.9': 'systemerror', '5.1.10': 'notaccept',
  '5.2.0': 'filtered', '5.2.1': 'filtered', '5.2.2': 'mailboxfull', '5.2.3': 'exceedlimit', '5.2.4': 'filtered',
  '5.3.0': 'systemerror', '5.3.1': 'systemfull', '5.3.2': 'notaccept', '5.3.3': 'systemerror',
  '5.3.4': 'mesgtoobig', '5.3.5': 'systemerror',
  '5.4.0': 'networkerror', '5.4.3': 'systemerror', '5.4.4': 'hostunknown',
  '5.5.2': 'syntaxerror', '5.5.3': 'toomanyconn', '5.5.4': 'systemerror', '5.5.5': 'systemerror', '5.5.6': 'syntaxerror',
  '5.6.0': 'contenterror', '5.6.1': 'contenterror', '5.6.2': 'contenterror', '5.6.3': 'contenterror',
  '5.6.5': 'contenterror', '5.6.6': 'contenterror', '5.6.7': 'contenterror', '5.6.8': 'contenterror', '5.6.9': 'contenterror',
  '5.7.0': 'securityerror', '5.7.1': 'securityerror', '5.7.2': 'securityerror', '5.7.3': 'securityerror',
  '5.7.4': 'securityerror', '5.7.5': 'securityerror', '5.7.6': 'securityerror', '5.7.7': 'securityerror',
  '5.7.8': 'securityerror', '5.7.9': 'securityerror', '5.7.10': 'securityerror', '5.7.11': 'securityerror',
  '5.7.13': 'suspend', '5.7.14': 'securityerror', '5.7.15': 'securityerror', '5.7.16': 'mesgtoobig',
  '5.7.17': 'hasmoved', '5.7.18': 'hasmoved', '5.7.19': 'securityerror',
  '5.7.20': 'authfailure', '5.7.21': 'authfailure', '5.7.22': 'authfailure', '5.7.23': 'authfailure',
  '5.7.24': 'authfailure', '5.7.25': 'requireptr', '5.7.26': 'authfailure', '5.7.27': 'notaccept',
};

/** Internal codes (x.0.9yy) for bounces without a usable RFC 3463 code. */
const INTERNAL: Partial<Record<BounceReason, string>> = {
  authfailure: '972', badreputation: '975', blocked: '971', contenterror: '960', exceedlimit: '923',
  expired: '947', filtered: '910', hasmoved: '916', hostunknown: '912', mailboxfull: '922',
  mailererror: '939', mesgtoobig: '934', networkerror: '944', norelaying: '909', notaccept: '932',
  onhold: '901', policyviolation: '972', rejected: '918', securityerror: '970', spamdetected: '980',
  speeding: '946', suspend: '921', systemerror: '930', systemfull: '931', syntaxerror: '902',
  toomanyconn: '945', userunknown: '911', undefined: '900', virusdetected: '971', requireptr: '973',
  notcompliantrfc: '974',
};

export function statusReason(code: string): BounceReason | '' {
  return STANDARD[code] ?? '';
}

export function internalStatus(reason: BounceReason, temporary: boolean): string {
  const n = INTERNAL[reason];
  if (!n) return '';
  if (temporary && reason === 'filtered') return '4.0.924';
  return `${temporary ? 4 : 5}.0.${n}`;
}

export function isValidStatus(code: string): boolean {
  return /^[245]\.\d{1,3}\.\d{1,3}$/.test(code) && Number(code.split('.')[1]) <= 7;
}

const STATUS_RE = /(?<![\d.vV])([245])\.([0-7])\.(\d{1,3})(?![\d])/g;
const IPV4_RE = /\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b/g;

/** Words after which an enhanced status code is SMTP-reply context ("error 5.1.1", "Status: 5.1.1"). */
const STATUS_WORDS = /(?:^|[^a-z])(?:status|code|error|dsn|smtp|said|reply|replied|response|responded|returned|reason|failed|failure|rejected|result|diagnostic|diagnostic-code|permanent|temporary|bounce|deferred|refused|denied|x-postfix|x-unix|x-notes|x-local|mta|ndr|remote)$/;
/** Header labels and prose words: a number after them is a version or a date, never a status. */
const PROSE_LABELS = /(?:^|[^a-z])(?:subject|sent|date|to|from|cc|re|fw|fwd|version|release|ver|rev|revision|build|update|mailer|software|server|program|notes?)$/;

/**
 * Is the code at `at` in SMTP-reply context? At the start, after a reply code ("550 5.1.1", "550-5.1.1"),
 * after punctuation that opens a reply ("(#5.1.1)", "smtp; 5.1.1", "'5.7.1 ...'"), or after a word that
 * introduces one ("error 5.1.1"). A number after any other word ("release 4.4.2", "Subject: 2.0.1") is prose.
 */
function inReplyContext(t: string, at: number): boolean {
  const before = t.slice(Math.max(0, at - 40), at).toLowerCase();
  // "(#5.1.1)", "[#4.1.9]", "#5.0.0", "(5.1.1)": a code set apart in brackets or marked with "#".
  if (/(?:[(\[]#?|#)$/.test(before)) return true;
  const pre = before.replace(/[\s(\[#'"<=*]+$/, '');
  if (pre === '') return true;
  if (/(?:^|[^\d.])[245]\d\d-?$/.test(pre)) return true;
  const last = pre.slice(-1);
  if (/[a-z]/.test(last)) return STATUS_WORDS.test(pre);
  if (last === ':' || last === ';' || last === ',') {
    const word = pre.slice(0, -1).trimEnd();
    return !PROSE_LABELS.test(word);
  }
  // "...command) 5.1.1", "failed. 5.1.1", "- 5.1.1": a new clause.
  return /[).>\]!?\-|\/]/.test(last) && !/\d/.test(last);
}

/**
 * Find the most specific enhanced status code in free text, in SMTP-reply context only (see
 * inReplyContext): a version number or date in prose is not a status. Codes x.0.0 and 4.4.7 are used
 * only when nothing more specific appears. IPv4 addresses are masked first.
 */
export function findStatus(text: string, klass?: string): string {
  if (!text) return '';
  const t = text.replace(IPV4_RE, '#');
  let fallback = '';
  STATUS_RE.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = STATUS_RE.exec(t)) !== null) {
    if (klass && m[1] !== klass) continue;
    // Sendmail's reply form "5.1.1 <user@host>... User unknown" marks a status by what follows it.
    if (!inReplyContext(t, m.index) && !/^\s+<[^<>\s]+@[^<>\s]+>/.test(t.slice(m.index + m[0].length, m.index + m[0].length + 260))) continue;
    // "5.1.1a", "2.0.1-beta": part of a longer token.
    if (/^[A-Za-z_\-]/.test(t.slice(m.index + m[0].length, m.index + m[0].length + 1)) && t[m.index + m[0].length] !== '-') continue;
    const code = `${m[1]}.${m[2]}.${m[3]}`;
    if ((m[2] === '0' && m[3] === '0') || code === '4.4.7') { if (!fallback) fallback = code; continue; }
    return code;
  }
  return fallback;
}

const REPLY_RE = /(?<![\d.\-#/])([245][0-5][0-9])(?:[ \-,:;]|$)/g;

/** Find an SMTP reply code (2xx/4xx/5xx) in free text. */
export function findReplyCode(text: string): string {
  if (!text) return '';
  const t = text.replace(IPV4_RE, '#');
  REPLY_RE.lastIndex = 0;
  let m: RegExpExecArray | null;
  let positive = '';
  while ((m = REPLY_RE.exec(t)) !== null) {
    const c = m[1] ?? '';
    // Skip numbers that are obviously something else (e.g. years, sizes) by requiring a sane code.
    const n = Number(c);
    if ((n >= 400 && n <= 459) || (n >= 500 && n <= 559)) return c;
    // A transcript quotes the 2xx replies that preceded the failure: only a fallback.
    if (n >= 200 && n <= 259 && !positive) positive = c;
  }
  return positive;
}

const WRAPPED_REPLY = /^\s*[45]\.[01]\.0 - [^'"]{0,80}['"]([245]\.\d{1,3}\.\d{1,3}\b[^'"]*)['"]/;

/**
 * The remote reply quoted inside a generic label ("5.1.0 - Unknown address error '5.7.1 ...
 * Access denied'", Amazon SES): its code and wording say more than the label. '' if none.
 */
export function unwrapQuotedReply(diagnostic: string): string {
  return WRAPPED_REPLY.exec(diagnostic)?.[1]?.trim() ?? '';
}
