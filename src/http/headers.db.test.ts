// The security headers (helmet's for pages, computed once at start-up; a strict set for the JSON API) on
// every answer, refusals included, and CORS (only a form's API, only the origins listed on that form).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dbUnavailable } from '../../test/support/db.js';
import { BASE_FORM, startTestInstance, type TestInstance } from '../../test/support/instance.js';

const FORMS = BASE_FORM.replace('    fields:', '    cors: { origins: ["https://shop.example.jp/contact"] }\n    fields:');
const SHOP = 'https://shop.example.jp';

describe.skipIf(dbUnavailable())('response headers', () => {
  let t: TestInstance;
  beforeAll(async () => {
    t = await startTestInstance({ forms: FORMS, startWorker: false });
  });
  afterAll(async () => {
    await t?.close();
  });

  /** The JSON API: no sniffing, nothing may load or frame it, HSTS and CORP as for pages; none of the page-only headers. */
  const expectApiHeaders = (res: Response) => {
    const h = res.headers;
    expect(h.get('content-type')).toContain('application/json');
    expect(h.get('content-security-policy')).toBe("default-src 'none'; frame-ancestors 'none'");
    expect(h.get('x-content-type-options')).toBe('nosniff');
    expect(h.get('cross-origin-resource-policy')).toBe('cross-origin');
    expect(h.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains');
    expect(h.get('x-frame-options')).toBeNull();
    expect(h.get('vary')).toContain('Origin');
  };
  const expectSecurityHeaders = (res: Response) => {
    const h = res.headers;
    const csp = h.get('content-security-policy') ?? '';
    for (const d of ["default-src 'self'", "form-action 'self'", "frame-ancestors 'self'", "object-src 'none'", "script-src 'self'", "worker-src 'self' blob:"]) {
      expect(csp).toContain(d);
    }
    expect(h.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(h.get('x-content-type-options')).toBe('nosniff');
    expect(h.get('cross-origin-resource-policy')).toBe('cross-origin');
    expect(h.get('cross-origin-opener-policy')).toBe('same-origin');
    expect(h.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains');
    expect(h.get('referrer-policy')).toBe('no-referrer');
    expect(h.get('vary')).toContain('Origin');
  };

  it('pages, API answers, refusals and not-found answers all carry the security headers (over https via the trusted proxy)', async () => {
    // The instance trusts 127.0.0.1 as its proxy: X-Forwarded-Proto https is a page served over https
    // (HSTS, upgrade-insecure-requests); plain http is src/http/plain-http.db.test.ts.
    const fetch = (url: string, init: RequestInit = {}) => globalThis.fetch(url, { ...init, headers: { 'x-forwarded-proto': 'https', ...(init.headers as Record<string, string>) } });
    const page = await fetch(`${t.url}/f/contact`);
    expect(page.status).toBe(200);
    expectSecurityHeaders(page);
    const pagePost = await fetch(`${t.url}/f/contact`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'name=a' });
    expect(pagePost.status).toBe(400);
    expectSecurityHeaders(pagePost);
    expectSecurityHeaders(await fetch(`${t.url}/healthz`));
    const refused = await fetch(`${t.url}/api/forms/contact/submissions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"a"}' });
    expect(refused.status).toBe(400);
    expectApiHeaders(refused);
    expectApiHeaders(await fetch(`${t.url}/api/forms/contact/challenge`));
    const unsupported = await fetch(`${t.url}/api/forms/contact/submissions`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hello' });
    expect(unsupported.status).toBe(415);
    expectApiHeaders(unsupported);
    const missing = await fetch(`${t.url}/nope`);
    expect(missing.status).toBe(404);
    expectSecurityHeaders(missing);
    expectApiHeaders(await fetch(`${t.url}/api/forms/nope/challenge`));
    expectSecurityHeaders(await fetch(`${t.url}/static/widget.js`));
  });

  it('CORS preflight: allowed only for a listed origin on that form (204 with methods, headers, max-age); otherwise 404 or 400', async () => {
    const preflight = (origin: string, path = '/api/forms/contact/submissions', method: string | null = 'POST') =>
      fetch(`${t.url}${path}`, { method: 'OPTIONS', headers: { origin, ...(method ? { 'access-control-request-method': method } : {}) } });
    const ok = await preflight(SHOP);
    expect(ok.status).toBe(204);
    expect(ok.headers.get('access-control-allow-origin')).toBe(SHOP);
    expect(ok.headers.get('access-control-allow-methods')).toBe('GET, POST');
    expect(ok.headers.get('access-control-allow-headers')).toBe('Content-Type, Accept');
    expect(ok.headers.get('access-control-max-age')).toBe('600');
    expect(ok.headers.get('x-content-type-options')).toBe('nosniff');
    expect((await preflight(SHOP, '/api/forms/contact/challenge', 'GET')).status).toBe(204);
    expect((await preflight(SHOP, '/api/forms/contact/submissions', null)).status).toBe(400);
    for (const res of [await preflight('https://evil.example'), await preflight(SHOP, '/api/forms/nope/submissions'), await preflight(SHOP, '/f/contact')]) {
      expect(res.status).toBe(404);
      expect(res.headers.get('access-control-allow-origin')).toBeNull();
    }
  });

  it('CORS on the actual request: the listed origin is echoed, another is not', async () => {
    const get = (origin: string) => fetch(`${t.url}/api/forms/contact/challenge`, { headers: { origin } });
    expect((await get(SHOP)).headers.get('access-control-allow-origin')).toBe(SHOP);
    expect((await get('https://evil.example')).headers.get('access-control-allow-origin')).toBeNull();
  });
});
