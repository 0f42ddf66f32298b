// RFC 5965 Abuse Reporting Format (message/feedback-report) -> normalized records.
import { cleanAddress } from './address.js';
import type { RawRecord } from './types.js';

export interface ArfReport { feedbackType: string; recipients: string[]; fields: Record<string, string> }

export function parseFeedbackReport(text: string): ArfReport {
  const fields: Record<string, string> = {};
  const recipients: string[] = [];
  let last = '';
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if ((line.startsWith(' ') || line.startsWith('\t')) && last) { fields[last] += ' ' + line.trim(); continue; }
    const c = line.indexOf(':');
    if (c <= 0) continue;
    const name = line.slice(0, c).trim().toLowerCase();
    const value = line.slice(c + 1).trim();
    if (name === 'original-rcpt-to' || name === 'removal-recipient') {
      const a = cleanAddress(value);
      if (a && !recipients.includes(a)) recipients.push(a);
    }
    if (!(name in fields)) fields[name] = value;
    last = name;
  }
  return { feedbackType: (fields['feedback-type'] ?? '').toLowerCase().trim(), recipients, fields };
}

export function arfRecords(report: ArfReport, fallbackRecipients: string[], diagnostic: string): RawRecord[] {
  const rcpts = report.recipients.length ? report.recipients : fallbackRecipients;
  const list = rcpts.length ? rcpts : [''];
  return list.map((recipient) => ({
    recipient, action: '', status: '', replyCode: '', diagnostic, diagnosticType: '', command: '',
    reason: 'feedback' as const, feedbackType: report.feedbackType || 'other',
  }));
}
