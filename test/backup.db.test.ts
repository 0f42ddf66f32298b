// `formwarden backup` and `formwarden restore` as an owner runs them: a backup from a separate process while
// `formwarden serve` takes posts, restored into a new instance's database with every row intact; refusals
// exit non-zero and change nothing; the report is in the terminal's language.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { submitLikeAPerson } from '../src/client/protocol.js';
import { createTestDatabase, dbUnavailable, dialect, type TestDatabase } from './support/db.js';
import { OPEN_DEFENSES, testConfigYaml } from './support/instance.js';
import { runCli, runCliAsync, startServer } from './support/process.js';
import { pgBackupRows, pgDatabaseRows, tableRows } from './support/table-rows.js';
import { waitFor } from './support/wait.js';

const ext = dialect === 'sqlite' ? 'db' : 'dump';
const EN = { LANG: 'C.UTF-8', LC_ALL: '', LC_MESSAGES: '' };
const JA = { LANG: 'ja_JP.UTF-8', LC_ALL: '', LC_MESSAGES: '' };
const backupRows = (file: string) => (dialect === 'sqlite' ? tableRows(file) : Promise.resolve(pgBackupRows(file)));
const databaseRows = (db: TestDatabase) => (dialect === 'sqlite' ? tableRows(db.url, db.dir) : Promise.resolve(pgDatabaseRows(db.url)));

describe.skipIf(dbUnavailable())(`formwarden backup / restore (${dialect})`, () => {
  let source: TestDatabase;
  let target: TestDatabase;
  let sourceConfig: string;
  let targetConfig: string;
  let file: string;
  const before: string[] = [];
  let backupRun: { status: number | null; stdout: string; stderr: string };

  beforeAll(async () => {
    source = await createTestDatabase();
    target = await createTestDatabase();
    sourceConfig = path.join(source.dir, 'formwarden.yaml');
    targetConfig = path.join(target.dir, 'formwarden.yaml');
    writeFileSync(sourceConfig, testConfigYaml({ dbUrl: source.url, defenses: OPEN_DEFENSES }));
    writeFileSync(targetConfig, testConfigYaml({ dbUrl: target.url, defenses: OPEN_DEFENSES }));
    file = path.join(source.dir, `formwarden-backup.${ext}`);

    const server = await startServer(['--config', sourceConfig]);
    const answered: string[] = [];
    let stop = false;
    let n = 0;
    const visitor = async (w: number) => {
      while (!stop) {
        const i = n++;
        const res = await submitLikeAPerson(server.url, 'contact', { name: `訪問者 ${i}`, email: `v${i}@example${w}.jp`, message: `お問い合わせ ${i}` });
        if (res.status === 201) answered.push(((await res.json()) as { id: string }).id);
        else await res.arrayBuffer();
      }
    };
    const visitors = [0, 1, 2].map(visitor);
    try {
      await waitFor(() => answered.length >= 15, '15 answered posts', 60_000);
      before.push(...answered);
      // A separate process, as cron runs it, while the server keeps taking posts and sending mail.
      backupRun = await runCliAsync(['--config', sourceConfig, 'backup', file], { env: EN });
      const after = answered.length;
      await waitFor(() => answered.length >= after + 3, 'posts after the backup', 60_000);
    } finally {
      stop = true;
      await Promise.all(visitors);
      await server.kill();
    }
  }, 180_000);

  afterAll(async () => {
    await source?.drop();
    await target?.drop();
  });

  it('--help lists backup and restore', () => {
    const r = runCli(['--help']);
    expect(r.stdout).toMatch(/\n {2}backup /);
    expect(r.stdout).toMatch(/\n {2}restore /);
  });

  it('backup while serving, then restore into a new instance: every row of every table as in the backup', async () => {
    expect(backupRun.stderr).not.toContain('formwarden:');
    expect(backupRun.status).toBe(0);
    expect(backupRun.stdout).toContain(`backup written: ${file}\n`);
    expect(backupRun.stdout).toMatch(dialect === 'sqlite' ? /SQLite, [\d,]+ bytes, schema \d{3}_\w+/ : /PostgreSQL, [\d,]+ bytes, schema \d{3}_\w+/);
    if (dialect === 'postgres') expect(backupRun.stdout).toMatch(/^running: pg_dump --format=custom /);
    const reported = Number(/\nsubmissions +([\d,]+)\n/.exec(backupRun.stdout)![1]!.replace(/,/g, ''));
    expect(reported).toBeGreaterThanOrEqual(before.length);

    const r = await runCliAsync(['--config', targetConfig, 'restore', file], { env: EN });
    expect(r.stderr).not.toContain('formwarden:');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`restored ${file} into `);

    const inBackup = await backupRows(file);
    const restored = await databaseRows(target);
    expect(inBackup.submissions).toHaveLength(reported);
    for (const table of Object.keys(inBackup)) expect({ table, rows: restored[table] }).toEqual({ table, rows: inBackup[table] });
    expect(Object.keys(restored).sort()).toEqual(Object.keys(inBackup).sort());
    // Every post answered 201 before the backup started is there.
    const ids = JSON.parse(runCli(['--config', targetConfig, 'submissions', 'list', '--limit', '100000', '--json']).stdout) as { id: string }[];
    const have = new Set(ids.map((s) => s.id));
    for (const id of before) expect(have.has(id), id).toBe(true);
  }, 120_000);

  it('restore onto a database that holds data: exit 1, the reason, nothing changed', async () => {
    const was = await tableRows(target.url, target.dir);
    const r = await runCliAsync(['--config', targetConfig, 'restore', file], { env: EN });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/already holds data \(submissions [\d,]+, outbox [\d,]+.*\); nothing was changed\. To replace it with the backup, run again with --force\./);
    expect(await tableRows(target.url, target.dir)).toEqual(was);
    const ja = await runCliAsync(['--config', targetConfig, 'restore', file], { env: JA });
    expect(ja.status).toBe(1);
    expect(ja.stderr).toContain('にはすでにデータがあります');
    expect(ja.stderr).toContain('--force');
  }, 120_000);

  it('a file that is not a backup: exit 1 and a clear reason', async () => {
    const notes = path.join(target.dir, 'notes.txt');
    writeFileSync(notes, 'hello\n');
    const r = await runCliAsync(['--config', targetConfig, 'restore', '--force', notes], { env: EN });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`formwarden: ${notes} is not a Formwarden backup: neither a SQLite database nor a pg_dump custom-format file\n`);
  }, 60_000);

  it('the report is in Japanese when the terminal is (LANG=ja_JP.UTF-8) or --lang ja', async () => {
    const again = path.join(source.dir, `again.${ext}`);
    const r = await runCliAsync(['--config', sourceConfig, 'backup', again], { env: JA });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`バックアップを書き出しました: ${again}`);
    expect(r.stdout).toMatch(/テーブル +行数/);
    const en = await runCliAsync(['--config', sourceConfig, 'backup', '--lang', 'en', again], { env: JA });
    expect(en.stdout).toContain(`backup written: ${again}`);
  }, 60_000);

  it.runIf(dialect === 'postgres')('without pg_dump on PATH, backup explains what to install and what to run', async () => {
    const r = await runCliAsync(['--config', sourceConfig, 'backup', path.join(source.dir, 'x.dump')], { env: { ...EN, PATH: '/nonexistent' } });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('pg_dump is not on PATH');
    expect(r.stderr).toContain('apt-get install postgresql-client');
    expect(r.stderr).toMatch(/\n {2}pg_dump --format=custom --file=\S+x\.dump postgres:\/\/\S+\n$/);
  }, 60_000);
});
