import { PostgresAdapter, type Kysely } from 'kysely';

// Files sent with a form's file fields (docs/attachments.md), written in the same transaction as their
// submission. `filename` is cleaned and for display only; `content_type` is sniffed from the bytes; `data`
// is the file itself (bytea on PostgreSQL, blob on SQLite). Deleted with their submission, or on their
// own after retention.attachments.
// biome-ignore lint: migrations see an untyped database
export async function up(db: Kysely<any>): Promise<void> {
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
  await db.schema
    .createTable('attachments')
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('submission_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('field', 'varchar(64)', (c) => c.notNull())
    .addColumn('filename', 'varchar(255)', (c) => c.notNull())
    .addColumn('content_type', 'varchar(128)', (c) => c.notNull())
    .addColumn('size', 'integer', (c) => c.notNull())
    .addColumn('sha256', 'varchar(64)', (c) => c.notNull())
    .addColumn('data', postgres ? 'bytea' : 'blob', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('attachments_submission').on('attachments').column('submission_id').execute();
  await db.schema.createIndex('attachments_created').on('attachments').column('created_at').execute();
}

// biome-ignore lint: migrations see an untyped database
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('attachments').execute();
}
