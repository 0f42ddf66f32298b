// The Fastify application: the hosted form (HTML), the JSON API, health and metrics.
// The core (submissions/, mail/) knows nothing of Fastify; this file only translates.
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import cors from '@fastify/cors';
import helmet from '@fastify/helmet';
import fastifyStatic from '@fastify/static';
import { createRequire } from 'node:module';
import { createReadStream } from 'node:fs';
import type { Config, FormConfig } from '../config/schema.js';
import { clientAddress } from '../defenses/client-address/index.js';
import { t, pickLang, type Lang, fieldErrorText } from '../i18n/messages.js';
import type { FieldError, RawFields } from '../forms/validate.js';
import type { Metrics } from '../monitor/metrics.js';
import { acceptSubmission, type IntakeDeps, type IntakeResult } from '../submissions/accept.js';
import { BadInputError, registerBodyParsers } from './body.js';
import { renderFormPage, renderMessagePage, renderThanksPage } from './form-page.js';
import { captchaForClient, protocolHtml, protocolScripts, withCaptchaSources } from './protocol.js';

export interface AppDeps {
  config: Config;
  intake: IntakeDeps;
  metrics: Metrics;
  /** Called after a submission is written, so the worker sends without waiting for its next poll. */
  onAccepted?: () => void;
  logger?: boolean | object;
  healthCheck?: () => Promise<boolean>;
}

const webDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../web');
const altchaWidgetFile = path.join(path.dirname(createRequire(import.meta.url).resolve('altcha')), 'altcha.i18n.min.js');

