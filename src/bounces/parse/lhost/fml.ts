// fml mailing-list manager: a post to the list was refused. The refused "recipient" is the
// list address named in the notice ("... mailing list <list@example.org>.").
import { cleanAddress } from '../address.js';
import { getHeader } from '../headers.js';
import type { BounceReason, RawRecord } from '../types.js';
import type { Layout } from './index.js';

// Notice body lines, then the Subject as a fallback.
const BODY_REASONS: Array<[BounceReason, RegExp]> = [
  ['rejected', /NOT MEMBER article from |reject (?:mail from \S{1,64}@\S|since .{1,300}? header may cause mail loop|spammers:)|You are not a member of this mailing list/],
  ['systemerror', /Duplicated Message-ID|fml .+ has detected a loop condition so that|Loop Back Warning:/],
  ['securityerror', /Security alert:/i],
];
const SUBJECT_REASONS: Array<[BounceReason, RegExp]> = [
  ['rejected', /NOT MEMBER article from |reject mail (?:.+:|from) |Spam mail from a spammer is rejected|You .+ are not member/],
  ['systemerror', /fml system error message|Loop Alert: |Loop Back Warning: |WARNING: UNIX FROM Loop/],
  ['securityerror', /Security Alert/],
];
const LIST_ADDRESS_LINE = /<([^\s<>@]+@[^\s<>@]+)>\.\s*$/;

function firstMatch(table: Array<[BounceReason, RegExp]>, text: string): BounceReason | '' {
  for (const [reason, re] of table) if (re.test(text)) return reason;
  return '';
}

export const fmlLayout: Layout = {
  name: 'fml',
  match: (ctx) => /^fml\b/i.test(getHeader(ctx.walk.headers, 'x-mlserver').trim()),
  parse: (ctx) => {
    const out: RawRecord[] = [];
    for (const line of ctx.errorPart.split('\n').slice(0, 200)) {
      const m = LIST_ADDRESS_LINE.exec(line);
      const recipient = m ? cleanAddress(m[1] ?? '') : '';
      if (!recipient) continue;
      const diagnostic = line.trim();
      out.push({
        recipient, action: 'failed', status: '', replyCode: '', diagnostic, diagnosticType: '', command: '',
        reason: firstMatch(BODY_REASONS, diagnostic) || firstMatch(SUBJECT_REASONS, ctx.subject), feedbackType: '',
      });
    }
    return out;
  },
};
