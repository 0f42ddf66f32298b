// Per-MTA reason rules: once the records are extracted, a recognised reporting MTA's own
// wordings decide the reason (as Sisimai's lhost modules do). Each rule names how it
// recognises the MTA and what its phrases mean; nothing here depends on one message.
import { getHeader } from '../headers.js';
import type { BounceContext } from '../index.js';
import { statusReason } from '../status.js';
import type { BounceReason, RawRecord } from '../types.js';

interface MtaRule {
  name: string;
  match(ctx: BounceContext): boolean;
  /** the reason this MTA's wording decides for one record, or '' */
  reason(rec: RawRecord, ctx: BounceContext): BounceReason | '';
}

/** First reason whose phrase (case-sensitive, as the MTA writes it) occurs in the text. */
function byPhrase(table: Array<[BounceReason, string[]]>, text: string): BounceReason | '' {
  for (const [reason, phrases] of table) if (phrases.some((p) => text.includes(p))) return reason;
  return '';
}

// Amazon SES inbound (receipt rule "Bounce" action): fixed template texts.
const RECEIVING_SES: Array<[BounceReason, string[]]> = [
  ['filtered', ['Mailbox does not exist']],
  ['mesgtoobig', ['Message too large']],
  ['mailboxfull', ['Mailbox full']],
  ['contenterror', ['Message content rejected']],
];

// Gmail's "(state N)" suffix names the SMTP session state in which the remote server failed.
const GMAIL_STATES: Record<string, BounceReason> = {
  '6': 'systemerror', '8': 'systemerror', '9': 'systemerror', '12': 'norelaying', '13': 'blocked',
  '14': 'userunknown', '15': 'filtered', '17': 'filtered', '18': 'filtered',
};
const GMAIL_STATE = /\(state (\d{1,2})\)\.?\s*$/;

// Symantec Email Security.cloud (MessageLabs) reports.
const MESSAGELABS: Array<[BounceReason, RegExp]> = [
  ['userunknown', /\b542 \S+ Rejected|No such user/],
  ['securityerror', /Please turn on SMTP Authentication in your mail client/],
];

// AOL's outbound relays (Postfix underneath): a garbled MX answer means the domain takes no mail.
const AOL: Array<[BounceReason, string[]]> = [
  ['hostunknown', ['Host or domain name not found']],
  ['notaccept', ['type=MX: Malformed or unexpected name server reply']],
];

// au (KDDI) EZweb: the notice above the recipient list states the carrier's own cause.
const EZWEB_NOTICES: Array<[BounceReason, string[]]> = [
  ['mailboxfull', ['The user(s) account is temporarily over quota']],
  ['suspend', ['The user(s) account is disabled.', 'The user(s) account is temporarily limited.']],
  ['expired', ['Your message was not delivered within ']],
];
const EZWEB_FROM = /postmaster@(?:ezweb\.ne\.jp|au\.com)/i;
const EZWEB_MESSAGE_ID = /\.(?:ezweb\.ne\.jp|au\.com)>\s*$/i;

// Verizon Wireless text gateway: its one error wording for a missing subscriber.
const VERIZON: Array<[BounceReason, string[]]> = [['userunknown', ['550 - Requested action not taken: no such user here']]];

const RULES: MtaRule[] = [
  {
    name: 'verizon',
    match: (ctx) => /post_master@vtext\.com/i.test(ctx.from),
    reason: (rec) => byPhrase(VERIZON, rec.diagnostic),
  },
  {
    name: 'ezweb',
    match: (ctx) => EZWEB_FROM.test(ctx.from) || EZWEB_MESSAGE_ID.test(getHeader(ctx.walk.headers, 'message-id')),
    // X-SPASIGN: NG marks mail the carrier's spam filter refused.
    reason: (_rec, ctx) => getHeader(ctx.walk.headers, 'x-spasign').trim().toUpperCase() === 'NG' ? 'filtered' : byPhrase(EZWEB_NOTICES, ctx.errorPart),
  },
  {
    name: 'aol',
    match: (ctx) => getHeader(ctx.walk.headers, 'x-aol-sid') !== '' || getHeader(ctx.walk.headers, 'x-aol-ip') !== '',
    reason: (rec) => byPhrase(AOL, rec.diagnostic),
  },
  {
    name: 'receiving-ses',
    match: (ctx) => getHeader(ctx.walk.headers, 'x-ses-outgoing') !== '' && ctx.errorPart.includes('This message could not be delivered.'),
    reason: (rec) => byPhrase(RECEIVING_SES, rec.diagnostic),
  },
  {
    name: 'gmail',
    match: (ctx) => /mailer-daemon@google(?:mail)?\.com/i.test(ctx.from) && ctx.errorPart.includes('Google tried to deliver your message'),
    reason: (rec) => {
      const state = GMAIL_STATE.exec(rec.diagnostic)?.[1];
      const byState = state ? GMAIL_STATES[state] : undefined;
      if (!byState) return '';
      // A specific enhanced status code (not x.0.x) quoted by the remote server says more.
      const quoted = /\b[45]\.[1-7]\.[1-9]\d{0,2}\b/.exec(rec.diagnostic)?.[0];
      return (quoted && statusReason(quoted)) || byState;
    },
  },
  {
    name: 'messagelabs',
    match: (ctx) => /MAILER-DAEMON@messagelabs\.com/i.test(ctx.from) || getHeader(ctx.walk.headers, 'x-msg-ref') !== '',
    reason: (rec) => {
      for (const [reason, re] of MESSAGELABS) if (re.test(rec.diagnostic)) return reason;
      return '';
    },
  },
];

/** Let a recognised reporting MTA's own wordings decide the reason of records it wrote. */
export function applyMtaRules(ctx: BounceContext, records: RawRecord[]): void {
  for (const rule of RULES) {
    if (!rule.match(ctx)) continue;
    for (const r of records) {
      if (r.reason) continue;
      const reason = rule.reason(r, ctx);
      if (reason) r.reason = reason;
    }
    return;
  }
}
