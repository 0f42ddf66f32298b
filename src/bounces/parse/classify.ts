// Pure classification: one normalized record in, one reason out. The SMTP status class is
// consulted first, then the diagnostic text is matched against the phrase table (reasons.ts)
// in a fixed order. Mirrors the decision order Sisimai uses, re-expressed as data + a loop.
import { matches, matchSet, NO_MX, USERUNKNOWN_ANY_COMMAND, USERUNKNOWN_PERMANENT } from './reasons.js';
import { statusReason } from './status.js';
import type { BounceReason, RawRecord } from './types.js';

/** Reasons that a first guess may still refine. */
const RETRY = new Set<string>(['', 'undefined', 'onhold', 'systemerror', 'securityerror', 'expired', 'networkerror', 'hostunknown', 'userunknown']);
/** Commands sent before DATA: content-based reasons cannot apply to them. */
const BEFORE_DATA = new Set(['CONN', 'EHLO', 'HELO', 'MAIL', 'RCPT', 'STARTTLS', 'AUTH']);

/** Characters of a diagnostic the phrase tables read (the parser passes at most 1,000). */
const MAX_DIAGNOSTIC = 8000;

const NAME_DOES_NOT_EXIST = /\b5[05]\d (?:host |domain )?((?:[a-z0-9-]+\.)+[a-z]{2,24})\.? does not exist/;

/** "553 mx.example.org does not exist" names a host; a dotted local part ("john.smith") does not count. */
function hostDoesNotExist(c: Ctx): boolean {
  const name = NAME_DOES_NOT_EXIST.exec(c.lower)?.[1];
  return !!name && name !== c.rec.recipient.toLowerCase().split('@')[0];
}

/** A permanent failure: a 5xx reply code or a 5.x.x status. */
const permanent = (c: Ctx) => c.rec.replyCode.startsWith('5') || c.rec.status.startsWith('5.');

interface Ctx { rec: RawRecord; lower: string; sr: BounceReason | '' }

type Probe = (c: Ctx) => boolean;

/** Step 1: probes combining status code, command and text, tried in this order. */
const PROBES: Array<[BounceReason, Probe]> = [
  ['mailboxfull', (c) => c.sr === 'mailboxfull' || matches('mailboxfull', c.lower)],
  ['mesgtoobig', (c) => c.sr === 'mesgtoobig' || (c.sr !== 'exceedlimit' && c.rec.status !== '5.2.3' && matches('mesgtoobig', c.lower))],
  ['exceedlimit', (c) => c.sr === 'exceedlimit' || matches('exceedlimit', c.lower)],
  ['suspend', (c) => c.rec.replyCode === '525' || matches('suspend', c.lower)],
  ['hasmoved', (c) => c.sr === 'hasmoved' || matches('hasmoved', c.lower)],
  ['norelaying', (c) => !['CONN', 'EHLO', 'HELO'].includes(c.rec.command) && matches('norelaying', c.lower)],
  ['authfailure', (c) => c.sr === 'authfailure' || matches('authfailure', c.lower)],
  ['hostunknown', hostDoesNotExist],
  ['userunknown', (c) => {
    if (c.rec.reason === 'userunknown') return true;
    if (c.sr === 'suspend') return false;
    if (c.sr === 'userunknown') {
      for (const other of ['norelaying', 'blocked', 'mailboxfull', 'hasmoved', 'rejected', 'notaccept'] as const) {
        if (matches(other, c.lower)) return false;
      }
      return true;
    }
    if (matchSet(USERUNKNOWN_ANY_COMMAND, c.lower)) return true;
    // Without a status code that says so, "user unknown" is a missing mailbox only when it
    // answered RCPT TO; after DATA (or when the command is not known) it is a filter's answer.
    return c.rec.command === 'RCPT' && matches('userunknown', c.lower);
  }],
  ['filtered', (c) => {
    if (c.rec.reason === 'filtered') return true;
    if (c.sr === 'suspend') return false;
    if (c.sr === 'filtered') return matches('userunknown', c.lower) || matches('filtered', c.lower);
    if (BEFORE_DATA.has(c.rec.command)) return false;
    return matches('filtered', c.lower) || matches('userunknown', c.lower);
  }],
  ['requireptr', (c) => c.sr === 'requireptr' || matches('requireptr', c.lower)],
  ['notcompliantrfc', (c) => matches('notcompliantrfc', c.lower)],
  ['badreputation', (c) => matches('badreputation', c.lower)],
  ['contenterror', (c) => !probeSpam(c) && (c.sr === 'contenterror' || matches('contenterror', c.lower))],
  ['rejected', (c) => {
    if (c.sr === 'rejected') return true;
    if (c.rec.command === 'MAIL') return matches('rejected', c.lower);
    if (c.rec.command === 'DATA') return c.sr !== 'userunknown' && matches('rejected', c.lower);
    if (c.sr === '' || c.sr === 'undefined' || c.sr === 'onhold' || c.sr === 'securityerror' || c.sr === 'systemerror') {
      return matches('rejected', c.lower);
    }
    return false;
  }],
  // No MX / null MX: the domain exists but does not accept mail (checked before "host unknown").
  ['notaccept', (c) => matchSet(NO_MX, c.lower)],
  ['hostunknown', (c) => {
    if (c.sr === 'hostunknown') return !matches('networkerror', c.lower);
    // A temporary failure is never "host unknown" (a DNS hiccup is a network error).
    if (c.rec.status.startsWith('4') || c.rec.replyCode.startsWith('4')) return false;
    return matches('hostunknown', c.lower);
  }],
  ['spamdetected', probeSpam],
  ['speeding', (c) => matches('speeding', c.lower)],
  ['toomanyconn', (c) => c.sr === 'toomanyconn' || matches('toomanyconn', c.lower)],
  ['blocked', (c) => c.sr === 'blocked' || matches('blocked', c.lower)],
];

