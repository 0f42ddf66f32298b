// The rules of the DMARC alerts (docs/dmarc.md, "Alerts"), pure: which alerts a set of stored records shows.
// Sending them is alerts.ts; the origin view (analyze/evidence.ts) uses the same volume-jump rule.
import { analyzeDmarc, canonicalIp, type SourceLookup } from './analyze/section.js';
import type { StoredDmarcRecord } from './types.js';

export interface DmarcAlertSettings {
  /** failing messages from one unknown source on one day above which the owner is told (default 20) */
  unknownFailing: number;
  /** ratio to the median authorised volume of the 7 days before (those with reports, at least 4; default 3) */
  volumeJump: number;
  /** the day's authorised volume must be at least this for a jump (default 50) */
  minVolume: number;
}

export const DEFAULT_DMARC_ALERT: DmarcAlertSettings = { unknownFailing: 20, volumeJump: 3, minVolume: 50 };

export type DmarcAlert =
  | { kind: 'unknown-failing'; domain: string; day: string; ip: string; network: string; asn: number | null; asName: string | null; country: string | null; fail: number; total: number; headerFroms: string[]; reporters: string[] }
  | { kind: 'volume-jump'; domain: string; day: string; volume: number; median: number; ratio: number; top: Array<{ ip: string; count: number }> };

const DAY = 86_400_000;
const dayOf = (iso: string) => iso.slice(0, 10);
const addDays = (d: string, n: number) => new Date(Date.parse(d + 'T00:00:00Z') + n * DAY).toISOString().slice(0, 10);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (!s.length) return 0;
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * The alerts the records show for the given days (default: every day with records). Pure. `records` should
 * hold the 7 days before the first of `days` too (the jump's baseline) and is for one domain or several.
 * Whether a source is authorised is decided as in the analysis (configured senders, or consistent DMARC pass
 * over the records given).
 */
export function evaluateDmarcAlerts(records: readonly StoredDmarcRecord[], opts: { settings?: Partial<DmarcAlertSettings>; authorised?: string[]; lookup?: SourceLookup; days?: string[] } = {}): DmarcAlert[] {
  const set = { ...DEFAULT_DMARC_ALERT, ...opts.settings };
  const out: DmarcAlert[] = [];
  const byDomain = new Map<string, StoredDmarcRecord[]>();
  for (const r of records) {
    const d = r.domain.toLowerCase();
    const list = byDomain.get(d);
    if (list) list.push(r); else byDomain.set(d, [r]);
  }
  for (const [domain, recs] of [...byDomain].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    const whole = analyzeDmarc(recs, { authorised: opts.authorised, lookup: opts.lookup, top: Infinity });
    const status = new Map(whole.sources.map((s) => [s.ip, s]));
    const wanted = new Set(opts.days ?? whole.days.map((d) => d.date));
    const perDay = new Map(whole.days.map((d) => [d.date, d]));
    for (const day of [...wanted].sort()) {
      const dayRecs = recs.filter((r) => dayOf(r.begin) === day);
      if (!dayRecs.length) continue;
      // unknown sources failing on this day
      const section = analyzeDmarc(dayRecs, { authorised: opts.authorised, lookup: opts.lookup, top: Infinity });
      for (const s of section.sources) {
        const st = status.get(s.ip);
        if (!st || st.authorised || s.fail <= set.unknownFailing) continue;
        const reporters = [...new Set(dayRecs.filter((r) => canonicalIp(r.sourceIp) === s.ip).map((r) => r.orgName))];
        out.push({ kind: 'unknown-failing', domain, day, ip: s.ip, network: s.network, asn: s.asn, asName: s.asName, country: s.country, fail: s.fail, total: s.total, headerFroms: s.headerFroms, reporters: reporters.slice(0, 5) });
      }
      // authorised volume against the 7 days before
      const today = perDay.get(day)?.authorised ?? 0;
      // The baseline: the days of the 7 before that reports cover (a day without any report is unknown, not 0);
      // at least 4 of them, so a new or sparse history never looks like a jump.
      const before = Array.from({ length: 7 }, (_, i) => perDay.get(addDays(day, -7 + i))).filter((x) => x && x.pass + x.fail > 0).map((x) => x!.authorised);
      const med = median(before);
      if (before.length >= 4 && today >= set.minVolume && today >= set.volumeJump * Math.max(med, 1)) {
        const top = section.sources.filter((s) => status.get(s.ip)?.authorised).slice(0, 5).map((s) => ({ ip: s.ip, count: s.total }));
        out.push({ kind: 'volume-jump', domain, day, volume: today, median: med, ratio: Math.round((today / Math.max(med, 1)) * 10) / 10, top });
      }
    }
  }
  return out;
}

