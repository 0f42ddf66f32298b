// Contact Form 7's form-tag language, read the way CF7 reads it (includes/form-tags-manager.php): a tag is
// [type name option option "value" "value"], optionally [type ...]content[/type]; `*` marks a required
// field; "[[text x]]" is an escaped, literal tag. Unlike CF7, which only sees the types it has registered,
// every tag-like [word ...] is scanned, so a tag no importer knows is reported instead of vanishing.

/** Tag types of CF7 itself (each also with `*`). */
export const FIELD_TYPES = ['text', 'email', 'url', 'tel', 'textarea', 'number', 'range', 'date', 'select', 'checkbox', 'radio', 'acceptance', 'hidden'] as const;
export const OTHER_TYPES = ['submit', 'quiz', 'file', 'response', 'count', 'captchac', 'captchar', 'recaptcha'] as const;
const KNOWN: ReadonlySet<string> = new Set<string>([...FIELD_TYPES, ...OTHER_TYPES]);
/** Types whose first option is the field name (CF7's "name-attr" feature). */
const NAMED: ReadonlySet<string> = new Set<string>([...FIELD_TYPES, 'quiz', 'file', 'captchac', 'captchar']);

export interface Cf7Tag {
  /** As written, e.g. "text*". */
  type: string;
  /** Without the star, lower-case, e.g. "text". */
  basetype: string;
  required: boolean;
  known: boolean;
  /** The field name as written (`your-name`), or '' for tags without one. */
  name: string;
  options: string[];
  /** Quoted values, unquoted; pipes ("label|value") kept. */
  values: string[];
  /** Text between [type ...] and [/type]. */
  content: string;
  raw: string;
  start: number;
  end: number;
  /** Why CF7 itself would not treat this as a field: its attributes do not parse, or the name is invalid. */
  problem?: 'attributes' | 'name';
}

// CF7's tag regex with any tag name: [1] "[" of an escape, [2] type, [3] attributes, [5] content, [6] "]".
const TAG = /(\[?)\[([a-zA-Z_][0-9a-zA-Z:._-]*\*?)(?:[\r\n\t ](.*?))?(?:[\r\n\t ](\/))?\](?:([^[]*?)\[\/\2\])?(\]?)/gs;
const ATTS = /^([-+*=0-9a-zA-Z:.!?#$&@_/|%\r\n\t ]*?)((?:[\r\n\t ]*"[^"]*"|[\r\n\t ]*'[^']*')*)$/;
const NAME = /^[A-Za-z][-A-Za-z0-9_:.]*$/;

/** Every form-tag of the template, in order. Escaped tags ([[...]]) are literal text and not listed. */
export function scanTags(template: string): Cf7Tag[] {
  const out: Cf7Tag[] = [];
  for (const m of template.matchAll(TAG)) {
    if (m[1] === '[' && m[6] === ']') continue;
    const type = m[2]!;
    // A lone "[" or "]" around the tag is text next to it, not part of it.
    const start = m.index + m[1]!.length;
    const end = m.index + m[0].length - m[6]!.length;
    const basetype = type.replace(/\*$/, '').toLowerCase();
    const tag: Cf7Tag = {
      type,
      basetype,
      required: type.endsWith('*'),
      known: KNOWN.has(basetype),
      name: '',
      options: [],
      values: [],
      content: (m[5] ?? '').trim(),
      raw: template.slice(start, end),
      start,
      end,
    };
    const atts = parseAtts(m[3] ?? '');
    if (!atts) tag.problem = 'attributes';
    else {
      tag.options = atts.options;
      tag.values = atts.values;
      if (NAMED.has(basetype) || !tag.known) {
        const first = tag.options[0];
        if (first !== undefined && NAME.test(first)) {
          tag.name = first;
          tag.options = tag.options.slice(1);
        } else if (NAMED.has(basetype)) tag.problem = 'name';
      }
    }
    out.push(tag);
  }
  return out;
}

/** CF7's parse_atts: options (unquoted words) first, then quoted values; null when that does not fit. */
export function parseAtts(text: string): { options: string[]; values: string[] } | null {
  const t = text.replace(/[\u00a0\u200b]+/g, ' ').trim();
  const m = ATTS.exec(t);
  if (!m) return null;
  const options = m[1] ? m[1].trim().split(/[\r\n\t ]+/).filter(Boolean) : [];
  const values = m[2] ? [...m[2].matchAll(/"([^"]*)"|'([^']*)'/g)].map((v) => v[1] ?? v[2] ?? '') : [];
  return { options, values };
}

/** The value of `name:value` options (CF7's get_option), first match. */
export function option(tag: Cf7Tag, name: string, pattern = /.+/): string | undefined {
  const re = new RegExp(`^${name}:(${pattern.source})$`, 'i');
  for (const o of tag.options) {
    const m = re.exec(o);
    if (m) return m[1];
  }
  return undefined;
}

export function hasOption(tag: Cf7Tag, name: string): boolean {
  const re = new RegExp(`^${name}(:.+)?$`, 'i');
  return tag.options.some((o) => re.test(o));
}

/** maxlength:N, or the "40/100" size/maxlength shorthand (CF7's get_maxlength_option). */
export function maxLengthOption(tag: Cf7Tag): number | undefined {
  const direct = option(tag, 'maxlength', /[0-9]+/);
  if (direct) return Number(direct);
  for (const o of tag.options) {
    const m = /^(?:[0-9]*x?[0-9]*)?\/([0-9]+)$/.exec(o);
    if (m) return Number(m[1]);
  }
  return undefined;
}

/** A pipe value "label|value": what the visitor sees, and what CF7 puts into mail. */
export function splitPipe(v: string): { label: string; value: string } {
  const i = v.indexOf('|');
  return i === -1 ? { label: v.trim(), value: v.trim() } : { label: v.slice(0, i).trim(), value: v.slice(i + 1).trim() };
}

// ---- Labels -------------------------------------------------------------------------------------

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ', ensp: ' ', emsp: ' ', thinsp: ' ', hellip: '…', ndash: '–', mdash: '—' };

export function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (all, e: string) => {
    if (e[0] === '#') {
      const code = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return code > 0 && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff) ? String.fromCodePoint(code) : all;
    }
    return ENTITIES[e.toLowerCase()] ?? all;
  });
}

