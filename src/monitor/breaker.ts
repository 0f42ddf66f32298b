// Anomaly detection and the circuit breaker, per form and per instance. Every tick counts the last
// window (submissions, auto-replies, distinct recipient domains, share refused, bounce signals) against a
// hard limit and against the trailing baseline of earlier windows. A trip stops the form's auto-replies
// (pending ones are cancelled), raises the proof-of-work difficulty and alerts the owner at once.
// After the cool-down the breaker is half-open: it closes after a calm window, or opens again.
// Only what an attacker cannot forge cheaply opens the breaker: accepted posts count, refused ones (no
// mail sent) only mark an "attack observed" (harder proof-of-work, a rate-limited alert); bounce signals
// need several recipient domains and a share of the mail actually sent.
import { sql, type Kysely } from 'kysely';
import type { Config } from '../config/schema.js';
import { addressDomain } from '../relay/address.js';
import { formsInNoSite, siteScopeOf } from '../config/sites.js';
import { recordCancelledAutoreply } from '../relay/budget.js';
import type { Database } from '../store/schema.js';
import type { Dialect } from '../store/db.js';
import type { Clock } from '../util/clock.js';
import { newId } from '../util/id.js';

export type BreakerState = 'closed' | 'open' | 'half_open';

export interface WindowStats {
  /** Every post stored in the window, refused ones included. */
  submissions: number;
  autoreplies: number;
  recipientDomains: number;
  /** Posts refused at the door (reject or quarantine): no auto-reply was sent for them. */
  rejected: number;
  /** Bounce signals: bounces, complaints and "I didn't request this" clicks (at most one per mail). */
  bounces: number;
  /** Distinct recipient domains among the bounce signals. */
  bounceDomains: number;
  /** Auto-replies sent since the oldest mail a signal of the window names (and every mail named). */
  sent: number;
  topIps: [string, number][];
  topDomains: [string, number][];
  samples: { fields: Record<string, string>; ip: string }[];
}

export interface TripInfo {
  scope: string;
  formId: string | null;
  /** A site's trip (scope site:<id>): its forms, whose owners are alerted. */
  forms?: string[];
  reason: string;
  stats: WindowStats;
  /** breaker (default): auto-replies stopped; attack: refused posts observed, auto-replies go on. */
  kind?: 'breaker' | 'attack';
}

/** The signals the breaker counts; `bounce_ignored` (reports that count nothing) is not one. */
export const SIGNAL_KINDS = ['bounce', 'complaint', 'abuse_link'] as const;
/** Signals of mail sent this long ago or less count in the share of mail sent. */
const SENT_LOOKBACK_MS = 7 * 86_400_000;
const ATTACK_KEY = 'monitor:attack:';

export interface MonitorDeps {
  db: Kysely<Database>;
  config: Config;
  clock: Clock;
  /** The database's engine, for its SQL dialect (default SQLite). */
  dialect?: Dialect;
  /** Called once per trip (and per re-trip): the alert sender. */
  onTrip?: (trip: TripInfo) => Promise<void>;
  log?: { warn(obj: object, msg: string): void };
}

type Limits = { submissions: number; autoreplies: number; recipientDomains: number; rejectedShare: number; bounces: number; bounceDomains: number; bounceShare: number };

export class Monitor {
  private states = new Map<string, BreakerState>();
  /** Scopes where refused posts were observed, until when (ms). */
  private attacks = new Map<string, { reason: string; since: number; until: number }>();

  constructor(private readonly deps: MonitorDeps) {}

  setTripHandler(onTrip: (trip: TripInfo) => Promise<void>): void {
    this.deps.onTrip = onTrip;
  }

  /** Cached state (refreshed every tick, and at once on a trip in this process). */
  isOpen(formId: string): boolean {
    // A form of a site stops with its site's breaker (site:<id>), never with another site's or the instance's.
    return this.states.get(`form:${formId}`) === 'open' || this.states.get(siteScopeOf(this.deps.config, formId)) === 'open';
  }

  state(scope: string): BreakerState {
    return this.states.get(scope) ?? 'closed';
  }

