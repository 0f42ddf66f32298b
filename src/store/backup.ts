// Backup and restore of the configured database (docs/backup.md).
// SQLite: SQLite's online backup API from a separate connection (a consistent snapshot while the server
// writes), into a temporary name that is renamed once the copy is complete and checked. PostgreSQL:
// pg_dump --format=custom from an exported snapshot (the row counts printed are the dump's own), and
// pg_restore piped into psql in one transaction. Expected refusals are values with a code; faults throw.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, closeSync, constants, existsSync, fsyncSync, mkdirSync, openSync, readSync, realpathSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import type pg from 'pg';
import { loadLater } from '../util/load-later.js';
import { migrations, openAndMigrate, sqliteFile } from './db.js';

export type BackupKind = 'sqlite' | 'postgres';

export interface TableCount {
  table: string;
  rows: number;
}

export interface BackupDone {
  ok: true;
  kind: BackupKind;
  file: string;
  bytes: number;
  /** Rows per table as they are in the backup (kysely's own tables left out). */
  tables: TableCount[];
  /** The newest migration the backup's schema has. */
  migration: string;
  /** The external command that ran (PostgreSQL), shown without the password. */
  command?: string;
}

export interface RestoreDone {
  ok: true;
  kind: BackupKind;
  /** Where the data went: the SQLite file, or the PostgreSQL URL without its password. */
  target: string;
  /** Rows per table after restoring and migrating. */
  tables: TableCount[];
  /** The backup's newest migration, and the newest after migrating forward. */
  fromMigration: string;
  migration: string;
  command?: string;
}

export type BackupProblem =
  | { ok: false; code: 'E_MEMORY_DB' }
  | { ok: false; code: 'E_NO_DATABASE'; file: string }
  | { ok: false; code: 'E_SAME_FILE'; file: string }
  | { ok: false; code: 'E_TOOL_MISSING'; tool: 'pg_dump' | 'pg_restore' | 'psql'; command: string }
  | { ok: false; code: 'E_TOOL_FAILED'; tool: string; status: number | null; stderr: string }
  | { ok: false; code: 'E_NOT_A_BACKUP'; file: string; detail: string }
  | { ok: false; code: 'E_KIND_MISMATCH'; file: string; backup: BackupKind; target: BackupKind }
  | { ok: false; code: 'E_NEWER_BACKUP'; file: string; unknown: string[] }
  | { ok: false; code: 'E_TARGET_HAS_DATA'; target: string; tables: TableCount[] };

export interface DbLocation {
  /** database.url */
  url: string;
  /** Relative sqlite: paths are resolved against it (the configuration file's directory). */
  baseDir: string;
}

export interface ToolOptions {
  /** For finding pg_dump, pg_restore and psql on PATH (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Called with the command line before an external command runs. */
  onCommand?: (command: string) => void;
}

/**
 * Every table Formwarden's migrations create (a test checks none is missing; a name no migration creates is
 * harmless). A PostgreSQL restore replaces these, so a newer empty schema does not stay beside an older backup.
 */
export const FORMWARDEN_TABLES = [
  'attachments',
  'bans',
  'breakers',
  'console_audit',
  'console_sessions',
  'console_users',
  'dmarc_records',
  'dmarc_reports',
  'events',
  'ip_rules',
  'kv',
  'kysely_migration',
  'kysely_migration_lock',
  'link_uses',
  'outbox',
  'relay_charges',
  'secrets',
  'submissions',
  'suppressions',
] as const;

/** What the owner put there or visitors sent: a database with rows in any of these is not overwritten without --force. */
export const DATA_TABLES = ['submissions', 'outbox', 'attachments', 'suppressions', 'ip_rules', 'events'];

const MIGRATION_TABLE = 'kysely_migration';
const isInternal = (t: string) => t.startsWith('kysely_') || t.startsWith('sqlite_');
const quoteId = (s: string) => `"${s.replace(/"/g, '""')}"`;
const isPostgres = (url: string) => /^postgres(ql)?:\/\//.test(url);

// ---------------------------------------------------------------------------------------------------------
// Backup

export async function backup(db: DbLocation, dest: string, opts: ToolOptions = {}): Promise<BackupDone | BackupProblem> {
  return isPostgres(db.url) ? backupPostgres(db.url, dest, opts) : backupSqlite(db, dest);
}

/** A temporary name beside the final one: a half-written backup never has the final name. */
const partialName = (dest: string) => `${dest}.partial-${randomBytes(4).toString('hex')}`;

