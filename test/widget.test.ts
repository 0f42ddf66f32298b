// web/widget.js on the owner's own site: one <script> tag makes a plain HTML form on another origin post
// to Formwarden with the signed token, the honeypot and the ALTCHA proof-of-work (fetched over CORS),
// as a person in Chromium would use it. Also: the fetch() mode, the limit without JavaScript, and the
// hosted page, where the widget must not add a second token or honeypot.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { chromiumMissing, launchChromium } from './support/browser.js';
import { BASE_FORM, startTestInstance, type TestInstance } from './support/instance.js';
import { waitFor } from './support/wait.js';

// As the test defaults (no fill-time wait, no rate limit) with a small but real proof-of-work.
const DEFENSES = `
defenses:
  formToken: { minFillSeconds: 0 }
  altcha: { enabled: true, cost: 10, minNumber: 5, maxNumber: 40 }
  rateLimit: { enabled: false }
`;

const PROTOCOL_SYMBOL = /^(TOKEN|HONEYPOT|ALTCHA)_/;

/** Console errors and uncaught exceptions of a page (a missing favicon is not one). */
function pageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (m) => m.type() === 'error' && !m.location().url.endsWith('/favicon.ico') && errors.push(m.text()));
  page.on('pageerror', (e) => errors.push(String(e)));
  return errors;
}

function ownerPage(fw: string, opts: { lang: 'ja' | 'en'; mode?: 'fetch' }): string {
  const ja = opts.lang === 'ja';
  return `<!doctype html>
<html lang="${opts.lang}">
<head><meta charset="utf-8"><title>Example Shop</title>
<script src="${fw}/static/widget.js" defer></script></head>
<body>
<h1>${ja ? 'お問い合わせ' : 'Contact'}</h1>
<form action="${fw}/f/contact" method="post" data-formwarden${opts.mode ? ` data-formwarden-mode="${opts.mode}"` : ''}>
  <p><label for="name">${ja ? 'お名前' : 'Name'}</label><input id="name" name="name" required></p>
  <p><label for="email">${ja ? 'メールアドレス' : 'Email'}</label><input id="email" name="email" type="email" required></p>
  <p><label for="message">${ja ? 'お問い合わせ内容' : 'Message'}</label><textarea id="message" name="message" required></textarea></p>
  ${opts.mode === 'fetch' ? '<div data-formwarden-status></div>' : ''}
  <p><button type="submit">${ja ? '送信する' : 'Send'}</button></p>
</form>
</body>
</html>`;
}

/** The server's clock, moved forward together with the browser's in the token freshness test. */
let offsetMs = 0;
const clock = { now: () => new Date(Date.now() + offsetMs) };

