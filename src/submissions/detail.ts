// One stored submission as the owner reads it: fields decoded by their labels (option labels, not values),
// the time in the instance's zone, the verdict explained symbol by symbol, the mails made for it, their
// bounces and the files. Shared by `submissions show` and the web console.
import type { Kysely } from 'kysely';
import type { Config, FormConfig } from '../config/schema.js';
import type { Lang } from '../i18n/messages.js';
import { displayValue } from '../mail/plan.js';
import { formatInZone } from '../mail/template.js';
import { buildCatalog, lookupSymbol } from '../pipeline/scoring.js';
import { DEFAULT_CATALOG } from '../pipeline/default-catalog.js';
import type { SymbolCatalog } from '../pipeline/types.js';
import type { Database } from '../store/schema.js';
import { listAttachments } from '../attachments/store.js';
import { bouncesOf, type BounceNote } from './list.js';
import { byIdOrReceipt } from './receipt.js';
import { isSuppressed } from '../relay/suppression.js';

export interface FieldView {
  name: string;
  label: string;
  /** Option labels for select/radio/checkbox; the text as typed otherwise. */
  value: string;
}

export interface SymbolView {
  symbol: string;
  score: number;
  detail: string;
  /** One line in the owner's language, from the symbol catalog (config overrides included). */
  explanation: string;
}

export interface MailView {
  id: string;
  kind: string;
  state: string;
  to: string;
  subject: string;
  attempts: number;
  lastError: string | null;
  created: string;
  sent: string | null;
  /** When a pending mail is due (an auto-reply waits for autoreply.delay). */
  due: string | null;
  /** sent and due in the instance's time zone, for people. */
  sentLocal: string | null;
  dueLocal: string | null;
}

export interface SubmissionDetail {
  id: string;
  receipt: string | null;
  form: string;
  formTitle: string;
  /** ISO 8601 UTC, and the same moment in the instance's time zone for people. */
  created: string;
  createdLocal: string;
  lang: string;
  ip: string;
  userAgent: string;
  action: string;
  score: number;
  /** Set when the post was refused at the door: its fields were not stored. */
  refused: string | null;
  autoreply: string;
  notify: string;
  fields: FieldView[];
  /** Posted names the form no longer defines (the config changed since): shown, never dropped. */
  extraFields: FieldView[];
  symbols: SymbolView[];
  mails: MailView[];
  bounces: BounceNote[];
  files: { field: string; filename: string; contentType: string; size: number }[];
  /** The owner's decisions on it (console: release, mark as spam), with who, when (in the zone) and the outcome before. */
  decisions: { kind: 'released' | 'spam'; by: string; at: string; from: string }[];
  /** "I didn't request this" link uses for its auto-reply (ISO times). */
  abuseLinks: string[];
  /** Whether the auto-reply address is on the suppression list now. */
  suppressed: boolean;
}

const catalogs = new WeakMap<Config, SymbolCatalog>();
/** The instance's symbol catalog: the defaults with the config's `defenses.symbols` overrides. */
export function catalogOf(config: Config): SymbolCatalog {
  let c = catalogs.get(config);
  if (!c) {
    c = buildCatalog(DEFAULT_CATALOG, config.defenses.symbols);
    catalogs.set(config, c);
  }
  return c;
}

export function explainSymbol(catalog: SymbolCatalog, symbol: string, lang: Lang): string {
  return lookupSymbol(catalog, symbol)?.description[lang] ?? '';
}

/** The stored fields by the form's labels, in the form's order; names the form does not know come after. */
export function fieldViews(form: FormConfig | undefined, values: Record<string, unknown>, lang: Lang): { fields: FieldView[]; extra: FieldView[] } {
  const text = (v: unknown) => (typeof v === 'string' ? v : v === undefined || v === null ? '' : JSON.stringify(v));
  const fields = (form?.fields ?? [])
    .filter((f) => f.type !== 'hidden' || values[f.name] !== undefined)
    .map((f) => ({ name: f.name, label: f.label[lang], value: displayValue(f, text(values[f.name]), lang) }));
  const known = new Set((form?.fields ?? []).map((f) => f.name));
  const extra = Object.keys(values)
    .filter((k) => !known.has(k))
    .map((k) => ({ name: k, label: k, value: text(values[k]) }));
  return { fields, extra };
}

