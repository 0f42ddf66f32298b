// The hosted page's branding: the header (logo or name), the footer (text, privacy link) and the accent colour.
// Every value is owner configuration, but it still reaches the page only escaped: names and texts as text,
// links as attributes of checked https/path URLs, the colour through a stylesheet route that only knows hex.
import type { Config, FormConfig } from '../config/schema.js';
import type { Localized } from '../config/localized.js';
import type { PageConfig } from '../config/page.js';
import { t, type Lang } from '../i18n/messages.js';
import { esc } from './html.js';

export interface Branding {
  siteName: Localized;
  logoUrl?: string;
  /** #rrggbb, lower case (normalised by the schema). */
  accentColor?: string;
  footerText?: Localized;
  privacyUrl?: string;
  nextSteps?: Localized;
}

/** The instance's `page`, with the form's keys winning; the name falls back to the top-level siteName. */
export function brandingFor(config: Pick<Config, 'siteName' | 'page'>, form?: Pick<FormConfig, 'page'>): Branding {
  const defined = (p: PageConfig | undefined) => Object.fromEntries(Object.entries(p ?? {}).filter(([, v]) => v !== undefined)) as PageConfig;
  const p = { ...defined(config.page), ...defined(form?.page) };
  return { ...p, siteName: p.siteName ?? { ja: config.siteName, en: config.siteName } };
}

/** The stylesheet that sets the accent colour: a route, so the page's CSP needs no inline style. */
export const ACCENT_ROUTE = '/static/accent/:file';
export const accentHref = (hex: string) => `/static/accent/${hex.slice(1)}.css`;

/** The stylesheet for "1a73e8.css", or null for any other name. */
export function accentCss(file: string): string | null {
  const m = /^([0-9a-f]{6})\.css$/.exec(file);
  if (!m) return null;
  const hex = `#${m[1]}`;
  return `:root{--fw-accent:${hex};--fw-on-accent:${onAccent(hex)}}\n`;
}

/** White or near-black text on the accent colour, whichever has more contrast (WCAG relative luminance). */
export function onAccent(hex: string): string {
  const lin = (i: number) => {
    const c = parseInt(hex.slice(1 + i * 2, 3 + i * 2), 16) / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  const l = 0.2126 * lin(0) + 0.7152 * lin(1) + 0.0722 * lin(2);
  // White as long as it reads (WCAG AA, 4.5:1), as on most brand buttons; else whichever contrasts more.
  const white = 1.05 / (l + 0.05);
  return white >= 4.5 || white >= (l + 0.05) / 0.05 ? '#ffffff' : '#111111';
}

/** The origins of configured https logos: the page CSP's img-src allows exactly these (besides 'self' and data:). */
export function logoOrigins(config: Pick<Config, 'page' | 'forms'>): string[] {
  const urls = [config.page?.logoUrl, ...config.forms.map((f) => f.page?.logoUrl)].filter((u): u is string => !!u && !u.startsWith('/'));
  return [...new Set(urls.map((u) => new URL(u).origin))].sort();
}

/** Page CSP directives with the logo origins added to img-src (helmet's default img-src is 'self' data:). */
export function withLogoSources(config: Pick<Config, 'page' | 'forms'>, base: Record<string, string[]>): Record<string, string[]> {
  const origins = logoOrigins(config);
  return origins.length ? { ...base, 'img-src': [...(base['img-src'] ?? ["'self'", 'data:']), ...origins] } : base;
}

export function brandHead(b: Branding | undefined): string {
  return b?.accentColor ? `<link rel="stylesheet" href="${esc(accentHref(b.accentColor))}">` : '';
}

/** The header: the logo (its alt text is the site name) or the name, and what goes on the right (the language link). */
export function brandHeader(b: Branding | undefined, lang: Lang, right = ''): string {
  if (!b) return right ? `<header class="fw-top"><div class="fw-top-in">${right}</div></header>` : '';
  const name = b.siteName[lang];
  const mark = b.logoUrl ? `<img class="fw-logo" src="${esc(b.logoUrl)}" alt="${esc(name)}">` : `<span class="fw-site">${esc(name)}</span>`;
  return `<header class="fw-top"><div class="fw-top-in"><p class="fw-brand">${mark}</p>${right}</div></header>`;
}

export function brandFooter(b: Branding | undefined, lang: Lang): string {
  if (!b || (!b.footerText?.[lang] && !b.privacyUrl)) return '';
  const text = b.footerText?.[lang] ? `<p class="fw-footer-text">${lines(b.footerText[lang])}</p>` : '';
  const privacy = b.privacyUrl ? `<p><a href="${esc(b.privacyUrl)}">${esc(t(lang, 'privacy_policy'))}</a></p>` : '';
  return `<footer class="fw-footer">${text}${privacy}</footer>`;
}

/** "We handle your data as described in our Privacy policy", for above the submit button. */
export function privacyNote(b: Branding | undefined, lang: Lang): string {
  if (!b?.privacyUrl) return '';
  const [before = '', after = ''] = t(lang, 'privacy_note', { link: '\u0000' }).split('\u0000');
  return `<p class="fw-privacy">${esc(before)}<a href="${esc(b.privacyUrl)}">${esc(t(lang, 'privacy_policy'))}</a>${esc(after)}</p>`;
}

/** Plain text as HTML: escaped, line breaks kept. */
export function lines(text: string): string {
  return text.split(/\r\n|\r|\n/).map(esc).join('<br>');
}

/** Plain text as paragraphs: a blank line starts a new one. */
export function paragraphs(text: string): string {
  return text
    .split(/(?:\r\n|\r|\n)[ \t]*(?:\r\n|\r|\n)/)
    .map((p) => p.trim())
    .filter(Boolean)
    .map((p) => `<p>${lines(p)}</p>`)
    .join('\n');
}
