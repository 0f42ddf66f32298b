// reCAPTCHA v3, Turnstile and hCaptcha on the hosted page and through web/widget.js, in Chromium.
// A local stand-in serves the provider script (it defines grecaptcha / turnstile / hcaptcha and yields
// a token naming the site key and action) and the siteverify endpoint; nothing leaves 127.0.0.1.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumMissing, launchChromium } from './support/browser.js';
import { BASE_FORM, startTestInstance, type TestInstance } from './support/instance.js';
import { waitFor } from './support/wait.js';

type Provider = 'recaptcha' | 'turnstile' | 'hcaptcha';

// The provider script: implicit rendering of .cf-turnstile / .h-captcha (a hidden response field,
// filled a moment later), grecaptcha.execute(siteKey, { action }) for reCAPTCHA v3.
const FAKE_PROVIDER_JS = `(() => {
  let n = 0;
  const token = (kind, sitekey, action) => ['fake', kind, sitekey, action || '-', ++n].join('.');
  window.grecaptcha = {
    ready: (cb) => setTimeout(cb, 0),
    execute: (sitekey, o) => new Promise((r) => setTimeout(() => r(token('recaptcha', sitekey, o && o.action)), 20)),
  };
  const boxes = [];
  const fill = (b) => setTimeout(() => { b.input.value = token(b.kind, b.el.dataset.sitekey, b.el.dataset.action); }, 50);
  const scan = () => {
    for (const [cls, kind, name] of [['cf-turnstile', 'turnstile', 'cf-turnstile-response'], ['h-captcha', 'hcaptcha', 'h-captcha-response']]) {
      for (const el of document.querySelectorAll('.' + cls)) {
        if (el.dataset.fakeRendered) continue;
        el.dataset.fakeRendered = '1';
        const input = document.createElement('input');
        input.type = 'hidden';
        input.name = name;
        el.append(input, 'fake ' + kind);
        const b = { el, kind, input };
        boxes.push(b);
        fill(b);
      }
    }
  };
  const reset = () => boxes.forEach((b) => { b.input.value = ''; fill(b); });
  window.turnstile = { reset };
  window.hcaptcha = { reset, execute: () => {} };
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', scan);
  else scan();
})();`;

interface Verify {
  secret: string | null;
  response: string | null;
  remoteip: string | null;
}

/** The stand-in provider: GET /api.js and POST /siteverify (answer per `verdict`). */
async function startFakeProvider() {
  const state = { verdict: 'pass' as 'pass' | 'low' | 'fail', verifies: [] as Verify[], scripts: [] as string[] };
  const server: Server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (req.method === 'GET' && u.pathname === '/api.js') {
      state.scripts.push(u.search);
      res.writeHead(200, { 'content-type': 'text/javascript', 'cache-control': 'no-store' }).end(FAKE_PROVIDER_JS);
      return;
    }
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const p = new URLSearchParams(body);
      state.verifies.push({ secret: p.get('secret'), response: p.get('response'), remoteip: p.get('remoteip') });
      const [fake, kind, , action] = (p.get('response') ?? '').split('.');
      const send = (o: unknown) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(o));
      if (p.get('secret') !== 'sekret') return send({ success: false, 'error-codes': ['invalid-input-secret'] });
      if (fake !== 'fake' || state.verdict === 'fail') return send({ success: false, 'error-codes': ['invalid-input-response'] });
      send({ success: true, hostname: '127.0.0.1', ...(kind === 'hcaptcha' ? {} : { action }), ...(kind === 'recaptcha' ? { score: state.verdict === 'low' ? 0.1 : 0.9 } : {}) });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, state, close: () => new Promise((r) => server.close(r)) };
}

const SITEKEY: Record<Provider, string> = { recaptcha: '6LcFakeRecaptchaKey', turnstile: '0x4AAAAFakeTurnstile', hcaptcha: '10000000-ffff-ffff-ffff-000000000001' };

