// Telling the owner at once: an alert mail (through the outbox, to the form's owners and alerts.to)
// and, when configured, a webhook (generic JSON, Slack- or Chatwork-compatible). Alerts are themselves
// rate-limited per scope. Samples are defanged so the alert never carries a clickable spam link.
import type { Kysely } from 'kysely';
import type { Config } from '../config/schema.js';
import { networkKey } from '../defenses/client-address/index.js';
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
}

export function alertText(config: Config, trip: TripInfo): { subject: string; body: string } {
  const s = trip.stats;
  const where = trip.formId ? `form "${trip.formId}"` : 'all forms';
  const whereJa = trip.formId ? `フォーム「${trip.formId}」` : '全フォーム';
  const networks = new Map<string, number>();
  for (const [ip, n] of s.topIps) networks.set(networkKey(ip), (networks.get(networkKey(ip)) ?? 0) + n);
  // Addresses are shown as they are; domains are defanged so no mail client makes them links.
  const list = (rows: [string, number][], show: (k: string) => string = (k) => k) => (rows.length ? rows.map(([k, n]) => `  ${show(k)}: ${n}`).join('\n') : '  -');
  const samples = s.samples.map((x, i) => `  #${i + 1} from ${x.ip}: ${defang(Object.entries(x.fields).map(([k, v]) => `${k}=${v}`).join(' | '), 300)}`).join('\n');
  const subject = `[${config.siteName}] Formwarden alert: auto-replies stopped for ${where} / 自動返信を停止しました`;
  const body = `Formwarden stopped the auto-replies of ${where} because: ${trip.reason}.
Inquiries are still accepted and stored; you can read them with \`formwarden submissions list\`.
The breaker retries on its own after the cool-down (${config.monitor.coolDownSeconds} s); \`formwarden breaker reset ${trip.formId ?? 'instance'}\` closes it now.

${whereJa}の自動返信を停止しました。理由: ${trip.reason}
お問い合わせの受付と保存は続いています（\`formwarden submissions list\` で確認できます）。
一定時間（${config.monitor.coolDownSeconds} 秒）後に自動で再開を試みます。すぐに戻すには \`formwarden breaker reset ${trip.formId ?? 'instance'}\` を実行してください。

Last window / 直近の集計:
  submissions / 送信数: ${s.submissions}
  rejected or quarantined / 拒否・保留: ${s.rejected}
  auto-replies queued / 自動返信: ${s.autoreplies}
  distinct recipient domains / 宛先ドメイン数: ${s.recipientDomains}
  bounces / バウンス: ${s.bounces}
Top source addresses / 送信元アドレス上位:
${list(s.topIps)}
Top source networks / 送信元ネットワーク上位:
${list([...networks.entries()].sort((a, b) => b[1] - a[1]))}
Top recipient domains / 宛先ドメイン上位:
${list(s.topDomains, (d) => defang(d))}
Samples (links defanged) / サンプル（リンクは無効化済み）:
${samples || '  -'}
`;
  return { subject, body };
}

export function webhookPayload(format: 'json' | 'slack' | 'chatwork', config: Config, trip: TripInfo, text: { subject: string; body: string }): { body: string; contentType: string } {
  if (format === 'slack') return { body: JSON.stringify({ text: `*${text.subject}*\n\`\`\`${text.body}\`\`\`` }), contentType: 'application/json' };
  if (format === 'chatwork') return { body: new URLSearchParams({ body: `[info][title]${text.subject}[/title]${text.body}[/info]` }).toString(), contentType: 'application/x-www-form-urlencoded' };
  return {
    body: JSON.stringify({ type: 'breaker_tripped', site: config.siteName, scope: trip.scope, form: trip.formId, reason: trip.reason, stats: { ...trip.stats, samples: trip.stats.samples.map((x) => ({ ip: x.ip, fields: Object.fromEntries(Object.entries(x.fields).map(([k, v]) => [k, defang(v, 300)])) })) } }),
    contentType: 'application/json',
  };
}

export async function sendAlert(deps: AlertDeps, trip: TripInfo): Promise<boolean> {
  const { db, config } = deps;
  const now = deps.clock.now().getTime();
  const last = await db
    .selectFrom('events')
    .select('at')
    .where('kind', '=', 'alert')
    .where('detail', '=', trip.scope)
    .orderBy('at', 'desc')
    .limit(1)
    .executeTakeFirst();
  if (last && now - last.at < mustDuration(config.alerts.minInterval)) return false;
  const text = alertText(config, trip);
  const form = trip.formId ? config.forms.find((f) => f.id === trip.formId) : undefined;
  const recipients = [...new Set([...(form ? form.notify.to : config.forms.flatMap((f) => f.notify.to)), ...config.alerts.to])];
  const rows = recipients.map((to) => outboxRow({ kind: 'alert', submissionId: null, formId: trip.formId, to, replyTo: null, subject: text.subject, body: text.body }, deps.fromAddress, now));
  await db.transaction().execute(async (trx) => {
    await trx.insertInto('events').values({ id: newId('e', now), kind: 'alert', form_id: trip.formId, address: null, at: now, detail: trip.scope }).execute();
    await enqueue(trx, rows);
  });
  deps.onQueued?.();
  const hook = config.alerts.webhook;
  if (hook) {
    const payload = webhookPayload(hook.format, config, trip, text);
    const headers: Record<string, string> = { 'content-type': payload.contentType };
    if (hook.format === 'chatwork' && hook.token) headers['x-chatworktoken'] = hook.token;
    try {
      const res = await (deps.fetch ?? fetch)(hook.url, { method: 'POST', headers, body: payload.body, signal: AbortSignal.timeout(5000) });
      if (!res.ok) deps.log?.warn({ status: res.status }, 'alert webhook answered an error');
    } catch (e) {
      deps.log?.warn({ err: String(e) }, 'alert webhook failed');
    }
  }
  return true;
}
