// The HTTP body each target gets for one inquiry. The owner's template (or the default, which carries no
// visitor text) is trusted markup; system values are ours; visitor fields appear only where the
// template names them, escaped for the target (escape.ts).
import { t, type Lang } from '../i18n/messages.js';
import { formatInZone } from '../mail/template.js';
import type { WebhookConfig, WebhookEvent, WebhookType } from './config.js';
import { chatworkVisitor, clip, discordVisitor, jsonVisitor, safeJson, slackVisitor, teamsVisitor } from './escape.js';

export interface WebhookNotice {
  /** The outbox row id: receivers can drop a second delivery of the same message (delivery is at least once). */
  deliveryId: string;
  event: WebhookEvent;
  siteName: string;
  formId: string;
  formTitle: { ja: string; en: string };
  receiptId: string;
  submittedAt: Date;
  /** The zone {{submitted_at}} is shown in (config.timeZone); UTC when unset. */
  timeZone?: string;
  action: string;
  score: number;
  /** The visitor's fields; only those the template names are used. */
  values: Record<string, string>;
}

export interface WebhookPayload {
  body: string;
  contentType: string;
}

const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*\}\}/g;
/** Longest message per target (code points), below each service's own limit. */
const MAX_TEXT: Record<WebhookType, number> = { slack: 12_000, discord: 2000, teams: 20_000, chatwork: 10_000, json: 40_000 };

const ESCAPE: Record<WebhookType, (v: string) => string> = {
  slack: slackVisitor,
  discord: discordVisitor,
  teams: teamsVisitor,
  chatwork: chatworkVisitor,
  json: jsonVisitor,
};

// The same rendering as the mails' {{submitted_at}} (UTC reads "… UTC").
const time = (n: WebhookNotice, lang: Lang) => formatInZone(n.submittedAt, n.timeZone ?? 'UTC', lang);

function systemValues(n: WebhookNotice, lang: Lang): Record<string, string> {
  return {
    receipt_id: n.receiptId,
    submitted_at: time(n, lang),
    form_title: n.formTitle[lang],
    form_id: n.formId,
    site_name: n.siteName,
    event: n.event,
    score: String(n.score),
  };
}

/** The template with system values as they are and visitor values escaped for the target. */
export function renderText(template: string, n: WebhookNotice, lang: Lang, escape: (v: string) => string): string {
  const system = systemValues(n, lang);
  return template.replace(PLACEHOLDER, (_, name: string) => system[name] ?? escape(n.values[name] ?? ''));
}

function defaultText(n: WebhookNotice, lang: Lang): string {
  const key = n.event === 'quarantined' ? 'webhook_quarantined_body' : 'webhook_accepted_body';
  return t(lang, key, { receipt: n.receiptId, time: time(n, lang), score: n.score, form_id: n.formId });
}

export function titleText(n: WebhookNotice, lang: Lang): string {
  return t(lang, n.event === 'quarantined' ? 'webhook_quarantined_title' : 'webhook_accepted_title', { site: n.siteName, form: n.formTitle[lang] });
}

export function buildPayload(w: Pick<WebhookConfig, 'type' | 'template'>, n: WebhookNotice, lang: Lang): WebhookPayload {
  const text = clip(w.template === undefined ? defaultText(n, lang) : renderText(w.template, n, lang, ESCAPE[w.type]), MAX_TEXT[w.type]);
  const title = titleText(n, lang);
  const json = (v: unknown): WebhookPayload => ({ body: safeJson(v), contentType: 'application/json' });
  switch (w.type) {
    case 'slack':
      return json({ text: `*${title}*\n${text}`, unfurl_links: false, unfurl_media: false });
    case 'discord':
      // allowed_mentions: even text that looks like a mention pings no one.
      return json({ content: clip(`**${title}**\n${text}`, MAX_TEXT.discord), allowed_mentions: { parse: [] } });
    case 'teams':
      // A Workflows ("When a Teams webhook request is received") message carrying one Adaptive Card.
      return json({
        type: 'message',
        attachments: [
          {
            contentType: 'application/vnd.microsoft.card.adaptive',
            contentUrl: null,
            content: {
              $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
              type: 'AdaptiveCard',
              version: '1.4',
              body: [
                { type: 'TextBlock', text: title, weight: 'Bolder', size: 'Medium', wrap: true },
                { type: 'TextBlock', text, wrap: true },
              ],
            },
          },
        ],
      });
    case 'chatwork':
      return { body: new URLSearchParams({ body: `[info][title]${title}[/title]${text}[/info]`, self_unread: '1' }).toString(), contentType: 'application/x-www-form-urlencoded' };
    case 'json':
      return json({
        id: n.deliveryId,
        type: `inquiry.${n.event}`,
        site: n.siteName,
        form: { id: n.formId, title: n.formTitle[lang] },
        receipt: n.receiptId,
        submittedAt: n.submittedAt.toISOString(),
        verdict: { action: n.action, score: n.score },
        title,
        text,
      });
  }
}
