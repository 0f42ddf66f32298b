// The CF7 tag language as CF7 documents and parses it, and labels as a person reads them.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cleanLabel, labelFor, maxLengthOption, parseAtts, scanTags, splitPipe } from './tags.js';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');

describe('scanTags', () => {
  it("reads CF7's default template: types, names, options, values, required marks", () => {
    const tags = scanTags(fixture('default-form.txt'));
    expect(tags.map((t) => [t.type, t.name, t.required, t.options, t.values])).toEqual([
      ['text*', 'your-name', true, ['autocomplete:name'], []],
      ['email*', 'your-email', true, ['autocomplete:email'], []],
      ['text*', 'your-subject', true, [], []],
      ['textarea', 'your-message', false, [], []],
      ['submit', '', false, [], ['Submit']],
    ]);
  });

  it('options before quoted values, pipes kept, content tags, escaped tags skipped, unknown tags listed', () => {
    const t = scanTags(
      `[select* menu-1 include_blank "A|a@example.jp" 'B'] [[text literal]] [acceptance ok optional] I <b>agree</b> [/acceptance] [mc4wp_checkbox "News"] [text bad "x" opt]`,
    );
    expect(t.map((x) => x.type)).toEqual(['select*', 'acceptance', 'mc4wp_checkbox', 'text']);
    expect(t[0]).toMatchObject({ name: 'menu-1', options: ['include_blank'], values: ['A|a@example.jp', 'B'], known: true });
    expect(t[1]).toMatchObject({ name: 'ok', options: ['optional'], content: 'I <b>agree</b>' });
    expect(t[2]).toMatchObject({ known: false, basetype: 'mc4wp_checkbox', values: ['News'] });
    // An option after a quoted value is not CF7 syntax: CF7 ignores the tag.
    expect(t[3]).toMatchObject({ problem: 'attributes' });
    expect(scanTags('[text 1abc]')[0]).toMatchObject({ problem: 'name' });
  });

  it('parseAtts, maxlength forms and pipes follow CF7', () => {
    expect(parseAtts(' your-name\u00a0placeholder "お名前" ')).toEqual({ options: ['your-name', 'placeholder'], values: ['お名前'] });
    expect(parseAtts('x "a" b')).toBeNull();
    const [t] = scanTags('[text a 40/100 minlength:2]');
    expect(maxLengthOption(t!)).toBe(100);
    expect(maxLengthOption(scanTags('[textarea a 40x10/500]')[0]!)).toBe(500);
    expect(maxLengthOption(scanTags('[text a maxlength:30 10/5]')[0]!)).toBe(30);
    expect(splitPipe('営業|sales@example.jp')).toEqual({ label: '営業', value: 'sales@example.jp' });
    expect(splitPipe('plain')).toEqual({ label: 'plain', value: 'plain' });
  });
});

describe('labelFor', () => {
  const label = (template: string, i = 0) => {
    const tags = scanTags(template);
    return labelFor(template, tags[i]!, tags);
  };
  it('the <label> around the tag, without required/optional marks', () => {
    expect(label('<label> Your message (optional)\n    [textarea your-message] </label>')).toBe('Your message');
    expect(label('<label>お名前 <span class="req">※必須</span> [text* n]</label>')).toBe('お名前');
    expect(label('<label>[checkbox c "x"] ニュースを受け取る</label>')).toBe('ニュースを受け取る');
  });
  it('a <label for> naming the id:, a <th>, a <dt>, or the text just before', () => {
    expect(label('<label for="m">お問い合わせ内容（必須）</label>\n[textarea* m id:m]')).toBe('お問い合わせ内容');
    expect(label('<tr><th>電話番号<span>必須</span></th><td>[tel t]</td></tr>')).toBe('電話番号');
    expect(label('<dl><dt>ご用件：</dt><dd>[select s "a"]</dd></dl>')).toBe('ご用件');
    expect(label('<p>フリガナ【必須】<br />\n[text k]</p>')).toBe('フリガナ');
    expect(label('[text a]<p>会社名 &amp; 部署<br>[text b]</p>', 1)).toBe('会社名 & 部署');
    expect(label('[text a] [text b]', 1)).toBe('');
  });
  it('cleanLabel drops the usual markers', () => {
    expect(cleanLabel('メールアドレス (必須) ')).toBe('メールアドレス');
    expect(cleanLabel('Your email *')).toBe('Your email');
    expect(cleanLabel('ご住所（任意）：')).toBe('ご住所');
  });
});
