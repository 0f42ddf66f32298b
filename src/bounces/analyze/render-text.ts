// Terminal rendering of the report: plain tables, one language.
import { jsonTerminalSafe } from '../../util/terminal-safe.js';
import { displayWidth, safe, table } from './text-table.js';
import { ORIGIN_KINDS } from '../origin/index.js';
import { ORIGIN_LABEL, reasonLabel, UI, type Lang } from './labels.js';
import type { Report } from './report.js';
import { renderDmarcText } from '../../dmarc/analyze/render.js';

export { displayWidth, safe, table } from './text-table.js';

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

function wrap(text: string, width = 96, indent = '    '): string {
  const out: string[] = [];
  let line = '';
  // Japanese has no spaces: break on width, Latin text on spaces.
  for (const word of text.split(/(?<= )/)) {
    if (displayWidth(line + word) > width && line) { out.push(line.trimEnd()); line = ''; }
    if (displayWidth(word) > width) {
      for (const ch of word) {
        if (displayWidth(line + ch) > width) { out.push(line); line = ''; }
        line += ch;
      }
    } else line += word;
  }
  if (line.trim()) out.push(line.trimEnd());
  return out.map((l) => indent + l).join('\n');
}

export function renderText(r: Report, lang: Lang = 'en'): string {
  const L = (t: { en: string; ja: string }) => t[lang];
  const parts: string[] = [];
  const t = r.totals;
  parts.push(`${L(UI.title)}  ${r.firstDate ?? '-'} .. ${r.lastDate ?? '-'}`);
  parts.push(`${L(UI.owner)}: ${safe(r.ownerDomains.join(', ')) || '-'}`);
  parts.push(table([L(UI.total), L(UI.count)], [
    [L(UI.messages), String(t.messages)],
    [L(UI.bounces), String(t.bounces)],
    [`  ${L(UI.hard)} / ${L(UI.soft)}`, `${t.hard} / ${t.soft}`],
    [L(UI.complaints), String(t.complaints)],
    [L(UI.vacations), String(t.vacations)],
    [L(UI.autoReplies), String(t.autoRepliesToStrangers)],
    [L(UI.notBounces), String(t.notBounces)],
    [L(UI.unparseable), String(t.unparseable)],
    ...(t.undated ? [[L(UI.undated), String(t.undated)]] : []),
  ], [1]));

  parts.push(`== ${L(UI.findings)} ==`);
  for (const f of r.findings) {
    parts.push(`[${UI.severity[lang][f.severity]}] ${safe(L(f.title))}\n${wrap(safe(L(f.detail)))}\n${wrap(`${L(UI.whatToDo)}: ${safe(L(f.action))}`)}`);
  }

  const topReasons = r.byReason.slice(0, 5).map((x) => x.reason);
  parts.push(`== ${L(UI.perDayReason)} ==`);
  parts.push(table(
    [L(UI.date), L(UI.bounces), ...topReasons.map((x) => reasonLabel(x, lang)), L(UI.other), ...ORIGIN_KINDS.map((k) => L(ORIGIN_LABEL[k]))],
    r.days.map((d) => {
      const other = d.bounces - topReasons.reduce((s, x) => s + (d.byReason[x] ?? 0), 0);
      return [d.date, String(d.bounces), ...topReasons.map((x) => String(d.byReason[x] ?? 0)), String(other), ...ORIGIN_KINDS.map((k) => String(d.byOrigin[k]))];
    }),
    Array.from({ length: 2 + topReasons.length + ORIGIN_KINDS.length }, (_, i) => i + 1),
  ));
  parts.push(`== ${L(UI.byReason)} ==`);
  parts.push(table([L(UI.reason), '', L(UI.count), L(UI.share)], r.byReason.map((x) => [reasonLabel(x.reason, lang), x.reason, String(x.count), pct(x.share)]), [2, 3]));
  parts.push(`== ${L(UI.byOrigin)} ==`);
  parts.push(table([L(UI.origin), '', L(UI.count)], ORIGIN_KINDS.map((k) => [L(ORIGIN_LABEL[k]), k, String(r.byOrigin[k])]), [2]));
  parts.push(`== ${L(UI.domains)} ==`);
  parts.push(table([L(UI.domain), L(UI.count), L(UI.share)], r.recipientDomains.map((x) => [x.domain, String(x.count), pct(x.share)]), [1, 2]));
  parts.push(`== ${L(UI.tlds)} ==`);
  parts.push(table([L(UI.domain), L(UI.count), L(UI.share)], r.recipientTlds.map((x) => [x.tld, String(x.count), pct(x.share)]), [1, 2]));
  parts.push(`== ${L(UI.ips)} ==`);
  parts.push(table([L(UI.ip), L(UI.count), L(UI.origin)], r.sendingIps.map((x) => [x.ip, String(x.count),
    Object.entries(x.origins).map(([k, n]) => `${k}:${n}`).join(' ')]), [1]));
  if (r.dmarc) parts.push(renderDmarcText(r.dmarc, lang));
  return parts.join('\n') + '\n';
}

/** JSON: C0 is escaped by JSON.stringify, C1 and bidi controls by jsonTerminalSafe (the data is unchanged). */
export function renderJson(r: Report): string {
  return jsonTerminalSafe(JSON.stringify(r, null, 2)) + '\n';
}
