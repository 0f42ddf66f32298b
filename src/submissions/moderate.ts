// The owner's decisions on a stored inquiry (the console's actions): release a quarantined or rejected one
// (its notification now, and its form's webhooks told it was accepted; an auto-reply only when the owner
// asks, and then through the same address rules, suppression, breaker and caps as at intake), or mark one as
// spam (out of the digest, its pending auto-reply cancelled with its caps refunded). One transaction each; a
// second click finds nothing to do.
import type { Kysely } from 'kysely';
import type { Config } from '../config/schema.js';
import type { WebhookPlanner } from '../integrations/plan.js';
import type { Lang } from '../i18n/messages.js';
import { enqueue, outboxRow } from '../mail/outbox.js';
import { planAutoreply, planNotifications } from '../mail/plan.js';
import type { Monitor } from '../monitor/breaker.js';
import { chargeCaps, recordCancelledAutoreply } from '../relay/budget.js';
import { capKeys } from '../relay/caps.js';
import { isSuppressed } from '../relay/suppression.js';
import type { Db } from '../store/db.js';
import type { Database } from '../store/schema.js';
import { formatBytes } from '../i18n/messages.js';
import { listAttachments } from '../attachments/store.js';
import { capPolicyFor } from './accept.js';

export interface ModerateDeps {
  config: Config;
  db: Db;
  fromAddress: string;
  /** The sender of a form's mail when its site has its own (IntakeDeps.senderAddress). */
  senderAddress?: (formId: string) => string | undefined;
  monitor?: Monitor;
  /** The forms' webhooks (IntakeDeps.webhooks): a released inquiry is told to those `on: [accepted]`. */
  webhooks?: WebhookPlanner;
}

export type ReleaseResult =
  | { ok: true; notifications: number; autoreply: string; webhooks: number }
  | { ok: false; code: 'E_NOT_FOUND' | 'E_NOT_HELD' | 'E_NO_FIELDS' | 'E_NO_FORM' };

export const HELD_ACTIONS = ['quarantine', 'reject'];

/** What the owner's notification says about the files, from the stored rows (as fileSummaries does at intake). */
async function storedFileSummaries(db: Kysely<Database>, id: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of await listAttachments(db, id)) {
    const line = `${f.filename} (${f.content_type.split(';')[0]}, ${formatBytes(Number(f.size))})`;
    out[f.field] = out[f.field] ? `${out[f.field]}\n${line}` : line;
  }
  return out;
}

