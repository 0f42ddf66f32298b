// Bounce parser entry point: raw message -> normalized records -> classify().
import { allAddresses, cleanAddress, firstAddress } from './address.js';
import { arfRecords, parseFeedbackReport } from './arf.js';
import { boundText, DEFAULT_BUDGET, linesOver, type BudgetKind, type ParseBudget } from './bound.js';
import { classify, isHard } from './classify.js';
import { parseDeliveryStatus } from './dsn.js';
import { decodeHeaderValue, getHeader } from './headers.js';
import { errorLines, parseTextLayout, type TextRecord } from './lhost/generic.js';
import { LAYOUTS } from './lhost/index.js';
import { applyMtaRules } from './lhost/rules.js';
import { DEFAULT_LIMITS, walkMessage, type WalkResult } from './mime.js';
import { parseOriginal } from './original.js';
import { matches } from './reasons.js';
import { listAddresses, positionalAddresses, recipientFromOriginal, screenName } from './recipient.js';
import { providerReason, remoteHostReason, remoteHosts } from './rhost.js';
import { findReplyCode, findStatus, internalStatus, isValidStatus, unwrapQuotedReply } from './status.js';
import { findCommand, looksLikeBounce, splitOriginal } from './text.js';
import type { BounceReason, BouncedRecipient, OriginalMessage, ParsedBounce, ParseOptions, RawRecord } from './types.js';
import { isAutoReply, isChallenge } from './vacation.js';

export type { BounceReason, BouncedRecipient, ParsedBounce, ParseOptions, OriginalMessage, RawRecord } from './types.js';
export { classify, isHard } from './classify.js';
export { splitMbox, readMbox, readMaildir, readEml, readMessages } from './sources.js';
export { DEFAULT_BUDGET, type ParseBudget, type BudgetKind } from './bound.js';

export const DEFAULT_MAX_BYTES = DEFAULT_BUDGET.maxBytes;
const MAX_DIAGNOSTIC = 1000;
/** Characters of a record's raw diagnostic kept before it is normalised (whitespace runs are already collapsed). */
const MAX_RAW_DIAGNOSTIC = 8 * MAX_DIAGNOSTIC;
/** Recipients reported per message at most (one Formwarden mail has one; a mailing list's bounce a few hundred). */
const MAX_RECORDS = 500;
const MAX_TEXT = 512 * 1024;
const TEMPORARY = /temporar|retry timeout exceeded|will be retried|try again later|delay reason|deferred/i;
const DELAY_CAUSES = new Set<BounceReason>(['networkerror', 'systemerror', 'onhold', 'undefined']);
const TEXT_ACTION = /\baction:\s*(failed|delayed)\b/i;
const NOTICE_TITLE = /^\*\* [^*\n]{3,60} \*\*[ \t]*\n\s*\n?((?:[^\n]+\n?){1,6})/m;
const SMTP_ERROR = /\b[45]\d\d[ -]|\b[45]\.\d{1,3}\.\d{1,3}\b/;
const HAS_CODE = /\b[245]\d\d\b|\b[245]\.\d{1,3}\.\d{1,3}\b/;

/** Everything a layout recognizer may look at. */
export interface BounceContext {
  walk: WalkResult;
  from: string;
  subject: string;
  /** the human-readable text, bounded for patterns (lines cut, whitespace runs collapsed) */
  errorPart: string;
  /** the same text unbounded (at most 512 KB), only for readers that use no pattern (JSON.parse) */
  text: string;
  original: OriginalMessage | null;
  exclude: Set<string>;
}

function emptyResult(why: string): ParsedBounce {
  return { kind: 'unparseable', bounces: [], original: null, bounce: { from: '', to: [], subject: '', date: null }, why };
}

/** The result for a message beyond the parse budget: unparseable, nothing read from it counts. */
export function overBudget(kind: BudgetKind, detail: string): ParsedBounce {
  return { ...emptyResult(`over the parse budget: ${detail}`), overBudget: kind };
}

