import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { describe, expect, it } from 'vitest';
import { dmarcXml } from '../../test/support/dmarc-xml.js';
import { DmarcError, MAX_TEXT, parseDmarcXml } from './parse.js';
import type { DmarcReport } from './types.js';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url));

async function refused(input: Buffer | string, code: string, opts = {}): Promise<DmarcError> {
  const e = await parseDmarcXml(Buffer.from(input), opts).then(() => null, (x: unknown) => x);
  expect(e).toBeInstanceOf(DmarcError);
  expect((e as DmarcError).code).toBe(code);
  return e as DmarcError;
}

describe('parseDmarcXml: provider variants', () => {
  it('reads a report without a namespace, two records, optional policy fields present', async () => {
    expect(await parseDmarcXml(fixture('google-like.xml'))).toEqual({
      orgName: 'bigmail.example', email: 'noreply-dmarc@bigmail.example', reportId: '16437218273098765432', domain: 'example.jp',
      begin: '2025-12-04T00:00:00Z', end: '2025-12-04T23:59:59Z',
      policy: { domain: 'example.jp', p: 'none', sp: 'none', pct: 100, adkim: 'r', aspf: 'r' },
      records: [
        { sourceIp: '192.0.2.25', count: 12, disposition: 'none', dkim: 'pass', spf: 'pass', headerFrom: 'example.jp', dkimDomains: ['example.jp'], spfDomains: ['example.jp'] },
        { sourceIp: '203.0.113.77', count: 3, disposition: 'none', dkim: 'fail', spf: 'fail', headerFrom: 'example.jp', dkimDomains: [], spfDomains: ['spoofer.example'] },
      ],
    } satisfies DmarcReport);
  });

  it('reads the dmarc-2.0 default namespace: IPv6 (normalised), IPv4-mapped IPv6 as IPv4, several DKIM and SPF results', async () => {
    const r = await parseDmarcXml(fixture('microsoft-like.xml'));
    expect(r.orgName).toBe('Enterprise Mail Example');
    expect(r.reportId).toBe('8f1c2a9e4b7d4e21a0c3d5b6e7f80912');
    expect(r.policy).toEqual({ domain: 'example.jp', p: 'quarantine', sp: 'reject', pct: 50, adkim: 's', aspf: 'r' });
    expect(r.records).toEqual([
      { sourceIp: '2001:db8::1f', count: 4, disposition: 'none', dkim: 'pass', spf: 'fail', headerFrom: 'example.jp', envelopeFrom: 'bounce.example.jp', dkimDomains: ['example.jp', 'esp.example'], spfDomains: ['bounce.example.jp', 'helo.esp.example'] },
      { sourceIp: '198.51.100.9', count: 1, disposition: 'quarantine', dkim: 'fail', spf: 'fail', headerFrom: 'example.jp', envelopeFrom: 'example.jp', dkimDomains: [], spfDomains: ['example.jp'] },
    ]);
  });

  it('normalises case and trailing dots (results, dispositions, policy, domains) and trims the source address', async () => {
    const r = await parseDmarcXml(fixture('yahoo-like.xml'));
    expect(r.domain).toBe('example.jp');
    expect(r.policy).toEqual({ domain: 'example.jp', p: 'reject', pct: 100, adkim: 'r', aspf: 'r' });
    expect(r.records).toEqual([
      { sourceIp: '198.51.100.23', count: 7, disposition: 'reject', dkim: 'fail', spf: 'fail', headerFrom: 'example.jp', dkimDomains: ['forged.example'], spfDomains: ['forged.example'] },
    ]);
  });

  it('reads a minimal report: no email, sp, pct, adkim, aspf, envelope_from or DKIM result; a count of 0', async () => {
    expect(await parseDmarcXml(fixture('minimal.xml'))).toEqual({
      orgName: 'small.example', reportId: 'r-1', domain: 'example.jp', begin: '2025-12-04T00:00:00Z', end: '2025-12-05T00:00:00Z',
      policy: { domain: 'example.jp', p: 'none' },
      records: [{ sourceIp: '192.0.2.1', count: 0, disposition: 'none', dkim: 'fail', spf: 'pass', headerFrom: 'example.jp', dkimDomains: [], spfDomains: ['example.jp'] }],
    });
  });

  it('reads prefixed elements (dmarc:feedback), CDATA and an empty auth_results', async () => {
    const r = await parseDmarcXml(fixture('prefixed-dmarc2.xml'));
    expect(r.reportId).toBe('pfx-2026-12-04');
    expect(r.policy).toEqual({ domain: 'example.jp', p: 'reject' });
    expect(r.records).toEqual([{ sourceIp: '2001:db8::a', count: 2, disposition: 'reject', dkim: 'fail', spf: 'fail', headerFrom: 'example.jp', dkimDomains: [], spfDomains: [] }]);
  });

  it('reads a stream split at every byte (a multi-byte name split across chunks)', async () => {
    const xml = fixture('minimal.xml').toString('utf8').replace('small.example', '報告者 small.example');
    const bytes = Buffer.from(xml, 'utf8');
    const chunks = [...bytes].map((b) => Buffer.from([b]));
    const r = await parseDmarcXml(Readable.from(chunks));
    expect(r.orgName).toBe('報告者 small.example');
  });

  it('keeps a record whose source_ip is not an address, with the text as written and badSourceIp', async () => {
    const xml = fixture('minimal.xml').toString().replace('192.0.2.1', 'mail.example.net');
    const r = await parseDmarcXml(Buffer.from(xml));
    expect(r.records[0]).toMatchObject({ sourceIp: 'mail.example.net', badSourceIp: true, count: 0 });
    const legacy = await parseDmarcXml(Buffer.from(fixture('minimal.xml').toString().replace('192.0.2.1', '0x7f.1')));
    expect(legacy.records[0]).toMatchObject({ sourceIp: '0x7f.1', badSourceIp: true });
  });
});

