// What must hold after every fault: each submission answered 2xx is stored with its mails; the outbox
// drains by itself; each mail reached the SMTP server at most `maxCopies` times (1, or 2 where the
// fault can strike between the SMTP answer and the state update: the documented at-least-once bound);
// /healthz answers 200; and a new submission is accepted.
import { expect } from 'vitest';
import { submitLikeAPerson } from '../../src/client/protocol.js';
import type { Db } from '../../src/store/db.js';
import type { SmtpSink } from '../support/smtp-sink.js';
import { waitFor } from '../support/wait.js';

export interface Posted {
  /** Ids of the submissions answered 201. */
  accepted: string[];
  /** Every other answer: HTTP status, or the network error's message. */
  failed: (number | string)[];
  /** The answers 503: Retry-After and error code. */
  unavailable: { retryAfter: string | null; code: string }[];
}

async function postOne(url: string, tag: string, out: Posted): Promise<void> {
  try {
    const res = await submitLikeAPerson(url, 'contact', { name: `visitor ${tag}`, email: `${tag}@d${tag}.example.jp`, message: `fault test message ${tag}` });
    if (res.status === 201) {
      out.accepted.push(((await res.json()) as { id: string }).id);
      return;
    }
    out.failed.push(res.status);
    if (res.status === 503) out.unavailable.push({ retryAfter: res.headers.get('retry-after'), code: ((await res.json()) as { error: { code: string } }).error.code });
    else await res.body?.cancel();
  } catch (e) {
    out.failed.push(String((e as Error).message ?? e));
  }
}

/** `n` visitors (distinct addresses and domains) post through the whole protocol, `concurrency` at a time. */
export async function flood(url: string, n: number, opts: { concurrency?: number; tag?: string; onAccepted?: (count: number) => void } = {}): Promise<Posted> {
  const out: Posted = { accepted: [], failed: [], unavailable: [] };
  let next = 0;
  const one = async () => {
    for (let i = next++; i < n; i = next++) {
      const before = out.accepted.length;
      await postOne(url, `${opts.tag ?? 'v'}${i}`, out);
      if (out.accepted.length > before) opts.onAccepted?.(out.accepted.length);
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency ?? 4 }, one));
  return out;
}

/** Visitors keep posting (`concurrency` at a time, at most `max`) until stop() is called. */
export function keepPosting(url: string, opts: { concurrency?: number; max?: number; tag?: string } = {}) {
  const out: Posted = { accepted: [], failed: [], unavailable: [] };
  let stopped = false;
  let next = 0;
  const max = opts.max ?? 1000;
  const one = async () => {
    while (!stopped && next < max) await postOne(url, `${opts.tag ?? 'k'}${next++}`, out);
  };
  const running = Promise.all(Array.from({ length: opts.concurrency ?? 2 }, one));
  return {
    out,
    async stop(): Promise<Posted> {
      stopped = true;
      await running;
      return out;
    },
  };
}

export interface InvariantOptions {
  db: Db;
  sink: SmtpSink;
  url: string;
  accepted: string[];
  /** Most copies of one mail the SMTP server may see (default 1). */
  maxCopies?: number;
  /** Outbox states that may remain besides sent (e.g. dead after a 5xx). Default none. */
  allowStates?: string[];
  timeoutMs?: number;
}

/** Returns how many mails of the accepted submissions were sent. */
export async function checkInvariants(o: InvariantOptions): Promise<{ sent: number }> {
  const k = o.db.kysely;
  const maxCopies = o.maxCopies ?? 1;
  // Nothing accepted is lost: every 201 is a stored submission.
  const subs = await k.selectFrom('submissions').select(['id', 'notify', 'autoreply']).execute();
  const byId = new Map(subs.map((s) => [s.id, s]));
  for (const id of o.accepted) expect(byId.has(id), `submission ${id} answered 201 is stored`).toBe(true);
  // The outbox drains without manual steps. (Housekeeping may queue an alert or a digest at any time:
  // the checks below work on one snapshot in which nothing is pending.)
  const rows = await waitFor(
    async () => {
      const all = await k.selectFrom('outbox').select(['id', 'submission_id', 'kind', 'state', 'message_id', 'last_error']).execute();
      return all.every((r) => r.state !== 'pending') ? all : null;
    },
    'the outbox to drain',
    // A mail leased by a killed process waits out its lease (30 s with the test timeouts), on a loaded machine.
    o.timeoutMs ?? 120_000,
    100,
  );
  const allowed = new Set(['sent', ...(o.allowStates ?? [])]);
  // An auto-reply the last check cancels (breaker, burst, suppression) is a decision, not a loss.
  const ok = (r: (typeof rows)[number]) => allowed.has(r.state) || (r.kind === 'autoreply' && r.state === 'cancelled');
  for (const r of rows) expect(ok(r), `mail ${r.id} (${r.kind}) ends ${r.state} (${r.last_error})`).toBe(true);
  // Every queued mail of an accepted submission exists; its copies at the server are within the bound.
  for (const id of o.accepted) {
    const s = byId.get(id)!;
    const mine = rows.filter((r) => r.submission_id === id);
    if (s.notify === 'queued') expect(mine.some((r) => r.kind === 'notify'), `${id} has its notification`).toBe(true);
    if (s.autoreply === 'queued') expect(mine.some((r) => r.kind === 'autoreply'), `${id} has its auto-reply`).toBe(true);
  }
  const copies = new Map<string, number>();
  for (const m of o.sink.received) {
    const mid = String(m.parsed.headers.get('message-id') ?? '');
    copies.set(mid, (copies.get(mid) ?? 0) + 1);
  }
  // Taken after the sink's copy: a mail at the server had its row before it was sent.
  const known = new Set((await k.selectFrom('outbox').select('message_id').execute()).map((r) => r.message_id));
  for (const mid of copies.keys()) expect(known.has(mid), `mail ${mid} at the server is in the outbox`).toBe(true);
  let sent = 0;
  const ours = new Set(o.accepted);
  for (const r of rows) {
    const n = copies.get(r.message_id) ?? 0;
    if (r.state === 'sent') {
      if (r.submission_id && ours.has(r.submission_id)) sent++;
      expect(n, `sent mail ${r.id} (${r.kind}) reached the server`).toBeGreaterThanOrEqual(1);
    }
    expect(n, `mail ${r.id} (${r.kind}) copies at the server`).toBeLessThanOrEqual(maxCopies);
  }
  // Healthy again.
  const health = await waitFor(async () => {
    const res = await fetch(`${o.url}/healthz`);
    return res.status === 200 ? res : null;
  }, '/healthz 200', 30_000);
  expect(health.status).toBe(200);
  // And it takes new work.
  const res = await submitLikeAPerson(o.url, 'contact', { name: 'after', email: `after-${Date.now()}@after.example.jp`, message: 'after the fault' });
  expect(res.status).toBe(201);
  return { sent };
}
