// PHP serialization as WordPress stores CF7's mail settings: s:N: counts UTF-8 bytes; an XML export that
// turned CRLF into LF is read back; objects are refused.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { phpStringMap, phpUnserialize, recountLineEnds } from './php.js';

/** PHP's serialize() for string maps (the test's own, independent of the parser under test). */
function serialize(map: Record<string, string | boolean>): string {
  const s = (v: string) => `s:${Buffer.byteLength(v, 'utf8')}:"${v}";`;
  return `a:${Object.keys(map).length}:{${Object.entries(map)
    .map(([k, v]) => s(k) + (typeof v === 'boolean' ? `b:${v ? 1 : 0};` : s(v)))
    .join('')}}`;
}

describe('phpUnserialize', () => {
  it('reads multibyte strings whose s:N: counts UTF-8 bytes', () => {
    const text = 'a:3:{s:7:"subject";s:36:"【サンプル】お問い合わせ";s:6:"active";b:1;s:8:"use_html";b:0;}';
    expect(Buffer.byteLength('【サンプル】お問い合わせ')).toBe(36);
    const { value, repaired } = phpUnserialize(text);
    expect(repaired).toBe(false);
    expect(Object.fromEntries(phpStringMap(value))).toEqual({ subject: '【サンプル】お問い合わせ', active: '1', use_html: '' });
  });

  it('refuses a length that counts characters instead of bytes, and PHP objects', () => {
    expect(() => phpUnserialize('a:1:{s:7:"subject";s:12:"【サンプル】お問い合わせ";}')).toThrow(/not PHP-serialized/);
    expect(() => phpUnserialize('O:8:"stdClass":1:{s:1:"a";s:1:"b";}')).toThrow(/not PHP-serialized/);
    expect(() => phpUnserialize('<p>not serialized</p>')).toThrow(/not PHP-serialized/);
  });

  it('reads a value whose CRLF line ends the XML export turned into LF', () => {
    const body = '[your-name] 様\r\n\r\nお問い合わせ内容:\r\n[your-message]';
    const lf = serialize({ body, subject: 'テスト' }).replace(/\r\n/g, '\n');
    const { value, repaired } = phpUnserialize(lf);
    expect(repaired).toBe(true);
    expect(phpStringMap(value).get('body')).toBe(body.replace(/\r\n/g, '\n'));
  });

  it('property: any string map round-trips, also after the export normalized CRLF to LF', () => {
    const text = fc.string({ unit: fc.constantFrom('a', 'Z', ' ', '"', ';', ':', '{', '}', 's:1:"', '\r\n', '\n', 'あ', '様', '😀', 'é', '\\', '|'), maxLength: 40 });
    fc.assert(
      // A "__proto__" key cannot become an own key of the parsed object (and CF7 has none): not generated.
      fc.property(fc.dictionary(fc.string({ minLength: 1, maxLength: 12 }).filter((k) => k !== '__proto__'), fc.oneof(text, fc.boolean()), { maxKeys: 6 }), (map) => {
        const expected = new Map(Object.entries(map).map(([k, v]) => [k, typeof v === 'boolean' ? (v ? '1' : '') : v]));
        const serialized = serialize(map);
        expect(phpStringMap(phpUnserialize(serialized).value)).toEqual(expected);
        // What an XML reader hands over: every CRLF (and lone CR) as LF.
        const normalized = serialized.replace(/\r\n?/g, '\n');
        const lf = new Map([...expected].map(([k, v]) => [k, v.replace(/\r\n?/g, '\n')]));
        // (A value containing '";' cannot be told apart from its end once its lengths are wrong: not tried.)
        if (!/\r|";/.test(Object.entries(map).flat().join(''))) expect(phpStringMap(phpUnserialize(normalized).value)).toEqual(lf);
      }),
      { numRuns: 300 },
    );
  });

  it('recountLineEnds leaves correct data alone and gives up on text that is not serialized', () => {
    const ok = serialize({ a: 'x\ny' });
    expect(recountLineEnds(ok)).toBe(ok);
    expect(recountLineEnds('hello')).toBeNull();
  });
});
