// The Fastify application: the hosted form (HTML), the JSON API, health and metrics.
// The core (submissions/, mail/) knows nothing of Fastify; this file only translates.
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import helmet from '@fastify/helmet';
import fastifyStatic from '@fastify/static';
import underPressure from '@fastify/under-pressure';
import { Counter } from 'prom-client';
import { createRequire } from 'node:module';
import { createReadStream } from 'node:fs';
import type { Config, FormConfig } from '../config/schema.js';
import { parseDuration } from '../util/duration.js';
import { clientAddress, compileCidrs, parseAddress } from '../defenses/client-address/index.js';
import { t, pickLang, type Lang, fieldErrorText, formatBytes } from '../i18n/messages.js';
import type { FieldError, RawFields } from '../forms/validate.js';
import type { Metrics } from '../monitor/metrics.js';
import { acceptSubmission, type IntakeDeps, type IntakeResult } from '../submissions/accept.js';
import { isDbUnavailable } from '../store/db.js';
import { BadInputError, UploadError, registerBodyParsers } from './body.js';
import { uploadLimitsFor, type UploadLimits } from '../attachments/limits.js';
import { renderFormPage, renderMessagePage, renderThanksPage } from './form-page.js';
import { captchaForClient, protocolHtml, protocolScripts, withCaptchaSources } from './protocol.js';
import { ACCENT_ROUTE, accentCss, brandingFor, withLogoSources, type Branding } from './branding.js';
import { endKeepAliveOnClose } from './shutdown.js';

export interface AppDeps {
  config: Config;
  intake: IntakeDeps;
  metrics: Metrics;
  /** Called after a submission is written with what it queued, so the workers send without waiting for their next poll. */
  onAccepted?: (queued: { mails: number; webhooks: number }) => void;
  logger?: boolean | object;
  healthCheck?: () => Promise<boolean>;
  /** The process is draining (SIGTERM): /healthz answers 503 with Retry-After and responses close their connection. */
  draining?: () => boolean;
  /** The saturation level (default: sampled from the event loop per server.loadShedding). */
  pressure?: () => PressureLevel;
}

/** normal; unproven: posts without a valid token and proof-of-work get 503; all: every request but /healthz and /metrics does. */
export type PressureLevel = 'normal' | 'unproven' | 'all';

export interface LoadShedding {
  /** Where the level comes from; replaceable (tests set a fixed level). */
  source: () => PressureLevel;
  /** The level now ('normal' when load shedding is off). */
  level(): PressureLevel;
}

const webDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../web');
const altchaWidgetFile = path.join(path.dirname(createRequire(import.meta.url).resolve('altcha')), 'altcha.i18n.min.js');

declare module 'fastify' {
  interface FastifyRequest {
    clientIp: string;
  }
  interface FastifyInstance {
    shedding: LoadShedding;
    /** Whether a request reached us over https: publicUrl, TLS, or a trusted proxy's X-Forwarded-Proto. */
    overHttps: (req: FastifyRequest) => boolean;
  }
}

const PAGE_CSP: Record<string, string[]> = { 'form-action': ["'self'"], 'script-src': ["'self'"], 'worker-src': ["'self'", 'blob:'] };

const securityHeadersByCsp = new Map<string, Promise<Record<string, string>>>();
/**
 * The headers @fastify/helmet sets, computed once: the plugin rebuilds helmet (and re-parses the CSP)
 * on every request, which cost more than the rest of a refusal. `https: false` (a page served over plain
 * http, e.g. on a LAN address) leaves out HSTS and upgrade-insecure-requests, which would send the
 * browser to https for the stylesheet, the scripts and the form post, and break the page.
 */
