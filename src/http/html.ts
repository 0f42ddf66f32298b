// Minimal HTML helpers: everything interpolated into a page goes through esc().
export function esc(value: unknown): string {
  return String(value ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

export function page(opts: { lang: string; title: string; body: string; head?: string }): string {
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
<main class="fw">
${opts.body}
</main>
</body>
</html>
`;
}
