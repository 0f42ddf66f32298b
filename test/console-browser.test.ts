// Issue #11's acceptance, as the owner sees it in Chromium: an owner made with the CLI logs in (Japanese UI),
// sees a just-submitted inquiry in the inbox, opens it (decoded fields, the verdict explained), releases a
// quarantined one and sees its notification sent, exports CSV and reads it back, sees the dashboard's charts
// with the right counts, switches to English and logs out; a member cannot open another form's inquiry.
// axe-core checks the main pages (no serious or critical violations). FW_SCREENSHOTS=1 also writes
// docs/images/admin-*.png for the docs (CI leaves the tree alone).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumMissing, launchChromium } from './support/browser.js';
import { createTestDatabase, dbUnavailable, type TestDatabase } from './support/db.js';
import { TEST_DEFENSES, testConfigYaml } from './support/instance.js';
import { runCli, startServer, type ServerProcess } from './support/process.js';
import { SmtpSink } from './support/smtp-sink.js';
import { waitFor } from './support/wait.js';

const SHOTS = process.env.FW_SCREENSHOTS === '1';
const IMAGES = path.resolve(import.meta.dirname, '../docs/images');
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

const FORMS = `
  - id: contact
    title: { ja: お問い合わせ, en: Contact us }
    fields:
      - { name: name, type: text, required: true, label: { ja: お名前, en: Name } }
      - { name: email, type: email, required: true, label: { ja: メールアドレス, en: Email } }
      - name: topic
        type: select
        label: { ja: ご用件, en: Topic }
        options: [{ value: quote, label: { ja: お見積もり, en: Quote } }, { value: other, label: { ja: その他, en: Other } }]
      - { name: message, type: textarea, required: true, label: { ja: お問い合わせ内容, en: Message } }
    notify: { to: [owner@example.jp], subject: "[Contact] {{name}}" }
  - id: recruit
    title: { ja: 採用, en: Jobs }
    fields:
      - { name: name, type: text, required: true, label: { ja: お名前, en: Name } }
      - { name: email, type: email, required: true, label: { ja: メールアドレス, en: Email } }
      - { name: message, type: textarea, required: true, label: { ja: 志望動機, en: Why us } }
    notify: { to: [hr@example.jp], subject: "[Jobs] {{name}}" }
`;

