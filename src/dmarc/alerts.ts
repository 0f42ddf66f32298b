// Alerts from DMARC aggregate reports (docs/dmarc.md, "Alerts"):
//  - unknown-failing: on one day (the report period's UTC day), a source that is not authorised sent more
//    than dmarc.alert.unknownFailing messages as the owner's domain that failed DMARC: someone is sending
//    mail as the domain. One alert per source, domain and day; the sources found together share one mail.
//  - volume-jump: the day's mail from authorised sources is at least dmarc.alert.volumeJump times the
//    median of the 7 days before it (and at least dmarc.alert.minVolume messages): a stolen mail password
//    sends through the owner's own, authorised servers. One alert per domain and day.
// Alerts go through the alert path of monitor/alerts.ts (a mail to the forms' owners and alerts.to through
// the outbox, and alerts.webhook). Each alert is recorded as an `events` row whose id is derived from what it
// is about, so a re-import of the same report, a second reporter for the same day or a second process
// inserts nothing and sends nothing (the insert and the mails are one transaction).
import { createHash } from 'node:crypto';
import { lookup as dnsLookup } from 'node:dns/promises';
import type { Config } from '../config/schema.js';
import { enqueue, outboxRow } from '../mail/outbox.js';
import { postAlertWebhook, safeJson, slackEscape, type AlertDeps } from '../monitor/alerts.js';
import { resolveAuthorised, type SourceLookup } from './analyze/section.js';
import { DEFAULT_DMARC_ALERT, evaluateDmarcAlerts, type DmarcAlert, type DmarcAlertSettings } from './alert-rules.js';
import { loadDmarcRecords } from './store.js';
import type { DmarcReport } from './types.js';

export { DEFAULT_DMARC_ALERT, evaluateDmarcAlerts, type DmarcAlert, type DmarcAlertSettings } from './alert-rules.js';

const DAY = 86_400_000;
const dayOf = (iso: string) => iso.slice(0, 10);
const addDays = (d: string, n: number) => new Date(Date.parse(d + 'T00:00:00Z') + n * DAY).toISOString().slice(0, 10);


/** Outside text (reporter names, From domains, AS names) reduced to letters, digits and . - space: safe in mail, JSON, Slack and Chatwork alike. */
export function plain(s: string, max = 80): string {
  return Array.from(s.normalize('NFKC').replace(/[^\p{L}\p{N}. -]+/gu, ' ').replace(/\s+/g, ' ').trim()).slice(0, max).join('');
}

function where(a: UnknownFailing): string {
  return [a.asn !== null ? `AS${a.asn}${a.asName ? ` ${plain(a.asName)}` : ''}` : a.network, a.country ? plain(a.country, 8) : ''].filter(Boolean).join(', ');
}

