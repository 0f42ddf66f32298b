// Deleting stored data: a submission with everything that belongs to it, and every row of one email
// address (a data-subject request under APPI / GDPR). Shared by the retention job, the CLI and the admin.
//
// What belongs to a submission: its files (attachments), its mails (outbox, submission_id), and what
// belongs to those mails: cap charges (relay_charges), the used unsubscribe link (link_uses), and the
// bounce / complaint / ignored-bounce events (ids sig_<outbox>, ign_<outbox>_<why>) and the abuse-link
// event (detail = the submission id). A mail that is still pending is never deleted behind the worker's
// back: the retention job keeps the submission until its mails are sent, dead or cancelled; an erasure
// deletes a pending mail that no worker holds (it must not go out after the request) and keeps the
// submission whose mail is being sent right now (run again in a few minutes).
import { byIdOrReceipt } from './receipt.js';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../store/schema.js';
import { normalizeAddress } from '../relay/address.js';
import { capsGivenBack } from '../relay/full-caps.js';

type DbOrTrx = Kysely<Database> | Transaction<Database>;

/** Rows deleted (or, in a dry run, that would be deleted), per table. */
export interface DeletedRows {
  submissions: number;
  attachments: number;
  outbox: number;
  events: number;
  relay_charges: number;
  link_uses: number;
  suppressions: number;
}

export const TABLES: readonly (keyof DeletedRows)[] = ['submissions', 'attachments', 'outbox', 'events', 'relay_charges', 'link_uses', 'suppressions'];

export const noRows = (): DeletedRows => ({ submissions: 0, attachments: 0, outbox: 0, events: 0, relay_charges: 0, link_uses: 0, suppressions: 0 });

export function addRows(a: DeletedRows, b: DeletedRows): DeletedRows {
  const out = noRows();
  for (const t of TABLES) out[t] = a[t] + b[t];
  return out;
}

/**
 * What to do with a pending mail: 'keep' (retention: its submission waits until the mail is done), or
 * 'unclaimed' (erasure: a pending mail no worker holds is deleted; one being sent keeps its submission).
 */
export type PendingPolicy = 'keep' | 'unclaimed';

export interface CascadeResult {
  rows: DeletedRows;
  /** Submissions kept because a mail of theirs is pending (retention) or being sent (erasure). */
  kept: string[];
  /** The ids of the deleted submissions. */
  deleted: string[];
}

// Bound every IN list and OR chain (SQLite's expression depth and parameter limits).
const CHUNK = 100;
function chunks<T>(xs: readonly T[], n = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
}
const count = (r: { numDeletedRows: bigint }) => Number(r.numDeletedRows);

/** A pending mail that blocks deletion under the policy (now: the worker's clock, ms). */
function blocks(m: { state: string; locked_until: number | string | null }, policy: PendingPolicy, now: number): boolean {
  if (m.state !== 'pending') return false;
  if (policy === 'keep') return true;
  return m.locked_until !== null && Number(m.locked_until) >= now;
}

/** The pending mails a conditional delete may remove under the policy. */
function deletableMails(trx: DbOrTrx, ids: string[], policy: PendingPolicy, now: number) {
  return trx
    .deleteFrom('outbox')
    .where('id', 'in', ids)
    .where((eb) =>
      policy === 'keep'
        ? eb('state', '<>', 'pending')
        : eb.or([eb('state', '<>', 'pending'), eb('locked_until', 'is', null), eb('locked_until', '<', now)]),
    );
}

/**
 * Deletes mails (by outbox id) with what belongs to them: events, cap charges, used links. Call inside a
 * transaction. Returns the ids actually deleted (a pending mail the policy protects, or one a worker
 * claimed meanwhile, stays).
 */
export async function deleteMails(trx: DbOrTrx, ids: readonly string[], policy: PendingPolicy, now: number, rows: DeletedRows): Promise<string[]> {
  const gone: string[] = [];
  for (const part of chunks([...new Set(ids)])) {
    const before = await trx.selectFrom('outbox').select('id').where('id', 'in', part).execute();
    if (before.length === 0) continue;
    rows.outbox += count(await deletableMails(trx, part, policy, now).executeTakeFirst());
    const left = new Set((await trx.selectFrom('outbox').select('id').where('id', 'in', part).execute()).map((r) => r.id));
    const done = before.map((r) => r.id).filter((id) => !left.has(id));
    if (done.length === 0) continue;
    gone.push(...done);
    rows.relay_charges += count(await trx.deleteFrom('relay_charges').where('outbox_id', 'in', done).executeTakeFirst());
    capsGivenBack();
    rows.link_uses += count(await trx.deleteFrom('link_uses').where('id', 'in', done).executeTakeFirst());
    // Bounce signals are keyed sig_<outbox>; ignored reports ign_<outbox>_<why> (exact prefix, no LIKE wildcards).
    rows.events += count(
      await trx
        .deleteFrom('events')
        .where((eb) =>
          eb.or([
            eb('id', 'in', done.map((id) => `sig_${id}`)),
            ...done.map((id) => eb.and([eb('kind', '=', 'bounce_ignored'), eb(sql<string>`substr(id, 1, ${sql.lit(id.length + 5)})`, '=', `ign_${id}_`)])),
          ]),
        )
        .executeTakeFirst(),
    );
  }
  return gone;
}

