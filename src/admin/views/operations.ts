// The console's operations pages: breakers, block/allow lists and bans, the suppression list, alerts, the
// outbox and one mail. Values that come from visitors or from remote servers (addresses, subjects, notes,
// errors, mail text) are escaped by html`` and isolated with <bdi> or dir="auto".
import type { Lang } from '../../i18n/messages.js';
import type { DecodedMail } from '../../mail/decode.js';
import { olabel, ot, type OpsKey } from '../operations-i18n.js';
import { html, type Html } from './html.js';

export const OPS = '/admin/operations';

/** A message after an action: done (a fixed key) or an error (text that may quote what was typed). */
export interface Notice {
  done?: OpsKey;
  error?: string;
}

function noticeOf(lang: Lang, n?: Notice): Html | '' {
  if (n?.error) return html`<p class="alert" role="alert"><bdi>${n.error}</bdi></p>`;
  if (n?.done) return html`<p class="notice" role="status">${ot(lang, n.done)}</p>`;
  return '';
}

/** A one-button form posting hidden fields (with the session's CSRF token). */
function postButton(action: string, csrf: string, fields: Record<string, string>, label: string, cls = 'small'): Html {
  return html`<form method="post" action="${action}" class="inline"><input type="hidden" name="_csrf" value="${csrf}">${Object.entries(fields).map(
    ([k, v]) => html`<input type="hidden" name="${k}" value="${v}">`,
  )}<button type="submit" class="${cls}">${label}</button></form>`;
}

const pager = (lang: Lang, v: { olderHref?: string; newestHref?: string }) =>
  v.olderHref || v.newestHref
    ? html`<nav class="pager" aria-label="pages">${v.newestHref ? html`<a href="${v.newestHref}">${ot(lang, 'newest')}</a>` : html`<span></span>`} ${v.olderHref ? html`<a rel="next" href="${v.olderHref}">${ot(lang, 'older')} →</a>` : ''}</nav>`
    : '';

const back = (lang: Lang) => html`<p class="ops-back"><a href="${OPS}">← ${ot(lang, 'back')}</a></p>`;
/** A table head; `action` names a last column of buttons (read by screen readers only). */
const th = (lang: Lang, keys: OpsKey[], action?: OpsKey) =>
  html`<thead><tr>${keys.map((k) => html`<th scope="col">${ot(lang, k)}</th>`)}${action ? html`<th scope="col"><span class="vh">${ot(lang, action)}</span></th>` : ''}</tr></thead>`;

export interface OverviewView {
  breakers: { open: number; half: number };
  rules: { block: number; allow: number };
  bans: number;
  suppressions: number;
  lastAlert: string | null;
  outbox: Record<string, number>;
}

export function overviewPage(lang: Lang, v: OverviewView): Html {
  const card = (href: string, title: OpsKey, state: string, warn: boolean) =>
    html`<li class="ops-card${warn ? ' warn' : ''}"><a href="${href}">${ot(lang, title)}</a><span>${state}</span></li>`;
  const n = (k: string) => v.outbox[k] ?? 0;
  return html`<h1>${ot(lang, 'title')}</h1>
<p class="muted">${ot(lang, 'intro')}</p>
<ul class="ops-cards">
${card(`${OPS}/breakers`, 'breakers', v.breakers.open + v.breakers.half === 0 ? ot(lang, 'all_closed') : ot(lang, 'open_count', { open: v.breakers.open, half: v.breakers.half }), v.breakers.open + v.breakers.half > 0)}
${card(`${OPS}/ip-lists`, 'ip_lists', ot(lang, 'rules_count', { block: v.rules.block, allow: v.rules.allow, bans: v.bans }), false)}
${card(`${OPS}/suppressions`, 'suppressions', ot(lang, 'suppressed_count', { n: v.suppressions }), false)}
${card(`${OPS}/alerts`, 'alerts', v.lastAlert ? ot(lang, 'last_alert', { at: v.lastAlert }) : ot(lang, 'no_alerts'), false)}
${card(`${OPS}/outbox`, 'outbox', ot(lang, 'outbox_count', { pending: n('pending'), dead: n('dead'), sent: n('sent') }), n('dead') > 0)}
</ul>`;
}

