// Sanitizer for visitor text echoed in an auto-reply (echo: sanitized).
// Goal: nothing a recipient could follow or contact survives: no URL, no
// domain (plain, obfuscated, spaced, IDN), no email address, no phone
// number, no IP address, no messenger handle. It over-removes on purpose: a
// lost word in a courtesy echo is cheap, a link delivered to a stranger is not.
//
// How: the text is NFKC-normalised and cleaned; then each pass builds matching
// views of it (digits of every script folded to ASCII, dash variants to '-',
// whitespace runs to one space; kanji numerals folded in one of them, so that
// "八卦" stays a TLD in the other; each also joined where letter-spaced:
// "s p a m . c o m" -> "spam.com"), finds what to remove in every view, and
// blanks the matching spans of the text. The output keeps the visitor's own
// characters: folding is for matching only.

import { createRequire } from 'node:module';
import { domainToASCII } from 'node:url';

/** Echo caps in code points. */
export const NAME_ECHO_MAX = 40;
export const FIELD_ECHO_MAX = 200;

/** Echo cap for a field: 40 for the name field, 200 for the others. */
export function echoCapFor(fieldName: string): number {
  return fieldName === 'name' ? NAME_ECHO_MAX : FIELD_ECHO_MAX;
}

/** Input beyond this is dropped before matching, bounding regex work. */
const MAX_INPUT = 4000;

// --- top-level domains --------------------------------------------------------

/** The IANA root zone list (package `tlds`, pinned), in Unicode form. */
const IANA_TLDS: readonly string[] = createRequire(import.meta.url)('tlds') as string[];

/** Every TLD, lower-case, in Unicode and in punycode (xn--) form. */
const TLDS: ReadonlySet<string> = (() => {
  const set = new Set<string>();
  for (const t of IANA_TLDS) {
    const lower = t.toLowerCase();
    set.add(lower);
    const ascii = domainToASCII(lower);
    if (ascii) set.add(ascii);
  }
  return set;
})();

/** TLDs trusted after a dot followed by a space ("example. ru"), where a sentence end is likelier. */
const COMMON_TLDS: ReadonlySet<string> = new Set([
  'com', 'net', 'org', 'info', 'biz', 'ru', 'su', 'cn', 'xyz', 'top', 'io', 'co', 'tk', 'ml', 'ga', 'cf', 'gq', 'pw', 'cc',
  'ws', 'ua', 'de', 'uk', 'jp', 'br', 'fr', 'nl', 'pl', 'es', 'eu', 'kz', 'by', 'online', 'site', 'club', 'shop', 'icu',
  'live', 'app', 'dev', 'link', 'click', 'vip', 'win', 'bid', 'loan', 'work', 'store', 'website', 'space', 'fun', 'buzz',
  'rest', 'cyou', 'monster', 'sbs', 'cfd', 'lol', 'quest', 'rf', 'рф',
]);
/** TLDs trusted after a comma followed by a space ("spam, com"): none is an English word. */
const LOOSE_COMMA_TLDS: ReadonlySet<string> = new Set([
  'com', 'net', 'org', 'biz', 'ru', 'su', 'cn', 'xyz', 'tk', 'ml', 'gq', 'pw', 'icu', 'cyou', 'sbs', 'cfd', 'jp', 'рф',
]);

// --- character classes (all used with the `u` flag) --------------------------

/** Scripts written without spaces between words (and Hangul, whose particles attach to nouns). */
const NOSPACE = String.raw`\p{sc=Han}\p{sc=Hiragana}\p{sc=Katakana}\p{sc=Hangul}\p{sc=Thai}\p{sc=Lao}\p{sc=Khmer}\p{sc=Myanmar}\u30FC`;
const NOSPACE_RE = new RegExp(`[${NOSPACE}]`, 'u');
const LABEL_CH_RE = /[\p{L}\p{N}\p{M}_-]/u;
const WORD_NOCJK_RE = new RegExp(`(?![${NOSPACE}])[\\p{L}\\p{N}\\p{M}]`, 'u');
const LETTER_RE = /\p{L}/u;