/**
 * Deletes these submissions with everything that belongs to them. Call inside a transaction (one per
 * batch). A submission with a mail the policy protects is kept, with all its rows.
 */
export async function deleteSubmissionsCascade(trx: DbOrTrx, ids: readonly string[], policy: PendingPolicy, now: number): Promise<CascadeResult> {
  const rows = noRows();
  const kept = new Set<string>();
  const deleted: string[] = [];
  for (const part of chunks([...new Set(ids)])) {
    const mails = await trx.selectFrom('outbox').select(['id', 'submission_id', 'state', 'locked_until']).where('submission_id', 'in', part).execute();
    for (const m of mails) if (blocks(m, policy, now)) kept.add(m.submission_id!);
    const candidates = part.filter((id) => !kept.has(id));
    if (candidates.length === 0) continue;
    await deleteMails(trx, mails.filter((m) => !kept.has(m.submission_id!)).map((m) => m.id), policy, now, rows);
    // A mail claimed or queued again meanwhile is still there: its submission stays.
    for (const r of await trx.selectFrom('outbox').select('submission_id').where('submission_id', 'in', candidates).execute()) kept.add(r.submission_id!);
    const go = candidates.filter((id) => !kept.has(id));
    if (go.length === 0) continue;
    rows.events += count(await trx.deleteFrom('events').where('kind', '=', 'abuse_link').where('detail', 'in', go).executeTakeFirst());
    rows.attachments += count(await trx.deleteFrom('attachments').where('submission_id', 'in', go).executeTakeFirst());
    rows.submissions += count(await trx.deleteFrom('submissions').where('id', 'in', go).executeTakeFirst());
    deleted.push(...go);
  }
  return { rows, kept: [...kept], deleted };
}

// ---- Erasure requests (CLI `submissions delete`, later the admin) ----

/** How an address is compared: the whole value, trimmed, case-insensitively (never a substring, never '+tag' folding). */
export const sameAddress = (a: string, b: string): boolean => a.trim().toLowerCase() === b.trim().toLowerCase();

/**
 * The address as a word of a longer text ("write to a@b.jp."), never as part of another address
 * ("xa@b.jp", "a@b.jp.evil"). Case-insensitive.
 */
