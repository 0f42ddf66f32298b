// Generic recognizer for human-readable bounce layouts (Postfix, qmail, Exim, Sendmail,
// Courier, Exchange, Gmail, ...): recipient lines followed by error lines, plus SMTP
// transcripts (">>> RCPT To:<a>" / "<<< 550 ..."). No per-file knowledge, only line shapes.
import { ADDR, cleanAddress, isSystemAddress } from '../address.js';
import { MAX_LINE } from '../bound.js';
import type { RawRecord } from '../types.js';

export interface TextRecord extends RawRecord { lines: string[]; before: string[] }

const A = ADDR;
// "There was an error delivering your mail to <a@b>.": names the recipient explicitly, even postmaster@.
const DELIVERY_TO_LINE = new RegExp(String.raw`^[^<>@]{0,80}\b(?:deliver(?:ing|y)?|sen[dt]|sending|forward(?:ed|ing)?)\b[^<>@]{0,40}\bto:?\s*<(${A})>[^<>@]{0,60}$`, 'i');
/** Line shapes that introduce a recipient; group 1 = address, group 2 = rest (optional). */
const RECIPIENT_LINES: RegExp[] = [
  new RegExp(String.raw`^\s*<(${A})>\s*:?\s*(.*)$`),                                   // <a@b>: text   (Postfix, qmail)
  new RegExp(String.raw`^\s*"?(${A})"?\s*:?\s*$`),                                     // a@b           (Exim, Gmail)
  new RegExp(String.raw`^\s*(${A})\s*:\s+(.+)$`),                                      // a@b: text
  new RegExp(String.raw`^\s*<?(${A})>?\s*\.\.\.\s*(.*)$`),                             // <a@b>... text (Sendmail)
  new RegExp(String.raw`^\s*<?(${A})>?\s+\((?:generated|ultimately generated|expanded) from.*$`), // Exim aliases
  new RegExp(String.raw`^\s*(?:(?:final|original)[- ]recipient|recipient(?: address)?|rcpt(?: to)?|to|address|addressee|failed recipient|destinataire|宛先|送信先)\s*[:：]\s*(?:rfc822;\s*)?"?<?(${A})>?"?\s*(.*)$`, 'i'),
  new RegExp(String.raw`^\s*"[^"]*"\s*<(${A})>\s*:?\s*(.*)$`),                            // "Name" <a@b>
  new RegExp(String.raw`^\s*[-*•]\s*<?(${A})>?\s*:?\s*(.*)$`),                          // - a@b
  new RegExp(String.raw`^\s*<?(${A})>?\s+(?:on|at)\s+\S+.*$`),                         // a@b on date
  new RegExp(String.raw`^\s*[45]\d\d(?:[ -][245]\.\d{1,3}\.\d{1,3})?\s+<(${A})>\.\.\.\s*(.*)$`), // 550 <a@b>... text (Sendmail)
  new RegExp(String.raw`^<?(${A})>?\s+(\S.*)$`),                                        // a@b text
  new RegExp(String.raw`^[^:<>@]{3,80}:\s*<?(${A})>?\s*$`),                               // Delivery failed ...: a@b
  DELIVERY_TO_LINE,
];

// Sendmail-style ">>> RCPT To:<a>" / "<<< 550 ..." and Postfix-style " In:  RCPT TO:<a>" / " Out: 550 ...".
const TRANSCRIPT_CMD = /^\s*(?:>>>|In:)\s*(RCPT\s*TO|MAIL(?:\s*FROM)?|DATA|EHLO|HELO|QUIT|RSET|XFORWARD|\.)(?![A-Za-z])\s*:?\s*(.*)$/i;
const TRANSCRIPT_REPLY = /^\s*(?:<<<|Out:)\s*(.*)$/;

export interface GenericOptions { exclude: Set<string> }

