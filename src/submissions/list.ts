// Reading submissions back for the CLI and the owner.
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';

export interface SubmissionSummary {
  id: string;
  form: string;
  created: string;
  outcome: string;
  score: number;
  reasons: string[];
  autoreply: string;
}

export async function listSubmissions(db: Kysely<Database>, opts: { form?: string; limit?: number } = {}): Promise<SubmissionSummary[]> {
  let q = db.selectFrom('submissions').selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc').limit(opts.limit ?? 50);
  if (opts.form) q = q.where('form_id', '=', opts.form);
  const rows = await q.execute();
  return rows.map((r) => {
    const verdict = JSON.parse(r.verdict) as { symbols?: { symbol: string; score: number }[] };
    return {
      id: r.id,
      form: r.form_id,
      created: new Date(r.created_at).toISOString(),
      outcome: r.action,
      score: r.score,
      reasons: (verdict.symbols ?? []).map((s) => `${s.symbol}(${s.score})`),
      autoreply: r.autoreply,
    };
  });
}
