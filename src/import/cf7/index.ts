// `formwarden import cf7 <file>`: Contact Form 7 forms (a WordPress export, CF7's REST JSON, or a bare form
// template) into a complete Formwarden configuration, an HTML embed for each form, and a report of what
// changed and why (English and Japanese). The configuration is loaded and linted before it is written.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Document, isMap, isSeq, visit, type Node } from 'yaml';
import { parseConfigText } from '../../config/load.js';
import { EXTENSIONS, expandAccept } from '../../attachments/sniff.js';
import { parseFrom } from '../../mail/message.js';
import { PLACEHOLDER_OWNER, convertForm, type Cf7Form, type Converted, type FieldOut, type FormOut, type Note, type SiteInfo } from './convert.js';
import { mailFromMap } from './mail.js';
import { phpStringMap, phpUnserialize } from './php.js';
import { looksLikeWxr, parseWxr } from './wxr.js';

export interface ImportSource {
  kind: 'wxr' | 'json' | 'template';
  forms: Cf7Form[];
  site: SiteInfo;
  notes: Note[];
}

export class ImportError extends Error {
  override name = 'ImportError';
}

/** The forms in an input file: WXR (XML), CF7's REST API JSON, or a bare form template. */
export function readSource(text: string, fileName: string): ImportSource {
  const body = text.replace(/^\uFEFF/, '');
  if (looksLikeWxr(body)) return fromWxr(body);
  if (/^\s*[[{]/.test(body)) {
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      json = undefined;
    }
    if (json !== undefined) return fromJson(json);
  }
  const title = path.basename(fileName).replace(/\.[^.]*$/, '') || 'contact';
  return {
    kind: 'template',
    forms: [{ title, form: body }],
    site: {},
    notes: [
      {
        level: 'info',
        en: 'A bare form template has no mail settings: the notification lists every field. To bring the mail settings too, import the WordPress export (Tools > Export > Contact Forms).',
        ja: 'フォームテンプレートだけではメール設定がないため、通知にはすべての入力欄を並べました。メール設定も取り込むには WordPress のエクスポート（ツール > エクスポート > コンタクトフォーム）を使ってください。',
      },
    ],
  };
}

function fromWxr(xml: string): ImportSource {
  const doc = parseWxr(xml);
  const notes: Note[] = [];
  const items = doc.items.filter((i) => i.postType === 'wpcf7_contact_form');
  if (items.length === 0) throw new ImportError('the export has no Contact Form 7 forms (no item of post type wpcf7_contact_form). Export them in WordPress: Tools > Export > Contact Forms');
  const forms: Cf7Form[] = [];
  for (const item of items) {
    if (item.status === 'trash') {
      notes.push({ level: 'info', en: `Form ${JSON.stringify(item.title)} (post ${item.postId}) is in the trash: skipped.`, ja: `フォーム ${JSON.stringify(item.title)}（投稿 ${item.postId}）はゴミ箱にあるため飛ばしました。` });
      continue;
    }
    const meta = new Map(item.meta.map((m) => [m.key, m.value]));
    const mail = (key: string) => {
      const raw = meta.get(key);
      if (raw === undefined || raw.trim() === '') return undefined;
      try {
        const { value, repaired } = phpUnserialize(raw);
        if (repaired) notes.push({ level: 'info', en: `${item.title}: ${key} had its line ends changed by the export; read with CRLF.`, ja: `${item.title}: ${key} はエクスポートで改行コードが変わっていたため、CRLF として読みました。` });
        return mailFromMap(phpStringMap(value));
      } catch (e) {
        notes.push({ level: 'not-imported', en: `${item.title}: ${key} could not be read (${(e as Error).message}); not imported.`, ja: `${item.title}: ${key} を読めなかったため取り込んでいません（${(e as Error).message}）。` });
        return undefined;
      }
    };
    let form = meta.get('_form') ?? item.content;
    if (/^s:\d+:"/.test(form)) {
      try {
        const v = phpUnserialize(form).value;
        if (typeof v === 'string') form = v;
      } catch {
        // Not serialized after all: the template itself.
      }
    }
    forms.push({ title: item.title, postId: item.postId, form, mail: mail('_mail'), mail2: mail('_mail_2') });
  }
  const creator = items[0]?.creator;
  const author = doc.authors.find((a) => a.login === creator) ?? doc.authors[0];
  const url = doc.site.link || doc.site.baseSiteUrl;
  return { kind: 'wxr', forms, site: { title: doc.site.title || undefined, url: url || undefined, description: doc.site.description || undefined, adminEmail: author?.email || undefined }, notes };
}

function fromJson(json: unknown): ImportSource {
  const list = Array.isArray(json) ? json : [json];
  const forms: Cf7Form[] = [];
  for (const entry of list) {
    if (!entry || typeof entry !== 'object') continue;
    const e = entry as Record<string, unknown>;
    const props = (e.properties && typeof e.properties === 'object' ? e.properties : e) as Record<string, unknown>;
    const formProp = props.form;
    const form = typeof formProp === 'string' ? formProp : formProp && typeof formProp === 'object' && typeof (formProp as Record<string, unknown>).content === 'string' ? ((formProp as Record<string, unknown>).content as string) : undefined;
    if (form === undefined) continue;
    const mail = (k: string) => (props[k] && typeof props[k] === 'object' ? mailFromMap(props[k] as Record<string, unknown>) : undefined);
    forms.push({ title: typeof e.title === 'string' ? e.title : 'contact', postId: e.id === undefined ? undefined : String(e.id), form, mail: mail('mail'), mail2: mail('mail_2') });
  }
  if (forms.length === 0) throw new ImportError('the JSON has no Contact Form 7 form (expected the REST API answer of /wp-json/contact-form-7/v1/contact-forms/<id>, with properties.form)');
  return { kind: 'json', forms, site: {}, notes: [] };
}

export interface ImportOptions {
  publicUrl?: string;
  siteUrl?: string;
  siteName?: string;
  notifyTo?: string[];
}

export interface ImportResult {
  yaml: string;
  embed: string;
  report: string;
  converted: Converted[];
  notes: Note[];
}

export const DEFAULT_PUBLIC_URL = 'https://forms.example.jp';

/** Converts every form of the source; the configuration is checked by the real loader and relay lint. */
export function importCf7(source: ImportSource, opts: ImportOptions = {}): ImportResult {
  const site: SiteInfo = { ...source.site, ...(opts.siteUrl ? { url: opts.siteUrl } : {}), ...(opts.siteName ? { title: opts.siteName } : {}) };
  const publicUrl = (opts.publicUrl ?? DEFAULT_PUBLIC_URL).replace(/\/+$/, '');
  const takenIds = new Set<string>();
  const converted = source.forms.map((f) => convertForm(f, site, { notifyTo: opts.notifyTo, takenIds }));
  const notes: Note[] = [...source.notes];

  // One From for the instance: the first CF7 sender that is one plain address.
  const senders = [...new Set(converted.map((c) => c.from).filter((f): f is string => f !== null && parseFrom(f) !== null))];
  const from = senders[0] ?? `"${(site.title ?? 'Formwarden').replace(/["\\]/g, '')}" <forms@example.com>`;
  if (!senders.length) notes.push({ level: 'check', en: `mail.from is ${from}: no CF7 sender was a plain address. Use an address of your domain that your SMTP server may send as.`, ja: `mail.from は ${from} です（CF7 の送信元に使えるアドレスがありません）。SMTP サーバーが送信を許すあなたのドメインのアドレスにしてください。` });
  if (senders.length > 1) notes.push({ level: 'changed', en: `The forms had different senders (${senders.join(', ')}); Formwarden sends all mail from ${from} (mail.from).`, ja: `フォームごとに送信元が違いました（${senders.join(', ')}）。Formwarden はすべて ${from}（mail.from）から送ります。` });
  if (!opts.publicUrl) notes.push({ level: 'check', en: `server.publicUrl is ${publicUrl}: set the address where Formwarden will be reachable (--public-url), also used by the embed.`, ja: `server.publicUrl は ${publicUrl} です。Formwarden を公開するアドレスに変えてください（--public-url。埋め込み HTML にも使われます）。` });
  if (!site.url) notes.push({ level: 'check', en: 'cors.origins is not set: the widget on your site needs it. Add your site (forms[].cors.origins: ["https://www.example.jp"]) or run again with --site-url.', ja: 'cors.origins が未設定です。サイトにウィジェットを置くには必要です（forms[].cors.origins: ["https://www.example.jp"]）。--site-url を付けて実行し直しても設定できます。' });

  const siteName = site.title ?? converted[0]?.form.title ?? 'Formwarden';
  const yaml = renderYaml({ siteName, publicUrl, from, converted, source });
  // The promise of this command: what it prints loads, and passes the relay lint.
  parseConfigText(yaml, 'the imported configuration');
  const embed = converted.map((c) => renderEmbed(c, publicUrl)).join('\n\n');
  return { yaml, embed, report: renderReport(source, converted, notes), converted, notes };
}

function renderYaml(o: { siteName: string; publicUrl: string; from: string; converted: Converted[]; source: ImportSource }): string {
  const config = {
    siteName: o.siteName,
    server: { host: '127.0.0.1', port: 8787, publicUrl: o.publicUrl },
    database: { url: 'sqlite:./data/formwarden.db' },
    mail: { from: o.from, transport: 'capture' },
    forms: o.converted.map((c) => c.form),
  };
  const doc = new Document(config);
  doc.commentBefore =
    ` Formwarden configuration imported from Contact Form 7 (${o.source.kind === 'wxr' ? 'WordPress export' : o.source.kind === 'json' ? 'REST API JSON' : 'form template'}) by \`formwarden import cf7\`.\n` +
    ' Read the notes the command printed, then: npx formwarden check-config && npx formwarden serve\n' +
    ' Contact Form 7 から取り込んだ設定です。表示された注意を読んでから check-config と serve を実行してください。\n' +
    ' Reference / 説明: docs/configuration.md, docs/migrate-cf7.md';
  const mail = doc.get('mail', true);
  if (isMap(mail)) {
    const transport = mail.get('transport', true) as Node | undefined;
    if (transport) transport.comment = ' mail is kept in the database (npx formwarden mail list); smtp://127.0.0.1:25 or smtps://user:pass@smtp.example.jp:465 sends it';
  }
  const forms = doc.get('forms', true);
  if (isSeq(forms)) {
    forms.items.forEach((item, i) => {
      const c = o.converted[i]!;
      const src = o.source.forms[i];
      if (!isMap(item)) return;
      item.commentBefore = ` From CF7 form ${JSON.stringify(src?.title ?? c.form.title)}${src?.postId ? ` (post ${src.postId})` : ''}`;
      const fields = item.get('fields', true);
      if (isSeq(fields))
        for (const f of fields.items) {
          if (!isMap(f)) continue;
          f.flow = true;
          // Inside a flow map only a double-quoted string is safe for every text (newlines, ": ", "|", "#").
          visit(f, { Scalar: (_k, node) => void (typeof node.value === 'string' && !/^[\p{L}\p{N}_.@ -]*$/u.test(node.value) && (node.type = 'QUOTE_DOUBLE')) });
        }
      const notify = item.get('notify', true);
      if (isMap(notify)) {
        const to = notify.get('to', true);
        if (isSeq(to)) to.flow = true;
        if (c.form.notify.to.includes(PLACEHOLDER_OWNER) && to) (to as Node).comment = ' replace with your address / あなたのアドレスに';
      }
      const ar = item.get('autoreply', true);
      if (isMap(ar)) ar.commentBefore = ' Only your text and {{receipt_id}}, {{submitted_at}}, {{form_title}}, {{site_name}}: no visitor text (docs/security.md)';
      const options = isSeq(fields) ? fields.items : [];
      for (const f of options) {
        if (!isMap(f)) continue;
        const opts = f.get('options', true);
        if (isSeq(opts)) opts.flow = true;
      }
    });
  }
  return doc.toString({ lineWidth: 0 });
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function fieldHtml(f: FieldOut, lang: 'ja' | 'en', labelHtml?: string): string {
  const req = f.required ? ' required' : '';
  const mark = f.required ? (lang === 'ja' ? ' <span class="fw-req">（必須）</span>' : ' <span class="fw-req">(required)</span>') : '';
  const limits = `${f.maxLength ? ` maxlength="${f.maxLength}"` : ''}${f.minLength ? ` minlength="${f.minLength}"` : ''}`;
  const ph = f.placeholder ? ` placeholder="${esc(f.placeholder)}"` : '';
  const val = f.value !== undefined ? ` value="${esc(f.value)}"` : '';
  const opts = (f.options ?? []).map((o) => (typeof o === 'string' ? { value: o, label: o } : o));
  switch (f.type) {
    case 'hidden':
      return `  <input type="hidden" name="${f.name}"${val}>`;
    case 'file':
      return `  <p><label>${esc(f.label)}${mark}<br>\n    <input type="file" name="${f.name}"${fileAccept(f)}${req}></label></p>`;
    case 'textarea':
      return `  <p><label>${esc(f.label)}${mark}<br>\n    <textarea name="${f.name}" rows="8"${limits}${ph}${req}>${esc(f.value ?? '')}</textarea></label></p>`;
    case 'select':
      return `  <p><label>${esc(f.label)}${mark}<br>\n    <select name="${f.name}"${req}><option value="">${esc(f.placeholder ?? '')}</option>${opts.map((o) => `<option value="${esc(o.value)}"${o.value === f.value ? ' selected' : ''}>${esc(o.label)}</option>`).join('')}</select></label></p>`;
    case 'checkbox':
    case 'radio':
      if (!opts.length) return `  <p><label><input type="checkbox" name="${f.name}" value="${esc(f.value ?? 'yes')}"${req}> ${labelHtml ?? esc(f.label)}</label>${mark}</p>`;
      return `  <fieldset><legend>${esc(f.label)}${mark}</legend>\n${opts
        .map((o, i) => `    <label><input type="${f.type}" name="${f.name}" value="${esc(o.value)}"${o.value === f.value ? ' checked' : ''}${f.required && f.type === 'radio' && i === 0 ? ' required' : ''}> ${esc(o.label)}</label>`)
        .join('\n')}\n  </fieldset>`;
    default: {
      const auto = f.type === 'email' ? ' autocomplete="email"' : f.type === 'tel' ? ' autocomplete="tel"' : f.name === 'name' ? ' autocomplete="name"' : '';
      const pattern = f.pattern ? ` pattern="${esc(f.pattern)}"` : '';
      return `  <p><label>${esc(f.label)}${mark}<br>\n    <input type="${f.type}" name="${f.name}"${val}${limits}${pattern}${ph}${auto}${req}></label></p>`;
    }
  }
}

/** The browser's file picker hint (the server checks the bytes, whatever the picker allowed). */
function fileAccept(f: FieldOut): string {
  const types = expandAccept(f.accept ?? ['image', 'pdf']);
  const exts = [...types].flatMap((t) => EXTENSIONS[t].map((e) => `.${e}`));
  return exts.length ? ` accept="${esc(exts.join(','))}"` : '';
}

/** The HTML that replaces the [contact-form-7] shortcode on the owner's page, and the widget line. */
export function renderEmbed(c: Converted, publicUrl: string): string {
  const f = c.form;
  const lang = f.language;
  const submit = c.submitLabel || (lang === 'ja' ? '送信する' : 'Send');
  const noscript = lang === 'ja' ? 'JavaScript が無効の場合はこちらのフォームをお使いください' : 'Without JavaScript, please use this form';
  return [
    `<!-- Formwarden: ${esc(f.title)} — replaces the [contact-form-7 ...] shortcode / ショートコードの代わりに貼り付け -->`,
    `<form action="${esc(publicUrl)}/f/${f.id}" method="post"${f.fields.some((x) => x.type === 'file') ? ' enctype="multipart/form-data"' : ''} data-formwarden>`,
    ...f.fields.map((x) => fieldHtml(x, lang, c.labelHtml[x.name])),
    `  <p><button type="submit">${esc(submit)}</button></p>`,
    '</form>',
    `<noscript><p><a href="${esc(publicUrl)}/f/${f.id}">${noscript}</a></p></noscript>`,
    `<script src="${esc(publicUrl)}/static/widget.js" defer></script>`,
  ].join('\n');
}

const LABEL: Record<Note['level'], string> = { changed: 'changed / 変更', 'not-imported': 'not imported / 未取込', check: 'check / 要確認', info: 'info / 情報' };

function renderReport(source: ImportSource, converted: Converted[], general: Note[]): string {
  const out: string[] = [];
  out.push(`Imported ${converted.length} form${converted.length === 1 ? '' : 's'} from Contact Form 7 / Contact Form 7 から ${converted.length} 件のフォームを取り込みました`);
  const print = (n: Note) => {
    out.push(`  - [${LABEL[n.level]}] ${n.en.replace(/\n/g, '\n      ')}`);
    out.push(`    ${n.ja.replace(/\n/g, '\n      ')}`);
  };
  for (const [i, c] of converted.entries()) {
    const src = source.forms[i];
    out.push('', `forms[${c.form.id}] ${JSON.stringify(src?.title ?? c.form.title)}: ${c.form.fields.length} fields / 入力欄 ${c.form.fields.length} 件; auto-reply / 自動返信: ${c.form.autoreply ? (c.form.autoreply.enabled ? 'on' : 'off') : 'none'}`);
    const order: Note['level'][] = ['changed', 'not-imported', 'check', 'info'];
    for (const level of order) for (const n of c.notes.filter((x) => x.level === level)) print(n);
  }
  if (general.length) {
    out.push('', 'Configuration / 設定全体:');
    for (const n of general) print(n);
  }
  return out.join('\n');
}

export interface CliOptions extends ImportOptions {
  out?: string;
  embed?: string;
  force?: boolean;
}

/** The command: configuration to --out or stdout; embed to --embed or stderr; the report to stderr. */
export async function runImportCf7(file: string, opts: CliOptions, io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream }): Promise<number> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    io.stderr.write(`formwarden: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}\n`);
    return 1;
  }
  for (const target of [opts.out, opts.embed]) {
    if (target && existsSync(target) && !opts.force) {
      io.stderr.write(`formwarden: ${path.resolve(target)} exists; use --force to overwrite it\n`);
      return 1;
    }
  }
  let result: ImportResult;
  try {
    result = importCf7(readSource(text, file), opts);
  } catch (e) {
    if (e instanceof ImportError || (e as Error).name === 'WxrError') {
      io.stderr.write(`formwarden: ${file}: ${(e as Error).message}\n`);
      return 2;
    }
    throw e;
  }
  if (opts.out) writeFileSync(opts.out, result.yaml);
  else io.stdout.write(result.yaml);
  if (opts.embed) writeFileSync(opts.embed, `${result.embed}\n`);
  io.stderr.write(`${result.report}\n`);
  io.stderr.write(opts.embed ? `\nEmbed HTML written to / 埋め込み HTML の出力先: ${opts.embed}\n` : `\nEmbed on your page / ページに埋め込む HTML:\n\n${result.embed}\n`);
  if (opts.out) io.stderr.write(`\nwrote ${opts.out}; next / 次に: npx formwarden --config ${opts.out} check-config\n`);
  return 0;
}

export type { FormOut };
