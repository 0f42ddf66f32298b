// The suppression list: addresses that never get an auto-reply (they clicked "I didn't request this",
// bounced hard, complained, or the owner added them). Every function keys on the canonical mailbox
// (normalizeAddress: '+tag' removed for every domain, case and Unicode folded, provider aliases), so one
// entry covers every spelling of the mailbox, whoever calls (intake, last check, link, bounces, CLI).
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import { normalizeAddress } from './address.js';

export type SuppressionReason = 'owner' | 'link' | 'bounce' | 'complaint';

export async function isSuppressed(db: Kysely<Database>, address: string): Promise<boolean> {
  const row = await db.selectFrom('suppressions').select('address').where('address', '=', normalizeAddress(address)).executeTakeFirst();
  return !!row;
}

export async function suppress(db: Kysely<Database>, address: string, reason: SuppressionReason, now: number, note = ''): Promise<boolean> {
  const r = await db
    .insertInto('suppressions')
    .values({ address: normalizeAddress(address), reason, note: note.slice(0, 500), created_at: now })
    .onConflict((oc) => oc.column('address').doNothing())
    .executeTakeFirst();
  return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
}

export async function unsuppress(db: Kysely<Database>, address: string): Promise<boolean> {
  const r = await db.deleteFrom('suppressions').where('address', '=', normalizeAddress(address)).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

export async function listSuppressions(db: Kysely<Database>, limit = 1000) {
  return db.selectFrom('suppressions').selectAll().orderBy('created_at', 'desc').limit(limit).execute();
}