  /** An attack (many refused posts) was observed on the form or the instance and has not calmed down yet. */
  underAttack(formId: string): boolean {
    const now = this.deps.clock.now().getTime();
    return [`form:${formId}`, siteScopeOf(this.deps.config, formId)].some((s) => (this.attacks.get(s)?.until ?? 0) > now);
  }

  /** The proof-of-work is raised while the breaker is open or an attack is observed. */
  raisesDifficulty(formId: string): boolean {
    return this.isOpen(formId) || this.underAttack(formId);
  }

  /** Reads breaker state from the database (other processes may have tripped it). */
  async refresh(): Promise<void> {
    const rows = await this.deps.db.selectFrom('breakers').select(['scope', 'state']).execute();
    this.states = new Map(rows.map((r) => [r.scope, r.state as BreakerState]));
    const attacks = await this.deps.db.selectFrom('kv').select(['key', 'value']).where('key', 'like', `${ATTACK_KEY}%`).execute();
    this.attacks = new Map();
    for (const r of attacks) {
      try {
        this.attacks.set(r.key.slice(ATTACK_KEY.length), JSON.parse(r.value) as { reason: string; since: number; until: number });
      } catch {
        // A damaged mark is no attack.
      }
    }
  }

  /** One look at every form and at the instance. Returns the trips of this tick. */
  async tick(): Promise<TripInfo[]> {
    const { config } = this.deps;
    await this.refresh();
    if (!config.monitor.enabled) return [];
    const trips: TripInfo[] = [];
    // One time for the whole tick, and each set of forms counted once: with one form, or a site of one form,
    // two scopes look at the same rows.
    const at: TickTime = { now: this.deps.clock.now().getTime(), counted: new Map() };
    for (const form of config.forms) trips.push(...(await this.evaluate(`form:${form.id}`, form.id, config.monitor.form, [form.id], at)));
    // Each site is watched as an instance of its own (the instance limits, over its forms only); the instance
    // scope watches the forms in no site. Without sites: the instance, over every configured form.
    for (const site of config.sites) trips.push(...(await this.evaluate(`site:${site.id}`, null, config.monitor.instance, site.forms, at)));
    const rest = config.sites.length > 0 ? formsInNoSite(config) : config.forms.map((f) => f.id);
    if (rest.length > 0) trips.push(...(await this.evaluate('instance', null, config.monitor.instance, rest, at)));
    return trips;
  }

  private async evaluate(scope: string, formId: string | null, limits: Limits, forms: string[], at: TickTime): Promise<TripInfo[]> {
    const m = this.deps.config.monitor;
    const now = at.now;
    const windowMs = m.windowSeconds * 1000;
    // What the decision needs; the top sources and the latest posts only when there is something to report.
    const current = await countOnce(at, forms, now - windowMs, now, 'check', () => this.windowStats(forms, now - windowMs, now, 'check'));
    const reported = () => countOnce(at, forms, now - windowMs, now, 'full', () => this.windowStats(forms, now - windowMs, now, 'full'));
    const reason = await this.anomaly(forms, current, limits, now, windowMs, at);
    const attack = this.attackReason(current, limits);
    const state = this.state(scope);
    const row = await this.deps.db.selectFrom('breakers').selectAll().where('scope', '=', scope).executeTakeFirst();

    if (reason && (state !== 'open' || !row)) {
      await this.trip(scope, formId, forms, reason, now);
      if (attack) await this.observeAttack(scope, formId, attack, now);
      const info: TripInfo = { scope, formId, reason, stats: await reported(), kind: 'breaker', ...(scope.startsWith('site:') && forms ? { forms } : {}) };
      await this.deps.onTrip?.(info);
      return [info];
    }
    const out: TripInfo[] = [];
    if (attack) {
      // Refused posts sent no mail: the owner hears of them (rate-limited) and the proof-of-work rises,
      // but genuine visitors keep their auto-replies.
      await this.observeAttack(scope, formId, attack, now);
      const info: TripInfo = { scope, formId, reason: attack, stats: await reported(), kind: 'attack', ...(scope.startsWith('site:') && forms ? { forms } : {}) };
      if (state !== 'open') await this.deps.onTrip?.(info);
      out.push(info);
    }
    if (state === 'open' && row?.retry_at !== null && row && now >= (row.retry_at ?? 0)) {
      await this.setState(scope, 'half_open', row.reason, now, row.tripped_at, null);
    } else if (state === 'half_open' && !reason && row && now - row.updated_at >= windowMs) {
      await this.setState(scope, 'closed', '', now, null, null);
    }
    return out;
  }