function probeSpam(c: Ctx): boolean {
  if (c.rec.status === '') return false;
  if (c.sr === 'spamdetected') return true;
  if (BEFORE_DATA.has(c.rec.command)) return false;
  return matches('spamdetected', c.lower);
}

/** Step 2: text-only fallbacks, in this order. */
const FALLBACK: BounceReason[] = [
  'mailboxfull', 'authfailure', 'badreputation', 'speeding', 'spamdetected', 'virusdetected', 'policyviolation', 'norelaying',
  'systemerror', 'networkerror', 'suspend', 'contenterror', 'systemfull', 'notaccept', 'expired', 'securityerror', 'mailererror',
];

function anotherOne(c: Ctx): BounceReason | '' {
  const { rec } = c;
  if (!RETRY.has(c.sr) && rec.diagnosticType === 'SMTP') return c.sr;
  for (const r of FALLBACK) {
    if (r === 'virusdetected' && BEFORE_DATA.has(rec.command)) continue;
    if (matches(r, c.lower)) return r;
  }
  if (c.sr) return c.sr;
  const subject = rec.status.slice(0, 3);
  if (subject === '5.6' || subject === '4.6') return 'contenterror';
  if (subject === '5.7' || subject === '4.7') return 'securityerror';
  if (rec.diagnosticType.startsWith('X-UNIX')) return 'mailererror';
  const rc = Number(rec.replyCode);
  if ((rc > 400 && rc < 408) || (rc > 500 && rc < 508)) return 'syntaxerror';
  if (rec.action === 'delayed' || rec.action === 'expired') return 'expired';
  if (rec.command === 'EHLO' || rec.command === 'HELO') return 'blocked';
  return '';
}

/** Decide the bounce reason of one normalized record. */
export function classify(rec: RawRecord): BounceReason {
  if (rec.reason && (!RETRY.has(rec.reason) || rec.reason === 'undefined')) return rec.reason;
  if (rec.status.startsWith('2.')) return 'delivered';
  // The trailing space lets phrases like "transaction failed " match at the end of the text.
  const ctx: Ctx = { rec, lower: rec.diagnostic.slice(0, MAX_DIAGNOSTIC).toLowerCase() + ' ', sr: statusReason(rec.status) };
  if (rec.reason) ctx.sr = ctx.sr || rec.reason;

  let reason: BounceReason | '' = '';
  // Every diagnostic type except a local mailer program (X-UNIX) carries SMTP-like text.
  if (!rec.diagnosticType.startsWith('X-UNIX')) {
    for (const [name, probe] of PROBES) if (probe(ctx)) { reason = name; break; }
  }
  if (reason === '' || reason === 'undefined') {
    reason = anotherOne(ctx);
    if (reason === 'undefined') reason = '';
    if (reason === '' && rec.action === 'delayed') reason = 'expired';
    if (reason) return reason;
    if (matches('vacation', ctx.lower)) return 'vacation';
    // A permanent (5xx) reply saying the mailbox does not exist is a missing mailbox, whatever command it
    // answered ("554 ... does not exist" after DATA), rather than an undecided "onhold".
    if (permanent(ctx) && matchSet(USERUNKNOWN_PERMANENT, ctx.lower)) return 'userunknown';
    return rec.diagnostic ? 'onhold' : 'undefined';
  }
  return reason;
}

/** Sisimai's hard-bounce rule: only address-level permanent failures are hard. */
export function isHard(reason: BounceReason, status: string): boolean {
  switch (reason) {
    case 'userunknown': case 'hostunknown': case 'hasmoved': return true;
    case 'notaccept': return !status.startsWith('4');
    default: return false;
  }
}
