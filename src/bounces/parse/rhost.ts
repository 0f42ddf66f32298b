// Provider-specific rules (the remote host's own error labels and phrases), mapped to reasons.
// A provider is recognised by the recipient's domain or by the remote host name (the
// Remote-MTA field, "host mx.example[192.0.2.1] said:", "while talking to mx.example:"),
// the way Sisimai's Rhost classes are selected. Pure data plus small matchers.
import type { BounceReason } from './types.js';

type Reason = BounceReason | '';

/** Orange / Wanadoo / La Poste: the last three digits of the OFR/LPN/OUK label. '' = no decision. */
const FRANCE_PTT: Record<string, BounceReason | 'undefined'> = {
  '101': 'blocked', '102': 'blocked', '103': 'blocked', '104': 'toomanyconn', '105': 'undefined', '107': 'undefined',
  '108': 'undefined', '109': 'undefined', '201': 'undefined', '305': 'securityerror', '401': 'authfailure',
  '402': 'securityerror', '403': 'rejected', '405': 'rejected', '415': 'rejected', '416': 'userunknown',
  '417': 'mailboxfull', '420': 'suspend', '421': 'rejected', '423': 'undefined', '424': 'undefined', '426': 'suspend',
  '505': 'systemerror', '506': 'spamdetected', '510': 'blocked', '513': 'undefined', '514': 'mesgtoobig',
  '517': 'authfailure', '630': 'policyviolation', '999': 'blocked',
};

const FRANCE_LABEL = /\b(?:LPNAAA|LPN|OFR|OUK)\d*[_-]?(\d{3})\b/i;

/** A reason decided by a provider's own error label found anywhere in the text, or ''. */
export function providerReason(diagnostic: string): BounceReason | '' {
  const m = FRANCE_LABEL.exec(diagnostic);
  if (m) return FRANCE_PTT[m[1] ?? ''] ?? '';
  return '';
}

/** What a provider rule may look at. `lower` is the lower-cased diagnostic. */
export interface ProviderInput { diagnostic: string; lower: string; status: string; replyCode: string; command: string }

type Phrases = Partial<Record<BounceReason, string[]>>;

function byPhrase(table: Phrases, lower: string): Reason {
  for (const [reason, list] of Object.entries(table) as Array<[BounceReason, string[]]>) {
    for (const p of list) if (lower.includes(p)) return reason;
  }
  return '';
}

const KDDI: Phrases = { filtered: ['550 : user unknown'], userunknown: ['>: user unknown'] };

const DOCOMO: Phrases = {
  mailboxfull: ['552 too much mail data'], syntaxerror: ['503 bad sequence of commands', '504 command parameter not implemented'],
  toomanyconn: ['552 too many recipients'],
};

function nttDocomo(i: ProviderInput): Reason {
  if (i.status === '5.1.1' || i.status === '5.0.911') return 'userunknown';
  if (i.status === '5.2.0') return 'filtered';
  const r = byPhrase(DOCOMO, i.lower);
  if (r) return r;
  if (i.lower.includes('550 unknown user')) {
    if (i.command === 'RCPT') return 'userunknown';
    if (i.command === 'DATA') return 'rejected';
  }
  return '';
}

/** GoDaddy "IBnnn" labels. */
const GODADDY_CODES: Record<string, BounceReason> = {
  IB401: 'securityerror', IB501: 'notcompliantrfc', IB502: 'notcompliantrfc', IB506: 'rejected', IB508: 'authfailure',
  IB108: 'requireptr', IB212: 'spamdetected', IB705: 'virusdetected', IB605: 'toomanyconn', IB007: 'toomanyconn',
  IB101: 'speeding', IB110: 'blocked', IB111: 'blocked', IB112: 'blocked', IB113: 'blocked', IB504: 'speeding',
  IB510: 'speeding', IB607: 'speeding', IB103: 'badreputation', IB104: 'blocked', IB105: 'blocked', IB106: 'blocked',
};
const GODADDY: Phrases = {
  blocked: ['rbl reject', 'www.spamhaus.org/query/bl?ip='], expired: ['has been in the queue too long', 'delivery timeout'],
  mailboxfull: ['account storage limit'], spamdetected: ['message rejected for spam or virus content'], suspend: ['account disabled'],
  systemerror: ['message is looping'], userunknown: ['recipient not found', 'account does not exist'],
};
function goDaddy(i: ProviderInput): Reason {
  const m = / (IB\d{3})\b/.exec(i.diagnostic);
  if (m) { const r = GODADDY_CODES[m[1] ?? '']; if (r) return r; }
  return byPhrase(GODADDY, i.lower);
}

