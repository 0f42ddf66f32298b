// The README promise, as a person would see it: `npm start` on a fresh checkout (the built-in demo
// configuration) serves the form; a browser fills it in and submits; the thank-you page shows; the
// owner notification and the auto-reply are in `formwarden mail list`.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configTemplate } from '../src/config/demo.js';
import { withoutLoadShedding } from './support/load-shedding.js';
import { chromiumMissing, launchChromium } from './support/browser.js';
import { runCli, startServer, type ServerProcess } from './support/process.js';
import { waitFor } from './support/wait.js';

describe.skipIf(chromiumMissing())('hosted demo form in Chromium', () => {
  const cwd = mkdtempSync(path.join(tmpdir(), 'fw-demo-'));
  const env = { FORMWARDEN_PORT: '0', FORMWARDEN_CONFIG: '' };
  let server: ServerProcess;
  let browser: Browser;

  beforeAll(async () => {
    // The built-in demo (the text the server falls back to), written to ./formwarden.yaml with one
    // change: no load shedding (the post without JavaScript carries no proof-of-work: the first to be shed).
    const demo = configTemplate();
    const yaml = withoutLoadShedding(demo);
    expect(yaml).not.toBe(demo);
    writeFileSync(path.join(cwd, 'formwarden.yaml'), yaml);
    server = await startServer([], { cwd, env });
    browser = await launchChromium();
  }, 120_000); // a server process and Chromium: room for a loaded machine
  afterAll(async () => {
    await browser?.close();
    await server?.kill();
  });

  it('a visitor fills in the Japanese form and submits; the owner and the visitor get their mail', async () => {
    const page = await browser.newPage({ locale: 'ja-JP' });
    await page.goto(`${server.url}/f/contact`);
    expect(await page.getAttribute('html', 'lang')).toBe('ja');
    await page.getByLabel('お名前').pressSequentially('山田 太郎', { delay: 20 });
    await page.getByLabel('メールアドレス').pressSequentially('taro@example.jp', { delay: 20 });
    await page.getByLabel('お問い合わせ内容').fill('商品の在庫について教えてください。');
    // A person reads the form over for a moment (the form token's minimum fill time is 3 s), while
    // the ALTCHA widget finishes its proof-of-work in the background (the demo's real cost: seconds,
    // more on a loaded machine).
    await page.waitForSelector('altcha-widget .altcha[data-state="verified"]', { timeout: 120_000 });
    await page.waitForTimeout(3000);
    await page.getByRole('button', { name: '送信する' }).click();
    await page.waitForURL(/\/f\/contact\/thanks/);
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('送信が完了しました');
    const receipt = await page.locator('.fw-receipt').textContent();
    expect(receipt).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/);
    await page.screenshot({ path: path.join(cwd, 'thanks.png') });

    // The notification is captured at once; the auto-reply waits in the outbox for autoreply.delay
    // (2 minutes by default) and is checked again before it leaves.
    const mails = await waitFor(() => {
      const r = runCli(['mail', 'list', '--json'], { cwd, env });
      const rows = JSON.parse(r.stdout) as { kind: string; state: string; to_addr: string; submission_id: string; created_at: string; next_attempt_at: string }[];
      return rows.length === 2 && rows.some((m) => m.kind === 'notify' && m.state === 'sent') ? rows : null;
    }, 'the notification and the queued auto-reply');
    expect(mails.map((m) => [m.kind, m.to_addr, m.state]).sort()).toEqual([
      ['autoreply', 'taro@example.jp', 'pending'],
      ['notify', 'owner@example.jp', 'sent'],
    ]);
    const reply = mails.find((m) => m.kind === 'autoreply')!;
    expect(Date.parse(reply.next_attempt_at) - Date.parse(reply.created_at)).toBe(120_000);
    const subs = JSON.parse(runCli(['submissions', 'list', '--json'], { cwd, env }).stdout) as { id: string; receipt: string; outcome: string; reasons: string[] }[];
    expect(subs[0]).toMatchObject({ receipt, outcome: 'accept' });
    expect(mails.every((m) => m.submission_id === subs[0]!.id)).toBe(true);
    expect(subs[0]!.reasons.filter((r) => !r.startsWith('GEO_COUNTRY_UNKNOWN'))).toEqual([]);
  }, 180_000);

  it('with JavaScript disabled a person can still send: the inquiry is delivered, the auto-reply is held back', async () => {
    const context = await browser.newContext({ javaScriptEnabled: false, locale: 'en-US' });
    const page = await context.newPage();
    await page.goto(`${server.url}/f/contact?lang=en`);
    await page.getByLabel('Name').fill('No Script');
    await page.getByLabel('Email').fill('noscript@example.jp');
    await page.getByLabel('Message').fill('I browse without JavaScript.');
    await page.waitForTimeout(3000);
    await page.getByRole('button', { name: 'Send' }).click();
    await page.waitForURL(/\/f\/contact\/thanks/);
    const receipt = await page.locator('.fw-receipt').textContent();
    const subs = JSON.parse(runCli(['submissions', 'list', '--json'], { cwd, env }).stdout) as { id: string; receipt: string; outcome: string; reasons: string[]; autoreply: string }[];
    const sub = subs.find((s) => s.receipt === receipt)!;
    const mails = await waitFor(() => {
      const rows = JSON.parse(runCli(['mail', 'list', '--json'], { cwd, env }).stdout) as { kind: string; state: string; to_addr: string; submission_id: string }[];
      const mine = rows.filter((m) => m.submission_id === sub.id);
      return mine.length >= 1 && mine.every((m) => m.state === 'sent') ? mine : null;
    }, 'the owner notification');
    expect(mails.map((m) => m.kind)).toEqual(['notify']);
    expect(sub.outcome).toBe('accept_no_autoreply');
    expect(sub.reasons).toContain('ALTCHA_MISSING(4)');
    expect(sub.autoreply).toBe('skipped:accept_no_autoreply');
    await context.close();
  }, 120_000);

  it('a visitor who makes a mistake sees the errors announced and keeps what they typed (English)', async () => {
    const page = await browser.newPage({ locale: 'en-US' });
    await page.goto(`${server.url}/f/contact?lang=en`);
    await page.getByLabel('Name').fill('Jane');
    await page.getByLabel('Email').fill('jane@');
    await page.getByRole('button', { name: 'Send' }).click();
    await page.waitForLoadState();
    await expect(page.getByRole('alert').first().textContent()).resolves.toContain('Some fields need your attention.');
    expect(await page.getByLabel('Name').inputValue()).toBe('Jane');
    expect(await page.getByLabel('Email').getAttribute('aria-invalid')).toBe('true');
  });
});
