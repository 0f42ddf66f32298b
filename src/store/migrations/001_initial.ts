import type { Kysely } from 'kysely';

// biome-ignore lint: migrations see an untyped database
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('submissions')
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('form_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('ip', 'varchar(64)', (c) => c.notNull())
    .addColumn('user_agent', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('lang', 'varchar(8)', (c) => c.notNull())
    .addColumn('fields', 'text', (c) => c.notNull())
    .addColumn('action', 'varchar(32)', (c) => c.notNull())
    .addColumn('score', 'double precision', (c) => c.notNull().defaultTo(0))
    .addColumn('verdict', 'text', (c) => c.notNull())
    .addColumn('autoreply', 'varchar(128)', (c) => c.notNull().defaultTo('none'))
    .execute();
  await db.schema.createIndex('submissions_form_created').on('submissions').columns(['form_id', 'created_at']).execute();

  await db.schema
    .createTable('outbox')
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('submission_id', 'varchar(64)')
    .addColumn('form_id', 'varchar(64)')
    .addColumn('kind', 'varchar(16)', (c) => c.notNull())
    .addColumn('to_addr', 'varchar(320)', (c) => c.notNull())
    .addColumn('reply_to', 'varchar(320)')
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('message_id', 'varchar(255)', (c) => c.notNull())
    .addColumn('state', 'varchar(16)', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
    .addColumn('locked_until', 'bigint')
    .addColumn('locked_by', 'varchar(64)')
    .addColumn('last_error', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('sent_at', 'bigint')
    .addColumn('raw', 'text')
    .addColumn('transport', 'varchar(16)')
    .execute();
  await db.schema.createIndex('outbox_due').on('outbox').columns(['state', 'next_attempt_at']).execute();
  await db.schema.createIndex('outbox_submission').on('outbox').column('submission_id').execute();
  await db.schema.createIndex('outbox_message_id').on('outbox').column('message_id').execute();

  await db.schema
    .createTable('secrets')
    .addColumn('name', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
}

// biome-ignore lint: migrations see an untyped database
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('secrets').execute();
  await db.schema.dropTable('outbox').execute();
  await db.schema.dropTable('submissions').execute();
}
