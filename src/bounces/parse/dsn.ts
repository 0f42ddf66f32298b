// RFC 3464 message/delivery-status parsing into normalized records.
import { cleanAddress } from './address.js';
import type { BounceReason, RawRecord } from './types.js';

/** X-PowerMTA-BounceCategory values mapped to reasons. */
const POWERMTA: Record<string, BounceReason> = {
  'bad-domain': 'hostunknown', 'bad-mailbox': 'userunknown', 'inactive-mailbox': 'suspend', 'message-expired': 'expired',
  'no-answer-from-host': 'networkerror', 'policy-related': 'policyviolation', 'quota-issues': 'mailboxfull',
  'routing-errors': 'systemerror', 'spam-related': 'spamdetected',
};

export interface DsnReport {
  reportingMta: string;
  records: Array<RawRecord & { remoteMta: string; originalRecipient: string }>;
}

function emptyRecord(): RawRecord & { remoteMta: string; originalRecipient: string } {
  return {
    recipient: '', action: '', status: '', replyCode: '', diagnostic: '', diagnosticType: '', command: '', reason: '',
    feedbackType: '', remoteMta: '', originalRecipient: '',
  };
}

/**
 * The address of a Final-Recipient / Original-Recipient value, read leniently: the "rfc822;" type may be
 * missing or spaced, the address may sit in angle brackets or quotes with a trailing comment, be xtext-encoded
 * (RFC 3461: "+2B" for "+", "+3D" for "=") or, with type utf-8, carry RFC 6533 "\\x{HH}" escapes. '' if none.
 */
export function recipientField(value: string): string {
  let [type, v0] = typed(value);
  // "a@b;" (no type, a trailing semicolon): the part before ";" is the address, not a type.
  if (type.includes('@')) [type, v0] = ['', value];
  let v = v0.replace(/\\x\{([0-9A-Fa-f]{1,6})\}/g, (_m, hex: string) => {
    const cp = parseInt(hex, 16);
    return cp > 0x20 && cp <= 0x10ffff ? String.fromCodePoint(cp) : '';
  });
  v = v.replace(/\+(2B|3D)/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  const a = cleanAddress(v);
  if (a) return a;
  // A non-ASCII address (utf-8 type, RFC 6533): kept as written, lower-cased.
  if (type === 'UTF-8' || /[^\x00-\x7f]/.test(v)) {
    const m = /<?([^\s<>"();,@]{1,64}@[^\s<>"();,@]{1,253})>?/u.exec(v);
    if (m?.[1] && /[^\x00-\x7f]/.test(m[1])) return m[1].toLowerCase().replace(/\.+$/, '');
  }
  return '';
}

/** Split "type; value" (e.g. "rfc822; a@b", "smtp; 550 ..."). */
function typed(v: string): [string, string] {
  const i = v.indexOf(';');
  if (i === -1 || i > 20) return ['', v.trim()];
  return [v.slice(0, i).trim().toUpperCase(), v.slice(i + 1).trim()];
}

const INDENTED_FIELD = /^[ \t]+(?:final-recipient|original-recipient|action|status|diagnostic-code|remote-mta|reporting-mta|x-actual-recipient|last-attempt-date|will-retry-until)[ \t]*:/i;

/** Parse a message/delivery-status part; at most `maxRecords` recipients are read (the rest is ignored). */
export function parseDeliveryStatus(text: string, maxRecords = 500): DsnReport {
  const report: DsnReport = { reportingMta: '', records: [] };
  // Unfold continuation lines.
  const lines: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    // An indented DSN field (some gateways indent the whole block) starts a field, not a continuation.
    if (INDENTED_FIELD.test(line)) { lines.push(line.trim()); continue; }
    if ((line.startsWith(' ') || line.startsWith('\t')) && lines.length && lines[lines.length - 1] !== '') {
      lines[lines.length - 1] += ' ' + line.trim();
    } else lines.push(line);
  }
  // Recipient blocks are separated by blank lines; a repeated Final-Recipient (or
  // Original-Recipient) inside one block also starts a new recipient.
  let cur: ReturnType<typeof emptyRecord> | null = null;
  const push = () => { if (cur && (cur.recipient || cur.originalRecipient || cur.status || cur.diagnostic)) report.records.push(cur); cur = null; };
  for (const line of lines) {
    if (report.records.length >= maxRecords) break;
    if (line.trim() === '') { if (cur && (cur.recipient || cur.originalRecipient)) push(); continue; }
    const c = line.indexOf(':');
    if (c <= 0) continue;
    const name = line.slice(0, c).trim().toLowerCase();
    const value = line.slice(c + 1).trim();
    switch (name) {
      case 'reporting-mta': report.reportingMta = typed(value)[1]; break;
      case 'final-recipient': {
        if (cur && cur.recipient) push();
        cur ??= emptyRecord();
        cur.recipient = recipientField(value) || '\u0000';
        break;
      }
      case 'original-recipient': {
        if (cur && cur.originalRecipient) push();
        cur ??= emptyRecord();
        cur.originalRecipient = recipientField(value);
        break;
      }
      case 'x-actual-recipient': {
        cur ??= emptyRecord();
        const [t, v] = typed(value);
        if (t === 'X-UNIX' || v.startsWith('|')) cur.diagnosticType ||= 'X-UNIX';
        break;
      }
      case 'action': cur ??= emptyRecord(); cur.action = value.toLowerCase().split(/[\s(;]/)[0] ?? ''; break;
      case 'status': {
        cur ??= emptyRecord();
        const m = /([245])\.(\d{1,3})\.(\d{1,3})/.exec(value);
        cur.status = m ? `${m[1]}.${Number(m[2])}.${Number(m[3])}` : '';
        if (!m) { const r = /\b([245]\d\d)\b/.exec(value); if (r) cur.replyCode ||= r[1] ?? ''; }
        break;
      }
      case 'diagnostic-code': {
        cur ??= emptyRecord();
        const [t, v] = typed(value);
        cur.diagnosticType = t || cur.diagnosticType;
        cur.diagnostic = v;
        break;
      }
      case 'x-powermta-bouncecategory': {
        // PowerMTA's own classification of the failure.
        cur ??= emptyRecord();
        const r = POWERMTA[value.toLowerCase().trim()];
        if (r) cur.reason = r;
        break;
      }
      case 'remote-mta': cur ??= emptyRecord(); cur.remoteMta = typed(value)[1]; cur.remoteHost = cur.remoteMta; break;
      default: break;
    }
  }
  if (report.records.length < maxRecords) push();
  for (const r of report.records) {
    if (report.reportingMta) r.localHost = report.reportingMta;
    if (r.recipient === '\u0000') r.recipient = ''; // Final-Recipient present but unusable
    if (r.recipient) r.finalRecipient = r.recipient;
    // The address the sender used (RFC 3464 2.3.1: Original-Recipient is the ORCPT of the sender's RCPT TO).
    if (r.originalRecipient) r.sentTo = r.originalRecipient;
    if (!r.recipient && r.originalRecipient) r.recipient = r.originalRecipient;
    // A Final-Recipient on an internal host ("@relay:user@server", no dot in the domain) is less
    // useful than the Original-Recipient the sender used.
    if (r.originalRecipient && r.recipient !== r.originalRecipient && !r.recipient.slice(r.recipient.indexOf('@') + 1).includes('.')) {
      r.recipient = r.originalRecipient;
    }
  }
  return report;
}
