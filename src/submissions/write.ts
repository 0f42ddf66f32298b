// The accept path's one write: a submission, its files, its mails and the auto-reply's cap charges, stored with
// prepared statements (no query building per request) and group-committed: the submissions that reach this point
// within one turn of the event loop (at most maxBatch) share one transaction; one that fails (a constraint, a
// receipt number already taken) is rolled back alone while the others commit (the group is then written again with
// a savepoint per write: see Engine.commit). What a post must know before it is stored is found inside that
// transaction too: whether the auto-reply's address is suppressed (a read), whether the receipt number is free (the
// unique index on its sequence number: receiptTaken(error), and the intake draws another number and writes again).
// Every write's promise settles only after ITS transaction committed: a 201 is never sent for a submission that is
// not durably stored. Kysely stays for the rest (migrations, the console, the worker); this layer only covers the
// statements the intake runs for every post.
//
// SQLite: the statements run synchronously on the one connection, inside Kysely's connection lock (so they
// never land inside another caller's open transaction), BEGIN IMMEDIATE as everywhere else.
// PostgreSQL: one pooled client per group, named prepared statements; the cap keys of the whole group are
// locked (advisory, in key order) at the start, so two processes never spend one budget twice and never
// deadlock on each other's keys. The counting rule is chargeCaps's (src/relay/budget.ts).
import type SQLite from 'better-sqlite3';
import type pg from 'pg';
import { fullCap } from '../relay/budget.js';
import type { CapKey } from '../relay/caps.js';
import { FullCaps, SURPLUS_AT_SQL, surplusOffset } from '../relay/full-caps.js';
import type { Db } from '../store/db.js';
import type { AttachmentTable, OutboxTable, SubmissionTable } from '../store/schema.js';

export interface AcceptedWrite {
  submission: SubmissionTable;
  attachments: AttachmentTable[];
  /** Mails that are queued whatever the caps say (notifications, webhooks). */
  mails: OutboxTable[];
  /**
   * The auto-reply, queued only if its address is not suppressed and every cap has room: read and charged in
   * the same transaction. `address` is the canonical mailbox (normalizeAddress), as src/relay/suppression.ts keys it;
   * `at` the time its caps are counted at. Its row is made only when it is queued (a flood past the caps
   * renders no auto-reply).
   */
  autoreply: { row: () => OutboxTable; at: number; keys: CapKey[]; address: string } | null;
}

/** The auto-reply's state as stored: 'queued', 'skipped:suppressed' or `skipped:cap:<scope>`; otherwise the submission's own. */
export interface WriteOutcome {
  autoreply: string;
}

export interface AcceptWriterOptions {
  /** Most submissions in one transaction (a full group is committed at once). */
  maxBatch?: number;
  /**
   * How long the first write of a group waits for the posts still on their way to it (arrive()): it waits
   * no longer once they have all come, and not at all when none is coming (a lone visitor). Default: SQLite
   * the rest of this turn of the event loop (its statements are synchronous: waiting longer only adds
   * latency), PostgreSQL 2 ms (the posts' own reads are round trips, so they reach this point spread out).
   */
  maxWaitMs?: number;
}

const SUBMISSION_COLUMNS = ['id', 'receipt', 'receipt_seq', 'form_id', 'created_at', 'ip', 'user_agent', 'lang', 'fields', 'action', 'score', 'verdict', 'autoreply', 'notify', 'content_hash', 'autoreply_to', 'refused', 'bytes'] as const;
const OUTBOX_COLUMNS = ['id', 'submission_id', 'form_id', 'kind', 'to_addr', 'reply_to', 'subject', 'body', 'message_id', 'state', 'attempts', 'next_attempt_at', 'locked_until', 'locked_by', 'last_error', 'created_at', 'sent_at', 'raw', 'transport'] as const;
const ATTACHMENT_COLUMNS = ['id', 'submission_id', 'field', 'filename', 'content_type', 'size', 'sha256', 'data', 'created_at'] as const;

const insertSql = (table: string, columns: readonly string[], param: (i: number) => string) =>
  `insert into ${table} (${columns.join(', ')}) values (${columns.map((_, i) => param(i)).join(', ')})`;
