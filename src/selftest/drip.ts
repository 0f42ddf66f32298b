// The optimal patient attacker of `formwarden selftest`: it has read the code and the configuration, so it
// knows every cap, every breaker rule, the rate limits and the cap watch, and paces its posts to stay just
// under each of them while getting as many auto-replies to strangers as it can. It plans with its own
// bookkeeping and then really posts, on a private copy of the instance on a simulated clock: what it gets
// is measured, not computed. Two of them: `capped` stops only short of tripping the breaker (it may use up
// the caps, and the owner may be alerted); `silent` also never lets the cap watch alert the owner.
import type { Config, FormConfig } from '../config/schema.js';
import { DEFAULT_RATE_RULES } from '../defenses/rate-limit/index.js';
import type { Instance } from '../main.js';
import { watchesInstance } from '../monitor/cap-watch.js';
import { capPolicyFor } from '../submissions/accept.js';
import type { ManualClock } from '../util/clock.js';
import type { FieldMaker } from './fields.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

export type DripMode = 'capped' | 'silent';

export interface DripOutcome {
  mode: DripMode;
  forms: string[];
  posts: number;
  /** Auto-replies that reached strangers in the simulated day. */
  strangerMails: number;
  /** Alerts the owner got (cap watch, attack notices, breaker), by scope. */
  alerts: string[];
  /** Breaker trips. */
  trips: string[];
  /** Posts that did not get the auto-reply the plan expected, with why (at most a few). */
  surprises: string[];
}

/** Times in increasing order; how many fall in (t - window, t]. */
class Series {
  readonly times: number[] = [];
  add(t: number): void {
    this.times.push(t);
  }
  count(t: number, windowMs: number): number {
    const upper = (x: number) => {
      let lo = 0;
      let hi = this.times.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (this.times[mid]! <= x) lo = mid + 1;
        else hi = mid;
      }
      return lo;
    };
    return upper(t) - upper(t - windowMs);
  }
}

interface Scope {
  /** Every auto-reply this scope queued (one per post: the attacker never posts into a cap). */
  series: Series;
  caps: { limit: number; windowMs: number }[];
  /** Breaker limit per monitor window (submissions, auto-replies and recipient domains are one each per post). */
  windowLimit: number;
  /** Rate-limit rules of this scope (form, or global). */
  rates: { points: number; windowMs: number }[];
  /** Watched by the cap watch: clock hours in which an hourly cap was used up. */
  watched: boolean;
  usedHours: Set<number>;
}

/** The plan's rules, from the configuration. */
function scopes(config: Config, forms: FormConfig[]): { form: Map<string, Scope>; instance: Scope } {
  const m = config.monitor;
  const monitorOn = m.enabled;
  // Below minSample the baseline rule never looks; with fresh domains every post adds one of each count.
  const limitOf = (l: { submissions: number; autoreplies: number; recipientDomains: number }) =>
    monitorOn ? Math.min(l.submissions, l.autoreplies, l.recipientDomains, m.minSample - 1) : Infinity;
  const rules = config.defenses.rateLimit.enabled ? (config.defenses.rateLimit.rules ?? DEFAULT_RATE_RULES) : [];
  const rates = (scope: string) => rules.filter((r) => r.scope === scope).map((r) => ({ points: r.points, windowMs: r.durationSeconds * SECOND }));
  const watchOn = monitorOn && m.capAlertHours > 0;
  const form = new Map<string, Scope>();
  for (const f of forms) {
    const p = capPolicyFor(config, f);
    const caps = [
      ...(p.perFormHour !== null ? [{ limit: p.perFormHour, windowMs: HOUR }] : []),
      ...(p.perFormDay !== null ? [{ limit: p.perFormDay, windowMs: DAY }] : []),
    ];
    form.set(f.id, { series: new Series(), caps, windowLimit: limitOf(m.form), rates: rates('form'), watched: watchOn, usedHours: new Set() });
  }
  const b = config.mail.autoreplyBudget;
  const instance: Scope = {
    series: new Series(),
    caps: [
      { limit: b.perHour, windowMs: HOUR },
      { limit: b.perDay, windowMs: DAY },
    ],
    windowLimit: limitOf(m.instance),
    rates: rates('global'),
    watched: watchOn && watchesInstance(config),
    usedHours: new Set(),
  };
  return { form, instance };
}