/** axe-core in the page (evaluated over the DevTools protocol, which the page's CSP does not govern). */
async function axeViolations(page: Page): Promise<string[]> {
  await page.evaluate(AXE);
  const result = (await page.evaluate(`axe.run(document, { resultTypes: ['violations'] })`)) as { violations: { id: string; impact: string; nodes: unknown[] }[] };
  return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id} (${v.impact}, ${v.nodes.length} nodes)`);
}

describe.skipIf(chromiumMissing() || dbUnavailable())('the owner console in Chromium', () => {
  const sink = new SmtpSink();
  let db: TestDatabase;
  let config: string;
  let server: ServerProcess;
  let browser: Browser;

  beforeAll(async () => {
    const port = await sink.start();
    db = await createTestDatabase();
    config = path.join(db.dir, 'formwarden.yaml');
    // A post without a form token (a plain HTML form) lands in quarantine here: the held inquiry to release.
    writeFileSync(config, testConfigYaml({ dbUrl: db.url, transport: `smtp://127.0.0.1:${port}`, forms: FORMS, defenses: `${TEST_DEFENSES}  symbols: { NO_PROOF: 7 }\n`, extra: 'timeZone: Asia/Tokyo' }));
    const add = (args: string[]) => runCli(['--config', config, 'users', 'add', ...args, '--password-stdin'], { input: 'a long owner password\n' });
    expect(add(['owner@example.jp']).status).toBe(0);
    expect(add(['hr@example.jp', '--role', 'member', '--forms', 'recruit']).status).toBe(0);
    server = await startServer(['--config', config]);
    browser = await launchChromium();
    if (SHOTS) mkdirSync(IMAGES, { recursive: true });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await server?.kill();
    await sink.stop();
    await db?.drop();
  });

  const plainPost = async (form: string, fields: Record<string, string>) => {
    const r = await fetch(`${server.url}/api/forms/${form}/submissions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(fields) });
    expect(r.status).toBe(201);
    return (await r.json()) as { id: string; receipt: string };
  };
  const shot = async (page: Page, name: string) => {
    if (SHOTS) await page.screenshot({ path: path.join(IMAGES, `admin-${name}.png`), fullPage: true });
  };

  it('owner: log in, inbox, inquiry, release, export, dashboard, English, log out', async () => {
    // A visitor submits the hosted form in a browser (token and proof-of-work: accepted).
    const visitor = await browser.newPage({ locale: 'ja-JP' });
    await visitor.goto(`${server.url}/f/contact`);
    await visitor.getByLabel('お名前').fill('山田 花子');
    await visitor.getByLabel('メールアドレス').fill('hanako@example.jp');
    await visitor.getByLabel('ご用件').selectOption('quote');
    await visitor.getByLabel('お問い合わせ内容').fill('見積もりをお願いします。\n二行目です。');
    await visitor.waitForSelector('altcha-widget .altcha[data-state="verified"]', { timeout: 120_000 });
    await visitor.getByRole('button', { name: '送信する' }).click();
    await visitor.waitForURL(/\/f\/contact\/thanks/);
    const visitorReceipt = (await visitor.locator('.fw-receipt').textContent())!.trim();
    await visitor.close();
    const held = await plainPost('contact', { name: '佐藤 一郎', email: 'ichiro@example.jp', message: '保留されるお問い合わせです' });
    const other = await plainPost('recruit', { name: '鈴木', email: 'suzuki@example.jp', message: '応募します' });

    const context = await browser.newContext({ locale: 'ja-JP', acceptDownloads: true });
    const page = await context.newPage();
    const cspErrors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) cspErrors.push(m.text());
    });
    await page.goto(`${server.url}/admin/`);
    await page.waitForURL(/\/admin\/login/);
    expect(await page.getAttribute('html', 'lang')).toBe('ja');
    expect(await axeViolations(page)).toEqual([]);
    await shot(page, 'login-ja');
    await page.getByLabel('メールアドレス').fill('owner@example.jp');
    await page.getByLabel('パスワード').fill('a long owner password');
    await page.getByRole('button', { name: 'ログイン' }).click();
    await page.waitForURL(/\/admin\/inbox/);

    // The inbox: the visitor's inquiry, newest first, with its verdict at a glance.
    const row = page.locator('table.inbox tbody tr', { hasText: visitorReceipt });
    await expect(row.textContent()).resolves.toContain('山田 花子');
    await expect(row.textContent()).resolves.toContain('受付');
    expect(await page.locator('table.inbox tbody tr').count()).toBe(3);
    expect(await axeViolations(page)).toEqual([]);
    await shot(page, 'inbox-ja');

    // The inquiry: decoded fields with labels (the option's label, not its value), the verdict explained.
    await row.getByRole('link', { name: visitorReceipt }).click();
    await page.waitForURL(/\/admin\/submissions\//);
    const fields = page.locator('dl.fields');
    await expect(fields.textContent()).resolves.toContain('お見積もり');
    await expect(fields.textContent()).resolves.not.toContain('quote');
    await expect(fields.locator('dd', { hasText: '二行目です。' }).count()).resolves.toBe(1);
    expect(await page.locator('table.verdict tbody tr').count()).toBeGreaterThan(0);
    await expect(page.locator('table.verdict').textContent()).resolves.toMatch(/[\u3040-\u30ff]/);
    expect(await axeViolations(page)).toEqual([]);
    await shot(page, 'submission-ja');

    // Release the quarantined one: its notification reaches the owner's mailbox (the SMTP sink).
    await page.goto(`${server.url}/admin/inbox?action=quarantine&form=contact`);
    await page.locator('table.inbox tbody tr', { hasText: held.receipt }).getByRole('link', { name: held.receipt }).click();
    await expect(page.locator('h1').textContent()).resolves.toContain('保留');
    await page.getByRole('button', { name: '通知する（保留・拒否を解除）' }).click();
    await expect(page.locator('.notice').textContent()).resolves.toContain('解除しました');
    await waitFor(() => sink.toKind('owner@example.jp', 'notify').some((m) => m.parsed.subject === '[Contact] 佐藤 一郎'), 'the released notification at the SMTP server');
    await waitFor(async () => {
      await page.reload();
      return (await page.locator('h1').textContent())?.includes('受付') && (await page.locator('section[aria-labelledby="h-mails"] tbody').textContent())?.includes('sent');
    }, 'the mail shown as sent');

    // Export CSV and read it back.
    await page.goto(`${server.url}/admin/inbox?form=contact`);
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'CSV で書き出す' }).click()]);
    const csv = readFileSync((await download.path())!);
    expect([...csv.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const rows = parse(csv.subarray(3).toString('utf8'), { columns: true }) as Record<string, string>[];
    expect(rows.map((r) => r['お名前']).sort()).toEqual(['佐藤 一郎', '山田 花子']);
    expect(rows.find((r) => r['お名前'] === '山田 花子')?.['ご用件']).toBe('お見積もり');

    // The dashboard: charts drawn, and the numbers beside them are the stored ones (3 today: 2 accepted after the release, 1 held).
    await page.getByRole('link', { name: 'ダッシュボード' }).click();
    await page.waitForURL(/\/admin\/dashboard/);
    expect(await page.locator('svg').count()).toBeGreaterThan(2);
    for (const svg of await page.locator('svg').all()) expect(await svg.locator('title').count()).toBeGreaterThan(0);
    const daily = await page.locator('#t-daily tbody tr').evaluateAll((trs) => trs.map((tr) => Array.from(tr.querySelectorAll('td')).map((td) => Number(td.textContent))));
    const sums = daily.reduce((acc, r) => acc.map((v, i) => v + (r[i] ?? 0)), [0, 0, 0, 0, 0]);
    expect(sums).toEqual([2, 0, 1, 0, 3]); // accept, accept_no_autoreply, quarantine, reject, total
    expect(await axeViolations(page)).toEqual([]);
    await shot(page, 'dashboard-ja');

    await page.getByRole('link', { name: '運用' }).click();
    await page.waitForURL(/\/admin\/operations/);
    expect(await axeViolations(page)).toEqual([]);

    // English, then log out.
    await page.getByRole('link', { name: 'English' }).click();
    await page.waitForURL(/\/admin\/operations/);
    expect(await page.getAttribute('html', 'lang')).toBe('en');
    await page.getByRole('link', { name: 'Inbox' }).click();
    await expect(page.locator('h1').textContent()).resolves.toBe('Inbox');
    await shot(page, 'inbox-en');
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL(/\/admin\/login/);
    await page.goto(`${server.url}/admin/inbox`);
    await page.waitForURL(/\/admin\/login/);
    expect(cspErrors).toEqual([]);
    await context.close();
    void other;
  }, 300_000);

  it("a member cannot open another form's inquiry, and sees only their own in the inbox", async () => {
    const contact = await plainPost('contact', { name: '別フォーム', email: 'x@example.jp', message: '別フォームのお問い合わせ' });
    const page = await browser.newPage({ locale: 'ja-JP' });
    await page.goto(`${server.url}/admin/login`);
    await page.getByLabel('メールアドレス').fill('hr@example.jp');
    await page.getByLabel('パスワード').fill('a long owner password');
    await page.getByRole('button', { name: 'ログイン' }).click();
    await page.waitForURL(/\/admin\/inbox/);
    await expect(page.locator('table.inbox').textContent()).resolves.toContain('鈴木');
    await expect(page.locator('table.inbox').textContent()).resolves.not.toContain('山田 花子');
    const res = await page.goto(`${server.url}/admin/submissions/${contact.id}`);
    expect(res?.status()).toBe(404);
    await expect(page.locator('main').textContent()).resolves.not.toContain('別フォームのお問い合わせ');
    await page.close();
  }, 120_000);
});