/** chargeCaps's count: every key within its own window, one statement. */
const countSql = (n: number, param: (i: number) => string) =>
  `select key, count(*) as n from relay_charges where ${Array.from({ length: n }, (_, i) => `(key = ${param(2 * i)} and at > ${param(2 * i + 1)})`).join(' or ')} group by key`;

type Row = Record<string, unknown>;
const valuesOf = (row: Row, columns: readonly string[]) => columns.map((c) => row[c] ?? null);

interface Pending {
  write: AcceptedWrite;
  resolve(o: WriteOutcome): void;
  reject(e: unknown): void;
}

export class AcceptWriter {
  private queue: Pending[] = [];
  private scheduled = false;
  private inFlight = 0;
  private readonly maxBatch: number;
  private readonly engine: Engine;
  /**
   * Transactions committed (or failed) and submissions written in them: more writes than groups is group commit
   * at work; `retried`: groups written a second time, with savepoints, because one of their writes failed.
   */
  readonly stats = { groups: 0, writes: 0, retried: 0 };

  private readonly maxWaitMs: number;
  /** Posts in the intake that have not yet handed their write in (or left without one). */
  private coming = 0;
  private waitTimer: NodeJS.Timeout | undefined;

  constructor(db: Db, opts: AcceptWriterOptions = {}) {
    this.maxBatch = Math.max(1, opts.maxBatch ?? 64);
    const raw = db.raw;
    if (raw && 'sqlite' in raw) this.engine = new SqliteEngine(db, raw.sqlite);
    else if (raw && 'pool' in raw) this.engine = new PgEngine(raw.pool);
    else throw new Error('AcceptWriter: the database handle carries no driver');
    this.maxWaitMs = Math.max(0, opts.maxWaitMs ?? (db.dialect === 'postgres' ? 2 : 0));
  }

  /**
   * A post enters the intake and may write: the group it would join waits for it (within maxWaitMs). Returns
   * its leave(), called when it hands its write in or goes without one; calling it again does nothing.
   */
  arrive(): () => void {
    this.coming++;
    let left = false;
    return () => {
      if (left) return;
      left = true;
      this.coming--;
      // Everyone the waiting group was waiting for has come: no reason to wait out the rest.
      if (this.coming === 0 && this.waitTimer) this.startWaiting(0);
    };
  }

  /** Writes handed in and not yet in a transaction. */
  get queued(): number {
    return this.queue.length;
  }

  /** Stores one submission; resolves once its transaction has committed. */
  write(write: AcceptedWrite): Promise<WriteOutcome> {
    return new Promise<WriteOutcome>((resolve, reject) => {
      this.queue.push({ write, resolve, reject });
      if (this.queue.length >= this.maxBatch) this.pump();
      else if (!this.scheduled) this.startWaiting(this.coming > 0 ? this.maxWaitMs : 0);
    });
  }

  /** The bounded wait: the posts on their way meanwhile join the group. */
  private startWaiting(ms: number): void {
    clearTimeout(this.waitTimer);
    this.waitTimer = undefined;
    this.scheduled = true;
    const go = () => {
      this.waitTimer = undefined;
      this.scheduled = false;
      this.pump();
    };
    if (ms > 0) this.waitTimer = setTimeout(go, ms);
    else setImmediate(go);
  }

  /** Starts groups while there are writes waiting and a free transaction (SQLite one, PostgreSQL a few). */
  private pump(): void {
    while (this.inFlight < this.engine.parallel && this.queue.length > 0) {
      const group = this.queue.splice(0, this.maxBatch);
      this.stats.groups++;
      this.stats.writes += group.length;
      this.inFlight++;
      void this.commitGroup(group).finally(() => {
        this.inFlight--;
        this.pump();
      });
    }
  }

