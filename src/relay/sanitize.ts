// Sanitizer for visitor text echoed in an auto-reply (echo: sanitized).
// Goal: nothing a recipient could follow or contact survives: no URL, no
// domain (plain, obfuscated, IDN), no email address, no phone number. It
// over-removes on purpose: a lost word in a courtesy echo is cheap, a link
// delivered to a stranger is not.

/** Echo caps in code points. */
export const NAME_ECHO_MAX = 40;
export const FIELD_ECHO_MAX = 200;

/** Echo cap for a field: 40 for the name field, 200 for the others. */
export function echoCapFor(fieldName: string): number {
  return fieldName === 'name' ? NAME_ECHO_MAX : FIELD_ECHO_MAX;
}

/** Input beyond this is dropped before matching, bounding regex work. */
const MAX_INPUT = 4000;

// --- building blocks (all used with the `u` flag, most with `i`) -------------

const CJK = String.raw`\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}`;
const LABEL = String.raw`[\p{L}\p{N}\p{M}_-]{1,63}`;
/**
 * A top-level label. Letters of any script except CJK (whose prose ends
 * sentences with a dot and no space: "です．よろしく"), then letters, digits
 * or '-' ("c0m", "xn--p1ai"). CJK TLDs are matched from CJK_TLDS instead.
 */
const TLD_GENERIC = String.raw`(?:(?![${CJK}])\p{L})(?:(?![${CJK}])[\p{L}\p{N}\p{M}-]){1,62}`;
const CJK_TLDS = [
  '中国', '中國', '公司', '网络', '网址', '网站', '在线', '香港', '台湾', '台灣', '新加坡', '商城', '商标', '游戏',
  '手机', '中文网', '信息', '集团', '企业', '世界', 'みんな', 'コム', 'セール', 'ストア', 'ファッション', '한국', '닷컴', '닷넷',
];
const TLD = `(?:${CJK_TLDS.join('|')}|${TLD_GENERIC})`;
/**
 * Dot-like characters after NFKC (which already folds '．' U+FF0E, '﹒' and
 * '․' to '.' and '｡' to '。'): '.', ideographic '。', and middle dots/bullets
 * sometimes used instead: '·' '•' '∙' '⋅' '・' '‧'.
 */
const DOT_CH = '[.。·•∙⋅・‧]';
/** Bracketed dot: "[.]", "(.)", "{.}", "<.>", "[dot]", "( dot )". */
const BRACKET_DOT = String.raw`\s*[\[({<]\s*(?:${DOT_CH}|dot)\s*[\])}>]\s*`;
/**
 * Separators that are unambiguous between two words: a tight dot, a dot
 * with space before it ("example .ru", "example . ru") and bracketed dots.
 * Middle dots and bullets count only tight ("• item" lists stay intact).
 * A dot followed (only) by a space is a sentence end: see SEP_LOOSE.
 */
const SEP_STRICT = String.raw`(?:${DOT_CH}|\s+[.。]\s*|${BRACKET_DOT})`;
/** Adds "example dot ru" and "example. ru": only trusted before a known TLD. */
const SEP_LOOSE = String.raw`(?:${SEP_STRICT}|\s+dot\s+|[.。]\s+)`;
/** TLDs trusted after a loose separator: common and commonly abused, minus English words. */
const COMMON_TLDS = [
  'com', 'net', 'org', 'info', 'biz', 'ru', 'su', 'cn', 'xyz', 'top', 'io', 'co', 'tk', 'ml', 'ga', 'cf', 'gq', 'pw', 'cc',
  'ws', 'ua', 'de', 'uk', 'jp', 'br', 'fr', 'nl', 'pl', 'es', 'eu', 'kz', 'by', 'online', 'site', 'club', 'shop', 'icu',
  'live', 'app', 'dev', 'link', 'click', 'vip', 'win', 'bid', 'loan', 'work', 'store', 'website', 'space', 'fun', 'buzz',
  'rest', 'cyou', 'monster', 'sbs', 'cfd', 'lol', 'quest', 'rf', 'рф',
];
const COMMON_TLD = `(?:${COMMON_TLDS.join('|')})(?![\\p{L}\\p{N}])`;
/** "@", "[at]", "(at)", "{@}", " at ". */
const AT = String.raw`(?:\s*@\s*|\s*[\[({<]\s*(?:at|@)\s*[\])}>]\s*|\s+at\s+)`;

const DOMAIN_STRICT = `${LABEL}(?:${SEP_STRICT}${LABEL}){0,8}${SEP_STRICT}${TLD}`;
const DOMAIN_LOOSE = `${LABEL}(?:${SEP_LOOSE}${LABEL}){0,8}?${SEP_LOOSE}${COMMON_TLD}`;
const DOMAIN_ANY = `(?:${DOMAIN_STRICT}|${DOMAIN_LOOSE})`;

