// The configuration schema (zod). Every key has a safe default so that the minimal file in the README,
// or no file at all, gives a working instance.
import { z } from 'zod';
import { parseDuration } from '../util/duration.js';
import { countryPolicySchema, defensesSchema } from './defenses.js';
import { monitorSchema } from './monitor.js';
import { DEFAULT_CAPS, resolveCapPolicy } from '../relay/caps.js';
import { webhookIssues, webhookSchema } from '../integrations/config.js';
import { FAMILIES, FAMILY_GROUPS, isAcceptName } from '../attachments/sniff.js';
import { isTimeZone } from '../mail/template.js';
import { parseCidrOrIp } from '../defenses/client-address/index.js';
import { parseImapUrl } from '../bounces/imap/index.js';
import { localized } from './localized.js';
import { pageSchema } from './page.js';

const duration = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .refine((s) => parseDuration(s) !== null, { message: 'not a duration: use a number with a unit, e.g. 90s, 5m, 1h, 2d' });

/** A retention window: a duration with a unit, or `never` (kept forever). 0 and bare numbers (seconds) are refused as likely mistakes. */
const keepFor = (fallback: string) =>
  z
    .union([z.string(), z.number()])
    .default(fallback)
    .transform((v) => String(v).trim())
    .refine((s) => s === 'never' || parseDuration(s) !== null, { message: 'not a duration: use a number with a unit, e.g. 30d, 12h, or never' })
    .refine((s) => s === 'never' || parseDuration(s) !== 0, { message: '0 would delete at once: write never to keep forever, or a duration such as 30d' })
    .refine((s) => s === 'never' || parseDuration(s) === 0 || !/^\s*[\d.]+\s*$/.test(s), { message: 'a bare number here would be seconds: add a unit, e.g. 30d' });

export type { Localized } from './localized.js';

/** A mail's subject and body in other languages: the visitor's page language picks one (subject/body otherwise). */
const templateTranslation = z.strictObject({ subject: z.string().optional(), body: z.string().optional() });
const translations = z.strictObject({ ja: templateTranslation.optional(), en: templateTranslation.optional() }).optional();
export type Translations = z.output<typeof translations>;

/** File types a file field accepts: families or groups, sniffed from the bytes (docs/attachments.md). */
const acceptList = z.array(z.string().refine(isAcceptName, { message: `use families or groups: ${[...Object.keys(FAMILY_GROUPS), ...FAMILIES].join(', ')}` })).min(1);
const capWindow = z.strictObject({ count: z.number().int().nonnegative(), windowSeconds: z.number().int().positive() });

export const FIELD_TYPES = ['text', 'email', 'tel', 'url', 'textarea', 'select', 'checkbox', 'radio', 'hidden', 'file'] as const;
export type FieldType = (typeof FIELD_TYPES)[number];

const fieldName = z
  .string()
  .regex(/^[a-z][a-z0-9_]{0,39}$/, { message: 'use lower-case letters, digits and _ (start with a letter, at most 40)' });

const option = z.union([
  z.string().transform((s) => ({ value: s, label: { ja: s, en: s } })),
  z.strictObject({ value: z.string(), label: localized.optional() }).transform((o) => ({
    value: o.value,
    label: o.label ?? { ja: o.value, en: o.value },
  })),
]);