/**
 * Dash, minus and long-vowel variants. Dashes (\p{Pd}: U+2010-2015, U+2E3A/3B,
 * U+FE58, U+FE63, U+FF0D, U+301C...), U+2212 minus, U+2043 hyphen bullet and
 * U+2053 swung dash fold to '-' in the matching views; the long vowel mark
 * U+30FC (and U+FF70, which NFKC folds to it) stays a letter there and counts
 * as a separator only between digits (see PHONE).
 */
const DASH_RE = /[\p{Pd}\u2212\u2043\u2053\u2796\uFE63\uFF0D]/u;

/** Kanji numerals: digits (incl. financial forms), small units, big units. */
const KANJI_DIGITS: ReadonlyMap<string, number> = new Map([
  ['〇', 0], ['零', 0], ['○', 0], ['◯', 0], ['一', 1], ['壱', 1], ['壹', 1], ['弌', 1], ['二', 2], ['弐', 2], ['貳', 2], ['貮', 2],
  ['三', 3], ['参', 3], ['參', 3], ['弎', 3], ['四', 4], ['肆', 4], ['五', 5], ['伍', 5], ['六', 6], ['陸', 6], ['七', 7], ['漆', 7],
  ['柒', 7], ['八', 8], ['捌', 8], ['九', 9], ['玖', 9],
]);
const KANJI_SMALL: ReadonlyMap<string, bigint> = new Map([['十', 10n], ['拾', 10n], ['百', 100n], ['佰', 100n], ['千', 1000n], ['仟', 1000n]]);
const KANJI_BIG: ReadonlyMap<string, bigint> = new Map([['万', 10n ** 4n], ['萬', 10n ** 4n], ['億', 10n ** 8n], ['亿', 10n ** 8n], ['兆', 10n ** 12n]]);
/** Circles read as a zero only next to other numerals ("○九○"), not alone ("○○様"). */
const WEAK_ZERO = new Set(['○', '◯']);

/** Digit-like symbols NFKC leaves alone: dingbat and double circled digits, circled ideographs. */
const SYMBOL_DIGITS: ReadonlyMap<number, string> = (() => {
  const m = new Map<number, string>();
  const range = (first: number, values: readonly string[]): void => values.forEach((v, i) => m.set(first + i, v));
  const oneToTen = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10'];
  range(0x2776, oneToTen); // ❶..❿
  range(0x2780, oneToTen); // ➀..➉
  range(0x278a, oneToTen); // ➊..➓
  range(0x24f5, oneToTen); // ⓵..⓾
  range(0x24eb, ['11', '12', '13', '14', '15', '16', '17', '18', '19', '20']); // ⓫..⓴
  range(0x3220, oneToTen); // ㈠..㈩
  range(0x3280, oneToTen); // ㊀..㊉
  range(0x3192, ['1', '2', '3', '4']); // ㆒..㆕
  range(0x1369, ['1', '2', '3', '4', '5', '6', '7', '8', '9']); // Ethiopic ፩..፱
  m.set(0x24ff, '0'); // ⓿
  m.set(0x1f10b, '0'); // 🄋
  m.set(0x1f10c, '0'); // 🄌
  return m;
})();

const ND_RE = /\p{Nd}/u;
const ndCache = new Map<number, string>();
/**
 * ASCII value of any decimal digit (\p{Nd}). Unicode assigns them in runs
 * of 0..9 (some runs adjacent), each starting at a zero.
 */
function ndDigit(cp: number): string {
  const hit = ndCache.get(cp);
  if (hit !== undefined) return hit;
  let start = cp;
  while (start > 0 && cp - start < 100 && ND_RE.test(String.fromCodePoint(start - 1))) start--;
  const d = String((cp - start) % 10);
  ndCache.set(cp, d);
  return d;
}

