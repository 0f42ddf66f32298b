// The HTML bounce report as an owner sees it: opened from disk in Chromium, offline. It must make no
// request besides the file itself, draw its charts, and carry both Japanese and English.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze, renderHtml } from '../src/bounces/analyze/index.js';
import { sampleMessages } from '../src/bounces/analyze/sample-mbox.js';
import { chromiumMissing, launchChromium } from './support/browser.js';

describe.skipIf(chromiumMissing())('HTML bounce report in Chromium', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'fw-report-'));
  let browser: Browser;
  let file: string;

  beforeAll(async () => {
    const msgs = sampleMessages({ days: 14, surgeDays: 4 });
    async function* src() { let i = 0; for (const m of msgs) yield { file: 'sample', index: i++, raw: Buffer.from(m.raw) }; }
    const report = await analyze(src(), { ownerDomains: ['sakura-dental.example'] });
    file = path.join(dir, 'report.html');
    writeFileSync(file, renderHtml(report, 'ja'));
    browser = await launchChromium();
  }, 120_000); // Chromium's start: room for a loaded machine
  afterAll(async () => { await browser?.close(); });

  it('opens offline, requests nothing else, draws the charts, and switches language without script', async () => {
    const context = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 1000, height: 900 } });
    const page = await context.newPage();
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    expect(requests).toEqual([pathToFileURL(file).href]);

    for (const id of ['chart-reason', 'chart-origin', 'chart-domains']) {
      const svg = page.locator(`svg#${id}`);
      await expect(svg.isVisible()).resolves.toBe(true);
      const bars = svg.locator('rect.bar');
      expect(await bars.count()).toBeGreaterThan(0);
      const box = await bars.first().boundingBox();
      expect(box && box.width > 0 && box.height > 0).toBe(true);
    }
    // Japanese is shown first; English is on the page and appears with the toggle (CSS only).
    await expect(page.getByText('日別バウンス（理由別）').isVisible()).resolves.toBe(true);
    await expect(page.getByText('Bounces per day by reason').isVisible()).resolves.toBe(false);
    expect(await page.content()).toContain('Bounces per day by reason');
    await page.screenshot({ path: path.join(dir, 'report-ja.png'), fullPage: true });
    await page.locator('label[for=lang-en]').click();
    await expect(page.getByText('Bounces per day by reason').isVisible()).resolves.toBe(true);
    await expect(page.getByText('日別バウンス（理由別）').isVisible()).resolves.toBe(false);
    await page.screenshot({ path: path.join(dir, 'report-en.png'), fullPage: true });
    expect(requests).toHaveLength(1);
    process.stderr.write(`[analyze-browser] screenshots in ${dir}\n`);
    await context.close();
  });
});
