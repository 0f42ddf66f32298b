import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { clientAddress, compileCidrs, networkKey, normalizeAddress, parseAddress } from './index.js';

const trust = ['10.0.0.0/8', '127.0.0.1', '2001:db8:ffff::/48'];

describe('clientAddress', () => {
  it('ignores forwarding headers from an untrusted peer', () => {
    expect(clientAddress('198.51.100.7', { 'x-forwarded-for': '1.2.3.4' }, trust)).toBe('198.51.100.7');
    expect(clientAddress('198.51.100.7', { 'x-forwarded-for': '1.2.3.4' }, [])).toBe('198.51.100.7');
  });
  it('takes the right-most untrusted hop behind trusted proxies', () => {
    expect(clientAddress('10.0.0.2', { 'x-forwarded-for': '6.6.6.6, 203.0.113.9, 10.0.0.5' }, trust)).toBe('203.0.113.9');
    expect(clientAddress('127.0.0.1', { 'x-forwarded-for': '203.0.113.9' }, trust)).toBe('203.0.113.9');
  });
  it('returns the left-most address when every hop is trusted', () => {
    expect(clientAddress('10.0.0.2', { 'x-forwarded-for': '10.1.1.1, 10.0.0.5' }, trust)).toBe('10.1.1.1');
  });
  it('without a header, a trusted peer is the client', () => {
    expect(clientAddress('10.0.0.2', {}, trust)).toBe('10.0.0.2');
  });
  it('stops at garbage and keeps the last trusted hop', () => {
    expect(clientAddress('10.0.0.2', { 'x-forwarded-for': '203.0.113.9, nonsense, 10.0.0.5' }, trust)).toBe('10.0.0.5');
  });
  it('normalises IPv4-mapped IPv6, ports and brackets', () => {
    expect(clientAddress('::ffff:10.0.0.2', { 'x-forwarded-for': '::ffff:203.0.113.9' }, trust)).toBe('203.0.113.9');
    expect(clientAddress('::ffff:198.51.100.1', {}, trust)).toBe('198.51.100.1');
    expect(clientAddress('10.0.0.2', { 'x-forwarded-for': '203.0.113.9:5555' }, trust)).toBe('203.0.113.9');
    expect(clientAddress('10.0.0.2', { 'x-forwarded-for': '[2001:DB8::1]:443' }, trust)).toBe('2001:db8::1');
  });
  it('reads Forwarded only when asked to, and never X-Forwarded-For then', () => {
    const h = { forwarded: 'for=198.51.100.1;proto=https, for="[2001:db8:ffff::9]:4711"', 'x-forwarded-for': '6.6.6.6' };
    expect(clientAddress('10.0.0.2', h, trust, { header: 'forwarded' })).toBe('198.51.100.1');
    expect(clientAddress('10.0.0.2', h, trust)).toBe('6.6.6.6');
  });
  it('cannot be steered by the client past an untrusted hop (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.ipV4(), { maxLength: 5 }), fc.ipV4(), (forged, real) => {
        fc.pre(!real.startsWith('10.') && !real.startsWith('127.'));
        const xff = [...forged, real, '10.0.0.5'].join(', ');
        return clientAddress('10.0.0.1', { 'x-forwarded-for': xff }, trust) === normalizeAddress(real);
      }),
    );
  });
  it('fails fast on a bad trust entry', () => {
    expect(() => compileCidrs(['10.0.0.0/8', 'nope'])).toThrow(/trustProxy\[1\]: "nope"/);
  });
});

describe('parseAddress / networkKey', () => {
  it('rejects odd IPv4 forms', () => {
    expect(parseAddress('0x7f.1')).toBeNull();
    expect(parseAddress('1')).toBeNull();
    expect(parseAddress('fe80::1%eth0')?.toString()).toBe('fe80::1');
  });
  it('groups IPv4 by /24 and IPv6 by /64', () => {
    expect(networkKey('203.0.113.77')).toBe('203.0.113.0/24');
    expect(networkKey('::ffff:203.0.113.77')).toBe('203.0.113.0/24');
    expect(networkKey('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64');
    expect(networkKey('2001:db8:1:2:ffff::1')).toBe(networkKey('2001:db8:1:2::9'));
    expect(networkKey('2001:db8:1:3::1')).not.toBe(networkKey('2001:db8:1:2::1'));
  });
});