/** The budget of one parse: the defaults, overridden by the options that are set. */
export function budgetOf(opts: ParseOptions): ParseBudget {
  return {
    maxBytes: opts.maxBytes ?? DEFAULT_BUDGET.maxBytes,
    maxLines: opts.maxLines ?? DEFAULT_BUDGET.maxLines,
    maxParts: opts.maxParts ?? DEFAULT_BUDGET.maxParts,
    maxDepth: opts.maxDepth ?? DEFAULT_BUDGET.maxDepth,
  };
}

/**
 * Parse one raw message. Never throws. Bounded: a message beyond the budget (bytes, lines, MIME parts,
 * nesting depth; see ParseOptions) is reported unparseable, and every pattern reads bounded lines.
 * Synchronous: a server parses through parse/pool.ts (a worker thread with a time budget) instead.
 */
export function parseBounce(raw: Buffer | string, opts: ParseOptions = {}): ParsedBounce {
  try {
    return parseInner(raw, opts);
  } catch (e) {
    return emptyResult(`internal error: ${(e as Error)?.message ?? String(e)}`);
  }
}

function toBinary(buf: Buffer): string {
  const s = buf.toString('latin1');
  return s.includes('\r') ? s.replace(/\r\n?/g, '\n') : s;
}

function isGarbage(s: string): boolean {
  const head = s.slice(0, 4096);
  if (!head) return true;
  const firstLine = head.slice(0, head.indexOf('\n') === -1 ? head.length : head.indexOf('\n'));
  if (/^[A-Za-z0-9-]+:/.test(firstLine) || firstLine.startsWith('From ')) return false;
  const ctrl = head.replace(/[\x20-\x7e\n\t\x80-\xff]/g, '').length;
  return ctrl > head.length * 0.05 || !/^[\x20-\x7e]/.test(firstLine);
}

const FORWARDED_REPORT = /^[ \t]*content-type:\s*multipart\/report;[\s\S]{0,200}?report-type="?delivery-status/im;

