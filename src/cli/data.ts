// Commands that read or change stored data directly; they work whether or not the server runs.
import { loadConfig } from '../config/load.js';
import { decodedMessage } from '../mail/decode.js';
import { getMail, listMail, retryMail } from '../mail/outbox.js';
import { openAndMigrate, type Db } from '../store/db.js';
import { listSubmissions } from '../submissions/list.js';
import { table } from './table.js';
import { jsonTerminalSafe, terminalSafe } from '../util/terminal-safe.js';

export async function withDb<T>(configPath: string | undefined, fn: (db: Db) => Promise<T>): Promise<T> {
  const loaded = loadConfig(configPath);
  const db = await openAndMigrate(loaded.config.database.url, loaded.baseDir);
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

export const iso = (ms: number | null) => (ms === null ? '' : new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z'));

export async function submissionsList(configPath: string | undefined, opts: { form?: string; limit: string; json?: boolean }): Promise<number> {
  const rows = await withDb(configPath, (db) => listSubmissions(db.kysely, { form: opts.form, limit: Number(opts.limit) || 50 }));
  if (opts.json) process.stdout.write(`${jsonTerminalSafe(JSON.stringify(rows, null, 2))}\n`);
  else {
    const bounced = (r: (typeof rows)[number]) => r.bounces.map((b) => `${b.mail} ${b.event === 'complaint' ? 'complaint' : b.reason} ${b.status}`.trim()).join(', ');
    process.stdout.write(table(['id', 'form', 'created', 'outcome', 'score', 'reasons', 'autoreply', 'bounces'], rows.map((r) => [r.id, r.form, r.created, r.outcome, String(r.score), r.reasons.join(' '), r.autoreply, bounced(r)])));
  }
  return 0;
}

export async function mailList(configPath: string | undefined, opts: { state?: string; kind?: string; limit: string; json?: boolean }): Promise<number> {
  const rows = await withDb(configPath, (db) => listMail(db.kysely, { state: opts.state, kind: opts.kind, limit: Number(opts.limit) || 100 }));
  if (opts.json) {
    process.stdout.write(`${jsonTerminalSafe(JSON.stringify(rows.map((r) => ({ ...r, created_at: iso(r.created_at), sent_at: iso(r.sent_at), next_attempt_at: iso(r.next_attempt_at) })), null, 2))}\n`);
  } else {
    process.stdout.write(
      table(
        ['id', 'kind', 'state', 'to', 'subject', 'attempts', 'created', 'error'],
        rows.map((r) => [r.id, r.kind, r.state, r.to_addr, r.subject, String(r.attempts), iso(r.created_at), r.last_error ?? '']),
      ),
    );
  }
  return 0;
}

export async function mailShow(configPath: string | undefined, id: string, opts: { json?: boolean; raw?: boolean }): Promise<number> {
  const row = await withDb(configPath, (db) => getMail(db.kysely, id));
  if (!row) {
    process.stderr.write(`formwarden: no mail ${id}\n`);
    return 1;
  }
  if (opts.json) {
    process.stdout.write(`${jsonTerminalSafe(JSON.stringify(row, null, 2))}\n`);
    return 0;
  }
  // The mail's fields and text carry what visitors typed: nothing in them may drive the terminal.
  const t = (s: string | null | undefined) => terminalSafe(s ?? '');
  const lines = [
    `id:        ${row.id}`,
    `kind:      ${row.kind}`,
    `state:     ${row.state} (attempts ${row.attempts}${row.last_error ? `, last error: ${t(row.last_error)}` : ''})`,
    `form:      ${row.form_id ?? ''}  submission: ${row.submission_id ?? ''}`,
    // A webhook row names its target (type:name); the URL stays in the configuration.
    row.kind === 'webhook' ? `target:    ${t(row.to_addr)} (forms[${t(row.form_id)}].webhooks; the URL is not stored)` : `to:        ${t(row.to_addr)}`,
    `subject:   ${t(row.subject)}`,
    `created:   ${iso(row.created_at)}   sent: ${iso(row.sent_at)}`,
    '',
    // Decoded by default; --raw prints the source as it left. A webhook's raw is its JSON payload.
    terminalSafe(row.raw && !opts.raw && row.kind !== 'webhook' ? await decodedMessage(row.raw) : (row.raw ?? row.body), { newlines: true }),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

export async function outboxRetry(configPath: string | undefined, id: string): Promise<number> {
  const ok = await withDb(configPath, (db) => retryMail(db.kysely, id, Date.now()));
  if (!ok) {
    process.stderr.write(`formwarden: no dead or pending mail ${id}\n`);
    return 1;
  }
  process.stdout.write(`mail ${id} queued again; a running server sends it within its poll interval\n`);
  return 0;
}
