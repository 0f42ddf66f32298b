import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { PROVIDER_RULES, addressDomain, isLiteralAddress, normalizeAddress } from './address.js';

describe('normalizeAddress: generic', () => {
  it('trims, lower-cases and keeps the local part otherwise intact', () => {
    expect(normalizeAddress('  John.Doe+Tag@Example.COM ')).toBe('john.doe+tag@example.com');
  });
  it('applies NFKC (full-width letters, ＠ and ．)', () => {
    expect(normalizeAddress('ＪＯＨＮ＠ｅｘａｍｐｌｅ．ｃｏｍ')).toBe('john@example.com');
  });
  it('punycodes IDN domains', () => {
    expect(normalizeAddress('user@例え.jp')).toBe('user@xn--r8jz45g.jp');
    expect(normalizeAddress('user@ПРИМЕР.РФ')).toBe('user@xn--e1afmkfd.xn--p1ai');
    expect(normalizeAddress('user@xn--r8jz45g.jp')).toBe('user@xn--r8jz45g.jp');
  });
  it('drops a trailing FQDN dot', () => {
    expect(normalizeAddress('a@example.com.')).toBe('a@example.com');
  });
  it('splits at the last @ (quoted local parts)', () => {
    expect(normalizeAddress('"a@b"@Example.com')).toBe('"a@b"@example.com');
  });
  it('returns input without a usable @ trimmed and lower-cased', () => {
    expect(normalizeAddress(' NoAt ')).toBe('noat');
    expect(normalizeAddress('trailing@')).toBe('trailing@');
    expect(normalizeAddress('@leading.com')).toBe('@leading.com');
  });
  it('keeps an invalid domain lower-cased rather than collapsing it to empty', () => {
    expect(normalizeAddress('a@Bad Domain')).toBe('a@bad domain');
  });
});

describe('normalizeAddress: provider rules', () => {
  it('gmail: removes dots and +tag', () => {
    expect(normalizeAddress('J.o.h.n.Doe+spam1@gmail.com')).toBe('johndoe@gmail.com');
  });
  it('googlemail.com folds into gmail.com', () => {
    expect(normalizeAddress('john.doe+x@GoogleMail.com')).toBe('johndoe@gmail.com');
  });
  it.each(['outlook.com', 'hotmail.com', 'live.com', 'msn.com'])('%s: removes +tag, keeps dots', (d) => {
    expect(normalizeAddress(`John.Doe+tag@${d}`)).toBe(`john.doe@${d}`);
  });
  it('outlook and hotmail stay distinct mailboxes', () => {
    expect(normalizeAddress('a@outlook.com')).not.toBe(normalizeAddress('a@hotmail.com'));
  });
  it.each(['icloud.com', 'me.com', 'mac.com', 'fastmail.com', 'fastmail.fm', 'protonmail.com', 'proton.me', 'pm.me'])(
    '%s: removes +tag, keeps dots',
    (d) => {
      expect(normalizeAddress(`a.b+news@${d}`)).toBe(`a.b@${d}`);
    },
  );
  it('yahoo: leaves - and + alone', () => {
    expect(normalizeAddress('base-keyword@yahoo.com')).toBe('base-keyword@yahoo.com');
    expect(normalizeAddress('a.b+c@yahoo.com')).toBe('a.b+c@yahoo.com');
  });
  it('other domains: +tag and dots kept', () => {
    expect(normalizeAddress('a.b+c@example.org')).toBe('a.b+c@example.org');
  });
  it('rules apply after IDN/NFKC normalization of the domain', () => {
    expect(normalizeAddress('a.b+c@ＧＭＡＩＬ．ＣＯＭ')).toBe('ab@gmail.com');
    expect(normalizeAddress('a.b+c@gmail.com.')).toBe('ab@gmail.com');
  });
  it('does not empty the local part', () => {
    expect(normalizeAddress('+x@gmail.com')).toBe('+x@gmail.com');
  });
  it('every table entry is already in canonical form', () => {
    for (const [domain, rule] of Object.entries(PROVIDER_RULES)) {
      expect(domain).toBe(domain.toLowerCase());
      expect(PROVIDER_RULES[rule.canonical]?.canonical).toBe(rule.canonical);
    }
  });
  it('is idempotent', () => {
    fc.assert(
      fc.property(
        fc.emailAddress(),
        fc.constantFrom('', '+tag', '.x'),
        fc.constantFrom('', 'gmail.com', 'googlemail.com', 'outlook.com', '例え.jp'),
        (e, extra, domain) => {
          const [local = '', d = ''] = e.split('@');
          const addr = `${local}${extra}@${domain || d}`;
          const once = normalizeAddress(addr);
          expect(normalizeAddress(once)).toBe(once);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('addressDomain', () => {
  it('returns the normalized ASCII domain', () => {
    expect(addressDomain('X@GoogleMail.com')).toBe('gmail.com');
    expect(addressDomain('x@例え.JP')).toBe('xn--r8jz45g.jp');
    expect(addressDomain('x@Example.com.')).toBe('example.com');
  });
  it('is empty without a domain', () => {
    expect(addressDomain('nodomain')).toBe('');
  });
});

describe('isLiteralAddress', () => {
  it.each(['owner@example.com', ' owner@example.com ', 'Owner Name <owner@example.com>', 'o.w+n@sub.例え.jp'])('accepts %j', (v) => {
    expect(isLiteralAddress(v)).toBe(true);
  });
  it.each(['email', '{{email}}', 'owner@{{domain}}.com', 'a@b', 'a@b.c', 'two@a.com,three@b.com', 'a@b.com\r\nBcc: x@y.z', '', '<>'])(
    'rejects %j',
    (v) => {
      expect(isLiteralAddress(v)).toBe(false);
    },
  );
});