export interface BreakerRow {
  scope: string;
  /** What `formwarden breaker reset` takes: a form id or "instance". */
  form: string;
  /** The form's title, or the instance. */
  label: string;
  state: string;
  reason: string;
  since: string;
  tripped: string;
  retry: string;
  /** A row exists in the database (a reset has something to close). */
  stored: boolean;
}

export interface HistoryRow {
  at: string;
  detail: string;
}

export function breakersPage(lang: Lang, v: { csrf: string; rows: BreakerRow[]; history: HistoryRow[]; olderHref?: string; newestHref?: string; notice?: Notice }): Html {
  return html`${back(lang)}<h1>${ot(lang, 'breakers')}</h1>
${noticeOf(lang, v.notice)}
<p class="muted">${ot(lang, 'breakers_intro')}</p>
<div class="scroll"><table class="ops">${th(lang, ['scope', 'state', 'reason', 'since', 'tripped_at', 'retry_at'], 'reset')}
<tbody>${v.rows.map(
    (r) => html`<tr><td>${r.label}<br><small><code>${r.scope}</code></small></td><td><span class="badge st-${r.state}">${olabel(lang, 'state', r.state)}</span></td><td><bdi>${r.reason}</bdi></td><td class="nowrap">${r.since}</td><td class="nowrap">${r.tripped}</td><td class="nowrap">${r.retry}</td><td>${
      r.stored && r.state !== 'closed' ? postButton(`${OPS}/breakers/reset`, v.csrf, { form: r.form }, ot(lang, 'reset')) : ''
    }</td></tr>`,
  )}</tbody></table></div>
<h2>${ot(lang, 'history')}</h2>
${
  v.history.length === 0
    ? html`<p class="empty">${ot(lang, 'no_history')}</p>`
    : html`<div class="scroll"><table class="ops">${th(lang, ['at', 'detail'])}<tbody>${v.history.map((h) => html`<tr><td class="nowrap">${h.at}</td><td><bdi>${h.detail}</bdi></td></tr>`)}</tbody></table></div>`
}
${pager(lang, v)}`;
}

export interface RuleRow {
  cidr: string;
  list: string;
  expires: string;
  expired: boolean;
  note: string;
  added: string;
}

export interface BanRow {
  key: string;
  until: string;
  level: number;
}

