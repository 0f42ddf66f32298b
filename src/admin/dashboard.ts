// The console's dashboard (GET /admin/dashboard, docs/admin.md): submissions per hour and per day by outcome,
// auto-replies against each cap, bounces by reason and origin, the breaker now and its history, the top
// symbols, networks and countries. Everything is counted in SQL over bounded windows (time buckets are integer
// division of created_at, the same on SQLite and PostgreSQL); the top lists come from the newest rows of the
// window only. A member sees only their forms; the instance-wide figures (breaker of the instance, global
// caps) are for owners. The figures are kept for a few seconds per set of forms, so a busy page costs one
// count, not one per view.
import { sql, type Kysely } from 'kysely';
import type { Config, FormConfig } from '../config/schema.js';
import type { GeoLookup } from '../defenses/geo/index.js';
import type { Lang } from '../i18n/messages.js';
import { capKeys, type CapScope } from '../relay/caps.js';
import type { Database } from '../store/schema.js';
import { capPolicyFor } from '../submissions/accept.js';
import { anonymisedIp } from '../submissions/prune.js';
import type { ConsoleContext } from './routes.js';
import { ACTIONS, symbolLabel } from './inbox.js';
import { dt } from './dashboard-i18n.js';
import { dashboardPage } from './views/dashboard.js';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Html } from './views/html.js';

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;
export const HOURS = 48;
export const DAYS = 30;
/** The top symbols, networks and countries are counted over this many newest rows of the window. */
export const SAMPLE_ROWS = 5000;
/** Bounce and complaint events read for the bounce panel (newest first). */
const BOUNCE_ROWS = 20_000;
/** How long computed figures are reused for the same set of forms (by the instance's clock). */
export const CACHE_MS = 15_000;
const TOP = 10;

export type Action = (typeof ACTIONS)[number];
export type Counts = Record<Action, number>;

export interface Bucket {
  /** Start of the bucket (ms, UTC instant). */
  start: number;
  /** Local (instance time zone) label: "2026-01-05 09:00" or "2026-01-05". */
  label: string;
  counts: Counts;
}

export interface CapUse {
  scope: CapScope;
  /** The form, for form caps. */
  form?: string;
  used: number;
  limit: number;
  windowSeconds: number;
  /** Address and domain caps: how many addresses (domains) are at their limit now. */
  atLimit?: number;
}

export interface DashboardData {
  generatedAt: number;
  timeZone: string;
  owner: boolean;
  hourly: Bucket[];
  daily: Bucket[];
  caps: CapUse[];
  bounces: { total: number; byReason: { key: string; count: number }[]; byOrigin: { key: string; count: number }[] };
  breaker: { now: { scope: string; state: string; reason: string; trippedAt: number | null; retryAt: number | null }[]; history: { at: number; scope: string; reason: string }[]; perDay: { start: number; label: string; count: number }[] };
  symbols: { symbol: string; count: number }[];
  networks: { network: string; count: number; country: string | null }[];
  countries: { country: string; count: number }[];
  /** The rows the top lists were counted over. */
  sample: { rows: number; limit: number };
}

const emptyCounts = (): Counts => ({ accept: 0, accept_no_autoreply: 0, quarantine: 0, reject: 0 });

/** The time zone's offset from UTC at `at` (ms; +9 h for Asia/Tokyo). */
export function zoneOffsetMs(timeZone: string, at: number): number {
  const f = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
  const p = Object.fromEntries(f.formatToParts(new Date(at)).map((x) => [x.type, x.value]));
  return Date.UTC(Number(p.year), Number(p.month) - 1, Number(p.day), Number(p.hour), Number(p.minute), Number(p.second)) - Math.floor(at / 1000) * 1000;
}

const iso = (localMs: number) => new Date(localMs).toISOString();
const hourLabel = (localMs: number) => `${iso(localMs).slice(0, 10)} ${iso(localMs).slice(11, 16)}`;
const dayLabel = (localMs: number) => iso(localMs).slice(0, 10);

/** The instance-wide parts (breaker of the instance, global caps) are shown to owners only. */
export interface Scope {
  forms: string[];
  owner: boolean;
}

