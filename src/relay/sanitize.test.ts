import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { cpuTime } from '../../test/support/cpu.js';
import { DOMAIN_LIKE_RE, FIELD_ECHO_MAX, NAME_ECHO_MAX, echoCapFor, sanitizeVisitorText, truncateCodePoints } from './sanitize.js';

const s = (v: string, maxLength = FIELD_ECHO_MAX): string => sanitizeVisitorText(v, { maxLength });

// Independent oracle: a label char, a dot (ASCII, ideographic, full-width), two non-CJK letters.
const CJK = String.raw`\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}`;
const DOMAIN_ORACLE = new RegExp(String.raw`[\p{L}\p{N}_-][.。．｡](?:(?![${CJK}])\p{L}){2}`, 'u');

describe('caps', () => {
  it('exposes 40 for name and 200 for other fields', () => {
    expect(NAME_ECHO_MAX).toBe(40);
    expect(FIELD_ECHO_MAX).toBe(200);
    expect(echoCapFor('name')).toBe(40);
    expect(echoCapFor('message')).toBe(200);
  });
});

describe('sanitizeVisitorText: URLs', () => {
  it.each([
    ['Hi, visit http://spam.ru/buy now', 'Hi, visit now'],
    ['go https://a.b.example.com/x?y=1#z today', 'go today'],
    ['hxxp://spam.ru/a stays out', 'stays out'],
    ['h**p://spam.ru/x', ''],
    ['h__ps://spam.ru', ''],
    ['ftp://files.spam.ru/x and more', 'and more'],
    ['weird-scheme+1://whatever', ''],
    ['hxxp[:]//spam[.]ru', ''],
    ['see www.spam.ru please', 'see please'],
    ['www . spam . ru ok', 'ok'],
    ['Visit:http://x.ru,thanks end', 'end'],
    ['mailto:x@y.z', ''],
    ['tel:+15551234567 call', 'call'],
    ['javascript:alert(1)', ''],
    ['ｈｔｔｐ：／／spam．ru', ''],
  ])('%j -> %j', (input, expected) => {
    expect(s(input)).toBe(expected);
  });
});

describe('sanitizeVisitorText: domains', () => {
  it.each([
    ['example.ru', ''],
    ['buy from example[.]ru now', 'buy from now'],
    ['buy at example[.]ru now', 'now'], // "x at domain" reads as an address: removed whole
    ['example(.)ru', ''],
    ['example{.}ru', ''],
    ['example [dot] ru', ''],
    ['example (dot) com', ''],
    ['example . ru', ''],
    ['example .ru', ''],
    ['example dot ru', ''],
    ['example DOT com', ''],
    ['example. ru', ''],
    ['example．ru', ''],
    ['example｡ru', ''],
    ['example。ru', ''],
    ['example·com', ''],
    ['example‧com', ''],
    ['example.c0m', ''],
    ['ⓔⓧⓐⓜⓟⓛⓔ.ⓒⓞⓜ', ''],
    ['exa\u200Bmple.com', ''],
    ['пример.рф', ''],
    ['Привет пример.рф пока', 'Привет пока'],
    ['例え.jp', ''],
    ['例子.中国', ''],
    ['xn--r8jz45g.jp', ''],
    ['xn--e1afmkfd alone', 'alone'],
    ['詳しくはexample.comへ', 'へ'],
    ['192.168.0.1', ''],
    ['sub.domain.example.co.uk', ''],
  ])('%j -> %j', (input, expected) => {
    expect(s(input)).toBe(expected);
  });

  it('keeps ordinary prose, sentence ends and Japanese text', () => {
    expect(s('Thanks. Best regards, John')).toBe('Thanks. Best regards, John');
    expect(s('I have 3 cats and 2 dogs')).toBe('I have 3 cats and 2 dogs');
    expect(s('version 1.2.3, e.g. this')).toBe('version 1.2.3, e.g. this');
    expect(s('polka dot dress')).toBe('polka dot dress');
    expect(s('お問い合わせありがとうございます。よろしくお願いします。')).toBe(
      'お問い合わせありがとうございます。よろしくお願いします。',
    );
    expect(s('です．よろしく')).toBe('です.よろしく');
    expect(s('ジョン・スミス')).toBe('ジョン・スミス');
    expect(s('• first item\n• second item')).toBe('• first item • second item');
  });
});