function parseInner(raw: Buffer | string, opts: ParseOptions, depth = 0): ParsedBounce {
  const budget = budgetOf(opts);
  const buf = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw;
  if (buf.length > budget.maxBytes) return overBudget('bytes', `${buf.length} bytes, more than ${budget.maxBytes}`);
  if (linesOver(buf, budget.maxLines)) return overBudget('lines', `more than ${budget.maxLines} lines`);
  let s = toBinary(buf);
  if (s.startsWith('From ')) s = s.slice(s.indexOf('\n') + 1 || s.length);
  if (isGarbage(s)) return emptyResult('no RFC 5322 header block (binary or empty input)');

  const walk = walkMessage(s, { maxPartBytes: opts.maxPartBytes ?? DEFAULT_LIMITS.maxPartBytes, maxParts: budget.maxParts, maxDepth: budget.maxDepth });
  if (walk.overBudget === 'parts') return overBudget('parts', `more than ${budget.maxParts} MIME parts`);
  if (walk.overBudget === 'depth') return overBudget('depth', `multipart nesting deeper than ${budget.maxDepth}`);
  // A delivery report forwarded as an attachment (relayed to a notification address): read the report itself.
  if (depth === 0 && walk.original && !walk.deliveryStatus.length && !walk.feedbackReport.length) {
    const headEnd = walk.original.indexOf('\n\n');
    if (FORWARDED_REPORT.test(walk.original.slice(0, headEnd === -1 ? 8192 : Math.min(headEnd, 8192)))) {
      const inner = parseInner(walk.original, opts, 1);
      if (inner.bounces.length && inner.kind === 'dsn') return inner;
    }
  }
  const h = walk.headers;
  const fromHeader = decodeHeaderValue(getHeader(h, 'from'));
  const subject = decodeHeaderValue(getHeader(h, 'subject')).slice(0, 1000);
  const bounce = {
    from: firstAddress(fromHeader),
    to: allAddresses(getHeader(h, 'to')).slice(0, 50),
    subject,
    date: getHeader(h, 'date').slice(0, 200) || null,
  };
  const texts = walk.texts.length ? walk.texts : walk.htmlTexts;
  let mainText = texts.join('\n');
  if (mainText.length > MAX_TEXT) mainText = mainText.slice(0, MAX_TEXT);
  const fullText = mainText.replace(/\r\n?/g, '\n');
  // Every pattern below reads bounded lines.
  mainText = boundText(fullText);
  const [errorPart, inlineOriginal] = splitOriginal(mainText);
  const original = parseOriginal(walk.original ?? '') ?? parseOriginal(inlineOriginal);
  const messageId = original?.messageId ?? '';

  const exclude = new Set<string>(bounce.to);
  if (original?.from) exclude.add(original.from);
  if (original?.returnPath) exclude.add(original.returnPath);
  if (bounce.from) exclude.add(bounce.from);
  // A mailing list's own addresses (List-Post, its Sender) are never the failed recipient.
  for (const a of listAddresses(original)) exclude.add(a);
  const ctx: BounceContext = { walk, from: fromHeader, subject, errorPart, text: fullText, original, exclude };

  let kind: ParsedBounce['kind'] = 'non-standard';
  let records: RawRecord[] = [];
  let why: string | undefined;

  if (walk.feedbackReport.length) {
    kind = 'arf';
    const report = parseFeedbackReport(boundText(walk.feedbackReport[0] ?? ''));
    const fallback = original?.to ? [original.to] : [];
    records = arfRecords(report, fallback, firstParagraph(errorPart));
  } else if (walk.deliveryStatus.length) {
    records = fromDsn(walk, ctx);
    if (records.length) kind = 'dsn';
  }
  if (!records.length && kind !== 'arf' && (getHeader(h, 'x-apple-unsubscribe') || /^\s*unsubscribe\s*$/i.test(subject)) && /sent this (?:e-?mail|message) to unsubscribe/i.test(errorPart)) {
    // List-unsubscribe requests sent by a mail client (Apple Mail) are opt-out feedback.
    kind = 'arf';
    records = [{ ...blank(), recipient: bounce.from, reason: 'feedback', feedbackType: 'opt-out', diagnostic: firstParagraph(errorPart) }];
  }
  if (!records.length && kind !== 'arf' && isChallenge(subject, errorPart)) {
    // A challenge/response or whitelist request: the mail waits for the sender to act; nothing failed.
    return { kind: 'challenge', bounces: [], original, bounce, why: 'challenge/response or whitelist request: not a delivery failure' };
  }
  if (!records.length && kind !== 'arf' && isAutoReply(h, subject)) {
    kind = 'vacation';
    const who = bounce.from || cleanAddress(getHeader(h, 'reply-to'));
    records = [{ ...blank(), recipient: who, reason: 'vacation', diagnostic: firstParagraph(errorPart) }];
  }
  if (!records.length) {
    for (const layout of LAYOUTS) {
      if (!layout.match(ctx)) continue;
      records = layout.parse(ctx);
      if (records.length) {
        kind = records.every((r) => r.reason === 'feedback') ? 'arf' : layout.kind ?? 'non-standard';
        break;
      }
    }
  }
  if (!records.length) records = fromText(ctx);
  if (!records.length) {
    // Exim, Gmail and others name the failed recipients in a header.
    const failed = allAddresses(getHeader(h, 'x-failed-recipients'));
    // Gmail's "** Message not delivered **" notices explain the failure in the paragraph below the title.
    const explained = NOTICE_TITLE.exec(errorPart)?.[1]?.replace(/\s+/g, ' ') ?? '';
    const diagnostic = [explained, errorLines(errorPart)].filter(Boolean).join(' ');
    records = failed.map((recipient) => ({ ...blank(), recipient, diagnostic }));
  }
  if (!records.length && looksLikeBounce(fromHeader, subject, errorPart)) {
    // A message sent to oneself bounces to the failed address: accept it when an SMTP error follows it.
    records = parseTextLayout(errorPart, { exclude: new Set() }).filter((r) => r.lines.length && SMTP_ERROR.test(r.diagnostic));
  }
  if (!records.length) {
    if (!looksLikeBounce(fromHeader, subject, errorPart)) {
      return { kind: 'not-a-bounce', bounces: [], original, bounce, why: 'no delivery report, no recipient/error layout, no bounce sender or subject' };
    }
    // The returned message's To only as a last resort, and a bare screen name only when it names one of them.
    const rcpt = recipientFromOriginal(errorPart, original, exclude) || (screenName(errorPart) ? '' : positionalAddresses(errorPart, exclude)[0] ?? '');
    const diag = errorLines(errorPart);
    records = [{ ...blank(), recipient: rcpt, diagnostic: diag }];
    why = rcpt ? 'bounce layout not recognised; recipient taken from the returned message' : 'bounce layout not recognised; no recipient found';
  }

  if (records.length > MAX_RECORDS) records = records.slice(0, MAX_RECORDS);
  for (const r of records) if (r.diagnostic.length > MAX_RAW_DIAGNOSTIC) r.diagnostic = r.diagnostic.slice(0, MAX_RAW_DIAGNOSTIC);
  applyMtaRules(ctx, records);
  // McAfee Email Gateway: its "user unknown" wordings mean a missing mailbox whatever the command.
  if (getHeader(h, 'x-nai-header')) for (const r of records) if (!r.reason && matches('userunknown', r.diagnostic.toLowerCase())) r.reason = 'userunknown';
  const hosts = remoteHosts(errorPart);
  const bounces = records.map((r) => finish(r, messageId, hosts));
  if (bounces.some((b) => b.reason === 'undefined') && !why) why = 'no status code or known diagnostic phrase';
  const out: ParsedBounce = { kind, bounces, original, bounce };
  if (why && bounces.some((b) => b.reason === 'undefined' || !b.recipient)) out.why = why;
  return out;
}

