import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { DEFANG_MAX, defang } from './defang.js';

describe('defang', () => {
  it.each([
    ['http://x.ru/a', 'hxxp://x[.]ru/a'],
    ['https://spam.example.com/a.html?to=evil.com', 'hxxps://spam[.]example[.]com/a[.]html?to=evil[.]com'],
    ['HTTP://X.RU', 'HXXP://X[.]RU'],
    ['ftp://files.x.ru/f', 'ftp[://]files[.]x[.]ru/f'],
    ['http://user:pw@x.ru/', 'hxxp://user:pw[at]x[.]ru/'],
    ['mail a@b.cc now', 'mail a[at]b[.]cc now'],
    ['first.last@mail.example.org', 'first[.]last[at]mail[.]example[.]org'],
    ['visit x.ru or www.y.com', 'visit x[.]ru or www[.]y[.]com'],
    ['例え.jp', '例え[.]jp'],
    ['example．ru', 'example[．]ru'],
    ['1.2.3.4', '1[.]2[.]3[.]4'],
    ['v1.2 and e.g. and 3.14', 'v1.2 and e.g. and 3.14'],
    ['line1\nline2\r\nline3', 'line1 ⏎ line2 ⏎ line3'],
    ['bidi\u202Etxt\u200B', 'biditxt'],
  ])('%j -> %j', (input, expected) => {
    expect(defang(input)).toBe(expected);
  });

  it('is idempotent', () => {
    const samples = ['http://x.ru/a', 'hxxp://x[.]ru/a', 'a.b@c.d.ef', 'ftp://a.bc', 'see x.ru'];
    for (const s of samples) expect(defang(defang(s))).toBe(defang(s));
    fc.assert(
      fc.property(fc.oneof(fc.webUrl(), fc.emailAddress(), fc.domain()), (v) => {
        expect(defang(defang(v))).toBe(defang(v));
      }),
      { numRuns: 200 },
    );
  });

  it('leaves no clickable URL, address or bare domain', () => {
    fc.assert(
      fc.property(fc.oneof(fc.webUrl({ withQueryParameters: true }), fc.emailAddress(), fc.domain()), fc.string({ maxLength: 20 }).filter((p) => !p.includes('@')), (v, pad) => {
        const out = defang(`${pad} ${v} ${pad}`, 1000);
        expect(out).not.toMatch(/https?:\/\//i);
        expect(out).not.toMatch(/@[a-z0-9-]+\.[a-z]/i);
        expect(out).not.toMatch(/[a-z0-9-]\.[a-z]{2}/i);
      }),
      { numRuns: 200 },
    );
  });

  it('bounds the length in code points and marks the cut', () => {
    const long = 'a'.repeat(1000);
    expect(defang(long)).toBe(`${'a'.repeat(DEFANG_MAX)}…`);
    expect(defang('😀'.repeat(20), 5)).toBe(`${'😀'.repeat(5)}…`);
    expect(defang('short', 5)).toBe('short');
  });
});