describe('sanitizeVisitorText: addresses and phones', () => {
  it.each([
    ['mail me: user@example.com', 'mail me:'],
    ['first.last+tag@sub.example.org thanks', 'thanks'],
    ['user [at] example [dot] com', ''],
    ['user(at)example(dot)com', ''],
    ['user at example dot com', ''],
    ['user＠example．com', ''],
    ['user﹫example.com', ''],
    ['root@localhost', ''],
    ['ping @spammer', 'ping'],
    ['user [at] gmail', ''],
    ['call +1 (555) 123-4567 today', 'call today'],
    ['555.123.4567', ''],
    ['5551234567', ''],
    ['090-1234-5678', ''],
    ['０９０－１２３４－５６７８', ''],
    ['٠١٢٣٤٥٦٧٨٩', ''],
  ])('%j -> %j', (input, expected) => {
    expect(s(input)).toBe(expected);
  });

  it('keeps short numbers', () => {
    expect(s('meet at 5pm, room 123-45')).toBe('meet at 5pm, room 123-45');
  });
});

describe('sanitizeVisitorText: characters and length', () => {
  it('turns CR/LF/tab into single spaces and trims', () => {
    expect(s('  line1\r\n\r\nline2\tend  ')).toBe('line1 line2 end');
    expect(s('a\u2028b\u2029c\u0085d')).toBe('a b c d');
  });

  it('strips controls, bidi overrides/isolates, zero-width and tag characters', () => {
    expect(s('safe\u202Eevil\u202C\u2066x\u2069\u200E\u200F\u061C')).toBe('safeevilx');
    expect(s('a\u0000b\u0007c\u001Bd\u007F')).toBe('abcd');
    expect(s('a\u200Bb\u200Dc\uFEFFd\u00ADe')).toBe('abcde');
    expect(s('hi\u{E0041}\u{E0042}')).toBe('hi');
    expect(s('priv\uE000ate')).toBe('private');
    expect(s('lone\uD800surrogate')).toBe('lonesurrogate');
  });

  it('applies NFKC', () => {
    expect(s('Ｈｅｌｌｏ　ｗｏｒｌｄ')).toBe('Hello world');
  });

  it('caps at maxLength code points without splitting surrogate pairs', () => {
    const emoji = '😀'.repeat(50);
    const out = s(emoji, NAME_ECHO_MAX);
    expect(Array.from(out)).toHaveLength(40);
    expect(out).toBe('😀'.repeat(40));
    expect(s('a😀b', 2)).toBe('a😀');
    expect(s('abcdef', 3)).toBe('abc');
  });

  it('re-checks after cutting: the cut never leaves a trailing space', () => {
    expect(s('abc def', 4)).toBe('abc');
  });

  it('returns an empty string for 0 length and for non-strings', () => {
    expect(s('hello', 0)).toBe('');
    expect(sanitizeVisitorText(undefined as unknown as string, { maxLength: 10 })).toBe('');
  });

  it('stays fast on adversarial input', () => {
    const inputs = ['a'.repeat(50_000), 'a.'.repeat(20_000), 'a . '.repeat(10_000), 'です．よろしく'.repeat(3000), 'a dot '.repeat(5000)];
    // CPU time, not wall time: the bound is on the work, whatever else the machine is doing.
    const { ms } = cpuTime(() => {
      for (const i of inputs) s(i);
    });
    expect(ms).toBeLessThan(2000);
  });
});

describe('DOMAIN_LIKE_RE', () => {
  it('matches plain, IDN and ideographic-dot domains but not CJK prose or versions', () => {
    for (const d of ['example.com', 'пример.рф', '例え.jp', 'example。ru', 'xn--r8jz45g.jp']) expect(d).toMatch(DOMAIN_LIKE_RE);
    for (const t of ['です.よろしく', 'v1.2', 'e.g', 'hello. world']) expect(t).not.toMatch(DOMAIN_LIKE_RE);
  });
});

describe('truncateCodePoints', () => {
  it('counts code points, not UTF-16 units', () => {
    expect(truncateCodePoints('😀😀😀', 2)).toBe('😀😀');
    expect(truncateCodePoints('ab', 5)).toBe('ab');
  });
});

