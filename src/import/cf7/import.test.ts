// Importing Contact Form 7: CF7's default form and mail, varied templates written from CF7's documented
// tag syntax, a WordPress export of two forms and the REST API JSON. Every result goes through the real
// configuration loader and relay lint, and the auto-reply is rendered by the real planner.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../config/load.js';
import type { Config } from '../../config/schema.js';
import { planAutoreply } from '../../mail/plan.js';
import { lintForm, visitorFieldsIn } from '../../relay/template-lint.js';
import { formIdFromTitle } from './convert.js';
import { importCf7, readSource, type ImportResult } from './index.js';
import { parseWxr } from './wxr.js';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
const run = (name: string, opts = {}) => importCf7(readSource(fixture(name), name), opts);

/** The configuration loads with the relay lint on, and no auto-reply can carry what a visitor typed. */
function checkSafe(r: ImportResult): Config {
  const config = parseConfigText(r.yaml, 'import');
  for (const form of config.forms) {
    expect(lintForm(form).filter((i) => i.severity === 'error')).toEqual([]);
    const ar = form.autoreply;
    if (!ar) continue;
    expect(ar.echo).toBe('none');
    expect(visitorFieldsIn(ar.subject, form)).toEqual([]);
    expect(visitorFieldsIn(ar.body, form)).toEqual([]);
    // Render it as Formwarden would: no visitor value shows up.
    const values = Object.fromEntries(form.fields.map((f, i) => [f.name, f.type === 'email' ? `v${i}@visitor.example` : `VISITOR${i}TEXT`]));
    const plan = planAutoreply(config, { id: 's_test', form, values, lang: 'ja', createdAt: new Date() }, 0, true);
    const text = `${plan?.mail?.subject ?? ''}\n${plan?.mail?.body ?? ''}`;
    for (const v of Object.values(values)) if (!v.includes('@')) expect(text).not.toContain(v);
  }
  return config;
}

const allNotes = (r: ImportResult) => [...r.notes, ...r.converted.flatMap((c) => c.notes)];

describe("CF7's default form (REST API JSON with CF7's default mail and an active mail_2)", () => {
  const r = run('rest-default.json', { notifyTo: ['owner@example.jp'], publicUrl: 'https://forms.example.jp', siteUrl: 'https://www.example.jp' });
  const config = checkSafe(r);
  const form = config.forms[0]!;

  it('fields, labels from the <label> text, required marks, notification of every field', () => {
    expect(form.id).toBe('contact-form-1');
    expect(form.fields.map((f) => [f.name, f.type, f.required, f.label.en])).toEqual([
      ['name', 'text', true, 'Your name'],
      ['email', 'email', true, 'Your email'],
      ['subject', 'text', true, 'Subject'],
      ['message', 'textarea', false, 'Your message'],
    ]);
    expect(form.notify.to).toEqual(['owner@example.jp']);
    expect(form.notify.subject).toBe('{{site_name}} "{{subject}}"');
    for (const f of form.fields) expect(form.notify.body).toContain(`{{${f.name}}}`);
    expect(form.cors.origins).toEqual(['https://www.example.jp']);
  });

  it('the echoing auto-reply becomes payload-free, and the report says what and why in English and Japanese', () => {
    expect(form.autoreply).toMatchObject({ enabled: true, to: 'email', subject: '{{site_name}}: we received your inquiry' });
    expect(form.autoreply!.body).toContain('{{receipt_id}}');
    expect(form.autoreply!.body).not.toContain('Message Body:');
    const n = r.converted[0]!.notes.find((x) => x.level === 'changed' && x.en.startsWith('Auto-reply (mail_2) repeated'))!;
    expect(n.en).toContain('[your-subject] [your-message]');
    expect(n.en).toContain("carries the link to the stranger from your domain");
    expect(n.en).toContain('| [your-message]');
    expect(n.ja).toContain('自動返信（メール(2)）が訪問者の入力');
    expect(r.report).toContain('[changed / 変更] Auto-reply (mail_2) repeated');
  });

  it('the embed posts to the form with the widget, in the field names of the configuration', () => {
    expect(r.embed).toContain('<form action="https://forms.example.jp/f/contact-form-1" method="post" data-formwarden>');
    expect(r.embed).toContain('<script src="https://forms.example.jp/static/widget.js" defer></script>');
    expect(r.embed).toContain('<input type="email" name="email" autocomplete="email" required>');
    expect(r.embed).toContain('<button type="submit">Submit</button>');
  });
});