/** Value of a kanji numeral run: "〇九〇" -> "090", "千二百三十四" -> "1234", "一億二千万" -> "120000000". */
function kanjiValue(run: readonly string[]): string {
  if (!run.some((c) => KANJI_SMALL.has(c) || KANJI_BIG.has(c))) return run.map((c) => String(KANJI_DIGITS.get(c) ?? 0)).join('');
  let total = 0n;
  let section = 0n;
  let cur = 0n;
  let hasCur = false;
  for (const c of run) {
    const d = KANJI_DIGITS.get(c);
    const small = KANJI_SMALL.get(c);
    const big = KANJI_BIG.get(c);
    if (d !== undefined) {
      cur = cur * 10n + BigInt(d);
      hasCur = true;
    } else if (small !== undefined) {
      section += (hasCur ? cur : 1n) * small;
      cur = 0n;
      hasCur = false;
    } else if (big !== undefined) {
      section += cur;
      total += (section === 0n ? 1n : section) * big;
      section = 0n;
      cur = 0n;
      hasCur = false;
    }
  }
  return String(total + section + cur);
}

// --- matching views ------------------------------------------------------------

/** A string derived from the text, with each UTF-16 unit mapped to a span [from, to) of the text. */
interface View {
  text: string;
  from: number[];
  to: number[];
  /** Second view: indexes where a space was removed (a word may end there). */
  joints?: Set<number>;
}

function push(v: View, s: string, from: number, to: number): void {
  v.text += s;
  for (let k = 0; k < s.length; k++) {
    v.from.push(from);
    v.to.push(to);
  }
}

const SPACE_RE = /\s/u;
const MARK_RE = /\p{M}/u;

/** First views: dashes and digits folded (kanji numerals too if `numerals`), whitespace collapsed. */
function foldView(s: string, numerals: boolean): View {
  const v: View = { text: '', from: [], to: [] };
  const cps: { c: string; i: number }[] = [];
  for (let i = 0; i < s.length; ) {
    const c = String.fromCodePoint(s.codePointAt(i) ?? 0);
    cps.push({ c, i });
    i += c.length;
  }
  const end = (k: number): number => (k + 1 < cps.length ? (cps[k + 1]?.i ?? s.length) : s.length);
  for (let k = 0; k < cps.length; ) {
    const { c, i } = cps[k] as { c: string; i: number };
    if (SPACE_RE.test(c)) {
      let j = k;
      while (j + 1 < cps.length && SPACE_RE.test(cps[j + 1]?.c ?? '')) j++;
      push(v, ' ', i, end(j));
      k = j + 1;
      continue;
    }
    if (numerals && (KANJI_DIGITS.has(c) || KANJI_SMALL.has(c))) {
      // A numeral run; big units (万 億) only continue one. Capped at 32 characters.
      let j = k;
      while (j + 1 < cps.length && j - k < 31) {
        const n = cps[j + 1]?.c ?? '';
        if (!(KANJI_DIGITS.has(n) || KANJI_SMALL.has(n) || KANJI_BIG.has(n))) break;
        j++;
      }
      const run = cps.slice(k, j + 1).map((x) => x.c);
      if (run.every((x) => WEAK_ZERO.has(x))) push(v, run.join(''), i, end(j));
      else push(v, kanjiValue(run), i, end(j));
      k = j + 1;
      continue;
    }
    const cp = c.codePointAt(0) ?? 0;
    if (cp > 0x7f && ND_RE.test(c)) push(v, ndDigit(cp), i, end(k));
    else if (SYMBOL_DIGITS.has(cp)) push(v, SYMBOL_DIGITS.get(cp) ?? '', i, end(k));
    else if (DASH_RE.test(c)) push(v, '-', i, end(k));
    else if (MARK_RE.test(c) && /[a-z0-9.]$/i.test(v.text)) {
      // Combining marks NFKC could not compose onto an ASCII letter ("c̲o̲m̲") only hide it: folded into it.
      v.to[v.to.length - 1] = end(k);
    } else push(v, c, i, end(k));
    k++;
  }
  return v;
}

