// A plain text table for terminals; cells are cut to keep one row per line. Cells hold outside text (visitor
// fields, addresses, bounce reasons): every character a terminal acts on is shown as a visible escape.
import { terminalSafe } from '../util/terminal-safe.js';

export function table(headers: string[], rows: string[][], maxCell = 48): string {
  const cut = (s: string) => {
    const one = terminalSafe(s.replace(/\s+/g, ' '));
    return one.length > maxCell ? `${one.slice(0, maxCell - 1)}…` : one;
  };
  const cells = [headers.map(cut), ...rows.map((r) => r.map(cut))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => width(r[i] ?? ''))));
  const line = (r: string[]) => r.map((c, i) => c + ' '.repeat(widths[i]! - width(c))).join('  ').trimEnd();
  return `${[line(cells[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n')}\n${rows.length === 0 ? '(none)\n' : ''}`;
}

/** Display width: East Asian wide characters take two columns. */
function width(s: string): number {
  let w = 0;
  for (const ch of s) w += /[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]/.test(ch) ? 2 : 1;
  return w;
}
