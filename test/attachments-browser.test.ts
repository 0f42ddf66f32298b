// Files from a real browser (Chromium): the hosted page posts multipart/form-data with the chosen file,
// and web/widget.js in fetch mode switches from JSON to FormData when a file is chosen (and keeps JSON
// when none is). The files are stored with their submission; nothing else changes for the visitor.
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { files } from '../src/attachments/test-files.js';
import { chromiumMissing, launchChromium } from './support/browser.js';
import { startTestInstance, type TestInstance } from './support/instance.js';

const DEFENSES = `
defenses:
  formToken: { minFillSeconds: 0 }
  altcha: { enabled: true, cost: 10, minNumber: 5, maxNumber: 40 }
  rateLimit: { enabled: false }
`;

const forms = (origin: string) => `
  - id: apply
    title: { ja: 応募, en: Apply }
    fields:
      - { name: name, type: text, required: true, label: { ja: お名前, en: Name } }
      - { name: email, type: email, required: true, label: { ja: メールアドレス, en: Email } }
      - { name: photo, type: file, accept: [image], label: { ja: 写真, en: Photo } }
    notify: { to: [owner@example.jp] }
    autoreply: { enabled: true, to: email, delay: 0s, subject: "Thanks", body: "Receipt {{receipt_id}}" }
    cors: { origins: ["${origin}"] }
`;

const ownerPage = (fw: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Shop</title><script src="${fw}/static/widget.js" defer></script></head>
<body><form action="${fw}/f/apply" method="post" enctype="multipart/form-data" data-formwarden data-formwarden-mode="fetch">
  <p><label for="name">Name</label><input id="name" name="name" required></p>
  <p><label for="email">Email</label><input id="email" name="email" type="email" required></p>
  <p><label for="photo">Photo</label><input id="photo" name="photo" type="file"></p>
  <div data-formwarden-status></div>
  <p><button type="submit">Send</button></p>
</form></body></html>`;

describe.skipIf(chromiumMissing())('attachments from Chromium', () => {
  let owner: Server;
  let ownerUrl = '';
  let t: TestInstance;
  let browser: Browser;

  beforeAll(async () => {
    owner = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(ownerPage(t.url)));
    await new Promise<void>((resolve) => owner.listen(0, '127.0.0.1', resolve));
    ownerUrl = `http://127.0.0.1:${(owner.address() as AddressInfo).port}`;
    t = await startTestInstance({ defenses: DEFENSES, forms: forms(ownerUrl) });
    browser = await launchChromium();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await t?.close();
    await new Promise((resolve) => owner?.close(resolve));
  });

  const stored = async (email: string) => {
    const subs = (await t.instance.db.kysely.selectFrom('submissions').select(['id', 'fields']).execute()).filter((s) => (JSON.parse(s.fields) as { email?: string }).email === email);
    if (subs.length !== 1) return null;
    return t.instance.db.kysely.selectFrom('attachments').select(['filename', 'content_type', 'sha256']).where('submission_id', '=', subs[0]!.id).execute();
  };

  it('the hosted page sends the chosen file as multipart; it is stored with the inquiry', async () => {
    const page = await browser.newPage({ locale: 'en-US' });
    await page.goto(`${t.url}/f/apply?lang=en`);
    await page.waitForSelector('altcha-widget .altcha[data-state="verified"]');
    const photo = files.png(2000);
    await page.getByLabel('Name').fill('Hanako');
    await page.getByLabel('Email').fill('hanako@example.jp');
    await page.locator('input[type=file][name=photo]').setInputFiles({ name: 'shot.png', mimeType: 'image/png', buffer: photo });
    await Promise.all([page.waitForURL(/\/f\/apply\/thanks/), page.getByRole('button', { name: 'Send' }).click()]);
    await expect.poll(() => stored('hanako@example.jp'), { timeout: 30_000 }).toEqual([{ filename: 'shot.png', content_type: 'image/png', sha256: createHash('sha256').update(photo).digest('hex') }]);
    await page.close();
  });

  it('the widget in fetch mode sends FormData when a file is chosen, and JSON when none is', async () => {
    const page = await browser.newPage({ locale: 'en-US' });
    const bodies: string[] = [];
    page.on('request', (r) => r.method() === 'POST' && r.url().includes('/submissions') && bodies.push(String(r.headers()['content-type'])));
    await page.goto(`${ownerUrl}/`);
    await page.waitForSelector('altcha-widget .altcha[data-state="verified"]');
    const status = page.locator('[data-formwarden-status]');
    const photo = files.jpeg(1500);
    await page.getByLabel('Name').fill('Jane');
    await page.getByLabel('Email').fill('jane@example.jp');
    await page.getByLabel('Photo').setInputFiles({ name: 'me.jpg', mimeType: 'image/jpeg', buffer: photo });
    const used = await page.locator('input[name="_token"]').inputValue();
    await page.getByRole('button', { name: 'Send' }).click();
    await expect.poll(() => status.textContent(), { timeout: 30_000 }).toMatch(/^Thank you\./);
    expect(await stored('jane@example.jp')).toEqual([{ filename: 'me.jpg', content_type: 'image/jpeg', sha256: createHash('sha256').update(photo).digest('hex') }]);

    // No file this time: the JSON path, as before.
    await expect.poll(() => page.locator('input[name="_token"]').inputValue(), { timeout: 30_000 }).not.toBe(used);
    await page.waitForSelector('altcha-widget .altcha[data-state="verified"]');
    await page.getByLabel('Name').fill('John');
    await page.getByLabel('Email').fill('john@example.jp');
    await page.getByRole('button', { name: 'Send' }).click();
    await expect.poll(() => stored('john@example.jp'), { timeout: 30_000 }).toEqual([]);
    expect(bodies[0]).toMatch(/^multipart\/form-data; boundary=/);
    expect(bodies[1]).toBe('application/json');
    await page.close();
  });
});
