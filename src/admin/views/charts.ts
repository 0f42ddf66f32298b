// Server-rendered SVG charts: no script, no library. Every chart is <svg role="img"> with a <title> (and an
// optional <desc>), and every bar carries a <title> with its number; the page puts the same numbers in a
// table beside it. Colours come from classes (the console's CSS) or, for a self-contained page (the bounce
// report), from an explicit fill. All text goes through html``, so labels can be anything.
import { html, type Html } from './html.js';

export interface ChartSeries {
  key: string;
  label: string;
  /** An explicit fill; without it the bar gets class `s-<key>` for the stylesheet to colour. */
  color?: string;
}

export interface StackedBucket {
  /** Full label (in each bar's <title>). */
  label: string;
  /** Short label under the axis (default: label). */
  tick?: string;
  /** One value per series, in the series' order. */
  values: number[];
}

/** A round axis maximum at or above n (1, 2, 2.5, 5 × 10^k). */
export function niceMax(n: number): number {
  if (n <= 5) return Math.max(1, Math.ceil(n));
  const p = 10 ** Math.floor(Math.log10(n));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= n) return m * p;
  return 10 * p;
}

const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

function frame(id: string, title: string, desc: string | undefined, w: number, h: number, body: Html): Html {
  return html`<svg id="${id}" class="chart" viewBox="0 0 ${w} ${h}" width="100%" role="img" aria-labelledby="${id}-title${desc ? html` ${id}-desc` : ''}" xmlns="http://www.w3.org/2000/svg"><title id="${id}-title">${title}</title>${desc ? html`<desc id="${id}-desc">${desc}</desc>` : ''}${body}</svg>`;
}

/** A coordinate, short: one decimal at most. */
const c = (n: number) => String(Math.round(n * 10) / 10);

/**
 * Stacked vertical bars, one per bucket, one segment per series. Compact by default: one <path> per series
 * and, per bucket, a transparent hit area whose <title> lists the bucket's numbers (a page with 48 hourly
 * bars stays small). `segments: 'rects'` draws every segment as its own <rect class="bar"> with a <title>.
 */
export function stackedBars(o: { id: string; title: string; desc?: string; series: ChartSeries[]; buckets: StackedBucket[]; width?: number; height?: number; ticks?: number; segments?: 'paths' | 'rects' }): Html {
  const W = o.width ?? 820;
  const H = o.height ?? 260;
  const left = 44;
  const bottom = 34;
  const top = 10;
  const plotW = W - left - 10;
  const plotH = H - top - bottom;
  const totals = o.buckets.map((b) => b.values.reduce((s, v) => s + Math.max(0, v), 0));
  const max = niceMax(Math.max(0, ...totals));
  const n = Math.max(1, o.buckets.length);
  const step = plotW / n;
  const bw = Math.max(1, Math.min(40, step * 0.75));
  const y = (v: number) => top + plotH - (v / max) * plotH;
  const grid = [0, 0.5, 1].map((fr) => {
    const v = Math.round(max * fr);
    return html`<line x1="${left}" x2="${W - 10}" y1="${c(y(v))}" y2="${c(y(v))}" class="grid"/><text x="${left - 6}" y="${c(y(v) + 4)}" text-anchor="end" class="tick">${v}</text>`;
  });
  const every = Math.ceil(n / (o.ticks ?? 12));
  const xs = o.buckets.map((_, i) => left + i * step + (step - bw) / 2);
  const ticks = o.buckets.map((b, i) => (i % every === 0 || i === n - 1 ? html`<text x="${c(xs[i]! + bw / 2)}" y="${H - bottom + 16}" text-anchor="middle" class="tick">${b.tick ?? b.label}</text>` : ''));
  // Each segment's [y0, height], stacked in series order.
  const seg = o.buckets.map((b) => {
    let acc = 0;
    return o.series.map((_, k) => {
      const v = Math.max(0, b.values[k] ?? 0);
      const y0 = y(acc + v);
      const h = y(acc) - y0;
      acc += v;
      return { v, y0, h: Math.max(0.5, h) };
    });
  });
  const fill = (s: ChartSeries) => (s.color ? html` fill="${s.color}"` : '');
  let bars: Html;
  if (o.segments === 'rects') {
    bars = html`${o.buckets.map((b, i) =>
      o.series.map((s, k) => {
        const g = seg[i]![k]!;
        return g.v > 0 ? html`<rect class="bar ${`s-${s.key}`}" x="${c(xs[i]!)}" y="${c(g.y0)}" width="${c(bw)}" height="${c(g.h)}"${fill(s)}><title>${b.label} ${s.label}: ${g.v}</title></rect>` : '';
      }),
    )}`;
  } else {
    const paths = o.series.map((s, k) => {
      const d = o.buckets.map((_, i) => {
        const g = seg[i]![k]!;
        return g.v > 0 ? `M${c(xs[i]!)} ${c(g.y0)}h${c(bw)}v${c(g.h)}h-${c(bw)}z` : '';
      });
      return d.some(Boolean) ? html`<path class="bar ${`s-${s.key}`}" d="${d.join('')}"${fill(s)}/>` : '';
    });
    const hits = o.buckets.map(
      (b, i) => html`<rect class="hit" x="${c(left + i * step)}" y="${top}" width="${c(step)}" height="${plotH}"><title>${b.label}: ${o.series.map((s, k) => `${s.label} ${b.values[k] ?? 0}`).join(', ')}</title></rect>`,
    );
    bars = html`${paths}${hits}`;
  }
  return frame(o.id, o.title, o.desc, W, H, html`${grid}${bars}${ticks}<line x1="${left}" x2="${W - 10}" y1="${c(y(0))}" y2="${c(y(0))}" class="axis"/>`);
}