export async function loadDashboard(db: Kysely<Database>, config: Config, scope: Scope, now: number, geo: () => GeoLookup | null): Promise<DashboardData> {
  const off = zoneOffsetMs(config.timeZone, now);
  const hourNow = Math.floor((now + off) / HOUR_MS);
  const dayNow = Math.floor((now + off) / DAY_MS);
  const firstHour = hourNow - HOURS + 1;
  const firstDay = dayNow - DAYS + 1;
  const since = firstDay * DAY_MS - off;
  const forms = scope.forms;

  // One pass over the 30 days, by local hour and outcome; the days are sums of their hours.
  const hourly: Bucket[] = Array.from({ length: HOURS }, (_, i) => ({ start: (firstHour + i) * HOUR_MS - off, label: hourLabel((firstHour + i) * HOUR_MS), counts: emptyCounts() }));
  const daily: Bucket[] = Array.from({ length: DAYS }, (_, i) => ({ start: (firstDay + i) * DAY_MS - off, label: dayLabel((firstDay + i) * DAY_MS), counts: emptyCounts() }));
  if (forms.length) {
    const bucket = sql<number>`(${sql.ref('created_at')} + ${sql.lit(off)}) / ${sql.lit(HOUR_MS)}`;
    const rows = await db
      .selectFrom('submissions')
      .select([bucket.as('h'), 'action', (eb) => eb.fn.countAll<number>().as('n')])
      .where('form_id', 'in', forms)
      .where('created_at', '>=', since)
      .groupBy([bucket, 'action'])
      .execute();
    for (const r of rows) {
      const h = Number(r.h);
      const a = r.action as Action;
      if (!(a in emptyCounts())) continue;
      const n = Number(r.n);
      const d = daily[Math.floor(h / 24) - firstDay];
      if (d) d.counts[a] += n;
      const hb = hourly[h - firstHour];
      if (hb) hb.counts[a] += n;
    }
  }

  const caps = await capUse(db, config, scope, now);

  // Bounces and complaints of the window (a member: their forms' mails only).
  let bq = db.selectFrom('events').select(['kind', 'detail']).where('kind', 'in', ['bounce', 'complaint']).where('at', '>=', since);
  if (!scope.owner) bq = bq.where('form_id', 'in', forms.length ? forms : ['\u0000']);
  const bounceRows = await bq.orderBy('at', 'desc').limit(BOUNCE_ROWS).execute();
  const byReason = new Map<string, number>();
  const byOrigin = new Map<string, number>();
  for (const r of bounceRows) {
    let d: { reason?: unknown; kind?: unknown } = {};
    try {
      d = (JSON.parse(r.detail) as typeof d) ?? {};
    } catch {
      /* counted as unclassified */
    }
    const reason = r.kind === 'complaint' ? 'complaint' : typeof d.reason === 'string' && d.reason ? d.reason : 'undefined';
    const origin = typeof d.kind === 'string' && d.kind ? d.kind : 'unknown';
    byReason.set(reason, (byReason.get(reason) ?? 0) + 1);
    byOrigin.set(origin, (byOrigin.get(origin) ?? 0) + 1);
  }
  const sorted = (m: Map<string, number>) => [...m].map(([key, count]) => ({ key, count })).sort((a, b) => b.count - a.count || (a.key < b.key ? -1 : 1));

  // The breaker: its state now and its trips (events kind 'breaker', detail "<scope>: <reason>").
  const scopes = [...forms.map((f) => `form:${f}`), ...(scope.owner ? ['instance'] : [])];
  const breakerNow = scopes.length ? await db.selectFrom('breakers').selectAll().where('scope', 'in', scopes).orderBy('scope').execute() : [];
  let hq = db.selectFrom('events').select(['at', 'form_id', 'detail']).where('kind', '=', 'breaker').where('at', '>=', since);
  hq = scope.owner ? hq : hq.where('form_id', 'in', forms.length ? forms : ['\u0000']);
  const trips = await hq.orderBy('at', 'desc').limit(500).execute();
  const perDay = daily.map((d) => ({ start: d.start, label: d.label, count: 0 }));
  for (const t of trips) {
    const p = perDay[Math.floor((t.at + off) / DAY_MS) - firstDay];
    if (p) p.count++;
  }
  const history = trips.slice(0, 50).map((t) => {
    const i = t.detail.indexOf(': ');
    return i > 0 ? { at: t.at, scope: t.detail.slice(0, i), reason: t.detail.slice(i + 2) } : { at: t.at, scope: t.form_id ? `form:${t.form_id}` : 'instance', reason: t.detail };
  });

  // Top symbols, networks and countries: the newest rows of the window.
  const sample = forms.length
    ? await db.selectFrom('submissions').select(['ip', 'verdict']).where('form_id', 'in', forms).where('created_at', '>=', since).orderBy('created_at', 'desc').limit(SAMPLE_ROWS).execute()
    : [];
  const symbols = new Map<string, number>();
  const networks = new Map<string, number>();
  for (const r of sample) {
    const fired = new Set<string>();
    try {
      for (const s of (JSON.parse(r.verdict) as { symbols?: { symbol?: unknown }[] }).symbols ?? []) if (typeof s.symbol === 'string') fired.add(s.symbol);
    } catch {
      /* no symbols readable */
    }
    for (const s of fired) symbols.set(s, (symbols.get(s) ?? 0) + 1);
    const net = anonymisedIp(r.ip);
    if (net) networks.set(net, (networks.get(net) ?? 0) + 1);
  }
  const lookup = geo();
  const countryOf = (net: string) => {
    try {
      return lookup?.country(net.split('/')[0]!) ?? null;
    } catch {
      return null;
    }
  };
  const countries = new Map<string, number>();
  const nets = [...networks].map(([network, count]) => {
    const country = countryOf(network);
    const key = country ?? '??';
    countries.set(key, (countries.get(key) ?? 0) + count);
    return { network, count, country };
  });
  const byCount = <T extends { count: number }>(a: T, b: T) => b.count - a.count;
  return {
    generatedAt: now,
    timeZone: config.timeZone,
    owner: scope.owner,
    hourly,
    daily,
    caps,
    bounces: { total: bounceRows.length, byReason: sorted(byReason), byOrigin: sorted(byOrigin) },
    breaker: {
      now: breakerNow.map((b) => ({ scope: b.scope, state: b.state, reason: b.reason, trippedAt: b.tripped_at === null ? null : Number(b.tripped_at), retryAt: b.retry_at === null ? null : Number(b.retry_at) })),
      history,
      perDay,
    },
    symbols: [...symbols].map(([symbol, count]) => ({ symbol, count })).sort((a, b) => b.count - a.count || (a.symbol < b.symbol ? -1 : 1)).slice(0, TOP),
    networks: nets.sort((a, b) => b.count - a.count || (a.network < b.network ? -1 : 1)).slice(0, TOP),
    countries: [...countries].map(([country, count]) => ({ country, count })).sort(byCount).slice(0, TOP),
    sample: { rows: sample.length, limit: SAMPLE_ROWS },
  };
}

