import { describe, expect, it } from 'vitest';
import { parseEmail } from './email.js';

describe('parseEmail', () => {
  it('accepts one plain address and canonicalises the domain', () => {
    expect(parseEmail('Taro.Yamada+shop@Example.JP')).toBe('Taro.Yamada+shop@example.jp');
    expect(parseEmail('info@例え.jp')).toBe('info@xn--r8jz45g.jp');
  });
  it.each([
    ['CR/LF', 'a@example.jp\r\nBcc: victim@example.com'],
    ['LF', 'a@example.jp\nb@example.jp'],
    ['comma list', 'a@example.jp,b@example.jp'],
    ['semicolon list', 'a@example.jp;b@example.jp'],
    ['display name', 'Taro <a@example.jp>'],
    ['two at signs', 'a@b@example.jp'],
    ['spaces', 'a b@example.jp'],
    ['no domain dot', 'a@localhost'],
    ['numeric tld', 'a@1.2.3.4'],
    ['quoted local', '"a b"@example.jp'],
    ['comment', 'a@example.jp(comment)'],
    ['empty', ''],
    ['too long', `${'a'.repeat(60)}@${'b'.repeat(200)}.jp`],
  ])('rejects %s', (_what, input) => {
    expect(parseEmail(input)).toBeNull();
  });
});
