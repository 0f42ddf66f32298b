// Retention: posts that reached nobody (refused at the door, or rejected by their score; no mail was sent
// for them) are deleted once they are older than `retention.refused` (default 7 days), their files with
// them; the files of every inquiry are deleted after `retention.attachments` (default 90 days); every
// submission is deleted with everything that belongs to it (delete.ts) after `retention.submissions`
// (default 365 days), unless a mail of it is still pending; the client address and user agent are
// anonymised after `retention.clientInfo` (default 30 days); DMARC reports are deleted `retention.dmarc`
// (default 365 days) after the end of their period (dmarc/store.ts). `never` keeps that kind forever. The job
// deletes in small batches, each its own short statement or transaction, so it never holds the SQLite
// writer or a PostgreSQL transaction for long, and yields to requests between batches.
import type { Kysely } from 'kysely';
import ipaddr from 'ipaddr.js';
import type { Config } from '../config/schema.js';
import type { Database } from '../store/schema.js';
import type { Clock } from '../util/clock.js';
import { mustDuration } from '../util/duration.js';
import { attachmentUsage, deleteAttachmentsOf } from '../attachments/store.js';
import { parseAddress } from '../defenses/client-address/index.js';
import { pruneDmarc } from '../dmarc/store.js';
import { addRows, deleteMails, deleteSubmissionsCascade, noRows, TABLES, type DeletedRows } from './delete.js';

export interface PruneOptions {
  /** Rows per delete (default 500). */
  batch?: number;
  /** Stop after this many batches in one run; the next run goes on (default 200). */
  maxBatches?: number;
}

