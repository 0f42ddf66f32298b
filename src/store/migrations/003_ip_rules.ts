import type { Kysely } from 'kysely';

// Block and allow entries added from the CLI (the config's lists stay in the config).
// biome-ignore lint: migrations see an untyped database
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('ip_rules')
    .addColumn('cidr', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('list', 'varchar(8)', (c) => c.notNull())
    .addColumn('expires_at', 'bigint')
    .addColumn('note', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
}

// biome-ignore lint: migrations see an untyped database
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('ip_rules').execute();
}
