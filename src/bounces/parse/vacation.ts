// RFC 3834 automatic replies (vacation / out-of-office): not bounces, reason "vacation".
import { getHeader, type HeaderList } from './headers.js';

const SUBJECT = /\b(?:out of (?:the )?office|auto(?:matic)?[- ]?(?:reply|response|antwort)|autoreply|vacation|abwesenheit|absence|away from (?:my|the) (?:desk|office)|r[ée]ponse automatique|respuesta autom[áa]tica|risposta automatica|不在|自動応答|自動返信)\b/i;

/** Is this an automatic reply (and not a delivery failure)? */
const FAILURE_SUBJECT = /undeliver|delivery (?:status|fail|notification|report|problem)|returned mail|failure notice|mail delivery|non[- ]?delivery|could not be delivered|delivery has failed|mail system error/i;
const SYSTEM_SENDER = /mailer-daemon|postmaster|mail-daemon|maildaemon/i;

export function isAutoReply(h: HeaderList, subject: string): boolean {
  const auto = getHeader(h, 'auto-submitted').toLowerCase();
  const from = getHeader(h, 'from');
  if (SYSTEM_SENDER.test(from) || FAILURE_SUBJECT.test(subject)) return false;
  if (auto.startsWith('auto-replied')) return true;
  if (getHeader(h, 'x-autoreply') || getHeader(h, 'x-autorespond') || getHeader(h, 'x-vacation')) return true;
  const precedence = getHeader(h, 'precedence').toLowerCase();
  if (SUBJECT.test(subject) && (auto.startsWith('auto-') || precedence === 'auto_reply' || precedence === 'bulk' || precedence === 'junk')) return true;
  if (/^(?:auto(?:matic)? ?reply|out of (?:the )?office|vacation|autoreply)\b/i.test(subject.replace(/^(?:re|aw|fw|fwd)\s*:\s*/i, ''))) return true;
  return false;
}
