// The built-in defenses together with the default catalog and ladder: does a person get through, and a
// bot not? These scenarios pin the calibration of the default scores.
import { describe, expect, it } from 'vitest';
import { solveChallenge } from 'altcha-lib';
import { deriveKey } from 'altcha-lib/algorithms/sha';
import {
  createAltchaDefense,
  createCaptchaImageDefense,
  createContentDefense,
  createFormTokenDefense,
  createGeoDefense,
  createHoneypotDefense,
  createIpListsDefense,
  createRateLimitDefense,
  createThirdPartyCaptchaDefense,
  createAkismetDefense,
} from './index.js';
import { createPipeline, createCheckContext, makeSubmission, DEFAULT_CATALOG, Registry, type Submission } from '../pipeline/index.js';

const secret = 'k'.repeat(40);
const t0 = new Date();

function build() {
  const token = createFormTokenDefense({ secret });
  const altcha = createAltchaDefense({ hmacSecret: secret, algorithm: 'SHA-256', cost: 1, minNumber: 1, maxNumber: 10 });
  const defenses = [
    createIpListsDefense({ block: ['203.0.113.0/24'], ban: {} }),
    createRateLimitDefense(),
    createGeoDefense({ forms: { contact: { allow: ['JP'] } } }),
    createHoneypotDefense({ fields: ['website'] }),
    token,
    altcha,
    createContentDefense({ forms: { contact: { language: 'ja' } } }),
  ];
  const pipeline = createPipeline({ defenses, catalog: DEFAULT_CATALOG });
  return { pipeline, token, altcha };
}

async function altchaPayload(altcha: ReturnType<typeof createAltchaDefense>) {
  const c = await altcha.createChallenge('contact');
  const solution = await solveChallenge({ challenge: c, deriveKey });
  return Buffer.from(JSON.stringify({ challenge: c, solution })).toString('base64');
}

const ctx = () => createCheckContext({ clock: () => new Date(t0.getTime() + 60_000) });
const person = (over: Partial<Submission> = {}) =>
  makeSubmission({
    formId: 'contact',
    ip: '127.0.0.1',
    fields: { name: '山田 太郎', email: 'taro@example.jp', tel: '03-1234-5678', message: '製品について質問があります。' },
    honeypot: { website: '' },
    ...over,
  });