/** Mimecast: [reply code, phrase] pairs. */
const MIMECAST: Array<[BounceReason, string, string]> = [
  ['authfailure', '550', 'spf sender invalid - envelope rejected'], ['authfailure', '550', 'dkim sender invalid - envelope rejected'],
  ['authfailure', '550', 'dmarc sender invalid - envelope rejected'],
  ['badreputation', '451', 'internal resources are temporarily unavailable'], ['badreputation', '550', 'local ct ip reputation - (reject)'],
  ['blocked', '421', 'sender address blocked'], ['blocked', '451', 'recipient temporarily unavailable'], ['blocked', '451', 'ip temporarily blacklisted'],
  ['expired', '550', 'journal messages past the expiration'],
  ['mesgtoobig', '554', 'maximum email size exceeded'],
  ['networkerror', '451', 'the incorrect hostname used for inbounds'], ['networkerror', '550', 'the incorrect hostname used for inbounds'],
  ['networkerror', '554', 'mail loop detected'],
  ['norelaying', '451', 'open relay not allowed'], ['norelaying', '451', 'open relay is not allowed'],
  ['notaccept', '451', 'account inbounds disabled'],
  ['onhold', '451', 'account outbounds disabled'], ['onhold', '451', 'hostname is not authorized'], ['onhold', '550', 'journal message past expiration'],
  ['policyviolation', '550', 'anti-spoofing policy - inbound not allowed'], ['policyviolation', '550', 'rejected by header-based anti-spoofing policy'],
  ['policyviolation', '550', 'message bounced due to content examination policy'],
  ['policyviolation', '554', 'host network not allowed'], ['policyviolation', '554', 'host network, not allowed'],
  ['rejected', '550', 'administrative prohibition envelope blocked'], ['rejected', '550', 'envelope blocked - user entry'],
  ['rejected', '550', 'envelope blocked - user domain entry'],
  ['rejected', '550', 'rejected by header-based manually blocked senders - block for manual block'],
  ['rejected', '550', 'rejected by header-based blocked senders - block policy for header from'],
  ['rejected', '550', 'envelope rejected - block policy for envelope from address'],
  ['securityerror', '535', 'incorrect authentication data'], ['securityerror', '550', 'submitter failed to authenticate'],
  ['systemerror', '451', 'unable to process connection at this time'], ['systemerror', '451', 'message ended early'],
  ['systemerror', '451', 'unable to process command'], ['systemerror', '451', 'unable to process an email at this time'],
  ['toomanyconn', '451', 'account service is temporarily unavailable'], ['toomanyconn', '452', 'too many recipients'],
  ['toomanyconn', '550', 'exceeding outbound thread limit'],
  ['userunknown', '501', 'invalid address'], ['userunknown', '503', 'user unknown'], ['userunknown', '550', 'invalid recipient'],
  ['virusdetected', '554', 'email rejected due to security policies'],
];
function mimecast(i: ProviderInput): Reason {
  for (const [reason, code, phrase] of MIMECAST) if (i.replyCode === code && i.lower.includes(phrase)) return reason;
  return '';
}

/** Facebook "XXX-Pn" / "XXX-Tn" labels. */
const FACEBOOK: Record<string, BounceReason> = {
  'POL-P7': 'authfailure', 'POL-P1': 'blocked', 'POL-P2': 'blocked', 'POL-P3': 'blocked', 'POL-P4': 'blocked', 'POL-T1': 'blocked',
  'POL-T2': 'blocked', 'POL-T3': 'blocked', 'MSG-P2': 'contenterror', 'RCP-P2': 'filtered', 'RCP-P3': 'filtered',
  'MSG-P1': 'mesgtoobig', 'INT-P2': 'mesgtoobig', 'MSG-P3': 'notcompliantrfc', 'DNS-P1': 'rejected', 'DNS-P2': 'rejected',
  'DNS-T1': 'rejected', 'DNS-P3': 'requireptr', 'DNS-T2': 'requireptr', 'POL-P6': 'spamdetected', 'RCP-T4': 'suspend',
  'RCP-T1': 'systemerror', 'CON-T1': 'toomanyconn', 'CON-T2': 'toomanyconn', 'CON-T3': 'toomanyconn', 'CON-T4': 'toomanyconn',
  'MSG-T1': 'toomanyconn', 'RCP-P1': 'userunknown', 'INT-P1': 'userunknown', 'INT-P3': 'userunknown', 'INT-P4': 'userunknown',
  'POL-P5': 'virusdetected',
};
function facebook(i: ProviderInput): Reason {
  const m = /\b([A-Z]{3}-[PT]\d)\b/.exec(i.diagnostic);
  return m ? FACEBOOK[m[1] ?? ''] ?? '' : '';
}

