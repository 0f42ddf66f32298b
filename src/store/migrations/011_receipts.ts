import type { Kysely } from 'kysely';

// A short receipt number per stored submission ("K7QD-3M9X": 8 Crockford base32 characters, grouped 4-4),
// for people to read aloud and quote. Unique per instance (the index; a collision is drawn again). Rows stored
// before this migration have none, and their long id stands in for it.
// biome-ignore lint: migrations see an untyped database
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('submissions').addColumn('receipt', 'varchar(9)').execute();
  await db.schema.createIndex('submissions_receipt').unique().on('submissions').column('receipt').execute();
}

// biome-ignore lint: migrations see an untyped database
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('submissions_receipt').execute();
  await db.schema.alterTable('submissions').dropColumn('receipt').execute();
}
