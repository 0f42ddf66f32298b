// The hosted form page and the thank-you page: plain, accessible HTML that works without JavaScript.
import type { FieldConfig, FormConfig } from '../config/schema.js';
import type { FieldError } from '../forms/validate.js';
import { fieldErrorText, formatBytes, t, type Lang } from '../i18n/messages.js';
import { DEFAULT_ATTACHMENTS, fileFieldLimits } from '../attachments/limits.js';
import { CONTENT_TYPES, EXTENSIONS } from '../attachments/sniff.js';
import type { Config } from '../config/schema.js';
import { esc, page } from './html.js';
import { brandFooter, brandHead, brandHeader, paragraphs, privacyNote, type Branding } from './branding.js';

/** In protocolHtml, what follows this marker goes just before the submit button (a CAPTCHA widget). */
export const BEFORE_SUBMIT = '<!--fw:before-submit-->';

export interface FormPageOptions {
  form: FormConfig;
  lang: Lang;
  values?: Record<string, unknown>;
  errors?: Record<string, FieldError>;
  /** Hidden protocol inputs (token, honeypot) and widgets added by the defenses. */
  protocolHtml?: string;
  head?: string;
  /** The instance's attachment defaults (file fields); the schema's defaults without it. */
  config?: Pick<Config, 'attachments'>;
  /** Header, footer, accent colour and privacy link (src/http/branding.ts); a plain page without it. */
  brand?: Branding;
}

/** "Contact us | Example Shop" */
const pageTitle = (title: string, brand: Branding | undefined, lang: Lang) => (brand ? `${title} | ${brand.siteName[lang]}` : title);
const langLink = (lang: Lang, href: string) => {
  const other: Lang = lang === 'ja' ? 'en' : 'ja';
  return `<p class="fw-lang"><a href="${esc(href)}lang=${other}" lang="${other}" hreflang="${other}">${esc(t(lang, 'language'))}</a></p>`;
};

export function renderFormPage(o: FormPageOptions): string {
  const { form, lang } = o;
  const errors = o.errors ?? {};
  const errorNames = Object.keys(errors);
  const summary =
    errorNames.length > 0
      ? `<div class="fw-summary" role="alert" tabindex="-1" id="fw-summary">
<p>${esc(t(lang, 'form_has_errors'))}</p>
<ul>${errorNames
          .map((n) => {
            const f = form.fields.find((x) => x.name === n);
            return `<li><a href="#f-${esc(n)}">${esc(f?.label[lang] ?? n)}: ${esc(fieldErrorText(lang, errors[n]!))}</a></li>`;
          })
          .join('')}</ul>
</div>`
      : '';
  const [protocol = '', beforeSubmit = ''] = (o.protocolHtml ?? '').split(BEFORE_SUBMIT);
  const fields = form.fields.map((f) => renderField(f, lang, o.values?.[f.name], errors[f.name], o)).join('\n');
  const body = `<h1>${esc(form.title[lang])}</h1>
${form.description ? `<p class="fw-desc">${esc(form.description[lang])}</p>` : ''}
${summary}
<form method="post" action="/f/${esc(form.id)}"${form.fields.some((f) => f.type === 'file') ? ' enctype="multipart/form-data"' : ''} class="fw-form" data-fw-form="${esc(form.id)}" novalidate>
<input type="hidden" name="lang" value="${lang}">
${protocol}
${fields}
${beforeSubmit}${privacyNote(o.brand, lang)}<p class="fw-actions"><button type="submit">${esc(t(lang, 'submit'))}</button></p>
</form>`;
  return page({
    lang,
    title: pageTitle(form.title[lang], o.brand, lang),
    body,
    head: `${brandHead(o.brand)}${o.head ? `\n${o.head}` : ''}`,
    header: brandHeader(o.brand, lang, langLink(lang, '?')),
    footer: brandFooter(o.brand, lang),
  });
}

