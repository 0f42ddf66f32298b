// The DMARC section of `formwarden analyze`: pure aggregation of stored (or just parsed) aggregate-report
// records. Who sends mail as the owner's domain, what the receivers concluded, which sources are the owner's
// own ("authorised") and which are strangers, grouped by network and country, and what is new.
//
// Authorised, in this order (docs/dmarc.md, "Reading the DMARC section"):
//   1. config: the source address is in one of the configured CIDRs / addresses (hostnames are resolved to
//      addresses by the caller, resolveAuthorised());
//   2. aligned: over the whole period the source passed DMARC (aligned DKIM or aligned SPF) for at least
//      ALIGNED_SHARE of its messages and for at least ALIGNED_MIN messages. Only a server the domain's SPF
//      record lists, or one holding the domain's DKIM key, can pass aligned; a forger cannot, so a source
//      that passes consistently is the owner's (or, if it was never meant to be, holds a stolen key or
//      account: the volume-jump alert watches exactly those).
// Every other source is unknown. A source is never both.
import ipaddr from 'ipaddr.js';
import { compileCidrs, parseAddress } from '../../defenses/client-address/index.js';
import { dmarcPass, type StoredDmarcRecord } from '../types.js';

export interface SourceInfo { asn?: number | null; asName?: string | null; country?: string | null }
export type SourceLookup = (ip: string) => SourceInfo | null | undefined;

export interface AnalyzeDmarcOptions {
  /** configured senders: CIDRs or single addresses (hostnames must be resolved first: resolveAuthorised) */
  authorised?: string[];
  lookup?: SourceLookup;
  /** end of the "new sources" window (default: the end of the last day with records) */
  now?: Date;
  /** a source first seen within this many days before `now` is new (default 7) */
  newDays?: number;
  /** share of aligned-pass messages that makes a source authorised (default 0.95) */
  alignedShare?: number;
  /** at least this many messages for alignment to count (default 2) */
  alignedMin?: number;
  /** rows in the sources table (default 50) */
  top?: number;
}

export const ALIGNED_SHARE = 0.95;
export const ALIGNED_MIN = 2;
const MAX_DAYS = 366;

export type AuthorisedBy = 'config' | 'aligned' | null;

export interface DmarcSource {
  ip: string;
  /** ASN when known (AS64500), else the /24 (IPv4) or /48 (IPv6) */
  network: string;
  asn: number | null;
  asName: string | null;
  country: string | null;
  total: number;
  pass: number;
  fail: number;
  /** what receivers did with its mail: none / quarantine / reject */
  dispositions: Record<string, number>;
  authorised: boolean;
  authorisedBy: AuthorisedBy;
  firstSeen: string;
  lastSeen: string;
  /** first seen inside the new-sources window */
  isNew: boolean;
  headerFroms: string[];
}

export interface DmarcGroup {
  network: string;
  asn: number | null;
  asName: string | null;
  country: string | null;
  /** failing messages of the group's sources */
  fail: number;
  total: number;
  /** the failing sources (each failing source is in exactly one group) */
  sources: string[];
  /** any of them unknown */
  unknown: boolean;
}

export interface DmarcDay {
  date: string;
  pass: number;
  fail: number;
  authorised: number;
  unknown: number;
  /** failing messages from unknown sources */
  unknownFail: number;
}

export interface DmarcSection {
  version: 1;
  domains: string[];
  reports: number;
  reporters: Array<{ orgName: string; reports: number; messages: number }>;
  firstDate: string | null;
  lastDate: string | null;
  totals: {
    messages: number;
    pass: number;
    fail: number;
    sources: number;
    authorisedSources: number;
    unknownSources: number;
    /** messages from unknown sources that failed DMARC: mail someone else sent as the domain */
    unknownFail: number;
    authorisedFail: number;
  };
  byDisposition: Record<string, number>;
  /** the top sources by volume (all sources in `totals.sources`) */
  sources: DmarcSource[];
  /** sources with failing mail, grouped by network (ASN, else /24 or /48), most failing first */
  failingByNetwork: DmarcGroup[];
  /** failing messages per country (unknown country: "-") */
  failingByCountry: Array<{ country: string; fail: number; sources: number }>;
  newSources: { since: string | null; days: number; hasHistory: boolean; sources: DmarcSource[] };
  /** every day from firstDate to lastDate, gaps filled (at most 366, the latest) */
  days: DmarcDay[];
}

const day = (iso: string) => (/^\d{4}-\d{2}-\d{2}/.exec(iso)?.[0] ?? '');

