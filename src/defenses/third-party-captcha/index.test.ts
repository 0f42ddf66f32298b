import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createThirdPartyCaptchaDefense } from './index.js';
import { createCheckContext, makeSubmission } from '../../pipeline/context.js';
import { createPipeline } from '../../pipeline/runner.js';
import { DEFAULT_CATALOG } from '../../pipeline/default-catalog.js';

// A fake siteverify: the response token names the scenario.
const seen: URLSearchParams[] = [];
let server: Server;
let base = '';
beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const p = new URLSearchParams(body);
      seen.push(p);
      const send = (o: unknown, status = 200) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(o));
      };
      if (p.get('secret') !== 'sekret') return send({ success: false, 'error-codes': ['invalid-input-secret'] });
      const token = p.get('response');
      const good = { success: true, score: 0.9, action: 'contact', hostname: 'example.jp' };
      switch (token) {
        case 'good':
          return send(good);
        case 'low':
          return send({ ...good, score: 0.1 });
        case 'wrong-action':
          return send({ ...good, action: 'login' });
        case 'wrong-host':
          return send({ ...good, hostname: 'evil.example' });
        case 'expired':
          return send({ success: false, 'error-codes': ['timeout-or-duplicate'] });
        case 'server-error':
          return send({ error: 'x' }, 503);
        case 'hang':
          return; // never answers
        default:
          return send({ success: false, 'error-codes': ['invalid-input-response'] });
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const ctx = createCheckContext();
const sub = (response?: string) => makeSubmission({ formId: 'contact', ip: '198.51.100.5', ...(response ? { captcha: { response } } : {}) });
// The timeout is a hang guard sized for a loaded 2-core machine (an answer from the fake verifier took over
// 300 ms under the stress run and read as UNAVAILABLE); only the 'hang' case, which never answers, uses a short one.
const recaptcha = (timeoutMs = 30_000) =>
  createThirdPartyCaptchaDefense({ provider: 'recaptcha', secret: 'sekret', verifyUrl: `${base}/siteverify`, action: 'contact', hostnames: ['example.jp'], minScore: 0.5, timeoutMs });

describe('third-party captcha against a fake verifier', () => {
  it('passes a good token and sends secret, response and remoteip', async () => {
    expect(await recaptcha().check(sub('good'), ctx)).toEqual({ kind: 'pass', findings: [{ symbol: 'CAPTCHA_3P_PASSED', detail: 'recaptcha 0.9' }] });
    const last = seen.at(-1)!;
    expect(Object.fromEntries(last)).toEqual({ secret: 'sekret', response: 'good', remoteip: '198.51.100.5' });
  });
  it('flags low score, wrong action, wrong hostname, failed and missing', async () => {
    const d = recaptcha();
    expect(await d.check(sub('low'), ctx)).toEqual({ kind: 'flag', findings: [{ symbol: 'CAPTCHA_3P_LOW_SCORE', detail: '0.1' }] });
    expect(await d.check(sub('wrong-action'), ctx)).toEqual({ kind: 'flag', findings: [{ symbol: 'CAPTCHA_3P_WRONG_ACTION', detail: 'login' }] });
    expect(await d.check(sub('wrong-host'), ctx)).toEqual({ kind: 'flag', findings: [{ symbol: 'CAPTCHA_3P_WRONG_HOSTNAME', detail: 'evil.example' }] });
    expect(await d.check(sub('expired'), ctx)).toEqual({ kind: 'flag', findings: [{ symbol: 'CAPTCHA_3P_FAILED', detail: 'timeout-or-duplicate' }] });
    expect(await d.check(sub(), ctx)).toEqual({ kind: 'flag', findings: [{ symbol: 'CAPTCHA_3P_MISSING', minAction: 'accept_no_autoreply' }] });
  });
  it('a missing response never costs the inquiry: scored once with ALTCHA_MISSING (no JavaScript), never an auto-reply', async () => {
    const noJs = { ...ctx, prior: [{ symbol: 'ALTCHA_MISSING', score: 4 }] };
    expect(await recaptcha().check(sub(), noJs)).toEqual({
      kind: 'flag',
      findings: [{ symbol: 'CAPTCHA_3P_MISSING', minAction: 'accept_no_autoreply', weight: 0, detail: 'no JavaScript' }],
    });
    const p = createPipeline({ defenses: [recaptcha()], catalog: { ...DEFAULT_CATALOG, CAPTCHA_3P_MISSING: { score: 0, description: { en: 'x', ja: 'x' } } } });
    expect((await p.run(sub(), ctx)).verdict.action).toBe('accept_no_autoreply');
  });
  it('verifier down, erroring, hanging or our bad secret => UNAVAILABLE forcing at least accept_no_autoreply', async () => {
    const down = createThirdPartyCaptchaDefense({ provider: 'turnstile', secret: 'sekret', verifyUrl: 'http://127.0.0.1:1/siteverify', timeoutMs: 30_000 });
    const unavailable = { kind: 'flag', findings: [{ symbol: 'CAPTCHA_3P_UNAVAILABLE', minAction: 'accept_no_autoreply' }] };
    expect(await down.check(sub('good'), ctx)).toMatchObject(unavailable);
    expect(await recaptcha().check(sub('server-error'), ctx)).toMatchObject({ findings: [{ symbol: 'CAPTCHA_3P_UNAVAILABLE', detail: 'HTTP 503' }] });
    expect(await recaptcha(300).check(sub('hang'), ctx)).toMatchObject({ findings: [{ symbol: 'CAPTCHA_3P_UNAVAILABLE', detail: 'timeout' }] });
    const warnings: string[] = [];
    const badSecret = createThirdPartyCaptchaDefense({ provider: 'hcaptcha', secret: 'wrong', verifyUrl: `${base}/siteverify` });
    expect(await badSecret.check(sub('good'), createCheckContext({ warn: (m) => warnings.push(m) }))).toMatchObject(unavailable);
    expect(warnings.join()).toMatch(/invalid-input-secret/);

    const p = createPipeline({ defenses: [down], catalog: DEFAULT_CATALOG });
    expect((await p.run(sub('good'), ctx)).verdict.action).toBe('accept_no_autoreply');
  });
  it('Turnstile and hCaptcha need no score; Turnstile checks the action', async () => {
    const t = createThirdPartyCaptchaDefense({ provider: 'turnstile', secret: 'sekret', verifyUrl: `${base}/v`, action: 'contact' });
    expect(await t.check(sub('low'), ctx)).toEqual({ kind: 'pass', findings: [{ symbol: 'CAPTCHA_3P_PASSED', detail: 'turnstile' }] });
    expect(await t.check(sub('wrong-action'), ctx)).toMatchObject({ findings: [{ symbol: 'CAPTCHA_3P_WRONG_ACTION' }] });
    const h = createThirdPartyCaptchaDefense({ provider: 'hcaptcha', secret: 'sekret', verifyUrl: `${base}/v`, sitekey: 'site-1', hostnames: ['example.jp'] });
    expect(await h.check(sub('wrong-action'), ctx)).toEqual({ kind: 'pass', findings: [{ symbol: 'CAPTCHA_3P_PASSED', detail: 'hcaptcha' }] });
    expect(seen.at(-1)?.get('sitekey')).toBe('site-1');
    expect(await h.check(sub('wrong-host'), ctx)).toMatchObject({ findings: [{ symbol: 'CAPTCHA_3P_WRONG_HOSTNAME' }] });
  });
  it('fails fast on bad config', () => {
    expect(() => createThirdPartyCaptchaDefense({ provider: 'friendly' as never, secret: 'x' })).toThrow(/provider/);
    expect(() => createThirdPartyCaptchaDefense({ provider: 'recaptcha', secret: '' })).toThrow(/secret/);
    expect(() => createThirdPartyCaptchaDefense({ provider: 'recaptcha', secret: 'x', verifyUrl: 'ftp://x' })).toThrow(/verifyUrl/);
    expect(() => createThirdPartyCaptchaDefense({ provider: 'recaptcha', secret: 'x', minScore: 2 })).toThrow(/minScore/);
    expect(() => createThirdPartyCaptchaDefense({ provider: 'turnstile', secret: 'x', scriptUrl: 'javascript:alert(1)' })).toThrow(/scriptUrl/);
    expect(() => createThirdPartyCaptchaDefense({ provider: 'turnstile', secret: 'x', sitekey: '"><script>' })).toThrow(/sitekey/);
  });
});

describe('the widget the page shows', () => {
  it('needs a site key, never carries the secret, and loads the provider\'s own script by default', () => {
    expect(createThirdPartyCaptchaDefense({ provider: 'turnstile', secret: 'sekret' }).widget).toBeNull();
    const r = createThirdPartyCaptchaDefense({ provider: 'recaptcha', secret: 'sekret', sitekey: '6LcKey', action: 'contact' }).widget;
    expect(r).toEqual({
      provider: 'recaptcha',
      sitekey: '6LcKey',
      scriptUrl: 'https://www.google.com/recaptcha/api.js?render=6LcKey',
      action: 'contact',
      csp: expect.objectContaining({ script: ['https://www.google.com/recaptcha/', 'https://www.gstatic.com/recaptcha/'] }),
    });
    expect(JSON.stringify(r)).not.toContain('sekret');
    expect(createThirdPartyCaptchaDefense({ provider: 'recaptcha', secret: 's', sitekey: 'k' }).widget?.action).toBe('submit');
    expect(createThirdPartyCaptchaDefense({ provider: 'hcaptcha', secret: 's', sitekey: 'k' }).widget).toMatchObject({ scriptUrl: 'https://js.hcaptcha.com/1/api.js', csp: { connect: ['https://hcaptcha.com', 'https://*.hcaptcha.com'] } });
  });
  it('a configured script URL is the only source allowed', () => {
    const w = createThirdPartyCaptchaDefense({ provider: 'turnstile', secret: 's', sitekey: 'k', scriptUrl: 'http://127.0.0.1:9/ts/api.js?x=1' }).widget;
    expect(w).toMatchObject({ scriptUrl: 'http://127.0.0.1:9/ts/api.js?x=1', csp: { script: ['http://127.0.0.1:9'], frame: ['http://127.0.0.1:9'], connect: ['http://127.0.0.1:9'] } });
  });
});
