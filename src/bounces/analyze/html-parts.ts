// Pieces of the self-contained HTML reports (the bounce report and its DMARC section): every text goes
// through esc(); both languages are on the page and CSS shows one.
import { UI, type Text } from './labels.js';

export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Both languages, one shown by the toggle. */
export function bi(t: Text): string {
  return `<span class="en" lang="en">${esc(t.en)}</span><span class="ja" lang="ja">${esc(t.ja)}</span>`;
}

export function tableHtml(head: string[], rows: string[][], numeric: number[] = []): string {
  const th = head.map((h, i) => `<th${numeric.includes(i) ? ' class="num"' : ''}>${h}</th>`).join('');
  const body = rows.length
    ? rows.map((r) => `<tr>${r.map((c, i) => `<td${numeric.includes(i) ? ' class="num"' : ''}>${c}</td>`).join('')}</tr>`).join('')
    : `<tr><td colspan="${head.length}">${bi(UI.none)}</td></tr>`;
  return `<table><thead><tr>${th}</tr></thead><tbody>${body}</tbody></table>`;
}
