// Anomaly detection and the circuit breaker, per form and per instance. Every tick counts the last
// window (submissions, auto-replies, distinct recipient domains, share rejected, bounces) against a
// hard limit and against the trailing baseline of earlier windows. A trip stops the form's auto-replies
// (pending ones are cancelled), raises the proof-of-work difficulty and alerts the owner at once.
// After the cool-down the breaker is half-open: it closes after a calm window, or opens again.
import type { Kysely } from 'kysely';
import type { Config } from '../config/schema.js';
import { addressDomain } from '../relay/address.js';
import { recordCancelledAutoreply } from '../relay/budget.js';
import type { Database } from '../store/schema.js';
import type { Clock } from '../util/clock.js';
import { newId } from '../util/id.js';

export type BreakerState = 'closed' | 'open' | 'half_open';

export interface WindowStats {
  submissions: number;
  autoreplies: number;
  recipientDomains: number;
  rejected: number;
  bounces: number;
  topIps: [string, number][];
  topDomains: [string, number][];
  samples: { fields: Record<string, string>; ip: string }[];
}

export interface TripInfo {
  scope: string;
  formId: string | null;
  reason: string;
  stats: WindowStats;
}

export interface MonitorDeps {
  db: Kysely<Database>;
  config: Config;
  clock: Clock;
  /** Called once per trip (and per re-trip): the alert sender. */
  onTrip?: (trip: TripInfo) => Promise<void>;
  log?: { warn(obj: object, msg: string): void };
}

type Limits = { submissions: number; autoreplies: number; recipientDomains: number; rejectedShare: number; bounces: number };

export class Monitor {
  private states = new Map<string, BreakerState>();

  constructor(private readonly deps: MonitorDeps) {}

  setTripHandler(onTrip: (trip: TripInfo) => Promise<void>): void {
    this.deps.onTrip = onTrip;
  }

  /** Cached state (refreshed every tick, and at once on a trip in this process). */
  isOpen(formId: string): boolean {
    return this.states.get(`form:${formId}`) === 'open' || this.states.get('instance') === 'open';
  }

  state(scope: string): BreakerState {
    return this.states.get(scope) ?? 'closed';
  }

  /** Reads breaker state from the database (other processes may have tripped it). */
  async refresh(): Promise<void> {
    const rows = await this.deps.db.selectFrom('breakers').select(['scope', 'state']).execute();
    this.states = new Map(rows.map((r) => [r.scope, r.state as BreakerState]));
  }

  /** One look at every form and at the instance. Returns the trips of this tick. */
  async tick(): Promise<TripInfo[]> {
    const { config } = this.deps;
    await this.refresh();
    if (!config.monitor.enabled) return [];
    const trips: TripInfo[] = [];
    for (const form of config.forms) {
      const trip = await this.evaluate(`form:${form.id}`, form.id, config.monitor.form);
      if (trip) trips.push(trip);
    }
    const trip = await this.evaluate('instance', null, config.monitor.instance);
    if (trip) trips.push(trip);
    return trips;
  }

  private async evaluate(scope: string, formId: string | null, limits: Limits): Promise<TripInfo | null> {
    const m = this.deps.config.monitor;
    const now = this.deps.clock.now().getTime();
    const windowMs = m.windowSeconds * 1000;
    const current = await this.stats(formId, now - windowMs, now);
    const reason = await this.anomaly(formId, current, limits, now, windowMs);
    const state = this.state(scope);
    const row = await this.deps.db.selectFrom('breakers').selectAll().where('scope', '=', scope).executeTakeFirst();

    if (reason && (state !== 'open' || !row)) {
      await this.trip(scope, formId, reason, now);
      const info = { scope, formId, reason, stats: current };
      await this.deps.onTrip?.(info);
      return info;
    }
    if (state === 'open' && row?.retry_at !== null && row && now >= (row.retry_at ?? 0)) {
      await this.setState(scope, 'half_open', row.reason, now, row.tripped_at, null);
    } else if (state === 'half_open' && !reason && row && now - row.updated_at >= windowMs) {
      await this.setState(scope, 'closed', '', now, null, null);
    }
    return null;
  }

  private async anomaly(formId: string | null, s: WindowStats, limits: Limits, now: number, windowMs: number): Promise<string | null> {
    const m = this.deps.config.monitor;
    if (s.submissions > limits.submissions) return `submissions ${s.submissions} in ${m.windowSeconds}s > limit ${limits.submissions}`;
    if (s.autoreplies > limits.autoreplies) return `auto-replies ${s.autoreplies} in ${m.windowSeconds}s > limit ${limits.autoreplies}`;
    if (s.recipientDomains > limits.recipientDomains) return `recipient domains ${s.recipientDomains} in ${m.windowSeconds}s > limit ${limits.recipientDomains}`;
    if (s.bounces > limits.bounces) return `bounces ${s.bounces} in ${m.windowSeconds}s > limit ${limits.bounces}`;
    if (s.submissions >= m.minSample && s.rejected / s.submissions > limits.rejectedShare) {
      return `rejected share ${Math.round((100 * s.rejected) / s.submissions)}% > ${Math.round(limits.rejectedShare * 100)}%`;
    }
    if (s.submissions >= m.minSample) {
      const base = await this.stats(formId, now - windowMs * (m.baselineWindows + 1), now - windowMs, false);
      const perWindow = base.submissions / m.baselineWindows;
      if (s.submissions > m.factor * Math.max(perWindow, 1)) {
        return `submissions ${s.submissions} in ${m.windowSeconds}s > ${m.factor}x baseline ${perWindow.toFixed(1)}`;
      }
    }
    return null;
  }