declare module 'fastify' {
  interface FastifyRequest {
    clientIp: string;
  }
}

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { config } = deps;
  const forms = new Map(config.forms.map((f) => [f.id, f]));
  const app = Fastify({
    logger: deps.logger ?? false,
    bodyLimit: config.server.bodyLimit,
    trustProxy: false,
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
  });

  // The error handler comes first, so that every route (including those the plugins add) uses it.
  app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, req, reply) => {
    let status = error.statusCode ?? 500;
    if (error instanceof BadInputError) status = 400;
    // A multipart body that is not multipart (no boundary, cut short) surfaces as a plain parser error.
    if (status >= 500 && !error.statusCode && /^multipart\//i.test(String(req.headers['content-type'] ?? ''))) {
      status = 400;
      error = new BadInputError('the multipart body is malformed');
    }
    if (error.code === 'FST_FILES_LIMIT') {
      status = 400;
      error = new BadInputError('file uploads are not accepted');
    }
    if (status >= 500) {
      req.log.error({ err: error }, 'unhandled error');
      status = 500;
    }
    const code = errorCode(status, error);
    const lang = langOf(req);
    const message = status === 413 ? t(lang, 'too_large') : status === 415 ? t(lang, 'unsupported_type') : status === 400 ? `${t(lang, 'bad_request')} (${error.message})` : t(lang, 'bad_request');
    if (isHtmlRoute(req)) return reply.code(status).type('text/html; charset=utf-8').send(renderMessagePage(lang, String(status), message));
    return reply.code(status).send({ error: { code, message } });
  });
  await app.register(helmet, {
    contentSecurityPolicy: { directives: withCaptchaSources(deps.intake.defenses, { 'form-action': ["'self'"], 'script-src': ["'self'"], 'worker-src': ["'self'", 'blob:'] }) },
    crossOriginResourcePolicy: { policy: 'cross-origin' },
  });
  await app.register(cors, {
    hook: 'onRequest',
    delegator: (req, cb) => {
      const match = /^\/api\/forms\/([^/?]+)/.exec(req.url ?? '');
      const form = match ? forms.get(decodeURIComponent(match[1]!)) : undefined;
      const origin = req.headers.origin;
      const allowed = !!(form && origin && form.cors.origins.some((o) => new URL(o).origin === origin));
      cb(null, { origin: allowed ? origin : false, methods: ['GET', 'POST'], allowedHeaders: ['Content-Type', 'Accept'], maxAge: 600 });
    },
  });
  await registerBodyParsers(app);
  const defenses = deps.intake.defenses;
  app.decorateRequest('clientIp', '');
  // Cheap rejection first: the client address is resolved and checked against the block list and
  // temporary bans before the body is read, so a blocked address costs no parsing and no write.
  app.addHook('onRequest', async (req, reply) => {
    req.clientIp = defenses ? clientAddress(req.socket.remoteAddress ?? '', req.headers, defenses.trustProxy) : (req.socket.remoteAddress ?? '');
    if (!defenses || req.method !== 'POST') return;
    const now = deps.intake.clock.now();
    const hit = defenses.ipLists.matcher.check(req.clientIp, now);
    if (hit?.list === 'block') return refuse(req, reply, 403, 'E_IP_BLOCKED');
    if (hit?.list !== 'allow' && defenses.ipLists.bans) {
      // The ban store may be Redis: when it cannot answer, the check fails open, as the ip-lists
      // defense declares; the rest of the pipeline still runs.
      const ban = await defenses.ipLists.bans.status(req.clientIp, now).catch((e: unknown) => {
        req.log.warn({ err: String(e) }, 'ban store unavailable; ban check skipped');
        return null;
      });
      if (ban) return refuse(req, reply, 403, 'E_IP_BANNED', ban.retryAfterSeconds);
    }
  });
  await app.register(fastifyStatic, { root: webDir, prefix: '/static/', cacheControl: true, maxAge: '1h' });

  const isHtmlRoute = (req: FastifyRequest) => req.url.startsWith('/f/');
  const langOf = (req: FastifyRequest, form?: FormConfig): Lang => {
    const q = (req.query as Record<string, unknown> | undefined)?.lang;
    const b = req.body && typeof req.body === 'object' ? (req.body as Record<string, unknown>).lang : undefined;
    return pickLang(q ?? b, req.headers['accept-language'], form?.language ?? 'ja');
  };

  app.setNotFoundHandler((req, reply) => {
    const lang = langOf(req);
    if (isHtmlRoute(req)) return reply.code(404).type('text/html; charset=utf-8').send(renderMessagePage(lang, '404', t(lang, 'not_found')));
    return reply.code(404).send({ error: { code: 'E_NOT_FOUND', message: t(lang, 'not_found') } });
  });

  function refuse(req: FastifyRequest, reply: FastifyReply, status: number, code: string, retryAfterSeconds?: number) {
    const lang = langOf(req);
    const formId = /^\/(?:f|api\/forms)\/([^/?]+)/.exec(req.url)?.[1];
    deps.metrics.submissions.inc({ form: formId && forms.has(formId) ? formId : '(unknown)', outcome: status === 429 ? 'rate_limited' : code === 'E_TOKEN_MISSING' || code === 'E_TOKEN_INVALID' ? 'no_token' : 'blocked' });
    if (retryAfterSeconds !== undefined) reply.header('retry-after', String(Math.max(1, Math.ceil(retryAfterSeconds))));
    const message = t(lang, status === 429 ? 'rate_limited' : code.startsWith('E_TOKEN') ? 'token_missing' : 'blocked');
    if (isHtmlRoute(req)) return reply.code(status).type('text/html; charset=utf-8').send(renderMessagePage(lang, String(status), message));
    return reply.code(status).send({ error: { code, message } });
  }

  const notFound = (req: FastifyRequest, reply: FastifyReply, html: boolean) => {
    const lang = langOf(req);
    if (html) return reply.code(404).type('text/html; charset=utf-8').send(renderMessagePage(lang, '404', t(lang, 'not_found')));
    return reply.code(404).send({ error: { code: 'E_FORM_NOT_FOUND', message: t(lang, 'not_found') } });
  };

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
      deps.onAccepted?.();
    } else if (result.kind === 'invalid') deps.metrics.submissions.inc({ form: form.id, outcome: 'invalid' });
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
    const lang = langOf(req, form);
    const result = await submit(req, form, lang);
    if (result.kind === 'refused') return refuse(req, reply, result.reason === 'E_RATE_LIMIT' ? 429 : 403, result.reason, result.retryAfterSeconds);
    if (loudReject(result)) return reply.code(422).type('text/html; charset=utf-8').send(renderMessagePage(lang, '422', t(lang, 'rejected')));
    if (result.kind === 'accepted') {
      const target = form.successUrl ?? `/f/${form.id}/thanks?lang=${lang}&id=${result.id}`;
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
    return reply.type('text/html; charset=utf-8').send(renderThanksPage(form, langOf(req, form), req.query.id));
  });

  app.post<{ Params: { formId: string } }>('/api/forms/:formId/submissions', async (req, reply) => {
    const form = forms.get(req.params.formId);
    if (!form) return notFound(req, reply, false);
    const lang = langOf(req, form);
    const result = await submit(req, form, lang);
    if (result.kind === 'refused') return refuse(req, reply, result.reason === 'E_RATE_LIMIT' ? 429 : 403, result.reason, result.retryAfterSeconds);
    if (loudReject(result)) return reply.code(422).send({ error: { code: 'E_REJECTED', message: t(lang, 'rejected') } });
    if (result.kind === 'accepted') return reply.code(201).send({ id: result.id, status: 'accepted' });
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
    const ok = deps.healthCheck ? await deps.healthCheck().catch(() => false) : true;
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'unavailable' });
  });

  app.get('/metrics', async (_req, reply) => {
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
  return status >= 500 ? 'E_INTERNAL' : `E_HTTP_${status}`;
}
