// What `formwarden check-config` says about forms[].webhooks: each target by name (never its URL), the
// events it gets, and warnings for templates that carry visitor text or settings missing from the environment.
import type { Config, FormConfig } from '../config/schema.js';
import { resolveWebhooks, visitorPlaceholders } from './config.js';

const list = (fields: string[], sep: string) => fields.map((f) => `{{${f}}}`).join(sep);

/** One line per target of the form. */
export function webhookLines(form: FormConfig): string[] {
  return form.webhooks.map((w) => {
    const fields = visitorPlaceholders(w.template);
    const signed = w.type === 'json' ? ', signed (HMAC-SHA256)' : '';
    return `  webhook ${w.name}: ${w.type} on ${w.on.join(', ')}${signed}; ${fields.length ? `carries ${list(fields, ', ')}` : 'no visitor text'}; at most ${w.maxPerHour}/h`;
  });
}

export function webhookWarnings(config: Config, env: NodeJS.ProcessEnv): string[] {
  const warnings: string[] = [];
  for (const form of config.forms) {
    for (const w of form.webhooks) {
      const fields = visitorPlaceholders(w.template);
      if (fields.length === 0) continue;
      const key = `forms[${form.id}].webhooks[${w.name}].template`;
      warnings.push(
        `${key} carries what visitors typed (${list(fields, ', ')}): it is escaped for ${w.type} (no mention, link or tag), but everyone who reads that ${w.type === 'json' ? 'receiver' : 'chat'} reads it, spam included. Remove the fields to be told only that an inquiry arrived. / ${key} に訪問者の入力（${list(fields, '、')}）が入ります。${w.type} 向けにエスケープされます（メンション・リンク・タグにはなりません）が、迷惑投稿の本文もそのまま表示されます。到着の通知だけでよければ項目を外してください。`,
      );
    }
  }
  for (const p of resolveWebhooks(config.forms, env).problems) warnings.push(`${p} (serve refuses to start without it / この設定がないと serve は起動しません)`);
  return warnings;
}
