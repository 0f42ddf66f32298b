import { sql, type Kysely } from 'kysely';

// Receipt numbers become a keyed permutation of a sequence number (src/submissions/receipt.ts): the sequence is
// stored and carries the unique index, which grows at its end, in place of the unique index on the receipt
// itself, whose random keys cost every write a page of their own (bench/intake.ts). Rows stored before keep
// their random receipt and no sequence; a small index covers only them, for finding them by receipt.
// biome-ignore lint: migrations see an untyped database
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('submissions').addColumn('receipt_seq', 'bigint').execute();
  await db.schema.createIndex('submissions_receipt_seq').unique().on('submissions').column('receipt_seq').execute();
  await db.schema.createIndex('submissions_receipt_legacy').on('submissions').column('receipt').where(sql<boolean>`receipt_seq is null`).execute();
  await db.schema.dropIndex('submissions_receipt').execute();
}

// biome-ignore lint: migrations see an untyped database
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('submissions_receipt').unique().on('submissions').column('receipt').execute();
  await db.schema.dropIndex('submissions_receipt_legacy').execute();
  await db.schema.dropIndex('submissions_receipt_seq').execute();
  await db.schema.alterTable('submissions').dropColumn('receipt_seq').execute();
}
