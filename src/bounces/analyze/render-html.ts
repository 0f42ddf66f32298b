// One self-contained HTML page: inline CSS, inline SVG drawn here, no script, no external request.
// Both languages are on the page; a CSS-only toggle (radio buttons) shows one of them.
import { hbars as svgHbars, stackedBars } from '../../admin/views/charts.js';
import { ORIGIN_KINDS } from '../origin/index.js';
import { ORIGIN_LABEL, reasonLabel, UI, type Lang, type Text } from './labels.js';
import type { DayRow, Report } from './report.js';
import { bi, esc, tableHtml } from './html-parts.js';
import { renderDmarcHtml } from '../../dmarc/analyze/render.js';

export { esc } from './html-parts.js';

const REASON_COLORS = ['#d1495b', '#edae49', '#00798c', '#30638e', '#66a182', '#8e6c8a', '#e07a5f', '#3d405b'];
const OTHER_COLOR = '#9aa0a6';
const ORIGIN_COLORS: Record<string, string> = { ours: '#30638e', spoofing: '#edae49', account: '#d1495b', unrelated: '#66a182', unknown: '#9aa0a6' };
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

interface Series { key: string; label: Text; color: string; value(d: DayRow): number }

/** A stacked bar chart of days (the console's SVG helper, src/admin/views/charts.ts). Every bar segment is a <rect class="bar"> with a <title>. */
export function stackedDays(days: DayRow[], series: Series[], id: string, title: Text = { en: '', ja: '' }): string {
  const svg = stackedBars({
    id,
    title: `${title.en} / ${title.ja}`,
    series: series.map((s) => ({ key: s.key, label: `${s.label.en} / ${s.label.ja}`, color: s.color })),
    buckets: days.map((d) => ({ label: d.date, tick: d.date.slice(5), values: series.map((s) => s.value(d)) })),
    segments: 'rects',
  }).value;
  const legend = series.map((s) => `<span class="key"><i style="background:${s.color}"></i>${bi(s.label)}</span>`).join('');
  return `${svg}<div class="legend">${legend}</div>`;
}

/** Horizontal bars with labels (top recipient domains). */
export function hbars(rows: Array<{ label: string; count: number; share: number }>, id: string, color = '#30638e', title: Text = { en: '', ja: '' }): string {
  return svgHbars({
    id,
    title: `${title.en} / ${title.ja}`,
    color,
    rows: rows.map((r) => ({ label: r.label, value: r.count, note: `${r.count} · ${pct(r.share)}`, title: `${r.label}: ${r.count} (${pct(r.share)})` })),
  }).value;
}

const CSS = `
:root{color-scheme:light;--fg:#1f2328;--muted:#59636e;--line:#d0d7de;--bg:#fff;--card:#f6f8fa}
*{box-sizing:border-box}body{margin:0;font:15px/1.6 system-ui,-apple-system,"Segoe UI","Hiragino Sans","Noto Sans CJK JP","Noto Sans JP",Meiryo,sans-serif;color:var(--fg);background:var(--bg)}
main{max-width:900px;margin:0 auto;padding:16px 20px 48px}
h1{font-size:1.6em;margin:.2em 0}h2{font-size:1.2em;margin:1.6em 0 .5em;border-bottom:1px solid var(--line);padding-bottom:.2em}
.meta{color:var(--muted)}
.toggle{position:sticky;top:0;background:var(--bg);padding:8px 20px;border-bottom:1px solid var(--line);text-align:right;z-index:1}
body>input[name=lang]{position:absolute;opacity:0;pointer-events:none}.toggle label{display:inline-block;padding:2px 12px;border:1px solid var(--line);border-radius:14px;cursor:pointer;margin-left:4px}
#lang-en:checked~.toggle label[for=lang-en],#lang-ja:checked~.toggle label[for=lang-ja]{background:var(--fg);color:var(--bg)}
#lang-en:checked~main .ja,#lang-en:checked~.toggle .ja{display:none}#lang-ja:checked~main .en,#lang-ja:checked~.toggle .en{display:none}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:10px}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:8px 12px}.card b{display:block;font-size:1.6em}
.finding{border-left:6px solid #9aa0a6;background:var(--card);padding:8px 14px;margin:10px 0;border-radius:4px}
.finding.critical{border-color:#d1495b}.finding.warning{border-color:#edae49}.finding.info{border-color:#30638e}
.finding h3{margin:.1em 0;font-size:1.05em}.sev{font-size:.8em;font-weight:bold;text-transform:uppercase;margin-right:.5em}
.critical .sev{color:#b02a3a}.warning .sev{color:#8a5a00}.info .sev{color:#30638e}
.chart{display:block;max-width:100%;height:auto}.grid{stroke:#e5e8eb}.axis{stroke:#8c959f}.tick{font-size:11px;fill:#59636e}.lbl{font-size:13px;fill:#1f2328}
.legend{margin:4px 0 8px 44px}.key{display:inline-block;margin-right:14px;font-size:.9em}.key i{display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:5px;vertical-align:-1px}
table{border-collapse:collapse;width:100%;margin:6px 0;font-size:.93em}th,td{border-bottom:1px solid var(--line);padding:3px 8px;text-align:left}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
code{font-size:.9em}footer{margin-top:2em;color:var(--muted);font-size:.85em}
@media print{.toggle{display:none}}
`;

