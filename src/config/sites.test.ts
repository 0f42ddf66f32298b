// `sites:` in the configuration: clear messages for a form in two sites, an unknown form id and a site
// without forms; budgets derived from the site's forms when unset; no sites behaves as before.
import { describe, expect, it } from 'vitest';
import { BASE_FORM, testConfigYaml } from '../../test/support/instance.js';
import { ConfigError, parseConfigText } from './load.js';
import { siteOf, siteScopeOf, formsInNoSite } from './sites.js';

const FORMS = BASE_FORM + BASE_FORM.replace('id: contact', 'id: shop') + BASE_FORM.replace('id: contact', 'id: other');
const yaml = (sites: string) => testConfigYaml({ dbUrl: 'sqlite::memory:', forms: FORMS, extra: sites });

function problems(text: string): string[] {
  try {
    parseConfigText(text, 'test.yaml');
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('sites', () => {
  it('without sites: every form is the instance\'s, as before', () => {
    const c = parseConfigText(yaml(''), 'test.yaml');
    expect(c.sites).toEqual([]);
    expect(siteOf(c, 'contact')).toBeUndefined();
    expect(siteScopeOf(c, 'contact')).toBe('instance');
    expect(formsInNoSite(c)).toEqual(['contact', 'shop', 'other']);
  });

  it('groups forms; an unset budget is derived from the site\'s forms; unset sender keys stay unset (the instance\'s)', () => {
    const c = parseConfigText(yaml(`sites:\n  - { id: acme, forms: [contact, shop], autoreplyBudget: { perHour: 7 }, mail: { from: "Acme <info@acme.example>" } }\n  - { id: beta, forms: [other] }`), 'test.yaml');
    expect(c.sites.map((s) => [s.id, s.autoreplyBudget])).toEqual([
      ['acme', { perHour: 7, perDay: 100 }],
      ['beta', { perHour: 20, perDay: 100 }],
    ]);
    expect(siteOf(c, 'shop')?.id).toBe('acme');
    expect(siteOf(c, 'shop')?.mail).toEqual({ from: 'Acme <info@acme.example>' });
    expect(siteScopeOf(c, 'other')).toBe('site:beta');
    expect(formsInNoSite(c)).toEqual([]);
  });

  it('a form in two sites, an unknown form id, a site without forms, a duplicate site id: each named with its fix', () => {
    expect(problems(yaml(`sites:\n  - { id: a, forms: [contact] }\n  - { id: b, forms: [shop, contact] }`))).toEqual([
      'sites[b].forms[1]: form "contact" is already in site "a": a form belongs to one site at most. Fix: correct sites[b].forms[1] (see docs/configuration.md)',
    ]);
    expect(problems(yaml(`sites:\n  - { id: a, forms: [contact, nope] }`))).toEqual([
      'sites[a].forms[1]: unknown form id "nope": list ids of forms[] (contact, shop, other). Fix: correct sites[a].forms[1] (see docs/configuration.md)',
    ]);
    expect(problems(yaml(`sites:\n  - { id: a, forms: [] }`))[0]).toMatch(/^sites\[a\]\.forms: a site needs at least one form: list its form ids \(forms\[\]\.id\)/);
    expect(problems(yaml(`sites:\n  - { id: a, forms: [contact, contact] }`))[0]).toMatch(/^sites\[a\]\.forms\[1\]: form "contact" is listed twice/);
    expect(problems(yaml(`sites:\n  - { id: a, forms: [contact] }\n  - { id: a, forms: [shop] }`))[0]).toMatch(/^sites\[a\]\.id: duplicate site id "a"/);
    expect(problems(yaml(`sites:\n  - { id: a, forms: [contact], secrets: { tokenKey: short } }`))[0]).toMatch(/^sites\[a\]\.secrets\.tokenKey: /);
    expect(problems(yaml(`sites:\n  - { id: a, forms: [contact], mail: { replyTo: "not an address" } }`))[0]).toMatch(/^sites\[a\]\.mail\.replyTo: not a plain email address/);
  });
});
