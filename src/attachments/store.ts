// Stored attachments: written with their submission (one transaction), read by the worker for the owner's
// notification, deleted with their submission or after retention.attachments, and counted.
import type { Kysely, Transaction } from 'kysely';
import type { AcceptedFile } from '../forms/validate.js';
import type { AttachmentTable, Database } from '../store/schema.js';
import { newId } from '../util/id.js';

type DbOrTrx = Kysely<Database> | Transaction<Database>;

export async function insertAttachments(trx: DbOrTrx, submissionId: string, files: readonly AcceptedFile[], now: number): Promise<string[]> {
  if (files.length === 0) return [];
  const rows = attachmentRows(submissionId, files, now);
  // One row per statement: a multi-row insert of several megabytes each would be one huge statement.
  for (const row of rows) await trx.insertInto('attachments').values(row).execute();
  return rows.map((r) => r.id);
}

/** The rows of one submission's files (the accept path writes them with src/submissions/write.ts). */
export function attachmentRows(submissionId: string, files: readonly AcceptedFile[], now: number): AttachmentTable[] {
  // Ids in the order the files came (their time part counts up), so mails list them in that order.
  return files.map((f, i) => ({
    id: newId('a', now + i),
    submission_id: submissionId,
    field: f.field,
    filename: f.filename,
    content_type: f.contentType,
    size: f.size,
    sha256: f.sha256,
    data: f.data,
    created_at: now,
  }));
}

/** What a mail attaches: the cleaned name, the sniffed type, the bytes. */
export interface MailAttachment {
  filename: string;
  contentType: string;
  content: Buffer;
}

export async function attachmentsForMail(db: DbOrTrx, submissionId: string): Promise<MailAttachment[]> {
  const rows = await db
    .selectFrom('attachments')
    .select(['filename', 'content_type', 'data'])
    .where('submission_id', '=', submissionId)
    .orderBy('id')
    .execute();
  return rows.map((r) => ({ filename: r.filename, contentType: r.content_type, content: Buffer.from(r.data) }));
}

/** The files of one submission without their bytes (for listings and the admin). */
export async function listAttachments(db: DbOrTrx, submissionId: string) {
  return db
    .selectFrom('attachments')
    .select(['id', 'field', 'filename', 'content_type', 'size', 'sha256', 'created_at'])
    .where('submission_id', '=', submissionId)
    .orderBy('id')
    .execute();
}

/** Files stored, and their bytes (retention and status). */
export async function attachmentUsage(db: DbOrTrx): Promise<{ files: number; bytes: number }> {
  const row = await db
    .selectFrom('attachments')
    .select((eb) => [eb.fn.countAll<number>().as('files'), eb.fn.coalesce(eb.fn.sum<number>('size'), eb.val(0)).as('bytes')])
    .executeTakeFirst();
  return { files: Number(row?.files ?? 0), bytes: Number(row?.bytes ?? 0) };
}

/** Deletes the files of these submissions; returns the bytes freed. */
export async function deleteAttachmentsOf(db: DbOrTrx, submissionIds: readonly string[]): Promise<number> {
  if (submissionIds.length === 0) return 0;
  const sized = await db.selectFrom('attachments').select('size').where('submission_id', 'in', submissionIds).execute();
  if (sized.length === 0) return 0;
  await db.deleteFrom('attachments').where('submission_id', 'in', submissionIds).execute();
  return sized.reduce((n, r) => n + Number(r.size), 0);
}
