// Minimal HTML helpers: everything interpolated into a page goes through esc().
const SPECIAL = /[&<>"']/;
export function esc(value: unknown): string {
  const s = String(value ?? '');
  // Most text has nothing to escape: one test instead of five replaces (pages of many rows).
  if (!SPECIAL.test(s)) return s;
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** A page; `header` and `footer` are HTML the caller built with esc() (src/http/branding.ts). */
export function page(opts: { lang: string; title: string; body: string; head?: string; header?: string; footer?: string }): string {
  return `<!doctype html>
<html lang="${esc(opts.lang)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(opts.title)}</title>
<link rel="stylesheet" href="/static/form.css">
${opts.head ?? ''}
</head>
<body>
${opts.header ?? ''}
<main class="fw">
${opts.body}
</main>
${opts.footer ?? ''}
</body>
</html>
`;
}
