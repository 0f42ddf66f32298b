// Trustwave MailMarshal SMTP: the error comes first ("Could not be delivered because of"),
// then the affected recipients, one per indented line.
import { cleanAddress, isSystemAddress } from '../address.js';
import type { RawRecord } from '../types.js';
import type { Layout } from './index.js';

const CAUSE_HEAD = 'Could not be delivered because of';
const RECIPIENTS_HEAD = 'The following recipients were affected:';
const ADDRESS_LINE = /^\s+<?([^\s<>@]+@[^\s<>@]+?)>?\s*$/;

export const mailMarshalLayout: Layout = {
  name: 'mailmarshal',
  match: (ctx) => ctx.errorPart.includes(CAUSE_HEAD) && ctx.errorPart.includes(RECIPIENTS_HEAD),
  parse: (ctx) => {
    const text = ctx.errorPart;
    const causeAt = text.indexOf(CAUSE_HEAD) + CAUSE_HEAD.length;
    const listAt = text.indexOf(RECIPIENTS_HEAD);
    if (listAt < causeAt) return [];
    const diagnostic = text.slice(causeAt, listAt).replace(/\s+/g, ' ').trim();
    const out: RawRecord[] = [];
    for (const line of text.slice(listAt + RECIPIENTS_HEAD.length).split('\n').slice(0, 200)) {
      if (!line.trim()) { if (out.length) break; continue; }
      const addr = cleanAddress(ADDRESS_LINE.exec(line)?.[1] ?? '');
      if (!addr) break;
      if (isSystemAddress(addr)) continue;
      out.push({
        recipient: addr, action: 'failed', status: '', replyCode: '', diagnostic, diagnosticType: '', command: '', reason: '', feedbackType: '',
      });
    }
    return out;
  },
};