describe('varied templates (Japanese labels, pipes, exclusive checkboxes, acceptance, quiz, file, unknown tags)', () => {
  const r = run('varied-ja.txt');
  const config = checkSafe(r);
  const form = config.forms[0]!;
  const field = (n: string) => form.fields.find((f) => f.name === n)!;

  it('converts each field type and option', () => {
    expect(form.language).toBe('ja');
    expect(field('name')).toMatchObject({ type: 'text', required: true, maxLength: 80, placeholder: { ja: '山田 太郎' }, label: { ja: 'お名前' } });
    expect(field('kana')).toMatchObject({ minLength: 2, maxLength: 40, value: 'ヤマダ タロウ', label: { ja: 'フリガナ' } });
    expect(field('email')).toMatchObject({ type: 'email', required: true, label: { ja: 'メールアドレス' } });
    expect(field('tel')).toMatchObject({ type: 'tel', maxLength: 13, label: { ja: '電話番号' } });
    expect(field('topic').options).toEqual([
      { value: 'quote', label: { ja: '見積もり依頼', en: '見積もり依頼' } },
      { value: 'product', label: { ja: '製品について', en: '製品について' } },
      { value: 'other', label: { ja: 'その他', en: 'その他' } },
    ]);
    expect(field('department')).toMatchObject({ type: 'select', placeholder: { ja: '選択してください' } });
    expect(field('department').options!.map((o) => o.value)).toEqual(['sales@example.jp', 'support@example.jp']);
    expect(field('contact_way')).toMatchObject({ type: 'radio', label: { ja: 'ご希望の連絡方法' } });
    expect(field('products')).toMatchObject({ type: 'checkbox', required: true });
    expect(field('products').options!.map((o) => o.value)).toEqual(['製品A', '製品B', '製品C']);
    expect(field('gender')).toMatchObject({ type: 'radio', value: '回答しない' });
    expect(field('budget')).toMatchObject({ type: 'text', pattern: '-?[0-9]+(\\.[0-9]+)?' });
    expect(field('preferred_date')).toMatchObject({ type: 'text', placeholder: { ja: 'YYYY-MM-DD' } });
    expect(field('message')).toMatchObject({ type: 'textarea', required: true, maxLength: 2000, label: { ja: 'お問い合わせ内容' } });
    expect(field('accept_this')).toMatchObject({ type: 'checkbox', required: true, label: { ja: '個人情報の取り扱いに同意します' } });
    expect(field('page_source')).toMatchObject({ type: 'hidden', value: 'lp-2026' });
    expect(form.fields.map((f) => f.name)).not.toContain('escaped_example');
    // [file your-photo limit:2mb filetypes:jpg|png]: a file field with CF7's limit and the families of its types.
    expect(field('photo')).toMatchObject({ type: 'file', maxBytes: 2 * 1024 * 1024, maxFiles: 1, accept: ['jpeg', 'png'] });
  });

  it('embeds a file field with multipart encoding and the picker hint; its files reach the owner only', () => {
    expect(r.embed).toContain('enctype="multipart/form-data"');
    expect(r.embed).toMatch(/<input type="file" name="photo" accept="\.jpg,\.jpeg,\.png">/);
    expect(r.report).toContain('its files go to the owner\'s notification only, never to the auto-reply');
    expect(r.report).toContain('ファイルは通知メールにだけ添付し');
    // The owner's mail names the file; the auto-reply never does (the loader's relay lint would refuse it).
    expect(form.notify.body).toContain('{{photo}}');
    expect(`${form.autoreply?.subject ?? ''}${form.autoreply?.body ?? ''}`).not.toContain('photo');
  });

  it('reports every tag it did not import, never dropping one silently', () => {
    const outcomes = r.converted[0]!.tags;
    const reported = outcomes.filter((o) => o.outcome === 'reported').map((o) => o.tag.basetype);
    expect(reported.sort()).toEqual(['cf7sr-simple-recaptcha', 'mc4wp_checkbox', 'quiz', 'response'].sort());
    const text = r.report;
    expect(text).toContain('unknown tag [mc4wp_checkbox]');
    expect(text).toContain('不明なタグ [mc4wp_checkbox]');
    expect(text).toContain('クイズ quiz-math は取り込んでいません');
    expect(text).toContain('options min:0 max:1000000 not imported');
    expect(text).toContain('an exclusive checkbox (one choice) becomes radio buttons');
  });
});

