// The outbox: mails are rows written in the same transaction as the submission they belong to,
// and leave only through the worker. States: pending -> sent | dead | cancelled.
import type { Kysely, Transaction } from 'kysely';
import type { Database, OutboxTable } from '../store/schema.js';
import { newId } from '../util/id.js';
import { messageIdFor } from './message.js';

/** webhook: a chat or webhook message (src/integrations); to_addr names the target (`slack:team-chat`), body is the HTTP body. */
export type MailKind = 'notify' | 'autoreply' | 'alert' | 'digest' | 'webhook';
export type MailState = 'pending' | 'sent' | 'dead' | 'cancelled';

export interface NewMail {
  kind: MailKind;
  submissionId: string | null;
  formId: string | null;
  to: string;
  replyTo: string | null;
  subject: string;
  body: string;
  /** When the mail may leave (delayed auto-replies); default now. */
  notBefore?: number;
}

export function outboxRow(mail: NewMail, fromAddress: string, now: number): OutboxTable {
  const id = newId('m', now);
  return {
    id,
    submission_id: mail.submissionId,
    form_id: mail.formId,
    kind: mail.kind,
    to_addr: mail.to,
    reply_to: mail.replyTo,
    subject: mail.subject,
    body: mail.body,
    message_id: messageIdFor(id, fromAddress),
    state: 'pending',
    attempts: 0,
    next_attempt_at: mail.notBefore ?? now,
    locked_until: null,
    locked_by: null,
    last_error: null,
    created_at: now,
    sent_at: null,
    raw: null,
    transport: null,
  };
}

export async function enqueue(db: Kysely<Database> | Transaction<Database>, rows: OutboxTable[]): Promise<void> {
  if (rows.length > 0) await db.insertInto('outbox').values(rows).execute();
}

export interface MailFilter {
  state?: string;
  /** One kind, or any of several. */
  kind?: string | string[];
  limit?: number;
  /** Keyset cursor: mails strictly older than this (created_at, id). */
  before?: { at: number; id: string };
}

export async function listMail(db: Kysely<Database>, filter: MailFilter = {}) {
  let q = db
    .selectFrom('outbox')
    .select(['id', 'kind', 'form_id', 'submission_id', 'to_addr', 'subject', 'state', 'attempts', 'next_attempt_at', 'created_at', 'sent_at', 'last_error', 'transport'])
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(filter.limit ?? 100);
  if (filter.state) q = q.where('state', '=', filter.state);
  if (typeof filter.kind === 'string') q = q.where('kind', '=', filter.kind);
  else if (filter.kind) q = q.where('kind', 'in', filter.kind);
  const b = filter.before;
  if (b) q = q.where((eb) => eb.or([eb('created_at', '<', b.at), eb.and([eb('created_at', '=', b.at), eb('id', '<', b.id)])]));
  return q.execute();
}

export async function getMail(db: Kysely<Database>, id: string) {
  return db.selectFrom('outbox').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Puts a dead (or failing) mail back in the queue, due now. */
export async function retryMail(db: Kysely<Database>, id: string, now: number): Promise<boolean> {
  const r = await db
    .updateTable('outbox')
    .set({ state: 'pending', next_attempt_at: now, locked_until: null, locked_by: null })
    .where('id', '=', id)
    .where('state', 'in', ['dead', 'pending'])
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

export async function outboxDepth(db: Kysely<Database>): Promise<Record<string, number>> {
  const rows = await db.selectFrom('outbox').select(['state', db.fn.countAll<number>().as('n')]).groupBy('state').execute();
  return Object.fromEntries(rows.map((r) => [r.state, Number(r.n)]));
}
