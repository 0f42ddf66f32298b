// The DMARC section of the analyze report: terminal text and an HTML fragment (escaped by construction:
// every value from a report goes through esc(); charts are the console's inline SVG helpers).
import { hbars, stackedBars } from '../../admin/views/charts.js';
import { bi, esc, tableHtml } from '../../bounces/analyze/html-parts.js';
import { UI, type Lang, type Text } from '../../bounces/analyze/labels.js';
import { safe, table } from '../../bounces/analyze/text-table.js';
import { dispositionLabel, DMARC_UI as D, dmarcFinding, statusLabel } from './labels.js';
import type { DmarcSection, DmarcSource } from './section.js';

const pct = (n: number, of: number) => (of ? `${((n / of) * 100).toFixed(1)}%` : '-');
const place = (s: { country: string | null }) => s.country ?? '-';
const netName = (g: { network: string; asName: string | null }) => (g.asName ? `${g.network} ${g.asName}` : g.network);

export function renderDmarcText(d: DmarcSection, lang: Lang = 'en'): string {
  const L = (t: Text) => t[lang];
  const parts: string[] = [`== ${L(D.title)} ==`];
  if (!d.totals.messages) return parts.concat(L(D.noRecords)).join('\n') + '\n';
  const t = d.totals;
  parts.push(`${d.domains.map(safe).join(', ')}  ${d.firstDate ?? '-'} .. ${d.lastDate ?? '-'}`);
  parts.push(table([L(UI.total), L(UI.count)], [
    [L(D.reports), String(d.reports)],
    [L(D.reporters), d.reporters.map((r) => `${r.orgName} (${r.reports})`).join(', ')],
    [L(D.messages), String(t.messages)],
    [`  ${L(D.pass)} / ${L(D.fail)}`, `${t.pass} / ${t.fail}`],
    [L(D.sources), `${t.sources} (${L(D.authorised)} ${t.authorisedSources}, ${L(D.unknown)} ${t.unknownSources})`],
    [L(D.unknownFail), String(t.unknownFail)],
  ], [1]));
  const f = dmarcFinding(d);
  parts.push(`[${UI.severity[lang][f.severity]}] ${L(f.title)}\n    ${safe(L(f.detail))}\n    ${L(UI.whatToDo)}: ${L(f.action)}`);
  parts.push(`-- ${L(D.dispositions)} --`);
  parts.push(table([L(D.status), L(D.total)], Object.entries(d.byDisposition).map(([k, n]) => [L(dispositionLabel(k)), String(n)]), [1]));
  parts.push(`-- ${L(D.perDay)} --`);
  parts.push(table([L(UI.date), L(D.pass), L(D.fail), L(D.authorised), L(D.unknown), L(D.unknownFailing)],
    d.days.map((x) => [x.date, String(x.pass), String(x.fail), String(x.authorised), String(x.unknown), String(x.unknownFail)]), [1, 2, 3, 4, 5]));
  const srcRow = (s: DmarcSource) => [s.ip, netName(s), place(s), L(statusLabel(s)), String(s.total), String(s.pass), String(s.fail), s.headerFroms.join(' ')];
  const srcHead = [L(D.ip), L(D.network), L(D.country), L(D.status), L(D.total), L(D.pass), L(D.fail), L(D.headerFrom)];
  parts.push(`-- ${L(D.bySource)} --`);
  parts.push(table(srcHead, d.sources.map(srcRow), [4, 5, 6]));
  parts.push(`-- ${L(D.failingNetworks)} --`);
  parts.push(table([L(D.network), L(D.country), L(D.fail), L(D.count), L(D.status)],
    d.failingByNetwork.map((g) => [netName(g), place(g), String(g.fail), String(g.sources.length), L(g.unknown ? D.unknown : D.authorised)]), [2, 3]));
  parts.push(`-- ${L(D.failingCountries)} --`);
  parts.push(table([L(D.country), L(D.fail), L(D.count)], d.failingByCountry.map((c) => [c.country, String(c.fail), String(c.sources)]), [1, 2]));
  parts.push(`-- ${L(D.newSources)} (${d.newSources.since ?? '-'} ..)${d.newSources.hasHistory ? '' : ` — ${L(D.noHistory)}`} --`);
  parts.push(table([...srcHead, L(D.firstSeen)], d.newSources.sources.map((s) => [...srcRow(s), s.firstSeen]), [4, 5, 6]));
  return parts.join('\n') + '\n';
}

const COLORS = { authorised: '#30638e', unknownPass: '#66a182', unknownFail: '#d1495b', authorisedFail: '#edae49' };

