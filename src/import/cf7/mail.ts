// Contact Form 7 mail settings (_mail, _mail_2) into Formwarden templates. CF7 replaces [field] and the
// special tags ([_site_title], [_date], [_raw_field], ...) in mail text (includes/mail.php); Formwarden
// fills {{field}} and four system placeholders. What has no counterpart is removed and reported.
import { decodeEntities } from './tags.js';

export interface Cf7Mail {
  active?: boolean;
  subject: string;
  sender: string;
  body: string;
  recipient: string;
  additionalHeaders: string;
  attachments: string;
  useHtml: boolean;
}

/** Reads a CF7 mail array (from PHP, JSON or defaults); missing keys are empty. */
export function mailFromMap(map: Map<string, string> | Record<string, unknown>): Cf7Mail {
  const get = (k: string): string => {
    const v = map instanceof Map ? map.get(k) : Object.hasOwn(map, k) ? map[k] : undefined;
    return typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v === true ? 1 : v === false ? '' : v) : '';
  };
  const flag = (k: string) => ['1', 'true', 'on', 'yes'].includes(get(k).trim().toLowerCase());
  return {
    active: map instanceof Map ? (map.has('active') ? flag('active') : undefined) : Object.hasOwn(map, 'active') ? flag('active') : undefined,
    subject: get('subject'),
    sender: get('sender'),
    body: get('body'),
    recipient: get('recipient'),
    additionalHeaders: get('additional_headers'),
    attachments: get('attachments'),
    useHtml: flag('use_html'),
  };
}