  /** Reasons to stop auto-replies: only posts that were accepted (mail could follow) and signals that need many victims. */
  private async anomaly(formId: string[], s: WindowStats, limits: Limits, now: number, windowMs: number, at: TickTime): Promise<string | null> {
    const m = this.deps.config.monitor;
    const accepted = s.submissions - s.rejected;
    if (accepted > limits.submissions) return `submissions ${accepted} in ${m.windowSeconds}s > limit ${limits.submissions}`;
    if (s.autoreplies > limits.autoreplies) return `auto-replies ${s.autoreplies} in ${m.windowSeconds}s > limit ${limits.autoreplies}`;
    if (s.recipientDomains > limits.recipientDomains) return `recipient domains ${s.recipientDomains} in ${m.windowSeconds}s > limit ${limits.recipientDomains}`;
    // Anyone who received one of our mails can forge its bounce: a burst must come from several recipient
    // domains and be a real share of the mail sent before it stops anything.
    if (s.bounces > limits.bounces && s.bounceDomains >= limits.bounceDomains && s.bounces >= limits.bounceShare * Math.max(s.sent, 1)) {
      return `bounces ${s.bounces} in ${m.windowSeconds}s > limit ${limits.bounces} (${s.bounceDomains} recipient domains, ${s.bounces} of ${s.sent} auto-replies sent)`;
    }
    if (accepted >= m.minSample) {
      const from = now - windowMs * (m.baselineWindows + 1);
      const base = await countOnce(at, formId, from, now - windowMs, 'counts', () => this.windowStats(formId, from, now - windowMs, 'counts'));
      const perWindow = (base.submissions - base.rejected) / m.baselineWindows;
      if (accepted > m.factor * Math.max(perWindow, 1)) {
        return `submissions ${accepted} in ${m.windowSeconds}s > ${m.factor}x baseline ${perWindow.toFixed(1)}`;
      }
    }
    return null;
  }

  /** Posts refused at the door: an attack worth telling the owner about, not a reason to stop auto-replies. */
  private attackReason(s: WindowStats, limits: Limits): string | null {
    const m = this.deps.config.monitor;
    if (s.rejected > limits.submissions) return `refused posts ${s.rejected} in ${m.windowSeconds}s > limit ${limits.submissions}`;
    if (s.submissions >= m.minSample && s.rejected / s.submissions > limits.rejectedShare) {
      return `rejected share ${Math.round((100 * s.rejected) / s.submissions)}% > ${Math.round(limits.rejectedShare * 100)}%`;
    }
    return null;
  }

  /** Marks the scope as under attack for the cool-down (shared through the database); the first mark is an event. */
  private async observeAttack(scope: string, formId: string | null, reason: string, now: number): Promise<void> {
    const prev = this.attacks.get(scope);
    const active = !!prev && prev.until > now;
    const mark = { reason, since: active ? prev.since : now, until: now + this.deps.config.monitor.coolDownSeconds * 1000 };
    const key = `${ATTACK_KEY}${scope}`;
    const value = JSON.stringify(mark);
    await this.deps.db.insertInto('kv').values({ key, value, updated_at: now }).onConflict((oc) => oc.column('key').doUpdateSet({ value, updated_at: now })).execute();
    if (!active) {
      await this.deps.db.insertInto('events').values({ id: newId('e', now), kind: 'attack', form_id: formId, address: null, at: now, detail: `${scope}: ${reason}` }).execute();
      this.deps.log?.warn({ scope, reason }, 'attack observed: posts refused at the door; proof-of-work raised');
    }
    this.attacks.set(scope, mark);
  }

