// `{{field}}` templates. Rendering never fails: an unknown placeholder renders as nothing, and the
// configuration lint reports it before the server starts.
// The same grammar as the relay lint (src/relay/placeholders.ts), so nothing renders that the lint did not see.
const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*\}\}/g;

export function render(template: string, values: Readonly<Record<string, string | undefined>>): string {
  return template.replace(PLACEHOLDER, (_, name: string) => values[name] ?? '');
}

/** A header value: one line, no control characters, bounded length. */
export function headerText(text: string, max = 200): string {
  const line = text.replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, ' ').replace(/\s+/g, ' ').trim();
  const chars = [...line];
  return chars.length > max ? `${chars.slice(0, max - 1).join('')}…` : line;
}