describe('a WordPress export (WXR) of two forms with PHP-serialized mail settings', () => {
  const r = run('export.xml', { publicUrl: 'https://forms.example.jp' });
  const config = checkSafe(r);

  it('reads both forms, the site, and Japanese text whose s:N: counts bytes; skips other post types', () => {
    expect(config.siteName).toBe('株式会社サンプル');
    expect(config.forms.map((f) => [f.id, f.title.ja])).toEqual([
      ['contact-form-1', 'Contact form 1'],
      ['contact', 'お問い合わせ'],
    ]);
    expect(config.mail.from).toBe('"株式会社サンプル" <wordpress@example.jp>');
    const xml = fixture('export.xml');
    // The fixture is as WordPress writes it: byte lengths, CRLF in the first form's mail.
    expect(xml).toContain(`s:${Buffer.byteLength('【[_site_title]】お問い合わせ: [your-topic]')}:"【[_site_title]】お問い合わせ: [your-topic]";`);
    expect(xml).toMatch(/Message Body:\r\n\[your-message\]/);
  });

  it('the first form: CF7 defaults, [_site_admin_email] from the export author, CRLF mail read back', () => {
    const f = config.forms[0]!;
    expect(f.notify.to).toEqual(['webmaster@example.jp']);
    expect(f.notify.body).toContain('From: {{name}} <{{email}}>');
    expect(f.notify.body).toContain('This e-mail was sent from a contact form on {{site_name}} (https://www.example.jp)');
    expect(f.autoreply?.body).toMatch(/^Thank you for contacting \{\{site_name\}\}\.\nYour receipt number is \{\{receipt_id\}\}/);
    expect(allNotes(r).some((n) => n.en.includes('_mail_2 had its line ends changed by the export'))).toBe(true);
  });

  it('the Japanese form: piped recipients become owner addresses, Cc is kept, the auto-reply loses every echo', () => {
    const f = config.forms[1]!;
    expect(f.notify.to).toEqual(['info@example.jp', 'sales@example.jp', 'support@example.jp', 'manager@example.jp']);
    expect(f.notify.subject).toBe('【{{site_name}}】お問い合わせ: {{topic}}');
    expect(f.notify.body).toContain('受信日時: {{submitted_at}}\n');
    expect(f.notify.body).not.toContain('IP:');
    expect(f.autoreply).toMatchObject({ enabled: true, to: 'email', subject: '【{{site_name}}】お問い合わせありがとうございます' });
    expect(f.autoreply!.body).toContain('この度はお問い合わせいただき、誠にありがとうございます。');
    expect(f.autoreply!.body).toContain('受付番号: {{receipt_id}}（{{submitted_at}}）');
    expect(f.autoreply!.body).not.toMatch(/様|【ご用件】|【お問い合わせ内容】/);
    const notes = r.converted[1]!.notes.map((n) => n.en).join('\n');
    expect(notes).toContain('Auto-reply (mail_2) repeated what the visitor typed ([your-name] [_raw_your-topic] [your-message])');
    expect(notes).toContain('Auto-reply header bcc: "archive@example.jp" removed');
    expect(notes).toContain('Notification recipient [department]: in CF7 the visitor\'s choice picked one of sales@example.jp, support@example.jp');
    expect(notes).toContain('Form id "contact"');
  });

  it('refuses a DOCTYPE (no DTD, no entity expansion) and undefined entities', () => {
    const bomb = `<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><rss><channel><title>&b;</title></channel></rss>`;
    expect(() => parseWxr(bomb)).toThrow(/DOCTYPE/);
    expect(() => parseWxr('<rss><channel><title>&nbsp;x</title></channel></rss>')).toThrow(/not well-formed XML/);
    expect(() => importCf7(readSource('<rss><channel><title>x</title></channel></rss>', 'x.xml'))).toThrow(/no Contact Form 7 forms/);
  });
});

describe('form ids', () => {
  it('an ASCII slug of the title; "contact" for a title without Latin letters; never a duplicate', () => {
    const taken = new Set<string>();
    const take = (t: string) => {
      const { id } = formIdFromTitle(t, taken);
      taken.add(id);
      return id;
    };
    expect(take('Contact form 1')).toBe('contact-form-1');
    expect(take('お問い合わせ')).toBe('contact');
    expect(take('資料請求')).toBe('contact-2');
    expect(take('Ｃｏｎｔａｃｔ　Ｆｏｒｍ　１')).toBe('contact-form-1-2');
    expect(take('Café Réservation!')).toBe('cafe-reservation');
    expect(take('2024')).toBe('contact-3');
    for (const id of taken) expect(id).toMatch(/^[a-z0-9][a-z0-9_-]{0,63}$/);
  });
});
