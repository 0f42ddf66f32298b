// Formwarden widget: one <script> makes an existing <form data-formwarden> post to Formwarden with the
// form protocol (signed token, honeypot, ALTCHA proof-of-work, and the reCAPTCHA v3 / Turnstile /
// hCaptcha widget when the server has one configured). Progressive enhancement: without this
// script (or if the challenge cannot be fetched) the form posts as a plain form. On the hosted page
// (form[data-fw-form]) the protocol is already in the HTML; only the submit-time checks apply.
// No framework, no build step; the only global is window.Formwarden = { version }.
(() => {
  'use strict';
  if (window.Formwarden) return;
  window.Formwarden = Object.freeze({ version: '0.1.0' });

  const STALE_MS = 50 * 60 * 1000; // tokens live 60 minutes
  const ALTCHA_WAIT_MS = 20000;
  const CAPTCHA_WAIT_MS = 60000; // a person may have to solve an hCaptcha / Turnstile challenge
  // Third-party CAPTCHA: the field the server reads, and the provider's global.
  const CAPTCHA = Object.assign(Object.create(null), {
    recaptcha: { field: 'g-recaptcha-response', api: 'grecaptcha', cls: '' },
    turnstile: { field: 'cf-turnstile-response', api: 'turnstile', cls: 'cf-turnstile' },
    hcaptcha: { field: 'h-captcha-response', api: 'hcaptcha', cls: 'h-captcha' },
  });
  const script = document.currentScript;
  const scriptBase = script && script.src ? new URL('..', script.src).href.replace(/\/+$/, '') : location.origin;
  const lang = /^ja\b/i.test(document.documentElement.lang || navigator.language || '') ? 'ja' : 'en';
  const M = {
    ja: {
      hp: 'この欄は空のままにしてください',
      sending: '送信しています…',
      ok: 'お問い合わせありがとうございます。内容を確認のうえ、担当者よりご連絡いたします。',
      receipt: '受付番号',
      invalid: '入力内容に誤りがあります。各項目をご確認ください。',
      fail: '送信できませんでした。時間をおいて、もう一度お試しください。',
    },
    en: {
      hp: 'Leave this field empty',
      sending: 'Sending…',
      ok: 'Thank you. Your message has been received. We will get back to you soon.',
      receipt: 'Receipt',
      invalid: 'Some fields need your attention.',
      fail: 'The form could not be sent. Please try again in a moment.',
    },
  }[lang];
  const log = (...a) => console.error('[formwarden]', ...a);
  const seen = new WeakSet();
  const loaded = new Set();
  let seq = 0;

  const el = (tag, attrs) => {
    const e = document.createElement(tag);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    return e;
  };
  const field = (form, name) => Array.prototype.find.call(form.elements, (e) => e.name === name) || null;
  const submitButton = (form) => form.querySelector('button:not([type]),button[type="submit"],input[type="submit"],input[type="image"]');

  // Where the form goes: action="<base>/f/<id>", or data-formwarden="<id>" (+ data-formwarden-url).
  function target(form) {
    const id = form.getAttribute('data-fw-form') || form.dataset.formwarden || '';
    const action = new URL(form.getAttribute('action') || '', location.href);
    const m = /^(.*)\/f\/([A-Za-z0-9_-]{1,64})\/?$/.exec(action.pathname);
    if (form.dataset.formwardenUrl) return { base: form.dataset.formwardenUrl.replace(/\/+$/, ''), id: id || (m ? m[2] : '') };
    if (m && (!id || id === m[2])) return { base: action.origin + m[1], id: m[2] };
    return { base: scriptBase, id };
  }

  async function challenge(st) {
    const res = await fetch(`${st.base}/api/forms/${encodeURIComponent(st.id)}/challenge`, { headers: { accept: 'application/json' }, credentials: 'omit', cache: 'no-store' });
    if (!res.ok) throw new Error(`challenge: HTTP ${res.status}`);
    const ch = await res.json();
    st.at = Date.now();
    return ch;
  }

  function setHidden(form, name, value) {
    let input = field(form, name);
    if (!input) form.prepend((input = el('input', { type: 'hidden', name })));
    input.value = value;
  }

  function loadScript(src) {
    if (loaded.has(src)) return;
    loaded.add(src);
    const s = el('script', { src, async: '' });
    s.onerror = () => log(`could not load ${src}: the forms post without the CAPTCHA response (no auto-reply)`);
    document.head.append(s);
  }

  // Before the submit button (or its only-child wrapper), else at the end of the form.
  function placeBeforeSubmit(form, node) {
    let at = submitButton(form);
    while (at && at.parentElement !== form && at.parentElement.children.length === 1) at = at.parentElement;
    if (at) at.before(node);
    else form.append(node);
  }

  // The owner's form gets the same container as the hosted page; the provider's script renders into it.
  // A widget the owner embedded themselves is left alone.
  function addCaptcha(form, c) {
    if (!CAPTCHA[c.provider] || form.querySelector('[data-fw-captcha],.cf-turnstile,.h-captcha,.g-recaptcha')) return;
    const box = el('div', { class: `fw-3p ${CAPTCHA[c.provider].cls}`.trim(), 'data-fw-captcha': c.provider, 'data-sitekey': c.sitekey });
    if (c.action) box.setAttribute('data-action', c.action);
    if (c.provider === 'turnstile') box.setAttribute('data-language', lang);
    placeBeforeSubmit(form, box);
    loadScript(c.scriptUrl);
  }

  function captchaOf(form) {
    const box = form.querySelector('[data-fw-captcha]');
    const c = box && CAPTCHA[box.getAttribute('data-fw-captcha')];
    if (!c) return null;
    return { ...c, provider: box.getAttribute('data-fw-captcha'), sitekey: box.getAttribute('data-sitekey'), action: box.getAttribute('data-action') || 'submit' };
  }

  // Whether the submit must wait for the provider: reCAPTCHA v3 makes a fresh token on every submit;
  // Turnstile and hCaptcha until their response is there. Not when the provider's script is missing.
  function captchaPending(form, cap) {
    if (!cap || !window[cap.api]) return false;
    if (cap.provider === 'recaptcha') return true;
    const input = field(form, cap.field);
    return !(input && input.value);
  }

  // Resolves once the response is in the form (or failed, or took too long: the server then only
  // withholds the auto-reply).
  function captchaDone(form, cap) {
    const api = window[cap.api];
    return new Promise((resolve) => {
      let over = false;
      const done = () => {
        over = true;
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(done, CAPTCHA_WAIT_MS);
      try {
        if (cap.provider === 'recaptcha') {
          api.ready(() =>
            Promise.resolve(api.execute(cap.sitekey, { action: cap.action })).then(
              (token) => {
                setHidden(form, cap.field, token);
                done();
              },
              (e) => {
                log(e);
                done();
              },
            ),
          );
          return;
        }
        if (cap.provider === 'hcaptcha' && typeof api.execute === 'function') api.execute();
      } catch (e) {
        log(e);
        return done();
      }
      const poll = () => {
        if (over) return;
        const input = field(form, cap.field);
        if (input && input.value) done();
        else setTimeout(poll, 100);
      };
      poll();
    });
  }

  // Responses are single use: a fetch-mode form needs a new one for its next send.
  function resetCaptcha(form) {
    const cap = captchaOf(form);
    const api = cap && window[cap.api];
    if (!api || cap.provider === 'recaptcha' || typeof api.reset !== 'function') return;
    try {
      api.reset();
    } catch (e) {
      log(e);
    }
  }

  function loadAltcha(base) {
    const src = `${base}/static/vendor/altcha.js`;
    if (loaded.has(src) || customElements.get('altcha-widget')) return;
    loaded.add(src);
    const s = el('script', { type: 'module', src });
    s.onerror = () => {
      log(`could not load ${src} (it needs CORS): the forms post without the proof-of-work`);
      for (const w of document.querySelectorAll('altcha-widget[data-fw-added]')) w.remove();
    };
    document.head.append(s);
  }

  // The owner's form: add what the hosted page has server-side, without duplicating what is there.
  function enhance(form, st, ch) {
    const top = document.createDocumentFragment();
    for (const name of ch.honeypot || []) {
      if (field(form, name)) continue;
      const id = `fw-hp-${name}-${++seq}`;
      const wrap = el('div', { class: 'fw-hp', 'aria-hidden': 'true' });
      wrap.style.cssText = 'position:absolute!important;left:-10000px!important;width:1px;height:1px;overflow:hidden';
      const label = el('label', { for: id });
      label.textContent = M.hp;
      wrap.append(label, el('input', { type: 'text', id, name, value: '', tabindex: '-1', autocomplete: 'off' }));
      top.append(wrap);
    }
    form.prepend(top);
    if (ch.token) setHidden(form, '_token', ch.token);
    if (!field(form, 'lang')) setHidden(form, 'lang', lang);
    if (ch.altchaUrl && !form.querySelector('altcha-widget') && window.isSecureContext) {
      loadAltcha(st.base);
      // altcha 3 reads hideFooter/hideLogo from its `configuration` JSON attribute (no hidefooter/hidelogo).
      const configuration = JSON.stringify({ hideFooter: true, hideLogo: true });
      const w = el('altcha-widget', { challenge: st.base + ch.altchaUrl, auto: 'onload', configuration, language: lang, 'data-fw-added': '' });
      placeBeforeSubmit(form, w);
    }
    if (ch.captcha) addCaptcha(form, ch.captcha);
    if (ch.captchaImage) log('this form requires an image CAPTCHA, which the widget does not add; use the hosted page');
  }

  // Resolves once the proof-of-work is done (or failed, or took too long: the server then only
  // withholds the auto-reply).
  function altchaDone(w) {
    return new Promise((resolve) => {
      const state = w.getState();
      if (state === 'verified') return resolve();
      const done = () => {
        clearTimeout(timer);
        w.removeEventListener('statechange', on);
        resolve();
      };
      const on = (e) => ['verified', 'error'].includes(e.detail && e.detail.state) && done();
      const timer = setTimeout(done, ALTCHA_WAIT_MS);
      w.addEventListener('statechange', on);
      if (state !== 'verifying') {
        try {
          if (state !== 'unverified') w.reset();
          w.verify();
        } catch (e) {
          log(e);
          done();
        }
      }
    });
  }

  function reverify(w) {
    try {
      w.reset();
      w.verify();
    } catch (e) {
      log(e);
    }
  }

  async function refresh(form, st, altcha = true) {
    const ch = await challenge(st);
    if (ch.token) setHidden(form, '_token', ch.token);
    const w = form.querySelector('altcha-widget');
    if (altcha && w && typeof w.reset === 'function') reverify(w);
  }

  // An ALTCHA challenge lives 10 minutes: solve a new one when it expires (the widget would otherwise
  // block the submit), and renew the token then too if it is getting old.
  function keepFresh(form, st) {
    customElements.whenDefined('altcha-widget').then(() => {
      const w = form.querySelector('altcha-widget');
      let solved = false; // once per solved challenge: a visitor's clock far ahead must not loop
      w?.addEventListener('statechange', (e) => {
        const state = e.detail && e.detail.state;
        if (state === 'verified') solved = true;
        if (state !== 'expired' || !solved || st.busy) return;
        solved = false;
        reverify(w);
        if (Date.now() - st.at > STALE_MS) refresh(form, st, false).catch(log);
      });
    });
  }

  function statusBox(form, st) {
    let box = form.querySelector('[data-formwarden-status]') || document.querySelector(`[data-formwarden-status="${CSS.escape(st.id)}"]`);
    if (!box) {
      box = el('div', { 'data-formwarden-status': '' });
      form.append(box);
    }
    if (!box.getAttribute('role')) box.setAttribute('role', 'status');
    return box;
  }

  function clearErrors(st) {
    for (const [input, id] of st.marked) {
      document.getElementById(id)?.remove();
      input.removeAttribute('aria-invalid');
      const rest = (input.getAttribute('aria-describedby') || '').split(/\s+/).filter((x) => x && x !== id);
      if (rest.length) input.setAttribute('aria-describedby', rest.join(' '));
      else input.removeAttribute('aria-describedby');
    }
    st.marked = [];
  }

  function markErrors(form, st, fields) {
    let first = null;
    for (const name of Object.keys(fields)) {
      const input = field(form, name);
      if (!input) continue;
      const id = `fw-err-${++seq}`;
      const p = el('p', { class: 'fw-error', id });
      p.textContent = fields[name].message || M.invalid;
      ((/^(radio|checkbox)$/.test(input.type) && input.closest('fieldset')) || input).after(p);
      input.setAttribute('aria-invalid', 'true');
      input.setAttribute('aria-describedby', `${input.getAttribute('aria-describedby') || ''} ${id}`.trim());
      st.marked.push([input, id]);
      first = first || input;
    }
    first?.focus();
  }

  async function send(form, st) {
    const box = statusBox(form, st);
    clearErrors(st);
    box.textContent = M.sending;
    const data = Object.create(null);
    const formData = new FormData(form);
    let hasFile = false;
    for (const [k, v] of formData) {
      if (typeof v === 'string') data[k] = k in data ? [].concat(data[k], v) : v;
      else if (v && v.size > 0) hasFile = true;
    }
    let res = null;
    let body = null;
    try {
      // A chosen file goes as multipart/form-data (the browser sets the boundary); otherwise JSON, as always.
      res = await fetch(`${st.base}/api/forms/${encodeURIComponent(st.id)}/submissions`, {
        method: 'POST',
        headers: hasFile ? { accept: 'application/json' } : { 'content-type': 'application/json', accept: 'application/json' },
        body: hasFile ? formData : JSON.stringify(data),
        credentials: 'omit',
      });
      body = await res.json().catch(() => null);
    } catch (e) {
      log(e);
    }
    const err = body && body.error;
    if (res && res.ok) {
      box.textContent = body && (body.receipt || body.id) ? `${M.ok} ${M.receipt}: ${body.receipt || body.id}` : M.ok;
      form.reset();
    } else {
      if (err && err.fields) markErrors(form, st, err.fields);
      box.textContent = (err && err.message) || M.fail;
    }
    // Token, proof-of-work and CAPTCHA response are single use: get fresh ones for the next send.
    resetCaptcha(form);
    await refresh(form, st).catch(log);
  }

  function onSubmit(ev, form, st) {
    if (st.pass) return; // our own resubmission below
    const fetchMode = form.dataset.formwardenMode === 'fetch';
    const stale = Date.now() - st.at > STALE_MS;
    const w = form.querySelector('altcha-widget');
    const live = !!w && typeof w.getState === 'function'; // the ALTCHA module has loaded
    const pending = live && w.getState() !== 'verified';
    const cap = captchaOf(form);
    const capPending = captchaPending(form, cap);
    if (!fetchMode && !stale && !pending && !capPending) return; // a plain post, as the browser does it
    ev.preventDefault();
    if (st.busy) return;
    st.busy = true;
    const submitter = ev.submitter;
    (async () => {
      try {
        if (stale) await refresh(form, st).catch(log);
        if (live) await altchaDone(w);
        if (captchaPending(form, cap)) await captchaDone(form, cap);
        if (fetchMode) return await send(form, st);
        st.pass = true;
        try {
          if (form.requestSubmit) form.requestSubmit(submitter && submitter.form === form ? submitter : undefined);
          else form.submit();
        } finally {
          st.pass = false;
        }
      } catch (e) {
        log(e);
      } finally {
        st.busy = false;
      }
    })();
  }

  async function setup(form) {
    // A page on plain http from a LAN address is no secure context: ALTCHA cannot compute there (no
    // crypto.subtle) and its unchecked box would block the post. The form goes without the proof-of-work
    // (the server delivers it, without the auto-reply).
    if (!window.isSecureContext) {
      for (const w of form.querySelectorAll('altcha-widget')) w.remove();
      log('not a secure context (plain http): the form posts without the proof-of-work');
    }
    const st = { ...target(form), at: Date.now(), marked: [], busy: false, pass: false };
    if (!st.id) return log('no form id', form);
    if (!form.hasAttribute('data-fw-form')) {
      enhance(form, st, await challenge(st));
      if (form.dataset.formwardenMode === 'fetch') statusBox(form, st);
    }
    form.addEventListener('submit', (ev) => onSubmit(ev, form, st));
    keepFresh(form, st);
  }

  function init() {
    for (const form of document.querySelectorAll('form[data-formwarden],form[data-fw-form]')) {
      if (seen.has(form)) continue;
      seen.add(form);
      setup(form).catch((e) => log('form left as a plain form:', e));
    }
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
