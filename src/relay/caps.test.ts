import { describe, it, expect } from 'vitest';
import { DAY, DEFAULT_CAPS, HOUR, capKeys, capProblems, describeCaps, formatWindow, hasFormLevelCap, resolveCapPolicy } from './caps.js';

describe('DEFAULT_CAPS', () => {
  it('matches the documented policy', () => {
    expect(DEFAULT_CAPS).toEqual({
      perAddress: { count: 1, windowSeconds: 86_400 },
      perDomain: { count: 5, windowSeconds: 3600 },
      perFormHour: 20,
      perFormDay: 100,
      global: { perHour: 200, perDay: 1000 },
    });
  });
  it('is frozen so no caller can loosen it for everyone', () => {
    expect(Object.isFrozen(DEFAULT_CAPS)).toBe(true);
    expect(Object.isFrozen(DEFAULT_CAPS.perAddress)).toBe(true);
    expect(Object.isFrozen(DEFAULT_CAPS.global)).toBe(true);
  });
});

describe('capKeys', () => {
  it('lists every budget with the default policy', () => {
    expect(capKeys('contact', 'johndoe@gmail.com')).toEqual([
      { key: 'relay:address:86400:johndoe%40gmail.com', limit: 1, windowSeconds: DAY, scope: 'address' },
      { key: 'relay:domain:3600:gmail.com', limit: 5, windowSeconds: HOUR, scope: 'domain' },
      { key: 'relay:form:contact:hour', limit: 20, windowSeconds: HOUR, scope: 'form-hour' },
      { key: 'relay:form:contact:day', limit: 100, windowSeconds: DAY, scope: 'form-day' },
      { key: 'relay:global:hour', limit: 200, windowSeconds: HOUR, scope: 'global-hour' },
      { key: 'relay:global:day', limit: 1000, windowSeconds: DAY, scope: 'global-day' },
    ]);
  });
  it('shares address and domain counters across forms, not form counters', () => {
    const a = capKeys('a', 'x@example.com');
    const b = capKeys('b', 'x@example.com');
    const byScope = (ks: typeof a, s: string) => ks.find((k) => k.scope === s)?.key;
    expect(byScope(a, 'address')).toBe(byScope(b, 'address'));
    expect(byScope(a, 'domain')).toBe(byScope(b, 'domain'));
    expect(byScope(a, 'form-hour')).not.toBe(byScope(b, 'form-hour'));
  });
  it('encodes variable parts so crafted ids and addresses cannot collide', () => {
    const k1 = capKeys('a:hour', 'x@y.z').map((k) => k.key);
    const k2 = capKeys('a', 'x@y.z').map((k) => k.key);
    expect(k1).toContain('relay:form:a%3Ahour:hour');
    expect(k1.filter((k) => k.startsWith('relay:form:'))).toEqual(['relay:form:a%3Ahour:hour', 'relay:form:a%3Ahour:day']);
    expect(k2.filter((k) => k.startsWith('relay:form:'))).toEqual(['relay:form:a:hour', 'relay:form:a:day']);
    expect(capKeys('f', '"a:b"@x.com')[0]?.key).toBe('relay:address:86400:%22a%3Ab%22%40x.com');
  });
  it('puts the window into address/domain keys so different windows never share a counter', () => {
    const policy = resolveCapPolicy({ perAddress: { count: 3, windowSeconds: 7 * DAY } });
    const [addr] = capKeys('f', 'x@y.z', policy);
    expect(addr).toEqual({ key: 'relay:address:604800:x%40y.z', limit: 3, windowSeconds: 604800, scope: 'address' });
  });
  it('leaves out caps that are off but always keeps the global ones', () => {
    const keys = capKeys('f', 'x@y.z', resolveCapPolicy(null));
    expect(keys.map((k) => k.scope)).toEqual(['global-hour', 'global-day']);
    const partial = capKeys('f', 'x@y.z', resolveCapPolicy({ perDomain: null, perFormDay: null }));
    expect(partial.map((k) => k.scope)).toEqual(['address', 'form-hour', 'global-hour', 'global-day']);
  });
});

describe('resolveCapPolicy', () => {
  it('undefined caps = defaults, missing keys = defaults', () => {
    expect(resolveCapPolicy(undefined)).toEqual(DEFAULT_CAPS);
    expect(resolveCapPolicy({ perFormHour: 5 })).toEqual({ ...DEFAULT_CAPS, perFormHour: 5 });
  });
  it('null caps turns every form-level cap off', () => {
    const p = resolveCapPolicy(null);
    expect(p).toEqual({ perAddress: null, perDomain: null, perFormHour: null, perFormDay: null, global: DEFAULT_CAPS.global });
    expect(hasFormLevelCap(p)).toBe(false);
  });
  it('one remaining cap still counts as capped', () => {
    expect(hasFormLevelCap(resolveCapPolicy({ perAddress: null, perDomain: null, perFormHour: null }))).toBe(true);
  });
  it('returns a copy: mutating it does not touch the defaults', () => {
    const p = resolveCapPolicy(undefined);
    p.global.perHour = 1;
    expect(DEFAULT_CAPS.global.perHour).toBe(200);
  });
});

describe('describeCaps / formatWindow', () => {
  it('describes the defaults', () => {
    expect(describeCaps(DEFAULT_CAPS)).toEqual([
      'cap 1/address/24h',
      'cap 5/domain/1h',
      'cap 20/form/1h',
      'cap 100/form/24h',
      'global cap 200/1h, 1000/24h',
    ]);
  });
  it('formats windows', () => {
    expect([formatWindow(86400), formatWindow(3600), formatWindow(900), formatWindow(90)]).toEqual(['24h', '1h', '15m', '90s']);
  });
});

describe('capProblems', () => {
  it('flags non-positive and non-integer numbers', () => {
    expect(capProblems({ perAddress: { count: 0, windowSeconds: 1.5 }, perFormHour: -1, perFormDay: 10 })).toEqual([
      ['perAddress.count', 'must be a whole number above 0, got 0'],
      ['perAddress.windowSeconds', 'must be a whole number above 0, got 1.5'],
      ['perFormHour', 'must be a whole number above 0, got -1'],
    ]);
  });
  it('accepts valid, missing and null entries', () => {
    expect(capProblems({ perAddress: null, perDomain: { count: 2, windowSeconds: 60 } })).toEqual([]);
    expect(capProblems(null)).toEqual([]);
    expect(capProblems(undefined)).toEqual([]);
  });
});