/** Words kept apart by spaces in the second view: separators written as words. */
const SEP_WORDS = new Set(['dot', 'at', 'ドット', 'どっと', 'アット', 'あっと']);
/** A one-character token that letter-spacing may split off: a letter or digit (with marks), a dot, a comma, an at sign, '-', '_'. */
const SINGLE_RE = /^(?:[\p{L}\p{N}]\p{M}*|\p{M}+|[.。,、@_-])$/u;
const JOINER_RE = /[-_*~+|/\\・·]/u;
const FLANK_RE = /[\s\-_*~+|/\\・·.。,、]/u;
const ALNUM_RE = /[\p{L}\p{N}]/u;

/**
 * Second view: letter-spaced text joined. A space next to a one-character
 * token goes ("s p a m . c o m" -> "spam.com", "spam. c o m" -> "spam.com"),
 * unless the other side is a separator word ("s p a m dot c o m" keeps
 * " dot "); a joiner between two lone characters goes too ("s-p-a-m").
 */
function squeezeView(v: View): View {
  const t = v.text;
  const keep: boolean[] = new Array<boolean>(t.length).fill(true);
  const lone = (k: number): boolean =>
    ALNUM_RE.test(t[k] ?? '') && (k === 0 || FLANK_RE.test(t[k - 1] ?? '')) && (k + 1 >= t.length || FLANK_RE.test(t[k + 1] ?? ''));
  for (let k = 1; k + 1 < t.length; k++) {
    if (JOINER_RE.test(t[k] ?? '') && lone(k - 1) && lone(k + 1)) keep[k] = false;
  }
  // Tokens between single spaces (the first view has no other whitespace).
  const tokens: { s: number; e: number }[] = [];
  for (let k = 0; k < t.length; ) {
    if (t[k] === ' ') {
      k++;
      continue;
    }
    let e = k;
    while (e < t.length && t[e] !== ' ') e++;
    tokens.push({ s: k, e });
    k = e;
  }
  const word = (x: { s: number; e: number }): string => {
    let out = '';
    for (let k = x.s; k < x.e; k++) if (keep[k]) out += t[k];
    return out;
  };
  const words = tokens.map((x) => word(x));
  // "s p a m d o t c o m": the spelled-out "d o t" stays a word of its own; after a dot ("s p a m . d o t")
  // it is the TLD .dot and is joined like any other.
  const apart = new Set<number>();
  for (let n = 0; n + 2 < words.length; n++) {
    if (`${words[n]}${words[n + 1]}${words[n + 2]}`.toLowerCase() === 'dot' && words[n]?.length === 1 && !/^[.。]$/.test(words[n - 1] ?? '')) {
      apart.add(n - 1);
      apart.add(n + 2);
    }
  }
  for (let n = 0; n + 1 < tokens.length; n++) {
    const a = tokens[n] as { s: number; e: number };
    const wa = words[n] ?? '';
    const wb = words[n + 1] ?? '';
    if (apart.has(n) || SEP_WORDS.has(wa.toLowerCase()) || SEP_WORDS.has(wb.toLowerCase())) continue;
    if (SINGLE_RE.test(wa) || SINGLE_RE.test(wb)) keep[a.e] = false;
  }
  const out: View = { text: '', from: [], to: [], joints: new Set() };
  for (let k = 0; k < t.length; k++) {
    if (!keep[k]) {
      if (t[k] === ' ') out.joints?.add(out.text.length);
      continue;
    }
    if (MARK_RE.test(t[k] ?? '') && /[a-z0-9.]$/i.test(out.text)) {
      out.to[out.to.length - 1] = v.to[k] ?? 0; // "a ̅ a ̅": a mark spaced off its letter, folded as in the first view
      continue;
    }
    out.text += t[k];
    out.from.push(v.from[k] ?? 0);
    out.to.push(v.to[k] ?? 0);
  }
  return out;
}

