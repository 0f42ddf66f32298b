// Google Groups: a post to a group was refused. The body is localized, so the layout is
// recognised by the Google Groups signature and the recipients by X-Failed-Recipients.
import { allAddresses } from '../address.js';
import { getHeader } from '../headers.js';
import type { Layout } from './index.js';

export const googleGroupsLayout: Layout = {
  name: 'googlegroups',
  match: (ctx) => getHeader(ctx.walk.headers, 'x-failed-recipients') !== '' && /Google Groups|groups\.google\.com/.test(ctx.errorPart),
  parse: (ctx) => allAddresses(getHeader(ctx.walk.headers, 'x-failed-recipients')).map((recipient) => ({
    recipient, action: 'failed', status: '', replyCode: '', diagnostic: ctx.errorPart.replace(/\s+/g, ' ').trim().slice(0, 1000),
    diagnosticType: '', command: '', reason: 'rejected' as const, feedbackType: '',
  })),
};
