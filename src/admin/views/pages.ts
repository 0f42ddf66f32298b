// The console's pages. Every value a visitor wrote is escaped by html`` and isolated with <bdi> or
// dir="auto", so neither markup nor right-to-left overrides in it can change what the owner sees.
import type { Lang } from '../../i18n/messages.js';
import type { SubmissionDetail } from '../../submissions/detail.js';
import { actionLabel, ct, stateLabel } from '../i18n.js';
import type { InboxRow } from '../inbox.js';
import { ACTIONS } from '../inbox.js';
import { html, type Html } from './html.js';

export function loginPage(lang: Lang, opts: { csrf: string; email?: string; error?: string; next?: string }): Html {
  return html`<section class="card narrow">
<h1>${ct(lang, 'login_title')}</h1>
${opts.error ? html`<p class="alert" role="alert">${opts.error}</p>` : ''}
<form method="post" action="/admin/login">
  <input type="hidden" name="_csrf" value="${opts.csrf}">
  ${opts.next ? html`<input type="hidden" name="next" value="${opts.next}">` : ''}
  <label for="email">${ct(lang, 'email')}</label>
  <input id="email" name="email" type="email" autocomplete="username" required value="${opts.email ?? ''}">
  <label for="password">${ct(lang, 'password')}</label>
  <input id="password" name="password" type="password" autocomplete="current-password" required>
  <label for="code">${ct(lang, 'totp_code')}</label>
  <input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9 ]{6,7}" maxlength="7" aria-describedby="code-hint">
  <small id="code-hint">${ct(lang, 'totp_hint')}</small>
  <button type="submit">${ct(lang, 'login')}</button>
</form>
</section>`;
}

export function messagePage(text: string, lang: Lang): Html {
  return html`<section class="card narrow"><p role="alert">${text}</p><p><a href="/admin/inbox">${ct(lang, 'back_to_inbox')}</a></p></section>`;
}

const badge = (lang: Lang, action: string) => html`<span class="badge ${`b-${action}`}">${actionLabel(lang, action)}</span>`;

export interface InboxView {
  rows: InboxRow[];
  forms: { id: string; title: string }[];
  filter: { form?: string; action?: string; since?: string; until?: string; q?: string };
  /** Query string for the next (older) page, or undefined. */
  olderHref?: string;
  isFirstPage: boolean;
  exportQuery?: string;
  /** For the bulk actions form. */
  csrf?: string;
  /** This page's URL, to come back to after a bulk action. */
  back?: string;
  /** The sentence for the last action's result. */
  notice?: string | null;
}

const notice = (text: string | null | undefined) => (text ? html`<p class="notice" role="status">${text}</p>` : '');