/** Deletes rejected posts created before `olderThan` (ms). Returns how many were deleted. */
export async function pruneRefused(db: Kysely<Database>, olderThan: number, opts: PruneOptions = {}): Promise<number> {
  const batch = opts.batch ?? 500;
  const maxBatches = opts.maxBatches ?? 200;
  let deleted = 0;
  for (let i = 0; i < maxBatches; i++) {
    const rows = await db
      .selectFrom('submissions')
      .select('id')
      .where('action', '=', 'reject')
      .where('created_at', '<', olderThan)
      .orderBy('created_at')
      .limit(batch)
      .execute();
    if (rows.length === 0) break;
    // A submission and its files go together (one short transaction per batch).
    const ids = rows.map((x) => x.id);
    const r = await db.transaction().execute(async (trx) => {
      await deleteAttachmentsOf(trx, ids);
      return trx.deleteFrom('submissions').where('id', 'in', ids).where('action', '=', 'reject').executeTakeFirst();
    });
    deleted += Number(r.numDeletedRows);
    if (rows.length < batch) break;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return deleted;
}

/**
 * Deletes the files of any submission that arrived before `olderThan` (ms): retention.attachments. The
 * inquiry itself stays. Returns the files and bytes freed.
 */
export async function pruneAttachments(db: Kysely<Database>, olderThan: number, opts: PruneOptions = {}): Promise<{ files: number; bytes: number }> {
  const batch = opts.batch ?? 100;
  const maxBatches = opts.maxBatches ?? 200;
  const freed = { files: 0, bytes: 0 };
  for (let i = 0; i < maxBatches; i++) {
    const rows = await db.selectFrom('attachments').select(['id', 'size']).where('created_at', '<', olderThan).orderBy('created_at').limit(batch).execute();
    if (rows.length === 0) break;
    const r = await db.deleteFrom('attachments').where('id', 'in', rows.map((x) => x.id)).executeTakeFirst();
    freed.files += Number(r.numDeletedRows);
    freed.bytes += rows.reduce((n, x) => n + Number(x.size), 0);
    if (rows.length < batch) break;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return freed;
}

/**
 * Deletes every submission that arrived before `olderThan` (ms), with everything that belongs to it
 * (retention.submissions). A submission with a pending mail is kept until the mail is sent, dead or
 * cancelled. Returns the rows deleted per table and how many submissions waited for their mail.
 */
export async function pruneSubmissions(db: Kysely<Database>, olderThan: number, now: number, opts: PruneOptions = {}): Promise<{ rows: DeletedRows; kept: number }> {
  const batch = opts.batch ?? 100;
  const maxBatches = opts.maxBatches ?? 200;
  let rows = noRows();
  let kept = 0;
  for (let i = 0; i < maxBatches; i++) {
    const page = await db
      .selectFrom('submissions as s')
      .select('s.id')
      .where('s.created_at', '<', olderThan)
      .where(({ not, exists, selectFrom }) =>
        not(exists(selectFrom('outbox as o').select('o.id').whereRef('o.submission_id', '=', 's.id').where('o.state', '=', 'pending'))),
      )
      .orderBy('s.created_at')
      .limit(batch)
      .execute();
    if (page.length === 0) break;
    const r = await db.transaction().execute((trx) => deleteSubmissionsCascade(trx, page.map((x) => x.id), 'keep', now));
    rows = addRows(rows, r.rows);
    kept += r.kept.length;
    if (page.length < batch || r.deleted.length === 0) break;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  // The old ones still waiting for a pending mail (for the log: a mail retrying for long shows here).
  const waiting = await db
    .selectFrom('submissions as s')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('s.created_at', '<', olderThan)
    .where(({ exists, selectFrom }) => exists(selectFrom('outbox as o').select('o.id').whereRef('o.submission_id', '=', 's.id').where('o.state', '=', 'pending')))
    .executeTakeFirstOrThrow();
  return { rows, kept: Math.max(kept, Number(waiting.n)) };
}

/**
 * Deletes mails that belong to no submission (alerts and digests to the owner, which quote inquiries)
 * sent, dead or cancelled before `olderThan`: the same window as the inquiries they quote.
 */
export async function pruneOwnerMails(db: Kysely<Database>, olderThan: number, now: number, opts: PruneOptions = {}): Promise<DeletedRows> {
  const batch = opts.batch ?? 100;
  const maxBatches = opts.maxBatches ?? 200;
  const rows = noRows();
  for (let i = 0; i < maxBatches; i++) {
    const page = await db.selectFrom('outbox').select('id').where('submission_id', 'is', null).where('created_at', '<', olderThan).where('state', '<>', 'pending').orderBy('created_at').limit(batch).execute();
    if (page.length === 0) break;
    const gone = await db.transaction().execute((trx) => deleteMails(trx, page.map((x) => x.id), 'keep', now, rows));
    if (page.length < batch || gone.length === 0) break;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return rows;
}

/**
 * The client address with its host part removed: the /24 of an IPv4 address, the /48 of an IPv6 address
 * ("203.0.113.0/24", "2001:db8:1::/48"). Enough for abuse statistics per network, no longer one person's
 * line. A value that is already a network stays; anything unparsable becomes empty.
 */
export function anonymisedIp(ip: string): string {
  if (/^[0-9a-f.:]+\/\d{1,3}$/i.test(ip)) return ip;
  const a = parseAddress(ip);
  if (!a) return '';
  if (a.kind() === 'ipv4') {
    const o = (a as ipaddr.IPv4).octets;
    return `${o[0]}.${o[1]}.${o[2]}.0/24`;
  }
  const p = (a as ipaddr.IPv6).parts.slice(0, 3);
  return `${new ipaddr.IPv6([...p, 0, 0, 0, 0, 0]).toString()}/48`;
}

const CLIENT_INFO_MARK = 'retention:clientInfo';

/**
 * Anonymises the client address (anonymisedIp) and clears the user agent of every submission that arrived
 * before `olderThan` (retention.clientInfo). The fields, the verdict (with the country, when geo looked it up)
 * and the outcome stay. A mark in the kv table remembers how far it got, so a run reads only the rows that
 * aged since the last one. Returns the rows changed.
 */
export async function anonymiseClientInfo(db: Kysely<Database>, olderThan: number, opts: PruneOptions = {}): Promise<number> {
  const batch = opts.batch ?? 500;
  const maxBatches = opts.maxBatches ?? 200;
  const mark = await db.selectFrom('kv').select('value').where('key', '=', CLIENT_INFO_MARK).executeTakeFirst();
  const from = mark ? Number((JSON.parse(mark.value) as { until?: number }).until ?? 0) : 0;
  let changed = 0;
  let last: { at: number; id: string } | null = null;
  let finished = false;
  for (let i = 0; i < maxBatches; i++) {
    const page = await db
      .selectFrom('submissions')
      .select(['id', 'created_at', 'ip', 'user_agent'])
      .where('created_at', '<', olderThan)
      .where('created_at', '>=', from)
      .$if(last !== null, (q) => q.where((eb) => eb.or([eb('created_at', '>', last!.at), eb.and([eb('created_at', '=', last!.at), eb('id', '>', last!.id)])])))
      .orderBy('created_at')
      .orderBy('id')
      .limit(batch)
      .execute();
    const byIp = new Map<string, string[]>();
    for (const r of page) {
      const ip = anonymisedIp(r.ip);
      if (ip === r.ip && r.user_agent === '') continue;
      byIp.set(ip, [...(byIp.get(ip) ?? []), r.id]);
    }
    for (const [ip, ids] of byIp) {
      const r = await db.updateTable('submissions').set({ ip, user_agent: '' }).where('id', 'in', ids).executeTakeFirst();
      changed += Number(r.numUpdatedRows);
    }
    if (page.length > 0) last = { at: Number(page[page.length - 1]!.created_at), id: page[page.length - 1]!.id };
    if (page.length < batch) {
      finished = true;
      break;
    }
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  // Finished: everything before olderThan is done. Stopped early: from the last row's time (its ties run again, harmlessly).
  const until = finished ? Math.max(olderThan, from) : (last?.at ?? from);
  const value = JSON.stringify({ until });
  const now = Date.now();
  await db.insertInto('kv').values({ key: CLIENT_INFO_MARK, value, updated_at: now }).onConflict((oc) => oc.column('key').doUpdateSet({ value, updated_at: now })).execute();
  return changed;
}

/** What one pass of the retention job did. */
export interface PruneReport {
  refused: number;
  /** retention.submissions: rows per table (owner mails included); kept = submissions waiting for a pending mail. */
  submissions: DeletedRows & { kept: number };
  attachments: { files: number; bytes: number };
  clientInfo: number;
  /** retention.dmarc: DMARC reports deleted (with their rows). */
  dmarc: number;
}

/** The window in ms, or null for `never`. */
const windowOf = (v: string): number | null => (v === 'never' ? null : mustDuration(v));

export interface PruneDeps {
  db: Kysely<Database>;
  config: Config;
  clock: Clock;
  log?: { info(obj: object, msg: string): void; error(obj: object, msg: string): void };
}

/** The retention job: once soon after start, then every `every` ms (default hourly). */
export class PruneJob {
  private timer: NodeJS.Timeout | null = null;
  private first: NodeJS.Timeout | null = null;
  private running: Promise<PruneReport> | null = null;

  constructor(private readonly deps: PruneDeps) {}

  /** One pass; concurrent calls share the pass in progress. Returns the refused posts deleted (see report()). */
  async runOnce(): Promise<number> {
    return (await this.report()).refused;
  }

  /** One pass, with what it did per kind. */
  report(): Promise<PruneReport> {
    this.running ??= (async () => {
      try {
        const r = this.deps.config.retention;
        const log = this.deps.log;
        const now = () => this.deps.clock.now().getTime();
        const out: PruneReport = { refused: 0, submissions: { ...noRows(), kept: 0 }, attachments: { files: 0, bytes: 0 }, clientInfo: 0, dmarc: 0 };
        const refused = windowOf(r.refused);
        if (refused !== null) {
          out.refused = await pruneRefused(this.deps.db, now() - refused);
          if (out.refused > 0) log?.info({ deleted: out.refused, olderThan: r.refused }, 'retention: refused posts deleted');
        }
        const subs = windowOf(r.submissions);
        if (subs !== null) {
          const s = await pruneSubmissions(this.deps.db, now() - subs, now());
          const owner = await pruneOwnerMails(this.deps.db, now() - subs, now());
          out.submissions = { ...addRows(s.rows, owner), kept: s.kept };
          if (TABLES.some((t) => out.submissions[t] > 0) || s.kept > 0) log?.info({ ...out.submissions, olderThan: r.submissions }, 'retention: submissions deleted');
        }
        const files = windowOf(r.attachments);
        if (files !== null) {
          out.attachments = await pruneAttachments(this.deps.db, now() - files);
          if (out.attachments.files > 0) {
            const left = await attachmentUsage(this.deps.db);
            log?.info({ files: out.attachments.files, bytes: out.attachments.bytes, storedFiles: left.files, storedBytes: left.bytes, olderThan: r.attachments }, 'retention: attachments deleted');
          }
        }
        const client = windowOf(r.clientInfo);
        if (client !== null) {
          out.clientInfo = await anonymiseClientInfo(this.deps.db, now() - client);
          if (out.clientInfo > 0) log?.info({ anonymised: out.clientInfo, olderThan: r.clientInfo }, 'retention: client addresses and user agents anonymised');
        }
        const dmarc = windowOf(r.dmarc);
        if (dmarc !== null) {
          out.dmarc = await pruneDmarc(this.deps.db, now() - dmarc);
          if (out.dmarc > 0) log?.info({ deleted: out.dmarc, olderThan: r.dmarc }, 'retention: DMARC reports deleted');
        }
        return out;
      } finally {
        this.running = null;
      }
    })();
    return this.running;
  }

  start(every = 3_600_000, firstAfter = 60_000): void {
    const run = () => {
      this.runOnce().catch((e) => this.deps.log?.error({ err: String(e) }, 'retention job failed'));
    };
    this.first = setTimeout(run, firstAfter);
    this.first.unref();
    this.timer = setInterval(run, every);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.first) clearTimeout(this.first);
    if (this.timer) clearInterval(this.timer);
    this.first = this.timer = null;
    await this.running?.catch(() => {});
  }
}
