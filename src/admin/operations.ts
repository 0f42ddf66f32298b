// The console's operations pages (issue #11 item 6), owners only: breakers, block/allow lists and bans,
// the suppression list, alert history, the outbox, and the captured mail viewer (which a member may use
// for the mails of their own forms' inquiries). Every change calls the same core function as its
// `formwarden` command and is audited; the console's preHandler has already checked session and CSRF.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { banKey, liftBan, listBans } from '../defenses/ip-lists/db-ban-store.js';
import { addRule, canonicalCidr, listRules, removeRule, ruleExpiry } from '../defenses/ip-lists/rules-store.js';
import { parseEmail } from '../forms/email.js';
import type { Lang } from '../i18n/messages.js';
import { decodeMail } from '../mail/decode.js';
import { getMail, listMail, outboxDepth, retryMail } from '../mail/outbox.js';
import { formatInZone } from '../mail/template.js';
import { breakerScope, resetBreaker } from '../monitor/breaker.js';
import { suppress, unsuppress } from '../relay/suppression.js';
import { ct } from './i18n.js';
import { decodeCursor, encodeCursor } from './inbox.js';
import { ot, type OpsKey } from './operations-i18n.js';
import type { ConsoleContext } from './routes.js';
import type { Html } from './views/html.js';
import {
  alertsPage,
  breakersPage,
  ipListsPage,
  MAIL_KINDS,
  MAIL_STATES,
  mailPage,
  OPS,
  outboxPage,
  overviewPage,
  suppressionsPage,
  type BreakerRow,
  type MailRow,
  type MailView,
  type Notice,
} from './views/operations.js';
import { messagePage } from './views/pages.js';

const PAGE = 50;
type Body = Record<string, unknown>;
type Query = Record<string, string | undefined>;
const str = (v: unknown, max = 1000) => (typeof v === 'string' ? v.slice(0, max) : '');
const bodyOf = (req: FastifyRequest): Body => (req.body && typeof req.body === 'object' ? (req.body as Body) : {});

/** The notices a page shows after a redirect (?done=...): fixed keys only, so a link cannot make one up. */
const DONE: Record<string, readonly OpsKey[]> = {
  breakers: ['reset_done'],
  'ip-lists': ['rule_added', 'rule_removed', 'unbanned'],
  suppressions: ['suppressed', 'already_suppressed', 'unsuppressed'],
  outbox: ['retried'],
};
const doneOf = (page: string, q: Query): Notice | undefined => {
  const d = DONE[page]!.find((k) => k === q.done);
  return d ? { done: d } : undefined;
};

/** Suppressions are keyed by address: their cursor is (created_at, address). */
const encodeSuppressionCursor = (at: number, address: string) => `${at}_${Buffer.from(address).toString('base64url')}`;
function decodeSuppressionCursor(s: unknown): { at: number; address: string } | undefined {
  if (typeof s !== 'string') return undefined;
  const m = /^(\d{1,15})_([\w-]{1,400})$/.exec(s);
  return m ? { at: Number(m[1]), address: Buffer.from(m[2]!, 'base64url').toString('utf8') } : undefined;
}

