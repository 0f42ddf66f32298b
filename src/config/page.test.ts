// The hosted page's branding keys at config load: accentColor goes into a stylesheet, so only a CSS hex
// colour passes (anything else stops the start with the key path); logo and privacy links are https or a
// path on this server; a form's page keys win over the instance's.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfigText } from './load.js';
import { HEX_COLOUR, isPageLink } from './page.js';
import { configSchema } from './schema.js';
import { brandingFor } from '../http/branding.js';

const FORM = { id: 'contact', title: 'Contact', fields: [{ name: 'message', type: 'textarea' }], notify: { to: ['owner@example.jp'] } };
const parse = (page: unknown, formPage?: unknown) => configSchema.safeParse({ page, forms: [{ ...FORM, ...(formPage === undefined ? {} : { page: formPage }) }] });

const yaml = (top: string, form = '') => `
siteName: Example Shop
page: { ${top} }
forms:
  - id: contact
    title: Contact
    fields: [{ name: message, type: textarea }]
    notify: { to: [owner@example.jp] }
    ${form ? `page: { ${form} }` : ''}
`;

function loadError(text: string): string {
  try {
    parseConfigText(text, 'test.yaml');
  } catch (e) {
    if (e instanceof ConfigError) return e.problems.join('\n');
    throw e;
  }
  return '';
}

describe('page.accentColor', () => {
  it('CSS that is not a hex colour stops the load, naming the key (instance and form)', () => {
    const attacks = ['red', 'rgb(0,0,0)', '#1a73e8;}body{display:none', '#1a73e8 !important', 'url(https://evil.example/x)', '#12345g', '#1234', '#1a73e8\n', ' #1a73e8', 'expression(alert(1))', '#1a73e8</style><script>alert(1)</script>', 'var(--x)', ''];
    for (const bad of attacks) {
      expect(loadError(yaml(`accentColor: ${JSON.stringify(bad)}`)), bad).toMatch(/^page\.accentColor: .*hex colour/m);
      expect(loadError(yaml('', `accentColor: ${JSON.stringify(bad)}`)), bad).toMatch(/^forms\[contact\]\.page\.accentColor: .*hex colour/m);
    }
    expect(loadError(yaml('accentColor: "#1A73E8"', 'accentColor: "#0b6"'))).toBe('');
  });

  it('property: any string is accepted exactly when it is #rgb or #rrggbb, and comes out as lower-case #rrggbb', () => {
    const hexish = fc.stringMatching(/^#?[0-9a-fA-FgG;}{ ]{0,8}$/);
    fc.assert(
      fc.property(fc.oneof(fc.string(), hexish), (value) => {
        const r = parse({ accentColor: value });
        expect(r.success).toBe(HEX_COLOUR.test(value));
        if (r.success) expect(r.data.page.accentColor).toMatch(/^#[0-9a-f]{6}$/);
      }),
      { numRuns: 500 },
    );
  });
});

describe('page links (logoUrl, privacyUrl)', () => {
  it('https URLs and paths on this server pass; other schemes, protocol-relative and odd paths do not', () => {
    for (const ok of ['https://cdn.example.jp/logo.svg', '/brand/logo.png', '/privacy?lang=ja']) expect(isPageLink(ok), ok).toBe(true);
    for (const bad of ['javascript:alert(1)', 'data:image/svg+xml,<svg/onload=alert(1)>', 'http://example.jp/logo.png', '//evil.example/logo.png', '/\\evil.example', 'logo.png', 'https://user:pw@example.jp/x', '/a b', 'https://example.jp/\n']) {
      expect(isPageLink(bad), bad).toBe(false);
    }
    expect(loadError(yaml('logoUrl: "javascript:alert(1)"'))).toMatch(/^page\.logoUrl: use an https:\/\/ URL or a path/m);
    expect(loadError(yaml('', 'privacyUrl: "//evil.example/"'))).toMatch(/^forms\[contact\]\.page\.privacyUrl: /m);
  });
});

describe('brandingFor', () => {
  it("a form's keys win, the others come from the instance; the name falls back to siteName", () => {
    const r = parse({ accentColor: '#1a73e8', footerText: 'Example Shop Ltd.', privacyUrl: '/privacy' }, { accentColor: '#0b6e4f', nextSteps: { ja: '2営業日以内にご返信します。', en: 'We reply within two business days.' } });
    expect(r.success).toBe(true);
    const config = { ...r.data!, siteName: 'Example Shop' };
    expect(brandingFor(config, config.forms[0])).toEqual({
      siteName: { ja: 'Example Shop', en: 'Example Shop' },
      accentColor: '#0b6e4f',
      footerText: { ja: 'Example Shop Ltd.', en: 'Example Shop Ltd.' },
      privacyUrl: '/privacy',
      nextSteps: { ja: '2営業日以内にご返信します。', en: 'We reply within two business days.' },
    });
    expect(brandingFor(config, { page: undefined }).accentColor).toBe('#1a73e8');
  });
});
