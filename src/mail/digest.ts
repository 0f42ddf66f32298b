// The owner's inbox is protected too: above the notification threshold, and for every quarantined
// submission, notifications are batched into one digest per form every `mail.digest.every`.
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Config } from '../config/schema.js';
import { defang } from '../relay/defang.js';
import type { Database } from '../store/schema.js';
import type { Clock } from '../util/clock.js';
import { mustDuration } from '../util/duration.js';
import { newId } from '../util/id.js';
import { enqueue, outboxRow } from './outbox.js';

const LISTED = 50;
const HOUR_MS = 3_600_000;

/** Individual notifications per form in the last hour, against the digest threshold (mail.digest.threshold). */
export interface NotifyRate {
  /** True when the form is over the threshold; otherwise counts one notification now. */
  overOrCount(formId: string, now: number): boolean | Promise<boolean>;
}

/** Counted in memory by this process (so the hot path reads nothing): one process only (SQLite, no Redis). */
export class MemoryNotifyRate implements NotifyRate {
  private readonly sent = new Map<string, number[]>();
  constructor(private readonly threshold: number) {}

  overOrCount(formId: string, now: number): boolean {
    let times = this.sent.get(formId);
    if (!times) this.sent.set(formId, (times = []));
    // What left the hour is dropped in place: no new array per post.
    const since = now - HOUR_MS;
    let kept = 0;
    for (const t of times) if (t > since) times[kept++] = t;
    times.length = kept;
    if (kept >= this.threshold) return true;
    times.push(now);
    return false;
  }
}

