// Telling the owner at once: an alert mail (through the outbox, to the form's owners and alerts.to)
// and, when configured, a webhook (generic JSON, Slack- or Chatwork-compatible). Alerts are themselves
// rate-limited per scope and kind. Samples are defanged so the alert never carries a clickable spam link,
// and everything that came from outside (visitor text, IPs, domains) is escaped for the target it is
// rendered for, so it cannot mention (@here, [toall]), link, close a code block or fake a line.
import { sql, type Kysely } from 'kysely';
import type { Config } from '../config/schema.js';
import { networkKey, parseAddress } from '../defenses/client-address/index.js';
import { enqueue, outboxRow } from '../mail/outbox.js';
import { defang } from '../relay/defang.js';
import type { Database } from '../store/schema.js';
import type { Clock } from '../util/clock.js';
import { mustDuration } from '../util/duration.js';
import { newId } from '../util/id.js';
import type { TripInfo } from './breaker.js';

export interface AlertDeps {
  db: Kysely<Database>;
  config: Config;
  clock: Clock;
  fromAddress: string;
  fetch?: typeof fetch;
  onQueued?: () => void;
  log?: { warn(obj: object, msg: string): void };
  /** On PostgreSQL the once-per-interval check is made under a lock per scope, so two processes never both alert. */
  dialect?: 'sqlite' | 'postgres';
}

export type AlertTarget = 'mail' | 'json' | 'slack' | 'chatwork';

/** A piece of alert text: a string is ours (template, counts, the owner's config); `{ u }` came from outside. */
type Piece = string | { u: string };
interface AlertDoc {
  subject: Piece[];
  body: Piece[];
}

const UNTRUSTED_MAX = 400;
const u = (s: string): Piece => ({ u: s });
/** A client address as it is when it is one; anything else stored in its place is defanged like visitor text. */
const showIp = (ip: string): string => (parseAddress(ip) ? ip : defang(ip, 100));

/**
 * One line, no control, bidi or zero-width characters, no scheme:// left but defang's hxxp(s)://, bounded:
 * what every target gets from outside text.
 */
export function oneLine(s: string, max = UNTRUSTED_MAX): string {
  const cps = Array.from(s.length > max * 4 ? s.slice(0, max * 4) : s);
  const cut = cps.length > max ? `${cps.slice(0, max).join('')}…` : cps.join('');
  return cut
    .replace(/\r\n|[\r\n\u2028\u2029]/g, ' ⏎ ')
    .replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu, (c) => (c === '\t' ? ' ' : ''))
    .replace(/([a-z0-9+.-]*):\/\//gi, (m, scheme: string) => (/^hxxps?$/i.test(scheme) ? m : `${scheme}[://]`));
}

/** Slack mrkdwn: &, <, > are the only escapes it knows; they must be applied to the whole text. */
export function slackEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * Outside text for Slack: no backtick (a fence cannot be closed or opened), and *, _, ~ followed by a
 * zero-width space so they format nothing even outside the code block. (&, <, > are escaped afterwards.)
 */
