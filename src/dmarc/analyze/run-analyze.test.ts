// `formwarden analyze` with DMARC report mails among the messages (an mbox holding bounces and reports,
// gzip and zip-free plain XML attachments): the JSON gains a `dmarc` section, the terminal text its table,
// a copy of the same report counts once, and a hostile report is refused without stopping the run.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { runAnalyze } from '../../bounces/analyze/index.js';

const T0 = Date.UTC(2026, 2, 1) / 1000;
function xml(id: string, day: number, rows: Array<[string, number, boolean]>): string {
  const recs = rows.map(([ip, n, pass]) => `<record><row><source_ip>${ip}</source_ip><count>${n}</count><policy_evaluated><disposition>${pass ? 'none' : 'quarantine'}</disposition><dkim>${pass ? 'pass' : 'fail'}</dkim><spf>${pass ? 'pass' : 'fail'}</spf></policy_evaluated></row><identifiers><header_from>example.jp</header_from></identifiers><auth_results><spf><domain>example.jp</domain><result>${pass ? 'pass' : 'fail'}</result></spf></auth_results></record>`).join('');
  const b = T0 + day * 86_400;
  return `<?xml version="1.0"?><feedback xmlns="urn:ietf:params:xml:ns:dmarc-2.0"><report_metadata><org_name>google.com</org_name><email>noreply-dmarc-support@google.com</email><report_id>${id}</report_id><date_range><begin>${b}</begin><end>${b + 86_399}</end></date_range></report_metadata><policy_published><domain>example.jp</domain><p>none</p></policy_published>${recs}</feedback>`;
}
function mail(name: string, data: Buffer, type: string, day: number): string {
  const date = new Date((T0 + (day + 1) * 86_400 + 3600) * 1000).toUTCString().replace('GMT', '+0000');
  return `From noreply-dmarc-support@google.com ${new Date((T0 + (day + 1) * 86_400) * 1000).toUTCString().slice(0, 25)}
From: noreply-dmarc-support@google.com
To: dmarc@example.jp
Subject: Report domain: example.jp Submitter: google.com Report-ID: ${name}
Date: ${date}
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b1"

--b1
Content-Type: text/plain

This is an aggregate report from google.com.
--b1
Content-Type: ${type}; name="${name}"
Content-Disposition: attachment; filename="${name}"
Content-Transfer-Encoding: base64

${data.toString('base64').replace(/.{76}/g, '$&\n')}
--b1--

`;
}
function sink() {
  const s = new PassThrough();
  let text = '';
  s.on('data', (c) => (text += c));
  return { s, text: () => text };
}

describe('analyze reads DMARC reports among the messages', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'fw-dmarc-analyze-'));
  const r1 = xml('r1', 0, [['198.51.100.5', 50, true], ['203.0.113.9', 30, false], ['2001:db8::9', 4, false]]);
  const mbox = path.join(dir, 'mbox');
  writeFileSync(mbox, [
    mail('google.com!example.jp!1.xml.gz', gzipSync(r1), 'application/gzip', 0),
    mail('copy.xml', Buffer.from(r1), 'text/xml', 0), // the same report again
    mail('r2.xml', Buffer.from(xml('r2', 1, [['198.51.100.5', 60, true]])), 'text/xml', 1),
    mail('bomb.xml', Buffer.from('<?xml version="1.0"?><!DOCTYPE f [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]><feedback>&b;</feedback>'), 'text/xml', 1),
  ].join(''));

  it('JSON has the section; text shows it; copies count once; a hostile report is refused and said', async () => {
    const out = sink();
    const err = sink();
    expect(await runAnalyze([mbox], { json: true, ownerDomains: ['example.jp'] }, out.s, err.s)).toBe(0);
    const report = JSON.parse(out.text());
    expect(report.totals.messages).toBe(4);
    expect(report.dmarc).toMatchObject({
      reports: 2, domains: ['example.jp'], firstDate: '2026-03-01', lastDate: '2026-03-02',
      totals: { messages: 144, pass: 110, fail: 34, sources: 3, authorisedSources: 1, unknownSources: 2, unknownFail: 34 },
    });
    expect(report.dmarc.failingByNetwork.map((g: { network: string }) => g.network).sort()).toEqual(['2001:db8::/48', '203.0.113.0/24']);
    expect(err.text()).toMatch(/1 DMARC report\(s\) refused/);

    const txt = sink();
    await runAnalyze([mbox], { lang: 'ja', ownerDomains: ['example.jp'] }, txt.s, sink().s);
    expect(txt.text()).toContain('DMARC：あなたのドメインを名乗って送信しているのは誰か');
    expect(txt.text()).toContain('203.0.113.9');
  });

  it('no DMARC report, no section', async () => {
    const empty = path.join(dir, 'empty.mbox');
    writeFileSync(empty, 'From a@b Sat Mar  7 10:00:00 2026\nFrom: a@b.example\nSubject: hi\n\nhello\n');
    const out = sink();
    await runAnalyze([empty], { json: true, ownerDomains: ['example.jp'] }, out.s, sink().s);
    expect(JSON.parse(out.text()).dmarc).toBeUndefined();
  });
});
