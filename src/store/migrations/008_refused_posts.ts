import type { Kysely } from 'kysely';

// Posts refused at the door (a reject without a valid form token and proof-of-work) are kept compactly:
// `refused` holds the reason (the symbol of the missing or bad proof), `bytes` the size of the post; their
// field values are not stored. The index serves the retention job, which deletes refused and rejected
// posts by age (retention.refused).
// biome-ignore lint: migrations see an untyped database
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('submissions').addColumn('refused', 'varchar(64)').execute();
  await db.schema.alterTable('submissions').addColumn('bytes', 'integer').execute();
  await db.schema.createIndex('submissions_action_created').on('submissions').columns(['action', 'created_at']).execute();
}

// biome-ignore lint: migrations see an untyped database
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('submissions_action_created').execute();
  await db.schema.alterTable('submissions').dropColumn('bytes').execute();
  await db.schema.alterTable('submissions').dropColumn('refused').execute();
}
