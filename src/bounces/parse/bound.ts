// Bounded input for every regex of the parser. Mail text is untrusted: before any pattern looks at it,
// each line is cut to MAX_LINE characters and every long run of whitespace becomes one space, so that no
// pattern meets a line longer than MAX_LINE or a whitespace run longer than MAX_WS_RUN. (The patterns
// themselves are linear as well; the bound keeps a future careless one from freezing the parser.)
// The per-message budget (bytes, lines, MIME parts, nesting depth) is checked here too.

/** Characters of one line that patterns may see. */
export const MAX_LINE = 1000;
/** Whitespace runs longer than this (spaces, tabs, NBSP, ideographic spaces, ...; not line breaks) become one space. */
export const MAX_WS_RUN = 16;
/** Characters of one unfolded header value kept. */
export const MAX_HEADER_VALUE = 8192;

// Whitespace except "\n": what \s matches, minus the line break (spelled out: V8 runs a negated class
// [^\S\n] ten times slower). A run shorter than the limit is retried from each of its characters, so the cost
// stays below MAX_WS_RUN steps per character.
const WS = '\\t\\v\\f\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff';
const LONG_WS_RUN = new RegExp(`[${WS}]{${MAX_WS_RUN + 1},}`, 'g');

/** Collapse long whitespace runs of one string (a header value, a line). */
export function collapseWhitespace(s: string): string {
  return s.length > MAX_WS_RUN ? s.replace(LONG_WS_RUN, ' ') : s;
}

/**
 * A text made safe for patterns: line endings as "\n", long whitespace runs collapsed, every line cut to
 * `maxLine` characters. What the layout recognizers, the DSN/ARF field parsers and the phrase tables read.
 * Linear: one pattern pass that cannot backtrack further than MAX_WS_RUN, then one indexOf pass.
 */
export function boundText(text: string, maxLine = MAX_LINE): string {
  const t = collapseWhitespace(text.includes('\r') ? text.replace(/\r\n?/g, '\n') : text);
  if (t.length <= maxLine) return t;
  const pieces: string[] = [];
  let from = 0;
  for (let start = 0; ; ) {
    const nl = t.indexOf('\n', start);
    const end = nl === -1 ? t.length : nl;
    if (end - start > maxLine) {
      pieces.push(t.slice(from, start + maxLine));
      from = end;
    }
    if (nl === -1) break;
    start = nl + 1;
  }
  if (!pieces.length) return t;
  pieces.push(t.slice(from));
  return pieces.join('');
}

/** The hard per-message budget: a message beyond any of these is reported unparseable, and counts nothing. */
export interface ParseBudget {
  /** bytes of the raw message (default 10 MiB) */
  maxBytes: number;
  /** lines of the raw message (default 200,000: a 10 MB base64 attachment has about 135,000) */
  maxLines: number;
  /** MIME parts (default 200) */
  maxParts: number;
  /** multipart nesting depth (default 12) */
  maxDepth: number;
}

export const DEFAULT_BUDGET: ParseBudget = { maxBytes: 10 * 1024 * 1024, maxLines: 200_000, maxParts: 200, maxDepth: 12 };

export type BudgetKind = 'bytes' | 'lines' | 'parts' | 'depth' | 'time';

/** More than maxLines lines (LF, CRLF or a lone CR each end one)? Native byte search; stops once over the budget. */
export function linesOver(buf: Buffer, maxLines: number): boolean {
  let n = 0;
  for (let i = buf.indexOf(10); i !== -1; i = buf.indexOf(10, i + 1)) if (++n > maxLines) return true;
  for (let i = buf.indexOf(13); i !== -1; i = buf.indexOf(13, i + 1)) if (buf[i + 1] !== 10 && ++n > maxLines) return true;
  return false;
}