export function mentionsAddress(text: string, address: string): boolean {
  const esc = address.trim().replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(?<![\\w.!#$%&'*+/=?^\`{|}~-])${esc}(?![\\w-]|\\.[\\w-])`, 'iu').test(text);
}

function values(fields: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(fields);
  } catch {
    return [];
  }
  if (!parsed || typeof parsed !== 'object') return [];
  return Object.values(parsed as Record<string, unknown>).flatMap((v) => (Array.isArray(v) ? v : [v])).filter((v): v is string => typeof v === 'string');
}

export interface MatchedSubmission {
  id: string;
  receipt: string | null;
  form: string;
  created_at: number;
}

export interface ErasurePlan {
  /** What the request names: a submission id / receipt, or an address. */
  target: { id: string } | { email: string };
  submissions: MatchedSubmission[];
  /** Mails to the address whose submission is not matched (or that have none), deleted on their own. */
  mails: string[];
  /** Events naming the address (bounces, complaints, abuse links) not already covered by a deleted mail. */
  events: string[];
  /** Submissions that mention the address inside a longer text: not deleted (they may be someone else's), listed for the owner. */
  mentioned: MatchedSubmission[];
  /** The suppression entry for the address (its canonical mailbox), if any. */
  suppression: string | null;
}

export interface ErasureResult {
  plan: ErasurePlan;
  rows: DeletedRows;
  /** Submissions kept because a mail of theirs is being sent right now: run the request again in a few minutes. */
  kept: string[];
  /** Mails kept for the same reason. */
  keptMails: string[];
  /** True when nothing was written (a dry run). */
  dryRun: boolean;
}

const SCAN = 1000;

/** Finds every row of an address. Reads only; scans in keyset pages, so it never holds a long lock. */
export async function planEmailErasure(db: Kysely<Database>, email: string): Promise<ErasurePlan> {
  const needle = email.trim().toLowerCase();
  const submissions: MatchedSubmission[] = [];
  const mentioned: MatchedSubmission[] = [];
  // Every submission: the address must be a whole field value, so SQL LIKE (whose case folding differs
  // between SQLite and PostgreSQL) cannot decide it; the fields are compared here.
  for (let after = ''; ; ) {
    const page = await db.selectFrom('submissions').select(['id', 'receipt', 'form_id', 'created_at', 'fields']).where('id', '>', after).orderBy('id').limit(SCAN).execute();
    for (const r of page) {
      const vs = values(r.fields);
      const s = { id: r.id, receipt: r.receipt ?? null, form: r.form_id, created_at: Number(r.created_at) };
      if (vs.some((v) => sameAddress(v, needle))) submissions.push(s);
      else if (vs.some((v) => mentionsAddress(v, needle))) mentioned.push(s);
    }
    if (page.length < SCAN) break;
    after = page[page.length - 1]!.id;
  }
  const matched = new Set(submissions.map((s) => s.id));
  const mails: string[] = [];
  for (let after = ''; ; ) {
    const page = await db.selectFrom('outbox').select(['id', 'to_addr', 'submission_id']).where('id', '>', after).orderBy('id').limit(SCAN).execute();
    for (const m of page) if (sameAddress(m.to_addr, needle) && !(m.submission_id && matched.has(m.submission_id))) mails.push(m.id);
    if (page.length < SCAN) break;
    after = page[page.length - 1]!.id;
  }
  const events: string[] = [];
  for (let after = ''; ; ) {
    const page = await db.selectFrom('events').select(['id', 'address']).where('address', 'is not', null).where('id', '>', after).orderBy('id').limit(SCAN).execute();
    for (const e of page) if (e.address !== null && sameAddress(e.address, needle)) events.push(e.id);
    if (page.length < SCAN) break;
    after = page[page.length - 1]!.id;
  }
  const sup = await db.selectFrom('suppressions').select('address').where('address', '=', normalizeAddress(email)).executeTakeFirst();
  const byDate = (a: MatchedSubmission, b: MatchedSubmission) => a.created_at - b.created_at || (a.id < b.id ? -1 : 1);
  return { target: { email }, submissions: submissions.sort(byDate), mails, events, mentioned: mentioned.sort(byDate), suppression: sup?.address ?? null };
}

/** One submission by its id or its receipt number (K7QD-3M9X, any case). */
export async function planSubmissionErasure(db: Kysely<Database>, idOrReceipt: string): Promise<ErasurePlan | null> {
  const key = idOrReceipt.trim();
  // A receipt number as a person types it (any case, with or without the hyphen, O for 0): parseReceipt.
  const r = await db
    .selectFrom('submissions')
    .select(['id', 'receipt', 'form_id', 'created_at'])
    .where(await byIdOrReceipt(db, key))
    .executeTakeFirst();
  if (!r) return null;
  return { target: { id: key }, submissions: [{ id: r.id, receipt: r.receipt ?? null, form: r.form_id, created_at: Number(r.created_at) }], mails: [], events: [], mentioned: [], suppression: null };
}

class DryRun extends Error {}

/**
 * Carries out a plan in one transaction, so a request is erased whole or not at all. With dryRun the same
 * statements run and are rolled back: the counts are exactly what a real run would delete now.
 * includeSuppression also removes the address's suppression entry (by default it stays: it is what keeps
 * Formwarden from ever mailing the address again).
 */
export async function executeErasure(db: Kysely<Database>, plan: ErasurePlan, opts: { now: number; dryRun: boolean; includeSuppression?: boolean }): Promise<ErasureResult> {
  let out: Omit<ErasureResult, 'plan' | 'dryRun'> | null = null;
  try {
    await db.transaction().execute(async (trx) => {
      const cascade = await deleteSubmissionsCascade(
        trx,
        plan.submissions.map((s) => s.id),
        'unclaimed',
        opts.now,
      );
      const rows = cascade.rows;
      const gone = await deleteMails(trx, plan.mails, 'unclaimed', opts.now, rows);
      const goneSet = new Set(gone);
      const keptMails = plan.mails.filter((id) => !goneSet.has(id));
      if (plan.events.length) for (const part of chunks(plan.events)) rows.events += count(await trx.deleteFrom('events').where('id', 'in', part).executeTakeFirst());
      if (opts.includeSuppression && plan.suppression) {
        rows.suppressions += count(await trx.deleteFrom('suppressions').where('address', '=', plan.suppression).executeTakeFirst());
      }
      out = { rows, kept: cascade.kept, keptMails };
      if (opts.dryRun) throw new DryRun();
    });
  } catch (e) {
    if (!(e instanceof DryRun)) throw e;
  }
  const done = out as Omit<ErasureResult, 'plan' | 'dryRun'> | null;
  if (!done) throw new Error('erasure: no result');
  return { plan, ...done, dryRun: opts.dryRun };
}