describe('sanitizeVisitorText: properties', () => {
  const filler = fc.string({ unit: 'grapheme', maxLength: 60 });
  const asciiFiller = fc.string({ maxLength: 60 });
  const obfuscate = (d: string): fc.Arbitrary<string> =>
    fc.constantFrom(
      d,
      d.replaceAll('.', '[.]'),
      d.replaceAll('.', '(.)'),
      d.replaceAll('.', ' . '),
      d.replaceAll('.', ' [dot] '),
      d.replaceAll('.', '．'),
      d.replaceAll('.', '。'),
      d.toUpperCase(),
    );
  const injected = fc.oneof(
    fc.webUrl({ withQueryParameters: true, withFragments: true }),
    fc.webUrl().map((u) => u.replace(/^https?/, 'hxxp')),
    fc.domain().chain(obfuscate),
    fc.domain().map((d) => `www.${d}`),
    fc.emailAddress(),
    fc.emailAddress().map((e) => e.replace('@', ' [at] ').replaceAll('.', ' [dot] ')),
    fc.emailAddress().map((e) => e.replace('@', '＠')),
  );
  const maxLength = fc.integer({ min: 1, max: 200 });

  it('removes every injected URL, domain and address; bounded; single line', () => {
    fc.assert(
      fc.property(fc.oneof(filler, asciiFiller), injected, fc.oneof(filler, asciiFiller), maxLength, (pre, inj, post, max) => {
        const out = sanitizeVisitorText(`${pre} ${inj} ${post}`, { maxLength: max });
        expect(out.toLowerCase()).not.toContain('http');
        expect(out).not.toContain('://');
        expect(out).not.toMatch(DOMAIN_ORACLE);
        expect(out).not.toContain('@');
        expect(Array.from(out).length).toBeLessThanOrEqual(max);
        expect(out).not.toMatch(/[\r\n]/);
      }),
      { numRuns: 300 },
    );
  });

  it('even without spaces around the injection', () => {
    fc.assert(
      fc.property(asciiFiller, injected, asciiFiller, (pre, inj, post) => {
        const out = s(`${pre}${inj}${post}`);
        expect(out).not.toContain('://');
        expect(out).not.toMatch(DOMAIN_ORACLE);
      }),
      { numRuns: 200 },
    );
  });

  it('any input: no CR/LF, no controls, within cap, idempotent', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), maxLength, (v, max) => {
        const out = sanitizeVisitorText(v, { maxLength: max });
        expect(out).not.toMatch(/[\p{Cc}\p{Cf}\p{Cs}]/u);
        expect(Array.from(out).length).toBeLessThanOrEqual(max);
        expect(out).toBe(out.trim());
        expect(out).not.toMatch(/\s\s/);
        expect(sanitizeVisitorText(out, { maxLength: max })).toBe(out);
      }),
      { numRuns: 300 },
    );
  });
});

describe('sanitizeVisitorText: Japanese and Unicode forms (issue #10)', () => {
  it.each([
    ['電話は090ー1234ー5678まで', '電話は まで'],
    ['03−1234−5678', ''],
    ['090‐1234‐5678', ''],
    ['〇九〇ー一二三四ー五六七八', ''],
    ['〇九〇 千二百三十四 五千六百七十八', ''],
    ['壱弐参四五六七八', ''],
    ['❶❷❸❹❺❻❼❽', ''],
    ['०९०१२३४५६७८', ''],
    ['spam.みんな', ''],
    ['example.닷컴 です', 'です'],
    ['example.xn--p1ai', ''],
    ['s p a m . c o m', ''],
    ['s p a m d o t c o m is good', 'is good'],
    ['spam,com', ''],
    ['spam ,com', ''],
    ['spam(dot)com', ''],
    ['spamドットcom', ''],
    ['0x7f000001', ''],
    ['0x7f.0.0.1', ''],
    ['0177.0.0.1', ''],
    ['fe80::1ff:fe23:4567:890a', ''],
    ['一九二.一六八.〇.一', ''],
    ['LINE ID: spam_123 まで', 'まで'],
    ['ラインID：abcdef', ''],
    ['微信: wxid_abc', ''],
    ['Skype: live:abc', ''],
    ['t.me/spammer ok', 'ok'],
  ])('%j -> %j', (input, expected) => {
    expect(s(input)).toBe(expected);
  });

  it('keeps times, amounts, dates in words, kanji words and messenger names used as words', () => {
    for (const t of [
      '営業時間は9:00-17:00です',
      'ご予算は1,500,000円です',
      '一緒に行きましょう。みんなで楽しみます。',
      '千葉に住んでいます',
      '二〇二五年十二月',
      'この点について',
      'the line is busy',
      'instant noodles',
    ]) {
      expect(s(t)).toBe(t);
    }
  });
});
