// RFC 3834 automatic replies (vacation / out-of-office): not bounces, reason "vacation".
import { getHeader, type HeaderList } from './headers.js';

// CJK words stand alone (no \b: a CJK character is not a word character, so \b never matches beside one).
const SUBJECT = /\b(?:out of (?:the )?office|auto(?:matic)?[- ]?(?:reply|response|antwort)|autoreply|vacation|abwesenheit|absence|away from (?:my|the) (?:desk|office)|r[ée]ponse automatique|respuesta autom[áa]tica|risposta automatica)\b|不在|自動応答|自動返信|自動送信|休暇|留守/i;

/** Is this an automatic reply (and not a delivery failure)? */
const FAILURE_SUBJECT = /undeliver|delivery (?:status|fail|notification|report|problem)|returned mail|failure notice|mail delivery|non[- ]?delivery|could not be delivered|delivery has failed|mail system error/i;
const SYSTEM_SENDER = /mailer-daemon|postmaster|mail-daemon|maildaemon/i;

export function isAutoReply(h: HeaderList, subject: string): boolean {
  const auto = getHeader(h, 'auto-submitted').toLowerCase();
  const from = getHeader(h, 'from');
  if (FAILURE_SUBJECT.test(subject)) return false;
  // RFC 3834: "auto-replied" marks a reply, never a delivery report (those are "auto-generated").
  if (auto.startsWith('auto-replied') && (!SYSTEM_SENDER.test(from) || SUBJECT.test(subject))) return true;
  if (SYSTEM_SENDER.test(from)) return false;
  if (getHeader(h, 'x-autoreply') || getHeader(h, 'x-autorespond') || getHeader(h, 'x-vacation')) return true;
  const precedence = getHeader(h, 'precedence').toLowerCase();
  if (SUBJECT.test(subject) && (auto.startsWith('auto-') || precedence === 'auto_reply' || precedence === 'bulk' || precedence === 'junk')) return true;
  const bare = subject.replace(/^(?:re|aw|fw|fwd)\s*:\s*/i, '');
  if (/^(?:auto(?:matic)? ?reply|out of (?:the )?office|vacation|autoreply)\b/i.test(bare)) return true;
  // Japanese notices: "【自動返信】...", "[自動応答] ...", "不在通知", "休暇のお知らせ".
  if (/^\s*[【\[(（]?\s*(?:自動返信|自動応答|自動送信|不在|休暇|留守)/.test(bare)) return true;
  return false;
}

/**
 * Challenge/response and whitelist requests ("please confirm you are human", "your message is held until
 * you verify", "I only accept mail from senders on my whitelist"): an automatic answer asking the sender
 * to act, not a delivery failure.
 */
const CHALLENGE = [
  /challenge[- ]?(?:\/|and )?response/i,
  /(?:confirm|verify|prove) (?:that )?you(?: are|'re)(?: a)? (?:human|real person|not a (?:robot|bot|spammer))/i,
  /(?:is|are|has been|have been|will be|was) (?:being )?(?:held|quarantined|kept|waiting)\b[^.\n]{0,60}\b(?:until|pending|unless) (?:you |the sender |it is )?(?:verif|confirm|respond|repl|approv|click)/i,
  /(?:awaiting|pending|requires?) (?:your |sender )?(?:verification|confirmation|approval)\b/i,
  /only (?:accept|receive|allow|read) (?:e-?mails?|mail|messages) from (?:senders|people|addresses|contacts)[^.\n]{0,40}(?:white ?list|allow ?list|approved|known|address book|contacts)/i,
  /(?:add(?:ed)?|put) (?:you |your (?:address|e-?mail) )?(?:to|on) (?:my|the|their) (?:white ?list|allow ?list|approved senders?(?: list)?)/i,
  /white ?list (?:request|confirmation|verification)/i,
  /ホワイトリスト|送信者(?:の)?(?:確認|認証)|認証(?:が|を)?(?:必要|お願い)/,
];
/** Words of a real delivery failure: such a message is not a challenge even when it mentions verification. */
const FAILED = /(?:^|[\s:(])[45][0-5]\d[ -](?:[245]\.\d|[A-Za-z<])|user unknown|mailbox (?:is )?full|does not exist|could not be delivered|undeliverable/im;

export function isChallenge(subject: string, text: string): boolean {
  const t = `${subject}\n${text.slice(0, 8192)}`;
  return CHALLENGE.some((re) => re.test(t)) && !FAILED.test(t);
}
