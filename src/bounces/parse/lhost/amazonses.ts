// Amazon SES notifications delivered by mail (SNS JSON: Bounce, Complaint, Delivery).
import { cleanAddress } from '../address.js';
import { splitOriginal } from '../text.js';
import type { RawRecord } from '../types.js';
import type { Layout } from './index.js';

interface SesRecipient { emailAddress?: string; action?: string; status?: string; diagnosticCode?: string }
interface SesMessage {
  notificationType?: string; eventType?: string;
  bounce?: { bounceType?: string; bouncedRecipients?: SesRecipient[] };
  complaint?: { complainedRecipients?: SesRecipient[]; complaintFeedbackType?: string };
  delivery?: { recipients?: string[]; smtpResponse?: string };
  Message?: string;
}

const MAX_JSON = 256 * 1024;

/** Where a JSON object starts: "{" then optional whitespace then '"' (compact or pretty-printed). One pass. */
function jsonStart(text: string): number {
  for (let i = text.indexOf('{'); i !== -1; i = text.indexOf('{', i + 1)) {
    let j = i + 1;
    while (j < text.length && /\s/.test(text[j]!)) j++;
    if (text[j] === '"') return i;
    i = j - 1;
  }
  return -1;
}

function extractJson(text: string): SesMessage | null {
  const start = jsonStart(text);
  const end = text.lastIndexOf('}');
  if (start === -1 || end <= start || end - start > MAX_JSON) return null;
  try {
    let o = JSON.parse(text.slice(start, end + 1).replace(/\r?\n/g, '')) as SesMessage;
    if (typeof o.Message === 'string') o = JSON.parse(o.Message) as SesMessage; // SNS envelope
    return o;
  } catch {
    return null;
  }
}

const base = (recipient: string): RawRecord => ({
  recipient, action: '', status: '', replyCode: '', diagnostic: '', diagnosticType: '', command: '', reason: '', feedbackType: '',
});

export const amazonSesLayout: Layout = {
  name: 'amazonses-json',
  // The field names appear escaped (\"notificationType\") when an SNS envelope wraps the notification.
  // The JSON may sit on one long line: read the unbounded text (plain substring search and JSON.parse only).
  match: (ctx) => ['"notificationType', '"eventType'].some((k) => ctx.text.includes(k + '"') || ctx.text.includes(k + '\\"')),
  parse: (ctx) => {
    const o = extractJson(splitOriginal(ctx.text)[0]);
    if (!o) return [];
    const type = o.notificationType ?? o.eventType ?? '';
    if (type === 'Bounce') {
      return (o.bounce?.bouncedRecipients ?? []).map((r) => {
        const diag = String(r.diagnosticCode ?? '');
        const m = /^\s*([A-Za-z-]+)\s*;\s*(.*)$/.exec(diag);
        return {
          ...base(cleanAddress(String(r.emailAddress ?? ''))), action: String(r.action ?? 'failed'), status: String(r.status ?? ''),
          diagnostic: m ? m[2] ?? '' : diag, diagnosticType: m ? (m[1] ?? '').toUpperCase() : '',
          temporary: o.bounce?.bounceType === 'Transient',
        };
      });
    }
    if (type === 'Complaint') {
      return (o.complaint?.complainedRecipients ?? []).map((r) => ({
        ...base(cleanAddress(String(r.emailAddress ?? ''))), reason: 'feedback' as const,
        feedbackType: String(o.complaint?.complaintFeedbackType ?? 'abuse'),
      }));
    }
    if (type === 'Delivery') {
      const resp = String(o.delivery?.smtpResponse ?? '');
      return (o.delivery?.recipients ?? []).map((r) => ({
        ...base(cleanAddress(String(r))), action: 'delivered', diagnostic: resp, diagnosticType: 'SMTP',
        status: /\b(2\.\d\.\d)\b/.exec(resp)?.[1] ?? '2.0.0', reason: 'delivered' as const,
      }));
    }
    return [];
  },
};