export async function registerOperations(scope: FastifyInstance, ctx: ConsoleContext): Promise<void> {
  const { config, db } = ctx;
  const k = db.kysely;
  const when = (ms: number | null, lang: Lang) => (ms === null ? '' : formatInZone(new Date(ms), config.timeZone, lang));
  const formTitle = (id: string | null, lang: Lang) => (id ? (config.forms.find((f) => f.id === id)?.title[lang] ?? id) : '');
  const notFound = (req: FastifyRequest, reply: FastifyReply) => {
    const lang = ctx.langOf(req);
    return ctx.send(reply, 404, req, ct(lang, 'not_found'), messagePage(ct(lang, 'not_found'), lang));
  };
  const page = (req: FastifyRequest, reply: FastifyReply, code: number, title: OpsKey, body: Html) => ctx.send(reply, code, req, ot(ctx.langOf(req), title), body, 'operations');
  const back = (reply: FastifyReply, path: string, done: OpsKey) => reply.code(303).header('location', `${OPS}${path}?done=${done}`).send();
  /** ?older=1-style links: the same query with `key` set to the cursor. */
  const withCursor = (path: string, q: Record<string, string | undefined>, key: string, cursor: string | undefined) => {
    if (!cursor) return undefined;
    const p = new URLSearchParams(Object.entries({ ...q, [key]: cursor }).filter((e): e is [string, string] => typeof e[1] === 'string' && e[1] !== ''));
    return `${OPS}${path}?${p.toString()}`;
  };
  const mailRow = (lang: Lang) => (m: Awaited<ReturnType<typeof listMail>>[number]): MailRow => ({
    id: m.id,
    kind: m.kind,
    state: m.state,
    to: m.to_addr,
    subject: m.subject,
    attempts: m.attempts,
    created: when(m.created_at, lang),
    next: m.state === 'pending' ? when(m.next_attempt_at, lang) : '',
    error: m.last_error ?? '',
  });

  await scope.register(
    async (ops) => {
      // Instance-wide operations: a member is answered as if the pages did not exist (after the console's
      // own preHandler, so no session still means the login page and a bad token still means 403).
      ops.addHook('preHandler', async (req, reply) => {
        if (ctx.session(req).user.role !== 'owner') return notFound(req, reply);
      });

      ops.get('/', async (req, reply) => {
        const now = ctx.now();
        const lang = ctx.langOf(req);
        const breakers = await k.selectFrom('breakers').select(['state', k.fn.countAll<number>().as('n')]).groupBy('state').execute();
        const rules = await k
          .selectFrom('ip_rules')
          .select(['list', k.fn.countAll<number>().as('n')])
          .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
          .groupBy('list')
          .execute();
        const bans = await k.selectFrom('bans').select(k.fn.countAll<number>().as('n')).where('until_at', '>', now).executeTakeFirstOrThrow();
        const suppressed = await k.selectFrom('suppressions').select(k.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
        const last = await k.selectFrom('events').select('at').where('kind', '=', 'alert').orderBy('at', 'desc').limit(1).executeTakeFirst();
        const nOf = <T extends { n: unknown }>(rows: T[], pick: (r: T) => boolean) => Number(rows.find(pick)?.n ?? 0);
        const view = {
          breakers: { open: nOf(breakers, (r) => r.state === 'open'), half: nOf(breakers, (r) => r.state === 'half_open') },
          rules: { block: nOf(rules, (r) => r.list === 'block'), allow: nOf(rules, (r) => r.list === 'allow') },
          bans: Number(bans.n),
          suppressions: Number(suppressed.n),
          lastAlert: last ? when(last.at, lang) : null,
          outbox: await outboxDepth(k),
        };
        return page(req, reply, 200, 'title', overviewPage(lang, view));
      });

      // Breakers: one row per form and the instance (no row: never tripped, closed), and the trips.
      const breakersView = async (req: FastifyRequest, q: Query, notice?: Notice) => {
        const lang = ctx.langOf(req);
        const stored = new Map((await k.selectFrom('breakers').selectAll().execute()).map((r) => [r.scope, r]));
        const scopes = [...config.forms.map((f) => `form:${f.id}`), 'instance'];
        for (const s of stored.keys()) if (!scopes.includes(s)) scopes.push(s);
        const rows: BreakerRow[] = scopes.map((s) => {
          const r = stored.get(s);
          return {
            scope: s,
            form: s === 'instance' ? 'instance' : s.slice('form:'.length),
            label: s === 'instance' ? ot(lang, 'instance') : formTitle(s.slice('form:'.length), lang),
            state: r?.state ?? 'closed',
            reason: r?.reason ?? '',
            since: r ? when(r.updated_at, lang) : '',
            tripped: when(r?.tripped_at ?? null, lang),
            retry: when(r?.retry_at ?? null, lang),
            stored: !!r,
          };
        });
        const before = decodeCursor(q.before);
        let h = k.selectFrom('events').select(['id', 'at', 'detail']).where('kind', '=', 'breaker');
        if (before) h = h.where((eb) => eb.or([eb('at', '<', before.at), eb.and([eb('at', '=', before.at), eb('id', '<', before.id)])]));
        const history = await h.orderBy('at', 'desc').orderBy('id', 'desc').limit(PAGE + 1).execute();
        const more = history.length > PAGE ? history[PAGE - 1]! : undefined;
        return breakersPage(lang, {
          csrf: ctx.session(req).csrf,
          rows,
          history: history.slice(0, PAGE).map((e) => ({ at: when(e.at, lang), detail: e.detail })),
          olderHref: withCursor('/breakers', {}, 'before', more && encodeCursor({ at: more.at, id: more.id })),
          newestHref: before ? `${OPS}/breakers` : undefined,
          notice,
        });
      };
      ops.get<{ Querystring: Query }>('/breakers', async (req, reply) => page(req, reply, 200, 'breakers', await breakersView(req, req.query, doneOf('breakers', req.query))));
      ops.post('/breakers/reset', async (req, reply) => {
        const form = str(bodyOf(req).form, 200);
        const s = breakerScope(form);
        if (!form || !(await resetBreaker(k, s, ctx.now()))) {
          return page(req, reply, 404, 'breakers', await breakersView(req, {}, { error: ot(ctx.langOf(req), 'no_breaker') }));
        }
        await ctx.deps.monitor?.refresh(); // this process at once; others within their monitor interval
        await ctx.audit(req, 'breaker_reset', s);
        return back(reply, '/breakers', 'reset_done');
      });

      // Block and allow lists (the entries `formwarden block` manages) and the temporary bans.
      const ipListsView = async (req: FastifyRequest, notice?: Notice, form = { cidr: '', list: 'block', expires: '', note: '' }) => {
        const lang = ctx.langOf(req);
        const now = ctx.now();
        const rules = await listRules(k);
        const bans = await listBans(k, now);
        return ipListsPage(lang, {
          csrf: ctx.session(req).csrf,
          rules: rules.map((r) => ({ cidr: r.cidr, list: r.list, expires: when(r.expiresAt, lang), expired: r.expiresAt !== null && r.expiresAt <= now, note: r.note, added: when(r.createdAt, lang) })),
          bans: bans.map((b) => ({ key: b.key, until: when(b.until_at, lang), level: b.level })),
          form,
          notice,
        });
      };
      ops.get<{ Querystring: Query }>('/ip-lists', async (req, reply) => page(req, reply, 200, 'ip_lists', await ipListsView(req, doneOf('ip-lists', req.query))));
      ops.post('/ip-lists/add', async (req, reply) => {
        const lang = ctx.langOf(req);
        const b = bodyOf(req);
        const form = { cidr: str(b.cidr, 200), list: str(b.list) === 'allow' ? 'allow' : 'block', expires: str(b.expires, 200), note: str(b.note, 500) };
        // The same checks as `formwarden block add`: canonicalCidr, then ruleExpiry.
        let cidr: string;
        let expiresAt: number | null;
        try {
          cidr = canonicalCidr(form.cidr);
        } catch {
          return page(req, reply, 400, 'ip_lists', await ipListsView(req, { error: ot(lang, 'bad_cidr', { value: form.cidr }) }, form));
        }
        try {
          expiresAt = ruleExpiry(form.expires, ctx.now());
        } catch {
          return page(req, reply, 400, 'ip_lists', await ipListsView(req, { error: ot(lang, 'bad_expires', { value: form.expires }) }, form));
        }
        const list = form.list as 'block' | 'allow';
        await addRule(k, { cidr, list, expiresAt, note: form.note }, ctx.now());
        await ctx.audit(req, 'ip_rule_add', cidr, { list, expiresAt, note: form.note });
        return back(reply, '/ip-lists', 'rule_added');
      });
      ops.post('/ip-lists/remove', async (req, reply) => {
        const cidr = str(bodyOf(req).cidr, 200);
        let removed = false;
        try {
          removed = await removeRule(k, cidr);
        } catch {
          removed = false; // not an address: not on the list either
        }
        if (!removed) return page(req, reply, 404, 'ip_lists', await ipListsView(req, { error: ot(ctx.langOf(req), 'rule_missing', { cidr }) }));
        await ctx.audit(req, 'ip_rule_remove', canonicalCidr(cidr));
        return back(reply, '/ip-lists', 'rule_removed');
      });
      ops.post('/bans/lift', async (req, reply) => {
        const input = str(bodyOf(req).key, 200);
        const key = banKey(input);
        if (!input || !(await liftBan(k, key))) return page(req, reply, 404, 'ip_lists', await ipListsView(req, { error: ot(ctx.langOf(req), 'not_banned', { key: input }) }));
        await ctx.audit(req, 'unban', key);
        return back(reply, '/ip-lists', 'unbanned');
      });

      // The suppression list, newest first, in keyset pages.
      const suppressionsView = async (req: FastifyRequest, q: Query, notice?: Notice, form = { address: '', note: '' }) => {
        const lang = ctx.langOf(req);
        const before = decodeSuppressionCursor(q.before);
        let s = k.selectFrom('suppressions').selectAll();
        if (before) s = s.where((eb) => eb.or([eb('created_at', '<', before.at), eb.and([eb('created_at', '=', before.at), eb('address', '<', before.address)])]));
        const rows = await s.orderBy('created_at', 'desc').orderBy('address', 'desc').limit(PAGE + 1).execute();
        const more = rows.length > PAGE ? rows[PAGE - 1]! : undefined;
        return suppressionsPage(lang, {
          csrf: ctx.session(req).csrf,
          rows: rows.slice(0, PAGE).map((r) => ({ address: r.address, reason: r.reason, note: r.note, added: when(r.created_at, lang) })),
          form,
          olderHref: withCursor('/suppressions', {}, 'before', more && encodeSuppressionCursor(more.created_at, more.address)),
          newestHref: before ? `${OPS}/suppressions` : undefined,
          notice,
        });
      };
      ops.get<{ Querystring: Query }>('/suppressions', async (req, reply) =>
        page(req, reply, 200, 'suppressions', await suppressionsView(req, req.query, doneOf('suppressions', req.query))),
      );
      ops.post('/suppressions/add', async (req, reply) => {
        const b = bodyOf(req);
        const form = { address: str(b.address, 300).trim(), note: str(b.note, 500) };
        // As `formwarden suppress add`: one plain address, suppressed with reason owner.
        if (!parseEmail(form.address)) {
          return page(req, reply, 400, 'suppressions', await suppressionsView(req, {}, { error: ot(ctx.langOf(req), 'bad_address', { value: form.address }) }, form));
        }
        const added = await suppress(k, form.address, 'owner', ctx.now(), form.note);
        if (!added) return back(reply, '/suppressions', 'already_suppressed');
        await ctx.audit(req, 'suppress_add', form.address, { note: form.note });
        return back(reply, '/suppressions', 'suppressed');
      });
      ops.post('/suppressions/remove', async (req, reply) => {
        const address = str(bodyOf(req).address, 300).trim();
        if (!address || !(await unsuppress(k, address))) {
          return page(req, reply, 404, 'suppressions', await suppressionsView(req, {}, { error: ot(ctx.langOf(req), 'not_suppressed', { address }) }));
        }
        await ctx.audit(req, 'suppress_remove', address);
        return back(reply, '/suppressions', 'unsuppressed');
      });

      // Alert history: the alert events, and the alert and digest mails.
      ops.get<{ Querystring: Query }>('/alerts', async (req, reply) => {
        const lang = ctx.langOf(req);
        const q = req.query;
        const before = decodeCursor(q.before);
        let e = k.selectFrom('events').select(['id', 'at', 'form_id', 'detail']).where('kind', '=', 'alert');
        if (before) e = e.where((eb) => eb.or([eb('at', '<', before.at), eb.and([eb('at', '=', before.at), eb('id', '<', before.id)])]));
        const events = await e.orderBy('at', 'desc').orderBy('id', 'desc').limit(PAGE + 1).execute();
        const moreE = events.length > PAGE ? events[PAGE - 1]! : undefined;
        const mbefore = decodeCursor(q.mbefore);
        const mails = await listMail(k, { kind: ['alert', 'digest'], limit: PAGE + 1, before: mbefore });
        const moreM = mails.length > PAGE ? mails[PAGE - 1]! : undefined;
        const keep = { before: q.before && before ? q.before : undefined, mbefore: q.mbefore && mbefore ? q.mbefore : undefined };
        return page(
          req,
          reply,
          200,
          'alerts',
          alertsPage(lang, {
            events: events.slice(0, PAGE).map((x) => ({ at: when(x.at, lang), form: formTitle(x.form_id, lang), detail: x.detail })),
            olderHref: withCursor('/alerts', keep, 'before', moreE && encodeCursor({ at: moreE.at, id: moreE.id })),
            newestHref: before ? `${OPS}/alerts${keep.mbefore ? `?mbefore=${encodeURIComponent(keep.mbefore)}` : ''}` : undefined,
            mails: mails.slice(0, PAGE).map(mailRow(lang)),
            mailsOlderHref: withCursor('/alerts', keep, 'mbefore', moreM && encodeCursor({ at: moreM.created_at, id: moreM.id })),
            mailsNewestHref: mbefore ? `${OPS}/alerts${keep.before ? `?before=${encodeURIComponent(keep.before)}` : ''}` : undefined,
          }),
        );
      });

      // The outbox, filtered by kind and state, with a retry for dead and pending mail.
      const outboxView = async (req: FastifyRequest, q: Query, notice?: Notice) => {
        const lang = ctx.langOf(req);
        const kind = (MAIL_KINDS as readonly string[]).includes(q.kind ?? '') ? q.kind : undefined;
        const state = (MAIL_STATES as readonly string[]).includes(q.state ?? '') ? q.state : undefined;
        const before = decodeCursor(q.before);
        const rows = await listMail(k, { kind, state, limit: PAGE + 1, before });
        const more = rows.length > PAGE ? rows[PAGE - 1]! : undefined;
        const filter = { kind, state };
        const query = new URLSearchParams(Object.entries(filter).filter((e): e is [string, string] => !!e[1])).toString();
        return outboxPage(lang, {
          csrf: ctx.session(req).csrf,
          rows: rows.slice(0, PAGE).map(mailRow(lang)),
          filter,
          counts: await outboxDepth(k),
          olderHref: withCursor('/outbox', filter, 'before', more && encodeCursor({ at: more.created_at, id: more.id })),
          newestHref: before ? `${OPS}/outbox${query ? `?${query}` : ''}` : undefined,
          notice,
        });
      };
      ops.get<{ Querystring: Query }>('/outbox', async (req, reply) => page(req, reply, 200, 'outbox', await outboxView(req, req.query, doneOf('outbox', req.query))));
      ops.post('/outbox/retry', async (req, reply) => {
        const id = str(bodyOf(req).id, 64);
        // The same as `formwarden outbox retry`: a dead or pending mail, due now.
        if (!id || !(await retryMail(k, id, ctx.now()))) {
          return page(req, reply, 404, 'outbox', await outboxView(req, {}, { error: ot(ctx.langOf(req), 'not_retriable', { id }) }));
        }
        await ctx.audit(req, 'outbox_retry', id);
        return back(reply, '/outbox', 'retried');
      });
    },
    { prefix: '/operations' },
  );

  // One mail, decoded (or its source with ?raw=1). An owner sees every mail; a member only the mails of an
  // inquiry to one of their forms (never alerts or digests).
  scope.get<{ Params: { id: string }; Querystring: Query }>('/mail/:id', async (req, reply) => {
    const lang = ctx.langOf(req);
    const s = ctx.session(req);
    const row = await getMail(k, req.params.id.slice(0, 64));
    if (!row) return notFound(req, reply);
    const owner = s.user.role === 'owner';
    if (!owner) {
      const sub = row.submission_id && row.kind !== 'alert' && row.kind !== 'digest' ? await k.selectFrom('submissions').select('form_id').where('id', '=', row.submission_id).executeTakeFirst() : undefined;
      if (!sub || !ctx.visibleForms(s).includes(sub.form_id)) return notFound(req, reply);
    }
    let shown: MailView['shown'];
    if (row.kind === 'webhook') shown = { type: 'payload', text: row.raw ?? row.body };
    else if (!row.raw) shown = { type: 'stored', text: row.body };
    else if (req.query.raw === '1') shown = { type: 'raw', text: row.raw };
    else {
      try {
        shown = { type: 'decoded', mail: await decodeMail(row.raw) };
      } catch {
        shown = { type: 'raw', text: row.raw };
      }
    }
    const view: MailView = {
      id: row.id,
      kind: row.kind,
      state: row.state,
      to: row.to_addr,
      subject: row.subject,
      attempts: row.attempts,
      created: when(row.created_at, lang),
      sent: when(row.sent_at, lang),
      error: row.last_error ?? '',
      form: formTitle(row.form_id, lang),
      submissionId: row.submission_id,
      hasRaw: !!row.raw,
      shown,
      back: owner ? { href: `${OPS}/outbox`, label: ot(lang, 'back') } : { href: `/admin/submissions/${encodeURIComponent(row.submission_id ?? '')}`, label: ot(lang, 'submission') },
    };
    return ctx.send(reply, 200, req, `${ot(lang, 'mail')} ${row.id}`, mailPage(lang, view), owner ? 'operations' : 'inbox');
  });
}
