// A fresh, empty database for one test file: a temporary SQLite file, or a new PostgreSQL database
// (dropped afterwards) when the test runs in the postgres project.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, inject } from 'vitest';
import { openAndMigrate, type Db } from '../../src/store/db.js';
import { PG_ADMIN_URL } from './pg-global-setup.js';

export type TestDialect = 'sqlite' | 'postgres';
export const dialect: TestDialect = process.env.FW_TEST_DB === 'postgres' ? 'postgres' : 'sqlite';

/** True when this test file must be skipped (postgres project without a server outside CI). */
export function dbUnavailable(): boolean {
  return dialect === 'postgres' && !inject('pgAvailable');
}

export interface TestDatabase {
  url: string;
  dir: string;
  drop(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const dir = mkdtempSync(path.join(tmpdir(), 'fw-test-'));
  if (dialect === 'sqlite') {
    return { url: `sqlite:${path.join(dir, 'test.db')}`, dir, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const name = `fw_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    dir,
    async drop() {
      rmSync(dir, { recursive: true, force: true });
      const c = new pg.Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

/**
 * A fresh, migrated database for the tests of the describe block (or file) it is called in: made before them,
 * closed and dropped after. Read `db` and `tdb` inside the tests (they exist once beforeAll has run).
 */
export function useMigratedDatabase(): { readonly db: Db; readonly tdb: TestDatabase } {
  let tdb: TestDatabase | undefined;
  let db: Db | undefined;
  beforeAll(async () => {
    tdb = await createTestDatabase();
    db = await openAndMigrate(tdb.url, tdb.dir);
  });
  afterAll(async () => {
    await db?.close();
    await tdb?.drop();
  });
  return {
    get db() {
      if (!db) throw new Error('useMigratedDatabase: read db inside a test');
      return db;
    },
    get tdb() {
      if (!tdb) throw new Error('useMigratedDatabase: read tdb inside a test');
      return tdb;
    },
  };
}