export function renderDmarcHtml(d: DmarcSection): string {
  const out: string[] = [`<section id="dmarc"><h2>${bi(D.title)}</h2>`];
  if (!d.totals.messages) return out.concat(`<p>${bi(D.noRecords)}</p></section>`).join('\n');
  const t = d.totals;
  const card = (label: Text, value: number) => `<div class="card">${bi(label)}<b>${value}</b></div>`;
  out.push(`<p class="meta">${esc(d.domains.join(', '))} · ${esc(d.firstDate ?? '-')} – ${esc(d.lastDate ?? '-')} · ${bi(D.reporters)}: ${esc(d.reporters.map((r) => `${r.orgName} (${r.reports})`).join(', '))}</p>`);
  out.push(`<div class="cards">${card(D.messages, t.messages)}${card(D.pass, t.pass)}${card(D.fail, t.fail)}${card(D.authorised, t.authorisedSources)}${card(D.unknown, t.unknownSources)}${card(D.unknownFail, t.unknownFail)}${card(D.reports, d.reports)}</div>`);
  const f = dmarcFinding(d);
  out.push(`<section class="finding ${f.severity}"><h3><span class="sev">${bi({ en: UI.severity.en[f.severity], ja: UI.severity.ja[f.severity] })}</span>${bi(f.title)}</h3><p>${bi(f.detail)}</p><p><strong>${bi(UI.whatToDo)}:</strong> ${bi(f.action)}</p></section>`);
  // Per day: authorised (pass), authorised failing, unknown passing, unknown failing.
  const series = [
    { key: 'authorised', label: D.authorisedPass, color: COLORS.authorised, v: (x: DmarcSection['days'][number]) => x.authorised - authorisedFailOf(x) },
    { key: 'authorisedFail', label: D.authorisedFailing, color: COLORS.authorisedFail, v: authorisedFailOf },
    { key: 'unknownPass', label: D.unknownPass, color: COLORS.unknownPass, v: (x: DmarcSection['days'][number]) => x.unknown - x.unknownFail },
    { key: 'unknownFail', label: D.unknownFailing, color: COLORS.unknownFail, v: (x: DmarcSection['days'][number]) => x.unknownFail },
  ];
  out.push(`<h2>${bi(D.perDay)}</h2>`);
  out.push(stackedBars({
    id: 'chart-dmarc-days',
    title: `${D.perDay.en} / ${D.perDay.ja}`,
    series: series.map((s) => ({ key: s.key, label: `${s.label.en} / ${s.label.ja}`, color: s.color })),
    buckets: d.days.map((x) => ({ label: x.date, tick: x.date.slice(5), values: series.map((s) => s.v(x)) })),
    segments: 'rects',
  }).value);
  out.push(`<div class="legend">${series.map((s) => `<span class="key"><i style="background:${s.color}"></i>${bi(s.label)}</span>`).join('')}</div>`);
  out.push(`<h2>${bi(D.failingNetworks)}</h2>`);
  out.push(hbars({
    id: 'chart-dmarc-networks',
    title: `${D.failingNetworks.en} / ${D.failingNetworks.ja}`,
    color: COLORS.unknownFail,
    rows: d.failingByNetwork.slice(0, 15).map((g) => ({ label: `${netName(g)}${g.country ? ` (${g.country})` : ''}`, value: g.fail, note: `${g.fail} · ${g.sources.length}`, title: `${netName(g)}: ${g.fail}` })),
  }).value);
  out.push(tableHtml([bi(D.network), bi(D.country), bi(D.fail), bi(D.count), bi(D.status), bi(D.ip)],
    d.failingByNetwork.map((g) => [esc(netName(g)), esc(place(g)), String(g.fail), String(g.sources.length), bi(g.unknown ? D.unknown : D.authorised), `<code>${esc(g.sources.slice(0, 5).join(' '))}${g.sources.length > 5 ? ' …' : ''}</code>`]), [2, 3]));
  out.push(`<h2>${bi(D.failingCountries)}</h2>`);
  out.push(tableHtml([bi(D.country), bi(D.fail), bi(D.count)], d.failingByCountry.map((c) => [esc(c.country), String(c.fail), String(c.sources)]), [1, 2]));
  const srcHead = [bi(D.ip), bi(D.network), bi(D.country), bi(D.status), bi(D.total), bi(D.pass), bi(D.fail), bi(D.headerFrom)];
  const srcRow = (s: DmarcSource) => [`<code>${esc(s.ip)}</code>`, esc(netName(s)), esc(place(s)), bi(statusLabel(s)), String(s.total), `${s.pass} (${pct(s.pass, s.total)})`, String(s.fail), esc(s.headerFroms.join(' '))];
  out.push(`<h2>${bi(D.bySource)}</h2>`);
  out.push(tableHtml(srcHead, d.sources.map(srcRow), [4, 5, 6]));
  out.push(`<h2>${bi(D.newSources)}</h2>`);
  out.push(`<p class="meta">${esc(d.newSources.since ?? '-')} –${d.newSources.hasHistory ? '' : ` · ${bi(D.noHistory)}`}</p>`);
  out.push(tableHtml([...srcHead, bi(D.firstSeen)], d.newSources.sources.map((s) => [...srcRow(s), esc(s.firstSeen)]), [4, 5, 6]));
  out.push(`<h2>${bi(D.dispositions)}</h2>`);
  out.push(tableHtml([bi(D.status), bi(D.total)], Object.entries(d.byDisposition).map(([k, n]) => [bi(dispositionLabel(k)), String(n)]), [1]));
  out.push('</section>');
  return out.join('\n');
}

function authorisedFailOf(x: DmarcSection['days'][number]): number {
  // failing mail of the day that did not come from unknown sources
  return x.fail - x.unknownFail;
}