  /** The window's figures for one form, several (a site, the forms in no site), or every form (null); without detail only the counts. */
  stats(formId: FormFilter, from: number, to: number, detail = true): Promise<WindowStats> {
    return this.windowStats(formId, from, to, detail ? 'full' : 'counts');
  }

  /** counts: submissions, auto-replies, refused, signals; check: and the recipient domains; full: and the top sources and the latest posts. */
  private async windowStats(formId: FormFilter, from: number, to: number, level: StatsLevel): Promise<WindowStats> {
    const db = this.deps.db;
    let window = db.selectFrom('submissions').where('created_at', '>', from).where('created_at', '<=', to);
    if (formId !== null) window = window.where('form_id', 'in', forms(formId));
    // In a flood the window holds hundreds of thousands of posts, looked at every interval (on SQLite, while the
    // event loop waits): everything is counted and ranked by the database, the current window over its newest
    // WINDOW_ROWS posts only (every limit the breaker compares is reached long before; 800,000 rows took 3 s a
    // tick), and only the two latest posts, which the alert shows, are read whole.
    const signals = await this.signalStats(formId, from, to);
    const rows = db.selectFrom(
      window
        .select(['action', 'autoreply', 'autoreply_to', 'ip'])
        .$if(level !== 'counts', (q) => q.orderBy('created_at', 'desc').limit(WINDOW_ROWS))
        .as('w'),
    );
    const groups = await rows.select((eb) => ['action', 'autoreply', eb.fn.countAll<number | string>().as('n')]).groupBy(['action', 'autoreply']).execute();
    const sum = (pick: (g: (typeof groups)[number]) => boolean) => groups.filter(pick).reduce((a, g) => a + Number(g.n), 0);
    const counts = { submissions: sum(() => true), autoreplies: sum((g) => g.autoreply === 'queued'), rejected: sum((g) => refusedAction(g.action)) };
    if (level === 'counts') return { ...counts, recipientDomains: 0, ...signals, topIps: [], topDomains: [], samples: [] };
    // Recipient domains: autoreply_to is a canonical mailbox (normalizeAddress), its domain follows the last
    // '@'. Grouped by address first (a flood repeats addresses), the domain taken of each distinct one; the
    // top five and how many there are in one query.
    const a = sql.ref('a');
    const domain = this.deps.dialect === 'postgres' ? sql<string>`substring(${a} from '[^@]*$')` : sql<string>`substr(${a}, length(rtrim(${a}, replace(${a}, '@', ''))) + 1)`;
    const addresses = rows.where('autoreply_to', 'like', '%@%').select((eb) => ['autoreply_to as a', eb.fn.countAll<number | string>().as('n')]).groupBy('autoreply_to');
    const domains = db.selectFrom(addresses.as('x')).select((eb) => [domain.as('d'), eb.fn.sum<number | string>('n').as('n')]).groupBy(domain);
    const topDomains = await db
      .selectFrom(domains.as('y'))
      .select(['d', 'n', sql<number | string>`count(*) over ()`.as('total')])
      .orderBy('n', 'desc')
      .orderBy('d')
      .limit(5)
      .execute();
    const domainStats = { recipientDomains: Number(topDomains[0]?.total ?? 0), topDomains: topDomains.map((r): [string, number] => [r.d, Number(r.n)]) };
    if (level === 'check') return { ...counts, ...domainStats, ...signals, topIps: [], samples: [] };
    const topIps = await rows.select((eb) => ['ip', eb.fn.countAll<number | string>().as('n')]).groupBy('ip').orderBy('n', 'desc').orderBy('ip').limit(5).execute();
    const latest = (await window.select(['fields', 'ip']).orderBy('created_at', 'desc').limit(2).execute()).reverse();
    return {
      ...counts,
      ...domainStats,
      ...signals,
      topIps: topIps.map((r) => [r.ip, Number(r.n)]),
      samples: latest.map((r) => ({ fields: JSON.parse(r.fields) as Record<string, string>, ip: r.ip })),
    };
  }