describe('parseDmarcXml: refusals', () => {
  it('refuses entity expansion (billion laughs) without expanding anything', async () => {
    const lol = `<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n${Array.from({ length: 9 }, (_, i) => ` <!ENTITY lol${i + 1} "${`&lol${i || ''};`.repeat(10)}">`).join('\n')}\n]>\n<feedback><report_metadata><org_name>&lol9;</org_name></report_metadata></feedback>`;
    const e = await refused(lol, 'E_DMARC_DTD');
    expect(e.message).toMatch(/DOCTYPE/);
  });

  it('refuses an external entity (file:///etc/passwd) and an undefined entity', async () => {
    await refused('<?xml version="1.0"?><!DOCTYPE feedback [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><feedback><report_metadata><org_name>&xxe;</org_name></report_metadata></feedback>', 'E_DMARC_DTD');
    const e = await refused(fixture('minimal.xml').toString().replace('small.example', '&xxe;'), 'E_DMARC_XML');
    expect(e.message).toMatch(/not well-formed XML/);
    expect(e.message).not.toMatch(/root:/);
  });

  it('refuses malformed XML, a different root, and an empty input with a clear message', async () => {
    expect((await refused(fixture('minimal.xml').subarray(0, 300), 'E_DMARC_XML')).message).toMatch(/not well-formed XML/);
    expect((await refused('<rss><channel/></rss>', 'E_DMARC_NOT_REPORT')).message).toMatch(/root element is <rss>/);
    await refused('', 'E_DMARC_XML');
    await refused('<feedback><a></b></feedback>', 'E_DMARC_XML');
  });

  it('refuses a report without its id, reporter or domain, with a bad count or a bad date', async () => {
    const min = fixture('minimal.xml').toString();
    expect((await refused(min.replace('<report_id>r-1</report_id>', ''), 'E_DMARC_FIELD')).message).toMatch(/report_metadata\/report_id missing/);
    expect((await refused(min.replace('<org_name>small.example</org_name>', '<org_name> </org_name>'), 'E_DMARC_FIELD')).message).toMatch(/org_name/);
    expect((await refused(min.replace('<domain>example.jp</domain>', ''), 'E_DMARC_FIELD')).message).toMatch(/policy_published\/domain/);
    for (const bad of ['-1', '1.5', 'many', '', '1e3']) {
      expect((await refused(min.replace('<count>0</count>', `<count>${bad}</count>`), 'E_DMARC_FIELD')).message).toMatch(/record 1: row\/count/);
    }
    expect((await refused(min.replace('<source_ip>192.0.2.1</source_ip>', ''), 'E_DMARC_FIELD')).message).toMatch(/source_ip is missing/);
    expect((await refused(min.replace('<begin>1764806400</begin>', '<begin>yesterday</begin>'), 'E_DMARC_FIELD')).message).toMatch(/date_range\/begin/);
  });

  it('bounds records, bytes and kept text', async () => {
    const base = await parseDmarcXml(fixture('minimal.xml'));
    const many = dmarcXml({ ...base, records: Array.from({ length: 11 }, () => base.records[0]!) });
    expect((await parseDmarcXml(Buffer.from(many), { maxRecords: 11 })).records).toHaveLength(11);
    expect((await refused(many, 'E_DMARC_TOO_BIG', { maxRecords: 10 })).message).toMatch(/more than 10 records/);
    expect((await refused(many, 'E_DMARC_TOO_BIG', { maxBytes: 1000 })).message).toMatch(/larger than 1000 bytes/);
    const long = fixture('minimal.xml').toString().replace('r-1', 'x'.repeat(MAX_TEXT + 1));
    await refused(long, 'E_DMARC_TOO_BIG');
    // Long text where nothing is kept is fine.
    const comment = fixture('minimal.xml').toString().replace('</policy_published>', `<fo>${'1'.repeat(100_000)}</fo></policy_published>`);
    expect((await parseDmarcXml(Buffer.from(comment))).reportId).toBe('r-1');
  });
});