describe.skipIf(chromiumMissing())('web/widget.js on the owner\'s site, in Chromium', () => {
  let owner: Server;
  let ownerUrl = '';
  let t: TestInstance;
  let browser: Browser;

  beforeAll(async () => {
    // The owner's site first: its origin goes into the form's cors.origins.
    owner = createServer((req, res) => {
      const u = new URL(req.url ?? '/', ownerUrl);
      const page = ownerPage(t.url, { lang: u.searchParams.get('lang') === 'en' ? 'en' : 'ja', mode: u.pathname === '/fetch' ? 'fetch' : undefined });
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page);
    });
    await new Promise<void>((resolve) => owner.listen(0, '127.0.0.1', resolve));
    ownerUrl = `http://127.0.0.1:${(owner.address() as AddressInfo).port}`;
    t = await startTestInstance({ clock, defenses: DEFENSES, forms: `${BASE_FORM}    cors: { origins: ["${ownerUrl}"] }\n` });
    browser = await launchChromium();
  }, 120_000); // Chromium's start: room for a loaded machine
  afterEach(() => {
    offsetMs = 0;
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
    await new Promise((resolve) => owner?.close(resolve));
  });

  const submissionsWith = async (email: string) =>
    (await t.instance.db.kysely.selectFrom('submissions').selectAll().execute()).filter((s) => (JSON.parse(s.fields) as Record<string, string>).email === email);

  it('the ALTCHA widget script can be loaded as a module from another origin (CORS)', async () => {
    const res = await fetch(`${t.url}/static/vendor/altcha.js`, { headers: { origin: ownerUrl } });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin'), 'GET /static/vendor/altcha.js needs Access-Control-Allow-Origin').toMatch(/^(\*|http:\/\/127\.0\.0\.1:\d+)$/);
    await res.arrayBuffer();
  });

  it('a person fills in the plain form on the owner\'s site: token, honeypot and proof-of-work go along; notification and auto-reply', async () => {
    const page = await browser.newPage({ locale: 'ja-JP' });
    const errors = pageErrors(page);
    await page.goto(`${ownerUrl}/`);
    // The widget added the protocol fields to the owner's form.
    await page.waitForSelector('form input[name="_token"]', { state: 'attached' });
    const hp = page.locator('form .fw-hp input[name="website"]');
    await expect(hp.getAttribute('tabindex')).resolves.toBe('-1');
    await expect(hp.getAttribute('autocomplete')).resolves.toBe('off');
    await expect(page.locator('form .fw-hp').getAttribute('aria-hidden')).resolves.toBe('true');
    const box = (await hp.boundingBox())!; // moved out of sight (not display:none, which bots skip)
    expect(box.x + box.width).toBeLessThan(0);
    await expect(page.locator('altcha-widget').getAttribute('language')).resolves.toBe('ja');

    await page.getByLabel('お名前').pressSequentially('山田 花子', { delay: 20 });
    await page.getByLabel('メールアドレス').pressSequentially('hanako@example.jp', { delay: 20 });
    await page.getByLabel('お問い合わせ内容').fill('御社のサイトからの問い合わせです。');
    await page.waitForSelector('altcha-widget .altcha[data-state="verified"]');
    // Without the ALTCHA footer and logo (altcha 3 reads them from its configuration attribute).
    expect(await page.locator('altcha-widget .altcha-footer, altcha-widget .altcha-logo').count()).toBe(0);
    await page.getByRole('button', { name: '送信する' }).click();
    await page.waitForURL(/\/f\/contact\/thanks/);
    expect(page.url().startsWith(`${t.url}/f/contact/thanks`)).toBe(true);
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('送信が完了しました');
    const receipt = await page.locator('.fw-receipt').textContent();

    const [sub] = await submissionsWith('hanako@example.jp');
    expect(receipt).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/);
    expect(sub).toMatchObject({ receipt, action: 'accept', lang: 'ja' });
    const verdict = JSON.parse(sub!.verdict) as { symbols: { symbol: string }[] };
    expect(verdict.symbols.map((s) => s.symbol).filter((s) => PROTOCOL_SYMBOL.test(s))).toEqual([]);
    const mails = await waitFor(async () => {
      const rows = await t.instance.db.kysely.selectFrom('outbox').select(['kind', 'to_addr']).where('submission_id', '=', sub!.id).execute();
      return rows.length === 2 ? rows : null;
    }, 'the notification and the auto-reply');
    expect(mails.map((m) => [m.kind, m.to_addr]).sort()).toEqual([
      ['autoreply', 'hanako@example.jp'],
      ['notify', 'owner@example.jp'],
    ]);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('fetch mode: the result shows inline, field errors sit next to their fields, the page does not navigate', async () => {
    const page = await browser.newPage({ locale: 'en-US' });
    await page.goto(`${ownerUrl}/fetch?lang=en`);
    let navigations = 0;
    page.on('framenavigated', (f) => f === page.mainFrame() && navigations++);
    await page.waitForSelector('altcha-widget .altcha[data-state="verified"]');
    const status = page.locator('[data-formwarden-status]');
    await expect(status.getAttribute('role')).resolves.toBe('status');

    // A mistake first: the server's field error is announced and tied to the field.
    await page.getByLabel('Name').fill('Jane Fetch');
    await page.getByLabel('Email').fill('jane@');
    await page.getByLabel('Message').fill('Sent without leaving the page.');
    await page.evaluate(() => document.querySelector('form')!.setAttribute('novalidate', '')); // let the server judge
    const used = await page.locator('input[name="_token"]').inputValue();
    await page.getByRole('button', { name: 'Send' }).click();
    await expect.poll(() => page.getByLabel('Email').getAttribute('aria-invalid')).toBe('true');
    const describedBy = await page.getByLabel('Email').getAttribute('aria-describedby');
    expect(await page.locator(`#${describedBy}`).textContent()).toBeTruthy();
    await expect(status.textContent()).resolves.toBe('Some fields need your attention.');

    // Corrected: a fresh token and proof-of-work are used for the second send. The widget fetches them
    // after the answer and ignores a click until then: wait for the new token, then for its ALTCHA (the
    // old "verified" state may still show meanwhile).
    await page.getByLabel('Email').fill('jane@example.jp');
    await expect.poll(() => page.locator('input[name="_token"]').inputValue()).not.toBe(used);
    await page.waitForSelector('altcha-widget .altcha[data-state="verified"]');
    await page.getByRole('button', { name: 'Send' }).click();
    await expect.poll(() => status.textContent()).toMatch(/^Thank you\. .*Receipt: [0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/);
    expect(await page.getByLabel('Email').getAttribute('aria-invalid')).toBeNull();
    expect(page.url()).toBe(`${ownerUrl}/fetch?lang=en`);
    expect(navigations).toBe(0);
    expect(await page.getByLabel('Name').inputValue()).toBe(''); // the form was reset

    const [sub] = await submissionsWith('jane@example.jp');
    expect(await status.textContent()).toContain(sub!.receipt!);
    expect(sub!.action).toBe('accept');
    const verdict = JSON.parse(sub!.verdict) as { symbols: { symbol: string }[] };
    expect(verdict.symbols.map((s) => s.symbol).filter((s) => PROTOCOL_SYMBOL.test(s))).toEqual([]);
    await page.close();
  });

  it('a page left open for an hour gets a fresh token and proof-of-work before it posts', async () => {
    const page = await browser.newPage({ locale: 'en-US' });
    const errors = pageErrors(page);
    await page.clock.install();
    let challenges = 0;
    page.on('request', (r) => r.url() === `${t.url}/api/forms/contact/challenge` && challenges++);
    await page.goto(`${ownerUrl}/?lang=en`);
    await page.waitForSelector('altcha-widget .altcha[data-state="verified"]');
    const first = await page.locator('input[name="_token"]').inputValue();
    expect(first).toBeTruthy();
    await page.getByLabel('Name').fill('Slow Writer');
    await page.getByLabel('Email').fill('slow@example.jp');
    await page.getByLabel('Message').fill('I took my time.');
    // 61 minutes pass, for the browser and the server: the ALTCHA challenge (10 minutes) and the token
    // (60 minutes) have expired; the widget solves a new challenge and fetches a new token.
    offsetMs = 61 * 60_000;
    await page.clock.fastForward('01:01:00');
    await page.waitForSelector('altcha-widget .altcha[data-state="verified"]');
    await expect.poll(() => page.locator('input[name="_token"]').inputValue()).not.toBe(first);
    await page.getByRole('button', { name: 'Send' }).click();
    await page.waitForURL(/\/f\/contact\/thanks/);
    expect(challenges).toBe(2);
    const [sub] = await submissionsWith('slow@example.jp');
    expect(sub!.action).toBe('accept');
    const verdict = JSON.parse(sub!.verdict) as { symbols: { symbol: string }[] };
    expect(verdict.symbols.map((s) => s.symbol).filter((s) => PROTOCOL_SYMBOL.test(s))).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('with JavaScript off the owner\'s form posts as a plain form: stored as NO_PROOF and notified, the visitor sees the thank-you page, no auto-reply (formToken.missing: accept, the default)', async () => {
    const context = await browser.newContext({ javaScriptEnabled: false, locale: 'en-US' });
    const page = await context.newPage();
    await page.goto(`${ownerUrl}/?lang=en`);
    expect(await page.locator('input[name="_token"]').count()).toBe(0);
    await page.getByLabel('Name').fill('No Script');
    await page.getByLabel('Email').fill('noscript@example.jp');
    await page.getByLabel('Message').fill('Plain form, no JavaScript.');
    const [response] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST' && r.url() === `${t.url}/f/contact`), page.getByRole('button', { name: 'Send' }).click()]);
    expect(response.status()).toBe(303);
    await page.waitForURL(/\/f\/contact\/thanks/);
    const [sub] = await submissionsWith('noscript@example.jp');
    expect(sub!.action).toBe('accept_no_autoreply');
    expect(sub!.autoreply).toBe('skipped:no_proof');
    expect((JSON.parse(sub!.verdict) as { symbols: { symbol: string }[] }).symbols.map((s) => s.symbol)).toContain('NO_PROOF');
    await context.close();
  });

  it('on the hosted page the widget adds no second token or honeypot, and the form still sends', async () => {
    const page = await browser.newPage({ locale: 'ja-JP' });
    const errors = pageErrors(page);
    await page.goto(`${t.url}/f/contact`);
    const count = () =>
      page.evaluate(() => ({
        token: document.querySelectorAll('input[name="_token"]').length,
        honeypot: document.querySelectorAll('input[name="website"]').length,
        altcha: document.querySelectorAll('altcha-widget').length,
        lang: document.querySelectorAll('input[name="lang"]').length,
      }));
    const before = await count();
    expect(before).toEqual({ token: 1, honeypot: 1, altcha: 1, lang: 1 });
    if ((await page.locator('script[src$="/static/widget.js"]').count()) === 0) {
      await page.addScriptTag({ url: '/static/widget.js' }); // same origin: allowed by the page's CSP
    }
    await page.waitForFunction(() => 'Formwarden' in window);
    await page.waitForTimeout(200);
    expect(await count()).toEqual(before);

    await page.getByLabel('お名前').fill('山田 次郎');
    await page.getByLabel('メールアドレス').fill('jiro@example.jp');
    await page.getByLabel('お問い合わせ内容').fill('ホストされたページからです。');
    await page.waitForSelector('altcha-widget .altcha[data-state="verified"]');
    await page.getByRole('button', { name: '送信する' }).click();
    await page.waitForURL(/\/f\/contact\/thanks/);
    const [sub] = await submissionsWith('jiro@example.jp');
    expect(sub!.action).toBe('accept');
    expect(errors).toEqual([]);
    await page.close();
  });
});
