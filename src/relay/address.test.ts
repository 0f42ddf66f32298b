import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { parseEmail } from '../forms/email.js';
import { MAX_MAILBOX_NAME, PROVIDER_RULES, addressAndRecipient, addressDomain, autoreplyRecipient, isLiteralAddress, normalizeAddress } from './address.js';
import { capKeys, mailboxCapKeys } from './caps.js';
import { anyPayload, asciiPayload, mailboxName, recipientDomain, routingLocal, variantOf, variantOpts } from '../../test/support/addresses.js';

/** The key a mailbox must get, computed without the code under test: lower case, Gmail dots, provider aliases. */
function expectedKey(name: string, domain: string): string {
  const d = domain.toLowerCase();
  const ascii = d === '例え.jp' ? 'xn--r8jz45g.jp' : d === 'bücher.example' ? 'xn--bcher-kva.example' : d;
  const alias: Record<string, string> = { 'googlemail.com': 'gmail.com', 'ya.ru': 'yandex.ru', 'yandex.com': 'yandex.ru', 'yandex.by': 'yandex.ru', 'yandex.kz': 'yandex.ru', 'yandex.ua': 'yandex.ru' };
  const dom = alias[ascii] ?? ascii;
  const local = dom === 'gmail.com' ? name.toLowerCase().replaceAll('.', '') : name.toLowerCase();
  return `${local}@${dom}`;
}

const scopeKey = (addr: string, scope: string) => capKeys('contact', addr).find((k) => k.scope === scope)?.key;