// "(必須)", "※必須", "*", "(optional)" and friends: how a form marks a field, not part of its name.
const MARKER = /^(?:[*＊※]|必須|任意|required|optional|req\.?)$/i;
const MARKERS_IN =
  /[（(【[［<＜]\s*(?:必須|任意|required|optional)\s*[）)】\]］>＞]|※\s*(?:必須|任意)|\s(?:必須|任意)$|^(?:必須|任意)\s|[*＊※]+$/gi;

export function cleanLabel(s: string): string {
  let t = decodeEntities(s).replace(/\s+/g, ' ').trim();
  for (let i = 0; i < 3; i++) t = t.replace(MARKERS_IN, '').replace(/[\s:：]+$/, '').trim();
  return t;
}

/** Text segments of an HTML fragment (split at every tag), cleaned, markers dropped. */
function segments(html: string): string[] {
  return html
    .split(/<[^>]*>/)
    .flatMap((s) => s.split(/\r?\n/))
    .map(cleanLabel)
    .filter((s) => s !== '' && !MARKER.test(s));
}

const stripTags = (html: string, tags: Cf7Tag[], from: number) => {
  let out = html;
  // Form-tags inside the fragment are not label text.
  for (const t of [...tags].reverse()) {
    const a = t.start - from;
    const b = t.end - from;
    if (a >= 0 && b <= out.length) out = out.slice(0, a) + ' ' + out.slice(b);
  }
  return out;
};

/**
 * The visible label of a tag, as a person reads the form: the text of the <label> element around it, or
 * of a <label for> naming its id:, else the nearest text before it (a <th>, a <dt>, "お名前<br>").
 */
export function labelFor(template: string, tag: Cf7Tag, tags: Cf7Tag[]): string {
  const before = template.slice(0, tag.start);
  const open = before.search(/<label\b[^>]*>(?![\s\S]*<\/label>)[\s\S]*$/i);
  if (open !== -1) {
    const close = template.indexOf('</label>', tag.end);
    const next = template.slice(tag.end).search(/<label\b/i);
    if (close !== -1 && (next === -1 || tag.end + next > close)) {
      const inner = template.slice(open, close);
      const text = segments(stripTags(inner, tags, open)).join(' ');
      if (text) return text;
    }
  }
  const id = option(tag, 'id', /[-0-9a-zA-Z_]+/);
  if (id) {
    const m = new RegExp(`<label\\b[^>]*\\bfor=["']?${id}["']?[^>]*>([\\s\\S]*?)</label>`, 'i').exec(template);
    if (m) {
      const text = segments(m[1]!).join(' ');
      if (text) return text;
    }
  }
  const prev = tags.filter((t) => t.end <= tag.start).at(-1);
  const from = prev ? prev.end : 0;
  const seg = segments(template.slice(from, tag.start)).at(-1);
  return seg && [...seg].length <= 100 ? seg : '';
}
