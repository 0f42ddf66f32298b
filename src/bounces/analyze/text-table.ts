// Plain-text tables for terminal reports (the bounce report and its DMARC section).
import { terminalSafe } from '../../util/terminal-safe.js';

/** Display width: East Asian wide characters take two columns. */
export function displayWidth(s: string): number {
  let w = 0;
  for (const ch of s) w += /[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]/.test(ch) ? 2 : 1;
  return w;
}

/** Text from bounces on one line, with every character that could drive the terminal shown as an escape. */
export function safe(s: string): string {
  return terminalSafe(s.replace(/[\t\n\r]/g, ' '));
}

export function table(headers: string[], rows: string[][], right: number[] = []): string {
  const cell = (c: string) => { const s = safe(c); return s.length > 60 ? s.slice(0, 59) + '…' : s; };
  const cells = [headers.map(cell), ...rows.map((r) => r.map(cell))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => displayWidth(r[i] ?? ''))));
  const pad = (c: string, i: number) => {
    const fill = ' '.repeat(widths[i]! - displayWidth(c));
    return right.includes(i) ? fill + c : c + fill;
  };
  const line = (r: string[]) => r.map(pad).join('  ').trimEnd();
  const body = rows.length ? cells.slice(1).map(line) : ['(none)'];
  return [line(cells[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...body].join('\n') + '\n';
}
