// A form's submissions as CSV (UTF-8 with a BOM so Excel in Japan opens it) or JSON lines, with the
// field labels as column names. Read in keyset pages, so a large inbox streams in bounded memory.
// Shared by `submissions export` and the web console.
import type { Kysely } from 'kysely';
import type { Config, FormConfig } from '../config/schema.js';
import type { Lang } from '../i18n/messages.js';
import { t } from '../i18n/messages.js';
import { formatInZone } from '../mail/template.js';
import type { Database } from '../store/schema.js';
import { fieldViews } from './detail.js';

export interface ExportFilter {
  form: string;
  /** Only these outcomes (accept, accept_no_autoreply, quarantine, reject). */
  actions?: string[];
  /** Epoch ms, inclusive / exclusive. */
  since?: number;
  until?: number;
  /** Rows per database read (default 1000). */
  pageSize?: number;
}

export const BOM = '\uFEFF';

/**
 * A cell a spreadsheet will not run: text starting with = + - @ or a tab/CR is a formula to Excel and
 * LibreOffice (CSV injection), so it gets a leading apostrophe, as OWASP recommends. Then RFC 4180 quoting.
 */
export function csvCell(value: string): string {
  const v = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

export const csvLine = (cells: readonly string[]) => `${cells.map(csvCell).join(',')}\r\n`;

interface ExportRecord {
  id: string;
  receipt: string;
  received: string;
  outcome: string;
  score: number;
  reasons: string;
  fields: { label: string; value: string }[];
}

function exportColumns(form: FormConfig, lang: Lang): string[] {
  const fixed = [t(lang, 'receipt'), t(lang, 'export_received'), t(lang, 'export_outcome'), t(lang, 'export_score')];
  const fields = form.fields.filter((f) => f.type !== 'hidden');
  const seen = new Set([...fixed, t(lang, 'export_reasons'), 'id']);
  // Two fields may share a label; a column name stays unique (JSON keys would otherwise overwrite).
  const labels = fields.map((f) => {
    const label = seen.has(f.label[lang]) ? `${f.label[lang]} (${f.name})` : f.label[lang];
    seen.add(label);
    return label;
  });
  return [...fixed, ...labels, t(lang, 'export_reasons'), 'id'];
}

async function* records(db: Kysely<Database>, config: Config, form: FormConfig, filter: ExportFilter, lang: Lang): AsyncGenerator<ExportRecord> {
  const page = filter.pageSize ?? 1000;
  let after: { created_at: number; id: string } | null = null;
  const names = new Set(form.fields.filter((f) => f.type !== 'hidden').map((f) => f.name));
  for (;;) {
    let q = db
      .selectFrom('submissions')
      .select(['id', 'receipt', 'created_at', 'action', 'score', 'verdict', 'fields'])
      .where('form_id', '=', form.id)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(page);
    if (filter.actions?.length) q = q.where('action', 'in', filter.actions);
    if (filter.since !== undefined) q = q.where('created_at', '>=', filter.since);
    if (filter.until !== undefined) q = q.where('created_at', '<', filter.until);
    if (after) {
      const a = after;
      q = q.where((eb) => eb.or([eb('created_at', '<', a.created_at), eb.and([eb('created_at', '=', a.created_at), eb('id', '<', a.id)])]));
    }
    const rows = await q.execute();
    for (const r of rows) {
      let values: Record<string, unknown> = {};
      let symbols: { symbol: string; score: number }[] = [];
      try {
        values = JSON.parse(r.fields) as Record<string, unknown>;
        symbols = (JSON.parse(r.verdict) as { symbols?: typeof symbols }).symbols ?? [];
      } catch {
        /* a damaged row still exports its metadata */
      }
      const { fields } = fieldViews(form, values, lang);
      yield {
        id: r.id,
        receipt: r.receipt ?? '',
        received: formatInZone(new Date(r.created_at), config.timeZone, lang),
        outcome: r.action,
        score: r.score,
        reasons: symbols.map((s) => `${s.symbol}(${s.score})`).join(' '),
        fields: fields.filter((f) => names.has(f.name)).map((f) => ({ label: f.label, value: f.value })),
      };
    }
    if (rows.length < page) return;
    const last = rows[rows.length - 1]!;
    after = { created_at: last.created_at, id: last.id };
  }
}

/** CSV text chunks: the BOM and header first, then one line per submission, newest first. */
export async function* exportCsv(db: Kysely<Database>, config: Config, filter: ExportFilter, lang: Lang): AsyncGenerator<string> {
  const form = formOrThrow(config, filter.form);
  yield BOM + csvLine(exportColumns(form, lang));
  for await (const r of records(db, config, form, filter, lang)) {
    yield csvLine([r.receipt, r.received, r.outcome, String(r.score), ...r.fields.map((f) => f.value), r.reasons, r.id]);
  }
}

/** JSON: an array of objects keyed by the same column names as the CSV, streamed in chunks. */
export async function* exportJson(db: Kysely<Database>, config: Config, filter: ExportFilter, lang: Lang): AsyncGenerator<string> {
  const form = formOrThrow(config, filter.form);
  const cols = exportColumns(form, lang);
  let first = true;
  yield '[';
  for await (const r of records(db, config, form, filter, lang)) {
    const cells = [r.receipt, r.received, r.outcome, r.score, ...r.fields.map((f) => f.value), r.reasons, r.id];
    const obj = Object.fromEntries(cols.map((c, i) => [c, cells[i]]));
    yield `${first ? '\n' : ',\n'}${JSON.stringify(obj)}`;
    first = false;
  }
  yield first ? ']\n' : '\n]\n';
}

export class UnknownFormError extends Error {
  readonly code = 'E_UNKNOWN_FORM';
}

function formOrThrow(config: Config, id: string): FormConfig {
  const form = config.forms.find((f) => f.id === id);
  if (!form) throw new UnknownFormError(`no form "${id}" (forms: ${config.forms.map((f) => f.id).join(', ')})`);
  return form;
}
