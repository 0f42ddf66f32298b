// Backup and restore on a real database (SQLite file, or PostgreSQL with pg_dump/pg_restore): a backup taken
// while visitors post restores into a new database with every row intact; the refusals change nothing.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { Migrator, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareForm, submitLikeAPerson } from '../client/protocol.js';
import { createTestDatabase, dbUnavailable, dialect, type TestDatabase } from '../../test/support/db.js';
import { OPEN_DEFENSES, startTestInstance } from '../../test/support/instance.js';
import { pgBackupRows, pgDatabaseRows, tableRows } from '../../test/support/table-rows.js';
import { waitFor } from '../../test/support/wait.js';
import { backup, FORMWARDEN_TABLES, restore, type BackupDone, type RestoreDone } from './backup.js';
import { migrations, openAndMigrate, openDb, sqliteFile } from './db.js';

const FORMS = `
  - id: contact
    title: { ja: お問い合わせ, en: Contact us }
    fields:
      - { name: name, type: text, required: true, maxLength: 80, label: { ja: お名前, en: Name } }
      - { name: email, type: email, required: true, label: { ja: メールアドレス, en: Email } }
      - { name: message, type: textarea, required: true, maxLength: 5000, label: { ja: お問い合わせ内容, en: Message } }
      - { name: photo, type: file, required: false, accept: [image], maxBytes: 20000, label: { ja: 写真, en: Photo } }
    notify: { to: [owner@example.jp], subject: "[Contact] {{name}}" }
    autoreply: { enabled: true, to: email, delay: 0s, subject: "Thank you", body: "Receipt {{receipt_id}}" }
`;

// A tiny valid PNG: stored as an attachment, so a blob/bytea column is in the comparison.
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');

const loc = (db: TestDatabase) => ({ url: db.url, baseDir: db.dir });
const ext = dialect === 'sqlite' ? 'db' : 'dump';

function ok<R extends { ok: boolean }>(r: R): Extract<R, { ok: true }> {
  if (!r.ok) throw new Error(`expected success, got ${JSON.stringify(r)}`);
  return r as Extract<R, { ok: true }>;
}

/** The rows the backup file holds, in the form the restored database is compared in. */
const backupRows = (file: string) => (dialect === 'sqlite' ? tableRows(file) : Promise.resolve(pgBackupRows(file)));
const databaseRows = (db: TestDatabase) => (dialect === 'sqlite' ? tableRows(db.url, db.dir) : Promise.resolve(pgDatabaseRows(db.url)));