function blank(): RawRecord {
  return { recipient: '', action: '', status: '', replyCode: '', diagnostic: '', diagnosticType: '', command: '', reason: '', feedbackType: '' };
}

function firstParagraph(text: string): string {
  return text.trim().split(/\n\s*\n/)[0]?.replace(/\s+/g, ' ').slice(0, MAX_DIAGNOSTIC) ?? '';
}

/** Records from message/delivery-status parts, enriched with the human-readable text. */
function fromDsn(walk: WalkResult, ctx: BounceContext): RawRecord[] {
  const out: RawRecord[] = [];
  for (const part of walk.deliveryStatus) {
    out.push(...parseDeliveryStatus(boundText(part), MAX_RECORDS - out.length).records);
    if (out.length >= MAX_RECORDS) break;
  }
  if (!out.length) return out;
  const textRecs = parseTextLayout(ctx.errorPart, { exclude: new Set() });
  const byAddr = new Map(textRecs.map((r) => [r.recipient, r]));
  out.forEach((r, i) => {
    // Final-Recipient missing or unusable: the text part, the diagnostic or the returned message names it.
    if (!r.recipient) r.recipient = textRecs[i]?.recipient ?? '';
  });
  for (const r of out) {
    const t = byAddr.get(r.recipient) ?? (out.length === 1 && textRecs.length === 1 ? textRecs[0] : undefined);
    if (t) {
      // Postfix-style text keeps the "(in reply to ... command)" that Diagnostic-Code drops.
      if (!r.diagnostic || (/in reply to .{1,20} command/i.test(t.diagnostic) && !/in reply to/i.test(r.diagnostic))) r.diagnostic = t.diagnostic;
      if (!r.command) r.command = t.command || findCommand(t.diagnostic);
    }
    if (!r.diagnostic && out.length === 1) r.diagnostic = errorLines(ctx.errorPart);
    if (t?.sentTo && !r.sentTo) r.sentTo = t.sentTo;
    if (!r.recipient) r.recipient = positionalAddresses(r.diagnostic, ctx.exclude)[0] ?? '';
    if (!r.recipient && out.length === 1) r.recipient = recipientFromOriginal(ctx.errorPart, ctx.original, ctx.exclude);
  }
  return out;
}

