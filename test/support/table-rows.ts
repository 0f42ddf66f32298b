// Every row of every table, for comparing two databases (or a backup and a database) table by table.
import { spawnSync } from 'node:child_process';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { sqliteFile } from '../../src/store/db.js';

export type Rows = Record<string, string[]>;

/** A row as comparable text: bytes as hex, numbers as numbers (PostgreSQL's int8 arrives as a string). */
function rowText(row: Record<string, unknown>): string {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(row).sort()) {
    const v = row[k];
    out[k] = Buffer.isBuffer(v) ? `hex:${v.toString('hex')}` : typeof v === 'bigint' ? Number(v) : v;
  }
  return JSON.stringify(out);
}

/** Every row of every table of a SQLite file or a database URL, sorted, per table. */
export async function tableRows(urlOrFile: string, baseDir = process.cwd()): Promise<Rows> {
  const out: Rows = {};
  if (/^postgres(ql)?:\/\//.test(urlOrFile)) {
    const client = new pg.Client({ connectionString: urlOrFile });
    await client.connect();
    try {
      const tables = (await client.query<{ t: string }>("select table_name as t from information_schema.tables where table_schema = current_schema() and table_type = 'BASE TABLE' order by 1")).rows;
      for (const { t } of tables) out[t] = (await client.query(`select * from "${t}"`)).rows.map(rowText).sort();
    } finally {
      await client.end();
    }
    return out;
  }
  const file = urlOrFile.startsWith('sqlite:') ? sqliteFile(urlOrFile, baseDir) : urlOrFile;
  const db = new SQLite(file, { readonly: true, fileMustExist: true });
  try {
    const tables = db.prepare("select name from sqlite_master where type = 'table' and name not like 'sqlite_%' order by 1").all() as { name: string }[];
    for (const { name } of tables) out[name] = (db.prepare(`select * from "${name}"`).all() as Record<string, unknown>[]).map(rowText).sort();
  } finally {
    db.close();
  }
  return out;
}

/** The COPY blocks of a plain SQL dump, as sorted lines per table. */
function copyBlocks(sql: string): Rows {
  const out: Rows = {};
  for (const m of sql.matchAll(/^COPY [^.\s]+\.(\S+) \([^)]*\) FROM stdin;\n([\s\S]*?)^\\\.$/gm)) {
    out[m[1]!.replace(/"/g, '')] = m[2]!.split('\n').filter(Boolean).sort();
  }
  return out;
}

/** The rows a pg_dump custom-format file holds, read with pg_restore. */
export function pgBackupRows(file: string): Rows {
  const r = spawnSync('pg_restore', ['--data-only', '--file=-', file], { encoding: 'utf8', maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`pg_restore: ${r.stderr}`);
  return copyBlocks(r.stdout);
}

/** The rows of a PostgreSQL database in the same text form (pg_dump's COPY lines). */
export function pgDatabaseRows(url: string): Rows {
  const r = spawnSync('pg_dump', ['--data-only', url], { encoding: 'utf8', maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`pg_dump: ${r.stderr}`);
  return copyBlocks(r.stdout);
}