function slackPiece(s: string): string {
  return oneLine(s).replace(/`/g, 'ˋ').replace(/[*_~]/g, (c) => `${c}\u200b`);
}

/** Outside text for Chatwork: no ASCII square bracket, so no tag ([toall], [To:1], [/info], [code], ...) can form. */
export function chatworkPiece(s: string): string {
  return oneLine(s).replace(/\[/g, '［').replace(/\]/g, '］');
}

/** JSON that is also safe to paste into HTML or a JavaScript string (<, >, &, U+2028/9 escaped). */
export function safeJson(v: unknown): string {
  return JSON.stringify(v).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function render(pieces: Piece[], esc: (s: string) => string): string {
  return pieces.map((p) => (typeof p === 'string' ? p : esc(p.u))).join('');
}

/** A template whose interpolations are ours unless wrapped in u(); arrays are spliced in. */
function t(strings: TemplateStringsArray, ...values: (Piece | Piece[] | number)[]): Piece[] {
  const out: Piece[] = [];
  strings.forEach((s, i) => {
    out.push(s);
    if (i >= values.length) return;
    const v = values[i]!;
    if (Array.isArray(v)) out.push(...v);
    else out.push(typeof v === 'number' ? String(v) : v);
  });
  return out;
}

/**
 * Slow drip (cap-watch.ts): an auto-reply cap of a form, or the instance budget, was used up in `hours` clock
 * hours running. Nothing is stopped (the caps hold); the owner is told once per streak.
 */
export interface CapAlert {
  kind: 'cap';
  /** cap:form:<id>, cap:site:<id> or cap:instance */
  scope: string;
  formId: string | null;
  /** A site's budget (sites[].autoreplyBudget): the site's id and its forms, whose owners are told. */
  site?: string;
  forms?: string[];
  hours: number;
  /** Start of the streak (ms). */
  since: number;
  /** The caps that were used up: scope (form-hour, form-day, site-hour, site-day, global-hour, global-day), limit, window. */
  caps: { scope: string; limit: number; windowSeconds: number }[];
}

function capDoc(config: Config, a: CapAlert): AlertDoc {
  const form = a.formId ? `form "${a.formId}"` : a.site ? `site "${a.site}" (forms ${a.forms?.join(', ')})` : 'all forms together';
  const formJa = a.formId ? `フォーム「${a.formId}」` : a.site ? `サイト「${a.site}」（フォーム ${a.forms?.join('、')}）` : '全フォーム合計';
  const what = a.formId ? 'its auto-reply cap' : a.site ? "the site's budget (sites[].autoreplyBudget)" : 'the instance budget (mail.autoreplyBudget)';
  const whatJa = a.formId ? '自動返信の上限' : a.site ? 'サイトの自動返信の上限（sites[].autoreplyBudget）' : 'インスタンス全体の上限（mail.autoreplyBudget）';
  const since = new Date(a.since).toISOString().slice(0, 16).replace('T', ' ');
  const caps = a.caps.map((c) => `  ${c.scope}: ${c.limit} per ${c.windowSeconds % 3600 === 0 ? `${c.windowSeconds / 3600}h` : `${c.windowSeconds}s`}`).join('\n');
  const list = a.formId ? ` --form ${a.formId}` : a.forms?.length === 1 ? ` --form ${a.forms[0]}` : '';
  const budget = a.site ? 'sites[].autoreplyBudget' : 'mail.autoreplyBudget';
  const hours = `${a.hours} clock hour${a.hours === 1 ? '' : 's'}`;
  const subject = `[${config.siteName}] Formwarden alert: ${form} used up ${what} (${hours} running) / ${formJa}が${whatJa}に達しました（${a.hours}時間連続）`;
  const body = `${form[0]!.toUpperCase()}${form.slice(1)} used up ${what} in each of the last ${hours} (since ${since} UTC).
This is what a patient bot looks like: it stays under every rate and trip rule and sends one auto-reply after
another to addresses it typed, up to the cap. Auto-replies go on within the caps; visitors beyond them get no
auto-reply (their inquiries still reach you).
Check the recipients with \`formwarden submissions list${list}\`. If they are not your customers, lower
autoreply.caps (or ${budget}), or turn the auto-reply off; if they are, raise the caps.

${formJa}は直近 ${a.hours} 時間続けて${whatJa}に達しました（${since} UTC から）。
すべての制限の少し下に留まりながら、入力したアドレスへ上限まで自動返信を送らせる、辛抱強いボットの典型的な挙動です。
自動返信は上限の範囲で続いています。上限を超えた訪問者には自動返信が届きません（お問い合わせ自体は届きます）。
\`formwarden submissions list${list}\` で宛先を確認してください。顧客でなければ autoreply.caps（または
${budget}）を下げるか自動返信を止め、顧客であれば上限を上げてください。

Caps used up / 上限に達したもの:
${caps}
`;
  return { subject: [subject], body: [body] };
}

function alertDoc(config: Config, trip: TripInfo | CapAlert): AlertDoc {
  if (trip.kind === 'cap') return capDoc(config, trip);
  const s = trip.stats;
  const attack = trip.kind === 'attack';
  const where = trip.formId ? `form "${trip.formId}"` : 'all forms';
  const whereJa = trip.formId ? `フォーム「${trip.formId}」` : '全フォーム';
  const networks = new Map<string, number>();
  for (const [ip, n] of s.topIps) {
    const net = parseAddress(ip) ? networkKey(ip) : showIp(ip);
    networks.set(net, (networks.get(net) ?? 0) + n);
  }
  // Every key below came from outside: addresses as they are, domains and samples defanged so no mail
  // client or chat app makes them links.
  const list = (rows: [string, number][], show: (k: string) => string = (k) => k): Piece[] =>
    rows.length ? rows.flatMap(([k, n], i) => [...(i ? ['\n'] : []), '  ', u(show(k)), `: ${n}`]) : ['  -'];
  const samples: Piece[] = s.samples.length
    ? s.samples.flatMap((x, i) => [...(i ? ['\n'] : []), `  #${i + 1} from `, u(showIp(x.ip)), ': ', u(defang(Object.entries(x.fields).map(([k, v]) => `${k}=${v}`).join(' | '), 300))])
    : ['  -'];
  const cool = config.monitor.coolDownSeconds;
  const reset = trip.formId ?? 'instance';
  const subject = attack
    ? `[${config.siteName}] Formwarden alert: attack observed on ${where}, auto-replies continue / 攻撃を検知しました（自動返信は継続）`
    : `[${config.siteName}] Formwarden alert: auto-replies stopped for ${where} / 自動返信を停止しました`;
  const intro = attack
    ? `Formwarden refused many posts to ${where} at the door: ${trip.reason}.
No mail was sent for them, so genuine visitors still get their auto-replies. The proof-of-work is harder for ${cool} s.
The refused posts are counted; \`formwarden submissions list\` shows what was stored.

${whereJa}への送信の多くを受付時に拒否しました。理由: ${trip.reason}
拒否した送信にはメールを送っていないため、正規の訪問者への自動返信は続いています。${cool} 秒間、proof-of-work の難易度を上げています。
保存された内容は \`formwarden submissions list\` で確認できます。`
    : `Formwarden stopped the auto-replies of ${where} because: ${trip.reason}.
Inquiries are still accepted and stored; you can read them with \`formwarden submissions list\`.
The breaker retries on its own after the cool-down (${cool} s); \`formwarden breaker reset ${reset}\` closes it now.

${whereJa}の自動返信を停止しました。理由: ${trip.reason}
お問い合わせの受付と保存は続いています（\`formwarden submissions list\` で確認できます）。
一定時間（${cool} 秒）後に自動で再開を試みます。すぐに戻すには \`formwarden breaker reset ${reset}\` を実行してください。`;
  const body = t`${intro}

Last window / 直近の集計:
  submissions / 送信数: ${s.submissions}
  rejected or quarantined / 拒否・保留: ${s.rejected}
  auto-replies queued / 自動返信: ${s.autoreplies}
  distinct recipient domains / 宛先ドメイン数: ${s.recipientDomains}
  bounces / バウンス: ${s.bounces}
  bounce recipient domains / バウンス宛先ドメイン数: ${s.bounceDomains}
  auto-replies sent (bounce share) / 送信済み自動返信（バウンス率の分母）: ${s.sent}
Top source addresses / 送信元アドレス上位:
${list(s.topIps, showIp)}
Top source networks / 送信元ネットワーク上位:
${list([...networks.entries()].sort((a, b) => b[1] - a[1]))}
Top recipient domains / 宛先ドメイン上位:
${list(s.topDomains, (d) => defang(d))}
Samples (links defanged) / サンプル（リンクは無効化済み）:
${samples}
`;
  return { subject: [subject], body };
}

/** The alert mail: plain text; outside text on one line without control or format characters; a one-line subject. */
export function alertText(config: Config, trip: TripInfo | CapAlert): { subject: string; body: string } {
  const doc = alertDoc(config, trip);
  return { subject: oneLine(render(doc.subject, oneLine), 998), body: render(doc.body, (x) => oneLine(x)) };
}

export function webhookPayload(format: 'json' | 'slack' | 'chatwork', config: Config, trip: TripInfo | CapAlert): { body: string; contentType: string } {
  const doc = alertDoc(config, trip);
  const subject = oneLine(render(doc.subject, oneLine), 998);
  if (format === 'slack') {
    // The body sits in a code block; outside text can neither close it nor form <!here>, <@U…> or <url|text>.
    const text = `*${subject}*\n\`\`\`${render(doc.body, slackPiece)}\`\`\``;
    return { body: JSON.stringify({ text: slackEscape(text) }), contentType: 'application/json' };
  }
  if (format === 'chatwork') {
    const body = `[info][title]${subject}[/title]${render(doc.body, chatworkPiece)}[/info]`;
    return { body: new URLSearchParams({ body }).toString(), contentType: 'application/x-www-form-urlencoded' };
  }
  if (trip.kind === 'cap') {
    const body = { type: 'cap_exhausted', site: config.siteName, scope: trip.scope, form: trip.formId, ...(trip.site ? { forms: trip.forms } : {}), hours: trip.hours, since: new Date(trip.since).toISOString(), caps: trip.caps };
    return { body: safeJson(body), contentType: 'application/json' };
  }
  const s = trip.stats;
  return {
    body: safeJson({
      type: trip.kind === 'attack' ? 'attack_observed' : 'breaker_tripped',
      site: config.siteName,
      scope: trip.scope,
      form: trip.formId,
      reason: trip.reason,
      stats: {
        ...s,
        topIps: s.topIps.map(([ip, n]) => [oneLine(ip), n]),
        topDomains: s.topDomains.map(([d, n]) => [oneLine(d), n]),
        samples: s.samples.map((x) => ({ ip: oneLine(x.ip), fields: Object.fromEntries(Object.entries(x.fields).map(([k, v]) => [oneLine(k), oneLine(defang(v, 300))])) })),
      },
    }),
    contentType: 'application/json',
  };
}

export async function sendAlert(deps: AlertDeps, trip: TripInfo | CapAlert): Promise<boolean> {
  const { db, config } = deps;
  const now = deps.clock.now().getTime();
  // Breaker trips and attack notices are rate-limited separately: a notice never hides a trip.
  const key = trip.kind === 'attack' ? `attack:${trip.scope}` : trip.scope;
  const last = await db
    .selectFrom('events')
    .select('at')
    .where('kind', '=', 'alert')
    .where('detail', '=', key)
    .orderBy('at', 'desc')
    .limit(1)
    .executeTakeFirst();
  if (last && now - last.at < mustDuration(config.alerts.minInterval)) return false;
  const text = alertText(config, trip);
  const form = trip.formId ? config.forms.find((f) => f.id === trip.formId) : undefined;
  // A site's trip is told to the owners of its forms only; the instance's to every form's owners.
  const siteForms = 'forms' in trip && trip.forms ? config.forms.filter((f) => trip.forms!.includes(f.id)) : null;
  const recipients = [...new Set([...(form ? form.notify.to : (siteForms ?? config.forms).flatMap((f) => f.notify.to)), ...config.alerts.to])];
  const rows = recipients.map((to) => outboxRow({ kind: 'alert', submissionId: null, formId: trip.formId, to, replyTo: null, subject: text.subject, body: text.body }, deps.fromAddress, now));
  const queued = await db.transaction().execute(async (trx) => {
    // Several processes may see the same trip in the same tick: the check is made again under a lock
    // (PostgreSQL: advisory, per scope; SQLite: the write transaction itself).
    if (deps.dialect === 'postgres') await sql`select pg_advisory_xact_lock(hashtextextended(${`alert:${key}`}, 0))`.execute(trx);
    const again = await trx.selectFrom('events').select('at').where('kind', '=', 'alert').where('detail', '=', key).orderBy('at', 'desc').limit(1).executeTakeFirst();
    if (again && now - again.at < mustDuration(config.alerts.minInterval)) return false;
    await trx.insertInto('events').values({ id: newId('e', now), kind: 'alert', form_id: trip.formId, address: null, at: now, detail: key }).execute();
    await enqueue(trx, rows);
    return true;
  });
  if (!queued) return false;
  deps.onQueued?.();
  const hook = config.alerts.webhook;
  if (hook) await postAlertWebhook(deps, webhookPayload(hook.format, config, trip));
  return true;
}

/** POSTs an alert payload to alerts.webhook (when configured); failures are logged, never thrown. Also used by dmarc/alerts.ts. */
export async function postAlertWebhook(deps: Pick<AlertDeps, 'config' | 'fetch' | 'log'>, payload: { body: string; contentType: string }): Promise<void> {
  const hook = deps.config.alerts.webhook;
  if (!hook) return;
  const headers: Record<string, string> = { 'content-type': payload.contentType };
  if (hook.format === 'chatwork' && hook.token) headers['x-chatworktoken'] = hook.token;
  try {
    const res = await (deps.fetch ?? fetch)(hook.url, { method: 'POST', headers, body: payload.body, signal: AbortSignal.timeout(5000) });
    if (!res.ok) deps.log?.warn({ status: res.status }, 'alert webhook answered an error');
  } catch (e) {
    deps.log?.warn({ err: String(e) }, 'alert webhook failed');
  }
}