function parseJson<T>(s: string, fallback: T): T {
  try {
    return JSON.parse(s) as T;
  } catch {
    return fallback;
  }
}

const iso = (ms: number) => new Date(ms).toISOString();

/** A submission by its id or its receipt number as a person types it (parseReceipt). */
export async function getSubmissionDetail(db: Kysely<Database>, config: Config, idOrReceipt: string, lang: Lang): Promise<SubmissionDetail | null> {
  const key = idOrReceipt.trim();
  const row = await db
    .selectFrom('submissions')
    .selectAll()
    .where(await byIdOrReceipt(db, key))
    .executeTakeFirst();
  if (!row) return null;
  const form = config.forms.find((f) => f.id === row.form_id);
  const values = parseJson<Record<string, unknown>>(row.fields, {});
  const { fields, extra } = fieldViews(form, values, lang);
  type Decision = { by?: string; at?: number; from?: string };
  const verdict = parseJson<{ symbols?: { symbol: string; score: number; detail?: string }[]; released?: Decision; spam?: Decision }>(row.verdict, {});
  const decisions = (['released', 'spam'] as const)
    .filter((k) => verdict[k]?.at)
    .map((k) => ({ kind: k, by: String(verdict[k]!.by ?? ''), at: formatInZone(new Date(verdict[k]!.at!), config.timeZone, lang), from: String(verdict[k]!.from ?? '') }));
  const catalog = catalogOf(config);
  const mails = await db
    .selectFrom('outbox')
    .select(['id', 'kind', 'state', 'to_addr', 'subject', 'attempts', 'last_error', 'created_at', 'sent_at', 'next_attempt_at'])
    .where('submission_id', '=', row.id)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  const bounces = (await bouncesOf(db, [row])).get(row.id) ?? [];
  const files = await listAttachments(db, row.id);
  const abuse = await db.selectFrom('events').select('at').where('kind', '=', 'abuse_link').where('detail', '=', row.id).orderBy('at').execute();
  const suppressed = row.autoreply_to ? await isSuppressed(db, row.autoreply_to) : false;
  const createdAt = new Date(row.created_at);
  return {
    id: row.id,
    receipt: row.receipt ?? null,
    form: row.form_id,
    formTitle: form?.title[lang] ?? row.form_id,
    created: iso(row.created_at),
    createdLocal: formatInZone(createdAt, config.timeZone, lang),
    lang: row.lang,
    ip: row.ip,
    userAgent: row.user_agent,
    action: row.action,
    score: row.score,
    refused: row.refused ?? null,
    autoreply: row.autoreply,
    notify: row.notify,
    fields,
    extraFields: extra,
    symbols: (verdict.symbols ?? []).map((s) => ({ symbol: s.symbol, score: s.score, detail: s.detail ?? '', explanation: explainSymbol(catalog, s.symbol, lang) })),
    mails: mails.map((m) => ({
      id: m.id,
      kind: m.kind,
      state: m.state,
      to: m.to_addr,
      subject: m.subject,
      attempts: m.attempts,
      lastError: m.last_error,
      created: iso(m.created_at),
      sent: m.sent_at === null ? null : iso(m.sent_at),
      due: m.state === 'pending' ? iso(m.next_attempt_at) : null,
      sentLocal: m.sent_at === null ? null : formatInZone(new Date(m.sent_at), config.timeZone, lang),
      dueLocal: m.state === 'pending' ? formatInZone(new Date(m.next_attempt_at), config.timeZone, lang) : null,
    })),
    bounces,
    files: files.map((f) => ({ field: f.field, filename: f.filename, contentType: f.content_type, size: Number(f.size) })),
    decisions,
    abuseLinks: abuse.map((e) => iso(e.at)),
    suppressed,
  };
}