export const fieldSchema = z
  .strictObject({
    name: fieldName,
    type: z.enum(FIELD_TYPES, { message: `use one of ${FIELD_TYPES.join(', ')}` }),
    label: localized.optional(),
    required: z.boolean().default(false),
    maxLength: z.number().int().positive().max(100_000).optional(),
    minLength: z.number().int().nonnegative().optional(),
    pattern: z
      .string()
      .refine(
        (p) => {
          try {
            new RegExp(p, 'u');
            return true;
          } catch {
            return false;
          }
        },
        { message: 'not a valid regular expression' },
      )
      .optional(),
    options: z.array(option).optional(),
    placeholder: localized.optional(),
    value: z.string().optional(),
    /** type: file only (docs/attachments.md): families or groups sniffed from the bytes, size per file, files per field. */
    accept: acceptList.optional(),
    maxBytes: z.number().int().positive().max(25 * 1024 * 1024).optional(),
    maxFiles: z.number().int().positive().max(20).optional(),
  })
  .superRefine((f, ctx) => {
    if (f.type !== 'file') {
      for (const key of ['accept', 'maxBytes', 'maxFiles'] as const) {
        if (f[key] !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: `${key} is for fields of type file only` });
      }
    }
    if ((f.type === 'select' || f.type === 'radio') && (!f.options || f.options.length === 0)) {
      ctx.addIssue({ code: 'custom', path: ['options'], message: `a ${f.type} field needs options: list the choices` });
    }
    if (f.minLength !== undefined && f.maxLength !== undefined && f.minLength > f.maxLength) {
      ctx.addIssue({ code: 'custom', path: ['minLength'], message: 'minLength is larger than maxLength' });
    }
  })
  .transform((f) => ({ ...f, label: f.label ?? { ja: f.name, en: f.name } }));
export type FieldConfig = z.output<typeof fieldSchema>;

const address = z
  .string()
  .regex(/^[^\s@<>,;"]+@[^\s@<>,;"]+\.[^\s@<>,;"]+$/, { message: 'not a plain email address (user@example.jp)' });

export const formSchema = z
  .strictObject({
    id: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, { message: 'use lower-case letters, digits, - and _' }),
    title: localized,
    description: localized.optional(),
    language: z.enum(['ja', 'en']).optional(),
    fields: z.array(fieldSchema).min(1, { message: 'a form needs at least one field' }),
    notify: z.strictObject({
      // A {{placeholder}} passes here so that the relay lint can explain why it is refused.
      to: z.array(z.union([address, z.string().regex(/\{\{/)], { message: 'not a plain email address (owner@example.jp)' })).min(1, { message: 'list at least one owner address' }),
      subject: z.string().default('[{{form_title}}] {{receipt_id}}'),
      body: z.string().optional(),
      translations,
    }),
    autoreply: z
      .strictObject({
        enabled: z.boolean().default(true),
        to: z.string().default('email'),
        subject: z.string(),
        body: z.string(),
        translations,
        echo: z.enum(['none', 'sanitized']).default('none'),
        /** Auto-replies wait this long in the outbox and are checked again just before sending. */
        delay: duration('2m'),
        /** Per-form caps (a missing key keeps the default; null turns that cap off). */
        caps: z
          .strictObject({
            perAddress: capWindow.nullable().optional(),
            perDomain: capWindow.nullable().optional(),
            perFormHour: z.number().int().nonnegative().nullable().optional(),
            perFormDay: z.number().int().nonnegative().nullable().optional(),
          })
          .nullable()
          .optional(),
      })
      .optional(),
    cors: z.strictObject({ origins: z.array(z.string().url()).default([]) }).default({ origins: [] }),
    /** Country policy for this form (offline mmdb lookup): { allow: [JP] }, { deny: [...] } or { score: {...} }. */
    countries: countryPolicySchema.optional(),
    successUrl: z.string().url().optional(),
    /** The hosted page's branding for this form; each key set here wins over the top-level page (docs/configuration.md). */
    page: pageSchema.optional(),
    /** Chat and webhook targets told about each inquiry (docs/integrations.md). */
    webhooks: z.array(webhookSchema).default([]),
  })
  .superRefine((form, ctx) => {
    for (const issue of webhookIssues(form)) ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
    const names = new Set<string>();
    form.fields.forEach((f, i) => {
      if (names.has(f.name)) ctx.addIssue({ code: 'custom', path: ['fields', i, 'name'], message: `duplicate field name "${f.name}"` });
      names.add(f.name);
    });
  });
export type FormConfig = z.output<typeof formSchema>;

/** A saturation level: reached when either measure is at or over its value (0 = that measure is not used). */
const pressureLevel = (eventLoopDelayMs: number) =>
  z
    .strictObject({
      eventLoopDelayMs: z.number().min(0).default(eventLoopDelayMs),
      eventLoopUtilization: z.number().min(0).max(1).default(0),
    })
    .prefault({});

const dkimSchema = z.strictObject({
  domain: z
    .string()
    .transform((s) => s.toLowerCase().replace(/\.$/, ''))
    .pipe(z.string().regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, { message: 'the signing domain, e.g. example.jp (the domain of mail.from)' })),
  selector: z.string().regex(/^[A-Za-z0-9]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?)*$/, { message: 'a DNS label such as fw2026 (letters, digits, - and _)' }),
  privateKeyFile: z.string().min(1),
});

/**
 * A site (docs/configuration.md#sites): forms of one customer with their own auto-reply budget (a second
 * global cap that only its forms draw from), their own sender (From, Reply-To, envelope sender, DKIM key) and
 * their own token key, so one abused site cannot use up, trip or forge for another. Unset keys: the instance's.
 */
const siteSchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, { message: 'use lower-case letters, digits, - and _' }),
  forms: z.array(z.string()).min(1, { message: 'a site needs at least one form: list its form ids (forms[].id)' }),
  autoreplyBudget: z
    .strictObject({ perHour: z.number().int().nonnegative().optional(), perDay: z.number().int().nonnegative().optional() })
    .prefault({}),
  mail: z
    .strictObject({
      from: z.string().optional(),
      replyTo: address.optional(),
      envelopeFrom: address.optional(),
      dkim: dkimSchema.optional(),
    })
    .prefault({}),
  secrets: z.strictObject({ tokenKey: z.string().min(32).optional() }).prefault({}),
});
export type SiteConfig = Omit<z.output<typeof siteSchema>, 'autoreplyBudget'> & { autoreplyBudget: { perHour: number; perDay: number } };

