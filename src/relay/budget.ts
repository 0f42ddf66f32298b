// Cap charges in the database, inside the transaction that enqueues the mail: a budget is spent only
// when the mail is actually queued, and refunded if the mail is cancelled before it leaves. On
// PostgreSQL each key is locked (advisory, in key order) for the transaction, so two processes never
// spend the same budget twice; SQLite serialises writers by itself.
import { sql, type Transaction } from 'kysely';
import type { Database } from '../store/schema.js';
import type { Dialect } from '../store/db.js';
import type { CapKey, CapScope } from './caps.js';
import { capsGivenBack } from './full-caps.js';

export type ChargeResult = { ok: true } | { ok: false; scope: CapScope; limit: number; windowSeconds: number };

/** The first cap with no room left (its count of charges in its window at its limit), or null. */
export function fullCap(keys: CapKey[], used: Map<string, number>): CapKey | null {
  for (const k of keys) if ((used.get(k.key) ?? 0) >= k.limit) return k;
  return null;
}

export async function chargeCaps(trx: Transaction<Database>, dialect: Dialect, keys: CapKey[], outboxId: string, now: number): Promise<ChargeResult> {
  const sorted = [...keys].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  if (dialect === 'postgres') {
    for (const k of sorted) await sql`select pg_advisory_xact_lock(hashtextextended(${k.key}, 0))`.execute(trx);
  }
  // One query counts every key within its own window.
  const rows = await trx
    .selectFrom('relay_charges')
    .select(['key', (eb) => eb.fn.countAll<number>().as('n')])
    .where((eb) => eb.or(keys.map((k) => eb.and([eb('key', '=', k.key), eb('at', '>', now - k.windowSeconds * 1000)]))))
    .groupBy('key')
    .execute();
  const used = new Map(rows.map((r) => [r.key, Number(r.n)]));
  const full = fullCap(keys, used);
  if (full) return { ok: false, scope: full.scope, limit: full.limit, windowSeconds: full.windowSeconds };
  await trx
    .insertInto('relay_charges')
    .values(keys.map((k) => ({ key: k.key, outbox_id: outboxId, at: now })))
    .execute();
  return { ok: true };
}

export async function refundCaps(db: { deleteFrom: Transaction<Database>['deleteFrom'] }, outboxId: string): Promise<void> {
  await db.deleteFrom('relay_charges').where('outbox_id', '=', outboxId).execute();
  capsGivenBack();
}

/** A cancelled auto-reply gives its caps back, and its submission records why. */
export async function recordCancelledAutoreply(trx: Transaction<Database>, mail: { id: string; submission_id: string | null }, reason: string): Promise<void> {
  await refundCaps(trx, mail.id);
  if (mail.submission_id) await trx.updateTable('submissions').set({ autoreply: `cancelled:${reason}` }).where('id', '=', mail.submission_id).execute();
}

/** Charges older than the longest window are never counted again. */
export async function pruneCharges(db: { deleteFrom: Transaction<Database>['deleteFrom'] }, olderThan: number): Promise<void> {
  await db.deleteFrom('relay_charges').where('at', '<', olderThan).execute();
}
