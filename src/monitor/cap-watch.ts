// Slow drip: hitting a cap is a signal. A bot that knows every trip rule stays just under each of them and
// still gets a form's whole auto-reply cap, day after day, which the breaker never sees. The cap watch
// looks at the cap charges themselves. A cap is "used up" in a clock hour when a charge in that hour brought
// it to its limit or a post in that hour was refused by it. The owner is alerted (mail and webhook, through
// sendAlert) when a form's hourly cap (or a site's or the instance's hourly budget) is used up in
// `monitor.capAlertHours` clock hours running, or a daily cap at all (a bot pausing every other hour could
// otherwise take the whole daily cap unseen): once per streak, at most once a day per form, site or
// instance. Nothing is stopped: the caps already bound what gets out; the alert makes sure someone looks.
import type { Kysely } from 'kysely';
import type { Config } from '../config/schema.js';
import { siteOf, type SiteConfig } from '../config/sites.js';
import { capKeys, resolveCapPolicy, type CapKey } from '../relay/caps.js';
import type { Database } from '../store/schema.js';
import type { Clock } from '../util/clock.js';
import type { CapAlert } from './alerts.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** How far back a streak is followed; a streak longer than this is alerted again (a reminder every two days). */
const LOOKBACK_HOURS = 48;
/** The watch looks at most this often (the housekeeping tick may be every few seconds). */
const MIN_GAP_MS = 60_000;

/** A run of clock hours in which some watched cap was used up. */
export interface Streak {
  hours: number;
  /** Start of the run (ms). */
  since: number;
  caps: CapKey[];
  /** The longest run of consecutive hours with an hourly cap used up. */
  hourly: number;
  /** A daily cap was used up in the run. */
  daily: boolean;
}

export interface CapWatchDeps {
  db: Kysely<Database>;
  config: Config;
  clock: Clock;
  /** Sends the alert (sendAlert); false when it was not sent (rate-limited): the watch tries again later. */
  alert: (a: CapAlert) => Promise<boolean>;
}

/** What one watch is about: a form's own caps (its id), a site's budget, or the instance budget (null). */
export type WatchTarget = string | null | { site: string };

/**
 * Whether a site's budget is watched: when one of its forms sends auto-replies, unless that is its only one and
 * the form's own caps are used up first (no higher than the budget): then the form's alert is the one.
 */
export function watchesSite(config: Config, site: SiteConfig): boolean {
  const sending = config.forms.filter((f) => f.autoreply?.enabled && siteOf(config, f.id)?.id === site.id);
  if (sending.length !== 1) return sending.length > 1;
  const p = resolveCapPolicy(sending[0]!.autoreply!.caps);
  return !(p.perFormHour !== null && p.perFormHour <= site.autoreplyBudget.perHour && p.perFormDay !== null && p.perFormDay <= site.autoreplyBudget.perDay);
}

/**
 * Whether the instance budget is watched: with one form sending auto-replies under caps of its own, its
 * alert is the one that matters (the budget is derived from it); otherwise the budget is watched too.
 */
export function watchesInstance(config: Config): boolean {
  const sending = config.forms.filter((f) => f.autoreply?.enabled);
  if (sending.length !== 1) return sending.length > 1;
  const p = resolveCapPolicy(sending[0]!.autoreply!.caps);
  return p.perFormHour === null && p.perFormDay === null;
}

/** The caps one scope is watched on: a form's own hourly and daily caps, a site's budget, or the instance budget. */
export function watchedCaps(config: Config, target: WatchTarget): CapKey[] {
  const none = { perAddress: null, perDomain: null, perFormHour: null, perFormDay: null };
  if (target !== null && typeof target === 'object') {
    const site = config.sites.find((x) => x.id === target.site);
    if (!site || !watchesSite(config, site)) return [];
    const b = config.mail.autoreplyBudget;
    const keys = capKeys('-', 'watch@example.invalid', { ...none, site: { id: site.id, ...site.autoreplyBudget }, global: { perHour: b.perHour, perDay: b.perDay } });
    return keys.filter((k) => k.scope === 'site-hour' || k.scope === 'site-day');
  }
  const formId = target;
  if (formId === null) {
    if (!watchesInstance(config)) return [];
    const b = config.mail.autoreplyBudget;
    return capKeys('-', 'watch@example.invalid', { ...none, global: { perHour: b.perHour, perDay: b.perDay } });
  }
  const form = config.forms.find((f) => f.id === formId);
  if (!form?.autoreply?.enabled) return [];
  const policy = { ...resolveCapPolicy(form.autoreply.caps), perAddress: null, perDomain: null };
  return capKeys(formId, 'watch@example.invalid', policy).filter((k) => k.scope === 'form-hour' || k.scope === 'form-day');
}

