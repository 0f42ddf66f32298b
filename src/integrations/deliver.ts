// Delivering one webhook row: POST its stored body to the target named by the row (form and
// `type:name`), with the target's timeout covering the answer, and read at most RESPONSE_MAX bytes of it.
// 2xx: sent (even if the rest of the answer never comes). 408, 429, 5xx, a timeout before the status or a
// network error: retried on the outbox schedule. Any other 4xx
// and a redirect (never followed: the request carries a signature or token): dead at once. Errors name
// the target, never its URL or secret.
import type { OutboxTable } from '../store/schema.js';
import type { SendResult } from '../mail/transport.js';
import { targetKey, type ResolvedWebhook } from './config.js';
import { DELIVERY_HEADER, SIGNATURE_HEADER, signatureHeader } from './sign.js';

export const RESPONSE_MAX = 2048;
const USER_AGENT = 'Formwarden-Webhook/1';

export interface WebhookDeliverer {
  deliver(row: OutboxTable, nowMs: number): Promise<SendResult>;
}

export function webhookDeliverer(targets: ReadonlyMap<string, ResolvedWebhook>, fetchImpl: typeof fetch = fetch): WebhookDeliverer {
  return {
    async deliver(row, nowMs) {
      const target = row.form_id ? targets.get(`${row.form_id}/${row.to_addr}`) : undefined;
      if (!target || targetKey(target.config) !== row.to_addr) {
        return { ok: false, permanent: true, error: `E_WEBHOOK_UNKNOWN: no webhook ${row.to_addr} on form ${row.form_id ?? '-'} in the configuration` };
      }
      return post(target, row, nowMs, fetchImpl);
    },
  };
}

async function post(target: ResolvedWebhook, row: OutboxTable, nowMs: number, fetchImpl: typeof fetch): Promise<SendResult> {
  const { type } = target.config;
  const headers: Record<string, string> = {
    'content-type': type === 'chatwork' ? 'application/x-www-form-urlencoded' : 'application/json',
    'user-agent': USER_AGENT,
    [DELIVERY_HEADER]: row.id,
  };
  if (type === 'json' && target.secret) headers[SIGNATURE_HEADER] = signatureHeader(target.secret, row.body, nowMs / 1000);
  if (type === 'chatwork' && target.secret) headers['x-chatworktoken'] = target.secret;
  const signal = AbortSignal.timeout(target.timeoutMs);
  try {
    const res = await fetchImpl(target.url, { method: 'POST', headers, body: row.body, redirect: 'manual', signal });
    const excerpt = await readCapped(res);
    const status = res.status;
    if (status >= 200 && status < 300) return { ok: true, response: `${status} ${excerpt}`.trim() };
    const retry = status === 408 || status === 429 || status >= 500;
    const what = status >= 300 && status < 400 ? 'E_WEBHOOK_REDIRECT' : 'E_WEBHOOK_HTTP';
    return { ok: false, permanent: !retry, error: `${what} ${status}${excerpt ? `: ${excerpt}` : ''}` };
  } catch (e) {
    if (signal.aborted) return { ok: false, permanent: false, error: `E_WEBHOOK_TIMEOUT: no answer within ${target.timeoutMs} ms` };
    const err = e as { cause?: { code?: string }; code?: string; name?: string };
    const code = err.cause?.code ?? err.code ?? err.name ?? 'error';
    return { ok: false, permanent: false, error: `E_WEBHOOK_NET ${String(code).replace(/[^\w.-]/g, '').slice(0, 40)}` };
  }
}

/**
 * At most RESPONSE_MAX bytes of the answer, as one printable line (the rest is not read). A body that stops
 * coming (the timeout) ends the read: the status has been given, and it decides.
 */
async function readCapped(res: Response): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < RESPONSE_MAX) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } catch {
    // aborted or reset mid-body: keep what came
  } finally {
    await reader.cancel().catch(() => {});
  }
  const text = Buffer.concat(chunks).subarray(0, RESPONSE_MAX).toString('utf8');
  return text.replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]+/gu, ' ').trim().slice(0, 200);
}
