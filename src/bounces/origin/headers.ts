// Header access to the returned original of a bounce and to the bounce's own header block.
// The parser keeps only a few original headers (ParsedBounce.original.headers); origin classification
// needs every Received, Authentication-Results, Received-SPF, DKIM-Signature, Auto-Submitted, ...
// so this reads them from the raw message itself. Bounded: headers only, a few hundred KB at most.
import { DEFAULT_BUDGET, linesOver } from '../parse/bound.js';
import { parseHeaderBlock } from '../parse/headers.js';

export type HeaderPairs = Array<[string, string]>;

export interface MessageHeaders {
  /** the bounce's own header block */
  outer: HeaderPairs;
  /** the returned original's header block (message/rfc822, text/rfc822-headers or inline), or null */
  original: HeaderPairs | null;
}

const MAX_SCAN = 4 * 1024 * 1024;
const MAX_BLOCK = 256 * 1024;
const MAX_HEADERS = 500;

const PART_TYPE = /^content-type:[ \t]*(?:message\/(?:rfc822|global)(?:-headers)?|text\/rfc822-headers|message\/rfc822-headers)\b/im;
const INLINE_MARKER = /^[ \t>|]*(?:-{2,}[ \t]*)?(?:original message(?: follows)?|this is a copy of the message, including all the headers|undelivered message(?: headers)?|the original message was received|------ this is a copy of the message|below this line is a copy of the message|returned message(?: headers)?|message headers follow)[^\n]*\n/im;

function toText(raw: Buffer | string): string {
  const s = typeof raw === 'string' ? raw.slice(0, MAX_SCAN) : raw.subarray(0, MAX_SCAN).toString('latin1');
  return s.includes('\r') ? s.replace(/\r\n?/g, '\n') : s;
}

function headerEnd(s: string, start: number): number {
  const i = s.indexOf('\n\n', start);
  const end = i === -1 ? s.length : i + 1;
  return Math.min(end, start + MAX_BLOCK);
}

/**
 * A header block as [lower-case name, unfolded value] pairs, read by the parser's own header reader
 * (parse/headers.ts: non-header lines skipped, values bounded); the origin patterns want whitespace runs as
 * one space, and at most MAX_HEADERS pairs.
 */
export function parseHeaderPairs(block: string): HeaderPairs {
  return parseHeaderBlock(block)
    .list.slice(0, MAX_HEADERS)
    .map(([name, value]): [string, string] => [name, value.replace(/\s+/g, ' ')]);
}

function decodeBody(body: string, partHeaders: HeaderPairs): string {
  const cte = (partHeaders.find(([n]) => n === 'content-transfer-encoding')?.[1] ?? '').toLowerCase();
  if (cte.startsWith('base64')) return Buffer.from(body.replace(/[^A-Za-z0-9+/=]/g, ''), 'base64').toString('latin1').replace(/\r\n?/g, '\n');
  if (cte.startsWith('quoted-printable')) {
    return body.replace(/=\n/g, '').replace(/=([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
  }
  return body;
}

function looksLikeHeaders(pairs: HeaderPairs): boolean {
  return pairs.some(([n]) => n === 'received' || n === 'message-id' || n === 'from' || n === 'return-path' || n === 'subject');
}

/** Read the bounce's and the returned original's header blocks from a raw message. Never throws. */
export function readMessageHeaders(raw: Buffer | string): MessageHeaders {
  try {
    // The parser's line budget: a message over it is unparseable, and its headers are not read either.
    if (linesOver(typeof raw === 'string' ? Buffer.from(raw.slice(0, MAX_SCAN), 'latin1') : raw.subarray(0, MAX_SCAN), DEFAULT_BUDGET.maxLines)) return { outer: [], original: null };
    let s = toText(raw);
    if (s.startsWith('From ')) s = s.slice(s.indexOf('\n') + 1);
    const outerEnd = headerEnd(s, 0);
    const outer = parseHeaderPairs(s.slice(0, outerEnd));
    return { outer, original: findOriginal(s, outerEnd) };
  } catch {
    return { outer: [], original: null };
  }
}

function findOriginal(s: string, from: number): HeaderPairs | null {
  // 1. A MIME part of type message/rfc822 or text/rfc822-headers.
  const re = new RegExp(PART_TYPE.source, 'gim');
  re.lastIndex = from;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    // The part's header block runs from the line start of the match to the blank line.
    const lineStart = s.lastIndexOf('\n', m.index) + 1;
    let partStart = lineStart;
    // Walk back over the part's preceding header lines (up to the boundary line).
    for (;;) {
      const prev = s.lastIndexOf('\n', partStart - 2) + 1;
      if (partStart <= from || prev >= partStart) break;
      const line = s.slice(prev, partStart - 1);
      if (!line || line.startsWith('--')) break;
      partStart = prev;
    }
    const partEnd = headerEnd(s, lineStart);
    const partHeaders = parseHeaderPairs(s.slice(partStart, partEnd));
    let bodyStart = partEnd;
    while (s[bodyStart] === '\n') bodyStart++;
    let body = s.slice(bodyStart, bodyStart + MAX_BLOCK * 2);
    const cte = (partHeaders.find(([n]) => n === 'content-transfer-encoding')?.[1] ?? '').toLowerCase();
    if (cte.startsWith('base64') || cte.startsWith('quoted-printable')) {
      const boundary = body.search(/\n--[^\n]/);
      body = decodeBody(boundary === -1 ? body : body.slice(0, boundary), partHeaders);
    }
    body = body.replace(/^\n+/, '');
    const pairs = parseHeaderPairs(body.slice(0, headerEnd(body, 0)));
    if (looksLikeHeaders(pairs)) return pairs;
  }
  // 2. An inline copy after a marker line (Exim, qmail, many text-only layouts).
  const tail = s.slice(from);
  const mk = INLINE_MARKER.exec(tail);
  if (mk) {
    let rest = tail.slice(mk.index + mk[0].length).replace(/^[ \t]*\n/gm, (x, off: number) => (off === 0 ? '' : x));
    rest = rest.replace(/^\n+/, '');
    // Quoted copies ("> Received: ..." or "| Received: ...").
    if (/^[ \t]*[>|] /.test(rest)) rest = rest.replace(/^[ \t]*[>|] ?/gm, '');
    else rest = rest.replace(/^[ \t]{2,}(?=[A-Za-z-]+:)/gm, '');
    const pairs = parseHeaderPairs(rest.slice(0, headerEnd(rest, 0)));
    if (looksLikeHeaders(pairs)) return pairs;
  }
  return null;
}

export function all(pairs: HeaderPairs | null | undefined, name: string): string[] {
  if (!pairs) return [];
  const out: string[] = [];
  for (const [n, v] of pairs) if (n === name) out.push(v);
  return out;
}

export function first(pairs: HeaderPairs | null | undefined, name: string): string {
  if (!pairs) return '';
  for (const [n, v] of pairs) if (n === name) return v;
  return '';
}