// Drops what left the hour, counts, and adds this notification only below the threshold: one atomic step.
const NOTIFY_SCRIPT = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1] - ARGV[2])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 1 end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 0`;

/**
 * Shared by every process on one Redis (config redis:): the threshold holds for the whole cluster. If Redis
 * cannot answer, the notification goes out on its own (the owner's mail is never held back by a counter).
 */
export class RedisNotifyRate implements NotifyRate {
  constructor(
    private readonly redis: Redis,
    private readonly threshold: number,
    private readonly prefix = 'fw:notify:',
  ) {}

  async overOrCount(formId: string, now: number): Promise<boolean> {
    try {
      const r = await this.redis.eval(NOTIFY_SCRIPT, 1, this.prefix + encodeURIComponent(formId), now, HOUR_MS, this.threshold, `${now}:${randomBytes(6).toString('hex')}`);
      return Number(r) === 1;
    } catch {
      return false;
    }
  }
}

/**
 * Shared through the database (PostgreSQL without Redis): the notifications queued for the form in the last
 * hour, as stored with the submissions. Posts in flight at the same moment may each see the count below the
 * threshold: it can be passed by at most the number of concurrent posts, never by more.
 */
export class DbNotifyRate implements NotifyRate {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly threshold: number,
  ) {}

  async overOrCount(formId: string, now: number): Promise<boolean> {
    try {
      const r = await this.db
        .selectFrom('submissions')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('form_id', '=', formId)
        .where('created_at', '>', now - HOUR_MS)
        .where('notify', '=', 'queued')
        .executeTakeFirstOrThrow();
      return Number(r.n) >= this.threshold;
    } catch {
      return false;
    }
  }
}

/** The notification rate every process shares: Redis when configured, else the database on PostgreSQL, else memory. */
export function createNotifyRate(threshold: number, shared: { redis?: Redis | null; prefix?: string; db?: Kysely<Database>; dialect?: string }): NotifyRate {
  if (shared.redis) return new RedisNotifyRate(shared.redis, threshold, `${shared.prefix ?? 'fw:'}notify:`);
  if (shared.db && shared.dialect === 'postgres') return new DbNotifyRate(shared.db, threshold);
  return new MemoryNotifyRate(threshold);
}

/**
 * One digest per form every mail.digest.every. With several processes, the digest of a form is decided under a
 * lock (PostgreSQL: an advisory lock per form; SQLite serialises writers): the last digest is read again inside
 * it, so two processes never send the same digest twice. However many submissions wait (a month of an attack
 * can hold tens of thousands), the digest reads only the LISTED oldest it names and counts the rest in the
 * database as it marks them, so its memory does not grow with the backlog and its figures are exact.
 */
export async function sendDigests(db: Kysely<Database>, config: Config, clock: Clock, fromAddress: string, dialect?: string): Promise<number> {
  const now = clock.now().getTime();
  const every = mustDuration(config.mail.digest.every);
  let sent = 0;
  for (const form of config.forms) {
    const last = await db.selectFrom('events').select('at').where('kind', '=', 'digest').where('form_id', '=', form.id).orderBy('at', 'desc').limit(1).executeTakeFirst();
    if (last && now - last.at < every) continue;
    const waiting = await db.selectFrom('submissions').select('id').where('form_id', '=', form.id).where('notify', '=', 'digest').limit(1).executeTakeFirst();
    if (!waiting) continue;
    const count = await db.transaction().execute(async (trx) => {
      if (dialect === 'postgres') await sql`select pg_advisory_xact_lock(hashtextextended(${`digest:${form.id}`}, 0))`.execute(trx);
      const again = await trx.selectFrom('events').select('at').where('kind', '=', 'digest').where('form_id', '=', form.id).orderBy('at', 'desc').limit(1).executeTakeFirst();
      if (again && (again.at !== last?.at || now - again.at < every)) return 0;
      const listed = await trx
        .selectFrom('submissions')
        .select(['id', 'created_at', 'action', 'fields', 'ip'])
        .where('form_id', '=', form.id)
        .where('notify', '=', 'digest')
        .orderBy('created_at')
        .orderBy('id')
        .limit(LISTED)
        .execute();
      if (listed.length === 0) return 0;
      const { total, quarantined } = await markDigested(trx, form.id, dialect);
      await trx.insertInto('events').values({ id: newId('e', now), kind: 'digest', form_id: form.id, address: null, at: now, detail: String(total) }).execute();
      const { subject, body } = digestText(config, form, listed, total, quarantined);
      const rows = form.notify.to.map((to) => outboxRow({ kind: 'digest', submissionId: null, formId: form.id, to, replyTo: null, subject, body }, fromAddress, now));
      await enqueue(trx, rows);
      return rows.length;
    });
    sent += count;
  }
  return sent;
}

/**
 * Marks a form's waiting submissions digested and counts them, without reading them: what is marked is what
 * is counted. PostgreSQL: one statement does both (rows stored meanwhile by other processes included);
 * SQLite: this transaction is the only writer, so the count before the update is the update's.
 */
async function markDigested(trx: Transaction<Database>, formId: string, dialect?: string): Promise<{ total: number; quarantined: number }> {
  if (dialect === 'postgres') {
    const { rows } = await sql<{ total: string; quarantined: string }>`with marked as (update submissions set notify = 'digested' where form_id = ${formId} and notify = 'digest' returning action) select count(*) as total, count(*) filter (where action = 'quarantine') as quarantined from marked`.execute(trx);
    return { total: Number(rows[0]?.total ?? 0), quarantined: Number(rows[0]?.quarantined ?? 0) };
  }
  const waiting = trx.selectFrom('submissions').where('form_id', '=', formId).where('notify', '=', 'digest');
  const counted = await waiting.select((eb) => [eb.fn.countAll<number>().as('total'), eb.fn.sum<number | null>(eb.case().when('action', '=', 'quarantine').then(1).else(0).end()).as('quarantined')]).executeTakeFirstOrThrow();
  await trx.updateTable('submissions').set({ notify: 'digested' }).where('form_id', '=', formId).where('notify', '=', 'digest').execute();
  return { total: Number(counted.total), quarantined: Number(counted.quarantined ?? 0) };
}

type Listed = { id: string; created_at: number; action: string; fields: string; ip: string };

function digestText(config: Config, form: Config['forms'][number], listed: Listed[], total: number, quarantined: number): { subject: string; body: string } {
  const subject = `[${config.siteName}] ${form.title.en}: ${total} inquiries (${quarantined} quarantined) / ${total}件のお問い合わせ（保留 ${quarantined}件）`;
  const lines = listed.map((p) => {
    const fields = JSON.parse(p.fields) as Record<string, string>;
    const summary = Object.entries(fields).map(([k, v]) => `${k}: ${v}`).join(' | ');
    return `- ${new Date(p.created_at).toISOString()} ${p.id} [${p.action}] from ${p.ip}\n  ${defang(summary, 400)}`;
  });
  const body = `${total} submissions to "${form.title.en}" since the last digest; ${quarantined} were quarantined (no mail was sent for them).
前回のまとめ以降、「${form.title.ja}」に ${total} 件の送信がありました（うち保留 ${quarantined} 件。保留分にはメールを送っていません）。
Individual notifications resume when the rate falls below ${config.mail.digest.threshold} per hour. / 1時間あたり ${config.mail.digest.threshold} 件を下回ると、個別の通知に戻ります。
Full list: formwarden submissions list --form ${form.id}

${lines.join('\n')}${total > listed.length ? `\n… and ${total - listed.length} more / ほか ${total - listed.length} 件` : ''}
`;
  return { subject, body };
}
