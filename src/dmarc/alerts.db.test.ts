// "Someone is sending mail as your domain": an aggregate report whose unknown source sent more failing mail
// than dmarc.alert.unknownFailing alerts the owner once — one mail through the real outbox into a real SMTP
// server, and one POST to the alert webhook — and never again for the same source and day (a re-import, a
// second reporter, a second process). Below the threshold: nothing. An authorised source's volume jump:
// the "stolen password?" alert.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dbUnavailable } from '../../test/support/db.js';
import { startTestInstance, type TestInstance } from '../../test/support/instance.js';
import { SmtpSink } from '../../test/support/smtp-sink.js';
import { ManualClock } from '../util/clock.js';
import { dmarcAlertHook } from './alerts.js';
import { ingestDmarc } from './ingest.js';

const DAY = 86_400;
const T0 = Date.UTC(2026, 2, 1) / 1000;

/** An RFC 7489 aggregate report, written from the schema. */
function report(o: { org: string; id: string; day: number; rows: Array<{ ip: string; count: number; pass: boolean }> }): Buffer {
  const rows = o.rows.map((r) => `<record><row><source_ip>${r.ip}</source_ip><count>${r.count}</count><policy_evaluated><disposition>${r.pass ? 'none' : 'reject'}</disposition><dkim>${r.pass ? 'pass' : 'fail'}</dkim><spf>${r.pass ? 'pass' : 'fail'}</spf></policy_evaluated></row><identifiers><header_from>example.jp</header_from></identifiers><auth_results><spf><domain>example.jp</domain><result>${r.pass ? 'pass' : 'fail'}</result></spf></auth_results></record>`).join('');
  const begin = T0 + o.day * DAY;
  return Buffer.from(`<?xml version="1.0" encoding="UTF-8"?>
<feedback><report_metadata><org_name>${o.org}</org_name><email>noreply@${o.org}</email><report_id>${o.id}</report_id><date_range><begin>${begin}</begin><end>${begin + DAY - 1}</end></date_range></report_metadata><policy_published><domain>example.jp</domain><p>none</p></policy_published>${rows}</feedback>`);
}