/**
 * Auto-replies counted against each cap in its current window, from the same charges the caps are enforced
 * with (relay_charges, keys from capKeys): the forms' hourly and daily caps, the busiest address and domain
 * (and how many are at their limit), and for owners the instance budget.
 */
async function capUse(db: Kysely<Database>, config: Config, scope: Scope, now: number): Promise<CapUse[]> {
  const out: CapUse[] = [];
  const count = async (key: string, windowSeconds: number) =>
    Number(
      (await db.selectFrom('relay_charges').select((eb) => eb.fn.countAll<number>().as('n')).where('key', '=', key).where('at', '>', now - windowSeconds * 1000).executeTakeFirstOrThrow()).n,
    );
  const sending = config.forms.filter((f): f is FormConfig => scope.forms.includes(f.id) && !!f.autoreply?.enabled);
  // Address and domain budgets are shared by every form: one row per distinct (scope, window, limit).
  const shared = new Map<string, { scope: CapScope; prefix: string; limit: number; windowSeconds: number }>();
  for (const form of sending) {
    for (const k of capKeys(form.id, 'x@example.invalid', capPolicyFor(config, form))) {
      if (k.scope === 'form-hour' || k.scope === 'form-day') out.push({ scope: k.scope, form: form.id, used: await count(k.key, k.windowSeconds), limit: k.limit, windowSeconds: k.windowSeconds });
      else if (k.scope === 'address' || k.scope === 'domain') {
        const prefix = k.key.slice(0, k.key.lastIndexOf(':') + 1);
        shared.set(`${prefix}${k.limit}`, { scope: k.scope, prefix, limit: k.limit, windowSeconds: k.windowSeconds });
      }
    }
  }
  for (const s of shared.values()) {
    let q = db
      .selectFrom('relay_charges')
      .select(['key', (eb) => eb.fn.countAll<number>().as('n')])
      .where(sql<string>`substr(${sql.ref('key')}, 1, ${sql.lit(s.prefix.length)})`, '=', s.prefix)
      .where('at', '>', now - s.windowSeconds * 1000);
    // A member counts the charges of their forms' mails only.
    if (!scope.owner) q = q.where('outbox_id', 'in', db.selectFrom('outbox').select('id').where('form_id', 'in', scope.forms));
    const rows = await q.groupBy('key').execute();
    const used = rows.reduce((m, r) => Math.max(m, Number(r.n)), 0);
    out.push({ scope: s.scope, used, limit: s.limit, windowSeconds: s.windowSeconds, atLimit: rows.filter((r) => Number(r.n) >= s.limit).length });
  }
  if (scope.owner) {
    const b = config.mail.autoreplyBudget;
    for (const k of capKeys('-', 'x@example.invalid', { perAddress: null, perDomain: null, perFormHour: null, perFormDay: null, global: { perHour: b.perHour, perDay: b.perDay } })) {
      out.push({ scope: k.scope, used: await count(k.key, k.windowSeconds), limit: k.limit, windowSeconds: k.windowSeconds });
    }
  }
  return out;
}