export function renderHtml(r: Report, lang: Lang = 'ja'): string {
  const t = r.totals;
  const topReasons = r.byReason.slice(0, REASON_COLORS.length - 1).map((x) => x.reason);
  const reasonSeries: Series[] = topReasons.map((reason, i) => ({
    key: reason, color: REASON_COLORS[i]!, label: { en: reasonLabel(reason, 'en'), ja: reasonLabel(reason, 'ja') }, value: (d) => d.byReason[reason] ?? 0,
  }));
  if (r.byReason.length > topReasons.length) {
    reasonSeries.push({ key: 'other', color: OTHER_COLOR, label: UI.other, value: (d) => d.bounces - topReasons.reduce((s, x) => s + (d.byReason[x] ?? 0), 0) });
  }
  const originSeries: Series[] = ORIGIN_KINDS.filter((k) => r.byOrigin[k] > 0).map((k) => ({ key: k, color: ORIGIN_COLORS[k]!, label: ORIGIN_LABEL[k], value: (d) => d.byOrigin[k] }));
  const card = (label: Text, value: number) => `<div class="card">${bi(label)}<b>${value}</b></div>`;
  const findings = r.findings.map((f) => `<section class="finding ${f.severity}"><h3><span class="sev">${bi({ en: UI.severity.en[f.severity], ja: UI.severity.ja[f.severity] })}</span>${bi(f.title)}</h3><p>${bi(f.detail)}</p><p><strong>${bi(UI.whatToDo)}:</strong> ${bi(f.action)}</p></section>`).join('');
  const period = `${esc(r.firstDate ?? '-')} – ${esc(r.lastDate ?? '-')}`;
  const html = `<!DOCTYPE html>
<html lang="${lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="referrer" content="no-referrer">
<title>Formwarden — Bounce report / バウンスレポート ${period}</title>
<style>${CSS}</style>
</head>
<body>
<input type="radio" name="lang" id="lang-ja"${lang === 'ja' ? ' checked' : ''}><input type="radio" name="lang" id="lang-en"${lang === 'en' ? ' checked' : ''}>
<div class="toggle"><label for="lang-ja" lang="ja">日本語</label><label for="lang-en" lang="en">English</label></div>
<main>
<h1>${bi(UI.title)}</h1>
<p class="meta">${bi(UI.period)}: ${period} · ${bi(UI.owner)}: ${esc(r.ownerDomains.join(', ') || '-')}</p>
<div class="cards">${card(UI.bounces, t.bounces)}${card(UI.hard, t.hard)}${card(UI.soft, t.soft)}${card(UI.complaints, t.complaints)}${card(UI.vacations, t.vacations)}${card(UI.autoReplies, t.autoRepliesToStrangers)}${card(UI.messages, t.messages)}</div>
<h2>${bi(UI.findings)}</h2>
${findings}
<h2>${bi(UI.perDayReason)}</h2>
${stackedDays(r.days, reasonSeries, 'chart-reason', UI.byReason)}
<h2>${bi(UI.perDayOrigin)}</h2>
${stackedDays(r.days, originSeries, 'chart-origin', UI.byOrigin)}
<h2>${bi(UI.domains)}</h2>
${hbars(r.recipientDomains.map((d) => ({ label: d.domain, count: d.count, share: d.share })), 'chart-domains', undefined, UI.domains)}
<h2>${bi(UI.tlds)}</h2>
${tableHtml([bi(UI.domain), bi(UI.count), bi(UI.share)], r.recipientTlds.map((x) => [esc(x.tld), String(x.count), pct(x.share)]), [1, 2])}
<h2>${bi(UI.byReason)}</h2>
${tableHtml([bi(UI.reason), '', bi(UI.count), bi(UI.share)], r.byReason.map((x) => [bi({ en: reasonLabel(x.reason, 'en'), ja: reasonLabel(x.reason, 'ja') }), `<code>${esc(x.reason)}</code>`, String(x.count), pct(x.share)]), [2, 3])}
<h2>${bi(UI.byOrigin)}</h2>
${tableHtml([bi(UI.origin), bi(UI.count)], ORIGIN_KINDS.map((k) => [bi(ORIGIN_LABEL[k]), String(r.byOrigin[k])]), [1])}
<h2>${bi(UI.ips)}</h2>
${tableHtml([bi(UI.ip), bi(UI.count), bi(UI.origin)], r.sendingIps.map((x) => [`<code>${esc(x.ip)}</code>`, String(x.count), Object.entries(x.origins).map(([k, n]) => `${bi(ORIGIN_LABEL[k as keyof typeof ORIGIN_LABEL])} ${n}`).join(', ')]), [1])}
${r.dmarc ? renderDmarcHtml(r.dmarc) : ''}
<footer>${bi(UI.generated)}: ${esc(r.generatedAt)} · ${bi(UI.messages)}: ${t.messages} · ${bi(UI.notBounces)}: ${t.notBounces} · ${bi(UI.unparseable)}: ${t.unparseable}${t.undated ? ` · ${bi(UI.undated)}: ${t.undated}` : ''}</footer>
</main>
</body>
</html>
`;
  return html;
}