export function dmarcAlertText(config: Pick<Config, 'siteName'>, a: DmarcAlert): { subject: string; body: string } {
  const site = plain(config.siteName, 100);
  const dom = plain(a.domain, 253);
  if (a.kind === 'unknown-failing') {
    const froms = a.headerFroms.map((f) => plain(f, 253)).join(', ') || dom;
    const reps = a.reporters.map((r) => plain(r)).join(', ') || '-';
    return {
      subject: `[${site}] Formwarden alert: someone is sending mail as ${dom} / ${dom} を名乗ってメールを送っている第三者がいます`,
      body: `On ${a.day} (UTC) a source you have not authorised sent ${a.fail} message(s) as ${dom} that failed DMARC (${a.total} in all).
  source: ${a.ip} (${where(a)})
  From: ${froms}
  reported by: ${reps}
If this is a service you use (newsletter, CRM, ticketing), add it to SPF/DKIM and to dmarc.senders.
If not, it is forgery: move the DMARC policy to p=quarantine, then p=reject. \`formwarden analyze --config ...\` shows every source.

${a.day}（UTC）、許可していない送信元が ${dom} を名乗って DMARC に不合格のメールを ${a.fail} 通送りました（合計 ${a.total} 通）。
  送信元: ${a.ip}（${where(a)}）
  From: ${froms}
  報告元: ${reps}
利用中のサービス（メルマガ、CRM、問い合わせ管理など）であれば SPF/DKIM と dmarc.senders に追加してください。
心当たりがなければ詐称です。DMARC ポリシーを p=quarantine、その後 p=reject に強めてください。すべての送信元は \`formwarden analyze --config ...\` で確認できます。
`,
    };
  }
  const top = a.top.map((t) => `  ${t.ip}: ${t.count}`).join('\n') || '  -';
  return {
    subject: `[${site}] Formwarden alert: your sending volume for ${dom} jumped (stolen mail password?) / ${dom} の送信量が急増しました（パスワード漏えい？）`,
    body: `On ${a.day} (UTC) your own, authorised servers sent ${a.volume} message(s) as ${dom}: ${a.ratio} times the median of the 7 days before (${a.median}).
If you did not send a campaign, someone who knows a mail password is probably sending through your account.
Change the mail passwords, sign out all sessions, revoke unknown app passwords, and ask your provider for the login history.
Busiest sources:
${top}

${a.day}（UTC）、あなたの正規の送信サーバーから ${dom} として ${a.volume} 通のメールが送られました。直前 7 日の中央値（${a.median}）の ${a.ratio} 倍です。
一斉送信をしていなければ、メールのパスワードを知った第三者があなたのアカウントから送信している可能性が高いです。
パスワードを変更し、全セッションからログアウトし、心当たりのないアプリパスワードを削除し、メール事業者にログイン履歴を確認してください。
送信の多い送信元:
${top}
`,
  };
}

type UnknownFailing = Extract<DmarcAlert, { kind: 'unknown-failing' }>;

/** Sources named one by one in a grouped alert mail; the rest are counted (the webhook's JSON lists up to 100). */
const LISTED_SOURCES = 20;

/** Several sources of one domain and day: busiest first, with their failing and total counts summed. */
function summarise(list: readonly UnknownFailing[]) {
  const sorted = [...list].sort((a, b) => b.fail - a.fail);
  return { sorted, first: sorted[0]!, fail: sorted.reduce((n, a) => n + a.fail, 0), total: sorted.reduce((n, a) => n + a.total, 0) };
}

/**
 * The mail of several unknown sources of one domain and day, found together (one report, one check): one mail
 * that lists them, busiest first, instead of one mail per source (a spoofing run from hundreds of addresses would
 * otherwise send the owner hundreds of alerts). A single source reads as dmarcAlertText's.
 */
export function unknownSourcesText(config: Pick<Config, 'siteName'>, list: readonly UnknownFailing[]): { subject: string; body: string } {
  if (list.length === 1) return dmarcAlertText(config, list[0]!);
  const site = plain(config.siteName, 100);
  const { sorted, first, fail, total } = summarise(list);
  const dom = plain(first.domain, 253);
  const shown = sorted.slice(0, LISTED_SOURCES);
  const more = sorted.length - shown.length;
  const lines = shown.map((a) => `  ${a.ip} (${where(a)}): ${a.fail} / ${a.total}; From ${a.headerFroms.map((f) => plain(f, 253)).join(', ') || dom}; ${a.reporters.map((r) => plain(r)).join(', ') || '-'}`).join('\n');
  return {
    subject: `[${site}] Formwarden alert: someone is sending mail as ${dom} from ${list.length} sources / ${list.length} か所の送信元が ${dom} を名乗ってメールを送っています`,
    body: `On ${first.day} (UTC) ${list.length} sources you have not authorised sent ${fail} message(s) as ${dom} that failed DMARC (${total} in all).
source (network, country): failing / all; From; reported by
${lines}${more ? `\n  ... and ${more} more` : ''}
If one of them is a service you use (newsletter, CRM, ticketing), add it to SPF/DKIM and to dmarc.senders.
If not, it is forgery: move the DMARC policy to p=quarantine, then p=reject. \`formwarden analyze --config ...\` shows every source.

${first.day}（UTC）、許可していない ${list.length} か所の送信元が ${dom} を名乗って DMARC に不合格のメールを ${fail} 通送りました（合計 ${total} 通）。
送信元（ネットワーク、国）: 不合格 / 全体; From; 報告元
${lines}${more ? `\n  ほか ${more} か所` : ''}
利用中のサービス（メルマガ、CRM、問い合わせ管理など）があれば SPF/DKIM と dmarc.senders に追加してください。
心当たりがなければ詐称です。DMARC ポリシーを p=quarantine、その後 p=reject に強めてください。すべての送信元は \`formwarden analyze --config ...\` で確認できます。
`,
  };
}