export async function registerDashboard(scope: FastifyInstance, ctx: ConsoleContext): Promise<void> {
  // Figures per set of forms, reused for CACHE_MS; concurrent views share one computation, and each language's
  // rendering of them is made once (the page body depends on nothing else; the frame is per user).
  const cache = new Map<string, { at: number; data: Promise<DashboardData>; bodies: Map<Lang, Html> }>();
  const titles = (lang: Lang) => new Map(ctx.config.forms.map((f) => [f.id, f.title[lang]]));
  const handler = async (req: FastifyRequest, reply: FastifyReply) => {
    const s = ctx.session(req);
    const lang = ctx.langOf(req);
    const owner = s.user.role === 'owner';
    const forms = ctx.visibleForms(s);
    const key = `${owner ? 'o' : 'm'}:${forms.join(',')}`;
    const t = ctx.now();
    let hit = cache.get(key);
    if (!hit || t - hit.at >= CACHE_MS || t < hit.at) {
      const data = loadDashboard(ctx.db.kysely, ctx.config, { forms, owner }, t, ctx.geo);
      const entry = { at: t, data, bodies: new Map<Lang, Html>() };
      hit = entry;
      cache.set(key, entry);
      data.catch(() => {
        if (cache.get(key) === entry) cache.delete(key);
      });
      if (cache.size > 100) cache.delete(cache.keys().next().value!);
    }
    const data = await hit.data;
    if (ctx.wantsJson(req)) return reply.send(data);
    let body = hit.bodies.get(lang);
    if (!body) {
      const names = titles(lang);
      body = dashboardPage(lang, data, { formTitle: (id) => names.get(id) ?? id, symbolLabel: (sym) => symbolLabel(ctx.config, sym, lang), cacheSeconds: CACHE_MS / 1000 });
      hit.bodies.set(lang, body);
    }
    return ctx.send(reply, 200, req, dt(lang, 'title'), body, 'dashboard');
  };
  scope.get('/dashboard', handler);
  scope.get('/dashboard.json', handler);
}