export function ipListsPage(
  lang: Lang,
  v: { csrf: string; rules: RuleRow[]; bans: BanRow[]; form: { cidr: string; list: string; expires: string; note: string }; notice?: Notice },
): Html {
  const f = v.form;
  return html`${back(lang)}<h1>${ot(lang, 'ip_lists')}</h1>
${noticeOf(lang, v.notice)}
<form method="post" action="${OPS}/ip-lists/add" class="filters ops-add">
  <input type="hidden" name="_csrf" value="${v.csrf}">
  <div class="grow"><label for="r-cidr">${ot(lang, 'cidr')}</label><input id="r-cidr" name="cidr" required maxlength="64" value="${f.cidr}" placeholder="203.0.113.0/24"></div>
  <div><label for="r-list">${ot(lang, 'list')}</label><select id="r-list" name="list">${(['block', 'allow'] as const).map(
    (l) => html`<option value="${l}"${f.list === l ? html` selected` : ''}>${olabel(lang, 'list', l)}</option>`,
  )}</select></div>
  <div><label for="r-expires">${ot(lang, 'expires')}</label><input id="r-expires" name="expires" maxlength="64" value="${f.expires}" placeholder="7d" aria-describedby="r-expires-hint"></div>
  <div class="grow"><label for="r-note">${ot(lang, 'note')}</label><input id="r-note" name="note" maxlength="500" value="${f.note}"></div>
  <div><button type="submit">${ot(lang, 'add')}</button></div>
  <p id="r-expires-hint" class="hint">${ot(lang, 'expires_hint')}</p>
</form>
${
  v.rules.length === 0
    ? html`<p class="empty">${ot(lang, 'no_rules')}</p>`
    : html`<div class="scroll"><table class="ops">${th(lang, ['cidr', 'list', 'expires', 'note', 'added'], 'remove')}<tbody>${v.rules.map(
        (r) => html`<tr><td><code>${r.cidr}</code></td><td><span class="badge l-${r.list}">${olabel(lang, 'list', r.list)}</span></td><td class="nowrap">${r.expires}${r.expired ? html` <small>(${ot(lang, 'expired')})</small>` : ''}</td><td><bdi>${r.note}</bdi></td><td class="nowrap">${r.added}</td><td>${postButton(`${OPS}/ip-lists/remove`, v.csrf, { cidr: r.cidr }, ot(lang, 'remove'), 'small secondary')}</td></tr>`,
      )}</tbody></table></div>`
}
<h2>${ot(lang, 'bans')}</h2>
${
  v.bans.length === 0
    ? html`<p class="empty">${ot(lang, 'no_bans')}</p>`
    : html`<div class="scroll"><table class="ops">${th(lang, ['ban_key', 'banned_until', 'level'], 'unban')}<tbody>${v.bans.map(
        (b) => html`<tr><td><code><bdi>${b.key}</bdi></code></td><td class="nowrap">${b.until}</td><td class="num">${b.level}</td><td>${postButton(`${OPS}/bans/lift`, v.csrf, { key: b.key }, ot(lang, 'unban'), 'small secondary')}</td></tr>`,
      )}</tbody></table></div>`
}`;
}

export interface SuppressionRow {
  address: string;
  reason: string;
  note: string;
  added: string;
}

export function suppressionsPage(
  lang: Lang,
  v: { csrf: string; rows: SuppressionRow[]; form: { address: string; note: string }; olderHref?: string; newestHref?: string; notice?: Notice },
): Html {
  return html`${back(lang)}<h1>${ot(lang, 'suppressions')}</h1>
${noticeOf(lang, v.notice)}
<p class="muted">${ot(lang, 'suppressions_intro')}</p>
<form method="post" action="${OPS}/suppressions/add" class="filters ops-add">
  <input type="hidden" name="_csrf" value="${v.csrf}">
  <div class="grow"><label for="s-address">${ot(lang, 'address')}</label><input id="s-address" name="address" type="email" required maxlength="254" value="${v.form.address}"></div>
  <div class="grow"><label for="s-note">${ot(lang, 'note')}</label><input id="s-note" name="note" maxlength="500" value="${v.form.note}"></div>
  <div><button type="submit">${ot(lang, 'add')}</button></div>
</form>
${
  v.rows.length === 0
    ? html`<p class="empty">${ot(lang, 'no_suppressions')}</p>`
    : html`<div class="scroll"><table class="ops">${th(lang, ['address', 'suppress_reason', 'note', 'added'], 'remove')}<tbody>${v.rows.map(
        (r) => html`<tr><td><bdi>${r.address}</bdi></td><td>${olabel(lang, 'reason', r.reason)}</td><td><bdi>${r.note}</bdi></td><td class="nowrap">${r.added}</td><td>${postButton(`${OPS}/suppressions/remove`, v.csrf, { address: r.address }, ot(lang, 'remove'), 'small secondary')}</td></tr>`,
      )}</tbody></table></div>`
}
${pager(lang, v)}`;
}

export interface MailRow {
  id: string;
  kind: string;
  state: string;
  to: string;
  subject: string;
  attempts: number;
  created: string;
  next: string;
  error: string;
}

