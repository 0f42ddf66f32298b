// The hosted form page and the thank-you page: plain, accessible HTML that works without JavaScript.
import type { FieldConfig, FormConfig } from '../config/schema.js';
import type { FieldError } from '../forms/validate.js';
import { fieldErrorText, formatBytes, t, type Lang } from '../i18n/messages.js';
import { DEFAULT_ATTACHMENTS, fileFieldLimits } from '../attachments/limits.js';
import { CONTENT_TYPES, EXTENSIONS } from '../attachments/sniff.js';
import type { Config } from '../config/schema.js';
import { esc, page } from './html.js';

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
}

export function renderFormPage(o: FormPageOptions): string {
  const { form, lang } = o;
  const errors = o.errors ?? {};
  const errorNames = Object.keys(errors);
  const other: Lang = lang === 'ja' ? 'en' : 'ja';
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
  const body = `<p class="fw-lang"><a href="?lang=${other}" lang="${other}" hreflang="${other}">${esc(t(lang, 'language'))}</a></p>
<h1>${esc(form.title[lang])}</h1>
${form.description ? `<p class="fw-desc">${esc(form.description[lang])}</p>` : ''}
${summary}
<form method="post" action="/f/${esc(form.id)}"${form.fields.some((f) => f.type === 'file') ? ' enctype="multipart/form-data"' : ''} class="fw-form" data-fw-form="${esc(form.id)}" novalidate>
<input type="hidden" name="lang" value="${lang}">
${protocol}
${fields}
${beforeSubmit}<p class="fw-actions"><button type="submit">${esc(t(lang, 'submit'))}</button></p>
</form>`;
  return page({ lang, title: form.title[lang], body, head: o.head });
}

function renderField(f: FieldConfig, lang: Lang, value: unknown, error: FieldError | undefined, o: FormPageOptions): string {
  const id = `f-${f.name}`;
  const errId = `${id}-error`;
  const label = esc(f.label[lang]);
  const req = f.required ? ` <span class="fw-req">(${esc(t(lang, 'required_mark'))})</span>` : '';
  const aria = `${f.required ? ' required aria-required="true"' : ''}${error ? ` aria-invalid="true" aria-describedby="${errId}"` : ''}`;
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
      return `<div class="fw-field${error ? ' fw-invalid' : ''}"><label for="${id}">${label}${req}</label>
<input type="file" id="${id}" name="${esc(f.name)}" accept="${esc(accept)}"${limits.maxFiles > 1 ? ' multiple' : ''}${aria}>
<p class="fw-hint">${esc(hint)}</p>${err}</div>`;
    }
    case 'textarea':
      return `<div class="fw-field${error ? ' fw-invalid' : ''}"><label for="${id}">${label}${req}</label>
<textarea id="${id}" name="${esc(f.name)}" rows="8"${limits}${ph}${aria}>${esc(current)}</textarea>${err}</div>`;
    case 'select':
      return `<div class="fw-field${error ? ' fw-invalid' : ''}"><label for="${id}">${label}${req}</label>
<select id="${id}" name="${esc(f.name)}"${aria}><option value=""></option>${(f.options ?? [])
        .map((o) => `<option value="${esc(o.value)}"${o.value === current ? ' selected' : ''}>${esc(o.label[lang])}</option>`)
        .join('')}</select>${err}</div>`;
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
      `<label><input type="${f.type}" name="${esc(f.name)}" value="${esc(o.value)}"${picked.has(o.value) ? ' checked' : ''}${f.required && f.type === 'radio' && i === 0 ? ' required' : ''}> ${esc(o.label[lang])}</label>`,
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

export function renderThanksPage(form: FormConfig, lang: Lang, receipt: string | undefined): string {
  const body = `<h1>${esc(t(lang, 'thanks_title'))}</h1>
<p role="status">${esc(t(lang, 'thanks_body'))}</p>
${receipt && /^(?:s_[0-9a-z]{22}|[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4})$/.test(receipt) ? `<p>${esc(t(lang, 'receipt'))}: <strong class="fw-receipt">${esc(receipt)}</strong></p>` : ''}
<p><a href="/f/${esc(form.id)}?lang=${lang}">${esc(t(lang, 'back'))}</a></p>`;
  return page({ lang, title: `${t(lang, 'thanks_title')} - ${form.title[lang]}`, body });
}

export function renderMessagePage(lang: Lang, title: string, message: string): string {
  return page({ lang, title, body: `<h1>${esc(title)}</h1>\n<p role="alert">${esc(message)}</p>` });
}
