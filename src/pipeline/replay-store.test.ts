import { afterAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { MemoryReplayStore, RedisReplayStore, recordingReplayStore } from './replay-store.js';

const redis = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true, maxRetriesPerRequest: 1 });
afterAll(() => redis.disconnect());

describe('MemoryReplayStore', () => {
  it('allows a key once until its ttl passes', async () => {
    let now = 1_000_000;
    const s = new MemoryReplayStore({ now: () => now });
    expect(await s.useOnce('k', 60)).toBe(true);
    expect(await s.useOnce('k', 60)).toBe(false);
    expect(await s.useOnce('other', 60)).toBe(true);
    now += 61_000;
    expect(await s.useOnce('k', 60)).toBe(true);
    s.sweep();
    expect(s.size).toBe(1);
  });
  it('is bounded', async () => {
    const s = new MemoryReplayStore({ maxEntries: 3 });
    for (const k of ['a', 'b', 'c', 'd']) await s.useOnce(k, 60);
    expect(s.size).toBe(3);
  });
});

describe('RedisReplayStore', () => {
  it('allows a key once, also under concurrency across two instances', async () => {
    const prefix = `fwtest:${randomUUID()}:`;
    const a = new RedisReplayStore(redis, prefix);
    const b = new RedisReplayStore(redis, prefix);
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).useOnce('tok', 60)));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await redis.ttl(`${prefix}tok`)).toBeGreaterThan(50);
    await redis.del(`${prefix}tok`);
  });
});

describe('giving keys back (a submission that could not be stored)', () => {
  it('release makes a key usable again, in memory and in Redis', async () => {
    const prefix = `fwtest:${randomUUID()}:`;
    for (const store of [new MemoryReplayStore(), new RedisReplayStore(redis, prefix)]) {
      expect(await store.useOnce('tok', 60)).toBe(true);
      expect(await store.useOnce('tok', 60)).toBe(false);
      await store.release('tok');
      expect(await store.useOnce('tok', 60)).toBe(true);
    }
    await redis.del(`${prefix}tok`);
  });
  it('a recording view gives back only the keys it used first, not those another submission used', async () => {
    const store = new MemoryReplayStore();
    expect(await store.useOnce('someone-else', 60)).toBe(true);
    const view = recordingReplayStore(store);
    expect(await view.useOnce('token:a', 60)).toBe(true);
    expect(await view.useOnce('altcha:b', 60)).toBe(true);
    expect(await view.useOnce('someone-else', 60)).toBe(false);
    await view.releaseAll();
    expect(await store.useOnce('token:a', 60)).toBe(true);
    expect(await store.useOnce('altcha:b', 60)).toBe(true);
    expect(await store.useOnce('someone-else', 60)).toBe(false);
  });
});
