import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import type { ReplayStore } from './types.js';

/** In-process replay store: fine for a single instance. Expired keys are swept as the map is used. */
export class MemoryReplayStore implements ReplayStore {
  readonly #seen = new Map<string, number>();
  readonly #now: () => number;
  readonly #maxEntries: number;

  constructor(opts: { now?: () => number; maxEntries?: number } = {}) {
    this.#now = opts.now ?? Date.now;
    this.#maxEntries = opts.maxEntries ?? 1_000_000;
  }

  async useOnce(key: string, ttlSeconds: number): Promise<boolean> {
    const now = this.#now();
    const until = this.#seen.get(key);
    if (until !== undefined && until > now) return false;
    if (this.#seen.size >= this.#maxEntries) this.sweep();
    if (this.#seen.size >= this.#maxEntries) {
      // Still full of live keys: evict the oldest insertion rather than grow without bound.
      const oldest = this.#seen.keys().next();
      if (!oldest.done) this.#seen.delete(oldest.value);
    }
    this.#seen.delete(key);
    this.#seen.set(key, now + ttlSeconds * 1000);
    return true;
  }

  async release(key: string): Promise<void> {
    this.#seen.delete(key);
  }

  async seen(keys: string[]): Promise<boolean> {
    const now = this.#now();
    return keys.some((k) => (this.#seen.get(k) ?? 0) > now);
  }

  sweep(): void {
    const now = this.#now();
    for (const [k, until] of this.#seen) if (until <= now) this.#seen.delete(k);
  }

  get size(): number {
    return this.#seen.size;
  }
}

/** Replay store shared by all instances: SET key NX EX ttl. */
export class RedisReplayStore implements ReplayStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix = 'fw:replay:',
  ) {}

  async useOnce(key: string, ttlSeconds: number): Promise<boolean> {
    const ttl = Math.max(1, Math.ceil(ttlSeconds));
    const r = await this.redis.set(this.prefix + key, '1', 'EX', ttl, 'NX');
    return r === 'OK';
  }

  async release(key: string): Promise<void> {
    await this.redis.del(this.prefix + key);
  }

  /** One EXISTS for all the keys. */
  async seen(keys: string[]): Promise<boolean> {
    if (keys.length === 0) return false;
    return (await this.redis.exists(...keys.map((k) => this.prefix + k))) > 0;
  }
}

/**
 * A view of a replay store that remembers the keys this submission used, so that they can be given
 * back when the submission cannot be stored (the visitor may send the same form again).
 */
export function recordingReplayStore(store: ReplayStore): ReplayStore & { releaseAll(): Promise<void> } {
  const used: string[] = [];
  return {
    async useOnce(key, ttlSeconds) {
      const first = await store.useOnce(key, ttlSeconds);
      if (first) used.push(key);
      return first;
    },
    release: (key) => store.release(key),
    seen: (keys) => store.seen?.(keys) ?? Promise.resolve(false),
    async releaseAll() {
      await Promise.all(used.splice(0).map((k) => store.release(k).catch(() => {})));
    },
  };
}

/**
 * Replay store in the database (the `kv` table, key `replay:<key>`, updated_at = until when the key is spent):
 * shared by every process on one PostgreSQL when there is no Redis. One upsert per key: it inserts, or takes
 * over an expired row; a live row is left alone and the key is refused. Expired rows are swept by prune().
 */
export class DbReplayStore implements ReplayStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly now: () => number = Date.now,
  ) {}

  static key(key: string): string {
    const k = `replay:${key}`;
    return k.length <= 200 ? k : `replay:#${createHash('sha256').update(key).digest('base64url')}`;
  }

  async useOnce(key: string, ttlSeconds: number): Promise<boolean> {
    const now = this.now();
    const until = now + Math.max(1, Math.ceil(ttlSeconds)) * 1000;
    const r = await this.db
      .insertInto('kv')
      .values({ key: DbReplayStore.key(key), value: 'replay', updated_at: until })
      .onConflict((oc) => oc.column('key').doUpdateSet({ value: 'replay', updated_at: until }).where('kv.updated_at', '<=', now))
      .executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  async release(key: string): Promise<void> {
    await this.db.deleteFrom('kv').where('key', '=', DbReplayStore.key(key)).execute();
  }

  async seen(keys: string[]): Promise<boolean> {
    if (keys.length === 0) return false;
    const row = await this.db.selectFrom('kv').select('key').where('key', 'in', keys.map(DbReplayStore.key)).where('updated_at', '>', this.now()).limit(1).executeTakeFirst();
    return !!row;
  }

  /** Deletes spent keys whose time is over. */
  async prune(): Promise<void> {
    await this.db.deleteFrom('kv').where('key', 'like', 'replay:%').where('updated_at', '<=', this.now()).execute();
  }
}
