// Branding text and links are the owner's, but a copied snippet or a compromised config must still not put
// markup on the page: for any site name, footer text, thank-you text, form title and link, the hosted pages
// have exactly the tags and attributes they have with plain text (every value is escaped), and the accent
// stylesheet route answers only for a hex name.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isPageLink } from '../config/page.js';
import { configSchema } from '../config/schema.js';
import { hostileText } from '../../test/support/hostile-text.js';
import { accentCss, brandingFor, onAccent } from './branding.js';
import { renderFormPage, renderThanksPage } from './form-page.js';

const MARKUP = ['<script>alert(1)</script>', '"', "'", '&', '&amp;', '<img src=x onerror=alert(1)>', '</title>', '</style>', '{link}', '\n', '\n\n', '<!--', '-->', '`', '" onerror="alert(1)', '\u0000'];
const text = fc.oneof(fc.string(), hostileText, fc.array(fc.oneof(fc.constantFrom(...MARKUP), fc.string({ maxLength: 4 })), { maxLength: 12 }).map((a) => a.join('')));
const link = fc
  .tuple(fc.constantFrom('https://cdn.example.jp/', '/brand/'), fc.array(fc.oneof(fc.constantFrom(...MARKUP.filter((m) => !/\s/.test(m))), fc.string({ maxLength: 4 })), { maxLength: 8 }))
  .map(([base, parts]) => base + parts.join(''))
  .filter(isPageLink);

/** Tag names with their attribute names, in order: what markup a page has, whatever its text says. */
function structure(html: string): string[] {
  return [...html.matchAll(/<(\/?[a-zA-Z][\w-]*)((?:\s+[^\s=>]+(?:="[^"]*")?)*)\s*\/?>/g)].map(([, name, attrs]) => `${name}${[...(attrs ?? '').replace(/="[^"]*"/g, '').matchAll(/\s+([^\s=>]+)/g)].map((m) => ` ${m[1]}`).join('')}`);
}

function pages(v: { title: string; siteName: string; footerText: string; nextSteps: string; logoUrl?: string; privacyUrl: string }, lang: 'ja' | 'en') {
  const config = configSchema.parse({
    siteName: 'Example Shop',
    page: { siteName: v.siteName, footerText: v.footerText, privacyUrl: v.privacyUrl, accentColor: '#1a73e8', ...(v.logoUrl ? { logoUrl: v.logoUrl } : {}) },
    forms: [
      {
        id: 'contact',
        title: v.title,
        page: { nextSteps: v.nextSteps },
        fields: [
          { name: 'name', type: 'text', required: true, label: v.title },
          { name: 'topic', type: 'select', required: true, options: [{ value: 'a', label: v.title }] },
        ],
        notify: { to: ['owner@example.jp'] },
      },
    ],
  });
  const form = config.forms[0]!;
  const brand = brandingFor(config, form);
  return [
    renderFormPage({ form, lang, brand }),
    renderFormPage({ form, lang, brand, values: { name: v.title }, errors: { name: { code: 'too_long', max: 3 }, topic: { code: 'required' } } }),
    renderThanksPage(form, lang, 'K7QD-3M9X', brand),
  ].join('\n');
}

describe('hosted pages with hostile branding', () => {
  it('property: any branding text or link leaves the markup as it is with plain text', () => {
    // Same line structure, no markup: only the characters that could be markup differ.
    const plain = (s: string) => s.replace(/\S/g, 'x');
    fc.assert(
      fc.property(text, text, text, text, fc.option(link, { nil: undefined }), link, fc.constantFrom('ja' as const, 'en' as const), (title, siteName, footerText, nextSteps, logoUrl, privacyUrl, lang) => {
        fc.pre([title, siteName].every((s) => s.trim() !== '') && nextSteps.trim() !== '');
        const hostile = pages({ title, siteName, footerText, nextSteps, logoUrl, privacyUrl }, lang);
        const benign = pages({ title: plain(title), siteName: plain(siteName), footerText: plain(footerText), nextSteps: plain(nextSteps), logoUrl: logoUrl && '/brand/logo.svg', privacyUrl: '/privacy' }, lang);
        expect(structure(hostile)).toEqual(structure(benign));
        expect(hostile).not.toMatch(/<script(?![^>]*src="\/static\/)/);
      }),
      { numRuns: 300 },
    );
  });

  it('the logo is an <img> with the site name as alt text; the privacy link is an <a href>; texts are escaped', () => {
    const html = pages({ title: 'T', siteName: '<b>Shop</b> & "Co"', footerText: '<i>x</i>\nline 2', nextSteps: 'one\n\ntwo <u>', logoUrl: 'https://cdn.example.jp/l.svg?a="><script>', privacyUrl: '/privacy?x="><b>' }, 'en');
    expect(html).toContain('<img class="fw-logo" src="https://cdn.example.jp/l.svg?a=&quot;&gt;&lt;script&gt;" alt="&lt;b&gt;Shop&lt;/b&gt; &amp; &quot;Co&quot;">');
    expect(html).toContain('<title>T | &lt;b&gt;Shop&lt;/b&gt; &amp; &quot;Co&quot;</title>');
    expect(html).toContain('<p class="fw-footer-text">&lt;i&gt;x&lt;/i&gt;<br>line 2</p>');
    expect(html).toContain('<a href="/privacy?x=&quot;&gt;&lt;b&gt;">Privacy policy</a>');
    expect(html).toContain('<p>one</p>\n<p>two &lt;u&gt;</p>');
    expect(html).toContain('<link rel="stylesheet" href="/static/accent/1a73e8.css">');
  });
});

describe('the accent stylesheet', () => {
  it('property: only a six-digit lower-case hex name gets a stylesheet, and it holds just that colour', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.stringMatching(/^[0-9a-fA-F;}{:]{3,8}\.css$/)), (file) => {
        const css = accentCss(file);
        const ok = /^[0-9a-f]{6}\.css$/.test(file);
        expect(css !== null).toBe(ok);
        if (css) expect(css).toBe(`:root{--fw-accent:#${file.slice(0, 6)};--fw-on-accent:${onAccent(`#${file.slice(0, 6)}`)}}\n`);
      }),
    );
  });

  it('text on the accent is white on dark colours and near-black on light ones', () => {
    expect(onAccent('#1a73e8')).toBe('#ffffff');
    expect(onAccent('#0b6e4f')).toBe('#ffffff');
    expect(onAccent('#ffeb3b')).toBe('#111111');
    expect(onAccent('#ffffff')).toBe('#111111');
  });
});