function renderField(f: FieldConfig, lang: Lang, value: unknown, error: FieldError | undefined, o: FormPageOptions): string {
  const id = `f-${f.name}`;
  const errId = `${id}-error`;
  const label = esc(f.label[lang]);
  const req = f.required ? ` <span class="fw-req">${esc(t(lang, 'required_mark'))}</span>` : '';
  const invalid = error ? ` aria-invalid="true" aria-describedby="${errId}"` : '';
  const aria = `${f.required ? ' required aria-required="true"' : ''}${invalid}`;
  const err = error ? `<p class="fw-error" id="${errId}">${esc(fieldErrorText(lang, error))}</p>` : '';
  const text = Array.isArray(value) ? value.map(String) : value === undefined ? [] : [String(value)];
  const current = text[0] ?? f.value ?? '';
  const limits = `${f.maxLength ? ` maxlength="${f.maxLength}"` : ''}${f.minLength ? ` minlength="${f.minLength}"` : ''}`;
  const ph = f.placeholder ? ` placeholder="${esc(f.placeholder[lang])}"` : '';
  switch (f.type) {
    case 'hidden':
      return `<input type="hidden" name="${esc(f.name)}" value="${esc(current)}">`;
    case 'file': {
      // A browser never refills a file input: the visitor picks the files again after an error.
      const limits = fileFieldLimits(o.config ?? { attachments: DEFAULT_ATTACHMENTS }, f);
      const accept = [...limits.accept].flatMap((family) => [CONTENT_TYPES[family].split(';')[0]!, ...EXTENSIONS[family].map((e) => `.${e}`)]).join(',');
      const hint = `${t(lang, 'file_hint', { size: formatBytes(limits.maxBytes), max: limits.maxFiles })}`;
      const described = ` aria-describedby="${id}-hint${error ? ` ${errId}` : ''}"`;
      return `<div class="fw-field${error ? ' fw-invalid' : ''}"><label for="${id}">${label}${req}</label>
<input type="file" id="${id}" name="${esc(f.name)}" accept="${esc(accept)}"${limits.maxFiles > 1 ? ' multiple' : ''}${f.required ? ' required aria-required="true"' : ''}${error ? ' aria-invalid="true"' : ''}${described}>
<p class="fw-hint" id="${id}-hint">${esc(hint)}</p>${err}</div>`;
    }
    case 'textarea':
      return `<div class="fw-field${error ? ' fw-invalid' : ''}"><label for="${id}">${label}${req}</label>
<textarea id="${id}" name="${esc(f.name)}" rows="8"${limits}${ph}${aria}>${esc(current)}</textarea>${err}</div>`;
    case 'select': {
      // The first option says "Please choose"; on a required field it cannot be chosen again once left.
      const chosen = (f.options ?? []).some((o) => o.value === current);
      const first = `<option value=""${f.required ? ' disabled' : ''}${chosen ? '' : ' selected'}>${esc(t(lang, 'select_placeholder'))}</option>`;
      return `<div class="fw-field${error ? ' fw-invalid' : ''}"><label for="${id}">${label}${req}</label>
<select id="${id}" name="${esc(f.name)}"${aria}>${first}${(f.options ?? [])
        .map((o) => `<option value="${esc(o.value)}"${o.value === current ? ' selected' : ''}>${esc(o.label[lang])}</option>`)
        .join('')}</select>${err}</div>`;
    }
    case 'radio':
    case 'checkbox': {
      if (!f.options?.length) {
        return `<div class="fw-field fw-check${error ? ' fw-invalid' : ''}"><input type="checkbox" id="${id}" name="${esc(f.name)}" value="${esc(f.value ?? 'yes')}"${text.length ? ' checked' : ''}${aria}>
<label for="${id}">${label}${req}</label>${err}</div>`;
      }
      const picked = new Set(text);
      return `<fieldset class="fw-field${error ? ' fw-invalid' : ''}" id="${id}"${error ? ` aria-describedby="${errId}"` : ''}><legend>${label}${req}</legend>
${f.options
  .map(
    (o, i) =>
      `<label><input type="${f.type}" name="${esc(f.name)}" value="${esc(o.value)}"${picked.has(o.value) ? ' checked' : ''}${f.required && f.type === 'radio' && i === 0 ? ' required' : ''}${invalid}> ${esc(o.label[lang])}</label>`,
  )
  .join('\n')}${err}</fieldset>`;
    }
    default: {
      const type = f.type === 'text' ? 'text' : f.type;
      const auto = f.type === 'email' ? ' autocomplete="email"' : f.type === 'tel' ? ' autocomplete="tel"' : f.name === 'name' ? ' autocomplete="name"' : '';
      return `<div class="fw-field${error ? ' fw-invalid' : ''}"><label for="${id}">${label}${req}</label>
<input type="${type}" id="${id}" name="${esc(f.name)}" value="${esc(current)}"${limits}${ph}${auto}${aria}>${err}</div>`;
    }
  }
}

/**
 * The thank-you page: the receipt number to quote, and what happens next (the form's page.nextSteps, or a
 * default that mentions the confirmation mail only when the form sends one).
 */
export function renderThanksPage(form: FormConfig, lang: Lang, receipt: string | undefined, brand?: Branding): string {
  const shown = receipt && /^(?:s_[0-9a-z]{22}|[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4})$/.test(receipt) ? receipt : null;
  const next = brand?.nextSteps?.[lang].trim()
    ? paragraphs(brand.nextSteps[lang])
    : [`<p>${esc(t(lang, 'next_reply'))}</p>`, form.autoreply?.enabled ? `<p>${esc(t(lang, 'next_confirmation'))}</p>` : ''].filter(Boolean).join('\n');
  const body = `<h1>${esc(t(lang, 'thanks_title'))}</h1>
<p role="status">${esc(t(lang, 'thanks_body'))}</p>
${shown ? `<div class="fw-receipt-box"><p class="fw-receipt-label" id="fw-receipt-label">${esc(t(lang, 'receipt'))}</p><p><strong class="fw-receipt" aria-describedby="fw-receipt-label">${esc(shown)}</strong></p></div>` : ''}
<section class="fw-next" aria-labelledby="fw-next-title"><h2 id="fw-next-title">${esc(t(lang, 'next_title'))}</h2>
${next}
</section>
<p class="fw-back"><a href="/f/${esc(form.id)}?lang=${lang}">${esc(t(lang, 'back'))}</a></p>`;
  const params = shown ? `?id=${encodeURIComponent(shown)}&` : '?';
  return page({
    lang,
    title: pageTitle(`${t(lang, 'thanks_title')} - ${form.title[lang]}`, brand, lang),
    body,
    head: brandHead(brand),
    header: brandHeader(brand, lang, langLink(lang, params)),
    footer: brandFooter(brand, lang),
  });
}

/** An error page (404, 413, 429, 503...): the status and one sentence, inside the site's header and footer. */
export function renderMessagePage(lang: Lang, title: string, message: string, brand?: Branding): string {
  return page({
    lang,
    title: pageTitle(title, brand, lang),
    body: `<h1>${esc(title)}</h1>\n<p role="alert">${esc(message)}</p>`,
    head: brandHead(brand),
    header: brandHeader(brand, lang),
    footer: brandFooter(brand, lang),
  });
}
