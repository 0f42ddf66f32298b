// Issue #12, "the hosted page as a product", as a visitor sees it in Chromium: the owner's branding (name,
// logo, accent colour, footer, privacy link), "required" badges, the select's "Please choose", the errors
// after a post with mistakes (red border, message under the field, aria-invalid/-describedby), no ALTCHA
// footer or logo, and a thank-you page with the stored receipt number and what happens next. In Japanese and
// English, at desktop (1280) and phone (390) width, light and dark. FW_SCREENSHOTS=1 also writes
// docs/images/<page>-<lang>-<device>-<scheme>.png (CI leaves the tree alone); the checks always run.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumMissing, launchChromium } from './support/browser.js';
import { dbUnavailable } from './support/db.js';
import { startTestInstance, type TestInstance } from './support/instance.js';

const SHOTS = process.env.FW_SCREENSHOTS === '1';
const IMAGES = path.resolve(import.meta.dirname, '../docs/images');

const ACCENT = '#0b6e4f'; // the form's, over the instance's #1a73e8
const PRIVACY = 'https://www.example.jp/privacy';
const PAGE = `
page:
  siteName: { ja: 例のショップ, en: Example Shop }
  logoUrl: /brand/logo.svg
  accentColor: "#1a73e8"
  footerText: { ja: "株式会社例のショップ　東京都千代田区1-1-1", en: "Example Shop Ltd., 1-1-1 Chiyoda, Tokyo" }
  privacyUrl: "${PRIVACY}"
`;
const FORMS = `
  - id: contact
    title: { ja: お問い合わせ, en: Contact us }
    description: { ja: ご用件をご記入ください。2営業日以内にご返信します。, en: Tell us what you need. We reply within two business days. }
    page: { accentColor: "${ACCENT}" }
    fields:
      - { name: name, type: text, required: true, maxLength: 80, label: { ja: お名前, en: Name }, placeholder: { ja: 山田 太郎, en: Jane Doe } }
      - { name: email, type: email, required: true, label: { ja: メールアドレス, en: Email } }
      - { name: company, type: text, label: { ja: 会社名, en: Company } }
      - name: topic
        type: select
        required: true
        label: { ja: ご用件, en: Topic }
        options: [{ value: order, label: { ja: ご注文について, en: An order } }, { value: product, label: { ja: 商品について, en: A product } }, { value: other, label: { ja: その他, en: Something else } }]
      - { name: message, type: textarea, required: true, maxLength: 5000, label: { ja: お問い合わせ内容, en: Message } }
      - { name: consent, type: checkbox, required: true, label: { ja: プライバシーポリシーに同意します, en: I agree to the privacy policy } }
    notify: { to: [owner@example.jp] }
    autoreply: { enabled: true, to: email, subject: "Thank you from {{site_name}}", body: "Receipt {{receipt_id}}" }
`;

/** The logo an owner's proxy would serve at /brand/logo.svg (the browser answers it: no file in the tree). */
const LOGO = `<svg xmlns="http://www.w3.org/2000/svg" width="200" height="40" viewBox="0 0 200 40"><rect x="2" y="4" width="32" height="32" rx="8" fill="#0b6e4f"/><path d="M10 20l6 6 10-12" stroke="#fff" stroke-width="4" fill="none" stroke-linecap="round"/><text x="44" y="27" font-family="DejaVu Sans, sans-serif" font-size="17" font-weight="700" fill="#0b6e4f">Example Shop</text></svg>`;

const DEVICES = { desktop: { width: 1280, height: 900 }, phone: { width: 390, height: 844 } } as const;
type Variant = { lang: 'ja' | 'en'; device: keyof typeof DEVICES; scheme: 'light' | 'dark' };
const VARIANTS: Variant[] = (['ja', 'en'] as const).flatMap((lang) => (['desktop', 'phone'] as const).flatMap((device) => (['light', 'dark'] as const).map((scheme) => ({ lang, device, scheme }))));

const TEXT = {
  ja: { site: '例のショップ', required: '必須', choose: '選択してください', privacy: 'プライバシーポリシー', send: '送信する', next: '今後の流れ', footer: '株式会社例のショップ', privacyNote: 'ご入力いただいた個人情報は、プライバシーポリシーに従って取り扱います。' },
  en: { site: 'Example Shop', required: 'Required', choose: 'Please choose', privacy: 'Privacy policy', send: 'Send', next: 'What happens next', footer: 'Example Shop Ltd.', privacyNote: 'We handle the personal data you send as described in our Privacy policy.' },
};
const rgb = (hex: string) => `rgb(${[1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)).join(', ')})`;
const style = (page: Page, selector: string, prop: string) => page.locator(selector).first().evaluate((el, p) => getComputedStyle(el).getPropertyValue(p), prop);

