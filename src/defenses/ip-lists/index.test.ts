import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import {
  MemoryBanStore,
  RedisBanStore,
  compileIpList,
  createBanTracker,
  createIpListsDefense,
  createIpMatcher,
  type BanStore,
} from './index.js';
import { createCheckContext, makeSubmission } from '../../pipeline/context.js';
import { createPipeline } from '../../pipeline/runner.js';
import { DEFAULT_CATALOG } from '../../pipeline/default-catalog.js';

const redis = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true, maxRetriesPerRequest: 1 });
afterAll(() => redis.disconnect());

describe('compileIpList', () => {
  const list = compileIpList([
    '203.0.113.0/24',
    '198.51.100.7',
    { cidr: '2001:db8:abcd::/48', note: 'spam host' },
    { cidr: '192.0.2.0/28', expires: '2020-01-01T00:00:00Z' },
    '::ffff:100.64.0.0/106',
  ]);
  it('matches IPv4 and IPv6 CIDRs and single addresses', () => {
    expect(list.match('203.0.113.200')?.cidr).toBe('203.0.113.0/24');
    expect(list.match('203.0.114.1')).toBeNull();
    expect(list.match('198.51.100.7')?.cidr).toBe('198.51.100.7');
    expect(list.match('198.51.100.8')).toBeNull();
    expect(list.match('2001:db8:abcd:1::5')).toEqual({ cidr: '2001:db8:abcd::/48', note: 'spam host' });
    expect(list.match('2001:db8:abce::5')).toBeNull();
    expect(list.match('::ffff:203.0.113.9')?.cidr).toBe('203.0.113.0/24');
    expect(list.match('100.64.1.1')?.cidr).toBe('::ffff:100.64.0.0/106');
  });
  it('ignores expired entries', () => {
    expect(list.match('192.0.2.3', new Date('2019-06-01'))?.cidr).toBe('192.0.2.0/28');
    expect(list.match('192.0.2.3', new Date('2021-06-01'))).toBeNull();
  });
  it('fails fast on bad entries', () => {
    expect(() => compileIpList(['1.2.3.4', '300.1.1.1/8'], 'ipLists.block')).toThrow(/ipLists.block\[1\]: "300.1.1.1\/8"/);
    expect(() => compileIpList([{ cidr: '1.2.3.4', expires: 'someday' }])).toThrow(/expires/);
  });
  it('agrees with a naive CIDR match (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 32 })), { maxLength: 8 }), fc.ipV4(), (nets, ip) => {
        const cidrs = nets.map(([a, b]) => `${a}/${b}`);
        const naive = cidrs.some((c) => ipaddr.parse(ip).match(ipaddr.parseCIDR(c)));
        return (compileIpList(cidrs).match(ip) !== null) === naive;
      }),
    );
  });
  it('agrees with a naive CIDR match for IPv6 (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.ipV6(), fc.integer({ min: 0, max: 128 })), { maxLength: 6 }), fc.ipV6(), (nets, ip) => {
        const cidrs = nets.map(([a, b]) => `${a}/${b}`).filter((c) => !ipaddr.parseCIDR(c)[0].toString().startsWith('::ffff:'));
        const target = ipaddr.parse(ip);
        fc.pre(!(target as ipaddr.IPv6).isIPv4MappedAddress());
        const naive = cidrs.some((c) => target.match(ipaddr.parseCIDR(c)));
        return (compileIpList(cidrs).match(ip) !== null) === naive;
      }),
    );
  });
});

describe('createIpMatcher', () => {
  it('allow wins over block', () => {
    const m = createIpMatcher({ allow: ['203.0.113.5'], block: ['203.0.113.0/24'] });
    expect(m.check('203.0.113.5')?.list).toBe('allow');
    expect(m.check('203.0.113.6')?.list).toBe('block');
    expect(m.check('198.51.100.1')).toBeNull();
  });
});

function banTests(name: string, makeStore: () => BanStore) {
  describe(`ban tracker (${name})`, () => {
    it('bans after N failures in the window, then escalates 4x', async () => {
      const t = createBanTracker({ maxFailures: 3, windowSeconds: 60, banSeconds: 100, factor: 4 }, makeStore());
      const ip = '198.51.100.9';
      const now = new Date();
      expect(await t.recordFailure(ip, now)).toEqual({ banned: false, failures: 1 });
      expect(await t.recordFailure(ip, now)).toEqual({ banned: false, failures: 2 });
      const first = await t.recordFailure(ip, now);
      expect(first).toMatchObject({ banned: true, level: 0, retryAfterSeconds: 100 });
      expect((await t.status(ip, now))?.level).toBe(0);
      expect(await t.status('198.51.100.10', now)).toBeNull();
      // after the ban ends, three more failures give a 4x longer ban
      const later = new Date(now.getTime() + 101_000);
      expect(await t.status(ip, later)).toBeNull();
      await t.recordFailure(ip, later);
      await t.recordFailure(ip, later);
      expect(await t.recordFailure(ip, later)).toMatchObject({ banned: true, level: 1, retryAfterSeconds: 400 });
    });
    it('can ban the whole /24', async () => {
      const t = createBanTracker({ maxFailures: 1, keyBy: 'network' }, makeStore());
      const now = new Date();
      await t.recordFailure('203.0.113.1', now);
      expect(await t.status('203.0.113.254', now)).not.toBeNull();
    });
  });
}
banTests('memory', () => new MemoryBanStore());
banTests('redis', () => new RedisBanStore(redis, `fwtest:${randomUUID()}:`));

describe('ip-lists defense', () => {
  const catalog = DEFAULT_CATALOG;
  it('rejects blocklisted addresses with E_IP_BLOCKED and lets others through', async () => {
    const d = createIpListsDefense({ block: [{ cidr: '203.0.113.0/24', note: 'abuse report 42' }] });
    const p = createPipeline({ defenses: [d], catalog });
    const ctx = createCheckContext();
    const r = await p.run(makeSubmission({ formId: 'f', ip: '203.0.113.4' }), ctx);
    expect(r.verdict).toMatchObject({ action: 'reject', finalBy: 'ip-lists', finalReason: 'E_IP_BLOCKED' });
    expect(r.verdict.symbols[0]).toMatchObject({ symbol: 'IP_BLOCKLISTED', detail: '203.0.113.0/24 (abuse report 42)' });
    expect((await p.run(makeSubmission({ formId: 'f', ip: '198.51.100.4' }), ctx)).verdict.action).toBe('accept');
  });
  it('records failures on rejected verdicts at commit and bans the address', async () => {
    const d = createIpListsDefense({ ban: { maxFailures: 2, banSeconds: 60 } });
    const spam = {
      name: 'always-reject',
      stage: 'main' as const,
      onError: 'fail-open' as const,
      check: async () => ({ kind: 'final' as const, action: 'reject' as const, reason: 'X' }),
    };
    const p = createPipeline({ defenses: [d, spam], catalog });
    const ctx = createCheckContext();
    const sub = makeSubmission({ formId: 'f', ip: '198.51.100.50' });
    for (let i = 0; i < 2; i++) {
      const r = await p.run(sub, ctx);
      expect(r.verdict.finalBy).toBe('always-reject');
      await p.commit(sub, r, ctx);
    }
    const r = await p.run(sub, ctx);
    expect(r.verdict).toMatchObject({ action: 'reject', finalBy: 'ip-lists', finalReason: 'E_IP_BANNED', retryAfterSeconds: 60 });
    expect(await d.bans?.status('198.51.100.51', new Date())).toBeNull();
  });
});
