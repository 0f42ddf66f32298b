// The dashboard page: each panel is a chart (SVG, src/admin/views/charts.ts) with its numbers in a table
// beside it (visually hidden where the chart already shows them, for screen readers and for copying).
import { reasonLabel } from '../../bounces/analyze/labels.js';
import type { Lang } from '../../i18n/messages.js';
import { formatWindow } from '../../relay/caps.js';
import { formatInZone } from '../../mail/template.js';
import type { Bucket, CapUse, DashboardData } from '../dashboard.js';
import { dlabel, dt } from '../dashboard-i18n.js';
import { actionLabel } from '../i18n.js';
import { ACTIONS } from '../inbox.js';
import { hbars, legend, stackedBars, type ChartSeries, type HBar } from './charts.js';
import { html, type Html } from './html.js';

export interface DashboardView {
  formTitle: (id: string) => string;
  symbolLabel: (symbol: string) => string;
  cacheSeconds: number;
}

const total = (b: Bucket) => ACTIONS.reduce((s, a) => s + b.counts[a], 0);

function outcomeChart(lang: Lang, id: string, title: string, firstCol: string, buckets: Bucket[], tick: (b: Bucket) => string): Html {
  const series: ChartSeries[] = ACTIONS.map((a) => ({ key: a, label: actionLabel(lang, a) }));
  return html`<figure class="panel">
${stackedBars({ id: `c-${id}`, title, series, buckets: buckets.map((b) => ({ label: b.label, tick: tick(b), values: ACTIONS.map((a) => b.counts[a]) })) })}
${legend(series)}
<table id="${`t-${id}`}" class="vh"><caption>${title}: ${dt(lang, 'numbers')}</caption>
<thead><tr><th scope="col">${firstCol}</th>${ACTIONS.map((a) => html`<th scope="col">${actionLabel(lang, a)}</th>`)}<th scope="col">${dt(lang, 'total')}</th></tr></thead>
<tbody>${buckets.map((b) => html`<tr><th scope="row">${b.label}</th>${ACTIONS.map((a) => html`<td>${b.counts[a]}</td>`)}<td>${total(b)}</td></tr>`)}</tbody>
</table>
</figure>`;
}

/** A horizontal-bar chart and its table (key column, label column, count), or "none". */
function topChart(lang: Lang, id: string, title: string, head: [string, string], rows: { key: string; label: string; count: number; bar?: Partial<HBar> }[], keyIsCode = true): Html {
  if (rows.length === 0) return html`<p class="empty">${dt(lang, 'none')}</p>`;
  return html`<figure class="panel">
${hbars({ id: `c-${id}`, title, rows: rows.map((r) => ({ label: r.label, value: r.count, ...r.bar })) })}
<table id="${`t-${id}`}" class="vh"><caption>${title}: ${dt(lang, 'numbers')}</caption>
<thead><tr><th scope="col">${head[0]}</th><th scope="col">${head[1]}</th><th scope="col">${dt(lang, 'count')}</th></tr></thead>
<tbody>${rows.map((r) => html`<tr data-key="${r.key}"><th scope="row">${keyIsCode ? html`<code>${r.key}</code>` : r.key}</th><td><bdi>${r.label}</bdi></td><td class="num">${r.count}</td></tr>`)}</tbody>
</table>
</figure>`;
}

function capLabel(lang: Lang, c: CapUse, v: DashboardView): string {
  return dlabel(lang, 'cap', c.scope, { form: c.form ? v.formTitle(c.form) : '' });
}

