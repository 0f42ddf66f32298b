// What the hosted page adds to a form so that it passes the defenses: a signed token, the honeypot
// fields (hidden from people, announced to screen readers as "leave empty"), the ALTCHA widget and,
// when enabled, an image CAPTCHA with a text alternative. Without JavaScript the token and honeypot
// still work; only the proof-of-work is missing, which costs the auto-reply, not the inquiry.
import type { FormConfig } from '../config/schema.js';
import type { Defenses } from '../defenses/setup.js';
import { t, type Lang } from '../i18n/messages.js';
import { esc } from './html.js';

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
  if (defenses.altcha) {
    parts.push(
      `<altcha-widget challenge="/api/forms/${esc(form.id)}/challenge/altcha" auto="onload" language="${lang}" hidefooter hidelogo></altcha-widget>`,
      `<noscript><p class="fw-note">${esc(t(lang, 'noscript'))}</p></noscript>`,
    );
  }
  return parts.join('\n');
}

export function protocolScripts(defenses: Defenses): string {
  // The hosted page uses the same widget.js as the owners' own pages (it waits for the proof-of-work
  // on submit and renews an expired token or challenge); the form works without both.
  return `${defenses.altcha ? '<script type="module" src="/static/vendor/altcha.js"></script>\n' : ''}<script src="/static/widget.js" defer></script>`;
}