/** The webhook of unknownSourcesText's mail: JSON type dmarc_unknown_sources (one source: dmarc_unknown_source). */
export function unknownSourcesPayload(format: 'json' | 'slack' | 'chatwork', config: Pick<Config, 'siteName'>, list: readonly UnknownFailing[]): { body: string; contentType: string } {
  if (list.length === 1) return dmarcWebhookPayload(format, config, list[0]!);
  if (format !== 'json') return chatPayload(format, unknownSourcesText(config, list));
  const { sorted, first, fail, total } = summarise(list);
  return {
    body: safeJson({
      type: 'dmarc_unknown_sources', site: plain(config.siteName, 100), domain: plain(first.domain, 253), day: first.day,
      fail, total, count: sorted.length,
      sources: sorted.slice(0, 100).map(sourceJson),
    }),
    contentType: 'application/json',
  };
}

function sourceJson(a: UnknownFailing) {
  return {
    ip: a.ip, network: a.network, asn: a.asn, asName: a.asName ? plain(a.asName) : null, country: a.country ? plain(a.country, 8) : null,
    fail: a.fail, total: a.total, headerFrom: a.headerFroms.map((f) => plain(f, 253)), reporters: a.reporters.map((r) => plain(r)),
  };
}

function chatPayload(format: 'slack' | 'chatwork', text: { subject: string; body: string }): { body: string; contentType: string } {
  if (format === 'slack') return { body: JSON.stringify({ text: slackEscape(`*${text.subject}*\n\`\`\`${text.body.replace(/`/g, 'ˋ')}\`\`\``) }), contentType: 'application/json' };
  return { body: new URLSearchParams({ body: `[info][title]${text.subject}[/title]${text.body}[/info]` }).toString(), contentType: 'application/x-www-form-urlencoded' };
}

export function dmarcWebhookPayload(format: 'json' | 'slack' | 'chatwork', config: Pick<Config, 'siteName'>, a: DmarcAlert): { body: string; contentType: string } {
  if (format !== 'json') return chatPayload(format, dmarcAlertText(config, a));
  const base = { site: plain(config.siteName, 100), domain: plain(a.domain, 253), day: a.day };
  return {
    body: safeJson(a.kind === 'unknown-failing'
      ? (({ fail, total, headerFrom, reporters, ...source }) => ({ type: 'dmarc_unknown_source', ...base, source, fail, total, headerFrom, reporters }))(sourceJson(a))
      : { type: 'dmarc_volume_jump', ...base, volume: a.volume, median: a.median, ratio: a.ratio, top: a.top }),
    contentType: 'application/json',
  };
}

/** The `events` id of an alert: the same alert always has the same id (dedup across imports and processes). */
export function dmarcAlertId(a: DmarcAlert): string {
  const what = a.kind === 'unknown-failing' ? `${a.kind}|${a.domain}|${a.day}|${a.ip}` : `${a.kind}|${a.domain}|${a.day}`;
  return `e_dmarc_${createHash('sha256').update(what).digest('hex').slice(0, 40)}`;
}

/** The monitor's alert dependencies (its dialect unused: DMARC alerts are deduplicated by their events id). */
export interface DmarcAlertDeps extends Omit<AlertDeps, 'dialect'> {
  lookup?: SourceLookup;
}

/** The alert settings and senders of a configuration (defaults when `dmarc` is not configured). */
export function dmarcAlertSettings(config: Config): { settings: DmarcAlertSettings; senders: string[] } {
  return { settings: { ...DEFAULT_DMARC_ALERT, ...config.dmarc.alert }, senders: config.dmarc.senders };
}

/** The A and AAAA addresses of a host name (dmarc.senders entries that are names). */
export async function dnsAddresses(host: string): Promise<string[]> {
  return (await dnsLookup(host, { all: true })).map((a) => a.address);
}

