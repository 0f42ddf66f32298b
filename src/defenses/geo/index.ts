// Country and ASN scoring from MaxMind-format (mmdb) databases. The default country database is the one
// shipped by @ip-location-db/geo-whois-asn-country-mmdb (records look like { country_code: 'JP' }); it has
// no ASN data, so ASN rules need `asnDb` (e.g. GeoLite2-ASN or ip-location-db's asn mmdb) or an injected lookup.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Reader, type Response } from 'maxmind';
import type { Defense, Finding } from '../../pipeline/types.js';
import { parseAddress } from '../client-address/index.js';

export type CountryPolicy = { allow: string[] } | { deny: string[] } | { score: Record<string, number> };

export interface GeoConfig {
  /** Path of a country mmdb. Default: geo-whois-asn-country.mmdb from @ip-location-db/geo-whois-asn-country-mmdb. */
  countryDb?: string;
  /** Path of an ASN mmdb (records with autonomous_system_number). */
  asnDb?: string;
  /** Policy for forms without their own. */
  default?: CountryPolicy;
  /** Per-form policy by form id. */
  forms?: Record<string, CountryPolicy>;
  /** Score weight of GEO_COUNTRY_UNKNOWN (private, loopback, unlisted). Default 1; 0 disables the symbol. */
  unknownCountryWeight?: number;
  asn?: { deny?: number[]; score?: Record<string, number> };
}

export interface GeoDeps {
  /** Replaces the ASN database (a data source, e.g. an in-house table). */
  lookupAsn?: (ip: string) => number | null;
  /** Replaces the country database. */
  lookupCountry?: (ip: string) => string | null;
}

export const GEO_SYMBOLS = [
  'GEO_COUNTRY_DENIED',
  'GEO_COUNTRY_NOT_ALLOWED',
  'GEO_COUNTRY_SCORED',
  'GEO_COUNTRY_UNKNOWN',
  'GEO_ASN_DENIED',
  'GEO_ASN_SCORED',
] as const;

export function defaultCountryDbPath(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('@ip-location-db/geo-whois-asn-country-mmdb/package.json')), 'geo-whois-asn-country.mmdb');
}

type Lookup = (ip: string) => Record<string, unknown> | null;

/** Opens an mmdb file (any record shape: ip-location-db's { country_code } or GeoLite2's { country: { iso_code } }). */
function openReader(path: string, what: string): Lookup {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (err) {
    throw new Error(`geo.${what}: cannot read "${path}" (${(err as Error).message})`);
  }
  try {
    const reader = new Reader<Response>(buf);
    return (ip) => reader.get(ip) as Record<string, unknown> | null;
  } catch (err) {
    throw new Error(`geo.${what}: "${path}" is not an mmdb database (${(err as Error).message})`);
  }
}

const CC = /^[A-Z]{2}$/;

type CompiledPolicy = { kind: 'allow' | 'deny'; set: Set<string> } | { kind: 'score'; score: Map<string, number> };

function compilePolicy(p: CountryPolicy, where: string): CompiledPolicy {
  const keys = Object.keys(p);
  if (keys.length !== 1) throw new Error(`${where}: give exactly one of allow, deny or score`);
  const check = (cc: string) => {
    if (!CC.test(cc)) throw new Error(`${where}: "${cc}" is not an ISO 3166-1 alpha-2 code in capitals (e.g. JP)`);
    return cc;
  };
  if ('allow' in p) return { kind: 'allow', set: new Set(p.allow.map(check)) };
  if ('deny' in p) return { kind: 'deny', set: new Set(p.deny.map(check)) };
  if ('score' in p) {
    const m = new Map<string, number>();
    for (const [cc, w] of Object.entries(p.score)) {
      if (!Number.isFinite(w)) throw new Error(`${where}.score.${cc}: must be a number`);
      m.set(check(cc), w);
    }
    return { kind: 'score', score: m };
  }
  throw new Error(`${where}: give exactly one of allow, deny or score`);
}

