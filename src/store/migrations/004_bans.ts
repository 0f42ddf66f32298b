import type { Kysely } from 'kysely';

// Temporary bans, kept in the database so every process applies them and the CLI can list and lift them.
// biome-ignore lint: migrations see an untyped database
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('bans')
    .addColumn('key', 'varchar(100)', (c) => c.primaryKey())
    .addColumn('until_at', 'bigint', (c) => c.notNull())
    .addColumn('level', 'integer', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute();
}

// biome-ignore lint: migrations see an untyped database
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('bans').execute();
}
