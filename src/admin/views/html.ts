// Escaped by construction: html`...` escapes every interpolated value unless it is already Html (made by
// html`` itself or by raw() for markup we wrote). Arrays are joined. Visitor text can only ever become text.
import { esc } from '../../http/html.js';

export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

type Part = Html | string | number | boolean | null | undefined | readonly Part[];

function render(part: Part): string {
  if (part === null || part === undefined || part === false) return '';
  if (part instanceof Html) return part.value;
  if (Array.isArray(part)) return part.map(render).join('');
  return esc(String(part));
}

export function html(strings: TemplateStringsArray, ...parts: Part[]): Html {
  let out = strings[0]!;
  for (let i = 0; i < parts.length; i++) out += render(parts[i]!) + strings[i + 1]!;
  return new Html(out);
}

/** Markup written by us (never visitor data). */
export const raw = (s: string) => new Html(s);
