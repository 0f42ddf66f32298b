// One Contact Form 7 form (template and mail settings) into one Formwarden form, with a note for every
// thing that changed or did not come along, in English and Japanese. The auto-reply never keeps visitor
// text: Formwarden's auto-reply carries only what the owner wrote and the system placeholders.
import { addressSchema } from '../../config/schema.js';
import { isLiteralAddress } from '../../relay/address.js';
import { SYSTEM_PLACEHOLDERS } from '../../relay/placeholders.js';
import { SYSTEM_FIELDS } from '../../forms/validate.js';
import type { Cf7Mail } from './mail.js';
import {
  cleanSubject,
  convertMailText,
  headerLines,
  htmlToText,
  literal,
  literalAddresses,
  removeVisitorLines,
  safeBraces,
  tagNames,
  type MailContext,
} from './mail.js';
import { cleanLabel, hasOption, labelFor, maxLengthOption, option, scanTags, splitPipe, type Cf7Tag } from './tags.js';

export type NoteLevel = 'changed' | 'not-imported' | 'check' | 'info';

export interface Note {
  level: NoteLevel;
  en: string;
  ja: string;
}

export interface Cf7Form {
  title: string;
  /** The WordPress post id, when known. */
  postId?: string;
  form: string;
  mail?: Cf7Mail;
  mail2?: Cf7Mail;
}

export interface SiteInfo {
  title?: string;
  url?: string;
  description?: string;
  adminEmail?: string;
}

export interface ConvertOptions {
  /** Owner addresses for notify.to (wins over the CF7 recipient). */
  notifyTo?: string[];
  /** Form ids already taken (several forms in one export). */
  takenIds?: Set<string>;
}

/** A field as written into the configuration (the schema's input form). */
export interface FieldOut {
  name: string;
  type: 'text' | 'email' | 'tel' | 'url' | 'textarea' | 'select' | 'checkbox' | 'radio' | 'hidden' | 'file';
  label: string;
  required?: boolean;
  maxLength?: number;
  minLength?: number;
  pattern?: string;
  options?: (string | { value: string; label: string })[];
  placeholder?: string;
  value?: string;
  /** type: file only (docs/attachments.md). */
  accept?: string[];
  maxBytes?: number;
  maxFiles?: number;
}

export interface FormOut {
  id: string;
  title: string;
  language: 'ja' | 'en';
  fields: FieldOut[];
  notify: { to: string[]; subject: string; body: string };
  autoreply?: { enabled: boolean; to: string; subject: string; body: string };
  cors?: { origins: string[] };
}

export type TagOutcome = { tag: Cf7Tag; outcome: 'field'; field: string } | { tag: Cf7Tag; outcome: 'submit' } | { tag: Cf7Tag; outcome: 'reported'; note: Note };

export interface Converted {
  form: FormOut;
  /** The CF7 sender as a From header (literal parts only), or null. */
  from: string | null;
  submitLabel: string;
  /** The owner's own HTML for a field's label in the embed (an acceptance text with its link). */
  labelHtml: Record<string, string>;
  notes: Note[];
  tags: TagOutcome[];
}

/** An owner address nobody has: the configuration loads, and the notes say to replace it. */
export const PLACEHOLDER_OWNER = 'owner@example.com';

const note = (level: NoteLevel, en: string, ja: string): Note => ({ level, en, ja });
const q = (s: string) => JSON.stringify(s);
const JAPANESE = /[\u3040-\u30ff\u3400-\u9fff\uff66-\uff9f]/;

/** A form id from the CF7 title: an ASCII slug, or "contact" when the title has no Latin letters. */
export function formIdFromTitle(title: string, taken: ReadonlySet<string>): { id: string; fallback: boolean } {
  const slug = title
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 56)
    .replace(/-+$/, '');
  const fallback = !/[a-z]/.test(slug);
  const base = fallback ? 'contact' : slug;
  let id = base;
  for (let n = 2; taken.has(id); n++) id = `${base}-${n}`;
  return { id, fallback };
}

// Names a form field cannot have: system placeholders, the protocol fields of the form page and the widget,
// and the default honeypot field.
const RESERVED = new Set<string>([...SYSTEM_PLACEHOLDERS, ...[...SYSTEM_FIELDS].filter((n) => /^[a-z]/.test(n)), 'website']);

function fieldName(cf7: string, taken: Set<string>): string {
  let base = cf7.toLowerCase().replace(/[^a-z0-9_]+/g, '_').replace(/_+/g, '_').replace(/^_+|_+$/g, '');
  if (!/^[a-z]/.test(base)) base = `f_${base}`;
  // your-name -> name: the names Formwarden's defaults expect (Akismet author, autocomplete).
  const short = base.replace(/^your_/, '');
  if (short !== base && /^[a-z]/.test(short) && !taken.has(short) && !RESERVED.has(short)) base = short;
  base = base.slice(0, 34).replace(/_+$/, '');
  if (RESERVED.has(base)) base = `${base}_field`;
  let name = base;
  for (let n = 2; taken.has(name); n++) name = `${base}_${n}`;
  taken.add(name);
  return name;
}

