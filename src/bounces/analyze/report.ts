// Streaming aggregation of bounces into the weekly report. Holds counters only, never messages:
// memory is bounded by the number of days, reasons, and the (pruned) domain and IP tables.
import { parseBounce, type ParsedBounce } from '../parse/index.js';
import { classifyOrigin, domainOf, isPrivateIp, ORIGIN_KINDS, parseReceived, readMessageHeaders, type Origin, type OriginContext, type OriginKind } from '../origin/index.js';
import { all, first } from '../origin/headers.js';
import { buildFindings, type Finding } from './findings.js';
import type { DmarcSection } from '../../dmarc/analyze/section.js';

export interface AnalyzeMessage { file: string; index: number; raw: Buffer }

export interface AnalyzeOptions {
  ownerDomains: string[];
  bounceDomain?: string;
  bouncePrefix?: string;
  ownerMailHosts?: string[];
  lookup?: OriginContext['lookup'];
  /** DMARC evidence for the origin of each bounce (dmarc/analyze/evidence.ts) */
  dmarc?: OriginContext['dmarc'];
  /** called with every message that is not a bounce (the DMARC reports among them are collected: runAnalyze) */
  onNotBounce?(raw: Buffer): void | Promise<void>;
  /** called after every message with the messages and bytes read so far */
  onProgress?(n: number, bytes: number): void;
  /** how many recipient domains / IPs the report lists (default 15) */
  top?: number;
  /** clock for generatedAt (tests) */
  now?: () => Date;
}

export type Counts = Record<string, number>;
export type OriginCounts = Record<OriginKind, number>;

export interface DayRow {
  /** YYYY-MM-DD in the bounce's own time zone */
  date: string;
  bounces: number;
  byReason: Counts;
  byOrigin: OriginCounts;
  complaints: number;
  vacations: number;
  autoRepliesToStrangers: number;
}

export interface Share { count: number; share: number }

export interface Report {
  version: 1;
  generatedAt: string;
  ownerDomains: string[];
  totals: {
    messages: number;
    bytes: number;
    /** per-recipient bounce records (failed or delayed deliveries; not complaints, not vacation replies) */
    bounces: number;
    hard: number;
    soft: number;
    complaints: number;
    vacations: number;
    autoRepliesToStrangers: number;
    notBounces: number;
    unparseable: number;
    /** bounce records without a usable date (not in `days`) */
    undated: number;
  };
  firstDate: string | null;
  lastDate: string | null;
  byReason: Array<{ reason: string } & Share>;
  byOrigin: OriginCounts;
  /** every day from firstDate to lastDate (gaps filled with zeros; at most 366 days, the latest) */
  days: DayRow[];
  recipientDomains: Array<{ domain: string } & Share>;
  recipientTlds: Array<{ tld: string } & Share>;
  /** where the bounced originals entered the mail system (earliest public IP of their Received chain) */
  sendingIps: Array<{ ip: string; count: number; origins: Partial<OriginCounts> }>;
  /** how many distinct recipient domains / IPs were seen (approximate above the pruning limit) */
  distinct: { recipientDomains: number; sendingIps: number };
  findings: Finding[];
  /** DMARC aggregate reports of the period (docs/dmarc.md, "Reading the DMARC section"); absent when none were read */
  dmarc?: DmarcSection;
}

const MAX_TABLE = 20_000;
const MAX_DAYS = 366;

export function emptyOrigins(): OriginCounts {
  return { ours: 0, spoofing: 0, account: 0, unrelated: 0, unknown: 0 };
}

/** A counter table that stays bounded: when it grows too large, entries seen once are dropped. */
class BoundedCounter<T = undefined> {
  readonly map = new Map<string, { n: number; extra: T }>();
  pruned = false;
  seen = 0;
  constructor(private readonly make: () => T) {}
  add(key: string): T {
    let e = this.map.get(key);
    if (!e) {
      this.seen++;
      if (this.map.size >= MAX_TABLE) this.prune();
      e = { n: 0, extra: this.make() };
      this.map.set(key, e);
    }
    e.n++;
    return e.extra;
  }
  private prune() {
    this.pruned = true;
    let min = Infinity;
    for (const e of this.map.values()) min = Math.min(min, e.n);
    for (const [k, e] of this.map) if (e.n <= min) this.map.delete(k);
  }
  top(n: number): Array<[string, number, T]> {
    return [...this.map].sort((a, b) => b[1].n - a[1].n || (a[0] < b[0] ? -1 : 1)).slice(0, n).map(([k, e]) => [k, e.n, e.extra]);
  }
}

const MONTHS: Record<string, number> = { jan: 0, feb: 1, mar: 2, apr: 3, may: 4, jun: 5, jul: 6, aug: 7, sep: 8, oct: 9, nov: 10, dec: 11 };