describe.skipIf(dbUnavailable() || chromiumMissing())('the hosted page as a product, in Chromium', () => {
  let t: TestInstance;
  let browser: Browser;
  let receipt = '';

  beforeAll(async () => {
    t = await startTestInstance({ forms: FORMS, extra: PAGE, startWorker: false });
    browser = await launchChromium();
    if (SHOTS) mkdirSync(IMAGES, { recursive: true });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  async function open(v: Variant): Promise<{ context: BrowserContext; page: Page; cspErrors: string[] }> {
    const context = await browser.newContext({ viewport: DEVICES[v.device], colorScheme: v.scheme, locale: v.lang === 'ja' ? 'ja-JP' : 'en-US', isMobile: v.device === 'phone', hasTouch: v.device === 'phone' });
    await context.route('**/brand/logo.svg', (r) => r.fulfill({ contentType: 'image/svg+xml', body: LOGO }));
    const page = await context.newPage();
    const cspErrors: string[] = [];
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) cspErrors.push(m.text());
    });
    return { context, page, cspErrors };
  }

  const verified = (page: Page) => page.waitForSelector('altcha-widget .altcha[data-state="verified"]', { timeout: 60_000 });
  async function shoot(page: Page, name: string, v: Variant) {
    if (SHOTS) await page.screenshot({ path: path.join(IMAGES, `${name}-${v.lang}-${v.device}-${v.scheme}.png`), fullPage: true });
  }

  /** What every variant of every page shows: the branding, the colours of its scheme, no sideways scrolling. */
  async function expectBranded(page: Page, v: Variant) {
    const s = TEXT[v.lang];
    await expect.poll(() => page.locator('.fw-logo').evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0)).toBe(true);
    expect(await page.locator('header img.fw-logo').getAttribute('alt')).toBe(s.site);
    expect(await page.title()).toContain(s.site);
    await expect(page.locator('footer.fw-footer').textContent()).resolves.toContain(s.footer);
    expect(await page.locator('footer.fw-footer').getByRole('link', { name: s.privacy }).getAttribute('href')).toBe(PRIVACY);
    expect(await style(page, 'body', 'background-color')).toBe(v.scheme === 'dark' ? 'rgb(21, 23, 27)' : 'rgb(244, 245, 247)');
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(DEVICES[v.device].width);
  }

  it('a visitor fills in the form and sends it: the thank-you page shows the receipt number that was stored', async () => {
    const v: Variant = { lang: 'ja', device: 'desktop', scheme: 'light' };
    const { context, page, cspErrors } = await open(v);
    await page.goto(`${t.url}/f/contact?lang=ja`);
    await page.getByLabel('お名前').fill('山田 太郎');
    await page.getByLabel('メールアドレス').fill('taro@example.jp');
    await page.getByLabel('ご用件').selectOption('product');
    await page.getByLabel('お問い合わせ内容').fill('商品の在庫について教えてください。');
    await page.getByLabel('プライバシーポリシーに同意します').check();
    await verified(page);
    await Promise.all([page.waitForURL(/\/f\/contact\/thanks/), page.getByRole('button', { name: '送信する' }).click()]);
    receipt = (await page.locator('.fw-receipt').textContent()) ?? '';
    const stored = await t.instance.db.kysely.selectFrom('submissions').select(['receipt']).execute();
    expect(stored.map((r) => r.receipt)).toEqual([receipt]);
    expect(receipt).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/);
    // What happens next: the default text, with the confirmation-mail sentence (this form sends an auto-reply).
    await expect(page.locator('.fw-next').textContent()).resolves.toContain('迷惑メールフォルダ');
    expect(cspErrors).toEqual([]);
    await context.close();
  }, 120_000);

  it('a mistyped address shows the site\'s own 404 page in the visitor\'s language, not JSON', async () => {
    const MESSAGES = { ja: { page: 'ページが見つかりません。', form: 'フォームが見つかりません。' }, en: { page: 'No such page.', form: 'No such form.' } };
    for (const v of [{ lang: 'ja', device: 'desktop', scheme: 'light' }, { lang: 'en', device: 'phone', scheme: 'dark' }] satisfies Variant[]) {
      const { context, page, cspErrors } = await open(v);
      for (const [url, message] of [
        [`${t.url}/contact`, MESSAGES[v.lang].page],
        [`${t.url}/`, MESSAGES[v.lang].page],
        [`${t.url}/f/kontakt`, MESSAGES[v.lang].form],
      ] as const) {
        const res = await page.goto(url);
        expect(res?.status(), url).toBe(404);
        expect(res?.headers()['content-type'], url).toBe('text/html; charset=utf-8');
        expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('404');
        expect(await page.getByRole('alert').textContent()).toBe(message);
        await expectBranded(page, v);
      }
      expect(cspErrors).toEqual([]);
      await context.close();
    }
  }, 120_000);

  for (const v of VARIANTS) {
    it(`${v.lang}, ${v.device}, ${v.scheme}: the form, the form with errors, and the thank-you page`, async () => {
      const s = TEXT[v.lang];
      const { context, page, cspErrors } = await open(v);

      // The form
      await page.goto(`${t.url}/f/contact?lang=${v.lang}`);
      await verified(page);
      await expectBranded(page, v);
      expect(await style(page, '.fw-actions button', 'background-color')).toBe(rgb(ACCENT));
      // Required fields carry a visible badge; the optional one does not.
      const badges = page.locator('.fw-field .fw-req');
      expect(await badges.count()).toBe(5);
      for (const text of await badges.allTextContents()) expect(text).toBe(s.required);
      expect(await badges.first().isVisible()).toBe(true);
      expect(await page.locator('#f-company').locator('xpath=..').locator('.fw-req').count()).toBe(0);
      // The required select starts on a disabled "Please choose".
      const first = page.locator('#f-topic option').first();
      expect(await first.textContent()).toBe(s.choose);
      expect(await first.isDisabled()).toBe(true);
      expect(await page.locator('#f-topic').inputValue()).toBe('');
      // ALTCHA 3 without its footer and logo (configuration JSON; the v2 attributes did nothing).
      expect(await page.locator('altcha-widget .altcha-footer').count()).toBe(0);
      expect(await page.locator('altcha-widget .altcha-logo').count()).toBe(0);
      await expect(page.locator('.fw-privacy').getByRole('link', { name: s.privacy }).getAttribute('href')).resolves.toBe(PRIVACY);
      expect(await page.locator('.fw-privacy').textContent()).toBe(s.privacyNote);
      // The check sits next to the submit button, after the fields.
      const order = await page.evaluate(() => {
        const all = Array.from(document.querySelectorAll('#f-consent, altcha-widget, .fw-actions button'));
        return all.map((e) => e.tagName.toLowerCase());
      });
      expect(order).toEqual(['input', 'altcha-widget', 'button']);
      await shoot(page, 'form', v);

      // The form with errors, as the server renders it again: the name is kept, everything else is marked.
      await page.locator('#f-name').fill(v.lang === 'ja' ? '山田 太郎' : 'Jane Doe');
      await page.locator('#f-email').fill('jane@');
      await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST' && r.status() === 400), page.getByRole('button', { name: s.send }).click()]);
      await page.waitForSelector('.fw-summary');
      await verified(page);
      const errorColour = v.scheme === 'dark' ? 'rgb(255, 142, 142)' : 'rgb(192, 28, 40)';
      for (const id of ['f-email', 'f-topic', 'f-message']) {
        const control = page.locator(`#${id}`);
        expect(await control.getAttribute('aria-invalid')).toBe('true');
        const describedBy = (await control.getAttribute('aria-describedby'))!;
        const message = page.locator(`#${describedBy}`);
        expect((await message.textContent())!.length).toBeGreaterThan(0);
        expect(await message.evaluate((el) => getComputedStyle(el).color)).toBe(errorColour);
        expect(await style(page, `#${id}`, 'border-top-color')).toBe(errorColour);
        expect(await style(page, `#${id}`, 'border-top-width')).toBe('2px');
        // The message sits right under its control.
        const [box, msg] = [(await control.boundingBox())!, (await message.boundingBox())!];
        expect(msg.y).toBeGreaterThanOrEqual(box.y + box.height - 1);
        expect(msg.y - (box.y + box.height)).toBeLessThan(40);
      }
      expect(await page.locator('#f-consent').getAttribute('aria-invalid')).toBe('true');
      expect(await style(page, '.fw-check.fw-invalid', 'border-left-color')).toBe(errorColour);
      expect(await page.locator('#f-name').getAttribute('aria-invalid')).toBeNull();
      expect(await page.locator('#f-name').inputValue()).toBe(v.lang === 'ja' ? '山田 太郎' : 'Jane Doe');
      expect(await style(page, '#f-name', 'border-top-width')).toBe('1px');
      expect(await page.locator('altcha-widget .altcha-footer').count()).toBe(0);
      await expectBranded(page, v);
      await shoot(page, 'form-errors', v);

      // The thank-you page for the receipt stored above
      await page.goto(`${t.url}/f/contact/thanks?lang=${v.lang}&id=${receipt}`);
      expect(await page.locator('.fw-receipt').textContent()).toBe(receipt);
      expect(await page.getByRole('heading', { level: 2 }).textContent()).toBe(s.next);
      await expectBranded(page, v);
      // Links take the accent colour; on a dark page a lighter mix of it.
      const link = await style(page, '.fw-back a', 'color');
      if (v.scheme === 'light') expect(link).toBe(rgb(ACCENT));
      else expect(link).not.toBe(rgb(ACCENT));
      await shoot(page, 'thanks', v);

      expect(cspErrors).toEqual([]);
      await context.close();
    }, 120_000);
  }
});
