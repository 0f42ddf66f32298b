import { afterAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { createRateLimitDefense, createRateLimiter, type RateLimitConfig } from './index.js';
import { createPipeline } from '../../pipeline/runner.js';
import { createCheckContext, makeSubmission } from '../../pipeline/context.js';
import { DEFAULT_CATALOG } from '../../pipeline/default-catalog.js';
import type { Defense } from '../../pipeline/types.js';

const redis = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true, maxRetriesPerRequest: 1 });
afterAll(() => redis.disconnect());

const backends: [string, (c: RateLimitConfig) => ReturnType<typeof createRateLimiter>, () => RateLimitConfig][] = [
  ['memory', (c) => createRateLimiter(c), () => ({})],
  ['redis', (c) => createRateLimiter(c, { redis }), () => ({ keyPrefix: `fwtest:${randomUUID()}:` })],
];

for (const [name, make, base] of backends) {
  describe(`rate limiter (${name})`, () => {
    it('limits per address and tells when to retry', async () => {
      const l = make({ ...base(), rules: [{ scope: 'address', points: 2, durationSeconds: 60 }] });
      const k = { ip: '198.51.100.1', formId: 'f' };
      expect((await l.consume(k)).allowed).toBe(true);
      expect((await l.consume(k)).allowed).toBe(true);
      const d = await l.consume(k);
      expect(d).toMatchObject({ allowed: false, rule: 'address' });
      expect(d.allowed === false && d.retryAfterSeconds).toBeGreaterThan(0);
      expect(d.allowed === false && d.retryAfterSeconds).toBeLessThanOrEqual(60);
      expect((await l.consume({ ip: '198.51.100.2', formId: 'f' })).allowed).toBe(true);
      // IPv4-mapped is the same address
      expect((await l.consume({ ip: '::ffff:198.51.100.1', formId: 'f' })).allowed).toBe(false);
    });

    it('groups by /24 and /64 networks, by form and globally', async () => {
      const l = make({
        ...base(),
        rules: [
          { scope: 'network', points: 2, durationSeconds: 60 },
          { scope: 'form', points: 3, durationSeconds: 60 },
        ],
      });
      expect((await l.consume({ ip: '203.0.113.1', formId: 'a' })).allowed).toBe(true);
      expect((await l.consume({ ip: '203.0.113.2', formId: 'a' })).allowed).toBe(true);
      expect(await l.consume({ ip: '203.0.113.3', formId: 'a' })).toMatchObject({ allowed: false, rule: 'network' });
      expect((await l.consume({ ip: '2001:db8:1:2::1', formId: 'a' })).allowed).toBe(true);
      expect(await l.consume({ ip: '2001:db8:1:3::1', formId: 'a' })).toMatchObject({ allowed: false, rule: 'form' });
      expect((await l.consume({ ip: '2001:db8:1:2::ffff', formId: 'b' })).allowed).toBe(true);
      expect(await l.consume({ ip: '2001:db8:1:2:9::1', formId: 'b' })).toMatchObject({ allowed: false, rule: 'network' });

      const g = make({ ...base(), rules: [{ scope: 'global', points: 1, durationSeconds: 60 }] });
      expect((await g.consume({ ip: '192.0.2.1', formId: 'x' })).allowed).toBe(true);
      expect((await g.consume({ ip: '2001:db8::9', formId: 'y' })).allowed).toBe(false);
    });

    it('a denial refunds the other accepted-charged rules but keeps attempt rules', async () => {
      const l = make({
        ...base(),
        rules: [
          { scope: 'address', points: 1, durationSeconds: 60 },
          { scope: 'global', points: 3, durationSeconds: 60 },
          { scope: 'form', points: 2, durationSeconds: 60, charge: 'attempt' },
        ],
      });
      expect((await l.consume({ ip: '192.0.2.1', formId: 'f' })).allowed).toBe(true);
      expect(await l.consume({ ip: '192.0.2.1', formId: 'f' })).toMatchObject({ allowed: false, rule: 'address', charged: ['form'] });
      // global was refunded: two more distinct addresses still fit (global 3 = 1 + 2), but the form attempts are spent
      expect(await l.consume({ ip: '192.0.2.2', formId: 'g' })).toMatchObject({ allowed: true });
      expect(await l.consume({ ip: '192.0.2.3', formId: 'g' })).toMatchObject({ allowed: true });
      expect(await l.consume({ ip: '192.0.2.4', formId: 'f' })).toMatchObject({ allowed: false });
    });
  });
}

describe('rate limiter shared through Redis', () => {
  it('two instances never spend more than the budget together', async () => {
    const cfg = { keyPrefix: `fwtest:${randomUUID()}:`, rules: [{ scope: 'address' as const, points: 5, durationSeconds: 60 }] };
    const a = createRateLimiter(cfg, { redis });
    const b = createRateLimiter(cfg, { redis });
    const k = { ip: '198.51.100.77', formId: 'f' };
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 ? a : b).consume(k)));
    expect(results.filter((r) => r.allowed)).toHaveLength(5);
  });
});

describe('rate-limit defense', () => {
  const spamRejecter: Defense = {
    name: 'judge',
    stage: 'main',
    onError: 'fail-open',
    check: async (sub) => (sub.fields.spam ? { kind: 'final', action: 'reject', reason: 'SPAM' } : { kind: 'pass' }),
  };

  for (const [name, deps] of [
    ['memory', {}],
    ['redis', { redis }],
  ] as const) {
    it(`answers E_RATE_LIMIT with retryAfter, and rejected submissions spend no budget (${name})`, async () => {
      const d = createRateLimitDefense({ keyPrefix: `fwtest:${randomUUID()}:`, rules: [{ scope: 'address', points: 2, durationSeconds: 120 }] }, deps);
      const p = createPipeline({ defenses: [d, spamRejecter], catalog: DEFAULT_CATALOG });
      const ctx = createCheckContext();
      const send = async (fields: Record<string, string>) => {
        const sub = makeSubmission({ formId: 'f', ip: '198.51.100.3', fields });
        const r = await p.run(sub, ctx);
        await p.commit(sub, r, ctx);
        return r.verdict;
      };
      for (let i = 0; i < 5; i++) expect((await send({ spam: '1' })).finalBy).toBe('judge');
      expect((await send({})).action).toBe('accept');
      expect((await send({})).action).toBe('accept');
      const v = await send({});
      expect(v).toMatchObject({ action: 'reject', finalBy: 'rate-limit', finalReason: 'E_RATE_LIMIT', symbols: [{ symbol: 'RATE_LIMITED', detail: 'address' }] });
      expect(v.retryAfterSeconds).toBeGreaterThan(0);
    });
  }

  it('fails fast on bad rules', () => {
    expect(() => createRateLimiter({ rules: [{ scope: 'address', points: 0, durationSeconds: 1 }] })).toThrow(/rules\[0\].points/);
    expect(() =>
      createRateLimiter({
        rules: [
          { scope: 'address', points: 1, durationSeconds: 1 },
          { scope: 'address', points: 1, durationSeconds: 1 },
        ],
      }),
    ).toThrow(/used twice/);
  });
});
