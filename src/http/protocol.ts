// What the hosted page adds to a form so that it passes the defenses: a signed token, the honeypot
// fields (hidden from people, announced to screen readers as "leave empty"), the ALTCHA widget,
// when enabled an image CAPTCHA with a text alternative, and the reCAPTCHA / Turnstile / hCaptcha
// widget when `defenses.captcha` has a site key. Without JavaScript the token and honeypot still work;
// only the proof-of-work and the third-party response are missing, which costs the auto-reply, not
// the inquiry.
import type { FormConfig } from '../config/schema.js';
import type { Defenses } from '../defenses/setup.js';
import type { CaptchaWidget, ThirdPartyCaptchaDefense } from '../defenses/third-party-captcha/index.js';
import { t, type Lang } from '../i18n/messages.js';
import { BEFORE_SUBMIT } from './form-page.js';
import { esc } from './html.js';

/** The ALTCHA widget's options: no "ALTCHA" footer link and no logo on the owner's form. */
export const ALTCHA_CONFIGURATION = JSON.stringify({ hideFooter: true, hideLogo: true });

/** The third-party CAPTCHA widget to show, if the adapter is on and has a site key. */
export function captchaWidget(defenses: Defenses | null | undefined): CaptchaWidget | null {
  const d = defenses?.pipeline.defenses.find((x) => x.name === 'third-party-captcha') as Partial<ThirdPartyCaptchaDefense> | undefined;
  return d?.widget ?? null;
}

/** For GET /api/forms/:id/challenge: what widget.js needs to add the widget to an owner's form. */
export function captchaForClient(defenses: Defenses | null | undefined): { provider: string; sitekey: string; scriptUrl: string; action: string | null } | null {
  const w = captchaWidget(defenses);
  return w ? { provider: w.provider, sitekey: w.sitekey, scriptUrl: w.scriptUrl, action: w.action ?? null } : null;
}

/** Helmet CSP directives: `base` plus the provider's script, frame and connect sources when the widget is on. */
export function withCaptchaSources(defenses: Defenses | null | undefined, base: Record<string, string[]>): Record<string, string[]> {
  const w = captchaWidget(defenses);
  if (!w) return base;
  const out = { ...base };
  const add = (name: string, sources: string[]) => {
    if (sources.length) out[name] = [...new Set([...(out[name] ?? ["'self'"]), ...sources])];
  };
  add('script-src', w.csp.script);
  add('frame-src', w.csp.frame);
  add('connect-src', w.csp.connect);
  return out;
}

/** The widget's container; web/widget.js reads the data-fw-captcha attributes. */
export function captchaContainer(w: CaptchaWidget, lang: Lang): string {
  const action = w.action ? ` data-action="${esc(w.action)}"` : '';
  const attrs = `data-fw-captcha="${w.provider}" data-sitekey="${esc(w.sitekey)}"${action}`;
  switch (w.provider) {
    case 'turnstile':
      return `<div class="fw-3p cf-turnstile" ${attrs} data-language="${lang}"></div>`;
    case 'hcaptcha':
      return `<div class="fw-3p h-captcha" ${attrs}></div>`;
    case 'recaptcha':
      return `<div class="fw-3p" ${attrs}></div>`;
  }
}

export function protocolHtml(defenses: Defenses, form: FormConfig, lang: Lang, now: Date): string {
  const parts = [`<input type="hidden" name="_token" value="${esc(defenses.tokens.issueToken(form.id, now))}">`];
  for (const name of defenses.honeypotFields) {
    parts.push(
      `<div class="fw-hp" aria-hidden="true"><label for="fw-hp-${esc(name)}">${esc(t(lang, 'honeypot_label'))}</label><input type="text" id="fw-hp-${esc(name)}" name="${esc(name)}" value="" tabindex="-1" autocomplete="off"></div>`,
    );
  }
  if (defenses.captchaImage) {
    const c = defenses.captchaImage.create(form.id, now);
    parts.push(`<div class="fw-field fw-captcha"><label for="fw-captcha">${esc(t(lang, 'captcha_label'))}</label>
<img src="data:image/svg+xml;base64,${Buffer.from(c.svg).toString('base64')}" alt="${esc(c.alt[lang])}" width="150" height="50">
<input type="text" id="fw-captcha" name="_captcha" autocomplete="off" required aria-required="true">
<input type="hidden" name="_captcha_token" value="${esc(c.token)}">
<a href="?lang=${lang}">${esc(t(lang, 'captcha_refresh'))}</a></div>`);
  }
  // The ALTCHA check and the provider's widget sit next to the submit button, as visitors know them.
  const beforeSubmit: string[] = [];
  if (defenses.altcha) {
    // altcha 3 has no hidefooter/hidelogo attributes: options go in the `configuration` JSON attribute.
    beforeSubmit.push(`<altcha-widget challenge="/api/forms/${esc(form.id)}/challenge/altcha" auto="onload" language="${lang}" configuration="${esc(ALTCHA_CONFIGURATION)}"></altcha-widget>`);
  }
  const widget = captchaWidget(defenses);
  if (widget) beforeSubmit.push(captchaContainer(widget, lang));
  if (defenses.altcha || widget) beforeSubmit.push(`<noscript><p class="fw-note">${esc(t(lang, 'noscript'))}</p></noscript>\n`);
  if (beforeSubmit.length) parts.push(BEFORE_SUBMIT, ...beforeSubmit);
  return parts.join('\n');
}

export function protocolScripts(defenses: Defenses): string {
  // The hosted page uses the same widget.js as the owners' own pages (it waits for the proof-of-work
  // and the third-party response on submit, and renews an expired token or challenge); the form
  // works without them. The provider's script renders its widget into the container.
  const widget = captchaWidget(defenses);
  return [
    defenses.altcha ? '<script type="module" src="/static/vendor/altcha.js"></script>' : '',
    widget ? `<script src="${esc(widget.scriptUrl)}" async defer></script>` : '',
    '<script src="/static/widget.js" defer></script>',
  ]
    .filter(Boolean)
    .join('\n');
}
