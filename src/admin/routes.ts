// The owner's console under /admin/ (docs/admin.md): login, the inbox, one inquiry, export. Server-rendered,
// no script; every page is no-store. Sessions live in the database; every state-changing request carries the
// session's CSRF token (`_csrf` field or `x-csrf-token` header); an unauthenticated request is sent to the
// login page (303), or answered 401 when it asks for JSON.
import { randomBytes } from 'node:crypto';
import cookie from '@fastify/cookie';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import type { Config } from '../config/schema.js';
import { pickLang, type Lang } from '../i18n/messages.js';
import type { Db } from '../store/db.js';
import { getSubmissionDetail } from '../submissions/detail.js';
import { exportCsv, exportJson } from '../submissions/export.js';
import type { Clock } from '../util/clock.js';
import type { Monitor } from '../monitor/breaker.js';
import { createGeoDefense, type GeoLookup } from '../defenses/geo/index.js';
import { registerActions } from './actions.js';
import { safeNext } from './redirect.js';
import { registerDashboard } from './dashboard.js';
import { ct, doneMessage } from './i18n.js';
import { zonedDayStart } from '../util/zoned-day.js';
import { ACTIONS, decodeCursor, listInbox } from './inbox.js';
import { createLoginLimiter, DEFAULT_LOGIN_LIMITS, type LoginLimits } from './login-limit.js';
import { decoyHash, verifyPassword } from './passwords.js';
import { useTotpCode } from './totp.js';
import { audit, createSession, csrfMatches, DEFAULT_SESSION_POLICY, endSession, findSession, randomToken, type ActiveSession, type SessionPolicy } from './sessions.js';
import { registerOperations } from './operations.js';
import { canSeeForm, findUserByEmail, normalizeEmail } from './users.js';
import { raw, type Html } from './views/html.js';
import { esc } from '../http/html.js';
import { layout, type Frame, type NavKey } from './views/layout.js';
import { inboxPage, loginPage, messagePage, submissionPage } from './views/pages.js';
import type { WebhookPlanner } from '../integrations/plan.js';

/** The helpers a console area's routes use (src/admin/<area>.ts registers its routes with them). */
export interface ConsoleContext {
  config: Config;
  db: Db;
  clock: Clock;
  now: () => number;
  langOf: (req: FastifyRequest) => Lang;
  wantsJson: (req: FastifyRequest) => boolean;
  /** Sends a page in the console's frame. */
  send: (reply: FastifyReply, code: number, req: FastifyRequest, title: string, body: Html, nav?: NavKey) => FastifyReply;
  /** The forms the session's user may see. */
  visibleForms: (s: ActiveSession) => string[];
  /** The logged-in session (the preHandler guarantees one on every route but login). */
  session: (req: FastifyRequest) => ActiveSession;
  /** Records who did what, when (console_audit). */
  audit: (req: FastifyRequest, action: string, target: string, detail?: object) => Promise<void>;
  /** Drops the cached inbox pages after a change. */
  dataChanged: () => void;
  /** The offline country/ASN lookup (geo's database), opened once on first use; null when it cannot be read. */
  geo: () => GeoLookup | null;
  deps: ConsoleDeps;
}

export interface ConsoleDeps {
  config: Config;
  db: Db;
  clock: Clock;
  redis?: Redis;
  /** Whether the request reached us over https (directly or via a trusted proxy): cookies get Secure. */
  overHttps: (req: FastifyRequest) => boolean;
  sessions?: SessionPolicy;
  loginLimits?: LoginLimits;
  /** The envelope sender of mail the console queues (a released inquiry's notification). */
  fromAddress: string;
  /** The breaker: a released inquiry's auto-reply is skipped while it is open. */
  monitor?: Monitor;
  /** A site's own sender, and the forms' webhooks, for a released inquiry's mail and messages (IntakeDeps). */
  senderAddress?: (formId: string) => string | undefined;
  webhooks?: WebhookPlanner;
}

const SESSION_COOKIE = 'fw_session';
const LOGIN_COOKIE = 'fw_login';
const LANG_COOKIE = 'fw_lang';

declare module 'fastify' {
  interface FastifyRequest {
    consoleSession: ActiveSession | null;
  }
}

