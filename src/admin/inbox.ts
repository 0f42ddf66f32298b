// The console's inbox: every stored submission the user may see, newest first, in keyset pages (a page
// costs the same at row 100,000 as at row 1), filtered by form, outcome, dates and text in the fields.
import { sql, type Kysely } from 'kysely';
import type { Config } from '../config/schema.js';
import type { Lang } from '../i18n/messages.js';
import type { Database } from '../store/schema.js';
import { catalogOf, explainSymbol } from '../submissions/detail.js';
import { formatInZone } from '../mail/template.js';
import { visitorAddressField } from '../mail/plan.js';

export interface InboxFilter {
  /** The forms the user may see (all for an owner). */
  forms: string[];
  form?: string;
  action?: string;
  since?: number;
  until?: number;
  /** Text searched for in the stored fields (substring; case-insensitive for ASCII letters). */
  q?: string;
  /** Keyset cursor: rows strictly older than this (created_at, id). */
  before?: { at: number; id: string };
  limit?: number;
}

export interface InboxRow {
  id: string;
  receipt: string;
  form: string;
  formTitle: string;
  received: string;
  action: string;
  score: number;
  /** The visitor's name-like first text field and address, as typed. */
  from: string;
  summary: string;
  /** The top symbols by score, as short readable labels. */
  reasons: { symbol: string; score: number; label: string }[];
  refused: string | null;
}