/**
 * Sends the alerts not sent before; returns those it sent. The unknown sources of one domain and day found in
 * one call go out as one mail and one webhook naming those of them not alerted on before (each still has its
 * own events row, so a later report that adds a source alerts on that source alone).
 */
export async function sendDmarcAlerts(deps: DmarcAlertDeps, alerts: readonly DmarcAlert[]): Promise<DmarcAlert[]> {
  const { db, config } = deps;
  const sent: DmarcAlert[] = [];
  const recipients = [...new Set([...config.forms.flatMap((f) => f.notify.to), ...config.alerts.to])];
  const groups: DmarcAlert[][] = [];
  const unknownByDay = new Map<string, DmarcAlert[]>();
  for (const a of alerts) {
    if (a.kind !== 'unknown-failing') {
      groups.push([a]);
      continue;
    }
    const key = `${a.domain}|${a.day}`;
    const group = unknownByDay.get(key);
    if (group) group.push(a);
    else {
      const g = [a];
      unknownByDay.set(key, g);
      groups.push(g);
    }
  }
  for (const group of groups) {
    const unknown = group[0]!.kind === 'unknown-failing';
    const now = deps.clock.now().getTime();
    const fresh = await db.transaction().execute(async (trx) => {
      const fresh: DmarcAlert[] = [];
      for (const a of group) {
        const detail = a.kind === 'unknown-failing' ? `dmarc:unknown:${a.domain}:${a.day}:${a.ip}` : `dmarc:jump:${a.domain}:${a.day}`;
        const r = await trx.insertInto('events').values({ id: dmarcAlertId(a), kind: 'alert', form_id: null, address: null, at: now, detail: detail.slice(0, 500) })
          .onConflict((oc) => oc.column('id').doNothing()).executeTakeFirst();
        if (Number(r.numInsertedOrUpdatedRows ?? 0n) > 0) fresh.push(a);
      }
      if (fresh.length === 0) return fresh;
      const text = unknown ? unknownSourcesText(config, fresh as UnknownFailing[]) : dmarcAlertText(config, fresh[0]!);
      await enqueue(trx, recipients.map((to) => outboxRow({ kind: 'alert', submissionId: null, formId: null, to, replyTo: null, subject: text.subject, body: text.body }, deps.fromAddress, now)));
      return fresh;
    });
    if (fresh.length === 0) continue;
    sent.push(...fresh);
    deps.onQueued?.();
    const hook = config.alerts.webhook;
    if (hook) {
      await postAlertWebhook(deps, unknown ? unknownSourcesPayload(hook.format, config, fresh as UnknownFailing[]) : dmarcWebhookPayload(hook.format, config, fresh[0]!));
    }
  }
  return sent;
}

/**
 * The `onStored` callback of ingestDmarc: after a report is stored, evaluate its days against the stored
 * records of its domain (30 days before it: authorisation by consistent pass and the jump's baseline) and
 * send what was not sent before.
 */
export function dmarcAlertHook(deps: DmarcAlertDeps): (report: DmarcReport) => Promise<void> {
  return async (report) => {
    const { settings, senders: configured } = dmarcAlertSettings(deps.config);
    const senders = await resolveAuthorised(configured, dnsAddresses, (entry, e) => deps.log?.warn({ entry, err: e.message }, 'dmarc.senders: host name does not resolve'));
    const first = dayOf(report.begin);
    // A report covers one day (RFC 7489 asks for 24 h); a longer one alerts on each of its days (31 at most).
    const last = Date.parse(report.end) - Date.parse(report.begin) > DAY ? dayOf(report.end) : first;
    const days: string[] = [];
    for (let d = first; d <= last && days.length < 31; d = addDays(d, 1)) days.push(d);
    const records = await loadDmarcRecords(deps.db, { since: new Date(Date.parse(first + 'T00:00:00Z') - 30 * DAY), domain: report.domain });
    const alerts = evaluateDmarcAlerts(records, { settings, authorised: senders, lookup: deps.lookup, days });
    await sendDmarcAlerts(deps, alerts);
  };
}
