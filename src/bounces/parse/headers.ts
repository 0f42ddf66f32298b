// Header block parsing: split header/body, unfold, RFC 2047 encoded words.
import { collapseWhitespace, MAX_HEADER_VALUE } from './bound.js';
import { decodeText } from './charset.js';

export interface HeaderList {
  /** [lower-cased name, unfolded raw value] in order of appearance */
  list: Array<[string, string]>;
}

const MAX_HEADER_BYTES = 256 * 1024;
const MAX_HEADERS = 2000;

/**
 * Find the end of the header block in a binary string starting at `start`.
 * Returns [headerEnd, bodyStart]. Accepts LF, CRLF and CR-only line endings.
 */
export function findHeaderEnd(s: string, start = 0): [number, number] {
  const limit = Math.min(s.length, start + MAX_HEADER_BYTES);
  // Empty header block: body starts right away.
  if (s.startsWith('\n', start)) return [start, start + 1];
  if (s.startsWith('\r\n', start)) return [start, start + 2];
  let i = start;
  while (i < limit) {
    const nl = s.indexOf('\n', i);
    if (nl === -1 || nl >= limit) break;
    // line is s[i..nl)
    const next = nl + 1;
    if (s.charCodeAt(next) === 10) return [nl, next + 1];
    if (s.charCodeAt(next) === 13 && s.charCodeAt(next + 1) === 10) return [nl, next + 2];
    i = next;
  }
  return [Math.min(s.length, limit), Math.min(s.length, limit)];
}

/**
 * Parse a header block (binary string, already bounded). Each unfolded value is bounded too: long
 * whitespace runs collapsed, at most MAX_HEADER_VALUE characters.
 */
export function parseHeaderBlock(block: string): HeaderList {
  const list: Array<[string, string]> = [];
  const lines = block.split('\n');
  let name = '';
  let value = '';
  const flush = () => {
    if (name && list.length < MAX_HEADERS) list.push([name, collapseWhitespace(value.slice(0, MAX_HEADER_VALUE * 4)).slice(0, MAX_HEADER_VALUE).trim()]);
    name = ''; value = '';
  };
  for (let raw of lines) {
    if (raw.endsWith('\r')) raw = raw.slice(0, -1);
    if (raw === '') continue;
    const c = raw.charCodeAt(0);
    if ((c === 32 || c === 9) && name) { if (value.length < MAX_HEADER_VALUE * 4) value += ' ' + raw.trim(); continue; }
    const colon = raw.indexOf(':');
    // Not a header line (mbox "From " line, garbage): skip it.
    if (colon <= 0 || colon > 100 || /\s/.test(raw.slice(0, colon).trimEnd())) { flush(); continue; }
    flush();
    name = raw.slice(0, colon).trim().toLowerCase();
    value = raw.slice(colon + 1);
  }
  flush();
  return { list };
}

export function getHeader(h: HeaderList, name: string): string {
  for (const [n, v] of h.list) if (n === name) return v;
  return '';
}

export function getHeaders(h: HeaderList, name: string): string[] {
  const out: string[] = [];
  for (const [n, v] of h.list) if (n === name) out.push(v);
  return out;
}

/** Split "type/subtype; a=b; c="d"" into lower-cased type and params. */
export function parseContentType(v: string): { type: string; params: Record<string, string> } {
  const params: Record<string, string> = {};
  // Tolerate a missing ";" before parameters ("text/plain charset=x" after unfolding).
  const tm = /^\s*([A-Za-z0-9!#$&^_.+-]+\/[A-Za-z0-9!#$&^_.+-]+)/.exec(v);
  const semi = tm ? (tm[0] ?? '').length : v.indexOf(';');
  const type = (tm ? tm[1] ?? '' : semi === -1 ? v : v.slice(0, semi)).trim().toLowerCase();
  if (semi !== -1) {
    const re = /[;\s]\s*([A-Za-z0-9_\-*.]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"?|([^;\s]*))/g;
    let m: RegExpExecArray | null;
    const rest = v.slice(semi);
    while ((m = re.exec(rest)) !== null) {
      const key = (m[1] ?? '').toLowerCase().replace(/\*\d*\*?$/, '');
      const val = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : (m[3] ?? '');
      if (!(key in params)) params[key] = val;
    }
  }
  return { type, params };
}

const ENCODED_WORD = /=\?([^?\s]+)\?([bBqQ])\?([^?]*)\?=/g;

/** Decode RFC 2047 encoded words and raw 8-bit bytes of a binary header value. */
export function decodeHeaderValue(v: string): string {
  if (!v.includes('=?')) return /[\x80-\xff\x1b]/.test(v) ? decodeText(v, 'utf-8') : v;
  // Adjacent encoded words separated by whitespace are joined.
  const joined = v.replace(/\?=\s+=\?/g, '?==?');
  let out = '';
  let last = 0;
  let m: RegExpExecArray | null;
  ENCODED_WORD.lastIndex = 0;
  while ((m = ENCODED_WORD.exec(joined)) !== null) {
    out += joined.slice(last, m.index);
    const cs = (m[1] ?? '').split('*')[0] ?? '';
    const enc = (m[2] ?? 'b').toLowerCase();
    const text = m[3] ?? '';
    let bin: string;
    if (enc === 'b') bin = Buffer.from(text, 'base64').toString('latin1');
    else bin = text.replace(/_/g, ' ').replace(/=([0-9A-Fa-f]{2})/g, (_s, h: string) => String.fromCharCode(parseInt(h, 16)));
    out += decodeText(bin, cs);
    last = m.index + m[0].length;
  }
  out += joined.slice(last);
  return out;
}