const shortLabels = new Map<string, string>();
/** A catalog description shortened to a label: its first clause. */
export function shortLabel(description: string): string {
  let label = shortLabels.get(description);
  if (label === undefined) {
    const cut = description.split(/[。（(:：;.]/)[0]!.trim();
    label = cut.length > 48 ? `${cut.slice(0, 47)}…` : cut;
    if (shortLabels.size < 5000) shortLabels.set(description, label);
  }
  return label;
}

/** Rows per inbox page: a screen or two on a phone, and a page that stays quick to read and render. */
export const PAGE_SIZE = 25;

/** A symbol's readable label: the catalog's description (config overrides included), shortened. */
export function symbolLabel(config: Config, symbol: string, lang: Lang): string {
  return shortLabel(explainSymbol(catalogOf(config), symbol, lang) || symbol);
}

export const ACTIONS = ['accept', 'accept_no_autoreply', 'quarantine', 'reject'] as const;

/** Which of a form's fields the inbox shows: its first text field as the name, the visitor's address, the message. */
interface FormShape {
  title: Record<Lang, string>;
  name?: string;
  email?: string;
  body?: string;
}
const shapes = new WeakMap<Config, Map<string, FormShape>>();
function shapeOf(config: Config, formId: string): FormShape {
  let byForm = shapes.get(config);
  if (!byForm) {
    byForm = new Map();
    for (const f of config.forms) {
      const text = f.fields.filter((x) => x.type === 'text' || x.type === 'textarea');
      byForm.set(f.id, {
        title: f.title,
        name: text.find((x) => x.type === 'text')?.name,
        email: visitorAddressField(f),
        body: (text.find((x) => x.type === 'textarea') ?? text[1])?.name,
      });
    }
    shapes.set(config, byForm);
  }
  return byForm.get(formId) ?? { title: { ja: formId, en: formId } };
}

export function encodeCursor(c: { at: number; id: string }): string {
  return `${c.at}_${c.id}`;
}
export function decodeCursor(s: unknown): { at: number; id: string } | undefined {
  if (typeof s !== 'string') return undefined;
  const m = /^(\d{1,15})_([a-z]_[0-9a-z]{1,40})$/.exec(s);
  return m ? { at: Number(m[1]), id: m[2]! } : undefined;
}

const likeEscape = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

export async function listInbox(db: Kysely<Database>, dialect: 'sqlite' | 'postgres', config: Config, filter: InboxFilter, lang: Lang): Promise<{ rows: InboxRow[]; next?: string }> {
  const limit = Math.min(Math.max(filter.limit ?? PAGE_SIZE, 1), 200);
  const forms = filter.form ? filter.forms.filter((f) => f === filter.form) : filter.forms;
  if (forms.length === 0) return { rows: [] };
  // One form, or every form: one query down an index in time order. Several forms but not all (a member):
  // one such query per form, merged here; an IN list would make the database sort all their rows.
  const every = forms.length === config.forms.length && config.forms.every((f) => forms.includes(f.id));
  const scopes: (string | null)[] = every ? [null] : forms;
  const read = (formId: string | null) => {
    let q = db
      .selectFrom('submissions')
      .select(['id', 'receipt', 'form_id', 'created_at', 'action', 'score', 'verdict', 'fields', 'refused'])
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(limit + 1);
    if (formId !== null) q = q.where('form_id', '=', formId);
    else if (forms.length === 1) q = q.where('form_id', '=', forms[0]!);
    if (filter.action) q = q.where('action', '=', filter.action);
    if (filter.since !== undefined) q = q.where('created_at', '>=', filter.since);
    if (filter.until !== undefined) q = q.where('created_at', '<', filter.until);
    if (filter.q) {
      // JSON keeps non-ASCII text as is, so a substring of what the visitor typed is a substring of the column.
      const pattern = `%${likeEscape(JSON.stringify(filter.q.slice(0, 200)).slice(1, -1))}%`;
      q = q.where(sql<boolean>`${sql.ref('fields')} ${sql.raw(dialect === 'postgres' ? 'ILIKE' : 'LIKE')} ${pattern} ESCAPE '\\'`);
    }
    const b = filter.before;
    // Written as a range on created_at (then the tie on id), so the index seeks to the cursor.
    if (b) q = q.where('created_at', '<=', b.at).where((eb) => eb.or([eb('created_at', '<', b.at), eb('id', '<', b.id)]));
    return q.execute();
  };
  const parts = await Promise.all(scopes.map(read));
  const rows = parts.length === 1 ? parts[0]! : parts.flat().sort((x, y) => y.created_at - x.created_at || (x.id < y.id ? 1 : x.id > y.id ? -1 : 0)).slice(0, limit + 1);
  const more = rows.length > limit;
  const page = more ? rows.slice(0, limit) : rows;
  const out = page.map((r): InboxRow => {
    const form = shapeOf(config, r.form_id);
    let values: Record<string, string> = {};
    let symbols: { symbol: string; score: number }[] = [];
    try {
      values = JSON.parse(r.fields) as Record<string, string>;
      symbols = (JSON.parse(r.verdict) as { symbols?: typeof symbols }).symbols ?? [];
    } catch {
      /* shown with what is readable */
    }
    const str = (v: unknown) => (typeof v === 'string' ? v : '');
    const name = form.name ? str(values[form.name]) : '';
    const email = form.email ? str(values[form.email]) : '';
    return {
      id: r.id,
      receipt: r.receipt ?? r.id,
      form: r.form_id,
      formTitle: form.title[lang],
      received: formatInZone(new Date(r.created_at), config.timeZone, lang),
      action: r.action,
      score: r.score,
      from: (email ? (name ? `${name} <${email}>` : `<${email}>`) : name).slice(0, 200),
      summary: (form.body ? str(values[form.body]) : '').slice(0, 400).replace(/\s+/g, ' ').slice(0, 140),
      reasons: (symbols.length > 1 ? [...symbols].sort((x, y) => Math.abs(y.score) - Math.abs(x.score)).slice(0, 3) : symbols).map((s) => ({
        symbol: s.symbol,
        score: s.score,
        label: symbolLabel(config, s.symbol, lang),
      })),
      refused: r.refused ?? null,
    };
  });
  const last = page[page.length - 1];
  return { rows: out, next: more && last ? encodeCursor({ at: last.created_at, id: last.id }) : undefined };
}
