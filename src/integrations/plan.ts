// Which webhook messages an inquiry produces: one outbox row per target of its form whose `on` lists the
// verdict's event, written in the submission's transaction (submissions/accept.ts). Rejected posts produce
// none. Each target takes at most maxPerHour per process (a flood fills the digest, not the chat).
import type { Config, FormConfig } from '../config/schema.js';
import type { Lang } from '../i18n/messages.js';
import { outboxRow } from '../mail/outbox.js';
import type { OutboxTable } from '../store/schema.js';
import { targetKey, type WebhookEvent } from './config.js';
import { buildPayload } from './payload.js';

export interface WebhookSubmission {
  id: string;
  /** The receipt number the visitor was shown (the submission id where there is none). */
  receipt?: string;
  form: FormConfig;
  values: Record<string, string>;
  createdAt: Date;
  action: string;
  score: number;
}

/** The event a verdict is, for webhooks; null when no webhook is told (rejected). */
export function webhookEvent(action: string): WebhookEvent | null {
  if (action === 'accept' || action === 'accept_no_autoreply') return 'accepted';
  if (action === 'quarantine') return 'quarantined';
  return null;
}

export class WebhookPlanner {
  private readonly sent = new Map<string, number[]>();
  constructor(private readonly config: Config) {}

  /** The rows to enqueue with the submission (counted against each target's hourly limit). */
  rows(sub: WebhookSubmission, fromAddress: string, now: number): OutboxTable[] {
    const event = webhookEvent(sub.action);
    const hooks = sub.form.webhooks ?? [];
    if (!event || hooks.length === 0) return [];
    const out: OutboxTable[] = [];
    for (const w of hooks) {
      if (!w.on.includes(event) || this.overOrCount(`${sub.form.id}/${w.name}`, w.maxPerHour, now)) continue;
      const lang: Lang = w.language ?? sub.form.language ?? 'ja';
      const row = outboxRow({ kind: 'webhook', submissionId: sub.id, formId: sub.form.id, to: targetKey(w), replyTo: null, subject: `${event} ${sub.receipt ?? sub.id}`, body: '' }, fromAddress, now);
      const payload = buildPayload(w, { deliveryId: row.id, event, siteName: this.config.siteName, formId: sub.form.id, formTitle: sub.form.title, receiptId: sub.receipt ?? sub.id, submittedAt: sub.createdAt, timeZone: this.config.timeZone, action: sub.action, score: sub.score, values: sub.values }, lang);
      out.push({ ...row, body: payload.body });
    }
    return out;
  }

  private overOrCount(key: string, limit: number, now: number): boolean {
    const times = (this.sent.get(key) ?? []).filter((t) => t > now - 3_600_000);
    this.sent.set(key, times);
    if (times.length >= limit) return true;
    times.push(now);
    return false;
  }
}