describe.skipIf(dbUnavailable())(`backup and restore (${dialect})`, () => {
  const made: TestDatabase[] = [];
  const fresh = async () => {
    const db = await createTestDatabase();
    made.push(db);
    return db;
  };
  afterAll(async () => {
    for (const db of made) await db.drop();
  });

  let source: TestDatabase;
  let file: string;
  let taken: BackupDone;
  let before: string[];

  beforeAll(async () => {
    source = await fresh();
    const t = await startTestInstance({ db: source, forms: FORMS, defenses: OPEN_DEFENSES });
    const answered: string[] = [];
    let stop = false;
    let n = 0;
    const visitor = async (w: number) => {
      while (!stop) {
        const i = n++;
        let res: Response;
        if (i % 5 === 0) {
          // Every fifth post carries a file (multipart), as a browser sends it.
          const prepared = await prepareForm(t.url, 'contact');
          const body = new FormData();
          for (const [k, v] of Object.entries({ ...prepared.fields, name: `訪問者 ${i}`, email: `v${i}@example${w}.jp`, message: `写真つき ${i}` })) body.append(k, v);
          body.append('photo', new Blob([new Uint8Array(PNG)], { type: 'image/png' }), `p${i}.png`);
          res = await fetch(`${t.url}/api/forms/contact/submissions`, { method: 'POST', body, headers: { accept: 'application/json' } });
        } else {
          res = await submitLikeAPerson(t.url, 'contact', { name: `訪問者 ${i}`, email: `v${i}@example${w}.jp`, message: `お問い合わせ ${i}\n二行目` });
        }
        if (res.status === 201) answered.push(((await res.json()) as { id: string }).id);
        else await res.arrayBuffer();
      }
    };
    const visitors = [0, 1, 2, 3].map(visitor);
    try {
      await waitFor(() => answered.length >= 20, '20 answered posts', 60_000);
      before = [...answered];
      file = path.join(source.dir, `backup.${ext}`);
      // Visitors keep posting (and the outbox worker keeps sending) while the backup runs.
      taken = ok(await backup(loc(source), file));
      const after = answered.length;
      await waitFor(() => answered.length >= after + 5, 'posts after the backup', 60_000);
    } finally {
      stop = true;
      await Promise.all(visitors);
      await t.close();
    }
  }, 180_000);

  it('a backup taken while visitors post restores into a new database with every row intact', async () => {
    expect(taken.kind).toBe(dialect);
    expect(taken.migration).toBe(Object.keys(migrations).sort().at(-1));
    const inBackup = await backupRows(file);
    expect(inBackup.submissions!.length).toBe(taken.tables.find((c) => c.table === 'submissions')!.rows);
    expect(inBackup.attachments!.length).toBeGreaterThan(0);

    const target = await fresh();
    const restored: RestoreDone = ok(await restore(loc(target), file));
    // The counts the backup printed are the backup's own snapshot, and the restored database has them all.
    expect(restored.tables).toEqual(taken.tables);
    expect(restored.migration).toBe(taken.migration);
    const rows = await databaseRows(target);
    for (const table of Object.keys(inBackup)) expect({ table, rows: rows[table] }).toEqual({ table, rows: inBackup[table] });
    expect(Object.keys(rows).sort()).toEqual(Object.keys(inBackup).sort());

    // Every post answered 201 before the backup began is in it.
    const db = openDb(target.url, target.dir);
    try {
      const ids = new Set((await db.kysely.selectFrom('submissions').select('id').execute()).map((r) => r.id));
      for (const id of before) expect(ids.has(id), id).toBe(true);
    } finally {
      await db.close();
    }
  });

  it('a quiet database round-trips row for row (every table, every column, bytes included)', async () => {
    const again = path.join(source.dir, `again.${ext}`);
    ok(await backup(loc(source), again));
    const target = await fresh();
    ok(await restore(loc(target), again));
    const [a, b] = [await tableRows(source.url, source.dir), await tableRows(target.url, target.dir)];
    expect(a.attachments!.length).toBeGreaterThan(0);
    expect(b).toEqual(a);
  });

  it('restore refuses a database that holds data (nothing changes); --force replaces it', async () => {
    const target = await fresh();
    const t = await startTestInstance({ db: target, forms: FORMS, defenses: OPEN_DEFENSES });
    try {
      const res = await submitLikeAPerson(t.url, 'contact', { name: '先客', email: 'first@example.jp', message: 'もとからある問い合わせ' });
      expect(res.status).toBe(201);
    } finally {
      await t.close();
    }
    const was = await tableRows(target.url, target.dir);
    const refused = await restore(loc(target), file);
    expect(refused).toMatchObject({ ok: false, code: 'E_TARGET_HAS_DATA' });
    expect(refused.ok === false && refused.code === 'E_TARGET_HAS_DATA' && refused.tables.map((c) => c.table)).toEqual(expect.arrayContaining(['submissions', 'outbox']));
    expect(await tableRows(target.url, target.dir)).toEqual(was);

    ok(await restore(loc(target), file, { force: true }));
    expect(await databaseRows(target)).toEqual(await backupRows(file));
  }, 120_000);

  it('a backup cut short is refused, and with --force too the database stays as it was', async () => {
    const target = await fresh();
    ok(await restore(loc(target), file));
    const was = await tableRows(target.url, target.dir);
    const whole = readFileSync(file);
    for (const keep of [0.5, 0.9]) {
      const cut = path.join(target.dir, `cut-${keep}.${ext}`);
      writeFileSync(cut, whole.subarray(0, Math.floor(whole.length * keep)));
      const r = await restore(loc(target), cut, { force: true });
      expect(r.ok).toBe(false);
      expect(['E_NOT_A_BACKUP', 'E_TOOL_FAILED']).toContain(r.ok === false && r.code);
      expect(await tableRows(target.url, target.dir)).toEqual(was);
    }
  }, 120_000);

  it('a database a fresh instance created (secrets, no submissions) takes the backup, secrets included', async () => {
    const target = await fresh();
    const t = await startTestInstance({ db: target, forms: FORMS, defenses: OPEN_DEFENSES });
    await t.close();
    ok(await restore(loc(target), file));
    const inBackup = await backupRows(file);
    expect((await databaseRows(target)).secrets).toEqual(inBackup.secrets);
  }, 120_000);

  it('a file that is not a Formwarden backup is refused with the reason', async () => {
    const target = await fresh();
    const text = path.join(target.dir, 'notes.txt');
    writeFileSync(text, 'just some notes\n');
    expect(await restore(loc(target), text)).toMatchObject({ ok: false, code: 'E_NOT_A_BACKUP', detail: 'neither a SQLite database nor a pg_dump custom-format file' });
    const empty = path.join(target.dir, 'empty');
    writeFileSync(empty, '');
    expect(await restore(loc(target), empty)).toMatchObject({ ok: false, code: 'E_NOT_A_BACKUP' });
    expect(await restore(loc(target), path.join(target.dir, 'missing.db'))).toMatchObject({ ok: false, code: 'E_NOT_A_BACKUP', detail: 'no such file' });

    // Another application's SQLite database, and a damaged file of the right kind.
    const other = path.join(target.dir, 'other.db');
    const o = new SQLite(other);
    o.exec('create table notes (id integer primary key, body text); insert into notes (body) values (\'x\')');
    o.close();
    const damaged = path.join(target.dir, `damaged.${ext}`);
    writeFileSync(damaged, dialect === 'sqlite' ? Buffer.concat([Buffer.from('SQLite format 3\0'), Buffer.alloc(4096, 7)]) : Buffer.from('PGDMP garbage that pg_restore cannot read'));
    if (dialect === 'sqlite') {
      expect(await restore(loc(target), other)).toMatchObject({ ok: false, code: 'E_NOT_A_BACKUP', detail: expect.stringContaining('not Formwarden') });
      expect(await restore(loc(target), damaged)).toMatchObject({ ok: false, code: 'E_NOT_A_BACKUP' });
      const dump = path.join(target.dir, 'x.dump');
      writeFileSync(dump, 'PGDMP...');
      expect(await restore(loc(target), dump)).toMatchObject({ ok: false, code: 'E_KIND_MISMATCH', backup: 'postgres', target: 'sqlite' });
    } else {
      expect(await restore(loc(target), other)).toMatchObject({ ok: false, code: 'E_KIND_MISMATCH', backup: 'sqlite', target: 'postgres' });
      expect(await restore(loc(target), damaged)).toMatchObject({ ok: false, code: 'E_NOT_A_BACKUP', detail: expect.stringContaining('pg_restore') });
    }
    // Nothing was created in the target.
    if (dialect === 'sqlite') expect(existsSync(sqliteFile(target.url, target.dir))).toBe(false);
    else expect(await tableRows(target.url)).toEqual({});
  });

  it('a backup from an older version restores into this one and is migrated forward', async () => {
    const old = await fresh();
    const db = openDb(old.url, old.dir);
    try {
      const migrator = new Migrator({ db: db.kysely, provider: { getMigrations: async () => migrations } });
      const { error } = await migrator.migrateTo('006_canonical_suppressions');
      expect(error).toBeUndefined();
      await sql`insert into submissions (id, form_id, created_at, ip, user_agent, lang, fields, action, score, verdict, autoreply, notify, content_hash)
        values ('s_old', 'contact', 1700000000000, '192.0.2.1', 'ua', 'ja', '{"name":"旧版"}', 'accept', 0, '{}', 'queued', 'queued', 'h')`.execute(db.kysely);
    } finally {
      await db.close();
    }
    const oldFile = path.join(old.dir, `old.${ext}`);
    expect(ok(await backup(loc(old), oldFile)).migration).toBe('006_canonical_suppressions');
    const target = await fresh();
    const r = ok(await restore(loc(target), oldFile));
    expect(r.fromMigration).toBe('006_canonical_suppressions');
    expect(r.migration).toBe(Object.keys(migrations).sort().at(-1));
    const now = await openAndMigrate(target.url, target.dir);
    try {
      const row = await now.kysely.selectFrom('submissions').selectAll().where('id', '=', 's_old').executeTakeFirstOrThrow();
      expect(row).toMatchObject({ fields: '{"name":"旧版"}', receipt: null, refused: null });
      // The tables later migrations add are there.
      expect(Number((await now.kysely.selectFrom('attachments').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n)).toBe(0);
    } finally {
      await now.close();
    }
  }, 120_000);

  it('a backup from a newer version (a migration this one does not know) is refused', async () => {
    const newer = await fresh();
    const db = await openAndMigrate(newer.url, newer.dir);
    try {
      await sql`insert into kysely_migration (name, timestamp) values ('999_future', '2030-01-01T00:00:00.000Z')`.execute(db.kysely);
    } finally {
      await db.close();
    }
    const f = path.join(newer.dir, `newer.${ext}`);
    ok(await backup(loc(newer), f));
    expect(await restore(loc(await fresh()), f)).toMatchObject({ ok: false, code: 'E_NEWER_BACKUP', unknown: ['999_future'] });
  });

  it('the table list a PostgreSQL restore replaces holds every table the migrations create', async () => {
    const db = await fresh();
    await (await openAndMigrate(db.url, db.dir)).close();
    expect([...FORMWARDEN_TABLES]).toEqual(expect.arrayContaining(Object.keys(await tableRows(db.url, db.dir))));
  });

  it.runIf(dialect === 'sqlite')('SQLite: a backup never overwrites the live database itself', async () => {
    const live = sqliteFile(source.url, source.dir);
    expect(await backup(loc(source), live)).toMatchObject({ ok: false, code: 'E_SAME_FILE' });
    expect(await backup(loc(source), `${live}-wal`)).toMatchObject({ ok: false, code: 'E_SAME_FILE' });
  });

  it.runIf(dialect === 'postgres')('PostgreSQL: without pg_dump on PATH, backup says what to install and the command to run', async () => {
    const r = await backup(loc(source), path.join(source.dir, 'x.dump'), { env: { ...process.env, PATH: '/nonexistent' } });
    expect(r).toMatchObject({ ok: false, code: 'E_TOOL_MISSING', tool: 'pg_dump' });
    expect(r.ok === false && r.code === 'E_TOOL_MISSING' && r.command).toMatch(/^pg_dump --format=custom --file=\S+x\.dump postgres:\/\//);
  });
});