/** Problems with `sites:`: unknown form ids, a form in two sites, duplicate site ids. */
function siteIssues(sites: z.output<typeof siteSchema>[], formIds: ReadonlySet<string>): Array<{ path: (string | number)[]; message: string }> {
  const out: Array<{ path: (string | number)[]; message: string }> = [];
  const owner = new Map<string, string>();
  const siteIds = new Set<string>();
  sites.forEach((site, i) => {
    if (siteIds.has(site.id)) out.push({ path: ['sites', i, 'id'], message: `duplicate site id "${site.id}"` });
    siteIds.add(site.id);
    site.forms.forEach((f, j) => {
      if (!formIds.has(f)) out.push({ path: ['sites', i, 'forms', j], message: `unknown form id "${f}": list ids of forms[] (${[...formIds].join(', ')})` });
      const prev = owner.get(f);
      if (prev !== undefined && prev !== site.id) out.push({ path: ['sites', i, 'forms', j], message: `form "${f}" is already in site "${prev}": a form belongs to one site at most` });
      else if (prev === site.id) out.push({ path: ['sites', i, 'forms', j], message: `form "${f}" is listed twice` });
      owner.set(f, site.id);
    });
  });
  return out;
}

/** A site's budget: as set, or derived from its forms as the instance budget is (defaultAutoreplyBudget). */
function resolveSiteBudget(site: z.output<typeof siteSchema>, forms: readonly FormConfig[]): SiteConfig {
  const derived = defaultAutoreplyBudget(forms);
  const set = site.autoreplyBudget;
  return { ...site, autoreplyBudget: { perHour: set.perHour ?? derived.perHour, perDay: set.perDay ?? derived.perDay } };
}

/** Whether the parser that start-up uses takes the value (it throws on a bad one). */
const parses =
  (parse: (value: string) => unknown) =>
  (value: string): boolean => {
    try {
      parse(value);
      return true;
    } catch {
      return false;
    }
  };
const isImapUrlUsable = parses(parseImapUrl);
const isCidrOrIp = parses(parseCidrOrIp);

