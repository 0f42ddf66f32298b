// Reading inquiries from the terminal: `submissions show` (decoded, with the verdict explained) and
// `submissions export` (CSV for Excel, or JSON). Everything printed that a visitor wrote goes through
// terminalSafe: nothing in it may drive the terminal.
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { loadConfig } from '../config/load.js';
import { cliLang, type Lang } from '../i18n/messages.js';
import { openAndMigrate } from '../store/db.js';
import { getSubmissionDetail, type SubmissionDetail } from '../submissions/detail.js';
import { exportCsv, exportJson, UnknownFormError } from '../submissions/export.js';
import { jsonTerminalSafe, terminalSafe } from '../util/terminal-safe.js';
import { table } from './table.js';
import { zonedDayStart } from '../util/zoned-day.js';


const L = {
  ja: { receipt: '受付番号', form: 'フォーム', received: '受付日時', from: '送信元', outcome: '判定', autoreply: '自動返信', notify: '通知', fields: '入力内容', verdict: '判定の理由', mails: 'メール', files: '添付ファイル', bounces: 'バウンス', refused: '入口で拒否（入力内容は保存していません）', none: 'なし', extra: '（フォームの設定にない項目）' },
  en: { receipt: 'Receipt', form: 'Form', received: 'Received', from: 'From', outcome: 'Outcome', autoreply: 'Auto-reply', notify: 'Notification', fields: 'Fields', verdict: 'Why this verdict', mails: 'Mails', files: 'Files', bounces: 'Bounces', refused: 'refused at the door (its fields were not stored)', none: 'none', extra: '(not in the form any more)' },
} as const;

export function renderDetail(d: SubmissionDetail, lang: Lang): string {
  const l = L[lang];
  const s = (x: string) => terminalSafe(x);
  const block = (x: string) => terminalSafe(x, { newlines: true }).replace(/\n/g, '\n    ');
  const out: string[] = [
    `${l.receipt}: ${d.receipt ?? d.id}   (id ${d.id})`,
    `${l.form}: ${s(d.formTitle)} (${d.form})`,
    `${l.received}: ${d.createdLocal}`,
    `${l.from}: ${s(d.ip)}  ${s(d.userAgent)}`,
    `${l.outcome}: ${d.action}  score ${d.score}${d.refused ? `  ${l.refused}: ${d.refused}` : ''}`,
    `${l.autoreply}: ${d.autoreply}   ${l.notify}: ${d.notify}`,
    '',
    `${l.fields}:`,
  ];
  for (const f of d.fields) out.push(`  ${s(f.label)}:`, `    ${block(f.value)}`);
  for (const f of d.extraFields) out.push(`  ${s(f.label)} ${l.extra}:`, `    ${block(f.value)}`);
  if (d.files.length) {
    out.push('', `${l.files}:`);
    for (const f of d.files) out.push(`  ${s(f.field)}: ${s(f.filename)} (${f.contentType}, ${f.size} bytes)`);
  }
  out.push('', `${l.verdict}:`);
  if (!d.symbols.length) out.push(`  ${l.none}`);
  for (const x of d.symbols) out.push(`  ${x.score >= 0 ? '+' : ''}${x.score}  ${s(x.symbol)}${x.detail ? ` (${s(x.detail)})` : ''}`, `        ${s(x.explanation)}`);
  out.push('', `${l.mails}:`);
  if (!d.mails.length) out.push(`  ${l.none}`);
  else out.push(table(['id', 'kind', 'state', 'to', 'attempts', 'sent', 'error'], d.mails.map((m) => [m.id, m.kind, m.state, m.to, String(m.attempts), m.sent ?? '', m.lastError ?? ''])).trimEnd().replace(/^/gm, '  '));
  if (d.bounces.length) {
    out.push('', `${l.bounces}:`);
    for (const b of d.bounces) out.push(`  ${b.at} ${b.event} ${b.mail} ${s(b.address)} ${s(b.reason)} ${s(b.status)}`);
  }
  return `${out.join('\n')}\n`;
}

export async function submissionsShow(configPath: string | undefined, id: string, opts: { json?: boolean; lang?: string }): Promise<number> {
  const lang = cliLang(opts.lang);
  const loaded = loadConfig(configPath);
  const db = await openAndMigrate(loaded.config.database.url, loaded.baseDir);
  try {
    const d = await getSubmissionDetail(db.kysely, loaded.config, id, lang);
    if (!d) {
      process.stderr.write(`formwarden: no submission ${terminalSafe(id)} (give its id or receipt number)\n`);
      return 1;
    }
    process.stdout.write(opts.json ? `${jsonTerminalSafe(JSON.stringify(d, null, 2))}\n` : renderDetail(d, lang));
    return 0;
  } finally {
    await db.close();
  }
}

const ACTIONS = ['accept', 'accept_no_autoreply', 'quarantine', 'reject'];

/** A date (the start of that day in the instance's time zone) or a full date and time. */
function dayOrTime(s: string | undefined, flag: string, timeZone: string): number | undefined {
  if (s === undefined) return undefined;
  const day = zonedDayStart(s, timeZone);
  if (day !== null) return day;
  const ms = Date.parse(s);
  if (Number.isNaN(ms)) throw new UsageError(`${flag}: not a date (use 2026-12-01 or 2026-12-01T09:00:00+09:00)`);
  return ms;
}

class UsageError extends Error {}

export async function submissionsExport(
  configPath: string | undefined,
  opts: { form?: string; format: string; since?: string; until?: string; action?: string[]; lang?: string; out?: string },
): Promise<number> {
  const lang = cliLang(opts.lang);
  const loaded = loadConfig(configPath);
  const forms = loaded.config.forms.map((f) => f.id);
  const form = opts.form ?? (forms.length === 1 ? forms[0] : undefined);
  try {
    if (!form) throw new UsageError(`--form is needed: this instance has ${forms.length} forms (${forms.join(', ')})`);
    const bad = (opts.action ?? []).filter((a) => !ACTIONS.includes(a));
    if (bad.length) throw new UsageError(`--action: ${bad.join(', ')} is not one of ${ACTIONS.join(', ')}`);
    const filter = { form, actions: opts.action, since: dayOrTime(opts.since, '--since', loaded.config.timeZone), until: dayOrTime(opts.until, '--until', loaded.config.timeZone) };
    const db = await openAndMigrate(loaded.config.database.url, loaded.baseDir);
    const sink = opts.out ? createWriteStream(opts.out) : process.stdout;
    try {
      const chunks = opts.format === 'json' ? exportJson(db.kysely, loaded.config, filter, lang) : exportCsv(db.kysely, loaded.config, filter, lang);
      for await (const chunk of chunks) if (!sink.write(chunk)) await once(sink, 'drain');
    } finally {
      await db.close();
      if (sink !== process.stdout) await new Promise<void>((resolve) => sink.end(resolve));
    }
    return 0;
  } catch (e) {
    if (e instanceof UsageError || e instanceof UnknownFormError) {
      process.stderr.write(`formwarden: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}
