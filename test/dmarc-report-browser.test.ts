// The DMARC section of the HTML report as an owner sees it: opened from disk in Chromium, offline, no
// script. Its charts draw, both languages are there (CSS toggle), nothing is requested, the console is
// clean, and markup in a report (reporter name, From domain) is shown as text.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze, renderHtml } from '../src/bounces/analyze/index.js';
import { sampleMessages } from '../src/bounces/analyze/sample-mbox.js';
import { analyzeDmarc } from '../src/dmarc/analyze/section.js';
import type { StoredDmarcRecord } from '../src/dmarc/types.js';
import { chromiumMissing, launchChromium } from './support/browser.js';

function records(): StoredDmarcRecord[] {
  const out: StoredDmarcRecord[] = [];
  for (let d = 0; d < 14; d++) {
    const begin = new Date(Date.UTC(2026, 2, 1 + d)).toISOString();
    const end = new Date(Date.UTC(2026, 2, 2 + d) - 1000).toISOString();
    const base = { orgName: d % 2 ? 'google.com' : 'Evil <img src=x onerror=alert(1)>', reportId: `r${d}`, domain: 'sakura-dental.example', begin, end, dkimDomains: [], spfDomains: [] };
    out.push({ ...base, sourceIp: '198.51.100.5', count: 80 + d, disposition: 'none', dkim: 'pass', spf: 'pass', headerFrom: 'sakura-dental.example' });
    if (d >= 9) out.push({ ...base, sourceIp: `203.0.113.${d}`, count: 30 * (d - 8), disposition: 'reject', dkim: 'fail', spf: 'fail', headerFrom: '<script>x</script>' });
    if (d === 12) out.push({ ...base, sourceIp: '2001:db8:5::1', count: 12, disposition: 'quarantine', dkim: 'fail', spf: 'fail', headerFrom: 'sakura-dental.example' });
  }
  return out;
}

describe.skipIf(chromiumMissing())('HTML report, DMARC section, in Chromium', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'fw-dmarc-report-'));
  let browser: Browser;
  let file: string;

  beforeAll(async () => {
    const msgs = sampleMessages({ days: 14, surgeDays: 4 });
    async function* src() { let i = 0; for (const m of msgs) yield { file: 'sample', index: i++, raw: Buffer.from(m.raw) }; }
    const report = await analyze(src(), { ownerDomains: ['sakura-dental.example'] });
    report.dmarc = analyzeDmarc(records(), { lookup: (ip) => (ip.startsWith('203.') ? { asn: 64500, asName: 'EXAMPLE-HOSTING', country: 'NL' } : { country: 'JP' }) });
    file = path.join(dir, 'report.html');
    writeFileSync(file, renderHtml(report, 'ja'));
    browser = await launchChromium();
  }, 120_000);
  afterAll(async () => { await browser?.close(); });

  it('draws the DMARC charts, in Japanese and English, requests nothing, logs nothing', async () => {
    const context = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 1000, height: 900 } });
    const page = await context.newPage();
    const requests: string[] = [];
    const consoleMessages: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    page.on('console', (m) => consoleMessages.push(`${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => consoleMessages.push(`pageerror: ${e.message}`));
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    for (const id of ['chart-dmarc-days', 'chart-dmarc-networks']) {
      const svg = page.locator(`svg#${id}`);
      await expect(svg.isVisible()).resolves.toBe(true);
      const bars = svg.locator('rect.bar');
      expect(await bars.count()).toBeGreaterThan(0);
      const box = await bars.first().boundingBox();
      expect(box && box.width > 0 && box.height > 0).toBe(true);
    }
    const section = page.locator('section#dmarc');
    await expect(section.getByText('DMARC：あなたのドメインを名乗って送信しているのは誰か').isVisible()).resolves.toBe(true);
    await expect(section.getByText('第三者があなたのドメインを名乗ってメールを送っています').isVisible()).resolves.toBe(true);
    await expect(section.getByText('DMARC: who sends mail as your domain').isVisible()).resolves.toBe(false);
    // report text is shown as text, never as markup
    await expect(section.getByText('<script>x</script>').first().isVisible()).resolves.toBe(true);
    expect(await page.locator('img').count()).toBe(0);
    expect(await page.locator('script').count()).toBe(0);
    await page.screenshot({ path: path.join(dir, 'dmarc-ja.png'), fullPage: true });
    await page.locator('label[for=lang-en]').click();
    await expect(section.getByText('DMARC: who sends mail as your domain').isVisible()).resolves.toBe(true);
    await expect(section.getByText('Someone is sending mail as your domain').isVisible()).resolves.toBe(true);
    await expect(section.locator('h2 .en', { hasText: 'Sources failing alignment, by network' }).isVisible()).resolves.toBe(true);
    await page.screenshot({ path: path.join(dir, 'dmarc-en.png'), fullPage: true });
    expect(requests).toEqual([pathToFileURL(file).href]);
    expect(consoleMessages).toEqual([]);
    process.stderr.write(`[dmarc-report-browser] screenshots in ${dir}\n`);
    await context.close();
  });
});