/** An address as one canonical string (IPv4-mapped IPv6 as IPv4); the input itself when it is not one. */
export function canonicalIp(ip: string): string {
  const a = parseAddress(ip);
  return a ? a.toString() : ip.trim().toLowerCase();
}

/** /24 for IPv4, /48 for IPv6, the input itself when it is not an address. */
export function prefixOf(ip: string): string {
  const a = parseAddress(ip);
  if (!a) return ip;
  if (a.kind() === 'ipv4') {
    const o = (a as ipaddr.IPv4).octets;
    return `${o[0]}.${o[1]}.${o[2]}.0/24`;
  }
  const p = (a as ipaddr.IPv6).parts.slice(0, 3);
  return `${new ipaddr.IPv6([...p, 0, 0, 0, 0, 0]).toString()}/48`;
}

/** A matcher for the configured senders (CIDRs and addresses). Throws with the entry on a bad one. */
export function authorisedMatcher(list: readonly string[] | undefined): (ip: string) => boolean {
  if (!list?.length) return () => false;
  const m = compileCidrs(list, 'dmarc.senders');
  return (ip) => {
    const a = parseAddress(ip);
    return !!a && m(a);
  };
}

interface Acc {
  ip: string;
  total: number;
  pass: number;
  fail: number;
  dispositions: Record<string, number>;
  first: string;
  last: string;
  froms: Set<string>;
}

