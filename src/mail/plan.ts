// Which mails an accepted submission produces: one notification per owner address (Reply-To the
// visitor's validated address, as typed) and, when enabled and allowed by the verdict, one auto-reply to
// the visitor's mailbox only: its canonical address (no '+tag'), or none when the address itself carries
// visitor-chosen words or routing syntax (see autoreplyRecipient).
import type { Config, FormConfig, Translations } from '../config/schema.js';
import { t, type Lang } from '../i18n/messages.js';
import type { NewMail } from './outbox.js';
import { parseEmail } from '../forms/email.js';
import { addressAndRecipient, type WithheldReason } from '../relay/address.js';
import { echoCapFor, sanitizeVisitorText } from '../relay/sanitize.js';
import { formatInZone, render } from './template.js';

export interface PlannedSubmission {
  id: string;
  /** The short receipt number (K7QD-3M9X); rows from before migration 011 have none and show their id. */
  receipt?: string;
  form: FormConfig;
  values: Record<string, string>;
  lang: Lang;
  createdAt: Date;
}

/** Placeholders Formwarden fills itself; they never carry visitor text. */
export function systemValues(config: Config, sub: PlannedSubmission): Record<string, string> {
  return {
    receipt_id: sub.receipt ?? sub.id,
    submitted_at: formatInZone(sub.createdAt, config.timeZone, sub.lang),
    form_title: sub.form.title[sub.lang],
    site_name: config.siteName,
  };
}

/** The field that holds the visitor's address: the autoreply.to field, else the first email field. */
export function visitorAddressField(form: FormConfig): string | undefined {
  const name = form.autoreply?.to ?? form.fields.find((f) => f.type === 'email')?.name;
  return form.fields.find((f) => f.name === name && f.type === 'email')?.name;
}

/** The visitor's address for Reply-To and the auto-reply. */
export function visitorAddress(form: FormConfig, values: Record<string, string>): string | null {
  const field = visitorAddressField(form);
  return field ? values[field] || null : null;
}

/** A field's value as the owner reads it: the labels of chosen options (as on the page), else the text. */
export function displayValue(field: FormConfig['fields'][number], value: string | undefined, lang: Lang): string {
  if (value === undefined || value === '') return '';
  if (!field.options?.length) return value;
  const picked = field.type === 'checkbox' ? value.split(', ') : [value];
  return picked.map((v) => field.options!.find((o) => o.value === v)?.label[lang] ?? v).join(', ');
}

/** The notification body when notify.body is unset: receipt number, time, form, then every field by its label. */
export function defaultNotifyBody(form: FormConfig, values: Record<string, string>, lang: Lang, system?: Record<string, string>): string {
  const head = system ? `${t(lang, 'receipt')}: ${system.receipt_id}\n${t(lang, 'mail_submitted_at')}: ${system.submitted_at}\n${t(lang, 'mail_form')}: ${form.title[lang]}\n\n` : '';
  return head + form.fields.map((f) => `${f.label[lang]}:\n${displayValue(f, values[f.name], lang)}\n`).join('\n');
}

/** The subject and body for a language: its translation where one is given, else the form's subject/body. */
export function pickTemplate(base: { subject: string; body?: string; translations?: Translations }, lang: Lang): { subject: string; body: string | undefined } {
  const tr = base.translations?.[lang];
  return { subject: tr?.subject ?? base.subject, body: tr?.body ?? base.body };
}

export function planNotifications(config: Config, sub: PlannedSubmission): NewMail[] {
  const { form } = sub;
  // The owner reads the form's language; a translation for the visitor's language, when given, wins.
  const ownerLang = form.language ?? 'ja';
  const system = systemValues(config, { ...sub, lang: ownerLang });
  const vars = { ...sub.values, ...system };
  const tpl = pickTemplate(form.notify, sub.lang);
  const subject = render(tpl.subject, vars);
  const body = tpl.body !== undefined ? render(tpl.body, vars) : defaultNotifyBody(form, sub.values, ownerLang, system);
  const replyTo = visitorAddress(form, sub.values);
  return form.notify.to.map((to) => ({ kind: 'notify', submissionId: sub.id, formId: form.id, to, replyTo, subject, body }));
}

/**
 * The auto-reply, or why it is withheld. `key` is the canonical mailbox (caps, suppression). The mail goes
 * to the canonical address, never to the address as typed: a stranger's To: header never carries the
 * visitor's '+tag' or any other visitor-chosen words beyond a plain mailbox name.
 */
export type AutoreplyPlan = { key: string } & ({ mail: NewMail; withheld?: undefined } | { mail?: undefined; withheld: WithheldReason });

/**
 * The auto-reply. With `echo: none` (the default) only system placeholders are filled; with
 * `echo: sanitized` visitor fields appear stripped of links, addresses and numbers, and only for a
 * submission that scored clean. The subject never carries visitor text (the lint refuses it).
 * Null when the form has no auto-reply or no address.
 */
export function planAutoreply(config: Config, sub: PlannedSubmission, notBefore: number, scoredClean: boolean): AutoreplyPlan | null {
  const ar = sub.form.autoreply;
  if (!ar?.enabled) return null;
  const typed = visitorAddress(sub.form, sub.values);
  if (!typed) return null;
  const { key, recipient } = addressAndRecipient(typed);
  if (!recipient.ok) return { key, withheld: recipient.reason };
  // The canonical address only drops characters from a valid one; never send anything that is not one plain address.
  if (parseEmail(recipient.to) !== recipient.to) return { key, withheld: 'symbols' };
  // Rendered when first read (the intake reads it only for an auto-reply that is queued).
  let mail: NewMail | undefined;
  return {
    key,
    get mail(): NewMail {
      if (mail) return mail;
      const echoed: Record<string, string> = {};
      if (ar.echo === 'sanitized' && scoredClean) {
        for (const [name, value] of Object.entries(sub.values)) echoed[name] = sanitizeVisitorText(value, { maxLength: echoCapFor(name) });
      }
      const system = systemValues(config, sub);
      const vars = { ...echoed, ...system };
      const tpl = pickTemplate(ar, sub.lang);
      mail = { kind: 'autoreply', submissionId: sub.id, formId: sub.form.id, to: recipient.to, replyTo: null, subject: render(tpl.subject, system), body: render(tpl.body ?? ar.body, vars), notBefore };
      return mail;
    },
  };
}