export interface GeoLookup {
  country(ip: string): string | null;
  asn(ip: string): number | null;
}

export type GeoDefense = Defense & { lookup: GeoLookup };

export function createGeoDefense(config: GeoConfig = {}, deps: GeoDeps = {}): GeoDefense {
  const forms = new Map<string, CompiledPolicy>();
  for (const [id, p] of Object.entries(config.forms ?? {})) forms.set(id, compilePolicy(p, `geo.forms.${id}`));
  const dflt = config.default ? compilePolicy(config.default, 'geo.default') : undefined;
  const unknownWeight = config.unknownCountryWeight ?? 1;
  const asnDeny = new Set(config.asn?.deny ?? []);
  const asnScore = new Map<number, number>();
  for (const [k, w] of Object.entries(config.asn?.score ?? {})) {
    const n = Number(k.replace(/^AS/i, ''));
    if (!Number.isInteger(n) || n <= 0) throw new Error(`geo.asn.score: "${k}" is not an AS number (e.g. 4134 or AS4134)`);
    if (!Number.isFinite(w)) throw new Error(`geo.asn.score.${k}: must be a number`);
    asnScore.set(n, w);
  }
  const needAsn = asnDeny.size > 0 || asnScore.size > 0;

  let country = deps.lookupCountry;
  if (!country) {
    const get = openReader(config.countryDb ?? defaultCountryDbPath(), 'countryDb');
    country = (ip) => {
      const r = get(ip);
      const cc = r?.country_code ?? (r?.country as { iso_code?: unknown } | undefined)?.iso_code;
      return typeof cc === 'string' ? cc : null;
    };
  }
  let asn = deps.lookupAsn;
  if (!asn && config.asnDb) {
    const get = openReader(config.asnDb, 'asnDb');
    asn = (ip) => {
      const n = get(ip)?.autonomous_system_number;
      return typeof n === 'number' ? n : null;
    };
  }
  if (needAsn && !asn) throw new Error('geo.asn: ASN rules need an ASN database: set geo.asnDb to an ASN mmdb file');

  const lookup: GeoLookup = {
    country(ip) {
      const a = parseAddress(ip);
      if (!a || a.range() !== 'unicast') return null;
      return country(a.toString());
    },
    asn(ip) {
      const a = parseAddress(ip);
      if (!a || a.range() !== 'unicast' || !asn) return null;
      return asn(a.toString());
    },
  };

  return {
    name: 'geo',
    stage: 'main',
    priority: -50,
    timeoutMs: 1000,
    onError: 'fail-open',
    symbols: GEO_SYMBOLS,
    lookup,
    async check(sub) {
      const findings: Finding[] = [];
      const policy = forms.get(sub.formId) ?? dflt;
      const a = parseAddress(sub.ip);
      const cc = lookup.country(sub.ip);
      if (!cc) {
        if (unknownWeight !== 0) findings.push({ symbol: 'GEO_COUNTRY_UNKNOWN', weight: unknownWeight, detail: a ? a.range() : 'invalid address' });
      } else if (policy) {
        if (policy.kind === 'allow' && !policy.set.has(cc)) findings.push({ symbol: 'GEO_COUNTRY_NOT_ALLOWED', detail: cc });
        if (policy.kind === 'deny' && policy.set.has(cc)) findings.push({ symbol: 'GEO_COUNTRY_DENIED', detail: cc });
        const w = policy.kind === 'score' ? policy.score.get(cc) : undefined;
        if (w) findings.push({ symbol: 'GEO_COUNTRY_SCORED', weight: w, detail: cc });
      }
      if (needAsn) {
        const n = lookup.asn(sub.ip);
        if (n !== null) {
          if (asnDeny.has(n)) findings.push({ symbol: 'GEO_ASN_DENIED', detail: `AS${n}` });
          const w = asnScore.get(n);
          if (w) findings.push({ symbol: 'GEO_ASN_SCORED', weight: w, detail: `AS${n}` });
        }
      }
      return findings.length ? { kind: 'flag', findings } : { kind: 'pass' };
    },
  };
}