function capsPanel(lang: Lang, caps: CapUse[], v: DashboardView): Html {
  if (caps.length === 0) return html`<p class="empty">${dt(lang, 'no_caps')}</p>`;
  const title = dt(lang, 'caps');
  const rows: HBar[] = caps.map((c) => ({
    label: `${capLabel(lang, c, v)} (${formatWindow(c.windowSeconds)})`,
    value: c.used,
    max: c.limit,
    note: `${c.used} / ${c.limit}`,
    cls: c.used >= c.limit ? 'full' : undefined,
  }));
  return html`<figure class="panel">
${hbars({ id: 'c-caps', title, rows, labelWidth: 300 })}
<table id="t-caps" class="vh"><caption>${title}: ${dt(lang, 'numbers')}</caption>
<thead><tr><th scope="col">${dt(lang, 'cap')}</th><th scope="col">${dt(lang, 'window')}</th><th scope="col">${dt(lang, 'used')}</th><th scope="col">${dt(lang, 'limit')}</th></tr></thead>
<tbody>${caps.map(
    (c) => html`<tr data-scope="${c.scope}"${c.form ? html` data-form="${c.form}"` : ''}><th scope="row">${capLabel(lang, c, v)}${c.atLimit !== undefined ? html` <small>(${dt(lang, 'at_limit', { n: c.atLimit })})</small>` : ''}</th><td>${formatWindow(c.windowSeconds)}</td><td class="num">${c.used}</td><td class="num">${c.limit}</td></tr>`,
  )}</tbody>
</table>
</figure>`;
}

function scopeLabel(lang: Lang, scope: string, v: DashboardView): string {
  return scope.startsWith('form:') ? v.formTitle(scope.slice(5)) : dlabel(lang, 'scope', scope);
}

function breakerPanel(lang: Lang, d: DashboardData, v: DashboardView): Html {
  const b = d.breaker;
  const when = (ms: number | null) => (ms === null ? '' : formatInZone(new Date(ms), d.timeZone, lang));
  const title = dt(lang, 'trips_per_day');
  const series: ChartSeries[] = [{ key: 'trip', label: dt(lang, 'trips') }];
  return html`<p class="muted">${dt(lang, 'breaker_intro')}</p>
<h3>${dt(lang, 'breaker_now')}</h3>
${
  b.now.length === 0
    ? html`<p class="empty">${dt(lang, 'breaker_closed')}</p>`
    : html`<div class="scroll"><table id="t-breaker-now"><thead><tr><th scope="col">${dt(lang, 'scope')}</th><th scope="col">${dt(lang, 'state')}</th><th scope="col">${dt(lang, 'reason')}</th><th scope="col">${dt(lang, 'tripped_at')}</th><th scope="col">${dt(lang, 'retry_at')}</th></tr></thead>
<tbody>${b.now.map((r) => html`<tr data-scope="${r.scope}" data-state="${r.state}"><th scope="row">${scopeLabel(lang, r.scope, v)}</th><td><span class="badge ${`st-${r.state}`}">${dlabel(lang, 'state', r.state)}</span></td><td dir="auto">${r.reason}</td><td class="nowrap">${when(r.trippedAt)}</td><td class="nowrap">${when(r.retryAt)}</td></tr>`)}</tbody></table></div>`
}
<h3>${dt(lang, 'breaker_history')}</h3>
<figure class="panel">
${stackedBars({ id: 'c-trips', title, series, buckets: b.perDay.map((p) => ({ label: p.label, tick: p.label.slice(5), values: [p.count] })) })}
<table id="t-trips" class="vh"><caption>${title}: ${dt(lang, 'numbers')}</caption><thead><tr><th scope="col">${dt(lang, 'day')}</th><th scope="col">${dt(lang, 'trips')}</th></tr></thead>
<tbody>${b.perDay.map((p) => html`<tr><th scope="row">${p.label}</th><td>${p.count}</td></tr>`)}</tbody></table>
</figure>
${
  b.history.length === 0
    ? html`<p class="empty">${dt(lang, 'none')}</p>`
    : html`<div class="scroll"><table id="t-breaker-history"><thead><tr><th scope="col">${dt(lang, 'when')}</th><th scope="col">${dt(lang, 'scope')}</th><th scope="col">${dt(lang, 'reason')}</th></tr></thead>
<tbody>${b.history.map((h) => html`<tr data-scope="${h.scope}"><td class="nowrap">${when(h.at)}</td><td>${scopeLabel(lang, h.scope, v)}</td><td dir="auto">${h.reason}</td></tr>`)}</tbody></table></div>`
}`;
}