export async function releaseSubmission(deps: ModerateDeps, id: string, opts: { autoreply: boolean; by: string; now: number }): Promise<ReleaseResult> {
  const k = deps.db.kysely;
  const row = await k.selectFrom('submissions').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) return { ok: false, code: 'E_NOT_FOUND' };
  if (!HELD_ACTIONS.includes(row.action)) return { ok: false, code: 'E_NOT_HELD' };
  // A post refused at the door kept no fields: there is nothing to deliver.
  if (row.refused) return { ok: false, code: 'E_NO_FIELDS' };
  const form = deps.config.forms.find((f) => f.id === row.form_id);
  if (!form) return { ok: false, code: 'E_NO_FORM' };
  const values = JSON.parse(row.fields) as Record<string, string>;
  const planned = { id: row.id, receipt: row.receipt ?? undefined, form, values, lang: (row.lang === 'en' ? 'en' : 'ja') as Lang, createdAt: new Date(row.created_at) };
  const fromAddress = deps.senderAddress?.(form.id) ?? deps.fromAddress;
  const notifyRows = planNotifications(deps.config, { ...planned, values: { ...values, ...(await storedFileSummaries(k, id)) } }).map((m) => outboxRow(m, fromAddress, opts.now));
  // The owner accepted it: chat and webhook targets that take accepted inquiries hear of it as of any other.
  const hookRows = deps.webhooks?.rows({ id: row.id, receipt: row.receipt ?? undefined, form, values, createdAt: planned.createdAt, action: 'accept', score: row.score }, deps.fromAddress, opts.now) ?? [];

  let autoreplyState = 'skipped:not_requested';
  const plan = opts.autoreply ? planAutoreply(deps.config, planned, opts.now, false) : null;
  if (opts.autoreply) {
    if (!plan) autoreplyState = 'none';
    else if (plan.withheld) autoreplyState = `skipped:address:${plan.withheld}`;
    else if (deps.monitor?.isOpen(form.id)) autoreplyState = 'skipped:breaker';
    else if (await isSuppressed(k, plan.key)) autoreplyState = 'skipped:suppressed';
    else autoreplyState = 'pending';
  }
  const autoreplyRow = plan?.mail && autoreplyState === 'pending' ? outboxRow(plan.mail, fromAddress, opts.now) : null;
  const verdict = { ...(JSON.parse(row.verdict) as object), released: { by: opts.by, at: opts.now, from: row.action } };

  const done = await k.transaction().execute(async (trx) => {
    if (autoreplyRow && plan) {
      const charged = await chargeCaps(trx, deps.db.dialect, capKeys(form.id, plan.key, capPolicyFor(deps.config, form)), autoreplyRow.id, opts.now);
      autoreplyState = charged.ok ? 'queued' : `skipped:cap:${charged.scope}`;
    }
    // Only a row still held is released: two clicks, or two owners, release it once.
    const r = await trx
      .updateTable('submissions')
      .set({ action: 'accept', notify: notifyRows.length ? 'queued' : 'none', autoreply: autoreplyState, verdict: JSON.stringify(verdict), autoreply_to: plan?.key ?? row.autoreply_to })
      .where('id', '=', id)
      .where('action', 'in', HELD_ACTIONS)
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) !== 1) throw new NotHeld();
    await enqueue(trx, [...notifyRows, ...(autoreplyState === 'queued' && autoreplyRow ? [autoreplyRow] : []), ...hookRows]);
    return true;
  }).catch((e: unknown) => {
    if (e instanceof NotHeld) return false;
    throw e;
  });
  if (!done) return { ok: false, code: 'E_NOT_HELD' };
  return { ok: true, notifications: notifyRows.length, autoreply: autoreplyState, webhooks: hookRows.length };
}

class NotHeld extends Error {}

export type SpamResult = { ok: true; cancelled: number } | { ok: false; code: 'E_NOT_FOUND' | 'E_ALREADY_SPAM' };

/**
 * Marks an inquiry as spam: it becomes a reject, leaves the digest, and an auto-reply still waiting in the
 * outbox is cancelled (its caps refunded). Mail already sent stays sent.
 */
export async function markSpam(deps: Pick<ModerateDeps, 'db'>, id: string, opts: { by: string; now: number }): Promise<SpamResult> {
  const k = deps.db.kysely;
  const row = await k.selectFrom('submissions').select(['action', 'verdict', 'notify']).where('id', '=', id).executeTakeFirst();
  if (!row) return { ok: false, code: 'E_NOT_FOUND' };
  if (row.action === 'reject') return { ok: false, code: 'E_ALREADY_SPAM' };
  const verdict = { ...(JSON.parse(row.verdict) as object), spam: { by: opts.by, at: opts.now, from: row.action } };
  return k.transaction().execute(async (trx) => {
    const pending = await trx.selectFrom('outbox').select(['id', 'submission_id']).where('submission_id', '=', id).where('kind', '=', 'autoreply').where('state', '=', 'pending').execute();
    let cancelled = 0;
    for (const m of pending) {
      // A row a worker holds right now (its lease runs) is left to it: only the one in flight can leave.
      const r = await trx
        .updateTable('outbox')
        .set({ state: 'cancelled', last_error: 'marked as spam by the owner' })
        .where('id', '=', m.id)
        .where('state', '=', 'pending')
        .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<', opts.now)]))
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) === 1) {
        await recordCancelledAutoreply(trx, m, 'spam');
        cancelled++;
      }
    }
    await trx
      .updateTable('submissions')
      .set({ action: 'reject', verdict: JSON.stringify(verdict), ...(row.notify === 'digest' ? { notify: 'none' } : {}) })
      .where('id', '=', id)
      .execute();
    return { ok: true as const, cancelled };
  });
}