describe.skipIf(dbUnavailable())('DMARC alerts', () => {
  let t: TestInstance;
  let sink: SmtpSink;
  let hookServer: Server;
  const hooks: Array<{ type: string; source?: { ip: string }; fail?: number }> = [];
  const clock = new ManualClock(Date.UTC(2026, 2, 20));

  beforeAll(async () => {
    sink = new SmtpSink();
    const port = await sink.start();
    hookServer = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => { hooks.push(JSON.parse(body)); res.end('ok'); });
    });
    await new Promise<void>((r) => hookServer.listen(0, '127.0.0.1', r));
    const hp = (hookServer.address() as AddressInfo).port;
    t = await startTestInstance({
      smtp: `smtp://127.0.0.1:${port}`, clock, startWorker: false,
      extra: `alerts: { to: [security@example.jp], webhook: { url: "http://127.0.0.1:${hp}/hook", format: json } }
dmarc: { senders: [198.51.100.0/24], alert: { unknownFailing: 20, volumeJump: 3, minVolume: 50 } }`,
    });
  }, 60_000);
  afterAll(async () => {
    await t?.close();
    await sink?.stop();
    await new Promise((r) => hookServer?.close(r));
  });

  const deps = () => ({ db: t.instance.db.kysely, config: t.instance.config, clock, fromAddress: 'info@example.jp' });
  async function importReports(...reports: Buffer[]) {
    const counts = await ingestDmarc(t.instance.db.kysely, reports.map((raw, index) => ({ file: 'test', index, raw })), { onStored: dmarcAlertHook(deps()) });
    await t.instance.worker.drain();
    return counts;
  }
  const alertMails = () => sink.received.filter((m) => /DMARC|名乗って|sending volume/.test(m.parsed.text ?? ''));

  it('below the threshold: no alert', async () => {
    await importReports(report({ org: 'google.com', id: 'g-0', day: 0, rows: [{ ip: '198.51.100.5', count: 60, pass: true }, { ip: '192.0.2.77', count: 20, pass: false }] }));
    expect(alertMails()).toHaveLength(0);
    expect(hooks).toHaveLength(0);
  });

  it('an unknown source above the threshold: one mail to the owners and one webhook; a re-import and a second reporter: no second alert', async () => {
    const r1 = report({ org: 'google.com', id: 'g-1', day: 1, rows: [{ ip: '198.51.100.5', count: 60, pass: true }, { ip: '192.0.2.66', count: 35, pass: false }] });
    expect((await importReports(r1)).stored).toBe(1);
    const mails = alertMails();
    // the owner (forms' notify.to) and alerts.to: one mail each
    expect(mails.map((m) => m.envelopeTo).flat().sort()).toEqual(['owner@example.jp', 'security@example.jp'].sort());
    const m = mails[0]!;
    expect(m.parsed.subject).toContain('someone is sending mail as example.jp');
    expect(m.parsed.text).toContain('192.0.2.66');
    expect(m.parsed.text).toContain('35');
    expect(m.parsed.text).toContain('名乗って');
    expect(hooks).toHaveLength(1);
    expect(hooks[0]).toMatchObject({ type: 'dmarc_unknown_source', source: { ip: '192.0.2.66' }, fail: 35 });

    // the same report again (stored once: no callback), and the same day from another reporter (stored: callback, deduplicated)
    const again = await importReports(r1, report({ org: 'yahoo.com', id: 'y-1', day: 1, rows: [{ ip: '192.0.2.66', count: 30, pass: false }] }));
    expect(again).toMatchObject({ duplicates: 1, stored: 1 });
    // a second process evaluating the same day: the events row decides
    await dmarcAlertHook(deps())({ orgName: 'google.com', reportId: 'g-1', domain: 'example.jp', begin: new Date((T0 + DAY) * 1000).toISOString(), end: new Date((T0 + 2 * DAY - 1) * 1000).toISOString(), policy: { domain: 'example.jp', p: 'none' }, records: [] });
    await t.instance.worker.drain();
    expect(alertMails()).toHaveLength(2);
    expect(hooks).toHaveLength(1);
  });

  it('an authorised source\'s volume jumps: the stolen-password alert', async () => {
    const before = sink.received.length;
    const week = Array.from({ length: 7 }, (_, i) => report({ org: 'google.com', id: `w-${i}`, day: 2 + i, rows: [{ ip: '198.51.100.5', count: 60, pass: true }] }));
    await importReports(...week);
    expect(sink.received.length).toBe(before);
    await importReports(report({ org: 'google.com', id: 'w-jump', day: 9, rows: [{ ip: '198.51.100.5', count: 500, pass: true }] }));
    const jump = sink.received.slice(before);
    expect(jump).toHaveLength(2);
    expect(jump[0]!.parsed.subject).toContain('sending volume for example.jp jumped');
    expect(hooks.at(-1)).toMatchObject({ type: 'dmarc_volume_jump' });
  });

  it('many unknown sources on one day: one mail and one webhook naming them all; a source added later alerts alone', async () => {
    const mailsBefore = sink.received.length;
    const hooksBefore = hooks.length;
    // A spoofing run from 30 addresses: one mail per recipient, not 30.
    const spoofers = Array.from({ length: 30 }, (_, i) => ({ ip: `203.0.113.${i + 1}`, count: 21 + i, pass: false }));
    await importReports(report({ org: 'google.com', id: 'many-1', day: 20, rows: [...spoofers, { ip: '192.0.2.200', count: 5, pass: false }] }));
    const mails = sink.received.slice(mailsBefore);
    expect(mails.map((m) => m.envelopeTo).flat().sort()).toEqual(['owner@example.jp', 'security@example.jp'].sort());
    const text = mails[0]!.parsed.text ?? '';
    expect(mails[0]!.parsed.subject).toContain('from 30 sources');
    // busiest first, the 20 busiest named, the rest counted; the one below the threshold not at all
    expect(text).toContain('203.0.113.30 (');
    expect(text.indexOf('203.0.113.30 (')).toBeLessThan(text.indexOf('203.0.113.29 ('));
    expect(text).not.toContain('203.0.113.1 (');
    expect(text).toContain('... and 10 more');
    expect(text).toContain('ほか 10 か所');
    expect(text).not.toContain('192.0.2.200');
    const fail = spoofers.reduce((n, r) => n + r.count, 0);
    expect(text).toContain(`sent ${fail} message(s) as example.jp`);
    const newHooks = hooks.slice(hooksBefore) as unknown as Array<{ type: string; count: number; fail: number; sources: Array<{ ip: string; fail: number }> }>;
    expect(newHooks).toHaveLength(1);
    expect(newHooks[0]).toMatchObject({ type: 'dmarc_unknown_sources', count: 30, fail });
    expect(newHooks[0]!.sources.map((x) => x.ip)).toEqual(spoofers.map((r) => r.ip).reverse());

    // Another reporter, the same day: the 30 again (already alerted) and one new source: an alert on that one alone.
    await importReports(report({ org: 'outlook.com', id: 'many-2', day: 20, rows: [...spoofers, { ip: '203.0.113.99', count: 40, pass: false }] }));
    const later = sink.received.slice(mailsBefore + mails.length);
    expect(later).toHaveLength(2);
    expect(later[0]!.parsed.subject).toContain('someone is sending mail as example.jp');
    expect(later[0]!.parsed.subject).not.toContain('sources');
    expect(later[0]!.parsed.text).toContain('203.0.113.99');
    expect(later[0]!.parsed.text).not.toContain('203.0.113.30');
    expect(hooks.slice(hooksBefore + 1)).toEqual([expect.objectContaining({ type: 'dmarc_unknown_source', source: expect.objectContaining({ ip: '203.0.113.99' }) })]);
  });
});