/** CF7's mail-tag regex: [1] "[" of an escape, [2] name, [3] quoted values, [4] "]". */
const MAIL_TAG = /(\[?)\[[\t ]*([a-zA-Z_][0-9a-zA-Z:._-]*)((?:[\t ]+"[^"]*"|[\t ]+'[^']*')*)[\t ]*\](\]?)/g;

export interface MailContext {
  /** CF7 field name (as written, and with "." as "_") -> Formwarden field name. */
  fields: Map<string, string>;
  site: { url?: string; adminEmail?: string; description?: string };
}

export interface ConvertedText {
  text: string;
  /** Formwarden fields the text uses. */
  fields: string[];
  /** Tags that carry what the visitor typed or sent (fields, _raw_, _format_, _user_agent, _url, ...). */
  visitorTags: string[];
  /** Special tags with no counterpart, removed. */
  dropped: string[];
}

// Special mail-tags filled from the request: the visitor chooses them.
const VISITOR_SPECIAL = /^_(remote_ip|user_agent|url|referer|post_[a-z_]+|invalid_fields|user_[a-z_]+)$/;

/** Keeps owner text from being read as a Formwarden placeholder. */
export const literal = (s: string) => s.replace(/\{(?=\{)/g, '{ ').replace(/(?<=\})\}/g, ' }');

/**
 * The finished template: only the placeholders the import wrote stay {{...}}; any other pair of braces, also
 * one made by joining text around a removed tag ("{[_remote_ip]{"), or a brace touching a placeholder
 * ("{{{name}}"), is spaced out so that the template lint never reads owner text as a placeholder.
 */
export function safeBraces(s: string): string {
  const parts = s.split(/(\{\{[a-z_][a-z0-9_]*\}\})/);
  return parts
    .map((p, i) => {
      if (i % 2 === 1) return p;
      let t = literal(p);
      if (i < parts.length - 1 && t.endsWith('{')) t += ' ';
      if (i > 0 && t.startsWith('}')) t = ` ${t}`;
      return t;
    })
    .join('');
}

/** A mail text with CF7 tags turned into Formwarden placeholders. */
export function convertMailText(text: string, ctx: MailContext): ConvertedText {
  const fields: string[] = [];
  const visitorTags: string[] = [];
  const dropped: string[] = [];
  const hasDate = /\[\s*_date\s*\]/.test(text);
  let out = '';
  let last = 0;
  for (const m of text.matchAll(MAIL_TAG)) {
    out += literal(text.slice(last, m.index));
    last = m.index + m[0].length;
    if (m[1] === '[' && m[4] === ']') {
      out += literal(m[0].slice(1, -1));
      continue;
    }
    const lead = m[1] ?? '';
    const trail = m[4] ?? '';
    const name = m[2]!;
    const raw = m[0].slice(lead.length, m[0].length - trail.length);
    const base = name.replace(/^_(raw|format)_/, '');
    const field = ctx.fields.get(base) ?? ctx.fields.get(base.replace(/\./g, '_'));
    let put: string;
    if (field !== undefined) {
      put = `{{${field}}}`;
      fields.push(field);
      visitorTags.push(raw);
    } else if (name === '_site_title') put = '{{site_name}}';
    else if (name === '_contact_form_title') put = '{{form_title}}';
    else if (name === '_serial_number') put = '{{receipt_id}}';
    else if (name === '_date') put = '{{submitted_at}}';
    else if (name === '_time') put = hasDate ? '' : '{{submitted_at}}';
    else if (name === '_site_url' && ctx.site.url) put = literal(ctx.site.url);
    else if (name === '_site_admin_email' && ctx.site.adminEmail) put = ctx.site.adminEmail;
    else if (name === '_site_description' && ctx.site.description) put = literal(ctx.site.description);
    else if (name.startsWith('_')) {
      put = '';
      dropped.push(raw);
      if (VISITOR_SPECIAL.test(name) || /^_(raw|format)_/.test(name)) visitorTags.push(raw);
    } else put = literal(raw); // Not a field: CF7 leaves it as it is.
    out += literal(lead) + put + literal(trail);
  }
  out += literal(text.slice(last));
  return { text: out, fields: [...new Set(fields)], visitorTags, dropped: [...new Set(dropped)] };
}

/** An HTML mail body (use_html) as plain text: Formwarden sends text mail. */
export function htmlToText(html: string): string {
  return decodeEntities(
    html
      .replace(/\r\n?/g, '\n')
      .replace(/<(script|style)\b[\s\S]*?<\/\1>/gi, '')
      .replace(/<br\s*\/?>/gi, '\n')
      .replace(/<\/(p|div|tr|h[1-6]|li|table|ul|ol|blockquote)>/gi, '\n')
      .replace(/<li\b[^>]*>/gi, '・')
      .replace(/<\/t[dh]>/gi, '\t')
      .replace(/<[^>]*>/g, ''),
  )
    .replace(/[ \t]+\n/g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

/** Addresses written literally in a recipient or header value ("a@x.jp, B <b@x.jp>"). */
export function literalAddresses(s: string): string[] {
  return [...s.replace(/\[[^\]]*\]/g, ' ').matchAll(/[^\s@<>,;"'()[\]]+@[^\s@<>,;"'()[\]]+\.[^\s@<>,;"'()[\]]+/g)].map((m) => m[0].toLowerCase());
}

/** The field names ([tag]) in a recipient or header value. */
export function tagNames(s: string): string[] {
  return [...s.matchAll(MAIL_TAG)].filter((m) => !(m[1] === '[' && m[4] === ']')).map((m) => m[2]!);
}

/** additional_headers as (name, value) pairs, one per line. */
export function headerLines(s: string): { name: string; value: string }[] {
  return s
    .split(/\r?\n/)
    .map((l) => /^\s*([A-Za-z][A-Za-z0-9-]*)\s*:\s*(.*?)\s*$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ name: m[1]!.toLowerCase(), value: m[2]! }));
}

/**
 * The auto-reply text with every line that carries visitor text removed, with a heading line just above
 * such a line ("Message Body:", "【お問い合わせ内容】"); returns the new text and the lines removed.
 */
export function removeVisitorLines(text: string, isVisitorLine: (line: string) => boolean): { text: string; removed: string[] } {
  const lines = text.split('\n');
  const drop = new Set<number>();
  lines.forEach((l, i) => {
    if (!isVisitorLine(l)) return;
    drop.add(i);
    const prev = lines[i - 1];
    if (prev !== undefined && !drop.has(i - 1) && isHeading(prev)) drop.add(i - 1);
  });
  const removed = lines.filter((_, i) => drop.has(i));
  const kept = lines
    .filter((_, i) => !drop.has(i))
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .replace(/^\n+/, '');
  return { text: kept, removed };
}

function isHeading(line: string): boolean {
  const t = line.trim();
  if (t === '' || [...t].length > 40) return false;
  return /[:：]$/.test(t) || /^[【\[<＜■□●◆◇▼▽〔《「『].*[】\]>＞〕》」』]?$/.test(t);
}

/** A subject without its visitor text: empty quotes and brackets left behind, and dangling separators, go too. */
export function cleanSubject(s: string): string {
  let t = s;
  for (let i = 0; i < 3; i++) {
    t = t
      .replace(/""|''|「\s*」|『\s*』|\(\s*\)|（\s*）|【\s*】|\[\s*\]|<\s*>|“\s*”/g, '')
      .replace(/\s+/g, ' ')
      .replace(/\s*[-–—:：|/／]\s*$/g, '')
      .replace(/^\s*[-–—:：|/／]\s*/g, '')
      .trim();
  }
  return t;
}
