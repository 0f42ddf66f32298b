// Storing DMARC reports on both engines: a report and its rows once (a re-import stores nothing), rows read
// back as the parser gave them, filters, retention; refused input (hostile or broken) stores nothing.
import { readFileSync } from 'node:fs';
import zlib from 'node:zlib';
import { beforeEach, describe, expect, it } from 'vitest';
import { parseConfigText } from '../config/load.js';
import { PruneJob } from '../submissions/prune.js';
import { testConfigYaml } from '../../test/support/instance.js';
import { ManualClock } from '../util/clock.js';
import { dbUnavailable, useMigratedDatabase } from '../../test/support/db.js';
import { dmarcXml } from '../../test/support/dmarc-xml.js';
import { reportMail } from '../../test/support/dmarc-mail.js';
import { makeZip, zeroBomb } from '../../test/support/zip.js';
import { ingestDmarc, type DmarcSourceMessage } from './ingest.js';
import { parseDmarcXml } from './parse.js';
import { loadDmarcRecords, pruneDmarc, saveDmarcReport } from './store.js';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url));
const msgs = (...raws: Buffer[]): DmarcSourceMessage[] => raws.map((raw, index) => ({ file: 'test.mbox', index, raw }));

describe.skipIf(dbUnavailable())('DMARC store', () => {
  const fresh = useMigratedDatabase();
  beforeEach(async () => {
    await fresh.db.kysely.deleteFrom('dmarc_records').execute();
    await fresh.db.kysely.deleteFrom('dmarc_reports').execute();
  });
  const rowCounts = async () => ({
    reports: Number((await fresh.db.kysely.selectFrom('dmarc_reports').select(fresh.db.kysely.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n),
    records: Number((await fresh.db.kysely.selectFrom('dmarc_records').select(fresh.db.kysely.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n),
  });

  it('stores a report once and reads its rows back as parsed, with the report identity', async () => {
    const r = await parseDmarcXml(fixture('microsoft-like.xml'));
    const first = await saveDmarcReport(fresh.db.kysely, r, 'report.xml');
    expect(first.stored).toBe(true);
    expect(typeof first.id).toBe('number');
    expect(await saveDmarcReport(fresh.db.kysely, r, 'again.xml')).toEqual({ stored: false });
    expect(await rowCounts()).toEqual({ reports: 1, records: 2 });
    const rows = await loadDmarcRecords(fresh.db.kysely);
    expect(rows).toEqual(r.records.map((x) => ({ ...x, orgName: r.orgName, reportId: r.reportId, domain: r.domain, begin: r.begin, end: r.end })));
    // The same id from another reporter, or for another domain, is another report.
    expect((await saveDmarcReport(fresh.db.kysely, { ...r, orgName: 'other.example' }, 'x')).stored).toBe(true);
    expect((await saveDmarcReport(fresh.db.kysely, { ...r, domain: 'example.com', policy: { ...r.policy, domain: 'example.com' } }, 'x')).stored).toBe(true);
    expect(await rowCounts()).toEqual({ reports: 3, records: 6 });
  });

  it('filters by period end and domain; keeps a bad source address and large counts', async () => {
    const base = await parseDmarcXml(fixture('minimal.xml'));
    const old = { ...base, reportId: 'old', begin: '2025-01-01T00:00:00Z', end: '2025-01-02T00:00:00Z' };
    const other = { ...base, reportId: 'other', domain: 'example.com', policy: { ...base.policy, domain: 'example.com' } };
    const odd = { ...base, reportId: 'odd', records: [{ ...base.records[0]!, sourceIp: 'not-an-ip', badSourceIp: true, count: 9_007_199_254_740 }] };
    for (const r of [old, base, other, odd]) await saveDmarcReport(fresh.db.kysely, r, 'f');
    const since = await loadDmarcRecords(fresh.db.kysely, { since: new Date('2025-06-01T00:00:00Z') });
    expect(since.map((x) => x.reportId).sort()).toEqual(['odd', 'other', 'r-1']);
    expect((await loadDmarcRecords(fresh.db.kysely, { domain: 'EXAMPLE.COM.' })).map((x) => x.reportId)).toEqual(['other']);
    const [bad] = await loadDmarcRecords(fresh.db.kysely, { domain: 'example.jp', since: new Date('2025-06-01T00:00:00Z') }).then((rs) => rs.filter((x) => x.reportId === 'odd'));
    expect(bad).toMatchObject({ sourceIp: 'not-an-ip', badSourceIp: true, count: 9_007_199_254_740 });
    expect(await pruneDmarc(fresh.db.kysely, Date.parse('2025-06-01T00:00:00Z'))).toBe(1);
    expect(await rowCounts()).toEqual({ reports: 3, records: 3 });
    // The retention job: retention.dmarc (default 365 days after the period's end).
    const config = parseConfigText(testConfigYaml({ dbUrl: fresh.tdb.url }), 'test');
    expect(config.retention.dmarc).toBe('365d');
    const job = new PruneJob({ db: fresh.db.kysely, config, clock: new ManualClock(Date.parse('2026-12-04T00:00:01Z') + 365 * 86_400_000) });
    expect((await job.report()).dmarc).toBe(3);
    expect(await rowCounts()).toEqual({ reports: 0, records: 0 });
  });

  it('stores 5,000 records of one report in one go', async () => {
    const base = await parseDmarcXml(fixture('minimal.xml'));
    const records = Array.from({ length: 5000 }, (_, i) => ({ ...base.records[0]!, sourceIp: `10.0.${i >> 8}.${i & 255}`, count: i }));
    const r = await parseDmarcXml(Buffer.from(dmarcXml({ ...base, records })));
    expect((await saveDmarcReport(fresh.db.kysely, r, 'big')).stored).toBe(true);
    expect(await rowCounts()).toEqual({ reports: 1, records: 5000 });
  });

  it('ingests report mails (gzip, zip, xml), counts duplicates and refusals; a refused report stores nothing', async () => {
    const gz = zlib.gzipSync(fixture('google-like.xml'));
    const zip = makeZip([{ name: 'r.xml', data: fixture('microsoft-like.xml') }]);
    const lol = Buffer.from('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]><feedback><report_metadata><org_name>&b;</org_name></report_metadata></feedback>');
    const xxe = Buffer.from('<?xml version="1.0"?><!DOCTYPE feedback [<!ENTITY x SYSTEM "file:///etc/passwd">]><feedback>&x;</feedback>');
    const { data: bomb } = await zeroBomb(200 * 1024 * 1024, 'gzip', { prefix: '<feedback>', fill: 0x20 });
    const broken = fixture('yahoo-like.xml').subarray(0, 500);
    const stored: string[] = [];
    const counts = await ingestDmarc(
      fresh.db.kysely,
      msgs(
        reportMail([{ type: 'application/gzip', name: 'g.xml.gz', data: gz }, { type: 'application/zip', name: 'm.zip', data: zip }]),
        reportMail([{ type: 'application/gzip', name: 'g.xml.gz', data: gz }]), // the same report again
        reportMail([{ type: 'text/xml', name: 'lol.xml', data: lol }]),
        reportMail([{ type: 'application/xml', name: 'xxe.xml', data: xxe }]),
        reportMail([{ type: 'application/gzip', name: 'bomb.xml.gz', data: bomb }]),
        reportMail([{ type: 'application/gzip', name: 'broken.xml.gz', data: zlib.gzipSync(broken) }]),
        Buffer.from('From: someone@example.net\nSubject: hello\n\nnot a report\n'),
        fixture('minimal.xml'), // a bare report
      ),
      { onStored: async (r) => { stored.push(r.reportId); } },
    );
    expect({ ...counts, failures: counts.failures.map((f) => [f.index, f.attachment, f.code]) }).toEqual({
      reports: 4, stored: 3, duplicates: 1, errors: 4, skipped: 1,
      failures: [[2, 'lol.xml', 'E_DMARC_DTD'], [3, 'xxe.xml', 'E_DMARC_DTD'], [4, 'bomb.xml.gz', 'E_DMARC_BOMB'], [5, 'broken.xml.gz', 'E_DMARC_XML']],
    });
    expect(stored).toEqual(['16437218273098765432', '8f1c2a9e4b7d4e21a0c3d5b6e7f80912', 'r-1']);
    expect(await rowCounts()).toEqual({ reports: 3, records: 5 });
    // Only what was stored is there: nothing of the refused ones.
    const ids = (await fresh.db.kysely.selectFrom('dmarc_reports').select('source').orderBy('id').execute()).map((x) => x.source);
    expect(ids).toEqual(['test.mbox#0:g.xml.gz', 'test.mbox#0:m.zip', 'test.mbox#7']);
  });

  it('a report whose last record is invalid stores none of its records', async () => {
    const base = await parseDmarcXml(fixture('minimal.xml'));
    const xml = dmarcXml({ ...base, records: [base.records[0]!, base.records[0]!] }).replace(/<count>0<\/count>(?![\s\S]*<count>)/, '<count>-5</count>');
    const counts = await ingestDmarc(fresh.db.kysely, msgs(Buffer.from(xml)));
    expect(counts).toMatchObject({ reports: 0, stored: 0, errors: 1 });
    expect(counts.failures[0]!.message).toMatch(/record 2: row\/count/);
    expect(await rowCounts()).toEqual({ reports: 0, records: 0 });
  });
});