/** Records from a plain-text layout (generic recognizer). */
function fromText(ctx: BounceContext): RawRecord[] {
  const recs: TextRecord[] = parseTextLayout(ctx.errorPart, { exclude: ctx.exclude });
  if (!recs.length) return [];
  const shared = errorLines(ctx.errorPart);
  for (const r of recs) {
    // The SMTP reply often sits in a later paragraph (Gmail: "The error that the other server returned was:").
    if (!r.diagnostic) r.diagnostic = shared;
    else if (!HAS_CODE.test(r.diagnostic) && HAS_CODE.test(shared)) r.diagnostic += ' ' + shared;
    // DSN fields pasted into the text ("Action: delayed") still say whether the failure is final.
    if (!r.action) r.action = TEXT_ACTION.exec(r.diagnostic)?.[1]?.toLowerCase() ?? '';
  }
  return recs;
}

/** Fill status, reply code and command; classify; produce the public record. */
function finish(r: RawRecord, originalMessageId: string, textHosts: string[]): BouncedRecipient {
  // Collapse whitespace and multi-line reply prefixes ("550-5.2.1 ...550-5.2.1 ...").
  let diagnostic = r.diagnostic.replace(/\s+/g, ' ').trim().replace(/(?<=\S) [245]\d\d-(?:[245]\.\d{1,3}\.\d{1,3} )?/g, ' ');
  if (diagnostic.length > MAX_DIAGNOSTIC) diagnostic = diagnostic.slice(0, MAX_DIAGNOSTIC);
  // Classification reads the quoted remote reply when a generic label wraps it; the output keeps both.
  const quoted = unwrapQuotedReply(diagnostic);
  const rec: RawRecord = quoted ? { ...r, diagnostic: quoted, status: '' } : { ...r, diagnostic };
  if (!rec.replyCode) rec.replyCode = findReplyCode(rec.diagnostic);
  const found = findStatus(rec.diagnostic, rec.replyCode ? rec.replyCode[0] : undefined);
  // The code quoted by the remote server is more specific than the reporting MTA's Status field.
  if (!rec.status || !isValidStatus(rec.status)) rec.status = found;
  else if (found && found !== rec.status && found[0] === rec.status[0] && !/^[45]\.0\.0$/.test(found)) rec.status = found;
  if (!rec.command) rec.command = findCommand(rec.diagnostic);
  if (!rec.reason) rec.reason = providerReason(rec.diagnostic);
  let reason: BounceReason | '' = '';
  if (!rec.reason || rec.reason === 'userunknown' || rec.reason === 'hostunknown' || rec.reason === 'expired') {
    // A recognised provider's own rules decide first (Sisimai's Rhost classes).
    const first = (h: string | undefined) => (h ?? '').trim().toLowerCase().split(/[\s\[;]/)[0] ?? '';
    const hosts = [first(rec.remoteHost), ...remoteHosts(rec.diagnostic), ...textHosts, first(rec.localHost)];
    reason = remoteHostReason(rec.recipient, hosts, { diagnostic: rec.diagnostic, status: rec.status, replyCode: rec.replyCode, command: rec.command });
  }
  if (!reason) reason = classify(rec);
  // A delayed delivery whose cause is only guessed from the text (no specific status code) is expiring.
  if (rec.action === 'delayed' && DELAY_CAUSES.has(reason) && (!rec.status || /^[45]\.0\.0$/.test(rec.status))) reason = 'expired';
  let status = rec.status;
  if (reason === 'feedback' || reason === 'vacation') status = '';
  else if (!status) {
    const temporary = rec.temporary ?? (rec.replyCode.startsWith('4') || status.startsWith('4') || rec.action === 'delayed' || TEMPORARY.test(rec.diagnostic));
    status = internalStatus(reason, temporary) || status;
  }
  return {
    recipient: rec.recipient,
    sentTo: rec.sentTo || rec.recipient,
    finalRecipient: rec.finalRecipient || rec.recipient,
    reason,
    status,
    replyCode: rec.replyCode,
    hard: isHard(reason, status),
    action: rec.action,
    diagnostic,
    feedbackType: rec.feedbackType,
    originalMessageId,
  };
}
