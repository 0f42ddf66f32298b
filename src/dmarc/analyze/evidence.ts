// DMARC evidence for the origin view (bounces/origin): for a bounce's day, what the aggregate reports of
// the days around it say (a forged mail is sent, then bounced, within a day or two; a report covers a day).
// Built from records known before the bounces are read (the store, with --config) and from the reports
// found among the messages so far (a report read after a bounce does not change that bounce's origin).
import type { DmarcEvidenceSource, DmarcFacts } from '../../bounces/origin/index.js';
import { evaluateDmarcAlerts, type DmarcAlertSettings } from '../alert-rules.js';
import { dmarcPass, type StoredDmarcRecord } from '../types.js';
import { analyzeDmarc, canonicalIp, type SourceLookup } from './section.js';

const DAY = 86_400_000;
const shift = (d: string, n: number) => new Date(Date.parse(d + 'T00:00:00Z') + n * DAY).toISOString().slice(0, 10);

export function dmarcEvidence(records: () => readonly StoredDmarcRecord[], opts: { authorised?: string[]; lookup?: SourceLookup; settings?: Partial<DmarcAlertSettings> } = {}): DmarcEvidenceSource {
  let cachedFor = -1;
  let perDay = new Map<string, { unknownFail: number; failing: Set<string> }>();
  let jumps: Array<{ day: string; ratio: number; volume: number }> = [];
  const refresh = () => {
    const recs = records();
    if (recs.length === cachedFor) return;
    cachedFor = recs.length;
    const section = analyzeDmarc(recs, { authorised: opts.authorised, lookup: opts.lookup, top: Infinity });
    const unknown = new Set(section.sources.filter((s) => !s.authorised).map((s) => s.ip));
    perDay = new Map();
    for (const d of section.days) perDay.set(d.date, { unknownFail: d.unknownFail, failing: new Set() });
    for (const r of recs) {
      const e = perDay.get(r.begin.slice(0, 10));
      const ip = canonicalIp(r.sourceIp);
      if (e && !dmarcPass(r) && unknown.has(ip)) e.failing.add(ip);
    }
    jumps = evaluateDmarcAlerts(recs, { authorised: opts.authorised, lookup: opts.lookup, settings: opts.settings })
      .flatMap((a) => (a.kind === 'volume-jump' ? [{ day: a.day, ratio: a.ratio, volume: a.volume }] : []));
  };
  return {
    around(day: string | null): DmarcFacts | null {
      if (!day) return null;
      refresh();
      const from = shift(day, -2);
      const to = shift(day, 1);
      let covered = false;
      let unknownFail = 0;
      const sources = new Set<string>();
      for (let d = from; d <= to; d = shift(d, 1)) {
        const e = perDay.get(d);
        if (!e) continue;
        covered = true;
        unknownFail += e.unknownFail;
        for (const ip of e.failing) sources.add(ip);
      }
      if (!covered) return null;
      const jump = jumps.find((j) => j.day >= from && j.day <= to) ?? null;
      return { days: `${from}..${to}`, unknownFail, unknownSources: sources.size, jump };
    },
  };
}
