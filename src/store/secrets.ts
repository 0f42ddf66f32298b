// Secrets that the configuration does not set are generated once and kept in the database,
// so a restart (or a second process on the same database) uses the same keys.
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Db } from './db.js';
import type { Database } from './schema.js';

export async function ensureSecret(db: Db, name: string, configured?: string): Promise<string> {
  if (configured) return configured;
  return ensureSecretIn(db.kysely, name);
}

export async function ensureSecretIn(db: Kysely<Database>, name: string): Promise<string> {
  const existing = await db.selectFrom('secrets').select('value').where('name', '=', name).executeTakeFirst();
  if (existing) return existing.value;
  const value = randomBytes(32).toString('base64url');
  await db
    .insertInto('secrets')
    .values({ name, value, created_at: Date.now() })
    .onConflict((oc) => oc.column('name').doNothing())
    .execute();
  // Another process may have won the race: read back what is stored.
  const stored = await db.selectFrom('secrets').select('value').where('name', '=', name).executeTakeFirstOrThrow();
  return stored.value;
}