const YAHOO: Phrases = {
  authfailure: ['yahoo requires all senders to authenticate with either spf or dkim'],
  blocked: [" because the ip is in spamhaus's list;", 'not accepted from ip addresses on spamhaus xbl'],
  norelaying: ['relaying denied for '], notcompliantrfc: ['headers are not rfc compliant'],
  policyviolation: ['not accepted for policy reasons'],
  rejected: ['temporarily deferred due to unexpected volume or user complaints', 'due to unresolvable rfc.5321 domain', ' will be permanently deferred'],
  speeding: ['user is receiving mail too quickly'], suspend: [' is no longer valid.', 'this mailbox is disabled'],
  syntaxerror: ['syntax error in parameters or arguments'], toomanyconn: ['max message per connection reached'],
  userunknown: ["dd this user doesn't have a ", 'mailbox not found'],
};

/** Spectrum (Charter) "AUP#xnnnn" codes: [first, last, reason]. */
const SPECTRUM: Array<[number, number, BounceReason]> = [
  [1000, 1000, 'blocked'], [1010, 1010, 'rejected'], [1020, 1080, 'rejected'], [1090, 1090, 'systemerror'], [1100, 1150, 'requireptr'],
  [1160, 1190, 'policyviolation'], [1200, 1210, 'blocked'], [1220, 1250, 'blocked'], [1260, 1260, 'networkerror'],
  [1300, 1340, 'toomanyconn'], [1350, 1490, 'speeding'], [1500, 1500, 'rejected'], [1520, 1520, 'rejected'], [1530, 1530, 'mesgtoobig'],
  [1540, 1540, 'speeding'], [1550, 1550, 'speeding'], [1560, 1560, 'policyviolation'], [1580, 1580, 'speeding'],
];
function spectrum(i: ProviderInput): Reason {
  const m = /AUP#\D{0,4}(\d{4})/.exec(i.diagnostic);
  if (!m) return '';
  const n = Number(m[1]);
  for (const [a, b, r] of SPECTRUM) if (n >= a && n <= b) return r;
  return '';
}

const COX_CODES: Record<string, BounceReason> = {
  CXBL: 'blocked', CXDNS: 'requireptr', CXSNDR: 'authfailure', CXSMTP: 'rejected', CXCNCT: 'toomanyconn', CXMXRT: 'toomanyconn',
  CDRBL: 'blocked', CXTHRT: 'securityerror', CXMJ: 'securityerror', URLBL011: 'spamdetected', URLBL101: 'spamdetected',
  URLBL110: 'spamdetected', URLBL1001: 'spamdetected',
};
const COX: Phrases = {
  blocked: ['cox too many bad commands from', 'too many invalid recipients'], requireptr: ['dns check failure - try again later', 'rejected - no rdns'],
  policyviolation: ['esmtp no data before greeting', 'attachment extension is forbidden'], rejected: ['sender rejected'],
  systemerror: ['esmtp server temporarily not available'],
  toomanyconn: ['too many sessions from', 'requested action aborted: try again later', 'message threshold exceeded'],
  userunknown: ['recipient rejected'],
};
function cox(i: ProviderInput): Reason {
  const m = /AUP#([A-Z0-9]+)/.exec(i.diagnostic);
  const code = m?.[1] ?? '';
  if (COX_CODES[code]) return COX_CODES[code] ?? '';
  if (/^IPBL\d+$/.test(code)) return 'blocked';
  return byPhrase(COX, i.lower);
}

const APPLE: Phrases = {
  authfailure: ['s dmarc policy', 'blocked for failing both spf and dkim autentication checks'],
  blocked: ['rejected due to having a domain present in the spamhaus', 'rejected due to listing in spamhaus',
    'blocked - see https://support.proofpoint.com/dnsbl-lookup', 'not accepting connections'],
  hasmoved: ['recipient no longer on server'], mailboxfull: ['user is over quota'], norelaying: ['relay access denied'],
  notaccept: ['host/domain does not accept mail'], policyviolation: ['due to local policy'], rejected: ['sender address rejected'],
  speeding: ['due to excessive volume'], userunknown: ['inactive email address', 'user does not exist', 'unknown or illegal alias'],
};

const AOL: Phrases = { hostunknown: ['host or domain name not found'], notaccept: ['type=mx: malformed or unexpected name server reply'] };

const OUTLOOK: Phrases = {
  hostunknown: ['the mail could not be delivered to the recipient because the domain is not reachable'],
  userunknown: ['requested action not taken: mailbox unavailable'],
};