// Values as the parser gives them back (normalised): lower-case domains, ISO times, compressed addresses.
const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/);
const domain = fc.array(label, { minLength: 2, maxLength: 4 }).map((l) => l.join('.'));
const textChar = fc.constantFrom(...'abcXYZ019 .-_&<>"\'報告テスト'.split(''));
const text = fc.array(textChar, { minLength: 1, maxLength: 30 }).map((a) => a.join('').trim()).filter((s) => s.length > 0);
const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((b) => b.join('.'));
const ipv6 = fc.array(fc.nat(0xffff), { minLength: 7, maxLength: 7 }).map((p) => new ipaddr.IPv6([0x2001, ...p]).toString());
const iso = fc.integer({ min: 0, max: 4_102_444_800 }).map((s) => new Date(s * 1000).toISOString().replace(/\.000Z$/, 'Z'));
const result = fc.constantFrom('pass', 'fail');
const record = fc.record(
  {
    sourceIp: fc.oneof(ipv4, ipv6), count: fc.nat(), disposition: fc.constantFrom('none', 'quarantine', 'reject'), dkim: result, spf: result,
    headerFrom: domain, envelopeFrom: domain, dkimDomains: fc.array(domain, { maxLength: 3 }), spfDomains: fc.array(domain, { maxLength: 3 }),
  },
  { requiredKeys: ['sourceIp', 'count', 'disposition', 'dkim', 'spf', 'headerFrom', 'dkimDomains', 'spfDomains'] },
);
const report = fc
  .record({
    orgName: text, email: fc.option(fc.constant('dmarc@reporter.example'), { nil: undefined }), reportId: text, domain, begin: iso, end: iso,
    p: fc.constantFrom('none', 'quarantine', 'reject'), sp: fc.option(fc.constantFrom('none', 'reject'), { nil: undefined }), pct: fc.option(fc.nat(100), { nil: undefined }),
    adkim: fc.option(fc.constantFrom('r', 's'), { nil: undefined }), aspf: fc.option(fc.constantFrom('r', 's'), { nil: undefined }),
    records: fc.array(record, { maxLength: 5 }),
  })
  .map(({ p, sp, pct, adkim, aspf, email, ...r }) => {
    const policy: DmarcReport['policy'] = { domain: r.domain, p };
    if (sp !== undefined) policy.sp = sp;
    if (pct !== undefined) policy.pct = pct;
    if (adkim !== undefined) policy.adkim = adkim;
    if (aspf !== undefined) policy.aspf = aspf;
    const out: DmarcReport = { ...r, policy };
    if (email !== undefined) out.email = email;
    return out;
  });

describe('parseDmarcXml: properties', () => {
  it('a structurally valid report round-trips: parse(serialize(x)) equals x, with or without a namespace prefix', async () => {
    await fc.assert(
      fc.asyncProperty(report, fc.constantFrom(undefined, 'dmarc'), async (r, prefix) => {
        const xml = dmarcXml(r, prefix ? { prefix, namespace: 'urn:ietf:params:xml:ns:dmarc-2.0' } : {});
        expect(await parseDmarcXml(Buffer.from(xml))).toEqual(r);
      }),
      { numRuns: 300 },
    );
  });

  it('random bytes, and a valid report cut or spliced with random bytes, never throw anything but DmarcError', async () => {
    const valid = fixture('microsoft-like.xml');
    const input = fc.oneof(
      fc.uint8Array({ maxLength: 2000 }).map((a) => Buffer.from(a)),
      fc.tuple(fc.nat(valid.length), fc.uint8Array({ maxLength: 50 })).map(([at, junk]) => Buffer.concat([valid.subarray(0, at), Buffer.from(junk), valid.subarray(at)])),
      fc.nat(valid.length).map((n) => valid.subarray(0, n)),
      fc.string({ maxLength: 300 }).map((s) => Buffer.from(`<feedback>${s}</feedback>`)),
    );
    await fc.assert(
      fc.asyncProperty(input, async (buf) => {
        try {
          await parseDmarcXml(buf);
        } catch (e) {
          expect(e).toBeInstanceOf(DmarcError);
        }
      }),
      { numRuns: 500 },
    );
  });
});