export function parseTextLayout(errorPart: string, opts: GenericOptions): TextRecord[] {
  const records: TextRecord[] = [];
  const byAddr = new Map<string, TextRecord>();
  let cur: TextRecord | null = null;
  let collecting = false;
  let introOnly = false;
  let lastCmd = '';
  let lastCmdAddr = '';
  let inCommand = false;
  let paragraph: string[] = []; // lines since the last blank line (error text may precede the address)
  let previous: string[] = []; // the paragraphs before it (bounded)
  const lines = errorPart.split('\n');
  const max = Math.min(lines.length, 2000);
  for (let i = 0; i < max; i++) {
    const raw = lines[i] ?? '';
    // Too long for a recipient or error line (the caller bounds lines; a longer one is garbage).
    if (raw.length > MAX_LINE) continue;
    // Quoted bounces ("> " prefixes) are read as if unquoted; ">>>" transcript lines are kept.
    const line = raw.trimEnd().replace(/^>(?!>>)\s?/, '');

    const t = TRANSCRIPT_CMD.exec(line);
    // Continuation lines of a folded transcript command ("In:  MAIL" / "     FROM:<a>").
    if (!t && inCommand && /^\s/.test(raw) && !TRANSCRIPT_REPLY.test(line)) continue;
    inCommand = false;
    if (t) {
      inCommand = true;
      lastCmd = (t[1] ?? '').toUpperCase().replace(/\s.*$/, '').replace(/^\.$/, 'DATA');
      lastCmdAddr = lastCmd === 'RCPT' ? cleanAddress(t[2] ?? '') : '';
      if (lastCmdAddr && !byAddr.has(lastCmdAddr) && !opts.exclude.has(lastCmdAddr)) {
        cur = newRecord(lastCmdAddr); records.push(cur); byAddr.set(lastCmdAddr, cur);
      }
      const target = (lastCmdAddr && byAddr.get(lastCmdAddr)) || cur;
      if (target) target.command = lastCmd;
      collecting = false;
      continue;
    }
    const r = TRANSCRIPT_REPLY.exec(line);
    if (r) {
      const target = (lastCmdAddr && byAddr.get(lastCmdAddr)) || cur;
      if (target) { target.lines.push((r[1] ?? '').trim()); if (lastCmd) target.command = lastCmd; }
      continue;
    }

    let matched: RegExpExecArray | null = null;
    let explicit = false;
    for (const re of RECIPIENT_LINES) { matched = re.exec(line); if (matched) { explicit = re === DELIVERY_TO_LINE; break; } }
    if (matched) {
      const addr = cleanAddress(matched[1] ?? '');
      if (addr && !opts.exclude.has(addr) && (explicit || !isSystemAddress(addr))) {
        const existing = byAddr.get(addr);
        cur = existing ?? newRecord(addr);
        if (!existing) { cur.before = (paragraph.length ? paragraph : previous).slice(-6); records.push(cur); byAddr.set(addr, cur); }
        // Error text after the address, or else before it ("Mailbox full: a@b").
        const addrAt = line.toLowerCase().indexOf(addr);
        // A label before the address keeps its colon ("Unknown user: a@b").
        const pre = addrAt > 0 ? line.slice(0, addrAt).replace(/[\s<>"']+$/, '').replace(/^(.*?)(:?)[\s<>"':]*$/, '$1$2').trim() : '';
        const after = (matched[2] ?? '').trim();
        const rest = after || (/[A-Za-z]{3}/.test(pre) && !/^(?:to|rcpt|recipient|address)\b/i.test(pre) ? pre : '');
        if (rest) cur.lines.push(rest);
        // Text before the address is only an introduction: the error may follow after a blank line.
        introOnly = !after;
        collecting = true;
        continue;
      }
    }
    if (line.trim() === '') {
      // A blank line ends the error text of a recipient, unless none was collected yet.
      // A trailing ":" ("For the following reason:") announces the next paragraph.
      if (cur && cur.lines.length > 0 && !introOnly && !(cur.lines[cur.lines.length - 1] ?? '').endsWith(':')) collecting = false;
      introOnly = false;
      if (paragraph.length) previous = [...previous, ...paragraph].slice(-6);
      paragraph = [];
      continue;
    }
    if (/^\s*[-=_*]{4,}/.test(line)) { paragraph = []; previous = []; }
    else paragraph.push(line.trim());
    if (cur && collecting) { cur.lines.push(line.trim()); introOnly = false; }
  }
  for (const rec of records) {
    const lines = rec.lines.length ? rec.lines : rec.before;
    rec.diagnostic = lines.join(' ').replace(/\s+/g, ' ').trim();
  }
  return records;
}

function newRecord(addr: string): TextRecord {
  return {
    recipient: addr, action: '', status: '', replyCode: '', diagnostic: '', diagnosticType: '', command: '', reason: '',
    feedbackType: '', lines: [], before: [],
  };
}

/**
 * Lines of the error part that look like an error (SMTP codes, "error", "said:"), used when a
 * recipient line was found but no text followed it (the explanation sits elsewhere).
 */
export function errorLines(errorPart: string): string {
  const out: string[] = [];
  for (const l of errorPart.split('\n').slice(0, 400)) {
    const t = l.trim();
    if (!t || t.length > 600) continue;
    if (/\b[245]\d\d[ -]|\b[245]\.\d{1,3}\.\d{1,3}\b|said:|error|reason:|^pipe to \||refused|rejected|unknown|not exist|full|quota|denied|timed? ?out|expired|unable|failed|blocked|spam/i.test(t)) out.push(t);
    if (out.length >= 20) break;
  }
  return out.join(' ');
}