export interface HBar {
  label: string;
  value: number;
  /** This bar's full length (e.g. a cap's limit); default the largest value. */
  max?: number;
  /** Text right of the bar (default the value). */
  note?: string;
  /** The bar's <title> (default "label: note"). */
  title?: string;
  /** Extra class on the bar (e.g. "full" when a cap is used up). */
  cls?: string;
}

/** Horizontal bars with their labels on the left and their numbers on the right. */
export function hbars(o: { id: string; title: string; desc?: string; rows: HBar[]; color?: string; width?: number; labelWidth?: number }): Html {
  const W = o.width ?? 820;
  const rowH = 24;
  const labelW = o.labelWidth ?? 240;
  const H = Math.max(1, o.rows.length) * rowH + 8;
  const max = Math.max(1, ...o.rows.map((r) => r.value));
  const plotW = W - labelW - 120;
  const rows = o.rows.map((r, i) => {
    const yy = 4 + i * rowH;
    const full = Math.max(1, r.max ?? max);
    const w = Math.max(1, (Math.min(r.value, full) / full) * plotW);
    const note = r.note ?? String(r.value);
    return html`<text x="${labelW - 8}" y="${yy + 16}" text-anchor="end" class="lbl">${clip(r.label, 34)}</text>${
      r.max !== undefined ? html`<rect class="track" x="${labelW}" y="${yy + 3}" width="${plotW}" height="${rowH - 8}"/>` : ''
    }<rect class="bar${r.cls ? ` ${r.cls}` : ''}" x="${labelW}" y="${yy + 3}" width="${c(w)}" height="${rowH - 8}"${o.color ? html` fill="${o.color}"` : ''}><title>${r.title ?? `${r.label}: ${note}`}</title></rect><text x="${c(labelW + (r.max !== undefined ? plotW : w) + 6)}" y="${yy + 16}" class="tick">${note}</text>`;
  });
  return frame(o.id, o.title, o.desc, W, H, html`${rows}`);
}

/** The series' colour keys (class-coloured: `key s-<key>`). */
export function legend(series: ChartSeries[]): Html {
  return html`<ul class="legend">${series.map((s) => html`<li><i class="${`s-${s.key}`}" aria-hidden="true"></i>${s.label}</li>`)}</ul>`;
}
