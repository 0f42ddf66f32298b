// forms[].webhooks: chat and webhook targets told about each inquiry (docs/integrations.md).
// A target's URL and secret are read here and at start-up only: outbox rows name the target
// (`slack:team-chat`), never its URL (Slack and Discord URLs are secrets themselves).
import ipaddr from 'ipaddr.js';
import { z } from 'zod';
import { scanTemplate } from '../relay/placeholders.js';
import { parseDuration } from '../util/duration.js';

export const WEBHOOK_TYPES = ['json', 'slack', 'discord', 'teams', 'chatwork'] as const;
export type WebhookType = (typeof WEBHOOK_TYPES)[number];
export const WEBHOOK_EVENTS = ['accepted', 'quarantined'] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

/** Placeholders Formwarden fills in a webhook template; every other placeholder is a visitor field. */
export const WEBHOOK_SYSTEM_PLACEHOLDERS = ['receipt_id', 'submitted_at', 'form_title', 'form_id', 'site_name', 'event', 'score'] as const;
const SYSTEM: ReadonlySet<string> = new Set(WEBHOOK_SYSTEM_PLACEHOLDERS);

export const WEBHOOK_TIMEOUT_MAX_MS = 60_000;
/** An HMAC key shorter than this is refused (json). */
export const HMAC_SECRET_MIN = 16;

const envName = z.string().regex(/^[A-Z_][A-Z0-9_]{0,63}$/, { message: 'an environment variable name such as FW_SLACK_URL' });

export const webhookSchema = z
  .strictObject({
    name: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,39}$/, { message: 'use lower-case letters, digits, - and _ (at most 40)' }),
    type: z.enum(WEBHOOK_TYPES, { message: `use one of ${WEBHOOK_TYPES.join(', ')}` }),
    /** The target URL inline, or the name of the environment variable that holds it. */
    url: z.string().optional(),
    urlEnv: envName.optional(),
    /** json: the HMAC-SHA256 key; chatwork: the API token. Inline, or from the environment. */
    secret: z.string().optional(),
    secretEnv: envName.optional(),
    on: z.array(z.enum(WEBHOOK_EVENTS, { message: 'use accepted or quarantined' })).min(1).default(['accepted']),
    /** The message; {{placeholders}} as in docs/integrations.md. Unset: no visitor text at all. */
    template: z.string().min(1).max(4000).optional(),
    language: z.enum(['ja', 'en']).optional(),
    timeout: z
      .string()
      .default('10s')
      .refine((s) => {
        const ms = parseDuration(s);
        return ms !== null && ms > 0 && ms <= WEBHOOK_TIMEOUT_MAX_MS;
      }, { message: 'a duration from 1s to 60s, e.g. 10s' }),
    /** At most this many messages per hour to this target; over it the owner still gets the mail (or digest). */
    maxPerHour: z.number().int().positive().max(10_000).default(60),
  })
  .superRefine((w, ctx) => {
    if ((w.url === undefined) === (w.urlEnv === undefined)) ctx.addIssue({ code: 'custom', path: ['url'], message: 'set exactly one of url and urlEnv (the environment variable holding the URL)' });
    if (w.url !== undefined) {
      const problem = webhookUrlProblem(w.url);
      if (problem) ctx.addIssue({ code: 'custom', path: ['url'], message: problem });
    }
    if (w.secret !== undefined && w.secretEnv !== undefined) ctx.addIssue({ code: 'custom', path: ['secret'], message: 'set secret or secretEnv, not both' });
    const hasSecret = w.secret !== undefined || w.secretEnv !== undefined;
    if (needsSecret(w.type) && !hasSecret) {
      ctx.addIssue({ code: 'custom', path: ['secret'], message: w.type === 'json' ? 'a json webhook is signed: set secretEnv (or secret) to a random key of at least 16 characters' : 'chatwork needs your API token: set secretEnv (or secret)' });
    }
    if (!needsSecret(w.type) && hasSecret) ctx.addIssue({ code: 'custom', path: ['secret'], message: `${w.type} takes no secret (its URL is the secret): remove it` });
    if (w.type === 'json' && w.secret !== undefined && w.secret.length < HMAC_SECRET_MIN) ctx.addIssue({ code: 'custom', path: ['secret'], message: `use at least ${HMAC_SECRET_MIN} random characters` });
    if (w.template !== undefined) {
      const scan = scanTemplate(w.template);
      if (scan.malformed.length || scan.unclosed.length) ctx.addIssue({ code: 'custom', path: ['template'], message: 'a {{ is not a plain {{placeholder}}: write {{field_name}} or a system placeholder' });
    }
  });
