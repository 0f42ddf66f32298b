// `formwarden backup <file>` and `formwarden restore <file>` (docs/backup.md): the logic is in
// store/backup.ts; this file prints what happened, in Japanese or English.
import { loadConfig } from '../config/load.js';
import { cliLang, type Lang } from '../i18n/messages.js';
import { backup, restore, type BackupProblem, type TableCount } from '../store/backup.js';
import { terminalSafe } from '../util/terminal-safe.js';
import { table } from './table.js';

export interface CliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env?: NodeJS.ProcessEnv;
}

const num = (n: number) => n.toLocaleString('en-US');
const kindName = (k: 'sqlite' | 'postgres') => (k === 'sqlite' ? 'SQLite' : 'PostgreSQL');
const counts = (tables: TableCount[], lang: Lang) =>
  table(lang === 'ja' ? ['テーブル', '行数'] : ['table', 'rows'], tables.map((t) => [t.table, num(t.rows)]));

const INSTALL = {
  en: 'Install the PostgreSQL client tools (Debian/Ubuntu: apt-get install postgresql-client; RHEL: dnf install postgresql), of the same major version as the server or newer, then run this command again. Or run it yourself:',
  ja: 'PostgreSQL のクライアントツールをインストールしてから（Debian/Ubuntu: apt-get install postgresql-client、RHEL: dnf install postgresql。メジャーバージョンはサーバーと同じかそれ以降）、もう一度このコマンドを実行してください。次のコマンドを直接実行しても同じです:',
};

export function problemText(p: BackupProblem, lang: Lang): string {
  const ja = lang === 'ja';
  const t = (s: string) => terminalSafe(s, { newlines: true });
  switch (p.code) {
    case 'E_MEMORY_DB':
      return ja
        ? 'database.url が sqlite::memory: です。ディスク上にデータベースがないため、バックアップも復元もできません。'
        : 'database.url is sqlite::memory:: there is no database on disk to back up or restore into.';
    case 'E_NO_DATABASE':
      return ja
        ? `${p.file} にデータベースがまだありません。database.url を確認してください（サーバーを一度起動すると作られます）。`
        : `there is no database at ${p.file} yet. Check database.url (the server creates it when it first starts).`;
    case 'E_SAME_FILE':
      return ja ? `${p.file} は使用中のデータベースそのものです。別のファイル名を指定してください。` : `${p.file} is the live database itself: name another file.`;
    case 'E_TOOL_MISSING':
      return ja
        ? `${p.tool} が PATH にありません。${INSTALL.ja}\n  ${p.command}`
        : `${p.tool} is not on PATH. ${INSTALL.en}\n  ${p.command}`;
    case 'E_TOOL_FAILED':
      return ja
        ? `${p.tool} が失敗しました（終了コード ${p.status ?? 'なし'}）。何も変更していません:\n${t(p.stderr)}`
        : `${p.tool} failed (exit code ${p.status ?? 'none'}); nothing was changed:\n${t(p.stderr)}`;
    case 'E_NOT_A_BACKUP':
      return ja ? `${p.file} は Formwarden のバックアップではありません: ${t(p.detail)}` : `${p.file} is not a Formwarden backup: ${t(p.detail)}`;
    case 'E_KIND_MISMATCH':
      return ja
        ? `${p.file} は ${kindName(p.backup)} のバックアップですが、database.url は ${kindName(p.target)} です。バックアップは同じ種類のデータベースにだけ復元できます。`
        : `${p.file} is a ${kindName(p.backup)} backup, but database.url is ${kindName(p.target)}: a backup restores into the same kind of database.`;
    case 'E_NEWER_BACKUP':
      return ja
        ? `${p.file} はこのバージョンより新しい Formwarden で作られています（このバージョンが知らないマイグレーション: ${p.unknown.join(', ')}）。Formwarden を更新してから復元してください。`
        : `${p.file} was made by a newer Formwarden (migrations this version does not know: ${p.unknown.join(', ')}). Upgrade Formwarden, then restore.`;
    case 'E_TARGET_HAS_DATA': {
      const list = p.tables.map((c) => `${c.table} ${num(c.rows)}`).join(', ');
      return ja
        ? `${p.target} にはすでにデータがあります（${list}）。何も変更していません。バックアップで置き換えるには --force を付けて実行してください。`
        : `${p.target} already holds data (${list}); nothing was changed. To replace it with the backup, run again with --force.`;
    }
  }
}

function fail(p: BackupProblem, lang: Lang, io: CliIo): number {
  io.stderr.write(`formwarden: ${problemText(p, lang)}\n`);
  return 1;
}

export async function runBackup(configPath: string | undefined, file: string, opts: { lang?: string }, io: CliIo): Promise<number> {
  const env = io.env ?? process.env;
  const lang = cliLang(opts.lang, env);
  const { config, baseDir } = loadConfig(configPath);
  const onCommand = (c: string) => io.stdout.write(`${lang === 'ja' ? '実行: ' : 'running: '}${c}\n`);
  const r = await backup({ url: config.database.url, baseDir }, file, { env, onCommand });
  if (!r.ok) return fail(r, lang, io);
  const head =
    lang === 'ja'
      ? `バックアップを書き出しました: ${r.file}\n  ${kindName(r.kind)}、${num(r.bytes)} バイト、スキーマ ${r.migration}\n`
      : `backup written: ${r.file}\n  ${kindName(r.kind)}, ${num(r.bytes)} bytes, schema ${r.migration}\n`;
  io.stdout.write(head + counts(r.tables, lang));
  return 0;
}

export async function runRestore(configPath: string | undefined, file: string, opts: { force?: boolean; lang?: string }, io: CliIo): Promise<number> {
  const env = io.env ?? process.env;
  const lang = cliLang(opts.lang, env);
  const { config, baseDir } = loadConfig(configPath);
  const onCommand = (c: string) => io.stdout.write(`${lang === 'ja' ? '実行: ' : 'running: '}${c}\n`);
  const r = await restore({ url: config.database.url, baseDir }, file, { env, onCommand, force: opts.force });
  if (!r.ok) return fail(r, lang, io);
  const migrated = r.fromMigration === r.migration ? r.migration : `${r.fromMigration} -> ${r.migration}`;
  const head =
    lang === 'ja'
      ? `復元しました: ${file} -> ${r.target}\n  スキーマ ${migrated}。サーバーを（再）起動してください: formwarden serve\n`
      : `restored ${file} into ${r.target}\n  schema ${migrated}. Start (or restart) the server: formwarden serve\n`;
  io.stdout.write(head + counts(r.tables, lang));
  return 0;
}