describe('normalizeAddress: generic', () => {
  it('trims, lower-cases, drops the +tag and keeps the rest of the local part', () => {
    expect(normalizeAddress('  John.Doe+Tag@Example.COM ')).toBe('john.doe@example.com');
  });
  it('applies NFKC (full-width letters, ＠, ．, ＋)', () => {
    expect(normalizeAddress('ＪＯＨＮ＋ｘ＠ｅｘａｍｐｌｅ．ｃｏｍ')).toBe('john@example.com');
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
  it('removes the +tag on every domain (company domains deliver +tags too)', () => {
    for (const i of [1, 2, 3, 4, 5]) expect(normalizeAddress(`ceo+${i}@company.example`)).toBe('ceo@company.example');
    expect(normalizeAddress('a.b+c+d@example.org')).toBe('a.b@example.org');
  });
  it('does not empty the local part', () => {
    expect(normalizeAddress('+x@gmail.com')).toBe('+x@gmail.com');
    expect(normalizeAddress('+x@example.com')).toBe('+x@example.com');
  });
  it('keeps distinct mailboxes apart', () => {
    expect(normalizeAddress('ceo@company.example')).not.toBe(normalizeAddress('cfo@company.example'));
    expect(normalizeAddress('a@outlook.com')).not.toBe(normalizeAddress('a@hotmail.com'));
    expect(normalizeAddress('a.b@example.org')).not.toBe(normalizeAddress('ab@example.org'));
    expect(normalizeAddress('base-keyword@yahoo.com')).toBe('base-keyword@yahoo.com');
  });
});

describe('normalizeAddress: provider rules', () => {
  it('gmail: removes dots and +tag; googlemail.com folds into gmail.com', () => {
    expect(normalizeAddress('J.o.h.n.Doe+spam1@gmail.com')).toBe('johndoe@gmail.com');
    expect(normalizeAddress('john.doe+x@GoogleMail.com')).toBe('johndoe@gmail.com');
  });
  it('yandex: every alias domain is one mailbox', () => {
    for (const d of ['yandex.ru', 'ya.ru', 'yandex.com', 'yandex.by', 'yandex.kz', 'yandex.ua']) expect(normalizeAddress(`Ivan+x@${d}`)).toBe('ivan@yandex.ru');
  });
  it('fastmail: subdomain addressing names the mailbox in the first label', () => {
    expect(normalizeAddress('anything@User.Fastmail.com')).toBe('user@fastmail.com');
    expect(normalizeAddress('www.spam.com@user.fastmail.com')).toBe('user@fastmail.com');
    expect(normalizeAddress('x@a.b.fastmail.com')).toBe('x@a.b.fastmail.com');
  });
  it('rules apply after IDN/NFKC normalization of the domain', () => {
    expect(normalizeAddress('a.b+c@ＧＭＡＩＬ．ＣＯＭ')).toBe('ab@gmail.com');
    expect(normalizeAddress('a.b+c@gmail.com.')).toBe('ab@gmail.com');
  });
  it('every table entry is already in canonical form', () => {
    for (const [domain, rule] of Object.entries(PROVIDER_RULES)) {
      expect(domain).toBe(domain.toLowerCase());
      expect(PROVIDER_RULES[rule.canonical]?.canonical).toBe(rule.canonical);
    }
  });
  it('is idempotent', () => {
    fc.assert(
      fc.property(fc.oneof(fc.emailAddress(), fc.string()), fc.constantFrom('', '+tag', '.x', '+'), fc.constantFrom('', 'gmail.com', 'googlemail.com', 'outlook.com', '例え.jp', 'u.fastmail.com', 'ya.ru'), (e, extra, domain) => {
        const [local = '', d = ''] = e.split('@');
        const addr = `${local}${extra}@${domain || d}`;
        const once = normalizeAddress(addr);
        expect(normalizeAddress(once)).toBe(once);
      }),
      { numRuns: 300 },
    );
  });
  it('the accept path\'s one-fold form (addressAndRecipient, mailboxCapKeys) answers as normalizeAddress, autoreplyRecipient and capKeys do', () => {
    const typed = fc.oneof(fc.emailAddress(), fc.string(), fc.tuple(mailboxName, recipientDomain, variantOpts(anyPayload)).map(([n, d, o]) => variantOf(n, d, o).address), fc.tuple(routingLocal, recipientDomain).map(([l, d]) => `${l}@${d}`));
    fc.assert(
      fc.property(typed, (addr) => {
        const both = addressAndRecipient(addr);
        expect(both).toEqual({ key: normalizeAddress(addr), recipient: autoreplyRecipient(addr) });
        expect(mailboxCapKeys('contact', both.key)).toEqual(capKeys('contact', addr));
      }),
      { numRuns: 500 },
    );
  });
});

// Issue 10, class 2: one mailbox, many keys. Every spelling of one mailbox (any +tag text, case, full-width
// forms, provider aliases) shares one cap key; distinct mailboxes do not.
describe('one mailbox, one key (property)', () => {
  it('every variant of a mailbox shares its address and domain cap keys', () => {
    fc.assert(
      fc.property(mailboxName, recipientDomain, fc.array(variantOpts(anyPayload), { minLength: 1, maxLength: 6 }), (name, domain, opts) => {
        const key = expectedKey(name, domain);
        expect(normalizeAddress(`${name}@${domain}`)).toBe(key);
        for (const o of opts) {
          const v = variantOf(name, domain, o);
          expect(normalizeAddress(v.address), v.address).toBe(key);
          expect(scopeKey(v.address, 'address'), v.address).toBe(scopeKey(key, 'address'));
          expect(scopeKey(v.address, 'domain'), v.address).toBe(scopeKey(key, 'domain'));
        }
      }),
      { numRuns: 500 },
    );
  });
  it('distinct mailbox names stay distinct keys', () => {
    fc.assert(
      fc.property(mailboxName, mailboxName, recipientDomain, (a, b, domain) => {
        fc.pre(expectedKey(a, domain) !== expectedKey(b, domain));
        expect(normalizeAddress(`${a}@${domain}`)).not.toBe(normalizeAddress(`${b}@${domain}`));
      }),
      { numRuns: 300 },
    );
  });
});

// Issue 10, class 1: visitor text in the recipient address. The auto-reply goes to the canonical mailbox
// (tag text dropped) or is withheld; never to the address as typed.
describe('autoreplyRecipient (property)', () => {
  it('a tagged address gets its auto-reply at the base mailbox, with none of the tag text', () => {
    fc.assert(
      fc.property(mailboxName, recipientDomain, variantOpts(asciiPayload), (name, domain, o) => {
        const v = variantOf(name, domain, { ...o, fullWidth: o.fullWidth === 'all' ? 'domain' : o.fullWidth, spaces: false, trailingDot: false });
        const typed = parseEmail(v.address);
        fc.pre(typed !== null);
        const r = autoreplyRecipient(typed!);
        if (/[%!/=]/.test(v.tag)) {
          expect(r).toEqual({ ok: false, reason: 'routing' });
          return;
        }
        // A plain mailbox name always gets its auto-reply, at the canonical address and nowhere else.
        expect(r).toEqual({ ok: true, to: expectedKey(name, domain) });
        if (r.ok) {
          expect(parseEmail(r.to)).toBe(r.to);
          expect(r.to).not.toContain('+');
          const local = r.to.slice(0, r.to.lastIndexOf('@'));
          expect(local.length).toBeLessThanOrEqual(MAX_MAILBOX_NAME);
          if (v.tag.length >= 3 && !expectedKey(name, domain).includes(v.tag.toLowerCase())) expect(r.to.toLowerCase()).not.toContain(v.tag.toLowerCase());
          // The words are judged in the mailbox name; the domain is where the mail goes (digits there are fine).
          expect(local).not.toMatch(/www|http|\d{9}|dot-?com|\.(com|net|org|xyz|shop|click)\b/i);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('a mailbox name that itself carries a domain, URL, phone number or a phrase gets no auto-reply', () => {
    const carrier = fc.oneof(
      asciiPayload.filter((p) => /www|http|dot|\d{3}.?\d{3,4}.?\d{4}|\.(com|net|org|info|xyz|shop|click|example|co\.jp)$/i.test(p) && !/[+]/.test(p)),
      fc.array(fc.stringMatching(/^[a-z]{2,8}$/), { minLength: 5, maxLength: 8 }).map((w) => w.join('.')),
      fc.stringMatching(new RegExp(`^[a-z]{${MAX_MAILBOX_NAME + 1},60}$`)),
    );
    fc.assert(
      fc.property(carrier, fc.option(mailboxName, { nil: undefined }), recipientDomain, (payload, prefix, domain) => {
        const typed = parseEmail(`${prefix ? `${prefix}.` : ''}${payload.replace(/\.{2,}/g, '.').replace(/^\.|\.$/g, '')}@${domain}`);
        fc.pre(typed !== null);
        const r = autoreplyRecipient(typed!);
        if (r.ok) {
          // Only a phrase spelled with Gmail's ignored dots passes: the To: header then shows no dots at all.
          expect(r.to, typed!).toMatch(/^[^.]+@gmail\.com$/);
          expect(r.to).not.toMatch(/www|http|dot|\d{9}/);
        }
      }),
      { numRuns: 500 },
    );
  });

  it("'%', '!', '/', '=' anywhere in the local part (percent hack, bang path, X.400, SRS): no auto-reply", () => {
    fc.assert(
      fc.property(routingLocal, recipientDomain, (local, domain) => {
        const typed = parseEmail(`${local}@${domain}`);
        fc.pre(typed !== null);
        expect(autoreplyRecipient(typed!)).toEqual({ ok: false, reason: 'routing' });
      }),
      { numRuns: 300 },
    );
  });

  it('records why: each reason on an example', () => {
    expect(autoreplyRecipient('a%b.example@relay.example')).toEqual({ ok: false, reason: 'routing' });
    expect(autoreplyRecipient('host!user@relay.example')).toEqual({ ok: false, reason: 'routing' });
    expect(autoreplyRecipient('+tag@example.com')).toEqual({ ok: false, reason: 'empty' });
    expect(autoreplyRecipient('a{b}@example.com')).toEqual({ ok: false, reason: 'symbols' });
    expect(autoreplyRecipient('john.+tag@example.com')).toEqual({ ok: false, reason: 'symbols' });
    expect(autoreplyRecipient(`${'a'.repeat(MAX_MAILBOX_NAME + 1)}@example.com`)).toEqual({ ok: false, reason: 'length' });
    expect(autoreplyRecipient('call-090-1234-5678@example.com')).toEqual({ ok: false, reason: 'phone' });
    expect(autoreplyRecipient('www.prize-claim.example@example.com')).toEqual({ ok: false, reason: 'domain' });
    expect(autoreplyRecipient('prize-claim.com@example.com')).toEqual({ ok: false, reason: 'domain' });
    expect(autoreplyRecipient('shop.co.jp@example.com')).toEqual({ ok: false, reason: 'domain' });
    expect(autoreplyRecipient('spamdotcom@example.com')).toEqual({ ok: false, reason: 'domain' });
    expect(autoreplyRecipient('ftp.files@example.com')).toEqual({ ok: false, reason: 'domain' });
    expect(autoreplyRecipient('buy.cheap.pills.now.here@example.com')).toEqual({ ok: false, reason: 'parts' });
  });

  it('genuine addresses still get their auto-reply', () => {
    for (const a of ["o'brien@example.ie", 'mary-jane.watson-parker@example.com', 'taro19850101@example.jp', 'support.jp@company.example', 'juan.de.la@example.es', 'lee.kim@example.kr', 'contact.us@example.com', 'sarah.link@example.de', 'nguyen.loan@example.vn', 'microsoftpartner@example.com']) {
      expect(autoreplyRecipient(a), a).toEqual({ ok: true, to: a.toLowerCase() });
    }
    expect(autoreplyRecipient('Taro.Yamada+shop.example.com@GMail.com')).toEqual({ ok: true, to: 'taroyamada@gmail.com' });
    expect(autoreplyRecipient('name+WIN-at-www.prize-claim.example@gmail.com')).toEqual({ ok: true, to: 'name@gmail.com' });
  });
});

describe('addressDomain', () => {
  it('returns the normalized ASCII domain', () => {
    expect(addressDomain('X@GoogleMail.com')).toBe('gmail.com');
    expect(addressDomain('x@例え.JP')).toBe('xn--r8jz45g.jp');
    expect(addressDomain('x@Example.com.')).toBe('example.com');
    expect(addressDomain('x@u.fastmail.com')).toBe('fastmail.com');
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