const MESSAGELABS: Phrases = {
  authfailure: ['domain authentication fail'], badreputation: ['connection rejected by policy'],
  blocked: ['mail rejected because your ip is in the pbl', 'your ip address has been ', 'your email address (addr) has been blocked'],
  contenterror: ['stray linefeeds in message'], norelaying: [' as a relay, '],
  notcompliantrfc: ['550 requested action aborted [4]', 'has detected that this message is not rfc 5322'],
  rejected: ['sender envelope domain not allowed for sender ip address', 'your domain has been blocked', 'your email address has been blocked',
    'your envelope sender is in my badmailfrom list', 'your email address has been blacklisted', 'your domain has been blacklisted'],
  securityerror: ['please turn on smtp authentication in your mail client'],
  spamdetected: ['message filtered', 'filtered by outbound scanning'],
  toomanyconn: ['too many recipients received this hour', 'too many messages'],
  userunknown: ['no such user', 'invalid recipient', 'mailbox is not allowed'],
};

interface Provider { hosts: string[]; find: (i: ProviderInput) => Reason }

/** Providers with their host-name suffixes (a recipient domain matches when a suffix ends with it). */
const PROVIDERS: Provider[] = [
  { hosts: ['.ezweb.ne.jp', 'msmx.au.com'], find: (i) => byPhrase(KDDI, i.lower) },
  { hosts: ['mfsmax.docomo.ne.jp'], find: nttDocomo },
  { hosts: ['smtp.secureserver.net', 'mailstore1.secureserver.net'], find: goDaddy },
  { hosts: ['.mimecast.com'], find: mimecast },
  { hosts: ['.facebook.com'], find: facebook },
  { hosts: ['.yahoodns.net'], find: (i) => byPhrase(YAHOO, i.lower) },
  { hosts: ['charter.net'], find: spectrum },
  { hosts: ['cox.net'], find: cox },
  { hosts: ['.mail.icloud.com', '.apple.com', '.me.com'], find: (i) => byPhrase(APPLE, i.lower) },
  { hosts: ['.mail.aol.com', '.mx.aol.com'], find: (i) => byPhrase(AOL, i.lower) },
  { hosts: ['.hotmail.com'], find: (i) => byPhrase(OUTLOOK, i.lower) },
  { hosts: ['.messagelabs.com'], find: (i) => byPhrase(MESSAGELABS, i.lower) },
];

function providerFor(domain: string, hosts: string[]): Provider | undefined {
  if (domain) {
    for (const p of PROVIDERS) if (p.hosts.some((h) => h.endsWith(domain) && (h.length === domain.length || h[h.length - domain.length - 1] === '.'))) return p;
  }
  for (const host of hosts) {
    if (!host) continue;
    for (const p of PROVIDERS) if (p.hosts.some((h) => host.endsWith(h) || host === h.replace(/^\./, ''))) return p;
  }
  return undefined;
}

const HOST_BEFORE_BRACKET = /([a-z0-9][a-z0-9.-]{0,252}\.[a-z]{2,24})\.?\s?$/;
const HOST_AT_START = /^\s*(?:dns;\s*)?([a-z0-9][a-z0-9.-]{0,252}\.[a-z]{2,24})/;

/** Remote host names named in a text (lower-cased): "mx.example[192.0.2.1]", "while talking to mx.example", "Remote-MTA: dns; mx.example". */
export function remoteHosts(text: string): string[] {
  const out: string[] = [];
  const lower = (text.length > 20000 ? text.slice(0, 20000) : text).toLowerCase();
  const add = (h: string | undefined) => { if (h && !out.includes(h)) out.push(h); };
  let i = lower.indexOf('[');
  for (let n = 0; i !== -1 && n < 50 && out.length < 10; n++, i = lower.indexOf('[', i + 1)) {
    const next = lower.charCodeAt(i + 1);
    if (!((next >= 48 && next <= 57) || lower.startsWith('ipv6', i + 1))) continue;
    add(HOST_BEFORE_BRACKET.exec(lower.slice(Math.max(0, i - 256), i))?.[1]);
  }
  for (const marker of ['while talking to ', 'remote-mta:']) {
    const j = lower.indexOf(marker);
    if (j !== -1) add(HOST_AT_START.exec(lower.slice(j + marker.length, j + marker.length + 260))?.[1]);
  }
  return out;
}

/**
 * The reason a recognised provider's rules decide for this failure, or '' (not a known
 * provider, or its rules say nothing).
 */
export function remoteHostReason(recipient: string, hosts: string[], input: Omit<ProviderInput, 'lower'>): Reason {
  if (!input.diagnostic) return '';
  const domain = recipient.slice(recipient.lastIndexOf('@') + 1).toLowerCase();
  const p = providerFor(recipient.includes('@') ? domain : '', hosts);
  if (!p) return '';
  // The rules read at most 8,000 characters (the parser passes at most 1,000).
  const diagnostic = input.diagnostic.slice(0, 8000);
  return p.find({ ...input, diagnostic, lower: diagnostic.toLowerCase() });
}
