// Storing DMARC aggregate reports (tables of migration 014) and reading their rows back for the analysis.
// A report is stored once: (org_name, report_id, domain) is unique, so importing the same mailbox or file
// again stores nothing new. A report and its rows are written in one transaction: all or nothing.
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import type { DmarcPolicy, DmarcReport, StoredDmarcRecord } from './types.js';

const BATCH = 500;

const ms = (iso: string) => Date.parse(iso);
const iso = (t: number) => new Date(Number(t)).toISOString().replace(/\.000Z$/, 'Z');

/** Store a report and its rows; `stored: false` when it was there already (same reporter, id and domain). */
export async function saveDmarcReport(db: Kysely<Database>, report: DmarcReport, source: string, now = Date.now()): Promise<{ stored: boolean; id?: number }> {
  return db.transaction().execute(async (trx) => {
    const row = await trx
      .insertInto('dmarc_reports')
      .values({
        org_name: report.orgName,
        report_id: report.reportId,
        domain: report.domain,
        email: report.email ?? null,
        begin_at: ms(report.begin),
        end_at: ms(report.end),
        policy: JSON.stringify(report.policy),
        records: report.records.length,
        messages: report.records.reduce((n, r) => n + r.count, 0),
        source: source.slice(0, 1024),
        created_at: now,
      })
      .onConflict((oc) => oc.columns(['org_name', 'report_id', 'domain']).doNothing())
      .returning('id')
      .executeTakeFirst();
    if (!row) return { stored: false };
    const id = Number(row.id);
    for (let i = 0; i < report.records.length; i += BATCH) {
      await trx
        .insertInto('dmarc_records')
        .values(
          report.records.slice(i, i + BATCH).map((r) => ({
            report: id,
            source_ip: r.sourceIp,
            bad_source_ip: r.badSourceIp ? 1 : 0,
            count: r.count,
            disposition: r.disposition,
            dkim: r.dkim,
            spf: r.spf,
            header_from: r.headerFrom,
            envelope_from: r.envelopeFrom ?? null,
            dkim_domains: JSON.stringify(r.dkimDomains),
            spf_domains: JSON.stringify(r.spfDomains),
          })),
        )
        .execute();
    }
    return { stored: true, id };
  });
}

/**
 * The stored rows, oldest report first: those of reports whose period ended at or after `since`, for one
 * policy domain when `domain` is given.
 */
export async function loadDmarcRecords(db: Kysely<Database>, opts: { since?: Date; domain?: string } = {}): Promise<StoredDmarcRecord[]> {
  let q = db
    .selectFrom('dmarc_records as r')
    .innerJoin('dmarc_reports as p', 'p.id', 'r.report')
    .select([
      'p.org_name', 'p.report_id', 'p.domain', 'p.begin_at', 'p.end_at',
      'r.source_ip', 'r.bad_source_ip', 'r.count', 'r.disposition', 'r.dkim', 'r.spf', 'r.header_from', 'r.envelope_from', 'r.dkim_domains', 'r.spf_domains',
    ]);
  if (opts.since) q = q.where('p.end_at', '>=', opts.since.getTime());
  if (opts.domain) q = q.where('p.domain', '=', opts.domain.trim().toLowerCase().replace(/\.$/, ''));
  const rows = await q.orderBy('p.end_at').orderBy('p.id').orderBy('r.id').execute();
  return rows.map((x) => {
    const rec: StoredDmarcRecord = {
      orgName: x.org_name, reportId: x.report_id, domain: x.domain, begin: iso(x.begin_at), end: iso(x.end_at),
      sourceIp: x.source_ip, count: Number(x.count), disposition: x.disposition, dkim: x.dkim, spf: x.spf, headerFrom: x.header_from,
      dkimDomains: JSON.parse(x.dkim_domains) as string[], spfDomains: JSON.parse(x.spf_domains) as string[],
    };
    if (x.envelope_from !== null) rec.envelopeFrom = x.envelope_from;
    if (Number(x.bad_source_ip)) rec.badSourceIp = true;
    return rec;
  });
}

/** The stored reports' identities and policies (newest first), for listings. */
export async function listDmarcReports(db: Kysely<Database>, limit = 100): Promise<Array<{ id: number; orgName: string; reportId: string; domain: string; begin: string; end: string; policy: DmarcPolicy; records: number; messages: number; source: string }>> {
  const rows = await db.selectFrom('dmarc_reports').selectAll().orderBy('end_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
  return rows.map((x) => ({
    id: Number(x.id), orgName: x.org_name, reportId: x.report_id, domain: x.domain, begin: iso(x.begin_at), end: iso(x.end_at),
    policy: JSON.parse(x.policy) as DmarcPolicy, records: Number(x.records), messages: Number(x.messages), source: x.source,
  }));
}

/** Delete reports (with their rows) whose period ended before `olderThan` (ms): retention.dmarc. */
export async function pruneDmarc(db: Kysely<Database>, olderThan: number, opts: { batch?: number; maxBatches?: number } = {}): Promise<number> {
  const batch = opts.batch ?? 100;
  const maxBatches = opts.maxBatches ?? 200;
  let deleted = 0;
  for (let i = 0; i < maxBatches; i++) {
    const rows = await db.selectFrom('dmarc_reports').select('id').where('end_at', '<', olderThan).orderBy('end_at').limit(batch).execute();
    if (rows.length === 0) break;
    const ids = rows.map((r) => r.id);
    await db.transaction().execute(async (trx) => {
      await trx.deleteFrom('dmarc_records').where('report', 'in', ids).execute();
      await trx.deleteFrom('dmarc_reports').where('id', 'in', ids).execute();
    });
    deleted += ids.length;
    if (rows.length < batch) break;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return deleted;
}