export function convertForm(src: Cf7Form, site: SiteInfo, opts: ConvertOptions = {}): Converted {
  const notes: Note[] = [];
  const outcomes: TagOutcome[] = [];
  const taken = new Set<string>();
  const byCf7 = new Map<string, string>();
  const fields: FieldOut[] = [];
  const labelHtml: Record<string, string> = {};
  const tags = scanTags(src.form);
  let submitLabel = '';
  const report = (tag: Cf7Tag, n: Note) => {
    notes.push(n);
    outcomes.push({ tag, outcome: 'reported', note: n });
  };

  for (const tag of tags) {
    const where = `${tag.raw.length > 60 ? `${tag.raw.slice(0, 57)}...` : tag.raw}`;
    if (!tag.known) {
      report(tag, note('not-imported', `${where}: unknown tag [${tag.basetype}] (from another plugin?); not imported. Add a field by hand if it collected something.`, `${where}: 不明なタグ [${tag.basetype}]（別プラグインのもの？）は取り込んでいません。入力欄だった場合は手で追加してください。`));
      continue;
    }
    if (tag.problem) {
      report(tag, note('not-imported', `${where}: ${tag.problem === 'name' ? 'no valid field name' : 'options CF7 cannot read'}; CF7 ignores this tag too. Not imported.`, `${where}: ${tag.problem === 'name' ? '有効なフィールド名がない' : 'CF7 が読めないオプション'}ため、CF7 でも無視されるタグです。取り込んでいません。`));
      continue;
    }
    switch (tag.basetype) {
      case 'submit':
        submitLabel ||= tag.values[0] ?? '';
        outcomes.push({ tag, outcome: 'submit' });
        continue;
      case 'quiz':
        report(tag, note('not-imported', `${where}: quiz ${tag.name} not imported: Formwarden's proof-of-work (ALTCHA) and its other bot defenses take its place.`, `${where}: クイズ ${tag.name} は取り込んでいません。Formwarden の Proof of Work（ALTCHA）などのボット対策が代わりになります。`));
        continue;
      case 'captchac':
      case 'captchar':
      case 'recaptcha':
        report(tag, note('not-imported', `${where}: CAPTCHA tag not imported: Formwarden has its own (ALTCHA proof-of-work by default; defenses.captchaImage, Turnstile or hCaptcha if you want one).`, `${where}: CAPTCHA タグは取り込んでいません。Formwarden 自身の対策（標準で ALTCHA。画像 CAPTCHA、Turnstile、hCaptcha も設定できます）を使います。`));
        continue;
      case 'response':
      case 'count':
        report(tag, note('info', `${where}: display-only tag, not needed (the form page shows errors and the result itself).`, `${where}: 表示用のタグのため不要です（結果やエラーはフォーム側で表示されます）。`));
        continue;
    }
    // A field.
    if (byCf7.has(tag.name)) {
      report(tag, note('not-imported', `${where}: a second field named ${tag.name}; CF7 keeps one value, so only the first is imported.`, `${where}: 同じ名前 ${tag.name} の2つ目の欄です。CF7 でも値は1つなので、最初の欄だけ取り込みました。`));
      continue;
    }
    const name = fieldName(tag.name, taken);
    byCf7.set(tag.name, name);
    byCf7.set(tag.name.replace(/\./g, '_'), name);
    const field = convertField(tag, name, labelFor(src.form, tag, tags), (n) => notes.push(n), where);
    fields.push(field);
    if (tag.basetype === 'acceptance' && /<a\s/i.test(tag.content)) labelHtml[name] = tag.content;
    outcomes.push({ tag, outcome: 'field', field: name });
  }

  const renamed = outcomes.flatMap((o) => (o.outcome === 'field' && o.tag.name !== o.field ? [[o.tag.name, o.field] as const] : []));
  if (renamed.length) {
    const list = renamed.map(([a, b]) => `${a} → ${b}`).join(', ');
    notes.push(note('info', `Field names: ${list} (Formwarden names use a-z, 0-9 and _; the embed below uses them).`, `フィールド名: ${list}（Formwarden の名前は英小文字・数字・_ です。下の埋め込み HTML はこの名前を使います）。`));
  }

  if (fields.length === 0) {
    fields.push({ name: 'message', type: 'textarea', label: 'Message', required: true, maxLength: 5000 });
    taken.add('message');
    notes.push(note('check', 'The template has no field Formwarden can use; a message field was added so the configuration is valid. Edit the fields.', 'テンプレートに取り込める入力欄がないため、設定を有効にするためにメッセージ欄を追加しました。入力欄を編集してください。'));
  }

  const { id, fallback } = formIdFromTitle(src.title, opts.takenIds ?? new Set());
  opts.takenIds?.add(id);
  if (fallback) notes.push(note('info', `Form id "${id}": the title ${q(src.title)} has no Latin letters for an id (the id is in the form's URL /f/${id}; change it if you like).`, `フォーム ID「${id}」: タイトル ${q(src.title)} から英字の ID を作れないため、この ID にしました（URL /f/${id} に使われます。変更しても構いません）。`));

  const language: 'ja' | 'en' = JAPANESE.test(src.title + fields.map((f) => f.label).join('') + (src.mail?.body ?? '')) ? 'ja' : 'en';
  const ctx: MailContext = { fields: byCf7, site: { url: site.url, adminEmail: site.adminEmail, description: site.description } };
  const emailFields = fields.filter((f) => f.type === 'email').map((f) => f.name);

  // ---- The notification (mail) ---------------------------------------------------------------
  const mail = src.mail;
  const notifyTo = new Set<string>();
  const rejected = new Set<string>();
  // Only what the configuration accepts as an owner address (the schema's and the relay lint's checks).
  const addOwner = (a: string) => {
    const v = a.toLowerCase();
    if (isLiteralAddress(v) && addressSchema.safeParse(v).success) notifyTo.add(v);
    else rejected.add(a);
  };
  let subject = '[{{form_title}}] {{receipt_id}}';
  let body = '';
  if (mail) {
    for (const a of literalAddresses(mail.recipient)) addOwner(a);
    for (const tagName of tagNames(mail.recipient)) {
      if (tagName === '_site_admin_email') {
        if (site.adminEmail) {
          addOwner(site.adminEmail);
          notes.push(note('check', `Notification recipient [_site_admin_email] is ${site.adminEmail}, the address of the export's author. Check it is the right one.`, `通知の宛先 [_site_admin_email] は、エクスポートの作成者のアドレス ${site.adminEmail} にしました。正しいか確認してください。`));
        }
        continue;
      }
      const f = fields.find((x) => x.name === byCf7.get(tagName));
      const piped = (f?.options ?? []).map((o) => (typeof o === 'string' ? o : o.value)).filter((v) => literalAddresses(v).length === 1);
      if (piped.length) {
        for (const a of piped) addOwner(a);
        notes.push(note('changed', `Notification recipient [${tagName}]: in CF7 the visitor's choice picked one of ${piped.join(', ')}. Formwarden never lets a visitor choose a recipient: every inquiry goes to all of them, and the choice is in the mail.`, `通知の宛先 [${tagName}]: CF7 では訪問者の選択で ${piped.join(', ')} のどれかに送っていました。Formwarden は宛先を訪問者に選ばせないため、すべての宛先に送り、選択内容はメール本文に入ります。`));
      } else if (f || byCf7.has(tagName)) {
        notes.push(note('changed', `Notification recipient [${tagName}] is a visitor field: removed. A notification goes only to addresses you own (notify.to); the visitor's address is set as Reply-To.`, `通知の宛先 [${tagName}] は訪問者の入力欄のため削除しました。通知はあなたのアドレス（notify.to）にだけ送ります。訪問者のアドレスは Reply-To に入ります。`));
      }
    }
    for (const h of headerLines(mail.additionalHeaders)) {
      if (h.name === 'cc' || h.name === 'bcc') {
        for (const a of literalAddresses(h.value)) addOwner(a);
        if (literalAddresses(h.value).length) notes.push(note('changed', `Notification ${h.name === 'cc' ? 'Cc' : 'Bcc'}: ${literalAddresses(h.value).join(', ')} added to notify.to (each address gets its own copy).`, `通知の ${h.name === 'cc' ? 'Cc' : 'Bcc'} ${literalAddresses(h.value).join(', ')} は notify.to に加え、それぞれに送ります。`));
        if (tagNames(h.value).length) notes.push(note('changed', `Notification ${h.name} header with a visitor field removed: visitors never choose recipients.`, `訪問者の入力を使う ${h.name} ヘッダーは削除しました（宛先は訪問者に選ばせません）。`));
      } else if (h.name === 'reply-to') {
        // Formwarden sets Reply-To to the visitor's validated address (the first email field).
      } else {
        notes.push(note('not-imported', `Notification header ${h.name}: not imported (Formwarden builds every header itself).`, `通知のヘッダー ${h.name} は取り込んでいません（ヘッダーは Formwarden が組み立てます）。`));
      }
    }
    const sub = convertMailText(mail.subject.replace(/[\r\n]+/g, ' '), ctx);
    if (sub.text.trim()) subject = sub.text.trim();
    const text = mail.useHtml ? htmlToText(mail.body) : mail.body.replace(/\r\n?/g, '\n');
    if (mail.useHtml) notes.push(note('changed', 'The notification was HTML (use_html); Formwarden sends it as plain text.', '通知は HTML メール（use_html）でしたが、Formwarden ではテキストメールで送ります。'));
    const b = convertMailText(text, ctx);
    body = ownerBody(text, ctx);
    const dropped = [...new Set([...sub.dropped, ...b.dropped])];
    if (dropped.length) notes.push(note('changed', `Notification: removed ${dropped.join(' ')} (no Formwarden counterpart; the receipt number and time are {{receipt_id}} and {{submitted_at}}).`, `通知: ${dropped.join(' ')} は Formwarden に対応するものがないため削除しました（受付番号と日時は {{receipt_id}}、{{submitted_at}} で入れられます）。`));
    if (mail.attachments.trim()) notes.push(note('info', `Notification attachments (${mail.attachments.trim()}): Formwarden attaches every file field's files to the owner's notification by itself.`, `通知の添付ファイル（${mail.attachments.trim()}）: Formwarden はファイル欄のファイルを自動で通知メールに添付します。`));
  }
  // Every field reaches the owner: the ones the CF7 body did not mention are listed after it.
  const used = new Set([...body.matchAll(/\{\{\s*([a-z0-9_]+)\s*\}\}/g)].map((m) => m[1]!));
  const missing = fields.filter((f) => !used.has(f.name));
  if (missing.length) {
    const list = missing.map((f) => (f.type === 'textarea' ? `\n${literal(f.label)}:\n{{${f.name}}}\n` : `${literal(f.label)}: {{${f.name}}}`)).join('\n');
    body = `${body}\n\n${list}`.replace(/\n{3,}/g, '\n\n').trim();
    if (mail) notes.push(note('info', `Notification: added ${missing.map((f) => f.name).join(', ')}, which the CF7 mail body left out, so every field reaches you.`, `通知: CF7 のメール本文になかった ${missing.map((f) => f.name).join(', ')} を追加しました（すべての入力があなたに届きます）。`));
  }

  // ---- The auto-reply (mail_2) ---------------------------------------------------------------
  let autoreply: FormOut['autoreply'];
  const mail2 = src.mail2;
  if (mail2 && (mail2.active || mail2.subject.trim() || mail2.body.trim())) {
    const recipientFields = tagNames(mail2.recipient).map((t) => byCf7.get(t)).filter((n): n is string => n !== undefined);
    const to = recipientFields.find((n) => emailFields.includes(n));
    for (const a of literalAddresses(mail2.recipient)) {
      addOwner(a);
      notes.push(note('changed', `Auto-reply (mail_2) recipient ${a} is a fixed address: it now gets the notification instead (an auto-reply goes only to the visitor).`, `自動返信（メール(2)）の宛先 ${a} は固定アドレスのため、通知の宛先に加えました（自動返信は訪問者にだけ送ります）。`));
    }
    if (!to) {
      notes.push(note('not-imported', `Auto-reply (mail_2): its recipient ${q(mail2.recipient)} is not an email field of the form, so there is no auto-reply. Add one (autoreply.to: your email field) if you want it.`, `自動返信（メール(2)）: 宛先 ${q(mail2.recipient)} がフォームのメールアドレス欄ではないため、自動返信は作っていません。必要なら autoreply.to にメール欄を指定して追加してください。`));
    } else {
      autoreply = payloadFreeAutoreply(mail2, ctx, language, to, notes);
      if (!mail2.active) notes.push(note('info', 'Auto-reply (mail_2) was off in CF7: imported with enabled: false.', '自動返信（メール(2)）は CF7 で無効だったため、enabled: false で取り込みました。'));
    }
  } else if (emailFields.length) {
    autoreply = {
      enabled: false,
      to: emailFields[0]!,
      subject: language === 'ja' ? '{{site_name}}: お問い合わせを受け付けました' : '{{site_name}}: we received your inquiry',
      body: receiptText(language),
    };
    notes.push(note('info', 'No auto-reply (mail_2) in the source: a safe one (no visitor text) was added with enabled: false.', '元に自動返信（メール(2)）がないため、安全な自動返信（訪問者の入力を含まない）を enabled: false で追加しました。'));
  }

  if (opts.notifyTo?.length) {
    notifyTo.clear();
    for (const a of opts.notifyTo) addOwner(a);
  }
  if (rejected.size) notes.push(note('not-imported', `Not an address Formwarden accepts, left out of notify.to: ${[...rejected].join(', ')}.`, `Formwarden が受け付けないアドレスのため notify.to から外しました: ${[...rejected].join(', ')}`));
  if (notifyTo.size === 0) {
    notifyTo.add(PLACEHOLDER_OWNER);
    const why = mail ? `the CF7 recipient ${q(mail.recipient)} names no address Formwarden can read` : 'the source has no mail settings';
    const whyJa = mail ? `CF7 の宛先 ${q(mail.recipient)} から読めるアドレスがないため` : '元にメール設定がないため';
    notes.push(note('check', `notify.to is ${PLACEHOLDER_OWNER}: ${why}. Replace it with your address (or run again with --notify-to you@example.jp).`, `notify.to は ${PLACEHOLDER_OWNER} です（${whyJa}）。あなたのアドレスに書き換えるか、--notify-to you@example.jp を付けて実行し直してください。`));
  }

  // ---- From ------------------------------------------------------------------------------------
  let from: string | null = null;
  const sender = mail?.sender ?? '';
  if (sender) {
    const addr = literalAddresses(sender)[0];
    if (tagNames(sender).some((t) => byCf7.has(t))) {
      notes.push(note('changed', `Sender ${q(sender)} used visitor fields (mail "from" the visitor fails SPF/DMARC and lets anyone write your From line): mail.from uses your own address only.`, `送信元 ${q(sender)} は訪問者の入力を使っていました（訪問者を差出人にすると SPF/DMARC で失敗し、誰でも差出人欄を書けてしまいます）。mail.from にはあなたのアドレスだけを使います。`));
    }
    if (addr) {
      const display = sender
        .replace(/<[^>]*>/g, '')
        .replace(/\[\s*_site_title\s*\]/g, site.title ?? '')
        .replace(/\[[^\]]*\]/g, '')
        .replace(/["\\\r\n]/g, '')
        .replace(/\s+/g, ' ')
        .trim();
      from = display && !display.includes('@') ? `"${display}" <${addr}>` : addr;
    }
  }

  const form: FormOut = {
    id,
    title: src.title.trim() || id,
    language,
    fields,
    notify: { to: [...notifyTo], subject: safeBraces(subject), body: safeBraces(body) },
    ...(autoreply ? { autoreply: { ...autoreply, subject: safeBraces(autoreply.subject), body: safeBraces(autoreply.body) } } : {}),
    ...(site.url && /^https?:\/\//.test(site.url) ? { cors: { origins: [new URL(site.url).origin] } } : {}),
  };
  return { form, from, submitLabel, labelHtml, notes, tags: outcomes };
}

/**
 * A mail body converted line by line; a line left as a bare "Label:" because its only tags had no
 * counterpart ("IP: [_remote_ip]") goes, and trailing spaces with it.
 */
function ownerBody(text: string, ctx: MailContext): string {
  return text
    .split('\n')
    .flatMap((line) => {
      const c = convertMailText(line, ctx);
      const out = /^-- $/.test(c.text) ? c.text : c.text.replace(/[ \t]+$/, '');
      return c.dropped.length && !/\{\{/.test(out) && /^[^:：]{0,40}[:：]?$/.test(out.trim()) && out.trim() !== '' ? [] : [out];
    })
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

function receiptText(language: 'ja' | 'en'): string {
  return language === 'ja'
    ? '{{site_name}} へのお問い合わせありがとうございます。\n受付番号: {{receipt_id}}（{{submitted_at}}）\n担当者よりご連絡いたします。'
    : 'Thank you for contacting {{site_name}}.\nYour receipt number is {{receipt_id}} ({{submitted_at}}).\nWe will reply soon.';
}

/** mail_2 as an auto-reply that carries no visitor text, with a note of what was taken out and why. */
function payloadFreeAutoreply(mail2: Cf7Mail, ctx: MailContext, language: 'ja' | 'en', to: string, notes: Note[]): NonNullable<FormOut['autoreply']> {
  const carries = (line: string) => convertMailText(line, ctx).visitorTags.length > 0;
  const subjectSrc = mail2.subject.replace(/[\r\n]+/g, ' ');
  const subjectTags = convertMailText(subjectSrc, ctx).visitorTags;
  // A visitor tag goes with the honorific after it ("[your-name] 様").
  const stripped = subjectSrc.replace(/(\[?)\[[\t ]*([a-zA-Z_][0-9a-zA-Z:._-]*)((?:[\t ]+"[^"]*"|[\t ]+'[^']*')*)[\t ]*\](\]?)(\s*(?:様|さま|さん|殿|御中))?/g, (m) => (carries(m.replace(/\s*(?:様|さま|さん|殿|御中)$/, '')) ? '' : m));
  let subject = cleanSubject(convertMailText(stripped, ctx).text);
  if (!subject || subject === '{{site_name}}') subject = language === 'ja' ? `${subject || '{{site_name}}'}: お問い合わせを受け付けました` : `${subject || '{{site_name}}'}: we received your inquiry`;
  const bodySrc = mail2.useHtml ? htmlToText(mail2.body) : mail2.body.replace(/\r\n?/g, '\n');
  const { text: kept, removed } = removeVisitorLines(bodySrc, carries);
  const bodyTags = [...new Set(removed.flatMap((l) => convertMailText(l, ctx).visitorTags))];
  let body = ownerBody(kept, ctx);
  const echoed = [...new Set([...subjectTags, ...bodyTags])];
  if (!/\{\{\s*receipt_id\s*\}\}/.test(body)) {
    // The receipt goes before the signature ("-- " line); with nothing else above it, the whole thank-you.
    const lines = body.split('\n');
    const sig = lines.findIndex((l) => /^--\s*$/.test(l));
    const main = (sig === -1 ? lines : lines.slice(0, sig)).join('\n').trim();
    const rest = sig === -1 ? '' : lines.slice(sig).join('\n');
    const line = language === 'ja' ? '受付番号: {{receipt_id}}（{{submitted_at}}）' : 'Receipt number: {{receipt_id}} ({{submitted_at}})';
    body = [main ? `${main}\n\n${line}` : receiptText(language), rest].filter(Boolean).join('\n\n');
  }
  if (echoed.length) {
    const lines = removed.map((l) => `    | ${l}`).join('\n');
    notes.push(
      note(
        'changed',
        `Auto-reply (mail_2) repeated what the visitor typed (${echoed.join(' ')}). A bot types a stranger's address and a spam link into the form, and such an auto-reply carries the link to the stranger from your domain. ` +
          `Formwarden's auto-reply carries no visitor text: ${subjectTags.length ? `the subject is now ${q(subject)}; ` : ''}${removed.length ? `these lines were removed (read the new text once: a sentence that announced them may need rewording):\n${lines}\n` : ''}the inquiry itself reaches you in the notification. (autoreply.echo: sanitized would put fields back with links, addresses and numbers stripped.)`,
        `自動返信（メール(2)）が訪問者の入力（${echoed.join(' ')}）をそのまま返していました。ボットは他人のメールアドレスとスパムのリンクをフォームに入力し、このような自動返信はそのリンクをあなたのドメインから他人に届けてしまいます。` +
          `Formwarden の自動返信には訪問者の入力を入れません。${subjectTags.length ? `件名は ${q(subject)} にしました。` : ''}${removed.length ? `次の行を削除しました（それを前置きする文が残っていれば直してください）:\n${lines}\n` : ''}お問い合わせの内容は通知メールであなたに届きます。（autoreply.echo: sanitized にすると、リンク・アドレス・電話番号を除いて入力を戻せます。）`,
      ),
    );
  }
  const dropped = convertMailText(kept + subjectSrc, ctx).dropped.filter((d) => !echoed.includes(d));
  if (dropped.length) notes.push(note('changed', `Auto-reply: ${dropped.join(' ')} have no Formwarden counterpart and were removed.`, `自動返信: ${dropped.join(' ')} は Formwarden に対応するものがないため削除しました。`));
  for (const h of headerLines(mail2.additionalHeaders)) {
    if (h.name === 'reply-to') continue;
    notes.push(note('changed', `Auto-reply header ${h.name}: ${q(h.value)} removed: an auto-reply goes to the visitor alone, with headers Formwarden builds.`, `自動返信のヘッダー ${h.name}: ${q(h.value)} は削除しました（自動返信は訪問者1人だけに、Formwarden が組み立てたヘッダーで送ります）。`));
  }
  if (mail2.attachments.trim()) notes.push(note('not-imported', 'Auto-reply attachments: not imported (an auto-reply never carries files).', '自動返信の添付ファイルは取り込んでいません（自動返信にファイルは付けません）。'));
  if (mail2.useHtml) notes.push(note('changed', 'The auto-reply was HTML (use_html); Formwarden sends it as plain text.', '自動返信は HTML メールでしたが、テキストメールで送ります。'));
  return { enabled: mail2.active !== false, to, subject, body };
}

function convertField(tag: Cf7Tag, name: string, label: string, add: (n: Note) => void, where: string): FieldOut {
  const field: FieldOut = { name, type: 'text', label: label || humanize(tag.name) };
  if (tag.required) field.required = true;
  const max = maxLengthOption(tag);
  const min = option(tag, 'minlength', /[0-9]+/);
  if (max !== undefined && max > 0 && max <= 100_000) field.maxLength = max;
  if (min !== undefined && Number(min) > 0 && (field.maxLength === undefined || Number(min) <= field.maxLength)) field.minLength = Number(min);
  const placeholderOpt = hasOption(tag, 'placeholder') || hasOption(tag, 'watermark');
  const first = tag.values[0];
  const ignored: string[] = [];
  if (/^(akismet:author(_email|_url)?)$/i.test(tag.options.find((o) => /^akismet:/i.test(o)) ?? '')) {
    add(note('info', `${where}: akismet:* option: Formwarden's Akismet check (defenses.akismet: { apiKey, blog }) sends the fields name and email as author and address.`, `${where}: akismet:* オプション: Formwarden の Akismet 連携（defenses.akismet: { apiKey, blog }）は name と email 欄を投稿者名・アドレスとして送ります。`));
  }
  for (const o of tag.options) {
    if (/^default:(get|post|post_meta|shortcode_attr|user_.*)$/i.test(o)) ignored.push(o);
    else if (tag.basetype === 'file' && /^(limit|filetypes):/i.test(o)) continue;
    else if (/^(min|max|step|limit|filetypes|data):/i.test(o) || /^(free_text|invert|multiple)$/i.test(o)) ignored.push(o);
  }

  switch (tag.basetype) {
    case 'email':
    case 'tel':
    case 'url':
    case 'text':
      field.type = tag.basetype;
      if (first !== undefined) {
        if (placeholderOpt) field.placeholder = first;
        else field.value = first;
      }
      break;
    case 'textarea':
      field.type = 'textarea';
      if (first !== undefined && placeholderOpt) field.placeholder = first;
      else if (tag.content || first) field.value = tag.content || first;
      break;
    case 'number':
    case 'range':
      field.pattern = '-?[0-9]+(\\.[0-9]+)?';
      if (first !== undefined) {
        if (placeholderOpt) field.placeholder = first;
        else field.value = first;
      }
      add(note('changed', `${where}: Formwarden has no ${tag.basetype} field: ${name} is a text field that accepts numbers only (pattern).`, `${where}: Formwarden には ${tag.basetype} 型がないため、${name} は数字だけを受け付けるテキスト欄（pattern）にしました。`));
      break;
    case 'date':
      field.pattern = '[0-9]{4}-[0-9]{2}-[0-9]{2}';
      field.placeholder = placeholderOpt && first ? first : 'YYYY-MM-DD';
      add(note('changed', `${where}: Formwarden has no date field: ${name} is a text field for YYYY-MM-DD.`, `${where}: Formwarden には日付型がないため、${name} は YYYY-MM-DD 形式のテキスト欄にしました。`));
      break;
    case 'file':
      convertFile(tag, field, add, where);
      break;
    case 'hidden':
      field.type = 'hidden';
      delete field.required;
      if (first !== undefined) field.value = first;
      break;
    case 'acceptance':
      field.type = 'checkbox';
      field.required = !hasOption(tag, 'optional') && !hasOption(tag, 'invert');
      if (tag.content) field.label = cleanLabel(stripHtml(tag.content)) || field.label;
      if (hasOption(tag, 'invert')) add(note('check', `${where}: an inverted acceptance ("check to refuse") is imported as an optional checkbox; check its wording.`, `${where}: 反転した同意欄（チェックで拒否）は任意のチェックボックスにしました。文言を確認してください。`));
      break;
    case 'select':
    case 'checkbox':
    case 'radio': {
      let values = tag.values.map(splitPipe).filter((v) => v.value !== '');
      if (tag.basetype === 'select' && hasOption(tag, 'first_as_label') && values.length) {
        field.placeholder = values[0]!.label;
        values = values.slice(1);
      }
      const seen = new Set<string>();
      values = values.filter((v) => (seen.has(v.value) ? false : (seen.add(v.value), true)));
      field.type = tag.basetype === 'select' ? (hasOption(tag, 'multiple') ? 'checkbox' : 'select') : tag.basetype === 'checkbox' && hasOption(tag, 'exclusive') ? 'radio' : tag.basetype;
      if (tag.basetype === 'select' && hasOption(tag, 'multiple')) add(note('changed', `${where}: a multiple select becomes checkboxes (the same choices).`, `${where}: 複数選択のセレクトはチェックボックス（同じ選択肢）にしました。`));
      if (field.type === 'radio' && tag.basetype === 'checkbox') add(note('changed', `${where}: an exclusive checkbox (one choice) becomes radio buttons.`, `${where}: 1つだけ選べるチェックボックス（exclusive）はラジオボタンにしました。`));
      if (values.length) {
        field.options = values.map((v) => (v.label === v.value ? v.value : { value: v.value, label: v.label }));
        const def = option(tag, 'default', /[0-9_]+/);
        const pick = def ? values[Number(def.split('_')[0]) - 1] : undefined;
        if (pick && field.type !== 'checkbox') field.value = pick.value;
        if (values.some((v) => v.label !== v.value)) add(note('info', `${where}: "label|value" choices: the visitor sees the label; the value is what is stored and mailed.`, `${where}: 「表示|値」形式の選択肢: 訪問者には表示名が見え、保存とメールには値が入ります。`));
      } else if (field.type === 'select' || field.type === 'radio') {
        field.type = 'text';
        add(note('changed', `${where}: a ${tag.basetype} without choices becomes a text field.`, `${where}: 選択肢のない ${tag.basetype} はテキスト欄にしました。`));
      }
      if (field.maxLength !== undefined && field.type !== 'text') delete field.maxLength;
      break;
    }
  }
  if (field.type === 'hidden' || field.type === 'checkbox' || field.type === 'select' || field.type === 'radio') delete field.minLength;
  if (ignored.length) add(note('not-imported', `${where}: option${ignored.length > 1 ? 's' : ''} ${ignored.join(' ')} not imported (no Formwarden counterpart).`, `${where}: オプション ${ignored.join(' ')} は Formwarden に対応するものがないため取り込んでいません。`));
  return field;
}

// CF7's file tag: `limit:` (bytes, or with kb/mb; CF7's default is 1 MB) and `filetypes:` (extensions or
// MIME types separated by |). Formwarden sniffs the type from the bytes and accepts families
// (docs/attachments.md), so each extension maps to its family; what has no family is reported.
const CF7_DEFAULT_FILE_BYTES = 1024 * 1024;
const FILE_FAMILY: Record<string, string> = {
  jpg: 'jpeg', jpeg: 'jpeg', jpe: 'jpeg', png: 'png', gif: 'gif', webp: 'webp', heic: 'heic', heif: 'heic',
  pdf: 'pdf', txt: 'text', text: 'text', docx: 'docx', xlsx: 'xlsx', pptx: 'pptx',
  'image/*': 'image', 'image/jpeg': 'jpeg', 'image/png': 'png', 'image/gif': 'gif', 'image/webp': 'webp', 'image/heic': 'heic',
  'application/pdf': 'pdf', 'text/plain': 'text',
};
const MAX_FILE_BYTES = 25 * 1024 * 1024;

function convertFile(tag: Cf7Tag, field: FieldOut, add: (n: Note) => void, where: string): void {
  field.type = 'file';
  delete field.maxLength;
  delete field.minLength;
  field.maxFiles = 1;
  const limit = tag.options.find((o) => /^limit:/i.test(o));
  const m = limit ? /^limit:([0-9]+)(kb|mb)?$/i.exec(limit) : null;
  if (m) {
    const bytes = Number(m[1]) * (m[2]?.toLowerCase() === 'mb' ? 1024 * 1024 : m[2]?.toLowerCase() === 'kb' ? 1024 : 1);
    if (bytes > 0) field.maxBytes = Math.min(bytes, MAX_FILE_BYTES);
    if (bytes > MAX_FILE_BYTES) add(note('changed', `${where}: ${limit} is over Formwarden's largest file (25 MB): set to 25 MB.`, `${where}: ${limit} は Formwarden の上限（25 MB）を超えるため 25 MB にしました。`));
  } else {
    if (limit) add(note('check', `${where}: ${limit} cannot be read: CF7's default of 1 MB is used.`, `${where}: ${limit} を読めないため、CF7 の標準の 1 MB にしました。`));
    field.maxBytes = CF7_DEFAULT_FILE_BYTES;
  }
  const types = tag.options.find((o) => /^filetypes:/i.test(o));
  const wanted = types ? types.slice('filetypes:'.length).split('|').map((t) => t.trim().toLowerCase().replace(/^\./, '')).filter(Boolean) : [];
  const accept = new Set<string>();
  const unknown: string[] = [];
  for (const t of wanted) {
    const family = FILE_FAMILY[t];
    if (family) accept.add(family);
    else unknown.push(t);
  }
  if (accept.size) field.accept = [...accept];
  if (unknown.length) {
    add(note('changed', `${where}: file types ${unknown.join(', ')} are not accepted: Formwarden takes only types it can check from the content (images, PDF, plain text, Word/Excel/PowerPoint .docx/.xlsx/.pptx).${accept.size ? '' : ' The field accepts images and PDF.'}`, `${where}: ファイル形式 ${unknown.join('、')} は受け付けません。Formwarden は中身で確認できる形式（画像、PDF、テキスト、Word/Excel/PowerPoint の .docx/.xlsx/.pptx）だけを受け付けます。${accept.size ? '' : 'この欄は画像と PDF を受け付けます。'}`));
    if (!accept.size) field.accept = ['image', 'pdf'];
  }
  add(note('info', `${where}: file field ${field.name}: its files go to the owner's notification only, never to the auto-reply (docs/attachments.md).`, `${where}: ファイル欄 ${field.name}: ファイルは通知メールにだけ添付し、自動返信には決して付けません（docs/attachments.ja.md）。`));
}

function stripHtml(s: string): string {
  return s.replace(/<br\s*\/?>/gi, ' ').replace(/<[^>]*>/g, '').replace(/\s+/g, ' ').trim();
}

function humanize(name: string): string {
  const t = name.replace(/^your[-_]/, '').replace(/[-_.:]+/g, ' ').trim();
  return t ? t[0]!.toUpperCase() + t.slice(1) : name;
}
