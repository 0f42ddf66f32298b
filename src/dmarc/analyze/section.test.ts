// The DMARC section over generated records: the numbers add up whatever reporters send (attacker-chosen
// addresses, counts, results), every failing source is in exactly one network group, and no source is both
// authorised and unknown. Plus the rules stated by hand: configured senders, consistent pass, new sources,
// /24 and /48 grouping, the volume-jump and unknown-failing alert rules, and the rendered text and HTML.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { evaluateDmarcAlerts } from '../alert-rules.js';
import type { StoredDmarcRecord } from '../types.js';
import { dmarcEvidence } from './evidence.js';
import { renderDmarcHtml, renderDmarcText } from './render.js';
import { analyzeDmarc, prefixOf } from './section.js';

const ipv4 = fc.tuple(fc.constantFrom(192, 198, 203), fc.constantFrom(0, 51), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 1, max: 254 })).map((o) => o.join('.'));
const ipv6 = fc.tuple(fc.constantFrom('2001:db8', '2001:db9'), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 1, max: 65535 })).map(([p, a, b, c]) => `${p}:${a}:${b}::${c.toString(16)}`);
const hostile = fc.string({ maxLength: 20 });
const record = fc.record({
  sourceIp: fc.oneof(ipv4, ipv4, ipv6, hostile, ipv4.map((ip) => `::ffff:${ip}`)),
  count: fc.oneof(fc.integer({ min: 0, max: 500 }), fc.constantFrom(-1, Number.NaN, 1.5)),
  disposition: fc.constantFrom('none', 'quarantine', 'reject', ''),
  dkim: fc.constantFrom('pass', 'fail'),
  spf: fc.constantFrom('pass', 'fail'),
  headerFrom: fc.constantFrom('example.jp', 'mail.example.jp', '<b>x</b>'),
  dkimDomains: fc.constant([] as string[]),
  spfDomains: fc.constant([] as string[]),
  orgName: fc.constantFrom('google.com', 'Yahoo', 'Microsoft <x>'),
  reportId: fc.integer({ min: 1, max: 5 }).map(String),
  domain: fc.constant('example.jp'),
  day: fc.integer({ min: 0, max: 20 }),
}).map(({ day, ...r }): StoredDmarcRecord => {
  const b = new Date(Date.UTC(2026, 2, 1 + day));
  return { ...r, begin: b.toISOString(), end: new Date(b.getTime() + 86_399_000).toISOString() };
});
const counted = (r: StoredDmarcRecord) => (Number.isFinite(r.count) && r.count > 0 ? Math.floor(r.count) : 0);

describe('analyzeDmarc properties', () => {
  it('totals are conserved; each failing source is in exactly one group; authorised xor unknown', () => {
    fc.assert(fc.property(fc.array(record, { maxLength: 60 }), fc.subarray(['192.0.0.0/24', '2001:db8::/32', '203.51.1.7']), (records, authorised) => {
      const d = analyzeDmarc(records, { authorised, top: Infinity });
      const total = records.reduce((s, r) => s + counted(r), 0);
      const pass = records.reduce((s, r) => s + (r.dkim === 'pass' || r.spf === 'pass' ? counted(r) : 0), 0);
      expect(d.totals.messages).toBe(total);
      expect(d.totals.pass).toBe(pass);
      expect(d.totals.pass + d.totals.fail).toBe(total);
      expect(d.sources.reduce((s, x) => s + x.total, 0)).toBe(total);
      expect(d.days.reduce((s, x) => s + x.pass + x.fail, 0)).toBe(total);
      expect(d.days.reduce((s, x) => s + x.authorised + x.unknown, 0)).toBe(total);
      expect(Object.values(d.byDisposition).reduce((s, n) => s + n, 0)).toBe(total);
      expect(d.days.reduce((s, x) => s + x.unknownFail, 0)).toBe(d.totals.unknownFail);
      // each failing source in exactly one group, and groups hold only failing sources
      const failing = d.sources.filter((s) => s.fail > 0).map((s) => s.ip).sort();
      const grouped = d.failingByNetwork.flatMap((g) => g.sources).sort();
      expect(grouped).toEqual(failing);
      expect(d.failingByNetwork.reduce((s, g) => s + g.fail, 0)).toBe(d.totals.fail);
      expect(d.failingByCountry.reduce((s, c) => s + c.fail, 0)).toBe(d.totals.fail);
      // authorised xor unknown, and the counts agree
      for (const s of d.sources) expect(s.authorised).toBe(s.authorisedBy !== null);
      expect(d.totals.authorisedSources + d.totals.unknownSources).toBe(d.totals.sources);
      expect(new Set(d.sources.map((s) => s.ip)).size).toBe(d.sources.length);
      // the HTML never carries a record's markup
      const html = renderDmarcHtml(d);
      expect(html).not.toContain('<b>x</b>');
      expect(html).not.toContain('Microsoft <x>');
      renderDmarcText(d, 'ja');
    }));
  });
});