/** Whether one more post at t stays under every rule of the scope (and, silent, under the cap watch). */
function allows(s: Scope, t: number, config: Config, silent: boolean): boolean {
  for (const c of s.caps) if (s.series.count(t, c.windowMs) + 1 > c.limit) return false;
  if (s.series.count(t, config.monitor.windowSeconds * SECOND) + 1 > s.windowLimit) return false;
  for (const r of s.rates) if (s.series.count(t, r.windowMs) + 1 > r.points) return false;
  if (silent && s.watched) {
    const hour = Math.floor(t / HOUR);
    for (const c of s.caps) {
      if (s.series.count(t, c.windowMs) + 1 < c.limit) continue;
      // This post would use the cap up: a daily cap alerts at once, an hourly one after capAlertHours running.
      if (c.windowMs > HOUR) return false;
      let run = 1;
      while (s.usedHours.has(hour - run)) run++;
      if (run >= config.monitor.capAlertHours) return false;
    }
  }
  return true;
}

function record(s: Scope, t: number): void {
  const hour = Math.floor(t / HOUR);
  for (const c of s.caps) if (c.windowMs <= HOUR && s.series.count(t, c.windowMs) + 1 >= c.limit) s.usedHours.add(hour);
  s.series.add(t);
}

/**
 * One simulated day of the patient attacker against `forms` (spread over all of them), on `instance`
 * (a private copy whose clock is `clock`, at a whole hour). `makers` fill in each form's fields.
 */
export async function simulateDrip(instance: Instance, clock: ManualClock, forms: FormConfig[], makers: Map<string, FieldMaker>, mode: DripMode): Promise<DripOutcome> {
  const { config } = instance;
  const silent = mode === 'silent';
  const start = clock.now().getTime();
  const plan = scopes(config, forms);
  const honeypot = Object.fromEntries(config.defenses.honeypot.fields.map((f) => [f, '']));
  const surprises: string[] = [];
  let posts = 0;
  let queued = 0;
  let failed = 0;
  let rr = 0;
  const tick = async () => {
    await instance.housekeeping();
    await instance.worker.drain();
  };

  for (let minute = start; minute < start + DAY; minute += MINUTE) {
    for (let k = 0; k < 60; k++) {
      const t = minute + k * SECOND;
      let chosen: FormConfig | null = null;
      for (let j = 0; j < forms.length && !chosen; j++) {
        const f = forms[(rr + j) % forms.length]!;
        if (allows(plan.form.get(f.id)!, t, config, silent) && allows(plan.instance, t, config, silent)) chosen = f;
      }
      if (!chosen) break;
      rr = (forms.indexOf(chosen) + 1) % forms.length;
      clock.set(new Date(t));
      const i = ++posts;
      const maker = makers.get(chosen.id)!;
      const fields = maker.values(i, `drip${i}@stranger-${i}.example`);
      const res = await instance.app.inject({
        method: 'POST',
        url: `/api/forms/${chosen.id}/submissions`,
        headers: { 'content-type': 'application/json', 'x-forwarded-for': `198.${18 + ((i >> 16) & 1)}.${(i >> 8) & 255}.${i & 255}` },
        payload: JSON.stringify({ ...fields, ...honeypot, _token: instance.defenses.tokens.issueToken(chosen.id, clock.now()) }),
      });
      let outcome = `HTTP ${res.statusCode}`;
      if (res.statusCode === 201) {
        const id = (res.json() as { id: string }).id;
        const row = await instance.db.kysely.selectFrom('submissions').select('autoreply').where('id', '=', id).executeTakeFirst();
        outcome = row?.autoreply ?? 'missing';
      } else {
        outcome += ` ${res.body.slice(0, 200)}`;
      }
      if (outcome === 'queued') {
        record(plan.form.get(chosen.id)!, t);
        record(plan.instance, t);
        queued++;
      } else {
        failed++;
        if (surprises.length < 5) surprises.push(`form ${chosen.id}, post ${i}: ${outcome}`);
      }
    }
    // Nothing gets through: there is nothing to measure (the report says why).
    if (failed >= 20 && queued === 0) break;
    if ((minute - start) % (5 * MINUTE) === 0) await tick();
  }
  // Let the delayed auto-replies leave.
  for (let i = 0; i < 12; i++) {
    clock.set(new Date(start + DAY + i * 5 * MINUTE));
    await tick();
  }

  const k = instance.db.kysely;
  const ids = forms.map((f) => f.id);
  const mails = await k.selectFrom('outbox').select('id').where('kind', '=', 'autoreply').where('state', '=', 'sent').where('form_id', 'in', ids).where('created_at', '<', start + DAY).execute();
  const events = await k.selectFrom('events').select(['kind', 'detail']).where('kind', 'in', ['alert', 'breaker']).where('at', '>=', start).execute();
  return {
    mode,
    forms: ids,
    posts,
    strangerMails: mails.length,
    alerts: events.filter((e) => e.kind === 'alert').map((e) => e.detail),
    trips: events.filter((e) => e.kind === 'breaker').map((e) => e.detail),
    surprises,
  };
}