// timeoutMs: the fake verifier's answer must not read as "provider unavailable" on a loaded machine.
function defensesYaml(provider: Provider | null, fake: string): string {
  const captcha = provider
    ? `  captcha: { provider: ${provider}, secret: sekret, sitekey: "${SITEKEY[provider]}", scriptUrl: "${fake}/api.js", verifyUrl: "${fake}/siteverify", timeoutMs: 30000, hostnames: [127.0.0.1]${provider === 'hcaptcha' ? '' : ', action: contact'} }\n`
    : '';
  return `
defenses:
  formToken: { minFillSeconds: 0 }
  altcha: { enabled: true, cost: 10, minNumber: 5, maxNumber: 40 }
  rateLimit: { enabled: false }
${captcha}`;
}

/** Records every request of the context; anything not on 127.0.0.1 is aborted (and then fails the test). */
async function localOnly(context: BrowserContext): Promise<string[]> {
  const urls: string[] = [];
  context.on('request', (r) => urls.push(r.url()));
  await context.route(/^(?!(http:\/\/127\.0\.0\.1[:/]|blob:http:\/\/127\.0\.0\.1[:/]|data:))/, (route) => route.abort());
  return urls;
}
const notLocal = (urls: string[]) => urls.filter((u) => !/^(http:\/\/127\.0\.0\.1[:/]|blob:http:\/\/127\.0\.0\.1[:/]|data:)/.test(u));

function pageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (m) => m.type() === 'error' && !m.location().url.endsWith('/favicon.ico') && errors.push(m.text()));
  page.on('pageerror', (e) => errors.push(String(e)));
  return errors;
}

interface Row {
  id: string;
  action: string;
  autoreply: string;
  verdict: string;
  fields: string;
}
const symbolsOf = (row: Row) => (JSON.parse(row.verdict) as { symbols: { symbol: string; score: number; detail?: string }[] }).symbols;

function ownerPage(fw: string, mode?: 'fetch'): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Example Shop</title>
<script src="${fw}/static/widget.js" defer></script></head>
<body>
<form action="${fw}/f/contact" method="post" data-formwarden${mode ? ` data-formwarden-mode="${mode}"` : ''}>
  <p><label for="name">Name</label><input id="name" name="name" required></p>
  <p><label for="email">Email</label><input id="email" name="email" type="email" required></p>
  <p><label for="message">Message</label><textarea id="message" name="message" required></textarea></p>
  ${mode ? '<div data-formwarden-status></div>' : ''}
  <p><button type="submit">Send</button></p>
