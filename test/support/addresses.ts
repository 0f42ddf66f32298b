// fast-check arbitraries for recipient identity (issue 10, classes 1 and 2): a genuine mailbox, and the
// spellings of it an attacker can type: '+tags' carrying domain-, URL-, phone-like, Japanese or random
// text, mixed case, full-width forms, provider aliases (Gmail dots, googlemail.com, Yandex domains,
// Fastmail subdomain addressing); and local parts with routing syntax.
import fc from 'fast-check';

/** A plain mailbox name, as people have them: words, at most two separators, at most 4 digits. */
export const mailboxName: fc.Arbitrary<string> = fc
  .tuple(
    fc.constantFrom('taro', 'yamada', 'hanako', 'suzuki', 'john', 'smith', 'mary', 'jane', 'ceo', 'info', 'sales', 'support', 'kim', 'lee', "o'brien", 'contact', 'x'),
    fc.array(fc.tuple(fc.constantFrom('.', '-', '_'), fc.constantFrom('taro', 'yamada', 'jp', 'doe', 'lee', 'kim', 'de', 'us', 'team', 'hr')), { maxLength: 2 }),
    fc.option(fc.integer({ min: 0, max: 9999 }), { nil: undefined }),
  )
  .map(([first, rest, n]) => `${first}${rest.map(([s, w]) => `${s}${w}`).join('')}${n === undefined ? '' : n}`);

export const companyDomain: fc.Arbitrary<string> = fc
  .tuple(fc.stringMatching(/^[a-z][a-z0-9]{1,9}(?:-[a-z0-9]{1,5})?$/), fc.constantFrom('example', 'example.com', 'co.jp', 'jp', 'com', 'example.net', 'ne.jp'))
  .map(([l, t]) => `${l}.${t}`);

export const PROVIDER_DOMAINS = [
  'gmail.com', 'googlemail.com', 'outlook.com', 'hotmail.com', 'live.com', 'icloud.com', 'me.com', 'yahoo.com', 'yahoo.co.jp',
  'yandex.ru', 'yandex.com', 'ya.ru', 'fastmail.com', 'proton.me', 'protonmail.com', 'docomo.ne.jp', 'ezweb.ne.jp', 'zoho.com',
] as const;

export const recipientDomain: fc.Arbitrary<string> = fc.oneof(
  { weight: 2, arbitrary: companyDomain },
  { weight: 2, arbitrary: fc.constantFrom(...PROVIDER_DOMAINS) },
  { weight: 1, arbitrary: fc.constantFrom('例え.jp', 'bücher.example', 'xn--r8jz45g.jp') },
);

const word = fc.stringMatching(/^[a-z]{3,10}$/);
const tld = fc.constantFrom('com', 'net', 'org', 'jp', 'co.jp', 'ru', 'example', 'info', 'xyz', 'shop', 'click');
const phone = fc
  .tuple(fc.constantFrom('090', '080', '0120', '03', '06', '555', '81-90'), fc.integer({ min: 100, max: 9999 }), fc.integer({ min: 1000, max: 9999 }), fc.constantFrom('-', '.', '_', ''))
  .map(([a, b, c, s]) => `${a}${s}${b}${s}${c}`);