function securityHeaders(directives: Record<string, string[]>, https = true): Promise<Record<string, string>> {
  const key = JSON.stringify([directives, https]);
  let once = securityHeadersByCsp.get(key);
  if (once) return once;
  once = (async () => {
    const probe = Fastify({ logger: false });
    await probe.register(helmet, {
      contentSecurityPolicy: { directives: https ? directives : { ...directives, 'upgrade-insecure-requests': null } },
      crossOriginResourcePolicy: { policy: 'cross-origin' },
      ...(https ? {} : { strictTransportSecurity: false }),
    });
    probe.get('/', (_req, reply) => reply.send(''));
    const res = await probe.inject('/');
    await probe.close();
    const own = new Set(['content-type', 'content-length', 'date', 'connection', 'keep-alive']);
    return Object.fromEntries(Object.entries(res.headers).filter(([k]) => !own.has(k)).map(([k, v]) => [k, String(v)]));
  })();
  securityHeadersByCsp.set(key, once);
  return once;
}

/**
 * The JSON API (/api/...) is never rendered as a page: it gets the headers that matter for JSON (no
 * sniffing, nothing may load or frame it, HSTS, CORP as for pages) instead of the pages' full set, a
 * third of the bytes on every answer, refusals included.
 */
function apiHeaders(page: Record<string, string>): Record<string, string> {
  const keep = ['x-content-type-options', 'cross-origin-resource-policy', 'strict-transport-security'];
  return { 'content-security-policy': "default-src 'none'; frame-ancestors 'none'", ...Object.fromEntries(keep.filter((k) => page[k]).map((k) => [k, page[k]!])) };
}