  async stats(formId: string | null, from: number, to: number, detail = true): Promise<WindowStats> {
    const db = this.deps.db;
    let q = db.selectFrom('submissions').select(['action', 'ip', 'autoreply', 'autoreply_to', 'fields']).where('created_at', '>', from).where('created_at', '<=', to);
    if (formId) q = q.where('form_id', '=', formId);
    const rows = await q.limit(50_000).execute();
    // Abuse signals: bounces of our mail, complaints, and clicks on "I didn't request this".
    let e = db.selectFrom('events').select((eb) => eb.fn.countAll<number>().as('n')).where('kind', 'in', ['bounce', 'complaint', 'abuse_link']).where('at', '>', from).where('at', '<=', to);
    if (formId) e = e.where('form_id', '=', formId);
    const bounces = Number((await e.executeTakeFirstOrThrow()).n);
    const domains = new Map<string, number>();
    const ips = new Map<string, number>();
    let autoreplies = 0;
    let rejected = 0;
    for (const r of rows) {
      if (r.action === 'reject' || r.action === 'quarantine') rejected++;
      if (r.autoreply === 'queued') autoreplies++;
      if (detail) {
        ips.set(r.ip, (ips.get(r.ip) ?? 0) + 1);
        if (r.autoreply_to) {
          const d = addressDomain(r.autoreply_to);
          domains.set(d, (domains.get(d) ?? 0) + 1);
        }
      }
    }
    const top = (m: Map<string, number>) => [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, 5);
    return {
      submissions: rows.length,
      autoreplies,
      recipientDomains: domains.size,
      rejected,
      bounces,
      topIps: top(ips),
      topDomains: top(domains),
      samples: detail ? rows.slice(-2).map((r) => ({ fields: JSON.parse(r.fields) as Record<string, string>, ip: r.ip })) : [],
    };
  }

  private async trip(scope: string, formId: string | null, reason: string, now: number): Promise<void> {
    const retryAt = now + this.deps.config.monitor.coolDownSeconds * 1000;
    await this.setState(scope, 'open', reason, now, now, retryAt);
    await this.deps.db.insertInto('events').values({ id: newId('e', now), kind: 'breaker', form_id: formId, address: null, at: now, detail: `${scope}: ${reason}` }).execute();
    await this.cancelPendingAutoreplies(formId, 'breaker');
    this.deps.log?.warn({ scope, reason }, 'circuit breaker tripped');
  }

  /** Cancels auto-replies still waiting in the outbox (the delayed ones), refunding their caps. */
  async cancelPendingAutoreplies(formId: string | null, reason: string): Promise<number> {
    const db = this.deps.db;
    let q = db.selectFrom('outbox').select(['id', 'submission_id']).where('kind', '=', 'autoreply').where('state', '=', 'pending');
    if (formId) q = q.where('form_id', '=', formId);
    const rows = await q.execute();
    for (const r of rows) {
      await db.transaction().execute(async (trx) => {
        const u = await trx.updateTable('outbox').set({ state: 'cancelled', last_error: reason }).where('id', '=', r.id).where('state', '=', 'pending').executeTakeFirst();
        if (Number(u.numUpdatedRows) === 0) return;
        await recordCancelledAutoreply(trx, r, reason);
      });
    }
    return rows.length;
  }

  private async setState(scope: string, state: BreakerState, reason: string, now: number, trippedAt: number | null, retryAt: number | null): Promise<void> {
    await this.deps.db
      .insertInto('breakers')
      .values({ scope, state, reason, tripped_at: trippedAt, retry_at: retryAt, updated_at: now })
      .onConflict((oc) => oc.column('scope').doUpdateSet({ state, reason, tripped_at: trippedAt, retry_at: retryAt, updated_at: now }))
      .execute();
    this.states.set(scope, state);
  }

  /** `formwarden breaker reset FORM`: closes the breaker now. */
  async reset(scope: string): Promise<boolean> {
    const now = this.deps.clock.now().getTime();
    const row = await this.deps.db.selectFrom('breakers').select('scope').where('scope', '=', scope).executeTakeFirst();
    if (!row) return false;
    await this.setState(scope, 'closed', '', now, null, null);
    return true;
  }
}
