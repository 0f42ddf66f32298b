// Opening the database named by `database.url` and bringing its schema up to date.
// SQLite (better-sqlite3, WAL, synchronous=NORMAL: survives a process crash, a power loss may drop the
// last commits) is the default; PostgreSQL (pg) when the URL says postgres://.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { CompiledQuery, Kysely, Migrator, PostgresDialect, SqliteDialect, type DatabaseConnection, type Driver, type Migration } from 'kysely';
import type pg from 'pg';
import { loadLater } from '../util/load-later.js';
import * as m001 from './migrations/001_initial.js';
import * as m002 from './migrations/002_relay.js';
import * as m003 from './migrations/003_ip_rules.js';
import * as m004 from './migrations/004_bans.js';
import * as m005 from './migrations/005_kv.js';
import * as m006 from './migrations/006_canonical_suppressions.js';
import * as m008 from './migrations/008_refused_posts.js';
import * as m010 from './migrations/010_attachments.js';
import * as m011 from './migrations/011_receipts.js';
import * as m012 from './migrations/012_console.js';
import * as m013 from './migrations/013_dashboard_index.js';
import * as m014 from './migrations/014_dmarc.js';
import * as m015 from './migrations/015_append_only_indexes.js';
import * as m016 from './migrations/016_receipt_sequence.js';
import type { Database } from './schema.js';

export type Dialect = 'sqlite' | 'postgres';

export interface Db {
  kysely: Kysely<Database>;
  dialect: Dialect;
  close(): Promise<void>;
  /**
   * The driver under Kysely, for the accept path's prepared statements (src/submissions/write.ts) only.
   * On SQLite it is the one connection Kysely serialises: use it inside `kysely.connection().execute()`.
   */
  raw?: { sqlite: SQLite.Database } | { pool: pg.Pool };
}

export const migrations: Record<string, Migration> = { '001_initial': m001, '002_relay': m002, '003_ip_rules': m003, '004_bans': m004, '005_kv': m005, '006_canonical_suppressions': m006, '008_refused_posts': m008, '010_attachments': m010, '011_receipts': m011, '012_console': m012, '013_dashboard_index': m013, '014_dmarc': m014, '015_append_only_indexes': m015, '016_receipt_sequence': m016 };

/** pg is loaded only when a PostgreSQL URL is used. */
const pgModule = loadLater<typeof pg>('pg');

// int8 columns hold millisecond timestamps: read them as numbers, not strings.
const pgTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === 20) return (v: string) => Number(v);
    // biome-ignore lint: pg's own lookup
    return (pgModule().types.getTypeParser as any)(oid, format);
  },
};


/** SQLite's page cache per connection, KiB. */
export const SQLITE_CACHE_KIB = 4096;

export function openDb(url: string, baseDir = process.cwd()): Db {
  if (url.startsWith('sqlite:')) {
    const file = sqliteFile(url, baseDir);
    if (file !== ':memory:') mkdirSync(path.dirname(file), { recursive: true });
    const sqlite = new SQLite(file);
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma('busy_timeout = 10000');
    // better-sqlite3 builds SQLite with a 16 MiB page cache; the intake writes at the end of time-ordered
    // indexes and the console reads through indexes, so 4 MiB serve as well (intake bench: the same CPU per
    // post, peak RSS 12-17 MB lower), and the operating system caches the file besides.
    sqlite.pragma(`cache_size = -${SQLITE_CACHE_KIB}`);
    cachePreparedStatements(sqlite);
    const kysely = new Kysely<Database>({ dialect: new ImmediateSqliteDialect({ database: sqlite }) });
    return { kysely, dialect: 'sqlite', close: () => kysely.destroy(), raw: { sqlite } };
  }
  const pool = new (pgModule().Pool)({ connectionString: url, max: 10, types: pgTypes, connectionTimeoutMillis: 10_000 });
  // A dropped connection (e.g. PostgreSQL restarting) must not crash the process; the next query reconnects.
  // The pool listens on idle clients only: a client checked out between two queries (inside a transaction)
  // would emit its 'error' with no listener, an uncaught exception. Its query fails instead, and the pool
  // drops the broken client when it is released.
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  const kysely = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return { kysely, dialect: 'postgres', close: () => kysely.destroy(), raw: { pool } };
}

/**
 * Kysely prepares every query anew, and preparing costs about as much as running the statement; the
 * intake runs the same few dozen statements, so prepared ones are kept (by SQL text, bounded). A
 * statement still being iterated is not handed out twice.
 */
function cachePreparedStatements(db: SQLite.Database, max = 256): void {
  const prepare = db.prepare.bind(db);
  const cache = new Map<string, SQLite.Statement>();
  db.prepare = ((sql: string) => {
    const cached = cache.get(sql);
    if (cached) return cached.busy ? prepare(sql) : cached;
    const stmt = prepare(sql);
    if (cache.size >= max) cache.delete(cache.keys().next().value!);
    cache.set(sql, stmt);
    return stmt;
  }) as typeof db.prepare;
}

/**
 * Transactions take SQLite's write lock when they begin (BEGIN IMMEDIATE), so two processes sharing
 * one file wait for each other (busy_timeout) instead of failing when a read turns into a write.
 */
class ImmediateSqliteDialect extends SqliteDialect {
  override createDriver(): Driver {
    const driver = super.createDriver();
    driver.beginTransaction = async (connection: DatabaseConnection) => {
      await connection.executeQuery(CompiledQuery.raw('begin immediate'));
    };
    return driver;
  }
}

/**
 * True when an error means the database cannot be reached or is busy for now (PostgreSQL restarting or
 * down, a connection dropped, SQLite locked by another writer past busy_timeout): a retry later may
 * succeed, so the request is answered 503, not 500. Whatever the request wrote was rolled back.
 */
export function isDbUnavailable(e: unknown): boolean {
  const err = e as { code?: unknown; message?: unknown; constraint?: unknown } | null;
  if (!err || typeof err !== 'object') return false;
  const code = typeof err.code === 'string' ? err.code : '';
  if (/^SQLITE_(BUSY|LOCKED)/.test(code)) return true;
  // Class 08 (connection exception), 57P01-57P03 (admin shutdown, crash shutdown, cannot connect now).
  if (/^08...$/.test(code) || /^57P0[1-3]$/.test(code)) return true;
  if (['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN'].includes(code)) return true;
  const msg = typeof err.message === 'string' ? err.message : '';
  // Two posts drew the same receipt number at once (unique index): nothing was stored, the next try draws anew.
  if (/submissions_receipt|submissions\.receipt/.test(msg) || err.constraint === 'submissions_receipt') return true;
  return /Connection terminated|connection error and is not queryable|timeout exceeded when trying to connect|Client was closed/i.test(msg);
}

export function sqliteFile(url: string, baseDir: string): string {
  const rest = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
  if (rest === ':memory:') return rest;
  return path.resolve(baseDir, rest);
}

export async function migrate(db: Db): Promise<void> {
  const migrator = new Migrator({ db: db.kysely, provider: { getMigrations: async () => migrations } });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    throw new Error(`database migration ${failed?.migrationName ?? ''} failed: ${String((error as Error).message ?? error)}`);
  }
}

export async function openAndMigrate(url: string, baseDir?: string): Promise<Db> {
  const db = openDb(url, baseDir);
  try {
    await migrate(db);
  } catch (e) {
    await db.close();
    throw e;
  }
  return db;
}