/**
 * Removal steps, applied in order, each match replaced by a space (never joins
 * neighbours). Whole-token steps start with (?<!\S) so each token is scanned
 * once; the others have bounded repeats: matching stays linear in the input.
 */
const STEPS: readonly RegExp[] = [
  // Anything with "://" or ":\\" (any scheme, hxxp, h**p, h__ps...) or "[:]//": the whole token.
  /(?<!\S)\S*(?::|\[:\]|\(:\))(?:\/\/|\\\\)\S*/giu,
  // Scheme-only URIs.
  /(?<![\p{L}\p{N}])(?:mailto|tel|sms|callto|skype|whatsapp|wa|tg|viber|signal|magnet|data|javascript|vbscript|file|bitcoin|ethereum|xmpp|sip|irc|news):\S+/giu,
  // Email addresses, plain and obfuscated ("user [at] example [dot] com", "user at example dot com").
  new RegExp(`[\\p{L}\\p{N}\\p{M}._%+'=~!#$&*/?^{|}\`-]{1,64}${AT}${DOMAIN_ANY}`, 'giu'),
  // Any other token with "@" ("user@localhost", "@handle").
  /(?<!\S)\S*@\S*/gu,
  // "user [at] gmail": bracketed at without a TLD still reads as an address.
  /(?<!\S)\S+\s*[[({<]\s*(?:at|@)\s*[\])}>]\s*\S+/giu,
  // Domain-like tokens.
  new RegExp(DOMAIN_STRICT, 'giu'),
  new RegExp(DOMAIN_LOOSE, 'giu'),
  // "www" followed by a separator: the rest of the token.
  new RegExp(`(?<![\\p{L}\\p{N}])www\\d{0,3}${SEP_LOOSE}\\S*`, 'giu'),
  // Bare punycode labels.
  /(?<![\p{L}\p{N}])xn--[a-z0-9-]+/giu,
  // IPv4-like.
  new RegExp(`\\p{Nd}{1,3}(?:${SEP_STRICT}\\p{Nd}{1,3}){3}`, 'gu'),
  // Phone-like: 7+ digits (any script, NFKC folds full-width) with up to 3 separators between digits.
  /[+(]?\p{Nd}(?:[\s().\-/–—_*~]{0,3}\p{Nd}){6,}/gu,
];

/** Tight domain shape for callers and tests: label, dot, non-CJK TLD. */
export const DOMAIN_LIKE_RE = new RegExp(`${LABEL}[.。]${TLD}`, 'u');

/**
 * Controls (C0/C1, tab and newlines become spaces), format characters
 * (bidi overrides and isolates, zero-width joiners/spaces, BOM, tag
 * characters, soft hyphen), private-use, unassigned and lone surrogates.
 */
const STRIP_RE = /[\p{Cc}\p{Cf}\p{Co}\p{Cn}\p{Cs}]/gu;
const BREAKING_CONTROL_RE = /[\t\n\v\f\r\x1c-\x1f\x85]/;

function cleanChars(s: string): string {
  return s.replace(STRIP_RE, (c) => (BREAKING_CONTROL_RE.test(c) ? ' ' : ''));
}

function removeContacts(s: string): string {
  let out = s;
  // Removals only insert spaces, but a removal can expose a new shape
  // ("example dot <url> com"): repeat until stable.
  for (let pass = 0; pass < 5; pass++) {
    const before = out;
    for (const re of STEPS) out = out.replace(re, ' ');
    if (out === before) break;
  }
  return out;
}

function collapse(s: string): string {
  return s.replace(/\s+/gu, ' ').trim();
}

/** First `max` code points (never splits a surrogate pair). */
export function truncateCodePoints(s: string, max: number): string {
  const cps = Array.from(s);
  return cps.length <= max ? s : cps.slice(0, Math.max(0, max)).join('');
}

/**
 * Text a visitor typed, made safe to echo to an address the visitor chose:
 * NFKC, controls/bidi stripped, URLs, domains, emails and phone numbers
 * removed, whitespace collapsed to single spaces, capped at
 * `opts.maxLength` code points. Never contains CR or LF.
 */
export function sanitizeVisitorText(value: string, opts: { maxLength: number }): string {
  if (typeof value !== 'string') return '';
  const max = Math.max(0, Math.floor(opts.maxLength));
  let s = truncateCodePoints(value, MAX_INPUT).normalize('NFKC');
  s = collapse(removeContacts(cleanChars(s)));
  // Cutting can only shorten the last token; re-check the cut anyway.
  for (let i = 0; i < 3; i++) {
    const cut = collapse(truncateCodePoints(s, max));
    const again = collapse(removeContacts(cut));
    s = again;
    if (again === cut) break;
  }
  return s;
}