export function inboxPage(lang: Lang, v: InboxView): Html {
  const f = v.filter;
  const option = (value: string, label: string, selected: boolean) => html`<option value="${value}"${selected ? html` selected` : ''}>${label}</option>`;
  return html`<h1>${ct(lang, 'inbox')}</h1>
${notice(v.notice)}
<form method="get" action="/admin/inbox" class="filters" role="search">
  <div><label for="f-form">${ct(lang, 'form')}</label>
  <select id="f-form" name="form">${option('', ct(lang, 'all_forms'), !f.form)}${v.forms.map((x) => option(x.id, x.title, f.form === x.id))}</select></div>
  <div><label for="f-action">${ct(lang, 'outcome')}</label>
  <select id="f-action" name="action">${option('', ct(lang, 'all_outcomes'), !f.action)}${ACTIONS.map((a) => option(a, actionLabel(lang, a), f.action === a))}</select></div>
  <div><label for="f-since">${ct(lang, 'since')}</label><input id="f-since" name="since" type="date" value="${f.since ?? ''}"></div>
  <div><label for="f-until">${ct(lang, 'until')}</label><input id="f-until" name="until" type="date" value="${f.until ?? ''}"></div>
  <div class="grow"><label for="f-q">${ct(lang, 'search')}</label><input id="f-q" name="q" type="search" value="${f.q ?? ''}" placeholder="${ct(lang, 'search_placeholder')}"></div>
  <div><button type="submit">${ct(lang, 'filter')}</button></div>
</form>
<p class="exports">${
    v.exportQuery
      ? html`<a href="/admin/export.csv?${v.exportQuery}" download>${ct(lang, 'export_csv')}</a> · <a href="/admin/export.json?${v.exportQuery}" download>${ct(lang, 'export_json')}</a>`
      : html`<span class="muted">${ct(lang, 'choose_form_to_export')}</span>`
  }</p>
${
  v.rows.length === 0
    ? html`<p class="empty">${ct(lang, 'none_found')}</p>`
    : html`<form method="post" action="/admin/bulk" class="bulk">
<input type="hidden" name="_csrf" value="${v.csrf ?? ''}"><input type="hidden" name="back" value="${v.back ?? '/admin/inbox'}">
<div class="bulkbar"><label for="bulk-action">${ct(lang, 'bulk_action')}</label>
<select id="bulk-action" name="action"><option value="release">${ct(lang, 'release')}</option><option value="spam">${ct(lang, 'mark_spam')}</option><option value="spam_block_address">${ct(lang, 'mark_spam')} + ${ct(lang, 'block_address')}</option><option value="delete">${ct(lang, 'delete')}</option></select>
<label class="check"><input type="checkbox" name="confirm" value="1"> ${ct(lang, 'delete_confirm')}</label>
<button type="submit">${ct(lang, 'apply')}</button></div>
<div class="scroll"><table class="inbox">
<thead><tr><th scope="col"><span class="vh">${ct(lang, 'select_row')}</span></th><th scope="col">${ct(lang, 'received')}</th><th scope="col">${ct(lang, 'receipt')}</th><th scope="col">${ct(lang, 'from')}</th><th scope="col">${ct(lang, 'summary')}</th><th scope="col">${ct(lang, 'outcome')}</th><th scope="col">${ct(lang, 'reasons')}</th></tr></thead>
<tbody>${v.rows.map(
        (r) => html`<tr>
<td><input type="checkbox" name="ids" value="${r.id}" aria-label="${ct(lang, 'select_row')} ${r.receipt}"></td>
<td class="nowrap">${r.received}<br><small>${r.formTitle}</small></td>
<td class="nowrap"><a href="/admin/submissions/${encodeURIComponent(r.id)}">${r.receipt}</a></td>
<td><bdi>${r.from}</bdi></td>
<td><bdi>${r.summary}</bdi></td>
<td>${badge(lang, r.action)} <small>${ct(lang, 'score')} ${r.score}</small></td>
<td><ul class="reasons">${r.reasons.map((s) => html`<li title="${s.symbol}">${s.label} <small>(${s.score > 0 ? '+' : ''}${s.score})</small></li>`)}</ul></td>
</tr>`,
      )}</tbody></table></div></form>`
}
<nav class="pager" aria-label="pages">${v.isFirstPage ? '' : html`<a href="/admin/inbox?${v.exportQuery ?? ''}">${ct(lang, 'newest')}</a>`} ${v.olderHref ? html`<a rel="next" href="${v.olderHref}">${ct(lang, 'older')} →</a>` : ''}</nav>`;
}

export interface SubmissionView {
  csrf?: string;
  notice?: string | null;
  /** The client address's country (offline lookup), when known. */
  country?: string | null;
  /** Who released it or marked it as spam, from the stored verdict. */
  decisions?: { kind: 'released' | 'spam'; by: string; at: string; from: string }[];
}

function actionForms(lang: Lang, d: SubmissionDetail, csrf: string): Html {
  const base = `/admin/submissions/${encodeURIComponent(d.id)}`;
  const token = html`<input type="hidden" name="_csrf" value="${csrf}">`;
  const held = (d.action === 'quarantine' || d.action === 'reject') && !d.refused;
  return html`<section aria-labelledby="h-actions" class="actions"><h2 id="h-actions">${ct(lang, 'actions')}</h2>
${
  held
    ? html`<form method="post" action="${base}/release">${token}<label class="check"><input type="checkbox" name="autoreply" value="1"> ${ct(lang, 'release_with_autoreply')}</label> <button type="submit">${ct(lang, 'release')}</button></form>`
    : ''
}
${
  d.action !== 'reject'
    ? html`<form method="post" action="${base}/spam">${token}<label for="spam-block" class="vh">${ct(lang, 'mark_spam')}</label><select id="spam-block" name="block"><option value="">${ct(lang, 'block_none')}</option><option value="address">${ct(lang, 'block_address')}</option><option value="network">${ct(lang, 'block_network')}</option></select> <button type="submit" class="secondary">${ct(lang, 'mark_spam')}</button></form>`
    : ''
}
<form method="post" action="${base}/delete">${token}<label class="check"><input type="checkbox" name="confirm" value="1" required> ${ct(lang, 'delete_confirm')}</label> <button type="submit" class="danger">${ct(lang, 'delete')}</button></form>
</section>`;
}