const FORM_API = /^\/api\/forms\/([^/?]+)/;
/** The form id in a page or API path (/f/<id>..., /api/forms/<id>...); '' for /f/ itself, undefined elsewhere. */
const formIdIn = (url: string): string | undefined => /^\/(?:f|api\/forms)\/([^/?]*)/.exec(url)?.[1];
/** Above the deploy recipes' proxy limit (11 MiB): larger bodies over the limit still close the connection. */
const DRAIN_TOO_LARGE_BYTES = 16 * 1024 * 1024;

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { config } = deps;
  const forms = new Map(config.forms.map((f) => [f.id, f]));
  const brands = new Map<string, Branding>(config.forms.map((f) => [f.id, brandingFor(config, f)]));
  const requestTimeout = parseDuration(config.server.requestTimeout) ?? 30_000;
  const app = Fastify({
    logger: deps.logger ?? false,
    bodyLimit: config.server.bodyLimit,
    trustProxy: false,
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
    // Slow headers and bodies are cut off (408). Node checks open requests every connectionsCheckingInterval
    // (fixed when the server is created), and only while headersTimeout does not exceed requestTimeout.
    requestTimeout,
    http: {
      headersTimeout: Math.min(60_000, requestTimeout),
      connectionsCheckingInterval: Math.min(30_000, Math.max(100, Math.floor(requestTimeout / 4))),
    },
  });

  endKeepAliveOnClose(app);

  // The error handler comes first, so that every route (including those the plugins add) uses it.
  app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, req, reply) => {
    // A body over server.bodyLimit is refused unread and Fastify closes the connection: a proxy still sending
    // it (nginx) gets a broken pipe and shows the visitor a 502 instead of our 413 page. A body of a size a
    // proxy passes on (docs/deploy.md) is read to its end and dropped instead, within server.requestTimeout.
    // Fastify closes the connection after any body parser's error; our parsers' own refusals (a file over its limit
    // while the rest is still coming, src/http/multipart.ts) read the rest and drop it, so the answer reaches the
    // visitor instead of a reset, within the same bound.
    const drained = error.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || error instanceof UploadError || error instanceof BadInputError;
    if (drained && Number(req.headers['content-length'] ?? Infinity) <= DRAIN_TOO_LARGE_BYTES) reply.removeHeader('connection');
    let status = error.statusCode ?? 500;
    if (error instanceof BadInputError) status = 400;
    // A multipart body that is not multipart (no boundary, cut short) surfaces as a plain parser error.
    const dbDown = !error.statusCode && isDbUnavailable(error);
    if (status >= 500 && !error.statusCode && !dbDown && /^multipart\//i.test(String(req.headers['content-type'] ?? ''))) {
      status = 400;
      error = new BadInputError('the multipart body is malformed');
    }
    if (error instanceof UploadError) {
      const lang = langOf(req);
      const key = error.code === 'E_FILE_TOO_LARGE' ? 'upload_file_too_large' : error.code === 'E_TOO_MANY_FILES' ? 'upload_too_many_files' : error.code === 'E_UPLOAD_TOO_LARGE' ? 'upload_too_large' : 'upload_field_too_large';
      const message = t(lang, key, { max: error.limit, size: formatBytes(error.limit) });
      if (isHtmlRoute(req)) return messagePage(req, reply, 413, message, lang);
      return reply.code(413).send({ error: { code: error.code, message, limit: error.limit, ...(error.field ? { field: error.field } : {}) } });
    }
    // The database is down or busy: nothing was written (one transaction), so ask the client to try again.
    if (dbDown) {
      req.log.warn({ err: String(error) }, 'database unavailable; answered 503');
      status = 503;
      reply.header('retry-after', '5');
    } else if (status >= 500) {
      req.log.error({ err: error }, 'unhandled error');
      status = 500;
    }
    const code = errorCode(status, error);
    const lang = langOf(req);
    const message =
      status === 413 ? t(lang, 'too_large') : status === 415 ? t(lang, 'unsupported_type') : status === 503 ? t(lang, 'server_busy') : status === 400 ? `${t(lang, 'bad_request')} (${error.message})` : t(lang, 'bad_request');
    if (isHtmlRoute(req)) return messagePage(req, reply, status, message, lang);
    return reply.code(status).send({ error: { code, message } });
  });
  const defenses = deps.intake.defenses;
  app.decorateRequest('clientIp', '');

  // The page CSP also allows a third-party CAPTCHA provider's origins when one is configured.
  // A logo on another https origin (page.logoUrl) is allowed in img-src, that origin only.
  const pageCsp = withCaptchaSources(deps.intake.defenses, withLogoSources(config, PAGE_CSP));
  const security = await securityHeaders(pageCsp);
  const apiSecurity = apiHeaders(security);
  const plainSecurity = await securityHeaders(pageCsp, false);
  const plainApiSecurity = apiHeaders(plainSecurity);
  // Over https: publicUrl says so, the connection is TLS, or a trusted proxy says X-Forwarded-Proto: https.
  const publicHttps = /^https:/i.test(config.server.publicUrl ?? '');
  const proxies = defenses?.trustProxy ?? compileCidrs(config.server.trustProxy, 'server.trustProxy');
  const overHttps = (req: FastifyRequest): boolean => {
    if (publicHttps || (req.socket as { encrypted?: boolean }).encrypted === true) return true;
    const proto = req.headers['x-forwarded-proto'];
    if (typeof proto !== 'string' || proto.split(',')[0]!.trim().toLowerCase() !== 'https') return false;
    const peer = parseAddress(req.socket.remoteAddress);
    return !!peer && proxies.size > 0 && proxies(peer);
  };
  // A CORS mismatch is logged once per form and origin (a bot may send any Origin: the set is bounded).
  const corsMisses = new Set<string>();
  // CORS as @fastify/cors did it with a per-request delegator, without its per-request option objects:
  // only the API of a form, only the origins listed on that form.
  const corsOrigins = new Map(config.forms.map((f) => [f.id, new Set(f.cors.origins.map((o) => new URL(o).origin))]));
  const corsAllowed = (req: FastifyRequest, origin: string | undefined): origin is string => {
    if (!origin) return false;
    const match = FORM_API.exec(req.url);
    if (!match) return false;
    let id: string;
    try {
      id = decodeURIComponent(match[1]!);
    } catch {
      return false;
    }
    return corsOrigins.get(id)?.has(origin) ?? false;
  };

  const shedCfg = config.server.loadShedding;
  const shedCounter = new Counter({
    name: 'formwarden_shed_total',
    help: 'Requests refused with 503 by load shedding, by level (unproven: posts without proof; all: every request)',
    labelNames: ['level'] as const,
    registers: [deps.metrics.registry],
  });
  if (shedCfg.enabled && !deps.pressure) {
    // Used as a sampler only (no thresholds given: it adds no hook of its own).
    await app.register(underPressure, { sampleInterval: shedCfg.sampleIntervalMs, eventLoopUtilizationMode: 'interval' });
  }
  const reached = (t: { eventLoopDelayMs: number; eventLoopUtilization: number }, m: { eventLoopDelay: number; eventLoopUtilized: number }) =>
    (t.eventLoopDelayMs > 0 && m.eventLoopDelay >= t.eventLoopDelayMs) || (t.eventLoopUtilization > 0 && m.eventLoopUtilized >= t.eventLoopUtilization);
  const shedding: LoadShedding = {
    source:
      deps.pressure ??
      (() => {
        if (!shedCfg.enabled) return 'normal';
        const m = app.memoryUsage();
        return reached(shedCfg.all, m) ? 'all' : reached(shedCfg.unproven, m) ? 'unproven' : 'normal';
      }),
    level: () => (shedCfg.enabled ? shedding.source() : 'normal'),
  };
  app.decorate('shedding', shedding);
  app.decorate('overHttps', overHttps);
  const neverShed = (url: string) => url === '/healthz' || url === '/metrics' || url.startsWith('/healthz?') || url.startsWith('/metrics?');

  // One hook before anything else: security headers, CORS, load shedding, and cheap rejection first:
  // the client address is checked against the block list and temporary bans before the body is read,
  // so a blocked address costs no parsing and no write.
  app.addHook('onRequest', (req, reply, done) => {
    const https = overHttps(req);
    reply.headers(req.url.startsWith('/api/') ? (https ? apiSecurity : plainApiSecurity) : https ? security : plainSecurity);
    reply.header('vary', 'Origin');
    // Draining: a keep-alive client opens its next connection elsewhere (through the balancer).
    if (deps.draining?.()) reply.header('connection', 'close');
    const origin = req.headers.origin;
    if (origin && !corsAllowed(req, origin)) logCorsMiss(req, origin);
    if (corsAllowed(req, origin)) {
      reply.header('access-control-allow-origin', origin);
      if (req.method === 'OPTIONS') {
        if (!req.headers['access-control-request-method']) return void reply.code(400).type('text/plain').send('Invalid Preflight Request');
        reply.header('access-control-allow-methods', 'GET, POST').header('access-control-allow-headers', 'Content-Type, Accept').header('access-control-max-age', '600');
        return void reply.code(204).header('content-length', '0').send();
      }
    }
    if (shedCfg.enabled && !neverShed(req.url) && shedding.source() === 'all') return void shed(req, reply, 'all');
    req.clientIp = defenses ? clientAddress(req.socket.remoteAddress ?? '', req.headers, defenses.trustProxy) : (req.socket.remoteAddress ?? '');
    // The block list and bans keep bots off the forms; the owner's console has its own login limits, and an
    // owner who blocks a spammer's network must not lock themselves out of it.
    if (!defenses || req.method !== 'POST' || req.url.startsWith('/admin/')) return done();
    const now = deps.intake.clock.now();
    const hit = defenses.ipLists.matcher.check(req.clientIp, now);
    if (hit?.list === 'block') return void refuse(req, reply, 403, 'E_IP_BLOCKED');
    const bans = hit?.list === 'allow' ? null : defenses.ipLists.bans;
    if (!bans) return done();
    // The ban store may be Redis: when it cannot answer, the check fails open, as the ip-lists
    // defense declares; the rest of the pipeline still runs.
    bans.status(req.clientIp, now).then(
      (ban) => (ban ? void refuse(req, reply, 403, 'E_IP_BANNED', ban.retryAfterSeconds) : done()),
      (e: unknown) => {
        req.log.warn({ err: String(e) }, 'ban store unavailable; ban check skipped');
        done();
      },
    );
  });
  // Preflights CORS allows are answered by the hook; any other OPTIONS is not found.
  app.options('*', (_req, reply) => reply.callNotFound());
  // Files only for a form with file fields, within its limits (docs/attachments.md).
  const uploadLimits = new Map<string, UploadLimits | null>(config.forms.map((f) => [f.id, uploadLimitsFor(config, f)]));
  registerBodyParsers(app, { uploadLimits: (req) => uploadLimits.get((req.params as { formId?: string } | undefined)?.formId ?? '') ?? null });
  await app.register(fastifyStatic, { root: webDir, prefix: '/static/', cacheControl: true, maxAge: '1h' });

  // The hosted form and the "I didn't request this" page (/u/) answer errors with a page, not JSON.
  const isHtmlRoute = (req: FastifyRequest) => req.url.startsWith('/f/') || req.url.startsWith('/u/');
  const langOf = (req: FastifyRequest, form?: FormConfig): Lang => {
    const q = (req.query as Record<string, unknown> | undefined)?.lang;
    const b = req.body && typeof req.body === 'object' ? (req.body as Record<string, unknown>).lang : undefined;
    return pickLang(q ?? b, req.headers['accept-language'], form?.language ?? 'ja');
  };

  const instanceBrand = brandingFor(config);
  /** An HTML error page, in the branding of the form the request is for (the instance's elsewhere). */
  function messagePage(req: FastifyRequest, reply: FastifyReply, status: number, message: string, lang: Lang) {
    const brand = brands.get(formIdIn(req.url) ?? '') ?? instanceBrand;
    return reply.code(status).type('text/html; charset=utf-8').send(renderMessagePage(lang, String(status), message, brand));
  }

  app.setNotFoundHandler((req, reply) => {
    const lang = langOf(req);
    const message = t(lang, formIdIn(req.url) !== undefined ? 'not_found' : 'page_not_found');
    // A browser that opens an unknown address gets a page; API clients, and anything under /api/, get JSON.
    const browser = !req.url.startsWith('/api/') && /\btext\/html\b/i.test(String(req.headers.accept ?? ''));
    if (isHtmlRoute(req) || browser) return messagePage(req, reply, 404, message, lang);
    return reply.code(404).send({ error: { code: 'E_NOT_FOUND', message } });
  });

  /** The form a request is for, as a metrics label. */
  const formLabel = (req: FastifyRequest) => {
    const formId = formIdIn(req.url);
    return formId && forms.has(formId) ? formId : '(unknown)';
  };

  /** A page on another origin calls a form's API without being listed in its cors.origins: say what to add. */
  function logCorsMiss(req: FastifyRequest, origin: string) {
    const match = FORM_API.exec(req.url);
    if (!match) return;
    let formId: string;
    try {
      formId = decodeURIComponent(match[1]!);
      if (new URL(origin).host === req.headers.host) return; // same origin: no CORS needed
    } catch {
      return;
    }
    if (!forms.has(formId) || corsMisses.size >= 200 || corsMisses.has(`${formId} ${origin}`)) return;
    corsMisses.add(`${formId} ${origin}`);
    const seen = origin.slice(0, 200);
    req.log.warn(
      { form: formId, origin: seen, allowed: [...(corsOrigins.get(formId) ?? [])] },
      `cors: ${seen} is not in forms[${formId}].cors.origins, so the browser hides the answer from that page (no token: the form posts as a plain HTML form). Fix: add "${seen}" to forms[${formId}].cors.origins (localhost and 127.0.0.1 are different origins)`,
    );
  }

  function refuse(req: FastifyRequest, reply: FastifyReply, status: number, code: string, retryAfterSeconds?: number) {
    const lang = langOf(req);
    req.log.info({ form: formLabel(req), code, address: req.clientIp || req.socket.remoteAddress, status }, 'submission refused');
    deps.metrics.submissions.inc({ form: formLabel(req), outcome: status === 429 ? 'rate_limited' : code === 'E_TOKEN_MISSING' || code === 'E_TOKEN_INVALID' ? 'no_token' : 'blocked' });
    if (retryAfterSeconds !== undefined) reply.header('retry-after', String(Math.max(1, Math.ceil(retryAfterSeconds))));
    const message = t(lang, status === 429 ? 'rate_limited' : code.startsWith('E_TOKEN') ? 'token_missing' : 'blocked');
    if (isHtmlRoute(req)) return messagePage(req, reply, status, message, lang);
    return reply.code(status).send({ error: { code, message } });
  }

  /** Load shedding: 503 with Retry-After; posts are counted as submissions with the outcome "shed". */
  function shed(req: FastifyRequest, reply: FastifyReply, level: 'unproven' | 'all') {
    shedCounter.inc({ level });
    if (req.method === 'POST') deps.metrics.submissions.inc({ form: formLabel(req), outcome: 'shed' });
    reply.header('retry-after', String(shedCfg.retryAfterSeconds));
    const lang = langOf(req);
    const message = t(lang, 'server_busy');
    if (isHtmlRoute(req)) return messagePage(req, reply, 503, message, lang);
    return reply.code(503).send({ error: { code: 'E_OVERLOADED', message } });
  }
  /**
   * Under the first level of pressure, a post without a valid, unused token and proof-of-work is shed. False at
   * once when nothing is shed (no promise on the common path).
   */
  const shedUnproven = (req: FastifyRequest, form: FormConfig): boolean | Promise<boolean> =>
    shedCfg.enabled && !!defenses && shedding.source() !== 'normal' && defenses.carriesProof(form.id, (req.body ?? {}) as Record<string, unknown>).then((proven) => !proven);

  const notFound = (req: FastifyRequest, reply: FastifyReply, html: boolean) => {
    const lang = langOf(req);
    if (html) return messagePage(req, reply, 404, t(lang, 'not_found'), lang);
    return reply.code(404).send({ error: { code: 'E_FORM_NOT_FOUND', message: t(lang, 'not_found') } });
  };

  // Fastify without a logger logs nowhere; pino says whether its level takes info.
  const logsInfo = (req: FastifyRequest): boolean =>
    !!deps.logger && ((req.log as { isLevelEnabled?: (level: string) => boolean }).isLevelEnabled?.('info') ?? true);
  const submit = async (req: FastifyRequest, form: FormConfig, lang: Lang): Promise<IntakeResult> => {
    const raw = (req.body ?? {}) as RawFields;
    const result = await acceptSubmission(deps.intake, {
      form,
      raw,
      ip: req.clientIp,
      userAgent: String(req.headers['user-agent'] ?? ''),
      lang,
      headers: { 'user-agent': req.headers['user-agent'], referer: req.headers.referer, origin: req.headers.origin, 'accept-language': req.headers['accept-language'] },
    });
    if (result.kind === 'accepted') {
      deps.metrics.submissions.inc({ form: form.id, outcome: result.action });
      // Never field values: the id, the verdict and what happened to the mails (built only when logged).
      if (logsInfo(req)) {
        req.log.info(
          { submission: result.id, receipt: result.receipt, form: form.id, action: result.action, score: result.verdict.score, symbols: result.verdict.symbols.map((f) => f.symbol), autoreply: result.autoreply },
          'submission stored',
        );
      }
      deps.onAccepted?.({ mails: result.mails, webhooks: result.webhooks });
    } else if (result.kind === 'invalid') {
      deps.metrics.submissions.inc({ form: form.id, outcome: 'invalid' });
      req.log.info({ form: form.id, fields: Object.keys(result.errors), ...(result.badInput ? { badInput: true } : {}) }, 'submission invalid');
    }
    return result;
  };
  /** A submission rejected by its score is answered like an accepted one unless silentReject is off. */
  const loudReject = (result: IntakeResult) => result.kind === 'accepted' && result.action === 'reject' && !deps.config.defenses.silentReject;

  const page = (form: FormConfig, lang: Lang, values?: Record<string, unknown>, errors?: Record<string, FieldError>) =>
    renderFormPage({
      form,
      lang,
      values,
      errors,
      protocolHtml: defenses ? protocolHtml(defenses, form, lang, deps.intake.clock.now()) : '',
      head: defenses ? protocolScripts(defenses) : '',
      config,
      brand: brands.get(form.id),
    });

  app.get<{ Params: { formId: string } }>('/f/:formId', async (req, reply) => {
    const form = forms.get(req.params.formId);
    if (!form) return notFound(req, reply, true);
    const lang = langOf(req, form);
    return reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(page(form, lang));
  });

  app.post<{ Params: { formId: string } }>('/f/:formId', async (req, reply) => {
    const form = forms.get(req.params.formId);
    if (!form) return notFound(req, reply, true);
    const unproven = shedUnproven(req, form);
    if (unproven !== false && (await unproven)) return shed(req, reply, 'unproven');
    const lang = langOf(req, form);
    const result = await submit(req, form, lang);
    if (result.kind === 'refused') return refuse(req, reply, result.reason === 'E_RATE_LIMIT' ? 429 : 403, result.reason, result.retryAfterSeconds);
    if (loudReject(result)) return messagePage(req, reply, 422, t(lang, 'rejected'), lang);
    if (result.kind === 'accepted') {
      const target = form.successUrl ?? `/f/${form.id}/thanks?lang=${lang}&id=${encodeURIComponent(result.receipt)}`;
      return reply.code(303).header('location', target).send();
    }
    if (result.badInput) throw new BadInputError(result.badInput);
    return reply
      .code(400)
      .type('text/html; charset=utf-8')
      .send(page(form, lang, req.body as Record<string, unknown>, result.errors));
  });

  app.get<{ Params: { formId: string }; Querystring: { id?: string } }>('/f/:formId/thanks', async (req, reply) => {
    const form = forms.get(req.params.formId);
    if (!form) return notFound(req, reply, true);
    return reply.type('text/html; charset=utf-8').send(renderThanksPage(form, langOf(req, form), req.query.id, brands.get(form.id)));
  });
  // The accent colour as a stylesheet (page.accentColor): only a hex name is answered, so nothing else reaches CSS.
  app.get<{ Params: { file: string } }>(ACCENT_ROUTE, async (req, reply) => {
    const css = accentCss(req.params.file);
    if (css === null) return notFound(req, reply, false);
    return reply.type('text/css; charset=utf-8').header('cache-control', 'public, max-age=31536000, immutable').send(css);
  });

  app.post<{ Params: { formId: string } }>('/api/forms/:formId/submissions', async (req, reply) => {
    const form = forms.get(req.params.formId);
    if (!form) return notFound(req, reply, false);
    const unproven = shedUnproven(req, form);
    if (unproven !== false && (await unproven)) return shed(req, reply, 'unproven');
    const lang = langOf(req, form);
    const result = await submit(req, form, lang);
    if (result.kind === 'refused') return refuse(req, reply, result.reason === 'E_RATE_LIMIT' ? 429 : 403, result.reason, result.retryAfterSeconds);
    if (loudReject(result)) return reply.code(422).send({ error: { code: 'E_REJECTED', message: t(lang, 'rejected') } });
    if (result.kind === 'accepted') return reply.code(201).send({ id: result.id, receipt: result.receipt, status: 'accepted' });
    if (result.badInput) throw new BadInputError(result.badInput);
    return reply.code(400).send(fieldErrorBody(lang, result.errors));
  });

  // The protocol a form needs before it posts: a signed token, the honeypot names, an ALTCHA challenge.
  app.get<{ Params: { formId: string } }>('/api/forms/:formId/challenge', async (req, reply) => {
    const form = forms.get(req.params.formId);
    if (!form) return notFound(req, reply, false);
    reply.header('cache-control', 'no-store');
    if (!defenses) return { token: null, honeypot: [], minFillSeconds: 0, altcha: null };
    return {
      token: defenses.tokens.issueToken(form.id, deps.intake.clock.now()),
      honeypot: defenses.honeypotFields,
      minFillSeconds: deps.config.defenses.formToken.minFillSeconds,
      altcha: defenses.altcha ? await defenses.altcha.createChallenge(form.id) : null,
      altchaUrl: defenses.altcha ? `/api/forms/${form.id}/challenge/altcha` : null,
      captchaImage: !!defenses.captchaImage,
      captcha: captchaForClient(defenses),
    };
  });
  app.get<{ Params: { formId: string } }>('/api/forms/:formId/challenge/altcha', async (req, reply) => {
    const form = forms.get(req.params.formId);
    if (!form || !defenses?.altcha) return notFound(req, reply, false);
    return reply.header('cache-control', 'no-store').send(await defenses.altcha.createChallenge(form.id));
  });
  app.get<{ Params: { formId: string } }>('/api/forms/:formId/captcha', async (req, reply) => {
    const form = forms.get(req.params.formId);
    if (!form || !defenses?.captchaImage) return notFound(req, reply, false);
    const c = defenses.captchaImage.create(form.id, deps.intake.clock.now());
    return reply.header('cache-control', 'no-store').send({ svg: c.svg, token: c.token, alt: c.alt[langOf(req, form)], expiresAt: c.expiresAt });
  });
  app.get('/static/vendor/altcha.js', async (_req, reply) => {
    // Loaded as a module script by web/widget.js on the owners' own sites: module scripts need CORS.
    return reply
      .type('text/javascript; charset=utf-8')
      .header('cache-control', 'public, max-age=3600')
      .header('access-control-allow-origin', '*')
      .send(createReadStream(altchaWidgetFile));
  });

  app.get('/healthz', async (_req, reply) => {
    if (deps.draining?.()) return reply.code(503).header('retry-after', '5').header('cache-control', 'no-store').send({ status: 'draining' });
    const ok = deps.healthCheck ? await deps.healthCheck().catch(() => false) : true;
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'unavailable' });
  });

  // Prometheus on this machine (or the ranges server.metricsFrom lists) reads it; anyone else finds nothing here.
  const metricsReaders = compileCidrs(config.server.metricsFrom, 'server.metricsFrom');
  app.get('/metrics', async (req, reply) => {
    const peer = parseAddress(req.socket.remoteAddress);
    if (!peer || !metricsReaders(peer)) return reply.callNotFound();
    return reply.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });

  return app;
}

export function fieldErrorBody(lang: Lang, errors: Record<string, FieldError>) {
  return {
    error: {
      code: 'E_VALIDATION',
      message: t(lang, 'form_has_errors'),
      fields: Object.fromEntries(Object.entries(errors).map(([name, e]) => [name, { code: e.code, message: fieldErrorText(lang, e) }])),
    },
  };
}

function errorCode(status: number, error: { code?: string }): string {
  if (status === 413) return 'E_TOO_LARGE';
  if (status === 415) return 'E_UNSUPPORTED_MEDIA_TYPE';
  if (status === 404) return 'E_NOT_FOUND';
  if (status === 400) return error.code === 'E_BAD_INPUT' ? 'E_BAD_INPUT' : 'E_BAD_REQUEST';
  if (status === 429) return 'E_RATE_LIMIT';
  if (status === 503) return 'E_UNAVAILABLE';
  return status >= 500 ? 'E_INTERNAL' : `E_HTTP_${status}`;
}
