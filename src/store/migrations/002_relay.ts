import type { Kysely } from 'kysely';

// Relay protection: cap charges, the suppression list, breaker state, single-use links, and an event
// log (abuse signals, alerts, bounces) the monitor reads.
// biome-ignore lint: migrations see an untyped database
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('relay_charges')
    .addColumn('key', 'varchar(400)', (c) => c.notNull())
    .addColumn('outbox_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('relay_charges_pk', ['key', 'outbox_id'])
    .execute();
  await db.schema.createIndex('relay_charges_key_at').on('relay_charges').columns(['key', 'at']).execute();
  await db.schema.createIndex('relay_charges_outbox').on('relay_charges').column('outbox_id').execute();

  await db.schema
    .createTable('suppressions')
    .addColumn('address', 'varchar(320)', (c) => c.primaryKey())
    .addColumn('reason', 'varchar(32)', (c) => c.notNull())
    .addColumn('note', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('breakers')
    .addColumn('scope', 'varchar(100)', (c) => c.primaryKey())
    .addColumn('state', 'varchar(16)', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('tripped_at', 'bigint')
    .addColumn('retry_at', 'bigint')
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('link_uses')
    .addColumn('id', 'varchar(100)', (c) => c.primaryKey())
    .addColumn('used_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('events')
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('kind', 'varchar(32)', (c) => c.notNull())
    .addColumn('form_id', 'varchar(64)')
    .addColumn('address', 'varchar(320)')
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('detail', 'text', (c) => c.notNull().defaultTo(''))
    .execute();
  await db.schema.createIndex('events_kind_at').on('events').columns(['kind', 'at']).execute();

  await db.schema.alterTable('submissions').addColumn('notify', 'varchar(32)', (c) => c.notNull().defaultTo('queued')).execute();
  await db.schema.alterTable('submissions').addColumn('content_hash', 'varchar(64)', (c) => c.notNull().defaultTo('')).execute();
  await db.schema.alterTable('submissions').addColumn('autoreply_to', 'varchar(320)').execute();
  await db.schema.createIndex('submissions_form_hash').on('submissions').columns(['form_id', 'content_hash', 'created_at']).execute();
  await db.schema.createIndex('outbox_form_kind_created').on('outbox').columns(['form_id', 'kind', 'created_at']).execute();
  await db.schema.createIndex('submissions_created').on('submissions').column('created_at').execute();
  await db.schema.createIndex('submissions_notify').on('submissions').columns(['notify', 'form_id']).execute();
}

// biome-ignore lint: migrations see an untyped database
export async function down(db: Kysely<any>): Promise<void> {
  for (const t of ['events', 'link_uses', 'breakers', 'suppressions', 'relay_charges']) await db.schema.dropTable(t).execute();
}