const rec = (ip: string, day: number, count: number, pass: boolean, extra: Partial<StoredDmarcRecord> = {}): StoredDmarcRecord => {
  const b = new Date(Date.UTC(2026, 2, day));
  return {
    sourceIp: ip, count, disposition: pass ? 'none' : 'reject', dkim: pass ? 'pass' : 'fail', spf: pass ? 'pass' : 'fail', headerFrom: 'example.jp', dkimDomains: [], spfDomains: [],
    orgName: 'google.com', reportId: `r${day}`, domain: 'example.jp', begin: b.toISOString(), end: new Date(b.getTime() + 86_399_000).toISOString(), ...extra,
  };
};

describe('analyzeDmarc rules', () => {
  it('authorises configured senders and sources that pass consistently; the rest are unknown, grouped by /24, /48 or ASN', () => {
    const records = [
      rec('203.0.113.10', 1, 100, true), // passes always: aligned
      rec('203.0.113.11', 1, 5, false), rec('203.0.113.11', 2, 1, true), // mostly failing, no config: unknown
      rec('198.51.100.7', 1, 3, false), // failing but configured: authorised (forwarding?)
      rec('2001:db8:1:2::5', 2, 40, false), rec('2001:db8:1:ffff::9', 2, 2, false), // one /48
      rec('192.0.2.1', 2, 7, false),
    ];
    const d = analyzeDmarc(records, { authorised: ['198.51.100.0/24'], lookup: (ip) => (ip === '192.0.2.1' ? { asn: 64500, asName: 'EXAMPLE-NET', country: 'NL' } : { country: 'JP' }) });
    const by = new Map(d.sources.map((s) => [s.ip, s]));
    expect(by.get('203.0.113.10')!.authorisedBy).toBe('aligned');
    expect(by.get('203.0.113.11')!.authorisedBy).toBe(null);
    expect(by.get('198.51.100.7')!.authorisedBy).toBe('config');
    expect(d.failingByNetwork.map((g) => [g.network, g.fail, g.unknown])).toEqual([
      ['2001:db8:1::/48', 42, true], ['AS64500', 7, true], ['203.0.113.0/24', 5, true], ['198.51.100.0/24', 3, false],
    ]);
    expect(d.failingByNetwork[1]!.asName).toBe('EXAMPLE-NET');
    expect(d.failingByCountry[0]).toEqual({ country: 'JP', fail: 50, sources: 4 });
    expect(prefixOf('::ffff:192.0.2.200')).toBe('192.0.2.0/24');
  });

  it('new sources: first seen in the last N days, with history before', () => {
    const records = [rec('203.0.113.10', 1, 10, true), rec('203.0.113.10', 15, 10, true), rec('192.0.2.9', 14, 30, false)];
    const d = analyzeDmarc(records, { newDays: 7 });
    expect(d.newSources.since).toBe('2026-03-09');
    expect(d.newSources.hasHistory).toBe(true);
    expect(d.newSources.sources.map((s) => s.ip)).toEqual(['192.0.2.9']);
    expect(d.days).toHaveLength(15);
  });

  it('alert rules: an unknown source above the threshold on a day; an authorised volume jump against the 7-day median', () => {
    const base = Array.from({ length: 8 }, (_, i) => rec('203.0.113.10', i + 1, 60, true));
    const records = [...base, rec('203.0.113.10', 9, 400, true), rec('192.0.2.9', 9, 21, false), rec('192.0.2.10', 9, 20, false)];
    const alerts = evaluateDmarcAlerts(records, { days: ['2026-03-09'] });
    expect(alerts.map((a) => (a.kind === 'unknown-failing' ? [a.kind, a.ip, a.fail] : [a.kind, a.volume, a.median]))).toEqual([
      ['unknown-failing', '192.0.2.9', 21],
      ['volume-jump', 400, 60],
    ]);
    // below the jump ratio: nothing
    expect(evaluateDmarcAlerts([...base, rec('203.0.113.10', 9, 170, true)], { days: ['2026-03-09'] })).toEqual([]);
  });

  it('origin evidence: the days around a bounce', () => {
    const records = [rec('203.0.113.10', 1, 60, true), rec('192.0.2.9', 3, 25, false)];
    const ev = dmarcEvidence(() => records);
    expect(ev.around('2026-03-04')).toEqual({ days: '2026-03-02..2026-03-05', unknownFail: 25, unknownSources: 1, jump: null });
    expect(ev.around('2026-04-01')).toBe(null);
    expect(ev.around(null)).toBe(null);
  });
});