/** A date filter (YYYY-MM-DD) as a moment: the start of that day, or of the day after, in the instance's zone. */
const dateMs = (s: unknown, timeZone: string, endOfDay = false): number | undefined => {
  if (typeof s !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(s)) return undefined;
  const day = endOfDay ? new Date(Date.parse(`${s}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10) : s;
  return zonedDayStart(day, timeZone) ?? undefined;
};

/** How long an inbox page's body is reused (ms). */
export const INBOX_CACHE_MS = 2000;
/** Stands for the session's CSRF token in a cached body: random per process, so no stored text can equal it. */
const CSRF_MARK = `csrf${randomBytes(16).toString('hex')}`;

export interface ConsoleHandle {
  /** Something changed the submissions (a new inquiry, a console action): cached inbox pages are dropped. */
  dataChanged(): void;
}

export async function registerConsole(app: FastifyInstance, deps: ConsoleDeps): Promise<ConsoleHandle> {
  const inboxCache = new Map<string, { at: number; parts: string[] }>();
  const { config, db, clock } = deps;
  const policy = deps.sessions ?? DEFAULT_SESSION_POLICY;
  const limiter = createLoginLimiter(deps.loginLimits ?? DEFAULT_LOGIN_LIMITS, deps.redis, config.redis?.keyPrefix);
  const now = () => clock.now().getTime();
  const formIds = config.forms.map((f) => f.id);

  await app.register(
    async (scope) => {
      await scope.register(cookie);
      scope.decorateRequest('consoleSession', null);

      const langOf = (req: FastifyRequest): Lang => {
        const c = req.cookies[LANG_COOKIE];
        return c === 'ja' || c === 'en' ? c : pickLang(undefined, req.headers['accept-language'], 'ja');
      };
      const wantsJson = (req: FastifyRequest) => req.url.split('?')[0]!.endsWith('.json') || /application\/json/.test(req.headers.accept ?? '');
      const cookieOpts = (req: FastifyRequest, maxAgeSeconds?: number) => ({
        path: '/admin',
        httpOnly: true,
        sameSite: 'lax' as const,
        secure: deps.overHttps(req),
        ...(maxAgeSeconds !== undefined ? { maxAge: maxAgeSeconds } : {}),
      });
      const send = (reply: FastifyReply, code: number, frame: Omit<Frame, 'siteName'>, body: Parameters<typeof layout>[1]) =>
        reply.code(code).type('text/html; charset=utf-8').send(layout({ ...frame, siteName: config.siteName }, body));
      const frameOf = (req: FastifyRequest, title: string, nav?: NavKey): Omit<Frame, 'siteName'> => {
        const s = req.consoleSession;
        return { lang: langOf(req), title, user: s ? { email: s.user.email, csrf: s.csrf } : null, path: req.url, nav };
      };

      scope.addHook('onRequest', async (req, reply) => {
        reply.header('cache-control', 'no-store');
        reply.header('x-robots-tag', 'noindex');
      });

      // Who is asking: every page but the login page and the language switch needs a session.
      scope.addHook('preHandler', async (req, reply) => {
        const path = req.url.split('?')[0]!;
        if (path === '/admin/login' || path.startsWith('/admin/lang/')) return;
        req.consoleSession = await findSession(db.kysely, req.cookies[SESSION_COOKIE], now(), policy);
        if (!req.consoleSession) {
          if (wantsJson(req)) return reply.code(401).send({ error: { code: 'E_LOGIN_REQUIRED', message: 'log in at /admin/login' } });
          const next = req.method === 'GET' ? `?next=${encodeURIComponent(req.url)}` : '';
          return reply.code(303).header('location', `/admin/login${next}`).send();
        }
        if (req.method !== 'GET' && req.method !== 'HEAD') {
          const body = req.body && typeof req.body === 'object' ? (req.body as Record<string, unknown>) : {};
          if (!csrfMatches(req.consoleSession.csrf, body._csrf ?? req.headers['x-csrf-token'])) {
            const lang = langOf(req);
            if (wantsJson(req)) return reply.code(403).send({ error: { code: 'E_CSRF', message: ct(lang, 'csrf_failed') } });
            return send(reply, 403, frameOf(req, ct(lang, 'console')), messagePage(ct(lang, 'csrf_failed'), lang));
          }
        }
      });

      scope.get('/', async (_req, reply) => reply.code(303).header('location', '/admin/inbox').send());

      scope.get<{ Params: { lang: string }; Querystring: { next?: string } }>('/lang/:lang', async (req, reply) => {
        const lang = req.params.lang === 'en' ? 'en' : 'ja';
        reply.setCookie(LANG_COOKIE, lang, cookieOpts(req, 365 * 86400));
        return reply.code(303).header('location', safeNext(req.query.next)).send();
      });

      // Login: the form carries a random token that must equal the one in a short-lived cookie (a login
      // cannot be forged from another site), then the password is checked against scrypt, with the same
      // cost for an unknown address. Failures are counted per account and per client address.
      const showLogin = (req: FastifyRequest, reply: FastifyReply, code: number, opts: { email?: string; error?: string; next?: string }) => {
        const token = randomToken();
        reply.setCookie(LOGIN_COOKIE, token, { ...cookieOpts(req, 3600), sameSite: 'strict' });
        const lang = langOf(req);
        return send(reply, code, { ...frameOf(req, ct(lang, 'login_title')), user: null }, loginPage(lang, { csrf: token, ...opts }));
      };
      scope.get<{ Querystring: { next?: string } }>('/login', async (req, reply) => showLogin(req, reply, 200, { next: req.query.next ? safeNext(req.query.next) : undefined }));

      scope.post('/login', async (req, reply) => {
        const lang = langOf(req);
        const body = (req.body && typeof req.body === 'object' ? req.body : {}) as Record<string, unknown>;
        const str = (v: unknown) => (typeof v === 'string' ? v : '');
        const email = normalizeEmail(str(body.email)).slice(0, 254);
        const next = safeNext(body.next);
        const expected = req.cookies[LOGIN_COOKIE];
        if (!expected || !csrfMatches(expected, body._csrf)) return showLogin(req, reply, 403, { email, error: ct(lang, 'csrf_failed'), next });
        const wait = await limiter.lockedFor(email, req.clientIp);
        if (wait > 0) {
          reply.header('retry-after', String(wait));
          return showLogin(req, reply, 429, { email, error: ct(lang, 'locked_out', { minutes: Math.ceil(wait / 60) }), next });
        }
        const user = email ? await findUserByEmail(db.kysely, email) : undefined;
        const passwordOk = await verifyPassword(str(body.password).slice(0, 1000), user?.password_hash ?? (await decoyHash()));
        // With a second factor, the code is part of the same check: the answer never says which part was wrong.
        const ok = passwordOk && (!user?.totp_secret || (await useTotpCode(db.kysely, user.id, user.totp_secret, str(body.code).slice(0, 20), now())));
        if (!user || !ok) {
          await limiter.failed(email, req.clientIp);
          await audit(db.kysely, { at: now(), userId: user?.id ?? null, email, action: 'login_failed', target: req.clientIp });
          req.log.info({ console: 'login_failed', ip: req.clientIp }, 'console: login failed');
          return showLogin(req, reply, 401, { email, error: ct(lang, 'login_failed'), next });
        }
        await limiter.succeeded(email);
        const { token } = await createSession(db.kysely, user.id, { ip: req.clientIp, userAgent: String(req.headers['user-agent'] ?? '') }, now(), policy);
        await audit(db.kysely, { at: now(), userId: user.id, email: user.email, action: 'login', target: req.clientIp });
        reply.clearCookie(LOGIN_COOKIE, { path: '/admin' });
        reply.setCookie(SESSION_COOKIE, token, cookieOpts(req));
        return reply.code(303).header('location', next).send();
      });

      scope.post('/logout', async (req, reply) => {
        const s = req.consoleSession!;
        await endSession(db.kysely, s.id);
        await audit(db.kysely, { at: now(), userId: s.user.id, email: s.user.email, action: 'logout' });
        reply.clearCookie(SESSION_COOKIE, { path: '/admin' });
        return reply.code(303).header('location', '/admin/login').send();
      });

      const visibleForms = (s: ActiveSession) => formIds.filter((f) => canSeeForm(s.user, f));
      let geo: GeoLookup | null | undefined;
      // What every console page needs; each area registers its own routes with it.
      const ctx: ConsoleContext = {
        config,
        db,
        clock,
        now,
        langOf,
        wantsJson,
        send: (reply, code, req, title, body, nav) => send(reply, code, frameOf(req, title, nav), body),
        visibleForms,
        session: (req) => req.consoleSession!,
        audit: (req, action, target, detail) => {
          const s = req.consoleSession!;
          return audit(db.kysely, { at: now(), userId: s.user.id, email: s.user.email, action, target, detail });
        },
        geo: () => {
          if (geo === undefined) {
            try {
              geo = createGeoDefense({ countryDb: config.defenses.geo.countryDb }).lookup;
            } catch {
              geo = null;
            }
          }
          return geo;
        },
        deps,
        dataChanged: () => inboxCache.clear(),
      };
      // The console's areas, one line each (src/admin/<area>.ts).
      await registerActions(scope, ctx);
      await registerDashboard(scope, ctx);
      await registerOperations(scope, ctx);

      scope.get<{ Querystring: Record<string, string | undefined> }>('/inbox', async (req, reply) => {
        const s = req.consoleSession!;
        const lang = langOf(req);
        const q = req.query;
        const forms = visibleForms(s);
        const form = q.form && forms.includes(q.form) ? q.form : undefined;
        const action = q.action && (ACTIONS as readonly string[]).includes(q.action) ? q.action : undefined;
        const filter = { form, action, since: q.since, until: q.until, q: q.q?.trim() || undefined };
        const params = new URLSearchParams(Object.entries(filter).filter((e): e is [string, string] => typeof e[1] === 'string' && e[1] !== ''));
        const query = params.toString();
        const notice = doneMessage(lang, q.done);
        // The page body for this view (forms seen, filter, page, language) is kept for INBOX_CACHE_MS and shared by
        // everyone with the same view; the session's CSRF token is put in per request. Any write through this
        // process (a new inquiry, a console action) drops it at once; another process's writes show within that time.
        const key = JSON.stringify([forms, filter, q.before ?? '', lang]);
        let cached = notice ? undefined : inboxCache.get(key);
        if (!cached || now() - cached.at >= INBOX_CACHE_MS || now() < cached.at) {
          const result = await listInbox(
            db.kysely,
            db.dialect,
            config,
            { forms, form, action, since: dateMs(q.since, config.timeZone), until: dateMs(q.until, config.timeZone, true), q: filter.q, before: decodeCursor(q.before) },
            lang,
          );
          const older = result.next ? `/admin/inbox?${query ? `${query}&` : ''}before=${encodeURIComponent(result.next)}` : undefined;
          const titles = config.forms.filter((f) => forms.includes(f.id)).map((f) => ({ id: f.id, title: f.title[lang] }));
          const body = inboxPage(lang, {
            rows: result.rows,
            forms: titles,
            filter,
            olderHref: older,
            isFirstPage: !q.before,
            exportQuery: form ? query : undefined,
            csrf: CSRF_MARK,
            back: `/admin/inbox${query ? `?${query}` : ''}`,
            notice,
          }).value.split(CSRF_MARK);
          cached = { at: now(), parts: body };
          if (!notice && body.length <= 2) {
            if (inboxCache.size >= 200) inboxCache.delete(inboxCache.keys().next().value!);
            inboxCache.set(key, cached);
          }
        }
        return send(reply, 200, frameOf(req, ct(lang, 'inbox'), 'inbox'), raw(cached.parts.join(esc(s.csrf))));
      });

      scope.get<{ Params: { id: string } }>('/submissions/:id', async (req, reply) => {
        const s = req.consoleSession!;
        const lang = langOf(req);
        const d = await getSubmissionDetail(db.kysely, config, req.params.id.slice(0, 64), lang);
        // Another form's inquiry is answered as if it did not exist.
        if (!d || !canSeeForm(s.user, d.form)) return send(reply, 404, frameOf(req, ct(lang, 'not_found')), messagePage(ct(lang, 'not_found'), lang));
        if (wantsJson(req)) return reply.send(d);
        const done = (req.query as Record<string, unknown>).done;
        return send(reply, 200, frameOf(req, `${ct(lang, 'submission')} ${d.receipt ?? d.id}`, 'inbox'), submissionPage(lang, d, { csrf: s.csrf, notice: doneMessage(lang, done), decisions: d.decisions, country: ctx.geo()?.country(d.ip) ?? null }));
      });

      for (const format of ['csv', 'json'] as const) {
        scope.get<{ Querystring: Record<string, string | undefined> }>(`/export.${format}`, async (req, reply) => {
          const s = req.consoleSession!;
          const lang = langOf(req);
          const q = req.query;
          if (!q.form || !canSeeForm(s.user, q.form) || !formIds.includes(q.form)) {
            return reply.code(404).send({ error: { code: 'E_UNKNOWN_FORM', message: ct(lang, 'choose_form_to_export') } });
          }
          const action = q.action && (ACTIONS as readonly string[]).includes(q.action) ? [q.action] : undefined;
          const filter = { form: q.form, actions: action, since: dateMs(q.since, config.timeZone), until: dateMs(q.until, config.timeZone, true) };
          await audit(db.kysely, { at: now(), userId: s.user.id, email: s.user.email, action: 'export', target: q.form, detail: { format } });
          const day = new Date(now()).toISOString().slice(0, 10);
          reply
            .type(format === 'csv' ? 'text/csv; charset=utf-8' : 'application/json; charset=utf-8')
            .header('content-disposition', `attachment; filename="formwarden-${q.form}-${day}.${format}"`);
          const { Readable } = await import('node:stream');
          return reply.send(Readable.from(format === 'csv' ? exportCsv(db.kysely, config, filter, lang) : exportJson(db.kysely, config, filter, lang)));
        });
      }
    },
    { prefix: '/admin' },
  );
  return { dataChanged: () => inboxCache.clear() };
}
