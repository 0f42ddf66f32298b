import { PostgresAdapter, type Kysely } from 'kysely';

// DMARC aggregate reports (RFC 7489, docs/dmarc.md): one row per report, unique on who sent it, its id and
// the policy domain, so a report imported twice is stored once; one row per source row of it. Times are
// milliseconds; the published policy and the DKIM/SPF domains are JSON text.
// biome-ignore lint: migrations see an untyped database
export async function up(db: Kysely<any>): Promise<void> {
  const pg = db.getExecutor().adapter instanceof PostgresAdapter;
  await db.schema
    .createTable('dmarc_reports')
    .addColumn('id', 'integer', (c) => (pg ? c.primaryKey().generatedByDefaultAsIdentity() : c.primaryKey()))
    .addColumn('org_name', 'text', (c) => c.notNull())
    .addColumn('report_id', 'text', (c) => c.notNull())
    .addColumn('domain', 'text', (c) => c.notNull())
    .addColumn('email', 'text')
    .addColumn('begin_at', 'bigint', (c) => c.notNull())
    .addColumn('end_at', 'bigint', (c) => c.notNull())
    .addColumn('policy', 'text', (c) => c.notNull())
    .addColumn('records', 'integer', (c) => c.notNull())
    .addColumn('messages', 'bigint', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addUniqueConstraint('dmarc_reports_identity', ['org_name', 'report_id', 'domain'])
    .execute();
  await db.schema.createIndex('dmarc_reports_domain_end').on('dmarc_reports').columns(['domain', 'end_at']).execute();
  await db.schema.createIndex('dmarc_reports_end').on('dmarc_reports').column('end_at').execute();
  await db.schema
    .createTable('dmarc_records')
    .addColumn('id', 'integer', (c) => (pg ? c.primaryKey().generatedByDefaultAsIdentity() : c.primaryKey()))
    .addColumn('report', 'integer', (c) => c.notNull())
    .addColumn('source_ip', 'text', (c) => c.notNull())
    .addColumn('bad_source_ip', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('count', 'bigint', (c) => c.notNull())
    .addColumn('disposition', 'text', (c) => c.notNull())
    .addColumn('dkim', 'text', (c) => c.notNull())
    .addColumn('spf', 'text', (c) => c.notNull())
    .addColumn('header_from', 'text', (c) => c.notNull())
    .addColumn('envelope_from', 'text')
    .addColumn('dkim_domains', 'text', (c) => c.notNull())
    .addColumn('spf_domains', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('dmarc_records_report').on('dmarc_records').column('report').execute();
}

// biome-ignore lint: migrations see an untyped database
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('dmarc_records').execute();
  await db.schema.dropTable('dmarc_reports').execute();
}
