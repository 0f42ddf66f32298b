// The last look at a delayed auto-reply, just before it leaves: the breaker, the suppression list and
// a burst of similar submissions can still cancel it. A cancelled auto-reply gives its caps back.
import type { Kysely } from 'kysely';
import type { Monitor } from '../monitor/breaker.js';
import type { Database, OutboxTable } from '../store/schema.js';
import type { Clock } from '../util/clock.js';
import { recordCancelledAutoreply } from './budget.js';
import { isSuppressed } from './suppression.js';
import { signLink } from './links.js';

/** Submissions with the same text within this time, at least BURST_COUNT of them, are a burst. */
export const BURST_WINDOW_MS = 10 * 60_000;
export const BURST_COUNT = 3;
/**
 * The burst check reads at most this many of the form's newest submissions in the window: a form that gets more
 * (over 16 a second for ten minutes) is in a flood, which its circuit breaker and caps already answer.
 */
export const BURST_SCAN = 10_000;

export function autoreplyPrecheck(db: Kysely<Database>, monitor: Monitor | undefined, clock: Clock) {
  return async (row: OutboxTable): Promise<string | null> => {
    if (row.kind !== 'autoreply') return null;
    if (row.form_id && monitor?.isOpen(row.form_id)) return 'breaker';
    if (await isSuppressed(db, row.to_addr)) return 'suppressed';
    if (row.submission_id) {
      const sub = await db.selectFrom('submissions').select(['content_hash', 'form_id', 'created_at']).where('id', '=', row.submission_id).executeTakeFirst();
      if (sub?.content_hash) {
        const now = clock.now().getTime();
        // The form's newest submissions of the window, read from the (form_id, created_at, action, content_hash)
        // index alone (migration 015), at most BURST_SCAN of them.
        const recent = db
          .selectFrom('submissions')
          .select('content_hash')
          .where('form_id', '=', sub.form_id)
          .where('created_at', '>', Math.min(sub.created_at, now) - BURST_WINDOW_MS)
          .orderBy('created_at', 'desc')
          .limit(BURST_SCAN);
        const similar = await db
          .selectFrom(recent.as('recent'))
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('recent.content_hash', '=', sub.content_hash)
          .executeTakeFirstOrThrow();
        if (Number(similar.n) >= BURST_COUNT) return 'burst';
      }
    }
    return null;
  };
}

export function onAutoreplyCancelled(db: Kysely<Database>) {
  return async (row: OutboxTable, reason: string): Promise<void> => {
    await db.transaction().execute((trx) => recordCancelledAutoreply(trx, row, reason));
  };
}

/** Every auto-reply carries the signed "I didn't request this" link and an RFC 8058 one-click header. */
export function autoreplyDecoration(publicUrl: string, linkKey: string) {
  return (row: OutboxTable): { headers?: Record<string, string>; footer?: string } => {
    if (row.kind !== 'autoreply') return {};
    const url = `${publicUrl.replace(/\/+$/, '')}/u/${signLink(linkKey, { outboxId: row.id, address: row.to_addr })}`;
    return {
      headers: { 'List-Unsubscribe': `<${url}>`, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' },
      footer: `--\nこのお問い合わせに心当たりがない場合は、次のリンクを開いてください。今後このアドレスには自動返信を送りません。\nIf you did not send this inquiry, open this link and we will not send automatic replies to this address again:\n${url}`,
    };
  };
}