const regionNames = new Map<Lang, Intl.DisplayNames>();
function countryName(lang: Lang, cc: string): string {
  if (!/^[A-Z]{2}$/.test(cc)) return dt(lang, 'unknown_country');
  let n = regionNames.get(lang);
  if (!n) {
    n = new Intl.DisplayNames([lang], { type: 'region' });
    regionNames.set(lang, n);
  }
  try {
    return n.of(cc) ?? cc;
  } catch {
    return cc;
  }
}

export function dashboardPage(lang: Lang, d: DashboardData, v: DashboardView): Html {
  const tickHour = (b: Bucket) => b.label.slice(11);
  const tickDay = (b: Bucket) => b.label.slice(5);
  const reason = (k: string) => (k === 'complaint' ? dlabel(lang, 'reason', k) : reasonLabel(k, lang));
  const sample = dt(lang, 'sample_note', { rows: d.sample.rows, limit: d.sample.limit });
  return html`<h1>${dt(lang, 'title')}</h1>
<p class="muted">${dt(lang, 'intro')} ${dt(lang, 'freshness', { seconds: v.cacheSeconds, tz: d.timeZone })}</p>
<div class="dash">
<section aria-labelledby="h-hourly"><h2 id="h-hourly">${dt(lang, 'per_hour')}</h2>
${outcomeChart(lang, 'hourly', dt(lang, 'per_hour'), dt(lang, 'hour'), d.hourly, tickHour)}</section>
<section aria-labelledby="h-daily"><h2 id="h-daily">${dt(lang, 'per_day')}</h2>
${outcomeChart(lang, 'daily', dt(lang, 'per_day'), dt(lang, 'day'), d.daily, tickDay)}</section>
<section aria-labelledby="h-caps"><h2 id="h-caps">${dt(lang, 'caps')}</h2>
<p class="muted">${dt(lang, 'caps_intro')}</p>
${capsPanel(lang, d.caps, v)}</section>
<section aria-labelledby="h-bounces"><h2 id="h-bounces">${dt(lang, 'bounces')}</h2>
<p class="muted">${dt(lang, 'bounces_intro', { n: d.bounces.total })}</p>
<h3>${dt(lang, 'by_reason')}</h3>
${topChart(lang, 'reasons', `${dt(lang, 'bounces')}: ${dt(lang, 'by_reason')}`, [dt(lang, 'code'), dt(lang, 'reason')], d.bounces.byReason.map((r) => ({ key: r.key, label: reason(r.key), count: r.count })))}
<h3>${dt(lang, 'by_origin')}</h3>
${topChart(lang, 'origins', `${dt(lang, 'bounces')}: ${dt(lang, 'by_origin')}`, [dt(lang, 'code'), dt(lang, 'origin')], d.bounces.byOrigin.map((r) => ({ key: r.key, label: dlabel(lang, 'origin', r.key), count: r.count })))}
</section>
<section aria-labelledby="h-breaker"><h2 id="h-breaker">${dt(lang, 'breaker')}</h2>
${breakerPanel(lang, d, v)}</section>
<section aria-labelledby="h-symbols"><h2 id="h-symbols">${dt(lang, 'symbols')}</h2>
<p class="muted">${sample}</p>
${topChart(lang, 'symbols', dt(lang, 'symbols'), [dt(lang, 'code'), dt(lang, 'symbol')], d.symbols.map((s) => ({ key: s.symbol, label: v.symbolLabel(s.symbol), count: s.count })))}
</section>
<section aria-labelledby="h-networks"><h2 id="h-networks">${dt(lang, 'networks')}</h2>
<p class="muted">${sample}</p>
${topChart(lang, 'networks', dt(lang, 'networks'), [dt(lang, 'network'), dt(lang, 'country')], d.networks.map((n) => ({ key: n.network, label: n.country ? countryName(lang, n.country) : dt(lang, 'unknown_country'), count: n.count, bar: { label: `${n.network}${n.country ? ` (${n.country})` : ''}` } })))}
</section>
<section aria-labelledby="h-countries"><h2 id="h-countries">${dt(lang, 'countries')}</h2>
${topChart(lang, 'countries', dt(lang, 'countries'), [dt(lang, 'code'), dt(lang, 'country')], d.countries.map((c) => ({ key: c.country, label: countryName(lang, c.country), count: c.count })))}
</section>
</div>`;
}
