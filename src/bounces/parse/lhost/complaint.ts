// Complaint reports that are not RFC 5965 (e.g. Microsoft JMRP: multipart/mixed with the
// complained-about message attached and a "complaint about message from" subject).
import { cleanAddress } from '../address.js';
import { getHeader, findHeaderEnd, parseHeaderBlock } from '../headers.js';
import type { Layout } from './index.js';

export const complaintLayout: Layout = {
  name: 'complaint',
  kind: 'arf',
  match: (ctx) => /complaint about message from|abuse report|spam complaint/i.test(ctx.subject) && ctx.walk.original !== null,
  parse: (ctx) => {
    const orig = ctx.walk.original ?? '';
    const h = parseHeaderBlock(orig.slice(0, findHeaderEnd(orig, 0)[0]));
    const rcpt = cleanAddress(getHeader(h, 'x-hmxmroriginalrecipient')) || ctx.original?.to || '';
    return [{
      recipient: rcpt, action: '', status: '', replyCode: '', diagnostic: ctx.subject, diagnosticType: '', command: '',
      reason: 'feedback', feedbackType: 'abuse',
    }];
  },
};
