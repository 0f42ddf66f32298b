// The hosted pages over HTTP with hostile branding in the configuration: every value arrives escaped (no
// markup of its own on the form, the form with errors, or the thank-you page), the accent colour comes from a
// stylesheet route that only answers hex names, a form's page keys win over the instance's, and the CSP
// keeps scripts to 'self' while allowing exactly the configured logo origin for images.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dbUnavailable } from '../../test/support/db.js';
import { startTestInstance, type TestInstance } from '../../test/support/instance.js';

const EVIL = '</title><script>alert(1)</script><img src=x onerror=alert(2)>"\'&';
const PAGE = `
page:
  siteName: ${JSON.stringify(EVIL)}
  logoUrl: "https://cdn.example.jp/logo.svg?a=\\"><script>alert(3)</script>"
  accentColor: "#1A73E8"
  footerText: ${JSON.stringify(`${EVIL}\nline 2`)}
  privacyUrl: "/privacy?x=\\"onmouseover=\\"alert(4)"
`;
const FORMS = `
  - id: contact
    title: ${JSON.stringify(EVIL)}
    page: { accentColor: "#0b6", nextSteps: ${JSON.stringify(`${EVIL}\n\n<b>second</b>`)} }
    fields:
      - { name: name, type: text, required: true, label: ${JSON.stringify(EVIL)} }
      - { name: topic, type: select, required: true, options: [{ value: "a\\"><script>", label: ${JSON.stringify(EVIL)} }] }
    notify: { to: [owner@example.jp] }
  - id: plain
    title: Plain
    fields: [{ name: message, type: textarea }]
    notify: { to: [owner@example.jp] }
`;

/** Every tag on the page, by name: branding must add none (no script, img with handlers, b, ...). */
const tags = (html: string) => [...html.matchAll(/<([a-zA-Z][\w-]*)/g)].map((m) => m[1]!.toLowerCase());

describe.skipIf(dbUnavailable())('hosted pages with hostile branding, over HTTP', () => {
  let t: TestInstance;
  beforeAll(async () => {
    t = await startTestInstance({ forms: FORMS, extra: PAGE, startWorker: false });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('the form, the form with errors and the thank-you page carry the values only as escaped text', async () => {
    const form = await (await fetch(`${t.url}/f/contact?lang=en`)).text();
    const invalid = await fetch(`${t.url}/f/contact`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'lang=ja&name=' });
    expect(invalid.status).toBe(400);
    const errors = await invalid.text();
    const thanks = await (await fetch(`${t.url}/f/contact/thanks?lang=en&id=K7QD-3M9X`)).text();
    // Error pages wear the branding too: an unknown form, and any unknown address a browser opens.
    const html = { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' };
    const missingForm = await fetch(`${t.url}/f/nope`);
    const missingPage = await fetch(`${t.url}/nothing/here`, { headers: html });
    for (const r of [missingForm, missingPage]) {
      expect(r.status).toBe(404);
      expect(r.headers.get('content-type')).toBe('text/html; charset=utf-8');
    }
    const notFound = [await missingForm.text(), await missingPage.text()];
    expect(notFound[1]).toContain('<p role="alert">ページが見つかりません。</p>');
    // Clients that do not ask for HTML, and anything under /api/, still get JSON.
    for (const [url, headers] of [[`${t.url}/nothing/here`, {}], [`${t.url}/api/nothing`, html]] as const) {
      const r = await fetch(url, { headers });
      expect(r.status).toBe(404);
      expect(await r.json()).toEqual({ error: { code: 'E_NOT_FOUND', message: 'ページが見つかりません。' } });
    }
    for (const html of [form, errors, thanks, ...notFound]) {
      expect(html).not.toContain('<script>alert');
      // No event handler attribute in any tag (attribute values, which esc() keeps free of quotes, blanked).
      expect(html.replace(/="[^"]*"/g, '=""')).not.toMatch(/<[^>]*[\s"]on\w+=/);
      expect(html).toContain('&lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;&quot;&#39;&amp;');
      // The only scripts are our own files; the only img is the logo.
      for (const tag of html.match(/<script\b[^>]*>/g) ?? []) expect(tag).toMatch(/ src="\/static\//);
      expect(html.match(/<img\b[^>]*>/g)).toEqual(['<img class="fw-logo" src="https://cdn.example.jp/logo.svg?a=&quot;&gt;&lt;script&gt;alert(3)&lt;/script&gt;" alt="&lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;&quot;&#39;&amp;">']);
      expect(html).toContain('<a href="/privacy?x=&quot;onmouseover=&quot;alert(4)">');
      expect(html).not.toContain('<b>');
      expect(html).not.toMatch(/<style|\sstyle=/);
      expect(tags(html)).not.toContain('b');
    }
    expect(thanks).toContain('<p>&lt;b&gt;second&lt;/b&gt;</p>');
    expect(form).toContain('<option value="a&quot;&gt;&lt;script&gt;">');
  });

  it("the accent colour is a stylesheet link; a form's colour wins over the instance's", async () => {
    const contact = await (await fetch(`${t.url}/f/contact`)).text();
    const plain = await (await fetch(`${t.url}/f/plain`)).text();
    expect(contact).toContain('<link rel="stylesheet" href="/static/accent/00bb66.css">');
    expect(plain).toContain('<link rel="stylesheet" href="/static/accent/1a73e8.css">');
    const css = await fetch(`${t.url}/static/accent/1a73e8.css`);
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect(await css.text()).toBe(':root{--fw-accent:#1a73e8;--fw-on-accent:#ffffff}\n');
    for (const bad of ['red.css', '1A73E8.css', '1a73e8', '1a73e8;}body{x:y}.css', '1a73e8%0a.css', '%2e%2e%2fform.css', '1a73e8.css.map']) {
      expect((await fetch(`${t.url}/static/accent/${bad}`)).status, bad).toBe(404);
    }
  });

  it('the CSP keeps scripts and styles as they were and allows images from the logo origin only', async () => {
    const csp = (await fetch(`${t.url}/f/contact`)).headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self';");
    expect(csp).toContain("script-src-attr 'none'");
    expect(csp).toContain("style-src 'self' https: 'unsafe-inline'");
    expect(csp).toContain("img-src 'self' data: https://cdn.example.jp;");
  });
});
