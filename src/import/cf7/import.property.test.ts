// Property: any template made of CF7 tags (known and unknown, any options and values, any label markup)
// with any mail settings parses without throwing, every tag is converted or reported, and what comes out
// always loads through the real configuration loader and relay lint, with an auto-reply that carries no
// visitor text even when mail_2 echoed every field.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../config/load.js';
import { planAutoreply } from '../../mail/plan.js';
import { visitorFieldsIn } from '../../relay/template-lint.js';
import type { Cf7Mail } from './mail.js';
import { importCf7, type ImportSource } from './index.js';
import { scanTags } from './tags.js';

const TYPES = ['text', 'email', 'tel', 'url', 'textarea', 'number', 'range', 'date', 'select', 'checkbox', 'radio', 'acceptance', 'quiz', 'file', 'hidden', 'submit', 'response', 'count', 'captchar'];
const OPTIONS = [
  'placeholder', 'watermark', 'include_blank', 'first_as_label', 'use_label_element', 'label_first', 'exclusive', 'multiple', 'optional', 'invert', 'free_text',
  'id:msg', 'class:wide', 'autocomplete:name', 'akismet:author', 'akismet:author_email', 'akismet:author_url', 'default:1', 'default:2_3', 'default:get', 'default:user_email',
  'min:0', 'max:99', 'step:5', 'limit:2mb', 'filetypes:jpg|png', '40/100', '40x10', 'size:20', '/0',
];
// Names as CF7 allows them (letters, digits, - _ : .), with collisions (your-name vs your_name) and reserved words.
const name = fc.oneof(
  fc.stringMatching(/^[a-z][a-z0-9_:.-]{0,12}$/),
  fc.constantFrom('your-name', 'your_name', 'your-email', 'email', 'lang', 'submit', 'website', 'site_name', 'receipt_id', 'Your-Name', 'a.b', 'x'.repeat(60)),
);
// Any text, with the characters that matter to tags, templates, YAML and HTML.
const text = (max: number) =>
  fc.string({ unit: fc.oneof(fc.constantFrom('a', ' ', '|', '{', '}', '{{', '}}', '<', '>', '&', "'", ':', '#', '\n', 'あ', '様', '必須', '*', '-', '"'), fc.string({ maxLength: 1 })), maxLength: max });