function mailTable(lang: Lang, rows: MailRow[], csrf?: string): Html {
  if (rows.length === 0) return html`<p class="empty">${ot(lang, 'no_mails')}</p>`;
  return html`<div class="scroll"><table class="ops">${th(lang, ['created', 'kind', 'state', 'to', 'subject', 'attempts', 'next_attempt', 'error'], 'open')}<tbody>${rows.map(
    (m) => html`<tr><td class="nowrap">${m.created}</td><td>${olabel(lang, 'kind', m.kind)}</td><td><span class="badge ms-${m.state}">${olabel(lang, 'mstate', m.state)}</span></td><td><bdi>${m.to}</bdi></td><td><bdi>${m.subject}</bdi></td><td class="num">${m.attempts}</td><td class="nowrap">${m.next}</td><td><bdi>${m.error}</bdi></td><td class="nowrap"><a href="/admin/mail/${encodeURIComponent(m.id)}">${ot(lang, 'open')}</a>${
      csrf && (m.state === 'dead' || m.state === 'pending') ? html` ${postButton(`${OPS}/outbox/retry`, csrf, { id: m.id }, ot(lang, 'retry'))}` : ''
    }</td></tr>`,
  )}</tbody></table></div>`;
}

export function alertsPage(
  lang: Lang,
  v: { events: { at: string; form: string; detail: string }[]; olderHref?: string; newestHref?: string; mails: MailRow[]; mailsOlderHref?: string; mailsNewestHref?: string },
): Html {
  return html`${back(lang)}<h1>${ot(lang, 'alerts')}</h1>
<h2>${ot(lang, 'alert_events')}</h2>
${
  v.events.length === 0
    ? html`<p class="empty">${ot(lang, 'no_alerts')}</p>`
    : html`<div class="scroll"><table class="ops">${th(lang, ['at', 'form', 'detail'])}<tbody>${v.events.map((e) => html`<tr><td class="nowrap">${e.at}</td><td>${e.form}</td><td><bdi>${e.detail}</bdi></td></tr>`)}</tbody></table></div>`
}
${pager(lang, v)}
<h2>${ot(lang, 'alert_mails')}</h2>
${mailTable(lang, v.mails)}
${pager(lang, { olderHref: v.mailsOlderHref, newestHref: v.mailsNewestHref })}`;
}

export const MAIL_KINDS = ['notify', 'autoreply', 'alert', 'digest', 'webhook'] as const;
export const MAIL_STATES = ['pending', 'dead', 'sent', 'cancelled'] as const;

export function outboxPage(
  lang: Lang,
  v: { csrf: string; rows: MailRow[]; filter: { kind?: string; state?: string }; counts: Record<string, number>; olderHref?: string; newestHref?: string; notice?: Notice },
): Html {
  const f = v.filter;
  const option = (value: string, label: string, selected: boolean) => html`<option value="${value}"${selected ? html` selected` : ''}>${label}</option>`;
  return html`${back(lang)}<h1>${ot(lang, 'outbox')}</h1>
${noticeOf(lang, v.notice)}
<ul class="ops-counts">${MAIL_STATES.map((s) => html`<li><a href="${OPS}/outbox?state=${s}">${olabel(lang, 'mstate', s)}</a> <strong>${v.counts[s] ?? 0}</strong></li>`)}</ul>
<form method="get" action="${OPS}/outbox" class="filters">
  <div><label for="o-kind">${ot(lang, 'kind')}</label><select id="o-kind" name="kind">${option('', ot(lang, 'all_kinds'), !f.kind)}${MAIL_KINDS.map((k) => option(k, olabel(lang, 'kind', k), f.kind === k))}</select></div>
  <div><label for="o-state">${ot(lang, 'state')}</label><select id="o-state" name="state">${option('', ot(lang, 'all_states'), !f.state)}${MAIL_STATES.map((s) => option(s, olabel(lang, 'mstate', s), f.state === s))}</select></div>
  <div><button type="submit">${ot(lang, 'filter')}</button></div>
</form>
${mailTable(lang, v.rows, v.csrf)}
${pager(lang, v)}`;
}

