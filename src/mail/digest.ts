// The owner's inbox is protected too: above the notification threshold, and for every quarantined
// submission, notifications are batched into one digest per form every `mail.digest.every`.
import type { Kysely } from 'kysely';
import type { Config } from '../config/schema.js';
import { defang } from '../relay/defang.js';
import type { Database } from '../store/schema.js';
import type { Clock } from '../util/clock.js';
import { mustDuration } from '../util/duration.js';
import { newId } from '../util/id.js';
import { enqueue, outboxRow } from './outbox.js';

const LISTED = 50;

/**
 * Individual notifications per form in the last hour, counted in memory by each process (so the
 * hot path reads nothing): with several processes the threshold applies to each of them.
 */
export class NotifyRate {
  private readonly sent = new Map<string, number[]>();
  constructor(private readonly threshold: number) {}

  /** True when the form is over the threshold; otherwise counts one notification now. */
  overOrCount(formId: string, now: number): boolean {
    const times = (this.sent.get(formId) ?? []).filter((t) => t > now - 3_600_000);
    this.sent.set(formId, times);
    if (times.length >= this.threshold) return true;
    times.push(now);
    return false;
  }
}

export async function sendDigests(db: Kysely<Database>, config: Config, clock: Clock, fromAddress: string): Promise<number> {
  const now = clock.now().getTime();
  const every = mustDuration(config.mail.digest.every);
  let sent = 0;
  for (const form of config.forms) {
    const last = await db.selectFrom('events').select('at').where('kind', '=', 'digest').where('form_id', '=', form.id).orderBy('at', 'desc').limit(1).executeTakeFirst();
    if (last && now - last.at < every) continue;
    const pending = await db
      .selectFrom('submissions')
      .select(['id', 'created_at', 'action', 'fields', 'ip'])
      .where('form_id', '=', form.id)
      .where('notify', '=', 'digest')
      .orderBy('created_at')
      .limit(10_000)
      .execute();
    if (pending.length === 0) continue;
    const quarantined = pending.filter((p) => p.action === 'quarantine').length;
    const subject = `[${config.siteName}] ${form.title.en}: ${pending.length} inquiries (${quarantined} quarantined) / ${pending.length}件のお問い合わせ（保留 ${quarantined}件）`;
    const lines = pending.slice(0, LISTED).map((p) => {
      const fields = JSON.parse(p.fields) as Record<string, string>;
      const summary = Object.entries(fields).map(([k, v]) => `${k}: ${v}`).join(' | ');
      return `- ${new Date(p.created_at).toISOString()} ${p.id} [${p.action}] from ${p.ip}\n  ${defang(summary, 400)}`;
    });
    const body = `${pending.length} submissions to "${form.title.en}" since the last digest; ${quarantined} were quarantined (no mail was sent for them).
前回のまとめ以降、「${form.title.ja}」に ${pending.length} 件の送信がありました（うち保留 ${quarantined} 件。保留分にはメールを送っていません）。
Individual notifications resume when the rate falls below ${config.mail.digest.threshold} per hour. / 1時間あたり ${config.mail.digest.threshold} 件を下回ると、個別の通知に戻ります。
Full list: formwarden submissions list --form ${form.id}

${lines.join('\n')}${pending.length > LISTED ? `\n… and ${pending.length - LISTED} more / ほか ${pending.length - LISTED} 件` : ''}
`;
    const rows = form.notify.to.map((to) => outboxRow({ kind: 'digest', submissionId: null, formId: form.id, to, replyTo: null, subject, body }, fromAddress, now));
    await db.transaction().execute(async (trx) => {
      await trx.insertInto('events').values({ id: newId('e', now), kind: 'digest', form_id: form.id, address: null, at: now, detail: String(pending.length) }).execute();
      for (let i = 0; i < pending.length; i += 500) {
        await trx.updateTable('submissions').set({ notify: 'digested' }).where('id', 'in', pending.slice(i, i + 500).map((p) => p.id)).execute();
      }
      await enqueue(trx, rows);
    });
    sent += rows.length;
  }
  return sent;
}