</form>
</body>
</html>`;
}

describe.skipIf(chromiumMissing())('third-party CAPTCHA in Chromium', () => {
  let fake: Awaited<ReturnType<typeof startFakeProvider>>;
  let owner: Server;
  let ownerUrl = '';
  let browser: Browser;
  const instances = {} as Record<Provider, TestInstance>;
  let plain: TestInstance;

  beforeAll(async () => {
    fake = await startFakeProvider();
    owner = createServer((req, res) => {
      const u = new URL(req.url ?? '/', ownerUrl);
      const provider = u.searchParams.get('p') as Provider;
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(ownerPage(instances[provider].url, u.pathname === '/fetch' ? 'fetch' : undefined));
    });
    await new Promise<void>((r) => owner.listen(0, '127.0.0.1', r));
    ownerUrl = `http://127.0.0.1:${(owner.address() as AddressInfo).port}`;
    const forms = `${BASE_FORM}    cors: { origins: ["${ownerUrl}"] }\n`;
    for (const p of ['recaptcha', 'turnstile', 'hcaptcha'] as const) instances[p] = await startTestInstance({ defenses: defensesYaml(p, fake.url), forms });
    plain = await startTestInstance({ defenses: defensesYaml(null, fake.url) });
    browser = await launchChromium();
  }, 180_000); // four instances and Chromium: room for a loaded machine
  afterAll(async () => {
    await browser?.close();
    await Promise.all([...Object.values(instances), plain].map((t) => t?.close()));
    await fake?.close();
    await new Promise((r) => owner?.close(r));
  });

  const submission = async (t: TestInstance, email: string) =>
    waitFor(async () => {
      const rows = (await t.instance.db.kysely.selectFrom('submissions').selectAll().execute()) as Row[];
      return rows.find((r) => (JSON.parse(r.fields) as Record<string, string>).email === email);
    }, `the submission from ${email}`);
  const mailKinds = async (t: TestInstance, id: string) =>
    (await t.instance.db.kysely.selectFrom('outbox').select('kind').where('submission_id', '=', id).execute()).map((m) => m.kind).sort();

  it('the hosted page allows the provider script and frames in its CSP only when the widget is on', async () => {
    const on = await fetch(`${instances.turnstile.url}/f/contact`);
    const csp = on.headers.get('content-security-policy') ?? '';
    expect(csp).toMatch(new RegExp(`script-src 'self' ${fake.url}(;|$)`));
    expect(csp).toMatch(new RegExp(`frame-src 'self' ${fake.url}(;|$)`));
    const html = await on.text();
    expect(html).toContain(`<script src="${fake.url}/api.js" async defer></script>`);
    expect(html).toContain(`<div class="fw-3p cf-turnstile" data-fw-captcha="turnstile" data-sitekey="${SITEKEY.turnstile}" data-action="contact" data-language="ja"></div>`);
    expect(html).not.toContain('sekret');
    // Next to the submit button, after the fields.
    expect(html.indexOf('data-fw-captcha')).toBeGreaterThan(html.indexOf('name="message"'));
    expect(html.indexOf('data-fw-captcha')).toBeLessThan(html.indexOf('class="fw-actions"'));
    // reCAPTCHA v3 loads api.js with render=<site key>.
    expect(await (await fetch(`${instances.recaptcha.url}/f/contact`)).text()).toContain(`<script src="${fake.url}/api.js?render=${SITEKEY.recaptcha}" async defer></script>`);

    const off = await fetch(`${plain.url}/f/contact`);
    expect(off.headers.get('content-security-policy')).not.toContain(fake.url);
    expect(off.headers.get('content-security-policy')).not.toContain('frame-src');
    expect(await off.text()).not.toContain('data-fw-captcha');
  });

  for (const provider of ['recaptcha', 'turnstile', 'hcaptcha'] as const) {
    it(`${provider} on the hosted page: a person types and sends; the response is verified (CAPTCHA_3P_PASSED) and the auto-reply goes`, async () => {
      fake.state.verdict = 'pass';
      const t = instances[provider];
      const context = await browser.newContext({ locale: 'en-US' });
      const urls = await localOnly(context);
      const page = await context.newPage();
      const errors = pageErrors(page);
      await page.goto(`${t.url}/f/contact?lang=en`);
      await page.getByLabel('Name').pressSequentially('Ann Person', { delay: 10 });
      const email = `${provider}-pass@example.jp`;
      await page.getByLabel('Email').pressSequentially(email, { delay: 10 });
      await page.getByLabel('Message').fill(`Sent with ${provider}.`);
      await page.getByRole('button', { name: 'Send' }).click();
      await page.waitForURL(/\/f\/contact\/thanks/);

      const sub = await submission(t, email);
      expect(sub.action).toBe('accept');
      const passed = symbolsOf(sub).find((s) => s.symbol === 'CAPTCHA_3P_PASSED');
      expect(passed).toEqual({ symbol: 'CAPTCHA_3P_PASSED', score: 0, detail: provider === 'recaptcha' ? 'recaptcha 0.9' : provider });
      expect(symbolsOf(sub).filter((s) => /^(CAPTCHA_3P_(?!PASSED)|ALTCHA_|TOKEN_|HONEYPOT_)/.test(s.symbol))).toEqual([]);
      // The verifier saw the token the provider script made with the configured site key (and action).
      const last = fake.state.verifies.at(-1)!;
      expect(last.secret).toBe('sekret');
      expect(last.response).toMatch(new RegExp(`^fake\\.${provider}\\.${SITEKEY[provider]}\\.${provider === 'hcaptcha' ? '-' : 'contact'}\\.\\d+$`));
      expect(await mailKinds(t, sub.id)).toEqual(['autoreply', 'notify']);
      expect(notLocal(urls)).toEqual([]);
      expect(urls.some((u) => u.startsWith(`${fake.url}/api.js`))).toBe(true);
      expect(errors).toEqual([]);
      await context.close();
    });
  }

  it('reCAPTCHA scores the visitor low: CAPTCHA_3P_LOW_SCORE is recorded and no auto-reply is sent', async () => {
    fake.state.verdict = 'low';
    const t = instances.recaptcha;
    const context = await browser.newContext({ locale: 'ja-JP' });
    const urls = await localOnly(context);
    const page = await context.newPage();
    await page.goto(`${t.url}/f/contact`);
    await page.getByLabel('お名前').pressSequentially('低 スコア', { delay: 10 });
    await page.getByLabel('メールアドレス').pressSequentially('low@example.jp', { delay: 10 });
    await page.getByLabel('お問い合わせ内容').fill('スコアが低い場合です。');
    await page.getByRole('button', { name: '送信する' }).click();
    await page.waitForURL(/\/f\/contact\/thanks/);
    const sub = await submission(t, 'low@example.jp');
    expect(symbolsOf(sub)).toContainEqual({ symbol: 'CAPTCHA_3P_LOW_SCORE', score: 6, detail: '0.1' });
    expect(sub.action).not.toMatch(/^accept$/);
    expect(sub.autoreply).toMatch(/^skipped/);
    expect(await mailKinds(t, sub.id)).not.toContain('autoreply');
    expect(notLocal(urls)).toEqual([]);
    await context.close();
  });

  it('Turnstile says the response failed: CAPTCHA_3P_FAILED is recorded and no auto-reply is sent', async () => {
    fake.state.verdict = 'fail';
    const t = instances.turnstile;
    const context = await browser.newContext({ locale: 'en-US' });
    const urls = await localOnly(context);
    const page = await context.newPage();
    await page.goto(`${t.url}/f/contact?lang=en`);
    await page.getByLabel('Name').fill('Failed Check');
    await page.getByLabel('Email').fill('failed@example.jp');
    await page.getByLabel('Message').fill('The provider says no.');
    await page.getByRole('button', { name: 'Send' }).click();
    await page.waitForURL(/\/f\/contact\/thanks/);
    const sub = await submission(t, 'failed@example.jp');
    expect(symbolsOf(sub)).toContainEqual({ symbol: 'CAPTCHA_3P_FAILED', score: 8, detail: 'invalid-input-response' });
    expect(sub.autoreply).toMatch(/^skipped/);
    expect(await mailKinds(t, sub.id)).not.toContain('autoreply');
    expect(notLocal(urls)).toEqual([]);
    await context.close();
  });

  it('with JavaScript off the inquiry still reaches the owner; the missing response holds back the auto-reply', async () => {
    fake.state.verdict = 'pass';
    const t = instances.recaptcha;
    const context = await browser.newContext({ javaScriptEnabled: false, locale: 'en-US' });
    const urls = await localOnly(context);
    const page = await context.newPage();
    await page.goto(`${t.url}/f/contact?lang=en`);
    await expect(page.locator('noscript').first().textContent()).resolves.toContain('without JavaScript');
    await page.getByLabel('Name').fill('No Script');
    await page.getByLabel('Email').fill('noscript@example.jp');
    await page.getByLabel('Message').fill('I browse without JavaScript.');
    await page.getByRole('button', { name: 'Send' }).click();
    await page.waitForURL(/\/f\/contact\/thanks/);
    const sub = await submission(t, 'noscript@example.jp');
    expect(sub.action).toBe('accept_no_autoreply');
    // One cause (no JavaScript), scored once: by ALTCHA_MISSING.
    expect(symbolsOf(sub)).toContainEqual({ symbol: 'CAPTCHA_3P_MISSING', score: 0, detail: 'no JavaScript' });
    expect(symbolsOf(sub).map((s) => s.symbol)).toContain('ALTCHA_MISSING');
    expect(await mailKinds(t, sub.id)).toEqual(['notify']);
    expect(notLocal(urls)).toEqual([]);
    await context.close();
  });

  it('widget.js on the owner\'s site adds the Turnstile widget, loads the provider script and sends its response', async () => {
    fake.state.verdict = 'pass';
    const t = instances.turnstile;
    const context = await browser.newContext({ locale: 'en-US' });
    const urls = await localOnly(context);
    const page = await context.newPage();
    const errors = pageErrors(page);
    await page.goto(`${ownerUrl}/?p=turnstile`);
    const box = page.locator('form .cf-turnstile');
    await box.waitFor({ state: 'attached' });
    await expect(box.getAttribute('data-sitekey')).resolves.toBe(SITEKEY.turnstile);
    await page.getByLabel('Name').fill('Owner Site');
    await page.getByLabel('Email').fill('owner-turnstile@example.jp');
    await page.getByLabel('Message').fill('From the owner\'s own page.');
    // On the owner's form (no novalidate) a click before ALTCHA is done is held by the browser's own validation.
    await page.waitForSelector('altcha-widget .altcha[data-state="verified"]');
    await page.getByRole('button', { name: 'Send' }).click();
    await page.waitForURL(/\/f\/contact\/thanks/);
    const sub = await submission(t, 'owner-turnstile@example.jp');
    expect(sub.action).toBe('accept');
    expect(symbolsOf(sub).map((s) => s.symbol)).toContain('CAPTCHA_3P_PASSED');
    expect(await mailKinds(t, sub.id)).toEqual(['autoreply', 'notify']);
    expect(notLocal(urls)).toEqual([]);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('widget.js in fetch mode asks reCAPTCHA for a fresh token on every send', async () => {
    fake.state.verdict = 'pass';
    const t = instances.recaptcha;
    const context = await browser.newContext({ locale: 'en-US' });
    const urls = await localOnly(context);
    const page = await context.newPage();
    const errors = pageErrors(page);
    await page.goto(`${ownerUrl}/fetch?p=recaptcha`);
    await page.locator('form [data-fw-captcha="recaptcha"]').waitFor({ state: 'attached' });
    const status = page.locator('[data-formwarden-status]');
    const tokens: string[] = [];
    for (const n of [1, 2]) {
      await page.getByLabel('Name').fill(`Fetch ${n}`);
      await page.getByLabel('Email').fill(`fetch${n}@example.jp`);
      await page.getByLabel('Message').fill(`Send number ${n}.`);
      await page.waitForSelector('altcha-widget .altcha[data-state="verified"]');
      const used = await page.locator('input[name="_token"]').inputValue();
      await page.getByRole('button', { name: 'Send' }).click();
      await expect.poll(() => status.textContent()).toMatch(/^Thank you\. .*Receipt: [0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/);
      const sub = await submission(t, `fetch${n}@example.jp`);
      expect(symbolsOf(sub).find((s) => s.symbol === 'CAPTCHA_3P_PASSED')?.detail).toBe('recaptcha 0.9');
      tokens.push(fake.state.verifies.at(-1)!.response!);
      // After the answer the widget fetches a fresh token and proof-of-work, ignoring clicks until then
      // (the old "verified" state may still show meanwhile): the next send waits for the new token.
      await expect.poll(() => page.locator('input[name="_token"]').inputValue()).not.toBe(used);
      await page.evaluate(() => (document.querySelector('[data-formwarden-status]')!.textContent = ''));
    }
    expect(new Set(tokens).size).toBe(2);
    expect(notLocal(urls)).toEqual([]);
    expect(errors).toEqual([]);
    await context.close();
  });
});