/** One mail on its own page: a row's fields, and what the page shows of it. */
export interface MailView extends Omit<MailRow, 'next'> {
  sent: string;
  form: string;
  submissionId: string | null;
  /** The stored source exists (the mail left, or was captured). */
  hasRaw: boolean;
  shown: { type: 'decoded'; mail: DecodedMail } | { type: 'raw'; text: string } | { type: 'payload'; text: string } | { type: 'stored'; text: string };
  back: { href: string; label: string };
}

export function mailPage(lang: Lang, v: MailView): Html {
  const self = `/admin/mail/${encodeURIComponent(v.id)}`;
  const s = v.shown;
  const webhook = v.kind === 'webhook';
  let body: Html;
  if (s.type === 'decoded') {
    const m = s.mail;
    body = html`<dl class="meta mail-head">
  <dt>${ot(lang, 'from')}</dt><dd><bdi>${m.from}</bdi></dd>
  <dt>${ot(lang, 'to')}</dt><dd><bdi>${m.to}</bdi></dd>
  ${m.replyTo !== null ? html`<dt>${ot(lang, 'reply_to')}</dt><dd><bdi>${m.replyTo}</bdi></dd>` : ''}
  <dt>${ot(lang, 'subject')}</dt><dd><bdi>${m.subject}</bdi></dd>
  <dt>${ot(lang, 'date')}</dt><dd>${m.date}</dd>
  ${m.attachments.map((a) => html`<dt>${ot(lang, 'attached')}</dt><dd><bdi>${a.filename ?? '(no name)'}</bdi> <small>(${a.contentType}, ${a.size} bytes)</small></dd>`)}
</dl>
<h2>${ot(lang, 'text_part')}</h2>
<div class="mail-text value" dir="auto">${m.text}</div>`;
  } else if (s.type === 'raw') {
    body = html`<h2>${ot(lang, 'raw_source')}</h2><pre class="mail-raw">${s.text}</pre>`;
  } else if (s.type === 'payload') {
    body = html`<h2>${ot(lang, 'payload')}</h2><pre class="mail-raw" dir="auto">${s.text}</pre>`;
  } else {
    body = html`<p class="muted">${ot(lang, 'not_sent_yet')}</p><div class="mail-text value" dir="auto">${s.text}</div>`;
  }
  return html`<p class="ops-back"><a href="${v.back.href}">← ${v.back.label}</a></p>
<h1>${ot(lang, 'mail')} <code>${v.id}</code></h1>
<dl class="meta">
  <dt>${ot(lang, 'kind')}</dt><dd>${olabel(lang, 'kind', v.kind)}</dd>
  <dt>${ot(lang, 'state')}</dt><dd><span class="badge ms-${v.state}">${olabel(lang, 'mstate', v.state)}</span> <small>${ot(lang, 'attempts')} ${v.attempts}</small></dd>
  <dt>${webhook ? ot(lang, 'webhook_target') : ot(lang, 'to')}</dt><dd><bdi>${v.to}</bdi></dd>
  <dt>${ot(lang, 'subject')}</dt><dd><bdi>${v.subject}</bdi></dd>
  <dt>${ot(lang, 'created')}</dt><dd>${v.created}</dd>
  ${v.sent ? html`<dt>${ot(lang, 'date')}</dt><dd>${v.sent}</dd>` : ''}
  ${v.error ? html`<dt>${ot(lang, 'error')}</dt><dd><bdi>${v.error}</bdi></dd>` : ''}
  ${v.form ? html`<dt>${ot(lang, 'form')}</dt><dd>${v.form}</dd>` : ''}
  ${v.submissionId ? html`<dt>${ot(lang, 'submission')}</dt><dd><a href="/admin/submissions/${encodeURIComponent(v.submissionId)}">${v.submissionId}</a></dd>` : ''}
</dl>
${
  v.hasRaw && !webhook
    ? html`<p class="mail-switch">${s.type === 'raw' ? html`<a href="${self}">${ot(lang, 'show_decoded')}</a>` : html`<a href="${self}?raw=1">${ot(lang, 'show_raw')}</a>`}</p>`
    : ''
}
${body}`;
}
