// Light, bounded MIME walker. Input is a binary (latin1) string with LF line endings.
// It only collects what bounce parsing needs: human-readable texts, report parts and the
// embedded original message. Never recurses past maxDepth, never decodes more than
// maxPartBytes of a part, never decompresses anything.
import { decodeText } from './charset.js';
import { DEFAULT_BUDGET } from './bound.js';
import { findHeaderEnd, getHeader, parseContentType, parseHeaderBlock, type HeaderList } from './headers.js';

export interface MimeLimits {
  maxPartBytes: number;
  /** multipart nesting deeper than this is over the budget */
  maxDepth: number;
  /** more MIME parts than this are over the budget */
  maxParts: number;
}

export const DEFAULT_LIMITS: MimeLimits = { maxPartBytes: 256 * 1024, maxDepth: DEFAULT_BUDGET.maxDepth, maxParts: DEFAULT_BUDGET.maxParts };

export interface WalkResult {
  headers: HeaderList;
  /** decoded text/plain parts (or the single body of a non-MIME message) */
  texts: string[];
  /** decoded text/html parts, tags stripped (used when no text/plain exists) */
  htmlTexts: string[];
  deliveryStatus: string[];
  feedbackReport: string[];
  /** binary string of the first embedded message or header block, bounded */
  original: string | null;
  contentType: string;
  partTypes: string[];
  notes: string[];
  /** the walk stopped because the message has more parts or deeper nesting than the limits allow */
  overBudget: 'parts' | 'depth' | null;
}

export function decodeTransfer(body: string, cte: string, max: number): string {
  const enc = cte.trim().toLowerCase();
  if (enc === 'base64') {
    const chunk = body.length > max * 1.4 ? body.slice(0, Math.floor(max * 1.4)) : body;
    return Buffer.from(chunk, 'base64').toString('latin1');
  }
  const chunk = body.length > max ? body.slice(0, max) : body;
  if (enc === 'quoted-printable') {
    return chunk.replace(/=[ \t]*\n/g, '').replace(/=([0-9A-Fa-f]{2})/g, (_s, h: string) => String.fromCharCode(parseInt(h, 16)));
  }
  return chunk;
}

/**
 * Text of an HTML part: script/style elements dropped, line-breaking tags as "\n", other tags as " ".
 * One pass with indexOf (no backtracking pattern): an unclosed "<" or "<script" costs nothing extra.
 */