  private async commitGroup(group: Pending[]): Promise<void> {
    let outcomes: (WriteOutcome | { error: unknown })[];
    try {
      outcomes = await this.engine.commit(
        group.map((p) => p.write),
        () => this.stats.retried++,
      );
    } catch (e) {
      for (const p of group) p.reject(e);
      return;
    }
    group.forEach((p, i) => {
      const o = outcomes[i]!;
      if ('error' in o) p.reject(o.error);
      else p.resolve(o);
    });
  }

  /** Waits for the writes already handed in. */
  async idle(): Promise<void> {
    while (this.inFlight > 0 || this.queue.length > 0) await new Promise((r) => setImmediate(r));
  }
}

/**
 * True when a write failed because its receipt number is already taken (the unique index on its sequence number,
 * submissions_receipt_seq): nothing of it was stored, and the same post may be written again with another number.
 */
export function receiptTaken(e: unknown): boolean {
  const err = e as { code?: unknown; message?: unknown; constraint?: unknown } | null;
  if (!err || typeof err !== 'object') return false;
  if (err.code === 'SQLITE_CONSTRAINT_UNIQUE') return typeof err.message === 'string' && err.message.includes('submissions.receipt_seq');
  return err.code === '23505' && err.constraint === 'submissions_receipt_seq';
}

const SUPPRESSED_SQL = 'select 1 from suppressions where address = ?';
/** The same query with PostgreSQL's numbered parameters. */
const numbered = (sql: string) => {
  let i = 0;
  return sql.replace(/\?/g, () => `$${++i}`);
};
const SURPLUS_AT_PG = numbered(SURPLUS_AT_SQL);
const SUPPRESSED_PG = numbered(SUPPRESSED_SQL);

interface Engine {
  /** Transactions at once: SQLite has one writer; on PostgreSQL groups lock their cap keys in one order, so they never deadlock. */
  readonly parallel: number;
  /**
   * One transaction for the group; an item's error is its own, a commit error is everyone's (thrown). The group
   * is written first without savepoints (two statements less per write); only when a write fails is it
   * written again with a savepoint per write (retried() says so), so that write alone is rolled back.
   */
  commit(group: AcceptedWrite[], retried: () => void): Promise<(WriteOutcome | { error: unknown })[]>;
}

class SqliteEngine implements Engine {
  readonly parallel = 1;
  private readonly insertSubmission: SQLite.Statement;
  private readonly insertOutbox: SQLite.Statement;
  private readonly insertAttachment: SQLite.Statement;
  private readonly insertCharge: SQLite.Statement;
  private readonly counts = new Map<number, SQLite.Statement>();
  private readonly begin: SQLite.Statement;
  private readonly commitStmt: SQLite.Statement;
  private readonly rollback: SQLite.Statement;
  private readonly savepoint: SQLite.Statement;
  private readonly release: SQLite.Statement;
  private readonly rollbackTo: SQLite.Statement;
  private readonly suppressed: SQLite.Statement;
  private readonly surplusAt: SQLite.Statement;
  private readonly fullCaps = new FullCaps();

  constructor(
    private readonly db: Db,
    private readonly sqlite: SQLite.Database,
  ) {
    const q = () => '?';
    this.insertSubmission = sqlite.prepare(insertSql('submissions', SUBMISSION_COLUMNS, q));
    this.insertOutbox = sqlite.prepare(insertSql('outbox', OUTBOX_COLUMNS, q));
    this.insertAttachment = sqlite.prepare(insertSql('attachments', ATTACHMENT_COLUMNS, q));
    this.insertCharge = sqlite.prepare('insert into relay_charges (key, outbox_id, at) values (?, ?, ?)');
    this.begin = sqlite.prepare('begin immediate');
    this.commitStmt = sqlite.prepare('commit');
    this.rollback = sqlite.prepare('rollback');
    this.savepoint = sqlite.prepare('savepoint fw_accept');
    this.release = sqlite.prepare('release fw_accept');
    this.rollbackTo = sqlite.prepare('rollback to fw_accept');
    this.suppressed = sqlite.prepare(SUPPRESSED_SQL).pluck();
    this.surplusAt = sqlite.prepare(SURPLUS_AT_SQL).pluck();
  }