function sameFile(a: string, b: string): boolean {
  const real = (p: string) => {
    try {
      return realpathSync(p);
    } catch {
      return path.resolve(p);
    }
  };
  const ra = real(a);
  const rb = real(b);
  return ra === rb || [`${rb}-wal`, `${rb}-shm`, `${rb}-journal`].includes(ra);
}

/** Makes a renamed file durable: the file's bytes, then the directory entry. */
function fsyncPath(p: string): void {
  const fd = openSync(p, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function commitRename(tmp: string, dest: string): void {
  fsyncPath(tmp);
  renameSync(tmp, dest);
  try {
    fsyncPath(path.dirname(dest));
  } catch {
    // Some file systems cannot fsync a directory; the rename itself is atomic.
  }
}

async function backupSqlite(db: DbLocation, dest: string): Promise<BackupDone | BackupProblem> {
  const source = sqliteFile(db.url, db.baseDir);
  if (source === ':memory:') return { ok: false, code: 'E_MEMORY_DB' };
  if (!existsSync(source)) return { ok: false, code: 'E_NO_DATABASE', file: source };
  const file = path.resolve(dest);
  if (sameFile(file, source)) return { ok: false, code: 'E_SAME_FILE', file };
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = partialName(file);
  const conn = new SQLite(source, { fileMustExist: true });
  try {
    conn.pragma('busy_timeout = 10000');
    // All remaining pages in one step: one read transaction, so the copy is one consistent snapshot (in WAL
    // mode the server's writers never wait for it). A write between the first step and that one makes
    // SQLite start the copy over, inside that same step.
    await conn.backup(tmp, { progress: () => 0x7fffffff });
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  } finally {
    conn.close();
  }
  try {
    const copy = new SQLite(tmp, { fileMustExist: true });
    let summary: { tables: TableCount[]; migration: string };
    try {
      // One self-contained file: no -wal beside it.
      copy.pragma('journal_mode = DELETE');
      const check = copy.pragma('integrity_check', { simple: true });
      if (check !== 'ok') throw new Error(`the copy failed SQLite's integrity check: ${String(check)}`);
      summary = sqliteSummary(copy);
    } finally {
      copy.close();
    }
    commitRename(tmp, file);
    return { ok: true, kind: 'sqlite', file, bytes: statSync(file).size, ...summary };
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

function sqliteTables(conn: SQLite.Database): string[] {
  return (conn.prepare("select name from sqlite_master where type = 'table' order by name").all() as { name: string }[]).map((r) => r.name);
}

function sqliteCounts(conn: SQLite.Database, tables: string[]): TableCount[] {
  return tables.map((table) => ({ table, rows: Number((conn.prepare(`select count(*) as n from ${quoteId(table)}`).get() as { n: number }).n) }));
}

function sqliteSummary(conn: SQLite.Database): { tables: TableCount[]; migration: string } {
  const tables = sqliteTables(conn);
  const migration = tables.includes(MIGRATION_TABLE) ? ((conn.prepare(`select max(name) as m from ${MIGRATION_TABLE}`).get() as { m: string | null }).m ?? '') : '';
  return { tables: sqliteCounts(conn, tables.filter((t) => !isInternal(t))), migration };
}

/** The URL without its password, and the password for PGPASSWORD (never on a command line others can read). */
function splitPassword(url: string): { url: string; password: string | undefined } {
  const u = new URL(url);
  const password = u.password ? decodeURIComponent(u.password) : undefined;
  u.password = '';
  return { url: u.toString(), password };
}

/** The URL as shown to the owner. */
export function displayUrl(url: string): string {
  return isPostgres(url) ? splitPassword(url).url : url;
}

export function findOnPath(tool: string, env: NodeJS.ProcessEnv = process.env): string | null {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, tool);
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

const shellQuote = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
const commandLine = (argv: string[]) => argv.map(shellQuote).join(' ');

interface Ran {
  status: number | null;
  stderr: string;
}

function run(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<Ran> {
  return exited(spawn(file, args, { env, stdio: ['ignore', 'ignore', 'pipe'] }));
}

function toolEnv(env: NodeJS.ProcessEnv, password: string | undefined): NodeJS.ProcessEnv {
  return { ...env, ...(password !== undefined ? { PGPASSWORD: password } : {}) };
}

/** pg is loaded only when a PostgreSQL URL is used. */
const pgModule = loadLater<typeof pg>('pg');

async function pgCounts(client: pg.Client): Promise<{ tables: TableCount[]; migration: string }> {
  const names = (
    await client.query<{ t: string }>("select table_name as t from information_schema.tables where table_schema = current_schema() and table_type = 'BASE TABLE' order by table_name")
  ).rows.map((r) => r.t);
  const tables: TableCount[] = [];
  for (const table of names.filter((t) => !isInternal(t))) {
    const r = await client.query<{ n: string }>(`select count(*) as n from ${quoteId(table)}`);
    tables.push({ table, rows: Number(r.rows[0]!.n) });
  }
  const migration = names.includes(MIGRATION_TABLE) ? ((await client.query<{ m: string | null }>(`select max(name) as m from ${MIGRATION_TABLE}`)).rows[0]!.m ?? '') : '';
  return { tables, migration };
}

async function backupPostgres(url: string, dest: string, opts: ToolOptions): Promise<BackupDone | BackupProblem> {
  const env = opts.env ?? process.env;
  const file = path.resolve(dest);
  const { url: shown, password } = splitPassword(url);
  const pgDump = findOnPath('pg_dump', env);
  if (!pgDump) return { ok: false, code: 'E_TOOL_MISSING', tool: 'pg_dump', command: commandLine(['pg_dump', '--format=custom', `--file=${file}`, shown]) };
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = partialName(file);
  const client = new (pgModule().Client)({ connectionString: url });
  await client.connect();
  try {
    // The dump and the counts read one snapshot: this transaction exports it and stays open while pg_dump runs.
    await client.query('begin isolation level repeatable read read only');
    const snapshot = (await client.query<{ s: string }>('select pg_export_snapshot() as s')).rows[0]!.s;
    const summary = await pgCounts(client);
    const args = ['--format=custom', `--snapshot=${snapshot}`, `--file=${tmp}`, shown];
    const command = commandLine(['pg_dump', ...args]);
    opts.onCommand?.(command);
    const ran = await run(pgDump, args, toolEnv(env, password));
    await client.query('commit');
    if (ran.status !== 0) {
      rmSync(tmp, { force: true });
      return { ok: false, code: 'E_TOOL_FAILED', tool: 'pg_dump', status: ran.status, stderr: ran.stderr };
    }
    commitRename(tmp, file);
    return { ok: true, kind: 'postgres', file, bytes: statSync(file).size, ...summary, command };
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  } finally {
    await client.end().catch(() => {});
  }
}

// ---------------------------------------------------------------------------------------------------------
// Restore

/** What kind of file this is, by its first bytes. */
export function backupKind(file: string): BackupKind | null {
  const fd = openSync(file, 'r');
  try {
    const head = Buffer.alloc(16);
    const n = readSync(fd, head, 0, 16, 0);
    if (n === 16 && head.toString('latin1') === 'SQLite format 3\0') return 'sqlite';
    if (n >= 5 && head.subarray(0, 5).toString('latin1') === 'PGDMP') return 'postgres';
    return null;
  } finally {
    closeSync(fd);
  }
}

/** Migrations in the backup that this version does not know: it was made by a newer Formwarden. */
const unknownMigrations = (names: string[]) => names.filter((n) => !(n in migrations));

export async function restore(db: DbLocation, src: string, opts: ToolOptions & { force?: boolean } = {}): Promise<RestoreDone | BackupProblem> {
  const file = path.resolve(src);
  if (!existsSync(file) || !statSync(file).isFile()) return { ok: false, code: 'E_NOT_A_BACKUP', file, detail: 'no such file' };
  const kind = backupKind(file);
  if (!kind) return { ok: false, code: 'E_NOT_A_BACKUP', file, detail: 'neither a SQLite database nor a pg_dump custom-format file' };
  const target: BackupKind = isPostgres(db.url) ? 'postgres' : 'sqlite';
  if (kind !== target) return { ok: false, code: 'E_KIND_MISMATCH', file, backup: kind, target };
  return kind === 'sqlite' ? restoreSqlite(db, file, !!opts.force) : restorePostgres(db.url, file, opts);
}

/** Checks a SQLite file is a whole Formwarden database; returns its migrations. */
function checkSqliteBackup(file: string): { migrations: string[] } | { detail: string } {
  let conn: SQLite.Database;
  try {
    conn = new SQLite(file, { readonly: true, fileMustExist: true });
  } catch (e) {
    return { detail: (e as Error).message };
  }
  try {
    const check = conn.pragma('integrity_check', { simple: true });
    if (check !== 'ok') return { detail: `SQLite's integrity check failed: ${String(check)}` };
    if (!sqliteTables(conn).includes(MIGRATION_TABLE)) return { detail: `a SQLite database, but not Formwarden's (no ${MIGRATION_TABLE} table)` };
    const names = (conn.prepare(`select name from ${MIGRATION_TABLE} order by name`).all() as { name: string }[]).map((r) => r.name);
    if (!names.includes('001_initial')) return { detail: `a SQLite database, but not Formwarden's (${MIGRATION_TABLE} has no 001_initial)` };
    return { migrations: names };
  } catch (e) {
    return { detail: (e as Error).message };
  } finally {
    conn.close();
  }
}

async function restoreSqlite(db: DbLocation, file: string, force: boolean): Promise<RestoreDone | BackupProblem> {
  const target = sqliteFile(db.url, db.baseDir);
  if (target === ':memory:') return { ok: false, code: 'E_MEMORY_DB' };
  if (sameFile(file, target)) return { ok: false, code: 'E_SAME_FILE', file };
  const checked = checkSqliteBackup(file);
  if ('detail' in checked) return { ok: false, code: 'E_NOT_A_BACKUP', file, detail: checked.detail };
  const unknown = unknownMigrations(checked.migrations);
  if (unknown.length) return { ok: false, code: 'E_NEWER_BACKUP', file, unknown };
  if (existsSync(target) && !force) {
    const conn = new SQLite(target, { fileMustExist: true });
    try {
      conn.pragma('busy_timeout = 10000');
      const tables = sqliteTables(conn);
      const used = sqliteCounts(conn, DATA_TABLES.filter((t) => tables.includes(t))).filter((c) => c.rows > 0);
      if (used.length) return { ok: false, code: 'E_TARGET_HAS_DATA', target, tables: used };
    } finally {
      conn.close();
    }
  }
  mkdirSync(path.dirname(target), { recursive: true });
  const conn = new SQLite(file, { readonly: true, fileMustExist: true });
  try {
    // SQLite's backup API writes the target under its own locks in one transaction: the whole copy or none.
    await conn.backup(target, { progress: () => 0x7fffffff });
  } finally {
    conn.close();
  }
  return finishRestore(db, 'sqlite', target, checked.migrations.at(-1) ?? '');
}

/** Migrates the restored database forward (a backup from an older version) and counts its rows. */
async function finishRestore(db: DbLocation, kind: BackupKind, target: string, fromMigration: string, command?: string): Promise<RestoreDone> {
  const opened = await openAndMigrate(db.url, db.baseDir);
  await opened.close();
  let summary: { tables: TableCount[]; migration: string };
  if (kind === 'sqlite') {
    const conn = new SQLite(target, { readonly: true, fileMustExist: true });
    try {
      summary = sqliteSummary(conn);
    } finally {
      conn.close();
    }
  } else {
    const client = new (pgModule().Client)({ connectionString: db.url });
    await client.connect();
    try {
      summary = await pgCounts(client);
    } finally {
      await client.end().catch(() => {});
    }
  }
  return { ok: true, kind, target: kind === 'postgres' ? displayUrl(target) : target, fromMigration, ...summary, ...(command ? { command } : {}) };
}

/** The Formwarden migrations a pg_dump custom file holds, read with pg_restore; a detail when it is not ours. */
async function checkPgBackup(pgRestore: string, file: string, env: NodeJS.ProcessEnv): Promise<{ migrations: string[]; tables: string[] } | { detail: string }> {
  const list = await capture(pgRestore, ['--list', file], env);
  if (list.status !== 0) return { detail: `pg_restore --list failed: ${list.stderr.trim()}` };
  const tables = [...list.stdout.matchAll(/^\d+; \d+ \d+ TABLE \S+ (\S+) /gm)].map((m) => m[1]!);
  if (!tables.includes(MIGRATION_TABLE)) return { detail: `a pg_dump file, but not of Formwarden's database (no ${MIGRATION_TABLE} table)` };
  const data = await capture(pgRestore, ['--data-only', `--table=${MIGRATION_TABLE}`, '--file=-', file], env);
  if (data.status !== 0) return { detail: `pg_restore failed: ${data.stderr.trim()}` };
  const copy = /^COPY \S+kysely_migration \(([^)]*)\) FROM stdin;\n([\s\S]*?)^\\\.$/m.exec(data.stdout);
  const nameAt = copy ? copy[1]!.split(',').map((c) => c.trim().replace(/"/g, '')).indexOf('name') : -1;
  const names = copy && nameAt >= 0 ? copy[2]!.split('\n').filter(Boolean).map((line) => line.split('\t')[nameAt]!).sort() : [];
  if (!names.includes('001_initial')) return { detail: `a pg_dump file, but not of Formwarden's database (${MIGRATION_TABLE} has no 001_initial)` };
  return { migrations: names, tables };
}

function capture(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

async function restorePostgres(url: string, file: string, opts: ToolOptions & { force?: boolean }): Promise<RestoreDone | BackupProblem> {
  const env = opts.env ?? process.env;
  const { url: shown, password } = splitPassword(url);
  const pgRestore = findOnPath('pg_restore', env);
  const psql = findOnPath('psql', env);
  const pipeline = `${commandLine(['pg_restore', '--no-owner', '--no-privileges', '--file=-', file])} | ${commandLine(['psql', '-X', '--single-transaction', '-v', 'ON_ERROR_STOP=1', '-f', '-', shown])}`;
  if (!pgRestore) return { ok: false, code: 'E_TOOL_MISSING', tool: 'pg_restore', command: pipeline };
  if (!psql) return { ok: false, code: 'E_TOOL_MISSING', tool: 'psql', command: pipeline };
  const checked = await checkPgBackup(pgRestore, file, env);
  if ('detail' in checked) return { ok: false, code: 'E_NOT_A_BACKUP', file, detail: checked.detail };
  const unknown = unknownMigrations(checked.migrations);
  if (unknown.length) return { ok: false, code: 'E_NEWER_BACKUP', file, unknown };

  const client = new (pgModule().Client)({ connectionString: url });
  await client.connect();
  let existing: string[];
  try {
    existing = (await client.query<{ t: string }>("select table_name as t from information_schema.tables where table_schema = current_schema() and table_type = 'BASE TABLE'")).rows.map((r) => r.t);
    if (!opts.force) {
      const used: TableCount[] = [];
      for (const table of DATA_TABLES.filter((t) => existing.includes(t))) {
        const n = Number((await client.query<{ n: string }>(`select count(*) as n from ${quoteId(table)}`)).rows[0]!.n);
        if (n > 0) used.push({ table, rows: n });
      }
      if (used.length) return { ok: false, code: 'E_TARGET_HAS_DATA', target: shown, tables: used };
    }
  } finally {
    await client.end().catch(() => {});
  }

  // Formwarden's tables in the target (a fresh instance may have created them) are dropped and the dump's
  // created in one transaction, committed only once pg_restore has read the whole file: if anything fails,
  // psql stops (ON_ERROR_STOP) or is stopped, the connection closes, and the target is as it was.
  const replace = [...new Set([...FORMWARDEN_TABLES, ...checked.tables])].filter((t) => existing.includes(t));
  const drop = replace.length ? `drop table if exists ${replace.map(quoteId).join(', ')} cascade;\n` : '';
  opts.onCommand?.(pipeline);
  const psqlProc = spawn(psql, ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-f', '-', shown], { env: toolEnv(env, password), stdio: ['pipe', 'ignore', 'pipe'] });
  const dumpToSql = spawn(pgRestore, ['--no-owner', '--no-privileges', '--file=-', file], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const psqlDone = exited(psqlProc);
  const dumpDone = exited(dumpToSql);
  psqlProc.stdin.on('error', () => {}); // psql stopping early is reported by its exit status
  psqlProc.stdin.write(`set client_min_messages = warning;\nbegin;\n${drop}`);
  dumpToSql.stdout.pipe(psqlProc.stdin, { end: false });
  const dump = await dumpDone;
  if (dump.status === 0) psqlProc.stdin.end('\ncommit;\n');
  else psqlProc.kill('SIGTERM');
  const loaded = await psqlDone;
  if (dump.status !== 0) return { ok: false, code: 'E_TOOL_FAILED', tool: 'pg_restore', status: dump.status, stderr: dump.stderr };
  if (loaded.status !== 0) return { ok: false, code: 'E_TOOL_FAILED', tool: 'psql', status: loaded.status, stderr: loaded.stderr };
  return finishRestore({ url, baseDir: process.cwd() }, 'postgres', url, checked.migrations.at(-1) ?? '', pipeline);
}

/** A child's exit status and the start of its stderr. */
function exited(child: import('node:child_process').ChildProcess): Promise<Ran> {
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    if (stderr.length < 20_000) stderr += d.toString('utf8');
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stderr: stderr.trim() }));
  });
}