const value = text(14).map((v) => v.replace(/["\]]/g, ''));
const tagArb = fc.record({
  type: fc.constantFrom(...TYPES),
  star: fc.boolean(),
  name,
  options: fc.subarray(OPTIONS, { maxLength: 4 }),
  maxlength: fc.option(fc.integer({ min: 0, max: 200_000 }), { nil: undefined }),
  minlength: fc.option(fc.integer({ min: 0, max: 300 }), { nil: undefined }),
  values: fc.array(fc.tuple(value, fc.option(value, { nil: undefined })).map(([a, b]) => (b === undefined ? a : `${a}|${b}`)), { maxLength: 4 }),
  content: fc.option(value, { nil: undefined }),
});
const unknownTag = fc.tuple(fc.stringMatching(/^[a-z][a-z0-9_-]{0,10}$/), fc.array(value, { maxLength: 2 })).map(([n, vs]) => `[${n.startsWith('x') ? n : `x${n}`}_plugin ${vs.map((v) => `"${v}"`).join(' ')}]`);
const label = text(20).map((l) => l.replace(/[[\]]/g, ''));
const wrap = fc.constantFrom('label', 'p', 'table', 'dl', 'bare');

type TagSpec = typeof tagArb extends fc.Arbitrary<infer T> ? T : never;

function render(t: TagSpec): string {
  const opts = [...t.options];
  if (t.maxlength !== undefined) opts.push(`maxlength:${t.maxlength}`);
  if (t.minlength !== undefined) opts.push(`minlength:${t.minlength}`);
  const head = `[${t.type}${t.star && t.type !== 'submit' ? '*' : ''}${t.type === 'submit' || t.type === 'response' ? '' : ` ${t.name}`}${opts.map((o) => ` ${o}`).join('')}${t.values.map((v: string) => ` "${v}"`).join('')}]`;
  return t.content !== undefined && (t.type === 'acceptance' || t.type === 'textarea') ? `${head}${t.content}[/${t.type}${t.star ? '*' : ''}]` : head;
}

function place(tag: string, how: string, l: string): string {
  switch (how) {
    case 'label':
      return `<label> ${l}\n    ${tag} </label>`;
    case 'p':
      return `<p>${l}<br />\n${tag}</p>`;
    case 'table':
      return `<tr><th>${l}<span class="req">必須</span></th><td>${tag}</td></tr>`;
    case 'dl':
      return `<dt>${l}</dt><dd>${tag}</dd>`;
    default:
      return tag;
  }
}

// Mail text: field tags of the form (raw, _raw_, _format_), special tags, and any text.
const mailText = (names: string[]) =>
  fc
    .array(
      fc.oneof(
        text(12),
        fc.constantFrom('[_site_title]', '[_site_url]', '[_date]', '[_time]', '[_remote_ip]', '[_user_agent]', '[_url]', '[_serial_number]', '[_post_title]', '[_site_admin_email]', '[[escaped]]', '\n', ' 様\n', '{', '}'),
        ...(names.length ? [fc.constantFrom(...names).chain((n) => fc.constantFrom(`[${n}]`, `[_raw_${n}]`, `[_format_${n} "Y-m-d"]`, `[ ${n} ]`))] : []),
      ),
      { maxLength: 14 },
    )
    .map((parts) => parts.join(''));

describe('import cf7: property over generated templates and mail settings', () => {
  it('never throws; every tag is converted or reported; the configuration loads and the auto-reply echoes nothing', () => {
    const scenario = fc
      .array(fc.oneof({ weight: 6, arbitrary: fc.tuple(tagArb.map(render), wrap, label) }, { weight: 1, arbitrary: fc.tuple(unknownTag, wrap, label) }), { minLength: 1, maxLength: 8 })
      .chain((parts) => {
        const template = parts.map(([t, how, l]) => place(t, how, l)).join('\n\n');
        const names = scanTags(template).map((t) => t.name).filter(Boolean);
        const mail = (active: boolean): fc.Arbitrary<Cf7Mail> =>
          fc.record({
            active: fc.constant(active),
            subject: mailText(names),
            sender: fc.constantFrom('[_site_title] <wordpress@example.jp>', '[your-name] <[your-email]>', 'Shop, Inc. "x" <info@example.jp>', 'no address', ''),
            body: mailText(names),
            recipient: fc.oneof(mailText(names), fc.constantFrom('[_site_admin_email]', 'owner@example.jp', ...names.map((n) => `[${n}]`))),
            additionalHeaders: fc.constantFrom('', 'Reply-To: [your-email]', 'Cc: boss@example.jp\nBcc: [your-email]', 'X-Custom: 1'),
            attachments: fc.constantFrom('', '[your-file]'),
            useHtml: fc.boolean(),
          });
        return fc.record({ template: fc.constant(template), title: text(20), mail: fc.option(mail(true), { nil: undefined }), mail2: fc.option(fc.boolean().chain(mail), { nil: undefined }) });
      });

    fc.assert(
      fc.property(scenario, ({ template, title, mail, mail2 }) => {
        const source: ImportSource = { kind: 'wxr', forms: [{ title, postId: '7', form: template, mail, mail2 }], site: { title: 'サイト', url: 'https://www.example.jp', adminEmail: 'admin@example.jp' }, notes: [] };
        const r = importCf7(source); // throws if the output does not load
        // Every tag is converted or reported.
        const scanned = scanTags(template);
        expect(r.converted[0]!.tags.map((o) => o.tag.raw)).toEqual(scanned.map((t) => t.raw));
        for (const o of r.converted[0]!.tags) if (o.outcome === 'reported') expect(r.report).toContain(o.note.en.split('\n')[0]!);
        // The configuration loads, and its auto-reply names no visitor field and renders no visitor value.
        const config = parseConfigText(r.yaml, 'import');
        const form = config.forms[0]!;
        const ar = form.autoreply;
        if (ar) {
          expect(visitorFieldsIn(ar.subject, form)).toEqual([]);
          expect(visitorFieldsIn(ar.body, form)).toEqual([]);
          const values = Object.fromEntries(form.fields.map((f, i) => [f.name, f.type === 'email' ? `v${i}@visitor.example` : `ZQX${i}VISITOR`]));
          const plan = planAutoreply(config, { id: 's_x', form, values, lang: 'ja', createdAt: new Date() }, 0, true);
          expect(`${plan?.mail?.subject ?? ''}${plan?.mail?.body ?? ''}`).not.toMatch(/ZQX\d+VISITOR/);
        }
      }),
      { numRuns: Number(process.env.FW_PROPERTY_RUNS ?? 300) },
    );
  });

  it('any text at all as a template (brackets, quotes, half tags) converts to a configuration that loads', () => {
    const junk = fc.string({ unit: fc.oneof(fc.constantFrom('[', ']', '[/', '"', "'", '*', ' ', '\n', 'text', 'email* e', 'select s', '|', '<label>', '</label>', '{{', 'あ'), fc.string({ maxLength: 1 })), maxLength: 120 });
    fc.assert(
      fc.property(junk, (template) => {
        const r = importCf7({ kind: 'template', forms: [{ title: template.slice(0, 10), form: template }], site: {}, notes: [] });
        expect(r.converted[0]!.tags).toHaveLength(scanTags(template).length);
        parseConfigText(r.yaml, 'import');
      }),
      { numRuns: Number(process.env.FW_PROPERTY_RUNS ?? 300) },
    );
  });
});