describe('default calibration', () => {
  it('every catalog symbol is emitted by some defense (no stale documentation)', () => {
    const r = new Registry();
    const all = [
      createIpListsDefense({}),
      createRateLimitDefense(),
      createGeoDefense({}, { lookupAsn: () => null }),
      createHoneypotDefense({ fields: ['w'] }),
      createFormTokenDefense({ secret }),
      createAltchaDefense({ hmacSecret: secret }),
      createCaptchaImageDefense({ secret }),
      createThirdPartyCaptchaDefense({ provider: 'turnstile', secret: 'x' }),
      createContentDefense(),
      createAkismetDefense({ apiKey: 'k', blog: 'https://example.jp/' }),
    ];
    for (const d of all) r.register(d);
    r.validate(DEFAULT_CATALOG);
    const declared = new Set(all.flatMap((d) => d.symbols ?? []));
    const undeclared = Object.keys(DEFAULT_CATALOG).filter((s) => !declared.has(s) && !s.startsWith('DEFENSE_'));
    expect(undeclared).toEqual([]);
  });

  it('a person with JavaScript is accepted', async () => {
    const { pipeline, token, altcha } = build();
    const r = await pipeline.run(person({ token: token.issueToken('contact', t0), altcha: await altchaPayload(altcha) }), ctx());
    // 127.0.0.1 has no country: GEO_COUNTRY_UNKNOWN (1) only
    expect(r.verdict).toMatchObject({ action: 'accept', symbols: [{ symbol: 'GEO_COUNTRY_UNKNOWN' }] });
  });

  it('a person without JavaScript is delivered without an auto-reply', async () => {
    const { pipeline, token } = build();
    const r = await pipeline.run(person({ token: token.issueToken('contact', t0) }), ctx());
    expect(r.verdict.action).toBe('accept_no_autoreply');
  });

  it('a script posting directly is rejected', async () => {
    const { pipeline } = build();
    const r = await pipeline.run(person({ honeypot: {}, fields: { name: 'Bob', message: 'Привет! Лучшие цены http://spam.example' } }), ctx());
    expect(r.verdict.action).toBe('reject');
    expect(r.verdict.symbols.map((s) => s.symbol)).toEqual(
      expect.arrayContaining(['HONEYPOT_MISSING', 'TOKEN_MISSING', 'ALTCHA_MISSING', 'CONTENT_SCRIPT_MISMATCH']),
    );
  });

  it('a scraping bot that fills the trap is rejected even with a valid token', async () => {
    const { pipeline, token, altcha } = build();
    const r = await pipeline.run(person({ honeypot: { website: 'http://x' }, token: token.issueToken('contact', t0), altcha: await altchaPayload(altcha) }), ctx());
    expect(r.verdict.action).toBe('reject');
  });

  it('a blocklisted address is refused in the pre stage', async () => {
    const { pipeline } = build();
    const r = await pipeline.run(person({ ip: '203.0.113.9' }), ctx());
    expect(r.verdict).toMatchObject({ action: 'reject', finalBy: 'ip-lists', finalReason: 'E_IP_BLOCKED' });
    expect(r.ran).toEqual(['ip-lists']);
  });

  it('missing: reject turns a post without a token away before the other checks; the reject still counts toward a ban', async () => {
    const ipLists = createIpListsDefense({ allow: ['198.51.100.7'], ban: { maxFailures: 2 } });
    const rate = createRateLimitDefense({ rules: [{ scope: 'address', points: 1, durationSeconds: 600, charge: 'attempt' }] });
    const token = createFormTokenDefense({ secret, missing: 'reject' });
    const pipeline = createPipeline({ defenses: [ipLists, rate, createHoneypotDefense({ fields: ['website'] }), token], catalog: DEFAULT_CATALOG });
    const c = ctx();
    const bot = person({ ip: '192.0.2.50', honeypot: {} });
    const r = await pipeline.run(bot, c);
    expect(r.verdict).toMatchObject({ action: 'reject', finalBy: 'form-token', finalReason: 'E_TOKEN_MISSING', symbols: [{ symbol: 'TOKEN_MISSING' }] });
    expect(r.ran).toEqual(['ip-lists', 'form-token']);
    await pipeline.commit(bot, r, c);
    // The rate limiter was not consulted: its single attempt is still there for this address.
    expect((await rate.limiter.consume({ ip: '192.0.2.50', formId: 'contact' })).allowed).toBe(true);
    // The second token-less post bans the address (maxFailures 2); an allowlisted one is never banned.
    await pipeline.commit(bot, await pipeline.run(bot, c), c);
    expect(await ipLists.bans!.status('192.0.2.50', c.clock())).not.toBeNull();
    const friend = person({ ip: '198.51.100.7' });
    for (let i = 0; i < 3; i++) {
      const f = await pipeline.run(friend, c);
      expect(f.verdict.symbols.map((x) => x.symbol)).toEqual(['IP_ALLOWLISTED', 'TOKEN_MISSING']);
      await pipeline.commit(friend, f, c);
    }
    expect(await ipLists.bans!.status('198.51.100.7', c.clock())).toBeNull();
    // With a token, every defense runs as before (the token-less path left no trace).
    const person2 = person({ ip: '192.0.2.51', token: token.issueToken('contact', t0) });
    const ok = await pipeline.run(person2, c);
    expect(ok.ran).toEqual(['ip-lists', 'rate-limit', 'honeypot', 'form-token']);
    expect(ok.verdict.action).toBe('accept');
  });
});