// --- detectors (each returns spans of its view to remove) ------------------------

type Span = [number, number];

/** Whole-token and bounded patterns: every match is removed. */
const SIMPLE: readonly RegExp[] = [
  // Anything with "://" or ":\\" (any scheme, hxxp, h**p, h__ps...) or "[:]//": the whole token.
  /(?<!\S)\S*(?::|\[:\]|\(:\))(?:\/\/|\\\\)\S*/giu,
  // Scheme-only URIs.
  /(?<![\p{L}\p{N}])(?:mailto|tel|sms|callto|skype|whatsapp|wa|tg|viber|signal|magnet|data|javascript|vbscript|file|bitcoin|ethereum|xmpp|sip|irc|news|line|weixin|kakaotalk):\S+/giu,
  // Any token with "@" ("user@localhost", "@handle").
  /(?<!\S)\S*@\S*/gu,
  // "user [at] gmail": a bracketed at reads as an address even without a TLD.
  /(?<!\S)\S+ ?[[({<【] ?(?:at|@|アット|あっと) ?[\])}>】] ?\S+/giu,
  // "www" followed by a separator: the rest of the token.
  /(?<![\p{L}\p{N}])www\d{0,3}(?:[.。·・]| [.。] ?|[.。] | dot )\S*/giu,
  // Bare punycode labels.
  /(?<![\p{L}\p{N}])xn--[a-z0-9-]{1,59}/giu,
  // IPv4 in any base, 4 parts: 127.0.0.1, 0x7f.0.0.1, 0177.0.0.01, "127 . 0 . 0 . 1", "127[.]0[.]0[.]1".
  /(?:0x[0-9a-f]{1,8}|\d{1,11})(?:(?:[.。·・‧]| [.。] ?|[.。] | ?[[({<] ?(?:[.。]|dot) ?[\])}>] ?)(?:0x[0-9a-f]{1,8}|\d{1,11})){3}/giu,
  // Dotted forms starting with a hex part: 0x7f.1, 0x7f.0.1.
  /0x[0-9a-f]{1,8}(?:[.。](?:0x[0-9a-f]{1,8}|\d{1,11})){1,2}/giu,
  // One hex integer: 0x7f000001 (also long hex strings: wallet addresses and the like).
  /0x[0-9a-f]{6,64}/giu,
  // IPv6: eight groups, or a "::" form with at least one hex digit (checked below).
  /(?<![\p{L}\p{N}:])(?:(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}|(?:[0-9a-f]{1,4}(?::[0-9a-f]{1,4}){0,6})?::(?:[0-9a-f]{1,4}(?::[0-9a-f]{1,4}){0,6})?)/giu,
];

/**
 * Phone-like (and integer IPv4): 7+ digits of the first view, with up to 4
 * separators between digits: spaces, dashes, dots, brackets, slashes, long
 * vowel marks ("〇九〇ー一二三四ー五六七八" is "090-1234-5678" there).
 */