  private count(n: number): SQLite.Statement {
    let s = this.counts.get(n);
    if (!s) this.counts.set(n, (s = this.sqlite.prepare(countSql(n, () => '?'))));
    return s;
  }

  commit(group: AcceptedWrite[], retried: () => void): Promise<(WriteOutcome | { error: unknown })[]> {
    // Kysely's lock on the one connection: nobody else's statement runs between BEGIN and COMMIT.
    return this.db.kysely.connection().execute(async () => {
      this.begin.run();
      try {
        let out: (WriteOutcome | { error: unknown })[];
        try {
          out = group.map((w) => this.one(w));
        } catch {
          // A write failed: the group again, each write in its own savepoint, so that one alone is rolled back.
          retried();
          this.undo();
          this.begin.run();
          out = group.map((w) => this.alone(w));
        }
        this.commitStmt.run();
        return out;
      } catch (e) {
        this.undo();
        throw e;
      }
    });
  }

  private undo(): void {
    if (this.sqlite.inTransaction) this.rollback.run();
    // What was learned inside the transaction may rest on its own charges, now rolled back.
    this.fullCaps.forget();
  }

  private alone(w: AcceptedWrite): WriteOutcome | { error: unknown } {
    this.savepoint.run();
    try {
      const o = this.one(w);
      this.release.run();
      return o;
    } catch (error) {
      this.rollbackTo.run();
      this.release.run();
      return { error };
    }
  }

  private one(w: AcceptedWrite): WriteOutcome {
    // This write's own rows (the intake makes new ones for another try): its state is set in place.
    const sub = w.submission;
    let queued: OutboxTable | null = null;
    if (w.autoreply && this.suppressed.get(w.autoreply.address) !== undefined) sub.autoreply = 'skipped:suppressed';
    else if (w.autoreply) {
      const { keys, at } = w.autoreply;
      // Only the keys before the first one remembered full are counted (all of them when none is).
      const known = this.fullCaps.firstFull(keys, at);
      const counted = known === -1 ? keys : keys.slice(0, known);
      let full: CapKey | null = null;
      if (counted.length > 0) {
        const used = new Map<string, number>();
        for (const r of this.count(counted.length).all(counted.flatMap((k) => [k.key, at - k.windowSeconds * 1000])) as { key: string; n: number }[]) used.set(r.key, Number(r.n));
        full = fullCap(counted, used);
        const offset = full && surplusOffset(full, used.get(full.key)!);
        if (full) this.fullCaps.remember(full, offset === null ? null : ((this.surplusAt.get(full.key, at - full.windowSeconds * 1000, offset) as number | undefined) ?? null));
      }
      full ??= known === -1 ? null : keys[known]!;
      if (full) sub.autoreply = `skipped:cap:${full.scope}`;
      else {
        queued = w.autoreply.row();
        for (const k of keys) this.insertCharge.run(k.key, queued.id, at);
        sub.autoreply = 'queued';
      }
    }
    this.insertSubmission.run(valuesOf(sub as unknown as Row, SUBMISSION_COLUMNS));
    for (const a of w.attachments) this.insertAttachment.run(valuesOf(a as unknown as Row, ATTACHMENT_COLUMNS));
    for (const m of w.mails) this.insertOutbox.run(valuesOf(m as unknown as Row, OUTBOX_COLUMNS));
    if (queued) this.insertOutbox.run(valuesOf(queued as unknown as Row, OUTBOX_COLUMNS));
    return { autoreply: sub.autoreply };
  }
}

class PgEngine implements Engine {
  readonly parallel = 4;
  private readonly fullCaps = new FullCaps();
  constructor(private readonly pool: pg.Pool) {}