/** A mailbox URL that the IMAP reader can use (it is read at start-up, so a bad one must not pass here). */
const imapUrl = (mailbox: string) =>
  z.string().refine(isImapUrlUsable, { message: `use imaps://user:password@imap.example.jp/${mailbox} (a user name is needed; write % in the user name or password as %25)` });

const cidrOrIp = z.string().refine(isCidrOrIp, { message: 'not an IP address or CIDR (e.g. 10.0.0.0/8, 2001:db8::/32, 127.0.0.1)' });

export const configSchema = z
  .strictObject({
    siteName: z.string().default('Formwarden'),
    /** The time zone of {{submitted_at}} and dates in mails: an IANA name such as Asia/Tokyo. */
    timeZone: z.string().default('UTC').refine(isTimeZone, { message: 'not a time zone: use an IANA name such as Asia/Tokyo or UTC' }),
    /** The hosted page's branding (name, logo, accent colour, footer, privacy link, thank-you text). */
    page: pageSchema.prefault({}),
    server: z
      .strictObject({
        host: z.string().default('127.0.0.1'),
        port: z.number().int().min(0).max(65535).default(8787),
        publicUrl: z.string().url().regex(/^https?:\/\//i, { message: 'use http:// or https://' }).optional(),
        bodyLimit: z.number().int().positive().max(10 * 1024 * 1024).default(64 * 1024),
        /** A request whose headers and body have not all arrived by then is answered 408 (slow bodies, slowloris). */
        requestTimeout: duration('30s'),
        /** The reverse proxies whose X-Forwarded-For is believed (addresses or CIDR ranges of the direct connection). */
        trustProxy: z.array(cidrOrIp).default([]),
        /**
         * Who may read /metrics (addresses or CIDR ranges of the direct connection): others get 404. Loopback by
         * default, so a server opened to the network (--host 0.0.0.0) does not show its forms and figures to it.
         */
        metricsFrom: z.array(cidrOrIp).default(['127.0.0.0/8', '::1']),
        /**
         * On SIGTERM /healthz answers 503 at once; the server keeps serving for this long (so the load
         * balancer's health check takes it out), then stops accepting and finishes what is in flight.
         */
        drainGrace: duration('5s'),
        logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
        /** When the event loop is saturated: first posts without proof, then every request get 503. */
        loadShedding: z
          .strictObject({
            enabled: z.boolean().default(true),
            unproven: pressureLevel(150),
            all: pressureLevel(1000),
            retryAfterSeconds: z.number().int().positive().default(10),
            sampleIntervalMs: z.number().int().min(10).max(60_000).default(500),
          })
          .prefault({}),
      })
      .prefault({}),
    database: z
      .strictObject({
        url: z
          .string()
          .regex(/^(sqlite:|postgres:\/\/|postgresql:\/\/)/, {
            message: 'use sqlite:./data/formwarden.db or postgres://user@host:5432/db',
          })
          .default('sqlite:./data/formwarden.db'),
      })
      .prefault({}),
    mail: z
      .strictObject({
        from: z.string().default('Formwarden <formwarden@localhost.localdomain>'),
        transport: z
          .string()
          .regex(/^(capture|smtps?:\/\/.+)$/, { message: 'use "capture" or smtp://host:port (smtps:// for TLS)' })
          .default('capture'),
        retry: z.array(z.string()).default(['1m', '5m', '15m', '1h', '4h']),
        timeouts: z
          .strictObject({ connect: duration('10s'), greeting: duration('10s'), socket: duration('30s') })
          .prefault({}),
        pool: z.strictObject({ maxConnections: z.number().int().positive().max(50).default(2) }).prefault({}),
        /**
         * Instance-wide backstop for every mail to an address typed into a form. Unset, each is derived from
         * the forms (defaultAutoreplyBudget): below what all the forms' caps together would allow.
         */
        autoreplyBudget: z
          .strictObject({ perHour: z.number().int().nonnegative().optional(), perDay: z.number().int().nonnegative().optional() })
          .prefault({}),
        /** Above this many owner notifications per hour and form, they are batched into a digest. */
        digest: z
          .strictObject({ threshold: z.number().int().positive().default(30), every: duration('15m') })
          .prefault({}),
        /** DKIM-sign every mail (docs/dkim.md); the key file (PEM, RSA >= 1024 bits or Ed25519) is checked at load. */
        dkim: dkimSchema.optional(),
      })
      .prefault({}),
    redis: z
      .strictObject({ url: z.string().regex(/^rediss?:\/\//, { message: 'use redis://host:6379' }), keyPrefix: z.string().default('fw:') })
      .optional(),
    defenses: defensesSchema,
    secrets: z
      .strictObject({ tokenKey: z.string().min(32).optional(), linkKey: z.string().min(32).optional() })
      .prefault({}),
    monitor: monitorSchema,
    alerts: z
      .strictObject({
        /** Extra addresses for alerts; the forms' notify.to always get them. */
        to: z.array(address).default([]),
        webhook: z
          .strictObject({ url: z.string().url(), format: z.enum(['json', 'slack', 'chatwork']).default('json'), token: z.string().optional() })
          .optional(),
        /** At most one alert per scope within this time. */
        minInterval: duration('30m'),
      })
      .prefault({}),
    /** Bounces read from a mailbox feed the suppression list and the circuit breaker. */
    bounces: z
      .strictObject({
        imap: z
          .strictObject({
            url: imapUrl('INBOX'),
            every: duration('1m'),
          })
          .optional(),
        /** Soft bounces to one address before it is suppressed. */
        softLimit: z.number().int().positive().default(3),
        /** Every mail's envelope sender becomes <prefix>+<token>@<domain>, so a bounce names its mail. */
        verp: z
          .strictObject({
            domain: z
              .string()
              .transform((s) => s.toLowerCase().replace(/\.$/, ''))
              .pipe(z.string().regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, { message: 'a domain name such as bounce.example.jp (its MX points to Formwarden)' })),
            prefix: z
              .string()
              .regex(/^[a-z0-9]([a-z0-9._-]{0,22}[a-z0-9])?$/, { message: 'lower-case letters, digits, . _ - (at most 24, no + or @), e.g. bounce' })
              .default('bounce'),
          })
          .optional(),
        /** The built-in SMTP receiver for the VERP domain (needs bounces.verp). */
        smtp: z
          .strictObject({
            host: z.string().min(1).default('127.0.0.1'),
            port: z.number().int().min(0).max(65535),
            maxBytes: z.number().int().min(10_000).max(50_000_000).default(1_048_576),
            perClientPerMinute: z.number().int().positive().default(30),
            /** Offer STARTTLS with this certificate (PEM files); off by default. */
            tls: z.strictObject({ key: z.string().min(1), cert: z.string().min(1) }).optional(),
          })
          .optional(),
      })
      .superRefine((b, ctx) => {
        if (b.smtp && !b.verp) ctx.addIssue({ code: 'custom', path: ['smtp'], message: 'bounces.smtp receives mail for the VERP domain: set bounces.verp.domain too' });
      })
      .prefault({}),
    /**
     * DMARC aggregate reports (docs/dmarc.md). `imap`: the mailbox the rua address delivers to; unset, report
     * mails arriving in the bounce mailbox (bounces.imap) are read from there. `alert`: see docs/dmarc.md.
     */
    dmarc: z
      .strictObject({
        imap: z
          .strictObject({
            url: imapUrl('DMARC'),
            every: duration('15m'),
          })
          .optional(),
        /** The owner's own senders (CIDRs, addresses, host names): authorised without waiting for DMARC passes. */
        senders: z.array(z.string().min(1)).default([]),
        /** When to tell the owner (docs/dmarc.md, "Alerts"). */
        alert: z
          .strictObject({
            /** failing messages from one unknown source on one day above which the owner is alerted */
            unknownFailing: z.number().int().nonnegative().default(20),
            /** the day's authorised volume at least this many times the median of the 7 days before */
            volumeJump: z.number().min(1).default(3),
            /** and at least this many messages */
            minVolume: z.number().int().nonnegative().default(50),
          })
          .prefault({}),
      })
      .prefault({}),
    /**
     * How long stored data is kept. `refused`: posts refused at the door or rejected by their score (they
     * reached nobody) are deleted this long after they arrived. `attachments`: files sent with an inquiry are
     * deleted this long after they arrived (the inquiry itself is kept).
     */
    /** How long stored data is kept (docs/configuration.md#retention): a duration, or `never` to keep forever. */
    retention: z
      .strictObject({ submissions: keepFor('365d'), refused: keepFor('7d'), attachments: keepFor('90d'), clientInfo: keepFor('30d'), dmarc: keepFor('365d') })
      .prefault({}),
    /** Files sent with file fields (docs/attachments.md): defaults for every file field, and the total per post. */
    attachments: z
      .strictObject({
        maxFileBytes: z.number().int().positive().max(25 * 1024 * 1024).default(5 * 1024 * 1024),
        maxFiles: z.number().int().positive().max(20).default(3),
        maxTotalBytes: z.number().int().positive().max(50 * 1024 * 1024).default(10 * 1024 * 1024),
        accept: acceptList.default(['image', 'pdf']),
      })
      .prefault({}),
    forms: z.array(formSchema).min(1, { message: 'configure at least one form' }),
    /** Hosts and agencies: groups of forms with their own auto-reply budget, sender and secrets (docs/configuration.md#sites). */
    sites: z.array(siteSchema).default([]),
  })
  .superRefine((cfg, ctx) => {
    const ids = new Set<string>();
    cfg.forms.forEach((f, i) => {
      if (ids.has(f.id)) ctx.addIssue({ code: 'custom', path: ['forms', i, 'id'], message: `duplicate form id "${f.id}"` });
      ids.add(f.id);
    });
    for (const issue of siteIssues(cfg.sites, ids)) ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
    cfg.mail.retry.forEach((r, i) => {
      if (parseDuration(r) === null) ctx.addIssue({ code: 'custom', path: ['mail', 'retry', i], message: 'not a duration: e.g. 1m, 15m, 4h' });
    });
  })
  .transform((cfg) => {
    const derived = defaultAutoreplyBudget(cfg.forms);
    const set = cfg.mail.autoreplyBudget;
    const sites = cfg.sites.map((site) => resolveSiteBudget(site, cfg.forms.filter((f) => site.forms.includes(f.id))));
    return { ...cfg, sites, mail: { ...cfg.mail, autoreplyBudget: { perHour: set.perHour ?? derived.perHour, perDay: set.perDay ?? derived.perDay } } };
  });

/**
 * The instance budget when mail.autoreplyBudget leaves it unset: half of what the caps of every form with
 * an auto-reply would allow together, never less than the largest form's own cap (one busy form still gets
 * all of its cap) and never more than 200 an hour / 1000 a day. A bot spreading over every form gets at
 * most half of what the forms' caps add up to.
 */
export function defaultAutoreplyBudget(forms: readonly FormConfig[]): { perHour: number; perDay: number } {
  const caps = forms.filter((f) => f.autoreply?.enabled).map((f) => resolveCapPolicy(f.autoreply?.caps));
  const hour = caps.map((c) => Math.min(c.perFormHour ?? Infinity, c.perFormDay ?? Infinity));
  const day = caps.map((c) => c.perFormDay ?? (c.perFormHour === null ? Infinity : c.perFormHour * 24));
  const derive = (list: number[], ceiling: number) => Math.min(ceiling, Math.max(0, ...list, Math.ceil(list.reduce((a, b) => a + b, 0) / 2)));
  return { perHour: derive(hour, DEFAULT_CAPS.global.perHour), perDay: derive(day, DEFAULT_CAPS.global.perDay) };
}

export type ConfigInput = z.input<typeof configSchema>;
export type Config = z.output<typeof configSchema>;
export { address as addressSchema };
