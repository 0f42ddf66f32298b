import { describe, expect, it } from 'vitest';
import { Reader, type Response } from 'maxmind';
import { readFileSync } from 'node:fs';
import { createGeoDefense, defaultCountryDbPath } from './index.js';
import { createCheckContext, makeSubmission } from '../../pipeline/context.js';

// Look the test addresses up in the shipped database itself, so the test does not depend on one day's data.
const reader = new Reader<Response>(readFileSync(defaultCountryDbPath()));
const candidates = ['133.242.0.1', '210.130.0.1', '202.32.0.1', '8.8.8.8', '1.1.1.1', '114.114.114.114', '77.88.8.8', '2400:4050::1', '2001:4860:4860::8888'];
const byCountry = new Map<string, string>();
for (const ip of candidates) {
  const cc = (reader.get(ip) as { country_code?: string } | null)?.country_code;
  if (cc && !byCountry.has(cc)) byCountry.set(cc, ip);
}
const entries = [...byCountry.entries()];
const [ccA, ipA] = entries[0]!;
const [ccB, ipB] = entries[1]!;

const ctx = createCheckContext();
const run = (d: ReturnType<typeof createGeoDefense>, ip: string, formId = 'contact') => d.check(makeSubmission({ formId, ip }), ctx);

describe('geo', () => {
  it('the shipped database knows at least two countries among the test addresses', () => {
    expect(entries.length).toBeGreaterThanOrEqual(2);
  });

  it('looks countries up in the shipped database', () => {
    const d = createGeoDefense();
    expect(d.lookup.country(ipA)).toBe(ccA);
    if (!ipA.includes(':')) expect(d.lookup.country(`::ffff:${ipA}`)).toBe(ccA);
  });

  it('allow policy flags other countries, per form', async () => {
    const d = createGeoDefense({ forms: { contact: { allow: [ccA] } } });
    expect(await run(d, ipA)).toEqual({ kind: 'pass' });
    expect(await run(d, ipB)).toEqual({ kind: 'flag', findings: [{ symbol: 'GEO_COUNTRY_NOT_ALLOWED', detail: ccB }] });
    expect(await run(d, ipB, 'other-form')).toEqual({ kind: 'pass' });
  });

  it('deny policy and the default policy', async () => {
    const d = createGeoDefense({ default: { deny: [ccB] } });
    expect(await run(d, ipB, 'any')).toEqual({ kind: 'flag', findings: [{ symbol: 'GEO_COUNTRY_DENIED', detail: ccB }] });
    expect(await run(d, ipA, 'any')).toEqual({ kind: 'pass' });
  });

  it('score policy weights the symbol', async () => {
    const d = createGeoDefense({ forms: { contact: { score: { [ccB]: 4 } } } });
    expect(await run(d, ipB)).toEqual({ kind: 'flag', findings: [{ symbol: 'GEO_COUNTRY_SCORED', weight: 4, detail: ccB }] });
  });

  it('private and loopback addresses are unknown, with their own symbol (weight configurable, 0 disables)', async () => {
    const d = createGeoDefense({ forms: { contact: { allow: ['JP'] } } });
    expect(await run(d, '127.0.0.1')).toEqual({ kind: 'flag', findings: [{ symbol: 'GEO_COUNTRY_UNKNOWN', weight: 1, detail: 'loopback' }] });
    expect(await run(d, '10.1.2.3')).toEqual({ kind: 'flag', findings: [{ symbol: 'GEO_COUNTRY_UNKNOWN', weight: 1, detail: 'private' }] });
    expect(await run(d, '::1')).toMatchObject({ kind: 'flag', findings: [{ symbol: 'GEO_COUNTRY_UNKNOWN' }] });
    expect(await run(createGeoDefense({ unknownCountryWeight: 0 }), '10.1.2.3')).toEqual({ kind: 'pass' });
    expect(await run(createGeoDefense({ unknownCountryWeight: 3 }), '192.168.0.1')).toMatchObject({ findings: [{ weight: 3 }] });
  });

  it('ASN rules score and deny (lookup from an injected table)', async () => {
    const table: Record<string, number> = { [ipA]: 4134, [ipB]: 2516 };
    const d = createGeoDefense({ asn: { deny: [4134], score: { AS2516: 2 } } }, { lookupAsn: (ip) => table[ip] ?? null });
    expect(await run(d, ipA)).toEqual({ kind: 'flag', findings: [{ symbol: 'GEO_ASN_DENIED', detail: 'AS4134' }] });
    expect(await run(d, ipB)).toEqual({ kind: 'flag', findings: [{ symbol: 'GEO_ASN_SCORED', weight: 2, detail: 'AS2516' }] });
  });

  it('fails fast on bad config', () => {
    expect(() => createGeoDefense({ forms: { c: { allow: ['jp'] } } })).toThrow(/geo.forms.c: "jp"/);
    expect(() => createGeoDefense({ forms: { c: { allow: ['JP'], deny: ['CN'] } as never } })).toThrow(/exactly one/);
    expect(() => createGeoDefense({ asn: { deny: [1] } })).toThrow(/asnDb/);
    expect(() => createGeoDefense({ countryDb: '/nonexistent.mmdb' })).toThrow(/cannot read/);
    expect(() => createGeoDefense({ asn: { score: { ASx: 1 } } }, { lookupAsn: () => null })).toThrow(/AS number/);
  });
});