const PHONE_RE = /(?:\+ ?)?(?:\( ?)?\d(?:[ \-.。()\[\]/_*~・·'"#|\\ー+]{0,4}\d){6,200}/gu;

const ID_WORDS = ['id', 'アイディー', 'アイディ', '番号', '号码', '號碼', '账号', '帳號', '帐号', '号', '號', 'アカウント', 'account', 'username', 'ユーザー名', 'handle', 'ハンドル'];
/** Messenger names that are not common English words: a following ID token goes even without "ID:". */
const MESSENGERS_STRONG = [
  'wechat', 'weixin', '微信', 'wx', 'vx', 'qq', 'skype', 'スカイプ', 'kakaotalk', 'kakao', 'カカオトーク', 'カカオ', '카카오톡', '카카오', '카톡',
  'telegram', 'テレグラム', 'whatsapp', 'ワッツアップ', 'viber', 'discord', 'ディスコード', 'instagram', 'insta', 'インスタグラム', 'インスタ',
  'twitter', 'ツイッター', 'tiktok', 'ティックトック', 'snapchat', 'facebook', 'fb', 'フェイスブック', 'zalo', 'icq', 'weibo', '微博', 'ライン', 'らいん',
];
/** Messenger names that are also English words: only with "ID", a colon or an ID-looking token. */
const MESSENGERS_WEAK = ['line', 'signal', 'snap', 'messenger', 'threads'];
const alt = (xs: readonly string[]): string => [...xs].sort((a, b) => b.length - a.length).join('|');
const MESSENGER_RE = new RegExp(
  `(?<![a-z0-9])(?:(?<kw>${alt([...MESSENGERS_STRONG, ...MESSENGERS_WEAK])})(?:(?![a-z0-9])|(?=id)) ?(?:(?<idw>${alt(ID_WORDS)}) ?)?|(?<idonly>${alt(ID_WORDS)}) ?(?=[:=]))` +
    `(?<col>[:=@→は] ?)?(?<h>@?[a-z0-9][a-z0-9._\\-+~@:]{1,63})`,
  'giu',
);
const WEAK_SET = new Set(MESSENGERS_WEAK);

function messengerSpans(t: string, out: Span[]): void {
  for (const m of t.matchAll(MESSENGER_RE)) {
    const g = m.groups ?? {};
    const kw = g.kw?.toLowerCase();
    const idLike = /[0-9_.@-]/.test(g.h ?? '');
    const ok = g.idonly !== undefined || g.idw !== undefined || g.col !== undefined || idLike || (kw !== undefined && !WEAK_SET.has(kw));
    if (ok) out.push([m.index, m.index + m[0].length]);
  }
}

/**
 * A separator between a label and a candidate TLD, by kind:
 * br: bracketed dot ("[.]", "(dot)", "【ドット】"); sp: spaced dot (" . ", " ."); td: tight ASCII dot (up to 3: "spam..com");
 * tc: tight ideographic or middle dot ("。", "・", "·"); wd: a dot word (" dot ", "ドット");
 * kd: 点/點 (Chinese "dot"); cm: a comma without a space after it ("spam,com", "spam ,com", " , ");
 * ld: dot then space (a sentence end, or "example. ru"); lc: comma then space.
 */
const DOMAIN_RE = new RegExp(
  String.raw`(?<=[\p{L}\p{N}\p{M}_-])(?:` +
    String.raw`(?<br> ?[[({<【「『〔〈《] ?(?:[.。]|dot|ドット|どっと|点|點) ?[\])}>】」』〕〉》] ?)` +
    String.raw`|(?<sp> [.。] ?)` +
    String.raw`|(?<td>\.{1,3})` +
    String.raw`|(?<tc>[。·•∙⋅・‧]{1,3})` +
    String.raw`|(?<wd> dot | ?(?:ドット|どっと) ?)` +
    String.raw`|(?<kd>[点點])` +
    String.raw`|(?<cm> [,、] | ?[,、](?! ))` +
    String.raw`|(?<ld>[.。] )` +
    String.raw`|(?<lc>[,、] )` +
    // The candidate is looked at, not consumed: a rejected one may hold the next separator ("あああドットxn--p1ai").
    `)(?=(?<cand>xn--[a-z0-9-]{1,59}|(?![${NOSPACE}])\\p{L}(?:(?![${NOSPACE}])[\\p{L}\\p{M}\\p{N}]){0,62}|[${NOSPACE}\\p{M}]{1,16}))`,
  'giu',
);
/** Local part and "at" before a domain: "user@", "user [at] ", "user at ". */
const AT_BEFORE_RE = /[\p{L}\p{N}\p{M}._%+'=~!#$&*/?^{|}`-]{1,64}(?: ?@ ?| ?[[({<【] ?(?:at|@|アット|あっと) ?[\])}>】] ?| at |アット|あっと)$/iu;
/** A path, port or query after a TLD goes with it (bounded: what is left without its host leads nowhere). */
const URL_TAIL_RE = /^[/:?#]\S{0,255}/u;

const cpLen = (s: string): number => Array.from(s).length;

/** How much of the candidate is a TLD (0: none), given the separator kind and what surrounds it. */
function tldLength(kind: string, cand: string, labelIsCjk: boolean, after: string, ends: readonly number[]): number {
  const lower = cand.toLowerCase();
  if (!NOSPACE_RE.test(cand[0] ?? '')) {
    if (WORD_NOCJK_RE.test(after)) return 0; // longer than any label
    const list = kind === 'ld' ? COMMON_TLDS : kind === 'lc' ? LOOSE_COMMA_TLDS : TLDS;
    if (kind === 'kd' && !/^[a-z]+$/.test(lower)) return 0;
    if (list.has(lower)) return cand.length;
    // Unknown words after an unambiguous dot count too (new TLDs, "c0m").
    const generic = kind === 'br' || kind === 'sp' || kind === 'td' || kind === 'tc';
    if (generic && cpLen(cand) >= 2) return cand.length;
    // Letter-spaced text joined in the second view: the TLD may end where a space was ("c o m is").
    for (let k = ends.length - 1; k >= 0; k--) {
      const n = ends[k] ?? 0;
      if (list.has(lower.slice(0, n))) return n;
    }
    return 0;
  }
  // A CJK-like candidate: prose continues without spaces, so a TLD may be a prefix ("example.みんなへ").
  if (kind === 'ld' || kind === 'lc' || kind === 'kd') return 0;
  const whole = !NOSPACE_RE.test(after) && !/\p{M}/u.test(after);
  // Japanese and Chinese sentences end with "。" and list with "・" "、": after a CJK word the TLD must stand alone.
  const strong = kind === 'br' || kind === 'td' || kind === 'wd' || kind === 'sp' || !labelIsCjk;
  if (whole && TLDS.has(lower) && (strong || !LETTER_RE.test(after))) return cand.length;
  if (!strong) {
    // A joined space is a boundary too ("あ あ 。 家 電 thanks").
    for (let k = ends.length - 1; k >= 0; k--) if (TLDS.has(lower.slice(0, ends[k]))) return ends[k] ?? 0;
    return 0;
  }
  const cps = Array.from(cand);
  for (let n = cps.length - (whole ? 1 : 0); n >= 1; n--) {
    const p = cps.slice(0, n).join('');
    if (TLDS.has(p.toLowerCase())) return p.length;
  }
  return 0;
}

function domainSpans(t: string, joints: ReadonlySet<number> | undefined, out: Span[]): void {
  for (const m of t.matchAll(DOMAIN_RE)) {
    const g = m.groups ?? {};
    const cand = g.cand ?? '';
    let kind = ['br', 'sp', 'td', 'tc', 'wd', 'kd', 'cm', 'ld', 'lc'].find((k) => g[k] !== undefined) ?? '';
    const candStart = m.index + m[0].length;
    // Second view: "thanks. a" joined to "thanks.a" is still a dot (or comma) then a space.
    if (joints && joints.has(candStart) && !joints.has(m.index)) {
      if (kind === 'td' || kind === 'tc') kind = 'ld';
      else if (kind === 'cm') kind = 'lc';
    }
    const before = String.fromCodePoint(t.codePointAt(m.index - 1) ?? 0);
    const labelIsCjk = NOSPACE_RE.test(t[m.index - 1] ?? '') || NOSPACE_RE.test(before);
    const ends: number[] = [];
    if (joints) for (let k = 1; k <= cand.length; k++) if (joints.has(candStart + k)) ends.push(k);
    const n = tldLength(kind, cand, labelIsCjk, String.fromCodePoint(t.codePointAt(candStart + cand.length) ?? 0), ends);
    if (n === 0) continue;
    let end = candStart + n;
    const tail = URL_TAIL_RE.exec(t.slice(end, end + 256));
    if (tail) end += tail[0].length;
    // Back over the label and any labels before it joined by a tight dot (not "。" or "・": prose).
    let start = m.index;
    while (start > 0 && m.index - start < 253) {
      const c = t[start - 1] ?? '';
      if (LABEL_CH_RE.test(c) || /[\uD800-\uDFFF]/.test(c)) start--;
      else if (/[.·‧∙⋅•]/.test(c) && start >= 2 && LABEL_CH_RE.test(t[start - 2] ?? '')) start--;
      else break;
    }
    const at = AT_BEFORE_RE.exec(t.slice(Math.max(0, start - 100), start));
    if (at) start -= at[0].length;
    out.push([start, end]);
  }
}

function viewSpans(v: View): Span[] {
  const t = v.text;
  const spans: Span[] = [];
  for (const re of SIMPLE) {
    for (const m of t.matchAll(re)) {
      if (re === SIMPLE[SIMPLE.length - 1] && !/[0-9a-f]/i.test(m[0].replaceAll(':', ''))) continue;
      if (m[0].length > 0) spans.push([m.index, m.index + m[0].length]);
    }
  }
  for (const m of t.matchAll(PHONE_RE)) spans.push([m.index, m.index + m[0].length]);
  domainSpans(t, v.joints, spans);
  messengerSpans(t, spans);
  // Back to text coordinates.
  return spans.map(([s, e]) => [v.from[s] ?? 0, v.to[e - 1] ?? 0] as Span);
}

function removeContacts(s: string): string {
  let out = s;
  // A removal can expose a new shape ("example dot <url> com"): repeat until stable.
  for (let pass = 0; pass < 6; pass++) {
    // Kanji numerals fold only in one pair of views: "八卦" is a TLD, "〇九〇" a number.
    const plain = foldView(out, false);
    const numeric = foldView(out, true);
    const spans = [plain, squeezeView(plain), numeric, squeezeView(numeric)].flatMap(viewSpans).filter(([a, b]) => b > a);
    if (spans.length === 0) break;
    spans.sort((a, b) => a[0] - b[0]);
    let next = '';
    let pos = 0;
    for (const [a, b] of spans) {
      if (b <= pos) continue;
      if (a > pos) next += out.slice(pos, a);
      next += ' ';
      pos = Math.max(pos, b);
    }
    next += out.slice(pos);
    out = next;
  }
  return out;
}

/** Tight domain shape for callers and tests: label, dot, non-CJK TLD. */
const CJK = String.raw`\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}`;
const LABEL = String.raw`[\p{L}\p{N}\p{M}_-]{1,63}`;
const TLD_GENERIC = String.raw`(?:(?![${CJK}])\p{L})(?:(?![${CJK}])[\p{L}\p{N}\p{M}-]){1,62}`;
export const DOMAIN_LIKE_RE = new RegExp(`${LABEL}[.。]${TLD_GENERIC}`, 'u');

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
 * NFKC, controls/bidi stripped, URLs, domains, emails, phone numbers, IP
 * addresses and messenger handles removed (in every digit, dash and dot
 * form), whitespace collapsed to single spaces, capped at `opts.maxLength`
 * code points. Never contains CR or LF.
 */
export function sanitizeVisitorText(value: string, opts: { maxLength: number }): string {
  if (typeof value !== 'string') return '';
  const max = Math.max(0, Math.floor(opts.maxLength));
  // NFKC can lengthen text (one character up to 18): cut again after it.
  let s = truncateCodePoints(truncateCodePoints(value, MAX_INPUT).normalize('NFKC'), MAX_INPUT);
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
