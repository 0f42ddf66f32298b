import { describe, expect, it } from 'vitest';
import { createCaptchaImageDefense } from './index.js';
import { MemoryReplayStore } from '../../pipeline/replay-store.js';
import { createCheckContext, makeSubmission } from '../../pipeline/context.js';

const secret = 'c'.repeat(40);
const t0 = new Date('2030-01-01T00:00:00Z');
const at = (s: number) => new Date(t0.getTime() + s * 1000);

// The captcha text comes from an injected source, so the test knows the answer.
let nextText = 'AbC7x';
const d = createCaptchaImageDefense({ secret }, { randomText: () => nextText });
function tokenFor(answer: string, formId = 'contact', issued = t0) {
  nextText = answer;
  return d.create(formId, issued).token;
}

describe('captcha-image', () => {
  it('creates an svg with a token that does not reveal the answer, and a text alternative', () => {
    const c = d.create('contact', t0);
    expect(c.svg).toMatch(/^<svg[\s\S]*<\/svg>$/);
    expect(c.length).toBe(5);
    expect(c.alt.en).toMatch(/5 letters/);
    expect(c.alt.ja).toMatch(/5文字/);
    expect(c.expiresAt.getTime()).toBe(at(600).getTime());
    const decoded = Buffer.from(c.token.split('.')[0]!, 'base64url').toString();
    expect(decoded).toMatch(/^v1\.contact\.\d+\./);
  });

  it('verifies case-insensitively, once', async () => {
    const replay = new MemoryReplayStore();
    const tok = tokenFor('AbC7x');
    expect(await d.verify(tok, ' abc7X ', 'contact', at(30), replay)).toEqual({ ok: true });
    expect(await d.verify(tok, 'ABC7X', 'contact', at(31), replay)).toEqual({ ok: false, reason: 'E_CAPTCHA_REPLAYED' });
  });

  it('reports wrong, missing, expired, another form and tampered tokens', async () => {
    const replay = new MemoryReplayStore();
    const tok = tokenFor('abc7x');
    expect(await d.verify(tok, 'abc7y', 'contact', at(30), replay)).toEqual({ ok: false, reason: 'E_CAPTCHA_WRONG' });
    expect(await d.verify(tok, '', 'contact', at(30), replay)).toEqual({ ok: false, reason: 'E_CAPTCHA_MISSING' });
    expect(await d.verify(undefined, 'abc7x', 'contact', at(30), replay)).toEqual({ ok: false, reason: 'E_CAPTCHA_MISSING' });
    expect(await d.verify(tok, 'abc7x', 'contact', at(601), replay)).toEqual({ ok: false, reason: 'E_CAPTCHA_EXPIRED' });
    expect(await d.verify(tokenFor('abc7x', 'other'), 'abc7x', 'contact', at(30), replay)).toMatchObject({ reason: 'E_CAPTCHA_INVALID' });
    expect(await d.verify('junk', 'abc7x', 'contact', at(30), replay)).toMatchObject({ reason: 'E_CAPTCHA_INVALID' });
    const [p, m] = tok.split('.') as [string, string];
    const moved = Buffer.from(Buffer.from(p, 'base64url').toString().replace(/\.\d+\./, `.${Math.floor(at(500).getTime() / 1000)}.`)).toString('base64url');
    expect(await d.verify(`${moved}.${m}`, 'abc7x', 'contact', at(700), replay)).toEqual({ ok: false, reason: 'E_CAPTCHA_WRONG' });
    expect(await d.verify(tok, 'abc7x', 'contact', at(30), replay)).toEqual({ ok: true });
  });

  it('the default text source makes 5 unambiguous characters; a wrong answer fails', async () => {
    const real = createCaptchaImageDefense({ secret });
    const c = real.create('contact', t0);
    expect(c.length).toBe(5);
    expect(await real.verify(c.token, '@@@@@', 'contact', at(10), new MemoryReplayStore())).toEqual({ ok: false, reason: 'E_CAPTCHA_WRONG' });
  });

  it('the defense emits symbols', async () => {
    const ctx = createCheckContext({ clock: () => at(30) });
    expect(await d.check(makeSubmission({ formId: 'contact' }), ctx)).toEqual({ kind: 'flag', findings: [{ symbol: 'CAPTCHA_IMAGE_MISSING' }] });
    expect(await d.check(makeSubmission({ formId: 'contact', captcha: { imageToken: tokenFor('q2w3e'), imageAnswer: 'Q2W3E' } }), ctx)).toEqual({ kind: 'pass' });
    expect(() => createCaptchaImageDefense({ secret: 'x' })).toThrow(/captchaImage.secret/);
  });
});