  /**
   * Abuse signals (bounces of our mail, complaints, clicks on "I didn't request this"): how many mails they
   * name (one mail counts once, whatever mix of reports and clicks it drew), from how many recipient domains,
   * and how many auto-replies were sent since the oldest mail they name (so a handful of forged reports
   * about old mails weighs against everything sent since).
   */
  private async signalStats(formId: FormFilter, from: number, to: number): Promise<{ bounces: number; bounceDomains: number; sent: number }> {
    const db = this.deps.db;
    let e = db.selectFrom('events').select(['kind', 'address', 'detail']).where('kind', 'in', [...SIGNAL_KINDS]).where('at', '>', from).where('at', '<=', to);
    if (formId !== null) e = e.where('form_id', 'in', forms(formId));
    const events = await e.limit(50_000).execute();
    // Each signal's key: the mail it names (bounces: detail.outbox; clicks: detail.outbox or the submission id).
    const keyed = events.map((ev, i) => {
      let outbox: unknown;
      try {
        outbox = (JSON.parse(ev.detail) as { outbox?: unknown } | null)?.outbox;
      } catch {
        outbox = undefined;
      }
      if (typeof outbox === 'string' && outbox) return { key: `m:${outbox}`, address: ev.address ?? '' };
      if (ev.kind === 'abuse_link' && ev.detail) return { key: `s:${ev.detail}`, address: ev.address ?? '' };
      return { key: `e:${i}`, address: ev.address ?? '' };
    });
    const chunks = <T>(xs: T[]) => Array.from({ length: Math.ceil(xs.length / 500) }, (_, i) => xs.slice(i * 500, i * 500 + 500));
    const mails = new Map<string, { id: string; kind: string; state: string; created_at: number }>();
    const bySubmission = new Map<string, string>();
    const outboxIds = [...new Set(keyed.filter((k) => k.key.startsWith('m:')).map((k) => k.key.slice(2)))];
    const submissionIds = [...new Set(keyed.filter((k) => k.key.startsWith('s:')).map((k) => k.key.slice(2)))];
    for (const ids of chunks(outboxIds)) {
      for (const r of await db.selectFrom('outbox').select(['id', 'kind', 'state', 'created_at']).where('id', 'in', ids).execute()) mails.set(r.id, r);
    }
    for (const ids of chunks(submissionIds)) {
      const rows = await db.selectFrom('outbox').select(['id', 'kind', 'state', 'created_at', 'submission_id']).where('kind', '=', 'autoreply').where('submission_id', 'in', ids).execute();
      for (const r of rows) {
        mails.set(r.id, r);
        if (r.submission_id) bySubmission.set(r.submission_id, r.id);
      }
    }
    const signals = new Map<string, string>();
    for (const k of keyed) {
      const row = k.key.startsWith('s:') ? bySubmission.get(k.key.slice(2)) : undefined;
      const key = row ? `m:${row}` : k.key;
      if (!signals.has(key)) signals.set(key, k.address);
    }
    const domains = new Set([...signals.values()].filter(Boolean).map((a) => addressDomain(a)));
    const named = [...signals.keys()].filter((k) => k.startsWith('m:')).map((k) => mails.get(k.slice(2)));
    const since = Math.max(to - SENT_LOOKBACK_MS, named.reduce((m, r) => (r ? Math.min(m, r.created_at) : m), from));
    let q = db.selectFrom('outbox').select((eb) => eb.fn.countAll<number>().as('n')).where('kind', '=', 'autoreply').where('state', '=', 'sent').where('created_at', '>', since).where('created_at', '<=', to);
    if (formId !== null) q = q.where('form_id', 'in', forms(formId));
    const sentInRange = Number((await q.executeTakeFirstOrThrow()).n);
    // Every mail a signal names was sent, whatever its kind or age: the share never exceeds 1.
    const counted = (r: { kind: string; state: string; created_at: number } | undefined) => !!r && r.kind === 'autoreply' && r.state === 'sent' && r.created_at > since && r.created_at <= to;
    const outside = signals.size - named.filter(counted).length;
    return { bounces: signals.size, bounceDomains: domains.size, sent: sentInRange + outside };
  }