/** In sorted `times`, the index of the first time above x. */
function upper(times: number[], x: number): number {
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (times[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** How many of the sorted times fall in (t - window, t]. */
const countAt = (times: number[], t: number, windowMs: number) => upper(times, t) - upper(times, t - windowMs);

/**
 * Whether the cap was used up in the clock hour starting at `h` (ms): a charge in that hour brought it to its
 * limit, or a post in that hour was refused by it. (A window still full from the hour before does not count:
 * one burst across the hour boundary is one hour, not two.)
 */
function usedUpIn(times: number[], refusals: number[], cap: CapKey, h: number): boolean {
  if (cap.limit <= 0) return false;
  const end = h + HOUR;
  if (refusals.some((t) => t >= h && t < end)) return true;
  const windowMs = cap.windowSeconds * 1000;
  for (let i = upper(times, h - 1); i < times.length && times[i]! < end; i++) if (countAt(times, times[i]!, windowMs) >= cap.limit) return true;
  return false;
}

export class CapWatch {
  private last = -Infinity;

  constructor(private readonly deps: CapWatchDeps) {}

  /** One look at every form, every site and the instance (at most once a minute unless forced). Returns the alerts sent. */
  async tick(force = false): Promise<CapAlert[]> {
    const { config, clock } = this.deps;
    const n = config.monitor.capAlertHours;
    if (!config.monitor.enabled || n <= 0) return [];
    const now = clock.now().getTime();
    if (!force && now - this.last < MIN_GAP_MS) return [];
    this.last = now;
    const sent: CapAlert[] = [];
    for (const form of config.forms) {
      const a = await this.evaluate(`cap:form:${form.id}`, form.id, now, n);
      if (a) sent.push(a);
    }
    for (const site of config.sites) {
      const a = await this.evaluate(`cap:site:${site.id}`, { site: site.id }, now, n);
      if (a) sent.push(a);
    }
    const a = await this.evaluate('cap:instance', null, now, n);
    if (a) sent.push(a);
    return sent;
  }

  /** The streak of clock hours (ending now or in the last complete hour) in which a cap was used up. */
  async streak(target: WatchTarget, now: number): Promise<Streak> {
    const caps = watchedCaps(this.deps.config, target);
    const none = { hours: 0, since: now, caps: [], hourly: 0, daily: false };
    if (caps.length === 0) return none;
    const current = Math.floor(now / HOUR) * HOUR;
    const first = current - LOOKBACK_HOURS * HOUR;
    const longest = Math.max(...caps.map((c) => c.windowSeconds * 1000));
    const rows = await this.deps.db
      .selectFrom('relay_charges')
      .select(['key', 'at'])
      .where('key', 'in', caps.map((c) => c.key))
      .where('at', '>', first - longest)
      .where('at', '<=', now)
      .execute();
    const times = new Map(caps.map((c) => [c.key, [] as number[]]));
    for (const r of rows) times.get(r.key)?.push(Number(r.at));
    for (const list of times.values()) list.sort((a, b) => a - b);
    // Posts whose auto-reply one of these caps refused (skipped:cap:<scope>).
    let q = this.deps.db
      .selectFrom('submissions')
      .select(['created_at', 'autoreply'])
      .where('action', '=', 'accept')
      .where('created_at', '>=', first)
      .where('created_at', '<=', now)
      .where('autoreply', 'in', caps.map((c) => `skipped:cap:${c.scope}`));
    if (typeof target === 'string') q = q.where('form_id', '=', target);
    else if (target !== null) q = q.where('form_id', 'in', this.deps.config.sites.find((x) => x.id === target.site)!.forms);
    const skipped = await q.limit(10_000).execute();
    const refusals = new Map(caps.map((c) => [c.key, skipped.filter((r) => r.autoreply === `skipped:cap:${c.scope}`).map((r) => Number(r.created_at))]));
    const usedUp = (h: number) => caps.filter((c) => usedUpIn(times.get(c.key)!, refusals.get(c.key)!, c, h));
    let h = usedUp(current).length > 0 ? current : current - HOUR;
    const hit = new Map<string, CapKey>();
    let hours = 0;
    // The longest run of hours with an hourly cap used up, and whether a daily cap was used up, in the streak.
    let hourlyRun = 0;
    let hourly = 0;
    let daily = false;
    while (h >= first) {
      const u = usedUp(h);
      if (u.length === 0) break;
      for (const c of u) hit.set(c.key, c);
      if (u.some((c) => c.windowSeconds > HOUR / 1000)) daily = true;
      hourlyRun = u.some((c) => c.windowSeconds <= HOUR / 1000) ? hourlyRun + 1 : 0;
      hourly = Math.max(hourly, hourlyRun);
      hours++;
      h -= HOUR;
    }
    return hours === 0 ? none : { hours, since: h + HOUR, caps: [...hit.values()], hourly, daily };
  }

  private async evaluate(scope: string, target: WatchTarget, now: number, n: number): Promise<CapAlert | null> {
    const s = await this.streak(target, now);
    if (s.hourly < n && !s.daily) return null;
    // Once per streak (an alert for this scope sent since the streak began is this streak's), and at most
    // once a day per scope: a bot that pauses between bursts does not get the owner a mail per burst.
    const told = await this.deps.db
      .selectFrom('events')
      .select('id')
      .where('kind', '=', 'alert')
      .where('detail', '=', scope)
      .where('at', '>=', Math.min(s.since, now - DAY))
      .limit(1)
      .executeTakeFirst();
    if (told) return null;
    const site = target !== null && typeof target === 'object' ? this.deps.config.sites.find((x) => x.id === target.site) : undefined;
    const alert: CapAlert = {
      kind: 'cap',
      scope,
      formId: typeof target === 'string' ? target : null,
      // A site's alert goes to the owners of its forms only (sendAlert).
      ...(site ? { site: site.id, forms: site.forms } : {}),
      hours: s.hours,
      since: s.since,
      caps: s.caps.map((c) => ({ scope: c.scope, limit: c.limit, windowSeconds: c.windowSeconds })),
    };
    return (await this.deps.alert(alert)) ? alert : null;
  }
}
