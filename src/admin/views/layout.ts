// The console's page frame: header with the site name, navigation, language switch and logout.
import type { Lang } from '../../i18n/messages.js';
import { ct, type ConsoleKey } from '../i18n.js';
import { html, type Html } from './html.js';

export interface Frame {
  lang: Lang;
  title: string;
  siteName: string;
  /** The logged-in user, or null on the login page. */
  user: { email: string; csrf: string } | null;
  /** The path of this page, for the language switch to come back to. */
  path: string;
  nav?: NavKey;
}

/** The console's sections, in the order of the navigation. */
export const NAV = [
  { key: 'inbox', href: '/admin/inbox' },
  { key: 'dashboard', href: '/admin/dashboard' },
  { key: 'operations', href: '/admin/operations' },
] as const satisfies readonly { key: ConsoleKey; href: string }[];
export type NavKey = (typeof NAV)[number]['key'];

export function layout(f: Frame, body: Html): string {
  const other: Lang = f.lang === 'ja' ? 'en' : 'ja';
  const langHref = `/admin/lang/${other}?next=${encodeURIComponent(f.path)}`;
  return html`<!doctype html>
<html lang="${f.lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${f.title} | ${f.siteName} ${ct(f.lang, 'console')}</title>
<link rel="stylesheet" href="/static/admin.css">
</head>
<body>
<a class="skip" href="#main">${ct(f.lang, 'skip_to_content')}</a>
<header class="top">
  <span class="brand">${f.siteName} <small>${ct(f.lang, 'console')}</small></span>
  ${f.user ? html`<nav aria-label="${ct(f.lang, 'console')}">${NAV.map((n) => html`<a href="${n.href}"${f.nav === n.key ? html` aria-current="page"` : ''}>${ct(f.lang, n.key)}</a>`)}</nav>` : ''}
  <span class="tools">
    <a href="${langHref}" hreflang="${other}" lang="${other}">${ct(f.lang, 'language')}</a>
    ${
      f.user
        ? html`<span class="who">${f.user.email}</span>
    <form method="post" action="/admin/logout" class="inline"><input type="hidden" name="_csrf" value="${f.user.csrf}"><button type="submit">${ct(f.lang, 'logout')}</button></form>`
        : ''
    }
  </span>
</header>
<main id="main">
${body}
</main>
</body>
</html>
`.value;
}
