// Reading submissions back for the CLI and the owner.
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';

export interface SubmissionSummary {
  id: string;
  /** The receipt number the visitor and the mails show (K7QD-3M9X); null for rows older than migration 011. */
  receipt: string | null;
  form: string;
  created: string;
  outcome: string;
  score: number;
  reasons: string[];
  autoreply: string;
  /** Bounces and complaints of this submission's mails (auto-reply, notification). */
  bounces: BounceNote[];
}

export interface BounceNote {
  at: string;
  /** bounce | complaint */
  event: string;
  /** The mail that came back: autoreply | notify */
  mail: string;
  outbox: string;
  address: string;
  reason: string;
  status: string;
  hard: boolean;
}

/** Bounce and complaint events of the given submissions (the event's detail names the submission). */
export async function bouncesOf(db: Kysely<Database>, submissions: { id: string; form_id: string; created_at: number }[]): Promise<Map<string, BounceNote[]>> {
  const out = new Map<string, BounceNote[]>();
  if (submissions.length === 0) return out;
  const ids = new Set(submissions.map((s) => s.id));
  const since = Math.min(...submissions.map((s) => s.created_at));
  const events = await db
    .selectFrom('events')
    .selectAll()
    .where('kind', 'in', ['bounce', 'complaint'])
    .where('form_id', 'in', [...new Set(submissions.map((s) => s.form_id))])
    .where('at', '>=', since)
    .orderBy('at', 'desc')
    .limit(10_000)
    .execute();
  for (const e of events.reverse()) {
    let d: { submission?: string; outbox?: string; kind?: string; reason?: string; status?: string; hard?: boolean };
    try {
      d = JSON.parse(e.detail);
    } catch {
      continue;
    }
    if (!d.submission || !ids.has(d.submission)) continue;
    const list = out.get(d.submission) ?? [];
    list.push({ at: new Date(e.at).toISOString(), event: e.kind, mail: d.kind ?? '', outbox: d.outbox ?? '', address: e.address ?? '', reason: d.reason ?? '', status: d.status ?? '', hard: !!d.hard });
    out.set(d.submission, list);
  }
  return out;
}

export async function listSubmissions(db: Kysely<Database>, opts: { form?: string; limit?: number } = {}): Promise<SubmissionSummary[]> {
  let q = db.selectFrom('submissions').selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc').limit(opts.limit ?? 50);
  if (opts.form) q = q.where('form_id', '=', opts.form);
  const rows = await q.execute();
  const bounces = await bouncesOf(db, rows);
  return rows.map((r) => {
    const verdict = JSON.parse(r.verdict) as { symbols?: { symbol: string; score: number }[] };
    return {
      id: r.id,
      receipt: r.receipt ?? null,
      form: r.form_id,
      created: new Date(r.created_at).toISOString(),
      outcome: r.action,
      score: r.score,
      reasons: (verdict.symbols ?? []).map((s) => `${s.symbol}(${s.score})`),
      autoreply: r.autoreply,
      bounces: bounces.get(r.id) ?? [],
    };
  });
}
