// The DMARC aggregate reports among the messages `formwarden analyze` reads (beside the bounces): every
// message that is not a bounce and carries a report attachment (ingest.ts's reportPayloads) is parsed with
// the same bounded parser as `dmarc import`; a refused report is counted, never fatal. Records are kept in
// memory up to `maxRecords` (default 200,000: a small domain gets a few dozen a day).
import { readReport, reportPayloads } from '../ingest.js';
import type { StoredDmarcRecord } from '../types.js';

export class DmarcCollector {
  readonly records: StoredDmarcRecord[] = [];
  reports = 0;
  refused = 0;
  dropped = 0;
  private readonly seen = new Set<string>();
  constructor(private readonly maxRecords = 200_000) {}

  /** Records read elsewhere (the database): their reports are not counted again when a message carries them. */
  preload(recs: readonly StoredDmarcRecord[]): void {
    for (const r of recs) this.seen.add(`${r.orgName}\u0000${r.reportId}`);
    this.add(recs);
  }

  add(recs: readonly StoredDmarcRecord[]): void {
    for (const r of recs) {
      if (this.records.length >= this.maxRecords) { this.dropped++; continue; }
      this.records.push(r);
    }
  }

  /** Reads the reports of one message (none when it carries none). */
  async message(raw: Buffer): Promise<void> {
    const payloads = reportPayloads(raw);
    for (const p of payloads) {
      try {
        const rep = await readReport(p.data);
        // The same report twice (a copy in two folders) counts once, as in the store.
        const key = `${rep.orgName}\u0000${rep.reportId}`;
        if (this.seen.has(key)) continue;
        this.seen.add(key);
        this.reports++;
        this.add(rep.records.map((rec) => ({ ...rec, orgName: rep.orgName, reportId: rep.reportId, domain: rep.domain, begin: rep.begin, end: rep.end })));
      } catch {
        this.refused++;
      }
    }
  }
}
