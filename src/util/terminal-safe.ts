// Text from outside (bounce reports, visitor fields, addresses) printed to the owner's terminal. Control
// characters could move the cursor, recolour or retitle the terminal, or hide lines (ESC sequences, C1 codes
// such as U+009B CSI, a lone CR); bidi overrides and isolates could reorder what is shown. Each of them is
// printed as a visible escape (\x1b, \u202e) instead. Everything else, Japanese included, passes unchanged.

/** C0 except tab and line feed, DEL, C1, and the bidi controls (ALM, LRM, RLM, LRE..RLO, LRI..PDI), LS, PS. */
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const UNSAFE_WITH_TAB = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

function escape(c: string): string {
  const n = c.charCodeAt(0);
  return n <= 0xff ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16).padStart(4, '0')}`;
}

export interface TerminalSafeOptions {
  /** keep line breaks (CRLF and LF become LF; a lone CR is escaped). Default false: every line break is escaped. */
  newlines?: boolean;
  /** keep tabs (default true) */
  tabs?: boolean;
}

/** `s` with every character that could drive the terminal shown as a visible escape. */
export function terminalSafe(s: string, opts: TerminalSafeOptions = {}): string {
  let t = s;
  if (opts.newlines) t = t.includes('\r') ? t.replace(/\r\n/g, '\n') : t;
  else t = t.replace(/\n/g, '\\n');
  return t.replace(opts.tabs === false ? UNSAFE_WITH_TAB : UNSAFE, escape);
}

/** Characters JSON.stringify leaves as they are but a terminal acts on: DEL, C1, bidi controls, LS, PS. */
const JSON_UNSAFE = /[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * JSON text safe to print on a terminal: JSON.stringify escapes C0 already; this escapes the rest as \uXXXX.
 * The value is unchanged (JSON.parse gives back the same data): outside strings JSON text is plain ASCII.
 */
export function jsonTerminalSafe(json: string): string {
  return json.replace(JSON_UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
