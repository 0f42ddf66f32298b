// Issue #12, item 1: a page served over plain http (a LAN address, no proxy) must not tell the browser to
// upgrade its stylesheet, scripts and form post to https (CSP upgrade-insecure-requests) or to use https
// from now on (HSTS): that broke the page everywhere but on localhost. Over https (publicUrl https, or a
// trusted proxy's X-Forwarded-Proto: https) both are sent as before.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../config/load.js';
import { createInstance, type Instance } from '../main.js';
import { createTestDatabase, dbUnavailable, type TestDatabase } from '../../test/support/db.js';
import { startTestInstance, testConfigYaml, type TestInstance } from '../../test/support/instance.js';

const LAN = '192.168.1.20:8787';
const upgrades = (h: Record<string, unknown>) => String(h['content-security-policy'] ?? '').includes('upgrade-insecure-requests');

describe.skipIf(dbUnavailable())('security headers over plain http and over https', () => {
  let t: TestInstance;
  let httpsDb: TestDatabase;
  let httpsInstance: Instance;
  beforeAll(async () => {
    // publicUrl http://127.0.0.1:8787 and trustProxy [127.0.0.1] (the test defaults).
    t = await startTestInstance({ startWorker: false });
    httpsDb = await createTestDatabase();
    const yaml = testConfigYaml({ dbUrl: httpsDb.url }).replace('publicUrl: "http://127.0.0.1:8787"', 'publicUrl: "https://forms.example.jp"');
    httpsInstance = await createInstance({ config: parseConfigText(yaml, 'test'), file: null, baseDir: httpsDb.dir }, { startWorker: false });
  });
  afterAll(async () => {
    await t?.close();
    await httpsInstance?.close();
    await httpsDb?.drop();
  });

  it('the hosted page, its assets and the API over http on a LAN address: no upgrade-insecure-requests, no HSTS; the rest of the CSP stays', async () => {
    for (const url of ['/f/contact', '/static/form.css', '/api/forms/contact/challenge', '/f/contact/thanks']) {
      const res = await t.instance.app.inject({ url, headers: { host: LAN } });
      expect(res.statusCode, url).toBeLessThan(400);
      expect(upgrades(res.headers), url).toBe(false);
      expect(res.headers['strict-transport-security'], url).toBeUndefined();
    }
    const page = await t.instance.app.inject({ url: '/f/contact', headers: { host: LAN } });
    const csp = String(page.headers['content-security-policy']);
    for (const d of ["default-src 'self'", "form-action 'self'", "frame-ancestors 'self'", "script-src 'self'"]) expect(csp).toContain(d);
  });

  it('a form post over http on a LAN address answers without HSTS or the upgrade either', async () => {
    const res = await t.instance.app.inject({ method: 'POST', url: '/f/contact', headers: { host: LAN, 'content-type': 'application/x-www-form-urlencoded' }, payload: 'name=a' });
    expect(res.statusCode).toBe(400);
    expect(upgrades(res.headers)).toBe(false);
    expect(res.headers['strict-transport-security']).toBeUndefined();
  });

  it('X-Forwarded-Proto: https from a trusted proxy: upgrade-insecure-requests and HSTS are sent', async () => {
    for (const url of ['/f/contact', '/api/forms/contact/challenge']) {
      const res = await t.instance.app.inject({ url, headers: { host: 'forms.example.jp', 'x-forwarded-proto': 'https' } });
      expect(res.headers['strict-transport-security'], url).toBe('max-age=31536000; includeSubDomains');
      if (url.startsWith('/f/')) expect(upgrades(res.headers)).toBe(true);
    }
    // "https, http" (a chain of proxies): the first one is what the visitor used.
    const chained = await t.instance.app.inject({ url: '/f/contact', headers: { 'x-forwarded-proto': 'https, http' } });
    expect(upgrades(chained.headers)).toBe(true);
  });

  it('X-Forwarded-Proto: https from an address that is not a trusted proxy is ignored', async () => {
    const res = await t.instance.app.inject({ url: '/f/contact', remoteAddress: '203.0.113.9', headers: { host: LAN, 'x-forwarded-proto': 'https' } });
    expect(upgrades(res.headers)).toBe(false);
    expect(res.headers['strict-transport-security']).toBeUndefined();
  });

  it('publicUrl https: both are sent whatever the request says', async () => {
    const res = await httpsInstance.app.inject({ url: '/f/contact', headers: { host: LAN } });
    expect(upgrades(res.headers)).toBe(true);
    expect(res.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
  });
});