/** The calendar day of an RFC 5322 date in its own time zone (what the recipient of the bounce saw). */
export function dayOf(date: string | null | undefined): string | null {
  if (!date) return null;
  // A date is short; patterns only read its first 200 characters.
  if (date.length > 200) date = date.slice(0, 200);
  const m = /(\d{1,2})\s+([A-Za-z]{3})[a-z]*\s+(\d{2,4})\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([+-]\d{4}|[A-Z]{1,5})?/.exec(date);
  if (m) {
    const month = MONTHS[m[2]!.toLowerCase()];
    let year = Number(m[3]);
    if (year < 100) year += year < 50 ? 2000 : 1900;
    if (month === undefined || year < 1990 || year > 2200) return null;
    const d = new Date(Date.UTC(year, month, Number(m[1])));
    return Number.isNaN(d.getTime()) || d.getUTCDate() !== Number(m[1]) ? null : d.toISOString().slice(0, 10);
  }
  const t = Date.parse(date.replace(/\([^()]*\)/g, ' '));
  return Number.isNaN(t) ? null : new Date(t).toISOString().slice(0, 10);
}

function mboxDate(raw: Buffer): string | null {
  if (raw.subarray(0, 5).toString('latin1') !== 'From ') return null;
  const nl = raw.indexOf(10);
  const line = raw.subarray(0, nl === -1 ? Math.min(raw.length, 200) : Math.min(nl, 200)).toString('latin1');
  const m = /([A-Z][a-z]{2})\s+(\d{1,2})\s+(\d{1,2}:\d{2}(?::\d{2})?)\s+(\d{4})/.exec(line);
  return m ? dayOf(`${m[2]} ${m[1]} ${m[4]} ${m[3]}`) : null;
}

function tldOf(domain: string): string {
  const i = domain.lastIndexOf('.');
  return i === -1 ? domain : domain.slice(i);
}

const AUTO_KINDS = /^(?:autoreply|auto-reply|auto_reply|confirmation|receipt)$/i;

/** Aggregates messages one at a time. */
export class ReportBuilder {
  private readonly days = new Map<string, DayRow>();
  private readonly reasons = new Map<string, number>();
  private readonly origins = emptyOrigins();
  private readonly domains = new BoundedCounter(() => undefined);
  private readonly ips = new BoundedCounter<Partial<OriginCounts>>(() => ({}));
  private readonly ctx: OriginContext;
  private readonly totals: Report['totals'] = { messages: 0, bytes: 0, bounces: 0, hard: 0, soft: 0, complaints: 0, vacations: 0, autoRepliesToStrangers: 0, notBounces: 0, unparseable: 0, undated: 0 };
  /** owner's notification address domains that bounced (inquiries lost) */
  private ownerRecipientBounces = 0;
  private ourBounces = 0;

  constructor(private readonly opts: AnalyzeOptions) {
    this.ctx = { ownerDomains: opts.ownerDomains };
    if (opts.bounceDomain) this.ctx.bounceDomain = opts.bounceDomain;
    if (opts.bouncePrefix) this.ctx.bouncePrefix = opts.bouncePrefix;
    if (opts.ownerMailHosts) this.ctx.ownerMailHosts = opts.ownerMailHosts;
    if (opts.lookup) this.ctx.lookup = opts.lookup;
    if (opts.dmarc) this.ctx.dmarc = opts.dmarc;
  }

  private day(date: string): DayRow {
    let d = this.days.get(date);
    if (!d) {
      d = { date, bounces: 0, byReason: {}, byOrigin: emptyOrigins(), complaints: 0, vacations: 0, autoRepliesToStrangers: 0 };
      this.days.set(date, d);
    }
    return d;
  }