export function submissionPage(lang: Lang, d: SubmissionDetail, v: SubmissionView = {}): Html {
  return html`<p><a href="/admin/inbox">← ${ct(lang, 'back_to_inbox')}</a></p>
${notice(v.notice)}
<h1>${ct(lang, 'submission')} ${d.receipt ?? d.id} ${badge(lang, d.action)}</h1>
${(v.decisions ?? []).map((x) => html`<p class="muted">${ct(lang, x.kind === 'released' ? 'released_note' : 'spam_note', { by: x.by, at: x.at, from: x.from })}</p>`)}
${v.csrf ? actionForms(lang, d, v.csrf) : ''}
<dl class="meta">
  <dt>${ct(lang, 'received')}</dt><dd>${d.createdLocal}</dd>
  <dt>${ct(lang, 'form')}</dt><dd>${d.formTitle}</dd>
  <dt>${ct(lang, 'score')}</dt><dd>${d.score}</dd>
  <dt>${ct(lang, 'client')}</dt><dd><bdi>${d.ip}</bdi>${v.country ? html` (${ct(lang, 'country')}: ${v.country})` : ''} <small><bdi>${d.userAgent}</bdi></small></dd>
  <dt>${ct(lang, 'notify')}</dt><dd>${stateLabel(lang, d.notify)} <small><code>${d.notify}</code></small></dd>
  <dt>${ct(lang, 'autoreply')}</dt><dd>${stateLabel(lang, d.autoreply)} <small><code>${d.autoreply}</code></small>${d.suppressed ? html`<br><small>${ct(lang, 'suppressed_now')}</small>` : ''}${d.abuseLinks.map((at) => html`<br><small>${ct(lang, 'abuse_link')}: ${at}</small>`)}</dd>
</dl>
<section aria-labelledby="h-fields"><h2 id="h-fields">${ct(lang, 'fields')}</h2>
${d.refused ? html`<p class="muted">${ct(lang, 'refused')} (${d.refused})</p>` : ''}
<dl class="fields">${[...d.fields, ...d.extraFields].map((f) => html`<dt>${f.label}</dt><dd dir="auto" class="value">${f.value}</dd>`)}</dl>
${
  d.files.length
    ? html`<h3>${ct(lang, 'files')}</h3><ul>${d.files.map((x) => html`<li><bdi>${x.filename}</bdi> <small>(${x.contentType}, ${x.size} bytes)</small></li>`)}</ul>`
    : ''
}
</section>
<section aria-labelledby="h-verdict"><h2 id="h-verdict">${ct(lang, 'verdict')}</h2>
${
  d.symbols.length === 0
    ? html`<p>${ct(lang, 'no_symbols')}</p>`
    : html`<table class="verdict"><thead><tr><th scope="col">${ct(lang, 'score')}</th><th scope="col">${ct(lang, 'reasons')}</th></tr></thead><tbody>${d.symbols.map(
        (s) => html`<tr><td class="num">${s.score > 0 ? '+' : ''}${s.score}</td><td>${s.explanation || s.symbol}<br><small><code>${s.symbol}</code>${s.detail ? html` · <bdi>${s.detail}</bdi>` : ''}</small></td></tr>`,
      )}</tbody></table>`
}
</section>
<section aria-labelledby="h-mails"><h2 id="h-mails">${ct(lang, 'mails')}</h2>
${
  d.mails.length === 0
    ? html`<p>${ct(lang, 'no_mails')}</p>`
    : html`<div class="scroll"><table><thead><tr><th scope="col">${ct(lang, 'mail_kind')}</th><th scope="col">${ct(lang, 'mail_state')}</th><th scope="col">${ct(lang, 'mail_to')}</th><th scope="col">${ct(lang, 'attempts')}</th><th scope="col">${ct(lang, 'sent_at')}</th><th scope="col">${ct(lang, 'error')}</th></tr></thead><tbody>${d.mails.map(
        (m) => html`<tr><td><a href="/admin/mail/${encodeURIComponent(m.id)}">${m.kind}</a></td><td>${m.state}${m.dueLocal ? html`<br><small>${ct(lang, 'due_at')} ${m.dueLocal}</small>` : ''}</td><td><bdi>${m.to}</bdi></td><td class="num">${m.attempts}</td><td>${m.sentLocal ?? ''}</td><td><bdi>${m.lastError ?? ''}</bdi></td></tr>`,
      )}</tbody></table></div>`
}
${
  d.bounces.length
    ? html`<h3>${ct(lang, 'bounces')}</h3><ul>${d.bounces.map((b) => html`<li>${b.at} ${b.event} ${b.mail} <bdi>${b.address}</bdi> ${b.reason} ${b.status}</li>`)}</ul>`
    : ''
}
</section>`;
}