  private async trip(scope: string, formId: string | null, forms: FormFilter, reason: string, now: number): Promise<void> {
    const retryAt = now + this.deps.config.monitor.coolDownSeconds * 1000;
    await this.setState(scope, 'open', reason, now, now, retryAt);
    await this.deps.db.insertInto('events').values({ id: newId('e', now), kind: 'breaker', form_id: formId, address: null, at: now, detail: `${scope}: ${reason}` }).execute();
    await this.cancelPendingAutoreplies(forms, 'breaker');
    this.deps.log?.warn({ scope, reason }, 'circuit breaker tripped');
  }

  /** Cancels auto-replies still waiting in the outbox (the delayed ones), refunding their caps. */
  async cancelPendingAutoreplies(formId: FormFilter, reason: string): Promise<number> {
    const db = this.deps.db;
    let q = db.selectFrom('outbox').select(['id', 'submission_id']).where('kind', '=', 'autoreply').where('state', '=', 'pending');
    if (formId !== null) q = q.where('form_id', 'in', forms(formId));
    const rows = await q.execute();
    const now = this.deps.clock.now().getTime();
    for (const r of rows) {
      await db.transaction().execute(async (trx) => {
        // A mail under a worker's lease is being attempted: its precheck (which sees this breaker) cancels it
        // and refunds it, or it is sent and keeps its charge. Cancelling it here would refund a mail that
        // still leaves, and the refund would let one more through the caps (test/cluster.db.test.ts).
        const u = await trx
          .updateTable('outbox')
          .set({ state: 'cancelled', last_error: reason })
          .where('id', '=', r.id)
          .where('state', '=', 'pending')
          .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<', now)]))
          .executeTakeFirst();
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
    const before = this.states.get(scope) ?? 'closed';
    this.states.set(scope, state);
    // Opening is logged by trip() with its reason; half-open and closed here.
    if (before !== state && state !== 'open') this.deps.log?.warn({ scope, from: before, to: state }, `circuit breaker ${state === 'closed' ? 'closed' : 'half-open'}`);
  }

  /** Closes the breaker now, in this process too (resetBreaker is the same for another process). */
  async reset(scope: string): Promise<boolean> {
    const now = this.deps.clock.now().getTime();
    const row = await this.deps.db.selectFrom('breakers').select('scope').where('scope', '=', scope).executeTakeFirst();
    if (!row) return false;
    await this.setState(scope, 'closed', '', now, null, null);
    return true;
  }
}

/** One form id, several (a site's), or null for every form. */
type FormFilter = string | readonly string[] | null;

/** Posts the pipeline did not let through (rejected or quarantined): stored, but no auto-reply could follow them. */
type StatsLevel = 'counts' | 'check' | 'full';

/** The newest posts of the current window that its figures are counted over (the counts above it read as "at least"). */
export const WINDOW_ROWS = 20_000;

/** One tick's time, and the window figures it has counted (by forms, window and level). */
interface TickTime {
  now: number;
  counted: Map<string, Promise<WindowStats>>;
}

function countOnce(at: TickTime, forms: readonly string[], from: number, to: number, level: StatsLevel, count: () => Promise<WindowStats>): Promise<WindowStats> {
  const key = JSON.stringify([[...forms].sort(), from, to, level]);
  let p = at.counted.get(key);
  if (!p) at.counted.set(key, (p = count()));
  return p;
}

const refusedAction = (action: string) => action === 'reject' || action === 'quarantine';
/** The ids of a filter (never empty: `in ()` is no SQL; an empty list matches no real form id). */
const forms = (f: string | readonly string[]): string[] => (typeof f === 'string' ? [f] : f.length > 0 ? [...f] : ['\u0000none']);

/** The breakers row of a form id, of a site (site:<id>), or of "instance". */
export const breakerScope = (form: string) => (form === 'instance' || form.startsWith('site:') ? form : `form:${form}`);

/**
 * `formwarden breaker reset FORM` and the console: closes the breaker in the database; a running server picks
 * it up within its monitor interval. False when the scope has no breaker.
 */
export async function resetBreaker(db: Kysely<Database>, scope: string, now: number): Promise<boolean> {
  const r = await db.updateTable('breakers').set({ state: 'closed', reason: '', retry_at: null, tripped_at: null, updated_at: now }).where('scope', '=', scope).executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}