  async commit(group: AcceptedWrite[], retried: () => void): Promise<(WriteOutcome | { error: unknown })[]> {
    const client = await this.pool.connect();
    let broken: unknown;
    // Every cap key of the group, locked once, in one order for every process.
    const keys = [...new Set(group.flatMap((w) => w.autoreply?.keys.map((k) => k.key) ?? []))].sort();
    const begin = async () => {
      await client.query('begin');
      if (keys.length > 0) {
        await client.query({
          name: 'fw_accept_lock',
          text: 'select count(pg_advisory_xact_lock(hashtextextended(k, 0))) from (select k from unnest($1::text[]) as k order by k) as s',
          values: [keys],
        });
      }
    };
    const undo = async () => {
      await client.query('rollback').catch((r: unknown) => (broken = r));
      this.fullCaps.forget();
    };
    try {
      await begin();
      try {
        const out: (WriteOutcome | { error: unknown })[] = [];
        try {
          for (const w of group) out.push(await this.one(client, w));
        } catch {
          // A write failed: the group again, each write in its own savepoint, so that one alone is rolled back.
          retried();
          await undo();
          await begin();
          out.length = 0;
          for (const w of group) out.push(await this.alone(client, w));
        }
        await client.query('commit');
        return out;
      } catch (e) {
        await undo();
        throw e;
      }
    } finally {
      client.release(broken instanceof Error ? broken : undefined);
    }
  }

  private async alone(client: pg.PoolClient, w: AcceptedWrite): Promise<WriteOutcome | { error: unknown }> {
    await client.query('savepoint fw_accept');
    try {
      const o = await this.one(client, w);
      await client.query('release savepoint fw_accept');
      return o;
    } catch (error) {
      await client.query('rollback to savepoint fw_accept');
      await client.query('release savepoint fw_accept');
      return { error };
    }
  }

  private async one(client: pg.PoolClient, w: AcceptedWrite): Promise<WriteOutcome> {
    const sub = { ...w.submission };
    const rows = [...w.mails];
    const p = (i: number) => `$${i + 1}`;
    const suppressed = w.autoreply && (await client.query({ name: 'fw_accept_suppressed', text: SUPPRESSED_PG, values: [w.autoreply.address] })).rowCount;
    if (w.autoreply && suppressed) sub.autoreply = 'skipped:suppressed';
    else if (w.autoreply) {
      const { keys, at } = w.autoreply;
      const known = this.fullCaps.firstFull(keys, at);
      const counted = known === -1 ? keys : keys.slice(0, known);
      let full: CapKey | null = null;
      if (counted.length > 0) {
        const r = await client.query<{ key: string; n: string }>({ name: `fw_accept_count_${counted.length}`, text: countSql(counted.length, p), values: counted.flatMap((k) => [k.key, at - k.windowSeconds * 1000]) });
        const used = new Map(r.rows.map((x) => [x.key, Number(x.n)]));
        full = fullCap(counted, used);
        const offset = full && surplusOffset(full, used.get(full.key)!);
        if (full) {
          const surplus = offset === null ? null : await client.query<{ at: string }>({ name: 'fw_accept_surplus', text: SURPLUS_AT_PG, values: [full.key, at - full.windowSeconds * 1000, offset] });
          this.fullCaps.remember(full, surplus?.rows[0] ? Number(surplus.rows[0].at) : null);
        }
      }
      full ??= known === -1 ? null : keys[known]!;
      if (full) sub.autoreply = `skipped:cap:${full.scope}`;
      else {
        const row = w.autoreply.row();
        await client.query({ name: 'fw_accept_charges', text: 'insert into relay_charges (key, outbox_id, at) select k, $2, $3 from unnest($1::text[]) as k', values: [keys.map((k) => k.key), row.id, at] });
        sub.autoreply = 'queued';
        rows.push(row);
      }
    }
    await client.query({ name: 'fw_accept_submission', text: insertSql('submissions', SUBMISSION_COLUMNS, p), values: valuesOf(sub as unknown as Row, SUBMISSION_COLUMNS) });
    for (const a of w.attachments) await client.query({ name: 'fw_accept_attachment', text: insertSql('attachments', ATTACHMENT_COLUMNS, p), values: valuesOf(a as unknown as Row, ATTACHMENT_COLUMNS) });
    for (const m of rows) await client.query({ name: 'fw_accept_outbox', text: insertSql('outbox', OUTBOX_COLUMNS, p), values: valuesOf(m as unknown as Row, OUTBOX_COLUMNS) });
    return { autoreply: sub.autoreply };
  }
}
