import type { Kysely } from 'kysely';

// Every index a submission is written into costs its transaction a page per index: one page for a whole group
// of posts when the key grows with time (the new entries sit side by side at the end), but one page per post
// when the key is random, since each entry lands on a page of its own. (form_id, content_hash, created_at)
// was such a random key; over 100,000 submissions it made the accepted path's commits write about three times
// the pages (bench/intake.ts). Its one reader, the burst check before a delayed auto-reply leaves
// (src/relay/recheck.ts), looks at one form's last ten minutes: the dashboard's (form_id, created_at, action)
// index, with content_hash added, answers that from the index alone, so one time-ordered index replaces both.
// biome-ignore lint: migrations see an untyped database
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('submissions_form_created_action_hash').on('submissions').columns(['form_id', 'created_at', 'action', 'content_hash']).execute();
  await db.schema.dropIndex('submissions_form_created_action').execute();
  await db.schema.dropIndex('submissions_form_hash').execute();
}

// biome-ignore lint: migrations see an untyped database
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('submissions_form_hash').on('submissions').columns(['form_id', 'content_hash', 'created_at']).execute();
  await db.schema.createIndex('submissions_form_created_action').on('submissions').columns(['form_id', 'created_at', 'action']).execute();
  await db.schema.dropIndex('submissions_form_created_action_hash').execute();
}
