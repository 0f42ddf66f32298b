import type { Kysely } from 'kysely';
import { addressDomain, normalizeAddress } from '../../relay/address.js';

// Suppressions and cap counters keyed on the canonical mailbox ('+tag' removed for every domain, provider
// aliases folded), so "ceo+1@x" and "ceo+2@x" are one entry and one budget. Rows stored under the earlier
// key are re-keyed; rows that now name the same mailbox are merged into one: the oldest one's reason and
// date, with the other spellings noted. Down is a no-op (the earlier keys cannot be told apart again).

const NOTE_MAX = 500;

// biome-ignore lint: migrations see an untyped database
export async function up(db: Kysely<any>): Promise<void> {
  const rows: Array<{ address: string; reason: string; note: string; created_at: number | string }> = await db
    .selectFrom('suppressions')
    .select(['address', 'reason', 'note', 'created_at'])
    .orderBy('created_at')
    .orderBy('address')
    .execute();
  const groups = new Map<string, typeof rows>();
  for (const r of rows) {
    const key = normalizeAddress(r.address);
    const g = groups.get(key);
    if (g) g.push(r);
    else groups.set(key, [r]);
  }
  for (const [key, group] of groups) {
    const first = group[0]!;
    if (group.length === 1 && first.address === key) continue;
    const others = group.filter((r) => r.address !== key).map((r) => r.address);
    const note = others.length > 0 ? `${first.note}${first.note ? ' ' : ''}(also / 統合: ${others.join(', ')})`.slice(0, NOTE_MAX) : first.note;
    await db.transaction().execute(async (trx) => {
      await trx.deleteFrom('suppressions').where('address', 'in', group.map((r) => r.address)).execute();
      await trx.insertInto('suppressions').values({ address: key, reason: first.reason, note, created_at: Number(first.created_at) }).execute();
    });
  }

  // Cap counters: relay:address:<window>:<address> and relay:domain:<window>:<domain> (URI-encoded).
  const keys: Array<{ key: string }> = await db
    .selectFrom('relay_charges')
    .select('key')
    .distinct()
    .where((eb) => eb.or([eb('key', 'like', 'relay:address:%'), eb('key', 'like', 'relay:domain:%')]))
    .execute();
  for (const { key } of keys) {
    const m = /^(relay:(address|domain):\d+:)(.*)$/.exec(key);
    if (!m) continue;
    let value: string;
    try {
      value = decodeURIComponent(m[3]!);
    } catch {
      continue;
    }
    const canonical = m[2] === 'address' ? normalizeAddress(value) : addressDomain(`x@${value}`);
    const next = `${m[1]}${encodeURIComponent(canonical)}`;
    // One outbox row holds one key of each kind, so re-keying never collides on (key, outbox_id).
    if (next !== key) await db.updateTable('relay_charges').set({ key: next }).where('key', '=', key).execute();
  }
}

// biome-ignore lint: migrations see an untyped database
export async function down(_db: Kysely<any>): Promise<void> {}