export function analyzeDmarc(records: readonly StoredDmarcRecord[], opts: AnalyzeDmarcOptions = {}): DmarcSection {
  const inConfig = authorisedMatcher(opts.authorised);
  const alignedShare = opts.alignedShare ?? ALIGNED_SHARE;
  const alignedMin = opts.alignedMin ?? ALIGNED_MIN;
  const newDays = opts.newDays ?? 7;
  const acc = new Map<string, Acc>();
  const reports = new Map<string, { orgName: string; messages: number }>();
  const domains = new Set<string>();
  const byDisposition: Record<string, number> = {};
  const perDay = new Map<string, Map<string, { pass: number; fail: number }>>();
  let messages = 0;
  let pass = 0;
  for (const r of records) {
    const n = Number.isFinite(r.count) && r.count > 0 ? Math.floor(r.count) : 0;
    const ip = canonicalIp(r.sourceIp);
    const d = day(r.begin) || day(r.end);
    const ok = dmarcPass(r);
    messages += n;
    if (ok) pass += n;
    domains.add(r.domain.toLowerCase());
    const rk = `${r.orgName}\u0000${r.reportId}`;
    const rep = reports.get(rk) ?? { orgName: r.orgName, messages: 0 };
    rep.messages += n;
    reports.set(rk, rep);
    const disp = (r.disposition || 'none').toLowerCase();
    byDisposition[disp] = (byDisposition[disp] ?? 0) + n;
    let a = acc.get(ip);
    if (!a) {
      a = { ip, total: 0, pass: 0, fail: 0, dispositions: {}, first: d, last: d, froms: new Set() };
      acc.set(ip, a);
    }
    a.total += n;
    if (ok) a.pass += n; else a.fail += n;
    a.dispositions[disp] = (a.dispositions[disp] ?? 0) + n;
    if (d && (!a.first || d < a.first)) a.first = d;
    if (d && d > a.last) a.last = d;
    if (r.headerFrom && a.froms.size < 5) a.froms.add(r.headerFrom.toLowerCase());
    if (d) {
      let m = perDay.get(d);
      if (!m) perDay.set(d, (m = new Map()));
      const e = m.get(ip) ?? { pass: 0, fail: 0 };
      if (ok) e.pass += n; else e.fail += n;
      m.set(ip, e);
    }
  }

  const dates = [...perDay.keys()].sort();
  const firstDate = dates[0] ?? null;
  const lastDate = dates[dates.length - 1] ?? null;
  const windowEnd = opts.now ? opts.now.toISOString().slice(0, 10) : lastDate;
  const since = windowEnd ? new Date(Date.parse(windowEnd + 'T00:00:00Z') - (newDays - 1) * 86_400_000).toISOString().slice(0, 10) : null;

  const sources: DmarcSource[] = [];
  for (const a of acc.values()) {
    const info = opts.lookup?.(a.ip) ?? null;
    const asn = typeof info?.asn === 'number' ? info.asn : null;
    const authorisedBy: AuthorisedBy = inConfig(a.ip) ? 'config' : a.total >= alignedMin && a.pass >= a.total * alignedShare ? 'aligned' : null;
    sources.push({
      ip: a.ip,
      network: asn !== null ? `AS${asn}` : prefixOf(a.ip),
      asn,
      asName: info?.asName ?? null,
      country: info?.country ?? null,
      total: a.total,
      pass: a.pass,
      fail: a.fail,
      dispositions: a.dispositions,
      authorised: authorisedBy !== null,
      authorisedBy,
      firstSeen: a.first,
      lastSeen: a.last,
      isNew: !!since && !!a.first && a.first >= since,
      headerFroms: [...a.froms].sort(),
    });
  }
  sources.sort((x, y) => y.total - x.total || y.fail - x.fail || (x.ip < y.ip ? -1 : x.ip > y.ip ? 1 : 0));
  const byIp = new Map(sources.map((s) => [s.ip, s]));

  const groups = new Map<string, DmarcGroup>();
  const countries = new Map<string, { fail: number; sources: number }>();
  for (const s of sources) {
    if (s.fail === 0) continue;
    let g = groups.get(s.network);
    if (!g) groups.set(s.network, (g = { network: s.network, asn: s.asn, asName: s.asName, country: s.country, fail: 0, total: 0, sources: [], unknown: false }));
    g.fail += s.fail;
    g.total += s.total;
    g.sources.push(s.ip);
    if (!s.authorised) g.unknown = true;
    const c = countries.get(s.country ?? '-') ?? { fail: 0, sources: 0 };
    c.fail += s.fail;
    c.sources++;
    countries.set(s.country ?? '-', c);
  }

  const days: DmarcDay[] = [];
  if (firstDate && lastDate) {
    const end = Date.parse(lastDate + 'T00:00:00Z');
    for (let t = Math.max(Date.parse(firstDate + 'T00:00:00Z'), end - (MAX_DAYS - 1) * 86_400_000); t <= end; t += 86_400_000) {
      const date = new Date(t).toISOString().slice(0, 10);
      const row: DmarcDay = { date, pass: 0, fail: 0, authorised: 0, unknown: 0, unknownFail: 0 };
      for (const [ip, e] of perDay.get(date) ?? []) {
        row.pass += e.pass;
        row.fail += e.fail;
        if (byIp.get(ip)!.authorised) row.authorised += e.pass + e.fail;
        else { row.unknown += e.pass + e.fail; row.unknownFail += e.fail; }
      }
      days.push(row);
    }
  }

  const reporters = new Map<string, { orgName: string; reports: number; messages: number }>();
  for (const r of reports.values()) {
    const e = reporters.get(r.orgName) ?? { orgName: r.orgName, reports: 0, messages: 0 };
    e.reports++;
    e.messages += r.messages;
    reporters.set(r.orgName, e);
  }
  const unknown = sources.filter((s) => !s.authorised);
  const top = opts.top ?? 50;
  return {
    version: 1,
    domains: [...domains].sort(),
    reports: reports.size,
    reporters: [...reporters.values()].sort((a, b) => b.messages - a.messages || (a.orgName < b.orgName ? -1 : 1)),
    firstDate,
    lastDate,
    totals: {
      messages,
      pass,
      fail: messages - pass,
      sources: sources.length,
      authorisedSources: sources.length - unknown.length,
      unknownSources: unknown.length,
      unknownFail: unknown.reduce((s, x) => s + x.fail, 0),
      authorisedFail: sources.reduce((s, x) => s + (x.authorised ? x.fail : 0), 0),
    },
    byDisposition,
    sources: sources.slice(0, top),
    failingByNetwork: [...groups.values()].sort((a, b) => b.fail - a.fail || (a.network < b.network ? -1 : 1)),
    failingByCountry: [...countries].map(([country, v]) => ({ country, ...v })).sort((a, b) => b.fail - a.fail || (a.country < b.country ? -1 : 1)),
    newSources: {
      since,
      days: newDays,
      hasHistory: !!since && !!firstDate && firstDate < since,
      sources: sources.filter((s) => s.isNew).slice(0, top),
    },
    days,
  };
}

/**
 * Configured senders as the analysis takes them: CIDRs and addresses as they are, host names resolved to
 * their A and AAAA addresses (a name that does not resolve is reported through `onError` and left out).
 */
export async function resolveAuthorised(list: readonly string[], resolve: (host: string) => Promise<string[]>, onError?: (entry: string, e: Error) => void): Promise<string[]> {
  const out: string[] = [];
  for (const entry of list) {
    const s = entry.trim();
    if (s.includes('/') || parseAddress(s)) { out.push(s); continue; }
    try {
      out.push(...(await resolve(s)));
    } catch (e) {
      onError?.(s, e as Error);
    }
  }
  return out;
}