/** Visitor text an attacker puts in a tag, ASCII only (what the form's email field accepts). */
export const asciiPayload: fc.Arbitrary<string> = fc.oneof(
  fc.tuple(word, tld).map(([w, t]) => `${w}.${t}`),
  fc.tuple(word, word, tld).map(([a, b, t]) => `WIN-at-www.${a}-${b}.${t}/ja`),
  fc.tuple(word, tld).map(([w, t]) => `http-www.${w}.${t}`),
  fc.tuple(word, fc.constantFrom('dot', '-dot-', '_dot_')).map(([w, d]) => `${w}${d}com`),
  phone,
  fc.tuple(fc.constantFrom('call', 'tel', 'line'), phone).map(([w, p]) => `${w}-${p}`),
  fc.stringMatching(/^[A-Za-z0-9#$&'*?^_`{|}~-]{1,24}$/),
  fc.tuple(word, word).map(([a, b]) => `${a}+${b}`), // a second '+'
);

/** Tag text including what only normalizeAddress sees (bounces, the CLI): Japanese, full-width, spaces. */
export const anyPayload: fc.Arbitrary<string> = fc.oneof(
  asciiPayload,
  fc.constantFrom('お得情報', '当選しました', '０９０ー１２３４ー５６７８', 'ｗｗｗ．ｓｐａｍ．ｃｏｍ', 'spam com', '今すぐ.jp'),
  fc.string({ minLength: 1, maxLength: 20 }).filter((s) => !s.includes('@')),
);

/** A tag as the form accepts it: no empty dot-atoms (the local part must stay a dot-atom). */
export function asTag(payload: string): string {
  return payload.replace(/\.{2,}/g, '.').replace(/\.+$/, '') || 'x';
}

const FULL_WIDTH_OFFSET = 0xfee0;
/** ASCII '!'..'~' to their full-width forms (NFKC maps them back). */
export function toFullWidth(s: string): string {
  return s.replace(/[!-~]/g, (c) => String.fromCharCode(c.charCodeAt(0) + FULL_WIDTH_OFFSET));
}

/** Random upper/lower case per character, driven by a bit mask. */
export function mixCase(s: string, mask: number[]): string {
  return [...s].map((c, i) => ((mask[i % mask.length] ?? 0) % 2 ? c.toUpperCase() : c.toLowerCase())).join('');
}

export interface Variant {
  address: string;
  /** The tag text in it ('' for none): it must never reach a stranger's To: header. */
  tag: string;
  /** Accepted by the form's email field (ASCII local part, one '@'). */
  formSafe: boolean;
}

/** Gmail ignores dots: the same name with dots put between letters. */
function gmailDots(name: string, where: number[]): string {
  const out: string[] = [];
  [...name].forEach((c, i) => {
    out.push(c);
    if (i < name.length - 1 && /[a-z0-9]/i.test(c) && /[a-z0-9]/i.test(name[i + 1]!) && (where[i % where.length] ?? 0) % 3 === 0) out.push('.');
  });
  return out.join('');
}

/** One spelling of the mailbox name@domain, with or without a tag. */
export function variantOf(
  name: string,
  domain: string,
  opts: { payload: string | null; caseMask: number[]; fullWidth: 'none' | 'domain' | 'all'; alias: number; spaces: boolean; trailingDot: boolean },
): Variant {
  let local = name;
  let dom = domain;
  let formSafe = true;
  const gmail = domain === 'gmail.com' || domain === 'googlemail.com';
  if (gmail && opts.alias % 2) local = gmailDots(local, opts.caseMask);
  if (gmail && opts.alias % 3 === 0) dom = dom === 'gmail.com' ? 'googlemail.com' : 'gmail.com';
  const yandex = ['yandex.ru', 'yandex.com', 'ya.ru', 'yandex.by', 'yandex.kz', 'yandex.ua'];
  if (yandex.includes(domain)) dom = yandex[opts.alias % yandex.length]!;
  const tag = opts.payload === null ? '' : asTag(opts.payload);
  if (!/^[\x21-\x7e]*$/.test(tag)) formSafe = false;
  // Fastmail subdomain addressing: the whole local part is the tag, the mailbox name is the first label.
  if (domain === 'fastmail.com' && tag && opts.alias % 2 && /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/.test(name)) {
    local = tag;
    dom = `${name}.fastmail.com`;
    if (!/^[A-Za-z0-9!#$&'*+/=?^_`{|}~.-]+$/.test(tag) || tag.startsWith('.')) formSafe = false;
  } else if (tag) local = `${local}+${tag}`;
  local = mixCase(local, opts.caseMask);
  dom = mixCase(dom, opts.caseMask.slice().reverse());
  if (opts.fullWidth === 'all') {
    local = toFullWidth(local);
    formSafe = false;
  }
  if (opts.fullWidth !== 'none') dom = toFullWidth(dom);
  if (opts.trailingDot) {
    dom = `${dom}.`;
    formSafe = false;
  }
  let address = `${local}${opts.fullWidth === 'all' ? '＠' : '@'}${dom}`;
  if (opts.spaces) {
    address = ` ${address}\t`;
    formSafe = false;
  }
  return { address, tag, formSafe };
}

export const variantOpts = (payload: fc.Arbitrary<string>) =>
  fc.record({
    payload: fc.option(payload, { nil: null, freq: 4 }),
    caseMask: fc.array(fc.nat(5), { minLength: 1, maxLength: 8 }),
    fullWidth: fc.constantFrom('none' as const, 'none' as const, 'domain' as const, 'all' as const),
    alias: fc.nat(11),
    spaces: fc.boolean(),
    trailingDot: fc.boolean(),
  });

/** Routing syntax an attacker can put in a local part: percent hack, bang path, X.400 / SRS. */
export const routingLocal: fc.Arbitrary<string> = fc.oneof(
  fc.tuple(mailboxName, companyDomain).map(([n, d]) => `${n}%${d}`),
  fc.tuple(companyDomain, mailboxName).map(([d, n]) => `${d.replace(/\./g, '-')}!${n}`),
  fc.tuple(mailboxName, companyDomain, mailboxName).map(([a, d, b]) => `${a}+x%${b}%${d}`),
  fc.tuple(mailboxName, mailboxName).map(([a, b]) => `/G=${a}/S=${b}/`),
  fc.tuple(mailboxName, companyDomain).map(([a, d]) => `SRS0=ab12=cd=${d}=${a}`),
  fc.tuple(mailboxName, fc.constantFrom('%', '!', '/', '='), mailboxName).map(([a, c, b]) => `${a}${c}${b}`),
);