export function stripHtml(html: string): string {
  const lower = html.toLowerCase();
  const noClose = new Set<string>();
  let out = '';
  let i = 0;
  let gt = -1; // the first ">" after the current "<"; shared by every "<" before it
  while (i < html.length) {
    const lt = html.indexOf('<', i);
    if (lt === -1) { out += html.slice(i); break; }
    out += html.slice(i, lt);
    if (gt <= lt) gt = html.indexOf('>', lt + 1);
    if (gt === -1) { out += html.slice(lt); break; } // no tag is closed any more: the rest is text
    if (gt - lt > 2001) { out += '<'; i = lt + 1; continue; } // not a tag (as before: at most 2000 characters inside)
    const name = /^\/?[a-z0-9]*/.exec(lower.slice(lt + 1, lt + 12))?.[0] ?? '';
    if ((name === 'script' || name === 'style') && !noClose.has(name)) {
      const end = lower.indexOf(`</${name}`, gt + 1);
      const endGt = end === -1 ? -1 : html.indexOf('>', end);
      if (endGt !== -1) { out += ' '; i = endGt + 1; continue; }
      noClose.add(name); // no closing tag anywhere after: never search again
    }
    out += name === 'br' || /^\/(?:p|div|tr|li|h\d)$/.test(name) ? '\n' : ' ';
    i = gt + 1;
  }
  return out
    .replace(/&nbsp;/gi, ' ').replace(/&lt;/gi, '<').replace(/&gt;/gi, '>').replace(/&quot;/gi, '"')
    .replace(/&#39;/g, "'").replace(/&amp;/gi, '&')
    .replace(/[ \t]+/g, ' ');
}

/** Split a multipart body into its parts (binary strings). Returns null when no delimiter is found. */
export function splitMultipart(body: string, boundary: string, maxParts: number): string[] | null {
  const delim = '--' + boundary;
  const parts: string[] = [];
  let pos = 0;
  let start = -1;
  for (;;) {
    let idx = body.indexOf(delim, pos);
    // The delimiter must start a line.
    while (idx > 0 && body.charCodeAt(idx - 1) !== 10) idx = body.indexOf(delim, idx + 1);
    if (idx === -1) break;
    if (start !== -1) {
      const end = idx > 0 ? idx - 1 : idx; // drop the line break before the delimiter
      parts.push(body.slice(start, Math.max(start, end)));
      if (parts.length >= maxParts) return parts;
    }
    const close = body.startsWith('--', idx + delim.length);
    const eol = body.indexOf('\n', idx);
    if (close) return parts;
    if (eol === -1) return parts.length ? parts : null;
    start = eol + 1;
    pos = start;
  }
  if (start === -1) return null;
  // Truncated message: the last part runs to the end.
  parts.push(body.slice(start));
  return parts;
}

export function walkMessage(s: string, limits: MimeLimits = DEFAULT_LIMITS): WalkResult {
  const [hEnd, bStart] = findHeaderEnd(s, 0);
  const headers = parseHeaderBlock(s.slice(0, hEnd));
  const res: WalkResult = {
    headers, texts: [], htmlTexts: [], deliveryStatus: [], feedbackReport: [], original: null,
    contentType: '', partTypes: [], notes: [], overBudget: null,
  };
  const ct = parseContentType(getHeader(headers, 'content-type') || 'text/plain');
  res.contentType = ct.type;
  const body = s.slice(bStart);
  // MIME headers lost on the way (some Sendmail reports): the body is still delimited by a boundary.
  const sniffed = getHeader(headers, 'content-type') ? '' : sniffBoundary(body);
  if (sniffed) res.notes.push('multipart boundary found without Content-Type');
  walkEntity(headers, body, 0, res, limits, sniffed);
  return res;
}

const BOUNDARY_LINE = /^--([A-Za-z0-9'()+_,.\/:=?-]{8,70})[ \t]*$/m;

/**
 * A boundary delimiting a body that has no Content-Type: "--b" among the first lines (only a
 * short preamble before it, so a quoted original's own boundaries further down do not count)
 * and a closing "--b--".
 */
function sniffBoundary(body: string): string {
  const b = BOUNDARY_LINE.exec(body.slice(0, 300))?.[1];
  return b && !b.endsWith('--') && body.includes(`\n--${b}--`) ? b : '';
}

function walkEntity(headers: HeaderList, body: string, depth: number, res: WalkResult, limits: MimeLimits, sniffed = ''): void {
  if (res.overBudget) return;
  if (res.partTypes.length >= limits.maxParts) { res.overBudget = 'parts'; res.notes.push('too many parts'); return; }
  const ctRaw = getHeader(headers, 'content-type');
  const ct = parseContentType(ctRaw || 'text/plain');
  const type = ct.type || 'text/plain';
  const cte = getHeader(headers, 'content-transfer-encoding');
  const charset = ct.params['charset'];
  res.partTypes.push(type);

  if (type.startsWith('multipart/') || sniffed) {
    if (depth >= limits.maxDepth) { res.overBudget = 'depth'; res.notes.push('multipart nesting too deep'); return; }
    const boundary = sniffed || ct.params['boundary'];
    // One more than allowed, so that a message with too many parts is seen as such.
    const parts = boundary ? splitMultipart(body, boundary, limits.maxParts + 1) : null;
    if (!parts) {
      // Missing or wrong boundary: treat the body as plain text.
      res.notes.push('multipart without usable boundary');
      res.texts.push(decodeText(decodeTransfer(body, cte, limits.maxPartBytes), charset));
      return;
    }
    for (const p of parts) {
      if (res.overBudget) return;
      const [hEnd, bStart] = findHeaderEnd(p, 0);
      const ph = parseHeaderBlock(p.slice(0, hEnd));
      walkEntity(ph, p.slice(bStart), depth + 1, res, limits);
    }
    return;
  }

  switch (type) {
    case 'message/delivery-status':
    case 'message/global-delivery-status':
      res.deliveryStatus.push(decodeText(decodeTransfer(body, cte, limits.maxPartBytes), 'utf-8'));
      return;
    case 'message/feedback-report':
      res.feedbackReport.push(decodeText(decodeTransfer(body, cte, limits.maxPartBytes), 'utf-8'));
      return;
    case 'message/rfc822':
    case 'message/global':
    case 'message/rfc822-headers':
    case 'text/rfc822-headers':
    case 'message/partial':
    case 'message/global-headers':
      if (res.original === null) res.original = decodeTransfer(body, cte, limits.maxPartBytes);
      return;
    case 'text/plain':
    case 'text/enriched':
    case 'text':
      res.texts.push(decodeText(decodeTransfer(body, cte, limits.maxPartBytes), charset));
      return;
    case 'text/html':
      res.htmlTexts.push(stripHtml(decodeText(decodeTransfer(body, cte, limits.maxPartBytes), charset)));
      return;
    default:
      // Attachments (application/zip, gzip, images, ...) are never decoded.
      return;
  }
}
