// Bans in the database, read from a memory copy: the check before each request costs no query, every
// process sees a new ban (or a ban lifted with `formwarden block unban`) within one refresh, and the
// CLI can list them. Failures are still counted where they are cheap (memory, or Redis).
import type { Kysely } from 'kysely';
import type { Database } from '../../store/schema.js';
import { parseAddress } from '../client-address/index.js';
import type { BanRecord, BanStore } from './index.js';

export class DbBanStore implements BanStore {
  private cache = new Map<string, { ban: BanRecord; expires: number }>();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly failures: BanStore,
    private readonly now: () => number = Date.now,
  ) {}

  addFailure(key: string, windowSeconds: number): Promise<number> {
    return this.failures.addFailure(key, windowSeconds);
  }

  clearFailures(key: string): Promise<void> {
    return this.failures.clearFailures(key);
  }

  async getBan(key: string): Promise<BanRecord | null> {
    const b = this.cache.get(key);
    return b && b.expires > this.now() ? { ...b.ban } : null;
  }

  async setBan(key: string, ban: BanRecord, ttlSeconds: number): Promise<void> {
    const expires = this.now() + ttlSeconds * 1000;
    this.cache.set(key, { ban: { ...ban }, expires });
    await this.db
      .insertInto('bans')
      .values({ key, until_at: ban.until, level: ban.level, expires_at: expires })
      .onConflict((oc) => oc.column('key').doUpdateSet({ until_at: ban.until, level: ban.level, expires_at: expires }))
      .execute();
  }

  /** Replaces the memory copy with what the database holds now. */
  async refresh(): Promise<void> {
    const now = this.now();
    const rows = await this.db.selectFrom('bans').selectAll().where('expires_at', '>', now).execute();
    this.cache = new Map(rows.map((r) => [r.key, { ban: { until: r.until_at, level: r.level }, expires: r.expires_at }]));
  }
}

export async function listBans(db: Kysely<Database>, now: number) {
  return db.selectFrom('bans').selectAll().where('until_at', '>', now).orderBy('until_at', 'desc').execute();
}

/** A ban's key as listed, from an address in any spelling (a network is taken as written). */
export const banKey = (input: string) => (input.includes('/') ? input : (parseAddress(input)?.toString() ?? input));

export async function liftBan(db: Kysely<Database>, key: string): Promise<boolean> {
  const r = await db.deleteFrom('bans').where('key', '=', key).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}