  async add(raw: Buffer): Promise<{ parsed: ParsedBounce; origin: Origin | null }> {
    this.totals.messages++;
    this.totals.bytes += raw.length;
    const parsed = parseBounce(raw);
    const date = dayOf(parsed.bounce.date) ?? mboxDate(raw);
    if (parsed.kind === 'not-a-bounce') { this.totals.notBounces++; await this.opts.onNotBounce?.(raw); return { parsed, origin: null }; }
    if (parsed.kind === 'unparseable') { this.totals.unparseable++; return { parsed, origin: null }; }
    // Auto-replies and challenge/response requests: automatic answers, never failures.
    if (parsed.kind === 'vacation' || parsed.kind === 'challenge') {
      this.totals.vacations++;
      if (date) this.day(date).vacations++;
      return { parsed, origin: null };
    }
    // Without configured owner domains, the mailbox the bounce was delivered to is the owner's.
    const ctx = this.ctx.ownerDomains.length ? this.ctx : { ...this.ctx, ownerDomains: [...new Set(parsed.bounce.to.map(domainOf))] };
    const hdrs = readMessageHeaders(raw);
    const origin = await classifyOrigin(parsed, ctx, hdrs);
    if (parsed.kind === 'arf' || (parsed.bounces.length > 0 && parsed.bounces.every((b) => b.reason === 'feedback'))) {
      this.totals.complaints++;
      if (date) this.day(date).complaints++;
      return { parsed, origin };
    }
    const o = hdrs.original;
    const autoSubmitted = (first(o, 'auto-submitted') || '').toLowerCase().startsWith('auto-replied');
    const fromOwner = (() => {
      const from = (/<([^<>]+@[^<>]+)>/.exec(first(o, 'from'))?.[1] ?? first(o, 'from') ?? parsed.original?.from ?? '').toLowerCase();
      return ctx.ownerDomains.some((d) => domainOf(from) === d || domainOf(from).endsWith('.' + d));
    })();
    const isAutoReply = (origin.kind === 'ours' && AUTO_KINDS.test(origin.ref.kind)) || (autoSubmitted && fromOwner);

    // The entry point of the returned original: its earliest public Received IP.
    const hops = all(o, 'received').map(parseReceived);
    const entry = [...hops].reverse().find((h) => h.ip && !isPrivateIp(h.ip));
    if (entry) {
      const per = this.ips.add(entry.ip);
      per[origin.kind] = (per[origin.kind] ?? 0) + 1;
    }
    const row = date ? this.day(date) : null;
    for (const b of parsed.bounces) {
      if (b.reason === 'feedback' || b.reason === 'vacation') continue;
      this.totals.bounces++;
      if (b.hard) this.totals.hard++; else this.totals.soft++;
      this.reasons.set(b.reason, (this.reasons.get(b.reason) ?? 0) + 1);
      this.origins[origin.kind]++;
      if (isAutoReply) this.totals.autoRepliesToStrangers++;
      const rd = domainOf(b.recipient);
      if (rd) this.domains.add(rd);
      if (origin.kind === 'ours') {
        this.ourBounces++;
        if (origin.ref.kind === 'notify' || ctx.ownerDomains.some((d) => rd === d || rd.endsWith('.' + d))) this.ownerRecipientBounces++;
      }
      if (!row) { this.totals.undated++; continue; }
      row.bounces++;
      row.byReason[b.reason] = (row.byReason[b.reason] ?? 0) + 1;
      row.byOrigin[origin.kind]++;
      if (isAutoReply) row.autoRepliesToStrangers++;
    }
    return { parsed, origin };
  }

  finish(): Report {
    const top = this.opts.top ?? 15;
    const total = this.totals.bounces;
    const share = (n: number) => (total ? Math.round((n / total) * 10000) / 10000 : 0);
    const dates = [...this.days.keys()].sort();
    const firstDate = dates[0] ?? null;
    const lastDate = dates[dates.length - 1] ?? null;
    const days: DayRow[] = [];
    if (firstDate && lastDate) {
      const end = Date.parse(lastDate + 'T00:00:00Z');
      let t = Math.max(Date.parse(firstDate + 'T00:00:00Z'), end - (MAX_DAYS - 1) * 86_400_000);
      for (; t <= end; t += 86_400_000) {
        const k = new Date(t).toISOString().slice(0, 10);
        days.push(this.days.get(k) ?? { date: k, bounces: 0, byReason: {}, byOrigin: emptyOrigins(), complaints: 0, vacations: 0, autoRepliesToStrangers: 0 });
      }
    }
    const tlds = new Map<string, number>();
    for (const [d, e] of this.domains.map) tlds.set(tldOf(d), (tlds.get(tldOf(d)) ?? 0) + e.n);
    const report: Report = {
      version: 1,
      generatedAt: (this.opts.now?.() ?? new Date()).toISOString(),
      ownerDomains: this.opts.ownerDomains,
      totals: { ...this.totals },
      firstDate,
      lastDate,
      byReason: [...this.reasons].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([reason, count]) => ({ reason, count, share: share(count) })),
      byOrigin: { ...this.origins },
      days,
      recipientDomains: this.domains.top(top).map(([domain, count]) => ({ domain, count, share: share(count) })),
      recipientTlds: [...tlds].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, 10).map(([tld, count]) => ({ tld, count, share: share(count) })),
      sendingIps: this.ips.top(top).map(([ip, count, origins]) => ({ ip, count, origins })),
      distinct: { recipientDomains: this.domains.seen, sendingIps: this.ips.seen },
      findings: [],
    };
    report.findings = buildFindings(report, { ownerRecipientBounces: this.ownerRecipientBounces, ourBounces: this.ourBounces });
    return report;
  }
}

/** Read every message once, aggregate, return the report. Never holds more than one message. */
export async function analyze(messages: AsyncIterable<AnalyzeMessage>, opts: AnalyzeOptions): Promise<Report> {
  const b = new ReportBuilder(opts);
  let n = 0;
  let bytes = 0;
  for await (const m of messages) {
    await b.add(m.raw);
    n++;
    bytes += m.raw.length;
    opts.onProgress?.(n, bytes);
  }
  return b.finish();
}

export { ORIGIN_KINDS };
