// Retention: posts that reached nobody (refused at the door, or rejected by their score; no mail was sent
// for them) are deleted once they are older than `retention.refused` (default 7 days), their files with
// them; the files of every inquiry are deleted after `retention.attachments` (default 90 days). The job deletes in
// small batches, each its own short statement, so it never holds the SQLite writer or a PostgreSQL
// transaction for long, and yields to requests between batches.
import type { Kysely } from 'kysely';
import type { Config } from '../config/schema.js';
import type { Database } from '../store/schema.js';
import type { Clock } from '../util/clock.js';
import { mustDuration } from '../util/duration.js';
import { attachmentUsage, deleteAttachmentsOf } from '../attachments/store.js';

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
  private running: Promise<number> | null = null;

  constructor(private readonly deps: PruneDeps) {}

  /** One pass; concurrent calls share the pass in progress. */
  runOnce(): Promise<number> {
    this.running ??= (async () => {
      try {
        const cutoff = this.deps.clock.now().getTime() - mustDuration(this.deps.config.retention.refused);
        const n = await pruneRefused(this.deps.db, cutoff);
        if (n > 0) this.deps.log?.info({ deleted: n, olderThan: this.deps.config.retention.refused }, 'retention: refused posts deleted');
        const now = this.deps.clock.now().getTime();
        const files = await pruneAttachments(this.deps.db, now - mustDuration(this.deps.config.retention.attachments));
        if (files.files > 0) {
          const left = await attachmentUsage(this.deps.db);
          this.deps.log?.info({ files: files.files, bytes: files.bytes, storedFiles: left.files, storedBytes: left.bytes, olderThan: this.deps.config.retention.attachments }, 'retention: attachments deleted');
        }
        return n;
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
