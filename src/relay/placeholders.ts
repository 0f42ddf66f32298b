// The {{placeholder}} grammar shared by the linter and (ideally) the renderer.
// If the renderer accepts anything this scanner does not report, the lint
// can be bypassed: keep the two in sync.

/** Placeholders filled by the server, never by the visitor. */
export const SYSTEM_PLACEHOLDERS = ['receipt_id', 'submitted_at', 'form_title', 'site_name'] as const;
export type SystemPlaceholder = (typeof SYSTEM_PLACEHOLDERS)[number];

const SYSTEM_SET: ReadonlySet<string> = new Set(SYSTEM_PLACEHOLDERS);
export function isSystemPlaceholder(name: string): name is SystemPlaceholder {
  return SYSTEM_SET.has(name);
}

/** A valid placeholder name: identifier, may contain '-' and '.' like field names. */
export const PLACEHOLDER_NAME_RE = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

export interface PlaceholderRef {
  /** Trimmed inner name, e.g. "name" for "{{ name }}". */
  name: string;
  /** Exact source text, e.g. "{{ name }}". */
  raw: string;
  index: number;
}

export interface TemplateScan {
  /** Well-formed placeholders, in order of appearance (duplicates kept). */
  refs: PlaceholderRef[];
  /** `{{...}}` whose inside is not a plain name (filters, helpers, empty). */
  malformed: PlaceholderRef[];
  /** Offsets of `{{` that are never closed. */
  unclosed: number[];
}

export function scanTemplate(template: string): TemplateScan {
  const refs: PlaceholderRef[] = [];
  const malformed: PlaceholderRef[] = [];
  const covered: Array<[number, number]> = [];
  // No braces inside, so `{{{x}}}` yields `{{x}}` and `{{ {{x}} }}` yields `{{x}}`.
  for (const m of template.matchAll(/\{\{([^{}]*)\}\}/g)) {
    const index = m.index;
    const raw = m[0];
    const name = (m[1] ?? '').trim();
    covered.push([index, index + raw.length]);
    (PLACEHOLDER_NAME_RE.test(name) ? refs : malformed).push({ name, raw, index });
  }
  // Any other `{{` (triple braces, nested braces) is malformed if something
  // closes it later, unclosed otherwise; the renderer must not expand either.
  const unclosed: number[] = [];
  for (const m of template.matchAll(/\{\{/g)) {
    const at = m.index;
    if (covered.some(([s, e]) => at >= s && at < e)) continue;
    const close = template.indexOf('}}', at + 2);
    if (close === -1) unclosed.push(at);
    else {
      const raw = template.slice(at, close + 2);
      malformed.push({ name: raw.slice(2, -2).trim(), raw, index: at });
    }
  }
  malformed.sort((a, b) => a.index - b.index);
  return { refs, malformed, unclosed };
}

/** Distinct placeholder names used in a template, in first-seen order. */
export function placeholderNames(template: string): string[] {
  return [...new Set(scanTemplate(template).refs.map((r) => r.name))];
}
