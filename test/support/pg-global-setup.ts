// Checks once that PostgreSQL answers. In CI a missing server fails the run; elsewhere the
// PostgreSQL project is skipped with a clear message.
import pg from 'pg';
import type { TestProject } from 'vitest/node';

export const PG_ADMIN_URL = process.env.FORMWARDEN_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export default async function setup(project: TestProject): Promise<void> {
  // A generous deadline: on a loaded machine a busy server may take seconds to accept a connection.
  const client = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 30_000 });
  let ok = false;
  try {
    await client.connect();
    await client.query('select 1');
    ok = true;
  } catch (e) {
    if (process.env.CI) throw new Error(`PostgreSQL is not reachable at ${PG_ADMIN_URL}: ${String(e)}`);
    process.stderr.write(`\n[postgres] skipped: PostgreSQL is not reachable at ${PG_ADMIN_URL} (${String(e)}); set FORMWARDEN_TEST_PG\n`);
  } finally {
    await client.end().catch(() => {});
  }
  project.provide('pgAvailable', ok);
}

declare module 'vitest' {
  export interface ProvidedContext {
    pgAvailable: boolean;
  }
}