export type WebhookConfig = z.output<typeof webhookSchema>;

function needsSecret(type: WebhookType): boolean {
  return type === 'json' || type === 'chatwork';
}

/**
 * https:// only; http:// only to a loopback or private (RFC 1918, fc00::/7) address or localhost, for a
 * relay on the same machine or LAN and for tests. No user:password in the URL.
 */
export function webhookUrlProblem(raw: string): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'not a URL: use https://hooks.example.com/...';
  }
  if (url.username || url.password) return 'no user:password in the URL: put a token in secretEnv';
  if (url.protocol === 'https:') return null;
  if (url.protocol === 'http:' && isLocalHost(url.hostname)) return null;
  return 'use https:// (http:// only to localhost, a loopback or a private LAN address)';
}

function isLocalHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '');
  if (host === 'localhost') return true;
  if (!ipaddr.isValid(host)) return false;
  const addr = ipaddr.process(host);
  return ['loopback', 'private', 'uniqueLocal'].includes(addr.range());
}

export interface TemplateIssue {
  path: (string | number)[];
  message: string;
}

/** The visitor fields a webhook template carries (every placeholder that is not a system one). */
export function visitorPlaceholders(template: string | undefined): string[] {
  if (template === undefined) return [];
  return [...new Set(scanTemplate(template).refs.map((r) => r.name).filter((n) => !SYSTEM.has(n)))];
}

/** Form-level checks: unique names, and template placeholders that name a field of the form. */
export function webhookIssues(form: { fields: { name: string }[]; webhooks: WebhookConfig[] }): TemplateIssue[] {
  const out: TemplateIssue[] = [];
  const names = new Set<string>();
  const fields = new Set(form.fields.map((f) => f.name));
  form.webhooks.forEach((w, i) => {
    if (names.has(w.name)) out.push({ path: ['webhooks', i, 'name'], message: `duplicate webhook name "${w.name}"` });
    names.add(w.name);
    for (const name of visitorPlaceholders(w.template)) {
      if (!fields.has(name)) out.push({ path: ['webhooks', i, 'template'], message: `{{${name}}} is neither a field of this form nor one of ${WEBHOOK_SYSTEM_PLACEHOLDERS.map((p) => `{{${p}}}`).join(', ')}` });
    }
  });
  return out;
}

/** A target ready to deliver to: its URL and secret resolved. Never logged, never stored. */
export interface ResolvedWebhook {
  formId: string;
  config: WebhookConfig;
  url: string;
  secret: string | null;
  timeoutMs: number;
}

/** The outbox row's `to_addr` for a target: its type and name, never its URL. */
export function targetKey(w: { type: string; name: string }): string {
  return `${w.type}:${w.name}`;
}

/**
 * Every configured target with its URL and secret taken from the file or the environment, and what is
 * missing or wrong (names of variables only; their values are never repeated).
 */
export function resolveWebhooks(forms: readonly { id: string; webhooks: WebhookConfig[] }[], env: NodeJS.ProcessEnv): { targets: Map<string, ResolvedWebhook>; problems: string[] } {
  const targets = new Map<string, ResolvedWebhook>();
  const problems: string[] = [];
  for (const form of forms) {
    for (const w of form.webhooks) {
      const where = `forms[${form.id}].webhooks[${w.name}]`;
      const url = w.url ?? (w.urlEnv ? env[w.urlEnv] : undefined);
      if (!url) {
        problems.push(`${where}: the environment variable ${w.urlEnv} is not set. Fix: export ${w.urlEnv}=<the webhook URL>`);
        continue;
      }
      if (w.urlEnv) {
        const problem = webhookUrlProblem(url);
        if (problem) {
          problems.push(`${where}: ${w.urlEnv}: ${problem}`);
          continue;
        }
      }
      const secret = w.secret ?? (w.secretEnv ? (env[w.secretEnv] ?? '') : null);
      if (w.secretEnv && !secret) {
        problems.push(`${where}: the environment variable ${w.secretEnv} is not set. Fix: export ${w.secretEnv}=<${w.type === 'json' ? 'a random key' : 'your API token'}>`);
        continue;
      }
      if (w.type === 'json' && secret !== null && secret.length < HMAC_SECRET_MIN) {
        problems.push(`${where}: ${w.secretEnv ?? 'secret'} is shorter than ${HMAC_SECRET_MIN} characters. Fix: use a random key (openssl rand -hex 32)`);
        continue;
      }
      targets.set(`${form.id}/${targetKey(w)}`, { formId: form.id, config: w, url, secret, timeoutMs: parseDuration(w.timeout) ?? 10_000 });
    }
  }
  return { targets, problems };
}
